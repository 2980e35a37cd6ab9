//! `layercam eval`: the paper's experiments over a folder of images. The engine gives each image's
//! maps (one forward, one backward for its class); an experiment of `layercam::experiments` turns
//! them into numbers; this module sums them over the folder, prints the table and writes the JSON
//! and the plot.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use indicatif::{ProgressBar, ProgressStyle};
use layercam::bounds::{FRACTION, NON_NEGATIVE};
use layercam::cam;
use layercam::experiments::deletion::{self, Direction};
use layercam::experiments::localize::{self, Outcome, stage_name};
use layercam::experiments::road::{self, Order};
use layercam::experiments::{at_input, confidence, occlusion, segment};
use layercam::explain::{self, ClassMaps, Settings, top_classes};
use layercam::model::layers::GradientFrom;
use layercam::model::preprocess::{self, Recipe};
use layercam::runtime;
use layercam::{Error, Result};
use ndarray::{Array2, Array4, ArrayView2};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::cli::{ModelArgs, SmoothingArgs, within};
use crate::explain::{Job, list_images, parse_methods};
use crate::plot;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    experiment: Experiment,
}

#[derive(clap::Subcommand)]
enum Experiment {
    /// Table 6: hide the region above 0.7 of each method's deepest and fused map (with the mean
    /// colour), classify again; only images the model gets right count
    Occlusion(Common),
    /// Remove pixels in map order in 20 steps: the class's probability and its area (lower is better)
    Deletion(Common),
    /// Reveal pixels in map order over a blurred copy in 20 steps: the area (higher is better)
    Insertion(Common),
    /// Tables 1 and 2: loc1, loc5 and GT-known (IoU ≥ 0.5) per method, stage and fused set S5, S5+S4, …
    Localize {
        #[command(flatten)]
        common: Common,
        /// CSV with a header `image,x0,y0,x1,y1`: ground-truth boxes in the image's own pixels
        /// (ends exclusive); several rows per image allowed
        #[arg(long)]
        boxes: PathBuf,
        /// A map's box bounds its largest region above this fraction of its maximum
        #[arg(long, default_value_t = cam::DEFAULT_BOX_THRESHOLD, value_parser = within(FRACTION), allow_hyphen_values = true)]
        box_threshold: f32,
    },
    /// Table 13: mIoU of each map thresholded at 0.2 of its maximum against binary masks
    Segment {
        #[command(flatten)]
        common: Common,
        /// A folder of masks named like the images (`<image name without extension>.png`); non-black is object
        #[arg(long)]
        masks: PathBuf,
        /// A pixel is object where the map reaches this fraction of its maximum
        #[arg(long, default_value_t = segment::THRESHOLD, value_parser = within(FRACTION), allow_hyphen_values = true)]
        threshold: f32,
    },
    /// ROAD (Rong et al., ICML 2022): remove 10–90 % of the pixels, most relevant first (MoRF) and
    /// least relevant first (LeRF), fill them in by noisy linear imputation, classify again: the
    /// change of the class's probability; combined = mean of (LeRF − MoRF) / 2, higher is better
    Road {
        #[command(flatten)]
        common: Common,
        /// Shares of the pixels removed, in percent (comma-separated, each 1 to 99)
        #[arg(long, default_values_t = road::PERCENTS, value_delimiter = ',',
              value_parser = clap::value_parser!(u32).range(1..=99), allow_negative_numbers = true)]
        percents: Vec<u32>,
        /// Standard deviation of the noise added to each imputed value, in the model's normalised
        /// input (pytorch-grad-cam's 0.01); 0 for none
        #[arg(long, default_value_t = road::NOISE, value_parser = within(NON_NEGATIVE), allow_hyphen_values = true)]
        noise: f32,
    },
    /// Grad-CAM++'s average drop and increase in confidence: the input multiplied by each map
    /// (min-max normalised, upsampled), classified again; drop lower, increase higher is better
    Confidence(Common),
}

