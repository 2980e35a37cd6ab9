//! The fused map's controls: γ of Eq. 9, and one row per explained stage saying whether it enters
//! the fusion and whether Eq. 9 scales it (by default the paper's rule, `cam::stages`: every stage but
//! the shallowest is fused, and the shallow ones are scaled).

use leptos::prelude::*;

use super::page::State;
use super::slider::Slider;
use super::stages::{self, Stage};
use crate::bounds;
use crate::cam::Fusion;
use crate::model::layers;

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
            <Slider id="gamma" label="γ" signal=state.gamma bounds=bounds::POSITIVE min=0.5 max=4.0 step=0.1
                help="γ of Eq. 9: each scaled stage's map becomes tanh(γ·M / max M) before fusion; a larger γ lifts its weak responses, so the fused map spreads wider"/>
            <table class="fusion-stages">
                <thead>
                    <tr>
                        <th scope="col" title="Whether this stage's map enters the fused map (the right-hand column of the grid)">"fuse"</th>
                        <th scope="col" title="Eq. 9 scales a stage's map to tanh(γ·M / max M), lifting its weak responses; unticked, it enters as M / max M">"Eq. 9"</th>
                        <th scope="col">"stage"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <p class="hint">"The paper scales only the shallow stages (stride ≤ ¼ of the deepest fused stage's): deep maps are coarse, and lifting them spreads them over the whole photo."</p>
            <button id="paper-fusion" on:click=move |_| paper_fusion(state)
                    title="Back to the paper's choice: every stage but the shallowest fused, the shallow ones scaled by Eq. 9">
                "The paper's choice"
            </button>
            {nothing_fused}
        </fieldset>
    }
}

/// One stage: its "fuse" box and its name (the tensor's name on hover).
#[component]
fn FusionRow(state: State, index: usize, stage: Stage, tensor: String) -> impl IntoView {
    let fused = move || state.fusion.get().get(index).copied().unwrap_or(true);
    let scaled = move || state.current_fusion().scaled.get(index).copied().unwrap_or(false);
    let set_scaled = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        let mut flags = untrack(|| state.current_fusion().scaled);
        if let Some(v) = flags.get_mut(index) {
            *v = on;
        }
        state.scale.set(Some(flags));
    };
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
            <td>
                <input type="checkbox" id=format!("eq9-{index}") prop:checked=scaled on:change=set_scaled disabled=move || !fused()
                       aria-label=format!("Scale {} by Eq. 9", stage.name())
                       title=format!("Scale {} by Eq. 9, tanh(γ·M / max M), before fusion: its weak responses count more", stage.name())/>
            </td>
            <th scope="row" title=format!("tensor {tensor}")>{stages::title(stage.name(), stage.size())}</th>
        </tr>
    }
}

/// The paper's fusion for the stages explained now.
fn paper_fusion(state: State) {
    if let Some(model) = state.model.get_untracked() {
        state.fusion.set(Fusion::paper(&layers::strides(&model.layers, model.input_size)).fused);
        state.scale.set(None);
    }
}
