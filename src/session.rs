//! The worker's side of the page: one model, one image, answering [`Request`]s with
//! [`Response`]s. Plain Rust, so the same session runs natively in tests, in the browser's Web
//! Worker, and in a wasm-bindgen test.

use std::time::Duration;

use image::RgbImage;
use ndarray::{Array2, Array4};

use crate::cam::{Fusion, Method, Smoothing, stages};
use crate::display;
use crate::experiments::occlusion;
use crate::explain::{Prediction, Run, Settings, layer_raw_maps, runs, runs_raw_maps, softmax, top_classes};
use crate::live::{self, Target};
use crate::model::Model;
use crate::model::labels::Labels;
use crate::model::layers::{GradientFrom, candidates};
use crate::model::preprocess;
use crate::model::sidecar::Sidecar;
use crate::protocol::{ClassRawMaps, ModelInfo, OcclusionReport, Picture, Request, Response, ScoreProgress, Span};
use crate::report;
use crate::runtime::{self, Explainer};
use crate::{Error, Result};

/// How many classes the page lists.
const TOP: usize = 5;

/// A clock: `Instant` natively, `performance.now()` in the browser (std's clock panics there).
pub type Clock = fn() -> Duration;

#[derive(Default)]
pub struct Session {
    prepared: Option<Prepared>,
    /// The current image: a class switch re-runs only the backward.
    image: Option<Image>,
    /// The raw maps sent last: the occlusion test of the class on screen needs no backward.
    last_maps: Option<ClassRawMaps>,
}

/// The current image's runs (its own and, with aug_smooth, its augmentations'), with the gradients
/// of `class`, and Score-CAM's passes so far.
struct Image {
    input: Array4<f32>,
    runs: Vec<Run>,
    class: usize,
    /// Per layer, Score-CAM's passes done so far, their logits per run `[C, classes]`, until the
    /// layer has them all and they move into the runs.
    partial: Vec<Option<Partial>>,
}

struct Prepared {
    model: Model,
    explainer: Explainer,
}

struct Partial {
    logits: Vec<Array2<f32>>,
    done: usize,
    ms_per_pass: f64,
}

impl Partial {
    /// From the runs that have the layer's logits already (the image's own, when aug_smooth was
    /// turned on after its passes): the passes go on from there.
    fn start(runs: &[Run], layer: usize, (channels, classes): (usize, usize)) -> Partial {
        let scored = runs.iter().take_while(|r| r.scores[layer].is_some()).count();
        let logits = runs.iter().map(|r| r.scores[layer].clone().unwrap_or_else(|| Array2::zeros((channels, classes)))).collect();
        Partial { logits, done: scored * channels, ms_per_pass: 0.0 }
    }
}

impl Session {
    /// Answers one request; a failure becomes a `Failed` response and leaves the session as it was.
    pub fn handle(&mut self, request: Request, now: Clock) -> Vec<Response> {
        let (kind, _) = request.describe();
        match self.dispatch(request, now) {
            Ok(responses) => responses,
            Err(err) => vec![Response::Failed { request: kind.into(), message: err.to_string() }],
        }
    }

    fn dispatch(&mut self, request: Request, now: Clock) -> Result<Vec<Response>> {
        match request {
            Request::LoadModel { name, onnx, sidecar, labels, recipe } => {
                let started = now();
                let sidecar = sidecar.map(|text| Sidecar::parse(&text, name.as_ref())).transpose()?;
                let mut model = Model::from_parts(&name, &onnx, sidecar.as_ref(), labels.map(|l| Labels::parse(&l)))?;
                if let Some(recipe) = recipe {
                    model.recipe = recipe;
                }
                let layers = model.resolve_layers(&[], GradientFrom::Layer);
                self.prepare(model, &layers, started, now)
            }
            Request::SetLayers { layers, gradient_from } => {
                let prepared = self.prepared.take().ok_or_else(no_model)?;
                let started = now();
                let layers = prepared.model.resolve_layers(&layers, gradient_from);
                let result = Explainer::with_gradient_from(&prepared.model.classifier, &layers, gradient_from);
                match result {
                    Ok(explainer) => {
                        let model = prepared.model;
                        self.image = None; // its tensors belong to the old layers
                        self.last_maps = None;
                        self.prepared = Some(Prepared { model, explainer });
                        Ok(vec![Response::ModelReady(self.info(started, now))])
                    }
                    Err(err) => {
                        self.prepared = Some(prepared);
                        Err(err)
                    }
                }
            }
            Request::Explain { image, class, methods, smoothing } => self.explain(&image, class, &methods, smoothing, now),
            Request::Maps { class, methods, smoothing } => Ok(vec![Response::Maps(self.maps(class, &methods, smoothing, now)?)]),
            Request::ScoreCam { layer, passes, class, methods, smoothing } => {
                self.score_passes(layer, passes.0..passes.1, smoothing, now)?;
                let done = self.progress(layer)?;
                if done.done < done.total {
                    return Ok(vec![Response::ScoreProgress(done)]);
                }
                Ok(vec![Response::Maps(self.maps(class, &methods, smoothing, now)?)])
            }
            Request::Frame { width, height, rgba, target, methods, smoothing } => {
                Ok(vec![self.frame((width, height), rgba, target, &methods, smoothing, now)?])
            }
            Request::Occlude { class, methods, fusion, gamma } => {
                Ok(vec![Response::Occlusion(self.occlusion(class, methods, &fusion, gamma, now)?)])
            }
        }
    }

