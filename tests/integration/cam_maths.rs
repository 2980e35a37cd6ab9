//! The CAM maths on small hand-made cases whose answers are worked out by hand.

use image::{Rgb, RgbImage};
use layercam::cam::{self, Colormap, DEFAULT_BOX_THRESHOLD, LayerTensors, Method, Reduce};
use ndarray::{Array2, Array3, array};

fn assert_close(actual: &Array2<f32>, expected: &Array2<f32>, tolerance: f32) {
    assert_eq!(actual.shape(), expected.shape());
    for ((index, &a), &e) in actual.indexed_iter().zip(expected) {
        assert!((a - e).abs() <= tolerance, "at {index:?}: {a} != {e}\nactual:\n{actual}\nexpected:\n{expected}");
    }
}

// ---------------------------------------------------------------- methods

/// Two channels over a 1×2 map where the gradients have both signs.
fn mixed_sign_case() -> (Array3<f32>, Array3<f32>) {
    let activation = array![[[1.0, 1.0]], [[2.0, 2.0]]];
    let gradient = array![[[1.0, -1.0]], [[-0.5, 1.0]]];
    (activation, gradient)
}

/// `method`'s raw map, summed over the channels.
fn map(method: Method, a: &Array3<f32>, g: &Array3<f32>) -> Array2<f32> {
    cam::raw_map(method, LayerTensors::new(a.view(), g.view()), Reduce::Sum).unwrap()
}

#[test]
fn layercam_drops_negative_gradients_and_hirescam_keeps_them() {
    let (a, g) = mixed_sign_case();
    // LayerCAM: left 1·1 + 2·0 = 1, right 1·0 + 2·1 = 2.
    assert_eq!(map(Method::LayerCam, &a, &g), array![[1.0, 2.0]]);
    // HiResCAM (the paper's LayerCAM-normal): left 1·1 + 2·(−0.5) = 0, right 1·(−1) + 2·1 = 1.
    assert_eq!(map(Method::HiResCam, &a, &g), array![[0.0, 1.0]]);
    assert_eq!(map(Method::LayerCamNormal, &a, &g), array![[0.0, 1.0]]);
    // Element-wise Grad-CAM: negative products dropped before the sum: left 1 + 0, right 0 + 2.
    assert_eq!(map(Method::GradCamElementWise, &a, &g), array![[1.0, 2.0]]);
}

#[test]
fn elementwise_gradcam_drops_negative_products_not_negative_gradients() {
    // A negative activation under a negative gradient: LayerCAM drops it (relu(g) = 0), the
    // element-wise product keeps it ((−2)·(−1) = 2).
    let a = array![[[-2.0, 1.0]]];
    let g = array![[[-1.0, 1.0]]];
    assert_eq!(map(Method::LayerCam, &a, &g), array![[0.0, 1.0]]);
    assert_eq!(map(Method::GradCamElementWise, &a, &g), array![[2.0, 1.0]]);
}

#[test]
fn maps_are_relu_of_the_weighted_sum() {
    // One channel whose gradient is negative everywhere: every weighted sum is negative → zero map
    // (XGradCAM's weight is Σ g·A / Σ A = −1 too). The projections have no such sign.
    let a = array![[[1.0, 2.0], [3.0, 4.0]]];
    let g = array![[[-1.0, -1.0], [-1.0, -1.0]]];
    for method in Method::ALL.into_iter().filter(|m| !matches!(m, Method::EigenCam | Method::EigenGradCam | Method::ScoreCam)) {
        assert_eq!(map(method, &a, &g), Array2::<f32>::zeros((2, 2)), "{method}");
    }
}

#[test]
fn gradcam_weights_each_channel_by_its_mean_gradient() {
    let (a, g) = mixed_sign_case();
    // w_0 = mean(1, −1) = 0, w_1 = mean(−0.5, 1) = 0.25 → M = 0.25 · [2, 2].
    assert_eq!(map(Method::GradCam, &a, &g), array![[0.5, 0.5]]);
}

