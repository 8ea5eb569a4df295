//! Thumbnail fidelity end to end through `make_thumbnails` / `render`: colour profiles
//! (Display P3, Adobe RGB, grey, CMYK) converted or kept, metadata per policy read back from
//! the output files, lossy WebP, several sizes from one decode. Every source image is made here.

use std::io::Cursor;

use exif::{In, Tag, Value};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageReader, RgbImage};
use moxcms::ColorProfile;
use shrinkwrap::engine::ThumbFormat;
use shrinkwrap::engine::kinds::thumbs::color::{ColorMode, ColorOutcome};
use shrinkwrap::engine::kinds::thumbs::decode::Decoded;
use shrinkwrap::engine::kinds::thumbs::metadata::MetadataPolicy;
use shrinkwrap::engine::kinds::thumbs::render::{OutputRequest, RenderScratch, Rendered, render};
use shrinkwrap::engine::kinds::thumbs::thumbnail::{ThumbScratch, make_thumbnails};

fn request(max_side_px: u32, format: ThumbFormat) -> OutputRequest {
    OutputRequest {
        size: max_side_px.into(),
        fit: shrinkwrap::engine::Fit::Contain,
        upscale: false,
        format,
        quality: 85,
        lossless: false,
        metadata: MetadataPolicy::Strip,
        color: ColorMode::ConvertToSrgb,
    }
}

/// A PNG of one flat colour, with an ICC profile.
fn flat_png(w: u32, h: u32, rgb: [u8; 3], icc: &[u8]) -> Vec<u8> {
    let img = RgbImage::from_pixel(w, h, image::Rgb(rgb));
    let mut out = Vec::new();
    let mut enc = PngEncoder::new(&mut out);
    enc.set_icc_profile(icc.to_vec()).unwrap();
    enc.write_image(img.as_raw(), w, h, ExtendedColorType::Rgb8)
        .unwrap();
    out
}

struct ReadBack {
    image: DynamicImage,
    icc: Option<Vec<u8>>,
    exif: Option<exif::Exif>,
    xmp: Option<Vec<u8>>,
}

/// Decodes an output file and reads its ICC profile, EXIF and XMP the way a viewer would.
fn read_back(file: &[u8]) -> ReadBack {
    let format = image::guess_format(file).unwrap();
    let mut decoder = ImageReader::with_format(Cursor::new(file), format)
        .into_decoder()
        .unwrap();
    let icc = decoder.icc_profile().unwrap();
    let exif = decoder.exif_metadata().unwrap().map(|mut e| {
        if e.starts_with(b"Exif\0\0") {
            e.drain(..6);
        }
        exif::Reader::new().read_raw(e).unwrap()
    });
    let xmp = decoder.xmp_metadata().unwrap();
    let image = DynamicImage::from_decoder(decoder).unwrap();
    ReadBack {
        image,
        icc,
        exif,
        xmp,
    }
}

fn center_rgb(img: &DynamicImage) -> [u8; 3] {
    img.to_rgb8().get_pixel(img.width() / 2, img.height() / 2).0
}

fn assert_close(got: [u8; 3], want: [u8; 3], tolerance: u8, what: &str) {
    assert!(
        got.iter()
            .zip(want)
            .all(|(&g, w)| g.abs_diff(w) <= tolerance),
        "{what}: got {got:?}, want {want:?} (+-{tolerance})"
    );
}

// Colorimetry written out independently of moxcms: RGB to XYZ matrices (D65) of the spaces'
// specifications, and the sRGB transfer function (IEC 61966-2-1).
const P3_TO_XYZ: [[f64; 3]; 3] = [
    [0.486_570_9, 0.265_667_7, 0.198_217_3],
    [0.228_974_6, 0.691_738_5, 0.079_286_9],
    [0.0, 0.045_113_4, 1.043_944_4],
];
const ADOBE_TO_XYZ: [[f64; 3]; 3] = [
    [0.576_730_9, 0.185_554_0, 0.188_185_2],
    [0.297_376_9, 0.627_349_1, 0.075_274_1],
    [0.027_034_3, 0.070_687_2, 0.991_108_5],
];
const XYZ_TO_SRGB: [[f64; 3]; 3] = [
    [3.240_454_2, -1.537_138_5, -0.498_531_4],
    [-0.969_266_0, 1.876_010_8, 0.041_556_0],
    [0.055_643_4, -0.204_025_9, 1.057_225_2],
];

