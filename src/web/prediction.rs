//! The prediction: the top classes with probability bars, and any class by name. Choosing a class
//! re-targets every map (the worker runs the backward pass only).

use leptos::prelude::*;

use super::live;
use super::page::State;

#[component]
pub fn Predictions(state: State) -> impl IntoView {
    let search = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        // Options read "label (index)": the index settles duplicate names.
        let class = text.rsplit_once('(').and_then(|(_, rest)| rest.trim_end_matches(')').parse::<usize>().ok());
        if let Some(class) = class {
            state.pick_class(class);
        }
    };
    let rows = move || {
        let current = state.raw.get().map(|r| r.class);
        state
            .top
            .get()
            .into_iter()
            .map(|p| {
                let class = p.class;
                let percent = format!("{:.1}%", p.prob * 100.0);
                let locked = state.locked.get() == Some(class);
                view! {
                    <li>
                        <button class="class" class:current=current == Some(class) class:locked=locked
                                aria-pressed=(current == Some(class)).to_string()
                                on:click=move |_| state.pick_class(class)
                                title=format!("Redraw every map for “{}”: where the network finds evidence for this class (logit {:.2})", p.label, p.logit)>
                            <span class="bar" style:width=percent.clone()></span>
                            <span class="label">{p.label.clone()}</span>
                            <span class="prob">{percent.clone()}</span>
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    let options = move || {
        state
            .model
            .get()
            .map(|m| m.labels.iter().enumerate().map(|(i, l)| view! { <option value=format!("{l} ({i})")></option> }).collect_view())
    };
    view! {
        <div class="prediction">
            <h3>"Which class: what the network thinks it is"</h3>
            <ol id="top" class="top">{rows}</ol>
            {move || state.live.get().moving().then(|| view! { <LockLine state/> })}
            <label class="search" title="Redraw every map for any class: where would the network look for it?">"any class "
                <input type="search" list="classes" placeholder="type a class name…" on:change=search/>
            </label>
            <datalist id="classes">{options}</datalist>
        </div>
    }
}

/// In live mode: which class the frames are explained for, and the way back to following the top one.
#[component]
fn LockLine(state: State) -> impl IntoView {
    const FOLLOWING: &str = "Following each frame's top class (a near tie keeps the class on screen). Click a class to lock it.";
    move || match state.locked.get() {
        Some(class) => {
            let label = state.model.with(|m| m.as_ref().map(|m| m.labels[class].clone())).unwrap_or_default();
            view! {
                <p id="lock" class="lock">{format!("Locked on “{label}”: every frame is explained for it. ")}
                    <button id="follow-top" on:click=move |_| live::lock(state, None)
                            title="Explain each frame for its own top class again">"Follow the top class"</button>
                </p>
            }
            .into_any()
        }
        None => view! { <p id="lock" class="lock hint">{FOLLOWING}</p> }.into_any(),
    }
}
