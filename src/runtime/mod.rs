//! Runs the differentiated graphs with tract: the forward once per image, the backward once per
//! set of classes (K classes in one run, from a seed batch), reusing the forward's tensors.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ndarray::{Array2, Array3, Array4, ArrayView2, ArrayView3, ArrayView4, Axis, Ix2, Ix3, Ix4, s};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::optim::Optimizer;
use tract_onnx::tract_core::plan::{SimpleState, eval};

use crate::cam;
use crate::error::guarded;
use crate::grad::{self, Differentiated, Seeds};
use crate::model::classifier::Classifier;
use crate::model::layers::{GradientFrom, Layer, TokenGrid, map_shape, strided_consumer, strides};
use crate::{Error, Result};

mod clamp_grad;
pub mod dense;
pub mod depthwise;
mod fold;
mod per_sample;
pub mod pointwise;
pub mod simd;

type Plan = Arc<TypedSimplePlan>;

/// A classifier prepared to explain a fixed set of layers: parsed, differentiated, planned.
pub struct Explainer {
    pub input_shape: [usize; 4],
    pub classes: usize,
    pub layers: Vec<Layer>,
    pub gradient_from: GradientFrom,
    /// Per layer, the differentiated tensor whose gradient weighs it: its own index, or (with
    /// [`GradientFrom::Next`]) that of its strided consumer's output, appended after the layers.
    gradient_source: Vec<usize>,
    forward: Plan,
    backward: tract_onnx::pb::ModelProto,
    /// Whether one backward run takes K seed rows or one.
    seeds: Seeds,
    /// One backward plan per seed batch size: tract plans for concrete shapes run fastest.
    backward_plans: Mutex<HashMap<usize, Plan>>,
    /// The classifier alone, its logits the only output: Score-CAM's masked passes run it.
    classifier: tract_onnx::pb::ModelProto,
    /// Its plans, one per batch size, made on first use.
    logits_plans: Mutex<HashMap<usize, Plan>>,
    /// Whether the model gives each input of a batch its own logits (a graph may fold the batch
    /// axis into another), checked on the first batch; else the passes run one input at a time.
    batches: OnceLock<bool>,
}

/// Score-CAM's masked inputs per run of the classifier (pytorch-grad-cam's default batch).
pub const MASKED_BATCH: usize = 16;

/// What one forward run gives: logits, each layer's activation, and the tensors the backward reads.
#[derive(Clone, Debug)]
pub struct Forward {
    pub logits: Vec<f32>,
    /// One per layer ([`Forward::activations`]).
    activations: Vec<Activation>,
    saved: Vec<TValue>,
}

impl Forward {
    /// Bytes of the tensors the forward keeps for the backward (the activations of the chosen
    /// layers included): what one explained photo holds between its forward and its backwards.
    pub fn saved_bytes(&self) -> usize {
        self.saved.iter().map(|t| t.len() * t.datum_type().size_of()).sum()
    }

    /// Each layer's activation `[C, H, W]`.
    pub fn activations(&self) -> Vec<ArrayView3<'_, f32>> {
        self.activations.iter().map(Activation::view).collect()
    }

    /// Layer `layer`'s activation `[C, H, W]`.
    pub fn activation(&self, layer: usize) -> ArrayView3<'_, f32> {
        self.activations[layer].view()
    }
}

/// A layer's activation: the forward's own `[1, C, H, W]` tensor, read where it lies (copying
/// EfficientNet-Lite0's five, 4.4 MB, took 0.15–0.5 ms of its 5.5 ms forward natively), or a
/// transformer's tokens laid out on their grid, a copy.
#[derive(Clone, Debug)]
enum Activation {
    Map(TValue),
    Tokens(Array3<f32>),
}

