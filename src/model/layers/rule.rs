//! Which tensors can be explained, and the automatic choice of one layer per stage.
//!
//! The rule ("auto"), in the paper's spirit (it takes the last conv layer of each VGG stage):
//! 1. Candidates are the tensors computed from the image with shape `[1, C, H, W]` and H·W > 1
//!    whose axes are the image's in that order ([`layout`]; not channels-last, not attention
//!    heads), and a transformer's tokens `[1, N, D]` laid out on their grid ([`map_shape`]).
//! 2. A *stage* is the set of candidates sharing one spatial resolution.
//! 3. Within a stage, tensors that feed a downsampling op (a Conv or pooling with stride > 1) are
//!    passed over: the LayerCAM authors note a grid artefact on exactly those layers. With
//!    [`GradientFrom::Next`] (their fix) a tensor whose only consumer is such an op keeping its
//!    channels ([`strided_consumer`]) stays in: VGG16's last conv of each stage, as in the paper.
//! 4. Of the rest, the last one (in graph order) that comes out of a non-negative activation
//!    (Relu, Clip with a lower bound ≥ 0, Sigmoid, HardSigmoid) is chosen: LayerCAM sums
//!    relu(g)·A, and with A ≥ 0 no location can cancel another's evidence. Failing that, the last
//!    remaining tensor of the stage.
//!
//! The rule is deterministic: it only reads the graph.

use std::collections::HashSet;

use super::{Candidate, GradientFrom, TokenGrid, layout};
use crate::model::classifier::Classifier;

/// Every explainable tensor in graph order, the automatic choice (for `from`) marked.
pub fn candidates(model: &Classifier, from: GradientFrom) -> Vec<Candidate> {
    let is_map = layout::is_map(model);
    let mut list: Vec<Candidate> = model
        .graph()
        .node
        .iter()
        .flat_map(|node| &node.output)
        .filter_map(|name| {
            let info = model.tensor(name).filter(|t| t.variable)?;
            let (shape, tokens) = map_shape(model, &info.shape)?;
            if tokens.is_none() && !is_map(name) {
                return None;
            }
            (shape[1] * shape[2] > 1).then(|| Candidate { name: name.clone(), op: info.op.clone(), shape, auto: false, tokens })
        })
        .collect();
    let chosen: HashSet<String> = choose(model, &list, from).into_iter().collect();
    for candidate in &mut list {
        candidate.auto = chosen.contains(&candidate.name);
    }
    list
}

/// The map `[C, H, W]` a tensor gives: a `[1, C, H, W]` tensor's own, or a transformer's tokens
/// `[1, N, D]` laid out on a grid (`--tokens`, else [`TokenGrid::guess`]).
pub fn map_shape(model: &Classifier, shape: &[usize]) -> Option<([usize; 3], Option<TokenGrid>)> {
    match *shape {
        [1, c, h, w] => Some(([c, h, w], None)),
        [1, n, d] => {
            let grid = model.token_grid.filter(|g| g.fits(n)).or_else(|| TokenGrid::guess(n))?;
            Some(([d, grid.height, grid.width], Some(grid)))
        }
        _ => None,
    }
}

/// The automatic layers, shallow to deep.
pub fn auto_layers(model: &Classifier, from: GradientFrom) -> Vec<String> {
    candidates(model, from).into_iter().filter(|c| c.auto).map(|c| c.name).collect()
}

/// Names of every candidate, for error messages.
pub fn candidate_names(model: &Classifier) -> String {
    candidates(model, GradientFrom::Layer).into_iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
}

