//! The page's end of the worker: start it, send it requests, hand its responses to the page, and
//! start a fresh one when it dies.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, Event, MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::protocol::{self, Request, Response};

/// Trunk's loader for the worker bin; relative, as the page may be served from any path.
const WORKER: &str = "./worker_loader.js";
/// The threaded build of the same worker (scripts/post-build.sh), an ES module: it needs
/// shared memory, which the browser gives a cross-origin isolated page only, and relaxed SIMD.
const THREADED_WORKER: &str = "./worker_threads_loader.js";

/// The smallest module with a relaxed-SIMD instruction (i8x16.relaxed_swizzle of two splats):
/// a browser that validates it can compile the threaded worker.
const RELAXED_SIMD_PROBE: [u8; 36] =
    [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253, 15, 253, 128, 2, 11];

type Handler = Rc<dyn Fn(Response)>;

thread_local! {
    static WORKER_HANDLE: RefCell<Option<Worker>> = const { RefCell::new(None) };
    static HANDLER: RefCell<Option<Handler>> = const { RefCell::new(None) };
    /// Requests sent before the worker said `Ready` (it would drop them), in order.
    static WAITING: RefCell<Option<Vec<Request>>> = const { RefCell::new(Some(Vec::new())) };
    /// The threaded worker could not start here (missing from this build, or refused): the plain
    /// one runs from then on.
    static NO_THREADS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Starts the worker; every response goes to `handler`, and a worker that cannot start or dies
/// becomes a `Failed { request: "panic" }` response.
pub fn connect(handler: impl Fn(Response) + 'static) -> Result<(), String> {
    HANDLER.with(|h| *h.borrow_mut() = Some(Rc::new(handler)));
    WAITING.with(|w| *w.borrow_mut() = Some(Vec::new()));
    spawn()
}

/// Replaces the worker by a fresh one (after a panic): the caller sends the model again.
pub fn restart() -> Result<(), String> {
    WAITING.with(|w| *w.borrow_mut() = Some(Vec::new()));
    spawn()
}

/// Whether the engine runs threaded: the page is cross-origin isolated (COOP/COEP headers, or
/// web/sw.js adding them), the browser has relaxed SIMD (Chrome 114, Firefox 145; not Safari) and
/// the threaded worker has not failed here.
pub fn threaded() -> bool {
    let isolated = js_sys::Reflect::get(&js_sys::global(), &"crossOriginIsolated".into()).is_ok_and(|v| v.is_truthy());
    let relaxed_simd = || js_sys::WebAssembly::validate(&Uint8Array::from(&RELAXED_SIMD_PROBE[..]).into()).unwrap_or(false);
    isolated && !NO_THREADS.get() && relaxed_simd()
}

/// Starts a worker in place of the current one, keeping the requests waiting for it.
fn spawn() -> Result<(), String> {
    if let Some(old) = WORKER_HANDLE.with(|w| w.borrow_mut().take()) {
        old.terminate();
    }
    let threaded = threaded();
    let options = WorkerOptions::new();
    options.set_name(protocol::ENGINE_WORKER);
    if threaded {
        options.set_type(WorkerType::Module);
    }
    let url = if threaded { THREADED_WORKER } else { WORKER };
    let worker = Worker::new_with_options(url, &options).map_err(|e| format!("the worker cannot start: {e:?}"))?;
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(|event: MessageEvent| {
        let bytes = Uint8Array::new(&event.data()).to_vec();
        let response = protocol::decode(&bytes)
            .unwrap_or_else(|err| Response::Failed { request: "read the message".into(), message: err.to_string() });
        deliver(response);
    });
    let on_error = Closure::<dyn Fn(Event)>::new(move |event: Event| {
        let starting = WAITING.with(|w| w.borrow().is_some());
        if threaded && starting {
            // The threaded build is missing or cannot run here: the plain one takes its requests.
            NO_THREADS.set(true);
            if spawn().is_ok() {
                return;
            }
        }
        let message = event.dyn_ref::<ErrorEvent>().map_or("the worker could not start".into(), |e| e.message());
        deliver(Response::Failed { request: "panic".into(), message });
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_message.forget();
    on_error.forget();
    WORKER_HANDLE.with(|w| *w.borrow_mut() = Some(worker));
    Ok(())
}

fn deliver(response: Response) {
    if response == Response::Ready {
        for request in WAITING.with(|w| w.borrow_mut().take()).unwrap_or_default() {
            post(&request);
        }
        return;
    }
    // Cloned out first: the handler may send a request, which borrows the worker again.
    if let Some(handler) = HANDLER.with(|h| h.borrow().clone()) {
        handler(response);
    }
}

pub fn send(request: &Request) {
    let queued = WAITING.with(|w| w.borrow_mut().as_mut().map(|queue| queue.push(request.clone())).is_some());
    if !queued {
        post(request);
    }
}

/// Sends a live frame (`Request::Frame`) with its RGBA pixels, `pixels` (the frame's own buffer,
/// read off the video): they travel beside the encoded request, transferred, never copied into it. A frame is
/// not kept for a worker that is not listening yet: false, and the page sends a newer one later.
pub fn send_frame(request: &Request, pixels: &js_sys::ArrayBuffer) -> bool {
    if WAITING.with(|w| w.borrow().is_some()) {
        return false;
    }
    let message = Uint8Array::from(protocol::encode(request).as_slice());
    let sent = WORKER_HANDLE.with(|w| {
        let worker = w.borrow();
        let transfer = Array::of2(&message.buffer(), pixels);
        worker.as_ref().map(|worker| worker.post_message_with_transfer(&Array::of2(&message, pixels), &transfer))
    });
    matches!(sent, Some(Ok(())))
}

fn post(request: &Request) {
    let array = Uint8Array::from(protocol::encode(request).as_slice());
    let sent =
        WORKER_HANDLE.with(|w| w.borrow().as_ref().map(|worker| worker.post_message_with_transfer(&array, &Array::of1(&array.buffer()))));
    if !matches!(sent, Some(Ok(()))) {
        deliver(Response::Failed { request: "reach the worker".into(), message: "the worker is not running".into() });
    }
}
