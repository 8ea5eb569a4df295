//! Making thumbnails: bytes of an image file in, bytes of encoded thumbnails out.
//!
//! Owns: the entry points that chain decoding (`decode`: format detection, limits, JPEG
//! shrink-on-load, the damaged-JPEG rules) with the post-decode pipeline (`render`: Lanczos3
//! resampling, colour, EXIF orientation, metadata, alpha and encoding), and the per-worker state
//! both keep between images. The file's header is read once ([`read_header`], shared with the
//! memory reservation) and handed in. Pure computation: no file system, no threads.
//! Must not touch: files, job state, any front end.

use std::cell::RefCell;

use crate::engine::kinds::thumbs::color::ColorMode;
pub use crate::engine::kinds::thumbs::cost::{ImageHeader, read_header};
use crate::engine::kinds::thumbs::decode::{DecodeScratch, Decoded, decode_keeping_ycc};
pub use crate::engine::kinds::thumbs::decode::{
    DecodeWarning, MAX_DECODE_ALLOC_BYTES, MAX_FILE_BYTES, MAX_PIXELS, detect_format,
};
use crate::engine::kinds::thumbs::metadata::MetadataPolicy;
use crate::engine::kinds::thumbs::render::{
    OutputRequest, RenderScratch, Rendered, decode_long_side_px, render_pixels, ycbcr_suffices,
};
use crate::engine::kinds::thumbs::spec::{Fit, ThumbFormat, ThumbSize};
use crate::engine::model::error::ItemError;

/// The three settings of [`make_thumbnail`]: a square box, a format and its quality.
#[derive(Debug, Clone, Copy)]
pub struct ThumbParams {
    /// The side of the square box, in pixels.
    pub max_side_px: u32,
    /// The output format.
    pub format: ThumbFormat,
    /// JPEG and lossy WebP quality, 1-100.
    pub quality: u8,
}

/// A finished thumbnail.
pub struct Thumbnail {
    /// The whole output file.
    pub encoded: Vec<u8>,
    /// Width after orientation, in pixels.
    pub width: u32,
    /// Height after orientation, in pixels.
    pub height: u32,
    /// Non-fatal findings of the decoder (e.g. a JPEG without its end marker), for the report.
    pub warnings: Vec<DecodeWarning>,
}

/// File name extensions (lower case, without the dot) that claim to be one of the images we
/// read. JPEG XL, HEIC/HEIF and AVIF are listed in every build: a build without their decoder
/// reports such files as images it cannot read.
pub const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "jpe", "jfif", "png", "webp", "gif", "bmp", "dib", "tif", "tiff", "jxl", "heic",
    "heif", "hif", "avif",
];

/// File name extensions that claim to be one of the images we read ([`IMAGE_EXTENSIONS`]).
pub fn has_image_extension(name: &str) -> bool {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    IMAGE_EXTENSIONS.contains(&ext.as_str())
}

/// Decodes `data`, fits it in a `max_side_px` square (never upscaling), applies the EXIF
/// orientation and encodes it, with the defaults of [`OutputRequest::from_params`] (metadata
/// stripped, colours converted to sRGB, lossy WebP). Keeps its decoder and render state in
/// thread-locals, so each worker thread builds them once.
pub fn make_thumbnail(data: &[u8], params: &ThumbParams) -> Result<Thumbnail, ItemError> {
    let made = make_thumbnails_on_this_thread(data, &[OutputRequest::from_params(params)])?;
    let r = made
        .outputs
        .into_iter()
        .next()
        .ok_or_else(|| ItemError::Internal("no thumbnail rendered".to_owned()))?;
    Ok(Thumbnail {
        encoded: r.encoded,
        width: r.width_px,
        height: r.height_px,
        warnings: made.warnings,
    })
}

/// Per-worker state for [`make_thumbnails`]: decoder and render scratch.
#[derive(Default)]
pub struct ThumbScratch {
    /// The decoder's state (libjpeg's decompressor, the pixel buffer).
    pub decode: DecodeScratch,
    /// The render's state (resizer, buffers, colour transforms, encoders).
    pub render: RenderScratch,
}

thread_local! {
    static WORKER_SCRATCH: RefCell<ThumbScratch> = RefCell::new(ThumbScratch::default());
}

