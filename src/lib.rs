//! layercam: where an image classifier looks, at every stage of the network.
//!
//! The modules follow the data:
//! [`model`] (load the ONNX file, its sidecar, preprocess the image) →
//! [`grad`] (differentiate the ONNX graph) → [`runtime`] (run forward and backward with tract) →
//! [`cam`] (the CAM maths on the CPU, the reference for every other backend) → [`gpu`] (the same
//! maths in WGSL) → [`display`] and [`report`] (pictures and files) → [`experiments`] (the paper's
//! tests of the maps) → `web` (the page).

pub mod cam;
pub mod display;
pub mod error;
pub mod experiments;
pub mod explain;
pub mod gpu;
pub mod grad;
pub mod model;
mod names;
pub mod protocol;
pub mod report;
pub mod runtime;
pub mod session;
#[cfg(target_arch = "wasm32")]
pub mod web;

pub use error::{Error, Result};
