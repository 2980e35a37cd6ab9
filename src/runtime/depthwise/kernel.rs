//! The arithmetic of a depthwise convolution on one `[H, W]` plane, and of its transpose (the
//! gradient with respect to its input), as sums of a few shifted runs of contiguous memory, over
//! the widest vectors the processor has (AVX-512, AVX2 or SSE natively, simd128 in the browser).
//!
//! Output `o` of an axis reads padded input `o·s + t·d` under tap t (stride s, dilation d). The
//! zero-padded input is split into *phases* by position mod s on both axes, so that the tap reads
//! entry `o + ⌊t·d / s⌋` of phase `t·d mod s`: with the phase planes laid out with a row pitch of
//! `L` entries, and the output computed on the same pitch (the columns past the output's width are
//! scratch, dropped at the end), each tap is one shift of the whole plane. A block of outputs
//! at a time takes its sum over every tap in registers. The transpose gathers, per entry of each
//! phase plane, what the taps that read it send back, and reads the input's positions back out of
//! the phase planes.
//!
//! At stride 1 (all but four of EfficientNet-Lite0's depthwise layers) there is one phase, and
//! both directions sum straight into their output a row at a time from a zero-padded copy of their
//! input ([`simd::row_sums`]): no pitched output to copy out, nor phase plane to gather from. That
//! took EfficientNet-Lite0's depthwise layers in the browser from 13.3–13.8 to 10.0–10.8 ms of the
//! forward (one thread), natively from 2.4 to 2.1–2.2 ms (two threads), and the transposed ones
//! from 3.6–3.8 to 3.4–3.6.

use crate::runtime::simd::{Isa, Lanes};

/// One spatial axis of the convolution: output `o`, tap `t` read input `o·stride + t·dilation − pad`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Axis {
    pub input: usize,
    pub output: usize,
    pub kernel: usize,
    pub stride: usize,
    pub dilation: usize,
    /// Padding before the first input element.
    pub pad: usize,
}

impl Axis {
    /// Phase and entry of tap t: the padded position `o·s + t·d` is entry `o + shift` of phase `phase`.
    fn tap(&self, t: usize) -> (usize, usize) {
        let reach = t * self.dilation;
        (reach % self.stride, reach / self.stride)
    }

    /// Entries per phase: every output's furthest tap.
    fn phase_len(&self) -> usize {
        self.output + self.tap(self.kernel - 1).1
    }

    /// Where input i lies: (phase, entry), if an output reads it.
    fn place(&self, i: usize) -> Option<(usize, usize)> {
        let padded = i + self.pad;
        let entry = padded / self.stride;
        (entry < self.phase_len()).then_some((padded % self.stride, entry))
    }
}

/// The planes of [`Plane::across_on`], one channel per lane: their inputs, kernels `[kh, kw]`,
/// first values of the sums (the biases, or zeros), the clamp and their outputs.
pub struct Channels<'a> {
    pub planes: Vec<&'a [f32]>,
    pub kernels: Vec<&'a [f32]>,
    pub init: Vec<f32>,
    pub clamp: Option<(f32, f32)>,
    pub outputs: Vec<&'a mut [f32]>,
}

/// [`Plane::across`]: a zero-padded map of `rows × cols` positions, one vector of channels each,
/// the planes (`from`, rows × columns) placed at (`top`, `left`); output (y, x) of `to` reads
/// position `(y·stride.0, x·stride.1)` plus each tap's offset.
struct Across {
    rows: usize,
    cols: usize,
    top: usize,
    left: usize,
    stride: (usize, usize),
    taps: Vec<usize>,
    from: (usize, usize),
    to: (usize, usize),
}

/// A depthwise convolution's geometry on a plane: rows (H) and columns (W).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Plane {
    pub rows: Axis,
    pub cols: Axis,
    /// Per tap (row-major): its phase plane and the offset of its first read in that plane.
    taps: Vec<(usize, usize)>,
    /// Per phase plane, the taps that read it.
    phase_taps: Vec<Vec<usize>>,
    /// At stride 1, per tap, the offset of the transpose's first read in the padded output
    /// gradient ([`Plane::gradient_padding`]).
    gradient_taps: Vec<usize>,
    /// Where each input row and column that an output reads lies in the phase planes: the sum of
    /// the two is the position of that input value.
    row_places: Vec<usize>,
    col_places: Vec<usize>,
}

