//! Matrix products over a batch of seed rows, one sample at a time.
//!
//! A backward of K classes carries `[K, C, H, W]` gradients. tract runs each 1×1 convolution over
//! them as one matrix product with the K samples folded into its N axis, which needs the channel
//! axis moved out of the way and back: two full transpositions per convolution (64 MoveAxis nodes,
//! 62–72 ms of a 5-class backward of EfficientNet-Lite0, more than its products). Where the maps are
//! large, running the product once per sample through a plan tract builds for one sample costs two
//! contiguous copies instead; where they are small (7×7), folding keeps the product efficient and
//! the transpositions are cheap, so those stay tract's.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::einsum::EinSum;

/// From this many positions per map on, a batched product runs per sample.
const PER_SAMPLE_FROM: usize = 28 * 28;

/// An op of one image-dependent input run on each sample of its batch by a one-sample plan.
#[derive(Clone, Debug)]
pub struct PerSample {
    plan: Arc<TypedSimplePlan>,
    name: String,
}

impl PartialEq for PerSample {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.plan, &other.plan)
    }
}

impl Eq for PerSample {}

impl Op for PerSample {
    fn name(&self) -> StaticName {
        format!("PerSample({})", self.name).into()
    }

    op_as_typed_op!();
}

impl EvalOp for PerSample {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let outputs = (0..input.shape()[0])
            .map(|n| Ok(self.plan.run(tvec![input.slice(0, n, n + 1)?.into_tvalue()])?.remove(0)))
            .collect::<TractResult<Vec<_>>>()?;
        Ok(tvec![Tensor::stack_tensors(0, &outputs)?.into_tvalue()])
    }
}

impl TypedOp for PerSample {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut fact = self.plan.model().output_fact(0)?.without_value();
        fact.shape.set(0, inputs[0].shape[0].clone());
        Ok(tvec![fact])
    }

    as_op!();
}

/// Wraps every matrix product of a decluttered model whose one image-dependent input is a batch
/// of large maps `[K > 1, C, H, W]` (its other inputs constant); `plan` makes the one-sample plan.
pub fn wrap_batched_products(model: &mut TypedModel, plan: impl Fn(TypedModel) -> TractResult<Arc<TypedSimplePlan>>) -> TractResult<()> {
    for id in 0..model.nodes.len() {
        let node = &model.nodes[id];
        let Some(einsum) = node.op_as::<EinSum>() else { continue };
        let facts: TVec<TypedFact> = node.inputs.iter().map(|i| model.outlet_fact(*i).cloned()).collect::<TractResult<_>>()?;
        let variable: Vec<usize> = (0..facts.len()).filter(|&i| facts[i].konst.is_none()).collect();
        let [image] = variable[..] else { continue };
        let Some(shape) = facts[image].shape.as_concrete() else { continue };
        if shape.len() != 4 || shape[0] < 2 || shape[2] * shape[3] < PER_SAMPLE_FROM {
            continue;
        }
        let mut one = TypedModel::default();
        let mut sample = shape.to_vec();
        sample[0] = 1;
        let wires = (facts.iter().enumerate())
            .map(|(i, fact)| match &fact.konst {
                Some(value) => one.add_const(format!("input{i}"), value.clone()),
                None => one.add_source("sample", f32::fact(&sample)),
            })
            .collect::<TractResult<TVec<_>>>()?;
        let output = one.wire_node(&node.name, einsum.clone(), &wires)?;
        one.select_output_outlets(&output)?;
        let op = PerSample { plan: plan(one)?, name: einsum.name().into_owned() };
        ensure!(
            op.output_facts(&[&facts[image]])?[0].shape == node.outputs[0].fact.shape,
            "{}: the per-sample product's shape differs",
            node.name
        );
        TypedModelPatch::replace_single_op(model, node, &[node.inputs[image]], op)?.apply(model)?;
    }
    Ok(())
}
