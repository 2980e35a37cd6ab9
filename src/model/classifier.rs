//! The ONNX classifier as a graph we can read and extend: its image input, its logits, and the
//! static shape of every tensor (the backward rules need them).

use std::collections::{HashMap, HashSet};

use tract_onnx::pb;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::{Factoid, InferenceModelExt};

use crate::model::layers::TokenGrid;
use crate::{Error, Result};

/// Image size used when the model leaves height and width open.
pub const DEFAULT_IMAGE_SIDE: usize = 224;

/// The largest input side a model may declare: 4096² pixels of 3 channels are 200 MB per tensor
/// already, and a model file is untrusted input (a declared 100000×100000 input would ask for
/// 120 GB before the first layer runs).
pub const MAX_INPUT_SIDE: usize = 4096;

/// The most channels an image input may declare (photos have 1 to 4).
pub const MAX_INPUT_CHANNELS: usize = 16;

/// What we know about one tensor of the forward graph.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorInfo {
    pub shape: Vec<usize>,
    pub datum: DatumType,
    /// Op type of the node that produces it (`"input"` for the image input).
    pub op: String,
    /// Depends on the image (as opposed to weights and shape arithmetic).
    pub variable: bool,
}

/// An ONNX image classifier, parsed once and analysed for shapes.
#[derive(Clone, Debug)]
pub struct Classifier {
    pub proto: pb::ModelProto,
    /// Name of the image input, shape `[1, C, H, W]`.
    pub input: String,
    pub input_shape: [usize; 4],
    /// The raw class logits `[1, classes]` (the input of a final Softmax, if there is one).
    pub logits: String,
    pub classes: usize,
    /// Every tensor of the graph whose shape tract could infer: node outputs, the image input,
    /// initialisers.
    pub tensors: HashMap<String, TensorInfo>,
    /// How `[1, N, D]` token tensors become maps, when the user says (`--tokens`); else
    /// [`TokenGrid::guess`] decides per tensor.
    pub token_grid: Option<TokenGrid>,
}

impl Classifier {
    /// Parses ONNX bytes. Height and width left open by the model become [`DEFAULT_IMAGE_SIDE`].
    /// A model whose weights live in other files (ONNX external data) needs [`Classifier::from_file`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let proto = parse_proto(bytes)?;
        if has_external_data(&proto) {
            return Err(Error::NotOnnx(
                "its weights are stored in separate files (ONNX external data), which only a model read from disk can \
                 reach; save it as one file (onnx.save(model, path, save_as_external_data=False))"
                    .into(),
            ));
        }
        Self::from_proto(proto)
    }

    /// Reads a model file and the external data files beside it (torch's dynamo exporter writes
    /// the weights of a model to `<model>.onnx.data`).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
        let mut proto = parse_proto(&bytes)?;
        inline_external_data(&mut proto, path.parent().unwrap_or(std::path::Path::new(".")))?;
        Self::from_proto(proto)
    }

    /// Analyses an already parsed model (what `from_bytes` does after decoding).
    pub fn from_proto(proto: pb::ModelProto) -> Result<Self> {
        crate::error::guarded("reading the graph", || Classifier::read(proto))
    }

    fn read(mut proto: pb::ModelProto) -> Result<Self> {
        let graph = proto.graph.as_mut().ok_or_else(|| Error::NotOnnx("it has no graph".into()))?;
        check_topological(graph)?;
        check_attributes(graph)?;
        let (input, input_shape) = image_input(graph)?;
        let axes = layer_norm_axes(&mut proto, None);
        let tensors = infer_tensors(&proto, &input, input_shape);
        layer_norm_axes(&mut proto, Some(&axes));
        let mut tensors = tensors?;
        check_layer_norm_axes(&proto, &tensors)?;
        let graph = proto.graph.as_ref().expect("checked above");
        mark_variables(graph, &input, &mut tensors);
        let logits = logits_tensor(graph)?;
        let classes = match tensors.get(&logits).map(|t| t.shape.as_slice()) {
            Some([1, classes]) => *classes,
            other => {
                let shape = other.map_or("an unknown shape".to_string(), |s| format!("shape {s:?}"));
                return Err(Error::NotClassifier(format!("its output `{logits}` has {shape}; a classifier gives [1, classes]")));
            }
        };
        Ok(Classifier { proto, input, input_shape, logits, classes, tensors, token_grid: None })
    }

    pub fn graph(&self) -> &pb::GraphProto {
        self.proto.graph.as_ref().expect("checked when parsed")
    }

    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.get(name)
    }

    /// The ONNX node that produces `tensor`.
    pub fn producer(&self, tensor: &str) -> Option<&pb::NodeProto> {
        self.graph().node.iter().find(|n| n.output.iter().any(|o| o == tensor))
    }

    /// Initialiser by name (weights, biases, constant shapes).
    pub fn initializer(&self, name: &str) -> Option<&pb::TensorProto> {
        self.graph().initializer.iter().find(|t| t.name == name)
    }

    /// A constant tensor: an initialiser or the value of a Constant node.
    fn constant(&self, name: &str) -> Option<&pb::TensorProto> {
        self.initializer(name).or_else(|| {
            let node = self.producer(name).filter(|n| n.op_type == "Constant")?;
            node.attribute.iter().find(|a| a.name == "value")?.t.as_ref()
        })
    }

    /// Values of an int64 constant (reduction axes, shapes).
    pub fn constant_i64(&self, name: &str) -> Option<Vec<i64>> {
        let tensor = self.constant(name).filter(|t| t.data_type == pb::tensor_proto::DataType::Int64 as i32)?;
        if !tensor.int64_data.is_empty() {
            return Some(tensor.int64_data.clone());
        }
        Some(tensor.raw_data.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
    }

    /// Values of a float32 constant (Clip bounds).
    pub fn constant_f32(&self, name: &str) -> Option<Vec<f32>> {
        let tensor = self.constant(name).filter(|t| t.data_type == pb::tensor_proto::DataType::Float as i32)?;
        if !tensor.float_data.is_empty() {
            return Some(tensor.float_data.clone());
        }
        Some(tensor.raw_data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect())
    }

    /// Nodes that read `tensor`.
    pub fn consumers<'a>(&'a self, tensor: &'a str) -> impl Iterator<Item = &'a pb::NodeProto> + 'a {
        self.graph().node.iter().filter(move |n| n.input.iter().any(|i| i == tensor))
    }
}