#[derive(clap::Args)]
struct Common {
    /// A folder of images (PNG, JPEG, WebP, GIF, BMP)
    folder: PathBuf,
    /// CSV with a header `image,class` (class: an index or a label); without it the model's own
    /// top-1 class is the true one
    #[arg(long)]
    labels: Option<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
    /// `auto` (one layer per stage) or tensor names separated by commas; see `layercam layers`
    #[arg(long, default_value = "auto", value_delimiter = ',')]
    layers: Vec<String>,
    /// Methods as for `explain` (comma-separated), all (the paper's four) or every
    #[arg(long, default_value = "layercam,gradcam,gradcam++", value_delimiter = ',')]
    method: Vec<String>,
    #[command(flatten)]
    smoothing: SmoothingArgs,
    /// Override the sidecar's preprocessing: efficientnet-lite or torchvision
    #[arg(long)]
    preprocess: Option<Recipe>,
    /// `next`: the authors' grid-artefact fix for layers that feed a strided pooling (see `explain`)
    #[arg(long, default_value = "layer")]
    gradient_from: GradientFrom,
    /// Folder for `<experiment>.json` and `<experiment>.svg`
    #[arg(long, default_value = ".")]
    out: PathBuf,
}

/// One image of the folder, explained for its true class.
struct Explained {
    name: String,
    /// The image as decoded, before preprocessing: boxes and masks are drawn on it.
    photo: RgbImage,
    input: Array4<f32>,
    /// The model's five best classes, best first.
    top: Vec<usize>,
    class: usize,
    /// The class's probability on the photo.
    probability: f32,
    maps: ClassMaps,
}

impl Explained {
    fn size(&self) -> (usize, usize) {
        (self.input.dim().2, self.input.dim().3)
    }

    /// Method `m`'s map of stage `stage`, normalised and resized to the input.
    fn stage_map(&self, stage: usize, m: usize) -> Array2<f32> {
        at_input(self.maps.raw[stage][m].view(), self.size())
    }
}

/// One row's values from one image: which method, which map.
#[derive(Clone, Debug, Serialize)]
struct Score {
    method: String,
    map: String,
    values: Vec<f64>,
}

/// What a counted image gives: its class and its scores.
type Scored = (usize, Vec<Score>);

/// An experiment: what one image gives, and how the folder's sums become the table.
trait Scorer: Sync {
    fn name(&self) -> &'static str;
    /// The table's columns (after [`Scorer::finish`]).
    fn columns(&self) -> Vec<String>;
    /// How many of the columns the printed table shows (the JSON has all).
    fn printed(&self) -> usize {
        self.columns().len()
    }
    /// Whether the image counts (the occlusion test keeps the images the model gets right).
    fn keeps(&self, _image: &Explained) -> bool {
        true
    }
    fn score(&self, job: &Job, image: &Explained) -> Result<Vec<Score>>;
    /// The table's row from the values summed over `images` images: their means by default.
    fn finish(&self, sums: &[f64], images: usize) -> Vec<f64> {
        sums.iter().map(|s| s / images as f64).collect()
    }
    /// The plot: which column, and whether the rows are curves over the steps.
    fn plotted(&self) -> Plotted;
}

