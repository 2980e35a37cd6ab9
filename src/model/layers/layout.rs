//! Which axis of a tensor is which: the image's axes (N, C, H, W) followed through the graph, so
//! that a channels-last tensor inside a block (ConvNeXt's LayerNorm and MLP run on [1, H, W, C])
//! or an attention's [1, heads, tokens, D] is not mistaken for a [1, C, H, W] map.

use std::collections::{HashMap, HashSet};

use crate::model::classifier::Classifier;

/// Axis labels, one letter per axis: `NCHW` for the image.
type Labels = Vec<u8>;

/// Whether a `[1, C, H, W]` tensor is a map: its axes followed from the image are N, C, H, W in
/// that order; or, where a reshape lost them (a channel shuffle), it has the H×W of such a map.
pub fn is_map(model: &Classifier) -> impl Fn(&str) -> bool + '_ {
    let labels = follow(model);
    let plane = |name: &str| model.tensor(name).and_then(|t| t.shape.get(2..4).map(|s| (s[0], s[1])));
    let resolutions: HashSet<(usize, usize)> =
        labels.iter().filter(|(_, l)| l.as_slice() == b"NCHW").filter_map(|(name, _)| plane(name)).collect();
    move |tensor| match labels.get(tensor) {
        Some(known) => known.as_slice() == b"NCHW",
        None => plane(tensor).is_some_and(|p| resolutions.contains(&p)),
    }
}

/// Labels of every tensor whose axes can be followed from the image.
fn follow(model: &Classifier) -> HashMap<&str, Labels> {
    let mut labels: HashMap<&str, Labels> = HashMap::from([(model.input.as_str(), b"NCHW".to_vec())]);
    for node in &model.graph().node {
        let Some((input, known)) = node.input.iter().find_map(|i| labels.get(i.as_str()).map(|l| (i, l.clone()))) else { continue };
        let Some(output) = node.output.first() else { continue };
        let rank = |name: &str| model.tensor(name).map(|t| t.shape.len());
        let shape = |name: &str| model.tensor(name).map(|t| t.shape.clone());
        let moved = match node.op_type.as_str() {
            "Transpose" => {
                let perm = node.attribute.iter().find(|a| a.name == "perm").map(|a| a.ints.clone());
                let perm = perm.unwrap_or_else(|| (0..known.len() as i64).rev().collect());
                perm.iter().map(|&p| known.get(p as usize).copied()).collect::<Option<Labels>>()
            }
            // A reshape keeps the labels only when it changes nothing.
            "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" => (shape(input).is_some() && shape(output) == shape(input)).then_some(known),
            "Gather" | "Einsum" | "DepthToSpace" | "SpaceToDepth" => None,
            // Every other op keeps each axis in place when it keeps the rank: elementwise ops,
            // convolutions, pools, normalisations, a MatMul over the last axis.
            _ => (rank(output).is_some() && rank(output) == rank(input)).then_some(known),
        };
        if let Some(moved) = moved {
            labels.insert(output.as_str(), moved);
        }
    }
    labels
}
