//! The browser side (wasm32 only): the page, built with Leptos, and the Web Worker that runs the
//! network. The page owns every picture; the worker owns the model (see [`crate::protocol`]).

mod bridge;
mod canvas;
mod download;
mod fetch;
mod maths;
mod page;
mod panic;
pub mod worker;

pub use page::start;
