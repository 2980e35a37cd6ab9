//! The page: pick a photo, see the top classes, and compare class activation maps stage by stage.
//!
//! State lives in signals ([`State`]), shared by the components (one file each, beside this one);
//! the worker's answers arrive in [`on_response`]. Sliders only re-run the page's maths ([`redraw`],
//! milliseconds); a class change re-runs the worker's backward; a new image its forward and backward.

use std::cell::RefCell;
use std::sync::Arc;

use image::RgbImage;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::compare::{CompareBar, ComparePicker};
use super::details::Details;
use super::draw_controls::DrawControls;
use super::enlarged::Enlarged;
use super::exports::Exports;
use super::fusion_panel::FusionPanel;
use super::grid::Grid;
use super::header::Header;
use super::layer_picker::LayerPicker;
use super::legend::{Hovered, Legend};
use super::maths::{self, GpuState};
use super::methods::MethodPicker;
use super::model_picker::ModelPicker;
use super::network::NetworkStrip;
use super::occlusion_panel::OcclusionPanel;
use super::photo::{PhotoPicker, listen_for_files};
use super::prediction::Predictions;
use super::score_cam::{self, ScoreHint, ScoreRun};
use super::teaching::Teaching;
use super::{bridge, fetch, live, stages, timeline, warm_up};
use crate::cam::{Colormap, FuseChoice, Fusion, Method, ScaleChoice, Smoothing};
use crate::display::{self, Shown};
use crate::explain::{Prediction, Settings};
use crate::live::Target;
use crate::model::layers::{self, GradientFrom};
use crate::model::preprocess::Recipe;
use crate::protocol::{ClassRawMaps, ModelInfo, OcclusionReport, Picture, Request, Response, Span, span_ms};

const MODEL: &str = "./models/efficientnet_lite0.onnx";
const SIDECAR: &str = "./models/efficientnet_lite0.json";
const LABELS: &str = "./models/imagenet_classes.txt";

pub fn start() {
    super::panic::install();
    leptos::mount::mount_to_body(App);
}

/// Everything the page shows, as signals.
#[derive(Clone, Copy)]
pub struct State {
    pub status: RwSignal<String>,
    pub busy: RwSignal<bool>,
    /// Busy for longer than [`SLOW_MS`]: only then the spinner turns and the grid dims.
    pub slow: RwSignal<bool>,
    pub error: RwSignal<Option<String>>,
    /// Model download: bytes so far and total; None once downloaded.
    pub download: RwSignal<Option<(u64, Option<u64>)>>,
    pub model: RwSignal<Option<ModelInfo>>,
    pub seen: RwSignal<Option<Arc<RgbImage>>>,
    pub top: RwSignal<Vec<Prediction>>,
    pub raw: RwSignal<Option<Arc<ClassRawMaps>>>,
    /// The method picker's rows (the paper's four at first).
    pub methods: RwSignal<Vec<Method>>,
    /// "Compare two": the two methods, and whether the grid shows only them, large.
    pub compare: RwSignal<[Method; 2]>,
    pub comparing: RwSignal<bool>,
    /// pytorch-grad-cam's eigen_smooth and aug_smooth, for every method.
    pub smoothing: RwSignal<Smoothing>,
    /// Score-CAM's passes on the layer the user picked, while they run (or paused by Cancel).
    pub score: RwSignal<Option<ScoreRun>>,
    pub gamma: RwSignal<f32>,
    pub threshold: RwSignal<f32>,
    pub opacity: RwSignal<f32>,
    pub colormap: RwSignal<Colormap>,
    /// Which layers enter the fusion (the fusion panel's "fuse" boxes).
    pub fusion: RwSignal<Vec<bool>>,
    /// Which layers Eq. 9 scales (its "Eq. 9" boxes); None: the paper's rule (the shallow ones).
    pub scale: RwSignal<Option<Vec<bool>>>,
    /// The occlusion test of the class on screen, once asked for.
    pub occlusion: RwSignal<Option<Arc<OcclusionReport>>>,
    pub shown: RwSignal<Option<Arc<Shown>>>,
    pub timings: RwSignal<Timings>,
    pub enlarged: RwSignal<Option<Cell>>,
    /// The map under the mouse and the value there, for the legend.
    pub hovered: RwSignal<Option<Hovered>>,
    pub gpu: RwSignal<GpuState>,
    /// Which path drew the pictures on screen: "gpu" or "cpu" (the grid's data-drawn-by).
    pub drawn_by: RwSignal<&'static str>,
    /// A redraw is under way (the GPU's is asynchronous): the grid is `aria-busy` until it is done.
    pub drawing: RwSignal<bool>,
    /// The user's choice in the details panel; the GPU is used only if there is one.
    pub use_gpu: RwSignal<bool>,
    /// Larger type and maps for a classroom projector.
    pub projector: RwSignal<bool>,
    /// Where the last request's time went (the details panel).
    pub timeline: RwSignal<Vec<timeline::Step>>,
    /// How a model of the user's own prepares its input (the model picker's choice).
    pub recipe: RwSignal<Recipe>,
    /// Live mode: the camera or a video file, explained frame after frame.
    pub live: RwSignal<live::Mode>,
    /// "camera", or the video file's name.
    pub live_source: RwSignal<String>,
    pub live_rate: RwSignal<Option<live::Rate>>,
    /// Frames shown since live mode started.
    pub live_frames: RwSignal<u64>,
    /// The class every live frame is explained for; None: each frame's top class.
    pub locked: RwSignal<Option<usize>>,
}

