//! The top of the page: title, projector switch, the status line, and the error banner.

use leptos::prelude::*;

use super::page::State;

#[component]
pub fn Header(state: State) -> impl IntoView {
    view! {
        <header class="top-bar">
            <h1>"layercam"</h1>
            <p class="tagline">"Where does an image classifier look? At every stage of the network, on your own machine."</p>
            <button id="projector" class="projector-toggle" aria-pressed=move || state.projector.get().to_string()
                    on:click=move |_| state.projector.update(|on| *on = !*on)
                    title="Larger text and maps for a classroom projector (click again for the laptop size)">
                "Projector view"
            </button>
            <StatusLine state/>
        </header>
        <ErrorBanner state/>
    }
}

#[component]
fn ErrorBanner(state: State) -> impl IntoView {
    move || {
        state.error.get().map(|message| {
            view! {
                <div id="error" class="banner error" role="alert">
                    <span>{message}</span>
                    <button on:click=move |_| state.error.set(None) title="Dismiss this message" aria-label="Dismiss this message">"×"</button>
                </div>
            }
        })
    }
}

/// What the page or the worker is doing, with a spinner while it takes a while, and the model's
/// download.
#[component]
fn StatusLine(state: State) -> impl IntoView {
    view! {
        <p id="status" class="status" role="status" aria-live="polite">
            {move || state.slow.get().then(|| view! { <span class="spinner" aria-hidden="true"></span> })}
            {move || state.status.get()}
            <ModelProgress state/>
        </p>
    }
}

#[component]
fn ModelProgress(state: State) -> impl IntoView {
    move || {
        state.download.get().map(|(done, total)| {
            let mb = |b: u64| b as f64 / 1e6;
            let text = match total {
                Some(total) => format!(" {:.1} of {:.1} MB", mb(done), mb(total)),
                None => format!(" {:.1} MB", mb(done)),
            };
            view! {
                <progress id="model-progress" aria-label="Model download" max=move || total.unwrap_or(0).to_string() value=done.to_string()></progress>
                <span>{text}</span>
            }
        })
    }
}