impl Activation {
    fn new(tensor: &TValue, tokens: Option<TokenGrid>) -> Result<Activation> {
        if tokens.is_some() {
            return Ok(Activation::Tokens(as_maps(tensor, tokens)?.index_axis_move(Axis(0), 0)));
        }
        let shape = tensor.shape();
        if tensor.datum_type() != f32::datum_type() || shape.len() != 4 || shape[0] != 1 || !tensor.is_plain_ram() {
            return Err(Error::Runtime(format!("a layer's tensor is {:?} {shape:?}, not f32 [1, C, H, W]", tensor.datum_type())));
        }
        Ok(Activation::Map(tensor.clone()))
    }

    fn view(&self) -> ArrayView3<'_, f32> {
        match self {
            Activation::Map(tensor) => {
                let view = tensor.to_plain_array_view::<f32>().expect("checked: plain f32");
                view.into_dimensionality::<Ix4>().expect("checked: [1, C, H, W]").index_axis_move(Axis(0), 0)
            }
            Activation::Tokens(grid) => grid.view(),
        }
    }
}

impl Explainer {
    /// Differentiates `model` for `layers` (tensor names) and optimises both plans.
    pub fn new(model: &Classifier, layers: &[String]) -> Result<Self> {
        Explainer::with_gradient_from(model, layers, GradientFrom::Layer)
    }

    /// [`Explainer::new`], each layer weighed by the gradient `from` says.
    pub fn with_gradient_from(model: &Classifier, layers: &[String], from: GradientFrom) -> Result<Self> {
        guarded("differentiating and planning", || Explainer::prepare(model, layers, from))
    }

    fn prepare(model: &Classifier, layers: &[String], from: GradientFrom) -> Result<Self> {
        let layers = layers.iter().map(|name| layer(model, name)).collect::<Result<Vec<_>>>()?;
        let mut targets: Vec<String> = layers.iter().map(|l| l.name.clone()).collect();
        let mut gradient_source: Vec<usize> = (0..layers.len()).collect();
        if from == GradientFrom::Next {
            for (i, layer) in layers.iter().enumerate() {
                if let Some(next) = strided_consumer(model, &layer.name) {
                    gradient_source[i] = targets.iter().position(|t| *t == next).unwrap_or_else(|| {
                        targets.push(next);
                        targets.len() - 1
                    });
                }
            }
        }
        let Differentiated { forward, backward, seeds, .. } = grad::differentiate(model, &targets)?;
        let input_fact = f32::fact(model.input_shape).into();
        // The one-class backward is planned now rather than on the first click (planning is most of
        // a first backward's time), and a model whose backward tract cannot plan is refused here.
        // The two plans are independent: on two threads where the engine has them.
        let (forward_plan, one_class) =
            both(|| plan(&forward, |m| m.with_input_fact(0, input_fact)), || backward_plan(&backward, 1, model.classes));
        let forward = forward_plan?;
        Ok(Explainer {
            input_shape: model.input_shape,
            classes: model.classes,
            layers,
            gradient_from: from,
            gradient_source,
            forward,
            backward,
            seeds,
            backward_plans: Mutex::new(HashMap::from([(1, one_class?)])),
            classifier: logits_only(model),
            logits_plans: Mutex::new(HashMap::new()),
            batches: OnceLock::new(),
        })
    }

    /// Every layer's stride (input size ÷ map size), for the fusion rule of [`crate::cam::stages`].
    pub fn strides(&self) -> Vec<f32> {
        strides(&self.layers, [self.input_shape[2], self.input_shape[3]])
    }

    /// Runs the classifier on a preprocessed `[1, C, H, W]` input.
    pub fn forward(&self, input: ArrayView4<f32>) -> Result<Forward> {
        if input.shape() != self.input_shape {
            return Err(Error::Input(format!("the input has shape {:?}; the model takes {:?}", input.shape(), self.input_shape)));
        }
        if input.iter().any(|v| !v.is_finite()) {
            return Err(Error::Input("the input contains NaN or infinite values".into()));
        }
        let input = Tensor::from(input.to_owned()).into_tvalue();
        let mut outputs = run(&self.forward, tvec![input], "the forward run")?.into_iter();
        let logits = outputs.next().expect("logits are the first output");
        let logits = logits.to_plain_array_view::<f32>().map_err(Error::runtime)?.iter().copied().collect();
        let targets: Vec<TValue> = (&mut outputs).take(self.targets()).collect();
        let activations = targets.iter().zip(&self.layers).map(|(t, layer)| Activation::new(t, layer.tokens)).collect::<Result<Vec<_>>>()?;
        Ok(Forward { logits, activations, saved: outputs.collect() })
    }