impl Plane {
    pub fn new(rows: Axis, cols: Axis) -> Plane {
        let (pitch, plane) = (cols.phase_len(), Plane::phase_plane_len_of(&rows, &cols));
        let taps: Vec<(usize, usize)> = (0..rows.kernel)
            .flat_map(|ty| (0..cols.kernel).map(move |tx| (rows.tap(ty), cols.tap(tx))))
            .map(|((py, sy), (px, sx))| (py * cols.stride + px, sy * pitch + sx))
            .collect();
        let row_places = (0..rows.input).map_while(|i| rows.place(i)).map(|(p, e)| p * cols.stride * plane + e * pitch).collect();
        let col_places = (0..cols.input).map_while(|x| cols.place(x)).map(|(p, e)| p * plane + e).collect();
        let phase_taps = (0..rows.stride * cols.stride).map(|p| (0..taps.len()).filter(|&t| taps[t].0 == p).collect()).collect();
        let mut plane = Plane { rows, cols, taps, phase_taps, gradient_taps: vec![], row_places, col_places };
        let pitch = plane.gradient_padding().pitch;
        plane.gradient_taps = (0..rows.kernel)
            .flat_map(|ty| (0..cols.kernel).map(move |tx| (rows.tap(rows.kernel - 1 - ty).1, cols.tap(cols.kernel - 1 - tx).1)))
            .map(|(row, col)| row * pitch + col)
            .collect();
        plane
    }

    /// Whether every output reads at least one input value (tract pads no more than a kernel).
    pub fn reads_input(&self) -> bool {
        [self.rows, self.cols].iter().all(|a| a.pad < (a.kernel - 1) * a.dilation + 1 && a.output > 0 && a.input > 0)
    }

    pub fn input_len(&self) -> usize {
        self.rows.input * self.cols.input
    }

    pub fn output_len(&self) -> usize {
        self.rows.output * self.cols.output
    }

    pub fn kernel_len(&self) -> usize {
        self.rows.kernel * self.cols.kernel
    }

    /// Floats per phase plane: its rows at the output pitch, and room for the last row's reach.
    fn phase_plane_len(&self) -> usize {
        Plane::phase_plane_len_of(&self.rows, &self.cols)
    }

    fn phase_plane_len_of(rows: &Axis, cols: &Axis) -> usize {
        rows.phase_len() * cols.phase_len() + cols.tap(cols.kernel - 1).1
    }

    /// The output (or output gradient) at the phase pitch.
    fn pitched_len(&self) -> usize {
        self.rows.output * self.cols.phase_len()
    }

    /// Zeros before the pitched plane, so that the transpose reads `pitched[i − offset]` for every
    /// tap's offset as one contiguous run: the furthest offset.
    fn pitched_front(&self) -> usize {
        self.taps.iter().map(|&(_, offset)| offset).max().unwrap_or(0)
    }

    /// Zeros after it: the transpose reads a phase plane's length past the front, and
    /// [`simd::tap_sums`] a block further.
    fn pitched_back(&self) -> usize {
        self.phase_plane_len().saturating_sub(self.pitched_len()) + simd::BLOCK
    }

    /// Floats of the phase planes, and the block [`simd::tap_sums`] may read past them.
    fn phases_len(&self) -> usize {
        self.rows.stride * self.cols.stride * self.phase_plane_len() + simd::BLOCK
    }

    /// Floats of scratch that [`Plane::forward_on`] and [`Plane::transposed_on`] need.
    pub fn scratch_len(&self) -> usize {
        let phased = self.phases_len() + self.pitched_front() + self.pitched_len() + self.pitched_back();
        phased.max(self.gradient_padding().len() + simd::BLOCK)
    }

    /// Whether both strides are 1: then the forward sums straight from a zero-padded copy of its
    /// input (the one phase plane) into its output, and the transpose likewise from a zero-padded
    /// copy of the output gradient into the input gradient, without the phase planes' detour.
    fn unstrided(&self) -> bool {
        self.rows.stride == 1 && self.cols.stride == 1
    }

    /// The forward's input zero-padded: its one phase plane.
    fn input_padding(&self) -> Padding {
        let (rows, cols) = (&self.rows, &self.cols);
        Padding { rows: rows.phase_len(), pitch: cols.phase_len(), top: rows.pad, left: cols.pad }
    }

    /// The output gradient zero-padded for the transpose at stride 1: input position `i` gathers
    /// from gradient position `i + pad − t·d` under tap t, i.e. padded entry `i + (k − 1 − t)·d`.
    fn gradient_padding(&self) -> Padding {
        let (rows, cols) = (&self.rows, &self.cols);
        let (reach_rows, reach_cols) = (rows.tap(rows.kernel - 1).1, cols.tap(cols.kernel - 1).1);
        Padding {
            rows: rows.input + reach_rows,
            pitch: cols.input + reach_cols,
            top: reach_rows.saturating_sub(rows.pad),
            left: reach_cols.saturating_sub(cols.pad),
        }
    }

