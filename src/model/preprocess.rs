//! From the bytes a user hands us to the tensor the classifier expects.
//!
//! Decoding guesses the format from the content, applies the EXIF orientation and flattens
//! transparency onto white. Resizing is a port of Pillow's fixed-point convolution (`Resample.c`),
//! because the recipes were defined with Pillow: the `image` crate's Catmull-Rom filter has the same
//! kernel, but computed in f32 with the vertical pass first it differs from Pillow at about 18 % of
//! the values, by up to 5 grey levels, on the reference photos, where the port reproduces PyTorch's
//! input tensors exactly.

use std::io::Cursor;
use std::ops::Range;

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits, Rgb, RgbImage};
use ndarray::{Array4, ArrayView4};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The longest image side accepted; larger images are refused before any pixel is allocated.
pub const MAX_IMAGE_SIDE: u32 = 16384;

/// The shortest photo side explained: a smaller picture, blown up to the model's input, holds no
/// detail for a map to point at.
pub const MIN_PHOTO_SIDE: u32 = 8;

/// The most memory a decoder may allocate for one image (1 GiB).
pub const MAX_DECODE_BYTES: u64 = 1 << 30;

/// A photo to explain: [`decode_image`], refusing a picture with a side under [`MIN_PHOTO_SIDE`].
pub fn decode_photo(bytes: &[u8]) -> Result<RgbImage> {
    let image = decode_image(bytes)?;
    let (width, height) = image.dimensions();
    if width.min(height) < MIN_PHOTO_SIDE {
        return Err(Error::ImageTooSmall { width, height, min: MIN_PHOTO_SIDE });
    }
    Ok(image)
}

/// Decodes a PNG, JPEG, WebP, GIF (first frame) or BMP file into upright, opaque RGB.
///
/// The format is guessed from the content, not from a file name. The EXIF orientation is applied,
/// and transparent pixels are composited over white, the way a viewer shows them.
pub fn decode_image(bytes: &[u8]) -> Result<RgbImage> {
    if bytes.is_empty() {
        return Err(Error::Image("the file is empty".into()));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|err| Error::Image(err.to_string()))?;
    if reader.format().is_none() {
        return Err(Error::Image("unrecognised image format (expected PNG, JPEG, WebP, GIF or BMP)".into()));
    }
    reader.limits(decode_limits());
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    check_size(&decoder)?;
    let orientation = decoder.orientation().map_err(decode_error)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    image.apply_orientation(orientation);
    Ok(flatten_onto_white(image))
}

/// Only the allocation budget: the side limit is checked by [`check_size`] so that the error can
/// name the image's dimensions, which `image`'s own limit error does not carry.
fn decode_limits() -> Limits {
    let mut limits = Limits::no_limits();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

/// Refuses, before the pixel buffer is allocated, an image whose header promises more pixels than
/// we are willing to hold, or none at all.
fn check_size(decoder: &impl ImageDecoder) -> Result<()> {
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(Error::Image(format!("the image is {width}×{height}: it has no pixels")));
    }
    if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
        return Err(Error::ImageTooLarge { width, height, max: MAX_IMAGE_SIDE });
    }
    let bytes = decoder.total_bytes();
    if bytes > MAX_DECODE_BYTES {
        return Err(Error::Image(format!(
            "the {width}×{height} image needs {} MiB to decode; at most {} MiB is allowed",
            bytes >> 20,
            MAX_DECODE_BYTES >> 20
        )));
    }
    Ok(())
}

fn decode_error(err: ImageError) -> Error {
    match err {
        ImageError::Unsupported(err) => Error::Image(format!("unsupported image: {err}")),
        ImageError::Limits(err) => Error::Image(format!("the image is too large to decode: {err}")),
        err => Error::Image(err.to_string()),
    }
}

/// RGB, with any alpha channel composited over white.
fn flatten_onto_white(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, alpha] = rgba.get_pixel(x, y).0;
        Rgb([r, g, b].map(|channel| over_white(channel, alpha)))
    })
}

/// `channel·α + 255·(1 − α)` with α = alpha/255, rounded to the nearest level.
fn over_white(channel: u8, alpha: u8) -> u8 {
    let (channel, alpha) = (u32::from(channel), u32::from(alpha));
    let blended = (channel * alpha + 255 * (255 - alpha) + 127) / 255;
    blended as u8
}

/// How an image becomes the classifier's input: the recipe the weights were trained with.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Recipe {
    /// TF EfficientNet-Lite evaluation: central crop of 224/256 of the shorter side, bicubic resize,
    /// `(pixel − 127) / 128`.
    #[default]
    // kebab-case alone would split "EfficientNet" into "efficient-net".
    #[serde(rename = "efficientnet-lite")]
    EfficientNetLite,
    /// torchvision ImageNet evaluation: bilinear resize of the shorter side to 256, centre crop 224,
    /// ImageNet mean and standard deviation.
    Torchvision,
}

