//! `layercam bench`: the time of every stage on one image (median of several runs), and a folder
//! run through the whole pipeline on every core. Run it on a release build.

use std::path::PathBuf;
use std::time::Instant;

use image::RgbImage;
use layercam::Result;
use layercam::cam::Method;
use layercam::display;
use layercam::explain::{self, Settings};
use layercam::model::preprocess;
use ndarray::{Array3, ArrayView3, Axis};
use rayon::prelude::*;

use crate::cli::DEFAULT_MODEL;
use crate::explain::{Device, Job, Source, explain_files};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value = DEFAULT_MODEL)]
    model: PathBuf,
    #[arg(long, default_value = "samples/chelsea.png")]
    image: PathBuf,
    /// Runs per stage; the median is reported
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// `auto` or tensor names separated by commas, as for `explain`
    #[arg(long, default_value = "auto", value_delimiter = ',')]
    layers: Vec<String>,
    /// Images in the folder run (the image repeated), processed in parallel on every core
    #[arg(long, default_value_t = 40)]
    folder_images: usize,
}

pub fn run(args: Args) -> Result<()> {
    let clock = Instant::now();
    let job = Job::prepare(&args.model, None, &args.layers, Settings::default())?;
    let prepare_ms = clock.elapsed().as_secs_f64() * 1e3;
    let explainer = &job.explainer;
    let layers: Vec<String> = explainer.layers.iter().map(|l| l.name.clone()).collect();
    let bytes = std::fs::read(&args.image).map_err(|e| layercam::Error::io(args.image.display(), e))?;
    let [_, _, height, width] = explainer.input_shape;

    println!("model {} ({} layers: {}), image {}", job.model.name, layers.len(), layers.join(", "), args.image.display());
    println!("threads {}, median of {} runs\n", rayon::current_num_threads(), args.runs);
    println!("{:<48} {:>10}", "stage", "ms");
    println!("{:<48} {:>10.1}", "load + differentiate + plan (once per model)", prepare_ms);

    preprocess::decode_photo(&bytes)?; // a bad --image is an error here, not a panic in a stage
    let decode = || {
        let image = preprocess::decode_photo(&bytes).expect("decoded once above");
        preprocess::preprocess(&image, job.model.recipe, height as u32, width as u32)
    };
    let pre = decode();
    let forward = explainer.forward(pre.input.view())?;
    let five: Vec<usize> = explain::top_classes(&forward.logits, &job.model.labels, 5).iter().map(|p| p.class).collect();
    let one = &five[..1];
    let gradients = explainer.backward(&forward, one)?;
    let per_layer: Vec<_> = gradients.iter().map(|g| g.index_axis(Axis(0), 0)).collect();
    let all_methods = Settings { methods: Method::ALL.to_vec(), ..Settings::default() };
    let size = (height, width);

    let stages: Vec<Stage> = vec![
        ("decode + preprocess", Box::new(|| drop(decode()))),
        ("forward", Box::new(|| drop(explainer.forward(pre.input.view())))),
        ("backward, 1 class", Box::new(|| drop(explainer.backward(&forward, one)))),
        (
            "forward + backward, 1 class",
            Box::new(|| {
                let f = explainer.forward(pre.input.view()).expect("forward");
                drop(explainer.backward(&f, one));
            }),
        ),
        (
            "forward + backward, 5 classes (one seed batch)",
            Box::new(|| {
                let f = explainer.forward(pre.input.view()).expect("forward");
                drop(explainer.backward(&f, &five));
            }),
        ),
        (
            "CAM maths, LayerCAM, all layers + fusion + box",
            Box::new(|| {
                drop(explain::class_maps(one[0], &layers, &forward.activations, &per_layer, &Settings::default(), &job.fusion, size));
            }),
        ),
        (
            "CAM maths, 4 methods, all layers + fusion + box",
            Box::new(|| {
                drop(explain::class_maps(one[0], &layers, &forward.activations, &per_layer, &all_methods, &job.fusion, size));
            }),
        ),
        (
            "total: preprocess + forward + backward + LayerCAM",
            Box::new(|| {
                let p = decode();
                let f = explainer.forward(p.input.view()).expect("forward");
                let g = explainer.backward(&f, one).expect("backward");
                let views: Vec<_> = g.iter().map(|g| g.index_axis(Axis(0), 0)).collect();
                drop(explain::class_maps(one[0], &layers, &f.activations, &views, &Settings::default(), &job.fusion, size));
            }),
        ),
    ];
    for (name, stage) in &stages {
        println!("{name:<48} {:>10.1}", median_ms(args.runs, stage));
    }
    pictures(&args, &job, &forward.activations, &per_layer, &pre.seen, one[0])?;

    let clock = Instant::now();
    let files: usize = (0..args.folder_images)
        .into_par_iter()
        .map(|_| explain_files(&job, &Source::Image(args.image.clone())).map(|r| r.iter().map(|(_, f)| f.len()).sum::<usize>()))
        .sum::<Result<usize>>()?;
    let folder_ms = clock.elapsed().as_secs_f64() * 1e3;
    println!(
        "\nfolder run: {} images, every output file built in memory ({files} files), {:.0} ms = {:.1} ms per image",
        args.folder_images,
        folder_ms,
        folder_ms / args.folder_images as f64
    );
    Ok(())
}

