//! The layers a user can explain: every candidate tensor and the layers chosen, with their strides.
//! Which tensors are candidates, and the automatic choice of one per stage, is read from the graph
//! by [`rule`] (the engine's side; the page only receives the lists).

#[cfg(feature = "engine")]
mod rule;
#[cfg(feature = "engine")]
pub use rule::{auto_layers, candidate_names, candidates, strided_consumer};

/// Which gradient weighs a layer's activation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum GradientFrom {
    /// ∂y/∂A at the layer itself (the paper's Eq. 1).
    #[default]
    Layer,
    /// For a layer whose only consumer is a stride-2 (or more) pooling or depthwise convolution
    /// (channels kept): the gradient at that op's output, upsampled bilinearly to the layer. A max
    /// pool passes its gradient to one location of each window, which leaves a grid in the layer's
    /// map; the LayerCAM authors' localisation code weighs such layers this way. Layers without
    /// such a consumer keep their own gradient.
    Next,
}

impl GradientFrom {
    pub const ALL: [GradientFrom; 2] = [GradientFrom::Layer, GradientFrom::Next];

    pub fn name(&self) -> &'static str {
        match self {
            GradientFrom::Layer => "layer",
            GradientFrom::Next => "next",
        }
    }
}

crate::names::named!(GradientFrom, "gradient source");

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
