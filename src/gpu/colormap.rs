//! shaders/colormap.wgsl: pictures' values coloured and blended over the image, as RGBA.

use wgpu::{CommandEncoder, ComputePipeline, Device};

use super::Frame;
use super::context::{Binding, Context, Module, dispatch, groups};

const SOURCE: &str = concat!(include_str!("../../shaders/frame.wgsl"), include_str!("../../shaders/colormap.wgsl"));

pub struct Kernel {
    module: Module,
    colorize: ComputePipeline,
}

impl Kernel {
    pub fn new(device: &Device) -> Kernel {
        use Binding::*;
        let module = Module::new(device, "colormap.wgsl", SOURCE, &[Uniform, Read, Read, ReadWrite]);
        Kernel { colorize: module.pipeline(device, "colorize"), module }
    }

    /// Records the colouring of `pictures` pictures of `values` over `image` (one packed RGBA u32
    /// per pixel); returns their RGBA pixels, picture after picture.
    pub fn encode(
        &self,
        context: &Context,
        encoder: &mut CommandEncoder,
        frame: (&Frame, &wgpu::Buffer),
        values: &wgpu::Buffer,
        image: &wgpu::Buffer,
        pictures: usize,
    ) -> wgpu::Buffer {
        let (frame, frame_buffer) = frame;
        let colours = context.output("pictures", pictures * (frame.height * frame.width) as usize);
        let bind_group = context.bind(self.module.layout(), &[frame_buffer, values, image, &colours]);
        let tiles = [groups(frame.width as usize, 16), groups(frame.height as usize, 16), pictures as u32];
        dispatch(encoder, &self.colorize, &bind_group, tiles);
        colours
    }
}
