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
            let stage = stages::stage(&model, c.shape, c.tokens.is_some());
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
                let blocks = members
                    .into_iter()
                    .map(|candidate| {
                        let chosen = model.layers.iter().any(|l| l.name == candidate.name);
                        view! { <Block state candidate stage=stage.name() chosen tallest/> }
                    })
                    .collect_view();
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
    // Rebuilt with every new model or set of layers: which blocks are chosen comes with it.
    view! { {strip} }
}

/// One tensor: a click adds it as a column, or removes its column.
#[component]
fn Block(state: State, candidate: Candidate, stage: String, chosen: bool, tallest: usize) -> impl IntoView {
    let toggle = {
        let name = candidate.name.clone();
        move |_| {
            if chosen { state.remove_layer(&name) } else { state.add_layer(name.clone()) }
        }
    };
    let action = if chosen { "click to remove its column" } else { "click to add it as a column" };
    let help = format!("{stage} — {}; {action}", stages::tensor_help(&candidate));
    let height = format!("{:.1}%", 100.0 * candidate.shape[1] as f64 / tallest as f64);
    view! {
        <button class="block" class:chosen=chosen class:auto=candidate.auto aria-pressed=chosen.to_string()
                aria-label=help.clone() title=help tabindex="-1" disabled=move || state.busy.get() on:click=toggle>
            <span style:height=height></span>
        </button>
    }
}
