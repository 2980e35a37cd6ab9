//! `layercam explain`: images (or a tensor) in, maps, overlays and a summary.json out.

use std::path::{Path, PathBuf};
use std::sync::{Once, OnceLock};
use std::time::Instant;

use image::RgbImage;
use indicatif::{ProgressBar, ProgressStyle};
use layercam::bounds::{FRACTION, POSITIVE};
use layercam::cam::{Colormap, FuseChoice, Fusion, LayerTensors, Method, ScaleChoice, Smoothing};
use layercam::display::{self, Shown};
use layercam::explain::{self, Run, Settings, top_classes};
use layercam::gpu::Gpu;
use layercam::model::Model;
use layercam::model::layers::GradientFrom;
use layercam::model::preprocess::{self, Preprocessed, Recipe};
use layercam::report::{self, Context, OutputFile, Tensors};
use layercam::runtime::{self, Explainer, Forward};
use layercam::{Error, Result};
use ndarray::{Array4, ArrayD, ArrayView3, Axis, Ix4};
use rayon::prelude::*;

use crate::cli::{ModelArgs, SmoothingArgs, within};

/// Image file extensions a folder run picks up.
const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "webp", "gif", "bmp"];

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// An image (PNG, JPEG, WebP, GIF, BMP) or a folder of them
    #[arg(long, required_unless_present = "input_npy", conflicts_with = "input_npy")]
    image: Option<PathBuf>,
    /// An already preprocessed float32 tensor [1, 3, H, W] (.npy)
    #[arg(long)]
    input_npy: Option<PathBuf>,
    /// Explain this class (default: the top-1 class)
    #[arg(long, conflicts_with = "top")]
    class: Option<usize>,
    /// Explain the K best classes, from one forward and one batched backward (a folder per class)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    top: u16,
    /// `auto` (one layer per stage) or tensor names separated by commas; see `layercam layers`
    #[arg(long, default_value = "auto", value_delimiter = ',')]
    layers: Vec<String>,
    /// layercam, layercam-normal, gradcam, gradcam++, hirescam, gradcam-elementwise, xgradcam,
    /// eigencam, eigengradcam, scorecam (comma-separated); all (the paper's first four) or every
    #[arg(long, default_value = "layercam", value_delimiter = ',')]
    method: Vec<String>,
    #[command(flatten)]
    smoothing: SmoothingArgs,
    /// Stages in the fused map: auto (every stage but the shallowest), all, or layer names (comma-separated)
    #[arg(long, default_value = "auto", value_delimiter = ',')]
    fuse: Vec<String>,
    /// Fused stages scaled by Eq. 9, tanh(γ·M / max M); the others enter as M / max M. auto: the
    /// shallow ones (stride ≤ ¼ of the deepest fused stage's), all, none, or layer names
    #[arg(long, default_value = "auto", value_delimiter = ',')]
    scale: Vec<String>,
    /// γ of Eq. 9
    #[arg(long, default_value_t = explain::DEFAULT_GAMMA, value_parser = within(POSITIVE), allow_hyphen_values = true)]
    gamma: f32,
    /// The box bounds the largest region above this fraction of the fused map's maximum
    #[arg(long, default_value_t = layercam::cam::DEFAULT_BOX_THRESHOLD, value_parser = within(FRACTION), allow_hyphen_values = true)]
    box_threshold: f32,
    /// Colormap of the overlays: jet, turbo, gray
    #[arg(long, default_value = "jet")]
    colormap: Colormap,
    /// Opacity of the overlays, 0 to 1
    #[arg(long, default_value_t = 0.5, value_parser = within(FRACTION), allow_hyphen_values = true)]
    opacity: f32,
    /// Override the sidecar's preprocessing: efficientnet-lite or torchvision
    #[arg(long)]
    preprocess: Option<Recipe>,
    /// Also write each layer's activation and gradient [C, H, W] as .npy
    #[arg(long)]
    save_tensors: bool,
    /// `next`: a layer whose only consumer is a stride-2 pooling or depthwise convolution is
    /// weighed by the gradient at that op's output, upsampled to the layer (the authors' fix for
    /// the grid such an op leaves in the layer's map; other layers are unchanged). `layer`: its own
    #[arg(long, default_value = "layer")]
    gradient_from: GradientFrom,
    /// Where the CAM maths runs: cpu, gpu (WGSL kernels through wgpu), or auto (the GPU if one is found)
    #[arg(long, default_value = "auto")]
    device: Device,
    /// Output folder
    #[arg(long)]
    out: PathBuf,
}