#[test]
fn xgradcam_weighs_the_gradient_by_the_activation() {
    // One channel, A = [1, 3], g = [2, 4]: w = (2·1 + 4·3) / (1 + 3 + 1e-7) = 3.5 → M = [3.5, 10.5].
    let a = array![[[1.0, 3.0]]];
    let g = array![[[2.0, 4.0]]];
    assert_close(&map(Method::XGradCam, &a, &g), &array![[3.5, 10.5]], 1e-5);
}

#[test]
fn eigencam_is_the_first_principal_component_with_its_sign_corrected() {
    // Channel 1 = −2 × channel 0 over four locations: a rank-one centred matrix, whose projection
    // on its first right singular vector is ±√5·(x − mean x). x = [0, 1, 2, 5], mean 2 → [−2, −1, 0, 3]·√5:
    // |max| > |min|, so the positive sign; ReLU keeps [0, 0, 0, 3√5].
    let x = [0.0f32, 1.0, 2.0, 5.0];
    let a = Array3::from_shape_fn((2, 2, 2), |(k, i, j)| x[i * 2 + j] * if k == 0 { 1.0 } else { -2.0 });
    let g = Array3::<f32>::ones((2, 2, 2));
    let expected = array![[0.0, 0.0], [0.0, 3.0 * 5f32.sqrt()]];
    assert_close(&map(Method::EigenCam, &a, &g), &expected, 1e-5);
    // Flipped values: |min| > |max| before the correction; the map is the same shape mirrored.
    let flipped = a.mapv(|v| -v);
    let projection = cam::principal_projection(flipped.view()).unwrap();
    assert!(projection.iter().copied().fold(f32::MIN, f32::max) >= -projection.iter().copied().fold(f32::MAX, f32::min));
    // EigenGradCAM with g = 1 is EigenCAM.
    assert_close(&map(Method::EigenGradCam, &a, &g), &expected, 1e-5);
}

#[test]
fn eigen_smoothing_projects_the_terms_instead_of_summing_them() {
    // LayerCAM's terms relu(g)·A with g = 1 are A itself: its smoothed map is EigenCAM's.
    let x = [0.0f32, 1.0, 2.0, 5.0];
    let a = Array3::from_shape_fn((2, 2, 2), |(k, i, j)| x[i * 2 + j] * (k as f32 + 1.0));
    let g = Array3::<f32>::ones((2, 2, 2));
    let smoothed = cam::raw_map(Method::LayerCam, LayerTensors::new(a.view(), g.view()), Reduce::Principal).unwrap();
    assert_close(&smoothed, &map(Method::EigenCam, &a, &g), 1e-6);
}

#[test]
fn scorecam_weighs_channels_by_the_softmax_of_their_scores() {
    // Scores [0, ln 3]: softmax [1/4, 3/4] → M = ¼·A_0 + ¾·A_1.
    let a = array![[[4.0, 0.0]], [[0.0, 4.0]]];
    let g = Array3::<f32>::zeros((2, 1, 2));
    let scores = ndarray::arr1(&[0.0f32, 3f32.ln()]);
    let tensors = LayerTensors { activation: a.view(), gradient: g.view(), scores: Some(scores.view()) };
    assert_close(&cam::raw_map(Method::ScoreCam, tensors, Reduce::Sum).unwrap(), &array![[1.0, 3.0]], 1e-6);
    // Without its forward passes there is no map, and the message says why.
    let error = cam::raw_map(Method::ScoreCam, LayerTensors::new(a.view(), g.view()), Reduce::Sum).unwrap_err();
    assert!(error.to_string().contains("masked forward passes"), "{error}");
}