fn srgb_decode(v: f64) -> f64 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

fn srgb_encode(v: f64) -> u8 {
    let v = v.clamp(0.0, 1.0);
    let e = if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    };
    (e * 255.0).round() as u8
}

/// The sRGB colour of `rgb` given in a space with `to_xyz` and `decode`, clipped to sRGB.
fn expected_srgb(rgb: [u8; 3], to_xyz: &[[f64; 3]; 3], decode: impl Fn(f64) -> f64) -> [u8; 3] {
    let lin = rgb.map(|c| decode(f64::from(c) / 255.0));
    let xyz: Vec<f64> = to_xyz
        .iter()
        .map(|row| row.iter().zip(lin).map(|(m, c)| m * c).sum())
        .collect();
    let out: Vec<u8> = XYZ_TO_SRGB
        .iter()
        .map(|row| srgb_encode(row.iter().zip(&xyz).map(|(m, c)| m * c).sum()))
        .collect();
    [out[0], out[1], out[2]]
}

#[test]
fn display_p3_and_adobe_rgb_are_converted_to_srgb() {
    let p3 = ColorProfile::new_display_p3().encode().unwrap();
    let adobe = ColorProfile::new_adobe_rgb().encode().unwrap();
    // Adobe RGB (1998) tone curve: gamma 563/256 (Adobe RGB (1998) specification 4.3.4.2).
    let adobe_decode = |v: f64| v.powf(563.0 / 256.0);
    let cases = [
        // The P3 red: a colour-managed viewer shows (201, 60, 40).
        (
            &p3,
            [186, 71, 50],
            expected_srgb([186, 71, 50], &P3_TO_XYZ, srgb_decode),
        ),
        // Pure P3 red is outside sRGB: clipped to about (255, 0, 0).
        (&p3, [255, 0, 0], [255, 0, 0]),
        (
            &adobe,
            [64, 200, 64],
            expected_srgb([64, 200, 64], &ADOBE_TO_XYZ, adobe_decode),
        ),
        // Saturated Adobe RGB green, clipped.
        (
            &adobe,
            [0, 255, 0],
            expected_srgb([0, 255, 0], &ADOBE_TO_XYZ, adobe_decode),
        ),
    ];
    assert_close(cases[0].2, [201, 60, 40], 2, "the reference maths");
    let mut scratch = ThumbScratch::default();
    for (icc, source, want) in cases {
        let png = flat_png(300, 200, source, icc);
        let out = make_thumbnails(&png, &[request(128, ThumbFormat::Png)], &mut scratch)
            .unwrap()
            .outputs;
        assert_eq!(out[0].color, ColorOutcome::Converted);
        let back = read_back(&out[0].encoded);
        assert_eq!(back.icc, None, "converted output carries no profile");
        assert_close(center_rgb(&back.image), want, 3, &format!("{source:?}"));
    }
    // The conversion is not a no-op: the P3 red really moved.
    assert_ne!(cases[0].1, cases[0].2);
}

#[test]
fn keep_profile_embeds_the_original_profile_in_every_format_and_leaves_pixels() {
    let adobe = ColorProfile::new_adobe_rgb().encode().unwrap();
    let png = flat_png(300, 200, [64, 200, 64], &adobe);
    let mut scratch = ThumbScratch::default();
    for format in [ThumbFormat::Jpeg, ThumbFormat::Png, ThumbFormat::Webp] {
        let mut req = request(128, format);
        req.color = ColorMode::KeepProfile;
        req.quality = 95;
        let out = make_thumbnails(&png, &[req], &mut scratch).unwrap().outputs;
        assert_eq!(out[0].color, ColorOutcome::ProfileKept);
        let back = read_back(&out[0].encoded);
        assert_eq!(back.icc.as_ref(), Some(&adobe), "{format:?}");
        assert_close(
            center_rgb(&back.image),
            [64, 200, 64],
            4,
            &format!("{format:?}"),
        );
    }
}

