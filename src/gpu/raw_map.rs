//! shaders/raw_map.wgsl: each layer's raw map M [H, W] from its activation and gradient.

use bytemuck::{Pod, Zeroable};
use ndarray::{Array2, ArrayView3};
use wgpu::{CommandEncoder, ComputePipeline, Device};

use super::context::{Binding, Context, Module, dispatch, groups};
use super::fusion::MapInfo;
use crate::cam::Method;

const SOURCE: &str = include_str!("../../shaders/raw_map.wgsl");

/// `Layer` in raw_map.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct LayerParams {
    channels: u32,
    locations: u32,
    activation: u32,
    gradient: u32,
    weights: u32,
    map: u32,
    weighting: u32,
    _pad: u32,
}

pub struct Kernels {
    module: Module,
    weighted_sum: ComputePipeline,
    gradcam_weights: ComputePipeline,
    gradcam_pp_weights: ComputePipeline,
    xgradcam_weights: ComputePipeline,
}

/// Raw maps on the GPU, `[layer][method]` in that order, one after the other in `buffer`.
pub struct RawMaps {
    pub buffer: wgpu::Buffer,
    pub infos: Vec<MapInfo>,
}

impl Kernels {
    pub fn new(device: &Device) -> Kernels {
        use Binding::*;
        let module = Module::new(device, "raw_map.wgsl", SOURCE, &[Uniform, Read, Read, ReadWrite, ReadWrite]);
        Kernels {
            weighted_sum: module.pipeline(device, "weighted_sum"),
            gradcam_weights: module.pipeline(device, "gradcam_weights"),
            gradcam_pp_weights: module.pipeline(device, "gradcam_pp_weights"),
            xgradcam_weights: module.pipeline(device, "xgradcam_weights"),
            module,
        }
    }

    /// Records every layer × method: channel weights first where the method has them, then the
    /// per-location weighted sum. Only methods with a kernel ([`Method::has_kernel`]).
    pub fn encode(
        &self,
        context: &Context,
        encoder: &mut CommandEncoder,
        activations: &[ArrayView3<f32>],
        gradients: &[ArrayView3<f32>],
        methods: &[Method],
    ) -> RawMaps {
        let activation_buffer = context.input("activations", &concatenated(activations));
        let gradient_buffer = context.input("gradients", &concatenated(gradients));
        let (mut activation, mut weights, mut map) = (0, 0, 0);
        let mut layers = vec![];
        let mut infos = vec![];
        for a in activations {
            let (channels, height, width) = a.dim();
            for &method in methods {
                let weighting = weighting(method);
                let layer = LayerParams {
                    channels: channels as u32,
                    locations: (height * width) as u32,
                    activation,
                    gradient: activation, // A and g have the same shapes, so the same offsets
                    weights,
                    map,
                    weighting,
                    _pad: 0,
                };
                layers.push((method, layer));
                infos.push(MapInfo::new(map, height, width));
                weights += channels as u32;
                map += layer.locations;
            }
            activation += a.len() as u32;
        }
        let weight_buffer = context.output("channel weights", weights as usize);
        let maps = context.output("raw maps", map as usize);
        for (method, layer) in layers {
            let buffers = [&context.uniform(&layer), &activation_buffer, &gradient_buffer, &weight_buffer, &maps];
            let bind_group = context.bind(self.module.layout(), &buffers);
            let per_channel = match method {
                Method::GradCam => Some(&self.gradcam_weights),
                Method::GradCamPlusPlus => Some(&self.gradcam_pp_weights),
                Method::XGradCam => Some(&self.xgradcam_weights),
                _ => None,
            };
            if let Some(pipeline) = per_channel {
                dispatch(encoder, pipeline, &bind_group, [groups(layer.channels as usize, 64), 1, 1]);
            }
            dispatch(encoder, &self.weighted_sum, &bind_group, [groups(layer.locations as usize, 64), 1, 1]);
        }
        RawMaps { buffer: maps, infos }
    }
}

impl RawMaps {
    /// The maps read back, `[layer][method]` for `methods` methods per layer.
    pub fn unpack(&self, bytes: &[u8], methods: usize) -> Vec<Vec<Array2<f32>>> {
        let values = super::floats(bytes);
        let maps: Vec<Array2<f32>> = self.infos.iter().map(|info| info.read(&values)).collect();
        maps.chunks(methods.max(1)).map(<[_]>::to_vec).collect()
    }
}

/// `WEIGHT_*` of raw_map.wgsl: what channel k adds at a location.
fn weighting(method: Method) -> u32 {
    match method {
        Method::LayerCam => 0,
        Method::LayerCamNormal | Method::HiResCam => 1,
        Method::GradCam | Method::GradCamPlusPlus | Method::XGradCam => 2,
        Method::GradCamElementWise => 3,
        Method::EigenCam | Method::EigenGradCam | Method::ScoreCam => {
            unreachable!("{method} has no kernel: its maps are computed on the CPU")
        }
    }
}

/// The tensors one after the other, each in standard (C, H, W) order.
fn concatenated(tensors: &[ArrayView3<f32>]) -> Vec<f32> {
    tensors.iter().flat_map(|t| t.iter().copied()).collect()
}
