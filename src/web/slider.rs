//! A labelled range input bound to a signal, with a box beside it where the exact value can be
//! typed (γ = 2.5 for a class, say). Both go through the same check as the command line's flags
//! (`bounds`): NaN, infinities and values out of range are refused with a message under the slider
//! naming the field and the value, and the maps keep the last good value.

use leptos::prelude::*;

use crate::bounds::Bounds;

#[component]
pub fn Slider(
    id: &'static str,
    label: &'static str,
    /// What moving it changes in the picture.
    help: &'static str,
    signal: RwSignal<f32>,
    /// The values the setting may take (the typed box may go beyond the slider's own `min`–`max`).
    bounds: Bounds,
    min: f32,
    max: f32,
    step: f32,
) -> impl IntoView {
    let refused = RwSignal::new(None::<String>);
    let take = move |text: String| match bounds.parse(&text) {
        Ok(value) => {
            refused.set(None);
            signal.set(value);
        }
        Err(why) => refused.set(Some(format!("{label}: {why}. It stays {:.2}.", signal.get_untracked()))),
    };
    let value_id = format!("{id}-value");
    let error_id = format!("{id}-error");
    view! {
        <div class="slider" title=help>
            <label for=id>{label}</label>
            <input id=id type="range" min=min.to_string() max=max.to_string() step=step.to_string()
                   prop:value=move || signal.get().to_string()
                   on:input=move |ev| take(event_target_value(&ev))/>
            <input id=value_id class="value" type="text" inputmode="decimal" aria-label=format!("{label}, typed")
                   aria-invalid=move || refused.get().is_some().to_string() aria-describedby=error_id.clone()
                   prop:value=move || format!("{:.2}", signal.get())
                   on:change=move |ev| take(event_target_value(&ev))/>
            <p id=error_id class="field-error" role="alert" hidden=move || refused.get().is_none()>{move || refused.get()}</p>
        </div>
    }
}
