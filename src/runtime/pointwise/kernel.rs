//! The arithmetic of a 1×1 convolution on one sample: `out[m, p] = Σ_k W[m, k] · x[k, p]`, a
//! matrix product whose weights are packed once, when the plan is built, into panels of a few
//! rows (`[panel][k][row]`), and whose input is read where it lies: each step of k loads a run of
//! contiguous columns of x and multiplies it by every row of the panel, the sums of a tile of
//! rows × columns kept in registers through the whole of k. tract packs the input of every
//! product again on each run (1.6 ms of EfficientNet-Lite0's 14 ms forward, 2.5 of its backward).
//!
//! The tile is the processor's: 8 rows × 32 columns in sixteen AVX-512 registers, 6 × 16 in
//! twelve AVX2 ones, 4 × 8 elsewhere (SSE natively, simd128 in the browser).

use std::ops::Range;

#[cfg(target_arch = "wasm32")]
use crate::runtime::simd::wasm;
use crate::runtime::Out;
use crate::runtime::simd::{Isa, Lanes};

/// A tile's shape: rows of weights × columns of input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tile {
    pub rows: usize,
    pub cols: usize,
}

/// The tile of each compiled form of the kernel.
fn tile(isa: Isa) -> Tile {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => Tile { rows: 8, cols: 32 },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => Tile { rows: 6, cols: 16 },
        #[cfg(target_arch = "x86_64")]
        Isa::Sse => Tile { rows: 4, cols: 8 },
        #[cfg(target_arch = "wasm32")]
        Isa::Simd128 => Tile { rows: 4, cols: 8 },
    }
}

/// A `[rows, depth]` weight matrix packed for the tile of this processor: panel after panel of
/// `tile.rows` rows, each `[depth][tile.rows]`, the last one padded with zero rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Packed {
    pub rows: usize,
    pub depth: usize,
    isa: Isa,
    panels: Vec<f32>,
}

impl Packed {
    /// Packs `weight(m, k)` for `m < rows`, `k < depth`; `None` where there is no kernel for
    /// this processor (tract's product runs there).
    pub fn new(rows: usize, depth: usize, weight: impl Fn(usize, usize) -> f32) -> Option<Packed> {
        let isa = Isa::detect()?;
        let tile = tile(isa).rows;
        let mut panels = vec![0.0; rows.div_ceil(tile) * tile * depth];
        for (p, panel) in panels.chunks_exact_mut(tile * depth).enumerate() {
            for (k, step) in panel.chunks_exact_mut(tile).enumerate() {
                for (r, w) in step.iter_mut().enumerate().take(rows.saturating_sub(p * tile)) {
                    *w = weight(p * tile + r, k);
                }
            }
        }
        Some(Packed { rows, depth, isa, panels })
    }

    pub fn tile(&self) -> Tile {
        tile(self.isa)
    }

    pub fn panel_count(&self) -> usize {
        self.rows.div_ceil(self.tile().rows)
    }

    /// Columns of input in a tile.
    pub fn tile_cols(&self) -> usize {
        self.tile().cols
    }

    /// `out[m, p] = clamp(bias[m] + Σ_k W[m, k] · x[k, p])` over one block of `out`: the rows of
    /// its panels, the columns of its tiles. `x` is `[depth, out.cols]`, `bias` has every row's;
    /// `clamp` is `[lo, hi]`, or `None`.
    ///
    /// # Safety
    /// No other call writes the same block of `out` meanwhile.
    pub unsafe fn product(&self, x: &[f32], bias: &[f32], clamp: Option<(f32, f32)>, block: Block, out: &Out) {
        let job = Job { packed: self, x, bias, clamp, block, out };
        // Safety: `Isa::detect` found the features each form is compiled for.
        unsafe {
            match self.isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => x86::avx512(&job),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => x86::avx2(&job),
                #[cfg(target_arch = "x86_64")]
                Isa::Sse => job.run::<crate::runtime::simd::x86::Sse, 4, 2>(),
                #[cfg(target_arch = "wasm32")]
                Isa::Simd128 => job.run::<wasm::Simd128, 4, 2>(),
            }
        }
    }
}

/// A block of a product's output: the rows of some panels × the columns of some tiles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub panels: Range<usize>,
    pub tiles: Range<usize>,
}

/// Tiles ahead of the one being computed whose columns of x are asked into the cache.
const PREFETCH_AHEAD: usize = 2;