#[test]
fn grey_with_a_grey_profile_stays_grey_with_the_srgb_curve() {
    // A linear (gamma 1.0) grey profile: 50 % grey (128) is sRGB 188.
    let linear = ColorProfile::new_gray_with_gamma(1.0).encode().unwrap();
    let img = image::GrayImage::from_pixel(200, 100, image::Luma([128]));
    let mut png = Vec::new();
    let mut enc = PngEncoder::new(&mut png);
    enc.set_icc_profile(linear.clone()).unwrap();
    enc.write_image(img.as_raw(), 200, 100, ExtendedColorType::L8)
        .unwrap();
    let mut scratch = ThumbScratch::default();
    let out = make_thumbnails(&png, &[request(64, ThumbFormat::Png)], &mut scratch)
        .unwrap()
        .outputs;
    let back = read_back(&out[0].encoded);
    assert_eq!(back.image.color(), image::ColorType::L8, "grey stays grey");
    let v = back.image.to_luma8().get_pixel(10, 10).0[0];
    assert!((186..=190).contains(&v), "{v}");
    // Kept, the grey profile goes into a grey PNG unchanged.
    let mut req = request(64, ThumbFormat::Png);
    req.color = ColorMode::KeepProfile;
    let out = make_thumbnails(&png, &[req], &mut scratch).unwrap().outputs;
    let back = read_back(&out[0].encoded);
    assert_eq!(back.icc, Some(linear));
    assert_eq!(back.image.to_luma8().get_pixel(10, 10).0[0], 128);
}

