//! Reverse-mode automatic differentiation over ONNX graphs.
//!
//! tract only runs forward graphs, so we write the backward pass as more ONNX nodes that tract
//! can run: ConvTranspose for Conv, masks for Relu/Clip, scatter for MaxPool, and so on — one
//! rule per op family, in the files of this module. The result is two graphs:
//! - **forward**: the classifier with extra outputs (logits, each target activation A, and the
//!   forward tensors the backward rules read);
//! - **backward**: inputs `seed` `[K, classes]` and those saved tensors; outputs
//!   ∂(seed_k · logits)/∂A for every target, shape `[K, C, H, W]` (see [`builder`] for the
//!   convention). A one-hot seed row selects the class whose logit is explained.
//!
//! Splitting the two lets a class switch re-run only the backward.

mod activation;
pub mod builder;
mod conv;
mod elementwise;
mod linear;
mod normalization;
mod pool;
mod resize;
mod shape;
mod softmax;

use std::collections::{HashMap, HashSet};

use tract_onnx::pb;
use tract_onnx::prelude::DatumType;

use crate::model::classifier::Classifier;
use crate::{Error, Result};
use builder::Builder;
pub use builder::Seeds;

/// The one operator our graphs add to ONNX's (run by `runtime`): scale · g where lo < y < hi, else 0.
pub const CLAMP_GRAD: &str = "LayercamClampGrad";

/// Name of the backward graph's seed input.
pub const SEED: &str = "seed";

/// Opset of the backward graph: every node it holds is written by us, for this opset.
const BACKWARD_OPSET: i64 = 17;

/// Name of the backward output holding the gradient of `target`.
pub fn gradient_name(target: &str) -> String {
    format!("layercam.grad.{target}")
}

/// The forward and backward graphs for a classifier and a set of target tensors.
#[derive(Clone, Debug)]
pub struct Differentiated {
    /// Outputs: logits, the targets, then `saved`.
    pub forward: pb::ModelProto,
    /// Inputs: `seed`, then `saved`. Outputs: one gradient per target, in order.
    pub backward: pb::ModelProto,
    pub targets: Vec<String>,
    /// Forward tensors handed from the forward run to the backward run.
    pub saved: Vec<String>,
    /// How many seed rows one backward run takes: K, or one.
    pub seeds: Seeds,
}

/// What a backward rule sees of one node.
pub(crate) struct Step<'a> {
    pub node: &'a pb::NodeProto,
    /// Gradient of each output (None where the output does not reach the logits).
    pub grads: Vec<Option<String>>,
    /// Which inputs need a gradient (those that depend on a target).
    pub wanted: Vec<bool>,
}

impl Step<'_> {
    /// The gradient of the first output: every op family we differentiate has one real output.
    pub fn output_grad(&self) -> Result<&str> {
        self.grads[0].as_deref().ok_or_else(|| self.unsupported("only its first output can be differentiated"))
    }

    pub fn input(&self, index: usize) -> Option<&str> {
        self.node.input.get(index).map(String::as_str).filter(|s| !s.is_empty())
    }

    pub fn output(&self) -> &str {
        &self.node.output[0]
    }

    pub fn unsupported(&self, reason: impl Into<String>) -> Error {
        Error::UnsupportedCase { op: self.node.op_type.clone(), node: self.node.name.clone(), reason: reason.into() }
    }

    /// Rules that cannot differentiate through their weights say so when a weight depends on a target.
    pub fn require_constant(&self, indices: std::ops::RangeFrom<usize>, what: &str) -> Result<()> {
        if self.wanted.iter().skip(indices.start).any(|&w| w) {
            return Err(self.unsupported(format!("its {what} depends on the image")));
        }
        Ok(())
    }
}

/// Gradients of a node's inputs (None where not wanted), given its output gradients.
pub(crate) type Rule = fn(&mut Builder, &Step) -> Result<Vec<Option<String>>>;

