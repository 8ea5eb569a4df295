//! Which EXIF and XMP metadata a thumbnail carries, by policy.
//!
//! Owns: the metadata policy ([`MetadataPolicy`]), the list of EXIF tags `keep-safe` keeps, the
//! EXIF block written for `keep-safe` (through kamadak-exif's writer), and the small in-place
//! patches that keep copied metadata true of the thumbnail (orientation 1, pixel dimensions,
//! colour space). Must not touch: pixels, ICC profiles (that is `color`), containers (that is
//! `encode`), files.
//!
//! Tag numbers are those of EXIF 2.32 (CIPA DC-008-2019) and EXIF 3.0 (CIPA DC-008-2023),
//! which agree on all of them; IFD0 tags are TIFF 6.0 tags.
//!
//! The pixels of every thumbnail are already turned upright, so every EXIF block written says
//! Orientation (0x0112) = 1, and so does any `tiff:Orientation` in a copied XMP packet.

use std::io::Cursor;

use exif::{Context, Field, In, Tag, Value};

/// What EXIF and XMP metadata the thumbnails keep.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum MetadataPolicy {
    /// No EXIF and no XMP (the default, and what privacy needs).
    #[default]
    Strip,
    /// The EXIF tags of [`KEEP_SAFE_TAGS`] (copyright, artist, date taken, camera and lens),
    /// plus Orientation = 1. Everything else goes: GPS (the whole GPS IFD, pointer 0x8825),
    /// serial numbers (BodySerialNumber 0xA431, LensSerialNumber 0xA435, maker-specific ones),
    /// the embedded thumbnail (IFD1), MakerNote (0x927C), owner name, unique ids. XMP is dropped
    /// as a whole: it can carry GPS, serials and edit history in any namespace.
    KeepSafe,
    /// All EXIF and XMP copied, byte for byte, except Orientation (set to 1), the pixel
    /// dimensions (0xA002/0xA003, set to the thumbnail's) and ColorSpace (0xA001, set to 1 =
    /// sRGB when the pixels were converted to sRGB).
    Keep,
}

impl MetadataPolicy {
    /// Every policy, in the order front ends offer them.
    pub const ALL: [MetadataPolicy; 3] = [
        MetadataPolicy::Strip,
        MetadataPolicy::KeepSafe,
        MetadataPolicy::Keep,
    ];

    /// The name used on the command line and in saved settings.
    pub fn name(self) -> &'static str {
        match self {
            MetadataPolicy::Strip => "strip",
            MetadataPolicy::KeepSafe => "keep-safe",
            MetadataPolicy::Keep => "keep",
        }
    }
}

/// The EXIF tags `keep-safe` keeps, all in the primary image's IFDs (IFD0 and its Exif IFD).
pub const KEEP_SAFE_TAGS: [Tag; 16] = [
    Tag::Make,                // 0x010F, IFD0: camera make
    Tag::Model,               // 0x0110, IFD0: camera model
    Tag::Artist,              // 0x013B, IFD0
    Tag::Copyright,           // 0x8298, IFD0
    Tag::ExifVersion,         // 0x9000, Exif IFD: mandatory there when the IFD exists
    Tag::DateTimeOriginal,    // 0x9003, Exif IFD: date taken
    Tag::DateTimeDigitized,   // 0x9004, Exif IFD: "CreateDate"
    Tag::OffsetTimeOriginal,  // 0x9011, Exif IFD: UTC offset of 0x9003
    Tag::OffsetTimeDigitized, // 0x9012, Exif IFD: UTC offset of 0x9004
    Tag::SubSecTimeOriginal,  // 0x9291, Exif IFD: fraction of a second of 0x9003
    Tag::SubSecTimeDigitized, // 0x9292, Exif IFD: fraction of a second of 0x9004
    Tag::LensSpecification,   // 0xA432, Exif IFD: focal and aperture range
    Tag::LensMake,            // 0xA433, Exif IFD
    Tag::LensModel,           // 0xA434, Exif IFD
    Tag::PixelXDimension,     // 0xA002, Exif IFD: rewritten to the thumbnail's width
    Tag::PixelYDimension,     // 0xA003, Exif IFD: rewritten to the thumbnail's height
];

