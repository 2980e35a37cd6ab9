//! Live mode: the camera, or a video file, explained frame after frame, the grid and the fused map
//! updating in place over the live picture.
//!
//! One frame at a time: the page reads a frame from the video only once the worker has answered
//! the previous one and its maps are painted, so a slow machine shows fewer frames, never older
//! ones — the worker never has a queue. A frame travels as raw RGBA pixels, transferred (see
//! [`bridge::send_frame`]). Freeze keeps the frame on screen as the photo (encoded as a PNG, as if
//! it had been dropped), and everything then works as for a photo; Stop also releases the camera.
//! The rules (which class, the frame's size, the frame rate) are plain Rust in [`crate::live`].

use std::cell::RefCell;

use js_sys::{Promise, Reflect, Uint8Array, Uint8ClampedArray};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    CanvasRenderingContext2d, ContextAttributes2d, DomException, DomRectReadOnly, File, HtmlCanvasElement, HtmlVideoElement, MediaStream,
    MediaStreamConstraints, MediaStreamTrack, VisibilityState,
};

use super::page::{State, memory};
use super::{bridge, timeline};
use crate::live::{FrameRate, Target, camera_refusal, capture_size, frame_picture, frame_smoothing};
use crate::protocol::Request;
use crate::report;

/// The page's `<video>`: the live picture as the camera gives it, at its own rate.
const VIDEO: &str = "live-video";
/// The service worker (web/sw.js) serves a dropped video file from this cache, under [`CLIP_PATH`]:
/// the page's Content-Security-Policy admits media from its own origin only (no `blob:` URLs).
const CLIPS: &str = "layercam-clips";
const CLIP_PATH: &str = "./clip/";
/// How soon to try again when the video has no frame yet or the worker is not listening.
const RETRY_MS: i32 = 50;
/// What the camera is asked for: the model sees 224×224, so 640×480 is plenty; a phone's back camera.
const CAMERA: &str = r#"{"width":{"ideal":640},"height":{"ideal":480},"facingMode":{"ideal":"environment"}}"#;

/// Where live mode stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Off,
    /// Asking for the camera (its permission prompt may be open) or opening the video file.
    Starting,
    Running,
    /// The tab is hidden: no frames until it is shown again.
    Hidden,
    /// Freeze was pressed with a frame in the worker: that frame, once shown, is the one kept.
    Freezing,
    /// The frame on screen is the photo; the camera stays on for Resume.
    Frozen,
    /// Stop was pressed with a frame in the worker: that frame, once shown, is kept as the photo.
    Stopping,
}

impl Mode {
    /// Frames are coming: the class buttons lock a class, and the occlusion test and exports wait
    /// for a frame to be kept.
    pub fn moving(self) -> bool {
        matches!(self, Mode::Running | Mode::Hidden | Mode::Freezing | Mode::Stopping)
    }
}

/// The frame rate and the latency of the last frame, for the live panel.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rate {
    pub fps: Option<f64>,
    /// From reading the frame off the video to its last map painted (the timeline's "painted").
    pub latency_ms: f64,
}

/// The video being explained, and the page's one-frame-at-a-time bookkeeping.
struct Feed {
    video: HtmlVideoElement,
    /// The camera's stream (None for a video file): Stop ends its tracks.
    stream: Option<MediaStream>,
    /// Where frames are read through: WebCodecs, else a canvas made on first need.
    canvas: Option<(HtmlCanvasElement, CanvasRenderingContext2d)>,
    webcodecs: bool,
    /// The frame sent last, kept for Freeze; its buffer is reused from frame to frame.
    kept: Option<Frame>,
    /// A frame is being read or is in the worker.
    in_flight: bool,
    /// The worker's answer is on screen and not yet painted.
    answered: bool,
    rate: FrameRate,
}

/// A frame's RGBA pixels, `width × height × 4` bytes.
struct Frame {
    width: u32,
    height: u32,
    rgba: Uint8Array,
}

#[wasm_bindgen]
extern "C" {
    /// WebCodecs' `VideoFrame` (web-sys has it only behind `web_sys_unstable_apis`).
    type VideoFrame;
    #[wasm_bindgen(constructor, catch)]
    fn new(video: &HtmlVideoElement) -> Result<VideoFrame, JsValue>;
    #[wasm_bindgen(method, getter, js_name = visibleRect)]
    fn visible_rect(this: &VideoFrame) -> Option<DomRectReadOnly>;
    #[wasm_bindgen(method, catch, js_name = allocationSize)]
    fn allocation_size(this: &VideoFrame, options: &JsValue) -> Result<f64, JsValue>;
    #[wasm_bindgen(method, catch, js_name = copyTo)]
    fn copy_to(this: &VideoFrame, destination: &Uint8Array, options: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method)]
    fn close(this: &VideoFrame);
}

