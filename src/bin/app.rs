//! The page (Trunk builds it to wasm from index.html): `layercam::web` holds it.

#[cfg(target_arch = "wasm32")]
fn main() {
    layercam::web::start();
}

// Natively there is no page to run (`cargo build --features page` builds this).
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("app is the web page: build it with `bash scripts/build-web.sh` or `bash scripts/serve.sh`");
    std::process::exit(2);
}
