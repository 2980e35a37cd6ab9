//! `layercam eval` on a tiny hand-made classifier whose evidence we control: class 0 is the mean
//! red of the photo, class 1 the mean blue plus 0.05. Photos are 18×18, black with one 4×4 square;
//! the model's input is 16×16 (torchvision resize to 18, centre crop: one pixel off each side), so
//! every metric has an answer worked out by hand (see each test).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::net::*;
use image::{Rgb, RgbImage};
use prost::Message;
use serde_json::Value;

/// Stage S1: the ReLU at 16×16 (`t1`); S2: a 2×2 stride-2 average (depthwise conv, `t2`) at 8×8.
fn tiny_model(dir: &Path) -> PathBuf {
    let mut net = Net::new(&[1, 3, 16, 16]);
    let pick = net.constant(vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0], &[2, 3, 1, 1]);
    let colours = net.node("Conv", &["x", &pick], vec![]);
    let relu = net.node("Relu", &[&colours], vec![]);
    let quarter = net.constant(vec![0.25; 8], &[2, 1, 2, 2]);
    let pooled = net.node("Conv", &[&relu, &quarter], vec![int("group", 2), ints("strides", &[2, 2]), ints("kernel_shape", &[2, 2])]);
    let mean = net.node("GlobalAveragePool", &[&pooled], vec![]);
    let flat = net.node("Flatten", &[&mean], vec![int("axis", 1)]);
    let bias = net.constant(vec![0.0, 0.05], &[1, 2]);
    let logits = net.node("Add", &[&flat, &bias], vec![]);
    let path = dir.join("tiny.onnx");
    std::fs::write(&path, net.proto(&logits).encode_to_vec()).unwrap();
    path
}

/// An 18×18 black photo with a 4×4 square of `colour` from (x, y).
fn photo(colour: [u8; 3], (x, y): (u32, u32)) -> RgbImage {
    RgbImage::from_fn(18, 18, |px, py| Rgb(if (x..x + 4).contains(&px) && (y..y + 4).contains(&py) { colour } else { [0; 3] }))
}

const RED: [u8; 3] = [255, 0, 0];
const BLUE: [u8; 3] = [0, 0, 255];