fn parse_proto(bytes: &[u8]) -> Result<pb::ModelProto> {
    if bytes.is_empty() {
        return Err(Error::NotOnnx("the file is empty".into()));
    }
    let proto = onnx().proto_model_for_read(&mut &*bytes).map_err(|e| Error::NotOnnx(format!("it is not an ONNX protobuf ({e})")))?;
    // Protobuf decodes many non-ONNX byte strings without complaint; a model has an opset and nodes.
    let has_nodes = proto.graph.as_ref().is_some_and(|g| !g.node.is_empty());
    if proto.opset_import.is_empty() || !has_nodes {
        return Err(Error::NotOnnx("it has no operator set or no graph nodes".into()));
    }
    Ok(proto)
}

fn has_external_data(proto: &pb::ModelProto) -> bool {
    proto.graph.iter().flat_map(|g| &g.initializer).any(|t| t.data_location == Some(pb::tensor_proto::DataLocation::External as i32))
}

/// Reads every initialiser stored outside the model into it. Locations are files inside `dir`
/// (no absolute paths, no `..`): a model file is untrusted and may not name any file it likes.
#[cfg(not(target_arch = "wasm32"))]
fn inline_external_data(proto: &mut pb::ModelProto, dir: &std::path::Path) -> Result<()> {
    use std::path::Component;
    let mut files: HashMap<String, Vec<u8>> = HashMap::new();
    for tensor in proto.graph.iter_mut().flat_map(|g| &mut g.initializer) {
        if tensor.data_location != Some(pb::tensor_proto::DataLocation::External as i32) {
            continue;
        }
        let entry = |key: &str| tensor.external_data.iter().find(|e| e.key == key).map(|e| e.value.clone());
        let bad = |why: String| Error::NotOnnx(format!("the external data of `{}` {why}", tensor.name));
        let location = entry("location").ok_or_else(|| bad("names no file".into()))?;
        let number = |key: &str| entry(key).map(|v| v.parse::<usize>().map_err(|_| bad(format!("has a bad {key} `{v}`")))).transpose();
        let (offset, length) = (number("offset")?.unwrap_or(0), number("length")?);
        if !std::path::Path::new(&location).components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(bad(format!("is at `{location}`, outside the model's folder")));
        }
        if !files.contains_key(&location) {
            let path = dir.join(&location);
            files.insert(location.clone(), std::fs::read(&path).map_err(|e| Error::io(path.display(), e))?);
        }
        let file = &files[&location];
        let end = length.map_or(file.len(), |l| offset.saturating_add(l));
        let bytes = file.get(offset..end).ok_or_else(|| bad(format!("runs past the end of {location} ({} bytes)", file.len())))?;
        tensor.raw_data = bytes.to_vec();
        tensor.external_data.clear();
        tensor.data_location = None;
    }
    Ok(())
}

