//! Tiny ONNX graphs built in code, and the finite-difference check every backward rule must pass.

use layercam::model::classifier::Classifier;
use layercam::runtime::Explainer;
use ndarray::{Array2, Array4, Axis};
use tract_onnx::pb;

#[allow(unused_imports)] // each test file uses its own subset
pub use layercam::grad::builder::{float, int, ints, string};

/// A graph with one image-like input `x` of a given shape.
#[derive(Clone)]
pub struct Net {
    nodes: Vec<pb::NodeProto>,
    initializers: Vec<pb::TensorProto>,
    input_shape: Vec<usize>,
    rng: Lcg,
    opset: i64,
}

impl Net {
    pub fn new(input_shape: &[usize]) -> Self {
        Net { nodes: vec![], initializers: vec![], input_shape: input_shape.to_vec(), rng: Lcg(7), opset: 17 }
    }

    /// The ONNX opset the graph declares (17 unless set: Gelu needs 20).
    pub fn with_opset(mut self, opset: i64) -> Self {
        self.opset = opset;
        self
    }

    pub fn node(&mut self, op: &str, inputs: &[&str], attribute: Vec<pb::AttributeProto>) -> String {
        let output = format!("t{}", self.nodes.len());
        self.push(op, inputs, attribute, vec![output.clone()]);
        output
    }

    /// A node with several outputs (Split).
    pub fn node_outputs(&mut self, op: &str, inputs: &[&str], attribute: Vec<pb::AttributeProto>, outputs: usize) -> Vec<String> {
        let outputs: Vec<String> = (0..outputs).map(|i| format!("t{}.{i}", self.nodes.len())).collect();
        self.push(op, inputs, attribute, outputs.clone());
        outputs
    }

    fn push(&mut self, op: &str, inputs: &[&str], attribute: Vec<pb::AttributeProto>, output: Vec<String>) {
        self.nodes.push(pb::NodeProto {
            name: format!("{op}_{}", self.nodes.len()),
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output,
            attribute,
            ..Default::default()
        });
    }

    /// A float constant with random values in [-1, 1).
    pub fn weight(&mut self, dims: &[usize]) -> String {
        let values = self.rng.values(dims.iter().product());
        self.constant(values, dims)
    }

