//! shaders/fusion.wgsl: maps' maxima and scalings (normalised, Eq. 9's tanh), then each picture's
//! values at the image size: a layer's normalised map, or several layers' scaled maps max-fused,
//! upsampled bilinearly.

use bytemuck::{Pod, Zeroable};
use ndarray::Array2;
use wgpu::{CommandEncoder, ComputePipeline, Device};

use super::Frame;
use super::context::{Binding, Context, Module, dispatch, groups};
use super::raw_map::RawMaps;

const SOURCE: &str = concat!(include_str!("../../shaders/frame.wgsl"), include_str!("../../shaders/fusion.wgsl"));

/// `Map` in fusion.wgsl: where a raw map lies in the maps buffer.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable)]
pub struct MapInfo {
    offset: u32,
    height: u32,
    width: u32,
    _pad: u32,
}

impl MapInfo {
    pub fn new(offset: u32, height: usize, width: usize) -> MapInfo {
        MapInfo { offset, height: height as u32, width: width as u32, _pad: 0 }
    }

    pub fn len(&self) -> usize {
        (self.height * self.width) as usize
    }

    /// This map, out of the whole buffer read back as floats.
    pub fn read(&self, values: &[f32]) -> Array2<f32> {
        let (offset, len) = (self.offset as usize, self.len());
        Array2::from_shape_vec((self.height as usize, self.width as usize), values[offset..offset + len].to_vec())
            .expect("height × width values")
    }
}

/// How a picture scales a map before upsampling.
#[derive(Clone, Copy)]
pub enum Scaling {
    /// M / max M: a layer's own picture, and a deep stage in a fused one.
    Normalize = 0,
    /// tanh(γ · M / max M), Eq. 9: a shallow stage in a fused picture.
    Tanh = 1,
}

/// `Member` in fusion.wgsl: a map (an index into the request's maps) and its scaling.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub struct Member {
    map: u32,
    scaling: u32,
}

impl Member {
    pub fn new(map: u32, scaling: Scaling) -> Member {
        Member { map, scaling: scaling as u32 }
    }
}

/// One picture: the element-wise max of its members.
pub struct Picture {
    pub members: Vec<Member>,
}

/// `Picture` in fusion.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct PictureParams {
    first: u32,
    count: u32,
}

pub struct Kernels {
    module: Module,
    map_max: ComputePipeline,
    scale: ComputePipeline,
    resample: ComputePipeline,
}

impl Kernels {
    pub fn new(device: &Device) -> Kernels {
        use Binding::*;
        let module = Module::new(device, "fusion.wgsl", SOURCE, &[Uniform, Read, Read, ReadWrite, Read, Read, ReadWrite, ReadWrite]);
        Kernels {
            map_max: module.pipeline(device, "map_max"),
            scale: module.pipeline(device, "scale"),
            resample: module.pipeline(device, "resample"),
            module,
        }
    }

    /// Records the maxima and the pictures' values; returns the values, picture after picture,
    /// each `frame.height × frame.width`.
    pub fn encode(
        &self,
        context: &Context,
        encoder: &mut CommandEncoder,
        frame: (&Frame, &wgpu::Buffer),
        maps: &RawMaps,
        pictures: &[Picture],
    ) -> wgpu::Buffer {
        let (frame, frame_buffer) = frame;
        let mut members: Vec<Member> = vec![];
        let params: Vec<PictureParams> = pictures
            .iter()
            .map(|picture| {
                let first = members.len() as u32;
                members.extend(&picture.members);
                PictureParams { first, count: picture.members.len() as u32 }
            })
            .collect();
        let pixels = (frame.height * frame.width) as usize;
        let values = context.output("picture values", pictures.len() * pixels);
        let buffers = [
            frame_buffer,
            &maps.buffer,
            &context.input("map infos", &maps.infos),
            &context.output("maxima", maps.infos.len()),
            &context.input("pictures", &params),
            &context.input("members", &members),
            &values,
            &context.output("scaled maps", 2 * frame.map_values as usize),
        ];
        let bind_group = context.bind(self.module.layout(), &buffers);
        if let Some(longest) = maps.infos.iter().map(|m| (m.height * m.width) as usize).max() {
            let count = maps.infos.len() as u32;
            dispatch(encoder, &self.map_max, &bind_group, [count, 1, 1]);
            dispatch(encoder, &self.scale, &bind_group, [groups(longest, 256), count, 1]);
        }
        let tiles = [groups(frame.width as usize, 16), groups(frame.height as usize, 16), pictures.len() as u32];
        dispatch(encoder, &self.resample, &bind_group, tiles);
        values
    }
}
