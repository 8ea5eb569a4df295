//! Decoding an image file for thumbnailing: bytes of a whole file in, 8-bit pixels plus the
//! metadata the later steps need (orientation, ICC profile, EXIF, XMP) out.
//!
//! Owns: format detection by content, applying the safety limits of [`super::decoded`]
//! (pixels, decoder memory, file size: a hostile header gives an error, never an abort or an
//! out-of-memory kill) to the formats read here, JPEG through
//! libjpeg-turbo with DCT scaling chosen on the long side ([`super::jpeg`]), JPEG XL through
//! [`super::jxl`] (feature `jxl`), HEIC/HEIF through [`super::heif`] (feature `heic`), AVIF
//! through [`super::avif`] (feature `avif`), every other
//! format through the `image` crate, reduction of 16-bit and float samples to 8 bits, and the
//! per-worker decoder state ([`DecodeScratch`]).
//! Must not touch: files, threads, resampling, colour conversion beyond CMYK to RGB, encoding
//! (those belong to `thumbnail`, `color`, `encode`), job state, any front end.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

pub use crate::engine::kinds::thumbs::decoded::{
    DecodeWarning, Decoded, MAX_DECODE_ALLOC_BYTES, MAX_FILE_BYTES, MAX_PIXELS,
};
use crate::engine::kinds::thumbs::decoded::{check_size, drop_opaque_alpha, drop_unused_bmp_alpha};
use crate::engine::kinds::thumbs::jpeg::{
    JpegDecoder, JpegError, JpegPixels, JpegRequest, RECYCLE_MAX_BYTES, StreamEnd,
    end_before_foreign_data,
};
use crate::engine::model::error::ItemError;

/// Reusable per-worker decoder state (libjpeg structures, scratch buffers); created once per
/// worker thread. Creating one is cheap: the libjpeg decompressor is made on the first JPEG.
#[derive(Default)]
pub struct DecodeScratch {
    jpeg: Option<JpegDecoder>,
    /// The 8-bit pixel buffer of an earlier PNG, WebP, GIF, BMP or TIFF decode, for the next
    /// one to decode into (no fresh pages to fault in and zero per image); at most
    /// [`RASTER_RECYCLE_MAX_BYTES`]. Its bytes are stale until the decoder overwrites them.
    raster: Vec<u8>,
}

/// The largest pixel buffer of the `image` crate's decoders a worker keeps for the next image
/// (an RGBA image of 6 Mpx); larger ones are freed.
pub const RASTER_RECYCLE_MAX_BYTES: usize = 24 << 20;

impl DecodeScratch {
    /// Scratch state with nothing allocated yet.
    pub fn new() -> DecodeScratch {
        DecodeScratch::default()
    }

    /// Takes back the pixels of a [`Decoded`] image once it is rendered, for the next decode to
    /// write into: buffers of at most 4 MiB for JPEG ([`JpegDecoder::recycle`]), larger 8-bit
    /// ones of at most [`RASTER_RECYCLE_MAX_BYTES`] for the other formats; others are freed.
    pub fn recycle(&mut self, image: DynamicImage) {
        let buffer = match image {
            DynamicImage::ImageLuma8(buffer) => buffer.into_raw(),
            DynamicImage::ImageRgb8(buffer) => buffer.into_raw(),
            DynamicImage::ImageLumaA8(buffer) => buffer.into_raw(),
            DynamicImage::ImageRgba8(buffer) => buffer.into_raw(),
            _ => return,
        };
        match self.jpeg.as_mut() {
            Some(jpeg) if buffer.capacity() <= RECYCLE_MAX_BYTES => jpeg.recycle(buffer),
            _ if buffer.capacity() <= RASTER_RECYCLE_MAX_BYTES
                && buffer.capacity() > self.raster.capacity() =>
            {
                self.raster = buffer;
            }
            _ => {}
        }
    }

    /// A buffer of `len` bytes for a decoder to fill: the kept one when it is large enough
    /// (not zeroed: the decoder writes every byte), else a fresh one.
    fn raster_buffer(&mut self, len: usize) -> Vec<u8> {
        let mut buffer = std::mem::take(&mut self.raster);
        if buffer.capacity() < len {
            // Freed first, so that the old and the new buffer are never both held.
            drop(buffer);
            return vec![0; len];
        }
        if buffer.len() >= len {
            buffer.truncate(len);
        } else {
            buffer.resize(len, 0);
        }
        buffer
    }

    fn jpeg(&mut self) -> Result<&mut JpegDecoder, ItemError> {
        if self.jpeg.is_none() {
            let decoder = JpegDecoder::new()
                .map_err(|e| ItemError::Internal(format!("cannot set up the JPEG decoder: {e}")))?;
            self.jpeg = Some(decoder);
        }
        self.jpeg
            .as_mut()
            .ok_or_else(|| ItemError::Internal("JPEG decoder missing".to_owned()))
    }
}

/// An input format told by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// JPEG (libjpeg-turbo) or PNG, WebP, GIF, BMP, TIFF (the `image` crate).
    Raster(ImageFormat),
    /// JPEG XL, bare codestream or container.
    JpegXl,
    /// HEVC-coded HEIF (HEIC).
    Heif,
    /// AV1-coded HEIF (AVIF).
    Avif,
}

