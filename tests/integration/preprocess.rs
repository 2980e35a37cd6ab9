//! Decoding, preprocessing, sidecars and labels, checked against PyTorch's tensors and hand-computed values.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder, LumaA, Rgb, RgbImage, Rgba, RgbaImage};
use layercam::Error;
use layercam::model::labels::Labels;
use layercam::model::preprocess::{
    CropBox, MAX_IMAGE_SIDE, MIN_PHOTO_SIDE, Recipe, centre_crop, decode_image, decode_photo, efficientnet_crop, preprocess,
    torchvision_resized_size,
};
use layercam::model::sidecar::{Sidecar, sidecar_path};
use ndarray::Array4;

fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read(relative: &str) -> Vec<u8> {
    std::fs::read(repo_file(relative)).unwrap()
}

fn decode_fixture(name: &str) -> RgbImage {
    decode_image(&read(&format!("tests/fixtures/reference/{name}.png"))).unwrap()
}

// ---------------------------------------------------------------------------------------------
// EfficientNet-Lite against the tensors PyTorch fed the reference model

/// (mean, max) absolute difference between our input and PyTorch's.
fn difference_from_reference(name: &str) -> (f32, f32) {
    let image = decode_fixture(name);
    let ours = preprocess(&image, Recipe::EfficientNetLite, 224, 224).input;
    let path = repo_file(&format!("tests/fixtures/reference/{name}_input.npy"));
    let reference: Array4<f32> = ndarray_npy::read_npy(path).unwrap();
    assert_eq!(ours.shape(), reference.shape());
    let differences = (&ours - &reference).mapv(f32::abs);
    let mean = differences.mean().unwrap();
    let max = differences.fold(0.0f32, |max, &d| max.max(d));
    println!("{name}: mean |diff| {mean:e}, max |diff| {max:e}");
    (mean, max)
}

// Pillow's resampler is ported bit for bit, so the tensors agree exactly; a wrong crop offset,
// filter, channel order or normalisation moves the mean difference by 1e-2 or more.
#[test]
fn efficientnet_input_matches_pytorch_for_chelsea() {
    assert_eq!(difference_from_reference("chelsea"), (0.0, 0.0));
}

#[test]
fn efficientnet_input_matches_pytorch_for_coffee() {
    assert_eq!(difference_from_reference("coffee"), (0.0, 0.0));
}

/// On the engine's pool the two passes are cut into a band of rows per thread: the same pixels
/// and tensor to the bit as on one thread, for both recipes and a crop whose rows split unevenly.
/// (Other tests may run meanwhile with two threads set: every op gives the same floats however
/// its work is shared out.)
#[test]
fn preprocessing_on_two_threads_equals_one() {
    let run = |threads: usize| {
        layercam::runtime::set_threads(threads);
        let photo = decode_fixture("chelsea");
        [(Recipe::EfficientNetLite, 224, 224), (Recipe::Torchvision, 224, 224), (Recipe::EfficientNetLite, 97, 131)]
            .map(|(recipe, height, width)| layercam::runtime::on_pool(|| preprocess(&photo, recipe, height, width)))
    };
    let (one, two) = (run(1), run(2));
    layercam::runtime::set_threads(1);
    for (one, two) in one.iter().zip(&two) {
        assert_eq!(one.seen, two.seen);
        assert_eq!(one.input, two.input);
    }
}

#[test]
fn efficientnet_crop_is_the_reference_box() {
    let chelsea = decode_fixture("chelsea");
    assert_eq!(chelsea.dimensions(), (451, 300));
    assert_eq!(efficientnet_crop(300, 451, 224, 224), CropBox { top: 19, left: 95, height: 262, width: 262 });
    assert_eq!(efficientnet_crop(400, 600, 224, 224), CropBox { top: 25, left: 125, height: 350, width: 350 });
    // Portrait: the width is the shorter side; odd margins round the offset up.
    assert_eq!(efficientnet_crop(451, 300, 224, 224), CropBox { top: 95, left: 19, height: 262, width: 262 });
}