/// The CAM maths with every picture (LayerCAM, the paper's fusion), on the CPU and on the GPU, at the
/// model's input size and at 1024² output: from tensors (what the CLI does per class) and from raw
/// maps (what a slider move redraws in the page).
fn pictures(
    args: &Args,
    job: &Job,
    activations: &[Array3<f32>],
    gradients: &[ArrayView3<f32>],
    seen: &RgbImage,
    class: usize,
) -> Result<()> {
    let gpu = Device::Auto.open()?;
    match &gpu {
        Some(gpu) => println!("\nCAM maths and pictures, LayerCAM, GPU = {}", gpu.adapter()),
        None => println!("\nCAM maths and pictures, LayerCAM, CPU only"),
    }
    let settings = Settings::default();
    let layers: Vec<String> = job.explainer.layers.iter().map(|l| l.name.clone()).collect();
    let raw = explain::raw_maps(&layers, activations, gradients, &settings.methods)?;
    let fusion = &job.fusion;
    let views: Vec<ArrayView3<f32>> = activations.iter().map(|a| a.view()).collect();
    for side in [seen.width(), 1024] {
        let seen = image::imageops::resize(seen, side, side, image::imageops::FilterType::Triangle);
        let size = (side as usize, side as usize);
        let mut stages: Vec<(String, Box<dyn Fn() + '_>)> = vec![
            (
                format!("{side}²: tensors → pictures, CPU"),
                Box::new(|| {
                    let maps = explain::class_maps(class, &layers, activations, gradients, &settings, fusion, size).expect("maps");
                    drop(display::draw(&seen, maps, &settings));
                }),
            ),
            (
                format!("{side}²: raw maps → pictures (redraw), CPU"),
                Box::new(|| {
                    drop(display::draw(&seen, explain::fuse_stages(class, raw.clone(), &settings, fusion, size), &settings));
                }),
            ),
        ];
        if let Some(gpu) = &gpu {
            stages.push((
                format!("{side}²: tensors → pictures, GPU"),
                Box::new(|| {
                    drop(pollster::block_on(gpu.explain(&seen, class, &views, gradients, fusion, &settings)).expect("GPU"));
                }),
            ));
            stages.push((
                format!("{side}²: raw maps → pictures (redraw), GPU"),
                Box::new(|| {
                    drop(pollster::block_on(gpu.show(&seen, class, raw.clone(), fusion, &settings)).expect("GPU"));
                }),
            ));
        }
        for (name, stage) in &stages {
            println!("{name:<48} {:>10.1}", median_ms(args.runs, stage));
        }
    }
    Ok(())
}

/// A named piece of the pipeline to time.
type Stage<'a> = (&'static str, Box<dyn Fn() + 'a>);

fn median_ms(runs: usize, stage: &dyn Fn()) -> f64 {
    stage(); // warm-up: plans and caches
    let mut times: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let clock = Instant::now();
            stage();
            clock.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}