fn choose(model: &Classifier, list: &[Candidate], from: GradientFrom) -> Vec<String> {
    let passed_over =
        |name: &str| feeds_downsampling(model, name) && !(from == GradientFrom::Next && strided_consumer(model, name).is_some());
    // A stage: one resolution, maps and tokens apart (a ViT's patch embedding is a 14×14 map too).
    let stage_of = |c: &Candidate| (c.shape[1], c.shape[2], c.tokens.is_some());
    let mut stages = vec![];
    for c in list {
        if !stages.contains(&stage_of(c)) {
            stages.push(stage_of(c));
        }
    }
    stages
        .iter()
        .filter_map(|key| {
            let stage: Vec<&Candidate> = list.iter().filter(|c| stage_of(c) == *key && !passed_over(&c.name)).collect();
            let preferred = if key.2 { token_choice(model, &stage) } else { stage.iter().rev().find(|c| non_negative(model, &c.name)) };
            preferred.or(stage.last()).map(|c| c.name.clone())
        })
        .collect()
}

/// Of a transformer's token tensors, the last of the model's width (the most common D) computed
/// before the last attention Softmax: after that attention no token reaches the class token
/// any more, and the patch tokens' gradients are zero (pytorch-grad-cam's advice is the last
/// block's first LayerNorm, which this picks).
fn token_choice<'s, 'c>(model: &Classifier, stage: &'s [&'c Candidate]) -> Option<&'s &'c Candidate> {
    let nodes = &model.graph().node;
    let position = |tensor: &str| nodes.iter().position(|n| n.output.iter().any(|o| o == tensor));
    let last_softmax = nodes.iter().rposition(|n| n.op_type == "Softmax").unwrap_or(nodes.len());
    let count = |width: usize| stage.iter().filter(|c| c.shape[0] == width).count();
    let model_width = stage.iter().map(|c| c.shape[0]).max_by_key(|&width| count(width))?;
    stage.iter().rev().find(|c| c.shape[0] == model_width && position(&c.name).is_some_and(|p| p < last_softmax))
}

fn feeds_downsampling(model: &Classifier, tensor: &str) -> bool {
    model.consumers(tensor).any(downsamples)
}

fn downsamples(node: &tract_onnx::pb::NodeProto) -> bool {
    matches!(node.op_type.as_str(), "Conv" | "MaxPool" | "AveragePool" | "LpPool")
        && node.attribute.iter().any(|a| a.name == "strides" && a.ints.iter().any(|&s| s > 1))
}

/// The output of `tensor`'s only consumer when that consumer downsamples it and keeps its channels
/// (a strided pooling, or a strided depthwise convolution): where [`GradientFrom::Next`] takes the
/// layer's gradient from.
pub fn strided_consumer(model: &Classifier, tensor: &str) -> Option<String> {
    let mut consumers = model.consumers(tensor);
    let (node, None) = (consumers.next()?, consumers.next()) else { return None };
    let output = node.output.first()?;
    let channels = |name: &str| {
        model.tensor(name).and_then(|t| match t.shape.as_slice() {
            &[1, c, _, _] => Some(c),
            _ => None,
        })
    };
    let kept = channels(tensor).is_some_and(|c| channels(output) == Some(c) && (node.op_type != "Conv" || group(node) == c as i64));
    (downsamples(node) && kept && node.input.first().is_some_and(|first| first == tensor)).then(|| output.clone())
}

/// A Conv's `group` attribute (1 when absent): equal to the channels for a depthwise convolution.
fn group(node: &tract_onnx::pb::NodeProto) -> i64 {
    node.attribute.iter().find(|a| a.name == "group").map_or(1, |a| a.i)
}

fn non_negative(model: &Classifier, tensor: &str) -> bool {
    let Some(node) = model.producer(tensor) else { return false };
    match node.op_type.as_str() {
        "Relu" | "Sigmoid" | "HardSigmoid" => true,
        "Clip" => {
            let from_input = node.input.get(1).and_then(|name| model.constant_f32(name)).and_then(|v| v.first().copied());
            let from_attribute = node.attribute.iter().find(|a| a.name == "min").map(|a| a.f);
            from_input.or(from_attribute).is_some_and(|min| min >= 0.0)
        }
        _ => false,
    }
}
