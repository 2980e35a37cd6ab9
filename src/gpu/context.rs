//! The wgpu device and what every kernel family needs from it: buffers, bind groups, pipelines,
//! and one guarded submission per request whose GPU errors come back as [`Error::Gpu`].

use std::sync::{Arc, Mutex};

use bytemuck::Pod;
use wgpu::util::DeviceExt;
use wgpu::{BufferUsages, CommandEncoder, Device, ErrorFilter, Queue};

use crate::{Error, Result};

pub struct Context {
    pub device: Device,
    queue: Queue,
    /// "name (backend)", as the user sees it.
    pub adapter: String,
    /// A CPU emulating a GPU (SwiftShader, lavapipe): correct, and slower than the CPU path.
    pub software: bool,
    /// Set when the device is lost or reports an error outside a request: every later request fails
    /// with it, so the caller falls back to the CPU instead of waiting on a dead device.
    broken: Arc<Mutex<Option<String>>>,
}

/// A part of a buffer to copy back to the CPU after the submission.
pub struct Region {
    pub buffer: wgpu::Buffer,
    pub offset: u64,
    pub size: u64,
}

impl Region {
    pub fn whole(buffer: &wgpu::Buffer) -> Self {
        Region { buffer: buffer.clone(), offset: 0, size: buffer.size() }
    }
}

impl Context {
    pub async fn new() -> Result<Context> {
        // WebGPU, Vulkan, Metal or DX12 first; OpenGL only where none of them has an adapter (its
        // probing also prints EGL complaints on a headless machine). WGPU_BACKEND overrides both.
        let adapter = match adapter(wgpu::Backends::PRIMARY).await {
            Ok(adapter) => adapter,
            Err(_) => adapter(wgpu::Backends::all()).await?,
        };
        let info = adapter.get_info();
        // The adapter's own limits: big models and large images need more than WebGPU's defaults.
        let descriptor = wgpu::DeviceDescriptor { required_limits: adapter.limits(), ..Default::default() };
        let (device, queue) = adapter.request_device(&descriptor).await.map_err(|e| Error::Gpu(format!("no GPU device: {e}")))?;
        let broken = Arc::new(Mutex::new(None));
        let on_lost = broken.clone();
        device.set_device_lost_callback(move |reason, message| {
            *on_lost.lock().expect("not poisoned") = Some(format!("the GPU device was lost ({reason:?}): {message}"));
        });
        // Without a handler wgpu panics on an error no scope caught.
        let on_error = broken.clone();
        device.on_uncaptured_error(Arc::new(move |error| {
            *on_error.lock().expect("not poisoned") = Some(format!("the GPU reported: {error}"));
        }));
        let software = info.device_type == wgpu::DeviceType::Cpu;
        let kind = if software { ", software" } else { "" };
        let name = if info.name.is_empty() { "unnamed adapter" } else { info.name.as_str() };
        let adapter = format!("{name} ({:?}{kind})", info.backend);
        Ok(Context { device, queue, adapter, software, broken })
    }

    /// Runs `work` (pipeline creation) with GPU errors captured.
    pub async fn guarded<T>(&self, work: impl FnOnce(&Device) -> T) -> Result<T> {
        self.check()?;
        let out_of_memory = self.device.push_error_scope(ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(ErrorFilter::Validation);
        let value = work(&self.device);
        let errors = [validation.pop().await, out_of_memory.pop().await];
        match errors.into_iter().flatten().next() {
            Some(error) => Err(Error::Gpu(error.to_string())),
            None => Ok(value),
        }
    }

    /// One request: `encode` records its kernels and names the regions to read back; they are
    /// submitted together and the regions' bytes returned in the same order.
    pub async fn request<T>(&self, encode: impl FnOnce(&mut CommandEncoder) -> (T, Vec<Region>)) -> Result<(T, Vec<Vec<u8>>)> {
        let (value, staging) = self
            .guarded(|device| {
                let mut encoder = device.create_command_encoder(&Default::default());
                let (value, regions) = encode(&mut encoder);
                let staging: Vec<wgpu::Buffer> = regions
                    .iter()
                    .map(|region| {
                        let staging = device.create_buffer(&wgpu::BufferDescriptor {
                            label: Some("readback"),
                            size: region.size,
                            usage: BufferUsages::MAP_READ | BufferUsages::COPY_DST,
                            mapped_at_creation: false,
                        });
                        encoder.copy_buffer_to_buffer(&region.buffer, region.offset, &staging, 0, region.size);
                        staging
                    })
                    .collect();
                self.queue.submit([encoder.finish()]);
                (value, staging)
            })
            .await?;
        let mut bytes = Vec::with_capacity(staging.len());
        for buffer in &staging {
            bytes.push(self.read(buffer).await?);
        }
        Ok((value, bytes))
    }

    /// Waits for `buffer` to be mappable and copies it out.
    async fn read(&self, buffer: &wgpu::Buffer) -> Result<Vec<u8>> {
        let (sender, receiver) = futures_channel::oneshot::channel();
        buffer.map_async(wgpu::MapMode::Read, .., move |result| drop(sender.send(result)));
        // Natively nothing advances the device unless we poll; in the browser its event loop does.
        #[cfg(not(target_arch = "wasm32"))]
        self.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| Error::Gpu(e.to_string()))?;
        let mapped = receiver.await.map_err(|_| self.failure("the GPU dropped a readback"));
        mapped?.map_err(|e| self.failure(&e.to_string()))?;
        let bytes = buffer.get_mapped_range(..).map_err(|e| Error::Gpu(e.to_string()))?.to_vec();
        buffer.unmap();
        self.check()?;
        Ok(bytes)
    }

