//! The command line: `explain`, `eval`, `layers`, `bench`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::{bench, eval, explain};
use layercam::Result;
use layercam::bounds::Bounds;
use layercam::cam::Smoothing;
use layercam::model::Model;
use layercam::model::labels::Labels;
use layercam::model::layers::{GradientFrom, TokenGrid, candidates};
use layercam::model::sidecar::Sidecar;

/// A value parser for a numeric flag within `bounds`: NaN, infinities and values out of range are
/// refused, and clap's message names the flag and the value (`invalid value 'nan' for '--gamma'`).
pub fn within(bounds: Bounds) -> impl Fn(&str) -> std::result::Result<f32, String> + Clone + Send + Sync + 'static {
    move |text| bounds.parse(text)
}

/// Which classifier: `--model` and how its transformer tokens become maps.
#[derive(clap::Args)]
pub struct ModelArgs {
    /// The ONNX classifier; its sidecar (same name, .json) gives preprocessing, labels, layers
    /// (default: EfficientNet-Lite0, built into layercam)
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Transformer tokens [1, N, D] as maps: `grid=HxW,skip=S` drops the first S tokens (class,
    /// distillation) and lays the rest on an H×W grid (default: N = s² + 1 or s² + 2 → s×s)
    #[arg(long)]
    pub tokens: Option<TokenGrid>,
}

impl ModelArgs {
    pub fn load(&self) -> Result<Model> {
        let mut model = load_model(self.model.as_deref())?;
        model.classifier.token_grid = self.tokens;
        Ok(model)
    }
}

/// pytorch-grad-cam's two smoothings, for every method.
#[derive(Clone, Copy, clap::Args)]
pub struct SmoothingArgs {
    /// Average each map over six augmentations of the input (mirrored or not, × 0.9, 1, 1.1: pytorch-grad-cam's
    /// aug_smooth), each min-max scaled: 6 forward and backward runs
    #[arg(long)]
    aug_smooth: bool,
    /// Each method's weighted activations projected on their first principal component instead of summed over
    /// the channels (pytorch-grad-cam's eigen_smooth, its sign chosen as EigenCAM's)
    #[arg(long)]
    eigen_smooth: bool,
}

impl From<SmoothingArgs> for Smoothing {
    fn from(args: SmoothingArgs) -> Self {
        Smoothing { aug: args.aug_smooth, eigen: args.eigen_smooth }
    }
}

/// `--model`, or the model built into the binary (EfficientNet-Lite0 with its sidecar and labels),
/// so that an installed `layercam` works from any directory.
fn load_model(path: Option<&Path>) -> Result<Model> {
    const ONNX: &[u8] = include_bytes!("../../../models/efficientnet_lite0.onnx");
    const SIDECAR: &str = include_str!("../../../models/efficientnet_lite0.json");
    const LABELS: &str = include_str!("../../../models/imagenet_classes.txt");
    match path {
        Some(path) => Model::load(path),
        None => {
            let sidecar = Sidecar::parse(SIDECAR, Path::new("efficientnet_lite0.json"))?;
            Model::from_parts("efficientnet_lite0.onnx", ONNX, Some(&sidecar), Some(Labels::parse(LABELS)))
        }
    }
}

#[derive(Parser)]
#[command(
    name = "layercam",
    version,
    about = "Where an image classifier looks, at every stage of the network: LayerCAM, Grad-CAM, \
             Grad-CAM++ and the gradient and score family (HiResCAM, XGradCAM, EigenCAM, Score-CAM…) for ONNX classifiers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Explain an image, every image of a folder, or a preprocessed tensor
    Explain(explain::Args),
    /// The paper's experiments over a folder: occlusion, deletion, insertion, localize, segment
    Eval(eval::Args),
    /// List the tensors that can be explained (name, op, shape); `*` marks the automatic choice
    Layers {
        #[command(flatten)]
        model: ModelArgs,
        /// `next` marks the automatic choice with the authors' grid-artefact fix (see `explain`)
        #[arg(long, default_value = "layer")]
        gradient_from: GradientFrom,
    },
    /// Time every stage on one image, and a folder run on both cores
    Bench(bench::Args),
}

pub fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Explain(args) => explain::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Layers { model, gradient_from } => list_layers(&model, gradient_from),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}

fn list_layers(model: &ModelArgs, from: GradientFrom) -> Result<()> {
    let model = model.load()?;
    println!("   {:<40} {:<20} shape [C, H, W]", "tensor", "op");
    for c in candidates(&model.classifier, from) {
        let mark = if c.auto { "*" } else { " " };
        let tokens = c.tokens.map_or(String::new(), |t| format!(" (tokens: {} skipped, {}×{} grid)", t.skip, t.height, t.width));
        println!("{mark}  {:<40} {:<20} {:?}{tokens}", c.name, c.op, c.shape);
    }
    println!("\n* = automatic choice (--layers auto): one tensor per spatial resolution; see `layercam::model::layers`");
    Ok(())
}
