//! The numbers a user types — the command line's flags and the page's fields — each with the range
//! it may take. One check reads them all, so NaN, infinities and values out of range are refused
//! everywhere with the same words, which name the value (clap puts the flag's name before them, the
//! page the field's). Rust's `f32` parser itself accepts `nan`, `inf` and `1e39` (→ ∞): without this
//! check `--gamma nan` ran and wrote `"gamma": null` into summary.json.

/// The values a number may take: from `min` (itself allowed or not) to `max`. Infinities are never
/// allowed, whatever the bounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    pub min: f32,
    /// Whether `min` itself is allowed (0 is no γ, but an opacity of 0 shows the bare photo).
    pub min_allowed: bool,
    pub max: f32,
    /// The range in words, for the message: "a number from 0 to 1".
    pub expected: &'static str,
}

/// Fractions of a map's maximum (box and segmentation thresholds) and the overlay's opacity.
pub const FRACTION: Bounds = Bounds { min: 0.0, min_allowed: true, max: 1.0, expected: "a number from 0 to 1" };

/// γ of Eq. 9: tanh(γ · M / max M) is flat zero at γ = 0 and flips the map below it.
pub const POSITIVE: Bounds = Bounds { min: 0.0, min_allowed: false, max: f32::MAX, expected: "a finite number above 0" };

/// A standard deviation (ROAD's imputation noise): 0 is none.
pub const NON_NEGATIVE: Bounds = Bounds { min: 0.0, min_allowed: true, max: f32::MAX, expected: "a finite number, 0 or above" };

impl Bounds {
    /// `text` as a number within the bounds, or why not, naming the text as typed.
    pub fn parse(&self, text: &str) -> Result<f32, String> {
        let value: f32 = text.trim().parse().map_err(|_| format!("`{text}` is not a number; expected {}", self.expected))?;
        self.check(value).map_err(|why| format!("`{text}` {why}; expected {}", self.expected))
    }

    /// Whether `value` lies within the bounds; if not, what is wrong with it ("is NaN", …).
    pub fn check(&self, value: f32) -> Result<f32, &'static str> {
        if value.is_nan() {
            Err("is NaN, not a number")
        } else if value.is_infinite() {
            Err("is infinite")
        } else if value < self.min || (value == self.min && !self.min_allowed) || value > self.max {
            Err("is out of range")
        } else {
            Ok(value)
        }
    }
}
