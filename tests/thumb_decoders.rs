//! JPEG XL and HEIC input end to end through `make_thumbnail`: each file becomes a thumbnail of
//! the right size and orientation whose pixels match the same thumbnail made from a reference
//! (the PNG or JPEG the file was made from, PSNR >= 30 dB), colour profiles are applied, and
//! damaged copies (truncations, bit flips) are per-file errors, never a panic.
//!
//! Lossless native JPEG XL and every HEIC file are made here (zune-jpegxl, heifer's encoder); the
//! lossy native and the JPEG transcode are small committed samples (tests/fixtures/README.md).
#![cfg(all(feature = "jxl", feature = "heic"))]

mod common;

use common::{assert_no_partial_files, run_job, write};
use image::codecs::png::PngEncoder;
use image::{DynamicImage, ExtendedColorType, GenericImageView, ImageEncoder, RgbaImage};
use moxcms::ColorProfile;
use shrinkwrap::engine::kinds::thumbs::decode::{DecodeScratch, InputFormat, decode};
use shrinkwrap::engine::kinds::thumbs::metadata::MetadataPolicy;
use shrinkwrap::engine::kinds::thumbs::render::OutputRequest;
use shrinkwrap::engine::kinds::thumbs::thumbnail::{
    ThumbParams, ThumbScratch, detect_format, has_image_extension, make_thumbnail, make_thumbnails,
};
use shrinkwrap::engine::{
    Engine, ItemError, JobSpec, JobState, ProblemKind, ThumbFormat, ThumbSpec,
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
}

/// A lossless PNG thumbnail of `data` fitting in `px` x `px`, read back as RGBA.
fn thumb(data: &[u8], px: u32) -> Result<RgbaImage, ItemError> {
    let t = make_thumbnail(
        data,
        &ThumbParams {
            max_side_px: px,
            format: ThumbFormat::Png,
            quality: 90,
        },
    )?;
    let img = image::load_from_memory(&t.encoded).unwrap().to_rgba8();
    assert_eq!(img.dimensions(), (t.width, t.height));
    Ok(img)
}

/// Each named thumbnail in `dir` is an image of its size.
fn assert_thumbnail_sizes(dir: &std::path::Path, sizes: &[(&str, (u32, u32))]) {
    for &(name, size) in sizes {
        let img = image::open(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((img.width(), img.height()), size, "{name}");
    }
}

/// Runs a thumbnail job (default options, on `workers` workers) of the folder `src`, which is
/// named `src`, into `out` beside it. The job ends with errors: each file in `sizes` has become
/// a thumbnail of that size, each in `damaged` is an error of its own, nothing partial is left.
fn thumbnail_folder_with_damaged_files(
    src: &std::path::Path,
    workers: usize,
    sizes: &[(&str, (u32, u32))],
    damaged: &[&str],
) -> shrinkwrap::engine::JobReport {
    let engine = Engine::new(workers);
    let out = src.parent().unwrap().join("out");
    let (report, _) = run_job(
        &engine,
        JobSpec::Thumbs(ThumbSpec::new(vec![src.to_path_buf()], out.clone())),
    );
    assert_eq!(report.progress.state, JobState::DoneWithErrors);
    assert_thumbnail_sizes(&out.join("src"), sizes);
    for &name in damaged {
        assert_eq!(problem_of(&report, name).kind, ProblemKind::Error, "{name}");
    }
    assert_eq!(report.progress.errors, damaged.len() as u64);
    assert_eq!(report.outputs.len(), sizes.len());
    assert_no_partial_files(&out);
    report
}

/// The problem the report gives for the file named `name`.
fn problem_of<'r>(
    report: &'r shrinkwrap::engine::JobReport,
    name: &str,
) -> &'r shrinkwrap::engine::ItemProblem {
    report
        .problems
        .iter()
        .find(|p| p.path.file_name().is_some_and(|n| n == name))
        .unwrap_or_else(|| panic!("{name} not reported: {:#?}", report.problems))
}

/// PSNR over all four channels, in dB (infinite for identical images).
fn psnr(a: &RgbaImage, b: &RgbaImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let mse = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum::<f64>()
        / a.as_raw().len() as f64;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

fn png(img: &RgbaImage, icc: Option<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = PngEncoder::new(&mut out);
    if let Some(icc) = icc {
        enc.set_icc_profile(icc).unwrap();
    }
    enc.write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        ExtendedColorType::Rgba8,
    )
    .unwrap();
    out
}

/// Smooth, saturated gradients with a dark block at the top left (shows the orientation), and
/// optionally alpha falling from left to right.
fn source(w: u32, h: u32, alpha: bool) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, y| {
        if x < w / 4 && y < h / 4 {
            return image::Rgba([10, 10, 10, 255]);
        }
        let a = if alpha {
            255 - (x * 200 / w) as u8
        } else {
            255
        };
        image::Rgba([
            (30 + x * 200 / w) as u8,
            (220 - y * 180 / h) as u8,
            (60 + (x + y) * 120 / (w + h)) as u8,
            a,
        ])
    })
}

