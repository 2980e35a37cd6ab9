//! The page's Web Worker (Trunk builds it to wasm and a loader, `worker_loader.js`): it runs the
//! network; `layercam::worker` holds it.

#[cfg(target_arch = "wasm32")]
fn main() {
    layercam::worker::start();
}

// `cargo build` and `cargo test --all-targets` build every bin natively too.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("worker is the page's Web Worker: build it with `bash scripts/build-web.sh`");
    std::process::exit(2);
}