pub enum Plotted {
    /// One line per method over the maps, of this column.
    ByMap { column: usize },
    /// One line per (method, map) for these maps, of the columns from `first` on, over [0, 1].
    Curves { first: usize, maps: fn(&str) -> bool, label: &'static str },
}

pub fn run(args: Args) -> Result<()> {
    match args.experiment {
        Experiment::Occlusion(common) => evaluate(&common, &Occlusion),
        Experiment::Deletion(common) => evaluate(&common, &Steps(Direction::Deletion)),
        Experiment::Insertion(common) => evaluate(&common, &Steps(Direction::Insertion)),
        Experiment::Localize { common, boxes, box_threshold } => {
            let boxes = read_boxes(&boxes)?;
            evaluate(&common, &Localize { boxes, threshold: box_threshold })
        }
        Experiment::Segment { common, masks, threshold } => {
            if !masks.is_dir() {
                return Err(Error::Input(format!("--masks {} is not a folder", masks.display())));
            }
            evaluate(&common, &Segment { masks, threshold })
        }
        Experiment::Road { common, percents, noise } => evaluate(&common, &Road { percents, noise }),
        Experiment::Confidence(common) => evaluate(&common, &Confidence),
    }
}

/// Explains every image of the folder on both cores, scores it, and reports.
fn evaluate(common: &Common, scorer: &dyn Scorer) -> Result<()> {
    let settings = Settings { methods: parse_methods(&common.method)?, ..Settings::default() };
    let mut job = Job::prepare(&common.model, common.preprocess, (&common.layers, common.gradient_from), settings)?;
    job.smoothing = common.smoothing.into();
    let truths = match &common.labels {
        Some(path) => Some(read_labels(path, &job)?),
        None => None,
    };
    let images = list_images(&common.folder)?;
    if images.is_empty() {
        return Err(Error::Input(format!("{} holds no image", common.folder.display())));
    }
    let progress = ProgressBar::new(images.len() as u64)
        .with_style(ProgressStyle::with_template("{bar:40} {pos}/{len} images, {elapsed} (eta {eta})").expect("valid template"));
    runtime::set_threads(1); // each core its own image
    let results: Vec<(String, Result<Option<Scored>>)> = images
        .par_iter()
        .map(|path| {
            let name = file_name(path);
            let result = truth(truths.as_ref(), &name).and_then(|truth| {
                let image = explain_image(&job, path, truth)?;
                if !scorer.keeps(&image) {
                    return Ok(None);
                }
                Ok(Some((image.class, scorer.score(&job, &image)?)))
            });
            progress.inc(1);
            (name, result)
        })
        .collect();
    progress.finish_and_clear();
    report(common, &job, scorer, results)
}

/// The true class from `--labels`; without labels, none (the model's top-1 is taken).
fn truth(truths: Option<&HashMap<String, usize>>, name: &str) -> Result<Option<usize>> {
    match truths {
        None => Ok(None),
        Some(truths) => truths.get(name).copied().map(Some).ok_or_else(|| Error::Input("no row in --labels".into())),
    }
}

fn explain_image(job: &Job, path: &Path, truth: Option<usize>) -> Result<Explained> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
    let photo = preprocess::decode_photo(&bytes)?;
    let [_, _, height, width] = job.explainer.input_shape;
    let input = preprocess::preprocess(&photo, job.model.recipe, height as u32, width as u32).input;
    let forward = job.explainer.forward(input.view())?;
    let top: Vec<usize> = top_classes(&forward.logits, &job.model.labels, 5).iter().map(|p| p.class).collect();
    let class = truth.unwrap_or(top[0]);
    let probability = explain::softmax(&forward.logits)[class];
    let names: Vec<String> = job.explainer.layers.iter().map(|l| l.name.clone()).collect();
    let (runs, _) = job.runs(input.clone(), forward, &[class])?;
    let raw = explain::runs_raw_maps(&names, &runs, (0, class), &job.settings.methods, job.smoothing)?;
    let maps = explain::fuse_stages(class, raw, &job.settings, &job.fusion, (height, width));
    Ok(Explained { name: file_name(path), photo, input, top, class, probability, maps })
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// The table on stdout, `<experiment>.json` and `<experiment>.svg` in `--out`.
fn report(common: &Common, job: &Job, scorer: &dyn Scorer, results: Vec<(String, Result<Option<Scored>>)>) -> Result<()> {
    let mut rows: Vec<(String, String, Vec<f64>)> = vec![];
    let (mut counted, mut excluded, mut skipped, mut per_image) = (0, vec![], vec![], vec![]);
    for (name, result) in results {
        match result {
            Err(err) => {
                eprintln!("warning: {name}: {err}; skipped");
                skipped.push(json!({ "image": name, "error": err.to_string() }));
            }
            Ok(None) => excluded.push(name),
            Ok(Some((class, scores))) => {
                counted += 1;
                for score in &scores {
                    match rows.iter_mut().find(|(method, map, _)| *method == score.method && *map == score.map) {
                        Some((_, _, sums)) => sums.iter_mut().zip(&score.values).for_each(|(sum, v)| *sum += v),
                        None => rows.push((score.method.clone(), score.map.clone(), score.values.clone())),
                    }
                }
                per_image.push(json!({ "image": name, "class": class, "scores": scores }));
            }
        }
    }
    if counted == 0 {
        return Err(Error::Input(format!(
            "no image of {} could be scored ({} skipped, {} excluded)",
            common.folder.display(),
            skipped.len(),
            excluded.len()
        )));
    }
    let table: Vec<(String, String, Vec<f64>)> = rows
        .into_iter()
        .map(|(method, map, sums)| {
            let values = scorer.finish(&sums, counted);
            (method, map, values)
        })
        .collect();
    print_table(job, scorer, (counted, skipped.len()), &excluded, &table);

    std::fs::create_dir_all(&common.out).map_err(|e| Error::io(common.out.display(), e))?;
    let columns = scorer.columns();
    let json = json!({
        "experiment": scorer.name(),
        "model": job.model.name,
        "folder": common.folder.display().to_string(),
        "layers": job.explainer.layers.iter().enumerate().map(|(i, l)| json!({ "stage": stage_name(i), "tensor": l.name, "shape": l.shape })).collect::<Vec<_>>(),
        "images": counted,
        "excluded": excluded,
        "skipped": skipped,
        "columns": columns,
        "rows": table.iter().map(|(method, map, values)| json!({ "method": method, "map": map, "values": values })).collect::<Vec<_>>(),
        "per_image": per_image,
    });
    let path = common.out.join(format!("{}.json", scorer.name()));
    let text = serde_json::to_string_pretty(&json).expect("JSON of numbers and strings");
    std::fs::write(&path, text).map_err(|e| Error::io(path.display(), e))?;
    let svg = common.out.join(format!("{}.svg", scorer.name()));
    plot::draw(&svg, &format!("{}, {} images, {}", scorer.name(), counted, job.model.name), scorer.plotted(), &columns, &table)?;
    println!("\nwrote {} and {}", path.display(), svg.display());
    Ok(())
}

fn print_table(
    job: &Job,
    scorer: &dyn Scorer,
    (counted, skipped): (usize, usize),
    excluded: &[String],
    table: &[(String, String, Vec<f64>)],
) {
    let stages: Vec<String> = job.explainer.layers.iter().enumerate().map(|(i, l)| format!("{} = {}", stage_name(i), l.name)).collect();
    println!("{}: {counted} images, model {}; stages {}", scorer.name(), job.model.name, stages.join(", "));
    if skipped > 0 {
        println!("{skipped} images skipped (named above)");
    }
    if !excluded.is_empty() {
        println!("{} images left out (the model's top-1 is not their class): {}", excluded.len(), excluded.join(", "));
    }
    let columns = scorer.columns();
    let printed = &columns[..scorer.printed()];
    // Each column as wide as its name, 10 at least.
    let widths: Vec<usize> = printed.iter().map(|c| c.chars().count().max(10)).collect();
    print!("{:<12} {:<24}", "method", "map");
    printed.iter().zip(&widths).for_each(|(c, &w)| print!(" {c:>w$}"));
    println!();
    for (method, map, values) in table {
        print!("{method:<12} {map:<24}");
        values.iter().zip(&widths).for_each(|(v, &w)| print!(" {v:>w$.3}"));
        println!();
    }
}

/// `image,class` rows: the class as an index or one of the model's labels.
fn read_labels(path: &Path, job: &Job) -> Result<HashMap<String, usize>> {
    #[derive(Deserialize)]
    struct Row {
        image: String,
        class: String,
    }
    let classes = job.explainer.classes;
    read_csv(path, |row: Row| {
        let class = match row.class.trim().parse::<usize>() {
            Ok(index) if index < classes => index,
            Ok(index) => return Err(format!("class {index} of {} is not below the model's {classes} classes", row.image)),
            Err(_) => job.model.labels.find(row.class.trim()).ok_or_else(|| format!("{} is no label of the model", row.class))?,
        };
        Ok((row.image, class))
    })
    .map(|rows| rows.into_iter().collect())
}

/// `image,x0,y0,x1,y1` rows, gathered per image.
fn read_boxes(path: &Path) -> Result<HashMap<String, Vec<[u32; 4]>>> {
    #[derive(Deserialize)]
    struct Row {
        image: String,
        x0: u32,
        y0: u32,
        x1: u32,
        y1: u32,
    }
    let rows = read_csv(path, |r: Row| {
        if r.x1 <= r.x0 || r.y1 <= r.y0 {
            return Err(format!("the box of {} is empty (x1 ≤ x0 or y1 ≤ y0)", r.image));
        }
        Ok((r.image, [r.x0, r.y0, r.x1, r.y1]))
    })?;
    let mut boxes: HashMap<String, Vec<[u32; 4]>> = HashMap::new();
    for (image, found) in rows {
        boxes.entry(image).or_default().push(found);
    }
    Ok(boxes)
}

fn read_csv<R: for<'de> Deserialize<'de>, T>(path: &Path, check: impl Fn(R) -> std::result::Result<T, String>) -> Result<Vec<T>> {
    let bad = |line: String| Error::Input(format!("{}: {line}", path.display()));
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_path(path).map_err(|e| bad(e.to_string()))?;
    reader.deserialize().map(|row| check(row.map_err(|e| bad(e.to_string()))?).map_err(bad)).collect()
}

/// Ground truth drawn at the photo's size (white on black), in the model's input frame: the same
/// resize and crop as the photo, so it lands exactly where the maps are.
fn in_input_frame(job: &Job, truth: &RgbImage) -> Array2<bool> {
    let [_, _, height, width] = job.explainer.input_shape;
    let seen = preprocess::preprocess(truth, job.model.recipe, height as u32, width as u32).seen;
    Array2::from_shape_fn((height, width), |(y, x)| seen.get_pixel(x as u32, y as u32)[0] > 127)
}

struct Occlusion;

impl Scorer for Occlusion {
    fn name(&self) -> &'static str {
        "occlusion"
    }
    fn columns(&self) -> Vec<String> {
        ["top-1 %", "top-5 %", "confidence", "hidden %"].map(String::from).to_vec()
    }
    fn keeps(&self, image: &Explained) -> bool {
        image.top[0] == image.class
    }
    fn score(&self, job: &Job, image: &Explained) -> Result<Vec<Score>> {
        let deepest = image.maps.raw.len() - 1;
        let trials = occlusion::run(&job.explainer, &job.model.labels, image.input.view(), &image.maps, &job.settings.methods, deepest)?;
        let mut scores =
            vec![Score { method: "none".into(), map: "un-occluded".into(), values: vec![100.0, 100.0, f64::from(image.probability), 0.0] }];
        for (trial, _) in trials {
            let top1 = trial.top.first().is_some_and(|t| t.class == image.class);
            let top5 = trial.top.iter().any(|t| t.class == image.class);
            let map = match trial.region {
                occlusion::Region::Deepest => stage_name(deepest),
                occlusion::Region::Fused => "fused".into(),
            };
            let values = vec![
                100.0 * f64::from(u8::from(top1)),
                100.0 * f64::from(u8::from(top5)),
                f64::from(trial.prob),
                100.0 * f64::from(trial.hidden),
            ];
            scores.push(Score { method: trial.method.name().into(), map, values });
        }
        Ok(scores)
    }
    fn plotted(&self) -> Plotted {
        Plotted::ByMap { column: 2 }
    }
}