/// Red and green both low: the dark block of the sources (the transcode sample's block keeps
/// its blue).
fn is_dark(img: &RgbaImage, x: u32, y: u32) -> bool {
    let p = img.get_pixel(x, y).0;
    p[0] < 40 && p[1] < 40
}

fn assert_close(got: &RgbaImage, want: &RgbaImage, what: &str) {
    let db = psnr(got, want);
    assert!(db >= 30.0, "{what}: PSNR {db:.1} dB");
}

// ---------------------------------------------------------------------------------------------
// JPEG XL

fn zune_jxl(img: &DynamicImage) -> Vec<u8> {
    use zune_core::bit_depth::BitDepth;
    use zune_core::colorspace::ColorSpace;
    use zune_core::options::EncoderOptions;
    let colorspace = match img {
        DynamicImage::ImageLuma8(_) => ColorSpace::Luma,
        DynamicImage::ImageLumaA8(_) => ColorSpace::LumaA,
        DynamicImage::ImageRgb8(_) => ColorSpace::RGB,
        DynamicImage::ImageRgba8(_) => ColorSpace::RGBA,
        other => panic!("no JPEG XL for {:?}", other.color()),
    };
    let options = EncoderOptions::new(
        img.width() as usize,
        img.height() as usize,
        colorspace,
        BitDepth::Eight,
    );
    let mut out = Vec::new();
    zune_jpegxl::JxlSimpleEncoder::new(img.as_bytes(), options)
        .encode(&mut out)
        .unwrap();
    out
}

#[test]
fn lossless_native_jxl_made_here_gives_the_pngs_thumbnail() {
    let rgba = source(120, 90, true);
    let sources = [
        DynamicImage::ImageRgba8(rgba.clone()),
        DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(rgba.clone()).to_rgb8()),
        DynamicImage::ImageLuma8(DynamicImage::ImageRgba8(rgba.clone()).to_luma8()),
        DynamicImage::ImageLumaA8(DynamicImage::ImageRgba8(rgba.clone()).to_luma_alpha8()),
    ];
    for img in sources {
        let what = format!("{:?}", img.color());
        let jxl = zune_jxl(&img);
        assert_eq!(detect_format(&jxl), Some(InputFormat::JpegXl), "{what}");
        let got = thumb(&jxl, 64).unwrap();
        assert_eq!(got.dimensions(), (64, 48), "{what}");
        let want = thumb(&png(&img.to_rgba8(), None), 64).unwrap();
        assert_close(&got, &want, &what);
        // Full size, the pixels are exactly the source's (lossless).
        let full = decode(&jxl, u32::MAX, &mut DecodeScratch::new()).unwrap();
        assert_eq!(full.image.to_rgba8(), img.to_rgba8(), "{what}");
        assert_eq!(full.source_size_px, (120, 90));
    }
}

#[test]
fn lossy_native_jxl_with_alpha_gives_the_pngs_thumbnail() {
    let jxl = fixture("native.jxl");
    let got = thumb(&jxl, 40).unwrap();
    assert_eq!(got.dimensions(), (40, 30));
    let want = thumb(&fixture("native.png"), 40).unwrap();
    assert_close(&got, &want, "native.jxl");
    // The alpha channel came through: opaque on the left, mostly transparent on the right.
    assert!(got.get_pixel(0, 15).0[3] > 240);
    assert!(got.get_pixel(39, 15).0[3] < 40);
}

/// `jpeg` without its APP2 (ICC profile) segments.
fn without_icc(jpeg: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF && jpeg[at + 1] != 0xDA {
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        if jpeg[at + 1] != 0xE2 {
            out.extend_from_slice(&jpeg[at..at + 2 + len]);
        }
        at += 2 + len;
    }
    out.extend_from_slice(&jpeg[at..]);
    out
}

#[test]
fn jpeg_transcode_jxl_is_upright_colour_managed_and_matches_its_jpeg() {
    // 96 x 64 stored, EXIF orientation 6 (turn 90 degrees clockwise), a P3 ICC profile.
    let jxl = fixture("transcode.jxl");
    let jpeg = fixture("transcode.jpg");
    let got = thumb(&jxl, 48).unwrap();
    assert_eq!(got.dimensions(), (32, 48));
    let want = thumb(&jpeg, 48).unwrap();
    assert_close(&got, &want, "transcode.jxl");
    // The dark block of the stored top left is now at the top right.
    assert!(is_dark(&got, 28, 4) && !is_dark(&got, 4, 4) && !is_dark(&got, 28, 44));
    // The profile was applied: the JPEG XL is nearer its colour-managed JPEG than the same
    // JPEG read as sRGB.
    let unmanaged = thumb(&without_icc(&jpeg), 48).unwrap();
    assert!(psnr(&got, &want) > psnr(&got, &unmanaged) + 3.0);
    // The metadata is read: EXIF (whose orientation the pixels already carry).
    let d = decode(&jxl, u32::MAX, &mut DecodeScratch::new()).unwrap();
    assert!(d.exif.as_deref().is_some_and(|e| e.starts_with(b"MM\0*")));
    assert_eq!(d.orientation, image::metadata::Orientation::NoTransforms);
    assert_eq!(d.source_size_px, (96, 64));
    assert!(d.icc_profile.is_some());
}