#[test]
fn scorecam_masks_are_align_corners_upsampled_and_min_max_scaled() {
    // A 1×2 plane [1, 3] to 1×5 with the corners aligned: 1, 1.5, 2, 2.5, 3 → (v − 1) / (2 + 1e-8).
    let a = array![[[1.0, 3.0]], [[5.0, 5.0]]];
    let masks = cam::scorecam::channel_masks(a.view(), 0..2, (1, 5));
    let expected = [0.0, 0.25, 0.5, 0.75, 1.0];
    assert!(masks.index_axis(ndarray::Axis(0), 0).iter().zip(expected).all(|(m, e)| (m - e).abs() < 1e-6), "{masks}");
    // A constant channel: 0 / 1e-8 = 0 everywhere, not NaN.
    assert!(masks.index_axis(ndarray::Axis(0), 1).iter().all(|&m| m == 0.0));
    // The input seen through each mask, every input channel alike.
    let input = ndarray::Array4::from_elem((1, 3, 1, 5), 2.0f32);
    let seen = cam::scorecam::masked_inputs(input.view(), masks.view());
    assert_eq!(seen.dim(), (2, 3, 1, 5));
    assert!((seen[[0, 2, 0, 1]] - 0.5).abs() < 1e-6);
}

#[test]
fn aug_smoothing_scales_each_map_and_mirrors_it_back() {
    use cam::smoothing::{AUGMENTATIONS, Augmentation, average};
    // Two runs: the image ([0, 2, 4] → [0, 0.5, 1]) and its mirror, whose map [8, 4, 0] scales to
    // [1, 0.5, 0] and mirrors back to [0, 0.5, 1]: the mean is the same map.
    let own = array![[0.0f32, 2.0, 4.0]];
    let mirrored = array![[8.0f32, 4.0, 0.0]];
    let runs = [Augmentation { flip: false, factor: 1.0 }, Augmentation { flip: true, factor: 1.0 }];
    let mean = average(&[own.view(), mirrored.view()], &runs);
    assert_close(&mean, &array![[0.0, 0.5, 1.0]], 1e-6);
    // The library's six: mirrored or not, × 0.9, 1, 1.1.
    let input = ndarray::Array4::from_shape_fn((1, 1, 1, 3), |(_, _, _, x)| x as f32 + 1.0);
    let flipped = AUGMENTATIONS.iter().find(|a| a.flip && a.factor == 1.1).unwrap().apply(input.view());
    assert_close(&flipped.index_axis(ndarray::Axis(0), 0).index_axis(ndarray::Axis(0), 0).to_owned(), &array![[3.3, 2.2, 1.1]], 1e-6);
    assert_eq!(AUGMENTATIONS.len(), 6);
}

#[test]
fn gradcam_pp_follows_the_library_formula() {
    // One channel, A = [1, 3] (Σ A = 4), g = [1, 0]: α = 1 / (2 + 4 + 1e-6) at the first location,
    // 0 at the second; w = relu(1) · α; M = w · A.
    let a = array![[[1.0, 3.0]]];
    let g = array![[[1.0, 0.0]]];
    let w = 1.0 / (6.0 + 1e-6);
    assert_close(&map(Method::GradCamPlusPlus, &a, &g), &array![[w, 3.0 * w]], 1e-7);
}

#[test]
fn gradcam_pp_gives_zero_not_nan_for_zero_gradients() {
    // α would be 0/0-like if g = 0 were not special-cased; with an infinite Σ A it would be ∞·0 = NaN.
    let a = array![[[f32::MAX, f32::MAX]], [[1.0, 2.0]]];
    let g = Array3::<f32>::zeros((2, 1, 2));
    assert_eq!(map(Method::GradCamPlusPlus, &a, &g), array![[0.0, 0.0]]);
}

