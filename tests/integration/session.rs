//! The worker protocol, natively: the same `Session` the page's Web Worker runs, fed with
//! encoded requests and answering encoded responses.

use std::time::{Duration, Instant};

use crate::common::*;
use layercam::cam::{Method, Smoothing};
use layercam::model::layers::GradientFrom;
use layercam::protocol::{self, Request, Response};
use layercam::session::Session;

fn now() -> Duration {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// Sends a request through the wire format, as the page does.
fn send(session: &mut Session, request: Request) -> Vec<Response> {
    let request: Request = protocol::decode(&protocol::encode(&request)).unwrap();
    session.handle(request, now).iter().map(|r| protocol::decode(&protocol::encode(r)).unwrap()).collect()
}

fn load_default(session: &mut Session) -> Vec<Response> {
    let read = |p: &str| std::fs::read(root().join(p)).unwrap();
    send(
        session,
        Request::LoadModel {
            name: "efficientnet_lite0.onnx".into(),
            onnx: read("models/efficientnet_lite0.onnx"),
            sidecar: Some(String::from_utf8(read("models/efficientnet_lite0.json")).unwrap()),
            labels: Some(String::from_utf8(read("models/imagenet_classes.txt")).unwrap()),
            recipe: None,
        },
    )
}

/// The page's default request for a photo: the paper's four methods, no smoothing.
fn explain(image: Vec<u8>) -> Request {
    Request::Explain { image, class: None, methods: Method::PAPER.to_vec(), smoothing: Smoothing::default() }
}

fn maps_of(class: usize) -> Request {
    Request::Maps { class, methods: Method::PAPER.to_vec(), smoothing: Smoothing::default() }
}

/// The maps that end `responses`.
fn last_maps(responses: Vec<Response>) -> layercam::protocol::ClassRawMaps {
    match responses.into_iter().last() {
        Some(Response::Maps(maps)) => maps,
        other => panic!("expected maps, got {other:?}"),
    }
}

fn failure(responses: &[Response]) -> String {
    match responses {
        [Response::Failed { message, .. }] => message.clone(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn load_explain_retarget() {
    let mut session = Session::default();
    let ready = load_default(&mut session);
    let [Response::ModelReady(info)] = ready.as_slice() else { panic!("model ready") };
    assert_eq!((info.classes, info.labels[282].as_str()), (1000, "tiger cat"));
    assert_eq!(info.layers.len(), 5);
    assert_eq!(info.candidates.iter().filter(|c| c.auto).count(), 5);

    let image = std::fs::read(root().join("samples/chelsea.png")).unwrap();
    let responses = send(&mut session, explain(image));
    let [Response::Prediction { top, seen, spans }, Response::Maps(maps)] = responses.as_slice() else { panic!("{responses:?}") };
    assert_eq!(top[0].label, "tiger cat");
    // The photo's backward comes with its forward; its maps need no other.
    let steps: Vec<&str> = spans.iter().chain(&maps.spans).map(|s| s.what.as_str()).collect();
    assert_eq!(steps, ["decode the photo", "preprocess", "forward", "backward", "raw maps"]);
    assert_eq!((seen.width, seen.height, seen.rgb.len()), (224, 224, 224 * 224 * 3));
    assert_eq!(maps.class, 282);
    for (layer, per_method) in maps.layers.iter().zip(&maps.maps) {
        assert_eq!(per_method.len(), 4);
        assert!(per_method.iter().all(|m| m.len() == layer.shape[1] * layer.shape[2]));
    }

    let retargeted = send(&mut session, maps_of(285));
    let [Response::Maps(other)] = retargeted.as_slice() else { panic!("maps") };
    assert_eq!(other.class, 285);
    assert_eq!(other.spans.iter().map(|s| s.what.as_str()).collect::<Vec<_>>(), ["backward", "raw maps"]);
    assert_ne!(other.maps, maps.maps, "another class, other maps");
}

/// The page asks for the methods it shows: other methods and smoothings reuse the image's runs;
/// Score-CAM's passes come in chunks with their progress, and its map with the last chunk.
#[test]
fn other_methods_smoothings_and_score_cams_chunks() {
    let mut session = Session::default();
    load_default(&mut session);
    let image = std::fs::read(root().join("samples/chelsea.png")).unwrap();
    let methods = vec![Method::HiResCam, Method::EigenCam, Method::ScoreCam];
    let ask = |smoothing| Request::Maps { class: 282, methods: methods.clone(), smoothing };
    let first = last_maps(send(&mut session, explain(image)));
    assert_eq!(first.methods, Method::PAPER);
    let plain = last_maps(send(&mut session, ask(Smoothing::default())));
    assert_eq!(plain.methods, methods);
    // Score-CAM's map waits for its passes: one per channel: 32 on the shallowest layer.
    assert!((0..5).all(|l| plain.has(l, Method::HiResCam) && plain.has(l, Method::EigenCam) && !plain.has(l, Method::ScoreCam)));
    let passes: Vec<usize> = plain.score_passes.iter().map(|p| p.total).collect();
    assert_eq!(passes, [32, 144, 240, 672, 1280]);

    let chunk = |passes, smoothing| Request::ScoreCam { layer: 0, passes, class: 282, methods: methods.clone(), smoothing };
    let out_of_order = failure(&send(&mut session, chunk((16, 32), Smoothing::default())));
    assert_eq!(out_of_order, "invalid input: Score-CAM passes 16..32 asked for; 0 of 32 are done");
    let half = send(&mut session, chunk((0, 16), Smoothing::default()));
    let [Response::ScoreProgress(progress)] = half.as_slice() else { panic!("{half:?}") };
    assert_eq!((progress.done, progress.total), (16, 32));
    assert!(progress.ms_per_pass > 0.0);
    let done = send(&mut session, chunk((16, 32), Smoothing::default()));
    let [Response::Maps(scored)] = done.as_slice() else { panic!("{done:?}") };
    assert!(scored.has(0, Method::ScoreCam) && !scored.has(1, Method::ScoreCam));
    let score_map = &scored.maps[0][2];
    assert!(score_map.iter().all(|v| v.is_finite() && *v >= 0.0) && score_map.iter().any(|&v| v > 0.0));

    // aug_smooth: six runs; the image's own passes are kept, the augmentations' are still to do.
    let aug = Smoothing { aug: true, eigen: false };
    let smoothed = last_maps(send(&mut session, ask(aug)));
    assert_eq!((smoothed.score_passes[0].done, smoothed.score_passes[0].total), (32, 192));
    assert!(!smoothed.has(0, Method::ScoreCam));
    let next = send(&mut session, chunk((32, 40), aug));
    assert!(matches!(next.as_slice(), [Response::ScoreProgress(p)] if (p.done, p.total) == (40, 192)), "{next:?}");
    // A mean of six maps scaled to [0, 1): each reaches ≈ 1 somewhere, so the mean reaches ⅙ at least.
    let max = smoothed.maps[0][0].iter().copied().fold(0f32, f32::max);
    assert!((1.0 / 6.0..1.0).contains(&max), "aug_smooth's mean of min-max scaled maps: max {max}");
    assert_ne!(smoothed.maps[0][0], plain.maps[0][0]);
    // Back without it: the same maps as before, the image's own passes still there.
    let again = last_maps(send(&mut session, ask(Smoothing::default())));
    assert_eq!(again.maps[0][..2], plain.maps[0][..2]);
    assert!(again.has(0, Method::ScoreCam));
}

#[test]
fn a_bad_model_is_refused_and_the_previous_one_stays() {
    let mut session = Session::default();
    load_default(&mut session);
    let message = failure(&send(
        &mut session,
        Request::LoadModel { name: "notes.onnx".into(), onnx: b"not a model".to_vec(), sidecar: None, labels: None, recipe: None },
    ));
    assert!(message.starts_with("not an ONNX model"), "{message}");
    let image = std::fs::read(root().join("samples/coffee.png")).unwrap();
    let responses = send(&mut session, explain(image));
    assert!(matches!(&responses[0], Response::Prediction { top, .. } if top[0].label == "espresso"));
}

#[test]
fn bad_images_and_requests_out_of_order_say_what_is_wrong() {
    let mut session = Session::default();
    let message = failure(&send(&mut session, maps_of(3)));
    assert_eq!(message, "invalid input: no model is loaded yet");
    load_default(&mut session);
    let message = failure(&send(&mut session, explain(b"\x89PNG broken".to_vec())));
    assert!(message.starts_with("the image cannot be decoded"), "{message}");
    let message = failure(&send(&mut session, maps_of(3)));
    assert_eq!(message, "invalid input: no image has been explained yet");
    let message = failure(&send(&mut session, Request::SetLayers { layers: vec!["nope".into()], gradient_from: GradientFrom::Layer }));
    assert!(message.starts_with("unknown layer `nope`"), "{message}");
}

#[test]
fn other_layers_replan_the_model() {
    let mut session = Session::default();
    load_default(&mut session);
    let layers = vec!["blocks.2_out".to_string(), "head_act_out".to_string()];
    let ready = send(&mut session, Request::SetLayers { layers, gradient_from: GradientFrom::Layer });
    let [Response::ModelReady(info)] = ready.as_slice() else { panic!("ready") };
    assert_eq!(info.layers.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), ["blocks.2_out", "head_act_out"]);
    // No layers: the automatic choice for the gradient asked for; with the authors' fix, the
    // tensors that feed each strided depthwise convolution.
    let fixed = send(&mut session, Request::SetLayers { layers: vec![], gradient_from: GradientFrom::Next });
    let [Response::ModelReady(info)] = fixed.as_slice() else { panic!("ready") };
    let names: Vec<&str> = info.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["hardtanh_2", "hardtanh_6", "hardtanh_10", "hardtanh_22", "head_act_out"]);
    assert_eq!(info.gradient_from, GradientFrom::Next);
    let marked: Vec<&str> = info.candidates.iter().filter(|c| c.auto).map(|c| c.name.as_str()).collect();
    assert_eq!(marked, names, "the list marks the automatic choice for this gradient");
}

#[test]
fn the_occlusion_test_hides_each_maps_strongest_region_and_classifies_again() {
    use layercam::cam::Fusion;
    use layercam::experiments::occlusion::Region;
    let mut session = Session::default();
    let ready = load_default(&mut session);
    let [Response::ModelReady(info)] = ready.as_slice() else { panic!("model ready") };
    let occlude = |fusion: Fusion| Request::Occlude { class: 282, methods: vec![Method::LayerCam, Method::GradCam], fusion, gamma: 2.0 };
    let paper = Fusion::paper(&layercam::model::layers::strides(&info.layers, info.input_size));
    assert_eq!(failure(&send(&mut session, occlude(paper.clone()))), "invalid input: no image has been explained yet");

    let image = std::fs::read(root().join("samples/chelsea.png")).unwrap();
    send(&mut session, explain(image));
    let responses = send(&mut session, occlude(paper.clone()));
    let [Response::Occlusion(report)] = responses.as_slice() else { panic!("{responses:?}") };
    assert_eq!(report.class, 282);
    let order: Vec<(Method, Region)> = report.trials.iter().map(|(t, _)| (t.method, t.region)).collect();
    assert_eq!(
        order,
        [
            (Method::LayerCam, Region::Deepest),
            (Method::LayerCam, Region::Fused),
            (Method::GradCam, Region::Deepest),
            (Method::GradCam, Region::Fused),
        ]
    );
    for (trial, picture) in &report.trials {
        println!(
            "{:?} {:?}: {:.1} % hidden, p(tiger cat) {:.3} → {:.3}, top-1 now {}",
            trial.method,
            trial.region,
            trial.hidden * 100.0,
            report.prob,
            trial.prob,
            trial.top[0].label
        );
        assert!(trial.hidden > 0.0 && trial.hidden < 1.0, "some of the photo is hidden, not all");
        assert_eq!((picture.width, picture.height), (224, 224));
        // The hidden pixels are the preprocessing's mean colour: EfficientNet-Lite's 127 grey.
        assert!(picture.rgb.chunks(3).filter(|p| p == &[127, 127, 127]).count() as f32 >= trial.hidden * 224.0 * 224.0 * 0.99);
    }
    // Each trial is a new classification, and a map's region is what it hides: Grad-CAM's fused map
    // (its shallow stages lit up everywhere) hides far more of the photo than LayerCAM's.
    assert!(report.trials.iter().all(|(t, _)| t.prob != report.prob));
    let hidden = |i: usize| report.trials[i].0.hidden;
    assert!(hidden(3) > 2.0 * hidden(1), "Grad-CAM fused {:.3} vs LayerCAM fused {:.3}", hidden(3), hidden(1));

    let wrong = Fusion { fused: vec![true; 2], scaled: vec![false; 2] };
    assert_eq!(failure(&send(&mut session, occlude(wrong))), "invalid input: the fusion names 2 stages; 5 are explained");
}

/// A live frame as the page sends it: the request encoded without its pixels, which travel beside
/// it and which the worker puts back (src/worker.rs).
fn send_frame(session: &mut Session, request: Request) -> Vec<Response> {
    let Request::Frame { rgba, .. } = &request else { panic!("a frame") };
    let encoded = protocol::encode(&request);
    assert!(encoded.len() < 64, "the pixels are not in the message ({} bytes)", encoded.len());
    let mut decoded: Request = protocol::decode(&encoded).unwrap();
    if let Request::Frame { rgba: pixels, .. } = &mut decoded {
        *pixels = rgba.clone();
    }
    session.handle(decoded, now).iter().map(|r| protocol::decode(&protocol::encode(r)).unwrap()).collect()
}

/// A sample photo's pixels as a canvas gives them: RGBA, opaque; no smoothing.
fn frame_of(sample: &str, target: layercam::live::Target, methods: &[Method]) -> Request {
    let photo = image::open(root().join(format!("samples/{sample}.png"))).unwrap().into_rgba8();
    let (width, height) = photo.dimensions();
    Request::Frame { width, height, rgba: photo.into_raw(), target, methods: methods.to_vec(), smoothing: Smoothing::default() }
}

#[test]
fn a_live_frame_is_explained_as_the_same_photo_would_be_for_the_class_it_follows() {
    use layercam::live::Target;
    let mut session = Session::default();
    load_default(&mut session);
    let image = std::fs::read(root().join("samples/chelsea.png")).unwrap();
    let photo = send(&mut session, explain(image));
    let [Response::Prediction { top: photo_top, seen: photo_seen, .. }, Response::Maps(photo_maps)] = photo.as_slice() else { panic!() };

    let responses = send_frame(&mut session, frame_of("chelsea", Target::Follow { shown: None }, &[Method::LayerCam]));
    let [Response::Frame { top, seen, spans, maps }] = responses.as_slice() else { panic!("{responses:?}") };
    assert_eq!((top, seen), (photo_top, photo_seen), "the same pixels, the same prediction and picture");
    assert_eq!(maps.class, 282, "tiger cat, the top-1");
    let steps: Vec<&str> = spans.iter().chain(&maps.spans).map(|s| s.what.as_str()).collect();
    assert_eq!(steps, ["read the frame", "preprocess", "forward", "backward", "raw maps"]);
    // The methods on screen only (LayerCAM, first of the photo's four), bit for bit the photo's.
    assert_eq!(maps.methods, [Method::LayerCam]);
    for (frame_layer, photo_layer) in maps.maps.iter().zip(&photo_maps.maps) {
        assert_eq!(frame_layer.as_slice(), &photo_layer[..1]);
    }
    assert!((0..5).all(|l| maps.has(l, Method::LayerCam) && !maps.has(l, Method::GradCam)));

    // Egyptian cat (0.340) on screen trails tiger cat (0.408) by less than the hysteresis: it stays.
    let kept = send_frame(&mut session, frame_of("chelsea", Target::Follow { shown: Some(285) }, &[Method::LayerCam]));
    assert!(matches!(kept.as_slice(), [Response::Frame { maps, .. }] if maps.class == 285));
    // The espresso leads the cat on screen by far: the class follows.
    let coffee = send_frame(&mut session, frame_of("coffee", Target::Follow { shown: Some(282) }, &[Method::LayerCam]));
    let [Response::Frame { top, maps, .. }] = coffee.as_slice() else { panic!() };
    assert_eq!((top[0].label.as_str(), maps.class), ("espresso", 967));
}

#[test]
fn a_locked_class_fixes_the_seed_and_the_last_frame_is_the_image_for_what_follows() {
    use layercam::cam::Fusion;
    use layercam::live::Target;
    let mut session = Session::default();
    let ready = load_default(&mut session);
    let [Response::ModelReady(info)] = ready.as_slice() else { panic!("model ready") };
    let locked = send_frame(&mut session, frame_of("coffee", Target::Locked(285), &[Method::LayerCam, Method::GradCam]));
    let [Response::Frame { top, maps: locked, .. }] = locked.as_slice() else { panic!() };
    assert_eq!((top[0].label.as_str(), locked.class), ("espresso", 285), "Egyptian cat, though the frame is an espresso");
    // The frame is now the current image: the page's request for the methods on screen finds the
    // locked frame's maps again (LayerCAM and Grad-CAM, the first and third of the paper's four);
    // the occlusion test computes the methods the frame did not have.
    let asked = send(&mut session, maps_of(285));
    let [Response::Maps(asked)] = asked.as_slice() else { panic!() };
    for (frame_layer, layer) in locked.maps.iter().zip(&asked.maps) {
        assert_eq!(frame_layer, &[layer[0].clone(), layer[2].clone()], "LayerCAM and Grad-CAM");
    }
    send_frame(&mut session, frame_of("chelsea", Target::Locked(285), &[Method::LayerCam]));
    let fusion = Fusion::paper(&layercam::model::layers::strides(&info.layers, info.input_size));
    let methods = vec![Method::GradCamPlusPlus];
    let responses = send(&mut session, Request::Occlude { class: 285, methods, fusion, gamma: 2.0 });
    assert!(matches!(responses.as_slice(), [Response::Occlusion(report)] if report.trials.len() == 2), "{responses:?}");

    let out_of_range = send_frame(&mut session, frame_of("chelsea", Target::Locked(1000), &[Method::LayerCam]));
    assert_eq!(failure(&out_of_range), "invalid input: class 1000 does not exist; the model has 1000");
    let mut short = frame_of("chelsea", Target::Locked(1), &[Method::LayerCam]);
    if let Request::Frame { rgba, .. } = &mut short {
        rgba.truncate(1000);
    }
    assert_eq!(failure(&send_frame(&mut session, short)), "invalid input: a 451×300 frame has 541200 bytes of RGBA, not 1000");
}

/// A live frame as the page sends it with aug_smooth and eigen_smooth on and Score-CAM on screen:
/// eigen_smooth is kept and aug_smooth dropped (one run a frame), and Score-CAM's maps wait for
/// passes a frame never runs.
#[test]
fn a_live_frame_keeps_eigen_smooth_drops_aug_smooth_and_runs_no_score_cam_pass() {
    use layercam::live::{Target, frame_smoothing};
    let mut session = Session::default();
    load_default(&mut session);
    let methods = [Method::LayerCam, Method::ScoreCam];
    let mut frame = frame_of("chelsea", Target::Follow { shown: None }, &methods);
    if let Request::Frame { smoothing, .. } = &mut frame {
        *smoothing = frame_smoothing(Smoothing { aug: true, eigen: true });
    }
    let responses = send_frame(&mut session, frame);
    let [Response::Frame { maps, .. }] = responses.as_slice() else { panic!("{responses:?}") };
    let eigen = Smoothing { aug: false, eigen: true };
    assert_eq!(maps.smoothing, eigen);
    assert!((0..5).all(|l| maps.has(l, Method::LayerCam) && !maps.has(l, Method::ScoreCam)));
    assert!(maps.score_passes.iter().all(|p| p.done == 0 && p.total > 0));
    // The same picture as a photo with eigen_smooth: the same maps; without it, others.
    let image = std::fs::read(root().join("samples/chelsea.png")).unwrap();
    let photo = last_maps(send(&mut session, Request::Explain { image, class: None, methods: methods.to_vec(), smoothing: eigen }));
    assert_eq!(photo.maps, maps.maps);
    let plain = last_maps(send(&mut session, Request::Maps { class: 282, methods: methods.to_vec(), smoothing: Smoothing::default() }));
    assert!(plain.spans.iter().all(|s| s.what != "backward"), "the same class and runs: no backward");
    assert_ne!(plain.maps[4][0], maps.maps[4][0]);
}
