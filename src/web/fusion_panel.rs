//! The fused map's controls: γ of Eq. 9, and one row per explained stage saying whether it enters
//! the fusion. Each row is a table row, so a further per-stage choice is one more cell.

use leptos::prelude::*;

use super::page::State;
use super::slider::Slider;
use super::stages::{self, Stage};

#[component]
pub fn FusionPanel(state: State) -> impl IntoView {
    let rows = move || {
        let model = state.model.get()?;
        let rows = stages::chosen(&model)
            .into_iter()
            .zip(&model.layers)
            .enumerate()
            .map(|(index, (stage, layer))| view! { <FusionRow state index stage tensor=layer.name.clone()/> })
            .collect_view();
        Some(rows)
    };
    let nothing_fused = move || {
        let fusion = state.fusion.get();
        (!fusion.is_empty() && !fusion.contains(&true))
            .then(|| view! { <p class="hint">"No stage is fused: the fused maps are empty."</p> })
    };
    view! {
        <fieldset id="fusion" class="fusion">
            <legend>"Fused map (Eq. 9)"</legend>
            <Slider id="gamma" label="γ" signal=state.gamma min=0.5 max=4.0 step=0.1
                help="γ of Eq. 9: each stage's map becomes tanh(γ·M / max M) before fusion; a larger γ lifts weak responses, so the fused map spreads wider"/>
            <table class="fusion-stages">
                <thead>
                    <tr>
                        <th scope="col" title="Whether this stage's map enters the fused map (the right-hand column of the grid)">"fuse"</th>
                        <th scope="col">"stage"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            {nothing_fused}
        </fieldset>
    }
}

/// One stage: its "fuse" box and its name (the tensor's name on hover).
#[component]
fn FusionRow(state: State, index: usize, stage: Stage, tensor: String) -> impl IntoView {
    let fused = move || state.fusion.get().get(index).copied().unwrap_or(true);
    let set = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        state.fusion.update(|f| {
            if let Some(v) = f.get_mut(index) {
                *v = on
            }
        })
    };
    view! {
        <tr>
            <td>
                <input type="checkbox" id=format!("fuse-{index}") prop:checked=fused on:change=set
                       aria-label=format!("Fuse {}", stage.name())
                       title=format!("Include {} in the fused map: its evidence is added to the right-hand column", stage.name())/>
            </td>
            <th scope="row" title=format!("tensor {tensor}")>{stages::title(stage.name(), stage.size())}</th>
        </tr>
    }
}