/// Deletion or insertion.
struct Steps(Direction);

impl Scorer for Steps {
    fn name(&self) -> &'static str {
        match self.0 {
            Direction::Deletion => "deletion",
            Direction::Insertion => "insertion",
        }
    }
    fn columns(&self) -> Vec<String> {
        let steps = (0..=deletion::STEPS).map(|s| format!("p@{}%", 100 * s / deletion::STEPS));
        std::iter::once("area".to_string()).chain(steps).collect()
    }
    fn printed(&self) -> usize {
        1
    }
    fn score(&self, job: &Job, image: &Explained) -> Result<Vec<Score>> {
        score_every_map(job, image, at_input, |map| {
            let curve = deletion::curve(&job.explainer, image.input.view(), map, image.class, self.0)?;
            let area = f64::from(deletion::area(&curve));
            Ok(std::iter::once(area).chain(curve.iter().map(|&p| f64::from(p))).collect())
        })
    }
    fn plotted(&self) -> Plotted {
        Plotted::Curves { first: 1, maps: |map| map == "fused", label: "probability of the class" }
    }
}

/// A raw stage map as an experiment reads it at the input's size ([`at_input`] for most).
type AtInput = fn(ArrayView2<f32>, (usize, usize)) -> Array2<f32>;

/// The scores of every method's maps: each stage's ("S1", …), brought to the input's size by
/// `at_input`, and the fused map (at the input's size already), each scored by `values`.
fn score_every_map(
    job: &Job,
    image: &Explained,
    at_input: AtInput,
    mut values: impl FnMut(ArrayView2<f32>) -> Result<Vec<f64>>,
) -> Result<Vec<Score>> {
    let mut scores = vec![];
    for (m, method) in job.settings.methods.iter().enumerate() {
        let stages = (0..image.maps.raw.len()).map(|stage| (stage_name(stage), at_input(image.maps.raw[stage][m].view(), image.size())));
        for (map, at_size) in stages.chain(std::iter::once(("fused".to_string(), image.maps.fused[m].clone()))) {
            scores.push(Score { method: method.name().into(), map, values: values(at_size.view())? });
        }
    }
    Ok(scores)
}

