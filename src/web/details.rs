//! Details for the curious: where the maths runs (with the GPU switch), which tensor each stage is,
//! and the timings of each step.

use leptos::prelude::*;

use super::bridge;
use super::maths::{self, GpuState};
use super::page::{State, Timings};
use super::stages;
use super::timeline::TimelineList;

#[component]
pub fn Details(state: State) -> impl IntoView {
    let row = |name: &'static str, value: Signal<String>| view! { <tr><th scope="row">{name}</th><td>{value}</td></tr> };
    let ms = move |f: fn(&Timings) -> f64| Signal::derive(move || format!("{:.1} ms", f(&state.timings.get())));
    let model = Signal::derive(move || {
        state
            .model
            .get()
            .map(|m| format!("{} — {} classes, input {}×{}, {}", m.name, m.classes, m.input_size[0], m.input_size[1], m.recipe))
            .unwrap_or_default()
    });
    view! {
        <details id="details" class="details">
            <summary title="Where the maths runs, which tensor each stage is, and how long each step takes">"Details"</summary>
            <table>
                <tr>
                    <th scope="row">"maths on"</th>
                    <td>
                        <span id="maths-on">{move || maths::describe(&state.gpu.get(), state.use_gpu.get())}</span>
                        " "
                        <label title="Draw the maps with WebGPU compute shaders, or with the CPU reference: the pictures are the same">
                            <input id="use-gpu" type="checkbox" prop:checked=move || state.use_gpu.get()
                                disabled=move || !matches!(state.gpu.get(), GpuState::Ready { .. })
                                on:change=move |e| state.use_gpu.set(event_target_checked(&e))/>
                            " use the GPU"
                        </label>
                    </td>
                </tr>
                <tr><th scope="row">"engine"</th><td id="engine-threads">{move || engine(state)}</td></tr>
                {row("model", model)}
                <tr><th scope="row">"stages"</th><td><StageTensors state/></td></tr>
                <tr><th scope="row">"prepare (parse, differentiate, plan, a first run)"</th><td id="prepare-ms">{ms(|t| t.prepare)}</td></tr>
                {row("forward (worker)", ms(|t| t.forward))}
                {row("backward (worker)", ms(|t| t.backward))}
                {row("raw maps (worker)", ms(|t| t.worker_cam))}
                <tr><th scope="row">"fusion and overlays (page)"</th><td id="redraw-ms">{ms(|t| t.page_cam)}</td></tr>
                {row("request to full grid", ms(|t| t.to_grid))}
                <tr><th scope="row">"forward passes run"</th><td id="forward-count">{move || state.timings.get().forwards}</td></tr>
            </table>
            <p>"The last request, step by step (the worker's steps indented):"</p>
            <TimelineList steps=state.timeline/>
        </details>
    }
}

/// How many threads the network runs on, and why not more.
fn engine(state: State) -> String {
    let Some(threads) = state.model.with(|m| m.as_ref().map(|m| m.threads)) else {
        return "starting…".into();
    };
    match threads {
        1 if !bridge::threaded() => {
            "WebAssembly on 1 thread: threads need a cross-origin isolated page (COOP/COEP headers, which the page's \
             service worker adds where the host does not) and a browser with relaxed SIMD (Chrome 114, Firefox 145)"
                .into()
        }
        1 => "WebAssembly on 1 thread".into(),
        n => format!("WebAssembly on {n} threads"),
    }
}

/// Each column's stage and the tensor behind it.
#[component]
fn StageTensors(state: State) -> impl IntoView {
    let items = move || {
        let model = state.model.get()?;
        let items = stages::chosen(&model)
            .into_iter()
            .zip(&model.layers)
            .map(|(stage, layer)| {
                let tensor = stages::candidate(&model, &layer.name).map_or_else(|| layer.name.clone(), stages::tensor_help);
                view! { <li>{format!("{}: {tensor}", stage.name())}</li> }
            })
            .collect_view();
        Some(items)
    };
    view! { <ul id="stage-tensors" class="stage-tensors">{items}</ul> }
}
