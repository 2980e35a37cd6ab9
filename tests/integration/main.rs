//! Every native integration test, in one binary: tract and wgpu are linked once, not once per file.
//! One module per subject (one per op family for the autodiff rules, one per kernel family for the
//! GPU); `cargo test --test integration grad_conv` runs one of them.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../common/mod.rs"]
mod common;

mod bad_model_input;
mod cam_golden;
mod cam_maths;
mod cli;
mod dense;
mod depthwise;
mod display;
mod eval;
mod experiments;
mod fusion;
mod fuzz_corpus;
mod gpu_colormap;
mod gpu_fusion;
mod gpu_raw_map;
mod grad_activation;
mod grad_conv;
mod grad_elementwise;
mod grad_graph;
mod grad_linear;
mod grad_pool;
mod grad_resize;
mod grad_shape;
mod gradients_golden;
mod grid_artefact;
mod live;
mod methods_golden;
mod model_zoo;
mod occlusion;
mod pointwise;
mod preprocess;
mod road;
mod session;
mod tokens;
