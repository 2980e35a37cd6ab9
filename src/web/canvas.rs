//! Pictures onto canvases.

use image::RgbImage;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use crate::display::rgba;

/// Draws `image` at its own size; CSS scales the canvas.
pub fn draw(canvas: &HtmlCanvasElement, image: &RgbImage) {
    let (width, height) = image.dimensions();
    canvas.set_width(width);
    canvas.set_height(height);
    let context = canvas.get_context("2d").ok().flatten().and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok());
    let pixels = rgba(image);
    let data = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&pixels), width, height);
    if let (Some(context), Ok(data)) = (context, data) {
        context.put_image_data(&data, 0.0, 0.0).ok();
    }
}