#[test]
fn raw_map_dispatches_to_each_method() {
    let (a, g) = mixed_sign_case();
    let sum = Reduce::Sum;
    assert_eq!(map(Method::LayerCam, &a, &g), cam::layercam(a.view(), g.view(), sum).unwrap());
    assert_eq!(map(Method::GradCam, &a, &g), cam::gradcam(a.view(), g.view(), sum).unwrap());
    assert_eq!(map(Method::GradCamPlusPlus, &a, &g), cam::gradcam_pp(a.view(), g.view(), sum).unwrap());
    assert_eq!(map(Method::HiResCam, &a, &g), cam::hirescam(a.view(), g.view(), sum).unwrap());
    assert_eq!(map(Method::GradCamElementWise, &a, &g), cam::gradcam_elementwise(a.view(), g.view(), sum).unwrap());
    assert_eq!(map(Method::XGradCam, &a, &g), cam::xgradcam(a.view(), g.view(), sum).unwrap());
    assert_eq!(map(Method::EigenCam, &a, &g), cam::eigencam(a.view()).unwrap());
    assert_eq!(map(Method::EigenGradCam, &a, &g), cam::eigengradcam(a.view(), g.view()).unwrap());
}

#[test]
#[should_panic(expected = "the same [C, H, W] shape")]
fn mismatched_activation_and_gradient_are_refused() {
    let a = Array3::<f32>::zeros((2, 3, 3));
    let g = Array3::<f32>::zeros((2, 3, 4));
    let _ = cam::layercam(a.view(), g.view(), Reduce::Sum);
}

#[test]
fn channel_sums_add_up_in_numpys_pairwise_order() {
    // A gradient plane of one 1.0 and 300 × 1e-8: a running f32 sum never moves off 1.0, numpy's
    // pairwise sum adds the small values among themselves first. numpy 2.4:
    // np.mean(a) = np.float32(0.003322269) for a = [1, 1e-8, …] (float32).
    let mut g = Array3::<f32>::from_elem((1, 1, 301), 1e-8);
    g[[0, 0, 0]] = 1.0;
    let a = Array3::<f32>::ones((1, 1, 301));
    assert_eq!(map(Method::GradCam, &a, &g)[[0, 0]], 0.003_322_269);
}

#[test]
fn method_names_round_trip_through_fromstr_display_and_serde() {
    let names: Vec<&str> = Method::ALL.iter().map(Method::name).collect();
    let every = ["layercam", "layercam-normal", "gradcam", "gradcam++", "hirescam", "gradcam-elementwise", "xgradcam", "eigencam"];
    assert_eq!(names, [every.as_slice(), &["eigengradcam", "scorecam"]].concat());
    assert_eq!(Method::PAPER.map(|m| m.name()), ["layercam", "layercam-normal", "gradcam", "gradcam++"]);
    for method in Method::ALL {
        assert_eq!(method.to_string().parse::<Method>().unwrap(), method);
        let json = serde_json::to_string(&method).unwrap();
        assert_eq!(json, format!("\"{}\"", method.name()));
        assert_eq!(serde_json::from_str::<Method>(&json).unwrap(), method);
    }
    let error = "gradcam-plus".parse::<Method>().unwrap_err().to_string();
    assert!(error.contains("gradcam-plus") && error.contains("layercam, layercam-normal, gradcam, gradcam++, hirescam"), "{error}");
    assert!(serde_json::from_str::<Method>("\"LayerCam\"").is_err());
}

// ---------------------------------------------------------------- fusion

#[test]
fn normalize_max_scales_to_one_and_keeps_a_zero_map_zero() {
    assert_eq!(cam::normalize_max(array![[0.0, 2.0], [1.0, 4.0]].view()), array![[0.0, 0.5], [0.25, 1.0]]);
    assert_eq!(cam::normalize_max(Array2::zeros((2, 3)).view()), Array2::<f32>::zeros((2, 3)));
}

