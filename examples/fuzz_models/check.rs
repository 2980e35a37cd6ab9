//! What the page does with a dropped model file, natively: the worker's session loads it (parse,
//! shape inference, automatic layers, differentiation, planning) and explains a photo with it.
//! Shared by the fuzzer (examples/fuzz_models) and the CI's run over its saved corpus
//! (tests/integration/fuzz_corpus.rs).

use std::time::{Duration, Instant};

use layercam::cam::{Method, Smoothing};
use layercam::protocol::{Request, Response};
use layercam::session::Session;

fn now() -> Duration {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// How the session answered a model, in one line: `explained …`, or the message it refused with.
/// Panics (and aborts, hangs, memory blow-ups) are what the fuzzer looks for.
pub fn load_and_explain(onnx: Vec<u8>, photo: &[u8]) -> String {
    let mut session = Session::default();
    let load = Request::LoadModel { name: "fuzzed.onnx".into(), onnx, sidecar: None, labels: None, recipe: None };
    if let Some(refusal) = failure(&session.handle(load, now)) {
        return format!("refused: {refusal}");
    }
    let (methods, smoothing) = (Method::PAPER.to_vec(), Smoothing::default());
    let responses = session.handle(Request::Explain { image: photo.to_vec(), class: None, methods, smoothing }, now);
    match failure(&responses) {
        Some(refusal) => format!("loaded, explain refused: {refusal}"),
        None => format!("explained ({} responses)", responses.len()),
    }
}

fn failure(responses: &[Response]) -> Option<String> {
    responses.iter().find_map(|r| match r {
        Response::Failed { message, .. } => Some(message.clone()),
        _ => None,
    })
}

/// The photo every fuzzed model explains.
pub fn photo() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/chelsea.png")).expect("samples/chelsea.png")
}