impl Recipe {
    pub const ALL: [Recipe; 2] = [Recipe::EfficientNetLite, Recipe::Torchvision];

    /// The name used on the command line and in sidecar files.
    pub fn name(self) -> &'static str {
        match self {
            Recipe::EfficientNetLite => "efficientnet-lite",
            Recipe::Torchvision => "torchvision",
        }
    }
}

crate::names::named!(Recipe, "preprocessing recipe");

/// The classifier's input and the picture it was made from.
#[derive(Clone, Debug)]
pub struct Preprocessed {
    /// `[1, 3, height, width]`, RGB, normalised as the recipe says.
    pub input: Array4<f32>,
    /// The crop as the model sees it, `height × width`, before normalisation: what maps are drawn over.
    pub seen: RgbImage,
}

/// A rectangle of pixels: `top`/`left` is its first row/column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CropBox {
    pub top: u32,
    pub left: u32,
    pub height: u32,
    pub width: u32,
}

/// Turns an RGB image into the `[1, 3, height, width]` input the recipe prescribes.
///
/// A non-square target takes a crop of the target's aspect ratio.
///
/// # Panics
/// If the image or the target is empty ([`decode_image`] never returns an empty image).
pub fn preprocess(image: &RgbImage, recipe: Recipe, height: u32, width: u32) -> Preprocessed {
    assert!(height > 0 && width > 0, "the model input must be at least 1×1, got {height}×{width}");
    assert!(image.width() > 0 && image.height() > 0, "cannot preprocess an image without pixels");
    let seen = match recipe {
        Recipe::EfficientNetLite => {
            let crop = efficientnet_crop(image.height(), image.width(), height, width);
            let whole_output = CropBox { top: 0, left: 0, height, width };
            resample(image, crop, (height, width), whole_output, Kernel::Bicubic)
        }
        Recipe::Torchvision => {
            let (resized_height, resized_width) = torchvision_resized_size(image.height(), image.width(), height, width);
            let crop = centre_crop(resized_height, resized_width, height, width);
            let whole_image = CropBox { top: 0, left: 0, height: image.height(), width: image.width() };
            resample(image, whole_image, (resized_height, resized_width), crop, Kernel::Bilinear)
        }
    };
    Preprocessed { input: normalise(&seen, recipe), seen }
}

/// The EfficientNet-Lite crop: the largest centred box of the target's aspect ratio, shrunk by
/// `s / (s + 32)` with `s` the target's shorter side (224/256 for 224×224); the offsets round up
/// as TF's `(size - crop + 1) // 2` does.
pub fn efficientnet_crop(image_height: u32, image_width: u32, height: u32, width: u32) -> CropBox {
    let shorter_target = f64::from(height.min(width));
    let fraction = shorter_target / (shorter_target + 32.0);
    let (box_height, box_width) = largest_box(image_height, image_width, height, width);
    // At least one pixel, so that a tiny image still yields a (uniform) input.
    let crop_height = ((fraction * box_height).floor() as u32).max(1);
    let crop_width = ((fraction * box_width).floor() as u32).max(1);
    CropBox {
        top: (image_height - crop_height).div_ceil(2),
        left: (image_width - crop_width).div_ceil(2),
        height: crop_height,
        width: crop_width,
    }
}

/// The largest box of aspect `width : height` inside the image, in fractional pixels.
/// For a square target the shorter side comes out exactly, as the reference computes it.
fn largest_box(image_height: u32, image_width: u32, height: u32, width: u32) -> (f64, f64) {
    let (image_height, image_width) = (f64::from(image_height), f64::from(image_width));
    let (height, width) = (f64::from(height), f64::from(width));
    if image_width * height >= image_height * width {
        (image_height, image_height * width / height)
    } else {
        (image_width * height / width, image_width)
    }
}

/// torchvision's `Resize(round(s·256/224))`: the shorter side (for a non-square target, the side
/// that limits the crop) becomes `round(side·256/224)`, the other `int(new·long/short)`.
/// Returns `(height, width)`.
pub fn torchvision_resized_size(image_height: u32, image_width: u32, height: u32, width: u32) -> (u32, u32) {
    let enlarge = |side: u32| (f64::from(side) * 256.0 / 224.0).round() as u32;
    let follow = |new: u32, this: u32, other: u32, target: u32| {
        let scaled = u64::from(new) * u64::from(other) / u64::from(this);
        // Rounding may leave the other side a pixel short of the crop on tiny targets.
        u32::try_from(scaled).unwrap_or(u32::MAX).max(target)
    };
    let height_limits = u64::from(height) * u64::from(image_width) >= u64::from(width) * u64::from(image_height);
    if height_limits {
        let new_height = enlarge(height);
        (new_height, follow(new_height, image_height, image_width, width))
    } else {
        let new_width = enlarge(width);
        (follow(new_width, image_width, image_height, height), new_width)
    }
}

