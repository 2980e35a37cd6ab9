//! Messages between the page and the Web Worker that runs the network.
//!
//! The worker owns the model (parse, differentiate, forward, backward) and computes the raw map of
//! each method the page asks for, for every layer; Score-CAM's forward passes run in chunks the
//! page asks for one by one (it shows their progress, and cancels by asking no more). The page
//! owns everything a slider changes (Eq. 9 scaling,
//! upsampling, fusion, box, colours), so a slider never waits for the network.
//!
//! Messages travel as one postcard-encoded byte buffer each (transferred, not copied): compact for
//! the float maps and the model bytes, and the same code is tested natively and in the browser.

use serde::{Deserialize, Serialize};

use crate::cam::{Fusion, Method, Smoothing};
use crate::experiments::occlusion::Trial;
use crate::explain::Prediction;
use crate::live::Target;
use crate::model::layers::{Candidate, GradientFrom, Layer};
use crate::model::preprocess::Recipe;
use crate::{Error, Result};

/// The name the page gives its engine worker (the pool threads of the threaded build have none).
pub const ENGINE_WORKER: &str = "layercam-engine";

/// Page → worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Parse and prepare a model; until it succeeds the previous model stays in use.
    LoadModel {
        name: String,
        #[serde(with = "serde_bytes")]
        onnx: Vec<u8>,
        /// Sidecar JSON, if the model has one.
        sidecar: Option<String>,
        /// Labels file text, one class per line.
        labels: Option<String>,
        /// Overrides the sidecar's preprocessing.
        recipe: Option<Recipe>,
    },
    /// Explain other layers of the current model, each weighed by the gradient `gradient_from`
    /// says (re-plans, keeps the image); no layers: the automatic choice for that gradient.
    SetLayers { layers: Vec<String>, gradient_from: GradientFrom },
    /// Run the network on an image and explain `class` (None: the top-1 class) by `methods`.
    Explain {
        #[serde(with = "serde_bytes")]
        image: Vec<u8>,
        class: Option<usize>,
        methods: Vec<Method>,
        smoothing: Smoothing,
    },
    /// Another class, other methods or another smoothing on the current image: the backward runs
    /// again only for another class, the augmented runs only when aug_smooth is turned on.
    Maps { class: usize, methods: Vec<Method>, smoothing: Smoothing },
    /// Score-CAM's masked forward passes `passes` (a range of [`ScoreProgress::total`]: every
    /// channel of `layer`, for each run) on the current image; once a layer has all of them, its
    /// Score-CAM map for `class` comes with the maps of `methods`.
    ScoreCam { layer: usize, passes: (usize, usize), class: usize, methods: Vec<Method>, smoothing: Smoothing },
    /// Explain a live frame (the camera's, or a video file's) by `methods` with `smoothing`, for the
    /// class `target` picks from the frame's top classes; it becomes the current image, as an
    /// explained photo does.
    Frame {
        width: u32,
        height: u32,
        /// `width × height` RGBA pixels, as the page read them off the video. Not encoded: they travel
        /// beside the message as their own buffer, transferred, and the worker puts them back here.
        #[serde(skip)]
        rgba: Vec<u8>,
        target: Target,
        methods: Vec<Method>,
        smoothing: Smoothing,
    },
    /// The occlusion test of `class` on the current image, with `methods`' maps fused as the page
    /// shows them: forward passes only.
    Occlude { class: usize, methods: Vec<Method>, fusion: Fusion, gamma: f32 },
}

/// Worker → page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// The worker has started and listens: messages posted before this would be lost.
    Ready,
    /// What the worker is doing now, for the status line.
    Status {
        text: String,
    },
    ModelReady(ModelInfo),
    /// The top classes of a new image and the picture the model saw.
    Prediction {
        top: Vec<Prediction>,
        seen: Picture,
        /// Decoding, preprocessing and the forward.
        spans: Vec<Span>,
    },
    /// The raw maps of one class for every layer.
    Maps(ClassRawMaps),
    /// A live frame's answer, in one message so that the page shows the frame and its maps together:
    /// its top classes, the picture the model saw, the steps up to the forward, and the maps.
    Frame {
        top: Vec<Prediction>,
        seen: Picture,
        spans: Vec<Span>,
        maps: ClassRawMaps,
    },
    /// Score-CAM's passes on a layer so far (the layer's map is not complete yet).
    ScoreProgress(ScoreProgress),
    Occlusion(OcclusionReport),
    /// A request failed; `request` says which kind, `message` why.
    Failed {
        request: String,
        message: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    pub classes: usize,
    /// Class names, one per class (numbered where the model has no labels).
    pub labels: Vec<String>,
    pub recipe: Recipe,
    /// `[height, width]` of the model input.
    pub input_size: [usize; 2],
    /// Every explainable tensor, the automatic choice (for `gradient_from`) marked.
    pub candidates: Vec<Candidate>,
    /// The layers explained now.
    pub layers: Vec<Layer>,
    /// Which gradient weighs them (the authors' grid-artefact fix, or each layer's own).
    pub gradient_from: GradientFrom,
    pub prepare_ms: f64,
    /// Threads the engine shares its work out to (more than one only where the browser has
    /// WebAssembly threads and the page is cross-origin isolated).
    pub threads: usize,
}

