//! The architectures people bring, from both torch exporters (tests/fixtures/zoo, made by
//! scripts/make_zoo_fixtures.py: narrow variants of torchvision's models, 64² input), against torch
//! autograd in float64. Per fixture: the automatic layers are those the reference was made for, the
//! logits match, and every layer's LayerCAM, Grad-CAM and Grad-CAM++ map is right by the brief's
//! rule — max error ≤ max(3e-2, 10 × torch float32's own error) of the map's max, median error ≤
//! max(1e-3, 10 × torch float32's own median) (torch float32 itself misses 1e-3 in the median of some
//! full-size Grad-CAM maps; see scripts/torch_reference.py). Run with `--nocapture` for the figures.

use std::path::Path;

use crate::common::zoo::{assert_every_fixture, errors, fixtures};

use layercam::cam::{self, LayerTensors, Method, Reduce, Smoothing};
use layercam::model::classifier::Classifier;
use layercam::model::layers::{GradientFrom, auto_layers};
use layercam::protocol::{Request, Response};
use layercam::runtime::Explainer;
use layercam::session::Session;
use ndarray::{Array2, Array4, Axis};
use ndarray_npy::read_npy;

const METHODS: [Method; 3] = [Method::LayerCam, Method::GradCam, Method::GradCamPlusPlus];

#[derive(serde::Deserialize)]
struct Reference {
    class: usize,
    layers: Vec<String>,
    logits: Vec<f64>,
    /// Per method name, per layer: max |torch float32 − float64| / max |float64|.
    torch_float32_max_error: std::collections::HashMap<String, Vec<f64>>,
    /// The same, the median over the map's pixels.
    torch_float32_median_error: std::collections::HashMap<String, Vec<f64>>,
}

/// Checks one fixture; returns what is wrong with it (nothing when it passes).
fn check(dir: &Path) -> Vec<String> {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let reference: Reference = serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap()).unwrap();
    let model = Classifier::from_file(&dir.join("model.onnx")).unwrap_or_else(|e| panic!("{name}: {e}"));
    let layers = auto_layers(&model, GradientFrom::Layer);
    if layers != reference.layers {
        return vec![format!("{name}: automatic layers {layers:?}, the reference's {:?}", reference.layers)];
    }
    let explainer = Explainer::new(&model, &layers).unwrap_or_else(|e| panic!("{name}: {e}"));
    let input: Array4<f32> = read_npy(dir.with_file_name("input.npy")).unwrap();
    let forward = explainer.forward(input.view()).unwrap();
    let logit_error = forward.logits.iter().zip(&reference.logits).fold(0f64, |m, (&a, &b)| m.max((a as f64 - b).abs()));
    let mut wrong = vec![];
    if logit_error > 1e-4 {
        wrong.push(format!("{name}: logits differ from float64 by {logit_error:.1e}"));
    }
    let gradients = explainer.backward(&forward, &[reference.class]).unwrap();
    // The seed batch: two classes from one backward (one run per class where the graph moves the
    // batch axis) give each class's own gradients.
    let other = (reference.class + 1) % explainer.classes;
    let batch = explainer.backward(&forward, &[other, reference.class]).unwrap();
    let batch_error = gradients.iter().zip(&batch).fold(0f32, |m, (g, b)| {
        let scale = g.iter().fold(1e-30f32, |m, v| m.max(v.abs()));
        m.max((&b.index_axis(Axis(0), 1) - &g.index_axis(Axis(0), 0)).iter().fold(0f32, |m, d| m.max(d.abs() / scale)))
    });
    if batch_error > 1e-5 {
        wrong.push(format!("{name}: the seed batch's gradients differ from one class's by {batch_error:.1e}"));
    }
    println!("{name}: max |logit − float64| {logit_error:.1e}; seed batch of 2 against 1 class {batch_error:.1e}");
    for method in METHODS {
        for (i, (activation, gradient)) in forward.activations().into_iter().zip(&gradients).enumerate() {
            let ours = cam::raw_map(method, LayerTensors::new(activation, gradient.index_axis(Axis(0), 0)), Reduce::Sum).unwrap();
            let exact: Array2<f64> = read_npy(dir.join(format!("float64/{}/{i}.npy", method.name()))).unwrap();
            let (max, median) = errors(ours.view(), exact.view());
            let limit = f64::max(3e-2, 10.0 * reference.torch_float32_max_error[method.name()][i]);
            let median_limit = f64::max(1e-3, 10.0 * reference.torch_float32_median_error[method.name()][i]);
            let verdict = if max <= limit && median <= median_limit { "ok" } else { "WRONG" };
            println!(
                "  {:<10} {:<44} max {max:.1e} (limit {limit:.0e}) median {median:.1e} (limit {median_limit:.0e}) {verdict}",
                method.name(),
                tail(&layers[i])
            );
            if verdict != "ok" {
                wrong.push(format!(
                    "{name} {} {}: max error {max:.2e} (limit {limit:.0e}), median {median:.2e} (limit {median_limit:.0e})",
                    method.name(),
                    layers[i]
                ));
            }
        }
    }
    wrong
}

fn tail(name: &str) -> &str {
    &name[name.char_indices().rev().nth(43).map_or(0, |(i, _)| i)..]
}

#[test]
fn every_fixture_model_gives_torchs_float64_maps() {
    assert_every_fixture(check);
}

/// What the page does with each fixture dropped on it: its worker's session loads the file (no
/// sidecar, no labels), offers the same automatic layers, and explains a photo with a finite map
/// per layer and method of the layer's size, at least one of each layer's maps not all zero.
#[test]
fn the_pages_session_explains_every_fixture() {
    let photo = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/chelsea.png")).unwrap();
    let now = || std::time::Duration::ZERO;
    for dir in fixtures() {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let reference: Reference = serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap()).unwrap();
        let mut session = Session::default();
        let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
        let ready = session.handle(Request::LoadModel { name: name.clone(), onnx, sidecar: None, labels: None, recipe: None }, now);
        let [Response::ModelReady(info)] = ready.as_slice() else { panic!("{name}: {ready:?}") };
        let offered: Vec<&str> = info.layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(offered, reference.layers, "{name}");
        let methods = Method::PAPER.to_vec();
        let responses =
            session.handle(Request::Explain { image: photo.clone(), class: None, methods, smoothing: Smoothing::default() }, now);
        let Some(Response::Maps(maps)) = responses.iter().find(|r| matches!(r, Response::Maps(_))) else { panic!("{name}: {responses:?}") };
        assert_eq!(maps.maps.len(), reference.layers.len(), "{name}");
        for (layer, per_method) in maps.layers.iter().zip(&maps.maps) {
            for map in per_method {
                assert_eq!(map.len(), layer.shape[1] * layer.shape[2], "{name} {}", layer.name);
                assert!(map.iter().all(|v| v.is_finite()), "{name} {}", layer.name);
            }
            assert!(per_method.iter().any(|m| m.iter().any(|&v| v > 0.0)), "{name} {}: every map is zero", layer.name);
        }
        println!("{name}: the page's session explains it ({} layers, class {})", maps.layers.len(), maps.class);
    }
}