/// Facts about the thumbnail that copied metadata must agree with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputFacts {
    /// The thumbnail's width, in pixels (upright).
    pub width_px: u32,
    /// The thumbnail's height, in pixels (upright).
    pub height_px: u32,
    /// The pixels were converted from an embedded profile to sRGB.
    pub converted_to_srgb: bool,
}

/// The EXIF block (from the TIFF header on, no "Exif\0\0") and XMP packet for one thumbnail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputMetadata {
    /// The EXIF block to embed (from the TIFF header on), if any.
    pub exif: Option<Vec<u8>>,
    /// The XMP packet to embed, if any.
    pub xmp: Option<Vec<u8>>,
}

/// The metadata a thumbnail gets under `policy`, from the source's first EXIF block and XMP
/// packet. Never fails: an EXIF block that cannot be parsed is dropped under `keep-safe`
/// (nothing known to be safe can be taken from it) and copied unpatched under `keep`.
pub fn output_metadata(
    policy: MetadataPolicy,
    exif: Option<&[u8]>,
    xmp: Option<&[u8]>,
    facts: &OutputFacts,
) -> OutputMetadata {
    match policy {
        MetadataPolicy::Strip => OutputMetadata::default(),
        MetadataPolicy::KeepSafe => OutputMetadata {
            exif: exif.and_then(|e| keep_safe_exif(e, facts)),
            xmp: None,
        },
        MetadataPolicy::Keep => OutputMetadata {
            exif: exif.map(|e| {
                let mut e = e.to_vec();
                patch_exif_in_place(&mut e, facts);
                e
            }),
            xmp: xmp.map(|x| {
                let mut x = x.to_vec();
                patch_xmp_orientation(&mut x);
                x
            }),
        },
    }
}

/// The fields of an EXIF block that can be read (some bad fields leave the others good);
/// `None` when the block is not EXIF at all.
fn read_exif(exif: &[u8]) -> Option<exif::Exif> {
    match exif::Reader::new()
        .continue_on_error(true)
        .read_raw(exif.to_vec())
    {
        Ok(parsed) => Some(parsed),
        Err(exif::Error::PartialResult(partial)) => Some(partial.into_inner().0),
        Err(_) => None,
    }
}

/// The centre of the photo's subject, in the stored image's pixels, when its EXIF names one:
/// SubjectArea (0x9214: a point, or the centre of a circle or rectangle: the first two values in
/// each form, EXIF 2.32 section 4.6.6) or else SubjectLocation (0xA214).
pub fn subject_point(exif: &[u8]) -> Option<(f64, f64)> {
    let parsed = read_exif(exif)?;
    [Tag::SubjectArea, Tag::SubjectLocation]
        .into_iter()
        .find_map(|tag| match &parsed.get_field(tag, In::PRIMARY)?.value {
            Value::Short(v) if v.len() >= 2 => Some((f64::from(v[0]), f64::from(v[1]))),
            _ => None,
        })
}

