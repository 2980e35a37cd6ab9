//! The vectors our kernels (1×1 and depthwise convolutions) are written over: which width the
//! processor has ([`Isa`]), and one [`Lanes`] type per width, from its intrinsics — AVX-512 and
//! AVX2 natively where the processor has them (SSE2 otherwise), simd128 in the browser.

use std::sync::atomic::{AtomicUsize, Ordering};

/// A compiled form of a kernel: the width of the vectors it is written over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Sse,
    #[cfg(target_arch = "wasm32")]
    Simd128,
}

/// The widest form [`Isa::detect`] may give, as an index into [`Isa::ALL`] (see [`Isa::hold_to`]).
static WIDEST: AtomicUsize = AtomicUsize::new(0);

impl Isa {
    /// Every form there is for this architecture, the widest first (none but on x86-64 and
    /// WebAssembly, where the kernels run one float at a time).
    pub const ALL: &[Isa] = &[
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2,
        #[cfg(target_arch = "x86_64")]
        Isa::Sse,
        #[cfg(target_arch = "wasm32")]
        Isa::Simd128,
    ];

    /// The widest form the processor runs, where there is one, within [`Isa::hold_to`]'s limit.
    pub fn detect() -> Option<Isa> {
        Isa::ALL.iter().skip(WIDEST.load(Ordering::Relaxed)).copied().find(|isa| isa.runs_here())
    }

    /// Plans built from now on run our kernels over `isa`'s vectors at most (`None`: the widest
    /// the processor has). `layercam bench` plans at WebAssembly's width (SSE's 128 bits) with it,
    /// to measure natively what the width alone costs the page.
    pub fn hold_to(isa: Option<Isa>) {
        let index = isa.and_then(|isa| Isa::ALL.iter().position(|&a| a == isa)).unwrap_or(0);
        WIDEST.store(index, Ordering::Relaxed);
    }

    /// Floats in one of this form's vectors.
    pub fn lanes(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => 16,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => 8,
            #[cfg(target_arch = "x86_64")]
            Isa::Sse => 4,
            #[cfg(target_arch = "wasm32")]
            Isa::Simd128 => 4,
        }
    }

    /// Whether the processor has the features this form is compiled for.
    pub fn runs_here(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Isa::Sse => true,
            #[cfg(target_arch = "wasm32")]
            Isa::Simd128 => true,
        }
    }
}

/// A vector of `LANES` floats and what the kernels do with it.
pub(crate) trait Lanes: Copy {
    const LANES: usize;
    unsafe fn zero() -> Self;
    unsafe fn splat(v: f32) -> Self;
    unsafe fn load(from: *const f32) -> Self;
    unsafe fn store(to: *mut f32, v: Self);
    /// The first `n` floats of `v` (`n` ≤ LANES ≤ 16) to `to`, with a masked store where the
    /// processor has one, else a float at a time (through a zeroed buffer and `copy_from_slice`
    /// it was a call to `memset` and one to `memcpy`, or in WebAssembly `memory.fill` and
    /// `memory.copy`, for a plane's last few floats: natively the 7×7 depthwise layers took 4 %
    /// longer).
    #[inline(always)]
    unsafe fn store_first(to: *mut f32, v: Self, n: usize) {
        let mut lanes = [0.0f32; 16];
        debug_assert!(n <= Self::LANES && Self::LANES <= lanes.len());
        unsafe {
            Self::store(lanes.as_mut_ptr(), v);
            for (i, &lane) in lanes.iter().enumerate().take(n) {
                std::ptr::write_volatile(to.add(i), lane);
            }
        }
    }
    /// `a · b + c`, fused where the processor can.
    unsafe fn madd(a: Self, b: Self, c: Self) -> Self;
    unsafe fn add(a: Self, b: Self) -> Self;
    unsafe fn mul(a: Self, b: Self) -> Self;
    /// `v.max(lo).min(hi)` per lane, as `f32`'s: a NaN becomes `lo`.
    unsafe fn clamp(v: Self, lo: f32, hi: f32) -> Self;
}

