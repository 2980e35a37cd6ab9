//! The page's share of a click, run once on made-up maps when a model is ready: the maths and
//! pictures of the whole grid. The browser runs a WebAssembly function quickly compiled the first
//! time and optimises it once it has run for a while; without this the first photo's "fusion and
//! pictures" took 25–34 ms, against 11–16 on the clicks after it (the worker warms its own share
//! up: see `session::warm_up`).

use image::{Rgb, RgbImage};

use crate::cam::Fusion;
use crate::display;
use crate::explain::Settings;
use crate::protocol::{ClassRawMaps, ModelInfo};

/// Draws the grid of `info`'s layers under `settings` once, and forgets it.
pub fn drawing(info: &ModelInfo, settings: &Settings, fusion: &Fusion) {
    let [height, width] = info.input_size.map(|side| side as u32);
    let seen = RgbImage::from_fn(width, height, |x, y| Rgb([x as u8, y as u8, (x ^ y) as u8]));
    drop(display::show(&seen, &made_up_maps(info, settings), settings, fusion));
}

/// Every layer's raw map for each of `settings`' methods: a smooth bump, so that its box, fusion
/// and colours take the paths a real map takes.
fn made_up_maps(info: &ModelInfo, settings: &Settings) -> ClassRawMaps {
    let maps = info
        .layers
        .iter()
        .map(|layer| {
            let [_, h, w] = layer.shape;
            let bump: Vec<f32> = (0..h * w).map(|i| bump(i / w, h) * bump(i % w, w)).collect();
            vec![bump; settings.methods.len()]
        })
        .collect();
    ClassRawMaps {
        class: 0,
        layers: info.layers.clone(),
        methods: settings.methods.clone(),
        smoothing: Default::default(),
        maps,
        score_passes: vec![],
        spans: vec![],
    }
}

/// 1 at the middle of `0..len`, falling to 0 at its ends.
fn bump(i: usize, len: usize) -> f32 {
    let middle = (len as f32 - 1.0) / 2.0;
    1.0 - (i as f32 - middle).abs() / middle.max(1.0)
}
