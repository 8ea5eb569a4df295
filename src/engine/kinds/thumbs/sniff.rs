//! Telling JPEG XL, HEIC/HEIF and AVIF files by their first bytes, in every build (also without
//! the `jxl`/`heic`/`avif` decoders, so that such a file is reported as an image the build cannot
//! read).
//!
//! Owns: the JPEG XL signatures and the HEIF and AVIF `ftyp` brands. Must not touch: decoding,
//! files.

/// Whether `data` starts like a JPEG XL file: a bare codestream (`FF 0A`) or the ISO BMFF
/// container's signature box (ISO/IEC 18181-2).
pub fn is_jxl(data: &[u8]) -> bool {
    data.starts_with(&[0xFF, 0x0A])
        || data.starts_with(&[
            0, 0, 0, 0x0C, b'J', b'X', b'L', b' ', 0x0D, 0x0A, 0x87, 0x0A,
        ])
}

/// `ftyp` major brands of HEVC-coded HEIF files (ISO/IEC 23008-12 and its amendments).
const HEVC_BRANDS: [&[u8; 4]; 6] = [b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"];
/// Brands of the image file format that do not name the codec.
const GENERIC_BRANDS: [&[u8; 4]; 3] = [b"mif1", b"mif2", b"msf1"];
/// Brands of AV1-coded files (AVIF): still images and image sequences.
const AV1_BRANDS: [&[u8; 4]; 2] = [b"avif", b"avis"];

/// Whether `data` starts like a HEVC-coded HEIF file: an `ftyp` box whose major brand is a HEVC
/// one, or a generic image brand with no AV1 brand among the compatible brands that `data` holds.
pub fn is_heif(data: &[u8]) -> bool {
    if data.len() < 12 || &data[4..8] != b"ftyp" {
        return false;
    }
    let major = &data[8..12];
    if HEVC_BRANDS.iter().any(|b| &b[..] == major) {
        return true;
    }
    if !GENERIC_BRANDS.iter().any(|b| &b[..] == major) {
        return false;
    }
    let box_len = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
    let compatible = data.get(16..box_len.min(data.len())).unwrap_or(&[]);
    !compatible
        .chunks_exact(4)
        .any(|brand| AV1_BRANDS.iter().any(|b| &b[..] == brand))
}

/// Whether `data` starts like an AVIF file: an `ftyp` box whose major brand is `avif` or `avis`,
/// or a generic image brand with an AV1 brand among the compatible brands that `data` holds.
pub fn is_avif(data: &[u8]) -> bool {
    if data.len() < 12 || &data[4..8] != b"ftyp" {
        return false;
    }
    let major = &data[8..12];
    if AV1_BRANDS.iter().any(|b| &b[..] == major) {
        return true;
    }
    if !GENERIC_BRANDS.iter().any(|b| &b[..] == major) {
        return false;
    }
    let box_len = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
    let compatible = data.get(16..box_len.min(data.len())).unwrap_or(&[]);
    compatible
        .chunks_exact(4)
        .any(|brand| AV1_BRANDS.iter().any(|b| &b[..] == brand))
}
