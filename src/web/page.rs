//! The page: pick a photo, see the top classes, and compare class activation maps stage by stage.
//!
//! State lives in signals ([`State`]); the worker's answers arrive in [`on_response`]. Sliders only
//! re-run [`display::show`] (milliseconds); a class change re-runs the worker's backward; a new
//! image its forward and backward.

use std::cell::RefCell;
use std::sync::Arc;

use image::RgbImage;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use web_sys::{DragEvent, File, HtmlInputElement, MouseEvent};

use super::maths::{self, GpuState};
use super::{bridge, canvas, download, fetch};
use crate::cam::{Colormap, Method};
use crate::display::{self, Shown};
use crate::explain::{Prediction, Settings};
use crate::model::preprocess::Recipe;
use crate::protocol::{ClassRawMaps, ModelInfo, Request, Response};
use crate::report;

const MODEL: &str = "./models/efficientnet_lite0.onnx";
const SIDECAR: &str = "./models/efficientnet_lite0.json";
const LABELS: &str = "./models/imagenet_classes.txt";
const SAMPLES: [(&str, &str); 2] = [("./samples/chelsea.png", "Chelsea the cat"), ("./samples/coffee.png", "A cup of espresso")];

pub fn start() {
    super::panic::install();
    leptos::mount::mount_to_body(App);
}

/// Everything the page shows, as signals.
#[derive(Clone, Copy)]
struct State {
    status: RwSignal<String>,
    busy: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    /// Model download: bytes so far and total; None once downloaded.
    download: RwSignal<Option<(u64, Option<u64>)>>,
    model: RwSignal<Option<ModelInfo>>,
    seen: RwSignal<Option<Arc<RgbImage>>>,
    top: RwSignal<Vec<Prediction>>,
    raw: RwSignal<Option<Arc<ClassRawMaps>>>,
    methods: RwSignal<Vec<Method>>,
    gamma: RwSignal<f32>,
    threshold: RwSignal<f32>,
    opacity: RwSignal<f32>,
    colormap: RwSignal<Colormap>,
    /// Which layers enter the fusion.
    fusion: RwSignal<Vec<bool>>,
    shown: RwSignal<Option<Arc<Shown>>>,
    timings: RwSignal<Timings>,
    enlarged: RwSignal<Option<Cell>>,
    hover: RwSignal<String>,
    gpu: RwSignal<GpuState>,
    /// Which path drew the pictures on screen: "gpu" or "cpu" (the grid's data-drawn-by).
    drawn_by: RwSignal<&'static str>,
    /// The user's choice in the details panel; the GPU is used only if there is one.
    use_gpu: RwSignal<bool>,
}

#[derive(Clone, Copy, Default, PartialEq)]
struct Timings {
    prepare: f64,
    forward: f64,
    backward: f64,
    worker_cam: f64,
    page_cam: f64,
    /// From the request that started it to the full grid on screen.
    to_grid: f64,
    /// Forward passes run so far: sliders must not add any.
    forwards: u32,
}

/// One picture of the grid: a layer's map, or the fused map (`layer: None`), for one method.
#[derive(Clone, Copy, PartialEq)]
struct Cell {
    layer: Option<usize>,
    method: usize,
}

/// What the page must be able to send again (a restarted worker starts empty) and name in exports.
#[derive(Default)]
struct Memory {
    model: Option<Request>,
    pending_model: Option<Request>,
    layers: Option<Vec<String>>,
    image: Option<(String, Vec<u8>)>,
    class: Option<usize>,
    labels: Option<String>,
    asked_at: f64,
    /// Counts redraws: a GPU result that arrives after a newer redraw started is dropped.
    redraws: u64,
}

thread_local! {
    static MEMORY: RefCell<Memory> = RefCell::new(Memory::default());
}

