//! Helpers shared by the integration tests: fixture paths and the default model.
#![allow(dead_code)] // each test binary uses its own subset

pub mod gpu;
pub mod net;
pub mod zoo;

use std::path::PathBuf;

use layercam::model::classifier::Classifier;
use ndarray::{ArrayD, Dimension};

pub const IMAGES: [&str; 2] = ["chelsea", "coffee"];
pub const LAYERS: [&str; 5] = ["blocks.0", "blocks.2", "blocks.4", "blocks.10", "head_act"];
/// The reference's top-1 class per image: tiger cat, espresso.
pub const TOP1: [usize; 2] = [282, 967];

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn reference(file: &str) -> PathBuf {
    root().join("tests/fixtures/reference").join(file)
}

pub fn read<D: Dimension>(file: &str) -> ndarray::Array<f32, D> {
    let array: ArrayD<f32> = ndarray_npy::read_npy(reference(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    array.into_dimensionality().expect("fixture rank")
}

pub fn default_model_path() -> PathBuf {
    root().join("models/efficientnet_lite0.onnx")
}

pub fn default_model() -> Classifier {
    Classifier::from_bytes(&std::fs::read(default_model_path()).unwrap()).unwrap()
}

/// The ONNX tensor name of a reference layer key.
pub fn onnx_layer(key: &str) -> String {
    format!("{key}_out")
}

/// max |a − b| / max |b|.
pub fn relative_error<D: Dimension>(a: &ndarray::Array<f32, D>, b: &ndarray::Array<f32, D>) -> f32 {
    assert_eq!(a.shape(), b.shape());
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
    let worst = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    worst / scale
}