    /// Gradients of the given classes' logits for every layer: one `[K, C, H, W]` per layer.
    pub fn backward(&self, forward: &Forward, classes: &[usize]) -> Result<Vec<Array4<f32>>> {
        let mut seed = Array2::zeros((classes.len(), self.classes));
        for (row, &class) in classes.iter().enumerate() {
            if class >= self.classes {
                return Err(Error::Input(format!("class {class} does not exist; the model has {}", self.classes)));
            }
            seed[(row, class)] = 1.0;
        }
        self.backward_seeded(forward, seed.view())
    }

    /// Gradients of `seed_k · logits` for each seed row k (a one-hot row selects one class).
    pub fn backward_seeded(&self, forward: &Forward, seed: ArrayView2<f32>) -> Result<Vec<Array4<f32>>> {
        if seed.ncols() != self.classes || seed.nrows() == 0 {
            return Err(Error::Input(format!("the seed must be [K ≥ 1, {}], not {:?}", self.classes, seed.shape())));
        }
        let rows_per_run = match self.seeds {
            Seeds::Batched => seed.nrows(),
            Seeds::Single => 1,
        };
        let runs = seed.axis_chunks_iter(Axis(0), rows_per_run).map(|rows| self.run_backward(forward, rows)).collect::<Result<Vec<_>>>()?;
        let mut gradients = stack_runs(runs)?;
        // Layers weighed by another tensor's gradient first (it may be another layer's), then the
        // others take their own without a copy.
        let borrowed: Vec<Option<Array4<f32>>> = (self.layers.iter().zip(&self.gradient_source).enumerate())
            .map(|(i, (layer, &source))| (source != i).then(|| resized(&gradients[source], layer)))
            .collect();
        Ok(borrowed.into_iter().enumerate().map(|(i, gradient)| gradient.unwrap_or_else(|| std::mem::take(&mut gradients[i]))).collect())
    }

    /// One run of the backward plan: `[rows, …]` per differentiated tensor.
    fn run_backward(&self, forward: &Forward, seed: ArrayView2<f32>) -> Result<Vec<Array4<f32>>> {
        let plan = guarded("planning the backward", || self.backward_plan(seed.nrows()))?;
        let inputs: TVec<TValue> =
            std::iter::once(Tensor::from(seed.to_owned()).into_tvalue()).chain(forward.saved.iter().cloned()).collect();
        let outputs = run(&plan, inputs, "the backward run")?;
        // The layers' gradients, then those of the strided consumers (maps).
        outputs.iter().enumerate().map(|(i, t)| as_maps(t, self.layers.get(i).and_then(|l| l.tokens))).collect()
    }

    /// How many tensors are differentiated: the layers, then the strided consumers' outputs.
    fn targets(&self) -> usize {
        self.gradient_source.iter().copied().max().map_or(0, |m| m + 1).max(self.layers.len())
    }

    fn backward_plan(&self, seeds: usize) -> Result<Plan> {
        let mut plans = self.backward_plans.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(plan) = plans.get(&seeds) {
            return Ok(plan.clone());
        }
        let built = backward_plan(&self.backward, seeds, self.classes)?;
        plans.insert(seeds, built.clone());
        Ok(built)
    }
}

