//! layercam: where an image classifier looks, at every stage of the network.
//!
//! The modules follow the data:
//! [`model`] (load the ONNX file, its sidecar, preprocess the image) →
//! [`grad`] (differentiate the ONNX graph) → [`runtime`] (run forward and backward with tract) →
//! [`cam`] (the CAM maths on the CPU, the reference for every other backend) → [`gpu`] (the same
//! maths in WGSL) → [`display`] and [`report`] (pictures and files) → [`experiments`] (the paper's
//! tests of the maps) → `web` (the page, feature `page`; [`live`]: its camera mode's rules) and
//! `worker` (the page's Web Worker: a [`session`] in the browser).
//!
//! The `engine` feature (on by default) is everything that needs tract: the ONNX classifier, its
//! differentiation, the runs and the worker's session. The page's own wasm is built without it and
//! receives what it shows from the worker, so it downloads no inference engine; the worker is built
//! without `page` (Leptos).

pub mod bounds;
pub mod cam;
pub mod display;
pub mod error;
pub mod experiments;
pub mod explain;
pub mod float;
pub mod gpu;
#[cfg(feature = "engine")]
pub mod grad;
pub mod live;
pub mod model;
mod names;
pub mod protocol;
pub mod report;
#[cfg(feature = "engine")]
pub mod runtime;
#[cfg(feature = "engine")]
pub mod session;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
pub mod web;
#[cfg(all(target_arch = "wasm32", feature = "engine"))]
pub mod worker;

pub use error::{Error, Result};
