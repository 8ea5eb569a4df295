//! What decoding an image for its thumbnails will allocate, told from the file's header alone
//! before any pixel is decoded, so that the job can reserve it from the engine's memory budget
//! (see the runtime's `memory`) and refuse, with the figures, an image that could never fit.
//!
//! JPEG: the output buffer at the DCT scale the decoder will choose, plus, for a progressive
//! frame, the DCT coefficients of the whole image libjpeg keeps while it reads the scans (two
//! bytes per coefficient, 64 per 8 x 8 block of every component at its sampling). A PNG that
//! is reduced on load (`png.rs`): the reduced image and a few rows. Other formats (the `image`
//! crate's decoders, which decode at full size): the decoded buffer at its own bit depth, and
//! the 8-bit copy the render makes of it. JPEG XL (decoded at full size, in 32-bit
//! floats: [`JXL_BYTES_PER_PX`]), HEIC (planes of up to 16 bits, then RGBA:
//! [`HEIF_BYTES_PER_PX`]) and AVIF ([`AVIF_BYTES_PER_PX`]) by their header's size.
//!
//! The header is read once per image ([`read_header`]): the same [`ImageHeader`] gives the
//! stored size that `cover` and `exact` boxes need to choose the decode scale (every format
//! here, JPEG XL and HEIC included), so nothing reads it again before the decoder does.
//!
//! Owns: [`read_header`], [`ImageHeader`], [`decode_cost`]. Must not touch: decoding itself
//! (`decode`), the budget (the runtime's).

use image::{ImageDecoder, ImageFormat, ImageReader};

use crate::engine::kinds::thumbs::decode::{InputFormat, detect_format};
use crate::engine::kinds::thumbs::decoded::MAX_PIXELS;
use crate::engine::kinds::thumbs::jpeg::{FrameHeader, frame_header, scale_denominator};
use crate::engine::kinds::thumbs::png::{self, PngLayout};
use crate::engine::kinds::thumbs::render::{OutputRequest, decode_long_side_px};

/// Working memory every decode and render uses besides its pixel buffers (libjpeg's row
/// buffers and tables, the resizer's, the encoder's): a fixed allowance.
const WORKING_BYTES: u64 = 4 << 20;

/// A JPEG XL decode per pixel: the rendered frame and the decoder's own buffers, four channels
/// of 32-bit floats each, then the 8-bit image.
const JXL_BYTES_PER_PX: u64 = 2 * 4 * 4 + 4;
/// A HEIC decode per pixel: Y, Cb, Cr (and alpha) planes of up to 16 bits, then 8-bit RGBA.
const HEIF_BYTES_PER_PX: u64 = 4 * 2 + 4;
/// An AVIF decode per pixel: rav1d's picture (three planes of up to 16 bits) and their copy as
/// 16-bit samples, the alpha plane likewise, the 8-bit RGB(A) image and the copy a rotation
/// makes of it.
const AVIF_BYTES_PER_PX: u64 = 3 * 2 * 2 + 2 * 2 + 4 + 4;

/// What a decode will allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeCost {
    /// The image's width and height as stored, in pixels.
    pub source_px: (u32, u32),
    /// What decoding and rendering it will hold at most, in bytes.
    pub bytes: u64,
}

/// An image file's header, read once per image ([`read_header`]): its stored size (as the file
/// stores it, before any EXIF orientation) and what its decode costs for any set of requests.
/// The job reads it to reserve memory and hands it on to `thumbnail::make_thumbnails_with_header`,
/// which needs the stored size to decode `cover` and `exact` boxes at the right scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageHeader {
    /// The image's width and height as stored, in pixels.
    pub stored_px: (u32, u32),
    cost: HeaderCost,
}

/// What the cost of decoding depends on, per decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HeaderCost {
    /// libjpeg: the output at the DCT scale the requests ask for, and for a progressive frame
    /// the coefficients of every component at its sampling.
    Jpeg(FrameHeader),
    /// A PNG, from its own header: when its rows can be reduced as they come (`png.rs`) and
    /// the requests allow it, the reduced image; else the whole-image decode.
    Png(PngLayout),
    /// A decode at full size that costs this much whatever the requests.
    Fixed(u64),
}

