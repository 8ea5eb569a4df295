//! Image fixtures the thumbnail tests make themselves.

use std::io::Cursor;

use image::{ImageEncoder, RgbImage};

/// A JPEG with an EXIF block: orientation (tag 0x0112) and, when given, SubjectArea (0x9214,
/// a point) in the stored image's pixels.
pub fn jpeg_with_exif(img: &RgbImage, orientation: u16, subject: Option<(u16, u16)>) -> Vec<u8> {
    use exif::{Field, In, Tag, Value};
    let mut fields = vec![Field {
        tag: Tag::Orientation,
        ifd_num: In::PRIMARY,
        value: Value::Short(vec![orientation]),
    }];
    if let Some((x, y)) = subject {
        fields.push(Field {
            tag: Tag::SubjectArea,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![x, y]),
        });
    }
    let mut writer = exif::experimental::Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, false).unwrap();
    let mut out = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95);
    enc.set_exif_metadata(tiff.into_inner()).unwrap();
    enc.write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgb8,
    )
    .unwrap();
    out
}
