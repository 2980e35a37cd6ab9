//! ROAD's removal and noisy linear imputation: against pytorch-grad-cam 1.5.7 itself on a small
//! image (tests/fixtures/road, written by scripts/road_reference.py), and on cases worked out by hand.

use layercam::experiments::road::{self, Order, PERCENTS};
use ndarray::{Array2, Array4, Array5, Array6, Axis, array, s};
use rand::SeedableRng;
use rand::rngs::StdRng;

fn fixture<A: ndarray_npy::ReadableElement, D: ndarray::Dimension>(file: &str) -> ndarray::Array<A, D> {
    let path = crate::common::root().join("tests/fixtures/road").join(file);
    let array: ndarray::ArrayD<A> = ndarray_npy::read_npy(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    array.into_dimensionality().expect("fixture rank")
}

/// On a map without ties, MoRF and LeRF remove exactly the pixels pytorch-grad-cam removes at each
/// of the nine shares (its percentile 100 − r), and the imputation (noise 0) gives its values.
#[test]
fn removal_and_imputation_equal_pytorch_grad_cams() {
    let input: Array4<f32> = fixture("input.npy");
    let map: Array2<f32> = fixture("map.npy");
    let removed: Array4<u8> = fixture("removed.npy");
    let imputed: Array6<f32> = fixture("imputed.npy");
    let scale = input.iter().fold(0f32, |m, v| m.max(v.abs()));
    let mut worst = 0f32;
    for (o, order) in Order::BOTH.into_iter().enumerate() {
        for (i, percent) in PERCENTS.into_iter().enumerate() {
            let ours = road::removed(map.view(), order, percent);
            let theirs = removed.slice(s![o, i, .., ..]).mapv(|r| r == 1);
            assert_eq!(ours, theirs, "{} at {percent} %: the removed pixels", order.name());
            let filled = road::impute(input.view(), ours.view()).unwrap();
            let expected: Array5<f32> = imputed.index_axis(Axis(0), o).to_owned();
            let expected = expected.index_axis(Axis(0), i);
            let error = filled.iter().zip(expected.iter()).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            worst = worst.max(error / scale);
        }
    }
    println!("ROAD imputation vs pytorch-grad-cam's NoisyLinearImputer (noise 0), 18 masks: max error {worst:.1e} of the input's max");
    assert!(worst < 1e-6, "{worst}");
}

/// At r % of n pixels, all but ⌈(n − 1)(100 − r) / 100⌉ go; ties go in row-major order (MoRF) or
/// its reverse (LeRF).
#[test]
fn the_share_removed_and_the_order_of_ties() {
    assert_eq!(road::removed_count(192, 10), 20);
    assert_eq!(road::removed_count(256, 20), 52, "⌈255 · 0.8⌉ = 204 kept");
    assert_eq!(road::removed_count(256, 50), 128);
    let map = array![[0.0, 3.0, 0.0], [1.0, 0.0, 2.0]];
    let morf = road::removed(map.view(), Order::MostRelevantFirst, 50);
    assert_eq!(morf, array![[false, true, false], [true, false, true]], "⌈(6 − 1) · 0.5⌉ = 3 kept: 3, 2, 1 go");
    let lerf = road::removed(map.view(), Order::LeastRelevantFirst, 30);
    assert_eq!(lerf, array![[false, false, true], [false, true, false]], "⌈5 · 0.7⌉ = 4 kept: the last two zeros go first");
}

/// The mean of a pixel's neighbours, 1/6 beside and 1/12 diagonal, is exact for a linear ramp, so
/// removed pixels inside a ramp come back as they were. On an edge the neighbours outside the image
/// are left out, their weights too.
#[test]
fn linear_imputation_restores_a_ramp_and_averages_the_neighbours() {
    let ramp = Array4::from_shape_fn((1, 2, 6, 7), |(_, c, y, x)| 0.5 * y as f32 - 0.25 * x as f32 + c as f32);
    let mut removed = Array2::from_elem((6, 7), false);
    removed.slice_mut(s![1..4, 2..5]).fill(true);
    let filled = road::impute(ramp.view(), removed.view()).unwrap();
    let error = filled.iter().zip(&ramp).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(error < 1e-5, "a ramp's interior comes back: {error}");

    // One pixel in a corner: its three neighbours, weights 1/6, 1/6, 1/12 of 5/12.
    let mut corner = Array4::zeros((1, 1, 3, 3));
    corner[[0, 0, 0, 1]] = 6.0;
    corner[[0, 0, 1, 0]] = 12.0;
    corner[[0, 0, 1, 1]] = 24.0;
    corner[[0, 0, 0, 0]] = 100.0;
    let mut removed = Array2::from_elem((3, 3), false);
    removed[[0, 0]] = true;
    let filled = road::impute(corner.view(), removed.view()).unwrap();
    assert!((filled[[0, 0, 0, 0]] - (6.0 / 6.0 + 12.0 / 6.0 + 24.0 / 12.0) / (5.0 / 12.0)).abs() < 1e-5, "{}", filled[[0, 0, 0, 0]]);
    assert_eq!(filled[[0, 0, 1, 1]], 24.0, "kept pixels stay");

    // Two removed neighbours: each is the mean of the other and its kept neighbours, solved together.
    let mut ends = Array4::from_elem((1, 1, 1, 4), 1.0);
    ends[[0, 0, 0, 3]] = 4.0;
    let mut removed = Array2::from_elem((1, 4), false);
    removed[[0, 1]] = true;
    removed[[0, 2]] = true;
    let filled = road::impute(ends.view(), removed.view()).unwrap();
    assert!((filled[[0, 0, 0, 1]] - 2.0).abs() < 1e-5 && (filled[[0, 0, 0, 2]] - 3.0).abs() < 1e-5, "{filled}");
}

/// The noise touches the imputed pixels only, with the asked standard deviation, and the same seed
/// gives the same draw.
#[test]
fn the_noise_is_seeded_and_only_on_imputed_pixels() {
    let input = Array4::from_elem((1, 3, 40, 40), 0.5);
    let mut removed = Array2::from_elem((40, 40), false);
    removed.slice_mut(s![.., 10..30]).fill(true);
    let noisy = |seed| road::impute_noisy(input.view(), removed.view(), 0.01, &mut StdRng::seed_from_u64(seed)).unwrap();
    let drawn = noisy(1);
    assert_eq!(drawn, noisy(1), "the same seed, the same noise");
    assert_ne!(drawn, noisy(2));
    let deviations: Vec<f32> = drawn.iter().map(|v| v - 0.5).collect();
    let kept = deviations.iter().zip(removed.broadcast((1, 3, 40, 40)).unwrap()).filter(|(_, r)| !**r);
    assert!(kept.clone().all(|(d, _)| *d == 0.0), "kept pixels untouched");
    let imputed: Vec<f32> =
        deviations.iter().zip(removed.broadcast((1, 3, 40, 40)).unwrap()).filter(|(_, r)| **r).map(|(d, _)| *d).collect();
    let sd = (imputed.iter().map(|d| d * d).sum::<f32>() / imputed.len() as f32).sqrt();
    println!("ROAD noise: standard deviation {sd:.5} over {} imputed values (asked 0.01)", imputed.len());
    assert!((sd - 0.01).abs() < 5e-4, "{sd}");
}

#[test]
fn removing_every_pixel_is_refused() {
    let input = Array4::zeros((1, 3, 2, 2));
    let err = road::impute(input.view(), Array2::from_elem((2, 2), true).view()).unwrap_err();
    assert!(err.to_string().contains("no pixel is left to impute from"), "{err}");
    let none = road::impute(input.view(), Array2::from_elem((2, 2), false).view()).unwrap();
    assert_eq!(none, input, "nothing removed, nothing changed");
}