#[test]
fn scale_tanh_peaks_at_tanh_gamma() {
    let map = array![[0.0, 1.0], [2.0, 4.0]];
    let scaled = cam::scale_tanh(map.view(), 2.0);
    let expected = array![[0.0, 0.5f32.tanh()], [1.0f32.tanh(), 2.0f32.tanh()]];
    assert_close(&scaled, &expected, 1e-7);
    assert_eq!(scaled.iter().copied().fold(f32::MIN, f32::max), 2.0f32.tanh());
}

#[test]
fn scale_tanh_of_a_map_without_positive_values_is_zero_not_nan() {
    for map in [Array2::<f32>::zeros((3, 3)), Array2::from_elem((3, 3), -1.0)] {
        let scaled = cam::scale_tanh(map.view(), 2.0);
        assert!(scaled.iter().all(|&v| v == 0.0), "{scaled}");
    }
}

#[test]
fn upsampling_a_constant_map_gives_the_constant() {
    for (h, w) in [(1, 1), (3, 5), (7, 7)] {
        let up = cam::upsample_bilinear(Array2::from_elem((h, w), 2.5).view(), 13, 11);
        assert_eq!(up, Array2::from_elem((13, 11), 2.5), "from {h}×{w}");
    }
}

#[test]
fn upsampling_2x2_to_4x4_uses_half_pixel_centres() {
    // Output pixel d samples the source at (d + 0.5)/2 − 0.5 = −0.25, 0.25, 0.75, 1.25; the ends
    // clamp to the edge pixels, the middle two mix them 3:1 and 1:3.
    let map = array![[0.0, 1.0], [2.0, 3.0]];
    let expected = array![[0.0, 0.25, 0.75, 1.0], [0.5, 0.75, 1.25, 1.5], [1.5, 1.75, 2.25, 2.5], [2.0, 2.25, 2.75, 3.0],];
    assert_eq!(cam::upsample_bilinear(map.view(), 4, 4), expected);
}

#[test]
fn upsampling_3_to_5_samples_at_half_pixel_centres() {
    // Sources at (d + 0.5) · 3/5 − 0.5 = −0.2 (clamped to 0), 0.4, 1.0, 1.6, 2.2 (clamped to 2).
    let up = cam::upsample_bilinear(array![[0.0, 1.0, 2.0]].view(), 1, 5);
    assert_close(&up, &array![[0.0, 0.4, 1.0, 1.6, 2.0]], 1e-6);
}

#[test]
fn upsampling_to_the_same_size_is_the_identity() {
    let map = array![[0.1, 0.7, 0.3], [0.9, 0.2, 0.5]];
    assert_eq!(cam::upsample_bilinear(map.view(), 2, 3), map);
}

#[test]
fn fuse_max_keeps_the_strongest_response_per_pixel() {
    let a = array![[0.1, 0.9], [0.5, 0.0]];
    let b = array![[0.4, 0.2], [0.5, 0.3]];
    let c = array![[0.0, 0.0], [0.7, 0.1]];
    assert_eq!(cam::fuse_max(&[a.view(), b.view(), c.view()]), array![[0.4, 0.9], [0.7, 0.3]]);
    assert_eq!(cam::fuse_max(&[a.view()]), a);
}

#[test]
#[should_panic(expected = "same shape")]
fn fuse_max_refuses_maps_of_different_shapes() {
    cam::fuse_max(&[Array2::zeros((2, 2)).view(), Array2::zeros((2, 3)).view()]);
}

// ---------------------------------------------------------------- boxes

#[test]
fn largest_box_picks_the_larger_blob_with_exclusive_ends() {
    let map = array![
        [1.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0, 0.0, 0.5, 0.0],
        [0.0, 0.0, 0.0, 0.5, 0.5, 0.5],
        [0.0, 0.0, 0.0, 0.0, 0.5, 0.0],
    ];
    // Left blob 3 pixels, right blob 5 pixels (columns 3..6, rows 1..4).
    assert_eq!(cam::largest_box(map.view(), DEFAULT_BOX_THRESHOLD), Some([3, 1, 6, 4]));
}