thread_local! {
    static FEED: RefCell<Option<Feed>> = const { RefCell::new(None) };
}

fn with_feed<T>(f: impl FnOnce(&mut Feed) -> T) -> Option<T> {
    FEED.with(|feed| feed.borrow_mut().as_mut().map(f))
}

/// Starts the camera; the browser asks for the permission now, not before.
pub fn start_camera(state: State) {
    stop(state, false);
    state.live.set(Mode::Starting);
    state.live_source.set("camera".into());
    spawn_local(async move {
        match camera().await {
            Ok(stream) => {
                if let Some(video) = video() {
                    video.set_src_object(Some(&stream));
                    listen_for_camera_loss(state, &stream);
                    begin(state, video, Some(stream)).await;
                }
            }
            Err(reason) => {
                state.live.set(Mode::Off);
                state.error.set(Some(format!("Could not start the camera: {reason}. The photo and its maps stay as they were.")));
            }
        }
    });
}

async fn camera() -> Result<MediaStream, String> {
    let devices = web_sys::window().and_then(|w| w.navigator().media_devices().ok()).ok_or_else(|| camera_refusal("NoMediaDevices", ""))?;
    let constraints = MediaStreamConstraints::new();
    constraints.set_audio(&false.into());
    constraints.set_video(&js_sys::JSON::parse(CAMERA).expect("valid JSON"));
    let promise = devices.get_user_media_with_constraints(&constraints).map_err(refusal)?;
    JsFuture::from(promise).await.map(JsCast::unchecked_into).map_err(refusal)
}

fn refusal(err: JsValue) -> String {
    match err.dyn_ref::<DomException>() {
        Some(e) => camera_refusal(&e.name(), &e.message()),
        None => camera_refusal("Error", &format!("{err:?}")),
    }
}

/// A camera that stops by itself (unplugged, taken by another program, switched off by the
/// system) ends live mode; the last frame stays as the photo.
fn listen_for_camera_loss(state: State, stream: &MediaStream) {
    let ended = Closure::<dyn Fn()>::new(move || {
        if state.live.get_untracked() != Mode::Off {
            stop(state, true);
            state.error.set(Some(
                "The camera stopped sending pictures (unplugged, or taken by another program). The last frame is kept as the photo.".into(),
            ));
        }
    });
    for track in stream.get_video_tracks() {
        track.unchecked_into::<MediaStreamTrack>().set_onended(Some(ended.as_ref().unchecked_ref()));
    }
    ended.forget(); // one per camera start, as long as its tracks
}

/// Plays a dropped video file in a loop, explained as the camera is: a clip a teacher prepared.
pub fn start_clip(state: State, file: File) {
    stop(state, false);
    state.live.set(Mode::Starting);
    state.live_source.set(file.name());
    spawn_local(async move {
        match serve_clip(&file).await {
            Ok(url) => {
                if let Some(video) = video() {
                    video.set_src(&url);
                    video.set_loop(true);
                    begin(state, video, None).await;
                }
            }
            Err(reason) => {
                state.live.set(Mode::Off);
                state.error.set(Some(format!("Could not play {}: {reason}. The photo and its maps stay as they were.", file.name())));
            }
        }
    });
}

/// Puts the file where the service worker serves it from, and gives its same-origin URL.
async fn serve_clip(file: &File) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    if window.navigator().service_worker().controller().is_none() {
        return Err("a video file plays through the page's service worker, which is not running here (this browser blocks \
                    it, or the page was just opened: reload it). The camera works without it"
            .into());
    }
    let js = |e: JsValue| format!("{e:?}");
    let caches = window.caches().map_err(js)?;
    // One clip at a time: the previous one is dropped.
    JsFuture::from(caches.delete(CLIPS)).await.map_err(js)?;
    let cache: web_sys::Cache = JsFuture::from(caches.open(CLIPS)).await.map_err(js)?.unchecked_into();
    let init = web_sys::ResponseInit::new();
    let headers = web_sys::Headers::new().map_err(js)?;
    headers.set("Content-Type", &file.type_()).map_err(js)?;
    init.set_headers(&headers);
    let response = web_sys::Response::new_with_opt_blob_and_init(Some(file), &init).map_err(js)?;
    let url = format!("{CLIP_PATH}{}", String::from(js_sys::encode_uri_component(&file.name())));
    JsFuture::from(cache.put_with_str(&url, &response)).await.map_err(js)?;
    Ok(url)
}