    /// The scratch as the phase planes, then the pitched plane between zeros.
    fn split_scratch<'s>(&self, scratch: &'s mut [f32]) -> (&'s mut [f32], &'s mut [f32]) {
        let (phases, padded) = scratch.split_at_mut(self.phases_len());
        let (front, pitched) = (self.pitched_front(), self.pitched_len());
        padded[..front].fill(0.0);
        padded[front + pitched..].fill(0.0);
        (phases, padded)
    }

    /// `output = clamp(bias + Σ_taps w · input)` over one plane (`kernel` is `[kh, kw]`; `clamp`
    /// is `[lo, hi]`, or `None`), over the vectors of `isa` (`None`: one float at a time), which
    /// the processor must have: each form gives the same floats (tests/integration/depthwise.rs).
    #[allow(clippy::too_many_arguments)]
    pub fn forward_on(
        &self,
        isa: Option<Isa>,
        input: &[f32],
        kernel: &[f32],
        bias: f32,
        clamp: Option<(f32, f32)>,
        output: &mut [f32],
        scratch: &mut [f32],
    ) {
        simd::dispatch!(isa, self.forward_with(input: &[f32], kernel: &[f32], bias: f32, clamp: Option<(f32, f32)>, output: &mut [f32], scratch: &mut [f32]))
    }

    /// The transpose of [`Plane::forward_on`] without its bias: `input_grad = Σ_taps w ·
    /// output_grad` sent back to the input positions each tap read, over the vectors of `isa`.
    pub fn transposed_on(&self, isa: Option<Isa>, output_grad: &[f32], kernel: &[f32], input_grad: &mut [f32], scratch: &mut [f32]) {
        simd::dispatch!(isa, self.transposed_with(output_grad: &[f32], kernel: &[f32], input_grad: &mut [f32], scratch: &mut [f32]))
    }

    /// How many planes [`Plane::across_on`] runs at once on `isa`, one channel per lane: where a
    /// row of the plane fills at most half a vector (the 7×7 maps with AVX-512, a row of 7 in 16
    /// lanes; on the 14×14 ones interleaving the planes cost more than it gained), the transpose
    /// at stride 1 only. `None` where a plane at a time is the better way.
    pub fn lanes_across(&self, isa: Option<Isa>, transposed: bool) -> Option<usize> {
        let lanes = isa.map_or(1, Isa::lanes);
        let row = if transposed { self.cols.input } else { self.cols.output };
        (lanes > 4 && 2 * row <= lanes && (!transposed || self.unstrided())).then_some(lanes)
    }

    /// [`Plane::forward_on`] (or, `transposed`, [`Plane::transposed_on`] at stride 1) of
    /// [`Plane::lanes_across`] planes at once, one channel per lane: the planes interleaved
    /// into a zero-padded map of one vector per position, every tap one full vector. Each output
    /// gives the same float as the plane-at-a-time form: the same taps, summed in the same order.
    pub fn across_on(&self, isa: Option<Isa>, transposed: bool, channels: &mut Channels, scratch: &mut Vec<f32>) {
        assert!(self.lanes_across(isa, transposed) == Some(channels.planes.len()), "as many planes as lanes, where that pays");
        simd::dispatch!(isa, self.across_with(transposed: bool, channels: &mut Channels, scratch: &mut Vec<f32>))
    }

    /// Where [`Plane::across_on`] reads: the padded map, the planes' place in it, the step
    /// between outputs and each tap's offset, in positions.
    fn across(&self, transposed: bool) -> Across {
        let (r, c) = (&self.rows, &self.cols);
        let reach = |a: &Axis| (a.kernel - 1) * a.dilation;
        if transposed {
            // Input position i gathers gradient position i + pad − t·d: padded entry i + (k − 1 − t)·d.
            let cols = c.input + reach(c);
            let taps = (0..r.kernel).flat_map(|ty| (0..c.kernel).map(move |tx| ((r.kernel - 1 - ty) * r.dilation, (c.kernel - 1 - tx) * c.dilation)));
            return Across {
                rows: r.input + reach(r),
                cols,
                top: reach(r) - r.pad,
                left: reach(c) - c.pad,
                stride: (1, 1),
                taps: taps.map(|(y, x)| y * cols + x).collect(),
                from: (r.output, c.output),
                to: (r.input, c.input),
            };
        }
        let cols = (c.output - 1) * c.stride + reach(c) + 1;
        let taps = (0..r.kernel).flat_map(|ty| (0..c.kernel).map(move |tx| (ty * r.dilation, tx * c.dilation)));
        Across {
            rows: (r.output - 1) * r.stride + reach(r) + 1,
            cols,
            top: r.pad,
            left: c.pad,
            stride: (r.stride, c.stride),
            taps: taps.map(|(y, x)| y * cols + x).collect(),
            from: (r.input, c.input),
            to: (r.output, c.output),
        }
    }

    /// [`Plane::across_on`] over `V`'s vectors, `NV` outputs a block (their sums' chains of
    /// additions side by side, as in [`simd::row_sums`]).
    ///
    /// Safety: the processor has `V`'s features.
    #[inline(always)]
    unsafe fn across_with<V: Lanes, const NV: usize>(&self, transposed: bool, channels: &mut Channels, scratch: &mut Vec<f32>) {
        let (lanes, geometry) = (V::LANES, self.across(transposed));
        let Across { rows, cols, top, left, stride, ref taps, from, to } = geometry;
        let Channels { planes, kernels, init, clamp, outputs } = channels;
        assert!([kernels.len(), init.len(), outputs.len()] == [lanes; 3] && planes.len() == lanes);
        let padded_len = rows * cols * lanes;
        scratch.clear();
        scratch.resize(padded_len + taps.len() * lanes + lanes, 0.0);
        let (padded, rest) = scratch.split_at_mut(padded_len);
        let (weights, lane_values) = rest.split_at_mut(taps.len() * lanes);
        assert!(planes.iter().all(|p| p.len() == from.0 * from.1), "every plane whole");
        let (read_rows, read_cols) = (from.0.min(rows - top), from.1.min(cols - left));
        for y in 0..read_rows {
            let row = &mut padded[((y + top) * cols + left) * lanes..][..read_cols * lanes];
            for (x, to) in row.chunks_exact_mut(lanes).enumerate() {
                // Safety: y < from.0 and x < from.1: inside every plane (asserted above).
                to.iter_mut().zip(planes.iter()).for_each(|(to, plane)| *to = unsafe { *plane.get_unchecked(y * from.1 + x) });
            }
        }
        for (t, taps) in weights.chunks_exact_mut(lanes).enumerate() {
            taps.iter_mut().zip(kernels.iter()).for_each(|(w, kernel)| *w = kernel[t]);
        }
        let positions = to.0 * to.1;
        let place = |p: usize| ((p / to.1) * stride.0 * cols + (p % to.1) * stride.1) * lanes;
        let reach = taps.iter().max().map_or(0, |&t| t * lanes);
        assert!(positions == 0 || place(positions - 1) + reach + lanes <= padded.len(), "a tap reads past the map");
        assert!(outputs.iter().all(|o| o.len() == positions), "every output plane whole");
        for first in (0..positions).step_by(NV) {
            let at: [usize; NV] = std::array::from_fn(|v| place((first + v).min(positions - 1)));
            // Safety: every read lies in the padded map (asserted above); V's features are there.
            unsafe {
                let weighed = taps.iter().enumerate().map(|(t, &offset)| (offset * lanes, V::load(weights.as_ptr().add(t * lanes))));
                let sums = simd::block_sums::<V, NV>(V::load(init.as_ptr()), padded.as_ptr(), &at, weighed);
                for (v, &sum) in sums.iter().enumerate().take(positions - first) {
                    let sum = match *clamp {
                        Some((lo, hi)) => V::clamp(sum, lo, hi),
                        None => sum,
                    };
                    V::store(lane_values.as_mut_ptr(), sum);
                    for (out, &value) in outputs.iter_mut().zip(lane_values.iter()) {
                        // Safety: first + v < positions, every output's length (asserted above).
                        *out.get_unchecked_mut(first + v) = value;
                    }
                }
            }
        }
    }

    /// [`Plane::forward_on`] over `V`'s vectors, `NV` of them a block.
    ///
    /// Safety: the processor has `V`'s features.
    #[inline(always)]
    unsafe fn forward_with<V: Lanes, const NV: usize>(
        &self,
        input: &[f32],
        kernel: &[f32],
        bias: f32,
        clamp: Option<(f32, f32)>,
        output: &mut [f32],
        scratch: &mut [f32],
    ) {
        if self.unstrided() {
            let padding = self.input_padding();
            unsafe { padding.copy::<V>(input, self.cols.input, scratch) };
            let taps = self.taps.iter().zip(kernel).map(|(&(_, offset), &w)| (offset, w));
            // Safety: the caller's promise; the scratch holds BLOCK floats past the padded input.
            return unsafe { simd::row_sums::<V, NV>(output, self.cols.output, bias, clamp, scratch, padding.pitch, taps) };
        }
        let (phases, padded) = self.split_scratch(scratch);
        phases.fill(0.0);
        self.scatter(input, phases);
        let pitched = &mut padded[self.pitched_front()..][..self.pitched_len()];
        let plane = self.phase_plane_len();
        let taps = self.taps.iter().zip(kernel).map(|(&(phase, offset), &w)| (phase * plane + offset, w));
        unsafe { simd::tap_sums::<V, NV>(pitched, bias, phases, taps) };
        for (out, row) in output.chunks_exact_mut(self.cols.output).zip(pitched.chunks_exact(self.cols.phase_len())) {
            match clamp {
                Some((lo, hi)) => out.iter_mut().zip(row).for_each(|(out, v)| *out = crate::float::clamp(*v, lo, hi)),
                None => out.copy_from_slice(&row[..self.cols.output]),
            }
        }
    }

    /// Each phase plane's entry `i` sums `w · pitched[i − offset]` over the taps into that plane:
    /// what the taps send back, gathered per entry so that the sums stay in registers.
    ///
    /// Safety: the processor has `V`'s features.
    #[inline(always)]
    unsafe fn transposed_with<V: Lanes, const NV: usize>(
        &self,
        output_grad: &[f32],
        kernel: &[f32],
        input_grad: &mut [f32],
        scratch: &mut [f32],
    ) {
        if self.unstrided() {
            let padding = self.gradient_padding();
            unsafe { padding.copy::<V>(output_grad, self.cols.output, scratch) };
            let taps = self.gradient_taps.iter().copied().zip(kernel.iter().copied());
            // Safety: as in the forward.
            return unsafe { simd::row_sums::<V, NV>(input_grad, self.cols.input, 0.0, None, scratch, padding.pitch, taps) };
        }
        let (phases, padded) = self.split_scratch(scratch);
        let front = self.pitched_front();
        let pitched = &mut padded[front..][..self.pitched_len()];
        pitched.fill(0.0);
        for (row, grad) in pitched.chunks_exact_mut(self.cols.phase_len()).zip(output_grad.chunks_exact(self.cols.output)) {
            row[..self.cols.output].copy_from_slice(grad);
        }
        for (plane, taps) in phases.chunks_exact_mut(self.phase_plane_len()).zip(&self.phase_taps) {
            let taps = taps.iter().map(|&t| (front - self.taps[t].1, kernel[t]));
            unsafe { simd::tap_sums::<V, NV>(plane, 0.0, padded, taps) };
        }
        self.gather(phases, input_grad);
    }

    /// Each input value to its place in the phase planes (which hold zeros elsewhere: the padding).
    fn scatter(&self, input: &[f32], phases: &mut [f32]) {
        let read = self.col_places.len();
        for (row, &start) in input.chunks_exact(self.cols.input).zip(&self.row_places) {
            if self.cols.stride == 1 {
                phases[start + self.col_places[0]..][..read].copy_from_slice(&row[..read]);
                continue;
            }
            if let Some([even, odd]) = self.stride_two_runs() {
                let (even, odd) = two_runs_mut(phases, start + even, start + odd, read);
                for ((pair, even), odd) in row[..read].chunks_exact(2).zip(even.iter_mut()).zip(odd.iter_mut()) {
                    (*even, *odd) = (pair[0], pair[1]);
                }
                if read % 2 == 1 {
                    even[read / 2] = row[read - 1];
                }
                continue;
            }
            for (first, place) in self.col_runs() {
                let to = &mut phases[start + place..];
                to.iter_mut().zip(row[first..read].iter().step_by(self.cols.stride)).for_each(|(to, &v)| *to = v);
            }
        }
    }

    /// The inverse of [`Plane::scatter`]: each input position read back out of the phase planes
    /// (zero where no output reads it).
    ///
    /// Only the rows and columns past the phase planes' reach are zeroed (at the usual pads and
    /// strides, none: a whole plane zeroed before it was copied over was 1 % of an image's time
    /// natively); every phase plane is written, so the runs leave no gap.
    fn gather(&self, phases: &[f32], input: &mut [f32]) {
        let read = self.col_places.len();
        let (rows_read, rows_unread) = input.split_at_mut(self.row_places.len() * self.cols.input);
        rows_unread.fill(0.0);
        for (row, &start) in rows_read.chunks_exact_mut(self.cols.input).zip(&self.row_places) {
            row[read..].fill(0.0);
            if self.cols.stride == 1 {
                row[..read].copy_from_slice(&phases[start + self.col_places[0]..][..read]);
                continue;
            }
            if let Some([even, odd]) = self.stride_two_runs() {
                let (even, odd) = (&phases[start + even..][..read.div_ceil(2)], &phases[start + odd..][..read / 2]);
                for ((pair, &even), &odd) in row[..read].chunks_exact_mut(2).zip(even).zip(odd) {
                    (pair[0], pair[1]) = (even, odd);
                }
                if read % 2 == 1 {
                    row[read - 1] = even[read / 2];
                }
                continue;
            }
            for (first, place) in self.col_runs() {
                let from = &phases[start + place..];
                row[first..read].iter_mut().step_by(self.cols.stride).zip(from).for_each(|(v, &from)| *v = from);
            }
        }
    }

    /// With a stride of 2 (and two columns read or more): where the even input columns' run starts,
    /// and the odd ones'. Both runs are copied in one loop over pairs of columns, which the
    /// compiler vectorises (one run at a time, every other column, it did not: the copies took
    /// half of a 112² plane's forward).
    fn stride_two_runs(&self) -> Option<[usize; 2]> {
        (self.cols.stride == 2 && self.col_places.len() >= 2).then(|| [self.col_places[0], self.col_places[1]])
    }

    /// The input columns of one phase are every stride-th from the first, and lie one after the
    /// other in their phase plane: per phase, that first column and its place.
    fn col_runs(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.col_places.iter().take(self.cols.stride).copied().enumerate()
    }
}

