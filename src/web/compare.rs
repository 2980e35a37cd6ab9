//! "Compare two": any two methods side by side at every stage, in two large rows over the page's
//! whole width — for a class looking at one difference at a time.

use leptos::prelude::*;

use super::methods;
use super::page::State;
use crate::cam::Method;

/// Turns comparing on or off, and brings the maps into view: the button that does it sits among
/// the controls, which the user may have scrolled far below the maps.
fn switch(state: State, on: bool) {
    state.comparing.set(on);
    request_animation_frame(|| {
        let maps = web_sys::window().and_then(|w| w.document()).and_then(|d| d.query_selector(".maps").ok().flatten());
        if let Some(maps) = maps {
            maps.scroll_into_view();
        }
    });
}

/// The way in, beside the method picker.
#[component]
pub fn ComparePicker(state: State) -> impl IntoView {
    view! {
        <fieldset class="compare">
            <legend>"Compare two"</legend>
            <button id="compare" on:click=move |_| switch(state, !state.comparing.get_untracked()) aria-pressed=move || state.comparing.get().to_string()
                    title="Two methods at every stage, in two large rows over the whole width">
                {move || if state.comparing.get() { "Back to every row" } else { "Two methods side by side, large" }}
            </button>
        </fieldset>
    }
}

/// Above the grid while comparing: which two, and the way back.
#[component]
pub fn CompareBar(state: State) -> impl IntoView {
    let pick = move |which: usize| {
        move |ev: leptos::ev::Event| {
            if let Ok(method) = event_target_value(&ev).parse::<Method>() {
                state.compare.update(|pair| pair[which] = method);
            }
        }
    };
    let select = move |which: usize| {
        let options = Method::ALL
            .into_iter()
            .map(|m| view! { <option value=m.name() selected=move || state.compare.get()[which] == m>{methods::title(m)}</option> })
            .collect_view();
        view! {
            <select id=format!("compare-{which}") on:change=pick(which) aria-label=format!("Method of row {}", which + 1)>{options}</select>
        }
    };
    move || {
        state.comparing.get().then(|| {
            view! {
                <div class="compare-bar" role="group" aria-label="Compare two methods">
                    <strong>"Comparing"</strong>
                    {select(0)}
                    <span>"with"</span>
                    {select(1)}
                    <button on:click=move |_| state.compare.update(|pair| pair.swap(0, 1)) title="Swap the two rows">"⇅ Swap"</button>
                    <button id="compare-done" on:click=move |_| switch(state, false)>"Back to every row"</button>
                </div>
            }
        })
    }
}
