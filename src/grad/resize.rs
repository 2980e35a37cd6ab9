//! Resize (nearest, linear, cubic; every coordinate mode but tf_crop_and_resize): along each
//! resized axis the output is a fixed linear map of the input, out[j] = Σ_k w[j, k] · in[k], with
//! the taps and weights of tract's own plan — so the gradient is the same map transposed,
//! applied axis by axis ([`along_axis`]).

use tract_onnx::tract_core::ops::nn::resize::{
    AxisPlan, CoordTransformer, Interpolator, cubic_weights, linear_weights, plan_axis, window_size,
};

use super::Step;
use super::builder::{Attributes, Builder};
use super::conv::with_first;
use super::shape::along_axis;
use crate::Result;

pub(super) fn resize(b: &mut Builder, step: &Step) -> Result<Vec<Option<String>>> {
    let node = step.node;
    let (xs, ys) = (b.shape(&node.input[0])?, b.shape(step.output())?);
    let rank = xs.len();
    let opset = b.model_opset();
    let coordinates = if opset <= 10 {
        "asymmetric".to_string()
    } else {
        node.attr_string("coordinate_transformation_mode").unwrap_or_else(|| "half_pixel".into())
    };
    let policy = node.attr_string("keep_aspect_ratio_policy").unwrap_or_else(|| "stretch".into());
    if policy != "stretch" {
        return Err(step.unsupported(format!("keep_aspect_ratio_policy `{policy}` (stretch is supported)")));
    }
    let transform =
        CoordTransformer::parse(&coordinates).map_err(|_| step.unsupported(format!("coordinate_transformation_mode `{coordinates}`")))?;
    let taps = Taps {
        interpolator: Interpolator::parse(&node.attr_string("mode").unwrap_or_else(|| "nearest".into()))
            .map_err(|e| step.unsupported(e.to_string()))?,
        nearest: node.attr_string("nearest_mode").unwrap_or_else(|| "round_prefer_floor".into()),
        cubic: node.attr_float("cubic_coeff_a").unwrap_or(-0.75),
        antialias: node.attr_int("antialias").unwrap_or(0) != 0,
        exclude_outside: node.attr_int("exclude_outside").unwrap_or(0) != 0,
        transform,
    };
    if !matches!(taps.nearest.as_str(), "floor" | "ceil" | "round_prefer_floor" | "round_prefer_ceil") {
        return Err(step.unsupported(format!("nearest_mode `{}`", taps.nearest)));
    }
    let scales = given_scales(b, step, rank, opset)?;
    let mut g = step.output_grad()?.to_string();
    for axis in 0..rank {
        let (len_in, len_out) = (xs[axis], ys[axis]);
        let scale = scales.as_ref().map_or(len_out as f32 / len_in as f32, |s| s[axis]);
        if len_in == len_out && scale == 1.0 {
            continue;
        }
        if b.seed_axis() == Some(axis) {
            return Err(step.unsupported("a resize of the batch axis"));
        }
        let plan = taps.plan(scale, len_in, len_out);
        g = along_axis(b, &g, rank, axis, &weights(&plan, len_in), len_in);
    }
    Ok(with_first(g, node.input.len()))
}

/// The scales input (opset 10: input 1; later: input 2), spread over every axis when opset 18's
/// `axes` names some; None where the output sizes were given instead.
fn given_scales(b: &Builder, step: &Step, rank: usize, opset: i64) -> Result<Option<Vec<f32>>> {
    let index = if opset <= 10 { 1 } else { 2 };
    let Some(name) = step.input(index) else { return Ok(None) };
    let values = b.model.constant_f32(name).ok_or_else(|| step.unsupported("its scales are not a constant"))?;
    if values.is_empty() {
        return Ok(None);
    }
    let axes = step.node.attr_ints("axes").unwrap_or_else(|| (0..rank as i64).collect());
    let mut scales = vec![1.0; rank];
    if axes.len() != values.len() {
        return Err(step.unsupported(format!("{} scales for {} axes", values.len(), axes.len())));
    }
    for (&axis, &value) in axes.iter().zip(&values) {
        let axis = if axis < 0 { axis + rank as i64 } else { axis };
        let slot = scales.get_mut(axis as usize).ok_or_else(|| step.unsupported(format!("axis {axis} of a rank-{rank} input")))?;
        *slot = value;
    }
    Ok(Some(scales))
}

/// How one output position reads its input taps, as tract's ONNX Resize plans it.
struct Taps {
    interpolator: Interpolator,
    nearest: String,
    cubic: f32,
    antialias: bool,
    exclude_outside: bool,
    transform: CoordTransformer,
}

impl Taps {
    fn plan(&self, scale: f32, len_in: usize, len_out: usize) -> AxisPlan {
        let window = window_size(&self.interpolator, self.antialias, scale);
        let coord = |x| Some(self.transform.transform(x, scale, len_in, len_out));
        let (antialias, exclude) = (self.antialias, self.exclude_outside);
        match self.interpolator {
            Interpolator::Linear => plan_axis(len_in, len_out, window, exclude, coord, |r, w| linear_weights(r, scale, antialias, w)),
            Interpolator::Cubic => {
                plan_axis(len_in, len_out, window, exclude, coord, |r, w| cubic_weights(r, scale, self.cubic, antialias, w))
            }
            Interpolator::Nearest => plan_axis(len_in, len_out, window, exclude, coord, |r, w| {
                let right = r == 1.0
                    || match self.nearest.as_str() {
                        "floor" => false,
                        "ceil" => true,
                        "round_prefer_ceil" => r >= 0.5,
                        _ => r > 0.5,
                    };
                w[0] = f32::from(u8::from(!right));
                w[1] = f32::from(u8::from(right));
            }),
        }
    }
}

/// The plan as a row-major `[len_out, len_in]` matrix; taps on the same input add up.
fn weights(plan: &AxisPlan, len_in: usize) -> Vec<f32> {
    let len_out = plan.extrapolated.len();
    let mut matrix = vec![0.0; len_out * len_in];
    for (row, (indices, weights)) in plan.indices.chunks_exact(plan.window).zip(plan.weights.chunks_exact(plan.window)).enumerate() {
        for (&index, &weight) in indices.iter().zip(weights) {
            matrix[row * len_in + index] += weight;
        }
    }
    matrix
}
