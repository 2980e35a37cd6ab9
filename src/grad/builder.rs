//! A small builder that appends backward nodes and constants to a new ONNX graph.
//!
//! Gradient convention ([`Seeds`]): the forward pass runs with batch 1; where every differentiated
//! tensor keeps that batch axis first, the gradient of a tensor of shape `[1, d1, …]` has shape
//! `[K, d1, …]`, one row per seed row (one class each), so K classes cost one backward run.
//! Otherwise each gradient has exactly its tensor's shape, and K classes take K runs.

use std::collections::BTreeSet;

use tract_onnx::pb;
use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::tensor_proto::DataType;

use tract_onnx::prelude::DatumType;

use crate::model::classifier::{Classifier, TensorInfo};
use crate::{Error, Result};

/// Where a backward graph keeps its seed rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seeds {
    /// K rows along each gradient's axis 0, where every differentiated tensor has its batch axis.
    Batched,
    /// One row; each gradient has exactly its tensor's forward shape. For graphs that move the
    /// batch axis: a sequence-first attention's `[tokens, 1, D]`, its heads folded into axis 0.
    Single,
}

/// Nodes and constants appended to one graph.
pub struct Graph {
    /// Prefix of every tensor and node it creates; keeps them apart from the model's names.
    prefix: &'static str,
    pub nodes: Vec<pb::NodeProto>,
    pub constants: Vec<pb::TensorProto>,
    counter: usize,
}

impl Graph {
    fn new(prefix: &'static str) -> Self {
        Graph { prefix, nodes: vec![], constants: vec![], counter: 0 }
    }

    fn fresh(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("{}.{}.{what}", self.prefix, self.counter)
    }

    /// Appends a node with one output and returns the output's name.
    pub fn op(&mut self, op_type: &str, inputs: &[&str], attributes: Vec<pb::AttributeProto>) -> String {
        self.op_n(op_type, inputs, attributes, 1).remove(0)
    }

    /// Appends a node with `outputs` outputs.
    pub fn op_n(&mut self, op_type: &str, inputs: &[&str], attribute: Vec<pb::AttributeProto>, outputs: usize) -> Vec<String> {
        let name = self.fresh(op_type);
        let output: Vec<String> = (0..outputs).map(|i| format!("{name}:{i}")).collect();
        self.push(op_type, inputs, attribute, output.clone(), name);
        output
    }

    /// A node writing to a chosen output name (the graph outputs).
    pub fn named(&mut self, op_type: &str, inputs: &[&str], output: &str) {
        let name = self.fresh(op_type);
        self.push(op_type, inputs, vec![], vec![output.to_string()], name);
    }

    fn push(&mut self, op_type: &str, inputs: &[&str], attribute: Vec<pb::AttributeProto>, output: Vec<String>, name: String) {
        self.nodes.push(pb::NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output,
            name,
            op_type: op_type.to_string(),
            attribute,
            ..Default::default()
        });
    }

    pub fn const_f32(&mut self, values: &[f32], dims: &[usize]) -> String {
        let name = self.fresh("const");
        self.constants.push(pb::TensorProto {
            name: name.clone(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DataType::Float as i32,
            float_data: values.to_vec(),
            ..Default::default()
        });
        name
    }

    pub fn const_i64(&mut self, values: &[i64]) -> String {
        let name = self.fresh("const");
        self.constants.push(pb::TensorProto {
            name: name.clone(),
            dims: vec![values.len() as i64],
            data_type: DataType::Int64 as i32,
            int64_data: values.to_vec(),
            ..Default::default()
        });
        name
    }

    pub fn scalar(&mut self, value: f32) -> String {
        self.const_f32(&[value], &[])
    }
}

/// Builds the backward graph, and the per-image precomputations (masks, slopes, pooling indices)
/// that are appended to the forward graph: they depend on the image only, so they run once per
/// forward instead of once per class. `b.op(…)` appends to the backward graph (through `Deref`),
/// `b.precompute.op(…)` to the forward one.
pub struct Builder<'m> {
    pub model: &'m Classifier,
    pub backward: Graph,
    pub precompute: Graph,
    /// Forward tensors the backward nodes read (saved from the forward run, or copied initialisers).
    pub forward_refs: BTreeSet<String>,
    /// Precomputed tensors handed to the backward run, with their type and shape.
    pub precomputed: Vec<(String, DatumType, Vec<usize>)>,
    pub seeds: Seeds,
}

impl std::ops::Deref for Builder<'_> {
    type Target = Graph;
    fn deref(&self) -> &Graph {
        &self.backward
    }
}

impl std::ops::DerefMut for Builder<'_> {
    fn deref_mut(&mut self) -> &mut Graph {
        &mut self.backward
    }
}

impl<'m> Builder<'m> {
    pub fn new(model: &'m Classifier, seeds: Seeds) -> Self {
        Builder {
            seeds,
            model,
            backward: Graph::new("layercam.bwd"),
            precompute: Graph::new("layercam.pre"),
            forward_refs: BTreeSet::new(),
            precomputed: vec![],
        }
    }