    /// Plans the model; the previous model stays until this succeeds.
    fn prepare(&mut self, model: Model, layers: &[String], started: Duration, now: Clock) -> Result<Vec<Response>> {
        let explainer = Explainer::new(&model.classifier, layers)?;
        warm_up(&model, &explainer);
        self.prepared = Some(Prepared { model, explainer });
        self.image = None;
        self.last_maps = None;
        Ok(vec![Response::ModelReady(self.info(started, now))])
    }

    fn info(&self, started: Duration, now: Clock) -> ModelInfo {
        let Prepared { model, explainer } = self.prepared.as_ref().expect("just prepared");
        let [_, _, height, width] = explainer.input_shape;
        ModelInfo {
            name: model.name.clone(),
            classes: explainer.classes,
            labels: (0..explainer.classes).map(|c| model.labels.name(c)).collect(),
            recipe: model.recipe,
            input_size: [height, width],
            candidates: candidates(&model.classifier, explainer.gradient_from),
            layers: explainer.layers.clone(),
            gradient_from: explainer.gradient_from,
            prepare_ms: ms(now() - started),
            threads: crate::runtime::threads(),
        }
    }

    fn explain(
        &mut self,
        bytes: &[u8],
        class: Option<usize>,
        methods: &[Method],
        smoothing: Smoothing,
        now: Clock,
    ) -> Result<Vec<Response>> {
        let mut spans = vec![];
        let decoded = timed(&mut spans, "decode the photo", now, || preprocess::decode_photo(bytes))?;
        let (top, seen, target) = self.see(&decoded, |top| class.unwrap_or(top[0].class), &mut spans, now)?;
        let prediction = Response::Prediction { top, seen, spans };
        Ok(vec![prediction, Response::Maps(self.maps(target, methods, smoothing, now)?)])
    }

    /// A live frame: a photo from raw pixels, explained by `methods` for the class `target` picks.
    fn frame(
        &mut self,
        (width, height): (u32, u32),
        rgba: Vec<u8>,
        target: Target,
        methods: &[Method],
        smoothing: Smoothing,
        now: Clock,
    ) -> Result<Response> {
        let mut spans = vec![];
        let picture = timed(&mut spans, "read the frame", now, || live::frame_picture(width, height, rgba))?;
        let (top, seen, class) = self.see(&picture, |top| target.class(top), &mut spans, now)?;
        let maps = self.maps(class, methods, smoothing, now)?;
        Ok(Response::Frame { top, seen, spans, maps })
    }

    /// Preprocesses a picture and runs the forward, and the backward of the class `choose` picks
    /// from its top classes: the picture becomes the current image. Its top classes, the picture
    /// the model saw, and the class.
    fn see(
        &mut self,
        picture: &RgbImage,
        choose: impl FnOnce(&[Prediction]) -> usize,
        spans: &mut Vec<Span>,
        now: Clock,
    ) -> Result<(Vec<Prediction>, Picture, usize)> {
        let Prepared { model, explainer } = self.prepared.as_ref().ok_or_else(no_model)?;
        let [_, _, height, width] = explainer.input_shape;
        let pre = timed(spans, "preprocess", now, || preprocess::preprocess(picture, model.recipe, height as u32, width as u32));
        let forward = timed(spans, "forward", now, || explainer.forward(pre.input.view()))?;
        let top = top_classes(&forward.logits, &model.labels, TOP);
        let class = choose(&top);
        // The image's own run; the augmented runs come with the maps when aug_smooth asks for them.
        let runs = timed(spans, "backward", now, || runs(explainer, pre.input.clone(), forward, &[class], Smoothing::default()))?;
        let layers = explainer.layers.len();
        self.image = Some(Image { input: pre.input, runs, class, partial: (0..layers).map(|_| None).collect() });
        self.last_maps = None;
        Ok((top, Picture::from(pre.seen), class))
    }

