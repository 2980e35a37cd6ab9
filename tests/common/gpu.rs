//! GPU parity cases, shared by the native tests (tests/gpu_*.rs, wgpu on Vulkan/lavapipe) and the
//! browser test (tests/web/web_gpu.rs, WebGPU on SwiftShader): every kernel against its CPU twin.
//! Tolerances are the issue's: maps within 1e-5 of their max, colours within 1 step of 255.

use image::{Rgb, RgbImage};
use layercam::cam::{self, Colormap, Fusion, LayerTensors, Method, Reduce, stages};
use layercam::display::{self, Shown};
use layercam::explain::{self, Settings};
use layercam::gpu::Gpu;
use ndarray::{Array2, Array3, ArrayView3};

/// Maps may differ from the CPU's by this much, relative to the CPU map's max.
pub const MAP_TOLERANCE: f32 = 1e-5;

/// The shapes the issue asks for: 1×1, 7×7, 112×112, C = 1, C = 1280, sizes that are not a
/// multiple of any workgroup, and a plane longer than one pairwise-sum block.
pub const AWKWARD: [(usize, usize, usize); 7] = [(1, 1, 1), (1, 7, 7), (3, 7, 7), (16, 112, 112), (1280, 7, 7), (5, 13, 11), (2, 1, 300)];

/// A small deterministic generator (xorshift), so the tests need no extra crate.
pub struct Random(u64);

impl Random {
    pub fn new(seed: u64) -> Self {
        Random(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + (hi - lo) * ((self.0 >> 40) as f32 / (1u64 << 24) as f32)
    }

    /// Mostly positive activations (as after a ReLU, some exact zeros) or signed gradients with
    /// some exact zeros (Grad-CAM++ treats g = 0 apart).
    pub fn tensor(&mut self, (c, h, w): (usize, usize, usize), signed: bool) -> Array3<f32> {
        Array3::from_shape_simple_fn((c, h, w), || {
            let v = self.uniform(-1.0, 2.0);
            match (signed, v) {
                (_, v) if v < -0.8 => 0.0,
                (false, v) => v.max(0.0),
                (true, v) => v - 0.5,
            }
        })
    }

    pub fn map(&mut self, (h, w): (usize, usize)) -> Array2<f32> {
        Array2::from_shape_simple_fn((h, w), || self.uniform(0.0, 3.0))
    }

    pub fn image(&mut self, width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |_, _| Rgb([0, 1, 2].map(|_| self.uniform(0.0, 256.0) as u8)))
    }
}

/// max |a − b| / max |b|; 0 when both are all zero.
pub fn map_error(gpu: &Array2<f32>, cpu: &Array2<f32>) -> f32 {
    assert_eq!(gpu.dim(), cpu.dim(), "map shapes");
    let worst = gpu.iter().zip(cpu).fold(0f32, |m, (g, c)| m.max((g - c).abs()));
    let scale = cpu.iter().fold(0f32, |m, v| m.max(v.abs()));
    if scale == 0.0 { worst } else { worst / scale }
}

/// The largest difference of one colour channel between two pictures.
pub fn colour_error(gpu: &RgbImage, cpu: &RgbImage) -> u8 {
    assert_eq!(gpu.dimensions(), cpu.dimensions(), "picture sizes");
    gpu.as_raw().iter().zip(cpu.as_raw()).map(|(g, c)| g.abs_diff(*c)).max().unwrap_or(0)
}

fn assert_maps(what: &str, gpu: &[Vec<Array2<f32>>], cpu: &[Vec<Array2<f32>>]) -> f32 {
    assert_eq!(gpu.len(), cpu.len(), "{what}: layers");
    let mut worst = 0f32;
    for (l, (g, c)) in gpu.iter().zip(cpu).enumerate() {
        for (m, (g, c)) in g.iter().zip(c).enumerate() {
            let error = map_error(g, c);
            assert!(error <= MAP_TOLERANCE, "{what}: layer {l}, method {m}: GPU differs by {error:e} of the max");
            worst = worst.max(error);
        }
    }
    worst
}

/// The methods raw_map.wgsl computes (LayerCAM, LayerCAM-normal, Grad-CAM, Grad-CAM++, HiResCAM,
/// element-wise Grad-CAM, XGradCAM).
pub fn kernel_methods() -> Vec<Method> {
    Method::ALL.into_iter().filter(Method::has_kernel).collect()
}

/// Raw maps of every method with a kernel: GPU vs `cam::raw_map`.
pub async fn raw_maps_match(gpu: &Gpu, what: &str, activations: &[Array3<f32>], gradients: &[Array3<f32>]) -> f32 {
    let a: Vec<ArrayView3<f32>> = activations.iter().map(|a| a.view()).collect();
    let g: Vec<ArrayView3<f32>> = gradients.iter().map(|g| g.view()).collect();
    let methods = kernel_methods();
    let on_gpu = gpu.raw_maps(&a, &g, &methods).await.expect("raw maps on the GPU");
    let on_cpu: Vec<Vec<Array2<f32>>> = a
        .iter()
        .zip(&g)
        .map(|(a, g)| methods.iter().map(|&m| cam::raw_map(m, LayerTensors::new(*a, *g), Reduce::Sum).expect("a CPU map")).collect())
        .collect();
    assert_maps(what, &on_gpu, &on_cpu)
}