/// Reads `data`'s header (no pixel is decoded); `None` when the header cannot be read here
/// (the decoder then says what is wrong with the file).
pub fn read_header(data: &[u8]) -> Option<ImageHeader> {
    match detect_format(data)? {
        InputFormat::Raster(ImageFormat::Jpeg) => {
            let frame = frame_header(data)?;
            Some(ImageHeader {
                stored_px: frame.size_px,
                cost: HeaderCost::Jpeg(frame),
            })
        }
        InputFormat::Raster(ImageFormat::Png) => png::layout(data).map(|layout| ImageHeader {
            stored_px: layout.size_px,
            cost: HeaderCost::Png(layout),
        }),
        InputFormat::Raster(format) => image_crate_header(data, format),
        InputFormat::JpegXl => jxl_size(data).map(|px| per_pixel(px, JXL_BYTES_PER_PX)),
        InputFormat::Heif => heif_size(data).map(|px| per_pixel(px, HEIF_BYTES_PER_PX)),
        InputFormat::Avif => avif_size(data).map(|px| per_pixel(px, AVIF_BYTES_PER_PX)),
    }
}

/// What decoding `data` for `requests` will allocate, from its header; `None` when the header
/// cannot be read here (the decoder then says what is wrong with the file).
pub fn decode_cost(data: &[u8], requests: &[OutputRequest]) -> Option<DecodeCost> {
    read_header(data).map(|header| header.cost(requests))
}

impl ImageHeader {
    /// What decoding the image for `requests` will allocate.
    pub fn cost(&self, requests: &[OutputRequest]) -> DecodeCost {
        let bytes = match &self.cost {
            HeaderCost::Jpeg(frame) => jpeg_bytes(frame, requests),
            HeaderCost::Png(layout) => png_bytes(layout, requests),
            HeaderCost::Fixed(bytes) => *bytes,
        };
        DecodeCost {
            source_px: self.stored_px,
            bytes,
        }
    }
}

/// A decode that costs `bytes_per_px` for every stored pixel.
fn per_pixel((w, h): (u32, u32), bytes_per_px: u64) -> ImageHeader {
    ImageHeader {
        stored_px: (w, h),
        cost: HeaderCost::Fixed(
            (u64::from(w) * u64::from(h))
                .saturating_mul(bytes_per_px)
                .saturating_add(WORKING_BYTES),
        ),
    }
}

#[cfg(feature = "jxl")]
fn jxl_size(data: &[u8]) -> Option<(u32, u32)> {
    super::jxl::header_size(data).ok()
}

#[cfg(not(feature = "jxl"))]
fn jxl_size(_data: &[u8]) -> Option<(u32, u32)> {
    None
}

#[cfg(feature = "heic")]
fn heif_size(data: &[u8]) -> Option<(u32, u32)> {
    super::heif::stored_size_px(data)
}

#[cfg(not(feature = "heic"))]
fn heif_size(_data: &[u8]) -> Option<(u32, u32)> {
    None
}

#[cfg(feature = "avif")]
fn avif_size(data: &[u8]) -> Option<(u32, u32)> {
    super::avif::stored_size_px(data)
}

#[cfg(not(feature = "avif"))]
fn avif_size(_data: &[u8]) -> Option<(u32, u32)> {
    None
}

fn jpeg_bytes(frame: &FrameHeader, requests: &[OutputRequest]) -> u64 {
    let (w, h) = frame.size_px;
    let (w64, h64) = (u64::from(w), u64::from(h));
    let channels: u64 = if frame.sampling.len() >= 3 { 3 } else { 1 };
    let long_side_px = decode_long_side_px(requests, Some((w, h)));
    let denom = u64::from(scale_denominator(w, h, long_side_px));
    let output = w64.div_ceil(denom) * h64.div_ceil(denom) * channels;
    let coefficients = if frame.progressive {
        let h_max = frame
            .sampling
            .iter()
            .map(|s| u64::from(s.0))
            .max()
            .unwrap_or(1)
            .max(1);
        let v_max = frame
            .sampling
            .iter()
            .map(|s| u64::from(s.1))
            .max()
            .unwrap_or(1)
            .max(1);
        frame
            .sampling
            .iter()
            .map(|&(hs, vs)| {
                let blocks_w = (w64 * u64::from(hs)).div_ceil(h_max * 8);
                let blocks_h = (h64 * u64::from(vs)).div_ceil(v_max * 8);
                blocks_w * blocks_h * 64 * 2
            })
            .sum()
    } else {
        0
    };
    output + coefficients + WORKING_BYTES
}