/// A plane copied into a larger one, zeros around it.
struct Padding {
    rows: usize,
    pitch: usize,
    /// Where the plane's first value goes.
    top: usize,
    left: usize,
}

impl Padding {
    fn len(&self) -> usize {
        self.rows * self.pitch
    }

    /// `plane` (`width` floats a row) into the first [`Padding::len`] floats of `to`; what falls
    /// past the padded rows or columns is dropped (no output reads it). A vector at a time
    /// ([`simd::zero`], [`simd::copy`]): a row's pads are zeroed a whole vector each, reaching into
    /// the plane's part, which is copied in after them.
    ///
    /// Safety: the processor has `V`'s features.
    #[inline(always)]
    unsafe fn copy<V: Lanes>(&self, plane: &[f32], width: usize, to: &mut [f32]) {
        let read = width.min(self.pitch - self.left);
        let (left, right) = (self.left.max(V::LANES).min(self.pitch), (self.left + read).min(self.pitch.saturating_sub(V::LANES)));
        for (r, row) in to[..self.len()].chunks_exact_mut(self.pitch).enumerate() {
            let Some(from) = r.checked_sub(self.top).and_then(|i| plane.chunks_exact(width).nth(i)) else {
                unsafe { simd::zero::<V>(row) };
                continue;
            };
            unsafe {
                simd::zero::<V>(&mut row[..left]);
                simd::zero::<V>(&mut row[right..]);
                simd::copy::<V>(&mut row[self.left..][..read], &from[..read]);
            }
        }
    }
}