/// a: red at (5, 5), b: red at (9, 9), c: blue at (5, 5), broken.png: not an image. Labels say
/// class 0 for all three (wrong for c); boxes and masks are the squares.
fn dataset(name: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("layercam-eval-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let images = dir.join("images");
    std::fs::create_dir_all(dir.join("masks")).unwrap();
    std::fs::create_dir_all(&images).unwrap();
    for (file, colour, at) in [("a", RED, (5, 5)), ("b", RED, (9, 9)), ("c", BLUE, (5, 5))] {
        photo(colour, at).save(images.join(format!("{file}.png"))).unwrap();
        photo([255; 3], at).save(dir.join("masks").join(format!("{file}.png"))).unwrap();
    }
    std::fs::write(images.join("broken.png"), b"not a png").unwrap();
    std::fs::write(dir.join("labels.csv"), "image,class\na.png,0\nb.png,0\nc.png,0\nbroken.png,0\n").unwrap();
    std::fs::write(dir.join("boxes.csv"), "image,x0,y0,x1,y1\na.png,5,5,9,9\nb.png,9,9,13,13\nc.png,5,5,9,9\nbroken.png,0,0,1,1\n")
        .unwrap();
    (tiny_model(&dir), dir)
}

fn eval(dir: &Path, model: &Path, args: &[&str]) -> (Output, Value) {
    let (experiment, rest) = args.split_first().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_layercam"))
        .args(["eval", experiment, "images", "--model", model.to_str().unwrap(), "--layers", "t1,t2", "--out", "out"])
        .args(rest)
        .current_dir(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let json = serde_json::from_slice(&std::fs::read(dir.join(format!("out/{experiment}.json"))).unwrap()).unwrap();
    assert!(std::fs::read_to_string(dir.join(format!("out/{experiment}.svg"))).unwrap().contains("<svg"), "a plot");
    (output, json)
}

/// The table's values of (method, map).
fn row(json: &Value, method: &str, map: &str) -> Vec<f64> {
    let found = json["rows"].as_array().unwrap().iter().find(|r| r["method"] == method && r["map"] == map);
    let found = found.unwrap_or_else(|| panic!("no row {method} {map} in {}", json["rows"]));
    found["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()
}

/// The values one image gave for (method, map).
fn image_row(json: &Value, image: &str, method: &str, map: &str) -> Vec<f64> {
    let scores = json["per_image"].as_array().unwrap().iter().find(|i| i["image"] == image).expect("the image")["scores"].clone();
    let found = scores.as_array().unwrap().iter().find(|r| r["method"] == method && r["map"] == map).expect("the row").clone();
    found["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()
}

/// The probability of class 0 with `red` pixels of the square left: logits (red · 2.2489 / 256, 0.05).
fn p(red: f64) -> f64 {
    1.0 / (1.0 + (0.05 - red * 2.248908 / 256.0).exp())
}

fn close(actual: f64, expected: f64, what: &str) {
    assert!((actual - expected).abs() < 1e-4, "{what}: {actual}, expected {expected}");
}

/// Un-occluded, a and b have class 0's logit 16 · 2.2489 / 256 = 0.14056 against 0.05: p = 0.52262.
/// S2's map, upsampled to 16×16, is [.25 .75 1 1 .75 .25] along each axis around the square, so
/// ≥ 0.7 of its max on the square but its corners (.75²): 12 pixels hidden, 4 red ones left, and
/// class 1 on top. c is left out (the model says class 1).
#[test]
fn occlusion_hides_the_square_and_the_class_falls() {
    let (model, dir) = dataset("occlusion");
    let (output, json) = eval(&dir, &model, &["occlusion", "--labels", "labels.csv", "--method", "layercam"]);
    assert_eq!(json["images"], 2);
    assert_eq!(json["excluded"], serde_json::json!(["c.png"]));
    assert!(String::from_utf8_lossy(&output.stderr).contains("broken.png"), "the bad image is named");
    let none = row(&json, "none", "un-occluded");
    close(none[0], 100.0, "top-1 un-occluded");
    close(none[2], p(16.0), "confidence un-occluded");
    let s2 = row(&json, "layercam", "S2");
    close(s2[0], 0.0, "top-1 after hiding the square");
    close(s2[1], 100.0, "top-5 (of two classes)");
    close(s2[2], p(4.0), "confidence after hiding the square but its corners");
    close(s2[3], 100.0 * 12.0 / 256.0, "hidden %");
}

/// Deletion (a; S1's map is the square): step 1 removes 12 of the 256 pixels, all in the square,
/// step 2 the rest of it; then only black pixels go, which changes nothing. Insertion starts from
/// the blurred photo, where no red is left above the mean, and reveals the square the same way.
#[test]
fn deletion_and_insertion_curves_have_the_known_steps() {
    let (model, dir) = dataset("deletion");
    let (_, deletion) = eval(&dir, &model, &["deletion", "--labels", "labels.csv", "--method", "layercam"]);
    let deleted = image_row(&deletion, "a.png", "layercam", "S1");
    close(deleted[1], p(16.0), "nothing deleted");
    close(deleted[2], p(4.0), "12 of 16 square pixels deleted");
    deleted[3..].iter().for_each(|&v| close(v, p(0.0), "the square deleted"));
    let area = |c: &[f64]| c.windows(2).map(|w| (w[0] + w[1]) / 2.0 / 20.0).sum::<f64>();
    close(deleted[0], area(&deleted[1..]), "deletion area");
    assert_eq!(deleted.len(), 1 + 21, "the area, then 21 points");

    let (_, insertion) = eval(&dir, &model, &["insertion", "--labels", "labels.csv", "--method", "layercam"]);
    let inserted = image_row(&insertion, "a.png", "layercam", "S1");
    close(inserted[1], p(0.0), "the blurred photo");
    close(inserted[2], p(12.0), "12 square pixels revealed");
    inserted[3..].iter().for_each(|&v| close(v, p(16.0), "the square revealed"));
    assert!(row(&insertion, "layercam", "S1")[0] > row(&deletion, "layercam", "S1")[0], "insertion's area is above deletion's");
}

/// The ground-truth boxes in the input frame are the squares shifted by the crop: S1's box is the
/// square itself (IoU 1 on a and b). c's class-0 map is empty: no box. S2's map, upsampled, is 0.25
/// of its max one pixel outside the square (0.1875 at the corners' neighbours): a 6×6 box, IoU
/// 16 / 36; with --box-threshold 0.3 it is the square again.
#[test]
fn localize_gives_loc1_loc5_and_gt_known_per_stage() {
    let (model, dir) = dataset("localize");
    let (_, json) = eval(&dir, &model, &["localize", "--labels", "labels.csv", "--boxes", "boxes.csv", "--method", "layercam,gradcam"]);
    assert_eq!(json["images"], 3);
    for method in ["layercam", "gradcam"] {
        let s1 = row(&json, method, "S1");
        close(s1[0], 200.0 / 3.0, "loc1 (c: the model's top-1 is wrong, and no box)");
        close(s1[1], 200.0 / 3.0, "loc5");
        close(s1[2], 200.0 / 3.0, "GT-known");
        close(s1[3], 2.0 / 3.0, "mean IoU");
    }
    let s2 = row(&json, "layercam", "S2");
    close(s2[2], 0.0, "S2 is one pixel too wide on each side");
    close(s2[3], 2.0 / 3.0 * 16.0 / 36.0, "S2's IoU");
    close(row(&json, "layercam", "fused S2")[3], 2.0 / 3.0 * 16.0 / 36.0, "the deepest stage alone, fused");
    close(row(&json, "layercam", "fused S2+S1")[3], 2.0 / 3.0 * 16.0 / 36.0, "S1 adds nothing outside S2's box");

    let (_, wider) = eval(&dir, &model, &["localize", "--labels", "labels.csv", "--boxes", "boxes.csv", "--box-threshold", "0.3"]);
    close(row(&wider, "layercam", "S2")[2], 200.0 / 3.0, "at 0.3 S2's box is the square");
}

/// At 0.2 S1 marks exactly the square; S2 the square and the 8 pixels beside its sides (0.25; the
/// corners' neighbours are 0.1875). Without labels c is explained for class 1 (blue), found as well.
/// Intersections and unions are summed over the folder.
#[test]
fn segment_gives_miou_per_stage() {
    let (model, dir) = dataset("segment");
    let (_, json) = eval(&dir, &model, &["segment", "--masks", "masks", "--method", "layercam"]);
    let s1 = row(&json, "layercam", "S1");
    close(s1[0], 1.0, "S1 mIoU");
    let s2 = row(&json, "layercam", "S2");
    close(s2[1], 16.0 / 24.0, "S2 object IoU");
    close(s2[2], 232.0 / 240.0, "S2 background IoU");
    close(s2[0], (16.0 / 24.0 + 232.0 / 240.0) / 2.0, "S2 mIoU");
    let (_, labelled) = eval(&dir, &model, &["segment", "--masks", "masks", "--labels", "labels.csv", "--method", "layercam"]);
    let s1 = row(&labelled, "layercam", "S1");
    close(s1[1], 32.0 / 48.0, "object IoU: c's class-0 map marks nothing");
    close(s1[2], 720.0 / 736.0, "background IoU");
}

/// ROAD on a (class 0, S1's map is the square): MoRF removes the 16 square pixels first at every
/// share (10 % is 26 pixels), and what is imputed from black surroundings is black (plus noise far
/// below the ReLU's 0), so the class falls to p(0) and loses the top rank. LeRF removes from the
/// bottom-right corner: up to 40 % (103 pixels, rows 9–15) the removed region touches only black
/// pixels and nothing changes; from 50 % it borders the square, whose red the imputation carries
/// into the removed pixels, and the class gains.
#[test]
fn road_removes_in_map_order_and_imputes() {
    let (model, dir) = dataset("road");
    let (output, json) = eval(&dir, &model, &["road", "--labels", "labels.csv", "--method", "layercam"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("broken.png"), "the bad image is named");
    assert_eq!(json["images"], 3);
    let a = image_row(&json, "a.png", "layercam", "S1");
    assert_eq!(a.len(), 5 + 4 * 9, "the summary, then Δp and top-1 per order and share");
    let (morf, lerf) = (&a[5..14], &a[14..23]);
    let (morf_top1, lerf_top1) = (&a[23..32], &a[32..41]);
    morf.iter().for_each(|&d| close(d, p(0.0) - p(16.0), "MoRF: the square removed"));
    morf_top1.iter().for_each(|&t| close(t, 0.0, "MoRF: class 1 on top"));
    lerf[..4].iter().for_each(|&d| close(d, 0.0, "LeRF up to 40 %: only black pixels removed"));
    assert!(lerf[4..].iter().all(|&d| d > 1e-3), "LeRF from 50 %: the square's red spreads: {lerf:?}");
    lerf_top1.iter().for_each(|&t| close(t, 100.0, "LeRF: class 0 stays on top"));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    close(a[1], mean(morf), "MoRF mean");
    close(a[2], mean(lerf), "LeRF mean");
    close(a[0], (mean(lerf) - mean(morf)) / 2.0, "combined");
    assert!(a[0] > 0.0, "a map that finds the evidence scores above 0");

    let (_, two) = eval(&dir, &model, &["road", "--labels", "labels.csv", "--method", "layercam", "--percents", "10,40", "--noise", "0"]);
    let a = image_row(&two, "a.png", "layercam", "S1");
    assert_eq!(a.len(), 5 + 4 * 2);
    close(a[0], ((0.0 + 0.0) / 2.0 - (p(0.0) - p(16.0))) / 2.0, "combined over 10 % and 40 %");
}

/// Confidence (labels: c is explained for class 0, whose maps are empty). S1's map is the square,
/// min-max normalised to 1 on it and 0 elsewhere: the explained input keeps the square and the
/// class keeps p(16): no drop. S2's, upsampled, weighs the square's pixels by [.75 1 1 .75] along
/// each axis, 12.25 of 16 red pixels' worth: p(12.25). c's empty map blanks the whole photo, blue
/// square included, so class 0 rises from σ(−0.215) to σ(−0.05): an increase in confidence.
#[test]
fn confidence_drops_by_what_the_map_dims() {
    let (model, dir) = dataset("confidence");
    let (output, json) = eval(&dir, &model, &["confidence", "--labels", "labels.csv", "--method", "layercam,gradcam"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("broken.png"), "the bad image is named");
    assert!(String::from_utf8_lossy(&output.stdout).contains("average drop %"), "the table is printed");
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    for method in ["layercam", "gradcam"] {
        let s1 = image_row(&json, "a.png", method, "S1");
        close(s1[0], 0.0, "S1 keeps the square whole");
        close(s1[2], p(16.0), "the photo's confidence");
        close(s1[3], p(16.0), "the explained input's");
        let s2 = image_row(&json, "a.png", method, "S2");
        close(s2[3], p(12.25), "S2 dims the square's rim");
        close(s2[0], 100.0 * (p(16.0) - p(12.25)) / p(16.0), "S2's drop");
        close(image_row(&json, "a.png", method, "fused")[3], p(12.25), "the fused map is S2's");
        let c = image_row(&json, "c.png", method, "S1");
        close(c[2], sigmoid(-(0.05 + 16.0 * 2.64 / 256.0)), "class 0 on the blue photo");
        close(c[3], sigmoid(-0.05), "on the blank photo");
        close(c[1], 100.0, "an increase");
        let table = row(&json, method, "S2");
        close(table[0], 100.0 * 2.0 / 3.0 * (p(16.0) - p(12.25)) / p(16.0), "average drop over a, b and c");
        close(table[1], 100.0 / 3.0, "increase: c of three");
    }
}
