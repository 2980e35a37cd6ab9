//! The page's side of the maths: from the raw maps the worker sent to every picture on screen.
//! Only this runs when a slider moves (γ, opacity, threshold, colormap, fusion set); it never
//! touches the network.

use image::RgbImage;
use ndarray::Array2;

use crate::cam::{self, Method};
use crate::explain::{ClassMaps, Settings, fuse};
use crate::protocol::{ClassRawMaps, Picture};
use crate::report;

/// What the page shows for one class.
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

/// `raw.maps[layer][method]` (all methods, in `Method::ALL` order) as arrays, for the chosen methods.
pub fn class_maps(raw: &ClassRawMaps, settings: &Settings, fusion: &[bool], size: (usize, usize)) -> ClassMaps {
    let chosen: Vec<usize> =
        settings.methods.iter().map(|m| Method::ALL.iter().position(|a| a == m).expect("a known method")).collect();
    let arrays: Vec<Vec<Array2<f32>>> = raw
        .layers
        .iter()
        .zip(&raw.maps)
        .map(|(layer, per_method)| {
            let [_, h, w] = layer.shape;
            chosen.iter().map(|&m| Array2::from_shape_vec((h, w), per_method[m].clone()).expect("h × w values")).collect()
        })
        .collect();
    let fused: Vec<Array2<f32>> = (0..chosen.len())
        .map(|m| {
            let included: Vec<_> = arrays.iter().zip(fusion).filter(|(_, on)| **on).map(|(layer, _)| layer[m].view()).collect();
            match included.is_empty() {
                true => Array2::zeros(size), // no stage selected: nothing to fuse
                false => fuse(included.into_iter(), settings.gamma, size),
            }
        })
        .collect();
    let boxes = fused.iter().map(|f| cam::largest_box(f.view(), settings.box_threshold)).collect();
    ClassMaps { class: raw.class, raw: arrays, fused, boxes }
}

/// Every picture of the grid and the fused column.
pub fn show(seen: &RgbImage, raw: &ClassRawMaps, settings: &Settings, fusion: &[bool]) -> Shown {
    let size = (seen.height() as usize, seen.width() as usize);
    let maps = class_maps(raw, settings, fusion, size);
    let cells = maps.raw.iter().map(|layer| layer.iter().map(|m| report::layer_picture(seen, m, settings)).collect()).collect();
    let fused = (0..settings.methods.len())
        .map(|m| report::fused_picture(seen, &maps.fused[m], maps.boxes[m], settings))
        .collect();
    Shown { maps, cells, fused }
}

/// RGBA bytes for a canvas `ImageData`.
pub fn rgba(image: &RgbImage) -> Vec<u8> {
    image.pixels().flat_map(|p| [p[0], p[1], p[2], 255]).collect()
}

/// The value of a raw map under a point of the picture (`x`, `y` in the picture's pixels),
/// relative to the map's maximum, for the hover read-out.
pub fn value_at(map: &Array2<f32>, picture: (u32, u32), x: f64, y: f64) -> (f32, f32) {
    let (h, w) = map.dim();
    let column = ((x / f64::from(picture.0)) * w as f64).clamp(0.0, w as f64 - 1.0) as usize;
    let row = ((y / f64::from(picture.1)) * h as f64).clamp(0.0, h as f64 - 1.0) as usize;
    let max = map.iter().copied().fold(0f32, f32::max);
    let value = map[(row, column)];
    (value, if max > 0.0 { value / max } else { 0.0 })
}