/// Score-CAM's forward passes.
impl Explainer {
    /// The logits of `input` seen through each Score-CAM mask of `channels`
    /// ([`cam::scorecam::channel_masks`] of `activation`, a layer's activation of this input):
    /// `[channels, classes]`, [`MASKED_BATCH`] inputs (at most) per run of the classifier.
    pub fn masked_logits(&self, input: ArrayView4<f32>, activation: ArrayView3<f32>, channels: Range<usize>) -> Result<Array2<f32>> {
        let [_, _, height, width] = self.input_shape;
        if channels.end > activation.dim().0 {
            return Err(Error::Input(format!("channels {channels:?} of a layer with {}", activation.dim().0)));
        }
        let mut logits = Array2::zeros((channels.len(), self.classes));
        let batch = channels.len().clamp(1, MASKED_BATCH);
        for start in channels.clone().step_by(batch) {
            let chunk = start..(start + batch).min(channels.end);
            let masks = cam::scorecam::channel_masks(activation, chunk.clone(), (height, width));
            let inputs = cam::scorecam::masked_inputs(input, masks.view());
            let rows = chunk.start - channels.start..chunk.end - channels.start;
            logits.slice_mut(s![rows, ..]).assign(&self.batch_logits(inputs.view(), batch)?);
        }
        Ok(logits)
    }

    /// The logits of each input `[n ≤ batch, C, H, W]`, in one run of a plan for `batch` inputs
    /// (padded with zeros) where the model batches, else one run each. The first batch is checked
    /// against a run of its first input alone: a graph may fold the batch axis into another.
    fn batch_logits(&self, inputs: ArrayView4<f32>, batch: usize) -> Result<Array2<f32>> {
        let n = inputs.dim().0;
        let alone = |x: ArrayView3<f32>| self.forward(x.insert_axis(Axis(0))).map(|f| f.logits);
        if batch == 1 || self.batches.get() == Some(&false) {
            let rows = inputs.outer_iter().map(alone).collect::<Result<Vec<_>>>()?;
            return Array2::from_shape_vec((n, self.classes), rows.concat()).map_err(Error::runtime);
        }
        let mut padded = Array4::zeros((batch, inputs.dim().1, inputs.dim().2, inputs.dim().3));
        padded.slice_mut(s![..n, .., .., ..]).assign(&inputs);
        let batched = self.run_logits(padded, batch);
        if self.batches.get().is_none() {
            let first = alone(inputs.index_axis(Axis(0), 0))?;
            let scale = first.iter().fold(1e-6f32, |m, l| m.max(l.abs()));
            let agrees = |b: &Array2<f32>| b.row(0).iter().zip(&first).all(|(a, b)| (a - b).abs() <= 1e-4 * scale);
            let verdict = batched.as_ref().is_ok_and(agrees);
            self.batches.get_or_init(|| verdict);
            if !verdict {
                return self.batch_logits(inputs, batch);
            }
        }
        Ok(batched?.slice(s![..n, ..]).to_owned())
    }

    /// One run of the classifier planned for `batch` inputs: `[batch, classes]`.
    fn run_logits(&self, inputs: Array4<f32>, batch: usize) -> Result<Array2<f32>> {
        let plan = guarded("planning the masked passes", || self.logits_plan(batch))?;
        let outputs = run(&plan, tvec![Tensor::from(inputs).into_tvalue()], "the masked passes")?;
        let logits = outputs[0].to_plain_array_view::<f32>().map_err(Error::runtime)?;
        let logits = logits.into_dimensionality::<Ix2>().map_err(|e| Error::Runtime(format!("batched logits: {e}")))?;
        if logits.dim() != (batch, self.classes) {
            return Err(Error::Runtime(format!("a batch of {batch} gave logits of shape {:?}", logits.shape())));
        }
        Ok(logits.to_owned())
    }

    fn logits_plan(&self, batch: usize) -> Result<Plan> {
        let mut plans = self.logits_plans.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(plan) = plans.get(&batch) {
            return Ok(plan.clone());
        }
        let [_, channels, height, width] = self.input_shape;
        let fact = f32::fact([batch, channels, height, width]).into();
        let built = plan(&self.classifier, |m| m.with_input_fact(0, fact))?;
        plans.insert(batch, built.clone());
        Ok(built)
    }
}