fn memory<T>(f: impl FnOnce(&mut Memory) -> T) -> T {
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
            error: RwSignal::new(None),
            download: RwSignal::new(Some((0, None))),
            model: RwSignal::new(None),
            seen: RwSignal::new(None),
            top: RwSignal::new(vec![]),
            raw: RwSignal::new(None),
            methods: RwSignal::new(Method::ALL.to_vec()),
            gamma: RwSignal::new(crate::explain::DEFAULT_GAMMA),
            threshold: RwSignal::new(crate::cam::DEFAULT_BOX_THRESHOLD),
            opacity: RwSignal::new(0.5),
            colormap: RwSignal::new(Colormap::Jet),
            fusion: RwSignal::new(vec![]),
            shown: RwSignal::new(None),
            timings: RwSignal::new(Timings::default()),
            enlarged: RwSignal::new(None),
            hover: RwSignal::new(String::new()),
            gpu: RwSignal::new(GpuState::Looking),
            drawn_by: RwSignal::new(""),
            use_gpu: RwSignal::new(true),
        }
    }

    fn settings(&self) -> Settings {
        Settings {
            methods: self.methods.get(),
            gamma: self.gamma.get(),
            box_threshold: self.threshold.get(),
            colormap: self.colormap.get(),
            opacity: self.opacity.get(),
        }
    }

    fn send(&self, request: Request) {
        self.busy.set(true);
        memory(|m| m.asked_at = now_ms());
        bridge::send(&request);
    }

    fn explain(&self, name: String, bytes: Vec<u8>) {
        self.error.set(None);
        memory(|m| {
            m.image = Some((name, bytes.clone()));
            m.class = None;
        });
        if self.model.get_untracked().is_some() {
            self.send(Request::Explain { image: bytes, class: None });
        } else {
            self.status.set("The photo will be explained as soon as the model is ready.".into());
        }
    }

    fn retarget(&self, class: usize) {
        if memory(|m| m.image.is_some()) {
            self.send(Request::Retarget { class });
        }
    }
}

/// The worker's answers.
fn on_response(state: State, response: Response) {
    match response {
        Response::Ready => {} // the bridge's business
        Response::Status { text } => state.status.set(text),
        Response::ModelReady(info) => {
            memory(|m| {
                if let Some(model) = m.pending_model.take() {
                    m.model = Some(model);
                    m.class = None; // another model, other classes: start from its top-1
                }
                m.layers = Some(info.layers.iter().map(|l| l.name.clone()).collect());
            });
            state.fusion.set(vec![true; info.layers.len()]);
            state.raw.set(None);
            state.status.set(format!("Model {} ready: {} layers explained.", info.name, info.layers.len()));
            state.timings.update(|t| t.prepare = info.prepare_ms);
            state.model.set(Some(info));
            state.busy.set(false);
            // A photo chosen while the model was loading, or the current one under new layers.
            if let Some((_, image)) = memory(|m| m.image.clone()) {
                let class = memory(|m| m.class);
                state.send(Request::Explain { image, class });
            }
        }
        Response::Prediction { top, seen, forward_ms } => {
            state.raw.set(None);
            state.seen.set(Some(Arc::new(display::seen_image(&seen))));
            state.top.set(top);
            state.timings.update(|t| {
                t.forward = forward_ms;
                t.forwards += 1;
            });
        }
        Response::Maps(raw) => {
            memory(|m| m.class = Some(raw.class));
            state.timings.update(|t| {
                t.backward = raw.backward_ms;
                t.worker_cam = raw.cam_ms;
            });
            let label = state.model.with_untracked(|m| m.as_ref().map(|m| m.labels[raw.class].clone()));
            state.status.set(format!("Showing where the network looks for “{}”.", label.unwrap_or_default()));
            state.raw.set(Some(Arc::new(raw)));
            state.busy.set(false);
        }
        Response::Failed { request, message } if request == "panic" => {
            state.error.set(Some(format!("The worker crashed ({message}); a fresh one was started.")));
            state.busy.set(false);
            restart_worker(state);
        }
        Response::Failed { request, message } => {
            let kept = memory(|m| m.pending_model.take().is_some() && m.model.is_some());
            let note = if kept { " The previous model is still in use." } else { "" };
            state.error.set(Some(format!("Could not {request}: {message}.{note}")));
            state.status.set("Ready.".into());
            state.busy.set(false);
        }
    }
}

/// A new worker knows nothing: send it the model (and its layers) again; the image follows on ready.
fn restart_worker(state: State) {
    if let Err(err) = bridge::restart() {
        state.error.set(Some(err));
        return;
    }
    let (model, layers) = memory(|m| (m.model.clone(), m.layers.clone()));
    if let Some(model) = model {
        memory(|m| m.pending_model = Some(model.clone()));
        state.send(model);
        if let Some(layers) = layers {
            state.send(Request::SetLayers { layers });
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
            let request = Request::LoadModel { name, onnx, sidecar: Some(sidecar), labels: Some(labels), recipe: None };
            memory(|m| m.pending_model = Some(request.clone()));
            state.send(request);
        }
        Err(err) => {
            state.download.set(None);
            state.busy.set(false);
            state.error.set(Some(format!("Could not download the model: {err}")));
        }
    }
}