fn video() -> Option<HtmlVideoElement> {
    web_sys::window()?.document()?.get_element_by_id(VIDEO)?.dyn_into().ok()
}

/// Plays the video and starts sending its frames.
async fn begin(state: State, video: HtmlVideoElement, stream: Option<MediaStream>) {
    video.set_muted(true); // a clip's sound has no place in a class demonstration; and muted video may autoplay
    let played = match video.play() {
        Ok(promise) => JsFuture::from(promise).await.map(|_| ()),
        Err(err) => Err(err),
    };
    if let Err(err) = played {
        release(&video, stream.as_ref());
        state.live.set(Mode::Off);
        state.error.set(Some(format!("Could not play the video: {}. The photo and its maps stay as they were.", message(&err))));
        return;
    }
    FEED.with(|f| {
        *f.borrow_mut() = Some(Feed {
            video,
            stream,
            canvas: None,
            webcodecs: true,
            kept: None,
            in_flight: false,
            answered: false,
            rate: FrameRate::default(),
        })
    });
    state.error.set(None);
    state.live_frames.set(0);
    state.live.set(if hidden() { Mode::Hidden } else { Mode::Running });
    next_frame(state);
}

fn message(err: &JsValue) -> String {
    err.dyn_ref::<DomException>().map_or_else(|| format!("{err:?}"), |e| e.message())
}

/// The canvas frames are read through, off the page; read often, so kept in memory, not on a GPU.
fn capture_canvas() -> Option<(HtmlCanvasElement, CanvasRenderingContext2d)> {
    let canvas: HtmlCanvasElement = web_sys::window()?.document()?.create_element("canvas").ok()?.dyn_into().ok()?;
    let options = ContextAttributes2d::new();
    options.set_will_read_frequently(true);
    options.set_alpha(false);
    let context = canvas.get_context_with_context_options("2d", &options).ok()??.dyn_into().ok()?;
    Some((canvas, context))
}

/// Reads the video's current frame and sends it to the worker, unless one is there already.
fn next_frame(state: State) {
    if state.live.get_untracked() != Mode::Running {
        return;
    }
    let Some(input) = state.model.with_untracked(|m| m.as_ref().map(|m| m.input_size)) else {
        return retry(state);
    };
    let target = match state.locked.get_untracked() {
        Some(class) => Target::Locked(class),
        None => Target::Follow { shown: state.raw.with_untracked(|r| r.as_ref().map(|r| r.class)) },
    };
    // The methods and smoothing on screen when the frame is read (a change shows on the next frame).
    let (methods, smoothing) = (untrack(|| state.wanted_methods()), frame_smoothing(state.smoothing.get_untracked()));
    let video = with_feed(|feed| {
        let free = !(feed.in_flight || feed.answered) && feed.video.ready_state() >= 2; // HAVE_CURRENT_DATA: a frame to read
        feed.in_flight |= free;
        free.then(|| feed.video.clone())
    });
    let Some(video) = video.flatten() else {
        return retry_unless_busy(state);
    };
    spawn_local(async move {
        timeline::start("frame read from the video");
        let frame = match read_by_webcodecs(&video).await {
            Some(frame) => Some(frame),
            None => with_feed(|feed| feed.read_by_canvas(input)).flatten(),
        };
        let sent = frame.is_some_and(|frame| {
            let request = Request::Frame { width: frame.width, height: frame.height, rgba: vec![], target, methods, smoothing };
            with_feed(|feed| feed.send(frame, &request)).unwrap_or(false)
        });
        if sent {
            timeline::mark("frame sent to the worker");
        } else {
            with_feed(|feed| feed.in_flight = false);
            retry(state);
        }
    });
}

/// Tries again when the video has no frame yet; not while a frame is in the worker (its answer
/// asks for the next one).
fn retry_unless_busy(state: State) {
    if !with_feed(|feed| feed.in_flight || feed.answered).unwrap_or(true) {
        retry(state);
    }
}

