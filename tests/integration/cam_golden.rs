//! Our CAM maths against pytorch-grad-cam 1.5.7 on EfficientNet-Lite0 (tests/fixtures/reference,
//! see its README.md): the raw maps of every method and layer, and the library's normalised,
//! upsampled 224×224 outputs, which exercise `upsample_bilinear` against OpenCV's resize.
//! Run with `--nocapture` to see the error figures.

use layercam::cam::{self, LayerTensors, Method, Reduce};
use ndarray::{Array2, Array3, ArrayView2, Zip};
use ndarray_npy::{ReadNpyExt, read_npy};

const IMAGES: [&str; 2] = ["chelsea", "coffee"];
const LAYERS: [&str; 5] = ["blocks.0", "blocks.2", "blocks.4", "blocks.10", "head_act"];
/// Our methods and the library's class names, as they appear in the fixture file names.
const METHODS: [(Method, &str); 3] =
    [(Method::LayerCam, "LayerCAM"), (Method::GradCam, "GradCAM"), (Method::GradCamPlusPlus, "GradCAMPlusPlus")];
const SIZE: usize = 224;

fn fixture<T: ReadNpyExt>(name: &str) -> T {
    let path = format!("{}/tests/fixtures/reference/{name}.npy", env!("CARGO_MANIFEST_DIR"));
    read_npy(&path).unwrap_or_else(|err| panic!("cannot read {path}: {err}"))
}

fn our_raw_map(method: Method, image: &str, layer: &str) -> Array2<f32> {
    let activation: Array3<f32> = fixture(&format!("{image}_act_{layer}"));
    let gradient: Array3<f32> = fixture(&format!("{image}_grad_{layer}"));
    cam::raw_map(method, LayerTensors::new(activation.view(), gradient.view()), Reduce::Sum).unwrap()
}

fn max(map: ArrayView2<f32>) -> f32 {
    map.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

fn min(map: ArrayView2<f32>) -> f32 {
    map.iter().copied().fold(f32::INFINITY, f32::min)
}

fn max_abs_diff(a: ArrayView2<f32>, b: ArrayView2<f32>) -> f32 {
    assert_eq!(a.shape(), b.shape());
    Zip::from(a).and(b).fold(0.0, |worst, &x, &y| worst.max((x - y).abs()))
}

/// pytorch-grad-cam's `scale_cam_image` without a target size: x − min, then divided by
/// 1e-7 + the max of the shifted map.
fn library_normalise(map: ArrayView2<f32>) -> Array2<f32> {
    let min = min(map);
    let shifted = map.mapv(|m| m - min);
    let max = max(shifted.view());
    shifted.mapv_into(|m| m / (1e-7 + max))
}

/// What the library's `cam(...)` returns for the given per-layer raw maps: each map relu'd,
/// normalised and resized (cv2.resize, bilinear) to 224×224; then relu, mean over the layers,
/// and normalised again.
fn library_output(raw_maps: &[Array2<f32>]) -> Array2<f32> {
    let mut sum = Array2::<f32>::zeros((SIZE, SIZE));
    for raw in raw_maps {
        let normalised = library_normalise(raw.mapv(|m| m.max(0.0)).view());
        sum += &cam::upsample_bilinear(normalised.view(), SIZE, SIZE).mapv_into(|m| m.max(0.0));
    }
    library_normalise((sum / raw_maps.len() as f32).view())
}

/// The largest `error(image, layer)` over both images and all five layers; each must be within 1e-3.
fn worst_over_fixtures(method: Method, error: impl Fn(&str, &str) -> f32) -> f32 {
    let mut worst = 0.0f32;
    for image in IMAGES {
        for layer in LAYERS {
            let error = error(image, layer);
            assert!(error <= 1e-3, "{image} {layer} {method}: error {error:e}");
            worst = worst.max(error);
        }
    }
    worst
}

#[test]
fn raw_maps_match_pytorch_grad_cam() {
    for (method, library_name) in METHODS {
        let worst = worst_over_fixtures(method, |image, layer| {
            let expected: Array2<f32> = fixture(&format!("{image}_{library_name}_{layer}_raw"));
            let scale = max(expected.view());
            assert!(scale > 0.0, "{image} {layer} {library_name}: the reference map is all zero");
            max_abs_diff(our_raw_map(method, image, layer).view(), expected.view()) / scale
        });
        println!("{method:>10}: raw maps, worst max|ours − library| / max(library) = {worst:.2e}");
    }
}

#[test]
fn single_layer_outputs_match_pytorch_grad_cam() {
    for (method, library_name) in METHODS {
        let worst = worst_over_fixtures(method, |image, layer| {
            let expected: Array2<f32> = fixture(&format!("{image}_{library_name}_{layer}_lib224"));
            let ours = library_output(&[our_raw_map(method, image, layer)]);
            max_abs_diff(ours.view(), expected.view())
        });
        println!("{method:>10}: 224×224 single-layer outputs, worst max|ours − library| = {worst:.2e}");
    }
}

#[test]
fn five_layer_layercam_matches_pytorch_grad_cam() {
    for image in IMAGES {
        let raw_maps: Vec<Array2<f32>> = LAYERS.iter().map(|layer| our_raw_map(Method::LayerCam, image, layer)).collect();
        let expected: Array2<f32> = fixture(&format!("{image}_LayerCAM_all5_lib224"));
        let error = max_abs_diff(library_output(&raw_maps).view(), expected.view());
        println!("{image}: 224×224 five-layer LayerCAM, max|ours − library| = {error:.2e}");
        assert!(error <= 1e-3, "{image}: five-layer output off by {error:e}");
    }
}
