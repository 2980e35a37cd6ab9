//! `f32::max`, `f32::min` and a clamp written as comparisons. Rust's `max` and `min` pass over a
//! NaN argument (IEEE maxNum), which WebAssembly has no instruction for: there each is a call to
//! `fmaxf` or `fminf`, in loops that the compiler then cannot vectorise (a strided depthwise
//! layer's clamp took 3× its native time in the browser; the ReLU of every CAM map). A comparison
//! and a select are `f32x4.pmax`/`pmin` in WebAssembly, `maxps`/`minps` natively.

/// `x.max(0.0)`: x where it is positive, else 0 (NaN too).
#[inline(always)]
pub fn relu(x: f32) -> f32 {
    if 0.0 < x { x } else { 0.0 }
}

/// `acc.max(v)` for an `acc` that is not NaN: v where it is larger, so a NaN v is passed over
/// (the fold of a maximum from a number).
#[inline(always)]
pub fn larger(acc: f32, v: f32) -> f32 {
    if acc < v { v } else { acc }
}

/// `acc.min(v)` for an `acc` that is not NaN, as [`larger`].
#[inline(always)]
pub fn smaller(acc: f32, v: f32) -> f32 {
    if v < acc { v } else { acc }
}

/// `v.max(lo).min(hi)` for bounds that are not NaN: NaN becomes `lo`, as in the vector kernels'
/// clamp.
#[inline(always)]
pub fn clamp(v: f32, lo: f32, hi: f32) -> f32 {
    smaller(larger(lo, v), hi)
}