/// Where the CAM maths runs.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Device {
    Cpu,
    Gpu,
    Auto,
}

impl Device {
    /// The GPU, when asked for (an error if there is none) or when `auto` finds a hardware one.
    pub fn open(self) -> Result<Option<Gpu>> {
        match self {
            Device::Cpu => Ok(None),
            Device::Gpu => pollster::block_on(Gpu::new()).map(Some),
            // No GPU is no error: the CPU gives the same maps (summary.json names the device). A
            // software adapter (lavapipe) is slower than the CPU path, as the page finds too: 16
            // photos took 0.90-0.98 s through lavapipe here, 0.52-0.53 s on the CPU.
            Device::Auto => Ok(pollster::block_on(Gpu::new()).ok().filter(|gpu| !gpu.is_software())),
        }
    }
}

/// The device of a run, opened when the first maps are due (a run that fails on its input never
/// starts a GPU), then shared by every image.
pub struct Maths {
    device: Device,
    gpu: OnceLock<Result<Option<Gpu>>>,
    warned: Once,
}

impl Maths {
    pub fn new(device: Device) -> Self {
        Maths { device, gpu: OnceLock::new(), warned: Once::new() }
    }

    /// Says once per run that the GPU failed and the CPU took over.
    fn warn_once(&self, err: &Error) {
        self.warned.call_once(|| eprintln!("warning: {err}; the CAM maths runs on the CPU instead (same maps)"));
    }

    pub fn gpu(&self) -> Result<Option<&Gpu>> {
        match self.gpu.get_or_init(|| self.device.open()) {
            Ok(gpu) => Ok(gpu.as_ref()),
            Err(err) => Err(err.clone()),
        }
    }
}

/// Everything one image needs, prepared once for the whole run.
pub struct Job {
    pub model: Model,
    pub explainer: Explainer,
    pub settings: Settings,
    /// Which stages are fused, which scaled by Eq. 9.
    pub fusion: Fusion,
    /// `--aug-smooth`, `--eigen-smooth`.
    pub smoothing: Smoothing,
    /// Where the CAM maths runs.
    pub maths: Maths,
    /// `Some(c)`: explain class c; `None`: the `top` best classes.
    pub class: Option<usize>,
    pub top: usize,
    pub save_tensors: bool,
}

impl Job {
    /// Loads the model, picks the layers, differentiates and plans; the paper's fusion.
    pub fn prepare(
        model: &ModelArgs,
        recipe: Option<Recipe>,
        (layers, from): (&[String], GradientFrom),
        settings: Settings,
    ) -> Result<Job> {
        let mut model = model.load()?;
        if let Some(recipe) = recipe {
            model.recipe = recipe;
        }
        let layers = model.resolve_layers(layers, from);
        let explainer = Explainer::with_gradient_from(&model.classifier, &layers, from)?;
        let fusion = Fusion::paper(&explainer.strides());
        let smoothing = Smoothing::default();
        Ok(Job { model, explainer, settings, fusion, smoothing, maths: Maths::new(Device::Cpu), class: None, top: 1, save_tensors: false })
    }