/// A CMYK "press" profile made here: a lut16 (mft2) CMYK -> Lab table whose inks are duller
/// than the uncalibrated formula's (cyan ink is sRGB (0, 150, 220), not (0, 255, 255)).
fn cmyk_profile() -> Vec<u8> {
    use moxcms::{
        DataColorSpace, LutDataType, LutStore, LutType, LutWarehouse, Matrix3d, ProfileClass,
    };
    const GRID: usize = 3;
    let ink_srgb = |c: f64, m: f64, y: f64, k: f64| -> [f64; 3] {
        // Subtractive mix of dull inks: each ink filters the light by its own colour.
        let cyan = [0.0, 150.0 / 255.0, 220.0 / 255.0];
        let magenta = [230.0 / 255.0, 0.0, 130.0 / 255.0];
        let yellow = [1.0, 230.0 / 255.0, 0.0];
        let mut rgb = [1.0; 3];
        for (ch, v) in rgb.iter_mut().enumerate() {
            let lin = |ink: [f64; 3], amount: f64| 1.0 - amount * (1.0 - srgb_decode(ink[ch]));
            *v = lin(cyan, c) * lin(magenta, m) * lin(yellow, y) * (1.0 - k);
        }
        rgb
    };
    // sRGB linear -> XYZ (D65) -> XYZ (D50, Bradford) -> Lab (D50).
    let to_lab = |lin: [f64; 3]| -> [f64; 3] {
        const SRGB_TO_XYZ_D50: [[f64; 3]; 3] = [
            [0.436_074_7, 0.385_064_9, 0.143_080_4],
            [0.222_504_5, 0.716_878_6, 0.060_616_9],
            [0.013_932_2, 0.097_104_5, 0.714_173_3],
        ];
        let xyz: Vec<f64> = SRGB_TO_XYZ_D50
            .iter()
            .map(|r| r.iter().zip(lin).map(|(m, c)| m * c).sum())
            .collect();
        let white = [0.9642, 1.0, 0.8249];
        let f = |t: f64| {
            if t > 216.0 / 24389.0 {
                t.cbrt()
            } else {
                (24389.0 / 27.0 * t + 16.0) / 116.0
            }
        };
        let (fx, fy, fz) = (
            f(xyz[0] / white[0]),
            f(xyz[1] / white[1]),
            f(xyz[2] / white[2]),
        );
        [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
    };
    let mut clut = Vec::new();
    // mft2 grid order: the first input channel varies slowest.
    for c in 0..GRID {
        for m in 0..GRID {
            for y in 0..GRID {
                for k in 0..GRID {
                    let s = |i: usize| i as f64 / (GRID - 1) as f64;
                    let lab = to_lab(ink_srgb(s(c), s(m), s(y), s(k)));
                    // ICC v2 16-bit Lab: L 0..100 -> 0..0xFF00, a/b -128..127 -> 0..0xFF00.
                    clut.push((lab[0] / 100.0 * 65280.0).round().clamp(0.0, 65535.0) as u16);
                    clut.push(((lab[1] + 128.0) * 256.0).round().clamp(0.0, 65535.0) as u16);
                    clut.push(((lab[2] + 128.0) * 256.0).round().clamp(0.0, 65535.0) as u16);
                }
            }
        }
    }
    let identity = |channels: usize| -> LutStore {
        LutStore::Store16((0..channels).flat_map(|_| [0u16, 65535]).collect())
    };
    let lut = LutWarehouse::Lut(LutDataType {
        num_input_channels: 4,
        num_output_channels: 3,
        num_clut_grid_points: GRID as u8,
        matrix: Matrix3d::IDENTITY,
        num_input_table_entries: 2,
        num_output_table_entries: 2,
        input_table: identity(4),
        clut_table: LutStore::Store16(clut),
        output_table: identity(3),
        lut_type: LutType::Lut16,
    });
    let mut profile = ColorProfile::new_srgb();
    profile.color_space = DataColorSpace::Cmyk;
    profile.pcs = DataColorSpace::Lab;
    profile.profile_class = ProfileClass::OutputDevice;
    // Only what a CMYK profile has (moxcms 0.8 counts a CICP tag it does not write for CMYK).
    profile.cicp = None;
    profile.red_colorant = Default::default();
    profile.green_colorant = Default::default();
    profile.blue_colorant = Default::default();
    profile.red_trc = None;
    profile.green_trc = None;
    profile.blue_trc = None;
    profile.lut_a_to_b_perceptual = Some(lut.clone());
    profile.lut_a_to_b_colorimetric = Some(lut);
    profile.encode().unwrap()
}

fn decoded(image: DynamicImage, icc: Option<Vec<u8>>) -> Decoded {
    let size = (image.width(), image.height());
    Decoded {
        image,
        orientation: Orientation::NoTransforms,
        icc_profile: icc,
        exif: None,
        xmp: None,
        source_size_px: size,
        warnings: Vec::new(),
        pixels_are_cmyk_converted: false,
    }
}

#[test]
fn cmyk_pixels_go_through_their_cmyk_profile() {
    let icc = cmyk_profile();
    assert_eq!(&icc[16..20], b"CMYK");
    // What a decoder hands over for a CMYK JPEG: RGB by the uncalibrated formula. Left: 100 %
    // cyan ink (0, 255, 255); right: paper white.
    let img = RgbImage::from_fn(200, 100, |x, _| {
        if x < 100 {
            image::Rgb([0, 255, 255])
        } else {
            image::Rgb([255, 255, 255])
        }
    });
    let mut source = decoded(DynamicImage::ImageRgb8(img), Some(icc));
    source.pixels_are_cmyk_converted = true;
    let mut scratch = RenderScratch::new();
    let out = render(&mut source, &[request(100, ThumbFormat::Png)], &mut scratch).unwrap();
    assert_eq!(out[0].color, ColorOutcome::Converted);
    let back = read_back(&out[0].encoded).image.to_rgb8();
    assert_close(back.get_pixel(10, 25).0, [0, 150, 220], 6, "cyan ink");
    assert_close(back.get_pixel(90, 25).0, [255, 255, 255], 3, "paper");
    // A CMYK profile cannot go into an RGB file: "keep" converts instead.
    let mut req = request(100, ThumbFormat::Jpeg);
    req.color = ColorMode::KeepProfile;
    let out = render(&mut source, &[req], &mut scratch).unwrap();
    assert_eq!(out[0].color, ColorOutcome::Converted);
    assert_eq!(read_back(&out[0].encoded).icc, None);
}

/// The same flat colour as a JPEG, a PNG and a WebP source, each carrying `icc`.
fn flat_sources(rgb: [u8; 3], icc: &[u8], grey: bool) -> Vec<(&'static str, Vec<u8>)> {
    use img_parts::{ImageICC, jpeg::Jpeg, webp::WebP};
    let (w, h) = (240, 160);
    let (pixels, color) = if grey {
        (vec![rgb[0]; (w * h) as usize], ExtendedColorType::L8)
    } else {
        (
            RgbImage::from_pixel(w, h, image::Rgb(rgb)).into_raw(),
            ExtendedColorType::Rgb8,
        )
    };
    let mut png = Vec::new();
    let mut enc = PngEncoder::new(&mut png);
    enc.set_icc_profile(icc.to_vec()).unwrap();
    enc.write_image(&pixels, w, h, color).unwrap();
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 95)
        .write_image(&pixels, w, h, color)
        .unwrap();
    let mut jpeg = Jpeg::from_bytes(jpeg.into()).unwrap();
    jpeg.set_icc_profile(Some(icc.to_vec().into()));
    let jpeg = jpeg.encoder().bytes().to_vec();
    let mut webp = Vec::new();
    let rgb_pixels: Vec<u8> = if grey {
        pixels.iter().flat_map(|&v| [v, v, v]).collect()
    } else {
        pixels.clone()
    };
    image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
        .write_image(&rgb_pixels, w, h, ExtendedColorType::Rgb8)
        .unwrap();
    let mut webp = WebP::from_bytes(webp.into()).unwrap();
    webp.set_icc_profile(Some(icc.to_vec().into()));
    let webp = webp.encoder().bytes().to_vec();
    vec![("png", png), ("jpeg", jpeg), ("webp", webp)]
}

