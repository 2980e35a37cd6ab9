//! The page's Web Worker (wasm32): a [`Session`] behind `postMessage`. Requests and responses travel as one
//! postcard buffer each, transferred rather than copied.
//!
//! Two builds run this: the plain one (Trunk's `worker`, one thread) and, where the page is
//! cross-origin isolated, the threaded one (feature `threads`, scripts/post-build.sh),
//! which first starts a pool of WebAssembly threads that tract's products and our kernels share
//! their work out to.

use std::cell::RefCell;
use std::time::Duration;

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::protocol::{self, Request, Response};
use crate::session::Session;

pub fn start() {
    // The pool's threads run the module's start function too, and must not act as the engine.
    if scope().name() != protocol::ENGINE_WORKER {
        return;
    }
    // A panic aborts this wasm instance: tell the page first, so it can start a fresh worker.
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        post(&Response::Failed { request: "panic".into(), message: info.to_string() });
    }));
    wasm_bindgen_futures::spawn_local(async {
        crate::runtime::set_threads(pool().await);
        listen();
    });
}

/// Starts the pool of threads, one per core; how many the engine then has.
#[cfg(feature = "threads")]
async fn pool() -> usize {
    let threads = (scope().navigator().hardware_concurrency() as usize).max(1);
    match wasm_bindgen_futures::JsFuture::from(wasm_bindgen_rayon::init_thread_pool(threads)).await {
        Ok(_) => threads,
        Err(err) => {
            web_sys::console::warn_2(&"layercam: no thread pool, running on one thread:".into(), &err);
            1
        }
    }
}

#[cfg(not(feature = "threads"))]
async fn pool() -> usize {
    1
}

/// Answers the page's requests from now on, and says so.
fn listen() {
    let session = RefCell::new(Session::default());
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        let responses = match request(event.data()) {
            Ok(request) => {
                // A live frame is routine, several a second: the page's status line says "live".
                if !matches!(request, Request::Frame { .. }) {
                    post(&Response::Status { text: request.describe().1.into() });
                }
                // On the engine's pool, its other threads awake through the whole request (see
                // `runtime::on_pool`); on one thread, here.
                let mut session = session.borrow_mut();
                let session = &mut *session;
                crate::runtime::on_pool(move || session.handle(request, now))
            }
            Err(err) => vec![Response::Failed { request: "read the message".into(), message: err.to_string() }],
        };
        responses.iter().for_each(post);
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget(); // the handler lives as long as the worker
    post(&Response::Ready);
}

/// A message from the page: one encoded request, or, for a live frame, `[request, pixels]` with the
/// frame's RGBA pixels in their own buffer (see [`crate::protocol::Request::Frame`]).
fn request(data: JsValue) -> crate::Result<Request> {
    if !Array::is_array(&data) {
        return protocol::decode(&Uint8Array::new(&data).to_vec());
    }
    let parts = Array::from(&data);
    let [message, pixels] = [0, 1].map(|i| parts.get(i));
    let mut request = protocol::decode(&Uint8Array::new(&message).to_vec())?;
    if let Request::Frame { rgba, .. } = &mut request {
        *rgba = Uint8Array::new(&pixels).to_vec();
    }
    Ok(request)
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(response: &Response) {
    let array = Uint8Array::from(protocol::encode(response).as_slice());
    // Posting a fresh buffer to our own page cannot fail; if it ever did, the page times out visibly.
    let _ = scope().post_message_with_transfer(&array, &Array::of1(&array.buffer()));
}

/// std's clock panics in the browser; the worker's `performance` does not. Its time origin is
/// added so that the page can put the worker's steps on its own clock (the page's timeline).
fn now() -> Duration {
    Duration::from_secs_f64(scope().performance().map_or(0.0, |p| p.time_origin() + p.now()) / 1e3)
}
