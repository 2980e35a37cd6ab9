//! Pictures onto canvases, reusing what the previous picture of the same size used: live mode
//! repaints the grid several times a second, and a canvas resized (even to its own size) is cleared
//! and reallocated.

use std::cell::RefCell;

use image::RgbImage;
use js_sys::{Reflect, Uint8ClampedArray};
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use crate::display::rgba_into;

thread_local! {
    /// The RGBA bytes of the picture being drawn, one buffer for every canvas.
    static RGBA: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Draws `image` at its own size (CSS scales the canvas) through `data`, the canvas's `ImageData`,
/// made again only when the size changes.
pub fn draw(canvas: &HtmlCanvasElement, image: &RgbImage, data: &mut Option<ImageData>) {
    let (width, height) = image.dimensions();
    if (canvas.width(), canvas.height()) != (width, height) {
        canvas.set_width(width);
        canvas.set_height(height);
    }
    if data.as_ref().is_none_or(|d| (d.width(), d.height()) != (width, height)) {
        *data = ImageData::new_with_sw(width, height).ok();
    }
    let context = canvas.get_context("2d").ok().flatten().and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok());
    let (Some(context), Some(data)) = (context, data.as_ref()) else {
        return;
    };
    // The ImageData's own bytes (web-sys's `data()` would hand back a copy).
    let Ok(pixels) = Reflect::get(data, &"data".into()).map(JsCast::unchecked_into::<Uint8ClampedArray>) else {
        return;
    };
    RGBA.with(|rgba| {
        let mut rgba = rgba.borrow_mut();
        rgba_into(image, &mut rgba);
        pixels.copy_from(&rgba);
    });
    context.put_image_data(data, 0.0, 0.0).ok();
}