#[test]
fn a_profile_that_does_not_fit_the_pixels_is_ignored_with_a_warning_in_every_format() {
    // The case: RGB pixels (200, 60, 40) tagged with a CMYK profile came out
    // (255, 76, 33). A profile of another colour space than the pixels describes nothing.
    let cmyk = cmyk_profile();
    let grey = ColorProfile::new_gray_with_gamma(1.0).encode().unwrap();
    let p3 = ColorProfile::new_display_p3().encode().unwrap();
    let mut scratch = ThumbScratch::default();
    // (profile, what it is, source pixels grey)
    let cases: [(&[u8], &str, bool); 3] = [
        (&cmyk, "a CMYK profile", false),
        (&grey, "a grey profile", false),
        (&p3, "an RGB profile", true),
    ];
    for (icc, named, grey_pixels) in cases {
        let rgb = if grey_pixels {
            [120, 120, 120]
        } else {
            [200, 60, 40]
        };
        for (format, file) in flat_sources(rgb, icc, grey_pixels) {
            if grey_pixels && format == "webp" {
                // WebP has no grey pixels: an RGB profile fits what it holds.
                continue;
            }
            let what = format!("{named} on {format}");
            let made = make_thumbnails(&file, &[request(96, ThumbFormat::Png)], &mut scratch)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let out = &made.outputs[0];
            match &out.color {
                ColorOutcome::Ignored(why) => {
                    assert!(why.contains(named), "{what}: {why}")
                }
                other => panic!("{what}: the profile was applied: {other:?}"),
            }
            let back = read_back(&out.encoded);
            assert_eq!(back.icc, None, "{what}");
            // Lossless sources keep the exact colour; the JPEG source within its loss.
            assert_close(center_rgb(&back.image), rgb, 4, &what);
        }
    }
}

#[test]
fn transforms_are_built_once_per_profile_per_worker() {
    let adobe = ColorProfile::new_adobe_rgb().encode().unwrap();
    let p3 = ColorProfile::new_display_p3().encode().unwrap();
    let mut scratch = RenderScratch::new();
    for icc in [&adobe, &p3, &adobe, &adobe, &p3] {
        let mut source = decoded(
            DynamicImage::ImageRgb8(RgbImage::from_pixel(64, 64, image::Rgb([10, 200, 30]))),
            Some(icc.clone()),
        );
        render(&mut source, &[request(32, ThumbFormat::Png)], &mut scratch).unwrap();
    }
    assert_eq!(scratch.color_transforms_built(), 2);
}

