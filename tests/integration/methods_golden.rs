//! The methods beyond the paper's four on the model zoo (tests/fixtures/zoo), against
//! pytorch-grad-cam 1.5.7's own definitions in float64 (scripts/make_method_fixtures.py: the
//! library's `get_cam_image` and projections over torch autograd's tensors of the same ONNX graph):
//! HiResCAM, element-wise Grad-CAM, XGradCAM, EigenCAM, EigenGradCAM and Score-CAM at every
//! automatic layer of all 23 fixtures, and on two of them every method under eigen_smooth and
//! aug_smooth. A map is right when its max error ≤ max(3e-2, 10 × torch float32's own error) of its
//! max and its median error ≤ max(1e-3, 10 × torch float32's own median). HiResCAM (and
//! LayerCAM-normal, its formula) adds signed terms that cancel, which makes it chaotic: there the
//! noise is torch float32's worst error over the input and three copies moved by ±1e-6, and twice
//! it is allowed. Run with `--nocapture` for the figures.

use std::collections::HashMap;
use std::path::Path;

use crate::common::zoo::{assert_every_fixture, errors};

use layercam::cam::{Method, Smoothing};
use layercam::explain::{Run, runs, runs_raw_maps};
use layercam::model::classifier::Classifier;
use layercam::model::layers::{GradientFrom, auto_layers};
use layercam::runtime::Explainer;
use ndarray::{Array2, Array4};
use ndarray_npy::read_npy;

const METHODS: [Method; 6] =
    [Method::HiResCam, Method::GradCamElementWise, Method::XGradCam, Method::EigenCam, Method::EigenGradCam, Method::ScoreCam];

/// Per layer: what torch float32 misses of the float64 map, at the input and at its worst over
/// three inputs moved by ±1e-6 (as fractions of the map's max; the latter 0 for Score-CAM).
#[derive(serde::Deserialize)]
struct Noise {
    torch_float32_max_error: Vec<f64>,
    torch_float32_median_error: Vec<f64>,
    nudged_max_error: Vec<f64>,
    nudged_median_error: Vec<f64>,
}

#[derive(serde::Deserialize)]
struct Reference {
    class: usize,
    layers: Vec<String>,
    plain: HashMap<String, Noise>,
    #[serde(rename = "eigen-smooth")]
    eigen_smooth: Option<HashMap<String, Noise>>,
    #[serde(rename = "aug-smooth")]
    aug_smooth: Option<HashMap<String, Noise>>,
    /// Of the fixture's EigenCAM and EigenGradCAM projections, how many the library's own classes
    /// (no sign correction) negate.
    library_eigen_sign_flips: [usize; 2],
}

/// Compares `ours[layer][method]` with the fixture's float64 maps of `kind` ("" for plain);
/// returns what is wrong.
fn compare(
    name: &str,
    dir: &Path,
    kind: &str,
    methods: &[Method],
    ours: &[Vec<Array2<f32>>],
    noise: &HashMap<String, Noise>,
) -> Vec<String> {
    let mut wrong = vec![];
    for (m, method) in methods.iter().enumerate() {
        let noise = &noise[method.name()];
        for (i, per_method) in ours.iter().enumerate() {
            let exact: Array2<f64> = read_npy(dir.join("float64").join(kind).join(method.name()).join(format!("{i}.npy"))).unwrap();
            let (max, median) = errors(per_method[m].view(), exact.view());
            let (limit, median_limit) = if chaotic(*method) {
                let worst = noise.torch_float32_max_error[i].max(noise.nudged_max_error[i]);
                let worst_median = noise.torch_float32_median_error[i].max(noise.nudged_median_error[i]);
                (f64::max(3e-2, 2.0 * worst), f64::max(1e-3, 2.0 * worst_median))
            } else {
                (f64::max(3e-2, 10.0 * noise.torch_float32_max_error[i]), f64::max(1e-3, 10.0 * noise.torch_float32_median_error[i]))
            };
            let ok = max <= limit && median <= median_limit;
            println!(
                "  {:<12} {:<20} layer {i} {:?}: max {max:.1e} (limit {limit:.0e}; torch f32 {:.1e}, moved ±1e-6 {:.1e}) median {median:.1e} (limit {median_limit:.0e}) {}",
                if kind.is_empty() { "plain" } else { kind },
                method.name(),
                exact.shape(),
                noise.torch_float32_max_error[i],
                noise.nudged_max_error[i],
                if ok { "ok" } else { "WRONG" }
            );
            if !ok {
                wrong.push(format!(
                    "{name} {kind} {method} layer {i}: max {max:.2e} (limit {limit:.0e}), median {median:.2e} (limit {median_limit:.0e})"
                ));
            }
        }
    }
    wrong
}

