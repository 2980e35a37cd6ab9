//! Bad models and bad tensors get a message naming the problem (bad images: preprocess.rs).

use crate::common::net::*;
use crate::common::*;
use layercam::Error;
use layercam::cam::Fusion;
use layercam::explain::{Settings, class_maps};
use layercam::model::Model;
use layercam::model::classifier::Classifier;
use layercam::runtime::Explainer;
use ndarray::{Array3, Array4};
use prost::Message;

fn load(bytes: &[u8]) -> Error {
    Classifier::from_bytes(bytes).expect_err("refused")
}

#[test]
fn files_that_are_not_onnx_are_named_as_such() {
    for bytes in [&b""[..], b"plain text, not a model", &[0xff; 64], &std::fs::read(root().join("samples/chelsea.png")).unwrap()] {
        let err = load(bytes);
        assert!(matches!(err, Error::NotOnnx(_)), "{err:?}");
        assert!(err.to_string().starts_with("not an ONNX model: "), "{err}");
    }
}

#[test]
fn a_model_without_an_image_input_is_not_a_classifier() {
    let mut net = Net::new(&[1, 10]);
    let w = net.weight(&[10, 3]);
    let y = net.node("MatMul", &["x", &w], vec![]);
    let err = load(&net.proto(&y).encode_to_vec());
    assert_eq!(
        err.to_string(),
        "the model is not an image classifier: its input `x` has 2 dimensions; an image input has 4 (N, C, H, W or N, H, W, C)"
    );
}

/// A model file is untrusted: one that declares a huge input is refused when it is read, before
/// anything is allocated for it (this aborted the CLI in preprocessing: 30 GB asked for).
#[test]
fn a_model_declaring_a_huge_input_is_refused_before_anything_is_allocated() {
    let classifier = |shape: [usize; 4]| {
        let mut net = Net::new(&shape);
        let mean = net.node("GlobalAveragePool", &["x"], vec![]);
        let flat = net.node("Flatten", &[&mean], vec![int("axis", 1)]);
        let w = net.weight(&[2, shape[1]]);
        let logits = net.node("Gemm", &[&flat, &w], vec![int("transB", 1)]);
        net.proto(&logits).encode_to_vec()
    };
    for shape in [[1, 3, 100_000, 100_000], [1, 3, 4097, 16], [1, 1000, 16, 16]] {
        let err = load(&classifier(shape));
        assert!(matches!(err, Error::ModelTooLarge(_)), "{shape:?}: {err:?}");
        assert!(err.to_string().starts_with("the model's input is too large: `x` declares"), "{err}");
    }
    assert!(Classifier::from_bytes(&classifier([1, 3, 4096, 16])).is_ok(), "4096 a side is still accepted");
}

#[test]
fn a_model_without_class_logits_is_not_a_classifier() {
    let mut net = Net::new(&[1, 3, 4, 4]);
    let y = net.node("Relu", &["x"], vec![]);
    let err = load(&net.proto(&y).encode_to_vec());
    assert!(err.to_string().contains("its output `t0` has shape [1, 3, 4, 4]; a classifier gives [1, classes]"), "{err}");
}

#[test]
fn an_unknown_layer_lists_the_valid_ones() {
    let model = default_model();
    let err = Explainer::new(&model, &["blocks.99_out".into()]).err().unwrap();
    let text = err.to_string();
    assert!(text.starts_with("unknown layer `blocks.99_out`; valid layers are: getitem, hardtanh, getitem_3"), "{text}");
    assert!(text.contains("blocks.0_out") && text.ends_with("head_act_out"));
}

#[test]
fn a_nan_input_is_refused_before_the_network_runs() {
    let model = default_model();
    let explainer = Explainer::new(&model, &["head_act_out".into()]).unwrap();
    let mut input = Array4::zeros((1, 3, 224, 224));
    input[(0, 1, 5, 5)] = f32::NAN;
    let err = explainer.forward(input.view()).err().unwrap();
    assert_eq!(err.to_string(), "invalid input: the input contains NaN or infinite values");
    let err = explainer.forward(Array4::zeros((1, 3, 100, 100)).view()).err().unwrap();
    assert!(err.to_string().contains("the input has shape [1, 3, 100, 100]; the model takes [1, 3, 224, 224]"));
}

#[test]
fn a_class_out_of_range_is_refused() {
    let model = default_model();
    let explainer = Explainer::new(&model, &["head_act_out".into()]).unwrap();
    let forward = explainer.forward(Array4::zeros((1, 3, 224, 224)).view()).unwrap();
    let err = explainer.backward(&forward, &[1000]).err().unwrap();
    assert_eq!(err.to_string(), "invalid input: class 1000 does not exist; the model has 1000");
}

#[test]
fn a_zero_map_stays_zero_and_has_no_box() {
    let zeros = Array3::<f32>::zeros((4, 7, 7));
    let maps = class_maps(
        0,
        &["l".into()],
        &[zeros.view()],
        &[zeros.view()],
        &Settings::default(),
        &Fusion::all_scaled(1),
        (224, 224),
    )
    .unwrap();
    assert!(maps.fused[0].iter().all(|&v| v == 0.0));
    assert_eq!(maps.boxes[0], None);
}

#[test]
fn a_nan_gradient_is_named_with_its_layer() {
    let mut gradient = Array3::<f32>::zeros((4, 7, 7));
    gradient[(1, 2, 3)] = f32::NAN;
    let activation = Array3::<f32>::ones((4, 7, 7));
    let err =
        class_maps(0, &["stage3".into()], &[activation.view()], &[gradient.view()], &Settings::default(), &Fusion::all_scaled(1), (224, 224))
            .err()
            .unwrap();
    assert_eq!(err.to_string(), "invalid input: the gradient of layer `stage3` contains NaN or infinite values");
}