#[test]
fn efficientnet_crop_keeps_a_non_square_targets_aspect() {
    // 2:1 target on a 3:2 image: the full width bounds the box (225.5×451), shrunk by 224/256.
    assert_eq!(efficientnet_crop(300, 451, 224, 448), CropBox { top: 52, left: 29, height: 197, width: 394 });
    let image = RgbImage::from_pixel(451, 300, Rgb([10, 20, 30]));
    let out = preprocess(&image, Recipe::EfficientNetLite, 224, 448);
    assert_eq!(out.input.shape(), &[1, 3, 224, 448]);
    assert_eq!(out.seen.dimensions(), (448, 224));
}

#[test]
fn efficientnet_input_is_the_seen_crop_scaled_to_plus_minus_one() {
    let out = preprocess(&decode_fixture("coffee"), Recipe::EfficientNetLite, 224, 224);
    assert_eq!(out.seen.dimensions(), (224, 224));
    for (x, y, pixel) in out.seen.enumerate_pixels() {
        for channel in 0..3 {
            let expected = (f32::from(pixel.0[channel]) - 127.0) / 128.0;
            assert_eq!(out.input[[0, channel, y as usize, x as usize]], expected);
        }
    }
}

#[test]
fn a_one_pixel_image_still_yields_an_input() {
    let image = RgbImage::from_pixel(1, 1, Rgb([255, 0, 127]));
    let out = preprocess(&image, Recipe::EfficientNetLite, 224, 224);
    assert!(out.seen.pixels().all(|pixel| pixel.0 == [255, 0, 127]));
    let out = preprocess(&image, Recipe::Torchvision, 224, 224);
    assert!(out.seen.pixels().all(|pixel| pixel.0 == [255, 0, 127]));
}

// ---------------------------------------------------------------------------------------------
// torchvision

#[test]
fn torchvision_normalises_with_imagenet_statistics() {
    let image = RgbImage::from_pixel(451, 300, Rgb([200, 100, 50]));
    let out = preprocess(&image, Recipe::Torchvision, 224, 224);
    assert_eq!(out.input.shape(), &[1, 3, 224, 224]);
    let expected = [(200.0 / 255.0 - 0.485) / 0.229, (100.0 / 255.0 - 0.456) / 0.224, (50.0 / 255.0 - 0.406) / 0.225];
    for (channel, expected) in expected.into_iter().enumerate() {
        let plane = out.input.slice(ndarray::s![0, channel, .., ..]);
        assert!(plane.iter().all(|&x| (x - expected).abs() < 1e-6), "channel {channel}");
    }
}

#[test]
fn torchvision_geometry_is_resize_256_then_centre_crop_224() {
    // int(256 · 451/300) = 384; crop offsets round((256−224)/2), round((384−224)/2).
    assert_eq!(torchvision_resized_size(300, 451, 224, 224), (256, 384));
    assert_eq!(torchvision_resized_size(451, 300, 224, 224), (384, 256));
    assert_eq!(torchvision_resized_size(400, 600, 224, 224), (256, 384));
    assert_eq!(centre_crop(256, 384, 224, 224), CropBox { top: 16, left: 80, height: 224, width: 224 });
    // Python's round() sends 2.5 to 2 and 3.5 to 4.
    assert_eq!(centre_crop(261, 263, 256, 256), CropBox { top: 2, left: 4, height: 256, width: 256 });
}

#[test]
fn torchvision_without_resize_is_an_exact_centre_crop() {
    // A 256-high image is already at the resize target, so what the model sees is the original crop.
    let image = RgbImage::from_fn(300, 256, |x, y| Rgb([x as u8, y as u8, (x * 7 + y * 13) as u8]));
    assert_eq!(torchvision_resized_size(256, 300, 224, 224), (256, 300));
    let out = preprocess(&image, Recipe::Torchvision, 224, 224);
    for (x, y, pixel) in out.seen.enumerate_pixels() {
        assert_eq!(pixel, image.get_pixel(x + 38, y + 16), "at ({x}, {y})");
    }
}

