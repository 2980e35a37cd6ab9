//! Showing a map: colour it, blend it over the photo, outline its box.

use std::sync::OnceLock;

use image::{Rgb, RgbImage};
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

/// How a value in [0, 1] becomes a colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum Colormap {
    /// OpenCV's COLORMAP_JET (MATLAB's jet): dark blue → cyan → yellow → dark red.
    Jet,
    /// Google's Turbo: like jet, but perceptually smoother.
    Turbo,
    /// Black → white.
    Gray,
}

impl Colormap {
    pub const ALL: [Colormap; 3] = [Colormap::Jet, Colormap::Turbo, Colormap::Gray];

    /// The name used on the command line, in JSON and in the page.
    pub fn name(&self) -> &'static str {
        match self {
            Colormap::Jet => "jet",
            Colormap::Turbo => "turbo",
            Colormap::Gray => "gray",
        }
    }

    /// The colour of `v`, clamped to [0, 1]; NaN shows as 0.
    #[inline]
    pub fn rgb(self, v: f32) -> [u8; 3] {
        // NaN would survive `clamp` and end up as an arbitrary colour.
        let v = if v.is_nan() { 0.0 } else { f64::from(v.clamp(0.0, 1.0)) };
        let channels = match self {
            Colormap::Jet => jet(v),
            Colormap::Turbo => turbo(v),
            Colormap::Gray => [v; 3],
        };
        channels.map(|c| to_byte(c.clamp(0.0, 1.0) * 255.0))
    }
}

crate::names::named!(Colormap, "colormap");

/// MATLAB's jet, which OpenCV's COLORMAP_JET tabulates: each channel a trapezoid of height 1 and
/// slopes ±4, centred at 3/4 (red), 1/2 (green) and 1/4 (blue); both ends at half intensity.
fn jet(v: f64) -> [f64; 3] {
    let trapezoid = |centre: f64| (1.5 - (4.0 * v - centre).abs()).clamp(0.0, 1.0);
    [trapezoid(3.0), trapezoid(2.0), trapezoid(1.0)]
}

/// Turbo by Anton Mikhailov's published degree-5 polynomial fit of the 256-entry table.
fn turbo(v: f64) -> [f64; 3] {
    const RED: [f64; 6] = [0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396, 59.28637943];
    const GREEN: [f64; 6] = [0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604];
    const BLUE: [f64; 6] = [0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973];
    // Horner's rule; coefficients go from the constant term up.
    let polynomial = |coefficients: [f64; 6]| coefficients.iter().rev().fold(0.0, |acc, &c| acc * v + c);
    [polynomial(RED), polynomial(GREEN), polynomial(BLUE)]
}

/// The map coloured and blended over `image`: (1 − opacity) · pixel + opacity · colour, rounded.
/// `map` holds values in [0, 1] (e.g. from `normalize_max`); `opacity` is clamped to [0, 1].
/// For many pictures, [`Overlay`] works out the blends once.
///
/// # Panics
/// If `map` is not the image's height × width: the caller upsamples it to the image first.
pub fn overlay(image: &RgbImage, map: ArrayView2<f32>, colormap: Colormap, opacity: f32) -> RgbImage {
    Overlay::new(colormap, opacity).over(image, map)
}

/// A colormap and an opacity, ready to draw any number of maps over photos ([`overlay`]).
pub struct Overlay {
    colormap: Colormap,
    colours: &'static Colours,
    blend: Blend,
}

impl Overlay {
    pub fn new(colormap: Colormap, opacity: f32) -> Self {
        Overlay { colormap, colours: Colours::of_colormap(colormap), blend: Blend::new(opacity) }
    }

    /// [`overlay`] at this colormap and opacity.
    ///
    /// # Panics
    /// If `map` is not the image's height × width.
    pub fn over(&self, image: &RgbImage, map: ArrayView2<f32>) -> RgbImage {
        let (width, height) = image.dimensions();
        assert_eq!(map.dim(), (height as usize, width as usize), "overlay: the map must have the image's height × width");
        let values = map.as_standard_layout();
        let values = values.as_slice().expect("a standard layout is contiguous");
        let mut blended = image.clone();
        for (pixel, &value) in blended.chunks_exact_mut(3).zip(values) {
            let colour = self.colours.of(value).unwrap_or_else(|| self.colormap.rgb(value));
            for (channel, colour) in pixel.iter_mut().zip(colour) {
                *channel = self.blend.of(*channel, colour);
            }
        }
        blended
    }
}

