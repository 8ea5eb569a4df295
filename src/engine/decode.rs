//! STAND-IN for helper B's `decode.rs` (branch `jpeg`): at merge, take B's file whole and drop
//! this one. It exists so that the post-decode stages (colour, metadata, encoding, several sizes)
//! can be built and tested against the agreed [`Decoded`] contract before the real decoder lands.
//!
//! Owns: turning a whole image file into a [`Decoded`] value with the current decoders
//! (`thumbnail::decode_jpeg_scaled` / `decode_generic`), plus the ICC profile, EXIF and XMP read
//! through `image::ImageDecoder::{icc_profile, exif_metadata, xmp_metadata}`.
//! Must not touch: pixels after decoding (that is `render`), files, job state.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use super::error::ItemError;
use super::thumbnail::{decode_generic, decode_jpeg_scaled, detect_format, jpeg_is_complete};

/// An image decoded for thumbnailing.
pub struct Decoded {
    /// 8-bit pixels: ImageLuma8, ImageLumaA8, ImageRgb8 or ImageRgba8 (16-bit and float sources
    /// are reduced). CMYK/YCCK JPEGs arrive converted to RGB (uncalibrated unless an ICC profile
    /// says otherwise: then the CMYK profile is in `icc_profile`).
    pub image: DynamicImage,
    /// EXIF orientation (tag 0x0112) from the FIRST EXIF block of the file.
    pub orientation: Orientation,
    /// The embedded ICC profile, assembled. None when the file has none.
    pub icc_profile: Option<Vec<u8>>,
    /// The first EXIF block, from the TIFF header on (no "Exif\0\0" prefix).
    pub exif: Option<Vec<u8>>,
    /// The XMP packet.
    pub xmp: Option<Vec<u8>>,
    /// Width and height of the image as stored in the file, before any DCT scaling, in pixels.
    pub source_size_px: (u32, u32),
    /// Non-fatal findings.
    pub warnings: Vec<DecodeWarning>,
}

/// A non-fatal finding of the decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeWarning {
    /// Every scan is complete but the file ends without its EOI marker (JPEG, ITU T.81 B.2.1).
    MissingEndMarker,
}

/// Reusable per-worker decoder state; the stand-in keeps none.
#[derive(Default)]
pub struct DecodeScratch {}

impl DecodeScratch {
    pub fn new() -> Self {
        DecodeScratch {}
    }
}

/// Decodes `data` (a whole file) so that the long side is at least `min_long_side_px` whenever
/// the source is that large.
pub fn decode(
    data: &[u8],
    min_long_side_px: u32,
    _scratch: &mut DecodeScratch,
) -> Result<Decoded, ItemError> {
    if data.is_empty() {
        return Err(ItemError::Empty);
    }
    let format = detect_format(data).ok_or(ItemError::NotAnImage)?;
    let (image, orientation) = if format == ImageFormat::Jpeg {
        if !jpeg_is_complete(data) {
            return Err(ItemError::Damaged(
                "JPEG data is truncated (no end-of-image marker)".to_owned(),
            ));
        }
        match decode_jpeg_scaled(data, min_long_side_px)? {
            Some(decoded) => decoded,
            None => decode_generic(data, format)?,
        }
    } else {
        decode_generic(data, format)?
    };
    let image = to_8bit(image);
    let mut meta = Metadata::default();
    let mut source_size_px = (image.width(), image.height());
    // A second header parse for the metadata: acceptable in a stand-in, not in the real decoder.
    if let Ok(mut decoder) = ImageReader::with_format(Cursor::new(data), format).into_decoder() {
        source_size_px = decoder.dimensions();
        meta.icc = decoder.icc_profile().ok().flatten();
        meta.exif = decoder.exif_metadata().ok().flatten();
        meta.xmp = decoder.xmp_metadata().ok().flatten();
    }
    Ok(Decoded {
        image,
        orientation,
        icc_profile: meta.icc,
        exif: meta.exif.map(strip_exif_prefix),
        xmp: meta.xmp,
        source_size_px,
        warnings: Vec::new(),
    })
}

#[derive(Default)]
struct Metadata {
    icc: Option<Vec<u8>>,
    exif: Option<Vec<u8>>,
    xmp: Option<Vec<u8>>,
}

fn strip_exif_prefix(mut exif: Vec<u8>) -> Vec<u8> {
    if exif.starts_with(b"Exif\0\0") {
        exif.drain(..6);
    }
    exif
}

/// 16-bit and float images reduced to the 8-bit types of the contract.
fn to_8bit(image: DynamicImage) -> DynamicImage {
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