    /// The runs of one image for `classes`: its own (`forward` has run), and with `--aug-smooth`
    /// each augmentation's; with Score-CAM's masked passes when a method needs them. Also their
    /// times in ms: the backward and augmented runs, the masked passes.
    pub fn runs(&self, input: Array4<f32>, forward: Forward, classes: &[usize]) -> Result<(Vec<Run>, [f64; 2])> {
        let clock = Instant::now();
        let mut runs = explain::runs(&self.explainer, input, forward, classes, self.smoothing)?;
        let runs_ms = ms(clock);
        let clock = Instant::now();
        if self.settings.methods.iter().any(Method::needs_forwards) {
            for run in &mut runs {
                run.score_every_layer(&self.explainer)?;
            }
        }
        Ok((runs, [runs_ms, ms(clock)]))
    }

    /// `--class` or `--top`, within the model's classes.
    fn choose_classes(&mut self, class: Option<usize>, top: usize) -> Result<()> {
        let classes = self.explainer.classes;
        if let Some(class) = class.filter(|&c| c >= classes) {
            return Err(Error::Input(format!("--class {class}: the model has {classes} classes, 0 to {}", classes - 1)));
        }
        if top > classes {
            return Err(Error::Input(format!("--top {top}: the model has {classes} classes")));
        }
        (self.class, self.top) = (class, top);
        Ok(())
    }

    /// `--fuse` and `--scale` for the layers this job explains.
    fn choose_fusion(&mut self, fuse: &[String], scale: &[String]) -> Result<()> {
        let names: Vec<String> = self.explainer.layers.iter().map(|l| l.name.clone()).collect();
        let (fuse, scale) = (FuseChoice::parse(fuse, &names)?, ScaleChoice::parse(scale, &names)?);
        self.fusion = Fusion::new(&self.explainer.strides(), &fuse, &scale);
        Ok(())
    }
}

pub fn run(args: Args) -> Result<()> {
    let settings = settings(&args)?;
    // One image uses every core (the plans, tract's products, our kernels); a folder run gives
    // each core its own image instead.
    runtime::set_threads(rayon::current_num_threads());
    let mut job = Job::prepare(&args.model, args.preprocess, (&args.layers, args.gradient_from), settings)?;
    job.choose_fusion(&args.fuse, &args.scale)?;
    job.smoothing = args.smoothing.into();
    job.choose_classes(args.class, args.top.into())?;
    job.save_tensors = args.save_tensors;
    job.maths = Maths::new(args.device);
    match (&args.image, &args.input_npy) {
        (Some(image), _) if image.is_dir() => {
            runtime::set_threads(1);
            explain_folder(&job, image, &args.out)
        }
        (Some(image), _) => explain_source(&job, &Source::Image(image.clone()), &args.out),
        (None, Some(npy)) => explain_source(&job, &Source::Npy(npy.clone()), &args.out),
        (None, None) => unreachable!("clap requires --image or --input-npy"),
    }
}

fn settings(args: &Args) -> Result<Settings> {
    let methods = parse_methods(&args.method)?;
    Ok(Settings { methods, gamma: args.gamma, box_threshold: args.box_threshold, colormap: args.colormap, opacity: args.opacity })
}

/// `--method`: names, `all` (the paper's four) or `every` (every method).
pub fn parse_methods(names: &[String]) -> Result<Vec<Method>> {
    match names {
        [all] if all == "all" => Ok(Method::PAPER.to_vec()),
        [every] if every == "every" => Ok(Method::ALL.to_vec()),
        _ => names.iter().map(|m| m.parse()).collect(),
    }
}

pub enum Source {
    Image(PathBuf),
    Npy(PathBuf),
}

