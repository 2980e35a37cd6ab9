//! The classifier and what it expects: the ONNX file, its sidecar, labels and preprocessing.

pub mod classifier;
pub mod labels;
pub mod layers;
pub mod preprocess;
pub mod sidecar;