/// The classifier's graph with its logits as the only output (no activations kept for a backward).
fn logits_only(model: &Classifier) -> tract_onnx::pb::ModelProto {
    let mut proto = model.proto.clone();
    let graph = proto.graph.as_mut().expect("checked when parsed");
    graph.output = vec![tract_onnx::pb::ValueInfoProto { name: model.logits.clone(), ..Default::default() }];
    proto
}

/// Each tensor's gradients of several runs, their seed rows one after the other.
fn stack_runs(mut runs: Vec<Vec<Array4<f32>>>) -> Result<Vec<Array4<f32>>> {
    if runs.len() == 1 {
        return Ok(runs.remove(0));
    }
    (0..runs[0].len())
        .map(|t| {
            let views: Vec<_> = runs.iter().map(|run| run[t].view()).collect();
            ndarray::concatenate(Axis(0), &views).map_err(Error::runtime)
        })
        .collect()
}

/// Where one run of a plan spends its time, per kind of tract operator (the optimised plan's ops:
/// `OptMatMul`, `DepthWise`, `Add`…): total milliseconds and how many nodes, slowest first.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct OpTime {
    pub op: String,
    pub ms: f64,
    pub nodes: usize,
}

/// A profile of the forward and of a K-class backward on one input.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    pub forward: Vec<OpTime>,
    pub backward: Vec<OpTime>,
    pub classes: usize,
}

impl Explainer {
    /// Runs the forward and a backward of the first `classes` classes, node by node through tract's
    /// own evaluation, timing each node with `now` (the browser has no `Instant`).
    pub fn profile(&self, input: ArrayView4<f32>, classes: usize, now: fn() -> Duration) -> Result<Profile> {
        let classes = classes.clamp(1, self.classes);
        let mut seed = Array2::<f32>::zeros((classes, self.classes));
        seed.diag_mut().fill(1.0);
        // One untimed run of each: the saved tensors, the backward's plan, warm caches.
        let forward = self.forward(input)?;
        self.backward_seeded(&forward, seed.view())?;
        let input = tvec![Tensor::from(input.to_owned()).into_tvalue()];
        let seeded = std::iter::once(Tensor::from(seed).into_tvalue()).chain(forward.saved.iter().cloned()).collect();
        let backward = timed(&self.backward_plan(classes)?, seeded, now)?;
        Ok(Profile { forward: timed(&self.forward, input, now)?, backward, classes })
    }
}

/// One run of `plan`, each node's evaluation timed and summed per operator name.
fn timed(plan: &Plan, inputs: TVec<TValue>, now: fn() -> Duration) -> Result<Vec<OpTime>> {
    let mut times: HashMap<String, (Duration, usize)> = HashMap::new();
    let mut state = SimpleState::new(plan).map_err(Error::runtime)?;
    on_pool(|| {
        state.run_plan_with_eval(inputs, |context, op_state, node, inputs| {
            let started = now();
            let outputs = eval(context, op_state, node, inputs);
            let entry = times.entry(node.op().name().into_owned()).or_default();
            entry.0 += now() - started;
            entry.1 += 1;
            outputs
        })
    })
    .map_err(Error::runtime)?;
    let mut list: Vec<OpTime> = times.into_iter().map(|(op, (time, nodes))| OpTime { op, ms: time.as_secs_f64() * 1e3, nodes }).collect();
    list.sort_by(|a, b| b.ms.total_cmp(&a.ms));
    Ok(list)
}

static THREADS: AtomicUsize = AtomicUsize::new(1);