    /// The raw map of each of `methods` for every layer, for `class`: the backward runs again for
    /// another class, the augmented runs when aug_smooth asks for them (both in the span
    /// "backward", there only when they ran). Score-CAM's map is there for the layers whose passes
    /// are all done (see [`Session::score_passes`]).
    fn maps(&mut self, class: usize, methods: &[Method], smoothing: Smoothing, now: Clock) -> Result<ClassRawMaps> {
        let mut spans = vec![];
        if !timed(&mut spans, "backward", now, || self.prepare_runs(class, smoothing))? {
            spans.clear(); // the image's runs served as they were: no backward to report
        }
        let Prepared { explainer, .. } = self.prepared.as_ref().ok_or_else(no_model)?;
        let image = self.image.as_ref().ok_or_else(no_image)?;
        let names: Vec<String> = explainer.layers.iter().map(|l| l.name.clone()).collect();
        let maps = timed(&mut spans, "raw maps", now, || {
            runtime::shared_out(names.len(), |layer| {
                let scored = image.runs.iter().all(|run| run.scores[layer].is_some());
                let ready: Vec<Method> = methods.iter().copied().filter(|m| scored || !m.needs_forwards()).collect();
                let mut computed = layer_raw_maps(&names, &image.runs, layer, (0, class), &ready, smoothing)?.into_iter();
                let row = methods.iter().map(|m| {
                    if ready.contains(m) { computed.next().map_or(vec![], |map| map.into_raw_vec_and_offset().0) } else { vec![] }
                });
                Ok(row.collect())
            })
            .into_iter()
            .collect::<Result<Vec<Vec<Vec<f32>>>>>()
        })?;
        let score_passes = (0..names.len()).map(|layer| self.progress(layer)).collect::<Result<Vec<_>>>()?;
        let maps =
            ClassRawMaps { class, layers: explainer.layers.clone(), methods: methods.to_vec(), smoothing, maps, score_passes, spans };
        self.last_maps = Some(maps.clone());
        Ok(maps)
    }

    /// The runs of `smoothing` with the gradients of `class`: the augmented runs are added (or
    /// dropped) as aug_smooth says, and every run's backward runs again for another class. Whether
    /// any of that ran.
    fn prepare_runs(&mut self, class: usize, smoothing: Smoothing) -> Result<bool> {
        let Prepared { explainer, .. } = self.prepared.as_ref().ok_or_else(no_model)?;
        let image = self.image.as_mut().ok_or_else(no_image)?;
        let wanted = smoothing.augmentations().len();
        let (rerun, retarget) = (image.runs.len() != wanted, image.class != class);
        if rerun {
            let own = image.runs.swap_remove(0);
            image.runs = runs(explainer, own.input, own.forward, &[image.class], smoothing)?;
            image.runs[0].scores = own.scores;
            image.partial.iter_mut().for_each(|p| *p = None);
        }
        if retarget {
            for run in &mut image.runs {
                run.retarget(explainer, &[class])?;
            }
            image.class = class;
        }
        Ok(rerun || retarget)
    }

    /// Runs Score-CAM's masked passes `passes` of `layer`: pass p is channel p mod C of run p div C.
    fn score_passes(&mut self, layer: usize, passes: std::ops::Range<usize>, smoothing: Smoothing, now: Clock) -> Result<()> {
        let class = self.image.as_ref().ok_or_else(no_image)?.class;
        self.prepare_runs(class, smoothing)?;
        let Prepared { explainer, .. } = self.prepared.as_ref().ok_or_else(no_model)?;
        let image = self.image.as_mut().ok_or_else(no_image)?;
        let channels = explainer.layers.get(layer).ok_or_else(|| Error::Input(format!("there is no layer {layer}")))?.shape[0];
        let total = channels * image.runs.len();
        let partial = image.partial[layer].get_or_insert_with(|| Partial::start(&image.runs, layer, (channels, explainer.classes)));
        if passes.start != partial.done || passes.end > total || passes.is_empty() {
            return Err(Error::Input(format!("Score-CAM passes {passes:?} asked for; {} of {total} are done", partial.done)));
        }
        let started = now();
        // A range of passes may span two runs: one call per run.
        let mut pass = passes.start;
        while pass < passes.end {
            let (r, first) = (pass / channels, pass % channels);
            let last = (passes.end - r * channels).min(channels);
            let run = &image.runs[r];
            let logits = explainer.masked_logits(run.input.view(), run.forward.activation(layer), first..last)?;
            partial.logits[r].slice_mut(ndarray::s![first..last, ..]).assign(&logits);
            pass = r * channels + last;
        }
        partial.done = passes.end;
        partial.ms_per_pass = ms(now() - started) / passes.len() as f64;
        if partial.done == total {
            let done = image.partial[layer].take().expect("just filled");
            for (run, logits) in image.runs.iter_mut().zip(done.logits) {
                run.scores[layer] = Some(logits);
            }
        }
        Ok(())
    }

