//! The page's maths from the worker's raw maps: the same fused maps and boxes as the CLI, and
//! sliders that change the pictures without the network.

use layercam::cam::{Fusion, Method};
use layercam::display::{class_maps, show, show_fused, value_at};
use layercam::explain::Settings;
use layercam::model::layers::Layer;
use layercam::protocol::ClassRawMaps;
use ndarray::{Array2, array};

/// Two layers, hand-made: a 2×2 and a 4×4 map per method.
fn raw() -> ClassRawMaps {
    let small: Vec<f32> = vec![0.0, 1.0, 2.0, 4.0];
    let large: Vec<f32> = (0..16).map(|v| if v == 5 { 8.0 } else { 0.0 }).collect();
    ClassRawMaps {
        class: 3,
        layers: vec![
            Layer { name: "a".into(), shape: [1, 2, 2], tokens: None },
            Layer { name: "b".into(), shape: [1, 4, 4], tokens: None },
        ],
        methods: Method::PAPER.to_vec(),
        smoothing: Default::default(),
        maps: vec![vec![small; 4], vec![large; 4]],
        score_passes: vec![Default::default(); 2],
        spans: vec![],
    }
}

/// Which stages are fused and which scaled, as the page's toggles would set them.
fn fusion(fused: [bool; 2], scaled: [bool; 2]) -> Fusion {
    Fusion { fused: fused.to_vec(), scaled: scaled.to_vec() }
}

#[test]
fn the_fused_map_is_the_clis_over_the_selected_stages() {
    let settings = Settings { methods: vec![Method::LayerCam, Method::GradCam], ..Settings::default() };
    let maps = class_maps(&raw(), &settings, &fusion([true, true], [true, false]), (8, 8));
    let cli = layercam::explain::fuse([(maps.raw[0][0].view(), true), (maps.raw[1][0].view(), false)].into_iter(), 2.0, (8, 8));
    assert_eq!(maps.fused[0], cli);
    assert_eq!(maps.raw[1][1].dim(), (4, 4));
    // Only the second stage: its single peak is the whole box.
    let only_b = class_maps(&raw(), &settings, &fusion([false, true], [true, true]), (8, 8));
    assert!(only_b.fused[0].iter().all(|v| *v >= 0.0) && only_b.boxes[0].is_some());
    // No stage: nothing, no box, no NaN.
    let none = class_maps(&raw(), &settings, &fusion([false, false], [true, true]), (8, 8));
    assert!(none.fused[0].iter().all(|v| *v == 0.0));
    assert_eq!(none.boxes[0], None);
}

#[test]
fn gamma_and_opacity_change_the_pictures() {
    let seen = image::RgbImage::from_pixel(8, 8, image::Rgb([100, 100, 100]));
    let both = Fusion::all_scaled(2);
    let base = show(&seen, &raw(), &Settings::default(), &both);
    let steeper = show(&seen, &raw(), &Settings { gamma: 4.0, ..Settings::default() }, &both);
    assert_ne!(base.fused[0], steeper.fused[0]);
    let clear = show(&seen, &raw(), &Settings { opacity: 0.0, ..Settings::default() }, &both);
    assert_eq!(clear.cells[0][0], seen, "opacity 0 shows the image itself");
}

#[test]
fn a_fused_only_redraw_equals_a_full_one() {
    let seen = image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([x as u8 * 30, y as u8 * 30, 7]));
    let before = Settings { methods: vec![Method::LayerCam, Method::GradCam], ..Settings::default() };
    let previous = show(&seen, &raw(), &before, &Fusion::all_scaled(2));
    let after = Settings { gamma: 0.7, box_threshold: 0.6, ..before };
    let fusion = fusion([true, true], [false, true]);
    let (fused_only, full) = (show_fused(&seen, &previous, &after, &fusion), show(&seen, &raw(), &after, &fusion));
    assert_eq!(fused_only.fused, full.fused);
    assert_eq!(fused_only.maps.fused, full.maps.fused);
    assert_eq!(fused_only.maps.boxes, full.maps.boxes);
    assert_eq!(fused_only.cells, full.cells);
    assert_ne!(fused_only.fused, previous.fused, "the fused column changed");
}

#[test]
fn hover_reads_the_map_under_the_cursor() {
    let map: Array2<f32> = array![[0.0, 1.0], [2.0, 4.0]];
    assert_eq!(value_at(&map, (224, 224), 200.0, 200.0), (4.0, 1.0));
    assert_eq!(value_at(&map, (224, 224), 150.0, 10.0), (1.0, 0.25));
}

/// The overview grid: a row per method of the input, each layer's picture and the fused one,
/// every tile where it belongs (a tile is one colour: its row and column).
#[test]
fn the_overview_lays_each_picture_in_its_row_and_column() {
    use image::{Rgb, RgbImage};
    let tile = |row: u8, column: u8| RgbImage::from_pixel(3, 2, Rgb([row, column, 7]));
    let seen = tile(9, 0);
    let layers: Vec<Vec<RgbImage>> = (1..=2).map(|layer| (0..2).map(|method| tile(method, layer)).collect()).collect();
    let fused: Vec<RgbImage> = (0..2).map(|method| tile(method, 3)).collect();
    let grid = layercam::report::overview(&seen, &layers, &fused);
    assert_eq!(grid.dimensions(), (4 * 3, 2 * 2));
    for (x, y, pixel) in grid.enumerate_pixels() {
        let (row, column) = ((y / 2) as u8, (x / 3) as u8);
        let expected = if column == 0 { Rgb([9, 0, 7]) } else { Rgb([row, column, 7]) };
        assert_eq!(*pixel, expected, "pixel ({x}, {y})");
    }
}
