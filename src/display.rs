//! The page's side of the maths: from the raw maps the worker sent to every picture on screen.
//! Only this runs when a slider moves (γ, opacity, threshold, colormap, fusion set); it never
//! touches the network.

use image::{Rgb, RgbImage};
use ndarray::Array2;

use crate::cam::{self, Fusion, Method, Overlay};
use crate::explain::{ClassMaps, Settings, fuse_stages};
use crate::float;
use crate::protocol::{ClassRawMaps, Picture};

/// Box colour: white reads on every colormap.
const BOX_COLOUR: Rgb<u8> = Rgb([255, 255, 255]);

/// Every picture of one class, as the page shows it and the CLI writes it; drawn on the CPU
/// ([`draw`], [`show`]) or on the GPU ([`crate::gpu::Gpu`]).
pub struct Shown {
    pub maps: ClassMaps,
    /// `cells[layer][method]`, for the methods in `settings.methods`.
    pub cells: Vec<Vec<RgbImage>>,
    /// `fused[method]`, with its box.
    pub fused: Vec<RgbImage>,
}

pub fn seen_image(picture: &Picture) -> RgbImage {
    RgbImage::from_raw(picture.width, picture.height, picture.rgb.clone()).expect("the worker sends width × height × 3 bytes")
}

/// `raw.maps[layer][method]` as arrays, for `methods` (each one of `raw.methods`); a map not
/// computed yet (Score-CAM's, before its passes) is all zero, and the page shows no picture of it.
pub fn chosen_maps(raw: &ClassRawMaps, methods: &[Method]) -> Vec<Vec<Array2<f32>>> {
    let chosen: Vec<usize> = methods.iter().map(|m| raw.methods.iter().position(|a| a == m).expect("the worker computed it")).collect();
    raw.layers
        .iter()
        .zip(&raw.maps)
        .map(|(layer, per_method)| {
            let [_, h, w] = layer.shape;
            chosen
                .iter()
                .map(|&m| match per_method[m].as_slice() {
                    [] => Array2::zeros((h, w)),
                    values => Array2::from_shape_vec((h, w), values.to_vec()).expect("h × w values"),
                })
                .collect()
        })
        .collect()
}

/// The chosen methods' raw maps, fused as `fusion` says, with boxes.
pub fn class_maps(raw: &ClassRawMaps, settings: &Settings, fusion: &Fusion, size: (usize, usize)) -> ClassMaps {
    fuse_stages(raw.class, chosen_maps(raw, &settings.methods), settings, fusion, size)
}

/// Every picture of the grid and the fused column, on the CPU.
pub fn show(seen: &RgbImage, raw: &ClassRawMaps, settings: &Settings, fusion: &Fusion) -> Shown {
    let size = (seen.height() as usize, seen.width() as usize);
    draw(seen, class_maps(raw, settings, fusion, size), settings)
}

/// The pictures after a change that leaves every layer's picture as `previous` drew it (γ, the box
/// threshold, the fusion set): only the fused column is computed again, on the CPU.
pub fn show_fused(seen: &RgbImage, previous: &Shown, settings: &Settings, fusion: &Fusion) -> Shown {
    let size = (seen.height() as usize, seen.width() as usize);
    let maps = fuse_stages(previous.maps.class, previous.maps.raw.clone(), settings, fusion, size);
    let fused = fused_pictures(seen, &maps, &overlay(settings));
    Shown { maps, cells: previous.cells.clone(), fused }
}

/// The pictures of `maps` on the CPU: each layer's map over the image, and each fused map with its box.
pub fn draw(seen: &RgbImage, maps: ClassMaps, settings: &Settings) -> Shown {
    let overlay = overlay(settings);
    let cells = maps.raw.iter().map(|layer| layer.iter().map(|m| layer_picture(seen, m, &overlay)).collect()).collect();
    let fused = fused_pictures(seen, &maps, &overlay);
    Shown { maps, cells, fused }
}

/// How the settings draw a map over the photo.
pub fn overlay(settings: &Settings) -> Overlay {
    Overlay::new(settings.colormap, settings.opacity)
}

fn fused_pictures(seen: &RgbImage, maps: &ClassMaps, overlay: &Overlay) -> Vec<RgbImage> {
    maps.fused.iter().zip(&maps.boxes).map(|(fused, &bbox)| with_box(overlay.over(seen, fused.view()), bbox)).collect()
}

/// A layer's raw map as shown: normalised by its maximum, upsampled and overlaid on the input.
pub fn layer_picture(seen: &RgbImage, raw: &Array2<f32>, overlay: &Overlay) -> RgbImage {
    let (height, width) = (seen.height() as usize, seen.width() as usize);
    let shown = cam::upsample_bilinear(cam::normalize_max(raw.view()).view(), height, width);
    overlay.over(seen, shown.view())
}

/// A fused map's picture with its box outlined, if it has one.
pub fn with_box(mut picture: RgbImage, bbox: Option<[usize; 4]>) -> RgbImage {
    if let Some(bbox) = bbox {
        cam::draw_box(&mut picture, bbox, BOX_COLOUR);
    }
    picture
}

/// `image`'s RGBA bytes, for a canvas `ImageData`, into `rgba` (resized to fit, so that one buffer
/// serves every picture).
pub fn rgba_into(image: &RgbImage, rgba: &mut Vec<u8>) {
    rgba.resize(image.as_raw().len() / 3 * 4, 255);
    for (out, pixel) in rgba.chunks_exact_mut(4).zip(image.as_raw().chunks_exact(3)) {
        out[..3].copy_from_slice(pixel);
        out[3] = 255;
    }
}

/// The value of a raw map under a point of the picture (`x`, `y` in the picture's pixels),
/// relative to the map's maximum, for the hover read-out.
pub fn value_at(map: &Array2<f32>, picture: (u32, u32), x: f64, y: f64) -> (f32, f32) {
    let (h, w) = map.dim();
    let column = ((x / f64::from(picture.0)) * w as f64).clamp(0.0, w as f64 - 1.0) as usize;
    let row = ((y / f64::from(picture.1)) * h as f64).clamp(0.0, h as f64 - 1.0) as usize;
    let max = map.iter().copied().fold(0f32, float::larger);
    let value = map[(row, column)];
    (value, if max > 0.0 { value / max } else { 0.0 })
}