/// The image format of `data` by its content (magic bytes), when it is one we read: JPEG, PNG,
/// WebP, GIF, BMP, TIFF, JPEG XL, HEIC/HEIF or AVIF. JPEG XL, HEIC and AVIF are told even in a
/// build without their decoder (the `jxl`/`heic`/`avif` features), so that such a file is reported as an
/// image this build cannot read rather than passed over.
pub fn detect_format(data: &[u8]) -> Option<InputFormat> {
    if super::sniff::is_jxl(data) {
        return Some(InputFormat::JpegXl);
    }
    if super::sniff::is_heif(data) {
        return Some(InputFormat::Heif);
    }
    if super::sniff::is_avif(data) {
        return Some(InputFormat::Avif);
    }
    match image::guess_format(data).ok()? {
        f @ (ImageFormat::Jpeg
        | ImageFormat::Png
        | ImageFormat::WebP
        | ImageFormat::Gif
        | ImageFormat::Bmp
        | ImageFormat::Tiff) => Some(InputFormat::Raster(f)),
        _ => None,
    }
}

/// Decodes `data` (a whole file) so that the long side is at least `min_long_side_px` whenever the source is
/// that large (DCT scaling for JPEG picks the smallest 1/1, 1/2, 1/4, 1/8 that keeps the LONG side >= target).
///
/// Formats are told by content ([`detect_format`]). Animated GIF and WebP give their first frame.
///
/// Errors: [`ItemError::Empty`], [`ItemError::FileTooLarge`] (over [`MAX_FILE_BYTES`]),
/// [`ItemError::NotAnImage`], [`ItemError::TooLarge`] (over [`MAX_PIXELS`]),
/// [`ItemError::Damaged`] (truncated or corrupt data), [`ItemError::BadImage`] (anything else the
/// decoders refuse, including needing more than [`MAX_DECODE_ALLOC_BYTES`]).
pub fn decode(
    data: &[u8],
    min_long_side_px: u32,
    scratch: &mut DecodeScratch,
) -> Result<Decoded, ItemError> {
    decode_keeping_ycc(data, min_long_side_px, scratch, &mut |_| false).map(|(d, _)| d)
}

/// [`decode`], but a YCbCr-coded colour JPEG is handed over as YCbCr when `keep_ycc`, asked
/// with the file's ICC profile (`None`: it has none), says yes: then the second value is true
/// and the three channels of the `ImageRgb8` are the file's Y, Cb, Cr as coded (JFIF: BT.601,
/// full range, chroma centred on 128), without the decoder's conversion to RGB. Every other
/// file decodes as with [`decode`] (second value false).
pub fn decode_keeping_ycc(
    data: &[u8],
    min_long_side_px: u32,
    scratch: &mut DecodeScratch,
    keep_ycc: &mut dyn FnMut(Option<&[u8]>) -> bool,
) -> Result<(Decoded, bool), ItemError> {
    if data.is_empty() {
        return Err(ItemError::Empty);
    }
    if data.len() as u64 > MAX_FILE_BYTES {
        return Err(ItemError::FileTooLarge {
            bytes: data.len() as u64,
        });
    }
    match detect_format(data).ok_or(ItemError::NotAnImage)? {
        InputFormat::Raster(ImageFormat::Jpeg) => {
            decode_jpeg(data, min_long_side_px, scratch, keep_ycc)
        }
        InputFormat::Raster(format) => {
            decode_with_image_crate(data, format, min_long_side_px, scratch).map(|d| (d, false))
        }
        InputFormat::JpegXl => decode_jxl(data).map(|d| (d, false)),
        InputFormat::Heif => decode_heif(data, min_long_side_px).map(|d| (d, false)),
        InputFormat::Avif => decode_avif(data).map(|d| (d, false)),
    }
}

#[cfg(feature = "jxl")]
fn decode_jxl(data: &[u8]) -> Result<Decoded, ItemError> {
    super::jxl::decode_jxl(data)
}

#[cfg(not(feature = "jxl"))]
fn decode_jxl(_data: &[u8]) -> Result<Decoded, ItemError> {
    Err(ItemError::BadImage(
        "JPEG XL, which this build of Shrinkwrap does not read".to_owned(),
    ))
}

#[cfg(feature = "heic")]
fn decode_heif(data: &[u8], min_long_side_px: u32) -> Result<Decoded, ItemError> {
    super::heif::decode_heif(data, min_long_side_px)
}

#[cfg(not(feature = "heic"))]
fn decode_heif(_data: &[u8], _min_long_side_px: u32) -> Result<Decoded, ItemError> {
    Err(ItemError::BadImage(
        "HEIC/HEIF, which this build of Shrinkwrap does not read".to_owned(),
    ))
}

#[cfg(feature = "avif")]
fn decode_avif(data: &[u8]) -> Result<Decoded, ItemError> {
    super::avif::decode_avif(data)
}

#[cfg(not(feature = "avif"))]
fn decode_avif(_data: &[u8]) -> Result<Decoded, ItemError> {
    Err(ItemError::BadImage(
        "AVIF, which this build of Shrinkwrap does not read".to_owned(),
    ))
}