fn image_crate_header(data: &[u8], format: ImageFormat) -> Option<ImageHeader> {
    let reader = ImageReader::with_format(std::io::Cursor::new(data), format);
    let decoder = reader.into_decoder().ok()?;
    let (w, h) = decoder.dimensions();
    let decoded = decoder.total_bytes();
    let pixels = u64::from(w) * u64::from(h);
    // The 8-bit copy (at most four channels), made when the decoded buffer is not already
    // 8-bit or drops an unused alpha channel.
    let eight_bit = pixels * u64::from(decoder.color_type().channel_count().min(4));
    Some(ImageHeader {
        stored_px: (w, h),
        cost: HeaderCost::Fixed(
            decoded
                .saturating_add(eight_bit)
                .saturating_add(WORKING_BYTES),
        ),
    })
}

/// The part of the png crate's buffer of compressed and unfiltered rows that does not grow with
/// the width.
const PNG_DECODER_BUFFER_BYTES: u64 = (128 + 8) << 10;

/// A PNG, from its own header (read once, with the `png` crate). Reduced on load: the reduced
/// image, a 32-bit sum per sample of a row (two with alpha) and the decoder's own rows.
/// Decoded whole (interlaced, 16-bit, or no reduction): as the `image` crate's formats.
fn png_bytes(layout: &PngLayout, requests: &[OutputRequest]) -> u64 {
    let (w, h) = layout.size_px;
    let pixels = u64::from(w) * u64::from(h);
    let channels = u64::from(layout.channels);
    let factor = png::reduce_factor(w, h, decode_long_side_px(requests, Some((w, h))));
    // Decoded whole (as the other formats of the `image` crate): the decoded buffer at its own
    // bit depth and its 8-bit copy. So is a header claiming more pixels than any decode
    // accepts: it costs what it claims, and the budget refuses it with its figures.
    if !layout.streamable || factor == 1 || pixels > MAX_PIXELS {
        let decoded = pixels.saturating_mul(channels * u64::from(layout.bytes_per_sample));
        return decoded
            .saturating_add(pixels.saturating_mul(channels))
            .saturating_add(WORKING_BYTES);
    }
    let (ow, oh) = (u64::from(w.div_ceil(factor)), u64::from(h.div_ceil(factor)));
    let reduced = ow * oh * channels;
    // 32-bit column sums, twice when alpha (opaque rows and weighted rows apart).
    let has_alpha = layout.channels.is_multiple_of(2);
    let sums = u64::from(w) * channels * 4 * if has_alpha { 2 } else { 1 };
    // The png crate's buffer: at least four raw rows or 128 KiB, the row being unfiltered and
    // 8 KiB, then the expanded row it hands out.
    let rows = 6 * u64::from(w) * channels + PNG_DECODER_BUFFER_BYTES;
    reduced + sums + rows + WORKING_BYTES
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kinds::thumbs::color::ColorMode;
    use crate::engine::kinds::thumbs::metadata::MetadataPolicy;
    use crate::engine::kinds::thumbs::spec::{Fit, ThumbFormat, ThumbSize};

    fn request(side_px: u32) -> OutputRequest {
        OutputRequest {
            size: ThumbSize::square(side_px),
            fit: Fit::Contain,
            upscale: false,
            format: ThumbFormat::Jpeg,
            quality: 85,
            lossless: false,
            metadata: MetadataPolicy::Strip,
            color: ColorMode::ConvertToSrgb,
        }
    }

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 9]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn a_jpeg_costs_its_output_at_the_dct_scale() {
        let data = jpeg(2048, 1024);
        // 256 px thumbnails: decoded at 1/4 (512 x 256 >= twice the box).
        let small = decode_cost(&data, &[request(256)]).unwrap();
        assert_eq!(small.source_px, (2048, 1024));
        assert_eq!(small.bytes, 512 * 256 * 3 + WORKING_BYTES);
        // A box as large as the image: full size.
        let full = decode_cost(&data, &[request(2048)]).unwrap();
        assert_eq!(full.bytes, 2048 * 1024 * 3 + WORKING_BYTES);
    }

    #[test]
    fn a_progressive_jpeg_also_costs_its_coefficients() {
        // A frame header alone is enough: SOI, SOF2 for 4:2:0 YCbCr 1600 x 1200, then SOS.
        let mut data = vec![0xFF, 0xD8, 0xFF, 0xC2, 0x00, 0x11, 0x08];
        data.extend_from_slice(&1200u16.to_be_bytes());
        data.extend_from_slice(&1600u16.to_be_bytes());
        data.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        data.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 1, 1, 0, 0, 0, 0]);
        let cost = decode_cost(&data, &[request(256)]).unwrap();
        let luma = 200 * 150 * 128;
        let chroma = 100 * 75 * 128;
        // 1/2 scale: 800 x 600 >= 512.
        assert_eq!(
            cost.bytes,
            800 * 600 * 3 + luma + 2 * chroma + WORKING_BYTES
        );
    }

    #[test]
    fn a_png_reduced_on_load_costs_its_reduced_image_and_a_few_rows() {
        let img = image::RgbaImage::from_pixel(300, 200, image::Rgba([1, 2, 3, 4]));
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        // 64 px thumbnails: the long side must stay >= 128, so reduced by 2 to 150 x 100.
        let cost = decode_cost(&png, &[request(64)]).unwrap();
        assert_eq!(
            cost.bytes,
            150 * 100 * 4
                + 2 * 300 * 4 * 4
                + 6 * 300 * 4
                + PNG_DECODER_BUFFER_BYTES
                + WORKING_BYTES
        );
        // A box as large as the image: decoded whole, and the 8-bit copy.
        let whole = decode_cost(&png, &[request(300)]).unwrap();
        assert_eq!(whole.bytes, 2 * 300 * 200 * 4 + WORKING_BYTES);
    }

    #[test]
    fn other_formats_cost_their_full_size_buffers_and_bombs_cost_what_they_claim() {
        // A 16-bit PNG is decoded whole: 8 bytes a pixel, then its 8-bit copy.
        let img = image::ImageBuffer::<image::Rgba<u16>, _>::from_pixel(
            300,
            200,
            image::Rgba([1, 2, 3, 4]),
        );
        let mut wide = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut wide), ImageFormat::Png)
            .unwrap();
        let cost = decode_cost(&wide, &[request(64)]).unwrap();
        assert_eq!(cost.bytes, 300 * 200 * (8 + 4) + WORKING_BYTES);
        let img = image::RgbaImage::from_pixel(300, 200, image::Rgba([1, 2, 3, 4]));
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        // A header claiming 65,500 x 65,500 pixels: its cost, told without decoding.
        let ihdr = png.windows(4).position(|w| w == b"IHDR").unwrap();
        png[ihdr + 4..ihdr + 12].copy_from_slice(&[0, 0, 0xFF, 0xDC, 0, 0, 0xFF, 0xDC]);
        // The chunk's CRC is wrong now; the reader may refuse it, or give its claim.
        if let Some(bomb) = decode_cost(&png, &[request(64)]) {
            assert!(bomb.bytes > 16 << 30, "{bomb:?}");
        }
        assert_eq!(decode_cost(b"not an image", &[request(64)]), None);
    }

    #[cfg(feature = "jxl")]
    #[test]
    fn a_jpeg_xl_costs_its_full_size_in_floats_from_its_header() {
        let jxl = include_bytes!("../../../../tests/fixtures/native.jxl");
        let png = image::load_from_memory(include_bytes!("../../../../tests/fixtures/native.png"))
            .unwrap();
        let cost = decode_cost(jxl, &[request(64)]).unwrap();
        assert_eq!(cost.source_px, (png.width(), png.height()));
        let pixels = u64::from(png.width()) * u64::from(png.height());
        assert_eq!(cost.bytes, pixels * JXL_BYTES_PER_PX + WORKING_BYTES);
    }
}