/// Writes bits least significant first, as JPEG XL does.
struct Bits {
    out: Vec<u8>,
    used: u32,
}

impl Bits {
    fn put(&mut self, value: u64, n: u32) {
        for i in 0..n {
            if self.used.is_multiple_of(8) {
                self.out.push(0);
            }
            let bit = ((value >> i) & 1) as u8;
            *self.out.last_mut().unwrap() |= bit << (self.used % 8);
            self.used += 1;
        }
    }
}

#[test]
fn a_jxl_header_claiming_65000_squared_pixels_is_refused_before_decoding() {
    let mut bits = Bits {
        out: vec![0xFF, 0x0A],
        used: 16,
    };
    bits.put(0, 1); // SizeHeader: not small
    bits.put(2, 2); // height - 1 in 18 bits
    bits.put(64_999, 18);
    bits.put(1, 3); // ratio 1:1, so the width is the height
    bits.put(1, 1); // ImageMetadata: all default
    bits.out.resize(bits.out.len() + 64, 0); // room for what follows
    let result = decode(&bits.out, 256, &mut DecodeScratch::new());
    assert!(
        matches!(
            result,
            Err(ItemError::TooLarge {
                width: 65000,
                height: 65000,
                ..
            })
        ),
        "{:?}",
        result.err()
    );
}

// ---------------------------------------------------------------------------------------------
// HEIC

/// Turns the first `pixi` property of a heifer file (the primary image's: 3 channels, 16
/// bytes) into an `irot` of the same size, so that the file says "turn by `quarters` x 90
/// degrees anticlockwise" without moving any offset.
fn with_irot(heic: Vec<u8>, quarters: u8) -> Vec<u8> {
    with_irot_on(heic, quarters, false)
}

/// [`with_irot`] on the first `pixi`, or on the last one (a large image's: its thumbnail's).
fn with_irot_on(mut heic: Vec<u8>, quarters: u8, last: bool) -> Vec<u8> {
    let mut found = heic
        .windows(8)
        .enumerate()
        .filter(|(_, w)| w == b"\0\0\0\x10pixi");
    let (at, _) = if last {
        found.next_back()
    } else {
        found.next()
    }
    .expect("a 3-channel pixi");
    let mut irot = b"\0\0\0\x10irot".to_vec();
    irot.push(quarters);
    irot.extend_from_slice(&[0; 7]);
    heic[at..at + 16].copy_from_slice(&irot);
    heic
}

/// A 10-bit HEIC of `img` (samples scaled to 10 bits), with an ICC profile when given.
fn heic_10_bit(img: &RgbaImage, icc: Option<Vec<u8>>) -> Vec<u8> {
    let image = heifer::Image {
        width: img.width(),
        height: img.height(),
        bit_depth: 10,
        has_alpha: false,
        data: img
            .as_raw()
            .iter()
            .map(|&v| (u32::from(v) * 1023 / 255) as u16)
            .collect(),
    };
    let meta = heifer::Metadata {
        icc_profile: icc,
        ..Default::default()
    };
    let options = heifer::EncodeOptions {
        quality: 95,
        max_threads: 1,
    };
    heifer::encode_with_metadata(&image, &meta, &options).unwrap()
}

#[test]
fn ten_bit_heic_with_irot_and_a_p3_profile_becomes_an_upright_srgb_thumbnail() {
    let p3 = ColorProfile::new_display_p3().encode().unwrap();
    let src = source(120, 80, false);
    let heic = with_irot(heic_10_bit(&src, Some(p3.clone())), 1);
    assert_eq!(detect_format(&heic), Some(InputFormat::Heif));
    let got = thumb(&heic, 60).unwrap();
    // 120 x 80 turned a quarter anticlockwise: 80 x 120, so 40 x 60.
    assert_eq!(got.dimensions(), (40, 60));
    let turned = image::imageops::rotate270(&src);
    let want = thumb(&png(&turned, Some(p3)), 60).unwrap();
    assert_close(&got, &want, "10-bit HEIC");
    // The stored top left is now at the bottom left.
    assert!(is_dark(&got, 4, 56) && !is_dark(&got, 4, 4) && !is_dark(&got, 36, 56));
    // The profile was applied.
    let unmanaged = thumb(&png(&turned, None), 60).unwrap();
    assert!(psnr(&got, &want) > psnr(&got, &unmanaged) + 3.0);
}

