//! Where the time of one request goes, from the user's action to the last painted map: the page's
//! own steps (reading the photo, sending it, receiving the answers, the maths, painting) and the
//! worker's (decoding, preprocessing, forward, backward, raw maps), on the page's clock. The
//! details panel lists it; the page test prints it.

use std::cell::RefCell;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::protocol::Span;

/// One step, in milliseconds since the action that started the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub what: String,
    pub start: f64,
    pub end: f64,
    /// Done by the worker (the rest is the page's).
    pub worker: bool,
}

#[derive(Default)]
struct Timeline {
    /// The page's clock when the action happened.
    origin: f64,
    /// The end of the page's last step: the next one starts there.
    last: f64,
    steps: Vec<Step>,
}

thread_local! {
    static TIMELINE: RefCell<Option<Timeline>> = const { RefCell::new(None) };
}

/// The page's clock (`performance.now()`), in milliseconds.
pub fn now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// Starts a new timeline at a user's action (a click, a drop, a class picked).
pub fn start(action: &str) {
    let origin = now();
    let steps = vec![Step { what: action.into(), start: 0.0, end: 0.0, worker: false }];
    TIMELINE.with(|t| *t.borrow_mut() = Some(Timeline { origin, last: origin, steps }));
}

/// Ends a step of the page's that began where the previous one ended.
pub fn mark(what: &str) {
    let at = now();
    with(|t| {
        let step = Step { what: what.into(), start: t.last - t.origin, end: at - t.origin, worker: false };
        t.steps.push(step);
        t.last = at;
    });
}

/// The worker's steps, from its clock (`timeOrigin + now()`) to the page's.
pub fn worker(spans: &[Span]) {
    let shift = time_origin();
    with(|t| {
        t.steps.extend(spans.iter().map(|s| Step {
            what: s.what.clone(),
            start: s.start - shift - t.origin,
            end: s.end - shift - t.origin,
            worker: true,
        }))
    });
}

/// Marks "painted" at the next frame after the pictures are on their canvases, and publishes the
/// timeline to `shown`.
pub fn painted(shown: RwSignal<Vec<Step>>) {
    let paint = Closure::once_into_js(move || {
        mark("painted");
        if let Some(mut steps) = TIMELINE.with(|t| t.borrow().as_ref().map(|t| t.steps.clone())) {
            steps.sort_by(|a, b| a.start.total_cmp(&b.start));
            shown.set(steps);
        }
    });
    if let Some(window) = web_sys::window() {
        let _ = window.request_animation_frame(paint.unchecked_ref());
    }
}

fn with(f: impl FnOnce(&mut Timeline)) {
    TIMELINE.with(|t| {
        if let Some(timeline) = t.borrow_mut().as_mut() {
            f(timeline)
        }
    })
}

fn time_origin() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.time_origin())
}

/// The last request's timeline, one line a step (the worker's indented).
#[component]
pub fn TimelineList(steps: RwSignal<Vec<Step>>) -> impl IntoView {
    let rows = move || {
        steps
            .get()
            .into_iter()
            .map(|step| {
                let text = format!("{:>7.1} → {:>7.1} ms  {}", step.start, step.end, step.what);
                view! {
                    <li class:worker=step.worker data-step=step.what.clone() data-start=step.start.to_string()
                        data-end=step.end.to_string()>{text}</li>
                }
            })
            .collect_view()
    };
    view! { <ol id="timeline" class="timeline">{rows}</ol> }
}