#[derive(Clone, Copy, Default, PartialEq)]
pub struct Timings {
    pub prepare: f64,
    pub forward: f64,
    pub backward: f64,
    pub worker_cam: f64,
    pub page_cam: f64,
    /// From the request that started it to the full grid on screen.
    pub to_grid: f64,
    /// Forward passes run so far: sliders must not add any.
    pub forwards: u32,
}

/// One picture of the grid: a layer's map, or the fused map (`layer: None`), for one method.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cell {
    pub layer: Option<usize>,
    pub method: Method,
}

/// A photo by name, as the worker gets it.
pub type Photo = (String, Vec<u8>);

/// What the page must be able to send again (a restarted worker starts empty) and name in exports.
#[derive(Default)]
pub struct Memory {
    pub model: Option<Request>,
    /// A model sent to the worker and not yet ready; the previous one stays until it is.
    pub pending_model: Option<Request>,
    pub layers: Option<Vec<String>>,
    pub gradient_from: GradientFrom,
    /// The photo whose maps are on screen.
    pub image: Option<Photo>,
    /// A photo sent to the worker (or waiting for the model) and not yet explained: if the worker
    /// refuses it, `image` and its maps stay.
    pub pending_image: Option<Photo>,
    pub class: Option<usize>,
    pub labels: Option<String>,
    asked_at: f64,
    /// Counts redraws: a GPU result that arrives after a newer redraw started is dropped.
    redraws: u64,
    /// Milliseconds per Score-CAM pass on the worker's last chunk, for the estimates.
    pub ms_per_pass: Option<f64>,
    /// The raw maps and settings the pictures on screen were drawn from on the CPU: a change that
    /// leaves the layers' pictures as they are redraws only the fused column.
    drawn_from: Option<(Arc<ClassRawMaps>, Settings)>,
}

impl Memory {
    /// Whether the layers' pictures drawn last on the CPU are those of `raw` under `settings`
    /// (they depend on the methods, the colormap and the opacity, not on γ, the box or the fusion).
    fn layers_drawn(&self, raw: &Arc<ClassRawMaps>, settings: &Settings) -> bool {
        self.drawn_from.as_ref().is_some_and(|(drawn, then)| {
            Arc::ptr_eq(drawn, raw)
                && (&then.methods, then.colormap, then.opacity) == (&settings.methods, settings.colormap, settings.opacity)
        })
    }
}

thread_local! {
    static MEMORY: RefCell<Memory> = RefCell::new(Memory::default());
}