/// Bytes ahead in the packed weights that [`tile_sums`] asks into the cache as it goes, one
/// cache line each time its reads reach the next. In the network each product's weights come
/// from memory (the forward's and the backward's are 26 MB for EfficientNet-Lite0, against 4 MB
/// of L2), and on a 7×7 map a 1152-deep panel of 36 KB serves 49 columns only. With the
/// processor's own prefetcher alone (it stops at every 4 KB page) the 1×1 products of the 7×7
/// stages ran at half the speed they reach with their weights in cache: tract's profile, those
/// of the forward 1.18–1.33 → 1.00–1.01 ms, of the backward 1.09–1.27 → 0.98 (2 threads). With
/// the caches emptied between runs, 2,048 bytes ahead did better than 512 and 1,024 and as well
/// as 4,096.
#[cfg(target_arch = "x86_64")]
const WEIGHTS_AHEAD: usize = 2048;

/// Asks for the weights [`WEIGHTS_AHEAD`] bytes past `w` (a panel's next, or the next panel's:
/// they lie one after the other; past the last, a prefetch has no effect).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch_weights(w: &[f32]) {
    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
    // Safety: a prefetch has no effect but on the caches, whatever the address.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(w.as_ptr().wrapping_add(WEIGHTS_AHEAD / 4).cast()) };
}

/// Asks for `floats` floats from `at`, a cache line at a time.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch_row(at: *const f32, floats: usize) {
    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
    for line in (0..floats).step_by(16) {
        // Safety: a prefetch has no effect but on the caches, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(line).cast()) };
    }
}

/// One call of [`Packed::product`].
struct Job<'a> {
    packed: &'a Packed,
    x: &'a [f32],
    bias: &'a [f32],
    clamp: Option<(f32, f32)>,
    block: Block,
    out: &'a Out<'a>,
}

impl Job<'_> {
    /// Column tile by column tile, every panel in turn: the tile of x (depth × NR floats) stays
    /// in the nearest cache while the panels pass over it. A tile is `MR` rows × `NV` vectors of
    /// `V::LANES` columns. The last, partial tile reads x where it lies too, its runs passing into
    /// the next row's first columns, whose sums fill lanes that are never stored; only its last
    /// rows, whose runs would pass the end of x, come from a copy padded with zeros. (A copy of
    /// the whole tile, 147 KB for a 1152-deep one, made by each block that held it: the products
    /// on 7×7 maps took 3–5 % longer.) A tile's sums go from the registers to out, the bias
    /// added and the clamp applied on the way (through a buffer on the stack, a 96 × 16 by
    /// 16 × 112² product took 0.68–1.19 ms on one thread, and takes 0.47–0.53).
    ///
    /// Safety: the processor has `V`'s features; no other job writes this block meanwhile.
    #[inline(always)]
    unsafe fn run<V: Lanes, const MR: usize, const NV: usize>(&self) {
        let nr = NV * V::LANES;
        let (depth, rows, cols) = (self.packed.depth, self.packed.rows, self.out.cols);
        assert!(self.x.len() == depth * cols && depth > 0 && MR == self.packed.tile().rows, "x is [depth, cols]");
        assert!(self.out.rows == rows && self.bias.len() == rows, "out and bias have every row");
        assert!(self.block.panels.end <= rows.div_ceil(MR) && self.block.tiles.end <= cols.div_ceil(nr), "a block inside out");
        let full = cols / nr * nr;
        let tail = PartialTile::new(self.x, depth, cols, nr);
        for col in self.block.tiles.clone().map(|t| t * nr) {
            let width = nr.min(cols - col);
            // The first panel over this tile asks for a later tile's x as it goes ([`tile_sums`]).
            let ahead = (col + PREFETCH_AHEAD * nr + nr <= full).then(|| self.x[col + PREFETCH_AHEAD * nr..].as_ptr());
            for (i, panel) in self.block.panels.clone().enumerate() {
                let ahead = ahead.filter(|_| i == 0);
                let weights = &self.packed.panels[panel * MR * depth..][..MR * depth];
                // Safety: a whole tile's last read, `(depth − 1)·cols + col + nr`, lies in x; the
                // partial tile's rows read from x end `nr` floats past their start, before x's
                // end, and the others lie in the copy.
                let acc = unsafe {
                    if col < full {
                        tile_sums::<V, MR, NV>([[V::zero(); NV]; MR], weights, self.x[col..].as_ptr(), cols, ahead)
                    } else {
                        let (direct, copied) = weights.split_at((depth - tail.rows) * MR);
                        let acc = tile_sums::<V, MR, NV>([[V::zero(); NV]; MR], direct, self.x[col..].as_ptr(), cols, None);
                        tile_sums::<V, MR, NV>(acc, copied, tail.copy.as_ptr(), nr, None)
                    }
                };
                let row = panel * MR;
                // Safety: `V`'s features are there; the tile lies in out (asserted above), in this
                // job's block.
                unsafe { self.store(&acc, row, col, width) };
            }
        }
    }

    /// A tile from the registers to out at (row, col), the bias added and the clamp applied on
    /// the way: its first `width` columns and the rows that out has, the last vector of a
    /// partial tile in part ([`Lanes::store_first`]; through a zeroed buffer on the stack, a
    /// 7×7 map's partial tiles cost a `memset` of 2 KB each).
    ///
    /// Safety: the processor has `V`'s features; those rows and columns lie in out, in this job's
    /// block.
    #[inline(always)]
    unsafe fn store<V: Lanes, const MR: usize, const NV: usize>(&self, acc: &[[V; NV]; MR], row: usize, col: usize, width: usize) {
        for (r, acc) in acc.iter().enumerate().take(self.out.rows.saturating_sub(row)) {
            unsafe {
                let b = V::splat(self.bias[row + r]);
                let to = self.out.ptr.add((row + r) * self.out.cols + col);
                for (at, &acc) in (0..width).step_by(V::LANES).zip(acc) {
                    let sum = V::add(acc, b);
                    let sum = match self.clamp {
                        Some((lo, hi)) => V::clamp(sum, lo, hi),
                        None => sum,
                    };
                    if at + V::LANES <= width {
                        V::store(to.add(at), sum);
                    } else {
                        V::store_first(to.add(at), sum, width - at);
                    }
                }
            }
        }
    }
}

