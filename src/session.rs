//! The worker's side of the page: one model, one image, answering [`Request`]s with
//! [`Response`]s. Plain Rust, so the same session runs natively in tests, in the browser's Web
//! Worker, and in a wasm-bindgen test.

use std::time::Duration;

use image::RgbImage;
use ndarray::{Array2, Array4, Axis};

use crate::cam::{Fusion, Method, stages};
use crate::display;
use crate::experiments::occlusion;
use crate::explain::{Prediction, Settings, raw_maps, softmax, top_classes};
use crate::live::{self, Target};
use crate::model::Model;
use crate::model::labels::Labels;
use crate::model::layers::{GradientFrom, candidates};
use crate::model::preprocess;
use crate::model::sidecar::Sidecar;
use crate::protocol::{ClassRawMaps, ModelInfo, OcclusionReport, Picture, Request, Response, Span};
use crate::runtime::{Explainer, Forward};
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

/// The current image's input and its forward run.
struct Image {
    input: Array4<f32>,
    forward: Forward,
}

struct Prepared {
    model: Model,
    explainer: Explainer,
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
            Request::Explain { image, class } => self.explain(&image, class, now),
            Request::Retarget { class } => Ok(vec![Response::Maps(self.maps(class, &Method::ALL, now)?)]),
            Request::Frame { width, height, rgba, target, methods } => Ok(vec![self.frame((width, height), rgba, target, &methods, now)?]),
            Request::Occlude { class, methods, fusion, gamma } => {
                Ok(vec![Response::Occlusion(self.occlusion(class, methods, &fusion, gamma, now)?)])
            }
        }
    }

    /// Plans the model; the previous model stays until this succeeds.
    fn prepare(&mut self, model: Model, layers: &[String], started: Duration, now: Clock) -> Result<Vec<Response>> {
        let explainer = Explainer::new(&model.classifier, layers)?;
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

    fn explain(&mut self, bytes: &[u8], class: Option<usize>, now: Clock) -> Result<Vec<Response>> {
        let mut spans = vec![];
        let decoded = timed(&mut spans, "decode the photo", now, || preprocess::decode_photo(bytes))?;
        let (top, seen) = self.see(&decoded, &mut spans, now)?;
        let target = class.unwrap_or(top[0].class);
        let prediction = Response::Prediction { top, seen, spans };
        Ok(vec![prediction, Response::Maps(self.maps(target, &Method::ALL, now)?)])
    }

    /// A live frame: a photo from raw pixels, explained by `methods` for the class `target` picks.
    fn frame(&mut self, (width, height): (u32, u32), rgba: Vec<u8>, target: Target, methods: &[Method], now: Clock) -> Result<Response> {
        let mut spans = vec![];
        let picture = timed(&mut spans, "read the frame", now, || live::frame_picture(width, height, rgba))?;
        let (top, seen) = self.see(&picture, &mut spans, now)?;
        let maps = self.maps(target.class(&top), methods, now)?;
        Ok(Response::Frame { top, seen, spans, maps })
    }

    /// Preprocesses and runs the forward on a picture, which becomes the current image: its top
    /// classes and the picture the model saw.
    fn see(&mut self, picture: &RgbImage, spans: &mut Vec<Span>, now: Clock) -> Result<(Vec<Prediction>, Picture)> {
        let Prepared { model, explainer } = self.prepared.as_ref().ok_or_else(no_model)?;
        let [_, _, height, width] = explainer.input_shape;
        let pre = timed(spans, "preprocess", now, || preprocess::preprocess(picture, model.recipe, height as u32, width as u32));
        let forward = timed(spans, "forward", now, || explainer.forward(pre.input.view()))?;
        let top = top_classes(&forward.logits, &model.labels, TOP);
        self.image = Some(Image { input: pre.input, forward });
        self.last_maps = None;
        Ok((top, Picture::from(pre.seen)))
    }

    /// The backward for one class and the raw map of each of `methods` for every layer (in the
    /// order of [`Method::ALL`], the others left empty).
    fn maps(&mut self, class: usize, methods: &[Method], now: Clock) -> Result<ClassRawMaps> {
        let Prepared { explainer, .. } = self.prepared.as_ref().ok_or_else(no_model)?;
        let forward = &self.image.as_ref().ok_or_else(no_image)?.forward;
        let mut spans = vec![];
        let gradients = timed(&mut spans, "backward", now, || explainer.backward(forward, &[class]))?;
        let maps = timed(&mut spans, "raw maps", now, || {
            let names: Vec<String> = explainer.layers.iter().map(|l| l.name.clone()).collect();
            let per_layer: Vec<_> = gradients.iter().map(|g| g.index_axis(Axis(0), 0)).collect();
            let asked: Vec<Method> = Method::ALL.into_iter().filter(|m| methods.contains(m)).collect();
            let raw = raw_maps(&names, &forward.activations, &per_layer, &asked)?;
            let in_all_order = |layer: Vec<Array2<f32>>| {
                let mut computed = layer.into_iter();
                let mut next = || computed.next().map_or(vec![], |map| map.into_raw_vec_and_offset().0);
                Method::ALL.iter().map(|m| if asked.contains(m) { next() } else { vec![] }).collect()
            };
            Ok::<_, Error>(raw.into_iter().map(in_all_order).collect())
        })?;
        let maps = ClassRawMaps { class, layers: explainer.layers.clone(), maps, spans };
        self.last_maps = Some(maps.clone());
        Ok(maps)
    }

    /// The occlusion test of `class` on the current image, by `methods`' maps fused as `fusion` says.
    fn occlusion(&mut self, class: usize, methods: Vec<Method>, fusion: &Fusion, gamma: f32, now: Clock) -> Result<OcclusionReport> {
        let started = now();
        let raw = match self.last_maps.take() {
            Some(raw) if raw.class == class && methods.iter().all(|&m| raw.has(m)) => raw,
            _ => self.maps(class, &methods, now)?,
        };
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
        let prob = softmax(&image.forward.logits)[class];
        Ok(OcclusionReport { class, prob, trials, ms: ms(now() - started) })
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
