//! Adding any explainable tensor as a column, by name, from a list in graph order.

use leptos::prelude::*;

use super::page::State;
use super::stages;
use crate::model::layers::GradientFrom;

#[component]
pub fn LayerPicker(state: State) -> impl IntoView {
    let chosen = RwSignal::new(String::new());
    let add = move |_| {
        let name = chosen.get_untracked();
        if !name.is_empty() {
            state.add_layer(name);
        }
    };
    let options = move || {
        state.model.get().map(|model| {
            model
                .candidates
                .iter()
                .map(|c| {
                    let mark = if c.auto { " ★" } else { "" };
                    let text = format!("{} — {}{mark}", stages::stage(&model, c.shape, c.tokens.is_some()), c.name);
                    view! { <option value=c.name.clone() title=stages::tensor_help(c)>{text}</option> }
                })
                .collect_view()
        })
    };
    view! {
        <fieldset class="layers">
            <legend>"Layers (columns)"</legend>
            <label for="layer-select" class="visually-hidden">"A tensor to add as a column"</label>
            <select id="layer-select" on:change=move |ev| chosen.set(event_target_value(&ev))
                    title="Every tensor of the network that can be explained, shallow to deep; ★ marks the automatic choice, one per stage">
                <option value="">"add a layer…"</option>
                {options}
            </select>
            <button id="layer-add" on:click=add disabled=move || state.busy.get()
                    title="Add this tensor as a column of maps, in its place between the shallower and the deeper ones">"Add"</button>
            <p class="hint">"Or click a block of the network above the maps."</p>
            <label class="grid-fix" title="A max pool passes its gradient to one pixel of each window, which leaves a grid in the map of the layer before it. The LayerCAM authors weigh such a layer by the gradient after the pool, smoothly enlarged. Other layers are unchanged; the automatic layers may then include the ones just before each pooling">
                <input type="checkbox" id="grid-fix" disabled=move || state.busy.get()
                       prop:checked=move || state.model.with(|m| m.as_ref().is_some_and(|m| m.gradient_from == GradientFrom::Next))
                       on:change=move |ev| state.set_gradient_from(if event_target_checked(&ev) { GradientFrom::Next } else { GradientFrom::Layer })/>
                " Grid fix: a layer before a pooling takes the gradient after it"
            </label>
        </fieldset>
    }
}