/// The video's current frame through WebCodecs, at the video's own size, with no canvas: in
/// Chromium, every video frame drawn on a canvas or made into an ImageBitmap stays in the
/// renderer's memory (measured, headless Chromium 156: +0.6 MB a frame, 5 minutes of live frames
/// 601 → 983 MB; copied by a VideoFrame, flat). None where the browser cannot (then the canvas).
async fn read_by_webcodecs(video: &HtmlVideoElement) -> Option<Frame> {
    if !with_feed(|feed| feed.webcodecs).unwrap_or(false) {
        return None;
    }
    let frame = VideoFrame::new(video).ok();
    let copied = match &frame {
        Some(frame) => copy_frame(frame).await,
        None => Err("no VideoFrame in this browser".into()),
    };
    frame.inspect(VideoFrame::close);
    copied
        .inspect_err(|reason| {
            web_sys::console::warn_1(&format!("layercam: live frames through a canvas ({reason})").into());
            with_feed(|feed| feed.webcodecs = false);
        })
        .ok()
}

async fn copy_frame(frame: &VideoFrame) -> Result<Frame, String> {
    let js = |e: JsValue| message(&e);
    let rgba = js_sys::JSON::parse(r#"{"format":"RGBA"}"#).expect("valid JSON");
    let rect = frame.visible_rect().ok_or("a frame without pixels")?;
    let (width, height) = (rect.width() as u32, rect.height() as u32);
    let pixels = Uint8Array::new_with_length(frame.allocation_size(&rgba).map_err(js)? as u32);
    JsFuture::from(frame.copy_to(&pixels, &rgba).map_err(js)?).await.map_err(js)?;
    Ok(Frame { width, height, rgba: pixels })
}

impl Feed {
    /// The video's current frame through a canvas, scaled down to [`capture_size`]: where the
    /// browser has no WebCodecs.
    fn read_by_canvas(&mut self, input: [usize; 2]) -> Option<Frame> {
        let (width, height) = capture_size((self.video.video_width(), self.video.video_height()), input);
        if width == 0 || height == 0 {
            return None;
        }
        if self.canvas.is_none() {
            self.canvas = capture_canvas();
        }
        let (canvas, context) = self.canvas.as_ref()?;
        if (canvas.width(), canvas.height()) != (width, height) {
            canvas.set_width(width);
            canvas.set_height(height);
        }
        let (w, h) = (f64::from(width), f64::from(height));
        context.draw_image_with_html_video_element_and_dw_and_dh(&self.video, 0.0, 0.0, w, h).ok()?;
        let data = context.get_image_data(0.0, 0.0, w, h).ok()?;
        // The ImageData's own buffer (web-sys's `data()` would copy it).
        let pixels: Uint8ClampedArray = Reflect::get(&data, &"data".into()).ok()?.unchecked_into();
        Some(Frame { width, height, rgba: Uint8Array::new(&pixels.buffer()) })
    }

    /// Keeps a copy of `frame` for Freeze and posts the frame itself, its pixels transferred:
    /// false if the worker does not listen yet.
    fn send(&mut self, frame: Frame, request: &Request) -> bool {
        match &mut self.kept {
            Some(kept) if kept.rgba.length() == frame.rgba.length() => {
                kept.rgba.set(&frame.rgba, 0);
                (kept.width, kept.height) = (frame.width, frame.height);
            }
            kept => *kept = Some(Frame { width: frame.width, height: frame.height, rgba: frame.rgba.slice(0, frame.rgba.length()) }),
        }
        bridge::send_frame(request, &frame.rgba.buffer())
    }

    /// The frame sent last as a PNG photo.
    fn frame_png(&self) -> Option<Vec<u8>> {
        let kept = self.kept.as_ref()?;
        let picture = frame_picture(kept.width, kept.height, kept.rgba.to_vec()).ok()?;
        report::png(&picture).ok()
    }
}

/// Tries again shortly: the video has no frame yet, or the worker is not listening yet.
fn retry(state: State) {
    let again = Closure::once_into_js(move || next_frame(state));
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(again.unchecked_ref(), RETRY_MS);
    }
}

/// The worker answered a frame: whether to show it (not after a photo was chosen in the meantime).
pub fn answered(state: State) -> bool {
    let show = state.live.get_untracked().moving();
    with_feed(|feed| {
        feed.in_flight = false;
        feed.answered = show;
    });
    show
}

