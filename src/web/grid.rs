//! The grid of maps: one row per method, one column per stage (shallow → deep), then the fused map.
//! Hovering a map reports the value under the cursor to the legend; a click enlarges the map.

use image::RgbImage;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::MouseEvent;

use super::legend::Hovered;
use super::methods;
use super::page::{Cell, State};
use super::picture::Picture;
use super::score_cam::{self, ScoreCell};
use super::stages::{self, Stage};
use crate::display::{self, Shown};
use crate::model::layers::Layer;

#[component]
pub fn Grid(state: State) -> impl IntoView {
    // Rebuilt when the layers or methods change; each canvas redraws itself when the maps do.
    let table = move || {
        let model = state.model.get()?;
        let methods = state.shown_methods();
        let stages = stages::chosen(&model);
        let fused_title = {
            let stages = stages.clone();
            move || stages::title("Fused".into(), format!("{}, with its box", stages::fused(&stages, &state.fusion.get())))
        };
        let removable = model.layers.len() > 1;
        let header = model
            .layers
            .iter()
            .zip(stages)
            .map(|(layer, stage)| {
                let help = stages::candidate(&model, &layer.name).map_or_else(|| layer.name.clone(), stages::tensor_help);
                view! { <ColumnHeader state layer=layer.clone() stage help removable/> }
            })
            .collect_view();
        let rows = methods
            .iter()
            .enumerate()
            .map(|(row, &method)| {
                let cells = (0..model.layers.len())
                    .map(|l| view! { <td><MapCell state cell=Cell { layer: Some(l), method } row/></td> })
                    .collect_view();
                view! {
                    <tr data-method=method.name()>
                        <th scope="row" title=methods::help(method)>{methods::title(method)}</th>
                        {cells}
                        <td class="fused"><MapCell state cell=Cell { layer: None, method } row/></td>
                    </tr>
                }
            })
            .collect_view();
        Some(view! {
            <table id="grid" class="grid" data-drawn-by=move || state.drawn_by.get()
                   aria-busy=move || (state.busy.get() || state.drawing.get()).to_string() class:waiting=move || state.slow.get()>
                <caption class="visually-hidden">"Class activation maps: one row per method, one column per stage of the network, shallow to deep, then the fused map"</caption>
                <thead>
                    <tr>
                        <td class="corner"></td>
                        {header}
                        <th scope="col" class="fused-head"
                            title="Every fused stage's map (the fusion panel's choice; the shallow ones scaled by Eq. 9) resized to the photo; the largest value at each pixel is kept. The white box surrounds the strongest region">
                            {fused_title}
                        </th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        })
    };
    let no_methods =
        move || state.shown_methods().is_empty().then(|| view! { <p class="hint">"Tick a method (left) to see its row of maps."</p> });
    view! { <div class="grid-wrap">{table}{no_methods}</div> }
}

#[component]
fn ColumnHeader(state: State, layer: Layer, stage: Stage, help: String, removable: bool) -> impl IntoView {
    let remove = {
        let name = layer.name.clone();
        move |_| state.remove_layer(&name)
    };
    let what = format!("{} ({})", stage.name(), layer.name);
    view! {
        <th scope="col" title=help>
            {stages::title(stage.name(), stage.size())}
            <button class="remove" disabled=!removable on:click=remove
                    aria-label=format!("Remove {what} from the grid") title=format!("Remove the column of {what}")>"×"</button>
        </th>
    }
}

/// The picture of a cell in the current maps (none while its method's maps are on their way).
pub fn cell_picture(shown: &Shown, cell: Cell) -> Option<RgbImage> {
    let m = shown.maps.methods.iter().position(|&m| m == cell.method)?;
    match cell.layer {
        Some(l) => shown.cells.get(l)?.get(m).cloned(),
        None => shown.fused.get(m).cloned(),
    }
}

/// "LayerCAM · Stage 2 · 56×56 · 96 channels (hardtanh_5)" or "LayerCAM · fused map".
pub fn describe(state: State, cell: Cell) -> Option<String> {
    let model = state.model.get()?;
    let method = methods::title(cell.method);
    Some(match cell.layer {
        Some(l) => format!("{method} · {} ({})", stages::chosen(&model).get(l)?, model.layers.get(l)?.name),
        None => format!("{method} · fused map"),
    })
}

/// The value under the mouse, in the cell's raw map (a layer) or fused map.
fn hovered(state: State, cell: Cell, ev: &MouseEvent) -> Option<Hovered> {
    let target = ev.target()?.dyn_into::<web_sys::Element>().ok()?;
    let size = (target.client_width().max(1) as u32, target.client_height().max(1) as u32);
    let (x, y) = (f64::from(ev.offset_x()), f64::from(ev.offset_y()));
    state.shown.with_untracked(|shown| {
        let shown = shown.as_ref()?;
        let m = shown.maps.methods.iter().position(|&m| m == cell.method)?;
        match cell.layer {
            Some(l) => {
                let map = shown.maps.raw.get(l)?.get(m)?;
                let (value, fraction) = display::value_at(map, size, x, y);
                let max = map.iter().copied().fold(0.0, f32::max);
                Some(Hovered { cell, value, position: fraction, max })
            }
            // The fused map is drawn as it is: its colour is its value.
            None => {
                let (value, _) = display::value_at(shown.maps.fused.get(m)?, size, x, y);
                Some(Hovered { cell, value, position: value, max: 1.0 })
            }
        }
    })
}

/// A cell of row `row`: its picture, or in place of a Score-CAM map not computed yet, what it would take.
#[component]
fn MapCell(state: State, cell: Cell, row: usize) -> impl IntoView {
    let waiting = Memo::new(move |_| {
        let raw = state.raw.get()?;
        match cell.layer {
            Some(l) => score_cam::waiting(&raw, l, cell.method).then_some(Some(l)),
            None => {
                let fused = state.fusion.get();
                let missing = (0..raw.layers.len()).any(|l| fused.get(l) == Some(&true) && score_cam::waiting(&raw, l, cell.method));
                missing.then_some(None)
            }
        }
    });
    move || match waiting.get() {
        Some(Some(layer)) => view! { <ScoreCell state layer/> }.into_any(),
        Some(None) => view! {
            <p class="score-cell fused-waiting" title="The fused map follows once every fused stage has its Score-CAM map">
                "after every fused stage's map"
            </p>
        }
        .into_any(),
        None => view! { <MapPicture state cell row/> }.into_any(),
    }
}

#[component]
fn MapPicture(state: State, cell: Cell, row: usize) -> impl IntoView {
    // A memo: a slider that leaves this picture as it was (γ, for a layer's map) does not repaint it.
    let picture = Memo::new(move |_| state.shown.get().and_then(|s| cell_picture(&s, cell)));
    let label = Signal::derive(move || describe(state, cell).unwrap_or_default());
    let id = match cell.layer {
        Some(l) => format!("cell-{l}-{row}"),
        None => format!("fused-{row}"),
    };
    view! {
        <button class="cell" on:click=move |_| state.enlarged.set(Some(cell))
                on:mousemove=move |ev| state.hovered.set(hovered(state, cell, &ev))
                on:mouseleave=move |_| state.hovered.set(None)
                title=move || format!("{} — click to enlarge", label.get())>
            <Picture picture=picture.into() label=label.get_untracked() id/>
        </button>
    }
}
