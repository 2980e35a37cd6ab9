//! ROAD, RemOve And Debias (Rong, Leemann, Borisov, Kasneci and Kasneci, ICML 2022), as
//! pytorch-grad-cam 1.5 ships it (`pytorch_grad_cam/metrics/road.py`): remove a share of the
//! pixels in the order of a map, the most relevant first (MoRF) or the least relevant first
//! (LeRF), fill them in by *noisy linear imputation*, and classify again. Deletion sets the removed
//! pixels to one colour, and the sharp outline of the hole is itself evidence a classifier reads;
//! here each removed pixel becomes the weighted mean of its eight neighbours, solved for all removed
//! pixels at once, plus a little noise, so the hole has no outline. A good map makes the class's
//! probability fall fast under MoRF and slowly under LeRF; pytorch-grad-cam's combined score is
//! the mean over the percentages of (LeRF − MoRF) / 2, higher is better.
//!
//! Which pixels go: at r % the ⌈(n − 1)·(100 − r) / 100⌉ least (MoRF) or most (LeRF) relevant of
//! the n pixels stay, the count pytorch-grad-cam's `np.percentile` threshold keeps on a map without
//! ties. Where values tie (the zeros of a ReLU'd map) pytorch-grad-cam's strict `map < threshold`
//! removes every tied pixel at once — a map that is zero on 60 % of the photo loses all of it at
//! "10 %" — so ties are broken by position here instead: row-major order for MoRF, its reverse for
//! LeRF.

use faer::Side;
use faer::linalg::solvers::Solve;
use faer::sparse::{SparseColMat, Triplet};
use ndarray::{Array2, Array4, ArrayView2, ArrayView4, Axis};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::deletion;
use crate::{Error, Result};
#[cfg(feature = "engine")]
use crate::{explain::softmax, runtime::Explainer};

/// pytorch-grad-cam's percentages (`ROADCombined`'s percentiles): the share of the pixels removed.
pub const PERCENTS: [u32; 9] = [10, 20, 30, 40, 50, 60, 70, 80, 90];

/// pytorch-grad-cam's noise: the standard deviation added to each imputed value, in the units of
/// the model's normalised input.
pub const NOISE: f32 = 0.01;

/// The noise's seed: each image's trials draw from a generator started here, so a run gives the
/// same figures whatever the order in which the cores take the images.
pub const SEED: u64 = 2022;

/// The eight neighbours of a pixel (row, column offsets) and their weights in the imputation,
/// ROAD's `neighbors_weights`: 1/6 beside, 1/12 diagonal, 1 in all.
const NEIGHBOURS: [((isize, isize), f64); 8] = [
    ((1, 1), 1.0 / 12.0),
    ((0, 1), 1.0 / 6.0),
    ((-1, 1), 1.0 / 12.0),
    ((1, -1), 1.0 / 12.0),
    ((0, -1), 1.0 / 6.0),
    ((-1, -1), 1.0 / 12.0),
    ((1, 0), 1.0 / 6.0),
    ((-1, 0), 1.0 / 6.0),
];

/// Which end of the map's order goes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// MoRF: the class should lose its probability fast.
    MostRelevantFirst,
    /// LeRF: the class should keep it.
    LeastRelevantFirst,
}

impl Order {
    pub const BOTH: [Order; 2] = [Order::MostRelevantFirst, Order::LeastRelevantFirst];

    pub fn name(self) -> &'static str {
        match self {
            Order::MostRelevantFirst => "MoRF",
            Order::LeastRelevantFirst => "LeRF",
        }
    }
}

/// How many of `pixels` pixels go at `percent` %: all but the ⌈(n − 1)·(100 − r) / 100⌉ that
/// pytorch-grad-cam's percentile threshold keeps.
pub fn removed_count(pixels: usize, percent: u32) -> usize {
    let kept = (pixels.saturating_sub(1) * (100 - percent.min(100)) as usize).div_ceil(100);
    pixels - kept
}

/// The pixels removed at `percent` % in `order` of `map` (true: removed).
pub fn removed(map: ArrayView2<f32>, order: Order, percent: u32) -> Array2<bool> {
    let mut ranked = deletion::order(map);
    if order == Order::LeastRelevantFirst {
        ranked.reverse();
    }
    let width = map.dim().1;
    let mut removed = Array2::from_elem(map.raw_dim(), false);
    for &pixel in &ranked[..removed_count(map.len(), percent)] {
        removed[[pixel / width, pixel % width]] = true;
    }
    removed
}