/// [`make_thumbnails`] with this worker thread's reusable decoder and render state.
pub fn make_thumbnails_on_this_thread(
    data: &[u8],
    requests: &[OutputRequest],
) -> Result<Thumbnails, ItemError> {
    let header = needs_stored_size(requests)
        .then(|| read_header(data))
        .flatten();
    make_thumbnails_with_header_on_this_thread(data, header.as_ref(), requests)
}

/// [`make_thumbnails_with_header`] with this worker thread's reusable decoder and render state.
pub fn make_thumbnails_with_header_on_this_thread(
    data: &[u8],
    header: Option<&ImageHeader>,
    requests: &[OutputRequest],
) -> Result<Thumbnails, ItemError> {
    let make =
        |scratch: &mut ThumbScratch| make_thumbnails_with_header(data, header, requests, scratch);
    WORKER_SCRATCH
        .try_with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => make(&mut scratch),
            Err(_) => make(&mut ThumbScratch::default()),
        })
        .unwrap_or_else(|_| make(&mut ThumbScratch::default()))
}

/// The thumbnails of one image file, in the order of the requests, and what the decoder noted.
pub struct Thumbnails {
    /// One thumbnail per request, in the order of the requests.
    pub outputs: Vec<Rendered>,
    /// Non-fatal findings of the decoder, for the report.
    pub warnings: Vec<DecodeWarning>,
}

/// Every requested thumbnail of one image file, decoded once (at twice the largest size).
/// Errors: the decoder's (`NotAnImage`, `Empty`, `BadImage`, `Damaged`, `TooLarge`) and the
/// encoders' (`Encode`).
pub fn make_thumbnails(
    data: &[u8],
    requests: &[OutputRequest],
    scratch: &mut ThumbScratch,
) -> Result<Thumbnails, ItemError> {
    let header = needs_stored_size(requests)
        .then(|| read_header(data))
        .flatten();
    make_thumbnails_with_header(data, header.as_ref(), requests, scratch)
}

/// Whether some request fills or stretches to its box: it needs the image's shape (its stored
/// size, from the header) to know how large to decode.
fn needs_stored_size(requests: &[OutputRequest]) -> bool {
    requests.iter().any(|r| r.fit != Fit::Contain)
}

/// [`make_thumbnails`] with the file's header already read ([`read_header`], as the job does
/// to reserve the decode's memory), so that it is not read again; `None` when it could not be
/// read (then `cover` and `exact` decode at full size).
pub fn make_thumbnails_with_header(
    data: &[u8],
    header: Option<&ImageHeader>,
    requests: &[OutputRequest],
    scratch: &mut ThumbScratch,
) -> Result<Thumbnails, ItemError> {
    let source_px = header.map(|h| h.stored_px);
    let long_side_px = decode_long_side_px(requests, source_px);
    // A JPEG whose outputs need no RGB stays in its YCbCr from decoder to encoder.
    let ThumbScratch { decode, render } = scratch;
    let mut keep_ycc = |icc: Option<&[u8]>| ycbcr_suffices(icc, requests, render);
    let (mut decoded, ycbcr) = decode_keeping_ycc(data, long_side_px, decode, &mut keep_ycc)?;
    let outputs = render_pixels(&mut decoded, ycbcr, requests, render);
    let Decoded {
        image, warnings, ..
    } = decoded;
    // The pixel buffer goes back to the decoder for the next image.
    decode.recycle(image);
    Ok(Thumbnails {
        outputs: outputs?,
        warnings,
    })
}

impl OutputRequest {
    /// The request the three-field [`ThumbParams`] stand for: metadata stripped, colours
    /// converted to sRGB, WebP lossy at `quality`.
    pub fn from_params(params: &ThumbParams) -> Self {
        OutputRequest {
            size: ThumbSize::square(params.max_side_px),
            fit: Fit::Contain,
            upscale: false,
            format: params.format,
            quality: params.quality,
            lossless: false,
            metadata: MetadataPolicy::Strip,
            color: ColorMode::ConvertToSrgb,
        }
    }
}