async fn file_bytes(file: &File) -> Result<Vec<u8>, String> {
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await.map_err(|e| format!("{e:?}"))?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

fn explain_file(state: State, file: File) {
    spawn_local(async move {
        match file_bytes(&file).await {
            Ok(bytes) => state.explain(file.name(), bytes),
            Err(err) => state.error.set(Some(format!("Could not read {}: {err}", file.name()))),
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
    spawn_local(maths::find(state.gpu));
    listen_for_paste(state);
    // Sliders, checkboxes and a new class all end here: the CAM maths on the page, no network.
    Effect::new(move |_| redraw(state));
    view! {
        <header>
            <h1>"layercam"</h1>
            <p class="tagline">"Where does an image classifier look? At every stage of the network, on your own machine."</p>
        </header>
        <ErrorBanner state/>
        <p id="status" class="status" role="status" aria-live="polite">
            {move || state.busy.get().then(|| view! { <span class="spinner" aria-hidden="true"></span> })}
            {move || state.status.get()}
            <ModelProgress state/>
        </p>
        <main class="layout">
            <section class="inputs" aria-label="Photo and model">
                <PhotoPicker state/>
                <Seen state/>
                <ModelPicker state/>
            </section>
            <section class="results" aria-label="Results">
                <Predictions state/>
                <Controls state/>
                <Grid state/>
                <Exports state/>
                <Details state/>
            </section>
            <aside class="teaching">
                <Teaching/>
            </aside>
        </main>
        <Enlarged state/>
    }
}

/// Every picture from the worker's raw maps, on the GPU or the CPU.
fn redraw(state: State) {
    let (Some(seen), Some(raw)) = (state.seen.get(), state.raw.get()) else {
        state.shown.set(None);
        return;
    };
    let settings = state.settings();
    let fusion = state.fusion.get();
    let gpu = maths::chosen(state.gpu, state.use_gpu.get());
    let redraw = memory(|m| {
        m.redraws += 1;
        m.redraws
    });
    let started = now_ms();
    let Some(gpu) = gpu else {
        return shown(state, display::show(&seen, &raw, &settings, &fusion), "cpu", started);
    };
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
    let asked_at = memory(|m| m.asked_at);
    state.timings.update(|t| {
        t.page_cam = now_ms() - started;
        t.to_grid = now_ms() - asked_at;
    });
    state.shown.set(Some(Arc::new(shown)));
    state.drawn_by.set(drawn_by);
}

#[component]
fn ErrorBanner(state: State) -> impl IntoView {
    move || {
        state.error.get().map(|message| {
            view! {
                <div id="error" class="banner error" role="alert">
                    <span>{message}</span>
                    <button on:click=move |_| state.error.set(None) title="Dismiss this message">"×"</button>
                </div>
            }
        })
    }
}

#[component]
fn ModelProgress(state: State) -> impl IntoView {
    move || {
        state.download.get().map(|(done, total)| {
            let mb = |b: u64| b as f64 / 1e6;
            let text = match total {
                Some(total) => format!(" {:.1} of {:.1} MB", mb(done), mb(total)),
                None => format!(" {:.1} MB", mb(done)),
            };
            view! {
                <progress id="model-progress" max=move || total.unwrap_or(0).to_string() value=done.to_string()></progress>
                <span>{text}</span>
            }
        })
    }
}

#[component]
fn PhotoPicker(state: State) -> impl IntoView {
    let dragging = RwSignal::new(false);
    let on_drop = move |ev: DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        if let Some(file) = ev.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0)) {
            explain_file(state, file);
        }
    };
    let on_pick = move |ev: leptos::ev::Event| {
        let input: HtmlInputElement = event_target(&ev);
        if let Some(file) = input.files().and_then(|f| f.get(0)) {
            explain_file(state, file);
        }
        input.set_value("");
    };
    let samples = SAMPLES.map(|(url, alt)| {
        let pick = move |_| {
            spawn_local(async move {
                match fetch::bytes(url, |_, _| ()).await {
                    Ok(bytes) => state.explain(url.rsplit('/').next().unwrap_or(url).to_string(), bytes),
                    Err(err) => state.error.set(Some(err)),
                }
            })
        };
        view! {
            <button class="sample" on:click=pick title=format!("Explain this photo: {alt}")>
                <img src=url alt=alt width="96" height="64"/>
            </button>
        }
    });
    view! {
        <h2>"1. A photo"</h2>
        <div class="samples" aria-label="Sample photos">{samples.into_iter().collect_view()}</div>
        <label
            class="dropzone"
            class:dragging=move || dragging.get()
            on:dragover=move |ev: DragEvent| { ev.prevent_default(); dragging.set(true); }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop
            title="Drop a photo here, click to choose one, or paste one (Ctrl+V)"
        >
            <span>"Drop a photo here, click to choose one, or paste it (Ctrl+V)."</span>
            <input id="photo-input" type="file" accept="image/*" on:change=on_pick/>
        </label>
    }
}

/// Ctrl+V anywhere on the page explains a pasted image.
fn listen_for_paste(state: State) {
    let handle = window_event_listener(leptos::ev::paste, move |ev| {
        if let Some(file) = ev.clipboard_data().and_then(|d| d.files()).and_then(|f| f.get(0)) {
            explain_file(state, file);
        }
    });
    // The page lives as long as the tab: keep listening.
    std::mem::forget(handle);
}

#[component]
fn Seen(state: State) -> impl IntoView {
    let picture = Signal::derive(move || state.seen.get().map(|s| (*s).clone()));
    view! {
        <h2>"2. What the network sees"</h2>
        <p class="hint">"The photo after the model's own cropping and resizing."</p>
        <Picture picture label="The photo as the model sees it".into() id="seen".into()/>
    }
}

#[component]
fn ModelPicker(state: State) -> impl IntoView {
    let recipe = RwSignal::new(Recipe::Torchvision);
    let on_model = move |ev: leptos::ev::Event| {
        let input: HtmlInputElement = event_target(&ev);
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        input.set_value("");
        spawn_local(async move {
            match file_bytes(&file).await {
                Ok(onnx) => {
                    // ImageNet's names are used when the model has 1000 classes (else classes are numbered).
                    let labels = memory(|m| m.labels.clone());
                    let request = Request::LoadModel { name: file.name(), onnx, sidecar: None, labels, recipe: Some(recipe.get_untracked()) };
                    memory(|m| m.pending_model = Some(request.clone()));
                    state.error.set(None);
                    state.send(request);
                }
                Err(err) => state.error.set(Some(format!("Could not read {}: {err}", file.name()))),
            }
        });
    };
    view! {
        <details class="own-model">
            <summary title="Explain another ONNX image classifier">"Use your own model (.onnx)"</summary>
            <label>"Preprocessing "
                <select on:change=move |ev| recipe.set(event_target_value(&ev).parse().unwrap_or_default())
                        title="How your model's training images were prepared">
                    <option value="torchvision" selected>"torchvision (resize 256, crop 224, ImageNet mean/std)"</option>
                    <option value="efficientnet-lite">"EfficientNet-Lite (crop 87.5 %, bicubic, (x−127)/128)"</option>
                </select>
            </label>
            <label class="file">"ONNX file "
                <input id="model-input" type="file" accept=".onnx" on:change=on_model/>
            </label>
            <p class="hint">{move || state.model.get().map(|m| format!("In use: {} ({} classes, {}).", m.name, m.classes, m.recipe))}</p>
        </details>
    }
}

#[component]
fn Predictions(state: State) -> impl IntoView {
    let search = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        // Options read "label (index)": the index settles duplicate names.
        let class = text.rsplit_once('(').and_then(|(_, rest)| rest.trim_end_matches(')').parse::<usize>().ok());
        if let Some(class) = class {
            state.retarget(class);
        }
    };
    let rows = move || {
        let current = state.raw.get().map(|r| r.class);
        state
            .top
            .get()
            .into_iter()
            .map(|p| {
                let class = p.class;
                let percent = format!("{:.1}%", p.prob * 100.0);
                view! {
                    <li>
                        <button class="class" class:current=current == Some(class) on:click=move |_| state.retarget(class)
                                title=format!("Show where the network looks for “{}” (logit {:.2})", p.label, p.logit)>
                            <span class="label">{p.label.clone()}</span>
                            <span class="bar" style=format!("width: {percent}")></span>
                            <span class="prob">{percent.clone()}</span>
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    let options = move || {
        state.model.get().map(|m| {
            m.labels.iter().enumerate().map(|(i, l)| view! { <option value=format!("{l} ({i})")></option> }).collect_view()
        })
    };
    view! {
        <h2>"3. What the network thinks it is"</h2>
        <ol id="top" class="top">{rows}</ol>
        <label class="search">"Any class: "
            <input type="search" list="classes" placeholder="type a class name…" on:change=search
                   title="Pick any of the classes to see where the network would look for it"/>
        </label>
        <datalist id="classes">{options}</datalist>
    }
}

#[component]
fn Controls(state: State) -> impl IntoView {
    let method_boxes = Method::ALL.map(|method| {
        let toggle = move |ev: leptos::ev::Event| {
            let on = event_target_checked(&ev);
            state.methods.update(|ms| {
                ms.retain(|m| *m != method);
                if on {
                    ms.push(method);
                    ms.sort_by_key(|m| Method::ALL.iter().position(|a| a == m));
                }
            });
        };
        view! {
            <label title=method_help(method)>
                <input type="checkbox" checked=move || state.methods.get().contains(&method) on:change=toggle/>
                {method_title(method)}
            </label>
        }
    });
    let slider = move |id: &'static str, label: &'static str, help: &'static str, signal: RwSignal<f32>, range: (f32, f32, f32)| {
        view! {
            <label for=id title=help>{label}" "<output>{move || format!("{:.2}", signal.get())}</output></label>
            <input id=id type="range" min=range.0.to_string() max=range.1.to_string() step=range.2.to_string()
                   prop:value=move || signal.get().to_string() title=help
                   on:input=move |ev| { if let Ok(v) = event_target_value(&ev).parse() { signal.set(v) } }/>
        }
    };
    view! {
        <h2>"4. The maps"</h2>
        <div class="controls">
            <fieldset><legend>"Methods"</legend>{method_boxes.into_iter().collect_view()}</fieldset>
            <fieldset class="sliders"><legend>"Display"</legend>
                {slider("gamma", "γ (fusion)", "γ of Eq. 9: each stage's map becomes tanh(γ·M / max M) before fusion; larger γ lifts the weak responses", state.gamma, (0.5, 4.0, 0.1))}
                {slider("threshold", "box threshold", "The box surrounds the largest region above this fraction of the fused map's maximum", state.threshold, (0.05, 0.95, 0.01))}
                {slider("opacity", "opacity", "How strongly the map is painted over the photo", state.opacity, (0.0, 1.0, 0.05))}
                <label title="How map values become colours">"colormap "
                    <select id="colormap" on:change=move |ev| { if let Ok(c) = event_target_value(&ev).parse() { state.colormap.set(c) } }>
                        {Colormap::ALL.map(|c| view! { <option value=c.name() selected=c == Colormap::Jet>{c.name()}</option> }).into_iter().collect_view()}
                    </select>
                </label>
            </fieldset>
            <LayerPicker state/>
        </div>
    }
}

fn method_title(method: Method) -> &'static str {
    match method {
        Method::LayerCam => "LayerCAM",
        Method::LayerCamNormal => "LayerCAM-normal",
        Method::GradCam => "Grad-CAM",
        Method::GradCamPlusPlus => "Grad-CAM++",
    }
}

fn method_help(method: Method) -> &'static str {
    match method {
        Method::LayerCam => "LayerCAM: every location weighs its activations by its own positive gradients (Eq. 6–8)",
        Method::LayerCamNormal => "LayerCAM with the raw gradient as weight, negative parts included (the paper's ablation)",
        Method::GradCam => "Grad-CAM: one weight per channel, the mean gradient (Eq. 3)",
        Method::GradCamPlusPlus => "Grad-CAM++: one weight per channel from higher-order gradient terms (Eq. 4–5)",
    }
}

#[component]
fn LayerPicker(state: State) -> impl IntoView {
    let chosen = RwSignal::new(String::new());
    let add = move |_| {
        let name = chosen.get_untracked();
        let mut layers = memory(|m| m.layers.clone()).unwrap_or_default();
        if !name.is_empty() && !layers.contains(&name) {
            layers.push(name);
            state.send(Request::SetLayers { layers });
        }
    };
    let options = move || {
        state.model.get().map(|m| {
            m.candidates
                .iter()
                .map(|c| {
                    let mark = if c.auto { " ★" } else { "" };
                    let text = format!("{} {:?} {}{mark}", c.name, c.shape, c.op);
                    view! { <option value=c.name.clone()>{text}</option> }
                })
                .collect_view()
        })
    };
    view! {
        <fieldset class="layers"><legend>"Layers"</legend>
            <label for="layer-select" title="Every tensor of the network that can be explained, with its shape [C, H, W]; ★ marks the automatic choice">"add a layer "</label>
            <select id="layer-select" on:change=move |ev| chosen.set(event_target_value(&ev))>
                <option value="">"choose a tensor…"</option>
                {options}
            </select>
            <button on:click=add disabled=move || state.busy.get() title="Add this tensor as a column of the grid">"Add"</button>
        </fieldset>
    }
}

/// Removes a column (never the last one).
fn remove_layer(state: State, name: String) {
    let mut layers = memory(|m| m.layers.clone()).unwrap_or_default();
    if layers.len() > 1 {
        layers.retain(|l| *l != name);
        state.send(Request::SetLayers { layers });
    }
}

#[component]
fn Grid(state: State) -> impl IntoView {
    // Rebuilt when the layers or methods change; each canvas redraws itself when the maps do.
    let table = move || {
        let model = state.model.get()?;
        let methods = state.methods.get();
        let layers = model.layers.clone();
        let header = layers
            .iter()
            .enumerate()
            .map(|(i, layer)| {
                let name = layer.name.clone();
                let shape = format!("[{}, {}, {}]", layer.shape[0], layer.shape[1], layer.shape[2]);
                view! {
                    <th scope="col">
                        <span class="layer-name">{layer.name.clone()}</span><br/><small>{shape}</small>
                        <label class="fuse" title="Include this stage in the fused map">
                            <input type="checkbox" checked=move || state.fusion.get().get(i).copied().unwrap_or(true)
                                   on:change=move |ev| { let on = event_target_checked(&ev); state.fusion.update(|f| if let Some(v) = f.get_mut(i) { *v = on }) }/>
                            "fuse"
                        </label>
                        <button class="remove" title=format!("Remove {name} from the grid") on:click=move |_| remove_layer(state, name.clone())>"×"</button>
                    </th>
                }
            })
            .collect_view();
        let rows = methods
            .iter()
            .enumerate()
            .map(|(m, &method)| {
                let cells = (0..layers.len())
                    .map(|l| view! { <td><MapCell state cell=Cell { layer: Some(l), method: m }/></td> })
                    .collect_view();
                view! {
                    <tr>
                        <th scope="row" title=method_help(method)>{method_title(method)}</th>
                        {cells}
                        <td class="fused"><MapCell state cell=Cell { layer: None, method: m }/></td>
                    </tr>
                }
            })
            .collect_view();
        Some(view! {
            <table id="grid" class="grid" data-drawn-by=move || state.drawn_by.get()>
                <thead><tr><th></th>{header}<th scope="col">"fused (Eq. 9)"<br/><small>"with the box"</small></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        })
    };
    view! {
        <div class="grid-scroll">{table}</div>
        <p id="hover" class="hover" aria-live="polite">{move || state.hover.get()}</p>
    }
}

/// The picture of a cell in the current maps.
fn cell_picture(shown: &Shown, cell: Cell) -> Option<RgbImage> {
    match cell.layer {
        Some(l) => shown.cells.get(l)?.get(cell.method).cloned(),
        None => shown.fused.get(cell.method).cloned(),
    }
}

#[component]
fn MapCell(state: State, cell: Cell) -> impl IntoView {
    let picture = Signal::derive(move || state.shown.get().and_then(|s| cell_picture(&s, cell)));
    let describe = move || {
        let model = state.model.get()?;
        let method = *state.methods.get().get(cell.method)?;
        Some(match cell.layer {
            Some(l) => format!("{} map of layer {}", method_title(method), model.layers.get(l)?.name),
            None => format!("{} fused map", method_title(method)),
        })
    };
    let on_move = move |ev: MouseEvent| {
        let Some(target) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return };
        let size = (target.client_width().max(1) as u32, target.client_height().max(1) as u32);
        let text = state.shown.with_untracked(|shown| {
            let shown = shown.as_ref()?;
            let model = state.model.get_untracked()?;
            let (x, y) = (f64::from(ev.offset_x()), f64::from(ev.offset_y()));
            Some(match cell.layer {
                Some(l) => {
                    let layer = model.layers.get(l)?;
                    let (value, fraction) = display::value_at(shown.maps.raw.get(l)?.get(cell.method)?, size, x, y);
                    format!("{} · shape [{}, {}, {}] · M = {value:.4} ({:.0} % of its max)", layer.name, layer.shape[0], layer.shape[1], layer.shape[2], fraction * 100.0)
                }
                None => {
                    let (value, _) = display::value_at(shown.maps.fused.get(cell.method)?, size, x, y);
                    format!("fused map · value {value:.3}")
                }
            })
        });
        state.hover.set(text.unwrap_or_default());
    };
    let label = Signal::derive(move || describe().unwrap_or_default());
    let id = match cell.layer {
        Some(l) => format!("cell-{l}-{}", cell.method),
        None => format!("fused-{}", cell.method),
    };
    view! {
        <button class="cell" on:click=move |_| state.enlarged.set(Some(cell)) on:mousemove=on_move
                title=move || format!("{} — click to enlarge", label.get())>
            <Picture picture label=label.get_untracked() id/>
        </button>
    }
}