/// The colours of [`Colormap::rgb`] looked up instead of worked out, where that is exact: [0, 1]
/// cut into `RANGES` equal ranges, and a range's colour kept where its least and greatest f32
/// values have the same colour. Jet's and gray's channels are monotone within a range (jet's turn
/// only on its flat tops), so then every value between has that colour too; the other ranges
/// (where a colour byte steps) and Turbo (a polynomial, not shown monotone) are worked out.
/// Working out every pixel's colour was most of a click's drawing time in the browser.
struct Colours {
    ranges: Vec<Option<[u8; 3]>>,
}

impl Colours {
    /// 2^14: a range is about 1/16 of one colour step of jet's steepest channel.
    const RANGES: usize = 1 << 14;

    /// The colormap's table, made on first use (as long to make as two pictures to draw).
    fn of_colormap(colormap: Colormap) -> &'static Colours {
        static TABLES: [OnceLock<Colours>; 3] = [const { OnceLock::new() }; 3];
        let index = Colormap::ALL.iter().position(|&c| c == colormap).expect("every colormap is in ALL");
        TABLES[index].get_or_init(|| Colours::new(colormap))
    }

    fn new(colormap: Colormap) -> Self {
        let ranges = match colormap {
            Colormap::Jet | Colormap::Gray => (0..Self::RANGES)
                .map(|range| {
                    let least = range as f32 / Self::RANGES as f32;
                    let greatest = if range + 1 == Self::RANGES { 1.0 } else { ((range + 1) as f32 / Self::RANGES as f32).next_down() };
                    let colour = colormap.rgb(least);
                    (colormap.rgb(greatest) == colour).then_some(colour)
                })
                .collect(),
            Colormap::Turbo => vec![],
        };
        Colours { ranges }
    }

    /// The colour of `v` where its range has one. `rgb` shows NaN as 0 and clamps to [0, 1]; so
    /// does the lookup. `v · RANGES` is exact (a power of two), so the range is exactly `v`'s.
    /// (`as` takes NaN and negative values to range 0, and values past 1 to the last range.)
    fn of(&self, v: f32) -> Option<[u8; 3]> {
        *self.ranges.get(((v * Self::RANGES as f32) as u32 as usize).min(Self::RANGES - 1))?
    }
}

/// Every blend of a photo byte and a colour byte at one opacity, worked out once: a 224 × 224
/// picture has more channels (150 528) than the table has entries, and the page draws two dozen
/// pictures a click. Blending pixel by pixel was most of a click's drawing time in the browser.
struct Blend {
    table: Vec<u8>,
}

impl Blend {
    fn new(opacity: f32) -> Self {
        let opacity = opacity.clamp(0.0, 1.0);
        let table = (0..=255u8)
            .flat_map(|pixel| (0..=255u8).map(move |colour| (pixel, colour)))
            .map(|(pixel, colour)| to_byte(f64::from((1.0 - opacity) * f32::from(pixel) + opacity * f32::from(colour))))
            .collect();
        Blend { table }
    }

    fn of(&self, pixel: u8, colour: u8) -> u8 {
        self.table[usize::from(pixel) << 8 | usize::from(colour)]
    }
}

/// Rounds a value in [0, 255] half away from zero, as `f64::round` does, but as floor(x + 0.5):
/// `round` is a library call natively (no SSE4.1 in the baseline) and in wasm, and it was most of
/// a redraw's time. The WGSL kernel rounds the same way.
fn to_byte(x: f64) -> u8 {
    (x + 0.5) as u8
}

/// Outlines `[x0, y0, x1, y1]` (x1, y1 exclusive, as `largest_box` returns it) with a 2-pixel
/// line inside the box, clipped to the image.
pub fn draw_box(image: &mut RgbImage, [x0, y0, x1, y1]: [usize; 4], colour: Rgb<u8>) {
    const LINE: usize = 2;
    let top = y0..(y0 + LINE).min(y1);
    let bottom = y1.saturating_sub(LINE).max(y0)..y1;
    let left = x0..(x0 + LINE).min(x1);
    let right = x1.saturating_sub(LINE).max(x0)..x1;
    for (xs, ys) in [(x0..x1, top), (x0..x1, bottom), (left, y0..y1), (right, y0..y1)] {
        fill(image, xs, ys, colour);
    }
}

fn fill(image: &mut RgbImage, xs: std::ops::Range<usize>, ys: std::ops::Range<usize>, colour: Rgb<u8>) {
    let (width, height) = (image.width() as usize, image.height() as usize);
    for y in ys.start..ys.end.min(height) {
        for x in xs.start..xs.end.min(width) {
            image.put_pixel(x as u32, y as u32, colour);
        }
    }
}
