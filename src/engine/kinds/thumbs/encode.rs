//! Encoding thumbnails: 8-bit pixels in, a JPEG, PNG or WebP file with its metadata out.
//!
//! Owns: the pixel encoders (JPEG through libjpeg-turbo with its standard settings, one reused
//! compressor per worker: [`libjpeg`], from RGB, grey, or YCbCr as a JPEG decoder gave it:
//! [`encode_jpeg_ycbcr`]; PNG through the `image` crate; WebP lossy and lossless
//! through libwebp, built from source by `libwebp-sys` with `cc`), flattening alpha on white for
//! JPEG, and putting the ICC profile, EXIF block and XMP packet into each container through
//! `img-parts`: JPEG APP2 `ICC_PROFILE` / APP1 `Exif` / APP1 XMP segments (ICC.1:2022 annex
//! B.4, EXIF 2.32 section 4.5.4, XMP part 3 section 1.1.3); PNG `iCCP`, `eXIf` and an `iTXt`
//! chunk with keyword `XML:com.adobe.xmp` (PNG 3rd edition sections 11.3.2.4, 11.3.3.6 and
//! XMP part 3 section 1.1.5); WebP `ICCP`, `EXIF` and `XMP ` chunks behind a `VP8X` header
//! (WebP container specification, "Extended file format").
//! Must not touch: resizing, colour conversion, choosing metadata (that is `metadata`), files.

use std::ffi::c_int;

use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};
use img_parts::jpeg::{Jpeg, JpegSegment, markers};
use img_parts::png::{Png, PngChunk};
use img_parts::riff::{RiffChunk, RiffContent};
use img_parts::webp::{CHUNK_EXIF, CHUNK_VP8X, CHUNK_XMP, WebP};
use img_parts::{Bytes, ImageEXIF, ImageICC};

use crate::engine::kinds::thumbs::color::PixelLayout;
use crate::engine::kinds::thumbs::spec::ThumbFormat;
use crate::engine::model::error::ItemError;

mod libjpeg;
use libjpeg::{LibjpegEncoder, Samples};

/// How to encode one thumbnail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeParams {
    /// The output format.
    pub format: ThumbFormat,
    /// 1-100: JPEG quality, or WebP quality when lossy. PNG ignores it.
    pub quality: u8,
    /// WebP only: lossless (VP8L) instead of lossy (VP8).
    pub lossless: bool,
}

/// Metadata to embed; each part is left out when `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Embedded<'a> {
    /// The ICC profile to embed (kept as the source's), if any.
    pub icc_profile: Option<&'a [u8]>,
    /// From the TIFF header on (no "Exif\0\0").
    pub exif: Option<&'a [u8]>,
    /// The XMP packet to embed, if any.
    pub xmp: Option<&'a [u8]>,
}

impl Embedded<'_> {
    fn is_empty(&self) -> bool {
        self.icc_profile.is_none() && self.exif.is_none() && self.xmp.is_none()
    }
}

/// Per-worker state of the encoders: flattened or expanded pixels, and the JPEG compressor
/// (created on first use, then reused).
#[derive(Default)]
pub struct EncodeScratch {
    pixels: Vec<u8>,
    jpeg: Option<LibjpegEncoder>,
}