/// One output folder per image; a bad image is reported and the others still run.
fn explain_folder(job: &Job, folder: &Path, out: &Path) -> Result<()> {
    let images = list_images(folder)?;
    if images.is_empty() {
        return Err(Error::Input(format!("{} holds no image ({})", folder.display(), IMAGE_EXTENSIONS.join(", "))));
    }
    let progress = ProgressBar::new(images.len() as u64)
        .with_style(ProgressStyle::with_template("{bar:40} {pos}/{len} images, {elapsed} (eta {eta}) {msg}").expect("valid template"));
    let failures: Vec<String> = images
        .par_iter()
        .filter_map(|image| {
            let stem = image.file_stem().map_or("image".into(), |s| s.to_string_lossy().into_owned());
            let result = explain_source(job, &Source::Image(image.clone()), &out.join(stem));
            progress.inc(1);
            result.err().map(|e| format!("{}: {e}", image.display()))
        })
        .collect();
    progress.finish_and_clear();
    println!("{} of {} images explained into {}", images.len() - failures.len(), images.len(), out.display());
    for failure in &failures {
        eprintln!("error: {failure}");
    }
    match failures.len() {
        0 => Ok(()),
        n => Err(Error::Input(format!("{n} of {} images could not be explained (see above)", images.len()))),
    }
}

pub fn list_images(folder: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(folder).map_err(|e| Error::io(folder.display(), e))?;
    let mut images: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let extension = p.extension().map(|e| e.to_string_lossy().to_lowercase());
            p.is_file() && extension.is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.as_str()))
        })
        .collect();
    images.sort();
    Ok(images)
}

fn explain_source(job: &Job, source: &Source, out: &Path) -> Result<()> {
    let reports = explain_files(job, source)?;
    let several = reports.len() > 1;
    for (class, files) in reports {
        write(&if several { out.join(format!("class_{class}")) } else { out.to_path_buf() }, &files)?;
    }
    Ok(())
}

/// Preprocess, forward, one batched backward for the chosen classes (per run: the image and, with
/// `--aug-smooth`, its augmentations), Score-CAM's passes if asked for, maps: the files of each class.
pub fn explain_files(job: &Job, source: &Source) -> Result<Vec<(usize, Vec<OutputFile>)>> {
    // The whole image on the engine's pool, its other threads awake from start to end.
    runtime::on_pool(|| explain_on_pool(job, source))
}

fn explain_on_pool(job: &Job, source: &Source) -> Result<Vec<(usize, Vec<OutputFile>)>> {
    let started = Instant::now();
    let (name, Preprocessed { input, seen }) = load(job, source)?;
    let preprocess_ms = ms(started);

    let clock = Instant::now();
    let forward = job.explainer.forward(input.view())?;
    let forward_ms = ms(clock);
    let top = top_classes(&forward.logits, &job.model.labels, job.top.max(5));
    let classes: Vec<usize> = match job.class {
        Some(class) => vec![class],
        None => top.iter().take(job.top).map(|p| p.class).collect(),
    };
    let (runs, [runs_ms, masked_ms]) = job.runs(input, forward, &classes)?;

    let names: Vec<String> = job.explainer.layers.iter().map(|l| l.name.clone()).collect();
    let mut reports = vec![];
    for (k, &class) in classes.iter().enumerate() {
        let clock = Instant::now();
        let (shown, device) = class_pictures(job, (k, class), &names, &runs, &seen)?;
        let cam_ms = ms(clock);
        let mut timings = vec![("preprocess", preprocess_ms), ("forward", forward_ms)];
        timings.push((if runs.len() > 1 { "backward_and_augmented_runs" } else { "backward" }, runs_ms));
        if masked_ms > 0.0 {
            timings.push(("masked_passes", masked_ms));
        }
        timings.push(("cam", cam_ms));
        timings.push(("total", timings.iter().map(|(_, t)| t).sum()));
        let context = Context {
            model: &job.model.name,
            image: &name,
            preprocess: job.model.recipe.name(),
            top: &top,
            layers: &job.explainer.layers,
            gradient_from: job.explainer.gradient_from,
            seen: &seen,
            settings: &job.settings,
            smoothing: job.smoothing,
            device: &device,
            timings_ms: &timings,
        };
        let per_layer: Vec<_> = runs[0].gradients.iter().map(|g| g.index_axis(Axis(0), k)).collect();
        let activations = runs[0].forward.activations();
        let tensors = job.save_tensors.then_some(Tensors { activations: &activations, gradients: &per_layer });
        reports.push((class, report::class_files(&context, &shown, tensors)?));
    }
    Ok(reports)
}