/// ONNX requires nodes in topological order and each tensor defined once; the backward pass relies on both.
fn check_topological(graph: &pb::GraphProto) -> Result<()> {
    let mut known: HashSet<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
    known.extend(graph.initializer.iter().map(|t| t.name.as_str()));
    for node in &graph.node {
        if let Some(missing) = node.input.iter().find(|i| !i.is_empty() && !known.contains(i.as_str())) {
            return Err(Error::NotOnnx(format!(
                "node `{}` uses `{missing}` before it is produced (nodes are not in topological order)",
                node.name
            )));
        }
        if let Some(again) = node.output.iter().find(|o| !o.is_empty() && known.contains(o.as_str())) {
            return Err(Error::NotOnnx(format!("node `{}` writes `{again}`, which another node or an input already defines", node.name)));
        }
        known.extend(node.output.iter().map(String::as_str));
    }
    Ok(())
}

/// The most axes a tensor of an image classifier has (ONNX allows more; no classifier needs them).
const MAX_RANK: i64 = 8;

/// Axes, windows and paddings within bounds before tract reads them: tract loops for ever on a
/// LayerNormalization `axis` of −7 and indexes past a `perm` (examples/fuzz_models found both).
fn check_attributes(graph: &pb::GraphProto) -> Result<()> {
    let side = MAX_INPUT_SIDE as i64;
    for node in &graph.node {
        for attribute in &node.attribute {
            let (values, count, range) = match attribute.name.as_str() {
                "axis" => (std::slice::from_ref(&attribute.i), 1, -MAX_RANK..MAX_RANK),
                "axes" | "perm" => (attribute.ints.as_slice(), MAX_RANK, -MAX_RANK..MAX_RANK),
                "strides" | "dilations" | "kernel_shape" => (attribute.ints.as_slice(), MAX_RANK, 1..side + 1),
                "pads" => (attribute.ints.as_slice(), 2 * MAX_RANK, -side..side + 1),
                _ => continue,
            };
            if values.len() as i64 > count || values.iter().any(|v| !range.contains(v)) {
                let shown: Vec<i64> = values.iter().take(4).copied().collect();
                return Err(Error::NotOnnx(format!(
                    "node `{}` ({}) has {} = {shown:?}{}: at most {count} values in {}..{}",
                    node.name,
                    node.op_type,
                    attribute.name,
                    if values.len() > 4 { " …" } else { "" },
                    range.start,
                    range.end
                )));
            }
        }
    }
    Ok(())
}

/// tract's shape inference loops for ever on a LayerNormalization whose negative `axis` lies past
/// its input's rank, and the rank is known only after inference: it runs with every such axis at
/// −1 (the output's shape does not depend on it), then the axes are restored and checked. Returns
/// the axes it replaced, or puts back `restore`.
fn layer_norm_axes(proto: &mut pb::ModelProto, restore: Option<&[i64]>) -> Vec<i64> {
    let graph = proto.graph.as_mut().expect("checked when parsed");
    let axes = graph
        .node
        .iter_mut()
        .filter(|n| n.op_type == "LayerNormalization")
        .filter_map(|n| n.attribute.iter_mut().find(|a| a.name == "axis"));
    axes.enumerate()
        .map(|(i, attribute)| {
            let original = attribute.i;
            attribute.i = restore.map_or(-1, |axes| axes[i]);
            original
        })
        .collect()
}