struct Localize {
    boxes: HashMap<String, Vec<[u32; 4]>>,
    threshold: f32,
}

impl Scorer for Localize {
    fn name(&self) -> &'static str {
        "localize"
    }
    fn columns(&self) -> Vec<String> {
        ["loc1 %", "loc5 %", "GT-known %", "IoU"].map(String::from).to_vec()
    }
    fn score(&self, job: &Job, image: &Explained) -> Result<Vec<Score>> {
        let truths = self.truths(job, image)?;
        let (top1, top5) = (image.top[0] == image.class, image.top.contains(&image.class));
        // Each fused set once, for every method.
        let sets: Vec<(String, Vec<Array2<f32>>)> = localize::deepest_sets(&job.explainer.strides())
            .into_iter()
            .map(|(name, fusion)| {
                (name, explain::fuse_stages(image.class, image.maps.raw.clone(), &job.settings, &fusion, image.size()).fused)
            })
            .collect();
        let mut scores = vec![];
        for (m, method) in job.settings.methods.iter().enumerate() {
            let stages = (0..image.maps.raw.len()).map(|stage| (stage_name(stage), image.stage_map(stage, m)));
            let fused = sets.iter().map(|(name, fused)| (name.clone(), fused[m].clone()));
            for (map, values) in stages.chain(fused) {
                let outcome = Outcome::new(values.view(), self.threshold, &truths, top1, top5);
                let percent = |hit: bool| 100.0 * f64::from(u8::from(hit));
                let values = vec![percent(outcome.loc1()), percent(outcome.loc5()), percent(outcome.gt_known()), f64::from(outcome.iou)];
                scores.push(Score { method: method.name().into(), map, values });
            }
        }
        Ok(scores)
    }
    fn plotted(&self) -> Plotted {
        Plotted::ByMap { column: 2 }
    }
}

