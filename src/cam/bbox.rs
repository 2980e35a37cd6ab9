//! The localisation box (paper §4.1, the protocol of CAM and Grad-CAM): binarise the map at a
//! fraction of its maximum and take the tight box around the largest connected region.

use ndarray::ArrayView2;

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
    // Connected runs of pixels over the threshold, joined row by row (union-find): a pixel-by-pixel
    // flood fill was most of a click's box time in the browser.
    let runs = runs_over(map, fraction * max);
    let mut regions = Regions::new(runs.len());
    let mut above = 0..0; // the previous row's runs
    let mut row_start = 0;
    for (i, run) in runs.iter().enumerate() {
        if i > 0 && runs[i - 1].y != run.y {
            above = if runs[i - 1].y + 1 == run.y { row_start..i } else { i..i };
            row_start = i;
        }
        for j in above.clone() {
            if runs[j].touches(run) {
                regions.join(i, j);
            }
        }
    }
    regions.largest(&runs).map(|region| [region.x0, region.y0, region.x1, region.y1])
}

/// Pixels `x0..x1` of row `y`, all over the threshold, with none beside them.
struct Run {
    y: usize,
    x0: usize,
    x1: usize,
}

impl Run {
    /// 8-connected: some pixels of the two (in adjacent rows) are at most one column apart.
    fn touches(&self, other: &Run) -> bool {
        other.x0 <= self.x1 && self.x0 <= other.x1
    }
}

/// The runs of pixels ≥ `threshold`, in row-major order.
fn runs_over(map: ArrayView2<f32>, threshold: f32) -> Vec<Run> {
    let mut runs = Vec::new();
    for (y, row) in map.outer_iter().enumerate() {
        let mut open = None;
        for (x, &m) in row.iter().enumerate() {
            match (m >= threshold, open) {
                (true, None) => open = Some(x),
                (false, Some(x0)) => {
                    runs.push(Run { y, x0, x1: x });
                    open = None;
                }
                _ => {}
            }
        }
        if let Some(x0) = open {
            runs.push(Run { y, x0, x1: row.len() });
        }
    }
    runs
}

/// Which runs are connected: a union-find forest over the runs' indices.
struct Regions {
    parent: Vec<usize>,
}

impl Regions {
    fn new(runs: usize) -> Self {
        Regions { parent: (0..runs).collect() }
    }

    fn root(&mut self, mut run: usize) -> usize {
        while self.parent[run] != run {
            self.parent[run] = self.parent[self.parent[run]];
            run = self.parent[run];
        }
        run
    }

    /// The earlier run's root stays the root: a region's root is its first run.
    fn join(&mut self, a: usize, b: usize) {
        let (a, b) = (self.root(a), self.root(b));
        self.parent[a.max(b)] = a.min(b);
    }

    /// The region with the most pixels; of equally large ones, the one whose first pixel comes
    /// first in a row-major scan (its root, its first run, has the lowest index).
    fn largest(&mut self, runs: &[Run]) -> Option<Region> {
        let mut regions: Vec<Option<Region>> = (0..runs.len()).map(|_| None).collect();
        for (i, run) in runs.iter().enumerate() {
            let root = self.root(i);
            regions[root].get_or_insert_with(|| Region::starting_at(run)).include(run);
        }
        regions.into_iter().flatten().reduce(|largest, region| if region.pixels > largest.pixels { region } else { largest })
    }
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
    fn starting_at(run: &Run) -> Self {
        Region { pixels: 0, x0: run.x0, y0: run.y, x1: run.x1, y1: run.y + 1 }
    }

    fn include(&mut self, run: &Run) {
        self.pixels += run.x1 - run.x0;
        self.x0 = self.x0.min(run.x0);
        self.y0 = self.y0.min(run.y);
        self.x1 = self.x1.max(run.x1);
        self.y1 = self.y1.max(run.y + 1);
    }
}