#[test]
fn a_heic_thumbnail_item_is_decoded_instead_when_it_is_large_enough_and_the_same_picture() {
    let p3 = ColorProfile::new_display_p3().encode().unwrap();
    let src = source(900, 600, false);
    // Over 512 pixels, heifer's encoder adds a 320-pixel thumbnail item, with the ICC profile.
    let heic = heic_10_bit(&src, Some(p3.clone()));
    let mut scratch = DecodeScratch::new();
    let small = decode(&heic, 200, &mut scratch).unwrap();
    assert_eq!(small.image.dimensions(), (320, 213)); // its clap crops 214 to 213
    assert_eq!(small.source_size_px, (900, 600));
    assert_eq!(small.icc_profile.as_deref(), Some(&p3[..]));
    // Asked for more than the thumbnail has: the whole image.
    let full = decode(&heic, 400, &mut scratch).unwrap();
    assert_eq!(full.image.dimensions(), (900, 600));
    // The thumbnail's pixels are the picture's.
    let got = thumb(&heic, 100).unwrap();
    assert_eq!(got.dimensions(), (100, 67));
    assert_close(
        &got,
        &thumb(&png(&src, Some(p3)), 100).unwrap(),
        "from the thumbnail item",
    );
    // The thumbnail turned by irot, the primary image not: the thumbnail would show it wrong,
    // so the whole image is decoded.
    let turned = with_irot_on(heic.clone(), 1, true);
    let d = decode(&turned, 200, &mut scratch).unwrap();
    assert_eq!(d.image.dimensions(), (900, 600));
    // No ICC profile (colour from nclx, converted by the decoder): the whole image too.
    let plain = heic_10_bit(&src, None);
    let d = decode(&plain, 200, &mut scratch).unwrap();
    assert_eq!(d.image.dimensions(), (900, 600));
}

/// A big-endian EXIF block (TIFF header on) with Model "Phone X" and Orientation `o`.
fn exif_model_and_orientation(o: u16) -> Vec<u8> {
    let mut t = b"MM\0*\0\0\0\x08".to_vec();
    t.extend_from_slice(&2u16.to_be_bytes());
    // Model (0x0110), ASCII, 8 bytes at offset 38 (after this IFD: 8 + 2 + 2 * 12 + 4).
    t.extend_from_slice(&[0x01, 0x10, 0, 2, 0, 0, 0, 8, 0, 0, 0, 38]);
    // Orientation (0x0112), SHORT, 1 value, in place.
    t.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1]);
    t.extend_from_slice(&o.to_be_bytes());
    t.extend_from_slice(&[0, 0]);
    t.extend_from_slice(&[0, 0, 0, 0]);
    t.extend_from_slice(b"Phone X\0");
    t
}

/// Thumbnails of `data` (whose container turns it, and whose EXIF says orientation 6 and model
/// "Phone X") in a `max_side_px` box, one keeping metadata and one stripping it: both `size`
/// (turned once), the kept EXIF with Orientation 1 and the model, the stripped one without EXIF.
fn assert_exif_kept_upright_or_stripped(data: &[u8], max_side_px: u32, size: (u32, u32)) {
    let base = OutputRequest::from_params(&ThumbParams {
        max_side_px,
        format: ThumbFormat::Jpeg,
        quality: 90,
    });
    let requests = [
        OutputRequest {
            metadata: MetadataPolicy::Keep,
            ..base
        },
        OutputRequest {
            metadata: MetadataPolicy::Strip,
            ..base
        },
    ];
    let outs = make_thumbnails(data, &requests, &mut ThumbScratch::default())
        .unwrap()
        .outputs;
    for out in &outs {
        assert_eq!((out.width_px, out.height_px), size);
    }
    let exif_of = |jpeg: &[u8]| {
        let mut decoder =
            image::ImageReader::with_format(std::io::Cursor::new(jpeg), image::ImageFormat::Jpeg)
                .into_decoder()
                .unwrap();
        image::ImageDecoder::exif_metadata(&mut decoder).unwrap()
    };
    let kept = exif_of(&outs[0].encoded).expect("EXIF kept");
    let kept = exif::Reader::new()
        .read_raw(kept.strip_prefix(b"Exif\0\0").unwrap_or(&kept).to_vec())
        .unwrap();
    let field = |tag| kept.get_field(tag, exif::In::PRIMARY).unwrap();
    assert_eq!(field(exif::Tag::Orientation).value.get_uint(0), Some(1));
    assert!(
        field(exif::Tag::Model)
            .display_value()
            .to_string()
            .contains("Phone X")
    );
    assert!(exif_of(&outs[1].encoded).is_none());
}

