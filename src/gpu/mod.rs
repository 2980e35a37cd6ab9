//! The CAM maths on the GPU: the WGSL kernels of `shaders/` through wgpu (WebGPU in the browser,
//! Vulkan or OpenGL natively). The CPU functions of [`crate::cam`] are their reference: every
//! kernel has a parity test against its CPU twin (`tests/gpu_*.rs`).
//!
//! One request is one submission: raw maps ([`raw_map`]), their maxima, scaling, upsampling and
//! fusion ([`fusion`]), and colouring ([`colormap`]) run back to back on buffers that stay on the
//! GPU; only the pictures (RGBA), the fused maps (the box needs them) and, when computed here, the
//! raw maps come back. The box itself, a search for connected regions, is found on the CPU.

mod colormap;
mod context;
mod fusion;
mod raw_map;

use bytemuck::{Pod, Zeroable};
use image::RgbImage;
use ndarray::{Array2, ArrayView3};

use crate::cam::{self, Colormap, Fusion, Method};
use crate::display::{self, Shown};
use crate::explain::{ClassMaps, Settings};
use crate::{Error, Result};

use context::{Context, Region};
use fusion::{MapInfo, Member, Picture, Scaling};
use raw_map::RawMaps;

/// A GPU with the CAM kernels compiled on it.
pub struct Gpu {
    context: Context,
    raw_map: raw_map::Kernels,
    fusion: fusion::Kernels,
    colormap: colormap::Kernel,
}

/// `Frame` in shaders/frame.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Frame {
    height: u32,
    width: u32,
    gamma: f32,
    opacity: f32,
    colormap: u32,
    map_values: u32,
    _pad: [u32; 2],
}

impl Gpu {
    /// The platform's preferred adapter (`navigator.gpu` in the browser), with every kernel
    /// compiled. The error says why there is none.
    pub async fn new() -> Result<Gpu> {
        let context = Context::new().await?;
        let kernels = context
            .guarded(|device| (raw_map::Kernels::new(device), fusion::Kernels::new(device), colormap::Kernel::new(device)))
            .await
            .map_err(|e| match e {
                Error::Gpu(reason) => Error::Gpu(format!("the WGSL kernels do not compile on {}: {reason}", context.adapter)),
                other => other,
            })?;
        let (raw_map, fusion, colormap) = kernels;
        Ok(Gpu { context, raw_map, fusion, colormap })
    }

    /// The adapter's name and backend, as the details panel and the CLI show it.
    pub fn adapter(&self) -> &str {
        &self.context.adapter
    }

    /// Whether the adapter is a CPU emulating a GPU (SwiftShader, lavapipe).
    pub fn is_software(&self) -> bool {
        self.context.software
    }