pub fn memory<T>(f: impl FnOnce(&mut Memory) -> T) -> T {
    MEMORY.with(|m| f(&mut m.borrow_mut()))
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

impl State {
    fn new() -> Self {
        State {
            status: RwSignal::new("Downloading the model…".into()),
            busy: RwSignal::new(true),
            slow: RwSignal::new(true),
            error: RwSignal::new(None),
            download: RwSignal::new(Some((0, None))),
            model: RwSignal::new(None),
            seen: RwSignal::new(None),
            top: RwSignal::new(vec![]),
            raw: RwSignal::new(None),
            methods: RwSignal::new(Method::PAPER.to_vec()),
            compare: RwSignal::new([Method::LayerCam, Method::GradCam]),
            comparing: RwSignal::new(false),
            smoothing: RwSignal::new(Smoothing::default()),
            score: RwSignal::new(None),
            gamma: RwSignal::new(crate::explain::DEFAULT_GAMMA),
            threshold: RwSignal::new(crate::cam::DEFAULT_BOX_THRESHOLD),
            opacity: RwSignal::new(0.5),
            colormap: RwSignal::new(Colormap::Jet),
            fusion: RwSignal::new(vec![]),
            scale: RwSignal::new(None),
            occlusion: RwSignal::new(None),
            shown: RwSignal::new(None),
            timings: RwSignal::new(Timings::default()),
            enlarged: RwSignal::new(None),
            hovered: RwSignal::new(None),
            gpu: RwSignal::new(GpuState::Looking),
            drawn_by: RwSignal::new(""),
            drawing: RwSignal::new(false),
            use_gpu: RwSignal::new(true),
            projector: RwSignal::new(false),
            timeline: RwSignal::new(vec![]),
            recipe: RwSignal::new(Recipe::Torchvision),
            live: RwSignal::new(live::Mode::Off),
            live_source: RwSignal::new(String::new()),
            live_rate: RwSignal::new(None),
            live_frames: RwSignal::new(0),
            locked: RwSignal::new(None),
        }
    }

    /// The grid's rows: the two compared, or the picker's.
    pub fn shown_methods(&self) -> Vec<Method> {
        if self.comparing.get() { self.compare.get().to_vec() } else { self.methods.get() }
    }

    /// What the worker computes: every method the grid shows, in the order of [`Method::ALL`].
    pub fn wanted_methods(&self) -> Vec<Method> {
        let shown = self.shown_methods();
        Method::ALL.into_iter().filter(|m| shown.contains(m)).collect()
    }

    pub fn settings(&self) -> Settings {
        Settings {
            methods: self.shown_methods(),
            gamma: self.gamma.get(),
            box_threshold: self.threshold.get(),
            colormap: self.colormap.get(),
            opacity: self.opacity.get(),
        }
    }

    /// How the stages enter the fused map now: the "fuse" boxes, and the "Eq. 9" boxes or the
    /// paper's rule (the same [`crate::cam::stages`] as the command line).
    pub fn current_fusion(&self) -> Fusion {
        let strides = self.model.with(|m| m.as_ref().map(|m| layers::strides(&m.layers, m.input_size))).unwrap_or_default();
        let scale = self.scale.get().map_or(ScaleChoice::Auto, ScaleChoice::Stages);
        Fusion::new(&strides, &FuseChoice::Stages(self.fusion.get()), &scale)
    }

    pub fn send(&self, request: Request) {
        self.busy.set(true);
        memory(|m| m.asked_at = now_ms());
        bridge::send(&request);
        timeline::mark("request sent to the worker");
    }

    /// Explains a new photo; the one on screen stays until the worker has read this one. A photo
    /// chosen during live mode ends it.
    pub fn explain(&self, name: String, bytes: Vec<u8>) {
        timeline::mark("photo read");
        if self.live.get_untracked() != live::Mode::Off {
            live::stop(*self, false);
        }
        self.error.set(None);
        self.score.set(None); // its passes belong to the photo on screen
        memory(|m| m.pending_image = Some((name, bytes.clone())));
        if self.model.get_untracked().is_some() {
            self.send(self.explain_request(bytes, None));
        } else {
            self.status.set("The photo will be explained as soon as the model is ready.".into());
        }
    }

    /// Loads another model; the one in use stays until the worker has prepared this one.
    pub fn load_model(&self, request: Request) {
        self.error.set(None);
        memory(|m| m.pending_model = Some(request.clone()));
        self.send(request);
    }

    /// A class clicked or typed: while live frames come it is locked for every frame, else the
    /// maps on screen are redrawn for it.
    pub fn pick_class(&self, class: usize) {
        if self.live.get_untracked().moving() {
            live::lock(*self, Some(class));
        } else {
            self.retarget(class);
        }
    }

    /// The worker's request for a photo: the methods and smoothing on screen.
    fn explain_request(&self, image: Vec<u8>, class: Option<usize>) -> Request {
        let smoothing = self.smoothing.get_untracked();
        Request::Explain { image, class, methods: untrack(|| self.wanted_methods()), smoothing }
    }

    /// The maps of `class` by the methods on screen (the backward runs again for another class).
    pub fn retarget(&self, class: usize) {
        if memory(|m| m.image.is_some()) {
            timeline::start("class picked");
            let smoothing = self.smoothing.get_untracked();
            self.send(Request::Maps { class, methods: untrack(|| self.wanted_methods()), smoothing });
        }
    }

    /// Explains these layers, in graph order (columns go shallow → deep whatever the click order).
    pub fn set_layers(&self, layers: Vec<String>) {
        let Some(model) = self.model.get_untracked() else {
            return;
        };
        let layers = stages::in_graph_order(&model, layers);
        if !layers.is_empty() && Some(&layers) != memory(|m| m.layers.clone()).as_ref() {
            self.score.set(None);
            self.send(Request::SetLayers { layers, gradient_from: model.gradient_from });
        }
    }

    /// Switches the authors' grid-artefact fix on or off. Automatic layers stay automatic (the
    /// choice differs: with the fix it may take the layer before a strided op); chosen ones stay.
    pub fn set_gradient_from(&self, gradient_from: GradientFrom) {
        let Some(model) = self.model.get_untracked() else {
            return;
        };
        let automatic = model.candidates.iter().filter(|c| c.auto).map(|c| &c.name).eq(model.layers.iter().map(|l| &l.name));
        let layers = if automatic { vec![] } else { self.layers() };
        self.score.set(None);
        self.send(Request::SetLayers { layers, gradient_from });
    }

    /// Adds a tensor as a column, in its place between the shallower and the deeper ones.
    pub fn add_layer(&self, name: String) {
        let mut layers = self.layers();
        layers.push(name);
        self.set_layers(layers);
    }

    /// Removes a column (never the last one).
    pub fn remove_layer(&self, name: &str) {
        let mut layers = self.layers();
        layers.retain(|l| l != name);
        self.set_layers(layers);
    }

    /// The layers explained now.
    fn layers(&self) -> Vec<String> {
        memory(|m| m.layers.clone()).unwrap_or_default()
    }
}

/// The worker's answers.
fn on_response(state: State, response: Response) {
    match response {
        Response::Ready => {} // the bridge's business
        Response::Occlusion(report) => {
            state.status.set(format!("Occlusion test done: {} classifications in {:.0} ms.", report.trials.len(), report.ms));
            state.occlusion.set(Some(Arc::new(report)));
            state.busy.set(false);
        }
        Response::Status { text } => state.status.set(text),
        Response::ModelReady(info) => model_ready(state, info),
        Response::Prediction { top, seen, spans } => {
            timeline::mark("prediction received");
            memory(|m| {
                if let Some(photo) = m.pending_image.take() {
                    m.image = Some(photo);
                }
            });
            state.raw.set(None);
            new_picture(state, top, &seen, &spans);
            timeline::mark("top classes and photo shown");
        }
        Response::ScoreProgress(progress) => score_cam::progressed(state, progress),
        Response::Maps(raw) => {
            score_cam::finished(state, &raw);
            timeline::mark("maps received");
            new_maps(state, raw);
            state.busy.set(false);
            // A method or smoothing changed while these were computed: ask again.
            untrack(|| ask_for_methods(state));
        }
        Response::Frame { top, seen, spans, maps } => {
            if live::answered(state) {
                timeline::mark("frame received");
                state.score.set(None); // its passes belonged to the previous picture
                new_picture(state, top, &seen, &spans);
                new_maps(state, maps);
            }
        }
        Response::Failed { request, message } if request == "panic" => {
            state.error.set(Some(format!("The worker crashed ({message}); a fresh one was started.")));
            state.busy.set(false);
            restart_worker(state);
        }
        Response::Failed { request, message } => failed(state, &request, &message),
    }
}

/// The picture a new photo or frame shows, and its top classes.
fn new_picture(state: State, top: Vec<Prediction>, seen: &Picture, spans: &[Span]) {
    timeline::worker(spans);
    state.seen.set(Some(Arc::new(display::seen_image(seen))));
    state.top.set(top);
    state.timings.update(|t| {
        t.forward = span_ms(spans, "forward");
        t.backward = span_ms(spans, "backward");
        t.forwards += 1;
    });
}

/// The raw maps of one class, which the page draws (see [`redraw`]).
fn new_maps(state: State, raw: ClassRawMaps) {
    timeline::worker(&raw.spans);
    memory(|m| m.class = Some(raw.class));
    state.timings.update(|t| {
        // A class switch's backward (a new picture's came with its forward; other methods need none).
        if raw.spans.iter().any(|s| s.what == "backward") {
            t.backward = span_ms(&raw.spans, "backward");
        }
        t.worker_cam = span_ms(&raw.spans, "raw maps");
    });
    let label = state.model.with_untracked(|m| m.as_ref().map(|m| m.labels[raw.class].clone())).unwrap_or_default();
    let status = match (state.live.get_untracked().moving(), state.locked.get_untracked()) {
        (false, _) => format!("Showing where the network looks for “{label}”."),
        (true, Some(locked)) if locked == raw.class => format!("Live: the network looks for “{label}”, the class locked."),
        (true, _) => format!("Live: the network looks for “{label}”, the top class."),
    };
    state.status.set(status);
    state.occlusion.set(None); // it tested other maps
    state.raw.set(Some(Arc::new(raw)));
}

fn model_ready(state: State, info: ModelInfo) {
    memory(|m| {
        if let Some(model) = m.pending_model.take() {
            m.model = Some(model);
            m.class = None; // another model, other classes: start from its top-1
            state.locked.set(None);
        }
        m.layers = Some(info.layers.iter().map(|l| l.name.clone()).collect());
        m.gradient_from = info.gradient_from;
    });
    // The paper's fusion: every stage but the shallowest, the shallow ones scaled by Eq. 9.
    state.fusion.set(Fusion::paper(&layers::strides(&info.layers, info.input_size)).fused);
    state.scale.set(None);
    state.raw.set(None);
    state.status.set(format!("Model {} ready: {} layers explained.", info.name, info.layers.len()));
    state.timings.update(|t| t.prepare = info.prepare_ms);
    let ready = info.clone();
    state.model.set(Some(info));
    state.busy.set(false);
    // Once "ready" is on screen, the page's share of a click run once (see warm_up).
    set_timeout(move || warm_up::drawing(&ready, &state.settings(), &state.current_fusion()), std::time::Duration::ZERO);
    // A photo chosen while the model was loading, or the current one under new layers; in live
    // mode the next frame comes under them anyway.
    let (photo, class) = memory(|m| (m.pending_image.clone().or_else(|| m.image.clone()), m.class));
    if let Some((_, image)) = photo.filter(|_| !state.live.get_untracked().moving()) {
        state.send(state.explain_request(image, class));
    }
}

/// A refused request changes nothing on screen: the previous model, photo and maps stay.
fn failed(state: State, request: &str, message: &str) {
    let is = |example: Request| request == example.describe().0;
    let frame = Request::Frame {
        width: 0,
        height: 0,
        rgba: vec![],
        target: Target::Follow { shown: None },
        methods: vec![],
        smoothing: Smoothing::default(),
    };
    if is(frame) {
        return live::frame_failed(state, message);
    }
    let (model, kept_model, photo) = memory(|m| {
        let model = if is(Request::LoadModel { name: String::new(), onnx: vec![], sidecar: None, labels: None, recipe: None }) {
            m.pending_model.take().map(|r| model_name(&r))
        } else {
            None
        };
        let photo = if is(Request::Explain { image: vec![], class: None, methods: vec![], smoothing: Smoothing::default() }) {
            m.pending_image.take()
        } else {
            None
        };
        (model, m.model.is_some(), photo.map(|(name, _)| name))
    });
    let text = match (model, photo) {
        (Some(name), _) if kept_model => format!("Could not load the model {name}: {message}. The previous model is still in use."),
        (Some(name), _) => format!("Could not load the model {name}: {message}."),
        (None, Some(name)) if state.raw.get_untracked().is_some() => {
            format!("Could not explain {name}: {message}. The previous photo's maps are still shown.")
        }
        (None, Some(name)) => format!("Could not explain {name}: {message}."),
        (None, None) => format!("Could not {request}: {message}."),
    };
    state.error.set(Some(text));
    state.status.set("Ready.".into());
    state.busy.set(false);
    state.score.set(None);
}

fn model_name(request: &Request) -> String {
    match request {
        Request::LoadModel { name, .. } => name.clone(),
        _ => String::new(),
    }
}

/// A new worker knows nothing: send it the model (and its layers) again; the image follows on ready.
fn restart_worker(state: State) {
    live::stop(state, false); // the frame in the old worker will not come back
    if let Err(err) = bridge::restart() {
        state.error.set(Some(err));
        return;
    }
    let (model, layers, gradient_from) = memory(|m| (m.model.clone(), m.layers.clone(), m.gradient_from));
    if let Some(model) = model {
        memory(|m| m.pending_model = Some(model.clone()));
        state.send(model);
        if let Some(layers) = layers {
            state.send(Request::SetLayers { layers, gradient_from });
        }
    }
}

/// Downloads the shipped model with progress, then hands it to the worker.
async fn load_default_model(state: State) {
    let files = async {
        let sidecar = fetch::text(SIDECAR).await?;
        let labels = fetch::text(LABELS).await?;
        let onnx = fetch::bytes(MODEL, move |done, total| state.download.set(Some((done, total)))).await?;
        Ok::<_, String>((sidecar, labels, onnx))
    };
    match files.await {
        Ok((sidecar, labels, onnx)) => {
            state.download.set(None);
            memory(|m| m.labels = Some(labels.clone()));
            let name = MODEL.rsplit('/').next().unwrap_or(MODEL).to_string();
            state.load_model(Request::LoadModel { name, onnx, sidecar: Some(sidecar), labels: Some(labels), recipe: None });
        }
        Err(err) => {
            state.download.set(None);
            state.busy.set(false);
            state.error.set(Some(format!("Could not download the model: {err}")));
        }
    }
}

/// How long the page may be busy before it shows so (a spinner, the grid dimmed). A click's
/// maps take ~0.1 s, and a turning spinner is not free: without a GPU the browser composites
/// every frame of it in software, which took half of one of this 2-core machine's cores from the
/// engine's threads (click → maps: median 149 ms over nine clicks with the spinner turning, 89
/// without).
const SLOW_MS: u64 = 400;

/// `slow` follows `busy`, [`SLOW_MS`] late when it turns true.
fn follow_busy(state: State) {
    Effect::new(move |_| {
        if !state.busy.get() {
            state.slow.set(false);
        } else if !state.slow.get_untracked() {
            set_timeout(move || state.slow.set(state.busy.get_untracked()), std::time::Duration::from_millis(SLOW_MS));
        }
    });
}

/// The projector switch scales the root font, and every size in rem with it.
fn follow_projector(state: State) {
    Effect::new(move |_| {
        let class = if state.projector.get() { "projector" } else { "" };
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            root.set_class_name(class);
        }
    });
}