/// Signed sums that cancel: HiResCAM's Σ_k g_k·A_k.
fn chaotic(method: Method) -> bool {
    matches!(method, Method::HiResCam | Method::LayerCamNormal)
}

/// The runs of `smoothing` with Score-CAM's passes of every layer.
fn scored_runs(explainer: &Explainer, input: &Array4<f32>, class: usize, smoothing: Smoothing) -> Vec<Run> {
    let forward = explainer.forward(input.view()).unwrap();
    let mut runs = runs(explainer, input.clone(), forward, &[class], smoothing).unwrap();
    runs.iter_mut().for_each(|run| run.score_every_layer(explainer).unwrap());
    runs
}

fn check(dir: &Path) -> Vec<String> {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let reference: Reference = serde_json::from_str(&std::fs::read_to_string(dir.join("methods.json")).unwrap()).unwrap();
    let model = Classifier::from_file(&dir.join("model.onnx")).unwrap_or_else(|e| panic!("{name}: {e}"));
    let layers = auto_layers(&model, GradientFrom::Layer);
    assert_eq!(layers, reference.layers, "{name}: automatic layers");
    let explainer = Explainer::new(&model, &layers).unwrap_or_else(|e| panic!("{name}: {e}"));
    let input: Array4<f32> = read_npy(dir.with_file_name("input.npy")).unwrap();
    let [flips, projections] = reference.library_eigen_sign_flips;
    println!("{name} (class {}): the library's own EigenCAM classes negate {flips} of {projections} projections", reference.class);

    let plain = scored_runs(&explainer, &input, reference.class, Smoothing::default());
    let ours = runs_raw_maps(&layers, &plain, (0, reference.class), &METHODS, Smoothing::default()).unwrap();
    let mut wrong = compare(&name, dir, "", &METHODS, &ours, &reference.plain);
    // The paper's LayerCAM-normal ablation is HiResCAM's formula: the same maps.
    let normal = runs_raw_maps(&layers, &plain, (0, reference.class), &[Method::LayerCamNormal], Smoothing::default()).unwrap();
    assert!(normal.iter().zip(&ours).all(|(n, o)| n[0] == o[0]), "{name}: LayerCAM-normal differs from HiResCAM");

    if let Some(noise) = &reference.eigen_smooth {
        let methods: Vec<Method> = noise.keys().map(|m| m.parse().unwrap()).collect();
        let smoothing = Smoothing { eigen: true, aug: false };
        let ours = runs_raw_maps(&layers, &plain, (0, reference.class), &methods, smoothing).unwrap();
        wrong.extend(compare(&name, dir, "eigen-smooth", &methods, &ours, noise));
    }
    if let Some(noise) = &reference.aug_smooth {
        let methods: Vec<Method> = noise.keys().map(|m| m.parse().unwrap()).collect();
        let smoothing = Smoothing { eigen: false, aug: true };
        let augmented = scored_runs(&explainer, &input, reference.class, smoothing);
        let ours = runs_raw_maps(&layers, &augmented, (0, reference.class), &methods, smoothing).unwrap();
        wrong.extend(compare(&name, dir, "aug-smooth", &methods, &ours, noise));
    }
    wrong
}

#[test]
fn every_method_equals_pytorch_grad_cams_definition_on_the_zoo() {
    assert_every_fixture(check);
}
