//! From one raw map per layer to one map per image (paper Eq. 9 and §3.3): normalise or
//! tanh-scale each map, upsample it to the image, and keep the strongest response per pixel.

use ndarray::{Array2, ArrayView2, Zip};

use super::max_value;
use crate::float;

/// M / max M, in [0, 1] for a non-negative map. A map with no positive value has nothing to show
/// and stays all zero (instead of dividing by zero or flipping its sign).
pub fn normalize_max(map: ArrayView2<f32>) -> Array2<f32> {
    let max = max_value(map);
    if max > 0.0 { map.mapv(|m| m / max) } else { Array2::zeros(map.raw_dim()) }
}

/// Eq. 9: tanh(γ · M / max M), whose maximum is tanh(γ). It lifts the weaker responses of shallow
/// layers so they survive the max-fusion with deeper ones (the paper uses γ = 2; without the scaling
/// fusion does not help, Table 4). A map with no positive value stays all zero.
pub fn scale_tanh(map: ArrayView2<f32>, gamma: f32) -> Array2<f32> {
    normalize_max(map).mapv_into(|m| (gamma * m).tanh())
}

/// Bilinear resize with half-pixel centres, reproducing OpenCV's `cv2.resize(.., INTER_LINEAR)`
/// for float maps (also torch's `interpolate(mode="bilinear", align_corners=False)`): output pixel
/// `d` samples the source at `(d + 0.5) · in/out − 0.5`, clamped to the edge pixels.
///
/// # Panics
/// If `map` is empty: there is nothing to interpolate from.
pub fn upsample_bilinear(map: ArrayView2<f32>, out_h: usize, out_w: usize) -> Array2<f32> {
    let (in_h, in_w) = map.dim();
    assert!(in_h > 0 && in_w > 0, "cannot upsample an empty {in_h}×{in_w} map");
    let rows = taps(in_h, out_h);
    let cols = taps(in_w, out_w);
    // Separable, rows first then columns, in the same order as OpenCV, so the f32 roundings agree.
    // Row by row over slices: the second pass blends two whole rows, a loop the compiler
    // vectorises (per-pixel indexing took 2 % of a folder run).
    let map = map.as_standard_layout();
    let map = map.as_slice().expect("a standard layout");
    let mut across = vec![0.0; in_h * out_w];
    for (from, to) in map.chunks_exact(in_w).zip(across.chunks_exact_mut(out_w)) {
        to.iter_mut().zip(&cols).for_each(|(to, tap)| *to = tap.blend(from[tap.lo], from[tap.hi]));
    }
    let mut out = vec![0.0; out_h * out_w];
    for (to, tap) in out.chunks_exact_mut(out_w).zip(&rows) {
        let (lo, hi) = (&across[tap.lo * out_w..][..out_w], &across[tap.hi * out_w..][..out_w]);
        to.iter_mut().zip(lo.iter().zip(hi)).for_each(|(to, (&lo, &hi))| *to = tap.blend(lo, hi));
    }
    Array2::from_shape_vec((out_h, out_w), out).expect("out_h × out_w values")
}

/// Element-wise maximum of maps already resized to one shape: each pixel keeps the strongest
/// response, whichever stage found it (the paper's fusion across layers).
///
/// # Panics
/// If `maps` is empty or the maps differ in shape: the caller upsamples them all to the image first.
pub fn fuse_max(maps: &[ArrayView2<f32>]) -> Array2<f32> {
    let (first, rest) = maps.split_first().expect("fuse_max needs at least one map");
    let mut fused = first.to_owned();
    for map in rest {
        assert_eq!(map.shape(), fused.shape(), "fuse_max: every map must have the same shape");
        Zip::from(&mut fused).and(map).for_each(|f, &m| *f = float::larger(*f, m));
    }
    fused
}

/// Where one output pixel reads along one axis: `frac` of the way from source pixel `lo` to `hi`.
struct Tap {
    lo: usize,
    hi: usize,
    frac: f32,
}

impl Tap {
    /// Beyond the outer pixel centres the value is the edge pixel's.
    fn edge(pixel: usize) -> Self {
        Tap { lo: pixel, hi: pixel, frac: 0.0 }
    }

    fn blend(&self, lo: f32, hi: f32) -> f32 {
        lo * (1.0 - self.frac) + hi * self.frac
    }
}

fn taps(in_len: usize, out_len: usize) -> Vec<Tap> {
    // OpenCV's arithmetic: the scale is the inverse of out/in, the source position is computed in
    // f64 and rounded to f32 before it is split into a pixel and a fraction.
    let scale = 1.0 / (out_len as f64 / in_len as f64);
    let last = in_len - 1;
    (0..out_len)
        .map(|dst| {
            let src = ((dst as f64 + 0.5) * scale - 0.5) as f32;
            let lo = src.floor();
            if lo < 0.0 {
                Tap::edge(0)
            } else if lo as usize >= last {
                Tap::edge(last)
            } else {
                Tap { lo: lo as usize, hi: lo as usize + 1, frac: src - lo }
            }
        })
        .collect()
}