impl Localize {
    /// The image's ground-truth boxes in the input frame; a box the crop cuts away entirely is dropped.
    fn truths(&self, job: &Job, image: &Explained) -> Result<Vec<[usize; 4]>> {
        let boxes = self.boxes.get(&image.name).ok_or_else(|| Error::Input("no row in --boxes".into()))?;
        Ok(boxes
            .iter()
            .filter_map(|&[x0, y0, x1, y1]| {
                let drawn = RgbImage::from_fn(image.photo.width(), image.photo.height(), |x, y| {
                    Rgb(if (x0..x1).contains(&x) && (y0..y1).contains(&y) { [255; 3] } else { [0; 3] })
                });
                localize::mask_box(in_input_frame(job, &drawn).view())
            })
            .collect())
    }
}

struct Segment {
    masks: PathBuf,
    threshold: f32,
}

impl Scorer for Segment {
    fn name(&self) -> &'static str {
        "segment"
    }
    fn columns(&self) -> Vec<String> {
        ["mIoU", "object IoU", "background IoU"].map(String::from).to_vec()
    }
    fn score(&self, job: &Job, image: &Explained) -> Result<Vec<Score>> {
        let mask = self.mask(job, image)?;
        score_every_map(job, image, at_input, |map| {
            let [object, background] = segment::overlaps(map, mask.view(), self.threshold);
            Ok([object.intersection, object.union, background.intersection, background.union].map(|n| n as f64).to_vec())
        })
    }
    /// Intersections and unions are summed over the folder, then divided (VOC's mIoU).
    fn finish(&self, sums: &[f64], _images: usize) -> Vec<f64> {
        let overlap = |i: usize| segment::Overlap { intersection: sums[i] as u64, union: sums[i + 1] as u64 };
        let (object, background) = (overlap(0), overlap(2));
        vec![f64::from(segment::mean_iou([object, background])), f64::from(object.iou()), f64::from(background.iou())]
    }
    fn plotted(&self) -> Plotted {
        Plotted::ByMap { column: 0 }
    }
}

