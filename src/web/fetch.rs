//! Fetching the files that ship with the page, with byte progress for the big model.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, Response};

/// The body of `url` (relative to the page), calling `progress(bytes so far, total if known)`.
pub async fn bytes(url: &str, progress: impl Fn(u64, Option<u64>)) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response: Response = JsFuture::from(window.fetch_with_str(url)).await.map_err(js)?.unchecked_into();
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    let total = response.headers().get("content-length").ok().flatten().and_then(|v| v.parse().ok());
    let body = response.body().ok_or_else(|| format!("{url}: empty response"))?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::with_capacity(total.unwrap_or(0) as usize);
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(js)?;
        if Reflect::get(&chunk, &"done".into()).map_err(js)?.as_bool() == Some(true) {
            return Ok(bytes);
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into()).map_err(js)?.unchecked_into();
        bytes.extend(value.to_vec());
        progress(bytes.len() as u64, total);
    }
}

pub async fn text(url: &str) -> Result<String, String> {
    String::from_utf8(bytes(url, |_, _| ()).await?).map_err(|e| format!("{url}: {e}"))
}

fn js(value: wasm_bindgen::JsValue) -> String {
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}
