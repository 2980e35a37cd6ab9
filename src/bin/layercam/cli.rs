//! The command line: `explain`, `layers`, `bench`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::{bench, explain};
use layercam::model::Model;
use layercam::model::layers::candidates;

/// The model that ships with layercam, relative to the repository root.
pub const DEFAULT_MODEL: &str = "models/efficientnet_lite0.onnx";

#[derive(Parser)]
#[command(
    name = "layercam",
    version,
    about = "Where an image classifier looks, at every stage of the network: LayerCAM, Grad-CAM and \
             Grad-CAM++ for ONNX classifiers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Explain an image, every image of a folder, or a preprocessed tensor
    Explain(explain::Args),
    /// List the tensors that can be explained (name, op, shape); `*` marks the automatic choice
    Layers {
        #[arg(long, default_value = DEFAULT_MODEL)]
        model: PathBuf,
    },
    /// Time every stage on one image, and a folder run on both cores
    Bench(bench::Args),
}

pub fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Explain(args) => explain::run(args),
        Command::Layers { model } => list_layers(&model),
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

fn list_layers(path: &std::path::Path) -> layercam::Result<()> {
    let model = Model::load(path)?;
    println!("   {:<40} {:<20} shape [C, H, W]", "tensor", "op");
    for c in candidates(&model.classifier) {
        let mark = if c.auto { "*" } else { " " };
        println!("{mark}  {:<40} {:<20} {:?}", c.name, c.op, c.shape);
    }
    println!("\n* = automatic choice (--layers auto): one tensor per spatial resolution; see `layercam::model::layers`");
    Ok(())
}
