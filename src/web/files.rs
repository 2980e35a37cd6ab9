//! Files the user hands the page — picked, dropped or pasted: a photo to explain, a video to play
//! live, or a model to load.

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::{DragEvent, File, HtmlInputElement};

use super::page::{State, memory};
use super::{live, timeline};
use crate::protocol::Request;

async fn bytes(file: &File) -> Result<Vec<u8>, String> {
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await.map_err(|e| format!("{e:?}"))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// The first file of a drop; the browser's own handling (opening the file) is stopped.
pub fn dropped(ev: &DragEvent) -> Option<File> {
    ev.prevent_default();
    ev.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0))
}

/// A model goes by its extension: students drop their .onnx wherever there is room.
fn is_model(file: &File) -> bool {
    file.name().to_lowercase().ends_with(".onnx")
}

/// A video by its type, or its extension where the system gives none.
fn is_video(file: &File) -> bool {
    let name = file.name().to_lowercase();
    file.type_().starts_with("video/") || [".mp4", ".webm", ".mov", ".m4v", ".ogv", ".mkv"].iter().any(|e| name.ends_with(e))
}

/// Explains a photo, plays a video live, or loads a model dropped where photos go.
pub fn dropped_file(state: State, file: File) {
    if is_model(&file) {
        model(state, file)
    } else if is_video(&file) {
        live::start_clip(state, file)
    } else {
        photo(state, file)
    }
}

pub fn photo(state: State, file: File) {
    timeline::start("photo given");
    spawn_local(async move {
        match bytes(&file).await {
            Ok(bytes) => state.explain(file.name(), bytes),
            Err(err) => state.error.set(Some(format!("Could not read {}: {err}", file.name()))),
        }
    });
}

/// Loads a model of the user's own, with the preprocessing chosen in the model picker.
pub fn model(state: State, file: File) {
    spawn_local(async move {
        match bytes(&file).await {
            Ok(onnx) => {
                // ImageNet's names are used when the model has 1000 classes (else classes are numbered).
                let labels = memory(|m| m.labels.clone());
                let recipe = Some(state.recipe.get_untracked());
                state.load_model(Request::LoadModel { name: file.name(), onnx, sidecar: None, labels, recipe });
            }
            Err(err) => state.error.set(Some(format!("Could not read {}: {err}", file.name()))),
        }
    });
}

/// A dashed zone that takes a dropped file, or a picked one through its file input (`id`).
#[component]
pub fn DropZone(
    id: &'static str,
    /// Extra class names.
    class: &'static str,
    accept: &'static str,
    text: &'static str,
    /// What the file changes on the page.
    help: &'static str,
    on_file: impl Fn(File) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let dragging = RwSignal::new(false);
    let on_drop = move |ev: DragEvent| {
        dragging.set(false);
        if let Some(file) = dropped(&ev) {
            on_file(file);
        }
    };
    let on_pick = move |ev: leptos::ev::Event| {
        let input: HtmlInputElement = event_target(&ev);
        if let Some(file) = input.files().and_then(|f| f.get(0)) {
            on_file(file);
        }
        input.set_value(""); // the same file again is a new choice
    };
    view! {
        <label
            class=format!("dropzone {class}")
            class:dragging=move || dragging.get()
            on:dragover=move |ev: DragEvent| { ev.prevent_default(); dragging.set(true); }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop
            title=help
        >
            <span>{text}</span>
            <input id=id type="file" accept=accept on:change=on_pick/>
        </label>
    }
}
