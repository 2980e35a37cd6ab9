//! The colour legend: the colormap's bar from 0 to the map's maximum, and, while the mouse is over a
//! map, the value there, marked on the bar and read out beside it.

use image::{Rgb, RgbImage};
use leptos::prelude::*;

use super::grid;
use super::page::{Cell, State};
use super::picture::Picture;
use crate::cam::Colormap;

/// The map under the mouse and its value there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hovered {
    pub cell: Cell,
    /// The map's value at the cursor (a layer's raw M, or the fused map's value).
    pub value: f32,
    /// Where that value's colour sits on the bar, 0 to 1.
    pub position: f32,
    /// The value at the bar's right end: the layer map's maximum, or 1 for the fused map.
    pub max: f32,
}

/// The colormap from 0 to 1, left to right, drawn by the same code as the maps.
fn colour_bar(colormap: Colormap) -> RgbImage {
    RgbImage::from_fn(256, 1, |x, _| Rgb(colormap.rgb(x as f32 / 255.0)))
}

/// A map value with 3 significant digits, whatever its scale (raw maps range from 1e-6 to 1e3).
fn number(v: f32) -> String {
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    if a < 1e-3 {
        return format!("{v:.2e}");
    }
    let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
    format!("{v:.decimals$}")
}

#[component]
pub fn Legend(state: State) -> impl IntoView {
    let bar = Signal::derive(move || Some(colour_bar(state.colormap.get())));
    let marker = move || {
        state.hovered.get().map(|h| view! { <span class="marker" style:left=format!("{:.1}%", h.position.clamp(0.0, 1.0) * 100.0)></span> })
    };
    let max = move || match state.hovered.get() {
        Some(h) if h.cell.layer.is_some() => format!("max M = {}", number(h.max)),
        Some(_) => "1".into(),
        None => "the map's maximum".into(),
    };
    let class = move || state.raw.get().and_then(|raw| state.model.with(|m| m.as_ref().map(|m| format!(" for “{}”", m.labels[raw.class]))));
    let reading = move || match state.hovered.get() {
        Some(h) => {
            let what = grid::describe(state, h.cell).unwrap_or_default();
            match h.cell.layer {
                Some(_) => format!("{what}: M = {} here, {:.0} % of this map's maximum.", number(h.value), h.position * 100.0),
                None => format!("{what}: {} here, on a scale where 1 is the strongest evidence after Eq. 9.", number(h.value)),
            }
        }
        None => "Hover a map to read its value here; click it to enlarge it.".into(),
    };
    view! {
        <div id="legend" class="legend">
            <span class="legend-end">"0 · no evidence"</span>
            <div class="legend-bar" title="The colour scale of every map. Each map is scaled to its own maximum: compare places within a map, not colours across stages">
                <Picture picture=bar label="Colour scale: low values on the left, high values on the right".into() id="legend-bar".into()/>
                {marker}
            </div>
            <span class="legend-end"><span id="legend-max">{max}</span>" · where the evidence"{class}" is strongest"</span>
            <p id="hover" class="hover" aria-live="polite">{reading}</p>
        </div>
    }
}