/// `acc + Σ_k w[k][r] · x[k·pitch + c]` for r < MR, c < NV·LANES, the sums held in registers
/// through the whole of k: vector v of row r holds columns `v·LANES…`. As it goes it asks for the
/// weights [`WEIGHTS_AHEAD`] bytes on, and, with `ahead`, for the same rows of a later tile of x
/// (`ahead[k·pitch + c]`): in the network x comes from memory, and a tile reads each of its rows
/// two cache lines at a time, too short a run for the processor's own prefetcher to follow across
/// 100s of channels. Asked for all at once when a tile began (a burst of 2 lines × depth), the
/// 14×14 stages' 1×1 products of the forward took 1.29–1.35 ms in tract's profile; asked for
/// row by row, 1.02–1.09 (WebAssembly has no prefetch).
///
/// Safety: the processor has `V`'s features, and `x` may be read for `w.len() / MR` rows of `pitch`,
/// `NV·LANES` floats from each row's start.
#[inline(always)]
unsafe fn tile_sums<V: Lanes, const MR: usize, const NV: usize>(
    mut acc: [[V; NV]; MR],
    w: &[f32],
    x: *const f32,
    pitch: usize,
    #[allow(unused_variables)] ahead: Option<*const f32>,
) -> [[V; NV]; MR] {
    unsafe {
        for (k, w) in w.chunks_exact(MR).enumerate() {
            #[cfg(target_arch = "x86_64")]
            if k % (64 / (4 * MR)).max(1) == 0 {
                prefetch_weights(w);
            }
            #[cfg(target_arch = "x86_64")]
            if let Some(ahead) = ahead {
                prefetch_row(ahead.wrapping_add(k * pitch), NV * V::LANES);
            }
            let row = x.add(k * pitch);
            let xs: [V; NV] = std::array::from_fn(|v| V::load(row.add(v * V::LANES)));
            for (acc, &w) in acc.iter_mut().zip(w) {
                let w = V::splat(w);
                for (acc, &x) in acc.iter_mut().zip(&xs) {
                    *acc = V::madd(w, x, *acc);
                }
            }
        }
        acc
    }
}

/// The last rows of x's partial column tile whose run of a tile's width would pass the end of x,
/// copied and padded with zeros: `rows` rows of `nr` floats.
struct PartialTile {
    rows: usize,
    copy: Vec<f32>,
}

impl PartialTile {
    fn new(x: &[f32], depth: usize, cols: usize, nr: usize) -> PartialTile {
        let full = cols / nr * nr;
        if full == cols {
            return PartialTile { rows: 0, copy: vec![] };
        }
        // Row k's run, from k·cols + full, ends inside x while (depth − k)·cols ≥ full + nr.
        let rows = (full + nr).div_ceil(cols).min(depth);
        let mut copy = vec![0.0; rows * nr];
        for (to, k) in copy.chunks_exact_mut(nr).zip(depth - rows..) {
            to[..cols - full].copy_from_slice(&x[k * cols + full..][..cols - full]);
        }
        PartialTile { rows, copy }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Job;
    use crate::runtime::simd::x86::{Avx2, Avx512};

    /// Safety: the processor has AVX-512F and FMA.
    #[target_feature(enable = "avx512f,fma")]
    pub unsafe fn avx512(job: &Job) {
        unsafe { job.run::<Avx512, 8, 2>() }
    }

    /// Safety: the processor has AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn avx2(job: &Job) {
        unsafe { job.run::<Avx2, 6, 2>() }
    }
}
