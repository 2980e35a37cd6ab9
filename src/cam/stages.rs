//! Which stages enter the fused map, and which of them Eq. 9 scales: the paper's rule, shared by the
//! CLI (`--fuse`, `--scale`), the page (its per-stage toggles) and the GPU path.
//!
//! The paper scales only the *shallow* stages (§4.1: "the maps of the first three stages of VGG16
//! are scaled by Eq. 9"; Table 4): their responses are weak, and tanh(γ·M / max M) lifts them so that
//! they survive the max with the deep ones. A deep map enters normalised (M / max M): scaling it too
//! spreads the coarse 7×7 response over most of the photo. The rule, for any network:
//!
//! - a stage's *stride* is the input size ÷ its map size (along the coarser axis);
//! - a stage is *shallow* when its stride is at most a quarter of the deepest fused stage's stride
//!   (VGG16: S1–S3 of S1–S5; EfficientNet-Lite0: 112², 56² and 28² of its five stages; ResNet-50:
//!   layer1–2 of layer1–4);
//! - by default every stage but the shallowest is fused (the paper's best is S5+S4+S3+S2; adding S1
//!   lowers segmentation, Table 10).

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Input size ÷ map size along the coarser axis: 2 for a 112×112 map of a 224×224 input.
pub fn stride(input: [usize; 2], map: [usize; 2]) -> f32 {
    let along = |i: usize| input[i] as f32 / map[i].max(1) as f32;
    along(0).max(along(1))
}

/// Which stages are fused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FuseChoice {
    /// Every stage but the shallowest (those of the smallest stride), if any other remains.
    Auto,
    All,
    /// One flag per stage.
    Stages(Vec<bool>),
}

/// Which fused stages Eq. 9 scales; the others enter normalised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ScaleChoice {
    /// The shallow stages (see the module's rule).
    Auto,
    All,
    None,
    /// One flag per stage.
    Stages(Vec<bool>),
}

impl FuseChoice {
    /// `auto`, `all`, or names of `layers`, as `--fuse` takes them.
    pub fn parse(words: &[String], layers: &[String]) -> Result<FuseChoice> {
        match words {
            [word] if word == "auto" => Ok(FuseChoice::Auto),
            [word] if word == "all" => Ok(FuseChoice::All),
            names => Ok(FuseChoice::Stages(flags(names, layers)?)),
        }
    }
}

impl ScaleChoice {
    /// `auto`, `all`, `none`, or names of `layers`, as `--scale` takes them.
    pub fn parse(words: &[String], layers: &[String]) -> Result<ScaleChoice> {
        match words {
            [word] if word == "auto" => Ok(ScaleChoice::Auto),
            [word] if word == "all" => Ok(ScaleChoice::All),
            [word] if word == "none" => Ok(ScaleChoice::None),
            names => Ok(ScaleChoice::Stages(flags(names, layers)?)),
        }
    }
}

/// One flag per layer: whether `names` lists it. Every name must be one of `layers`.
fn flags(names: &[String], layers: &[String]) -> Result<Vec<bool>> {
    if let Some(name) = names.iter().find(|n| !layers.contains(n)) {
        return Err(Error::UnknownLayer { name: name.clone(), valid: format!("{} (the layers explained)", layers.join(", ")) });
    }
    Ok(layers.iter().map(|l| names.contains(l)).collect())
}

/// How each stage enters the fused map: `fused[i]`, and `scaled[i]` (Eq. 9) or normalised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fusion {
    pub fused: Vec<bool>,
    pub scaled: Vec<bool>,
}

impl Fusion {
    /// The choices made concrete for stages of these `strides` (shallow to deep or in any order).
    pub fn new(strides: &[f32], fuse: &FuseChoice, scale: &ScaleChoice) -> Fusion {
        let fused = match fuse {
            FuseChoice::Auto => all_but_shallowest(strides),
            FuseChoice::All => vec![true; strides.len()],
            FuseChoice::Stages(flags) => flags.clone(),
        };
        let scaled = match scale {
            ScaleChoice::Auto => shallow(strides, &fused),
            ScaleChoice::All => vec![true; strides.len()],
            ScaleChoice::None => vec![false; strides.len()],
            ScaleChoice::Stages(flags) => flags.clone(),
        };
        Fusion { fused, scaled }
    }

    /// The paper's fusion: every stage but the shallowest, the shallow ones scaled by Eq. 9.
    pub fn paper(strides: &[f32]) -> Fusion {
        Fusion::new(strides, &FuseChoice::Auto, &ScaleChoice::Auto)
    }

    /// Every stage fused and scaled by Eq. 9.
    pub fn all_scaled(stages: usize) -> Fusion {
        Fusion { fused: vec![true; stages], scaled: vec![true; stages] }
    }

    /// The stages that are fused, each with whether Eq. 9 scales it.
    pub fn members(&self) -> impl Iterator<Item = (usize, bool)> + '_ {
        self.fused.iter().zip(&self.scaled).enumerate().filter(|(_, (fused, _))| **fused).map(|(i, (_, &scaled))| (i, scaled))
    }
}

/// Every stage but those of the smallest stride; all of them when nothing else would remain.
fn all_but_shallowest(strides: &[f32]) -> Vec<bool> {
    let finest = strides.iter().copied().fold(f32::INFINITY, f32::min);
    let fused: Vec<bool> = strides.iter().map(|&s| s > finest).collect();
    if fused.contains(&true) { fused } else { vec![true; strides.len()] }
}

/// The deepest stage: the one of the largest stride (the last of them). `None` without stages.
pub fn deepest(strides: &[f32]) -> Option<usize> {
    (0..strides.len()).max_by(|&a, &b| strides[a].total_cmp(&strides[b]))
}

/// Stages whose stride is at most a quarter of the deepest fused stage's; none when nothing is fused.
pub fn shallow(strides: &[f32], fused: &[bool]) -> Vec<bool> {
    let deepest = strides.iter().zip(fused).filter(|(_, f)| **f).map(|(s, _)| *s).fold(0.0, f32::max);
    // Strides are ratios of sizes, exact for the usual powers of two; the margin covers odd sizes.
    strides.iter().map(|&s| deepest > 0.0 && 4.0 * s <= deepest * (1.0 + 1e-4)).collect()
}