fn check_layer_norm_axes(proto: &pb::ModelProto, tensors: &HashMap<String, TensorInfo>) -> Result<()> {
    let graph = proto.graph.as_ref().expect("checked when parsed");
    for node in graph.node.iter().filter(|n| n.op_type == "LayerNormalization") {
        let axis = node.attribute.iter().find(|a| a.name == "axis").map_or(-1, |a| a.i);
        let Some(rank) = node.input.first().and_then(|i| tensors.get(i)).map(|t| t.shape.len() as i64) else { continue };
        if !(-rank..rank).contains(&axis) {
            return Err(Error::NotOnnx(format!("node `{}` (LayerNormalization) has axis {axis} for a rank-{rank} input", node.name)));
        }
    }
    Ok(())
}

/// The one graph input that is not an initialiser and is 4-D: the image, channels first. A
/// channels-last input (tf2onnx, Keras: `[1, H, W, C]` with C = 1, 3 or 4) is fed from a new
/// `[1, C, H, W]` input through a Transpose, so the rest of layercam sees every model alike.
fn image_input(graph: &mut pb::GraphProto) -> Result<(String, [usize; 4])> {
    let (input, [n, c, h, w]) = declared_input(graph)?;
    // [1, 224, 224, 3] is channels-last; [1, 2, 3, 3] (a tiny test image) stays channels-first.
    let channels_last = matches!(w, Some(1 | 3 | 4)) && c.is_none_or(|c| c > 4);
    let dims = if channels_last { [n, w, c, h] } else { [n, c, h, w] };
    let shape = checked_shape(&input, dims)?;
    if !channels_last {
        return Ok((input, shape));
    }
    // The model's own input becomes the Transpose's output: its consumers are unchanged.
    let first = format!("{input}.channels_first");
    let transpose = pb::NodeProto {
        name: format!("{input}.to_channels_last"),
        op_type: "Transpose".into(),
        input: vec![first.clone()],
        output: vec![input.clone()],
        attribute: vec![pb::AttributeProto {
            name: "perm".into(),
            r#type: pb::attribute_proto::AttributeType::Ints as i32,
            ints: vec![0, 2, 3, 1],
            ..Default::default()
        }],
        ..Default::default()
    };
    graph.node.insert(0, transpose);
    let declared = graph.input.iter_mut().find(|i| i.name == input).expect("found above");
    declared.name = first.clone();
    set_dims(declared, &shape);
    Ok((first, shape))
}

/// The image input's name and its four declared dimensions (None where open).
fn declared_input(graph: &pb::GraphProto) -> Result<(String, [Option<usize>; 4])> {
    let initializers: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<&pb::ValueInfoProto> = graph.input.iter().filter(|i| !initializers.contains(i.name.as_str())).collect();
    let [input] = inputs.as_slice() else {
        let names: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
        return Err(Error::NotClassifier(format!("it has {} inputs {names:?}; expected one image", names.len())));
    };
    let dims = declared_dims(input);
    let dims: [Option<usize>; 4] = dims.as_slice().try_into().map_err(|_| {
        Error::NotClassifier(format!(
            "its input `{}` has {} dimensions; an image input has 4 (N, C, H, W or N, H, W, C)",
            input.name,
            dims.len()
        ))
    })?;
    Ok((input.name.clone(), dims))
}

/// `[1, C, H, W]` from declared `[N, C, H, W]`: open sides become [`DEFAULT_IMAGE_SIDE`]; the
/// channels must be given, and no side may exceed [`MAX_INPUT_SIDE`].
fn checked_shape(input: &str, [_, channels, height, width]: [Option<usize>; 4]) -> Result<[usize; 4]> {
    let channels = channels.ok_or_else(|| Error::NotClassifier(format!("its input `{input}` leaves the number of channels open")))?;
    let side = |d: Option<usize>| d.unwrap_or(DEFAULT_IMAGE_SIDE);
    let (height, width) = (side(height), side(width));
    if height > MAX_INPUT_SIDE || width > MAX_INPUT_SIDE || channels > MAX_INPUT_CHANNELS {
        return Err(Error::ModelTooLarge(format!(
            "`{input}` declares {channels} channels of {height}×{width} pixels; at most {MAX_INPUT_CHANNELS} channels of \
             {MAX_INPUT_SIDE}×{MAX_INPUT_SIDE} are accepted"
        )));
    }
    Ok([1, channels, height, width])
}