#[component]
fn App() -> impl IntoView {
    let state = State::new();
    if let Err(err) = bridge::connect(move |response| on_response(state, response)) {
        state.error.set(Some(err));
    }
    spawn_local(load_default_model(state));
    spawn_local(maths::find(state.gpu, state.use_gpu));
    listen_for_files(state);
    live::listen(state);
    follow_busy(state);
    follow_projector(state);
    // Sliders, checkboxes and a new class all end here: the CAM maths on the page, no network.
    Effect::new(move |_| redraw(state));
    // A method or smoothing the maps on screen lack: the worker computes them (no forward pass).
    Effect::new(move |_| ask_for_methods(state));
    // The grid's shape, for web/style.css: it caps the grid and the network strip above it alike.
    let columns = move || state.model.with(|m| m.as_ref().map_or(1, |m| m.layers.len() + 1)).to_string();
    let rows = move || state.shown_methods().len().max(1).to_string();
    // Grid areas (web/style.css) place the parts: two or three columns on a laptop, one on a phone;
    // the maps stay in view (sticky) within .layout while the controls beside them scroll.
    view! {
        <Header state/>
        <main>
        <div class="layout" class:comparing=move || state.comparing.get()>
            <section class="what" aria-labelledby="what-title">
                <h2 id="what-title">"What to explain"</h2>
                <PhotoPicker state/>
                <Predictions state/>
            </section>
            <section class="what-more" aria-label="Methods, layers and model">
                <MethodPicker state/>
                <ComparePicker state/>
                <LayerPicker state/>
                <ModelPicker state/>
            </section>
            <section class="maps" aria-label="The maps" style:--columns=columns style:--rows=rows>
                <CompareBar state/>
                <NetworkStrip state/>
                <Grid state/>
                <Legend state/>
                <ScoreHint state/>
            </section>
            <section class="how" aria-labelledby="how-title">
                <h2 id="how-title">"How to draw it"</h2>
                <FusionPanel state/>
                <DrawControls state/>
                <Exports state/>
                <Details state/>
            </section>
        </div>
        <OcclusionPanel state/>
        <section class="teaching" aria-label="How to read these maps">
            <Teaching/>
        </section>
        </main>
        <Enlarged state/>
    }
}