/// Encodes `pixels` (`layout`, `width_px` x `height_px`, rows unpadded) and embeds `meta`.
/// JPEG gets alpha flattened on white; WebP gets grey expanded to RGB.
///
/// Errors: `ItemError::Encode` when an encoder refuses (sizes beyond the format's limits:
/// 65,535 px for JPEG, 16,383 px for WebP).
pub fn encode(
    pixels: &[u8],
    layout: PixelLayout,
    (width_px, height_px): (u32, u32),
    params: &EncodeParams,
    meta: &Embedded<'_>,
    scratch: &mut EncodeScratch,
) -> Result<Vec<u8>, ItemError> {
    let expected = (width_px as usize)
        .saturating_mul(height_px as usize)
        .saturating_mul(layout.channels());
    if pixels.len() != expected || expected == 0 {
        return Err(ItemError::Internal(format!(
            "encode: {} bytes for {width_px}x{height_px} {layout:?}",
            pixels.len()
        )));
    }
    let enc_err = |e: image::ImageError| ItemError::Encode(e.to_string());
    let mut out = Vec::new();
    match params.format {
        ThumbFormat::Jpeg => {
            let EncodeScratch {
                pixels: flattened,
                jpeg,
            } = scratch;
            let (data, samples) = match layout {
                PixelLayout::Gray => (pixels, Samples::Gray),
                PixelLayout::Rgb => (pixels, Samples::Rgb),
                PixelLayout::GrayAlpha | PixelLayout::Rgba => {
                    flatten_on_white(pixels, layout, flattened);
                    let samples = if layout.is_gray() {
                        Samples::Gray
                    } else {
                        Samples::Rgb
                    };
                    (flattened.as_slice(), samples)
                }
            };
            let encoder = match jpeg {
                Some(encoder) => encoder,
                None => jpeg.insert(LibjpegEncoder::new().map_err(ItemError::Encode)?),
            };
            encoder
                .encode(
                    data,
                    samples,
                    (width_px, height_px),
                    params.quality,
                    &mut out,
                )
                .map_err(ItemError::Encode)?;
        }
        ThumbFormat::Png => {
            let color = match layout {
                PixelLayout::Gray => ExtendedColorType::L8,
                PixelLayout::GrayAlpha => ExtendedColorType::La8,
                PixelLayout::Rgb => ExtendedColorType::Rgb8,
                PixelLayout::Rgba => ExtendedColorType::Rgba8,
            };
            PngEncoder::new(&mut out)
                .write_image(pixels, width_px, height_px, color)
                .map_err(enc_err)?;
        }
        ThumbFormat::Webp => {
            let (data, has_alpha) = match layout {
                PixelLayout::Rgb => (pixels, false),
                PixelLayout::Rgba => (pixels, true),
                PixelLayout::Gray | PixelLayout::GrayAlpha => {
                    expand_gray(pixels, layout, &mut scratch.pixels);
                    (scratch.pixels.as_slice(), layout.has_alpha())
                }
            };
            encode_webp(data, has_alpha, width_px, height_px, params, &mut out)?;
        }
    }
    if meta.is_empty() {
        return Ok(out);
    }
    embed(params.format, out, meta)
}

/// Encodes YCbCr `pixels` (three samples a pixel, JFIF's full-range BT.601, as a JPEG decoder
/// gives them without its colour conversion; `width_px` x `height_px`, rows unpadded) as a
/// JPEG at `quality`, with no colour conversion on the way, and embeds `meta`. The file is the
/// same as [`encode`] makes of the RGB these samples stand for, up to rounding.
///
/// Errors: as [`encode`]'s for JPEG.
pub fn encode_jpeg_ycbcr(
    pixels: &[u8],
    (width_px, height_px): (u32, u32),
    quality: u8,
    meta: &Embedded<'_>,
    scratch: &mut EncodeScratch,
) -> Result<Vec<u8>, ItemError> {
    let expected = (width_px as usize)
        .saturating_mul(height_px as usize)
        .saturating_mul(3);
    if pixels.len() != expected || expected == 0 {
        return Err(ItemError::Internal(format!(
            "encode: {} bytes for {width_px}x{height_px} YCbCr",
            pixels.len()
        )));
    }
    let encoder = match &mut scratch.jpeg {
        Some(encoder) => encoder,
        None => scratch
            .jpeg
            .insert(LibjpegEncoder::new().map_err(ItemError::Encode)?),
    };
    let mut out = Vec::new();
    encoder
        .encode(
            pixels,
            Samples::YCbCr,
            (width_px, height_px),
            quality,
            &mut out,
        )
        .map_err(ItemError::Encode)?;
    if meta.is_empty() {
        return Ok(out);
    }
    embed(ThumbFormat::Jpeg, out, meta)
}

