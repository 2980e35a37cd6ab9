//! Keeping the maps: the grid and the fused map as PNG, everything as a zip in the CLI's layout.

use image::RgbImage;
use leptos::prelude::*;

use super::page::{State, memory};
use super::{download, maths};
use crate::report;

#[component]
pub fn Exports(state: State) -> impl IntoView {
    let export = move |what: &'static str| {
        move |_| {
            if let Err(err) = save(state, what) {
                state.error.set(Some(format!("Could not export: {err}")));
            }
        }
    };
    // Live frames pass too quickly to name one: a frame is exported once frozen.
    let none = move || state.shown.get().is_none() || state.live.get().moving();
    view! {
        <fieldset class="exports">
            <legend>"Keep them"</legend>
            <button id="save-grid" on:click=export("grid") disabled=none title="The whole grid as one PNG">"Grid (PNG)"</button>
            <button id="save-fused" on:click=export("fused") disabled=none title="The fused map of the first method, with its box">"Fused map (PNG)"</button>
            <button id="save-all" on:click=export("all") disabled=none
                    title="Raw maps (.npy), fused maps, overlays and summary.json, as the command line writes them">"Everything (.zip)"</button>
        </fieldset>
    }
}

fn save(state: State, what: &str) -> Result<(), String> {
    let (Some(shown), Some(seen), Some(model)) = (state.shown.get_untracked(), state.seen.get_untracked(), state.model.get_untracked())
    else {
        return Ok(());
    };
    let class = shown.maps.class;
    let png = |image: &RgbImage| report::png(image).map_err(|e| e.to_string());
    match what {
        "grid" => {
            download::save(&format!("layercam-{class}-grid.png"), "image/png", &png(&report::overview(&seen, &shown.cells, &shown.fused))?)
        }
        "fused" => {
            let fused = shown.fused.first().ok_or("no method is selected")?;
            download::save(&format!("layercam-{class}-fused.png"), "image/png", &png(fused)?)
        }
        _ => {
            let timings = state.timings.get_untracked();
            let timings = [("forward", timings.forward), ("backward", timings.backward), ("cam", timings.worker_cam + timings.page_cam)];
            let image = memory(|m| m.image.as_ref().map(|(name, _)| name.clone())).unwrap_or_default();
            let settings = state.settings();
            let raw = state.raw.get_untracked().ok_or("no maps yet")?;
            if let Some(method) = settings.methods.iter().find(|&&m| (0..raw.layers.len()).any(|l| !raw.has(l, m))) {
                return Err(format!("{method} has no map of every layer yet: run it on each layer, or hide its row, to export"));
            }
            let top = state.top.get_untracked();
            let context = report::Context {
                model: &model.name,
                image: &image,
                preprocess: model.recipe.name(),
                top: &top,
                layers: &model.layers,
                gradient_from: model.gradient_from,
                seen: &seen,
                settings: &settings,
                smoothing: raw.smoothing,
                device: &maths::describe(&state.gpu.get_untracked(), state.use_gpu.get_untracked()),
                timings_ms: &timings,
            };
            let files = report::class_files(&context, &shown, None).map_err(|e| e.to_string())?;
            download::save(&format!("layercam-{class}.zip"), "application/zip", &download::zip(&files)?)
        }
    }
}