#[test]
fn largest_box_connects_diagonal_neighbours() {
    let map = array![[1.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],];
    // The diagonal is one 3-pixel region and beats the 2-pixel pair; with 4-connectivity it
    // would be three single pixels and the pair would win.
    assert_eq!(cam::largest_box(map.view(), 0.5), Some([0, 0, 3, 3]));
}

#[test]
fn largest_box_includes_pixels_exactly_at_the_threshold() {
    // Threshold 0.15 · 1.0: the pixel at 0.15 counts and joins the left pixel, the one just below does not.
    let map = array![[1.0, 0.15, 0.1499, 0.0]];
    assert_eq!(cam::largest_box(map.view(), 0.15), Some([0, 0, 2, 1]));
}

#[test]
fn largest_box_breaks_ties_by_row_major_order() {
    let map = array![[0.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0], [1.0, 0.0, 0.0, 0.0]];
    // Two 2-pixel regions; the right one starts first in a row-major scan.
    assert_eq!(cam::largest_box(map.view(), 0.5), Some([3, 0, 4, 2]));
}

/// The box by the definition, pixel by pixel: flood-fill each 8-connected region in row-major
/// order and keep the first of the largest. The oracle for the run-based `largest_box`.
fn box_by_flood_fill(map: &Array2<f32>, fraction: f32) -> Option<[usize; 4]> {
    let max = map.iter().copied().fold(0f32, f32::max);
    let mut unvisited = map.mapv(|m| max > 0.0 && m >= fraction * max);
    let (height, width) = map.dim();
    let mut best: Option<(usize, [usize; 4])> = None;
    for (y, x) in (0..height).flat_map(|y| (0..width).map(move |x| (y, x))) {
        if !unvisited[[y, x]] {
            continue;
        }
        unvisited[[y, x]] = false;
        let (mut stack, mut pixels, mut bbox) = (vec![(y, x)], 0, [x, y, x + 1, y + 1]);
        while let Some((y, x)) = stack.pop() {
            pixels += 1;
            bbox = [bbox[0].min(x), bbox[1].min(y), bbox[2].max(x + 1), bbox[3].max(y + 1)];
            for (ny, nx) in
                (y.saturating_sub(1)..(y + 2).min(height)).flat_map(|ny| (x.saturating_sub(1)..(x + 2).min(width)).map(move |nx| (ny, nx)))
            {
                if unvisited[[ny, nx]] {
                    unvisited[[ny, nx]] = false;
                    stack.push((ny, nx));
                }
            }
        }
        if best.is_none_or(|(most, _)| pixels > most) {
            best = Some((pixels, bbox));
        }
    }
    best.map(|(_, bbox)| bbox)
}

#[test]
fn largest_box_equals_a_pixel_flood_fill_on_random_maps() {
    use rand::{RngExt, SeedableRng, rngs::StdRng};
    let mut rng = StdRng::seed_from_u64(15);
    for case in 0..2000 {
        let (height, width) = (rng.random_range(1..24), rng.random_range(1..24));
        // Sparse to dense: few regions, many small ones, and U shapes whose arms meet lower down.
        let density: f32 = rng.random_range(0.05..0.95);
        let map = Array2::from_shape_fn((height, width), |_| if rng.random::<f32>() < density { rng.random_range(0.2..1.0) } else { 0.0 });
        let fraction = rng.random_range(0.1..0.9);
        assert_eq!(cam::largest_box(map.view(), fraction), box_by_flood_fill(&map, fraction), "case {case}:\n{map}");
    }
}

#[test]
fn largest_box_of_a_map_without_positive_values_is_none() {
    assert_eq!(cam::largest_box(Array2::zeros((4, 4)).view(), DEFAULT_BOX_THRESHOLD), None);
    assert_eq!(cam::largest_box(Array2::from_elem((4, 4), -1.0).view(), DEFAULT_BOX_THRESHOLD), None);
}