/// Declares a graph input as float32 of a fixed shape.
fn set_dims(info: &mut pb::ValueInfoProto, shape: &[usize]) {
    use pb::tensor_shape_proto::{Dimension, dimension::Value};
    let dim = shape.iter().map(|&d| Dimension { value: Some(Value::DimValue(d as i64)), ..Default::default() }).collect();
    info.r#type = Some(pb::TypeProto {
        value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
            elem_type: pb::tensor_proto::DataType::Float as i32,
            shape: Some(pb::TensorShapeProto { dim }),
        })),
        ..Default::default()
    });
}

/// Declared dimensions of a graph input; `None` where symbolic or unknown.
fn declared_dims(info: &pb::ValueInfoProto) -> Vec<Option<usize>> {
    use pb::tensor_shape_proto::dimension::Value;
    let Some(pb::type_proto::Value::TensorType(tensor)) = info.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return vec![];
    };
    let Some(shape) = tensor.shape.as_ref() else { return vec![] };
    shape
        .dim
        .iter()
        .map(|d| match d.value {
            Some(Value::DimValue(v)) if v > 0 => Some(v as usize),
            _ => None,
        })
        .collect()
}

/// The graph's first output, or the input of the Softmax / LogSoftmax that produces it: we explain
/// raw logits, as the paper does.
fn logits_tensor(graph: &pb::GraphProto) -> Result<String> {
    let output = graph.output.first().ok_or_else(|| Error::NotClassifier("it has no output".into()))?;
    let producer = graph.node.iter().find(|n| n.output.first() == Some(&output.name));
    Ok(match producer {
        Some(node) if matches!(node.op_type.as_str(), "Softmax" | "LogSoftmax") => node.input[0].clone(),
        _ => output.name.clone(),
    })
}

/// Runs tract's shape inference with the image input fixed, and reads back every tensor's fact.
fn infer_tensors(proto: &pb::ModelProto, input: &str, shape: [usize; 4]) -> Result<HashMap<String, TensorInfo>> {
    let parsed = onnx().parse(proto, None).map_err(|e| Error::NotOnnx(format!("{e:#}")))?;
    let mut model = parsed.model;
    let input_outlet = parsed.outlets_by_name[input];
    model
        .set_outlet_fact(input_outlet, f32::fact(shape).into())
        .map_err(|e| Error::NotClassifier(format!("its input `{input}` is not float32 ({e})")))?;
    // Obstinate: a node tract cannot type (say, past the logits) must not hide the other shapes.
    let _ = model.analyse(true);
    let producers = producer_ops(proto);
    let mut tensors = HashMap::new();
    for (name, outlet) in &parsed.outlets_by_name {
        let op = match producers.get(name.as_str()) {
            Some(op) => op.to_string(),
            None if name == input => "input".to_string(),
            None => "initializer".to_string(),
        };
        let fact = model.outlet_fact(*outlet).map_err(Error::runtime)?;
        let (Some(datum), Ok(Some(shape))) = (fact.datum_type.concretize(), fact.shape.as_concrete_finite()) else {
            continue; // `Builder::info` reports it if a rule ever needs this shape
        };
        tensors.insert(name.clone(), TensorInfo { shape: shape.to_vec(), datum, op, variable: false });
    }
    Ok(tensors)
}

fn producer_ops(proto: &pb::ModelProto) -> HashMap<&str, &str> {
    let graph = proto.graph.as_ref().expect("checked when parsed");
    graph.node.iter().flat_map(|n| n.output.iter().map(move |o| (o.as_str(), n.op_type.as_str()))).collect()
}

/// Marks the tensors that depend on the image. Shape queries do not: given a fixed input size their
/// value is a constant, and shape sub-graphs are never differentiated.
fn mark_variables(graph: &pb::GraphProto, input: &str, tensors: &mut HashMap<String, TensorInfo>) {
    let mut variable: HashSet<&str> = HashSet::from([input]);
    for node in &graph.node {
        let shape_query = matches!(node.op_type.as_str(), "Shape" | "Size");
        if !shape_query && node.input.iter().any(|i| variable.contains(i.as_str())) {
            variable.extend(node.output.iter().map(String::as_str));
        }
    }
    for (name, info) in tensors.iter_mut() {
        info.variable = variable.contains(name.as_str());
    }
}