/// The runs of `len.div_ceil(2)` floats at `even` and of `len / 2` at `odd`, which lie in
/// different phase planes and so do not overlap.
fn two_runs_mut(phases: &mut [f32], even: usize, odd: usize, len: usize) -> (&mut [f32], &mut [f32]) {
    let (even_len, odd_len) = (len.div_ceil(2), len / 2);
    if even < odd {
        let (before, after) = phases.split_at_mut(odd);
        (&mut before[even..][..even_len], &mut after[..odd_len])
    } else {
        let (before, after) = phases.split_at_mut(even);
        (&mut after[..even_len], &mut before[odd..][..odd_len])
    }
}

/// The one loop that does the arithmetic, compiled for each vector width ([`Isa`](crate::runtime::simd::Isa)).
mod simd {
    use crate::runtime::simd::Lanes;

    /// Floats that [`tap_sums`] may read past a plane: its widest block.
    pub const BLOCK: usize = 64;

    /// `out[i] = init + Σ w · from[start + i]` over the taps `(start, w)`, added in the taps'
    /// order, each product rounded before its sum: fused multiply-adds would be faster, but would
    /// make the native maps differ from the browser's (wasm has no FMA) and move which ReLU6 masks
    /// flip in the backward (3.6e-2 of blocks.0's gradient max against PyTorch's float32 on
    /// coffee, where this form stays at 5.9e-3 as tract's kernel did). A block of `NV` vectors of
    /// outputs at a time keeps its sums in registers through every tap; each sum is a chain of
    /// dependent additions, so the block has as many vectors as the processor can keep in flight
    /// (4 AVX-512, 8 AVX2: 64 outputs; 8 SSE or simd128: 32; with 4 AVX2 vectors the additions'
    /// latency bound the loop). The last block is summed whole too: `from` holds [`BLOCK`] floats
    /// past every tap's last read.
    ///
    /// Safety: the processor has `V`'s features.
    #[inline(always)]
    pub unsafe fn tap_sums<V: Lanes, const NV: usize>(
        out: &mut [f32],
        init: f32,
        from: &[f32],
        taps: impl Iterator<Item = (usize, f32)> + Clone,
    ) {
        let block = NV * V::LANES;
        debug_assert!(block <= BLOCK);
        let reach = taps.clone().map(|(start, _)| start).max().unwrap_or(0);
        assert!(reach + out.len().div_ceil(block) * block <= from.len(), "a tap reads past the plane");
        let vectors: [usize; NV] = std::array::from_fn(|v| v * V::LANES);
        for (b, out) in out.chunks_mut(block).enumerate() {
            // Safety: the features are there (the caller's promise); every read lies in `from`
            // (asserted).
            let splat = taps.clone().map(|(start, w)| (start, unsafe { V::splat(w) }));
            let sums = unsafe { block_sums::<V, NV>(V::splat(init), from.as_ptr().add(b * block), &vectors, splat) };
            for (v, &sum) in sums.iter().enumerate() {
                let at = v * V::LANES;
                // Safety: out holds `at + LANES` floats, or the first `len − at` of them.
                unsafe {
                    if at + V::LANES <= out.len() {
                        V::store(out[at..].as_mut_ptr(), sum);
                    } else if at < out.len() {
                        V::store_first(out[at..].as_mut_ptr(), sum, out.len() - at);
                    }
                }
            }
        }
    }