/// A canvas that redraws whenever its picture changes.
#[component]
fn Picture(picture: Signal<Option<RgbImage>>, label: String, id: String) -> impl IntoView {
    let node = NodeRef::<leptos::html::Canvas>::new();
    Effect::new(move |_| {
        if let (Some(canvas), Some(image)) = (node.get(), picture.get()) {
            canvas::draw(&canvas, &image);
        }
    });
    view! { <canvas node_ref=node id=(!id.is_empty()).then_some(id) role="img" aria-label=label width="224" height="224"></canvas> }
}

#[component]
fn Enlarged(state: State) -> impl IntoView {
    let picture = Signal::derive(move || {
        let cell = state.enlarged.get()?;
        state.shown.get().and_then(|s| cell_picture(&s, cell))
    });
    let close = move || state.enlarged.set(None);
    let on_key = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            close();
        }
    });
    std::mem::forget(on_key);
    move || {
        state.enlarged.get().map(|_| {
            view! {
                <div class="modal" role="dialog" aria-label="Enlarged map" on:click=move |_| close()>
                    <Picture picture label="Enlarged map".into() id="enlarged".into()/>
                    <p>"Click or press Escape to close."</p>
                </div>
            }
        })
    }
}

#[component]
fn Exports(state: State) -> impl IntoView {
    let export = move |what: &'static str| {
        move |_| {
            if let Err(err) = save(state, what) {
                state.error.set(Some(format!("Could not export: {err}")));
            }
        }
    };
    view! {
        <div class="exports">
            <h2>"5. Keep them"</h2>
            <button id="save-grid" on:click=export("grid") disabled=move || state.shown.get().is_none()
                    title="The whole grid as one PNG">"Grid (PNG)"</button>
            <button id="save-fused" on:click=export("fused") disabled=move || state.shown.get().is_none()
                    title="The fused map of the first method, with its box">"Fused map (PNG)"</button>
            <button id="save-all" on:click=export("all") disabled=move || state.shown.get().is_none()
                    title="Raw maps (.npy), fused maps, overlays and summary.json, as the command line writes them">"Everything (.zip)"</button>
        </div>
    }
}