/// One float at a time: where there are no vectors we have a type for.
impl Lanes for f32 {
    const LANES: usize = 1;
    unsafe fn zero() -> Self {
        0.0
    }
    unsafe fn splat(v: f32) -> Self {
        v
    }
    unsafe fn load(from: *const f32) -> Self {
        unsafe { *from }
    }
    unsafe fn store(to: *mut f32, v: Self) {
        unsafe { *to = v }
    }
    unsafe fn madd(a: Self, b: Self, c: Self) -> Self {
        a * b + c
    }
    unsafe fn add(a: Self, b: Self) -> Self {
        a + b
    }
    unsafe fn mul(a: Self, b: Self) -> Self {
        a * b
    }
    unsafe fn clamp(v: Self, lo: f32, hi: f32) -> Self {
        v.max(lo).min(hi)
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use std::arch::x86_64::*;

    use super::Lanes;

    /// A [`Lanes`] over one x86 vector type, from its intrinsics.
    macro_rules! lanes {
        ($(#[$doc:meta])* $name:ident($vector:ty), $lanes:expr, $zero:ident, $splat:ident, $load:ident, $store:ident,
         $add:ident, $mul:ident, $max:ident, $min:ident, madd: |$a:ident, $b:ident, $c:ident| $madd:expr
         $(, store_first: |$to:ident, $v:ident, $n:ident| $store_first:expr)?) => {
            $(#[$doc])*
            #[derive(Clone, Copy)]
            pub struct $name($vector);

            impl Lanes for $name {
                const LANES: usize = $lanes;
                #[inline(always)]
                unsafe fn zero() -> Self {
                    unsafe { $name($zero()) }
                }
                #[inline(always)]
                unsafe fn splat(v: f32) -> Self {
                    unsafe { $name($splat(v)) }
                }
                #[inline(always)]
                unsafe fn load(from: *const f32) -> Self {
                    unsafe { $name($load(from)) }
                }
                #[inline(always)]
                unsafe fn store(to: *mut f32, v: Self) {
                    unsafe { $store(to, v.0) }
                }
                $(
                #[inline(always)]
                unsafe fn store_first($to: *mut f32, v: Self, $n: usize) {
                    let $v = v.0;
                    unsafe { $store_first }
                }
                )?
                #[inline(always)]
                unsafe fn madd(a: Self, b: Self, c: Self) -> Self {
                    let ($a, $b, $c) = (a.0, b.0, c.0);
                    unsafe { $name($madd) }
                }
                #[inline(always)]
                unsafe fn add(a: Self, b: Self) -> Self {
                    unsafe { $name($add(a.0, b.0)) }
                }
                #[inline(always)]
                unsafe fn mul(a: Self, b: Self) -> Self {
                    unsafe { $name($mul(a.0, b.0)) }
                }
                #[inline(always)]
                unsafe fn clamp(v: Self, lo: f32, hi: f32) -> Self {
                    // maxps returns its second operand where either is NaN.
                    unsafe { $name($min($max(v.0, $splat(lo)), $splat(hi))) }
                }
            }
        };
    }

    lanes!(Avx512(__m512), 16, _mm512_setzero_ps, _mm512_set1_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_add_ps, _mm512_mul_ps,
        _mm512_max_ps, _mm512_min_ps, madd: |a, b, c| _mm512_fmadd_ps(a, b, c),
        store_first: |to, v, n| _mm512_mask_storeu_ps(to, ((1u32 << n) - 1) as u16, v));
    lanes!(Avx2(__m256), 8, _mm256_setzero_ps, _mm256_set1_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_add_ps, _mm256_mul_ps,
        _mm256_max_ps, _mm256_min_ps, madd: |a, b, c| _mm256_fmadd_ps(a, b, c));
    lanes!(
        /// SSE2, which every x86-64 processor has: no fused multiply-add.
        Sse(__m128), 4, _mm_setzero_ps, _mm_set1_ps, _mm_loadu_ps, _mm_storeu_ps, _mm_add_ps, _mm_mul_ps, _mm_max_ps, _mm_min_ps,
        madd: |a, b, c| _mm_add_ps(_mm_mul_ps(a, b), c)
    );
}

#[cfg(target_arch = "wasm32")]
pub(crate) mod wasm {
    use std::arch::wasm32::*;

    use super::Lanes;

    /// simd128; the threaded worker's build also has relaxed SIMD, whose multiply-add the
    /// browser fuses where the processor can.
    #[derive(Clone, Copy)]
    pub struct Simd128(v128);

    impl Lanes for Simd128 {
        const LANES: usize = 4;
        #[inline(always)]
        unsafe fn zero() -> Self {
            Simd128(f32x4_splat(0.0))
        }
        #[inline(always)]
        unsafe fn splat(v: f32) -> Self {
            Simd128(f32x4_splat(v))
        }
        #[inline(always)]
        unsafe fn load(from: *const f32) -> Self {
            unsafe { Simd128(v128_load(from.cast())) }
        }
        #[inline(always)]
        unsafe fn store(to: *mut f32, v: Self) {
            unsafe { v128_store(to.cast(), v.0) }
        }
        #[inline(always)]
        unsafe fn madd(a: Self, b: Self, c: Self) -> Self {
            #[cfg(target_feature = "relaxed-simd")]
            return Simd128(f32x4_relaxed_madd(a.0, b.0, c.0));
            #[cfg(not(target_feature = "relaxed-simd"))]
            Simd128(f32x4_add(f32x4_mul(a.0, b.0), c.0))
        }
        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            Simd128(f32x4_add(a.0, b.0))
        }
        #[inline(always)]
        unsafe fn mul(a: Self, b: Self) -> Self {
            Simd128(f32x4_mul(a.0, b.0))
        }
        #[inline(always)]
        unsafe fn clamp(v: Self, lo: f32, hi: f32) -> Self {
            // pmax(a, b) is `a < b ? b : a`: lo where v is NaN.
            Simd128(f32x4_pmin(f32x4_splat(hi), f32x4_pmax(f32x4_splat(lo), v.0)))
        }
    }
}
