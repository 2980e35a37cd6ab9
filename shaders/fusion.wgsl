// From raw maps (each at its layer's resolution) to pictures' values at the image size: each map's
// max, then normalised (M / max M) and scaled (Eq. 9: tanh(γ·M / max M)) at the map's own small
// resolution, then bilinear upsampling with half-pixel centres and the element-wise max over the
// layers a picture fuses, each member taken normalised or scaled (cam::stages: the shallow stages
// are scaled, the deep ones enter normalised).
// CPU twins: cam::normalize_max, cam::scale_tanh, cam::upsample_bilinear, cam::fuse_max.

struct Map {
    offset: u32, // where the map starts in `maps`
    height: u32,
    width: u32,
    _pad: u32,
}

// One picture: the max over `members[first .. first + count]`.
struct Picture {
    first: u32,
    count: u32,
}

// A map of a picture (an index into `infos`) and how it is scaled: 0 normalised (M / max M), 1 by
// Eq. 9 (tanh(γ·M / max M)); the offset into `scaled` of that scaling's copy of every map.
struct Member {
    map: u32,
    scaling: u32,
}

@group(0) @binding(0) var<uniform> frame: Frame;
@group(0) @binding(1) var<storage, read> maps: array<f32>;
@group(0) @binding(2) var<storage, read> infos: array<Map>;
@group(0) @binding(3) var<storage, read_write> maxima: array<f32>;
@group(0) @binding(4) var<storage, read> pictures: array<Picture>;
@group(0) @binding(5) var<storage, read> members: array<Member>;
@group(0) @binding(6) var<storage, read_write> values: array<f32>;
// Every map normalised (first `frame.map_values` values), then every map tanh-scaled.
@group(0) @binding(7) var<storage, read_write> scaled: array<f32>;

const REDUCE: u32 = 256u;
var<workgroup> partial: array<f32, REDUCE>;

// max M of every map, one workgroup per map: strided partial maxima, then a tree in shared memory.
@compute @workgroup_size(REDUCE)
fn map_max(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    let info = infos[group.x];
    let n = info.height * info.width;
    var m = maps[info.offset]; // a map has at least one value
    for (var i = local; i < n; i += REDUCE) {
        m = max(m, maps[info.offset + i]);
    }
    partial[local] = m;
    workgroupBarrier();
    for (var stride = REDUCE / 2u; stride > 0u; stride /= 2u) {
        if local < stride {
            partial[local] = max(partial[local], partial[local + stride]);
        }
        workgroupBarrier();
    }
    if local == 0u {
        maxima[group.x] = partial[0];
    }
}

// One invocation per value of one map (y): both scalings. A map with no positive value has nothing
// to show and stays 0.
@compute @workgroup_size(256)
fn scale(@builtin(global_invocation_id) id: vec3<u32>) {
    let info = infos[id.y];
    if id.x >= info.height * info.width {
        return;
    }
    let index = info.offset + id.x;
    let peak = maxima[id.y];
    let v = select(0.0, maps[index] / peak, peak > 0.0);
    scaled[index] = v;
    scaled[frame.map_values + index] = tanh(frame.gamma * v);
}

// One invocation per pixel of one picture (z): sample each member map, keep the largest.
@compute @workgroup_size(16, 16)
fn resample(@builtin(global_invocation_id) id: vec3<u32>) {
    let x = id.x;
    let y = id.y;
    if x >= frame.width || y >= frame.height {
        return;
    }
    let picture = pictures[id.z];
    var value = 0.0; // a fusion of no layer shows nothing
    for (var i = 0u; i < picture.count; i++) {
        let member = members[picture.first + i];
        let sample = upsampled(member.map, member.scaling, y, x);
        value = select(max(value, sample), sample, i == 0u);
    }
    values[(id.z * frame.height + y) * frame.width + x] = value;
}

struct Tap {
    lo: u32,
    hi: u32,
    frac: f32,
}

// Where output pixel `dst` reads along one axis: source position (dst + 0.5)·in/out − 0.5,
// clamped to the edge pixels (OpenCV's INTER_LINEAR, torch's align_corners=False).
fn tap(dst: u32, in_len: u32, out_len: u32) -> Tap {
    let src = (f32(dst) + 0.5) * (f32(in_len) / f32(out_len)) - 0.5;
    let lo = floor(src);
    if lo < 0.0 {
        return Tap(0u, 0u, 0.0);
    }
    if u32(lo) >= in_len - 1u {
        return Tap(in_len - 1u, in_len - 1u, 0.0);
    }
    return Tap(u32(lo), u32(lo) + 1u, src - lo);
}

// Map `m`, scaled, at output pixel (y, x): columns first, then rows, as the CPU does.
fn upsampled(m: u32, scaling: u32, y: u32, x: u32) -> f32 {
    let info = infos[m];
    let row = tap(y, info.height, frame.height);
    let col = tap(x, info.width, frame.width);
    let base = scaling * frame.map_values + info.offset;
    let top = scaled[base + row.lo * info.width + col.lo] * (1.0 - col.frac) + scaled[base + row.lo * info.width + col.hi] * col.frac;
    let bottom = scaled[base + row.hi * info.width + col.lo] * (1.0 - col.frac) + scaled[base + row.hi * info.width + col.hi] * col.frac;
    return top * (1.0 - row.frac) + bottom * row.frac;
}
