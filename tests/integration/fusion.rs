//! The paper's fusion (§4.1, Table 4): which stages are fused, which Eq. 9 scales, and a fused map
//! of three small maps worked out by hand.

use layercam::cam::{FuseChoice, Fusion, ScaleChoice, stages};
use layercam::explain::{Settings, fuse, fuse_stages};
use ndarray::{Array2, array};

const EFFICIENTNET: [f32; 5] = [2.0, 4.0, 8.0, 16.0, 32.0]; // 112², 56², 28², 14², 7² of 224²
const VGG16: [f32; 5] = [1.0, 2.0, 4.0, 8.0, 16.0]; // S1–S5: 224², 112², 56², 28², 14²
const RESNET50: [f32; 4] = [4.0, 8.0, 16.0, 32.0]; // layer1–layer4

#[test]
fn strides_are_input_size_over_map_size() {
    assert_eq!(stages::stride([224, 224], [112, 112]), 2.0);
    assert_eq!(stages::stride([224, 224], [7, 7]), 32.0);
    assert_eq!(stages::stride([224, 160], [14, 5]), 32.0, "the coarser axis");
}

#[test]
fn the_paper_fuses_every_stage_but_the_shallowest_and_scales_the_shallow_ones() {
    let paper = Fusion::paper(&EFFICIENTNET);
    assert_eq!(paper.fused, [false, true, true, true, true]);
    // Deepest fused stride 32: 56² (4) and 28² (8) are shallow; 112² would be, were it fused.
    assert_eq!(paper.scaled, [true, true, true, false, false]);
    let members: Vec<(usize, bool)> = paper.members().collect();
    assert_eq!(members, [(1, true), (2, true), (3, false), (4, false)]);
}

#[test]
fn shallow_means_at_most_a_quarter_of_the_deepest_fused_stride() {
    let all = |strides: &[f32]| Fusion::new(strides, &FuseChoice::All, &ScaleChoice::Auto).scaled;
    assert_eq!(all(&VGG16), [true, true, true, false, false], "VGG16: S1–S3");
    assert_eq!(all(&RESNET50), [true, true, false, false], "ResNet-50: layer1–2");
    assert_eq!(all(&EFFICIENTNET), [true, true, true, false, false], "EfficientNet-Lite0: 112², 56², 28²");
    // The deepest *fused* stage sets the bar: without the 7² stage, 14² is deepest and only 56² and 112² are shallow.
    let without_deepest = Fusion::new(&EFFICIENTNET, &FuseChoice::Stages(vec![true, true, true, true, false]), &ScaleChoice::Auto);
    assert_eq!(without_deepest.scaled, [true, true, false, false, false]);
    // Nothing fused: nothing is shallow. One stage alone is never a quarter of itself.
    assert_eq!(stages::shallow(&VGG16, &[false; 5]), [false; 5]);
    assert_eq!(Fusion::paper(&[8.0]), Fusion { fused: vec![true], scaled: vec![false] });
}

#[test]
fn choices_come_from_the_command_line_words() {
    let layers: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    let words = |w: &str| w.split(',').map(String::from).collect::<Vec<_>>();
    assert_eq!(FuseChoice::parse(&words("auto"), &layers).unwrap(), FuseChoice::Auto);
    assert_eq!(FuseChoice::parse(&words("all"), &layers).unwrap(), FuseChoice::All);
    assert_eq!(FuseChoice::parse(&words("c,a"), &layers).unwrap(), FuseChoice::Stages(vec![true, false, true]));
    assert_eq!(ScaleChoice::parse(&words("none"), &layers).unwrap(), ScaleChoice::None);
    assert_eq!(ScaleChoice::parse(&words("b"), &layers).unwrap(), ScaleChoice::Stages(vec![false, true, false]));
    let err = ScaleChoice::parse(&words("a,d"), &layers).unwrap_err();
    assert_eq!(err.to_string(), "unknown layer `d`; valid layers are: a, b, c (the layers explained)");
}

/// A 4×4 input and three stages: 4×4 (stride 1), 2×2 (stride 2) and 1×2 (stride 4).
fn three_maps() -> Vec<Array2<f32>> {
    vec![array![[0.0, 0.0, 0.0, 2.0], [0.0; 4], [0.0; 4], [0.0, 0.0, 0.0, 1.0]], array![[0.0, 0.0], [0.0, 5.0]], array![[2.0, 0.0]]]
}

#[test]
fn three_small_maps_fused_as_the_paper_does_worked_out_by_hand() {
    // All fused; the deepest stride is 4, so only the 4×4 stage (stride 1 ≤ 4/4) is scaled by Eq. 9.
    let fusion = Fusion::new(&[1.0, 2.0, 4.0], &FuseChoice::All, &ScaleChoice::Auto);
    assert_eq!(fusion.scaled, [true, false, false]);
    let maps = three_maps();
    let fused = fuse(fusion.members().map(|(l, scaled)| (maps[l].view(), scaled)), 2.0, (4, 4));
    // Stage 1, tanh(2·M / 2): tanh(2) = 0.96403 at (0, 3), tanh(1) = 0.76159 at (3, 3), 0 elsewhere.
    // Stage 2, normalised [[0, 0], [0, 1]] and upsampled with half-pixel centres: the weights along
    //   each axis are [0, 0.25, 0.75, 1], so the value at (y, x) is w[y]·w[x].
    // Stage 3, normalised [1, 0] and upsampled: [1, 0.75, 0.25, 0] along x on every row.
    // The fused map is the element-wise max of the three.
    let (t2, t1) = (2f32.tanh(), 1f32.tanh());
    let expected = array![[1.0, 0.75, 0.25, t2], [1.0, 0.75, 0.25, 0.25], [1.0, 0.75, 0.5625, 0.75], [1.0, 0.75, 0.75, 1.0f32.max(t1)],];
    for ((at, &got), &want) in fused.indexed_iter().zip(&expected) {
        assert!((got - want).abs() < 1e-6, "at {at:?}: {got} != {want}\n{fused}");
    }
    // Every stage scaled (the old fusion): Eq. 9 acts at each map's own resolution, before upsampling,
    // so stage 2's peak becomes tanh(2) and (2, 2) reads 0.5625·tanh(2) instead of 0.5625.
    let all_scaled = fuse(maps.iter().map(|m| (m.view(), true)), 2.0, (4, 4));
    assert!((all_scaled[[2, 2]] - 0.5625 * t2).abs() < 1e-6, "{all_scaled}");
    // No stage scaled: stage 1's peak enters as 1, not tanh(2).
    let none_scaled = fuse(maps.iter().map(|m| (m.view(), false)), 2.0, (4, 4));
    assert_eq!(none_scaled[[0, 3]], 1.0);
}

#[test]
fn a_fusion_of_no_stage_is_all_zero_with_no_box() {
    let raw: Vec<Vec<Array2<f32>>> = three_maps().into_iter().map(|m| vec![m]).collect();
    let nothing = Fusion { fused: vec![false; 3], scaled: vec![true; 3] };
    let maps = fuse_stages(0, raw, &Settings::default(), &nothing, (4, 4));
    assert!(maps.fused[0].iter().all(|&v| v == 0.0));
    assert_eq!(maps.boxes[0], None);
    assert_eq!(maps.fusion, nothing, "the maps say how they were fused");
}