    /// `out[r][c] = clamp(init + Σ w · from[r·pitch + c + start])` over the taps `(start, w)`, for
    /// the rows of `out` (`cols` floats each), added as [`tap_sums`] adds them. A block is `NV`
    /// vectors in the order they lie in `out`, across rows where rows are short (a 7² plane's
    /// seven rows make two blocks of AVX-512 vectors); the plane's last vector is stored in part.
    ///
    /// Safety: the processor has `V`'s features; `from` holds a vector's floats past the last row.
    #[inline(always)]
    pub unsafe fn row_sums<V: Lanes, const NV: usize>(
        out: &mut [f32],
        cols: usize,
        init: f32,
        clamp: Option<(f32, f32)>,
        from: &[f32],
        pitch: usize,
        taps: impl Iterator<Item = (usize, f32)> + Clone,
    ) {
        let (per_row, rows) = (cols.div_ceil(V::LANES), out.len() / cols);
        let vectors = rows * per_row;
        let reach = taps.clone().map(|(start, _)| start).max().unwrap_or(0);
        assert!(rows == 0 || (rows - 1) * pitch + per_row * V::LANES + reach <= from.len(), "a tap reads past the plane");
        let place = |v: usize| {
            let (r, c) = (v / per_row, v % per_row * V::LANES);
            (r * pitch + c, r * cols + c, V::LANES.min(cols - c))
        };
        for first in (0..vectors).step_by(NV) {
            // A short last block repeats its last vector (and stores it once).
            let places: [(usize, usize, usize); NV] = std::array::from_fn(|v| place((first + v).min(vectors - 1)));
            let at = places.map(|(at, _, _)| at);
            unsafe {
                let splat = taps.clone().map(|(start, w)| (start, V::splat(w)));
                let sums = block_sums::<V, NV>(V::splat(init), from.as_ptr(), &at, splat);
                for (&sum, &(_, to, width)) in sums.iter().zip(&places).take(vectors - first) {
                    let sum = match clamp {
                        Some((lo, hi)) => V::clamp(sum, lo, hi),
                        None => sum,
                    };
                    if width == V::LANES || to + V::LANES <= out.len() {
                        // A row's last vector spills into the next row, which is stored after it.
                        V::store(out.as_mut_ptr().add(to), sum);
                    } else {
                        V::store_first(out[to..].as_mut_ptr(), sum, width);
                    }
                }
            }
        }
    }