/// A HEIC turned by irot whose EXIF also says "orientation 6": HEIF says irot alone turns the
/// picture, so it is turned once; `keep` copies the EXIF with Orientation 1, `strip` drops it.
#[test]
fn heic_exif_follows_the_metadata_policy_and_its_orientation_is_not_applied_again() {
    let src = source(120, 80, false);
    let image = heifer::Image {
        width: 120,
        height: 80,
        bit_depth: 8,
        has_alpha: false,
        data: src.as_raw().iter().map(|&v| u16::from(v)).collect(),
    };
    let meta = heifer::Metadata {
        exif: Some(exif_model_and_orientation(6)),
        ..Default::default()
    };
    let options = heifer::EncodeOptions {
        quality: 90,
        max_threads: 1,
    };
    let mut heic = with_irot(
        heifer::encode_with_metadata(&image, &meta, &options).unwrap(),
        1,
    );
    // heifer writes the EXIF orientation as 1; put the 6 back, as a camera would leave it.
    let entry = [0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 1];
    let at = heic.windows(10).position(|w| w == entry).unwrap();
    heic[at + 9] = 6;
    let d = decode(&heic, u32::MAX, &mut DecodeScratch::new()).unwrap();
    assert_eq!(d.exif.as_deref(), Some(&exif_model_and_orientation(6)[..]));
    // Turned once: 40 x 60.
    assert_exif_kept_upright_or_stripped(&heic, 60, (40, 60));
}

#[test]
fn eight_bit_heic_with_alpha_and_nclx_gives_the_pngs_thumbnail() {
    let src = source(100, 50, true);
    let options = heifer::EncodeOptions {
        quality: 95,
        max_threads: 1,
    };
    let heic = heifer::encode_rgba8(100, 50, src.as_raw(), &options).unwrap();
    let got = thumb(&heic, 50).unwrap();
    assert_eq!(got.dimensions(), (50, 25));
    let want = thumb(&png(&src, None), 50).unwrap();
    assert_close(&got, &want, "8-bit HEIC with alpha");
    assert!(got.get_pixel(0, 12).0[3] > 240);
    assert!(got.get_pixel(49, 12).0[3] < 90);
    // Without transparency the alpha channel is dropped.
    let opaque = source(100, 50, false);
    let heic = heifer::encode_rgba8(100, 50, opaque.as_raw(), &options).unwrap();
    let d = decode(&heic, u32::MAX, &mut DecodeScratch::new()).unwrap();
    assert!(d.image.as_rgb8().is_some());
    assert_eq!(d.source_size_px, (100, 50));
}

#[test]
fn a_heic_whose_ispe_claims_65000_squared_pixels_is_refused_before_decoding() {
    let src = source(64, 64, false);
    let mut heic = heic_10_bit(&src, None);
    let at = heic.windows(4).position(|w| w == b"ispe").unwrap();
    // size, "ispe", version and flags, then width and height.
    heic[at + 8..at + 12].copy_from_slice(&65_000u32.to_be_bytes());
    heic[at + 12..at + 16].copy_from_slice(&65_000u32.to_be_bytes());
    let result = decode(&heic, 256, &mut DecodeScratch::new());
    assert!(
        matches!(
            result,
            Err(ItemError::TooLarge {
                width: 65000,
                height: 65000,
                ..
            })
        ),
        "{:?}",
        result.err()
    );
}

// ---------------------------------------------------------------------------------------------
// Both

