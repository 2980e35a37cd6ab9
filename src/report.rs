//! The files an explanation produces, built in memory so that the CLI writes them to disk and the
//! page offers them as downloads, in the same formats:
//!
//! ```text
//! summary.json                      what was explained, the top classes, paths of everything below
//! input.png                         the image as the model saw it (after crop and resize)
//! overview.png                      one row per method: input, every layer's overlay, fused map
//! maps/<method>/<layer>.npy         raw map M, float32 [H, W] at the layer's resolution, unnormalised
//! overlays/<method>/<layer>.png     M / max M, upsampled and overlaid on input.png
//! fused/<method>.npy                fused map (max over the fused stages, the shallow ones scaled by Eq. 9), float32 at the input size
//! fused/<method>.png                its overlay, with the box
//! tensors/<layer>.activation.npy    A, float32 [C, H, W]   (only when asked for)
//! tensors/<layer>.gradient.npy      g = ∂logit/∂A, float32 [C, H, W]   (only when asked for)
//! ```

use image::RgbImage;
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use ndarray::{ArrayBase, ArrayView3, Data, Dimension};
use ndarray_npy::WriteNpyExt;
use serde_json::{Value, json};
use std::collections::BTreeMap;

use crate::cam::Smoothing;
use crate::display::Shown;
use crate::explain::{ClassMaps, Prediction, Settings};
use crate::model::layers::{GradientFrom, Layer};
use crate::{Error, Result};

/// A file of the report: a relative path and its bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// What every class of one image shares.
pub struct Context<'a> {
    pub model: &'a str,
    pub image: &'a str,
    pub preprocess: &'a str,
    pub top: &'a [Prediction],
    pub layers: &'a [Layer],
    /// Which gradient weighed the layers (`--gradient-from`).
    pub gradient_from: GradientFrom,
    pub seen: &'a RgbImage,
    pub settings: &'a Settings,
    /// `--aug-smooth`, `--eigen-smooth`.
    pub smoothing: Smoothing,
    /// Where the CAM maths ran: "cpu" or the GPU adapter.
    pub device: &'a str,
    /// Milliseconds per stage, in the order they ran.
    pub timings_ms: &'a [(&'a str, f64)],
}

/// Each layer's activation and gradient, `[C, H, W]`, for `--save-tensors`.
pub struct Tensors<'a> {
    pub activations: &'a [ArrayView3<'a, f32>],
    pub gradients: &'a [ArrayView3<'a, f32>],
}

/// Builds every file for one class from its maps and pictures. `tensors` (activations, gradients)
/// are written when given.
pub fn class_files(ctx: &Context, shown: &Shown, tensors: Option<Tensors>) -> Result<Vec<OutputFile>> {
    let Shown { maps, cells: pictures, fused: fused_pictures } = shown;
    let mut files = vec![OutputFile { path: "input.png".into(), bytes: png(ctx.seen)? }];
    let mut layers_json = vec![];
    for (index, layer) in ctx.layers.iter().enumerate() {
        let stem = file_stem(&layer.name);
        let mut map_paths = BTreeMap::new();
        for (m, method) in ctx.settings.methods.iter().enumerate() {
            let path = format!("maps/{method}/{stem}.npy");
            files.push(OutputFile { path: path.clone(), bytes: npy(&maps.raw[index][m])? });
            files.push(OutputFile { path: format!("overlays/{method}/{stem}.png"), bytes: png(&pictures[index][m])? });
            map_paths.insert(method.name(), path);
        }
        let mut entry = json!({ "name": layer.name, "shape": layer.shape, "maps": map_paths });
        if let Some(Tensors { activations, gradients }) = &tensors {
            let (a, g) = (format!("tensors/{stem}.activation.npy"), format!("tensors/{stem}.gradient.npy"));
            files.push(OutputFile { path: a.clone(), bytes: npy(&activations[index])? });
            files.push(OutputFile { path: g.clone(), bytes: npy(&gradients[index])? });
            entry["activation"] = json!(a);
            entry["gradient"] = json!(g);
        }
        layers_json.push(entry);
    }
    let (mut fused_json, mut box_json) = (BTreeMap::new(), BTreeMap::new());
    for (m, method) in ctx.settings.methods.iter().enumerate() {
        let path = format!("fused/{method}.npy");
        files.push(OutputFile { path: path.clone(), bytes: npy(&maps.fused[m])? });
        files.push(OutputFile { path: format!("fused/{method}.png"), bytes: png(&fused_pictures[m])? });
        fused_json.insert(method.name(), path);
        box_json.insert(method.name(), maps.boxes[m]);
    }
    files.push(OutputFile { path: "overview.png".into(), bytes: png(&overview(ctx.seen, pictures, fused_pictures))? });
    let summary = summary(ctx, maps, layers_json, fused_json, box_json);
    let summary = serde_json::to_vec_pretty(&summary).map_err(|e| Error::Runtime(e.to_string()))?;
    files.insert(0, OutputFile { path: "summary.json".into(), bytes: summary });
    Ok(files)
}