    fn check(&self) -> Result<()> {
        match &*self.broken.lock().expect("not poisoned") {
            Some(reason) => Err(Error::Gpu(reason.clone())),
            None => Ok(()),
        }
    }

    /// The device's own reason when it broke, else `fallback`.
    fn failure(&self, fallback: &str) -> Error {
        self.check().err().unwrap_or_else(|| Error::Gpu(fallback.to_string()))
    }

    /// A read-only input (at least 16 bytes: a binding may not be empty).
    pub fn input<T: Pod>(&self, label: &str, data: &[T]) -> wgpu::Buffer {
        let mut bytes = bytemuck::cast_slice::<T, u8>(data).to_vec();
        bytes.resize(bytes.len().max(16), 0);
        self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: &bytes,
            usage: BufferUsages::STORAGE,
        })
    }

    /// A kernel's output of `len` 4-byte values, readable back.
    pub fn output(&self, label: &str, len: usize) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (len.max(4) * 4) as u64,
            usage: BufferUsages::STORAGE | BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        })
    }

    pub fn uniform<T: Pod>(&self, value: &T) -> wgpu::Buffer {
        self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("parameters"),
            contents: bytemuck::bytes_of(value),
            usage: BufferUsages::UNIFORM,
        })
    }

    pub fn bind(&self, layout: &wgpu::BindGroupLayout, buffers: &[&wgpu::Buffer]) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, buffer)| wgpu::BindGroupEntry { binding: i as u32, resource: buffer.as_entire_binding() })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor { label: None, layout, entries: &entries })
    }
}

async fn adapter(backends: wgpu::Backends) -> Result<wgpu::Adapter> {
    let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
    descriptor.backends = backends;
    let instance = wgpu::Instance::new(descriptor.with_env());
    let options = wgpu::RequestAdapterOptions { power_preference: wgpu::PowerPreference::HighPerformance, ..Default::default() };
    instance.request_adapter(&options).await.map_err(|e| Error::NoGpu(e.to_string()))
}

/// How a kernel sees one binding; bindings are numbered in order.
#[derive(Clone, Copy)]
pub enum Binding {
    Uniform,
    Read,
    ReadWrite,
}

/// One WGSL module's kernels share one explicit bind group layout, so one bind group serves them all.
pub struct Module {
    module: wgpu::ShaderModule,
    layout: wgpu::BindGroupLayout,
    pipeline_layout: wgpu::PipelineLayout,
}

impl Module {
    pub fn new(device: &Device, label: &str, source: &str, bindings: &[Binding]) -> Module {
        let module = device
            .create_shader_module(wgpu::ShaderModuleDescriptor { label: Some(label), source: wgpu::ShaderSource::Wgsl(source.into()) });
        let entries: Vec<wgpu::BindGroupLayoutEntry> = bindings
            .iter()
            .enumerate()
            .map(|(i, binding)| wgpu::BindGroupLayoutEntry {
                binding: i as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: match binding {
                        Binding::Uniform => wgpu::BufferBindingType::Uniform,
                        Binding::Read => wgpu::BufferBindingType::Storage { read_only: true },
                        Binding::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            })
            .collect();
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(label), entries: &entries });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(label),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        Module { module, layout, pipeline_layout }
    }

    pub fn layout(&self) -> &wgpu::BindGroupLayout {
        &self.layout
    }

    pub fn pipeline(&self, device: &Device, entry_point: &str) -> wgpu::ComputePipeline {
        device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry_point),
            layout: Some(&self.pipeline_layout),
            module: &self.module,
            entry_point: Some(entry_point),
            compilation_options: Default::default(),
            cache: None,
        })
    }
}

/// Records one dispatch of `pipeline` over `groups` workgroups.
pub fn dispatch(encoder: &mut CommandEncoder, pipeline: &wgpu::ComputePipeline, bind_group: &wgpu::BindGroup, groups: [u32; 3]) {
    let mut pass = encoder.begin_compute_pass(&Default::default());
    pass.set_pipeline(pipeline);
    pass.set_bind_group(0, bind_group, &[]);
    pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
}

/// Workgroups of `size` covering `n` items.
pub fn groups(n: usize, size: u32) -> u32 {
    (n as u32).div_ceil(size)
}