#[test]
fn names_and_contents_of_the_new_formats_are_images() {
    for name in ["a.jxl", "IMG_0001.HEIC", "b.heif", "c.HIF"] {
        assert!(has_image_extension(name), "{name}");
    }
    assert_eq!(
        detect_format(&fixture("transcode.jxl")),
        Some(InputFormat::JpegXl)
    );
    // AVIF shares HEIF's container but is not HEVC: not taken for HEIC.
    assert_eq!(
        detect_format(b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf"),
        Some(InputFormat::Avif)
    );
    assert_eq!(
        detect_format(b"\0\0\0\x1cftypavis\0\0\0\0avismsf1miaf"),
        Some(InputFormat::Avif)
    );
    assert_eq!(
        detect_format(b"\0\0\0\x18ftypmif1\0\0\0\0mif1avif"),
        Some(InputFormat::Avif)
    );
    assert!(has_image_extension("photo.AVIF"));
    assert_eq!(
        detect_format(b"\0\0\0\x18ftypmif1\0\0\0\0mif1heic"),
        Some(InputFormat::Heif)
    );
}

/// `good` cut short and with bits flipped: each result is an error or a thumbnail of the right
/// size (`size` at 64 pixels), never a panic; cuts in the first half are errors.
fn assert_damage_is_per_file(name: &str, good: &[u8], size: (u32, u32)) {
    let whole = thumb(good, 64).unwrap();
    assert_eq!(whole.dimensions(), size, "{name}");
    let len = good.len();
    for tenth in 1..10 {
        let cut = len * tenth / 10;
        match thumb(&good[..cut], 64) {
            Ok(t) => assert_eq!(t.dimensions(), size, "{name} cut at {cut}"),
            Err(e) => assert!(
                matches!(
                    e,
                    ItemError::Damaged(_) | ItemError::BadImage(_) | ItemError::NotAnImage
                ),
                "{name} cut at {cut}: {e:?}"
            ),
        }
    }
    // Cut in the first half (headers and coded data): always an error.
    for cut in [3, 16, len / 4, len / 2] {
        assert!(
            thumb(&good[..cut], 64).is_err(),
            "{name} cut at {cut} gave a thumbnail"
        );
    }
    let mut errors = 0;
    for i in 0..24 {
        let mut bad = good.to_vec();
        let at = 2 + (len - 2) * i / 24;
        bad[at] ^= 1 << (i % 8);
        match thumb(&bad, 64) {
            Ok(t) => assert!(t.width() > 0 && t.height() > 0, "{name} flip at {at}"),
            Err(ItemError::Internal(m)) => panic!("{name} flip at {at}: internal {m}"),
            Err(_) => errors += 1,
        }
    }
    eprintln!("{name}: {errors} of 24 bit flips refused");
}

/// Every sample, cut short and with bits flipped: each result is an error or a thumbnail of the
/// right size, never a panic; cuts inside the coded image are errors.
#[test]
fn truncated_and_bit_flipped_files_are_per_file_errors() {
    let opts = heifer::EncodeOptions {
        quality: 90,
        max_threads: 1,
    };
    let alpha = source(100, 50, true);
    let samples: Vec<(&str, Vec<u8>, (u32, u32))> = vec![
        ("transcode.jxl", fixture("transcode.jxl"), (43, 64)),
        ("native.jxl", fixture("native.jxl"), (64, 48)),
        (
            "lossless.jxl",
            zune_jxl(&DynamicImage::ImageRgba8(source(120, 90, true))),
            (64, 48),
        ),
        (
            "10-bit.heic",
            with_irot(heic_10_bit(&source(120, 80, false), None), 1),
            (43, 64),
        ),
        (
            "alpha.heic",
            heifer::encode_rgba8(100, 50, alpha.as_raw(), &opts).unwrap(),
            (64, 32),
        ),
    ];
    for (name, good, size) in &samples {
        assert_damage_is_per_file(name, good, *size);
    }
}

/// A thumbnail job over a folder of HEIC and JPEG XL files (one without an extension, told by
/// its content), two of them damaged: the good ones are made upright at their size, the damaged
/// ones are errors of their own, and the job goes on.
#[test]
fn a_job_makes_heic_and_jxl_thumbnails_and_reports_damaged_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let heic = with_irot(heic_10_bit(&source(120, 80, false), None), 1);
    let jxl = fixture("transcode.jxl");
    write(&src.join("IMG_0001.HEIC"), &heic);
    write(&src.join("transcode.jxl"), &jxl);
    write(
        &src.join("alpha.heif"),
        &heifer::encode_rgba8(
            100,
            50,
            source(100, 50, true).as_raw(),
            &heifer::EncodeOptions::default(),
        )
        .unwrap(),
    );
    write(&src.join("no-extension"), &heic);
    write(&src.join("cut.heic"), &heic[..heic.len() / 2]);
    write(&src.join("cut.jxl"), &jxl[..40]);
    let damaged = ["cut.heic", "cut.jxl"];
    let report = thumbnail_folder_with_damaged_files(
        &src,
        1,
        &[
            ("IMG_0001.jpg", (80, 120)),
            ("transcode.jpg", (64, 96)),
            ("alpha.jpg", (100, 50)),
            ("no-extension.jpg", (80, 120)),
        ],
        &damaged,
    );
    for name in damaged {
        let cause = problem_of(&report, name).cause.to_string();
        assert!(cause.contains("damaged"), "{name}: {cause}");
    }
}

// ---------------------------------------------------------------------------------------------
// AVIF (committed samples made by tests/fixtures/make_avif.py with avifenc from the PNG of
// `source()` or `grey_source()` of the same size)

/// A grey ramp with a dark block at the top left (as `source`), as RGBA.
#[cfg(feature = "avif")]
fn grey_source(w: u32, h: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, y| {
        let v = if x < w / 4 && y < h / 4 {
            10
        } else {
            (40 + x * 150 / w + y * 50 / h) as u8
        };
        image::Rgba([v, v, v, 255])
    })
}