impl Segment {
    fn mask(&self, job: &Job, image: &Explained) -> Result<Array2<bool>> {
        let stem = Path::new(&image.name).file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        let path = self.masks.join(format!("{stem}.png"));
        let bytes = std::fs::read(&path).map_err(|e| Error::io(path.display(), e))?;
        let mask = preprocess::decode_photo(&bytes)?;
        if mask.dimensions() != image.photo.dimensions() {
            let ((mw, mh), (w, h)) = (mask.dimensions(), image.photo.dimensions());
            return Err(Error::Input(format!("its mask {} is {mw}×{mh}, the image {w}×{h}", path.display())));
        }
        let object =
            RgbImage::from_fn(mask.width(), mask.height(), |x, y| Rgb(if mask.get_pixel(x, y).0 == [0; 3] { [0; 3] } else { [255; 3] }));
        Ok(in_input_frame(job, &object))
    }
}

/// ROAD at each of `percents`, both orders, every map of every method.
struct Road {
    percents: Vec<u32>,
    noise: f32,
}

impl Scorer for Road {
    fn name(&self) -> &'static str {
        "road"
    }
    /// The summary (means over the percentages), then per percentage the change of probability
    /// (MoRF, LeRF) and the share still classified right (MoRF, LeRF).
    fn columns(&self) -> Vec<String> {
        let mut columns: Vec<String> = ["combined", "MoRF Δp", "LeRF Δp", "MoRF top-1 %", "LeRF top-1 %"].map(String::from).to_vec();
        for what in ["Δp", "top-1 %"] {
            for order in Order::BOTH {
                columns.extend(self.percents.iter().map(|r| format!("{} {what} @{r}%", order.name())));
            }
        }
        columns
    }
    fn printed(&self) -> usize {
        5
    }
    fn score(&self, job: &Job, image: &Explained) -> Result<Vec<Score>> {
        let mut rng = StdRng::seed_from_u64(road::SEED);
        score_every_map(job, image, at_input, |map| {
            let (mut change, mut kept) = ([vec![], vec![]], [vec![], vec![]]);
            for (o, order) in Order::BOTH.into_iter().enumerate() {
                for &percent in &self.percents {
                    let outcome =
                        road::trial(&job.explainer, image.input.view(), (map, image.class), (order, percent), (self.noise, &mut rng))?;
                    change[o].push(f64::from(outcome.prob) - f64::from(image.probability));
                    kept[o].push(100.0 * f64::from(u8::from(outcome.top1)));
                }
            }
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            let (morf, lerf) = (mean(&change[0]), mean(&change[1]));
            let summary = [(lerf - morf) / 2.0, morf, lerf, mean(&kept[0]), mean(&kept[1])];
            Ok(summary.into_iter().chain(change.concat()).chain(kept.concat()).collect())
        })
    }
    fn plotted(&self) -> Plotted {
        Plotted::ByMap { column: 0 }
    }
}

/// Average drop and increase in confidence, every map of every method.
struct Confidence;

impl Scorer for Confidence {
    fn name(&self) -> &'static str {
        "confidence"
    }
    fn columns(&self) -> Vec<String> {
        ["average drop %", "increase %", "confidence", "explained"].map(String::from).to_vec()
    }
    fn score(&self, job: &Job, image: &Explained) -> Result<Vec<Score>> {
        let p = image.probability;
        score_every_map(job, image, confidence::explanation_map, |explanation| {
            let explained = confidence::explained_probability(&job.explainer, image.input.view(), explanation, image.class)?;
            let increase = f64::from(u8::from(confidence::increase(p, explained)));
            Ok(vec![100.0 * f64::from(confidence::drop(p, explained)), 100.0 * increase, f64::from(p), f64::from(explained)])
        })
    }
    fn plotted(&self) -> Plotted {
        Plotted::ByMap { column: 0 }
    }
}
