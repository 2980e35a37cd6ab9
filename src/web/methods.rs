//! The four methods: their names, what each computes, and the boxes that choose the grid's rows.

use leptos::prelude::*;

use super::page::State;
use crate::cam::Method;

pub fn title(method: Method) -> &'static str {
    match method {
        Method::LayerCam => "LayerCAM",
        Method::LayerCamNormal => "LayerCAM-normal",
        Method::GradCam => "Grad-CAM",
        Method::GradCamPlusPlus => "Grad-CAM++",
    }
}

pub fn help(method: Method) -> &'static str {
    match method {
        Method::LayerCam => "LayerCAM: every location weighs its activations by its own positive gradients (Eq. 6–8)",
        Method::LayerCamNormal => "LayerCAM with the raw gradient as weight, negative parts included (the paper's ablation)",
        Method::GradCam => "Grad-CAM: one weight per channel, the mean gradient (Eq. 3)",
        Method::GradCamPlusPlus => "Grad-CAM++: one weight per channel from higher-order gradient terms (Eq. 4–5)",
    }
}

#[component]
pub fn MethodPicker(state: State) -> impl IntoView {
    let boxes = Method::ALL.map(|method| {
        let toggle = move |ev: leptos::ev::Event| {
            let on = event_target_checked(&ev);
            state.methods.update(|ms| {
                ms.retain(|m| *m != method);
                if on {
                    ms.push(method);
                    ms.sort_by_key(|m| Method::ALL.iter().position(|a| a == m));
                }
            });
        };
        view! {
            <label title=format!("{} — shows or hides its row of maps", help(method))>
                <input type="checkbox" checked=move || state.methods.get().contains(&method) on:change=toggle/>
                {title(method)}
            </label>
        }
    });
    view! {
        <fieldset class="methods">
            <legend>"Methods (rows)"</legend>
            {boxes.into_iter().collect_view()}
        </fieldset>
    }
}
