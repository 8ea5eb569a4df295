//! What every decoder hands back and the rules they all keep: [`Decoded`] (8-bit pixels and
//! the metadata the later steps need), [`DecodeWarning`], the safety limits (pixels, decoder
//! memory, file size) with [`check_size`], and dropping an alpha channel that carries nothing
//! ([`drop_opaque_alpha`]). Below `decode` and each format's decoder (`jpeg`, `jxl`, `heif`,
//! `avif`), which all use it, so imports run one way.
//!
//! Owns: those types, limits and rules. Must not touch: any format's decoding, files, threads,
//! job state, any front end.

use image::DynamicImage;
use image::metadata::Orientation;

use crate::engine::model::error::ItemError;

/// Images with more pixels than this are refused whatever the memory budget, at once from the
/// header: no camera or scanner makes them, and headers that claim them are decompression
/// bombs. Below it, what a decode may allocate is the memory budget's business (see `cost`).
pub const MAX_PIXELS: u64 = 1_000_000_000;
/// A decoder may allocate at most this much (a bound for the decoders' own checks; the memory
/// budget, checked before decoding, is the limit that applies).
pub const MAX_DECODE_ALLOC_BYTES: u64 = 4 << 30;
/// Files larger than this are not read as images.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// An image decoded for thumbnailing.
pub struct Decoded {
    /// 8-bit pixels: ImageLuma8, ImageLumaA8, ImageRgb8 or ImageRgba8 (16-bit and float sources are reduced;
    /// an alpha channel that is opaque everywhere is dropped).
    /// CMYK/YCCK JPEGs arrive converted to RGB (uncalibrated unless an ICC profile says otherwise: then the
    /// CMYK profile is in `icc_profile` and `pixels_are_cmyk_converted` is true).
    pub image: DynamicImage,
    /// EXIF orientation (tag 0x0112) from the FIRST EXIF block of the file (libvips/Pillow rule).
    pub orientation: Orientation,
    /// The embedded ICC profile, assembled (JPEG APP2 "ICC_PROFILE" chunks in sequence order; PNG iCCP
    /// decompressed; WebP ICCP; TIFF tag 34675). None when the file has none.
    pub icc_profile: Option<Vec<u8>>,
    /// The first EXIF block, from the TIFF header on (no "Exif\0\0" prefix).
    pub exif: Option<Vec<u8>>,
    /// The XMP packet (JPEG APP1 "http://ns.adobe.com/xap/1.0/\0", PNG iTXt "XML:com.adobe.xmp", WebP "XMP ").
    pub xmp: Option<Vec<u8>>,
    /// Width and height of the image as stored in the file, before any DCT scaling, in pixels.
    pub source_size_px: (u32, u32),
    /// Non-fatal findings, e.g. a JPEG whose scans are complete but whose end-of-image marker is missing.
    pub warnings: Vec<DecodeWarning>,
    /// The source was a CMYK or YCCK JPEG whose pixels were converted to RGB here without colour
    /// management (R = (255 - C)(255 - K) / 255, ...): an ICC profile in `icc_profile` then
    /// describes the CMYK source, not these pixels (its header's colour space field says 'CMYK').
    pub pixels_are_cmyk_converted: bool,
}

/// A finding of the decoder that does not stop the thumbnail (reported as a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeWarning {
    /// Every scan is complete but the file ends without its EOI marker (JPEG, ITU T.81 B.2.1).
    MissingEndMarker,
    /// The image is complete; bytes after it could not be read and were ignored.
    DataAfterImage,
}

pub(crate) fn check_size(width: u64, height: u64) -> Result<(), ItemError> {
    if width == 0 || height == 0 {
        return Err(ItemError::BadImage(format!("{width}x{height} pixels")));
    }
    if width.saturating_mul(height) > MAX_PIXELS {
        return Err(ItemError::TooLarge {
            width,
            height,
            limit_mpx: MAX_PIXELS / 1_000_000,
        });
    }
    Ok(())
}

/// An alpha channel that is 255 everywhere carries nothing: RGBA becomes RGB and grey+alpha
/// becomes grey, in place (no second buffer). Many wallpapers are stored so (24 of the 40 PNGs
/// with alpha in the benchmark photos); without the channel the resampler need not premultiply
/// a copy of the whole image, which saves a quarter of the memory and time for them.
pub(crate) fn drop_opaque_alpha(image: DynamicImage) -> Result<DynamicImage, ItemError> {
    let size_mismatch = || ItemError::Internal("pixel buffer does not match its size".to_owned());
    Ok(match image {
        DynamicImage::ImageRgba8(rgba) if alpha_is_opaque(rgba.as_raw(), 4) => {
            let (w, h) = rgba.dimensions();
            let rgb = compact_channels(rgba.into_raw(), 4, 3);
            DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, rgb).ok_or_else(size_mismatch)?)
        }
        DynamicImage::ImageLumaA8(la) if alpha_is_opaque(la.as_raw(), 2) => {
            let (w, h) = la.dimensions();
            let luma = compact_channels(la.into_raw(), 2, 1);
            DynamicImage::ImageLuma8(
                image::GrayImage::from_raw(w, h, luma).ok_or_else(size_mismatch)?,
            )
        }
        other => other,
    })
}

