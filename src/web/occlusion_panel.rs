//! "Is that really what it looks at?": the paper's occlusion test (Table 6) on the current image.
//! Each method's strongest region (above 70 % of its map, deepest stage and fused map) is hidden and
//! the worker classifies the photo again; the panel shows what the network says then, side by side.

use std::sync::Arc;

use leptos::prelude::*;

use super::methods;
use super::page::State;
use super::picture::Picture;
use crate::cam::Method;
use crate::display;
use crate::experiments::occlusion::{Region, THRESHOLD, Trial};
use crate::protocol::{OcclusionReport, Request};

#[component]
pub fn OcclusionPanel(state: State) -> impl IntoView {
    let run = move |_| {
        let Some(raw) = state.raw.get_untracked() else {
            return;
        };
        // Score-CAM's map takes part once every layer has it.
        let complete = |m: &Method| (0..raw.layers.len()).all(|l| raw.has(l, *m));
        let request = Request::Occlude {
            class: raw.class,
            methods: untrack(|| state.shown_methods()).into_iter().filter(complete).collect(),
            fusion: untrack(|| state.current_fusion()),
            gamma: state.gamma.get_untracked(),
        };
        state.send(request);
    };
    let label = move || {
        let class = state.raw.get()?.class;
        state.model.with(|m| m.as_ref().map(|m| m.labels[class].clone()))
    };
    view! {
        <section id="occlusion" class="occlusion" aria-labelledby="occlusion-title">
            <h2 id="occlusion-title">"Is that really what it looks at?"</h2>
            <p class="hint">
                {format!("Hide the region where each map is surest (above {:.0} % of its maximum) and ask the network again. ", THRESHOLD * 100.0)}
                "If the map found what the network relies on, its confidence falls. A large drop from a small hidden region is the \
                 sign of a good map; hiding most of the photo proves little (the paper's occlusion test, Table 6)."
            </p>
            <button id="occlude" on:click=run disabled=move || state.busy.get() || state.raw.get().is_none() || state.live.get().moving()
                    title="Hide each method's strongest region and classify the photo again, in the worker; the maps above stay as they are (in live mode, freeze a frame first)">
                {move || format!("Hide and classify again{}", label().map(|l| format!(" (“{l}”)")).unwrap_or_default())}
            </button>
            {move || state.occlusion.get().map(|report| view! { <Results report/> })}
        </section>
    }
}

#[component]
fn Results(report: Arc<OcclusionReport>) -> impl IntoView {
    let mut methods: Vec<Method> = report.trials.iter().map(|(t, _)| t.method).collect();
    methods.dedup(); // the trials come method by method
    let columns = methods
        .into_iter()
        .map(|method| {
            let trials = report.trials.iter().filter(|(t, _)| t.method == method).map(|(trial, picture)| {
                let seen = display::seen_image(picture);
                view! { <TrialCard trial=trial.clone() picture=seen before=report.prob/> }
            });
            view! {
                <div class="occlusion-method" data-method=method.name()>
                    <h3>{methods::title(method)}</h3>
                    {trials.collect_view()}
                </div>
            }
        })
        .collect_view();
    view! {
        <p class="occlusion-original">
            {format!("On the whole photo: {:.1}\u{a0}%. ", report.prob * 100.0)}
            <small>{format!("({} classifications in {:.0} ms)", report.trials.len(), report.ms)}</small>
        </p>
        <div class="occlusion-grid">{columns}</div>
    }
}

#[component]
fn TrialCard(trial: Trial, picture: image::RgbImage, before: f32) -> impl IntoView {
    let region = match trial.region {
        Region::Deepest => "deepest stage",
        Region::Fused => "fused map",
    };
    let drop = before - trial.prob;
    // A region whose hiding *raises* the class says the map missed what mattered: show the sign.
    let change = if drop >= 0.0 { format!("−{:.1}\u{a0}points", drop * 100.0) } else { format!("+{:.1}\u{a0}points", -drop * 100.0) };
    let top = trial.top.iter().map(|p| view! { <li>{format!("{} {:.1}\u{a0}%", p.label, p.prob * 100.0)}</li> }).collect_view();
    let picture = Signal::derive(move || Some(picture.clone()));
    view! {
        <figure class="occlusion-trial" data-region=format!("{:?}", trial.region).to_lowercase()
                data-drop=format!("{drop:.4}") data-prob=format!("{:.4}", trial.prob)>
            <Picture picture label=format!("The photo with the {region}'s strongest region hidden") id=String::new()/>
            <figcaption>
                <strong>{region}</strong>
                {format!(" · {:.0}\u{a0}% hidden", trial.hidden * 100.0)}<br/>
                {format!("now {:.1}\u{a0}% (", trial.prob * 100.0)}
                <span class="drop">{change}</span>")"
                <ol class="occlusion-top">{top}</ol>
            </figcaption>
        </figure>
    }
}
