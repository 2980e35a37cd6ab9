//! Which tensors can be explained, and the automatic choice of one layer per stage.
//!
//! The rule ("auto"), in the paper's spirit (it takes the last conv layer of each VGG stage):
//! 1. Candidates are the tensors computed from the image with shape `[1, C, H, W]` and H·W > 1.
//! 2. A *stage* is the set of candidates sharing one spatial resolution.
//! 3. Within a stage, tensors that feed a downsampling op (a Conv or pooling with stride > 1) are
//!    passed over: the LayerCAM authors note a grid artefact on exactly those layers.
//! 4. Of the rest, the last one (in graph order) that comes out of a non-negative activation
//!    (Relu, Clip with a lower bound ≥ 0, Sigmoid, HardSigmoid) is chosen: LayerCAM sums
//!    relu(g)·A, and with A ≥ 0 no location can cancel another's evidence. Failing that, the last
//!    remaining tensor of the stage.
//!
//! The rule is deterministic: it only reads the graph.

use std::collections::HashSet;

use super::Candidate;
use crate::model::classifier::Classifier;

/// Every explainable tensor in graph order, the automatic choice marked.
pub fn candidates(model: &Classifier) -> Vec<Candidate> {
    let mut list: Vec<Candidate> = model
        .graph()
        .node
        .iter()
        .flat_map(|node| &node.output)
        .filter_map(|name| {
            let info = model.tensor(name).filter(|t| t.variable)?;
            let &[1, c, h, w] = info.shape.as_slice() else { return None };
            (h * w > 1).then(|| Candidate { name: name.clone(), op: info.op.clone(), shape: [c, h, w], auto: false })
        })
        .collect();
    let chosen: HashSet<String> = choose(model, &list).into_iter().collect();
    for candidate in &mut list {
        candidate.auto = chosen.contains(&candidate.name);
    }
    list
}

/// The automatic layers, shallow to deep.
pub fn auto_layers(model: &Classifier) -> Vec<String> {
    candidates(model).into_iter().filter(|c| c.auto).map(|c| c.name).collect()
}

/// Names of every candidate, for error messages.
pub fn candidate_names(model: &Classifier) -> String {
    candidates(model).into_iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
}

fn choose(model: &Classifier, list: &[Candidate]) -> Vec<String> {
    let mut resolutions: Vec<[usize; 2]> = vec![];
    for c in list {
        let resolution = [c.shape[1], c.shape[2]];
        if !resolutions.contains(&resolution) {
            resolutions.push(resolution);
        }
    }
    resolutions
        .iter()
        .filter_map(|resolution| {
            let stage: Vec<&Candidate> =
                list.iter().filter(|c| [c.shape[1], c.shape[2]] == *resolution && !feeds_downsampling(model, &c.name)).collect();
            let preferred = stage.iter().rev().find(|c| non_negative(model, &c.name));
            preferred.or(stage.last()).map(|c| c.name.clone())
        })
        .collect()
}

fn feeds_downsampling(model: &Classifier, tensor: &str) -> bool {
    model.consumers(tensor).any(|node| {
        matches!(node.op_type.as_str(), "Conv" | "MaxPool" | "AveragePool" | "LpPool")
            && node.attribute.iter().any(|a| a.name == "strides" && a.ints.iter().any(|&s| s > 1))
    })
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
