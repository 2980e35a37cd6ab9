//! The network as a strip of blocks, one per explainable tensor in graph order, each as tall as its
//! resolution: the picture shrinks with depth while the channels grow. The explained layers are
//! highlighted; a click adds a block's tensor as a column (or removes it).

use leptos::prelude::*;

use super::page::State;
use super::stages;
use crate::model::layers::Candidate;

#[component]
pub fn NetworkStrip(state: State) -> impl IntoView {
    let strip = move || {
        let model = state.model.get()?;
        let tallest = model.candidates.iter().map(|c| c.shape[1]).max().unwrap_or(1).max(1);
        let mut groups: Vec<(stages::Stage, Vec<Candidate>)> = vec![];
        for c in &model.candidates {
            let stage = stages::stage(&model, c.shape);
            match groups.last_mut() {
                Some((last, members)) if last.number == stage.number => members.push(c.clone()),
                _ => groups.push((stage, vec![c.clone()])),
            }
        }
        let groups = groups
            .into_iter()
            .map(|(stage, members)| {
                // Each block gets the same width: a stage's share of the strip is its tensor count.
                let share = members.len().to_string();
                let blocks = members.into_iter().map(|c| view! { <Block state candidate=c tallest/> }).collect_view();
                view! {
                    <div class="stage-group" style:flex-grow=share>
                        <div class="blocks">{blocks}</div>
                        {stages::title(stage.name(), format!("{}×{}", stage.height, stage.width))}
                    </div>
                }
            })
            .collect_view();
        Some(view! {
            <div id="network" class="network" role="group"
                 aria-label="The network, input on the left: one block per tensor, as tall as its resolution; highlighted blocks are the columns of the grid">
                {groups}
            </div>
        })
    };
    view! { {strip} }
}

#[component]
fn Block(state: State, candidate: Candidate, tallest: usize) -> impl IntoView {
    let name = candidate.name.clone();
    let chosen = {
        let name = name.clone();
        Signal::derive(move || state.model.with(|m| m.as_ref().is_some_and(|m| m.layers.iter().any(|l| l.name == name))))
    };
    let toggle = {
        let name = name.clone();
        move |_| {
            let mut layers = state.layers();
            if chosen.get_untracked() {
                layers.retain(|l| *l != name);
            } else {
                layers.push(name.clone());
            }
            state.set_layers(layers);
        }
    };
    let help = {
        let stage = state.model.with_untracked(|m| m.as_ref().map(|m| stages::stage(m, candidate.shape).to_string())).unwrap_or_default();
        let tensor = stages::tensor_help(&candidate);
        move || {
            let action = if chosen.get() { "click to remove its column" } else { "click to add it as a column" };
            format!("{stage} — {tensor}; {action}")
        }
    };
    let height = format!("{:.1}%", 100.0 * candidate.shape[1] as f64 / tallest as f64);
    view! {
        <button class="block" class:chosen=move || chosen.get() class:auto=candidate.auto
                aria-pressed=move || chosen.get().to_string() aria-label=help.clone() title=help tabindex="-1"
                disabled=move || state.busy.get() on:click=toggle>
            <span style:height=height></span>
        </button>
    }
}