#[cfg(feature = "avif")]
#[test]
fn avif_samples_give_the_thumbnails_of_their_pngs() {
    let opaque = source(96, 64, false);
    for (name, src, size) in [
        ("avif-8bit-420.avif", opaque.clone(), (64, 43)),
        ("avif-10bit-alpha.avif", source(80, 60, true), (64, 48)),
        ("avif-12bit-444.avif", opaque.clone(), (64, 43)),
        ("avif-limited.avif", opaque.clone(), (64, 43)),
        ("avif-grey.avif", grey_source(96, 64), (64, 43)),
        ("avif-grid.avif", source(160, 128, false), (64, 51)),
    ] {
        let avif = fixture(name);
        assert_eq!(detect_format(&avif), Some(InputFormat::Avif), "{name}");
        let got = thumb(&avif, 64).unwrap();
        assert_eq!(got.dimensions(), size, "{name}");
        let want = thumb(&png(&src, None), 64).unwrap();
        assert_close(&got, &want, name);
        assert!(is_dark(&got, 2, 2) && !is_dark(&got, 60, 40), "{name}");
        // The whole image, not a thumbnail: every pixel close to the source.
        let d = decode(&avif, u32::MAX, &mut DecodeScratch::new()).unwrap();
        assert_eq!(d.source_size_px, src.dimensions(), "{name}");
        assert_close(&d.image.to_rgba8(), &src, name);
    }
    // Grey stays grey, alpha stays alpha, opaque colour is RGB; 10 and 12 bits arrive as 8.
    let d = |name| decode(&fixture(name), u32::MAX, &mut DecodeScratch::new()).unwrap();
    assert!(d("avif-grey.avif").image.as_luma8().is_some());
    let alpha = d("avif-10bit-alpha.avif");
    let rgba = alpha.image.as_rgba8().expect("alpha kept");
    assert!(rgba.get_pixel(79, 30).0[3] < 70 && rgba.get_pixel(25, 30).0[3] > 180);
    assert!(d("avif-12bit-444.avif").image.as_rgb8().is_some());
    assert!(d("avif-8bit-420.avif").icc_profile.is_none());
}

#[cfg(feature = "avif")]
#[test]
fn avif_irot_and_imir_are_applied_in_order() {
    // avifenc --irot 1 --imir 0: a quarter turn anticlockwise, then top and bottom exchanged.
    let src = source(96, 64, false);
    let turned = image::imageops::flip_vertical(&image::imageops::rotate270(&src));
    let got = thumb(&fixture("avif-irot-imir.avif"), 64).unwrap();
    assert_eq!(got.dimensions(), (43, 64));
    assert_close(&got, &thumb(&png(&turned, None), 64).unwrap(), "irot+imir");
    // The stored top left: turned to the bottom left, then mirrored to the top left.
    assert!(is_dark(&got, 2, 2) && !is_dark(&got, 2, 60) && !is_dark(&got, 40, 2));
}

#[cfg(feature = "avif")]
#[test]
fn an_avif_icc_profile_is_handed_on_and_applied() {
    let avif = fixture("avif-icc.avif");
    let d = decode(&avif, u32::MAX, &mut DecodeScratch::new()).unwrap();
    let icc = d.icc_profile.clone().expect("the file's ICC profile");
    let profile = ColorProfile::new_from_slice(&icc).unwrap();
    assert_eq!(profile.color_space, moxcms::DataColorSpace::Rgb);
    // The decoder leaves the pixels as coded; the colour stage converts them as for a PNG with
    // the same profile.
    let src = source(96, 64, false);
    assert_close(&d.image.to_rgba8(), &src, "coded pixels");
    let got = thumb(&avif, 64).unwrap();
    let want = thumb(&png(&src, Some(icc)), 64).unwrap();
    assert_close(&got, &want, "ICC AVIF");
    let unmanaged = thumb(&png(&src, None), 64).unwrap();
    assert!(psnr(&got, &want) > psnr(&got, &unmanaged) + 3.0);
}

#[cfg(feature = "avif")]
#[test]
fn avif_nclx_display_p3_is_converted_to_srgb() {
    // avifenc --cicp 12/13/1: the PNG's values taken as Display P3 (sRGB curve).
    let avif = fixture("avif-nclx-p3.avif");
    let d = decode(&avif, u32::MAX, &mut DecodeScratch::new()).unwrap();
    assert!(d.icc_profile.is_some(), "a profile for the P3 pixels");
    let src = source(96, 64, false);
    assert_close(&d.image.to_rgba8(), &src, "coded pixels");
    let got = thumb(&avif, 64).unwrap();
    let p3 = ColorProfile::new_display_p3().encode().unwrap();
    let want = thumb(&png(&src, Some(p3)), 64).unwrap();
    assert_close(&got, &want, "nclx P3 AVIF");
    let unmanaged = thumb(&png(&src, None), 64).unwrap();
    assert!(psnr(&got, &want) > psnr(&got, &unmanaged) + 3.0);
}

#[cfg(feature = "avif")]
#[test]
fn a_premultiplied_avif_gives_the_pngs_thumbnail() {
    // avifenc -p: colour stored multiplied by alpha, and the file says so (`prem`).
    let avif = fixture("avif-premultiplied.avif");
    assert!(avif.windows(4).any(|w| w == b"prem"));
    let got = thumb(&avif, 64).unwrap();
    let want = thumb(&png(&source(80, 60, true), None), 64).unwrap();
    assert_close(&got, &want, "premultiplied AVIF");
    // At the right edge (alpha 58 of 255) the colour is the source's, not a quarter of it.
    let d = decode(&avif, u32::MAX, &mut DecodeScratch::new()).unwrap();
    let px = d.image.as_rgba8().expect("alpha kept").get_pixel(79, 30).0;
    let want = source(80, 60, true).get_pixel(79, 30).0;
    assert!(
        px[0].abs_diff(want[0]) <= 8 && px[3].abs_diff(want[3]) <= 2,
        "{px:?} {want:?}"
    );
}