/// A new EXIF block with only the [`KEEP_SAFE_TAGS`] of the primary image and Orientation = 1,
/// in the source's byte order. `None` when not a single field of the block can be read.
fn keep_safe_exif(exif: &[u8], facts: &OutputFacts) -> Option<Vec<u8>> {
    let parsed = read_exif(exif)?;
    if parsed.fields().len() == 0 {
        return None;
    }
    let mut kept: Vec<Field> = Vec::new();
    for field in parsed.fields() {
        if field.ifd_num != In::PRIMARY
            || !KEEP_SAFE_TAGS.contains(&field.tag)
            || matches!(field.value, Value::Unknown(..))
            || kept.iter().any(|k| k.tag == field.tag)
        {
            continue;
        }
        let value = match field.tag {
            Tag::PixelXDimension => Value::Long(vec![facts.width_px]),
            Tag::PixelYDimension => Value::Long(vec![facts.height_px]),
            _ => field.value.clone(),
        };
        kept.push(Field {
            tag: field.tag,
            ifd_num: In::PRIMARY,
            value,
        });
    }
    // The pixel dimensions only make sense next to something else in the Exif IFD.
    if !kept.iter().any(|f| {
        f.tag.context() == Context::Exif
            && !matches!(
                f.tag,
                Tag::PixelXDimension | Tag::PixelYDimension | Tag::ExifVersion
            )
    }) {
        kept.retain(|f| f.tag.context() != Context::Exif);
    }
    kept.push(Field {
        tag: Tag::Orientation,
        ifd_num: In::PRIMARY,
        value: Value::Short(vec![1]),
    });
    let mut writer = exif::experimental::Writer::new();
    for field in &kept {
        writer.push_field(field);
    }
    let mut out = Cursor::new(Vec::new());
    writer.write(&mut out, parsed.little_endian()).ok()?;
    Some(out.into_inner())
}

// TIFF 6.0 section 2: field types and the IFD entry layout.
const TYPE_SHORT: u16 = 3;
const TYPE_LONG: u16 = 4;
const TAG_ORIENTATION: u16 = 0x0112;
const TAG_EXIF_IFD_POINTER: u16 = 0x8769;
const TAG_COLOR_SPACE: u16 = 0xA001;
const TAG_PIXEL_X_DIMENSION: u16 = 0xA002;
const TAG_PIXEL_Y_DIMENSION: u16 = 0xA003;
/// ColorSpace value for sRGB (EXIF 2.32 section 4.6.5, tag 0xA001).
const COLOR_SPACE_SRGB: u32 = 1;

/// Rewrites, in place, the values copied metadata must not lie about: IFD0 Orientation to 1,
/// and in the Exif IFD the pixel dimensions and (after a conversion to sRGB) ColorSpace.
/// Leaves the block untouched where it is malformed: only values already present, of type
/// SHORT or LONG with count 1, are changed; no offset moves.
pub fn patch_exif_in_place(tiff: &mut [u8], facts: &OutputFacts) {
    let Some(order) = ByteOrder::of(tiff) else {
        return;
    };
    let Some(ifd0) = order.u32_at(tiff, 4) else {
        return;
    };
    let mut exif_ifd = None;
    for_each_entry(tiff, order, ifd0 as usize, |tiff, entry| match entry.tag {
        TAG_ORIENTATION => entry.set(tiff, order, 1),
        TAG_EXIF_IFD_POINTER => exif_ifd = entry.value(tiff, order),
        _ => {}
    });
    if let Some(offset) = exif_ifd.filter(|&o| o != ifd0) {
        for_each_entry(tiff, order, offset as usize, |tiff, entry| {
            match entry.tag {
                TAG_PIXEL_X_DIMENSION => entry.set(tiff, order, facts.width_px),
                TAG_PIXEL_Y_DIMENSION => entry.set(tiff, order, facts.height_px),
                TAG_COLOR_SPACE if facts.converted_to_srgb => {
                    entry.set(tiff, order, COLOR_SPACE_SRGB)
                }
                _ => {}
            }
        });
    }
}