    /// `to.fill(0.0)` a vector at a time, the last one overlapping the one before: in WebAssembly
    /// a slice's fill or copy is `memory.fill` or `memory.copy`, a call into the browser that
    /// costs more than a short row's worth of stores (a plane's padded copy, row by row, was a
    /// third of the depthwise layers' time there).
    ///
    /// Safety: the processor has `V`'s features.
    #[inline(always)]
    pub unsafe fn zero<V: Lanes>(to: &mut [f32]) {
        let Some(last) = to.len().checked_sub(V::LANES) else { return to.fill(0.0) };
        for at in (0..last).step_by(V::LANES).chain([last]) {
            // Safety: at + LANES ≤ len.
            unsafe { V::store(to.as_mut_ptr().add(at), V::zero()) };
        }
    }

    /// `to.copy_from_slice(from)` as [`zero`] fills.
    ///
    /// Safety: the processor has `V`'s features.
    #[inline(always)]
    pub unsafe fn copy<V: Lanes>(to: &mut [f32], from: &[f32]) {
        assert_eq!(to.len(), from.len(), "a copy between slices of one length");
        let Some(last) = to.len().checked_sub(V::LANES) else { return to.copy_from_slice(from) };
        for at in (0..last).step_by(V::LANES).chain([last]) {
            // Safety: at + LANES ≤ len of both.
            unsafe { V::store(to.as_mut_ptr().add(at), V::load(from.as_ptr().add(at))) };
        }
    }