fn summary(
    ctx: &Context,
    maps: &ClassMaps,
    layers: Vec<Value>,
    fused: BTreeMap<&str, String>,
    boxes: BTreeMap<&str, Option<[usize; 4]>>,
) -> Value {
    let class = maps.class;
    let label = ctx.top.iter().find(|p| p.class == class).map(|p| p.label.clone());
    let name = |(layer, _): (usize, bool)| ctx.layers[layer].name.as_str();
    let fused_stages: Vec<&str> = maps.fusion.members().map(name).collect();
    let scaled_stages: Vec<&str> = maps.fusion.members().filter(|(_, scaled)| *scaled).map(name).collect();
    let timings: serde_json::Map<String, Value> =
        ctx.timings_ms.iter().map(|(stage, ms)| (stage.to_string(), json!((ms * 1000.0).round() / 1000.0))).collect();
    json!({
        "model": ctx.model,
        "image": ctx.image,
        "preprocess": ctx.preprocess,
        "class": class,
        "label": label,
        "top": ctx.top,
        "methods": ctx.settings.methods,
        "smoothing": ctx.smoothing,
        "gamma": ctx.settings.gamma,
        "fusion": { "stages": fused_stages, "eq9": scaled_stages },
        "box_threshold": ctx.settings.box_threshold,
        "input_size": [ctx.seen.height(), ctx.seen.width()],
        "layers": layers,
        "gradient_from": ctx.gradient_from,
        "fused": fused,
        "box": boxes,
        "box_format": "[x0, y0, x1, y1], x1 and y1 exclusive (numpy map[y0:y1, x0:x1])",
        "device": ctx.device,
        "timings_ms": timings,
    })
}

/// The grid of every picture: a row per method of the input, each layer (shallow to deep) and the
/// fused map. `layers[layer][method]`, `fused[method]`, each of the input's size. Its rows are
/// copied whole (`imageops::replace` goes a pixel at a time: 1 % of a folder run).
pub fn overview(seen: &RgbImage, layers: &[Vec<RgbImage>], fused: &[RgbImage]) -> RgbImage {
    let (w, h) = seen.dimensions();
    let columns = layers.len() as u32 + 2;
    let (tile_row, grid_row) = (w as usize * 3, (columns * w) as usize * 3);
    let mut grid = vec![0u8; fused.len() * h as usize * grid_row];
    for (m, fused_tile) in fused.iter().enumerate() {
        let tiles = std::iter::once(seen).chain(layers.iter().map(|layer| &layer[m])).chain([fused_tile]);
        let band = &mut grid[m * h as usize * grid_row..][..h as usize * grid_row];
        for (column, tile) in tiles.enumerate() {
            // A picture of another size (none is) would be cut to its cell, as `replace` did.
            let width = tile.width().min(w) as usize * 3;
            for (to, from) in band.chunks_exact_mut(grid_row).zip(tile.as_raw().chunks_exact((tile.width() as usize * 3).max(1))) {
                to[column * tile_row..][..width].copy_from_slice(&from[..width]);
            }
        }
    }
    RgbImage::from_raw(columns * w, fused.len() as u32 * h, grid).expect("a buffer of the grid's size")
}

/// Layer names may hold any character; file names keep letters, digits, '.', '_' and '-'.
pub fn file_stem(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect()
}

pub fn npy<S: Data<Elem = f32>, D: Dimension>(array: &ArrayBase<S, D>) -> Result<Vec<u8>> {
    let mut bytes = vec![];
    array.write_npy(&mut bytes).map_err(|e| Error::Runtime(format!("writing .npy: {e}")))?;
    Ok(bytes)
}

/// PNG with fast compression: encoding dominated a folder run at the default level, for files
/// about 10 % smaller. Every row Paeth-filtered: as small as choosing a filter per row
/// (adaptive), and 10–25 % faster to write (overview.png 1.77 → 1.63 ms, a 224² overlay 0.22 →
/// 0.19 ms).
pub fn png(image: &RgbImage) -> Result<Vec<u8>> {
    let mut bytes = vec![];
    let encoder = PngEncoder::new_with_quality(&mut bytes, CompressionType::Fast, PngFilter::Paeth);
    image.write_with_encoder(encoder).map_err(|e| Error::Runtime(format!("writing PNG: {e}")))?;
    Ok(bytes)
}
