//! The model: the one in use, and a drop zone for a model of the user's own.

use leptos::prelude::*;

use super::files::{self, DropZone};
use super::page::State;

#[component]
pub fn ModelPicker(state: State) -> impl IntoView {
    let in_use =
        move || state.model.get().map(|m| format!("{} · {} classes · {}×{} input", m.name, m.classes, m.input_size[0], m.input_size[1]));
    view! {
        <fieldset class="model">
            <legend>"Model"</legend>
            <p id="model-in-use" class="in-use" title="The classifier whose maps are shown">{in_use}</p>
            <DropZone id="model-input" class="model-drop" accept=".onnx"
                text="Your own model: drop or choose an .onnx file"
                help="Explain another ONNX image classifier: every map is recomputed for it; if it cannot be used, the current model stays"
                on_file=move |file| files::model(state, file)/>
            <label class="recipe" title="How your model's training images were prepared: the photo is cropped, resized and normalised the same way">
                "preprocessing "
                <select id="recipe" on:change=move |ev| state.recipe.set(event_target_value(&ev).parse().unwrap_or_default())>
                    <option value="torchvision" selected>"torchvision (resize 256, crop 224, ImageNet mean/std)"</option>
                    <option value="efficientnet-lite">"EfficientNet-Lite (crop 87.5 %, bicubic, (x−127)/128)"</option>
                </select>
            </label>
        </fieldset>
    }
}
