//! A labelled range input bound to a signal, its value shown beside it.

use leptos::prelude::*;

#[component]
pub fn Slider(
    id: &'static str,
    label: &'static str,
    /// What moving it changes in the picture.
    help: &'static str,
    signal: RwSignal<f32>,
    min: f32,
    max: f32,
    step: f32,
) -> impl IntoView {
    view! {
        <div class="slider" title=help>
            <label for=id>{label}</label>
            <input id=id type="range" min=min.to_string() max=max.to_string() step=step.to_string()
                   prop:value=move || signal.get().to_string()
                   on:input=move |ev| { if let Ok(v) = event_target_value(&ev).parse() { signal.set(v) } }/>
            <output for=id>{move || format!("{:.2}", signal.get())}</output>
        </div>
    }
}
