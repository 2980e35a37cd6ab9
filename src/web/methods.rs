//! The methods: their names, a line on what each computes, and the picker that chooses the grid's
//! rows — the paper's four at hand, the six others one click away — with the two smoothings.

use leptos::prelude::*;

use super::page::State;
use crate::cam::{Method, Smoothing};

pub fn title(method: Method) -> &'static str {
    match method {
        Method::LayerCam => "LayerCAM",
        Method::LayerCamNormal => "LayerCAM-normal",
        Method::GradCam => "Grad-CAM",
        Method::GradCamPlusPlus => "Grad-CAM++",
        Method::HiResCam => "HiResCAM",
        Method::GradCamElementWise => "Element-wise Grad-CAM",
        Method::XGradCam => "XGradCAM",
        Method::EigenCam => "EigenCAM",
        Method::EigenGradCam => "EigenGradCAM",
        Method::ScoreCam => "Score-CAM",
    }
}

/// What the method weighs, in one line (shown in place and in "How to read these maps").
pub fn help(method: Method) -> &'static str {
    match method {
        Method::LayerCam => "every location weighs its activations by its own positive gradient (Eq. 6–8)",
        Method::LayerCamNormal => {
            "the raw gradient as the weight, negative parts included (the paper's ablation; the same map as HiResCAM)"
        }
        Method::GradCam => "one weight per channel: its mean gradient (Eq. 3)",
        Method::GradCamPlusPlus => "one weight per channel, from higher-order gradient terms (Eq. 4–5)",
        Method::HiResCam => "gradient × activation at every location, summed: what each place adds to the score (= LayerCAM-normal)",
        Method::GradCamElementWise => "gradient × activation at every location, counted only where the two agree in sign",
        Method::XGradCam => "one weight per channel: its gradient averaged over where the channel is active",
        Method::EigenCam => "the activations' main pattern (first principal component): no gradient, the same for every class",
        Method::EigenGradCam => "the main pattern of gradient × activation: EigenCAM for the chosen class",
        Method::ScoreCam => {
            "one weight per channel: the class's score on the photo seen through that channel (a forward pass each, no gradient)"
        }
    }
}

#[component]
pub fn MethodPicker(state: State) -> impl IntoView {
    let (paper, others): (Vec<Method>, Vec<Method>) = Method::ALL.into_iter().partition(|m| Method::PAPER.contains(m));
    let more_chosen = move || state.methods.with(|ms| ms.iter().any(|m| !Method::PAPER.contains(m)));
    let names: Vec<&str> = others.iter().map(|&m| title(m)).collect();
    let summary = format!("{} more: {}", others.len(), names.join(", "));
    view! {
        <fieldset class="methods">
            <legend>"Methods (rows)"</legend>
            <ul class="method-list">{paper.into_iter().map(|method| view! { <MethodRow state method/> }).collect_view()}</ul>
            <details class="more-methods" open=more_chosen>
                <summary>{summary}</summary>
                <ul class="method-list">{others.into_iter().map(|method| view! { <MethodRow state method/> }).collect_view()}</ul>
            </details>
            <SmoothingBoxes state/>
        </fieldset>
    }
}

/// A method's box (show or hide its row) and its line.
#[component]
fn MethodRow(state: State, method: Method) -> impl IntoView {
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
        <li data-method=method.name()>
            <label>
                <input type="checkbox" checked=move || state.methods.get().contains(&method) on:change=toggle/>
                <span class="method-name">{title(method)}</span>
            </label>
            <span class="method-help">{help(method)}</span>
        </li>
    }
}

/// pytorch-grad-cam's two smoothings, for every row.
#[component]
fn SmoothingBoxes(state: State) -> impl IntoView {
    let set = move |change: fn(&mut Smoothing, bool)| {
        move |ev: leptos::ev::Event| {
            let on = event_target_checked(&ev);
            state.smoothing.update(|s| change(s, on));
        }
    };
    view! {
        <div class="smoothing">
            <span>"Smooth:"</span>
            <label title="Each method's weighted activations projected on their first principal component instead of added up (pytorch-grad-cam's eigen_smooth): less noise, fewer details">
                <input type="checkbox" id="eigen-smooth" checked=move || state.smoothing.get().eigen on:change=set(|s, on| s.eigen = on)/>
                "principal component"
            </label>
            <label title="The photo also mirrored and 10 % darker or brighter: six runs of the network, their maps averaged (pytorch-grad-cam's aug_smooth)">
                <input type="checkbox" id="aug-smooth" checked=move || state.smoothing.get().aug on:change=set(|s, on| s.aug = on)/>
                "6 variants of the photo"
            </label>
        </div>
    }
}
