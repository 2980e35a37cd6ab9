//! The layers a user can explain: every candidate tensor and the layers chosen, with their strides.
//! Which tensors are candidates, and the automatic choice of one per stage, is read from the graph
//! by [`rule`] (the engine's side; the page only receives the lists).

#[cfg(feature = "engine")]
mod layout;
#[cfg(feature = "engine")]
mod rule;
#[cfg(feature = "engine")]
pub use rule::{auto_layers, candidate_names, candidates, map_shape, strided_consumer};

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

/// How a transformer's `[1, N, D]` tokens become a `[D, height, width]` map: the first `skip`
/// tokens (class, distillation) dropped, the others laid out row by row on the patch grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TokenGrid {
    pub height: usize,
    pub width: usize,
    pub skip: usize,
}

impl TokenGrid {
    /// The automatic rule: N = s² + 1 (a class token) or s² + 2 (class and distillation), s ≥ 2.
    pub fn guess(tokens: usize) -> Option<TokenGrid> {
        (1..=2).find_map(|skip| {
            let side = (tokens.checked_sub(skip)? as f64).sqrt().round() as usize;
            (side >= 2 && side * side + skip == tokens).then_some(TokenGrid { height: side, width: side, skip })
        })
    }

    /// Whether `tokens` tokens lay out on this grid.
    pub fn fits(&self, tokens: usize) -> bool {
        self.height * self.width + self.skip == tokens
    }
}

impl std::str::FromStr for TokenGrid {
    type Err = String;

    /// `grid=14x14,skip=1` (skip defaults to 1).
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}`: expected grid=HxW,skip=N (say grid=14x14,skip=1)");
        let mut grid = None;
        let mut skip = 1;
        for part in text.split(',') {
            match part.trim().split_once('=') {
                Some(("grid", value)) => {
                    let (h, w) = value.split_once(['x', '×']).ok_or_else(bad)?;
                    grid = Some((h.parse().map_err(|_| bad())?, w.parse().map_err(|_| bad())?));
                }
                Some(("skip", value)) => skip = value.parse().map_err(|_| bad())?,
                _ => return Err(bad()),
            }
        }
        let (height, width) = grid.filter(|&(h, w): &(usize, usize)| h * w > 1).ok_or_else(bad)?;
        Ok(TokenGrid { height, width, skip })
    }
}

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
    /// For a transformer's `[1, N, D]` tokens: how they become the map `shape`.
    #[serde(default)]
    pub tokens: Option<TokenGrid>,
}

/// One target layer: the tensor name and its activation shape `[C, H, W]`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Layer {
    pub name: String,
    pub shape: [usize; 3],
    /// For a transformer's `[1, N, D]` tokens: how they become a `[C, H, W]` map.
    #[serde(default)]
    pub tokens: Option<TokenGrid>,
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