    /// Score-CAM's passes of `layer` so far.
    fn progress(&self, layer: usize) -> Result<ScoreProgress> {
        let image = self.image.as_ref().ok_or_else(no_image)?;
        let channels =
            image.runs[0].forward.activations().get(layer).ok_or_else(|| Error::Input(format!("there is no layer {layer}")))?.dim().0;
        let total = channels * image.runs.len();
        let (done, ms_per_pass) = match &image.partial[layer] {
            Some(partial) => (partial.done, partial.ms_per_pass),
            None => (image.runs.iter().filter(|r| r.scores[layer].is_some()).count() * channels, 0.0),
        };
        Ok(ScoreProgress { layer, done, total, ms_per_pass })
    }

    /// The occlusion test of `class` on the current image, by `methods`' maps fused as `fusion` says.
    fn occlusion(&mut self, class: usize, methods: Vec<Method>, fusion: &Fusion, gamma: f32, now: Clock) -> Result<OcclusionReport> {
        let started = now();
        let raw = match self.last_maps.take() {
            Some(raw) if raw.class == class && methods.iter().all(|m| raw.methods.contains(m)) => raw,
            Some(raw) => self.maps(class, &methods, raw.smoothing, now)?,
            None => self.maps(class, &methods, Smoothing::default(), now)?,
        };
        if let Some(missing) = methods.iter().find(|&&m| (0..raw.layers.len()).any(|l| !raw.has(l, m))) {
            return Err(Error::Input(format!("{missing} has no map of every layer yet")));
        }
        self.last_maps = Some(raw.clone());
        let Prepared { model, explainer } = self.prepared.as_ref().ok_or_else(no_model)?;
        let image = self.image.as_ref().ok_or_else(no_image)?;
        if fusion.fused.len() != raw.layers.len() || fusion.scaled.len() != raw.layers.len() {
            return Err(Error::Input(format!("the fusion names {} stages; {} are explained", fusion.fused.len(), raw.layers.len())));
        }
        let deepest = stages::deepest(&explainer.strides()).ok_or_else(|| Error::Input("no layer is explained".into()))?;
        let [_, _, height, width] = explainer.input_shape;
        let settings = Settings { methods, gamma, ..Settings::default() };
        let maps = display::class_maps(&raw, &settings, fusion, (height, width));
        let trials = occlusion::run(explainer, &model.labels, image.input.view(), &maps, &settings.methods, deepest)?
            .into_iter()
            .map(|(trial, input)| (trial, Picture::from(preprocess::seen_from_input(input.view(), model.recipe))))
            .collect();
        let prob = softmax(&image.runs[0].forward.logits)[class];
        Ok(OcclusionReport { class, prob, trials, ms: ms(now() - started) })
    }
}

/// Explains a made-up photo once with a new plan, and forgets it: decoded, preprocessed, run
/// forward and one-class backward, and the page's first methods' raw maps drawn from it. "Model
/// ready" then means ready to answer at full speed. A browser compiles WebAssembly quickly and
/// unoptimised first, optimising a function once it has run, and the first run also grows the
/// memory its tensors need; without this the user's first photo pays for both (the page's first
/// forward took twice as long as a class switch's backward, against 1.5× natively).
fn warm_up(model: &Model, explainer: &Explainer) {
    let [_, _, height, width] = explainer.input_shape.map(|side| side as u32);
    // Of another size and shape than the input, so that it is resized and cropped as a photo is.
    let photo = RgbImage::from_fn(width * 3 / 2 + 1, height + 1, |x, y| image::Rgb([x as u8, y as u8, (x ^ y) as u8]));
    let Ok(decoded) = report::png(&photo).and_then(|png| preprocess::decode_photo(&png)) else { return };
    let pre = preprocess::preprocess(&decoded, model.recipe, height, width);
    let Ok(forward) = explainer.forward(pre.input.view()) else { return };
    if let Ok(runs) = runs(explainer, pre.input, forward, &[0], Smoothing::default()) {
        let names: Vec<String> = explainer.layers.iter().map(|l| l.name.clone()).collect();
        let _ = runs_raw_maps(&names, &runs, (0, 0), &Method::PAPER, Smoothing::default());
    }
}

fn no_model() -> Error {
    Error::Input("no model is loaded yet".into())
}

fn no_image() -> Error {
    Error::Input("no image has been explained yet".into())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs `step`, adding its span (`what`, on the clock `now`) to `spans`.
fn timed<T>(spans: &mut Vec<Span>, what: &str, now: Clock, step: impl FnOnce() -> T) -> T {
    let start = now();
    let result = step();
    spans.push(Span { what: what.into(), start: ms(start), end: ms(now()) });
    result
}
