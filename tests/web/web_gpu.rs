//! The WGSL kernels in Chromium through WebGPU (SwiftShader here), against the CPU reference, run by
//! wasm-bindgen-test with web/tests/webdriver.json (which turns WebGPU on):
//! `WASM_BINDGEN_TEST_WEBDRIVER_JSON=web/tests/webdriver.json CHROMEDRIVER=/usr/bin/chromedriver
//! cargo test --target wasm32-unknown-unknown --test web` (scripts/test.sh).
//! The same cases run natively in tests/integration/gpu_*.rs.

use crate::common::gpu::*;
use image::RgbImage;
use layercam::cam::{Fusion, LayerTensors, Method, Reduce};
use layercam::display;
use layercam::explain::{self, Settings};
use layercam::gpu::Gpu;
use ndarray::ArrayView3;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

async fn webgpu() -> Gpu {
    Gpu::new().await.unwrap_or_else(|e| panic!("{e}: Chromium gives WebGPU only with --enable-unsafe-webgpu (web/tests/webdriver.json)"))
}

#[wasm_bindgen_test]
async fn raw_maps_in_the_browser_equal_the_cpu() {
    let gpu = webgpu().await;
    let (activations, gradients) = chelsea();
    let reference = raw_maps_match(&gpu, "chelsea", &activations, &gradients).await;
    let awkward = raw_maps_of_awkward_sizes(&gpu).await;
    console_log!("{}: raw maps within {reference:e} (chelsea), {awkward:e} (awkward sizes) of the max", gpu.adapter());
}

#[wasm_bindgen_test]
async fn pictures_in_the_browser_equal_the_cpu() {
    let gpu = webgpu().await;
    let (map, colour) = pictures_match(&gpu).await;
    let colours = colours_match(&gpu).await;
    console_log!("{}: fused maps within {map:e} of the max, colours within {} step", gpu.adapter(), colour.max(colours));
}

/// A measurement, not an assertion: the GPU and the CPU path in this browser, LayerCAM on chelsea's
/// five reference layers, at 224² and 1024² output (`--nocapture` prints it).
#[wasm_bindgen_test]
async fn timings_of_both_paths_in_the_browser() {
    let gpu = webgpu().await;
    let (activations, gradients) = chelsea();
    let a: Vec<ArrayView3<f32>> = activations.iter().map(|a| a.view()).collect();
    let g: Vec<ArrayView3<f32>> = gradients.iter().map(|g| g.view()).collect();
    let names: Vec<String> = crate::common::LAYERS.iter().map(|l| l.to_string()).collect();
    let settings = Settings { methods: vec![Method::LayerCam], ..Settings::default() };
    let tensors: Vec<LayerTensors> = activations.iter().zip(&g).map(|(a, g)| LayerTensors::new(a.view(), *g)).collect();
    let raw = explain::raw_maps(&names, &tensors, &settings.methods, Reduce::Sum).expect("raw maps");
    let fusion = Fusion::all_scaled(5);
    for side in [224, 1024] {
        let seen = RgbImage::from_pixel(side, side, image::Rgb([90, 120, 150]));
        let size = (side as usize, side as usize);
        let cpu = median_ms(|| async {
            let maps = explain::class_maps(0, &names, &a, &g, &settings, &fusion, size).expect("maps");
            drop(display::draw(&seen, maps, &settings));
        })
        .await;
        let on_gpu = median_ms(|| async { drop(gpu.explain(&seen, 0, &a, &g, &fusion, &settings).await.expect("GPU")) }).await;
        let redraw = median_ms(|| async { drop(gpu.show(&seen, 0, raw.clone(), &fusion, &settings).await.expect("GPU")) }).await;
        console_log!("{side}²: tensors → pictures CPU {cpu:.1} ms, GPU {on_gpu:.1} ms; raw maps → pictures (redraw) GPU {redraw:.1} ms");
    }
}

async fn median_ms<F: std::future::Future<Output = ()>>(run: impl Fn() -> F) -> f64 {
    let now = || web_sys::window().expect("a window").performance().expect("performance").now();
    run().await; // warm-up
    let mut times = vec![];
    for _ in 0..3 {
        let started = now();
        run().await;
        times.push(now() - started);
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}
