//! pytorch-grad-cam's two smoothings. `eigen_smooth` replaces each method's sum over the channels by
//! the projection of its terms on their first principal component ([`super::Reduce::Principal`]).
//! `aug_smooth` explains the input under six augmentations — mirrored or not, times 0.9, 1 or 1.1
//! (ttach's `HorizontalFlip` and `Multiply`, the library's default) — and averages the maps, each
//! min-max scaled and mirrored back ([`average`]).

use ndarray::{Array2, Array4, ArrayView2, ArrayView4, Axis};
use serde::{Deserialize, Serialize};

use super::Reduce;

/// Which smoothings a run applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Smoothing {
    /// `--aug-smooth`: the average over [`AUGMENTATIONS`] (6 forward and backward runs).
    pub aug: bool,
    /// `--eigen-smooth`: the principal component of the terms instead of their sum.
    pub eigen: bool,
}

impl Smoothing {
    pub fn reduce(&self) -> Reduce {
        if self.eigen { Reduce::Principal } else { Reduce::Sum }
    }

    /// The inputs to explain: the image itself, or its six augmentations.
    pub fn augmentations(&self) -> &'static [Augmentation] {
        if self.aug { &AUGMENTATIONS } else { &AUGMENTATIONS[..1] }
    }
}

/// A test-time augmentation of the (preprocessed) input.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Augmentation {
    /// Mirrored left to right.
    pub flip: bool,
    /// Every input value multiplied by this.
    pub factor: f32,
}

/// ttach's `Compose([HorizontalFlip(), Multiply([0.9, 1, 1.1])])`, the identity first.
pub const AUGMENTATIONS: [Augmentation; 6] = [
    Augmentation { flip: false, factor: 1.0 },
    Augmentation { flip: false, factor: 0.9 },
    Augmentation { flip: false, factor: 1.1 },
    Augmentation { flip: true, factor: 0.9 },
    Augmentation { flip: true, factor: 1.0 },
    Augmentation { flip: true, factor: 1.1 },
];

impl Augmentation {
    /// The augmented input `[1, C, H, W]`.
    pub fn apply(&self, input: ArrayView4<f32>) -> Array4<f32> {
        let mut out = input.mapv(|v| v * self.factor);
        if self.flip {
            out.invert_axis(Axis(3));
        }
        out.as_standard_layout().into_owned()
    }

    /// A map of the augmented input, moved back onto the input (mirrored again).
    fn undo(&self, map: ArrayView2<f32>) -> Array2<f32> {
        let mut map = map.to_owned();
        if self.flip {
            map.invert_axis(Axis(1));
        }
        map.as_standard_layout().into_owned()
    }
}

/// aug_smooth's map: each augmentation's map (`maps[i]` for `augmentations[i]`) min-max scaled as
/// the library's `scale_cam_image` does ((M − min) / (max(M − min) + 1e-7)), mirrored back, and the
/// mean taken; its values lie in [0, 1). The library does the same at the input's size (each map
/// resized before it is scaled, and scaled again after); here it stays at the layer's resolution,
/// like every raw map, and is resized only to be drawn.
pub fn average(maps: &[ArrayView2<f32>], augmentations: &[Augmentation]) -> Array2<f32> {
    assert_eq!(maps.len(), augmentations.len(), "one map per augmentation");
    let mut total = Array2::<f64>::zeros(maps[0].raw_dim());
    for (map, augmentation) in maps.iter().zip(augmentations) {
        let min = map.iter().copied().fold(f32::INFINITY, f32::min);
        let max = map.iter().map(|&m| m - min).fold(0f32, f32::max);
        let back = augmentation.undo(*map);
        total.zip_mut_with(&back, |t, &m| *t += f64::from((m - min) / (max + 1e-7)));
    }
    total.mapv(|t| (t / maps.len() as f64) as f32)
}
