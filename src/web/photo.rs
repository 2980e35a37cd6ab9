//! The photo: two samples, a drop zone (a dropped .onnx loads as a model, a video plays live), paste,
//! the live camera, and the photo as the network sees it.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::files::{self, DropZone};
use super::live::{LivePanel, Mode};
use super::page::State;
use super::picture::Picture;
use super::{fetch, timeline};

const SAMPLES: [(&str, &str); 2] = [("./samples/chelsea.png", "Chelsea the cat"), ("./samples/coffee.png", "A cup of espresso")];

#[component]
pub fn PhotoPicker(state: State) -> impl IntoView {
    let samples = SAMPLES.map(|(url, alt)| {
        // Read ahead, so that a click explains at once: reading the file on the click took 10–17 ms
        // of the click's time.
        let bytes = StoredValue::new_local(None::<Vec<u8>>);
        spawn_local(async move { bytes.set_value(fetch::bytes(url, |_, _| ()).await.ok()) });
        let pick = move |_| {
            timeline::start("click on a sample photo");
            let name = url.rsplit('/').next().unwrap_or(url).to_string();
            match bytes.get_value() {
                Some(read) => state.explain(name, read),
                None => spawn_local(async move {
                    match fetch::bytes(url, |_, _| ()).await {
                        Ok(read) => state.explain(name, read),
                        Err(err) => state.error.set(Some(err)),
                    }
                }),
            }
        };
        view! {
            <button class="sample" on:click=pick title=format!("Explain this photo: {alt}. A new photo re-runs the network and redraws every map")>
                <img src=url alt=alt width="96" height="64"/>
            </button>
        }
    });
    let seen = Signal::derive(move || state.seen.get().map(|s| (*s).clone()));
    view! {
        <div class="photo">
            <figure class="seen">
                <Picture picture=seen label="The photo as the model sees it".into() id="seen".into()/>
                <figcaption>"What the network sees: the photo cropped and resized for it."</figcaption>
            </figure>
            <div class="photo-sources">
                <div class="sources" hidden=move || state.live.get() != Mode::Off>
                    <div class="samples" role="group" aria-label="Sample photos">{samples.into_iter().collect_view()}</div>
                    <DropZone id="photo-input" class="photo-drop" accept="image/*,video/*,.onnx"
                        text="Drop, choose or paste (Ctrl+V) a photo or a video"
                        help="A new photo re-runs the network and redraws every map; a video file plays live, explained frame after frame; a dropped .onnx file is loaded as the model"
                        on_file=move |file| files::dropped_file(state, file)/>
                </div>
                <LivePanel state/>
            </div>
        </div>
    }
}

/// Ctrl+V anywhere on the page explains a pasted image, and a file dropped anywhere outside the
/// drop zones is taken as if dropped on the photo's: the browser would otherwise open it in place
/// of the page, losing everything on screen.
pub fn listen_for_files(state: State) {
    let paste = window_event_listener(leptos::ev::paste, move |ev| {
        if let Some(file) = ev.clipboard_data().and_then(|d| d.files()).and_then(|f| f.get(0)) {
            files::photo(state, file);
        }
    });
    let over = window_event_listener(leptos::ev::dragover, |ev| ev.prevent_default());
    let drop = window_event_listener(leptos::ev::drop, move |ev| {
        // A drop zone has handled it already.
        if !ev.default_prevented()
            && let Some(file) = files::dropped(&ev)
        {
            files::dropped_file(state, file);
        }
    });
    // The page lives as long as the tab: keep listening.
    [paste, over, drop].into_iter().for_each(std::mem::forget);
}