/// An AVIF turned by irot whose EXIF also says "orientation 6": turned once (HEIF's rule);
/// `keep` copies the EXIF with Orientation 1, `strip` drops it.
#[cfg(feature = "avif")]
#[test]
fn avif_exif_follows_the_metadata_policy_and_its_orientation_is_not_applied_again() {
    let avif = fixture("avif-exif.avif");
    let d = decode(&avif, u32::MAX, &mut DecodeScratch::new()).unwrap();
    assert_eq!(d.exif.as_deref(), Some(&exif_model_and_orientation(6)[..]));
    // 96 x 64 turned a quarter once: 64 x 96, so 43 x 64.
    assert_exif_kept_upright_or_stripped(&avif, 64, (43, 64));
}

#[cfg(feature = "avif")]
#[test]
fn an_avif_whose_ispe_claims_65500_squared_pixels_is_refused_before_decoding() {
    use shrinkwrap::engine::kinds::thumbs::cost::decode_cost;
    let mut avif = fixture("avif-8bit-420.avif");
    let at = avif.windows(4).position(|w| w == b"ispe").unwrap();
    avif[at + 8..at + 12].copy_from_slice(&65_500u32.to_be_bytes());
    avif[at + 12..at + 16].copy_from_slice(&65_500u32.to_be_bytes());
    let result = decode(&avif, 256, &mut DecodeScratch::new());
    assert!(
        matches!(
            result,
            Err(ItemError::TooLarge {
                width: 65500,
                height: 65500,
                ..
            })
        ),
        "{:?}",
        result.err()
    );
    // The memory it would take is told from the header alone, as for a good file.
    let cost = decode_cost(&avif, &[]).unwrap();
    assert_eq!(cost.source_px, (65_500, 65_500));
    assert!(cost.bytes > 65_500 * 65_500 * 8);
    let good = decode_cost(&fixture("avif-grid.avif"), &[]).unwrap();
    assert_eq!(good.source_px, (160, 128));
}

#[cfg(feature = "avif")]
#[test]
fn damaged_avifs_are_per_file_errors() {
    for (name, size) in [
        ("avif-8bit-420.avif", (64, 43)),
        ("avif-10bit-alpha.avif", (64, 48)),
        ("avif-12bit-444.avif", (64, 43)),
        ("avif-limited.avif", (64, 43)),
        ("avif-irot-imir.avif", (43, 64)),
        ("avif-icc.avif", (64, 43)),
        ("avif-grey.avif", (64, 43)),
        ("avif-grid.avif", (64, 51)),
        ("avif-premultiplied.avif", (64, 48)),
        ("avif-nclx-p3.avif", (64, 43)),
    ] {
        assert_damage_is_per_file(name, &fixture(name), size);
    }
    // Every single-bit flip of the smallest sample: an error or an image, and the process lives
    // on (rav1d 1.1 aborted it on byte 311, bit 5: a panic on its error path, inside an
    // `extern "C"` function, cannot unwind).
    let good = fixture("avif-8bit-420.avif");
    let mut scratch = DecodeScratch::new();
    for at in 0..good.len() {
        for bit in 0..8 {
            let mut bad = good.clone();
            bad[at] ^= 1 << bit;
            if let Err(ItemError::Internal(m)) = decode(&bad, 64, &mut scratch) {
                panic!("flip of bit {bit} at {at}: internal {m}");
            }
        }
    }
}

/// AVIF files in a real thumbnail job beside JPEGs: made upright at their size; a damaged one
/// is an error of its own and the job goes on.
#[cfg(feature = "avif")]
#[test]
fn a_job_makes_avif_thumbnails_beside_jpegs() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let avif = fixture("avif-irot-imir.avif");
    write(&src.join("turned.avif"), &avif);
    write(&src.join("grid.avif"), &fixture("avif-grid.avif"));
    write(&src.join("alpha.avif"), &fixture("avif-10bit-alpha.avif"));
    write(&src.join("cut.avif"), &avif[..avif.len() / 2]);
    let mut jpeg = Vec::new();
    DynamicImage::ImageRgba8(source(120, 80, false))
        .to_rgb8()
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    write(&src.join("photo.jpg"), &jpeg);
    thumbnail_folder_with_damaged_files(
        &src,
        2,
        &[
            ("turned.jpg", (64, 96)),
            ("grid.jpg", (160, 128)),
            ("alpha.jpg", (80, 60)),
            ("photo.jpg", (120, 80)),
        ],
        &["cut.avif"],
    );
}
