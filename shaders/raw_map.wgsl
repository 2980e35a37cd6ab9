// From one layer's activation A and gradient g (both [C, H, W], one class) to its raw map M [H, W].
// CPU twins: cam::layercam, cam::hirescam (also LayerCAM-normal), cam::gradcam_elementwise,
// cam::gradcam, cam::gradcam_pp, cam::xgradcam. (EigenCAM's SVD and Score-CAM's forward passes
// stay on the CPU.)

struct Layer {
    channels: u32,
    locations: u32,  // H·W
    activation: u32, // where A starts in `activations`
    gradient: u32,   // where g starts in `gradients`
    weights: u32,    // where this layer's channel weights start in `weights`
    map: u32,        // where M starts in `maps`
    weighting: u32,  // WEIGHT_*: what channel k adds at location ij
    _pad: u32,
}

const WEIGHT_RELU_GRADIENT: u32 = 0u; // LayerCAM, Eq. 6: ReLU(g)·A
const WEIGHT_GRADIENT: u32 = 1u;      // HiResCAM, LayerCAM-normal: g·A
const WEIGHT_CHANNEL: u32 = 2u;       // Grad-CAM, Grad-CAM++, XGradCAM: `weights[k]`·A, the weights computed first
const WEIGHT_RELU_PRODUCT: u32 = 3u;  // element-wise Grad-CAM: ReLU(g·A)

@group(0) @binding(0) var<uniform> layer: Layer;
@group(0) @binding(1) var<storage, read> activations: array<f32>;
@group(0) @binding(2) var<storage, read> gradients: array<f32>;
@group(0) @binding(3) var<storage, read_write> weights: array<f32>;
@group(0) @binding(4) var<storage, read_write> maps: array<f32>;

// M_ij = ReLU(Σ_k term_kij), one invocation per location: it walks the channels in order, so no
// [C, H, W] product is ever stored and the additions happen in the CPU reference's order.
@compute @workgroup_size(64)
fn weighted_sum(@builtin(global_invocation_id) id: vec3<u32>) {
    let location = id.x;
    if location >= layer.locations {
        return;
    }
    var sum = 0.0;
    for (var k = 0u; k < layer.channels; k++) {
        let index = k * layer.locations + location;
        let a = activations[layer.activation + index];
        let g = gradients[layer.gradient + index];
        var term: f32;
        switch layer.weighting {
            case WEIGHT_RELU_GRADIENT: { term = max(g, 0.0) * a; }
            case WEIGHT_GRADIENT: { term = g * a; }
            case WEIGHT_RELU_PRODUCT: { term = max(g * a, 0.0); }
            default: { term = weights[layer.weights + k] * a; }
        }
        sum += term;
    }
    maps[layer.map + location] = max(sum, 0.0);
}

// Grad-CAM, Eq. 3: w_k = mean_ij g_kij. One invocation per channel.
@compute @workgroup_size(64)
fn gradcam_weights(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if k >= layer.channels {
        return;
    }
    weights[layer.weights + k] = pairwise_sum(TERM_GRADIENT, k, 0.0) / f32(layer.locations);
}

// Grad-CAM++, Eq. 4–5 as pytorch-grad-cam 1.5.7 computes it: w_k = Σ_ij α_kij · ReLU(g_kij) with
// α = g² / (2g² + (Σ_ab A_kab)·g³ + 1e-6), α = 0 where g = 0. One invocation per channel.
@compute @workgroup_size(64)
fn gradcam_pp_weights(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if k >= layer.channels {
        return;
    }
    let activation_sum = pairwise_sum(TERM_ACTIVATION, k, 0.0);
    weights[layer.weights + k] = pairwise_sum(TERM_PP_WEIGHT, k, activation_sum);
}

// XGradCAM, as pytorch-grad-cam 1.5.7 computes it: w_k = Σ_ij g_kij·A_kij / (Σ_ab A_kab + 1e-7),
// each product divided before the sum. One invocation per channel.
@compute @workgroup_size(64)
fn xgradcam_weights(@builtin(global_invocation_id) id: vec3<u32>) {
    let k = id.x;
    if k >= layer.channels {
        return;
    }
    let total = pairwise_sum(TERM_ACTIVATION, k, 0.0) + XGRAD_EPS;
    weights[layer.weights + k] = pairwise_sum(TERM_XGRAD_WEIGHT, k, total);
}

