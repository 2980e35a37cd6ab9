//! A picture on a canvas that redraws itself when its picture changes.

use image::RgbImage;
use leptos::prelude::*;

use super::canvas;

/// `id` may be empty (no id attribute).
#[component]
pub fn Picture(picture: Signal<Option<RgbImage>>, label: String, id: String) -> impl IntoView {
    let node = NodeRef::<leptos::html::Canvas>::new();
    // The canvas's pixels, kept from one picture to the next (live mode repaints several a second).
    let data = StoredValue::new_local(None);
    Effect::new(move |_| {
        if let (Some(canvas), Some(image)) = (node.get(), picture.get()) {
            data.update_value(|data| canvas::draw(&canvas, &image, data));
        }
    });
    view! { <canvas node_ref=node id=(!id.is_empty()).then_some(id) role="img" aria-label=label width="224" height="224"></canvas> }
}
