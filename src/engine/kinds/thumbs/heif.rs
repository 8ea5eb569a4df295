//! HEIC/HEIF input through heifer (container and HEVC decoder in safe Rust, MIT OR Apache-2.0),
//! behind the cargo feature `heic` (HEVC is patent-encumbered in some countries; packagers can
//! build without it).
//!
//! Owns: telling a HEVC-coded HEIF file by its `ftyp` brands, refusing oversized images from the
//! container's `ispe` before any tile is decoded, decoding the primary image (8 to 12 bits,
//! grids, alpha plane; the container's `clap`/`irot`/`imir` applied by heifer, which HEIF says
//! win over any EXIF orientation) to 8-bit pixels, the colour space of those pixels (the ICC
//! profile is handed to the colour stage; `nclx` or HEVC VUI colour is converted to sRGB here by
//! heifer), the EXIF and XMP items, and turning the decoder's errors and panics into per-file
//! errors.
//! Must not touch: files, threads (tiles are decoded on the calling worker: `max_threads` 1),
//! resampling, ICC colour conversion, encoding, job state, any front end.

use heifer::heifer_isobmff::HeifFile;
use image::DynamicImage;
use image::metadata::Orientation;

use crate::engine::kinds::thumbs::decode::{Decoded, MAX_PIXELS, check_size, drop_opaque_alpha};
use crate::engine::kinds::thumbs::guard::quietly;
use crate::engine::model::error::ItemError;

fn map_error(e: heifer::Error) -> ItemError {
    match e {
        heifer::Error::Unsupported(what) => {
            ItemError::BadImage(format!("HEIF: unsupported {what}"))
        }
        other => ItemError::Damaged(format!("HEIF: {other}")),
    }
}

/// Decodes the primary image of a HEIF file. Panics of the decoder are caught and reported as
/// [`ItemError::Damaged`], without a message on stderr.
pub fn decode_heif(data: &[u8]) -> Result<Decoded, ItemError> {
    quietly(|| decode_unguarded(data)).unwrap_or_else(|panic| {
        Err(ItemError::Damaged(format!(
            "the HEIF decoder stopped: {panic}"
        )))
    })
}

fn decode_unguarded(data: &[u8]) -> Result<Decoded, ItemError> {
    let file = HeifFile::parse(data).map_err(|e| map_error(e.into()))?;
    let id = file.primary_id;
    let stored = file.image_size(id).map_err(|e| map_error(e.into()))?;
    if let Some((w, h)) = stored {
        check_size(u64::from(w), u64::from(h))?;
    }
    // Metadata that cannot be read is treated as absent: the pixels are what matters.
    let meta = heifer::item_metadata(&file, id).unwrap_or_default();
    drop(file);

    let options = heifer::Options {
        max_threads: 1,
        max_pixels: MAX_PIXELS,
    };
    // With an ICC profile the pixels stay as coded and the profile goes to the colour stage
    // (which can also keep it); without one, heifer converts from `nclx` or the HEVC VUI to
    // sRGB. A transfer it cannot convert (PQ/HLG: HDR) gives the coded values, as viewers
    // without HDR support show them.
    let decoded = if meta.icc_profile.is_some() {
        heifer::decode_rgba8(data, &options)
    } else {
        match heifer::decode_srgb_rgba8(data, &options) {
            Err(heifer::Error::Unsupported(_)) => heifer::decode_rgba8(data, &options),
            other => other,
        }
    }
    .map_err(map_error)?;
    let (w, h) = (decoded.width, decoded.height);
    check_size(u64::from(w), u64::from(h))?;
    let rgba = image::RgbaImage::from_raw(w, h, decoded.data)
        .ok_or_else(|| ItemError::Internal("HEIF pixels do not match their size".to_owned()))?;
    Ok(Decoded {
        image: drop_opaque_alpha(DynamicImage::ImageRgba8(rgba))?,
        orientation: Orientation::NoTransforms,
        icc_profile: meta.icc_profile,
        exif: meta.exif,
        xmp: meta.xmp,
        source_size_px: stored.unwrap_or((w, h)),
        warnings: Vec::new(),
        pixels_are_cmyk_converted: false,
    })
}