/// The `k`-th explained class's maps and pictures, and where they were computed. Methods with a
/// WGSL kernel, unsmoothed, run on the GPU in one submission; the others' raw maps are computed on
/// the CPU and drawn on the GPU. With `--device auto` a failing GPU is given up for the CPU (same
/// maps) instead of losing images.
fn class_pictures(job: &Job, (k, class): (usize, usize), names: &[String], runs: &[Run], seen: &RgbImage) -> Result<(Shown, String)> {
    let (settings, fusion) = (&job.settings, &job.fusion);
    let on_kernels = runs.len() == 1 && !job.smoothing.eigen && settings.methods.iter().all(Method::has_kernel);
    let raw_maps = || explain::runs_raw_maps(names, runs, (k, class), &settings.methods, job.smoothing);
    if let Some(gpu) = job.maths.gpu()? {
        let attempt = if on_kernels {
            let run = &runs[0];
            let activations = run.forward.activations();
            let gradients: Vec<ArrayView3<f32>> = run.gradients.iter().map(|g| g.index_axis(Axis(0), k)).collect();
            let tensors: Vec<LayerTensors> = activations.iter().zip(&gradients).map(|(a, g)| LayerTensors::new(*a, *g)).collect();
            explain::check_tensors(names, &tensors)?;
            pollster::block_on(gpu.explain(seen, class, &activations, &gradients, fusion, settings)).map(|s| (s, gpu.adapter().to_string()))
        } else {
            let raw = raw_maps()?;
            let device = format!("cpu (raw maps), {} (pictures)", gpu.adapter());
            pollster::block_on(gpu.show(seen, class, raw, fusion, settings)).map(|s| (s, device))
        };
        match attempt {
            Ok(done) => return Ok(done),
            Err(err) if job.maths.device == Device::Auto => job.maths.warn_once(&err),
            Err(err) => return Err(err),
        }
    }
    let size = (seen.height() as usize, seen.width() as usize);
    let maps = explain::fuse_stages(class, raw_maps()?, settings, fusion, size);
    Ok((display::draw(seen, maps, settings), "cpu".into()))
}

/// The model's input and the picture it shows, from an image file or a tensor.
fn load(job: &Job, source: &Source) -> Result<(String, Preprocessed)> {
    let [_, _, height, width] = job.explainer.input_shape;
    match source {
        Source::Image(path) => {
            let bytes = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
            let image = preprocess::decode_photo(&bytes).map_err(|e| in_file(path, e))?;
            Ok((path.display().to_string(), preprocess::preprocess(&image, job.model.recipe, height as u32, width as u32)))
        }
        Source::Npy(path) => {
            let array: ArrayD<f32> =
                ndarray_npy::read_npy(path).map_err(|e| Error::Input(format!("{} is not a float32 .npy tensor: {e}", path.display())))?;
            let input = array
                .into_dimensionality::<Ix4>()
                .map_err(|_| Error::Input(format!("{} must hold a [1, 3, H, W] tensor", path.display())))?;
            let seen = preprocess::seen_from_input(input.view(), job.model.recipe);
            Ok((path.display().to_string(), Preprocessed { input, seen }))
        }
    }
}

fn in_file(path: &Path, err: Error) -> Error {
    match err {
        Error::Image(reason) => Error::Image(format!("{}: {reason}", path.display())),
        other => other,
    }
}

fn write(folder: &Path, files: &[OutputFile]) -> Result<()> {
    for file in files {
        let path = folder.join(&file.path);
        let parent = path.parent().expect("a file inside the output folder");
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent.display(), e))?;
        std::fs::write(&path, &file.bytes).map_err(|e| Error::io(path.display(), e))?;
    }
    Ok(())
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}
