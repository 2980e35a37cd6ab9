//! The tests that run in Chromium (wasm-bindgen-test), in one wasm binary:
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --test web`
//! (scripts/test.sh, with web/tests/webdriver.json turning WebGPU on). Natively it is empty.
#![cfg(target_arch = "wasm32")]

#[path = "../common/mod.rs"]
mod common;
mod web_gpu;
mod web_worker_protocol;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