fn save(state: State, what: &str) -> Result<(), String> {
    let (Some(shown), Some(seen), Some(model)) = (state.shown.get_untracked(), state.seen.get_untracked(), state.model.get_untracked()) else {
        return Ok(());
    };
    let class = shown.maps.class;
    let png = |image: &RgbImage| report::png(image).map_err(|e| e.to_string());
    match what {
        "grid" => download::save(&format!("layercam-{class}-grid.png"), "image/png", &png(&report::overview(&seen, &shown.cells, &shown.fused))?),
        "fused" => {
            let fused = shown.fused.first().ok_or("no method is selected")?;
            download::save(&format!("layercam-{class}-fused.png"), "image/png", &png(fused)?)
        }
        _ => {
            let timings = state.timings.get_untracked();
            let timings = [("forward", timings.forward), ("backward", timings.backward), ("cam", timings.worker_cam + timings.page_cam)];
            let image = memory(|m| m.image.as_ref().map(|(name, _)| name.clone())).unwrap_or_default();
            let settings = state.settings();
            let top = state.top.get_untracked();
            let context = report::Context {
                model: &model.name,
                image: &image,
                preprocess: model.recipe.name(),
                top: &top,
                layers: &model.layers,
                seen: &seen,
                settings: &settings,
                device: &maths::describe(&state.gpu.get_untracked(), state.use_gpu.get_untracked()),
                timings_ms: &timings,
            };
            let files = report::class_files(&context, &shown, None).map_err(|e| e.to_string())?;
            download::save(&format!("layercam-{class}.zip"), "application/zip", &download::zip(&files)?)
        }
    }
}