/// A camera-like EXIF block: orientation 6, copyright, artist, date, camera and lens, GPS,
/// serial numbers, a maker note and an IFD1 thumbnail.
fn camera_exif() -> Vec<u8> {
    let ascii = |s: &str| Value::Ascii(vec![s.as_bytes().to_vec()]);
    let primary = [
        (Tag::Make, ascii("Canon")),
        (Tag::Model, ascii("EOS R5")),
        (Tag::Orientation, Value::Short(vec![6])),
        (Tag::Artist, ascii("A. Photographer")),
        (Tag::Copyright, ascii("(c) 2024 A. Photographer")),
        (Tag::ExifVersion, Value::Undefined(b"0232".to_vec(), 0)),
        (Tag::DateTimeOriginal, ascii("2024:05:06 07:08:09")),
        (Tag::BodySerialNumber, ascii("SN123456")),
        (Tag::LensModel, ascii("RF24-70mm F2.8 L IS USM")),
        (
            Tag::MakerNote,
            Value::Undefined(b"maker secrets".to_vec(), 0),
        ),
        (Tag::GPSLatitudeRef, ascii("N")),
        (
            Tag::GPSLatitude,
            Value::Rational(vec![(48, 1).into(), (51, 1).into(), (24, 1).into()]),
        ),
    ];
    let fields: Vec<exif::Field> = primary
        .into_iter()
        .map(|(tag, value)| exif::Field {
            tag,
            ifd_num: In::PRIMARY,
            value,
        })
        .collect();
    let thumb = exif::Field {
        tag: Tag::Compression,
        ifd_num: In::THUMBNAIL,
        value: Value::Short(vec![6]),
    };
    let thumb_jpeg = [0xFF, 0xD8, 0xFF, 0xD9];
    let mut w = exif::experimental::Writer::new();
    for f in &fields {
        w.push_field(f);
    }
    w.push_field(&thumb);
    w.set_jpeg(&thumb_jpeg, In::THUMBNAIL);
    let mut out = Cursor::new(Vec::new());
    w.write(&mut out, false).unwrap();
    out.into_inner()
}

/// A 600x400 JPEG, red on its top-left, with `camera_exif` and an XMP packet.
fn camera_jpeg() -> Vec<u8> {
    let img = RgbImage::from_fn(600, 400, |x, y| {
        if x < 300 && y < 200 {
            image::Rgb([220, 20, 20])
        } else {
            image::Rgb([20, 20, 220])
        }
    });
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 92)
        .write_image(img.as_raw(), 600, 400, ExtendedColorType::Rgb8)
        .unwrap();
    let exif = camera_exif();
    let xmp = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:Description tiff:Orientation='6' \
                exif:GPSLatitude='48,51.4N'/></x:xmpmeta>";
    shrinkwrap::engine::kinds::thumbs::encode::embed(
        ThumbFormat::Jpeg,
        jpeg,
        &shrinkwrap::engine::kinds::thumbs::encode::Embedded {
            icc_profile: None,
            exif: Some(&exif),
            xmp: Some(xmp),
        },
    )
    .unwrap()
}

