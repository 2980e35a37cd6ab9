//! A picture on a canvas that redraws itself when its picture changes.

use image::RgbImage;
use leptos::prelude::*;

use super::canvas;

/// `id` may be empty (no id attribute).
#[component]
pub fn Picture(picture: Signal<Option<RgbImage>>, label: String, id: String) -> impl IntoView {
    let node = NodeRef::<leptos::html::Canvas>::new();
    Effect::new(move |_| {
        if let (Some(canvas), Some(image)) = (node.get(), picture.get()) {
            canvas::draw(&canvas, &image);
        }
    });
    view! { <canvas node_ref=node id=(!id.is_empty()).then_some(id) role="img" aria-label=label width="224" height="224"></canvas> }
}