fn rule_for(op_type: &str) -> Option<Rule> {
    Some(match op_type {
        "Conv" => conv::conv,
        "ConvTranspose" => conv::conv_transpose,
        "Resize" => resize::resize,
        "Relu" | "Clip" | "LeakyRelu" | "PRelu" | "Sigmoid" | "HardSigmoid" | "HardSwish" | "Tanh" | "Neg" | "Exp" | "Sqrt"
        | "Reciprocal" | "Pow" | "Erf" | "Gelu" => activation::activation,
        "Add" | "Sub" | "Mul" | "Div" | "Sum" | "Mean" => elementwise::arithmetic,
        "Where" => elementwise::select,
        "Gemm" => linear::gemm,
        "MatMul" => linear::matmul,
        "BatchNormalization" => linear::batch_norm,
        "LayerNormalization" => normalization::layer_norm,
        "LRN" => normalization::lrn,
        "GlobalAveragePool" => pool::global_average,
        "ReduceMean" | "ReduceSum" => pool::reduce,
        "MaxPool" | "GlobalMaxPool" => pool::max_pool,
        "AveragePool" => pool::average_pool,
        "Softmax" | "LogSoftmax" => softmax::softmax,
        "Flatten" | "Reshape" | "Squeeze" | "Unsqueeze" | "Identity" | "Dropout" | "Transpose" | "Concat" | "Split" | "Slice" | "Pad"
        | "Gather" | "Tile" | "Expand" => shape::shape,
        _ => return None,
    })
}

/// Builds the forward and backward graphs. `targets` must be tensors that depend on the image.
pub fn differentiate(model: &Classifier, targets: &[String]) -> Result<Differentiated> {
    for target in targets {
        if !model.tensor(target).is_some_and(|t| t.variable) {
            return Err(Error::Input(format!("`{target}` is not a tensor computed from the image")));
        }
    }
    let mut b = Builder::new(model, seeds_for(model, targets));
    let totals = backpropagate(&mut b, targets)?;
    for target in targets {
        let total =
            totals.get(target).ok_or_else(|| Error::Input(format!("layer `{target}` does not influence the logits `{}`", model.logits)))?;
        b.named("Identity", &[total], &gradient_name(target));
    }
    Ok(assemble(b, targets))
}

/// Walks the nodes in reverse order, applying each rule. Returns the total gradient of each target.
fn backpropagate(b: &mut Builder, targets: &[String]) -> Result<HashMap<String, String>> {
    let model = b.model;
    let on_path = depends_on_targets(model, targets);
    let mut contributions: HashMap<String, Vec<String>> = HashMap::from([(model.logits.clone(), vec![SEED.into()])]);
    let mut totals = HashMap::new();
    let mut take_total = |b: &mut Builder, contributions: &mut HashMap<String, Vec<String>>, tensor: &str| {
        let total = contributions.remove(tensor).map(|parts| b.sum(&parts));
        if let Some(total) = &total
            && targets.iter().any(|t| t == tensor)
        {
            totals.insert(tensor.to_string(), total.clone());
        }
        total
    };
    for node in model.graph().node.iter().rev() {
        let grads: Vec<Option<String>> = node.output.iter().map(|o| take_total(b, &mut contributions, o)).collect();
        let wanted: Vec<bool> = node.input.iter().map(|i| on_path.contains(i.as_str())).collect();
        if grads.iter().all(Option::is_none) || !wanted.contains(&true) {
            continue;
        }
        check_arity(node)?;
        let step = Step { node, grads, wanted };
        let rule = rule_for(&node.op_type).ok_or_else(|| Error::UnsupportedOp { op: node.op_type.clone(), node: node.name.clone() })?;
        for (input, grad) in node.input.iter().zip(rule(b, &step)?) {
            if let Some(grad) = grad {
                contributions.entry(input.clone()).or_default().push(grad);
            }
        }
    }
    // A target with no producer node (the image input itself) collects its total here.
    for target in targets {
        take_total(b, &mut contributions, target);
    }
    Ok(totals)
}

/// A hostile file can give an op fewer inputs than it has; the rules read them by position.
fn check_arity(node: &pb::NodeProto) -> Result<()> {
    let needed = match node.op_type.as_str() {
        "BatchNormalization" => 5,
        "Where" => 3,
        "Conv" | "ConvTranspose" | "Gemm" | "MatMul" | "PRelu" | "Pow" | "Gather" | "Tile" | "Expand" | "Add" | "Sub" | "Mul" | "Div"
        | "LayerNormalization" => 2,
        _ => 1,
    };
    if node.input.len() < needed || node.output.is_empty() {
        let (op, name) = (node.op_type.clone(), node.name.clone());
        return Err(Error::UnsupportedCase { op, node: name, reason: format!("it has {} inputs; it takes {needed}", node.input.len()) });
    }
    Ok(())
}

/// Tensors that depend on a target (targets included): only these need gradients.
fn depends_on_targets<'m>(model: &'m Classifier, targets: &'m [String]) -> HashSet<&'m str> {
    let mut reached: HashSet<&str> = targets.iter().map(String::as_str).collect();
    for node in &model.graph().node {
        let shape_query = matches!(node.op_type.as_str(), "Shape" | "Size");
        if !shape_query && node.input.iter().any(|i| reached.contains(i.as_str())) {
            reached.extend(node.output.iter().map(String::as_str));
        }
    }
    reached
}