/// Whether tract's matrix products and our kernels share out their work over rayon's global pool
/// (`threads` > 1: natively one thread per core; in the browser, only the threaded worker, feature
/// `threads`, has a pool: the one wasm-bindgen-rayon started) or run on the caller's thread. One
/// image at a time wants every core; a folder run already gives each core its own image, and
/// wants 1.
pub fn set_threads(threads: usize) {
    use tract_linalg::multithread::{Executor, set_default_executor};
    let threads = if cfg!(any(not(target_arch = "wasm32"), feature = "threads")) { threads.max(1) } else { 1 };
    THREADS.store(threads, Ordering::Relaxed);
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    set_default_executor(if threads > 1 { Executor::RayonGlobal } else { Executor::SingleThread });
    // tract threads a matrix-vector product from 2^21 multiply-adds natively; the classifier's
    // (1280 → 1000, 1.3 M) reads 5 MB of weights, which two cores read faster than one: tract's
    // profile, forward and backward 0.4 → 0.2-0.3 ms each. (In WebAssembly tract keeps its own
    // gate: a dispatch to the worker's pool costs ~50 µs there.)
    #[cfg(not(target_arch = "wasm32"))]
    tract_linalg::multithread::set_threading_mac_threshold(1 << 20);
    #[cfg(all(target_arch = "wasm32", not(feature = "threads")))]
    set_default_executor(Executor::SingleThread);
}

/// The threads [`set_threads`] chose last (1 until it is called).
pub fn threads() -> usize {
    THREADS.load(Ordering::Relaxed)
}

/// Checks a layer name and reads its map shape.
fn layer(model: &Classifier, name: &str) -> Result<Layer> {
    let Some(info) = model.tensor(name).filter(|t| t.variable) else {
        return Err(Error::UnknownLayer { name: name.to_string(), valid: crate::model::layers::candidate_names(model) });
    };
    let (shape, tokens) = map_shape(model, &info.shape).ok_or_else(|| {
        Error::Input(format!(
            "layer `{name}` has shape {:?}; a layer to explain is a map [1, C, H, W] or transformer tokens \
             [1, N, D] on a grid (see --tokens)",
            info.shape
        ))
    })?;
    Ok(Layer { name: name.to_string(), shape, tokens })
}

/// A layer's tensor, or its gradient, `[K, …]` as maps `[K, C, H, W]`: token tensors `[K, N, D]`
/// lose their first `skip` tokens and are laid out on the grid.
fn as_maps(t: &TValue, tokens: Option<TokenGrid>) -> Result<Array4<f32>> {
    let Some(grid) = tokens else { return to_array4(t) };
    let view = t.to_plain_array_view::<f32>().map_err(Error::runtime)?;
    let view = view.into_dimensionality::<Ix3>().map_err(|e| Error::Runtime(format!("expected tokens [K, N, D]: {e}")))?;
    let (k, d) = (view.shape()[0], view.shape()[2]);
    let patches = view.slice(ndarray::s![.., grid.skip.., ..]).to_owned();
    let grid_last = patches.into_shape_with_order((k, grid.height, grid.width, d)).map_err(Error::runtime)?;
    Ok(grid_last.permuted_axes([0, 3, 1, 2]).as_standard_layout().into_owned())
}

/// The backward planned for `seeds` rows of `classes` seeds.
fn backward_plan(backward: &tract_onnx::pb::ModelProto, seeds: usize, classes: usize) -> Result<Plan> {
    plan(backward, |m| m.with_input_fact(0, f32::fact([seeds, classes]).into()))
}

/// One run of `plan`, on the engine's pool ([`on_pool`]); a panic in tract is an error of `stage`.
fn run(plan: &Plan, inputs: TVec<TValue>, stage: &str) -> Result<TVec<TValue>> {
    guarded(stage, || on_pool(|| plan.run(inputs)).map_err(Error::runtime))
}

/// Runs `f` on one of the engine's pool threads where it has more than one, so that each op's
/// work is shared out among the pool's threads: a caller outside the pool sleeps through every
/// op and is woken after it. Natively on this 2-core machine, the forward takes 17.3–18.0 ms on
/// one thread and 14.6–15.7 on two from a pool thread, where from outside it gained nothing.
/// The pool's other threads stay awake meanwhile ([`Awake`]).
///
/// A caller runs a whole request through it (an image's preprocessing, forward, backward and
/// maps: `explain_files`, `layercam bench`'s per-image figure), so that the other threads stay
/// awake between the plans too. Each plan on its own left them idle through the preprocessing and
/// the CAM maths, and one in eight forwards after that ran at one thread's speed (12–15 ms for
/// 6–7): the other thread took 1–4 ms to start its copy of [`Awake`] (an idle virtual CPU of
/// this VM is slow to wake) and had given up looking for work by the time it found some.
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    {
        if threads() > 1 {
            // `scope` runs its body on a pool thread (in place when called from one).
            return rayon::scope(|_| {
                let _awake = Awake::start();
                f()
            });
        }
    }
    f()
}

