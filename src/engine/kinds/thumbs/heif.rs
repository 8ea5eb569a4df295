//! HEIC/HEIF input through heifer (container and HEVC decoder in safe Rust, MIT OR Apache-2.0),
//! behind the cargo feature `heic` (HEVC is patent-encumbered in some countries; packagers can
//! build without it).
//!
//! Owns: refusing oversized images from the container's `ispe` before any tile is decoded,
//! decoding a thumbnail item instead of the primary image when it is large enough for the
//! request and shows the same picture (the 320-pixel preview of iPhone photos: a small
//! thumbnail then costs a fraction of a full decode), else the primary image (8 to 12 bits,
//! grids, alpha plane; the container's `clap`/`irot`/`imir` applied by heifer, which HEIF says
//! win over any EXIF orientation) to 8-bit pixels, the colour space of those pixels (the ICC
//! profile is handed to the colour stage; `nclx` or HEVC VUI colour is converted to sRGB here by
//! heifer), the EXIF and XMP items, and turning the decoder's errors and panics into per-file
//! errors.
//! Must not touch: files, threads (tiles are decoded on the calling worker: `max_threads` 1),
//! resampling, ICC colour conversion, encoding, job state, any front end.

use heifer::heifer_isobmff::boxes::Property;
use heifer::heifer_isobmff::{HeifFile, ItemId};
use image::DynamicImage;
use image::metadata::Orientation;

use crate::engine::kinds::thumbs::decoded::{Decoded, MAX_PIXELS, check_size, drop_opaque_alpha};
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
pub fn decode_heif(data: &[u8], min_long_side_px: u32) -> Result<Decoded, ItemError> {
    quietly(|| decode_unguarded(data, min_long_side_px)).unwrap_or_else(|panic| {
        Err(ItemError::Damaged(format!(
            "the HEIF decoder stopped: {panic}"
        )))
    })
}

/// Auxiliary types of alpha planes (ISO/IEC 23008-12 and the older HEVC one).
const ALPHA_URNS: [&str; 2] = [
    "urn:mpeg:mpegB:cicp:systems:auxiliary:alpha",
    "urn:mpeg:hevc:2015:auxid:1",
];

/// Whether `id` has an alpha plane (an auxiliary image of an alpha type referencing it).
fn has_alpha_plane(file: &HeifFile<'_>, id: ItemId) -> bool {
    file.referencing_items(id, b"auxl").into_iter().any(|aux| {
        file.item_properties(aux).is_ok_and(|mut props| {
            props.any(|p| matches!(p, Property::AuxiliaryType(urn) if ALPHA_URNS.contains(&urn.trim_end_matches('\0'))))
        })
    })
}

/// The rotation and mirroring of an item, in order.
fn turns(file: &HeifFile<'_>, id: ItemId) -> Option<Vec<Property>> {
    Some(
        file.item_properties(id)
            .ok()?
            .filter(|p| matches!(p, Property::Rotation(_) | Property::Mirror(_)))
            .cloned()
            .collect(),
    )
}

/// Whether an item is cropped (`clap`).
fn is_cropped(file: &HeifFile<'_>, id: ItemId) -> bool {
    file.item_properties(id)
        .is_ok_and(|mut props| props.any(|p| matches!(p, Property::CleanAperture { .. })))
}

/// The smallest thumbnail item (`thmb`, such as the 320-pixel preview of iPhone photos) that
/// shows the primary image as it would be decoded, with a long side of at least
/// `min_long_side_px`: a single coded image of the same shape (within 1 %), with the same
/// rotation and mirroring (and a primary image without crop), the same ICC profile (files whose colour is given by
/// `nclx` always decode the primary image, whose conversion heifer does), and an alpha plane
/// exactly when the primary image has one.
fn usable_thumbnail(
    file: &HeifFile<'_>,
    primary: ItemId,
    icc: Option<&[u8]>,
    min_long_side_px: u32,
) -> Option<ItemId> {
    let icc = icc?;
    let (pw, ph) = file.image_size(primary).ok()??;
    // A thumbnail may crop its own coded size (heifer's and Apple's round it to whole blocks);
    // a cropped primary image is a different picture.
    if is_cropped(file, primary) {
        return None;
    }
    let primary_turns = turns(file, primary)?;
    let primary_alpha = has_alpha_plane(file, primary);
    file.referencing_items(primary, b"thmb")
        .into_iter()
        .filter_map(|id| {
            let (tw, th) = file.image_size(id).ok()??;
            let same_shape =
                (u64::from(tw) * u64::from(ph)).abs_diff(u64::from(th) * u64::from(pw)) * 100
                    <= u64::from(tw) * u64::from(ph);
            let fits = tw.max(th) >= min_long_side_px && tw < pw && th < ph;
            let usable = same_shape
                && fits
                && file.item(id).ok()?.item_type.0 == *b"hvc1"
                && turns(file, id)? == primary_turns
                && file.icc_profile(id).ok()? == Some(icc)
                && has_alpha_plane(file, id) == primary_alpha;
            usable.then_some((u64::from(tw) * u64::from(th), id))
        })
        .min()
        .map(|(_, id)| id)
}

/// The primary image's stored width and height (its `ispe`), read from the container alone;
/// `None` when the container cannot be read here (the decoder then says why).
pub(crate) fn stored_size_px(data: &[u8]) -> Option<(u32, u32)> {
    quietly(|| {
        let file = HeifFile::parse(data).ok()?;
        file.image_size(file.primary_id).ok()?
    })
    .ok()
    .flatten()
}

fn decode_unguarded(data: &[u8], min_long_side_px: u32) -> Result<Decoded, ItemError> {
    let file = HeifFile::parse(data).map_err(|e| map_error(e.into()))?;
    let id = file.primary_id;
    let stored = file.image_size(id).map_err(|e| map_error(e.into()))?;
    if let Some((w, h)) = stored {
        check_size(u64::from(w), u64::from(h))?;
    }
    // Metadata that cannot be read is treated as absent: the pixels are what matters.
    let meta = heifer::item_metadata(&file, id).unwrap_or_default();
    // A thumbnail item big enough for the request is decoded instead of the whole image; if it
    // cannot be decoded, the primary image is.
    let preview = usable_thumbnail(&file, id, meta.icc_profile.as_deref(), min_long_side_px)
        .and_then(|thumb| heifer::decode_item(&file, thumb, 0).ok());
    drop(file);

    let decoded = match preview {
        Some(image) => heifer::Image::<u8> {
            width: image.width,
            height: image.height,
            bit_depth: 8,
            has_alpha: image.has_alpha,
            data: image.to_rgba8(),
        },
        None => decode_primary(data, meta.icc_profile.is_some())?,
    };
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

/// The primary image at 8 bits, on this thread.
fn decode_primary(data: &[u8], has_icc: bool) -> Result<heifer::Image<u8>, ItemError> {
    let options = heifer::Options {
        max_threads: 1,
        max_pixels: MAX_PIXELS,
    };
    // With an ICC profile the pixels stay as coded and the profile goes to the colour stage
    // (which can also keep it); without one, heifer converts from `nclx` or the HEVC VUI to
    // sRGB. A transfer it cannot convert (PQ/HLG: HDR) gives the coded values, as viewers
    // without HDR support show them.
    if has_icc {
        heifer::decode_rgba8(data, &options)
    } else {
        match heifer::decode_srgb_rgba8(data, &options) {
            Err(heifer::Error::Unsupported(_)) => heifer::decode_rgba8(data, &options),
            other => other,
        }
    }
    .map_err(map_error)
}
