//! The worker's side of the page: one model, one image, answering [`Request`]s with
//! [`Response`]s. Plain Rust, so the same session runs natively in tests, in the browser's Web
//! Worker, and in a wasm-bindgen test.

use std::time::Duration;

use ndarray::Axis;

use crate::cam::Method;
use crate::explain::{raw_maps, top_classes};
use crate::model::labels::Labels;
use crate::model::layers::candidates;
use crate::model::preprocess;
use crate::model::sidecar::Sidecar;
use crate::model::Model;
use crate::protocol::{ClassRawMaps, ModelInfo, Picture, Request, Response};
use crate::runtime::{Explainer, Forward};
use crate::{Error, Result};

/// How many classes the page lists.
const TOP: usize = 5;

/// A clock: `Instant` natively, `performance.now()` in the browser (std's clock panics there).
pub type Clock = fn() -> Duration;

#[derive(Default)]
pub struct Session {
    prepared: Option<Prepared>,
    /// The current image's forward run: a class switch re-runs only the backward.
    forward: Option<Forward>,
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
                let layers = model.resolve_layers(&[]);
                self.prepare(model, &layers, started, now)
            }
            Request::SetLayers { layers } => {
                let prepared = self.prepared.take().ok_or_else(no_model)?;
                let started = now();
                let result = Explainer::new(&prepared.model.classifier, &layers);
                match result {
                    Ok(explainer) => {
                        let model = prepared.model;
                        self.forward = None; // its tensors belong to the old layers
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
            Request::Retarget { class } => Ok(vec![Response::Maps(self.maps(class, now)?)]),
        }
    }

    /// Plans the model; the previous model stays until this succeeds.
    fn prepare(&mut self, model: Model, layers: &[String], started: Duration, now: Clock) -> Result<Vec<Response>> {
        let explainer = Explainer::new(&model.classifier, layers)?;
        self.prepared = Some(Prepared { model, explainer });
        self.forward = None;
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
            candidates: candidates(&model.classifier),
            layers: explainer.layers.clone(),
            prepare_ms: ms(now() - started),
        }
    }

    fn explain(&mut self, bytes: &[u8], class: Option<usize>, now: Clock) -> Result<Vec<Response>> {
        let Prepared { model, explainer } = self.prepared.as_ref().ok_or_else(no_model)?;
        let decoded = preprocess::decode_image(bytes)?;
        let [_, _, height, width] = explainer.input_shape;
        let started = now();
        let pre = preprocess::preprocess(&decoded, model.recipe, height as u32, width as u32);
        let forward = explainer.forward(pre.input.view())?;
        let forward_ms = ms(now() - started);
        let top = top_classes(&forward.logits, &model.labels, TOP);
        let target = class.unwrap_or(top[0].class);
        let seen = Picture { width: pre.seen.width(), height: pre.seen.height(), rgb: pre.seen.into_raw() };
        self.forward = Some(forward);
        let prediction = Response::Prediction { top, seen, forward_ms };
        Ok(vec![prediction, Response::Maps(self.maps(target, now)?)])
    }

    /// The backward for one class and the raw map of every method for every layer.
    fn maps(&self, class: usize, now: Clock) -> Result<ClassRawMaps> {
        let Prepared { explainer, .. } = self.prepared.as_ref().ok_or_else(no_model)?;
        let forward = self.forward.as_ref().ok_or_else(|| Error::Input("no image has been explained yet".into()))?;
        let started = now();
        let gradients = explainer.backward(forward, &[class])?;
        let backward_ms = ms(now() - started);
        let started = now();
        let names: Vec<String> = explainer.layers.iter().map(|l| l.name.clone()).collect();
        let per_layer: Vec<_> = gradients.iter().map(|g| g.index_axis(Axis(0), 0)).collect();
        let raw = raw_maps(&names, &forward.activations, &per_layer, &Method::ALL)?;
        let maps = raw.into_iter().map(|layer| layer.into_iter().map(|m| m.into_raw_vec_and_offset().0).collect()).collect();
        Ok(ClassRawMaps { class, layers: explainer.layers.clone(), maps, backward_ms, cam_ms: ms(now() - started) })
    }
}

fn no_model() -> Error {
    Error::Input("no model is loaded yet".into())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