/// An RGB picture, row-major.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Picture {
    pub width: u32,
    pub height: u32,
    #[serde(with = "serde_bytes")]
    pub rgb: Vec<u8>,
}

/// `maps[layer][method]` for `methods`, each `[H, W]` row-major; empty where a Score-CAM map is
/// not computed yet (`score_passes` says how far its passes are; a live frame never runs them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassRawMaps {
    pub class: usize,
    pub layers: Vec<Layer>,
    pub methods: Vec<Method>,
    pub smoothing: Smoothing,
    pub maps: Vec<Vec<Vec<f32>>>,
    /// Per layer, Score-CAM's masked passes done so far.
    pub score_passes: Vec<ScoreProgress>,
    /// The backward (with aug_smooth, the augmented runs too) and the raw maps.
    pub spans: Vec<Span>,
}

/// One step of the worker's work on a request, for the page's timeline: from `start` to `end`, in
/// milliseconds of the worker's clock (the page's, moved by the difference of their time origins).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub what: String,
    pub start: f64,
    pub end: f64,
}

impl Span {
    pub fn ms(&self) -> f64 {
        self.end - self.start
    }
}

/// How long the step `what` took, 0 if it is not among `spans`.
pub fn span_ms(spans: &[Span], what: &str) -> f64 {
    spans.iter().find(|s| s.what == what).map_or(0.0, Span::ms)
}

impl ClassRawMaps {
    /// Whether `method`'s map of `layer` is there.
    pub fn has(&self, layer: usize, method: Method) -> bool {
        let m = self.methods.iter().position(|&x| x == method);
        m.and_then(|m| self.maps.get(layer)?.get(m)).is_some_and(|map| !map.is_empty())
    }
}

/// Score-CAM's masked passes on one layer: one per channel and run (the image, and its
/// augmentations with aug_smooth).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoreProgress {
    pub layer: usize,
    pub done: usize,
    pub total: usize,
    /// Milliseconds the last chunk of passes took, per pass (0 before the first).
    pub ms_per_pass: f64,
}

/// The occlusion test of one class of the current image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OcclusionReport {
    pub class: usize,
    /// The class's probability on the whole image.
    pub prob: f32,
    /// Each trial, with the picture the model saw in it.
    pub trials: Vec<(Trial, Picture)>,
    pub ms: f64,
}

impl From<image::RgbImage> for Picture {
    fn from(image: image::RgbImage) -> Self {
        Picture { width: image.width(), height: image.height(), rgb: image.into_raw() }
    }
}

impl Request {
    /// What the request asks, for messages ("Could not {what}: …"), and what the worker is doing
    /// meanwhile, for the status line.
    pub fn describe(&self) -> (&'static str, &'static str) {
        match self {
            Request::LoadModel { .. } => ("load the model", "Preparing the model: parsing it and writing its backward graph…"),
            Request::SetLayers { .. } => ("change the layers", "Preparing the new layers…"),
            Request::Explain { .. } => ("explain the image", "Running the network forward and backward…"),
            Request::Maps { .. } => ("explain the class", "Computing the maps…"),
            Request::ScoreCam { .. } => ("run Score-CAM", "Score-CAM: classifying the photo seen through each channel…"),
            Request::Frame { .. } => ("explain the live frame", "Running the network on the live frame…"),
            Request::Occlude { .. } => ("run the occlusion test", "Hiding each map's strongest region and classifying again…"),
        }
    }
}

pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    postcard::to_allocvec(message).expect("protocol messages always serialise")
}

pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| Error::Input(format!("malformed message between page and worker: {e}")))
}
