//! What the page's Web Worker does, run in Chromium by wasm-bindgen-test: read an ONNX classifier
//! from bytes with tract, differentiate and run it, and the CAM maths on a hand-made tensor.
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown --test web`
//! (scripts/test.sh).

use crate::common::net::*;
use layercam::cam;
use layercam::model::classifier::Classifier;
use layercam::model::layers::GradientFrom;
use ndarray::array;
use prost::Message;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn a_classifier_from_bytes_explains_in_the_browser() {
    // x [1, 2, 5, 5] → Conv 3×3 → Sigmoid → 3 logits: what the worker receives is the encoded file.
    // (Smooth on purpose: a Relu kink inside a finite difference's step would fail a right gradient.)
    let mut net = Net::new(&[1, 2, 5, 5]);
    let w = net.weight(&[3, 2, 3, 3]);
    let conv = net.node("Conv", &["x", &w], vec![ints("pads", &[1, 1, 1, 1])]);
    let sigmoid = net.node("Sigmoid", &[&conv], vec![]);
    let logits = net.logits_from(&sigmoid);
    let classifier = Classifier::from_bytes(&net.proto(&logits).encode_to_vec()).expect("a valid ONNX file");
    assert_eq!(classifier.classes, 3);

    // Forward and backward with tract in the browser, checked against finite differences.
    let x = input_avoiding(&[1, 2, 5, 5], &[], 0.0, 1.0);
    let worst = check_against_finite_differences(&classifier, &x, 1e-2);
    assert!(worst < 2e-3, "worst relative error {worst}");
}

#[wasm_bindgen_test]
fn garbage_bytes_are_refused_not_a_panic() {
    assert!(Classifier::from_bytes(b"not an onnx file").is_err());
}

#[wasm_bindgen_test]
fn layercam_on_a_hand_made_tensor() {
    // Two channels over 1×2: left 1·1 + 2·0 = 1, right 1·0 + 2·1 = 2 (negative gradients dropped).
    let activation = array![[[1.0, 1.0]], [[2.0, 2.0]]];
    let gradient = array![[[1.0, -1.0]], [[-0.5, 1.0]]];
    assert_eq!(cam::layercam(activation.view(), gradient.view(), cam::Reduce::Sum).unwrap(), array![[1.0, 2.0]]);
}

/// The page's conversation with its worker, in the browser: encoded requests into a `Session`,
/// encoded responses out, with the worker's clock (`performance.now()`, as std's clock panics here).
#[wasm_bindgen_test]
fn the_worker_session_answers_encoded_requests() {
    use layercam::protocol::{self, Request, Response};
    use layercam::session::Session;

    fn now() -> std::time::Duration {
        let ms = web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now());
        std::time::Duration::from_secs_f64(ms / 1e3)
    }
    let send = |session: &mut Session, request: &Request| -> Vec<Response> {
        let request = protocol::decode(&protocol::encode(request)).expect("requests decode");
        let responses = session.handle(request, now);
        responses.iter().map(|r| protocol::decode(&protocol::encode(r)).expect("responses decode")).collect()
    };

    // A tiny classifier over a 1×3×8×8 "photo": Conv → Relu → 3 logits.
    let mut net = Net::new(&[1, 3, 8, 8]);
    let w = net.weight(&[4, 3, 3, 3]);
    let conv = net.node("Conv", &["x", &w], vec![ints("pads", &[1, 1, 1, 1])]);
    let relu = net.node("Relu", &[&conv], vec![]);
    let logits = net.logits_from(&relu);
    let onnx = net.proto(&logits).encode_to_vec();
    let mut session = Session::default();
    let load = Request::LoadModel { name: "tiny.onnx".into(), onnx, sidecar: None, labels: None, recipe: None };
    let ready = send(&mut session, &load);
    let [Response::ModelReady(info)] = ready.as_slice() else { panic!("{ready:?}") };
    assert_eq!((info.classes, info.labels[2].as_str()), (3, "class 2"));

    // A 16×16 PNG made here, explained: the prediction, then one raw map per method and layer
    // (Score-CAM's empty until its passes have run).
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_fn(16, 16, |x, y| image::Rgb([(x * 16) as u8, (y * 16) as u8, 128]))
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let (methods, smoothing) = (cam::Method::ALL.to_vec(), cam::Smoothing::default());
    let explain = Request::Explain { image: png.into_inner(), class: Some(1), methods: methods.clone(), smoothing };
    let explained = send(&mut session, &explain);
    let [Response::Prediction { top, seen, .. }, Response::Maps(maps)] = explained.as_slice() else { panic!("{explained:?}") };
    assert_eq!(top.len(), 3);
    assert_eq!((seen.width, seen.height), (8, 8));
    assert_eq!(maps.class, 1);
    assert!(maps.maps.iter().all(|layer| layer.len() == methods.len()));
    assert!(!maps.has(0, cam::Method::ScoreCam) && maps.has(0, cam::Method::EigenCam));

    // Score-CAM's four masked passes in two chunks: progress, then its map.
    let chunk = |passes| Request::ScoreCam { layer: 0, passes, class: 1, methods: methods.clone(), smoothing };
    let half = send(&mut session, &chunk((0, 2)));
    assert!(matches!(half.as_slice(), [Response::ScoreProgress(p)] if (p.done, p.total) == (2, 4)), "{half:?}");
    let done = send(&mut session, &chunk((2, 4)));
    assert!(matches!(done.as_slice(), [Response::Maps(maps)] if maps.has(0, cam::Method::ScoreCam)), "{done:?}");

    // Garbage is answered with a message, not a dead worker.
    let refused = send(&mut session, &Request::Explain { image: b"garbage".to_vec(), class: None, methods, smoothing });
    assert!(matches!(refused.as_slice(), [Response::Failed { message, .. }] if message.contains("cannot be decoded")));
}

/// Where the engine spends its time in the browser, per tract operator, on the bundled model and
/// chelsea: the same profile as `layercam bench` prints natively, to compare op by op (diagnostic).
#[wasm_bindgen_test]
fn the_engine_profiled_in_the_browser() {
    use layercam::model::{Model, preprocess};
    use layercam::runtime::Explainer;

    fn now() -> std::time::Duration {
        let ms = web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now());
        std::time::Duration::from_secs_f64(ms / 1e3)
    }
    let model = Model::from_parts("efficientnet_lite0.onnx", include_bytes!("../../models/efficientnet_lite0.onnx"), None, None)
        .expect("the bundled model");
    let explainer = Explainer::new(&model.classifier, &model.resolve_layers(&[], GradientFrom::Layer)).expect("planned");
    let photo = preprocess::decode_photo(include_bytes!("../../samples/chelsea.png")).expect("the sample");
    let input = preprocess::preprocess(&photo, preprocess::Recipe::EfficientNetLite, 224, 224).input;
    for classes in [1, 5] {
        let profile = explainer.profile(input.view(), classes, now).expect("profiled");
        for (name, ops) in [("forward", &profile.forward), ("backward", &profile.backward)] {
            let total: f64 = ops.iter().map(|o| o.ms).sum();
            let top: Vec<String> = ops.iter().take(6).map(|o| format!("{} {:.1} ({}×)", o.op, o.ms, o.nodes)).collect();
            wasm_bindgen_test::console_log!("browser profile, {name}, {classes} class(es): {total:.1} ms: {}", top.join(", "));
            assert!(!ops.is_empty() && total > 0.0, "{name} ran no node");
        }
    }
}