/// Every awkward shape, one layer each and all together in one request.
pub async fn raw_maps_of_awkward_sizes(gpu: &Gpu) -> f32 {
    let mut random = Random::new(7);
    let activations: Vec<Array3<f32>> = AWKWARD.iter().map(|&s| random.tensor(s, false)).collect();
    let gradients: Vec<Array3<f32>> = AWKWARD.iter().map(|&s| random.tensor(s, true)).collect();
    let mut worst = raw_maps_match(gpu, "all shapes in one request", &activations, &gradients).await;
    for (i, shape) in AWKWARD.iter().enumerate() {
        let what = format!("{shape:?}");
        let one = raw_maps_match(gpu, &what, &activations[i..=i], &gradients[i..=i]).await;
        worst = worst.max(one);
    }
    worst
}

/// The CPU's pictures of `raw[layer][method]`: each layer's own, and the fused ones (as `fusion`
/// says) with boxes.
pub fn cpu_pictures(seen: &RgbImage, raw: &[Vec<Array2<f32>>], fusion: &Fusion, settings: &Settings) -> Shown {
    let size = (seen.height() as usize, seen.width() as usize);
    display::draw(seen, explain::fuse_stages(0, raw.to_vec(), settings, fusion, size), settings)
}

/// GPU pictures vs CPU pictures: fused maps within the map tolerance, boxes equal, every picture
/// within one colour step. Returns (worst map error, worst colour step).
pub fn assert_pictures(what: &str, gpu: &Shown, cpu: &Shown) -> (f32, u8) {
    let worst_map = assert_maps(&format!("{what}, fused"), std::slice::from_ref(&gpu.maps.fused), std::slice::from_ref(&cpu.maps.fused));
    assert_eq!(gpu.maps.boxes, cpu.maps.boxes, "{what}: boxes");
    let mut worst_colour = 0;
    let pairs = gpu.cells.iter().flatten().zip(cpu.cells.iter().flatten()).chain(gpu.fused.iter().zip(&cpu.fused));
    for (i, (g, c)) in pairs.enumerate() {
        let step = colour_error(g, c);
        assert!(step <= 1, "{what}: picture {i} differs by {step} steps of 255");
        worst_colour = worst_colour.max(step);
    }
    assert_eq!(gpu.cells.len(), cpu.cells.len());
    assert_eq!(gpu.fused.len(), cpu.fused.len());
    (worst_map, worst_colour)
}

/// Normalise / tanh-scale, upsample and max-fuse: maps of awkward sizes (one all zero) on images of
/// several sizes, some stages left out of the fusion, stages scaled by Eq. 9 and normalised side by
/// side, and a fusion of no stage.
pub async fn pictures_match(gpu: &Gpu) -> (f32, u8) {
    let mut random = Random::new(11);
    let shapes = [(1, 1), (7, 7), (112, 112), (13, 11), (5, 9)];
    let mut raw: Vec<Vec<Array2<f32>>> = shapes.iter().map(|&s| vec![random.map(s), random.map(s)]).collect();
    raw[4][1].fill(0.0); // nothing to show: stays zero, never NaN
    let settings = Settings { methods: vec![Method::LayerCam, Method::GradCam], gamma: 2.0, ..Settings::default() };
    let mut worst = (0f32, 0u8);
    let fusion = |fused: [bool; 5], scaled: [bool; 5]| Fusion { fused: fused.to_vec(), scaled: scaled.to_vec() };
    let cases = [
        (224, 224, fusion([true; 5], [true, true, false, false, true]), 2.0),
        (97, 61, fusion([true, false, true, true, false], [true; 5]), 3.5),
        (1, 1, fusion([true; 5], [false; 5]), 2.0),
        (40, 30, fusion([false; 5], [true; 5]), 2.0),
    ];
    for (width, height, fusion, gamma) in cases {
        let seen = random.image(width, height);
        let settings = Settings { gamma, ..settings.clone() };
        let what = format!("{width}×{height}, {fusion:?}, γ {gamma}");
        let on_gpu = gpu.show(&seen, 0, raw.clone(), &fusion, &settings).await.expect("pictures on the GPU");
        let (map, colour) = assert_pictures(&what, &on_gpu, &cpu_pictures(&seen, &raw, &fusion, &settings));
        worst = (worst.0.max(map), worst.1.max(colour));
    }
    // The smallest request: one layer, one method, one pixel (buffers smaller than their padding).
    let (seen, one) = (random.image(1, 1), vec![vec![random.map((3, 2))]]);
    let settings = Settings { methods: vec![Method::LayerCam], ..settings };
    let on_gpu = gpu.show(&seen, 0, one.clone(), &Fusion::all_scaled(1), &settings).await.expect("one pixel on the GPU");
    assert_pictures("one pixel", &on_gpu, &cpu_pictures(&seen, &one, &Fusion::all_scaled(1), &settings));
    // No method chosen: no picture, and no error.
    let none = gpu.show(&seen, 0, vec![vec![]; 2], &Fusion::all_scaled(2), &Settings { methods: vec![], ..settings }).await;
    assert!(none.expect("no method, no error").fused.is_empty());
    worst
}