/// The pictures of a frame are drawn: once painted, count it and read the next one (or keep it,
/// after Freeze or Stop). Called after every redraw; only a frame's counts.
pub fn drawn(state: State) {
    if !with_feed(|feed| feed.answered).unwrap_or(false) {
        return;
    }
    // Registered after the timeline's own, so it runs after "painted" is marked, in the same frame.
    let painted = Closure::once_into_js(move || painted(state));
    if let Some(window) = web_sys::window() {
        let _ = window.request_animation_frame(painted.unchecked_ref());
    }
}

fn painted(state: State) {
    let now = timeline::now();
    let fps = with_feed(|feed| {
        feed.answered = false;
        feed.rate.shown(now);
        feed.rate.fps()
    });
    let latency_ms = state.timeline.with_untracked(|steps| steps.iter().find(|s| s.what == "painted").map_or(0.0, |s| s.end));
    state.live_rate.set(Some(Rate { fps: fps.flatten(), latency_ms }));
    state.live_frames.update(|n| *n += 1);
    match state.live.get_untracked() {
        Mode::Running => next_frame(state),
        Mode::Freezing => freeze_now(state),
        Mode::Stopping => stop(state, true),
        _ => {}
    }
}

/// Freeze (the frame on screen becomes the photo) or Resume.
pub fn toggle_freeze(state: State) {
    match state.live.get_untracked() {
        Mode::Running | Mode::Hidden if with_feed(|f| f.in_flight || f.answered).unwrap_or(false) => state.live.set(Mode::Freezing),
        Mode::Running | Mode::Hidden => freeze_now(state),
        Mode::Frozen => {
            with_feed(|feed| feed.rate.clear());
            state.live.set(if hidden() { Mode::Hidden } else { Mode::Running });
            state.status.set("Live again.".into());
            next_frame(state);
        }
        _ => {}
    }
}

fn freeze_now(state: State) {
    state.live.set(Mode::Frozen);
    keep_frame(state);
}

/// The frame on screen becomes the photo, as if it had been dropped on the page: a class switch,
/// the sliders, the occlusion test and the exports all work on it, and a change of layers or a
/// fresh worker explains it again.
fn keep_frame(state: State) {
    let Some(png) = with_feed(|feed| feed.frame_png()).flatten() else {
        return;
    };
    let name = format!("{} frame.png", state.live_source.get_untracked());
    memory(|m| {
        m.image = Some((name, png));
        m.pending_image = None;
    });
    let label = state
        .raw
        .with_untracked(|r| r.as_ref().map(|r| r.class))
        .and_then(|c| state.model.with_untracked(|m| m.as_ref().map(|m| m.labels[c].clone())));
    state.status.set(format!("Frame kept as the photo: the network looks for “{}”.", label.unwrap_or_default()));
}

/// Stops live mode and releases the camera (the browser's camera indicator goes off). With `keep`,
/// the frame on screen stays as the photo — the one in the worker first, if there is one.
pub fn stop(state: State, keep: bool) {
    let in_flight = with_feed(|f| f.in_flight || f.answered).unwrap_or(false);
    if let Some(feed) = FEED.with(|f| f.borrow().as_ref().map(|feed| (feed.video.clone(), feed.stream.clone()))) {
        release(&feed.0, feed.1.as_ref());
    }
    if keep && in_flight && state.live.get_untracked().moving() {
        state.live.set(Mode::Stopping);
        return;
    }
    if keep && state.live.get_untracked() != Mode::Frozen {
        keep_frame(state);
    }
    FEED.with(|f| f.borrow_mut().take());
    state.live.set(Mode::Off);
    state.live_rate.set(None);
    state.locked.set(None);
    spawn_local(async {
        if let Some(caches) = web_sys::window().and_then(|w| w.caches().ok()) {
            let _ = JsFuture::from(caches.delete(CLIPS)).await;
        }
    });
}

/// Every track ended, the video emptied: nothing holds the camera or the clip's decoder.
fn release(video: &HtmlVideoElement, stream: Option<&MediaStream>) {
    if let Some(stream) = stream {
        stream.get_tracks().for_each(&mut |track, _, _| track.unchecked_into::<MediaStreamTrack>().stop());
    }
    video.pause().ok();
    video.set_src_object(None);
    video.remove_attribute("src").ok();
    video.load();
}

/// A frame the worker could not explain ends live mode; the last frame shown stays.
pub fn frame_failed(state: State, message: &str) {
    stop(state, true);
    state.error.set(Some(format!("The live picture stopped: a frame could not be explained: {message}. The last frame shown is kept.")));
}

