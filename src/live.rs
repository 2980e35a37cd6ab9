//! Live mode's own rules, in plain Rust (tested natively; the page and its worker use them): which
//! class a live frame explains, how a frame's pixels become a photo, how large the page captures a
//! frame, and the frame rate it shows.
//!
//! A live frame is explained like a photo (preprocess, forward, one-class backward, raw maps), but
//! for the class the user locked or, by default, for the frame's top-1 — held back by a little
//! hysteresis, so that the maps do not flicker between two near-equal classes as the camera shakes.

use std::collections::VecDeque;

use image::{DynamicImage, RgbImage, RgbaImage};
use serde::{Deserialize, Serialize};

use crate::cam::Smoothing;
use crate::explain::Prediction;
use crate::model::preprocess::{MAX_IMAGE_SIDE, MIN_PHOTO_SIDE};
use crate::{Error, Result};

/// How far (in probability) another class must lead the class on screen before a live frame
/// switches to it. Chelsea's two cats, tiger cat and Egyptian cat, are 0.07 apart: a shaking
/// camera swaps them from frame to frame, and the maps of both are nearly the same picture.
pub const HYSTERESIS: f32 = 0.1;

/// Which class a live frame is explained for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// The frame's top-1, unless `shown`, the class on screen now, is within [`HYSTERESIS`] of it.
    Follow { shown: Option<usize> },
    /// One class, whatever the frame's top classes (only the backward's seed is fixed).
    Locked(usize),
}

impl Target {
    /// The class to explain, from the frame's top classes (best first, at least one).
    pub fn class(self, top: &[Prediction]) -> usize {
        match self {
            Target::Follow { shown } => followed_class(shown, top),
            Target::Locked(class) => class,
        }
    }
}

/// The top-1 of `top`, except that `shown` stays while it is among `top` and the top-1's probability
/// exceeds its own by less than [`HYSTERESIS`].
pub fn followed_class(shown: Option<usize>, top: &[Prediction]) -> usize {
    let best = top.first().expect("a classifier gives at least one class");
    match shown.and_then(|class| top.iter().find(|p| p.class == class)) {
        Some(kept) if best.prob - kept.prob < HYSTERESIS => kept.class,
        _ => best.class,
    }
}

/// The smoothing a live frame is explained with: the page's, but for aug_smooth, whose six forward
/// and backward runs would make every frame six times as slow (≈ 0.4 frames a second here instead
/// of 2–3). A frozen frame, a photo again, gets the page's smoothing whole.
pub fn frame_smoothing(page: Smoothing) -> Smoothing {
    Smoothing { aug: false, ..page }
}

/// A frame's RGBA pixels (`width × height × 4` bytes, as the page read them off the video) as the
/// RGB photo it is: the alpha channel of a video frame is opaque, and is dropped.
pub fn frame_picture(width: u32, height: u32, rgba: Vec<u8>) -> Result<RgbImage> {
    if width.min(height) < MIN_PHOTO_SIDE || width.max(height) > MAX_IMAGE_SIDE {
        return Err(Error::Input(format!(
            "the frame is {width}×{height}; a frame's sides must lie between {MIN_PHOTO_SIDE} and {MAX_IMAGE_SIDE} pixels"
        )));
    }
    let bytes = rgba.len();
    let image = RgbaImage::from_raw(width, height, rgba).filter(|_| bytes == width as usize * height as usize * 4);
    let expected = u64::from(width) * u64::from(height) * 4;
    let image = image.ok_or_else(|| Error::Input(format!("a {width}×{height} frame has {expected} bytes of RGBA, not {bytes}")))?;
    Ok(DynamicImage::ImageRgba8(image).into_rgb8())
}

/// The size the page reads a video frame at: the video's own, scaled down (aspect kept) until its
/// shorter side is at most twice the model input's shorter side. The model sees a crop of
/// `input`'s size; twice that keeps the detail its resize averages over, and a 1080p camera's frame
/// does not cost 8 MB of pixels to read, send and resize 3 times a second.
pub fn capture_size((width, height): (u32, u32), input: [usize; 2]) -> (u32, u32) {
    let limit = 2 * input[0].min(input[1]) as u64;
    let shorter = u64::from(width.min(height));
    if shorter <= limit {
        return (width, height);
    }
    let scaled = |side: u32| ((u64::from(side) * limit + shorter / 2) / shorter).max(1) as u32;
    (scaled(width), scaled(height))
}

/// Frames per second over the frames shown in the last [`FrameRate::WINDOW_MS`]: what a teacher
/// sees now, not an average since the camera started.
#[derive(Clone, Debug, Default)]
pub struct FrameRate {
    /// When each recent frame was shown, in milliseconds, oldest first.
    shown: VecDeque<f64>,
}

impl FrameRate {
    pub const WINDOW_MS: f64 = 3000.0;

    /// A frame was shown at `at` (ms).
    pub fn shown(&mut self, at: f64) {
        self.shown.push_back(at);
        // Two frames stay whatever their age: a slow machine still gets a figure.
        while self.shown.len() > 2 && at - self.shown[0] > Self::WINDOW_MS {
            self.shown.pop_front();
        }
    }

    /// Frames per second; None before the second frame.
    pub fn fps(&self) -> Option<f64> {
        let (first, last) = (self.shown.front()?, self.shown.back()?);
        (last > first).then(|| (self.shown.len() - 1) as f64 * 1e3 / (last - first))
    }

    /// Starts counting again (the live picture was paused, frozen or stopped).
    pub fn clear(&mut self) {
        self.shown.clear();
    }
}

/// Why the camera did not start, from the `DOMException` name `getUserMedia` rejected with, in words
/// that say what to do.
pub fn camera_refusal(name: &str, message: &str) -> String {
    match name {
        "NotAllowedError" | "SecurityError" => {
            "the permission to use the camera was refused. Allow it (the camera icon in the address bar), then press Live camera again"
                .into()
        }
        "NotFoundError" | "OverconstrainedError" => "no camera was found on this machine".into(),
        "NotReadableError" | "AbortError" => {
            "the camera is in use by another program, or the system refused it. Close that program, then press Live camera again".into()
        }
        "NoMediaDevices" => "this page cannot reach a camera: browsers offer cameras to secure pages only (https:// or localhost)".into(),
        _ => format!("{name}: {message}"),
    }
}
