//! The page (wasm32, feature `page`), built with Leptos. It owns every picture; its Web Worker
//! ([`crate::worker`]) owns the model (see [`crate::protocol`]).
//!
//! The page is [`page`] (its state, the worker's answers, the layout) and one component per part,
//! each in its own file over the shared [`page::State`]: what to explain ([`photo`], [`live`] (the
//! camera), [`prediction`], [`methods`], [`compare`], [`layer_picker`], [`model_picker`]), the maps
//! ([`network`], [`grid`], [`score_cam`], [`legend`], [`enlarged`]), how to draw them ([`fusion_panel`], [`draw_controls`]), and
//! [`exports`], [`details`], [`teaching`]. The rest is plumbing: the worker ([`bridge`]),
//! files, fetches, canvases and downloads.

mod bridge;
mod canvas;
mod compare;
mod details;
mod download;
mod draw_controls;
mod enlarged;
mod exports;
mod fetch;
mod files;
mod fusion_panel;
mod grid;
mod header;
mod layer_picker;
mod legend;
mod live;
mod maths;
mod methods;
mod model_picker;
mod network;
mod occlusion_panel;
mod page;
mod panic;
mod photo;
mod picture;
mod prediction;
mod score_cam;
mod slider;
mod stages;
mod teaching;
mod timeline;
mod warm_up;

pub use page::start;