fn decode_jpeg(
    data: &[u8],
    min_long_side_px: u32,
    scratch: &mut DecodeScratch,
    keep_ycc: &mut dyn FnMut(Option<&[u8]>) -> bool,
) -> Result<(Decoded, bool), ItemError> {
    let request = JpegRequest {
        min_long_side_px,
        max_pixels: MAX_PIXELS,
        max_alloc_bytes: MAX_DECODE_ALLOC_BYTES,
    };
    let decoder = scratch.jpeg()?;
    let (jpeg, data_after_image) = match decoder.decode_keeping_ycc(data, &request, keep_ycc) {
        Ok(jpeg) => (jpeg, false),
        // A complete image followed by foreign bytes: decode what is the JPEG's own.
        Err(e) => match end_before_foreign_data(data) {
            Some(end) => {
                let mut own = Vec::with_capacity(end + 2);
                own.extend_from_slice(&data[..end]);
                own.extend_from_slice(&[0xFF, 0xD9]);
                match decoder.decode_keeping_ycc(&own, &request, keep_ycc) {
                    Ok(jpeg) => (jpeg, true),
                    Err(_) => return Err(map_jpeg_error(e)),
                }
            }
            None => return Err(map_jpeg_error(e)),
        },
    };
    let (w, h) = (jpeg.width_px, jpeg.height_px);
    let image = match jpeg.layout {
        JpegPixels::Luma8 => image::GrayImage::from_raw(w, h, jpeg.pixels).map(DynamicImage::from),
        JpegPixels::Rgb8 | JpegPixels::YCbCr8 => {
            image::RgbImage::from_raw(w, h, jpeg.pixels).map(DynamicImage::from)
        }
    }
    .ok_or_else(|| ItemError::Internal("JPEG pixel buffer does not match its size".to_owned()))?;
    let orientation = jpeg
        .exif
        .as_deref()
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let warnings = match jpeg.end {
        _ if data_after_image => vec![DecodeWarning::DataAfterImage],
        StreamEnd::EndMarker => Vec::new(),
        StreamEnd::MissingEndMarker => vec![DecodeWarning::MissingEndMarker],
    };
    let ycc = jpeg.layout == JpegPixels::YCbCr8;
    let decoded = Decoded {
        image,
        orientation,
        icc_profile: jpeg.icc_profile,
        exif: jpeg.exif,
        xmp: jpeg.xmp,
        source_size_px: (jpeg.source_width_px, jpeg.source_height_px),
        warnings,
        pixels_are_cmyk_converted: jpeg.converted_from_cmyk,
    };
    Ok((decoded, ycc))
}

fn map_jpeg_error(e: JpegError) -> ItemError {
    match e {
        JpegError::Truncated(_) => ItemError::Damaged(e.to_string()),
        JpegError::TooManyPixels {
            width_px,
            height_px,
        } => ItemError::TooLarge {
            width: u64::from(width_px),
            height: u64::from(height_px),
            limit_mpx: MAX_PIXELS / 1_000_000,
        },
        JpegError::TooMuchMemory { .. } => {
            ItemError::BadImage(format!("exceeds decoding limits ({e})"))
        }
        JpegError::Unsupported(_) => ItemError::BadImage(e.to_string()),
        JpegError::Invalid { .. } => ItemError::Damaged(e.to_string()),
    }
}

/// PNG, WebP, GIF, BMP and TIFF through the `image` crate, with limits. A large PNG is reduced
/// on load so that its long side stays at or above `min_long_side_px` (`png.rs`); every other
/// image is decoded whole.
fn decode_with_image_crate(
    data: &[u8],
    format: ImageFormat,
    min_long_side_px: u32,
    scratch: &mut DecodeScratch,
) -> Result<Decoded, ItemError> {
    let mut reader = ImageReader::with_format(Cursor::new(data), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_ALLOC_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(map_image_error)?;
    let (w, h) = decoder.dimensions();
    check_size(u64::from(w), u64::from(h))?;
    // Metadata that cannot be read is treated as absent: the pixels are what matters.
    let icc_profile = decoder.icc_profile().ok().flatten();
    let exif = decoder
        .exif_metadata()
        .ok()
        .flatten()
        .map(strip_exif_prefix);
    let xmp = decoder.xmp_metadata().ok().flatten();
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let reduced =
        if format == ImageFormat::Png && super::png::reduce_factor(w, h, min_long_side_px) > 1 {
            super::png::decode_reduced(data, min_long_side_px)?
        } else {
            None
        };
    let image = match (reduced, decoder.color_type()) {
        (Some(image), _) => image,
        // 8-bit pixels go straight into a reused buffer.
        (
            None,
            color @ (image::ColorType::L8
            | image::ColorType::La8
            | image::ColorType::Rgb8
            | image::ColorType::Rgba8),
        ) => {
            let len = usize::try_from(decoder.total_bytes())
                .map_err(|_| ItemError::BadImage(format!("{w}x{h} pixels")))?;
            let mut buffer = scratch.raster_buffer(len);
            decoder.read_image(&mut buffer).map_err(map_image_error)?;
            let mismatch = || ItemError::Internal("pixel buffer does not match its size".into());
            match color {
                image::ColorType::L8 => image::GrayImage::from_raw(w, h, buffer)
                    .map(DynamicImage::ImageLuma8)
                    .ok_or_else(mismatch)?,
                image::ColorType::La8 => image::GrayAlphaImage::from_raw(w, h, buffer)
                    .map(DynamicImage::ImageLumaA8)
                    .ok_or_else(mismatch)?,
                image::ColorType::Rgb8 => image::RgbImage::from_raw(w, h, buffer)
                    .map(DynamicImage::ImageRgb8)
                    .ok_or_else(mismatch)?,
                _ => image::RgbaImage::from_raw(w, h, buffer)
                    .map(DynamicImage::ImageRgba8)
                    .ok_or_else(mismatch)?,
            }
        }
        (None, _) => to_8_bit(DynamicImage::from_decoder(decoder).map_err(map_image_error)?),
    };
    let image = if format == ImageFormat::Bmp {
        drop_unused_bmp_alpha(image)?
    } else {
        image
    };
    Ok(Decoded {
        image: drop_opaque_alpha(image)?,
        orientation,
        icc_profile,
        exif,
        xmp,
        source_size_px: (w, h),
        warnings: Vec::new(),
        pixels_are_cmyk_converted: false,
    })
}

/// Some writers keep JPEG's "Exif\0\0" in PNG eXIf and WebP EXIF chunks; the block starts at
/// the TIFF header.
fn strip_exif_prefix(mut exif: Vec<u8>) -> Vec<u8> {
    if exif.starts_with(b"Exif\0\0") {
        exif.drain(..6);
    }
    exif
}

/// 16-bit and float images reduced to 8 bits per sample, keeping grey/colour and alpha.
fn to_8_bit(image: DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => image,
        DynamicImage::ImageLuma16(_) => DynamicImage::ImageLuma8(image.to_luma8()),
        DynamicImage::ImageLumaA16(_) => DynamicImage::ImageLumaA8(image.to_luma_alpha8()),
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    }
}

