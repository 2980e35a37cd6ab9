// What every picture of one request shares; prepended to fusion.wgsl and colormap.wgsl.
struct Frame {
    height: u32,   // of the image the maps are shown on
    width: u32,
    gamma: f32,    // Eq. 9
    opacity: f32,  // of the coloured map over the image
    colormap: u32, // COLORMAP_* in colormap.wgsl
    map_values: u32, // how many values all raw maps hold together
    _pad1: u32,
    _pad2: u32,
}
