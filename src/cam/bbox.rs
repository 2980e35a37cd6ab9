//! The localisation box (paper §4.1, the protocol of CAM and Grad-CAM): binarise the map at a
//! fraction of its maximum and take the tight box around the largest connected region.

use ndarray::{Array2, ArrayView2};

use super::max_value;

/// The paper's threshold: 15 % of the map's maximum.
pub const DEFAULT_BOX_THRESHOLD: f32 = 0.15;

/// The box `[x0, y0, x1, y1]` around the largest 8-connected region of pixels ≥ `fraction` × max,
/// with `x1` and `y1` exclusive (the region lies in `map[y0..y1, x0..x1]`, as numpy slices it).
/// Of equally large regions, the first met in a row-major scan wins.
/// `None` when the map has no positive value, or no pixel reaches the threshold.
pub fn largest_box(map: ArrayView2<f32>, fraction: f32) -> Option<[usize; 4]> {
    let max = max_value(map);
    if max <= 0.0 {
        return None;
    }
    let threshold = fraction * max;
    // Foreground pixels not yet assigned to a region.
    let mut unvisited = map.mapv(|m| m >= threshold);
    let mut largest: Option<Region> = None;
    for (start, _) in map.indexed_iter() {
        if unvisited[start] {
            let region = flood_fill(&mut unvisited, start);
            if largest.as_ref().is_none_or(|l| region.pixels > l.pixels) {
                largest = Some(region);
            }
        }
    }
    largest.map(|region| [region.x0, region.y0, region.x1, region.y1])
}

/// A connected region: how many pixels, and its box (`x1`, `y1` exclusive).
struct Region {
    pixels: usize,
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
}

impl Region {
    fn starting_at((y, x): (usize, usize)) -> Self {
        Region { pixels: 0, x0: x, y0: y, x1: x + 1, y1: y + 1 }
    }

    fn include(&mut self, (y, x): (usize, usize)) {
        self.pixels += 1;
        self.x0 = self.x0.min(x);
        self.y0 = self.y0.min(y);
        self.x1 = self.x1.max(x + 1);
        self.y1 = self.y1.max(y + 1);
    }
}

/// Takes the 8-connected region of `start` out of `unvisited`. The fill keeps its own stack:
/// a recursive one would overflow the call stack on a large map.
fn flood_fill(unvisited: &mut Array2<bool>, start: (usize, usize)) -> Region {
    let (height, width) = unvisited.dim();
    let mut region = Region::starting_at(start);
    unvisited[start] = false;
    let mut stack = vec![start];
    while let Some((y, x)) = stack.pop() {
        region.include((y, x));
        for ny in y.saturating_sub(1)..=(y + 1).min(height - 1) {
            for nx in x.saturating_sub(1)..=(x + 1).min(width - 1) {
                if unvisited[[ny, nx]] {
                    unvisited[[ny, nx]] = false;
                    stack.push((ny, nx));
                }
            }
        }
    }
    region
}