/// torchvision's `CenterCrop`: offsets `round((size − crop) / 2)`, Python rounding (ties to even).
pub fn centre_crop(image_height: u32, image_width: u32, height: u32, width: u32) -> CropBox {
    let offset = |size: u32, crop: u32| (f64::from(size.saturating_sub(crop)) / 2.0).round_ties_even() as u32;
    CropBox { top: offset(image_height, height), left: offset(image_width, width), height, width }
}

const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// RGB pixels → `[1, 3, H, W]` with the recipe's per-channel scaling.
fn normalise(seen: &RgbImage, recipe: Recipe) -> Array4<f32> {
    let (width, height) = seen.dimensions();
    let area = (width * height) as usize;
    let mut values = vec![0.0; 3 * area];
    let (red, rest) = values.split_at_mut(area);
    let (green, blue) = rest.split_at_mut(area);
    let scaled = |level: u8, channel: usize| {
        let pixel = f32::from(level);
        match recipe {
            Recipe::EfficientNetLite => (pixel - 127.0) / 128.0,
            // torchvision's ToTensor then Normalize, in f32 as they compute it.
            Recipe::Torchvision => (pixel / 255.0 - IMAGENET_MEAN[channel]) / IMAGENET_STD[channel],
        }
    };
    for (((pixel, r), g), b) in seen.as_raw().chunks_exact(3).zip(red).zip(green).zip(blue) {
        (*r, *g, *b) = (scaled(pixel[0], 0), scaled(pixel[1], 1), scaled(pixel[2], 2));
    }
    Array4::from_shape_vec((1, 3, height as usize, width as usize), values).expect("three planes of the picture's size")
}

/// The picture behind an already preprocessed `[1, 3, H, W]` input: the inverse of the recipe's
/// normalisation, rounded and clamped to pixels. Lets `--input-npy` runs draw overlays too.
pub fn seen_from_input(input: ArrayView4<f32>, recipe: Recipe) -> RgbImage {
    let (_, _, height, width) = input.dim();
    RgbImage::from_fn(width as u32, height as u32, |x, y| {
        Rgb(std::array::from_fn(|channel| {
            let value = input[(0, channel, y as usize, x as usize)];
            let pixel = match recipe {
                Recipe::EfficientNetLite => value * 128.0 + 127.0,
                Recipe::Torchvision => (value * IMAGENET_STD[channel] + IMAGENET_MEAN[channel]) * 255.0,
            };
            pixel.round().clamp(0.0, 255.0) as u8
        }))
    })
}

/// Pillow's resampling filters.
#[derive(Clone, Copy, Debug)]
enum Kernel {
    /// `Image.BILINEAR`: the triangle filter.
    Bilinear,
    /// `Image.BICUBIC`: Keys' cubic convolution with a = −0.5.
    Bicubic,
}

impl Kernel {
    fn support(self) -> f64 {
        match self {
            Kernel::Bilinear => 1.0,
            Kernel::Bicubic => 2.0,
        }
    }

    fn weight(self, x: f64) -> f64 {
        const A: f64 = -0.5;
        let x = x.abs();
        match self {
            Kernel::Bilinear if x < 1.0 => 1.0 - x,
            Kernel::Bicubic if x < 1.0 => ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0,
            Kernel::Bicubic if x < 2.0 => (((x - 5.0) * x + 8.0) * x - 4.0) * A,
            _ => 0.0,
        }
    }
}

/// Pillow's fixed-point weights carry 22 fractional bits (`PRECISION_BITS = 32 - 8 - 2`).
const PRECISION_BITS: u32 = 22;

/// The source pixels one output pixel reads along one axis, and their fixed-point weights:
/// 32-bit, as Pillow's 8-bit path holds them and sums with them (its `ss` accumulators are
/// `INT32`: a window's weights sum to 2²² and its negative lobes are small, so 255 times their
/// absolute sum stays far below 2³¹).
struct Taps {
    first: usize,
    weights: Vec<i32>,
}

impl Taps {
    fn end(&self) -> usize {
        self.first + self.weights.len()
    }
}

/// Pillow's rounding offset for a fixed-point sum, and its rounding and clipping to a grey level.
const ROUNDING: i32 = 1 << (PRECISION_BITS - 1);