/// K seed rows per run where every tensor on the differentiated path keeps a batch axis of size 1
/// where the rules put the seed axis (axis 0; axis 1 for Gemm's transposed A), else one.
fn seeds_for(model: &Classifier, targets: &[String]) -> Seeds {
    use builder::Attributes;
    let on_path = depends_on_targets(model, targets);
    let batch_first = |node: &pb::NodeProto, index: usize, input: &str| {
        let transposed_a = node.op_type == "Gemm" && node.attr_int("transA") == Some(1);
        let axis = usize::from(transposed_a && index == 0);
        model.tensor(input).is_none_or(|t| t.shape.get(axis) == Some(&1))
    };
    let batched = model.graph().node.iter().all(|node| {
        node.input.iter().enumerate().filter(|(_, input)| on_path.contains(input.as_str())).all(|(i, input)| batch_first(node, i, input))
    });
    if batched { Seeds::Batched } else { Seeds::Single }
}

/// Splits the work into the forward model (extra outputs) and the backward model.
fn assemble(b: Builder, targets: &[String]) -> Differentiated {
    let (model, seeds) = (b.model, b.seeds);
    let graph = model.graph();
    let (copied, referenced): (Vec<String>, Vec<String>) = b.forward_refs.into_iter().partition(|name| model.initializer(name).is_some());
    // What the backward run takes from the forward run, with the type and shape it declares.
    let handed_over: Vec<(String, DatumType, Vec<usize>)> = referenced
        .into_iter()
        .map(|name| {
            let info = model.tensor(&name).expect("referenced tensors have inferred shapes");
            let (datum, shape) = (info.datum, info.shape.clone());
            (name, datum, shape)
        })
        .chain(b.precomputed)
        .collect();
    let saved: Vec<String> = handed_over.iter().map(|(name, ..)| name.clone()).collect();

    let mut forward = model.proto.clone();
    let forward_graph = forward.graph.as_mut().expect("checked when parsed");
    forward_graph.node.extend(b.precompute.nodes);
    forward_graph.initializer.extend(b.precompute.constants);
    let outputs = std::iter::once(&model.logits).chain(targets).chain(&saved);
    forward_graph.output = outputs.map(|name| value_info(name, None)).collect();

    let mut initializer = b.backward.constants;
    initializer.extend(copied.iter().filter_map(|name| model.initializer(name)).cloned());
    let seed = value_info(SEED, Some((pb::tensor_proto::DataType::Float, vec![None, Some(model.classes)])));
    let input = std::iter::once(seed)
        .chain(
            handed_over
                .iter()
                .map(|(name, datum, shape)| value_info(name, Some((data_type(*datum), shape.iter().map(|&d| Some(d)).collect())))),
        )
        .collect();
    let output = targets.iter().map(|t| value_info(&gradient_name(t), None)).collect();
    let backward = pb::ModelProto {
        ir_version: model.proto.ir_version.max(8),
        opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: BACKWARD_OPSET }],
        graph: Some(pb::GraphProto {
            name: format!("{} backward", graph.name),
            node: b.backward.nodes,
            initializer,
            input,
            output,
            ..Default::default()
        }),
        ..Default::default()
    };
    Differentiated { forward, backward, targets: targets.to_vec(), saved, seeds }
}

fn data_type(datum: DatumType) -> pb::tensor_proto::DataType {
    use DatumType as D;
    use pb::tensor_proto::DataType;
    match datum {
        D::I64 => DataType::Int64,
        D::I32 => DataType::Int32,
        D::Bool => DataType::Bool,
        _ => DataType::Float,
    }
}

/// A graph input/output declaration; `None` dimensions are left symbolic.
fn value_info(name: &str, tensor: Option<(pb::tensor_proto::DataType, Vec<Option<usize>>)>) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{Dimension, dimension::Value};
    let r#type = tensor.map(|(elem_type, dims)| pb::TypeProto {
        value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
            elem_type: elem_type as i32,
            shape: Some(pb::TensorShapeProto {
                dim: dims
                    .into_iter()
                    .map(|d| Dimension {
                        value: Some(d.map_or(Value::DimParam("K".into()), |d| Value::DimValue(d as i64))),
                        ..Default::default()
                    })
                    .collect(),
            }),
        })),
        ..Default::default()
    });
    pb::ValueInfoProto { name: name.to_string(), r#type, ..Default::default() }
}
