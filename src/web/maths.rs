//! Where the page's CAM maths runs: on the GPU (WebGPU, through wgpu and the WGSL kernels) when
//! `navigator.gpu` gives an adapter and the user has not switched it off, else on the CPU (the Rust
//! reference compiled to WebAssembly). Both draw the same pictures (tests/web/web_gpu.rs, and the page
//! test compares a page with WebGPU and one without).

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;

use crate::Error;
use crate::gpu::Gpu;

/// What the page knows about its GPU.
#[derive(Clone, Debug, PartialEq)]
pub enum GpuState {
    Looking,
    /// An adapter with every kernel compiled: its name, and whether it is software.
    Ready {
        adapter: String,
        software: bool,
    },
    /// No adapter (no WebGPU in this browser, or it is switched off): why.
    Missing(String),
    /// It worked, then failed (device lost, a failed pipeline): why. The CPU took over.
    Failed(String),
}

thread_local! {
    // wgpu's browser objects live on the page's thread, outside the (thread-safe) signals.
    static GPU: RefCell<Option<Rc<Gpu>>> = const { RefCell::new(None) };
}

/// Asks the browser for an adapter and compiles the kernels. A software adapter (SwiftShader on a
/// machine without a GPU) is slower than the CPU path, so it is offered but not chosen.
pub async fn find(state: RwSignal<GpuState>, use_gpu: RwSignal<bool>) {
    match Gpu::new().await {
        Ok(gpu) => {
            let (adapter, software) = (gpu.adapter().to_string(), gpu.is_software());
            GPU.with(|g| *g.borrow_mut() = Some(Rc::new(gpu)));
            if software {
                use_gpu.set(false);
            }
            state.set(GpuState::Ready { adapter, software });
        }
        // wgpu lists every backend it lacks; in a browser the one that matters is WebGPU.
        Err(Error::NoGpu(_)) => state.set(GpuState::Missing("this browser offers no WebGPU adapter".into())),
        Err(err) => state.set(GpuState::Failed(err.to_string())),
    }
}

/// The GPU, if there is one and `wanted`; reading `state` makes the caller re-run when it changes.
pub fn chosen(state: RwSignal<GpuState>, wanted: bool) -> Option<Rc<Gpu>> {
    let ready = matches!(state.get(), GpuState::Ready { .. });
    (ready && wanted).then(|| GPU.with(|g| g.borrow().clone())).flatten()
}

/// Gives the GPU up for good after a failure: from now on the CPU draws.
pub fn give_up(state: RwSignal<GpuState>, reason: String) {
    GPU.with(|g| g.borrow_mut().take());
    state.set(GpuState::Failed(reason));
}

/// The details panel's line.
pub fn describe(state: &GpuState, wanted: bool) -> String {
    const CPU: &str = "CPU (Rust compiled to WebAssembly)";
    match state {
        GpuState::Ready { adapter, .. } if wanted => format!("GPU: {adapter}, WebGPU compute shaders"),
        GpuState::Ready { adapter, software: true } => {
            format!("{CPU}: the GPU offered is software, slower than the CPU here ({adapter})")
        }
        GpuState::Ready { adapter, software: false } => format!("{CPU}, chosen here; GPU available: {adapter}"),
        GpuState::Looking => format!("{CPU}, while looking for a GPU"),
        GpuState::Missing(why) => format!("{CPU}: {why}"),
        GpuState::Failed(why) => format!("{CPU}, since the GPU failed: {why}"),
    }
}