pub use super::render::fit_size;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kinds::thumbs::decode::{DecodeScratch, decode, decode_keeping_ycc};
    use crate::engine::kinds::thumbs::jpeg::test_support::{
        Coding, Source, encode_sampled, with_segments,
    };
    use crate::engine::kinds::thumbs::render::{RenderScratch, render};

    /// A photo-like picture: smooth colour gradients, a disc with a hard edge, fine texture
    /// and mild noise, so that resampling and chroma have real work.
    fn photo(w: u32, h: u32) -> Vec<u8> {
        let mut seed = 0x1234_5678u32;
        let (cx, cy, r) = (w as f32 * 0.6, h as f32 * 0.4, h.min(w) as f32 * 0.25);
        (0..w * h)
            .flat_map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (seed >> 29) as f32 - 3.5;
                let inside = (x - cx).powi(2) + (y - cy).powi(2) < r * r;
                let texture = 18.0 * ((x * 0.9).sin() * (y * 0.7).cos());
                let (mut red, mut green, mut blue) = (
                    40.0 + 180.0 * x / w as f32,
                    60.0 + 150.0 * y / h as f32,
                    200.0 - 120.0 * (x + y) / (w + h) as f32,
                );
                if inside {
                    (red, green, blue) = (230.0, 60.0 + texture, 40.0);
                }
                let c = |v: f32| (v + noise + texture * 0.3).clamp(0.0, 255.0) as u8;
                [c(red), c(green), c(blue)]
            })
            .collect()
    }

    fn psnr(a: &[u8], b: &[u8]) -> f64 {
        assert_eq!(a.len(), b.len());
        let mse = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum::<f64>()
            / a.len() as f64;
        if mse == 0.0 {
            f64::INFINITY
        } else {
            10.0 * (255.0f64 * 255.0 / mse).log10()
        }
    }

    fn jpeg_request(side_px: u32) -> OutputRequest {
        OutputRequest::from_params(&ThumbParams {
            max_side_px: side_px,
            format: ThumbFormat::Jpeg,
            quality: 85,
        })
    }

    fn icc_segment(icc: &[u8]) -> (u8, Vec<u8>) {
        let mut payload = b"ICC_PROFILE\0\x01\x01".to_vec();
        payload.extend_from_slice(icc);
        (0xE2, payload)
    }

    /// Whether `make_thumbnails` would take the YCbCr path for `data` and `requests`.
    fn takes_ycbcr(data: &[u8], requests: &[OutputRequest]) -> bool {
        let mut render_scratch = RenderScratch::new();
        let mut keep = |icc: Option<&[u8]>| ycbcr_suffices(icc, requests, &mut render_scratch);
        decode_keeping_ycc(data, 512, &mut DecodeScratch::new(), &mut keep)
            .unwrap()
            .1
    }

    #[test]
    fn the_ycbcr_path_is_taken_only_when_no_step_needs_rgb() {
        let (w, h) = (320, 240);
        let rgb = photo(w, h);
        let plain = encode_sampled(w, h, Source::Rgb(&rgb), Coding::Baseline, 90, (2, 2));
        let jpeg = [jpeg_request(128)];
        assert!(takes_ycbcr(&plain, &jpeg), "no profile, JPEG out");
        let srgb = moxcms::ColorProfile::new_srgb().encode().unwrap();
        let tagged_srgb = with_segments(&plain, &[icc_segment(&srgb)]);
        assert!(takes_ycbcr(&tagged_srgb, &jpeg), "sRGB profile");
        // A profile to convert from needs RGB pixels.
        let p3 = moxcms::ColorProfile::new_display_p3().encode().unwrap();
        let tagged_p3 = with_segments(&plain, &[icc_segment(&p3)]);
        assert!(!takes_ycbcr(&tagged_p3, &jpeg), "Display P3 to convert");
        // ... unless every output keeps it as it is.
        let mut keep = jpeg_request(128);
        keep.color = ColorMode::KeepProfile;
        assert!(takes_ycbcr(&tagged_p3, &[keep]), "Display P3 kept");
        assert!(
            !takes_ycbcr(&tagged_p3, &[keep, jpeg[0]]),
            "kept and converted"
        );
        // PNG and WebP outputs are RGB, even beside a JPEG one.
        for format in [ThumbFormat::Png, ThumbFormat::Webp] {
            let mut other = jpeg_request(128);
            other.format = format;
            assert!(!takes_ycbcr(&plain, &[jpeg[0], other]), "{format:?}");
        }
        // Metadata kept or stripped does not look at the pixels.
        let mut with_meta = jpeg_request(128);
        with_meta.metadata = MetadataPolicy::Keep;
        assert!(takes_ycbcr(&plain, &[with_meta]), "metadata kept");
        // Grey JPEGs and other formats decode as they always did.
        let grey: Vec<u8> = rgb.iter().step_by(3).copied().collect();
        let grey_jpeg = encode_sampled(w, h, Source::Gray(&grey), Coding::Baseline, 90, (1, 1));
        assert!(!takes_ycbcr(&grey_jpeg, &jpeg), "grey");
        let mut png = Vec::new();
        image::RgbImage::from_raw(w, h, rgb.clone())
            .unwrap()
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert!(!takes_ycbcr(&png, &jpeg), "PNG");
        // The outcome reported for an sRGB-tagged source is the RGB path's.
        let made = make_thumbnails(&tagged_srgb, &jpeg, &mut ThumbScratch::default()).unwrap();
        assert_eq!(
            made.outputs[0].color,
            crate::engine::kinds::thumbs::color::ColorOutcome::AlreadySrgb
        );
    }

    #[test]
    fn the_ycbcr_path_matches_the_rgb_path() {
        let mut scratch = ThumbScratch::default();
        let mut rgb_decode = DecodeScratch::new();
        let mut rgb_render = RenderScratch::new();
        // Sources decoded at 1/1 (320 px), 1/2, 1/4 and 1/8 for 128 and 256 px boxes.
        for (w, h) in [(320u32, 240u32), (1000, 700), (900, 1400), (2100, 1500)] {
            let rgb = photo(w, h);
            let grey: Vec<u8> = rgb.iter().step_by(3).copied().collect();
            for (name, source, sampling, coding) in [
                ("4:4:4", Source::Rgb(&rgb), (1, 1), Coding::Baseline),
                ("4:2:2", Source::Rgb(&rgb), (2, 1), Coding::Baseline),
                ("4:2:0", Source::Rgb(&rgb), (2, 2), Coding::Baseline),
                (
                    "4:2:0 progressive",
                    Source::Rgb(&rgb),
                    (2, 2),
                    Coding::Progressive,
                ),
                ("grey", Source::Gray(&grey), (1, 1), Coding::Baseline),
            ] {
                let data = encode_sampled(w, h, source, coding, 92, sampling);
                for side_px in [128, 256] {
                    let requests = [jpeg_request(side_px)];
                    let ycc = make_thumbnails(&data, &requests, &mut scratch).unwrap();
                    let mut decoded = decode(&data, side_px * 2, &mut rgb_decode).unwrap();
                    let reference = render(&mut decoded, &requests, &mut rgb_render).unwrap();
                    let (a, b) = (&ycc.outputs[0], &reference[0]);
                    assert_eq!((a.width_px, a.height_px), (b.width_px, b.height_px));
                    let a_px = image::load_from_memory(&a.encoded).unwrap().to_rgb8();
                    let b_px = image::load_from_memory(&b.encoded).unwrap().to_rgb8();
                    let db = psnr(a_px.as_raw(), b_px.as_raw());
                    assert!(db >= 40.0, "{w}x{h} {name} at {side_px}: PSNR {db:.1} dB");
                    let max_diff = a_px
                        .as_raw()
                        .iter()
                        .zip(b_px.as_raw())
                        .map(|(x, y)| x.abs_diff(*y))
                        .max()
                        .unwrap_or(0);
                    assert!(
                        max_diff <= 24,
                        "{w}x{h} {name} at {side_px}: max {max_diff}"
                    );
                }
            }
        }
    }

    #[test]
    fn fit_never_upscales_and_keeps_aspect() {
        assert_eq!(fit_size(100, 50, 256), (100, 50));
        assert_eq!(fit_size(1000, 500, 256), (256, 128));
        assert_eq!(fit_size(500, 1000, 256), (128, 256));
        assert_eq!(fit_size(10_000, 1, 256), (256, 1));
    }
}