const TERM_GRADIENT: u32 = 0u;
const TERM_ACTIVATION: u32 = 1u;
const TERM_PP_WEIGHT: u32 = 2u;
const TERM_XGRAD_WEIGHT: u32 = 3u;
const EPS: f32 = 1e-6;
const XGRAD_EPS: f32 = 1e-7;

// What a channel sum adds up at location `i` of channel `k` (`activation_sum`: the channel's Σ A,
// plus XGradCAM's ε for its terms).
fn term(what: u32, k: u32, i: u32, activation_sum: f32) -> f32 {
    let index = k * layer.locations + i;
    switch what {
        case TERM_GRADIENT: { return gradients[layer.gradient + index]; }
        case TERM_ACTIVATION: { return activations[layer.activation + index]; }
        case TERM_XGRAD_WEIGHT: { return gradients[layer.gradient + index] * activations[layer.activation + index] / activation_sum; }
        default: {
            let g = gradients[layer.gradient + index];
            if g == 0.0 {
                return 0.0;
            }
            let g2 = g * g;
            let alpha = g2 / (2.0 * g2 + activation_sum * (g2 * g) + EPS);
            return max(g, 0.0) * alpha;
        }
    }
}

// Σ of a channel's H·W terms in numpy's pairwise order (CPU twin: cam::pairwise_sum), so the
// weights equal the reference's. Grad-CAM++ needs it: where Σ A_k < 0 its denominator nearly
// cancels, and a workgroup tree reduction moved chelsea's blocks.0 map by 7.9e-4 of its max (80×
// the tolerance). So the parallelism is over channels, one invocation each; WGSL has no recursion,
// so the split tree is walked with an explicit stack.
fn pairwise_sum(what: u32, k: u32, activation_sum: f32) -> f32 {
    var start: array<u32, 32>;
    var count: array<u32, 32>;
    var left: array<f32, 32>;    // the finished left half's sum, once `visited` is 2
    var visited: array<u32, 32>; // 0: new, 1: left half running, 2: right half running
    var top = 0u;
    start[0] = 0u;
    count[0] = layer.locations;
    visited[0] = 0u;
    loop {
        let n = count[top];
        if n > BLOCK {
            // Split near the middle, at a multiple of the unroll width, and descend left.
            visited[top] = 1u;
            start[top + 1u] = start[top];
            count[top + 1u] = left_count(n);
            visited[top + 1u] = 0u;
            top += 1u;
            continue;
        }
        var sum = block_sum(what, k, start[top], n, activation_sum);
        // Hand `sum` up the stack until a node still has its right half to do.
        loop {
            if top == 0u {
                return sum;
            }
            top -= 1u;
            if visited[top] == 1u {
                left[top] = sum;
                visited[top] = 2u;
                start[top + 1u] = start[top] + left_count(count[top]);
                count[top + 1u] = count[top] - left_count(count[top]);
                visited[top + 1u] = 0u;
                top += 1u;
                break;
            }
            sum = left[top] + sum;
        }
    }
    return 0.0; // not reached: the outer loop returns
}

const BLOCK: u32 = 128u;
const UNROLL: u32 = 8u;

// numpy's split of n terms: the left part ends near the middle, at a multiple of the unroll width.
fn left_count(n: u32) -> u32 {
    let half = n / 2u;
    return half - half % UNROLL;
}

// A leaf of the pairwise tree (at most 128 terms): 8 running sums, then the rest one by one.
fn block_sum(what: u32, k: u32, first: u32, n: u32, activation_sum: f32) -> f32 {
    if n < UNROLL {
        var sum = 0.0;
        for (var i = 0u; i < n; i++) {
            sum += term(what, k, first + i, activation_sum);
        }
        return sum;
    }
    var r = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let lanes = n - n % UNROLL;
    for (var i = 0u; i < lanes; i += UNROLL) {
        for (var j = 0u; j < UNROLL; j++) {
            r[j] += term(what, k, first + i + j, activation_sum);
        }
    }
    var sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (var i = lanes; i < n; i++) {
        sum += term(what, k, first + i, activation_sum);
    }
    return sum;
}
