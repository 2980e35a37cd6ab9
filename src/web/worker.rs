//! The Web Worker: a [`Session`] behind `postMessage`. Requests and responses travel as one
//! postcard buffer each, transferred rather than copied.

use std::cell::RefCell;
use std::time::Duration;

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::protocol::{self, Request, Response};
use crate::session::Session;

pub fn start() {
    // A panic aborts this wasm instance: tell the page first, so it can start a fresh worker.
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        post(&Response::Failed { request: "panic".into(), message: info.to_string() });
    }));
    let session = RefCell::new(Session::default());
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        let bytes = Uint8Array::new(&event.data()).to_vec();
        let responses = match protocol::decode::<Request>(&bytes) {
            Ok(request) => {
                post(&Response::Status { text: request.describe().1.into() });
                session.borrow_mut().handle(request, now)
            }
            Err(err) => vec![Response::Failed { request: "read the message".into(), message: err.to_string() }],
        };
        responses.iter().for_each(post);
        // Once the page knows the model is ready, plan the backward before the first photo comes.
        if responses.iter().any(|r| matches!(r, Response::ModelReady(_))) {
            session.borrow().warm_up();
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget(); // the handler lives as long as the worker
    post(&Response::Ready);
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(response: &Response) {
    let array = Uint8Array::from(protocol::encode(response).as_slice());
    // Posting a fresh buffer to our own page cannot fail; if it ever did, the page times out visibly.
    let _ = scope().post_message_with_transfer(&array, &Array::of1(&array.buffer()));
}

/// std's clock panics in the browser; the worker's `performance.now()` does not.
fn now() -> Duration {
    Duration::from_secs_f64(scope().performance().map_or(0.0, |p| p.now()) / 1e3)
}