    /// The model's ONNX opset: what the precompute graph, which joins the forward, is written for.
    pub fn model_opset(&self) -> i64 {
        self.model.proto.opset_import.iter().find(|o| o.domain.is_empty() || o.domain == "ai.onnx").map_or(13, |o| o.version)
    }

    /// Refers to a forward tensor (activation, weight, constant) from the backward graph.
    pub fn forward(&mut self, name: &str) -> String {
        self.forward_refs.insert(name.to_string());
        name.to_string()
    }

    /// Hands a tensor of the precompute graph to the backward graph.
    pub fn save(&mut self, name: String, datum: DatumType, shape: Vec<usize>) -> String {
        self.precomputed.push((name.clone(), datum, shape));
        name
    }

    /// The forward shape of a tensor; every tensor on the differentiated path has one.
    pub fn shape(&self, tensor: &str) -> Result<Vec<usize>> {
        self.info(tensor).map(|t| t.shape.clone())
    }

    pub fn info(&self, tensor: &str) -> Result<&TensorInfo> {
        self.model.tensor(tensor).ok_or_else(|| Error::Runtime(format!("the shape of tensor `{tensor}` could not be inferred")))
    }

    /// The axis that holds the seed rows (0), if the gradients have one.
    pub fn seed_axis(&self) -> Option<usize> {
        (self.seeds == Seeds::Batched).then_some(0)
    }

    /// The first axis a rule may treat as the tensor's own: 1 past the seed axis, else 0.
    pub fn first_free_axis(&self) -> usize {
        self.seed_axis().map_or(0, |axis| axis + 1)
    }

    /// Reshape to the forward shape of `like`, keeping the seed axis: `[-1, d1, …]`.
    pub fn reshape_like(&mut self, grad: &str, like: &[usize]) -> String {
        let mut target: Vec<i64> = like.iter().map(|&d| d as i64).collect();
        if self.seed_axis().is_some() {
            target[0] = -1;
        }
        let target = self.const_i64(&target);
        self.op("Reshape", &[grad, &target], vec![])
    }

    /// Sums the gradient over the axes where the operand was broadcast, back to its shape.
    pub fn unbroadcast(&mut self, grad: &str, operand: &[usize], output: &[usize]) -> Option<String> {
        let extra = output.len().checked_sub(operand.len())?;
        if extra > 0 && self.seed_axis().is_some() {
            return None; // a lower-rank operand would lose the seed axis; see the rules' errors
        }
        let broadcast = |i: usize| i < extra || (operand[i - extra] == 1 && output[i] != 1);
        let axes: Vec<i64> = (self.first_free_axis()..output.len()).filter(|&i| broadcast(i)).map(|i| i as i64).collect();
        if axes.is_empty() {
            return Some(grad.to_string());
        }
        let axes = self.const_i64(&axes);
        let summed = self.op("ReduceSum", &[grad, &axes], vec![int("keepdims", 1)]);
        Some(if extra > 0 { self.reshape_like(&summed, operand) } else { summed })
    }

    /// Sum of gradient contributions from several consumers.
    pub fn sum(&mut self, parts: &[String]) -> String {
        let mut parts = parts.iter();
        let first = parts.next().expect("a gradient has at least one contribution").clone();
        parts.fold(first, |acc, p| self.op("Add", &[&acc, p], vec![]))
    }
}

pub fn int(name: &str, value: i64) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: AttributeType::Int as i32, i: value, ..Default::default() }
}

pub fn ints(name: &str, values: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: AttributeType::Ints as i32, ints: values.to_vec(), ..Default::default() }
}

pub fn string(name: &str, value: &str) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: AttributeType::String as i32, s: value.as_bytes().to_vec(), ..Default::default() }
}

/// Reading attributes of a forward node.
pub trait Attributes {
    fn attr(&self, name: &str) -> Option<&pb::AttributeProto>;
    fn attr_int(&self, name: &str) -> Option<i64> {
        self.attr(name).map(|a| a.i)
    }
    fn attr_ints(&self, name: &str) -> Option<Vec<i64>> {
        self.attr(name).map(|a| a.ints.clone())
    }
    fn attr_float(&self, name: &str) -> Option<f32> {
        self.attr(name).map(|a| a.f)
    }
    fn attr_string(&self, name: &str) -> Option<String> {
        self.attr(name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }
}

impl Attributes for pb::NodeProto {
    fn attr(&self, name: &str) -> Option<&pb::AttributeProto> {
        self.attribute.iter().find(|a| a.name == name)
    }
}

pub fn float(name: &str, value: f32) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: AttributeType::Float as i32, f: value, ..Default::default() }
}

impl Builder<'_> {
    /// `value = 0.0f32` for ConstantOfShape (whose default element type is not float32 in every runtime).
    pub fn float_zero_attribute(&self) -> pb::AttributeProto {
        pb::AttributeProto {
            name: "value".into(),
            r#type: AttributeType::Tensor as i32,
            t: Some(pb::TensorProto { dims: vec![1], data_type: DataType::Float as i32, float_data: vec![0.0], ..Default::default() }),
            ..Default::default()
        }
    }

    /// Integer values of a constant tensor, e.g. reduction axes.
    pub fn constant_ints(&self, name: &str) -> Option<Vec<i64>> {
        self.model.constant_i64(name)
    }
}