/// With several layers and methods (each layer's tensors are checked by one of its maps' tasks),
/// the first layer that holds a NaN is named, whichever thread gets there first.
#[test]
fn a_nan_activation_is_named_with_its_layer_among_several_layers_and_methods() {
    let (ones, mut spoiled) = (Array3::<f32>::ones((4, 7, 7)), Array3::<f32>::ones((4, 7, 7)));
    spoiled[(3, 6, 6)] = f32::INFINITY;
    let activations = [ones.view(), spoiled.view(), spoiled.view()];
    let gradients = [ones.view(), ones.view(), ones.view()];
    let layers = ["stage1".to_string(), "stage2".into(), "stage3".into()];
    let settings = Settings { methods: layercam::cam::Method::PAPER.to_vec(), ..Settings::default() };
    let err = class_maps(0, &layers, &activations, &gradients, &settings, &Fusion::all_scaled(3), (224, 224)).err().unwrap();
    assert_eq!(err.to_string(), "invalid input: the activation of layer `stage2` contains NaN or infinite values");
}

#[test]
fn a_model_without_sidecar_uses_torchvision_preprocessing_and_numbers_classes() {
    let bytes = std::fs::read(default_model_path()).unwrap();
    let model = Model::from_parts("bare.onnx", &bytes, None, None).unwrap();
    assert_eq!(model.recipe, layercam::model::preprocess::Recipe::Torchvision);
    assert_eq!(model.labels.name(282), "class 282");
}

/// torch's dynamo exporter keeps the weights in `<model>.onnx.data`: read from disk, the model
/// finds them beside it; a location outside its folder, or a model given as bytes, is refused.
#[test]
fn weights_in_an_external_data_file_are_read_from_beside_the_model_and_nowhere_else() {
    let dir = std::env::temp_dir().join(format!("layercam-external-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut net = Net::new(&[1, 3, 4, 4]);
    let mean = net.node("GlobalAveragePool", &["x"], vec![]);
    let logits = net.logits_from(&mean);
    let inline = net.proto(&logits);
    let external = |location: &str| {
        let mut proto = inline.clone();
        let weight = &mut proto.graph.as_mut().unwrap().initializer[0];
        let bytes: Vec<u8> = weight.float_data.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(dir.join("tiny.onnx.data"), [&[7u8; 16][..], &bytes].concat()).unwrap();
        weight.float_data.clear();
        weight.data_location = Some(tract_onnx::pb::tensor_proto::DataLocation::External as i32);
        let entry = |key: &str, value: String| tract_onnx::pb::StringStringEntryProto { key: key.into(), value };
        weight.external_data =
            vec![entry("location", location.into()), entry("offset", "16".into()), entry("length", bytes.len().to_string())];
        let path = dir.join("tiny.onnx");
        std::fs::write(&path, proto.encode_to_vec()).unwrap();
        path
    };
    let path = external("tiny.onnx.data");
    let from_disk = Classifier::from_file(&path).expect("the weights are found beside the model");
    let x = input_avoiding(&[1, 3, 4, 4], &[], 0.0, 1.0);
    let run = |model: &Classifier| Explainer::new(model, &["x".into()]).unwrap().forward(x.view()).unwrap().logits;
    assert_eq!(run(&from_disk), run(&Classifier::from_proto(inline.clone()).unwrap()));
    let err = Classifier::from_bytes(&std::fs::read(&path).unwrap()).err().unwrap();
    assert!(err.to_string().contains("stored in separate files"), "{err}");
    let err = Classifier::from_file(&external("../tiny.onnx.data")).err().unwrap();
    assert!(err.to_string().contains("outside the model's folder"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Found by examples/fuzz_models: attributes a hostile file sets out of bounds are refused before
/// tract reads them (tract looped for ever on the LayerNormalization axis, and indexed past lists).
#[test]
fn out_of_bound_attributes_are_refused_by_name() {
    let conv = |attribute| {
        let mut net = Net::new(&[1, 3, 8, 8]);
        let w = net.weight(&[2, 3, 3, 3]);
        let y = net.node("Conv", &["x", &w], vec![attribute]);
        let logits = pooled_logits(&mut net, &y);
        load(&net.proto(&logits).encode_to_vec()).to_string()
    };
    let huge = conv(ints("kernel_shape", &vec![3; 1_000_000]));
    assert!(huge.starts_with("not an ONNX model: node `Conv_0` (Conv) has kernel_shape = [3, 3, 3, 3] …: at most 8 values"), "{huge}");
    let dilated = conv(ints("dilations", &[1_000_000_000_000, 1]));
    assert!(dilated.contains("has dilations = [1000000000000, 1]: at most 8 values in 1..4097"), "{dilated}");

    let mut net = Net::new(&[1, 3, 2, 2]);
    let (scale, bias) = (net.weight(&[2]), net.weight(&[2]));
    let y = net.node("LayerNormalization", &["x", &scale, &bias], vec![int("axis", -7)]);
    let logits = pooled_logits(&mut net, &y);
    let err = load(&net.proto(&logits).encode_to_vec()).to_string();
    assert_eq!(err, "not an ONNX model: node `LayerNormalization_0` (LayerNormalization) has axis -7 for a rank-4 input");
}

/// [1, C, H, W] → [1, C] logits without building the graph (`logits_from` infers shapes, which
/// these graphs must not reach).
fn pooled_logits(net: &mut Net, tensor: &str) -> String {
    let pooled = net.node("GlobalAveragePool", &[tensor], vec![]);
    net.node("Flatten", &[&pooled], vec![])
}