/// While it lives, the pool's other threads look for work without pause (rayon's `yield_now`)
/// instead of falling asleep between a plan's ops: a thread asleep takes 50–150 µs to wake on
/// this VM, for each op that shares out its work (a join of two 100 µs halves after a 200 µs
/// pause took 251 µs, 110 with the other thread awake).
#[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
struct Awake {
    running: Arc<std::sync::atomic::AtomicBool>,
    was_in_run: bool,
}

/// How many times in a row a thread kept awake by [`Awake`] finds no work before it stops looking
/// (rayon's own loop then lets it fall asleep): 1.8-2.5 ms natively here, longer than any op
/// that runs on one thread (the stem's convolution: 0.6 ms).
#[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
const IDLE_ROUNDS: u32 = 1 << 15;

#[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
thread_local! {
    /// Whether this thread runs a plan (its stack holds one, below whatever it does now).
    static IN_RUN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
impl Awake {
    fn start() -> Awake {
        let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let spinning = running.clone();
        // A copy for each thread of the pool, not one job for "another" thread: a job spawned from
        // here goes to this thread's own queue, where this thread itself may take it back (waiting
        // in its first op's join) before a slow-waking other thread steals it, and then nobody
        // spins.
        rayon::spawn_broadcast(move |_| {
            // The thread that runs a plan gets its copy while it waits for a share of an op (or
            // after): it must go back to that plan, which may be the one that ends this wait.
            if IN_RUN.get() {
                return;
            }
            // A thread may also get its copy while it waits inside a share of an op that it took
            // (its own copy comes before other threads' work only when it is idle); spinning there
            // until the run ends would wait for itself. So it spins only while it finds work now
            // and then: after IDLE_ROUNDS without any it goes back to rayon's own loop.
            let mut idle = 0;
            while spinning.load(Ordering::Relaxed) && idle < IDLE_ROUNDS {
                if rayon::yield_now() == Some(rayon::Yield::Executed) {
                    idle = 0;
                } else {
                    idle += 1;
                    std::hint::spin_loop();
                }
            }
        });
        Awake { running, was_in_run: IN_RUN.replace(true) }
    }
}

#[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
impl Drop for Awake {
    fn drop(&mut self) {
        self.running.store(false, Ordering::Relaxed);
        IN_RUN.set(self.was_in_run);
    }
}

/// Runs `a` and `b`, on two threads where the engine has more than one (natively, and in the
/// threaded worker: its wasm-bindgen-rayon pool), else one after the other.
fn both<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    {
        if threads() > 1 {
            return rayon::join(a, b);
        }
    }
    (a(), b())
}

/// An output `[rows, cols]` that several threads write parts of at once: a pointer, since the
/// parts interleave in memory (a product's blocks of columns; a depthwise op's planes, one block
/// of channels a thread, each channel's planes one per sample, apart).
pub struct Out<'a> {
    pub(crate) ptr: *mut f32,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    _out: std::marker::PhantomData<&'a mut [f32]>,
}

// Safety: the threads write parts that do not overlap (the contract of each writer).
unsafe impl Send for Out<'_> {}
unsafe impl Sync for Out<'_> {}

impl<'a> Out<'a> {
    pub fn new(out: &'a mut [f32], cols: usize) -> Out<'a> {
        assert!(cols > 0 && out.len().is_multiple_of(cols), "an output of whole rows");
        Out { ptr: out.as_mut_ptr(), rows: out.len() / cols, cols, _out: std::marker::PhantomData }
    }

    /// Row `i`.
    ///
    /// # Safety
    /// No other reference to row `i` lives meanwhile.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn row(&self, i: usize) -> &mut [f32] {
        assert!(i < self.rows, "row {i} of {}", self.rows);
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(i * self.cols), self.cols) }
    }
}