/// Alpha composited over white, in place of JPEG's missing alpha channel: `c * a + 255 * (1 - a)`.
fn flatten_on_white(pixels: &[u8], layout: PixelLayout, out: &mut Vec<u8>) {
    let n = layout.channels();
    out.clear();
    out.reserve(pixels.len() / n * (n - 1));
    for px in pixels.chunks_exact(n) {
        let a = u32::from(px[n - 1]);
        for &c in &px[..n - 1] {
            out.push(((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8);
        }
    }
}

/// Grey (with or without alpha) repeated into RGB(A) for the WebP encoder.
fn expand_gray(pixels: &[u8], layout: PixelLayout, out: &mut Vec<u8>) {
    out.clear();
    if layout.has_alpha() {
        out.reserve(pixels.len() * 2);
        for px in pixels.chunks_exact(2) {
            out.extend_from_slice(&[px[0], px[0], px[0], px[1]]);
        }
    } else {
        out.reserve(pixels.len() * 3);
        for &g in pixels {
            out.extend_from_slice(&[g, g, g]);
        }
    }
}

/// WebP through libwebp: lossy at `quality` (method 4, libwebp's default speed/size balance),
/// or lossless. `data` is RGB or RGBA, unpadded rows, exactly `width * height * channels`.
fn encode_webp(
    data: &[u8],
    has_alpha: bool,
    width_px: u32,
    height_px: u32,
    params: &EncodeParams,
    out: &mut Vec<u8>,
) -> Result<(), ItemError> {
    use libwebp_sys as w;
    let err = |what: &str| ItemError::Encode(format!("WebP: {what}"));
    let channels = if has_alpha { 4 } else { 3 };
    let (Ok(width), Ok(height), Ok(stride)) = (
        c_int::try_from(width_px),
        c_int::try_from(height_px),
        c_int::try_from(width_px as usize * channels),
    ) else {
        return Err(err("image too large"));
    };
    let mut config = w::WebPConfig::new().map_err(|()| err("libwebp version mismatch"))?;
    config.lossless = c_int::from(params.lossless);
    // For lossless, `quality` is the effort; libwebp's default 75 is used.
    config.quality = if params.lossless {
        75.0
    } else {
        f32::from(params.quality.clamp(1, 100))
    };
    // SAFETY: `config` is a fully initialised WebPConfig (WebPConfig::new).
    if unsafe { w::WebPValidateConfig(&config) } == 0 {
        return Err(err("invalid configuration"));
    }
    let mut picture = w::WebPPicture::new().map_err(|()| err("libwebp version mismatch"))?;
    // Lossless needs ARGB; lossy imports straight to YUV 4:2:0.
    picture.use_argb = c_int::from(params.lossless);
    picture.width = width;
    picture.height = height;
    // SAFETY (this block): `data` holds exactly width * height * channels bytes (checked by
    // `encode`), read with `stride` bytes a row; `picture` is initialised and is freed below on
    // every path; the memory writer lives on this stack frame for the whole WebPEncode call
    // and is cleared after its bytes are copied.
    unsafe {
        let imported = if has_alpha {
            w::WebPPictureImportRGBA(&mut picture, data.as_ptr(), stride)
        } else {
            w::WebPPictureImportRGB(&mut picture, data.as_ptr(), stride)
        };
        if imported == 0 {
            w::WebPPictureFree(&mut picture);
            return Err(err("out of memory importing pixels"));
        }
        let mut writer = std::mem::MaybeUninit::<w::WebPMemoryWriter>::uninit();
        w::WebPMemoryWriterInit(writer.as_mut_ptr());
        let mut writer = writer.assume_init();
        picture.writer = Some(w::WebPMemoryWrite);
        picture.custom_ptr = (&raw mut writer).cast();
        let ok = w::WebPEncode(&config, &mut picture);
        let error_code = picture.error_code;
        if ok != 0 && !writer.mem.is_null() {
            out.clear();
            out.extend_from_slice(std::slice::from_raw_parts(writer.mem, writer.size));
        }
        w::WebPMemoryWriterClear(&mut writer);
        w::WebPPictureFree(&mut picture);
        if ok == 0 {
            return Err(err(&format!("{error_code:?}")));
        }
    }
    Ok(())
}

/// The APP1 signature of an XMP packet in JPEG (XMP specification part 3, 1.1.3).
const JPEG_XMP_SIGNATURE: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
/// Largest XMP packet one APP1 segment holds (65,533 bytes of content less the signature).
const JPEG_XMP_MAX_BYTES: usize = 65_533 - 29;

/// Puts `meta` into a file straight from one of the encoders above: the ICC profile and EXIF
/// replace any already there (`None` removes them), the XMP packet is added. A part too large for the container (an EXIF block over
/// 64 KiB or an XMP packet over 65,504 bytes in JPEG) is left out, as exiftool does.
pub fn embed(
    format: ThumbFormat,
    encoded: Vec<u8>,
    meta: &Embedded<'_>,
) -> Result<Vec<u8>, ItemError> {
    let bytes = Bytes::from(encoded);
    let bad = |e: img_parts::Error| ItemError::Encode(format!("adding metadata: {e}"));
    let copy = |b: Option<&[u8]>| b.map(Bytes::copy_from_slice);
    let mut out = Vec::new();
    match format {
        ThumbFormat::Jpeg => {
            let mut jpeg = Jpeg::from_bytes(bytes).map_err(bad)?;
            jpeg.set_icc_profile(copy(meta.icc_profile));
            jpeg.set_exif(copy(meta.exif));
            if let Some(xmp) = meta.xmp.filter(|x| x.len() <= JPEG_XMP_MAX_BYTES) {
                let mut contents = JPEG_XMP_SIGNATURE.to_vec();
                contents.extend_from_slice(xmp);
                // After the APP0/APP1/APP2 segments, before the tables and frame header.
                let segments = jpeg.segments_mut();
                let pos = segments
                    .iter()
                    .position(|s| !(markers::APP0..=markers::APP15).contains(&s.marker()))
                    .unwrap_or(segments.len());
                segments.insert(
                    pos,
                    JpegSegment::new_with_contents(markers::APP1, Bytes::from(contents)),
                );
            }
            jpeg.encoder().write_to(&mut out).map_err(io_err)?;
        }
        ThumbFormat::Png => {
            let mut png = Png::from_bytes(bytes).map_err(bad)?;
            png.set_icc_profile(copy(meta.icc_profile));
            png.set_exif(copy(meta.exif));
            if let Some(xmp) = meta.xmp {
                // iTXt: keyword, NUL, compression flag 0, method 0, empty language tag and
                // translated keyword (each NUL-terminated), then the UTF-8 text.
                let mut contents = b"XML:com.adobe.xmp\0\0\0\0\0".to_vec();
                contents.extend_from_slice(xmp);
                let chunks = png.chunks_mut();
                let pos = chunks
                    .iter()
                    .position(|c| c.kind() == *b"IDAT")
                    .unwrap_or(chunks.len().saturating_sub(1));
                chunks.insert(pos, PngChunk::new(*b"iTXt", Bytes::from(contents)));
            }
            png.encoder().write_to(&mut out).map_err(io_err)?;
        }
        ThumbFormat::Webp => {
            let mut webp = WebP::from_bytes(bytes).map_err(bad)?;
            // img-parts rebuilds VP8X (with every flag right) only when none is there yet, so
            // drop libwebp's, add EXIF and XMP after the image data, then set the ICC profile:
            // that writes VP8X, ICCP, [ALPH], VP8/VP8L, EXIF, XMP, the order the spec asks for.
            webp.remove_chunks_by_id(CHUNK_VP8X);
            webp.remove_chunks_by_id(CHUNK_EXIF);
            webp.remove_chunks_by_id(CHUNK_XMP);
            for (id, part) in [(CHUNK_EXIF, meta.exif), (CHUNK_XMP, meta.xmp)] {
                if let Some(part) = part {
                    let chunk = RiffChunk::new(id, RiffContent::Data(Bytes::copy_from_slice(part)));
                    webp.chunks_mut().push(chunk);
                }
            }
            webp.set_icc_profile(copy(meta.icc_profile));
            webp.encoder().write_to(&mut out).map_err(io_err)?;
        }
    }
    Ok(out)
}

fn io_err(e: std::io::Error) -> ItemError {
    ItemError::Encode(format!("writing container: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgb_noise(w: u32, h: u32) -> Vec<u8> {
        (0..w * h * 3)
            .map(|i| ((i * 7919 + (i / 3) * 31) % 251) as u8)
            .collect()
    }

    #[test]
    fn lossy_webp_is_smaller_than_lossless_and_decodes() {
        // Photo-like: smooth shapes plus sensor-like noise, which lossless must keep.
        let (w, h) = (96, 64);
        let mut seed = 12345u32;
        let px: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (seed >> 28) as f32;
                let r = 128.0 + 90.0 * (x / 9.0).sin() + noise;
                let g = 128.0 + 90.0 * (y / 7.0).cos() + noise;
                let b = 128.0 + 60.0 * ((x + y) / 13.0).sin() + noise;
                [r as u8, g as u8, b as u8]
            })
            .collect();
        let mut scratch = EncodeScratch::default();
        let mut params = EncodeParams {
            format: ThumbFormat::Webp,
            quality: 80,
            lossless: false,
        };
        let none = Embedded::default();
        let lossy = encode(&px, PixelLayout::Rgb, (w, h), &params, &none, &mut scratch).unwrap();
        params.lossless = true;
        let lossless = encode(&px, PixelLayout::Rgb, (w, h), &params, &none, &mut scratch).unwrap();
        assert!(
            lossy.len() < lossless.len(),
            "{} >= {}",
            lossy.len(),
            lossless.len()
        );
        let a = image::load_from_memory(&lossy).unwrap();
        assert_eq!((a.width(), a.height()), (w, h));
        let b = image::load_from_memory(&lossless).unwrap().to_rgb8();
        assert_eq!(b.as_raw(), &px, "lossless is lossless");
    }

    #[test]
    fn metadata_goes_into_every_container_and_reads_back() {
        let (w, h) = (40, 30);
        let px = rgb_noise(w, h);
        let icc = moxcms::ColorProfile::new_display_p3().encode().unwrap();
        let exif = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x01\0\0\0\0\0\0\0".to_vec();
        let xmp = b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>".to_vec();
        let meta = Embedded {
            icc_profile: Some(&icc),
            exif: Some(&exif),
            xmp: Some(&xmp),
        };
        let mut scratch = EncodeScratch::default();
        for (format, lossless) in [
            (ThumbFormat::Jpeg, false),
            (ThumbFormat::Png, false),
            (ThumbFormat::Webp, false),
            (ThumbFormat::Webp, true),
        ] {
            let params = EncodeParams {
                format,
                quality: 80,
                lossless,
            };
            let file = encode(&px, PixelLayout::Rgb, (w, h), &params, &meta, &mut scratch).unwrap();
            let format = image::guess_format(&file).unwrap();
            let mut decoder = image::ImageReader::with_format(std::io::Cursor::new(&file), format)
                .into_decoder()
                .unwrap();
            use image::ImageDecoder;
            assert_eq!(
                decoder.icc_profile().unwrap().as_ref(),
                Some(&icc),
                "{format:?}"
            );
            let got_exif = decoder.exif_metadata().unwrap().unwrap();
            assert!(got_exif.ends_with(&exif), "{format:?}");
            assert_eq!(
                decoder.xmp_metadata().unwrap().as_ref(),
                Some(&xmp),
                "{format:?}"
            );
            assert_eq!(decoder.dimensions(), (w, h));
            let img = image::DynamicImage::from_decoder(decoder).unwrap();
            assert_eq!((img.width(), img.height()), (w, h), "{format:?} decodes");
        }
    }

    /// The components of the JPEG frame header (SOFn): `(marker, [(h, v) sampling factors])`.
    fn frame_header(file: &[u8]) -> (u8, Vec<(u8, u8)>) {
        let mut at = 2;
        while at + 4 <= file.len() {
            assert_eq!(file[at], 0xFF, "a marker at {at}");
            let marker = file[at + 1];
            let len = usize::from(u16::from_be_bytes([file[at + 2], file[at + 3]]));
            if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
                let seg = &file[at + 4..at + 2 + len];
                let n = usize::from(seg[5]);
                let factors = (0..n)
                    .map(|i| (seg[7 + 3 * i] >> 4, seg[7 + 3 * i] & 15))
                    .collect();
                return (marker, factors);
            }
            at += 2 + len;
        }
        panic!("no frame header");
    }

    #[test]
    fn jpeg_is_baseline_4_2_0_like_libjpeg_turbo_and_the_compressor_is_reused() {
        let mut scratch = EncodeScratch::default();
        let params = EncodeParams {
            format: ThumbFormat::Jpeg,
            quality: 85,
            lossless: false,
        };
        // Several sizes through one compressor, the second larger than its first buffer.
        for (w, h) in [(40u32, 30u32), (512, 384), (7, 3), (40, 30)] {
            let px: Vec<u8> = (0..w * h)
                .flat_map(|i| {
                    let (x, y) = (i % w, i / w);
                    [(x * 255 / w) as u8, (y * 255 / h) as u8, 128]
                })
                .collect();
            let file = encode(
                &px,
                PixelLayout::Rgb,
                (w, h),
                &params,
                &Embedded::default(),
                &mut scratch,
            )
            .unwrap();
            // SOF0 (baseline sequential, T.81 B.2.2) with luma 2x2 and chroma 1x1: 4:2:0.
            assert_eq!(frame_header(&file), (0xC0, vec![(2, 2), (1, 1), (1, 1)]));
            let back = image::load_from_memory(&file).unwrap().to_rgb8();
            assert_eq!(back.dimensions(), (w, h));
            let err: u64 = back
                .as_raw()
                .iter()
                .zip(&px)
                .map(|(a, b)| u64::from(a.abs_diff(*b)))
                .sum();
            let mean = err as f64 / px.len() as f64;
            // (7x3 is all edges: its chroma, averaged over 2x2 pixels, is far off.)
            if w >= 16 {
                assert!(mean < 3.0, "{w}x{h}: mean error {mean}");
            }
        }
    }

    #[test]
    fn jpeg_flattens_alpha_on_white_and_keeps_grey() {
        let px = [0, 0, 0, 0, 200, 30, 30, 255];
        let mut out = Vec::new();
        flatten_on_white(&px, PixelLayout::Rgba, &mut out);
        assert_eq!(out, [255, 255, 255, 200, 30, 30]);
        let gray: Vec<u8> = (0..64 * 64).map(|i| (i % 256) as u8).collect();
        let params = EncodeParams {
            format: ThumbFormat::Jpeg,
            quality: 90,
            lossless: false,
        };
        let file = encode(
            &gray,
            PixelLayout::Gray,
            (64, 64),
            &params,
            &Embedded::default(),
            &mut EncodeScratch::default(),
        )
        .unwrap();
        let img = image::load_from_memory(&file).unwrap();
        assert_eq!(img.color(), image::ColorType::L8);
    }
}