    /// One block of [`tap_sums`], [`row_sums`] or [`Plane::across_on`]: vector v is
    /// `init + Σ w · from[at[v] + start …]` over the taps `(start, w)`, added in their order
    /// (a weight is one float for every lane, or one per lane where the lanes are channels).
    ///
    /// Safety: the processor has `V`'s features; every read lies in the caller's plane.
    #[inline(always)]
    pub unsafe fn block_sums<V: Lanes, const NV: usize>(
        init: V,
        from: *const f32,
        at: &[usize; NV],
        taps: impl Iterator<Item = (usize, V)>,
    ) -> [V; NV] {
        unsafe {
            let mut sums = [init; NV];
            for (start, w) in taps {
                let x = from.add(start);
                for (sum, &at) in sums.iter_mut().zip(at) {
                    *sum = V::add(*sum, V::mul(w, V::load(x.add(at))));
                }
            }
            sums
        }
    }

    /// Runs `self.method::<V, NV>(args)` over the vectors of `isa` (`Option<Isa>`), compiled
    /// for them; one float at a time for `None`. Panics where the processor lacks them.
    macro_rules! dispatch {
        ($isa:ident, $self:ident.$method:ident($($arg:ident: $type:ty),*)) => {{
            #[cfg(target_arch = "x86_64")]
            use crate::runtime::simd::x86::{Avx2, Avx512, Sse};
            use crate::runtime::simd::Isa;
            assert!($isa.is_none_or(Isa::runs_here), "this processor has no {:?}", $isa);
            // Safety: the processor has the features each form is compiled for (asserted).
            match $isa {
                #[cfg(target_arch = "x86_64")]
                Some(Isa::Avx512) => simd::compiled_for!("avx512f", Avx512, 4, $self.$method($($arg: $type),*)),
                #[cfg(target_arch = "x86_64")]
                Some(Isa::Avx2) => simd::compiled_for!("avx2", Avx2, 8, $self.$method($($arg: $type),*)),
                #[cfg(target_arch = "x86_64")]
                Some(Isa::Sse) => unsafe { $self.$method::<Sse, 8>($($arg),*) },
                #[cfg(target_arch = "wasm32")]
                Some(Isa::Simd128) => unsafe { $self.$method::<crate::runtime::simd::wasm::Simd128, 8>($($arg),*) },
                None => unsafe { $self.$method::<f32, 32>($($arg),*) },
            }
        }};
    }
    pub(super) use dispatch;

    /// `self.method::<V, NV>(args)` in a function compiled with the processor features `features`.
    #[cfg(target_arch = "x86_64")]
    macro_rules! compiled_for {
        ($features:literal, $lanes:ty, $nv:literal, $self:ident.$method:ident($($arg:ident: $type:ty),*)) => {{
            #[target_feature(enable = $features)]
            unsafe fn compiled(plane: &Plane, $($arg: $type),*) {
                unsafe { plane.$method::<$lanes, $nv>($($arg),*) }
            }
            unsafe { compiled($self, $($arg),*) }
        }};
    }
    #[cfg(target_arch = "x86_64")]
    pub(super) use compiled_for;
}