/// Asks the worker for the maps of the methods (and smoothing) the grid shows, where the maps on
/// screen lack them. Not while live frames come (each brings the methods on screen when it was
/// read, without aug_smooth: [`crate::live::frame_smoothing`]); a frame kept as the photo gets them
/// then. Nor while a new photo is on its way (its own request asks for them).
fn ask_for_methods(state: State) {
    let (methods, smoothing) = (state.wanted_methods(), state.smoothing.get());
    if state.live.get().moving() || memory(|m| m.pending_image.is_some()) {
        return;
    }
    let Some(raw) = state.raw.get_untracked() else {
        return;
    };
    if raw.smoothing != smoothing || !methods.iter().all(|m| raw.methods.contains(m)) {
        state.send(Request::Maps { class: raw.class, methods, smoothing });
    }
}

/// Every picture from the worker's raw maps, on the GPU or the CPU.
fn redraw(state: State) {
    let (Some(seen), Some(raw)) = (state.seen.get(), state.raw.get()) else {
        state.shown.set(None);
        state.drawing.set(false);
        return;
    };
    let settings = state.settings();
    if !settings.methods.iter().all(|m| raw.methods.contains(m)) {
        // The worker is computing them (see ask_for_methods); a live frame's next frame brings them.
        live::drawn(state);
        return;
    }
    let fusion = state.current_fusion();
    let gpu = maths::chosen(state.gpu, state.use_gpu.get());
    let redraw = memory(|m| {
        m.redraws += 1;
        m.redraws
    });
    let started = now_ms();
    state.drawing.set(true);
    let Some(gpu) = gpu else {
        let previous = state.shown.get_untracked().filter(|_| memory(|m| m.layers_drawn(&raw, &settings)));
        let pictures = match previous {
            Some(previous) => display::show_fused(&seen, &previous, &settings, &fusion),
            None => display::show(&seen, &raw, &settings, &fusion),
        };
        memory(|m| m.drawn_from = Some((raw, settings)));
        return shown(state, pictures, "cpu", started);
    };
    memory(|m| m.drawn_from = None);
    spawn_local(async move {
        let maps = display::chosen_maps(&raw, &settings.methods);
        let result = gpu.show(&seen, raw.class, maps, &fusion, &settings).await;
        if memory(|m| m.redraws) != redraw {
            return; // a newer redraw is under way
        }
        match result {
            Ok(pictures) => shown(state, pictures, "gpu", started),
            Err(err) => {
                // Changing the GPU state runs this effect again, on the CPU.
                state.error.set(Some(format!("{err}. The maps are drawn on the CPU from now on; they are the same.")));
                maths::give_up(state.gpu, err.to_string());
            }
        }
    });
}

fn shown(state: State, shown: Shown, drawn_by: &'static str, started: f64) {
    timeline::mark(if drawn_by == "gpu" { "fusion and pictures (GPU)" } else { "fusion and pictures" });
    let asked_at = memory(|m| m.asked_at);
    state.timings.update(|t| {
        t.page_cam = now_ms() - started;
        t.to_grid = now_ms() - asked_at;
    });
    state.shown.set(Some(Arc::new(shown)));
    state.drawn_by.set(drawn_by);
    state.drawing.set(false);
    timeline::painted(state.timeline);
    live::drawn(state);
}
