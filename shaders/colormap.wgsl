// A picture's values in [0, 1] coloured and blended over the image: (1 − opacity)·pixel +
// opacity·colour, rounded, as RGBA bytes packed in a u32 (little-endian: the bytes a canvas takes).
// CPU twin: cam::overlay (with Colormap::rgb).

const COLORMAP_JET: u32 = 0u;
const COLORMAP_TURBO: u32 = 1u;
const COLORMAP_GRAY: u32 = 2u;

@group(0) @binding(0) var<uniform> frame: Frame;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read> image: array<u32>;
@group(0) @binding(3) var<storage, read_write> colours: array<u32>;

// One invocation per pixel of one picture (z).
@compute @workgroup_size(16, 16)
fn colorize(@builtin(global_invocation_id) id: vec3<u32>) {
    if id.x >= frame.width || id.y >= frame.height {
        return;
    }
    let pixel = id.y * frame.width + id.x;
    let index = id.z * frame.height * frame.width + pixel;
    let colour = to_bytes(colormap(clamp(values[index], 0.0, 1.0)));
    let photo = bytes(image[pixel]);
    let opacity = clamp(frame.opacity, 0.0, 1.0);
    // floor(x + 0.5): Rust's round() (half away from zero), where WGSL's round() goes to even.
    let blended = floor((1.0 - opacity) * photo.rgb + opacity * colour + 0.5);
    let rgb = vec3<u32>(blended);
    colours[index] = rgb.r | (rgb.g << 8u) | (rgb.b << 16u) | (255u << 24u);
}

// The red, green and blue bytes of a packed pixel, as whole numbers (unpack4x8unorm's v/255·255
// need not give them back exactly).
fn bytes(packed: u32) -> vec3<f32> {
    return vec3<f32>(vec3<u32>(packed, packed >> 8u, packed >> 16u) & vec3<u32>(255u));
}

fn colormap(v: f32) -> vec3<f32> {
    switch frame.colormap {
        case COLORMAP_JET: { return jet(v); }
        case COLORMAP_TURBO: { return turbo(v); }
        default: { return vec3<f32>(v); }
    }
}

// Channel values in [0, 1] to whole steps of 255.
fn to_bytes(c: vec3<f32>) -> vec3<f32> {
    return floor(clamp(c, vec3<f32>(0.0), vec3<f32>(1.0)) * 255.0 + 0.5);
}

// MATLAB's jet: trapezoids of slope ±4 centred at 3/4 (red), 1/2 (green), 1/4 (blue).
fn jet(v: f32) -> vec3<f32> {
    return clamp(vec3<f32>(1.5) - abs(vec3<f32>(4.0 * v) - vec3<f32>(3.0, 2.0, 1.0)), vec3<f32>(0.0), vec3<f32>(1.0));
}

// Turbo, Anton Mikhailov's degree-5 polynomial fit, by Horner's rule.
fn turbo(v: f32) -> vec3<f32> {
    let c0 = vec3<f32>(0.13572138, 0.09140261, 0.10667330);
    let c1 = vec3<f32>(4.61539260, 2.19418839, 12.64194608);
    let c2 = vec3<f32>(-42.66032258, 4.84296658, -60.58204836);
    let c3 = vec3<f32>(132.13108234, -14.18503333, 110.36276771);
    let c4 = vec3<f32>(-152.94239396, 4.27729857, -89.90310912);
    let c5 = vec3<f32>(59.28637943, 2.82956604, 27.34824973);
    return c0 + v * (c1 + v * (c2 + v * (c3 + v * (c4 + v * c5))));
}