#[component]
fn Details(state: State) -> impl IntoView {
    let row = |name: &'static str, value: Signal<String>| view! { <tr><th scope="row">{name}</th><td>{value}</td></tr> };
    let ms = move |f: fn(&Timings) -> f64| Signal::derive(move || format!("{:.1} ms", f(&state.timings.get())));
    view! {
        <details id="details" class="details">
            <summary title="Timings and how the maps are computed">"Details"</summary>
            <table>
                <tr>
                    <th scope="row">"maths on"</th>
                    <td>
                        <span id="maths-on">{move || maths::describe(&state.gpu.get(), state.use_gpu.get())}</span>
                        " "
                        <label title="Draw the maps with WebGPU compute shaders, or with the CPU reference: the pictures are the same">
                            <input id="use-gpu" type="checkbox" prop:checked=move || state.use_gpu.get()
                                disabled=move || !matches!(state.gpu.get(), GpuState::Ready(_))
                                on:change=move |e| state.use_gpu.set(event_target_checked(&e))/>
                            " use the GPU"
                        </label>
                    </td>
                </tr>
                {row("model", Signal::derive(move || state.model.get().map(|m| format!("{} — {} classes, input {}×{}, {}", m.name, m.classes, m.input_size[0], m.input_size[1], m.recipe)).unwrap_or_default()))}
                {row("prepare (parse, differentiate, plan)", ms(|t| t.prepare))}
                {row("forward (worker)", ms(|t| t.forward))}
                {row("backward (worker)", ms(|t| t.backward))}
                {row("raw maps (worker)", ms(|t| t.worker_cam))}
                <tr><th scope="row">"fusion and overlays (page)"</th><td id="redraw-ms">{ms(|t| t.page_cam)}</td></tr>
                {row("request to full grid", ms(|t| t.to_grid))}
                <tr><th scope="row">"forward passes run"</th><td id="forward-count">{move || state.timings.get().forwards}</td></tr>
            </table>
        </details>
    }
}