#[test]
fn largest_box_fills_a_large_region_without_recursion() {
    // 1024² pixels in one region: a recursive fill would overflow the test thread's stack.
    let map = Array2::<f32>::ones((1024, 1024));
    assert_eq!(cam::largest_box(map.view(), DEFAULT_BOX_THRESHOLD), Some([0, 0, 1024, 1024]));
}

// ---------------------------------------------------------------- colours

#[test]
fn jet_runs_from_dark_blue_to_dark_red() {
    assert_eq!(Colormap::Jet.rgb(0.0), [0, 0, 128]);
    assert_eq!(Colormap::Jet.rgb(0.5), [128, 255, 128]);
    assert_eq!(Colormap::Jet.rgb(1.0), [128, 0, 0]);
    // Cyan at 3/8, yellow at 5/8.
    assert_eq!(Colormap::Jet.rgb(0.375), [0, 255, 255]);
    assert_eq!(Colormap::Jet.rgb(0.625), [255, 255, 0]);
}

#[test]
fn turbo_runs_from_dark_purple_through_green_to_dark_red() {
    let [r0, g0, b0] = Colormap::Turbo.rgb(0.0);
    assert!(r0 < 60 && g0 < 60 && b0 < 60, "{:?}", [r0, g0, b0]);
    let [r, g, b] = Colormap::Turbo.rgb(0.5);
    assert!(g > 200 && r < g && b < g, "{:?}", [r, g, b]);
    let [r1, g1, b1] = Colormap::Turbo.rgb(1.0);
    assert!(r1 > 100 && g1 < 20 && b1 < 20, "{:?}", [r1, g1, b1]);
}

#[test]
fn gray_is_the_value_and_out_of_range_values_are_clamped() {
    assert_eq!(Colormap::Gray.rgb(0.5), [128, 128, 128]);
    assert_eq!(Colormap::Gray.rgb(0.0), [0, 0, 0]);
    assert_eq!(Colormap::Gray.rgb(1.0), [255, 255, 255]);
    for colormap in Colormap::ALL {
        assert_eq!(colormap.rgb(-3.0), colormap.rgb(0.0), "{colormap}");
        assert_eq!(colormap.rgb(7.0), colormap.rgb(1.0), "{colormap}");
        assert_eq!(colormap.rgb(f32::NAN), colormap.rgb(0.0), "{colormap}");
    }
}

#[test]
fn colormap_names_round_trip_through_fromstr_display_and_serde() {
    let names: Vec<&str> = Colormap::ALL.iter().map(Colormap::name).collect();
    assert_eq!(names, ["jet", "turbo", "gray"]);
    for colormap in Colormap::ALL {
        assert_eq!(colormap.to_string().parse::<Colormap>().unwrap(), colormap);
        let json = serde_json::to_string(&colormap).unwrap();
        assert_eq!(serde_json::from_str::<Colormap>(&json).unwrap(), colormap);
    }
    let error = "viridis".parse::<Colormap>().unwrap_err().to_string();
    assert!(error.contains("jet, turbo, gray"), "{error}");
}

fn photo() -> RgbImage {
    RgbImage::from_fn(3, 2, |x, y| Rgb([(40 * x) as u8, (100 * y) as u8, 200]))
}

#[test]
fn overlay_colours_every_value_as_the_colormap_does() {
    // At opacity 1 a pixel is its colour. Values at, just below and just above every 1/2^14 (the
    // edges of the colour table's ranges), between them, and out of range.
    let mut values = vec![f32::NAN, -1.0, -0.0, 1.5, f32::INFINITY];
    for step in 0..=1u32 << 14 {
        let edge = step as f32 / (1u32 << 14) as f32;
        values.extend([edge.next_down(), edge, edge.next_up(), edge + 0.3 / (1u32 << 14) as f32]);
    }
    let map = Array2::from_shape_vec((1, values.len()), values.clone()).unwrap();
    let black = RgbImage::new(values.len() as u32, 1);
    for colormap in Colormap::ALL {
        let coloured = cam::overlay(&black, map.view(), colormap, 1.0);
        for (x, &v) in values.iter().enumerate() {
            assert_eq!(coloured.get_pixel(x as u32, 0).0, colormap.rgb(v), "{} at {v:e}", colormap.name());
        }
    }
}