#[test]
fn torchvision_resize_is_pillows_antialiased_bilinear() {
    // 74×74 → 37×37 (round(32·256/224) = 37), crop 32 at round(2.5) = 2. A one-column impulse at
    // x = 37 seen through a triangle of half-width 2 source pixels: the outputs centred on 37 and 39
    // weigh it 0.75/2 and 0.25/2 → 96 and 32. (Plain bilinear would give 128 and 0, bicubic 111.)
    let image = RgbImage::from_fn(74, 74, |x, _| Rgb([if x == 37 { 255 } else { 0 }; 3]));
    let out = preprocess(&image, Recipe::Torchvision, 32, 32);
    assert_eq!(out.seen.dimensions(), (32, 32));
    for y in 0..32 {
        let row: Vec<u8> = (14..19).map(|x| out.seen.get_pixel(x, y).0[0]).collect();
        assert_eq!(row, [0, 0, 96, 32, 0], "row {y}");
    }
}

// ---------------------------------------------------------------------------------------------
// Recipe names

#[test]
fn recipe_names_round_trip_and_agree_with_serde() {
    for recipe in Recipe::ALL {
        assert_eq!(recipe.to_string().parse::<Recipe>().unwrap(), recipe);
        assert_eq!(serde_json::to_string(&recipe).unwrap(), format!("\"{recipe}\""));
    }
    assert_eq!("efficientnet-lite".parse::<Recipe>().unwrap(), Recipe::EfficientNetLite);
    assert_eq!("torchvision".parse::<Recipe>().unwrap(), Recipe::Torchvision);
    assert_eq!(Recipe::default(), Recipe::EfficientNetLite);
}