/// Each colormap at several opacities, on a map that spans [0, 1] at the image's own size (no
/// resampling: the colours alone are compared).
pub async fn colours_match(gpu: &Gpu) -> u8 {
    let mut random = Random::new(3);
    let (width, height) = (256u32, 33u32);
    let seen = random.image(width, height);
    let ramp = Array2::from_shape_fn((height as usize, width as usize), |(y, x)| (x as f32 + y as f32 / 40.0) / 255.0);
    let mut worst = 0;
    for colormap in Colormap::ALL {
        for opacity in [0.0, 0.35, 0.5, 1.0] {
            let settings = Settings { colormap, opacity, ..Settings::default() };
            let raw = vec![vec![ramp.clone()]];
            let on_gpu = gpu.show(&seen, 0, raw.clone(), &Fusion::all_scaled(1), &settings).await.expect("colours on the GPU");
            let cpu = display::layer_picture(&seen, &ramp, &display::overlay(&settings));
            let step = colour_error(&on_gpu.cells[0][0], &cpu);
            assert!(step <= 1, "{} at opacity {opacity}: {step} steps of 255", colormap.name());
            worst = worst.max(step);
        }
    }
    worst
}

/// The CLI's path, one submission from tensors to pictures, vs the CPU's class_maps + draw, with
/// the paper's fusion for these layers (224² input).
pub async fn explain_matches(gpu: &Gpu, activations: &[Array3<f32>], gradients: &[Array3<f32>], seen: &RgbImage) -> (f32, u8) {
    let settings = Settings { methods: kernel_methods(), ..Settings::default() };
    let names: Vec<String> = (0..activations.len()).map(|l| format!("layer{l}")).collect();
    let g: Vec<ArrayView3<f32>> = gradients.iter().map(|g| g.view()).collect();
    let a: Vec<ArrayView3<f32>> = activations.iter().map(|a| a.view()).collect();
    let size = (seen.height() as usize, seen.width() as usize);
    let shapes = activations.iter().map(|a| [a.dim().1, a.dim().2]);
    let fusion = Fusion::paper(&shapes.map(|map| stages::stride([224, 224], map)).collect::<Vec<_>>());
    let cpu = explain::class_maps(282, &names, &a, &g, &settings, &fusion, size).expect("CPU maps");
    let cpu = display::draw(seen, cpu, &settings);
    let on_gpu = gpu.explain(seen, 282, &a, &g, &fusion, &settings).await.expect("the GPU path");
    assert_eq!(on_gpu.maps.class, 282);
    let raw = assert_maps("explain, raw", &on_gpu.maps.raw, &cpu.maps.raw);
    let (fused, colour) = assert_pictures("explain", &on_gpu, &cpu);
    (raw.max(fused), colour)
}

/// A reference tensor from its .npy bytes.
pub fn npy(bytes: &[u8]) -> Array3<f32> {
    use ndarray_npy::ReadNpyExt;
    Array3::<f32>::read_npy(std::io::Cursor::new(bytes)).expect("a float32 [C, H, W] .npy")
}

/// chelsea's reference activations and gradients, `[C, H, W]` per layer (built into the test binary,
/// so the browser test has them too).
pub fn chelsea() -> (Vec<Array3<f32>>, Vec<Array3<f32>>) {
    macro_rules! layers {
        ($kind:literal) => {
            [
                include_bytes!(concat!("../fixtures/reference/chelsea_", $kind, "_blocks.0.npy")).as_slice(),
                include_bytes!(concat!("../fixtures/reference/chelsea_", $kind, "_blocks.2.npy")),
                include_bytes!(concat!("../fixtures/reference/chelsea_", $kind, "_blocks.4.npy")),
                include_bytes!(concat!("../fixtures/reference/chelsea_", $kind, "_blocks.10.npy")),
                include_bytes!(concat!("../fixtures/reference/chelsea_", $kind, "_head_act.npy")),
            ]
            .map(npy)
            .to_vec()
        };
    }
    (layers!("act"), layers!("grad"))
}

/// The native GPU (Vulkan; lavapipe on machines without one). No adapter fails the test: a
/// missing driver must not pass silently.
#[cfg(not(target_arch = "wasm32"))]
pub fn native() -> Gpu {
    pollster::block_on(Gpu::new()).unwrap_or_else(|e| {
        panic!("{e}\nthe GPU tests need a Vulkan driver; without a GPU: apt-get install mesa-vulkan-drivers (scripts/test.sh does)")
    })
}