#[test]
fn overlay_blends_the_colours_over_the_image_by_opacity() {
    let image = photo();
    let map = array![[0.0, 0.5, 1.0], [1.0, 0.5, 0.0]];
    assert_eq!(cam::overlay(&image, map.view(), Colormap::Jet, 0.0), image);
    let coloured = cam::overlay(&image, map.view(), Colormap::Jet, 1.0);
    for (x, y, pixel) in coloured.enumerate_pixels() {
        assert_eq!(pixel.0, Colormap::Jet.rgb(map[[y as usize, x as usize]]));
    }
    // Half-way: pixel (1, 0) = (40, 0, 200) and gray(0.5) = (128, 128, 128) → (84, 64, 164).
    assert_eq!(cam::overlay(&image, map.view(), Colormap::Gray, 0.5).get_pixel(1, 0).0, [84, 64, 164]);
}

#[test]
#[should_panic(expected = "height × width")]
fn overlay_refuses_a_map_of_another_size() {
    cam::overlay(&photo(), Array2::zeros((3, 2)).view(), Colormap::Jet, 0.5);
}

#[test]
fn draw_box_outlines_two_pixels_inside_the_box() {
    let mut image = RgbImage::new(10, 10);
    let red = Rgb([255, 0, 0]);
    cam::draw_box(&mut image, [2, 3, 8, 9], red);
    for (x, y, pixel) in image.enumerate_pixels() {
        let inside = (2..8).contains(&x) && (3..9).contains(&y);
        let interior = (4..6).contains(&x) && (5..7).contains(&y);
        let on_outline = inside && !interior;
        assert_eq!(*pixel == red, on_outline, "pixel ({x}, {y})");
    }
}

#[test]
fn draw_box_clips_to_the_image() {
    let mut image = RgbImage::new(4, 4);
    let red = Rgb([255, 0, 0]);
    cam::draw_box(&mut image, [1, 1, 100, 100], red);
    // Only the top lines (rows 1–2) and the left lines (columns 1–2) fall inside the image:
    // all of x, y ∈ 1..4 except (3, 3).
    for (x, y, pixel) in image.enumerate_pixels() {
        let on_outline = x >= 1 && y >= 1 && (x, y) != (3, 3);
        assert_eq!(*pixel == red, on_outline, "pixel ({x}, {y})");
    }
}

/// `float`'s comparisons give what `f32::max`, `min` and a clamp give, for every kind of value
/// (NaN, infinities, signed zeros), within their stated contracts (a fold's accumulator and a
/// clamp's bounds are numbers).
#[test]
#[allow(clippy::manual_clamp)] // `f32::clamp` keeps a NaN; max-then-min, like `float::clamp`, gives the lower bound
fn float_comparisons_equal_the_standard_library() {
    use layercam::float;
    let values = [f32::NAN, f32::NEG_INFINITY, -7.5, -1e-30, -0.0, 0.0, 1e-30, 0.5, 6.0, 6.5, f32::INFINITY];
    for v in values {
        assert_eq!(float::relu(v), v.max(0.0), "relu({v})");
        assert_eq!(float::clamp(v, 0.0, 6.0), v.max(0.0).min(6.0), "clamp({v})");
        for acc in values.into_iter().filter(|a| !a.is_nan()) {
            assert_eq!(float::larger(acc, v), acc.max(v), "larger({acc}, {v})");
            assert_eq!(float::smaller(acc, v), acc.min(v), "smaller({acc}, {v})");
        }
    }
}
