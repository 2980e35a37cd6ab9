//! One map, enlarged over the page, named; a click or Escape closes it.

use leptos::prelude::*;

use super::grid::{cell_picture, describe};
use super::page::State;
use super::picture::Picture;

#[component]
pub fn Enlarged(state: State) -> impl IntoView {
    let picture = Signal::derive(move || {
        let cell = state.enlarged.get()?;
        state.shown.get().and_then(|s| cell_picture(&s, cell))
    });
    let close = move || state.enlarged.set(None);
    let on_key = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            close();
        }
    });
    std::mem::forget(on_key); // as long as the page
    move || {
        let cell = state.enlarged.get()?;
        let title = describe(state, cell).unwrap_or_default();
        let label = format!("Enlarged map: {title}");
        Some(view! {
            <div class="modal" role="dialog" aria-modal="true" aria-label=label on:click=move |_| close()>
                <p class="modal-title">{title}</p>
                <Picture picture label="Enlarged map".into() id="enlarged".into()/>
                <p>"Click or press Escape to close."</p>
            </div>
        })
    }
}
