//! The layers a user can explain: every candidate tensor and the layers chosen, with their strides.
//! Which tensors are candidates, and the automatic choice of one per stage, is read from the graph
//! by [`rule`] (the engine's side; the page only receives the lists).

#[cfg(feature = "engine")]
mod rule;
#[cfg(feature = "engine")]
pub use rule::{auto_layers, candidate_names, candidates};

/// A tensor that can be explained.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Candidate {
    pub name: String,
    /// The op type of the node producing it.
    pub op: String,
    /// `[C, H, W]`.
    pub shape: [usize; 3],
    /// Picked by the automatic rule.
    pub auto: bool,
}

/// One target layer: the tensor name and its activation shape `[C, H, W]`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Layer {
    pub name: String,
    pub shape: [usize; 3],
}

impl Layer {
    /// The input size `[H, W]` ÷ this layer's map size (see [`crate::cam::stages`]).
    pub fn stride(&self, input: [usize; 2]) -> f32 {
        crate::cam::stages::stride(input, [self.shape[1], self.shape[2]])
    }
}

/// Every layer's stride for an input of `[H, W]`.
pub fn strides(layers: &[Layer], input: [usize; 2]) -> Vec<f32> {
    layers.iter().map(|l| l.stride(input)).collect()
}