fn hidden() -> bool {
    web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.visibility_state() == VisibilityState::Hidden)
}

/// A hidden tab pauses the frames (nobody sees them, and the browser would stop painting them);
/// shown again, they resume. F freezes or resumes, unless the user is typing.
pub fn listen(state: State) {
    let visibility = Closure::<dyn Fn()>::new(move || match (state.live.get_untracked(), hidden()) {
        (Mode::Running, true) => state.live.set(Mode::Hidden),
        (Mode::Hidden, false) => {
            with_feed(|feed| feed.rate.clear());
            state.live.set(Mode::Running);
            next_frame(state);
        }
        _ => {}
    });
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_onvisibilitychange(Some(visibility.as_ref().unchecked_ref()));
    }
    visibility.forget(); // as long as the page
    let key = window_event_listener(leptos::ev::keydown, move |ev| {
        let typing = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()).is_some_and(|e| typed_into(&e));
        if ev.key().eq_ignore_ascii_case("f") && !typing && !(ev.ctrl_key() || ev.meta_key() || ev.alt_key()) {
            toggle_freeze(state);
        }
    });
    std::mem::forget(key);
}

/// Whether a key pressed on `element` types into it: a text field or a list, not a checkbox (the
/// methods' and smoothings' boxes keep the focus after a click, and F must still freeze there).
fn typed_into(element: &web_sys::Element) -> bool {
    match element.dyn_ref::<web_sys::HtmlInputElement>() {
        Some(input) => !matches!(input.type_().as_str(), "checkbox" | "radio" | "range" | "button" | "submit" | "color" | "file"),
        None => matches!(element.tag_name().as_str(), "TEXTAREA" | "SELECT"),
    }
}

/// A class clicked while frames come: every frame is explained for it (only the backward's seed is
/// fixed); None follows the top class again.
pub fn lock(state: State, class: Option<usize>) {
    state.locked.set(class);
}

/// The live panel: the Live camera button, or the live picture with Freeze, Stop and the rate.
#[component]
pub fn LivePanel(state: State) -> impl IntoView {
    let on = move || state.live.get() != Mode::Off;
    let frozen = move || matches!(state.live.get(), Mode::Frozen);
    let rate = move || match state.live.get() {
        Mode::Starting => format!("Starting {}…", state.live_source.get()),
        Mode::Hidden => "Paused while the tab is hidden".into(),
        Mode::Freezing | Mode::Stopping => "Keeping this frame…".into(),
        Mode::Frozen => "Frozen: this frame is the photo now".into(),
        Mode::Running | Mode::Off => {
            let rate = match state.live_rate.get() {
                Some(Rate { fps: Some(fps), latency_ms }) => format!("{fps:.1} fps · {latency_ms:.0} ms from video to maps"),
                _ => "First frame…".into(),
            };
            // Frames are explained without it (crate::live::frame_smoothing): say so where it is on.
            if state.smoothing.get().aug { format!("{rate} · aug smooth on a frozen frame only") } else { rate }
        }
    };
    view! {
        <div class="live" class:on=on data-frames=move || state.live_frames.get().to_string()>
            <video id=VIDEO class="live-video" hidden=move || !on() playsinline=true
                   aria-label="The live picture, as the camera or the video file gives it"></video>
            <Show when=on fallback=move || view! {
                <button id="camera" class="camera" on:click=move |_| start_camera(state)
                        disabled=move || state.model.get().is_none()
                        title="Explain the camera's picture live, stage by stage, as it moves (the browser asks for the permission first). A video file dropped on the page plays the same way">
                    "Live camera"
                </button>
            }>
                <div class="live-controls">
                    <button id="freeze" on:click=move |_| toggle_freeze(state) aria-pressed=move || frozen().to_string()
                            disabled=move || matches!(state.live.get(), Mode::Starting | Mode::Freezing | Mode::Stopping)
                            title="Keep this frame as the photo: switch classes, move the sliders, run the occlusion test, export (key F); again to go live">
                        {move || if frozen() { "Resume (F)" } else { "Freeze (F)" }}
                    </button>
                    <button id="stop-live" on:click=move |_| stop(state, true)
                            title="Stop and release the camera; the frame on screen stays as the photo">"Stop"</button>
                </div>
                <p id="live-rate" class="live-rate" aria-live="off">{rate}</p>
            </Show>
        </div>
    }
}