/// A 32-bit BMP whose alpha is 0 everywhere does not use its fourth byte (many writers leave
/// it zero; browsers show such files opaque): its pixels are taken as opaque.
pub(crate) fn drop_unused_bmp_alpha(image: DynamicImage) -> Result<DynamicImage, ItemError> {
    Ok(match image {
        DynamicImage::ImageRgba8(rgba) if alpha_is_all(rgba.as_raw(), 4, 0) => {
            let (w, h) = rgba.dimensions();
            let rgb = compact_channels(rgba.into_raw(), 4, 3);
            DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, rgb).ok_or_else(|| {
                ItemError::Internal("pixel buffer does not match its size".to_owned())
            })?)
        }
        other => other,
    })
}

/// Whether the last of every `channels` samples is `value`.
pub(crate) fn alpha_is_all(samples: &[u8], channels: usize, value: u8) -> bool {
    samples
        .chunks_exact(channels)
        .all(|px| px[channels - 1] == value)
}

/// Whether the last of every `channels` samples is 255. Checks in blocks so that a transparent
/// image stops early while the common opaque case runs branch-free within a block.
pub(crate) fn alpha_is_opaque(samples: &[u8], channels: usize) -> bool {
    fn opaque<const N: usize>(samples: &[u8]) -> bool {
        samples
            .chunks(N * 4096)
            .all(|block| block.chunks_exact(N).fold(0xFF, |acc, px| acc & px[N - 1]) == 0xFF)
    }
    match channels {
        4 => opaque::<4>(samples),
        2 => opaque::<2>(samples),
        _ => samples
            .chunks_exact(channels)
            .all(|px| px[channels - 1] == 0xFF),
    }
}

/// Keeps the first `keep` of every `channels` samples, moving them to the front of the same
/// buffer.
pub(crate) fn compact_channels(mut samples: Vec<u8>, channels: usize, keep: usize) -> Vec<u8> {
    let pixels = samples.len() / channels;
    match (channels, keep) {
        (4, 3) => compact::<4, 3>(&mut samples[..pixels * 4]),
        (2, 1) => compact::<2, 1>(&mut samples[..pixels * 2]),
        _ => {
            for i in 0..pixels {
                let (src, dst) = (i * channels, i * keep);
                samples.copy_within(src..src + keep, dst);
            }
        }
    }
    samples.truncate(pixels * keep);
    samples
}

/// [`compact_channels`] for fixed counts, a block of pixels at a time: each block is copied out
/// first (its compacted bytes land on its own first part), then written back without its last
/// `C - K` samples per pixel, in loops of fixed length the compiler turns into vector shuffles.
fn compact<const C: usize, const K: usize>(samples: &mut [u8]) {
    const BLOCK_PX: usize = 256;
    let mut block = [[0u8; C]; BLOCK_PX];
    let pixels = samples.len() / C;
    let mut done = 0;
    while done < pixels {
        let n = (pixels - done).min(BLOCK_PX);
        let src = &samples[done * C..(done + n) * C];
        for (px, from) in block.iter_mut().zip(src.chunks_exact(C)) {
            px.copy_from_slice(from);
        }
        let dst = &mut samples[done * K..(done + n) * K];
        for (to, px) in dst.chunks_exact_mut(K).zip(&block) {
            to.copy_from_slice(&px[..K]);
        }
        done += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample-by-sample definition the block copy must match.
    fn compact_slowly(samples: &[u8], channels: usize, keep: usize) -> Vec<u8> {
        samples
            .chunks_exact(channels)
            .flat_map(|px| px[..keep].iter().copied())
            .collect()
    }

    #[test]
    fn compacting_keeps_the_first_samples_of_every_pixel_at_every_length() {
        // Lengths around the block size, and a trailing partial pixel that is dropped.
        for (channels, keep) in [(4, 3), (2, 1), (3, 1), (4, 1)] {
            for pixels in [0, 1, 2, 255, 256, 257, 511, 512, 513, 1000] {
                let samples: Vec<u8> = (0..pixels * channels + 1)
                    .map(|i| (i * 7 % 251) as u8)
                    .collect();
                let whole = &samples[..pixels * channels];
                let want = compact_slowly(whole, channels, keep);
                assert_eq!(
                    compact_channels(samples.clone(), channels, keep),
                    want,
                    "{channels} channels keeping {keep}, {pixels} pixels"
                );
            }
        }
    }
}
