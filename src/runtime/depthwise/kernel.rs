//! The arithmetic of a depthwise convolution on one `[H, W]` plane, and of its transpose (the
//! gradient with respect to its input), as a few long `y += w · x` passes: loops the compiler
//! vectorises (AVX2 when the processor has it, SSE otherwise; simd128 in the browser).
//!
//! Output `o` of an axis reads padded input `o·s + t·d` under tap t (stride s, dilation d). The
//! zero-padded input is split into *phases* by position mod s on both axes, so that the tap reads
//! entry `o + ⌊t·d / s⌋` of phase `t·d mod s`: with the phase planes laid out with a row pitch of
//! `L` entries, and the output computed on the same pitch (the columns past the output's width are
//! scratch, dropped at the end), each tap is one shift of the whole plane — one pass over
//! contiguous memory. The transpose runs the same taps backwards into the phase planes and reads
//! the input's positions back out of them.

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

/// A depthwise convolution's geometry on a plane: rows (H) and columns (W).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Plane {
    pub rows: Axis,
    pub cols: Axis,
    /// Per tap (row-major): its phase plane and the offset of its first read in that plane.
    taps: Vec<(usize, usize)>,
    /// Where each input row and column that an output reads lies in the phase planes: the sum of
    /// the two is the position of that input value.
    row_places: Vec<usize>,
    col_places: Vec<usize>,
}

impl Plane {
    pub fn new(rows: Axis, cols: Axis) -> Plane {
        let (pitch, plane) = (cols.phase_len(), Plane::phase_plane_len_of(&rows, &cols));
        let taps = (0..rows.kernel)
            .flat_map(|ty| (0..cols.kernel).map(move |tx| (rows.tap(ty), cols.tap(tx))))
            .map(|((py, sy), (px, sx))| (py * cols.stride + px, sy * pitch + sx))
            .collect();
        let row_places = (0..rows.input).map_while(|i| rows.place(i)).map(|(p, e)| p * cols.stride * plane + e * pitch).collect();
        let col_places = (0..cols.input).map_while(|x| cols.place(x)).map(|(p, e)| p * plane + e).collect();
        Plane { rows, cols, taps, row_places, col_places }
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

    /// Floats of scratch that [`Plane::forward`] and [`Plane::transposed`] need.
    pub fn scratch_len(&self) -> usize {
        self.rows.stride * self.cols.stride * self.phase_plane_len() + self.pitched_len()
    }

    /// `output = bias + Σ_taps w · input` over one plane (`kernel` is `[kh, kw]`).
    pub fn forward(&self, input: &[f32], kernel: &[f32], bias: f32, output: &mut [f32], scratch: &mut [f32]) {
        simd::dispatch!(self.forward_with(input: &[f32], kernel: &[f32], bias: f32, output: &mut [f32], scratch: &mut [f32]))
    }

    /// The transpose of [`Plane::forward`] without its bias: `input_grad = Σ_taps w · output_grad`
    /// sent back to the input positions each tap read.
    pub fn transposed(&self, output_grad: &[f32], kernel: &[f32], input_grad: &mut [f32], scratch: &mut [f32]) {
        simd::dispatch!(self.transposed_with(output_grad: &[f32], kernel: &[f32], input_grad: &mut [f32], scratch: &mut [f32]))
    }

    #[inline(always)]
    fn forward_with(&self, input: &[f32], kernel: &[f32], bias: f32, output: &mut [f32], scratch: &mut [f32]) {
        let (phases, pitched) = scratch.split_at_mut(scratch.len() - self.pitched_len());
        phases.fill(0.0);
        self.scatter(input, phases);
        pitched.fill(bias);
        let plane = self.phase_plane_len();
        for (&(phase, offset), &w) in self.taps.iter().zip(kernel) {
            let from = &phases[phase * plane + offset..][..pitched.len()];
            simd::axpy(w, from, pitched);
        }
        for (out, row) in output.chunks_exact_mut(self.cols.output).zip(pitched.chunks_exact(self.cols.phase_len())) {
            out.copy_from_slice(&row[..self.cols.output]);
        }
    }

    #[inline(always)]
    fn transposed_with(&self, output_grad: &[f32], kernel: &[f32], input_grad: &mut [f32], scratch: &mut [f32]) {
        let (phases, pitched) = scratch.split_at_mut(scratch.len() - self.pitched_len());
        phases.fill(0.0);
        pitched.fill(0.0);
        for (row, grad) in pitched.chunks_exact_mut(self.cols.phase_len()).zip(output_grad.chunks_exact(self.cols.output)) {
            row[..self.cols.output].copy_from_slice(grad);
        }
        let plane = self.phase_plane_len();
        for (&(phase, offset), &w) in self.taps.iter().zip(kernel) {
            let to = &mut phases[phase * plane + offset..][..pitched.len()];
            simd::axpy(w, pitched, to);
        }
        self.gather(phases, input_grad);
    }

    /// Each input value to its place in the phase planes (which hold zeros elsewhere: the padding).
    fn scatter(&self, input: &[f32], phases: &mut [f32]) {
        for (row, &start) in input.chunks_exact(self.cols.input).zip(&self.row_places) {
            if self.cols.stride == 1 {
                phases[start + self.col_places[0]..][..self.col_places.len()].copy_from_slice(&row[..self.col_places.len()]);
            } else {
                self.col_places.iter().zip(row).for_each(|(&place, &v)| phases[start + place] = v);
            }
        }
    }

    /// The inverse of [`Plane::scatter`]: each input position read back out of the phase planes
    /// (zero where no output reads it).
    fn gather(&self, phases: &[f32], input: &mut [f32]) {
        input.fill(0.0);
        for (row, &start) in input.chunks_exact_mut(self.cols.input).zip(&self.row_places) {
            if self.cols.stride == 1 {
                row[..self.col_places.len()].copy_from_slice(&phases[start + self.col_places[0]..][..self.col_places.len()]);
            } else {
                self.col_places.iter().zip(row).for_each(|(&place, v)| *v = phases[start + place]);
            }
        }
    }
}

/// The one loop that does the arithmetic, compiled twice on x86-64 (SSE and AVX2).
mod simd {
    /// y += a · x, rounded after the product and after the sum: fused multiply-adds would be
    /// faster, but would make the native maps differ from the browser's (wasm has no FMA) and
    /// move which ReLU6 masks flip in the backward (3.6e-2 of blocks.0's gradient max against
    /// PyTorch's float32 on coffee, where this form stays at 5.9e-3 as tract's kernel did).
    #[inline(always)]
    pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
        for (y, &x) in y.iter_mut().zip(x) {
            *y += a * x;
        }
    }

    /// Runs `self.method(args)` compiled for AVX2 (8 floats a vector) where the processor has it.
    macro_rules! dispatch {
        ($self:ident.$method:ident($($arg:ident: $type:ty),*)) => {{
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                unsafe fn fast(plane: &Plane, $($arg: $type),*) {
                    plane.$method($($arg),*)
                }
                if std::is_x86_feature_detected!("avx2") {
                    // Safety: the processor has the features `fast` is compiled for.
                    return unsafe { fast($self, $($arg),*) };
                }
            }
            $self.$method($($arg),*)
        }};
    }
    pub(super) use dispatch;
}