fn map_image_error(e: image::ImageError) -> ItemError {
    match e {
        image::ImageError::Limits(l) => {
            ItemError::BadImage(format!("exceeds decoding limits ({l})"))
        }
        image::ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            ItemError::Damaged("file is truncated".to_owned())
        }
        other => ItemError::BadImage(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kinds::thumbs::jpeg::test_support::{Coding, Source, encode, with_segments};
    use crate::engine::kinds::thumbs::spec::ThumbFormat;
    use crate::engine::kinds::thumbs::thumbnail::{ThumbParams, fit_size, make_thumbnail};
    use image::ImageEncoder;

    fn gradient_rgb(w: u32, h: u32) -> Vec<u8> {
        let mut v = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                v.extend_from_slice(&[
                    (x * 255 / w.max(2)) as u8,
                    (y * 255 / h.max(2)) as u8,
                    ((x + y) * 255 / (w + h)) as u8,
                ]);
            }
        }
        v
    }

    /// A baseline JPEG from the `image` crate's encoder (a different encoder than libjpeg).
    fn image_crate_jpeg(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .write_image(&gradient_rgb(w, h), w, h, image::ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    fn full_size(data: &[u8]) -> Decoded {
        decode(data, u32::MAX, &mut DecodeScratch::new()).unwrap()
    }

    /// A TIFF-structured EXIF block with only an orientation tag (EXIF 2.3 4.6.4, tag 0x0112).
    fn exif_with_orientation(orientation: u16) -> Vec<u8> {
        let mut tiff = vec![
            b'I', b'I', 0x2A, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0,
        ];
        tiff.extend_from_slice(&orientation.to_le_bytes());
        tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        tiff
    }

    fn app1_exif(orientation: u16) -> (u8, Vec<u8>) {
        let mut payload = b"Exif\0\0".to_vec();
        payload.extend(exif_with_orientation(orientation));
        (0xE1, payload)
    }

    fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
        assert_eq!(a.len(), b.len());
        let sum: u64 = a
            .iter()
            .zip(b)
            .map(|(x, y)| u64::from(x.abs_diff(*y)))
            .sum();
        sum as f64 / a.len() as f64
    }

    #[test]
    fn thin_jpegs_reach_the_requested_long_side() {
        let params = ThumbParams {
            max_side_px: 256,
            format: ThumbFormat::Png,
            quality: 85,
        };
        for (w, h) in [(600, 1), (1, 600), (1200, 2), (1999, 3), (2, 1200)] {
            let data = image_crate_jpeg(w, h);
            let decoded = decode(&data, 512, &mut DecodeScratch::new()).unwrap();
            let long = decoded.image.width().max(decoded.image.height());
            assert!(long >= 512, "{w}x{h} decoded at {long} on the long side");
            assert_eq!(decoded.source_size_px, (w, h));

            let thumb = make_thumbnail(&data, &params).unwrap();
            assert_eq!((thumb.width, thumb.height), fit_size(w, h, 256), "{w}x{h}");
            assert_eq!(thumb.width.max(thumb.height), 256, "{w}x{h}");
            let written = image::load_from_memory(&thumb.encoded).unwrap();
            assert_eq!(
                (written.width(), written.height()),
                (thumb.width, thumb.height)
            );
        }
    }

    #[test]
    fn dct_scaling_decodes_large_images_smaller_but_never_below_the_target() {
        let data = encode(
            2000,
            1000,
            Source::Rgb(&gradient_rgb(2000, 1000)),
            Coding::Progressive,
            85,
        );
        for (target, expected) in [(250, (250, 125)), (251, (500, 250)), (600, (1000, 500))] {
            let d = decode(&data, target, &mut DecodeScratch::new()).unwrap();
            assert_eq!(
                (d.image.width(), d.image.height()),
                expected,
                "target {target}"
            );
            assert_eq!(d.source_size_px, (2000, 1000));
        }
    }

    #[test]
    fn the_first_exif_block_gives_the_orientation() {
        let base = image_crate_jpeg(40, 20);
        let six_then_one = with_segments(&base, &[app1_exif(6), app1_exif(1)]);
        let d = full_size(&six_then_one);
        assert_eq!(d.orientation, Orientation::Rotate90);
        assert_eq!(d.exif.as_deref(), Some(&exif_with_orientation(6)[..]));

        let one_then_six = with_segments(&base, &[app1_exif(1), app1_exif(6)]);
        let d = full_size(&one_then_six);
        assert_eq!(d.orientation, Orientation::NoTransforms);
        assert_eq!(d.exif.as_deref(), Some(&exif_with_orientation(1)[..]));

        // And through the whole thumbnail step: 40x20 turned a quarter is 20x40.
        let params = ThumbParams {
            max_side_px: 256,
            format: ThumbFormat::Png,
            quality: 85,
        };
        let t = make_thumbnail(&six_then_one, &params).unwrap();
        assert_eq!((t.width, t.height), (20, 40));
        let t = make_thumbnail(&one_then_six, &params).unwrap();
        assert_eq!((t.width, t.height), (40, 20));
    }

    #[test]
    fn a_jpeg_missing_only_its_end_marker_decodes_with_a_warning() {
        let rgb = gradient_rgb(64, 48);
        for (name, data) in [
            ("image crate baseline", image_crate_jpeg(64, 48)),
            (
                "libjpeg baseline",
                encode(64, 48, Source::Rgb(&rgb), Coding::Baseline, 90),
            ),
            (
                "progressive",
                encode(64, 48, Source::Rgb(&rgb), Coding::Progressive, 90),
            ),
        ] {
            assert_eq!(data[data.len() - 2..], [0xFF, 0xD9], "{name}");
            let complete = full_size(&data);
            assert!(complete.warnings.is_empty(), "{name}");
            let cut = full_size(&data[..data.len() - 2]);
            assert_eq!(
                cut.warnings,
                vec![DecodeWarning::MissingEndMarker],
                "{name}"
            );
            assert_eq!(cut.image.as_bytes(), complete.image.as_bytes(), "{name}");
        }
    }

    #[test]
    fn bytes_after_a_complete_image_are_a_warning_not_an_error() {
        // Phone panoramas and motion photos: every scan complete, no EOI, other bytes after
        // (here an unknown marker 0xFF8E, then a video-like payload).
        let rgb = gradient_rgb(80, 56);
        let mut trailing = vec![0xFF, 0x8E, 0x00, 0x10];
        trailing.extend((0..4096u32).map(|i| (i * 31 % 251) as u8));
        for coding in [
            Coding::Baseline,
            Coding::Progressive,
            Coding::ArithmeticSequential,
        ] {
            let data = encode(80, 56, Source::Rgb(&rgb), coding, 90);
            let complete = full_size(&data);
            let mut motion = data[..data.len() - 2].to_vec();
            motion.extend_from_slice(&trailing);
            let mut scratch = DecodeScratch::new();
            match decode(&motion, u32::MAX, &mut scratch) {
                Ok(d) => {
                    // libjpeg reads a baseline file's rows before it meets the foreign marker
                    // and may end without complaint; a progressive file is read whole first.
                    let warned = d.warnings == vec![DecodeWarning::DataAfterImage];
                    assert!(
                        warned || d.warnings.is_empty(),
                        "{coding:?}: {:?}",
                        d.warnings
                    );
                    if coding == Coding::Progressive {
                        assert!(warned, "{coding:?}: the ignored data is said");
                    }
                    assert_eq!(d.image.as_bytes(), complete.image.as_bytes(), "{coding:?}");
                }
                Err(e) => panic!("{coding:?}: a complete image with data after it: {e}"),
            }
            // The decoder is fine for the next image.
            assert!(decode(&data, u32::MAX, &mut scratch).is_ok(), "{coding:?}");
        }
    }

    /// Offset of the first byte after the first SOS header.
    fn first_scan_data(data: &[u8]) -> usize {
        let sos = data.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        sos + 2 + usize::from(u16::from_be_bytes([data[sos + 2], data[sos + 3]]))
    }

    #[test]
    fn a_jpeg_cut_inside_its_data_is_damaged() {
        let rgb = gradient_rgb(96, 64);
        for coding in [
            Coding::Baseline,
            Coding::Progressive,
            Coding::ArithmeticSequential,
            Coding::ArithmeticProgressive,
        ] {
            let data = encode(96, 64, Source::Rgb(&rgb), coding, 90);
            let complete = full_size(&data);
            let mut scratch = DecodeScratch::new();
            let half = data.len() / 2;
            assert!(
                matches!(
                    decode(&data[..half], u32::MAX, &mut scratch),
                    Err(ItemError::Damaged(_))
                ),
                "{coding:?} cut in half"
            );
            // Every cut from the first scan's data to just before EOI: damaged, or (when only
            // padding bits were lost) exactly the complete image with the warning.
            let mut damaged = 0;
            for end in first_scan_data(&data)..data.len() - 2 {
                match decode(&data[..end], u32::MAX, &mut scratch) {
                    Err(ItemError::Damaged(_)) => damaged += 1,
                    Ok(d) => {
                        assert_eq!(d.warnings, vec![DecodeWarning::MissingEndMarker]);
                        assert_eq!(
                            d.image.as_bytes(),
                            complete.image.as_bytes(),
                            "{coding:?} cut at {end} of {} decoded to other pixels",
                            data.len()
                        );
                    }
                    Err(other) => panic!("{coding:?} cut at {end}: {other}"),
                }
            }
            let cuts = data.len() - 2 - first_scan_data(&data);
            assert!(
                damaged + 2 >= cuts,
                "{coding:?}: only {damaged} of {cuts} cuts damaged"
            );
            // The decoder is fine afterwards.
            let again = decode(&data, u32::MAX, &mut scratch).unwrap();
            assert_eq!(again.image.as_bytes(), complete.image.as_bytes());
        }
    }

    #[test]
    fn a_jpeg_cut_inside_its_header_is_damaged() {
        let data = image_crate_jpeg(64, 48);
        let header_end = first_scan_data(&data);
        for end in [3, 20, header_end - 5, header_end] {
            assert!(
                matches!(full_size_result(&data[..end]), Err(ItemError::Damaged(_))),
                "cut at {end}"
            );
        }
    }

    fn full_size_result(data: &[u8]) -> Result<Decoded, ItemError> {
        decode(data, u32::MAX, &mut DecodeScratch::new())
    }

    #[test]
    fn arithmetic_coded_jpegs_decode_to_the_same_pixels_as_huffman_ones() {
        let (w, h) = (120, 80);
        let rgb = gradient_rgb(w, h);
        for (huffman, arithmetic, sof) in [
            (Coding::Baseline, Coding::ArithmeticSequential, 0xC9),
            (Coding::Progressive, Coding::ArithmeticProgressive, 0xCA),
        ] {
            let reference = encode(w, h, Source::Rgb(&rgb), huffman, 85);
            let data = encode(w, h, Source::Rgb(&rgb), arithmetic, 85);
            assert!(
                data.windows(2).any(|m| m == [0xFF, sof]),
                "SOF {sof:#x} written"
            );
            let d = full_size(&data);
            // Arithmetic and Huffman coding carry the same quantised coefficients.
            assert_eq!(d.image.as_bytes(), full_size(&reference).image.as_bytes());
            assert!(mean_abs_diff(d.image.as_bytes(), &rgb) < 3.0);
            // DCT scaling works for them too.
            let small = decode(&data, 30, &mut DecodeScratch::new()).unwrap();
            assert_eq!((small.image.width(), small.image.height()), (30, 20));
        }
    }

    #[test]
    fn icc_exif_and_xmp_are_extracted() {
        let profile: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
        // Three APP2 chunks of at most 65,519 bytes, written out of order.
        let chunks: Vec<&[u8]> = profile.chunks(65_000).collect();
        assert_eq!(chunks.len(), 3);
        let app2 = |seq: u8| {
            let mut p = b"ICC_PROFILE\0".to_vec();
            p.extend_from_slice(&[seq, 3]);
            p.extend_from_slice(chunks[usize::from(seq) - 1]);
            (0xE2, p)
        };
        let xmp_packet = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>hello</x:xmpmeta>".to_vec();
        let mut xmp_segment = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
        xmp_segment.extend_from_slice(&xmp_packet);
        let data = with_segments(
            &image_crate_jpeg(32, 32),
            &[app1_exif(3), app2(2), (0xE1, xmp_segment), app2(1), app2(3)],
        );
        let d = full_size(&data);
        assert_eq!(d.icc_profile.as_deref(), Some(&profile[..]));
        assert_eq!(d.exif.as_deref(), Some(&exif_with_orientation(3)[..]));
        assert_eq!(d.orientation, Orientation::Rotate180);
        assert_eq!(d.xmp.as_deref(), Some(&xmp_packet[..]));

        let plain = full_size(&image_crate_jpeg(32, 32));
        assert!(plain.icc_profile.is_none() && plain.exif.is_none() && plain.xmp.is_none());
    }

    #[test]
    fn cmyk_and_ycck_jpegs_decode_with_correct_colours() {
        // Four 16x16 patches: cyan, red (magenta + yellow), 50 % black, white; stored inverted
        // (255 - ink) as Photoshop does in files with the Adobe marker.
        let inks: [[u8; 4]; 4] = [[255, 0, 0, 0], [0, 255, 255, 0], [0, 0, 0, 128], [0; 4]];
        let expected: [[u8; 3]; 4] = [[0, 255, 255], [255, 0, 0], [127, 127, 127], [255; 3]];
        let (w, h) = (64, 16);
        let mut samples = Vec::new();
        for _y in 0..h {
            for x in 0..w {
                samples.extend(inks[(x / 16) as usize].iter().map(|v| 255 - v));
            }
        }
        for ycck in [false, true] {
            let data = encode(
                w,
                h,
                Source::Cmyk {
                    samples: &samples,
                    ycck,
                },
                Coding::Baseline,
                95,
            );
            assert!(
                data.windows(7).any(|m| m == b"\xFF\xEE\x00\x0EAdo"),
                "Adobe marker"
            );
            let d = full_size(&data);
            assert!(d.pixels_are_cmyk_converted);
            let rgb = d.image.as_rgb8().expect("CMYK arrives as RGB");
            for (patch, want) in expected.iter().enumerate() {
                let px = rgb.get_pixel(patch as u32 * 16 + 8, 8).0;
                for c in 0..3 {
                    assert!(
                        px[c].abs_diff(want[c]) <= 6,
                        "ycck={ycck} patch {patch}: {px:?} instead of {want:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn grey_jpegs_stay_grey() {
        let grey: Vec<u8> = (0..64 * 32).map(|i| (i % 256) as u8).collect();
        let data = encode(64, 32, Source::Gray(&grey), Coding::Baseline, 95);
        let d = full_size(&data);
        assert!(d.image.as_luma8().is_some());
        assert!(mean_abs_diff(d.image.as_bytes(), &grey) < 2.0);
    }

    #[test]
    fn bad_and_hostile_jpegs_are_errors_and_the_decoder_carries_on() {
        let good = image_crate_jpeg(64, 48);
        let expected = full_size(&good);
        let mut scratch = DecodeScratch::new();
        let sof = good.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();

        // A frame header claiming 65,000 x 65,000 pixels: refused before any allocation.
        let mut huge = good.clone();
        huge[sof + 5..sof + 9].copy_from_slice(&[0xFD, 0xE8, 0xFD, 0xE8]);
        let result = decode(&huge, 256, &mut scratch);
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

        // 12-bit samples: a valid JPEG this build does not decode.
        let mut twelve_bit = good.clone();
        twelve_bit[sof + 4] = 12;
        assert!(matches!(
            decode(&twelve_bit, 256, &mut scratch),
            Err(ItemError::BadImage(_))
        ));
        // The lossless process (SOF3) is not in libjpeg-turbo's 8-bit decoder either.
        let mut lossless = good.clone();
        lossless[sof + 1] = 0xC3;
        let result = decode(&lossless, 256, &mut scratch);
        assert!(
            matches!(&result, Err(ItemError::BadImage(m)) if m.contains("0xc3")),
            "{:?}",
            result.err()
        );

        // A corrupt marker length and garbage after SOI.
        let mut bad_length = good.clone();
        bad_length[sof + 2..sof + 4].copy_from_slice(&[0, 1]);
        assert!(decode(&bad_length, 256, &mut scratch).is_err());
        let garbage = [0xFF, 0xD8, 0xFF, 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC];
        assert!(decode(&garbage, 256, &mut scratch).is_err());

        // After all that, the same scratch decodes a good file exactly as a fresh one does.
        let d = decode(&good, u32::MAX, &mut scratch).unwrap();
        assert_eq!(d.image.as_bytes(), expected.image.as_bytes());
    }

    #[test]
    fn one_scratch_decodes_a_mix_like_fresh_ones() {
        let rgb = gradient_rgb(80, 60);
        let files = [
            encode(80, 60, Source::Rgb(&rgb), Coding::Progressive, 80),
            image_crate_jpeg(33, 17),
            encode(80, 60, Source::Rgb(&rgb), Coding::ArithmeticSequential, 70),
            {
                let mut png = Vec::new();
                image::codecs::png::PngEncoder::new(&mut png)
                    .write_image(&rgb, 80, 60, image::ExtendedColorType::Rgb8)
                    .unwrap();
                png
            },
            encode(80, 60, Source::Rgb(&rgb), Coding::Baseline, 60),
        ];
        let mut scratch = DecodeScratch::new();
        for round in 0..2 {
            for (i, f) in files.iter().enumerate() {
                let reused = decode(f, 40, &mut scratch).unwrap();
                let fresh = decode(f, 40, &mut DecodeScratch::new()).unwrap();
                assert_eq!(
                    reused.image.as_bytes(),
                    fresh.image.as_bytes(),
                    "{round}/{i}"
                );
            }
        }
    }

    #[test]
    fn recycled_pixel_buffers_are_reused_and_give_the_same_pixels() {
        let rgb = gradient_rgb(80, 60);
        let big = encode(80, 60, Source::Rgb(&rgb), Coding::Baseline, 80);
        let other = encode(80, 60, Source::Rgb(&rgb), Coding::Progressive, 60);
        let small = image_crate_jpeg(33, 17);
        let mut scratch = DecodeScratch::new();
        let first = decode(&big, u32::MAX, &mut scratch).unwrap();
        let first_pixels = first.image.as_bytes().to_vec();
        let buffer_at = first.image.as_bytes().as_ptr();
        scratch.recycle(first.image);
        // A second image of the same size is written into the buffer given back, not a new one,
        // and every pixel is its own (none left over from the first image).
        let second = decode(&other, u32::MAX, &mut scratch).unwrap();
        assert_eq!(second.image.as_bytes().as_ptr(), buffer_at);
        let fresh = decode(&other, u32::MAX, &mut DecodeScratch::new()).unwrap();
        assert_eq!(second.image.as_bytes(), fresh.image.as_bytes());
        assert_ne!(second.image.as_bytes(), &first_pixels[..]);
        scratch.recycle(second.image);
        // A smaller image fits in it too; the length is the small image's.
        let third = decode(&small, u32::MAX, &mut scratch).unwrap();
        assert_eq!(third.image.as_bytes().as_ptr(), buffer_at);
        assert_eq!(third.image.as_bytes().len(), 33 * 17 * 3);
        let fresh = decode(&small, u32::MAX, &mut DecodeScratch::new()).unwrap();
        assert_eq!(third.image.as_bytes(), fresh.image.as_bytes());
    }

    #[test]
    fn sixteen_bit_png_with_metadata_arrives_as_8_bit() {
        let (w, h) = (20u32, 10u32);
        let samples: Vec<u8> = (0..w * h * 3)
            .flat_map(|i| (((i * 997) % 65_536) as u16).to_be_bytes())
            .collect();
        let profile = b"not really a profile, but bytes to carry".to_vec();
        let mut png = Vec::new();
        let mut encoder = image::codecs::png::PngEncoder::new(&mut png);
        encoder.set_icc_profile(profile.clone()).unwrap();
        encoder.set_exif_metadata(exif_with_orientation(8)).unwrap();
        encoder
            .write_image(&samples, w, h, image::ExtendedColorType::Rgb16)
            .unwrap();
        let d = full_size(&png);
        let rgb = d.image.as_rgb8().expect("8-bit RGB");
        assert_eq!(rgb.dimensions(), (w, h));
        // The high byte of each 16-bit sample, rounded.
        let first = u16::from_be_bytes([samples[0], samples[1]]);
        assert!(rgb.as_raw()[0].abs_diff((first >> 8) as u8) <= 1);
        assert_eq!(d.icc_profile.as_deref(), Some(&profile[..]));
        assert_eq!(d.exif.as_deref(), Some(&exif_with_orientation(8)[..]));
        assert_eq!(d.orientation, Orientation::Rotate270);
    }

    /// A 32-bit BMP (BITMAPV4HEADER with an alpha mask) of `w` x `h` BGRA pixels.
    fn bmp32(w: u32, h: u32, bgra: impl Fn(u32, u32) -> [u8; 4]) -> Vec<u8> {
        let header = 14 + 108;
        let size = header + (w * h * 4) as usize;
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(b"BM");
        out.extend_from_slice(&(size as u32).to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(header as u32).to_le_bytes());
        out.extend_from_slice(&108u32.to_le_bytes());
        out.extend_from_slice(&(w as i32).to_le_bytes());
        out.extend_from_slice(&(h as i32).to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&32u16.to_le_bytes());
        out.extend_from_slice(&3u32.to_le_bytes()); // BI_BITFIELDS
        out.extend_from_slice(&(w * h * 4).to_le_bytes());
        out.extend_from_slice(&[0; 16]); // resolution, colours used/important
        for mask in [0x00FF_0000u32, 0x0000_FF00, 0x0000_00FF, 0xFF00_0000] {
            out.extend_from_slice(&mask.to_le_bytes());
        }
        out.extend_from_slice(b" niW"); // LCS_WINDOWS_COLOR_SPACE
        out.extend_from_slice(&[0; 48]); // endpoints, gamma
        for y in (0..h).rev() {
            for x in 0..w {
                out.extend_from_slice(&bgra(x, y));
            }
        }
        out
    }

    #[test]
    fn a_32_bit_bmp_whose_alpha_is_zero_everywhere_is_opaque() {
        let (w, h) = (40, 30);
        let colour = |x: u32, y: u32| [(x * 6) as u8, (y * 8) as u8, 200];
        let unused = bmp32(w, h, |x, y| {
            let [r, g, b] = colour(x, y);
            [b, g, r, 0]
        });
        let d = full_size(&unused);
        let rgb = d
            .image
            .as_rgb8()
            .expect("an unused alpha channel is dropped");
        assert_eq!(rgb.get_pixel(5, 7).0, colour(5, 7));
        // One pixel with alpha: the channel is used, and the zeros are real transparency.
        let used = bmp32(w, h, |x, y| {
            let [r, g, b] = colour(x, y);
            [b, g, r, u8::from(x == 3 && y == 3) * 128]
        });
        let d = full_size(&used);
        let rgba = d.image.as_rgba8().expect("a used alpha channel stays");
        assert_eq!(rgba.get_pixel(5, 7).0[3], 0);
        assert_eq!(rgba.get_pixel(3, 3).0[3], 128);
    }

    #[test]
    fn an_opaque_alpha_channel_is_dropped_and_a_real_one_kept() {
        let (w, h) = (300u32, 200u32);
        let png = |rgba: &image::RgbaImage| {
            let mut out = Vec::new();
            image::codecs::png::PngEncoder::new(&mut out)
                .write_image(rgba.as_raw(), w, h, image::ExtendedColorType::Rgba8)
                .unwrap();
            out
        };
        let opaque = image::RgbaImage::from_fn(w, h, |x, y| {
            image::Rgba([(x % 256) as u8, (y % 256) as u8, ((x * y) % 256) as u8, 255])
        });
        let d = full_size(&png(&opaque));
        let rgb = d.image.as_rgb8().expect("opaque RGBA arrives as RGB");
        assert_eq!(
            rgb.as_raw(),
            &DynamicImage::ImageRgba8(opaque.clone())
                .to_rgb8()
                .into_raw()
        );

        // One transparent pixel, far into the image: the alpha channel stays.
        let mut one_hole = opaque.clone();
        one_hole.put_pixel(w - 1, h - 1, image::Rgba([1, 2, 3, 0]));
        let d = full_size(&png(&one_hole));
        assert_eq!(
            d.image.as_rgba8().expect("alpha kept").as_raw(),
            one_hole.as_raw()
        );

        let mut la = Vec::new();
        image::codecs::png::PngEncoder::new(&mut la)
            .write_image(
                &[10, 255, 20, 255, 30, 255],
                3,
                1,
                image::ExtendedColorType::La8,
            )
            .unwrap();
        let d = full_size(&la);
        assert_eq!(
            d.image.as_luma8().expect("grey").as_raw(),
            &vec![10, 20, 30]
        );
    }

    #[test]
    fn not_images_empty_and_too_large() {
        let mut scratch = DecodeScratch::new();
        assert!(matches!(
            decode(b"", 256, &mut scratch),
            Err(ItemError::Empty)
        ));
        assert!(matches!(
            decode(b"plain text, not an image", 256, &mut scratch),
            Err(ItemError::NotAnImage)
        ));
    }
}