fn grey(sum: i32) -> u8 {
    (sum >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for the outputs in `outputs`: an axis of
/// `in_size` pixels resized to `out_size`, the filter widened by the scale when shrinking so that it
/// also antialiases.
fn axis_taps(in_size: u32, out_size: u32, outputs: Range<u32>, kernel: Kernel) -> Vec<Taps> {
    let scale = f64::from(in_size) / f64::from(out_size);
    let filter_scale = scale.max(1.0);
    let support = kernel.support() * filter_scale;
    // Pillow multiplies by the reciprocal; dividing instead can flip a rounding at the 22nd bit.
    let inverse_filter_scale = 1.0 / filter_scale;
    outputs
        .map(|out| {
            let centre = (f64::from(out) + 0.5) * scale;
            // Pillow rounds the window's ends with `(int)(x + 0.5)`; truncation toward zero included.
            let first = ((centre - support + 0.5) as i64).max(0) as usize;
            let end = ((centre + support + 0.5) as i64).min(i64::from(in_size)) as usize;
            let raw: Vec<f64> = (first..end).map(|i| kernel.weight((i as f64 - centre + 0.5) * inverse_filter_scale)).collect();
            let total: f64 = raw.iter().sum();
            let weights = raw
                .iter()
                .map(|w| if total == 0.0 { *w } else { w / total })
                .map(|w| (w * f64::from(1u32 << PRECISION_BITS)).round() as i32)
                .collect();
            Taps { first, weights }
        })
        .collect()
}

/// Resizes the `source` region of `image` to `size` = (height, width) with Pillow's two-pass
/// convolution (horizontal then vertical, 8-bit in between), computing only the `window` of the
/// result: the same pixels as resizing everything and cropping, without holding the whole resize.
/// The vertical pass sums whole rows, a loop the compiler vectorises (a pixel at a time, down
/// the band's columns, in 64-bit sums and through `from_fn`, the whole preprocessing of a
/// 451 × 300 photo took 0.90 ms natively; so, 0.62 on one thread). Each pass is cut into bands
/// of rows for the engine's threads ([`in_bands`]).
fn resample(image: &RgbImage, source: CropBox, size: (u32, u32), window: CropBox, kernel: Kernel) -> RgbImage {
    let columns = axis_taps(source.width, size.1, window.left..window.left + window.width, kernel);
    let taps_rows = axis_taps(source.height, size.0, window.top..window.top + window.height, kernel);
    let first_row = taps_rows.iter().map(|taps| taps.first).min().unwrap_or(0);
    let end_row = taps_rows.iter().map(Taps::end).max().unwrap_or(0);
    let row_bytes = window.width as usize * 3;

    // Horizontal pass over just the source rows the vertical pass will read.
    let image_row_bytes = image.width() as usize * 3;
    let horizontal = |rows: Range<usize>| {
        let mut band = vec![0u8; rows.len() * row_bytes];
        for (y, out) in rows.zip(band.chunks_exact_mut(row_bytes)) {
            let row = &image.as_raw()[(source.top as usize + first_row + y) * image_row_bytes + source.left as usize * 3..];
            for (taps, pixel) in columns.iter().zip(out.chunks_exact_mut(3)) {
                let mut sums = [ROUNDING; 3];
                for (&weight, from) in taps.weights.iter().zip(row[taps.first * 3..].chunks_exact(3)) {
                    for (sum, &sample) in sums.iter_mut().zip(from) {
                        *sum += i32::from(sample) * weight;
                    }
                }
                pixel.copy_from_slice(&sums.map(grey));
            }
        }
        band
    };
    let band = in_bands(end_row - first_row, horizontal);

    let vertical = |rows: Range<usize>| {
        let mut pixels = vec![0u8; rows.len() * row_bytes];
        let mut sums = vec![0i32; row_bytes];
        for (taps, out) in rows.map(|y| &taps_rows[y]).zip(pixels.chunks_exact_mut(row_bytes)) {
            sums.fill(ROUNDING);
            for (i, &weight) in taps.weights.iter().enumerate() {
                let from = &band[(taps.first - first_row + i) * row_bytes..][..row_bytes];
                sums.iter_mut().zip(from).for_each(|(sum, &sample)| *sum += i32::from(sample) * weight);
            }
            out.iter_mut().zip(&sums).for_each(|(out, &sum)| *out = grey(sum));
        }
        pixels
    };
    let pixels = in_bands(window.height as usize, vertical);
    RgbImage::from_raw(window.width, window.height, pixels).expect("a buffer of the window's size")
}

/// `pass` over `rows` cut into one band per thread of the engine, shared out where it has several
/// (an image's preprocessing runs on the engine's pool, in the CLI and in the page's worker: 0.72
/// → 0.48 ms natively on two threads), the bands' results one after the other.
fn in_bands(rows: usize, pass: impl Fn(Range<usize>) -> Vec<u8> + Sync + Send) -> Vec<u8> {
    #[cfg(feature = "engine")]
    {
        let bands = crate::runtime::threads().clamp(1, rows.max(1));
        if bands > 1 {
            return crate::runtime::shared_out(bands, |b| pass(b * rows / bands..(b + 1) * rows / bands)).concat();
        }
    }
    pass(0..rows)
}