/// Linear imputation: each removed pixel of `input` `[1, C, H, W]` (`removed`, `[H, W]`) becomes,
/// in every channel, the weighted mean of its neighbours inside the image — the kept ones as they
/// are, the removed ones as imputed — which is one sparse linear system for all of them, solved
/// exactly (sparse Cholesky; the system is a weighted graph Laplacian with the kept pixels as its
/// boundary, symmetric positive definite as long as one pixel is kept).
///
/// # Errors
/// If every pixel is removed: nothing is left to impute from.
pub fn impute(input: ArrayView4<f32>, removed: ArrayView2<bool>) -> Result<Array4<f32>> {
    let (_, channels, height, width) = input.dim();
    assert_eq!(removed.dim(), (height, width), "the removed pixels are given at the input's size");
    let unknowns: Vec<(usize, usize)> = removed.indexed_iter().filter(|&(_, &r)| r).map(|(at, _)| at).collect();
    if unknowns.is_empty() {
        return Ok(input.to_owned());
    }
    if unknowns.len() == removed.len() {
        return Err(Error::Input("ROAD cannot remove every pixel: no pixel is left to impute from".into()));
    }
    let mut index = Array2::from_elem((height, width), usize::MAX);
    unknowns.iter().enumerate().for_each(|(i, &at)| index[at] = i);

    // Row i: s_i·x_i − Σ_{removed j} w_ij·x_j = Σ_{kept j} w_ij·v_j, s_i the weights of i's
    // neighbours inside the image (ROAD's system with both sides negated, so that it is positive).
    let mut entries = vec![];
    let mut rhs = faer::Mat::<f64>::zeros(unknowns.len(), channels);
    for (i, &(y, x)) in unknowns.iter().enumerate() {
        let mut total = 0.0;
        for ((dy, dx), weight) in NEIGHBOURS {
            let (Some(ny), Some(nx)) = (y.checked_add_signed(dy), x.checked_add_signed(dx)) else { continue };
            if ny >= height || nx >= width {
                continue;
            }
            total += weight;
            if removed[[ny, nx]] {
                entries.push(Triplet::new(i, index[[ny, nx]], -weight));
            } else {
                (0..channels).for_each(|c| rhs[(i, c)] += weight * f64::from(input[[0, c, ny, nx]]));
            }
        }
        entries.push(Triplet::new(i, i, total));
    }
    let system = SparseColMat::<usize, f64>::try_new_from_triplets(unknowns.len(), unknowns.len(), &entries)
        .map_err(|e| Error::Runtime(format!("ROAD's imputation system could not be built: {e:?}")))?;
    let factor =
        system.sp_cholesky(Side::Lower).map_err(|e| Error::Runtime(format!("ROAD's imputation system could not be solved: {e:?}")))?;
    factor.solve_in_place(rhs.as_mut());

    let mut imputed = input.to_owned();
    for (i, &(y, x)) in unknowns.iter().enumerate() {
        (0..channels).for_each(|c| imputed[[0, c, y, x]] = rhs[(i, c)] as f32);
    }
    Ok(imputed)
}

/// Noisy linear imputation ([`impute`]), then `noise` × a standard normal draw added to every
/// imputed value (not to the kept pixels), as pytorch-grad-cam's `NoisyLinearImputer` does.
pub fn impute_noisy(input: ArrayView4<f32>, removed: ArrayView2<bool>, noise: f32, rng: &mut impl Rng) -> Result<Array4<f32>> {
    let mut imputed = impute(input, removed)?;
    for mut channel in imputed.index_axis_mut(Axis(0), 0).outer_iter_mut() {
        ndarray::Zip::from(&mut channel).and(removed).for_each(|v, &r| {
            if r {
                let draw: f32 = StandardNormal.sample(rng);
                *v += noise * draw;
            }
        });
    }
    Ok(imputed)
}

/// What the classifier says after one removal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcome {
    /// The explained class's probability on the imputed input.
    pub prob: f32,
    /// Whether the class is still the top one (the ROAD paper's accuracy).
    pub top1: bool,
}

/// Removes `percent` % of the pixels of `input` in `order` of `map` (at the input's size),
/// imputes them with `noise` from `rng`, and classifies the result.
#[cfg(feature = "engine")]
pub fn trial(
    explainer: &Explainer,
    input: ArrayView4<f32>,
    (map, class): (ArrayView2<f32>, usize),
    (order, percent): (Order, u32),
    (noise, rng): (f32, &mut impl Rng),
) -> Result<Outcome> {
    let imputed = impute_noisy(input, removed(map, order, percent).view(), noise, rng)?;
    let logits = explainer.forward(imputed.view())?.logits;
    let prob = softmax(&logits)[class];
    let top1 = logits.iter().all(|&l| l <= logits[class]);
    Ok(Outcome { prob, top1 })
}