#[derive(Clone, Copy)]
enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    /// From the TIFF header: "II" or "MM" then 42.
    fn of(tiff: &[u8]) -> Option<Self> {
        let order = match tiff.get(..2)? {
            b"II" => ByteOrder::Little,
            b"MM" => ByteOrder::Big,
            _ => return None,
        };
        (order.u16_at(tiff, 2)? == 42).then_some(order)
    }

    fn u16_at(self, d: &[u8], at: usize) -> Option<u16> {
        let b: [u8; 2] = d.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(match self {
            ByteOrder::Little => u16::from_le_bytes(b),
            ByteOrder::Big => u16::from_be_bytes(b),
        })
    }

    fn u32_at(self, d: &[u8], at: usize) -> Option<u32> {
        let b: [u8; 4] = d.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(match self {
            ByteOrder::Little => u32::from_le_bytes(b),
            ByteOrder::Big => u32::from_be_bytes(b),
        })
    }

    fn put_u16(self, d: &mut [u8], at: usize, v: u16) {
        let b = match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        };
        if let Some(dst) = d.get_mut(at..at + 2) {
            dst.copy_from_slice(&b);
        }
    }

    fn put_u32(self, d: &mut [u8], at: usize, v: u32) {
        let b = match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        };
        if let Some(dst) = d.get_mut(at..at + 4) {
            dst.copy_from_slice(&b);
        }
    }
}

/// One 12-byte IFD entry: tag, type, count, then the value (when it fits in 4 bytes).
struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    /// Where the entry's 4-byte value field starts.
    value_at: usize,
}

impl Entry {
    fn value(&self, tiff: &[u8], order: ByteOrder) -> Option<u32> {
        match (self.kind, self.count) {
            (TYPE_SHORT, 1) => order.u16_at(tiff, self.value_at).map(u32::from),
            (TYPE_LONG, 1) => order.u32_at(tiff, self.value_at),
            _ => None,
        }
    }

    fn set(&self, tiff: &mut [u8], order: ByteOrder, v: u32) {
        match (self.kind, self.count) {
            (TYPE_SHORT, 1) => {
                if let Ok(v) = u16::try_from(v) {
                    order.put_u16(tiff, self.value_at, v);
                }
            }
            (TYPE_LONG, 1) => order.put_u32(tiff, self.value_at, v),
            _ => {}
        }
    }
}

fn for_each_entry(
    tiff: &mut [u8],
    order: ByteOrder,
    ifd: usize,
    mut f: impl FnMut(&mut [u8], Entry),
) {
    let Some(n) = order.u16_at(tiff, ifd) else {
        return;
    };
    for i in 0..usize::from(n) {
        let at = ifd + 2 + i * 12;
        let (Some(tag), Some(kind), Some(count)) = (
            order.u16_at(tiff, at),
            order.u16_at(tiff, at + 2),
            order.u32_at(tiff, at + 4),
        ) else {
            return;
        };
        f(
            tiff,
            Entry {
                tag,
                kind,
                count,
                value_at: at + 8,
            },
        );
    }
}