    pub fn constant(&mut self, float_data: Vec<f32>, dims: &[usize]) -> String {
        let name = format!("w{}", self.initializers.len());
        self.initializers.push(pb::TensorProto {
            name: name.clone(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: pb::tensor_proto::DataType::Float as i32,
            float_data,
            ..Default::default()
        });
        name
    }

    pub fn int_constant(&mut self, values: &[i64]) -> String {
        self.int_tensor(values, &[values.len()])
    }

    /// An int64 constant of any shape (`&[]`: a scalar).
    pub fn int_tensor(&mut self, values: &[i64], dims: &[usize]) -> String {
        let name = format!("w{}", self.initializers.len());
        self.initializers.push(pb::TensorProto {
            name: name.clone(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: pb::tensor_proto::DataType::Int64 as i32,
            int64_data: values.to_vec(),
            ..Default::default()
        });
        name
    }

    /// The inferred shape of a tensor of the graph so far.
    pub fn shape_of(&self, tensor: &str) -> Vec<usize> {
        let mut probe = self.clone();
        let flat = probe.node("Flatten", &[tensor], vec![int("axis", 1)]);
        let model = probe.build(&flat);
        model.tensor(tensor).expect("inferred").shape.clone()
    }

    /// Flattens `tensor` and mixes it into 3 logits with a random Gemm.
    pub fn logits_from(&mut self, tensor: &str) -> String {
        let features: usize = self.shape_of(tensor)[1..].iter().product();
        let flat = self.node("Flatten", &[tensor], vec![int("axis", 1)]);
        let w = self.weight(&[3, features]);
        let bias = self.weight(&[3]);
        self.node("Gemm", &[&flat, &w, &bias], vec![int("transB", 1)])
    }

    pub fn proto(self, output: &str) -> pb::ModelProto {
        use pb::tensor_shape_proto::{Dimension, dimension::Value};
        let dims = self.input_shape.iter().map(|&d| Dimension { value: Some(Value::DimValue(d as i64)), ..Default::default() });
        let input = pb::ValueInfoProto {
            name: "x".into(),
            r#type: Some(pb::TypeProto {
                value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                    elem_type: pb::tensor_proto::DataType::Float as i32,
                    shape: Some(pb::TensorShapeProto { dim: dims.collect() }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        };
        pb::ModelProto {
            ir_version: 8,
            opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: self.opset }],
            graph: Some(pb::GraphProto {
                name: "test".into(),
                node: self.nodes,
                initializer: self.initializers,
                input: vec![input],
                output: vec![pb::ValueInfoProto { name: output.into(), ..Default::default() }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    pub fn build(self, output: &str) -> Classifier {
        Classifier::from_proto(self.proto(output)).expect("test graph is valid")
    }
}

/// `proto` planned by tract for an input of shape `input`, with `swap` (one of our kernels'
/// `swap_in`) run on the decluttered model where given; and the names of the plan's ops.
pub fn planned(
    proto: &pb::ModelProto,
    input: &[usize],
    swap: Option<fn(&mut tract_onnx::prelude::TypedModel) -> tract_onnx::prelude::TractResult<()>>,
) -> (std::sync::Arc<tract_onnx::prelude::TypedSimplePlan>, Vec<String>) {
    use tract_onnx::prelude::*;
    let model = onnx().model_for_proto_model(proto).unwrap().with_input_fact(0, f32::fact(input).into()).unwrap();
    let mut model = model.into_typed().unwrap().into_decluttered().unwrap();
    if let Some(swap) = swap {
        swap(&mut model).unwrap();
    }
    let model = model.into_optimized().unwrap();
    let ops = model.nodes.iter().map(|n| n.op().name().into_owned()).collect();
    (model.into_runnable().unwrap(), ops)
}

/// Both plans' outputs on the same input x: (ours, theirs).
pub fn outputs_of(
    ours: &std::sync::Arc<tract_onnx::prelude::TypedSimplePlan>,
    theirs: &std::sync::Arc<tract_onnx::prelude::TypedSimplePlan>,
    x: tract_onnx::prelude::Tensor,
) -> (ndarray::ArrayD<f32>, ndarray::ArrayD<f32>) {
    use tract_onnx::prelude::*;
    let expected = theirs.run(tvec![x.clone().into_tvalue()]).unwrap().remove(0);
    let got = ours.run(tvec![x.into_tvalue()]).unwrap().remove(0);
    assert_eq!(got.shape(), expected.shape());
    (got.to_plain_array_view::<f32>().unwrap().to_owned(), expected.to_plain_array_view::<f32>().unwrap().to_owned())
}

/// max |ours − theirs| / max |theirs| on one random input of shape `input`: how far one of our
/// kernels swapped into a plan lands from tract's own op.
pub fn error_on_random_input(
    ours: &std::sync::Arc<tract_onnx::prelude::TypedSimplePlan>,
    theirs: &std::sync::Arc<tract_onnx::prelude::TypedSimplePlan>,
    input: &[usize],
) -> f32 {
    let x = tract_onnx::prelude::Tensor::from_shape(input, &Lcg(5).values(input.iter().product())).unwrap();
    let (got, expected) = outputs_of(ours, theirs, x);
    let scale = expected.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
    got.iter().zip(&expected).fold(0f32, |m, (a, b)| m.max((a - b).abs())) / scale
}

/// A small deterministic generator: tests must not depend on a random crate's stream.
#[derive(Clone)]
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    pub fn values(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

/// Random input values kept at least `margin` away from each of `kinks`, so that a central
/// difference never straddles a point where the function is not differentiable.
pub fn input_avoiding(shape: &[usize], kinks: &[f32], margin: f32, scale: f32) -> Array4<f32> {
    let mut rng = Lcg(11);
    let n = shape.iter().product();
    let values = (0..n)
        .map(|_| {
            loop {
                let v = rng.next() * scale;
                if kinks.iter().all(|k| (v - k).abs() > margin) {
                    break v;
                }
            }
        })
        .collect();
    Array4::from_shape_vec((shape[0], shape[1], shape[2], shape[3]), values).unwrap()
}

/// Compares ∂(seed_k · logits)/∂x from the backward graph with central differences of the
/// forward graph, for two seed rows at once. Returns the worst error relative to the gradient's
/// largest magnitude.
pub fn check_against_finite_differences(model: &Classifier, x: &Array4<f32>, step: f32) -> f32 {
    let explainer = Explainer::new(model, &["x".to_string()]).expect("differentiable");
    let seed = Array2::from_shape_vec((2, model.classes), Lcg(3).values(2 * model.classes)).unwrap();
    let forward = explainer.forward(x.view()).unwrap();
    let analytic = explainer.backward_seeded(&forward, seed.view()).unwrap().remove(0);
    assert_eq!(analytic.shape()[1..], x.shape()[1..], "the gradient has the input's shape");
    let loss = |x: &Array4<f32>, row: usize| -> f32 {
        let logits = explainer.forward(x.view()).unwrap().logits;
        logits.iter().zip(seed.row(row)).map(|(l, s)| l * s).sum()
    };
    let scale = analytic.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
    let mut worst = 0f32;
    for row in 0..2 {
        let grad = analytic.index_axis(Axis(0), row);
        for (index, &a) in grad.indexed_iter() {
            let (mut plus, mut minus) = (x.clone(), x.clone());
            let i = (0, index.0, index.1, index.2);
            plus[i] += step;
            minus[i] -= step;
            let numeric = (loss(&plus, row) - loss(&minus, row)) / (2.0 * step);
            worst = worst.max((numeric - a).abs() / scale);
        }
    }
    worst
}