/// How many blocks an op of `elements` floats of work is cut into for the threads, `items` at
/// most: four a thread, as tract's row-parallel ops do, or one where there is one thread or too
/// little work for sharing it out to pay (tract's threshold).
pub fn blocks(elements: usize, items: usize) -> usize {
    if threads() > 1 && elements >= threading_threshold() { (4 * threads()).min(items) } else { 1.min(items) }
}

/// tract's threshold for sharing a row-parallel op out (none where there are no threads to share
/// it with: the plain browser worker).
fn threading_threshold() -> usize {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    return tract_linalg::multithread::current_threading_element_threshold();
    #[cfg(not(any(not(target_arch = "wasm32"), feature = "threads")))]
    usize::MAX
}

/// `f(0), f(1), …, f(n − 1)`, shared out over the engine's threads where it has more than one
/// (natively, and in the threaded worker), else one after the other.
pub fn shared_out<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    {
        if threads() > 1 {
            use rayon::prelude::*;
            return (0..n).into_par_iter().map(f).collect();
        }
    }
    (0..n).map(f).collect()
}

/// Loads a proto into tract, fixes its input facts and optimises it into a runnable plan.
fn plan(proto: &tract_onnx::pb::ModelProto, with_facts: impl FnOnce(InferenceModel) -> TractResult<InferenceModel>) -> Result<Plan> {
    let model = reader().model_for_proto_model(proto).map_err(Error::runtime)?;
    with_facts(model).and_then(|m| m.into_typed()).and_then(optimised).and_then(|m| m.into_runnable()).map_err(Error::runtime)
}

/// tract's ONNX reader, with the operators our differentiated graphs add to ONNX's.
fn reader() -> tract_onnx::Onnx {
    let mut onnx = onnx();
    onnx.op_register.insert(grad::CLAMP_GRAD, clamp_grad::parse);
    onnx
}

/// tract's declutter and codegen passes, but for PushSliceUp: a backward graph holds a Slice per
/// concatenated input (DenseNet: each layer's gradient slices those of all earlier layers), and that
/// pass rewrites the graph once per slice, re-ordering it each time — 14.7 s to plan a narrow
/// DenseNet-121's backward (perf: eval_order_for_nodes and ModelPatch::apply), 0.9 s without it.
fn optimised(mut model: TypedModel) -> TractResult<TypedModel> {
    let mut declutter = Optimizer::declutter();
    declutter.passes.retain(|pass| !format!("{pass:?}").starts_with("PushSliceUp"));
    declutter.session().optimize(&mut model)?;
    depthwise::swap_in(&mut model)?;
    dense::swap_in(&mut model)?;
    pointwise::swap_in(&mut model)?;
    per_sample::wrap_batched_products(&mut model, |one| optimised(one)?.into_runnable())?;
    model.optimize()?;
    Ok(model)
}

/// `[K, C, h, w]` gradients resized bilinearly to the layer's `[H, W]`.
fn resized(gradient: &Array4<f32>, layer: &Layer) -> Array4<f32> {
    let [_, height, width] = layer.shape;
    let (k, c, _, _) = gradient.dim();
    let mut out = Array4::zeros((k, c, height, width));
    for (sample, channel) in ndarray::indices((k, c)) {
        let from = gradient.slice(ndarray::s![sample, channel, .., ..]);
        out.slice_mut(ndarray::s![sample, channel, .., ..]).assign(&cam::upsample_bilinear(from, height, width));
    }
    out
}

fn to_array4(t: &TValue) -> Result<Array4<f32>> {
    let view = t.to_plain_array_view::<f32>().map_err(Error::runtime)?;
    view.into_dimensionality::<Ix4>().map(|v| v.to_owned()).map_err(|e| Error::Runtime(format!("expected a 4-D tensor: {e}")))
}