/// Sets every `tiff:Orientation` of an XMP packet to 1, in both the attribute form
/// (`tiff:Orientation="6"`) and the element form (`<tiff:Orientation>6</tiff:Orientation>`).
pub fn patch_xmp_orientation(xmp: &mut [u8]) {
    const NAME: &[u8] = b"tiff:Orientation";
    let mut from = 0;
    while let Some(pos) = memchr::memmem::find(&xmp[from..], NAME) {
        let mut i = from + pos + NAME.len();
        while i < xmp.len()
            && matches!(
                xmp[i],
                b' ' | b'\t' | b'\r' | b'\n' | b'=' | b'"' | b'\'' | b'>'
            )
        {
            i += 1;
        }
        let is_single_digit = i < xmp.len()
            && (b'1'..=b'8').contains(&xmp[i])
            && !xmp.get(i + 1).is_some_and(u8::is_ascii_digit);
        if is_single_digit {
            xmp[i] = b'1';
        }
        from = i.min(xmp.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> OutputFacts {
        OutputFacts {
            width_px: 256,
            height_px: 192,
            converted_to_srgb: true,
        }
    }

    /// A camera-like EXIF block written with kamadak-exif: the keep list and what must go.
    fn camera_exif(little_endian: bool) -> Vec<u8> {
        let ascii = |s: &str| Value::Ascii(vec![s.as_bytes().to_vec()]);
        let fields = [
            (Tag::Make, ascii("Canon")),
            (Tag::Model, ascii("EOS R5")),
            (Tag::Orientation, Value::Short(vec![6])),
            (Tag::Software, ascii("Editor 1.0")),
            (Tag::Artist, ascii("A. Photographer")),
            (Tag::Copyright, ascii("(c) 2024 A. Photographer")),
            (Tag::ExifVersion, Value::Undefined(b"0232".to_vec(), 0)),
            (Tag::DateTimeOriginal, ascii("2024:05:06 07:08:09")),
            (Tag::OffsetTimeOriginal, ascii("+02:00")),
            (Tag::ColorSpace, Value::Short(vec![0xFFFF])),
            (Tag::PixelXDimension, Value::Long(vec![8192])),
            (Tag::PixelYDimension, Value::Long(vec![5464])),
            (Tag::BodySerialNumber, ascii("SN123456")),
            (Tag::LensSerialNumber, ascii("LSN987")),
            (Tag::LensModel, ascii("RF24-70mm F2.8 L IS USM")),
            (
                Tag::MakerNote,
                Value::Undefined(b"maker secrets".to_vec(), 0),
            ),
            (Tag::GPSLatitudeRef, ascii("N")),
            (
                Tag::GPSLatitude,
                Value::Rational(vec![(48, 1).into(), (51, 1).into(), (24, 1).into()]),
            ),
        ];
        let fields: Vec<Field> = fields
            .into_iter()
            .map(|(tag, value)| Field {
                tag,
                ifd_num: In::PRIMARY,
                value,
            })
            .collect();
        let thumb_field = Field {
            tag: Tag::Compression,
            ifd_num: In::THUMBNAIL,
            value: Value::Short(vec![6]),
        };
        let thumb_jpeg = [0xFF, 0xD8, 0xFF, 0xD9];
        let mut w = exif::experimental::Writer::new();
        for f in &fields {
            w.push_field(f);
        }
        w.push_field(&thumb_field);
        w.set_jpeg(&thumb_jpeg, In::THUMBNAIL);
        let mut out = Cursor::new(Vec::new());
        w.write(&mut out, little_endian).unwrap();
        out.into_inner()
    }

    #[test]
    fn the_subject_is_read_from_subject_area_or_subject_location() {
        let block = |fields: &[(Tag, Vec<u16>)]| {
            let mut w = exif::experimental::Writer::new();
            let fields: Vec<Field> = fields
                .iter()
                .map(|(tag, v)| Field {
                    tag: *tag,
                    ifd_num: In::PRIMARY,
                    value: Value::Short(v.clone()),
                })
                .collect();
            for f in &fields {
                w.push_field(f);
            }
            let mut out = Cursor::new(Vec::new());
            w.write(&mut out, false).unwrap();
            out.into_inner()
        };
        // A rectangle: its centre is the first two values.
        let area = block(&[(Tag::SubjectArea, vec![300, 200, 50, 40])]);
        assert_eq!(subject_point(&area), Some((300.0, 200.0)));
        let location = block(&[(Tag::SubjectLocation, vec![10, 20])]);
        assert_eq!(subject_point(&location), Some((10.0, 20.0)));
        let none = block(&[(Tag::Orientation, vec![1])]);
        assert_eq!(subject_point(&none), None);
        assert_eq!(subject_point(b"not exif"), None);
    }

    fn read(exif: &[u8]) -> exif::Exif {
        exif::Reader::new().read_raw(exif.to_vec()).unwrap()
    }

    fn text(e: &exif::Exif, tag: Tag) -> Option<String> {
        e.get_field(tag, In::PRIMARY)
            .map(|f| f.display_value().to_string())
    }

    #[test]
    fn strip_keeps_nothing() {
        let exif = camera_exif(true);
        let out = output_metadata(
            MetadataPolicy::Strip,
            Some(&exif),
            Some(b"<x:xmpmeta/>"),
            &facts(),
        );
        assert_eq!(out, OutputMetadata::default());
    }

    #[test]
    fn keep_safe_keeps_the_list_and_drops_gps_serials_makernote_and_thumbnail() {
        for little_endian in [true, false] {
            let exif = camera_exif(little_endian);
            let out = output_metadata(
                MetadataPolicy::KeepSafe,
                Some(&exif),
                Some(b"<x:xmpmeta/>"),
                &facts(),
            );
            assert_eq!(out.xmp, None);
            let e = read(out.exif.as_deref().unwrap());
            assert_eq!(e.little_endian(), little_endian);
            assert_eq!(text(&e, Tag::Make).as_deref(), Some("\"Canon\""));
            assert_eq!(
                text(&e, Tag::Copyright).as_deref(),
                Some("\"(c) 2024 A. Photographer\"")
            );
            assert!(text(&e, Tag::Artist).is_some());
            assert!(text(&e, Tag::DateTimeOriginal).is_some());
            assert!(text(&e, Tag::OffsetTimeOriginal).is_some());
            assert!(text(&e, Tag::LensModel).is_some());
            let orientation = e.get_field(Tag::Orientation, In::PRIMARY).unwrap();
            assert_eq!(orientation.value.get_uint(0), Some(1));
            let width = e.get_field(Tag::PixelXDimension, In::PRIMARY).unwrap();
            assert_eq!(width.value.get_uint(0), Some(256));
            for gone in [
                Tag::GPSLatitude,
                Tag::GPSLatitudeRef,
                Tag::BodySerialNumber,
                Tag::LensSerialNumber,
                Tag::MakerNote,
                Tag::Software,
                Tag::ColorSpace,
            ] {
                assert!(e.get_field(gone, In::PRIMARY).is_none(), "{gone} kept");
            }
            assert!(e.fields().all(|f| f.ifd_num == In::PRIMARY), "IFD1 kept");
        }
    }

    #[test]
    fn keep_copies_everything_but_patches_orientation_size_and_colour_space() {
        for little_endian in [true, false] {
            let exif = camera_exif(little_endian);
            let xmp = b"<rdf:Description tiff:Orientation=\"6\" tiff:Make=\"Canon\"/>\
                        <tiff:Orientation>8</tiff:Orientation>";
            let out = output_metadata(MetadataPolicy::Keep, Some(&exif), Some(xmp), &facts());
            let patched = out.exif.unwrap();
            assert_eq!(patched.len(), exif.len(), "nothing moves");
            let e = read(&patched);
            let uint = |tag| e.get_field(tag, In::PRIMARY).unwrap().value.get_uint(0);
            assert_eq!(uint(Tag::Orientation), Some(1));
            assert_eq!(uint(Tag::PixelXDimension), Some(256));
            assert_eq!(uint(Tag::PixelYDimension), Some(192));
            assert_eq!(uint(Tag::ColorSpace), Some(1));
            assert!(e.get_field(Tag::GPSLatitude, In::PRIMARY).is_some());
            assert!(e.get_field(Tag::BodySerialNumber, In::PRIMARY).is_some());
            assert!(e.get_field(Tag::MakerNote, In::PRIMARY).is_some());
            assert!(e.fields().any(|f| f.ifd_num == In::THUMBNAIL));
            assert_eq!(
                out.xmp.unwrap(),
                b"<rdf:Description tiff:Orientation=\"1\" tiff:Make=\"Canon\"/>\
                  <tiff:Orientation>1</tiff:Orientation>"
            );
        }
    }

    #[test]
    fn malformed_exif_is_dropped_by_keep_safe_and_copied_by_keep() {
        let junk = b"MM\0\x2a\xff\xff\xff\xff".to_vec();
        let safe = output_metadata(MetadataPolicy::KeepSafe, Some(&junk), None, &facts());
        assert_eq!(safe.exif, None);
        let keep = output_metadata(MetadataPolicy::Keep, Some(&junk), None, &facts());
        assert_eq!(keep.exif, Some(junk));
    }
}