#[component]
fn Teaching() -> impl IntoView {
    view! {
        <details open class="teaching-text">
            <summary>"How to read these maps"</summary>
            <p><strong>"Layers and stages. "</strong>"A classifier is a stack of layers. Each layer turns the picture into many feature maps (channels). Early layers see small details — edges, fur, rims — at high resolution; deep layers see whole objects at low resolution (7×7 here). A "<em>"stage"</em>" is a group of layers that share one resolution; the grid shows one layer per stage, shallow on the left, deep on the right."</p>
            <p><strong>"Gradients. "</strong>"For the chosen class, the network's raw score (its logit) changes a little when a feature value changes. That rate of change, the gradient, says how much each value at each place matters for the class."</p>
            <p><strong>"Grad-CAM"</strong>" gives every channel one weight (its average gradient) and adds the channels up. In the deep layers that works well. In shallow layers a channel fires on the object and on the background alike, and one weight per channel cannot tell them apart: the map turns noisy."</p>
            <p><strong>"LayerCAM"</strong>" (Eq. 6–8) gives every "<em>"location"</em>" its own weight: the positive part of the gradient there. A feature counts only where it actually pushes the class up, so even shallow layers show the object's fine outline."</p>
            <p><strong>"Fusion"</strong>" (Eq. 9): shallow maps have small values, so each map is first rescaled to tanh(γ·M / max M), then all are resized to the photo and the largest value at each pixel is kept. The white box surrounds the largest region above the threshold (15 % of the maximum in the paper)."</p>
            <p class="hint">"Try: switch Grad-CAM and LayerCAM on the leftmost column, click another class, or move γ."</p>
        </details>
    }
}