    /// `raw[layer][method]` from each layer's activation and gradient `[C, H, W]` (one class):
    /// the twin of [`crate::explain::raw_maps`].
    pub async fn raw_maps(
        &self,
        activations: &[ArrayView3<'_, f32>],
        gradients: &[ArrayView3<'_, f32>],
        methods: &[Method],
    ) -> Result<Vec<Vec<Array2<f32>>>> {
        kernels_for(methods)?;
        let (raw, bytes) = self
            .context
            .request(|encoder| {
                let raw = self.raw_map.encode(&self.context, encoder, activations, gradients, methods);
                let regions = vec![Region::whole(&raw.buffer)];
                (raw, regions)
            })
            .await?;
        Ok(raw.unpack(&bytes[0], methods.len()))
    }

    /// Every picture of one class from its raw maps `raw[layer][method]`, fused as `fusion` says:
    /// the twin of [`display::show`] (the page's worker sends raw maps).
    pub async fn show(
        &self,
        seen: &RgbImage,
        class: usize,
        raw: Vec<Vec<Array2<f32>>>,
        fusion: &Fusion,
        settings: &Settings,
    ) -> Result<Shown> {
        if raw.iter().all(Vec::is_empty) {
            // No method chosen: no picture, nothing to ask the GPU.
            return Ok(display::draw(
                seen,
                ClassMaps { class, methods: settings.methods.clone(), raw, fused: vec![], boxes: vec![], fusion: fusion.clone() },
                settings,
            ));
        }
        let (drawn, bytes) = self
            .context
            .request(|encoder| {
                let maps = self.upload(&raw);
                let drawn = self.draw(encoder, &maps, &shape(&raw), fusion, seen, settings);
                let regions = drawn.regions();
                (drawn, regions)
            })
            .await?;
        Ok(drawn.unpack(
            &bytes,
            seen,
            settings,
            ClassMaps { class, methods: settings.methods.clone(), raw, fused: vec![], boxes: vec![], fusion: fusion.clone() },
        ))
    }

    /// From activations and gradients (one class) to every picture, fused as `fusion` says, in one
    /// submission: the twin of [`crate::explain::class_maps`] then [`display::draw`] (the CLI).
    pub async fn explain(
        &self,
        seen: &RgbImage,
        class: usize,
        activations: &[ArrayView3<'_, f32>],
        gradients: &[ArrayView3<'_, f32>],
        fusion: &Fusion,
        settings: &Settings,
    ) -> Result<Shown> {
        let methods = &settings.methods;
        kernels_for(methods)?;
        let ((raw, drawn), bytes) = self
            .context
            .request(|encoder| {
                let raw = self.raw_map.encode(&self.context, encoder, activations, gradients, methods);
                let layout = (activations.len(), methods.len());
                let drawn = self.draw(encoder, &raw, &layout, fusion, seen, settings);
                let regions = std::iter::once(Region::whole(&raw.buffer)).chain(drawn.regions()).collect();
                ((raw, drawn), regions)
            })
            .await?;
        let raw = raw.unpack(&bytes[0], methods.len());
        let maps = ClassMaps { class, methods: methods.clone(), raw, fused: vec![], boxes: vec![], fusion: fusion.clone() };
        Ok(drawn.unpack(&bytes[1..], seen, settings, maps))
    }

    /// Raw maps already on the CPU, into one buffer.
    fn upload(&self, raw: &[Vec<Array2<f32>>]) -> RawMaps {
        let mut values = vec![];
        let infos = raw
            .iter()
            .flatten()
            .map(|map| {
                let info = MapInfo::new(values.len() as u32, map.nrows(), map.ncols());
                values.extend(map.iter().copied());
                info
            })
            .collect();
        RawMaps { buffer: self.context.input("raw maps", &values), infos }
    }

    /// Records the pictures of `maps` (`[layer][method]`, `layout` = (layers, methods)): each
    /// layer's own, normalised, then one fused picture per method.
    fn draw(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        maps: &RawMaps,
        &(layers, methods): &(usize, usize),
        fusion: &Fusion,
        seen: &RgbImage,
        settings: &Settings,
    ) -> Drawn {
        let frame = Frame {
            height: seen.height(),
            width: seen.width(),
            gamma: settings.gamma,
            opacity: settings.opacity,
            colormap: colormap_index(settings.colormap),
            map_values: maps.infos.iter().map(|m| m.len()).sum::<usize>() as u32,
            _pad: [0; 2],
        };
        let index = |layer: usize, method: usize| (layer * methods + method) as u32;
        let cells =
            (0..layers).flat_map(|l| (0..methods).map(move |m| Picture { members: vec![Member::new(index(l, m), Scaling::Normalize)] }));
        let scaling = |scaled| if scaled { Scaling::Tanh } else { Scaling::Normalize };
        let fused = (0..methods)
            .map(|m| Picture { members: fusion.members().map(|(l, scaled)| Member::new(index(l, m), scaling(scaled))).collect() });
        let pictures: Vec<Picture> = cells.chain(fused).collect();
        let frame_buffer = self.context.uniform(&frame);
        let values = self.fusion.encode(&self.context, encoder, (&frame, &frame_buffer), maps, &pictures);
        let image: Vec<u32> = seen.pixels().map(|p| u32::from_le_bytes([p[0], p[1], p[2], 255])).collect();
        let image = self.context.input("image", &image);
        let colours = self.colormap.encode(&self.context, encoder, (&frame, &frame_buffer), &values, &image, pictures.len());
        Drawn { colours, values, layers, methods, pixels: u64::from(seen.width() * seen.height()) }
    }
}

/// Every method has a kernel in raw_map.wgsl: the others' maps are computed on the CPU and drawn
/// with [`Gpu::show`].
fn kernels_for(methods: &[Method]) -> Result<()> {
    match methods.iter().find(|m| !m.has_kernel()) {
        Some(method) => Err(Error::Gpu(format!("{method} has no WGSL kernel; its raw maps are computed on the CPU"))),
        None => Ok(()),
    }
}

/// `raw[layer][method]`'s (layers, methods).
fn shape(raw: &[Vec<Array2<f32>>]) -> (usize, usize) {
    (raw.len(), raw.first().map_or(0, Vec::len))
}

fn colormap_index(colormap: Colormap) -> u32 {
    match colormap {
        Colormap::Jet => 0,
        Colormap::Turbo => 1,
        Colormap::Gray => 2,
    }
}

/// The pictures of one request, still on the GPU.
struct Drawn {
    colours: wgpu::Buffer,
    values: wgpu::Buffer,
    layers: usize,
    methods: usize,
    pixels: u64,
}

impl Drawn {
    /// Every picture's RGBA, and the fused pictures' values (the maps behind them).
    fn regions(&self) -> Vec<Region> {
        let picture_bytes = self.pixels * 4;
        let cells = (self.layers * self.methods) as u64;
        let colours = Region { buffer: self.colours.clone(), offset: 0, size: picture_bytes * (cells + self.methods as u64) };
        let fused = Region { buffer: self.values.clone(), offset: picture_bytes * cells, size: picture_bytes * self.methods as u64 };
        vec![colours, fused]
    }

    /// `bytes` as `regions` ordered them; `maps` holds the raw maps, the fused ones and boxes are added.
    fn unpack(&self, bytes: &[Vec<u8>], seen: &RgbImage, settings: &Settings, mut maps: ClassMaps) -> Shown {
        let (width, height) = seen.dimensions();
        let pixels = (width * height) as usize;
        let rgb: Vec<RgbImage> = bytes[0]
            .chunks_exact(pixels * 4)
            .map(|rgba| {
                let rgb = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
                RgbImage::from_raw(width, height, rgb).expect("width × height pixels")
            })
            .collect();
        maps.fused = floats(&bytes[1])
            .chunks_exact(pixels)
            .map(|v| Array2::from_shape_vec((height as usize, width as usize), v.to_vec()).expect("a map per picture"))
            .collect();
        maps.boxes = maps.fused.iter().map(|f| cam::largest_box(f.view(), settings.box_threshold)).collect();
        let mut pictures = rgb.into_iter();
        let cells = (0..self.layers).map(|_| pictures.by_ref().take(self.methods).collect()).collect();
        let fused = pictures.zip(&maps.boxes).map(|(picture, &bbox)| display::with_box(picture, bbox)).collect();
        Shown { maps, cells, fused }
    }
}

/// Floats read back from the GPU (a byte vector need not be aligned for a cast).
fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect()
}