#[test]
fn an_unknown_recipe_lists_the_valid_names() {
    let message = "inception".parse::<Recipe>().unwrap_err().to_string();
    assert!(message.contains("inception"), "{message}");
    assert!(message.contains("efficientnet-lite, torchvision"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// Decoding: orientation and transparency

/// A little-endian TIFF block holding one IFD entry: Orientation (0x0112) = `orientation`.
fn exif_orientation(orientation: u8) -> Vec<u8> {
    let mut tiff = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    tiff.extend([1, 0]); // one entry
    tiff.extend([0x12, 0x01, 3, 0, 1, 0, 0, 0, orientation, 0, 0, 0]); // tag, SHORT, count 1, value
    tiff.extend([0, 0, 0, 0]); // no next IFD
    tiff
}

/// `jpeg` with an APP1 Exif segment written by hand right after the SOI marker.
fn with_exif_segment(jpeg: &[u8], orientation: u8) -> Vec<u8> {
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend(exif_orientation(orientation));
    let length = u16::try_from(payload.len() + 2).unwrap();
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(length.to_be_bytes());
    out.extend(payload);
    out.extend(&jpeg[2..]);
    out
}

fn close_to(pixel: &Rgb<u8>, expected: [u8; 3]) -> bool {
    pixel.0.iter().zip(expected).all(|(&a, b)| a.abs_diff(b) <= 24)
}

#[test]
fn jpeg_exif_orientation_6_rotates_clockwise() {
    // 24×16, red top-left 8×8 block on blue. Rotated 90° clockwise it is 16×24 with red top-right.
    let red = [255, 0, 0];
    let blue = [0, 0, 255];
    let image = RgbImage::from_fn(24, 16, |x, y| Rgb(if x < 8 && y < 8 { red } else { blue }));
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 95).encode_image(&image).unwrap();

    let upright = decode_image(&jpeg).unwrap();
    assert_eq!(upright.dimensions(), (24, 16));
    assert!(close_to(upright.get_pixel(4, 4), red));

    let rotated = decode_image(&with_exif_segment(&jpeg, 6)).unwrap();
    assert_eq!(rotated.dimensions(), (16, 24));
    assert!(close_to(rotated.get_pixel(12, 4), red), "{:?}", rotated.get_pixel(12, 4));
    assert!(close_to(rotated.get_pixel(4, 4), blue), "{:?}", rotated.get_pixel(4, 4));
    assert!(close_to(rotated.get_pixel(12, 20), blue), "{:?}", rotated.get_pixel(12, 20));
}

fn encode_png(image: &RgbImage, exif: Option<Vec<u8>>) -> Vec<u8> {
    let mut png = Vec::new();
    let mut encoder = PngEncoder::new(&mut png);
    if let Some(exif) = exif {
        encoder.set_exif_metadata(exif).unwrap();
    }
    encoder.write_image(image.as_raw(), image.width(), image.height(), ExtendedColorType::Rgb8).unwrap();
    png
}

#[test]
fn png_exif_orientation_8_rotates_counter_clockwise() {
    // 3×2; orientation 8 turns it 90° counter-clockwise into 2×3: (x, y) → (y, 2 − x).
    let image = RgbImage::from_fn(3, 2, |x, y| Rgb([x as u8 * 100, y as u8 * 100, 7]));
    let rotated = decode_image(&encode_png(&image, Some(exif_orientation(8)))).unwrap();
    assert_eq!(rotated.dimensions(), (2, 3));
    for (x, y, pixel) in image.enumerate_pixels() {
        assert_eq!(rotated.get_pixel(y, 2 - x), pixel, "source ({x}, {y})");
    }
}

#[test]
fn transparency_is_composited_over_white() {
    let image = RgbaImage::from_vec(
        2,
        2,
        [
            [10, 20, 30, 0],  // fully transparent: white whatever its colour
            [0, 0, 0, 128],   // half-transparent black: (255·127 + 127) / 255 → 127
            [255, 0, 0, 255], // opaque red stays red
            [0, 0, 200, 51],  // 20 % blue: 200·0.2 + 255·0.8 = 244 (blue), 204 (red and green)
        ]
        .concat(),
    )
    .unwrap();
    let mut png = Vec::new();
    image.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    let decoded = decode_image(&png).unwrap();
    let pixels: Vec<[u8; 3]> = decoded.pixels().map(|pixel| pixel.0).collect();
    assert_eq!(pixels, [[255, 255, 255], [127, 127, 127], [255, 0, 0], [204, 204, 244]]);
}

#[test]
fn grey_with_alpha_is_composited_over_white() {
    let image = image::GrayAlphaImage::from_fn(2, 1, |x, _| LumaA(if x == 0 { [0, 0] } else { [100, 255] }));
    let mut png = Vec::new();
    image.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    let pixels: Vec<[u8; 3]> = decode_image(&png).unwrap().pixels().map(|pixel| pixel.0).collect();
    assert_eq!(pixels, [[255, 255, 255], [100, 100, 100]]);
}

#[test]
fn opaque_pixels_are_unchanged() {
    let image = RgbaImage::from_pixel(3, 3, Rgba([12, 34, 56, 255]));
    let mut png = Vec::new();
    image.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    assert!(decode_image(&png).unwrap().pixels().all(|pixel| pixel.0 == [12, 34, 56]));
}

// ---------------------------------------------------------------------------------------------
// Decoding: bad input

fn image_error(bytes: &[u8]) -> String {
    match decode_image(bytes) {
        Err(Error::Image(message)) => message,
        other => panic!("expected Error::Image, got {other:?}"),
    }
}

#[test]
fn an_empty_file_is_named_as_such() {
    assert_eq!(image_error(&[]), "the file is empty");
}

#[test]
fn garbage_is_an_unrecognised_format() {
    // A fixed xorshift stream: reproducible "random" bytes without a dependency.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let garbage: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let message = image_error(&garbage);
    assert!(message.contains("unrecognised image format"), "{message}");
    let message = image_error(b"just some text, not an image\n");
    assert!(message.contains("unrecognised image format"), "{message}");
}

#[test]
fn a_truncated_png_reports_the_decoders_complaint() {
    let png = read("samples/chelsea.png");
    let message = image_error(&png[..png.len() / 2]);
    println!("truncated PNG: {message}");
    assert!(message.to_lowercase().contains("eof") || message.contains("end of"), "{message}");
}

#[test]
fn a_corrupt_png_is_an_image_error() {
    let mut png = read("samples/chelsea.png");
    let middle = png.len() / 2;
    png[middle..middle + 64].fill(0xA5);
    let message = image_error(&png);
    println!("corrupt PNG: {message}");
    assert!(!message.is_empty());
}

#[test]
fn an_unsupported_format_says_so() {
    // A TIFF signature: recognised by `image`, but not among the formats this crate decodes.
    let message = image_error(b"II\x2a\x00\x08\x00\x00\x00\x00\x00\x00\x00");
    assert!(message.contains("unsupported"), "{message}");
}

/// A BMP file header and BITMAPINFOHEADER for a 24-bit `width`×`height` image, and no pixels.
fn bmp_header(width: i32, height: i32) -> Vec<u8> {
    let mut bmp = b"BM".to_vec();
    bmp.extend(54u32.to_le_bytes()); // file size (only the headers)
    bmp.extend([0; 4]); // reserved
    bmp.extend(54u32.to_le_bytes()); // pixel data offset
    bmp.extend(40u32.to_le_bytes()); // BITMAPINFOHEADER
    bmp.extend(width.to_le_bytes());
    bmp.extend(height.to_le_bytes());
    bmp.extend(1u16.to_le_bytes()); // planes
    bmp.extend(24u16.to_le_bytes()); // bits per pixel
    bmp.extend([0; 24]); // BI_RGB, image size, resolution, palette sizes
    bmp
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
    let start = chunk.len();
    chunk.extend(kind);
    chunk.extend(data);
    let crc = crc32(&chunk[start..]);
    chunk.extend(crc.to_be_bytes());
    chunk
}

/// A well-formed PNG whose IHDR claims `width`×`height` but whose IDAT holds an empty zlib stream.
fn png_claiming(width: u32, height: u32, bit_depth: u8, colour_type: u8) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([bit_depth, colour_type, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &ihdr));
    png.extend(png_chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

fn assert_refused_quickly_as_too_large(bytes: &[u8], width: u32, height: u32) {
    let start = Instant::now();
    let result = decode_image(bytes);
    assert!(start.elapsed() < Duration::from_secs(1), "took {:?}", start.elapsed());
    match result {
        Err(Error::ImageTooLarge { width: w, height: h, max }) => {
            assert_eq!((w, h, max), (width, height, MAX_IMAGE_SIDE));
        }
        other => panic!("expected Error::ImageTooLarge, got {other:?}"),
    }
    let message = result.unwrap_err().to_string();
    assert!(message.contains(&format!("{width}×{height}")), "{message}");
}

#[test]
fn a_huge_bmp_is_refused_before_allocation() {
    assert_refused_quickly_as_too_large(&bmp_header(20000, 20000), 20000, 20000);
    // Negative height means top-down rows; the size is the same.
    assert_refused_quickly_as_too_large(&bmp_header(20000, -300), 20000, 300);
}

#[test]
fn an_image_without_pixels_is_refused() {
    // GIF89a, a 0×0 logical screen, one 1×1 frame (LZW min code size 2: clear, 0, end), trailer.
    let gif = [b"GIF89a".as_slice(), &[0, 0, 0, 0, 0, 0, 0], &[0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0], &[2, 2, 0x44, 0x01, 0], &[0x3B]].concat();
    let message = image_error(&gif);
    assert!(message.contains("0×0"), "{message}");
}

#[test]
fn a_photo_too_small_to_explain_is_refused_by_name() {
    let tiny = encode_png(&RgbImage::from_pixel(1, 1, Rgb([9, 9, 9])), None);
    let err = decode_photo(&tiny).unwrap_err();
    assert_eq!(err.to_string(), "the image is 1×1 pixels; the smallest side accepted is 8 pixels");
    assert!(decode_image(&tiny).is_ok(), "it decodes; it is only too small to explain");
    let thin = encode_png(&RgbImage::from_pixel(300, MIN_PHOTO_SIDE - 1, Rgb([9, 9, 9])), None);
    assert!(matches!(decode_photo(&thin), Err(Error::ImageTooSmall { width: 300, height: 7, min: 8 })));
    let smallest = encode_png(&RgbImage::from_pixel(MIN_PHOTO_SIDE, MIN_PHOTO_SIDE, Rgb([9, 9, 9])), None);
    assert_eq!(decode_photo(&smallest).unwrap().dimensions(), (8, 8));
}

#[test]
fn a_huge_png_is_refused_before_allocation() {
    assert_refused_quickly_as_too_large(&png_claiming(20000, 20000, 8, 2), 20000, 20000);
    assert_refused_quickly_as_too_large(&png_claiming(100, 16385, 8, 6), 100, 16385);
}

#[test]
fn a_png_too_heavy_for_the_memory_budget_is_refused() {
    // 16000×16000 16-bit RGBA: both sides are allowed but the pixels would take 1953 MiB.
    let start = Instant::now();
    let message = image_error(&png_claiming(16000, 16000, 16, 6));
    assert!(start.elapsed() < Duration::from_secs(1), "took {:?}", start.elapsed());
    assert!(message.contains("16000×16000") && message.contains("MiB"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// Sidecar

#[test]
fn the_sidecar_lives_beside_the_model() {
    assert_eq!(sidecar_path(Path::new("models/efficientnet_lite0.onnx")), PathBuf::from("models/efficientnet_lite0.json"));
    assert_eq!(sidecar_path(Path::new("a/my.model.onnx")), PathBuf::from("a/my.model.json"));
}

#[test]
fn the_shipped_sidecar_describes_efficientnet_lite0() {
    let model = repo_file("models/efficientnet_lite0.onnx");
    let sidecar = Sidecar::load_beside(&model).unwrap().expect("models/efficientnet_lite0.json");
    assert_eq!(sidecar.preprocess, Recipe::EfficientNetLite);
    assert_eq!(sidecar.labels.as_deref(), Some("imagenet_classes.txt"));
    assert_eq!(sidecar.layers, None);
    assert!(sidecar.description.unwrap().contains("EfficientNet-Lite0"));
    let sidecar = Sidecar::load_beside(&model).unwrap().unwrap();
    assert_eq!(sidecar.labels_path(&sidecar_path(&model)), Some(repo_file("models/imagenet_classes.txt")));
}

#[test]
fn a_model_without_sidecar_has_none() {
    let model = repo_file("models/no_such_model.onnx");
    assert_eq!(Sidecar::load_beside(&model).unwrap(), None);
}

#[test]
fn a_full_sidecar_parses() {
    let text = r#"{"preprocess": "torchvision", "labels": "../l.txt", "layers": ["a", "b"], "description": "d"}"#;
    let sidecar = Sidecar::parse(text, Path::new("m/x.json")).unwrap();
    assert_eq!(sidecar.preprocess, Recipe::Torchvision);
    assert_eq!(sidecar.layers, Some(vec!["a".to_string(), "b".to_string()]));
    assert_eq!(sidecar.labels_path(Path::new("m/x.json")), Some(PathBuf::from("m/../l.txt")));
    let round_trip = serde_json::to_string(&sidecar).unwrap();
    assert_eq!(Sidecar::parse(&round_trip, Path::new("m/x.json")).unwrap(), sidecar);
}

fn sidecar_error(text: &str) -> (String, String) {
    match Sidecar::parse(text, Path::new("models/x.json")) {
        Err(Error::Sidecar { path, reason }) => (path, reason),
        other => panic!("expected Error::Sidecar, got {other:?}"),
    }
}

#[test]
fn an_unknown_sidecar_field_is_an_error_naming_file_and_field() {
    let (path, reason) = sidecar_error(r#"{"preprocess": "torchvision", "lables": "x.txt"}"#);
    assert_eq!(path, "models/x.json");
    assert!(reason.contains("unknown field `lables`"), "{reason}");
}

#[test]
fn a_sidecar_must_name_a_known_recipe() {
    let (_, reason) = sidecar_error(r#"{"labels": "x.txt"}"#);
    assert!(reason.contains("missing field `preprocess`"), "{reason}");
    let (_, reason) = sidecar_error(r#"{"preprocess": "inception"}"#);
    assert!(reason.contains("efficientnet-lite") && reason.contains("torchvision"), "{reason}");
    let (_, reason) = sidecar_error("{not json");
    assert!(reason.contains("line 1"), "{reason}");
}

// ---------------------------------------------------------------------------------------------
// Labels

#[test]
fn imagenet_labels_name_a_thousand_classes() {
    let labels = Labels::parse(&String::from_utf8(read("models/imagenet_classes.txt")).unwrap());
    assert_eq!(labels.len(), 1000);
    assert_eq!(labels.name(0), "tench");
    assert_eq!(labels.name(282), "tiger cat");
    assert_eq!(labels.name(967), "espresso");
    assert_eq!(labels.name(999), "toilet tissue");
    assert_eq!(labels.name(1000), "class 1000");
}

#[test]
fn labels_ignore_line_ends_and_trailing_blank_lines() {
    let labels = Labels::parse("cat\r\ndog\r\n\r\n");
    assert_eq!(labels.len(), 2);
    assert_eq!(labels.name(1), "dog");
    assert_eq!(labels.name(2), "class 2");
    assert!(Labels::parse("").is_empty());
    assert_eq!(Labels::parse("").name(0), "class 0");
}