fn uint(e: &exif::Exif, tag: Tag) -> Option<u32> {
    e.get_field(tag, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
}

#[test]
fn metadata_policy_is_read_back_from_every_output_format() {
    let jpeg = camera_jpeg();
    let mut scratch = ThumbScratch::default();
    for format in [ThumbFormat::Jpeg, ThumbFormat::Png, ThumbFormat::Webp] {
        let mut requests = Vec::new();
        for policy in MetadataPolicy::ALL {
            let mut r = request(256, format);
            r.metadata = policy;
            requests.push(r);
        }
        let outs: Vec<Rendered> = make_thumbnails(&jpeg, &requests, &mut scratch)
            .unwrap()
            .outputs;
        for (policy, out) in MetadataPolicy::ALL.into_iter().zip(&outs) {
            let what = format!("{format:?} {policy:?}");
            let back = read_back(&out.encoded);
            // Orientation 6 is applied to the pixels: upright 171x256, red now top-right.
            assert_eq!(
                (back.image.width(), back.image.height()),
                (171, 256),
                "{what}"
            );
            let px = back.image.to_rgb8().get_pixel(150, 20).0;
            assert!(px[0] > 150 && px[2] < 100, "{what}: not upright: {px:?}");
            match policy {
                MetadataPolicy::Strip => {
                    assert!(back.exif.is_none(), "{what}: EXIF written");
                    assert!(back.xmp.is_none(), "{what}: XMP written");
                }
                MetadataPolicy::KeepSafe => {
                    let e = back.exif.expect("EXIF kept");
                    assert_eq!(uint(&e, Tag::Orientation), Some(1), "{what}");
                    let copyright = e.get_field(Tag::Copyright, In::PRIMARY).unwrap();
                    assert_eq!(
                        copyright.display_value().to_string(),
                        "\"(c) 2024 A. Photographer\"",
                        "{what}"
                    );
                    for kept in [
                        Tag::Make,
                        Tag::Model,
                        Tag::Artist,
                        Tag::DateTimeOriginal,
                        Tag::LensModel,
                    ] {
                        assert!(
                            e.get_field(kept, In::PRIMARY).is_some(),
                            "{what}: {kept} lost"
                        );
                    }
                    for gone in [
                        Tag::GPSLatitude,
                        Tag::GPSLatitudeRef,
                        Tag::BodySerialNumber,
                        Tag::MakerNote,
                    ] {
                        assert!(
                            e.get_field(gone, In::PRIMARY).is_none(),
                            "{what}: {gone} kept"
                        );
                    }
                    assert!(
                        e.fields().all(|f| f.ifd_num == In::PRIMARY),
                        "{what}: IFD1 kept"
                    );
                    assert!(back.xmp.is_none(), "{what}: XMP kept");
                }
                MetadataPolicy::Keep => {
                    let e = back.exif.expect("EXIF kept");
                    assert_eq!(uint(&e, Tag::Orientation), Some(1), "{what}");
                    for kept in [
                        Tag::Copyright,
                        Tag::GPSLatitude,
                        Tag::BodySerialNumber,
                        Tag::MakerNote,
                    ] {
                        assert!(
                            e.get_field(kept, In::PRIMARY).is_some(),
                            "{what}: {kept} lost"
                        );
                    }
                    assert!(
                        e.fields().any(|f| f.ifd_num == In::THUMBNAIL),
                        "{what}: IFD1 lost"
                    );
                    let xmp = String::from_utf8(back.xmp.expect("XMP kept")).unwrap();
                    assert!(xmp.contains("tiff:Orientation='1'"), "{what}: {xmp}");
                    assert!(xmp.contains("GPSLatitude"), "{what}");
                }
            }
        }
    }
}

#[test]
fn lossy_webp_at_q80_is_smaller_than_lossless_and_decodes() {
    // A photo-like source: smooth shapes and fine noise.
    let mut seed = 7u32;
    let img = RgbImage::from_fn(640, 480, |x, y| {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let n = (seed >> 27) as f32;
        let (x, y) = (x as f32, y as f32);
        image::Rgb([
            (120.0 + 80.0 * (x / 37.0).sin() + n) as u8,
            (120.0 + 80.0 * (y / 23.0).cos() + n) as u8,
            (120.0 + 60.0 * ((x + y) / 51.0).sin() + n) as u8,
        ])
    });
    let mut png = Vec::new();
    DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let mut lossy = request(256, ThumbFormat::Webp);
    lossy.quality = 80;
    let mut lossless = lossy;
    lossless.lossless = true;
    let outs = make_thumbnails(&png, &[lossy, lossless], &mut ThumbScratch::default())
        .unwrap()
        .outputs;
    assert!(
        outs[0].encoded.len() < outs[1].encoded.len(),
        "lossy {} >= lossless {}",
        outs[0].encoded.len(),
        outs[1].encoded.len()
    );
    for out in &outs {
        assert_eq!(
            image::guess_format(&out.encoded).unwrap(),
            image::ImageFormat::WebP
        );
        let img = image::load_from_memory(&out.encoded).unwrap();
        assert_eq!((img.width(), img.height()), (256, 192));
    }
    // VP8 (lossy) and VP8L (lossless) bitstreams respectively.
    assert_eq!(&outs[0].encoded[12..16], b"VP8 ");
    assert_eq!(&outs[1].encoded[12..16], b"VP8L");
}

#[test]
fn several_sizes_and_formats_come_from_one_decode() {
    let jpeg = camera_jpeg();
    let requests = [
        request(256, ThumbFormat::Jpeg),
        request(64, ThumbFormat::Webp),
        request(1024, ThumbFormat::Png),
    ];
    let outs = make_thumbnails(&jpeg, &requests, &mut ThumbScratch::default())
        .unwrap()
        .outputs;
    let sizes: Vec<(u32, u32)> = outs.iter().map(|o| (o.width_px, o.height_px)).collect();
    // 600x400 turned upright (orientation 6): 400x600; 1024 does not upscale.
    assert_eq!(sizes, [(171, 256), (43, 64), (400, 600)]);
    for (out, want) in outs.iter().zip([
        image::ImageFormat::Jpeg,
        image::ImageFormat::WebP,
        image::ImageFormat::Png,
    ]) {
        assert_eq!(image::guess_format(&out.encoded).unwrap(), want);
        let img = image::load_from_memory(&out.encoded).unwrap();
        assert_eq!((img.width(), img.height()), (out.width_px, out.height_px));
    }
    // The same decoded image renders every request: render() takes it once.
    let mut source = decoded(
        DynamicImage::ImageRgb8(RgbImage::from_pixel(1000, 500, image::Rgb([1, 2, 3]))),
        None,
    );
    let outs = render(
        &mut source,
        &[
            request(256, ThumbFormat::Jpeg),
            request(100, ThumbFormat::Png),
        ],
        &mut RenderScratch::new(),
    )
    .unwrap();
    assert_eq!((outs[0].width_px, outs[0].height_px), (256, 128));
    assert_eq!((outs[1].width_px, outs[1].height_px), (100, 50));
}

/// Alpha is premultiplied while resizing (once, in place, for every size): transparent black
/// does not darken the opaque colour beside it, transparent pixels stay transparent, and an
/// image kept at its own size keeps its exact pixels, semi-transparent ones included.
#[test]
fn alpha_resizes_without_dark_fringes_and_own_size_keeps_exact_pixels() {
    let img = image::RgbaImage::from_fn(1000, 500, |x, _| {
        if x < 500 {
            image::Rgba([0, 0, 0, 0])
        } else {
            image::Rgba([220, 40, 30, 255])
        }
    });
    let mut source = decoded(DynamicImage::ImageRgba8(img), None);
    let outs = render(
        &mut source,
        &[
            request(100, ThumbFormat::Png),
            request(250, ThumbFormat::Png),
        ],
        &mut RenderScratch::new(),
    )
    .unwrap();
    for out in &outs {
        let thumb = image::load_from_memory(&out.encoded).unwrap().to_rgba8();
        let mut edge_pixels = 0;
        for p in thumb.pixels() {
            let [r, g, b, a] = p.0;
            if a == 0 {
                continue;
            }
            if a < 255 {
                edge_pixels += 1;
            }
            // Without premultiplication, the transparent black would pull these towards black
            // (about half way at half alpha). Faint pixels carry 8-bit rounding of colour x alpha.
            let tolerance = 2 + 255 / u32::from(a);
            // Lanczos3 rings a little above the colour at the edge; darkening is what must not be.
            let near = |v: u8, want: u32| {
                let v = u32::from(v);
                v + tolerance >= want && v <= want + 10 + tolerance
            };
            assert!(
                near(r, 220) && near(g, 40) && near(b, 30),
                "dark fringe at alpha {a}: {:?}",
                p.0
            );
        }
        assert!(edge_pixels > 0, "the edge should be blended");
        assert_eq!(
            thumb.get_pixel(0, 0).0[3],
            0,
            "transparent stays transparent"
        );
    }
    let small = image::RgbaImage::from_fn(40, 20, |x, y| {
        image::Rgba([(x * 6) as u8, (y * 12) as u8, 77, (x * 6 + y) as u8])
    });
    let mut source = decoded(DynamicImage::ImageRgba8(small.clone()), None);
    let out = render(
        &mut source,
        &[request(256, ThumbFormat::Png)],
        &mut RenderScratch::new(),
    )
    .unwrap();
    let kept = image::load_from_memory(&out[0].encoded).unwrap().to_rgba8();
    assert!(kept == small, "an image at its own size keeps its pixels");
}
