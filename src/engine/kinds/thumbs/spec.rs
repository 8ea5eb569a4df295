//! The thumbnail kind's spec: "make thumbnails of these inputs into this folder", its output
//! formats and the name template.
//!
//! Pure data: no file system access, no threads, no front end.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::engine::kinds::thumbs::color::ColorMode;
use crate::engine::kinds::thumbs::metadata::MetadataPolicy;
use crate::engine::model::error::SpecError;
use crate::engine::model::paths::{normalize_path, normalized_inputs, parent_dir};
use crate::engine::model::plan::ConflictPolicy;
use crate::engine::model::shard::Shard;

/// Long side of the thumbnail box when none is given.
pub const DEFAULT_THUMB_SIDE_PX: u32 = 256;
/// JPEG quality when none is given.
pub const DEFAULT_JPEG_QUALITY: u8 = 85;
/// The lowest JPEG and WebP quality accepted.
pub const MIN_QUALITY: u8 = 1;
/// The highest JPEG and WebP quality accepted.
pub const MAX_QUALITY: u8 = 100;

/// The format thumbnails are written in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ThumbFormat {
    /// JPEG (baseline, 4:2:0).
    #[default]
    Jpeg,
    /// PNG (lossless).
    Png,
    /// WebP (lossy, or lossless on request).
    Webp,
}

impl ThumbFormat {
    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ThumbFormat::Jpeg => "jpg",
            ThumbFormat::Png => "png",
            ThumbFormat::Webp => "webp",
        }
    }
    /// The name front ends show.
    pub fn label(self) -> &'static str {
        match self {
            ThumbFormat::Jpeg => "JPEG",
            ThumbFormat::Png => "PNG",
            ThumbFormat::Webp => "WebP",
        }
    }
    /// Every format, in the order front ends offer them.
    pub const ALL: [ThumbFormat; 3] = [ThumbFormat::Jpeg, ThumbFormat::Png, ThumbFormat::Webp];
}

/// Largest thumbnail side accepted, in pixels.
pub const MAX_THUMB_SIDE_PX: u32 = 16_384;

/// A thumbnail's box, in pixels: `256` is a 256 x 256 square, `320x200` a 320 wide, 200 high box
/// (width first, as in `--size 320x200`, vipsthumbnail's and ImageMagick's geometry). The box is
/// in the upright image's terms (after the EXIF orientation is applied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThumbSize {
    /// Width of the box, in pixels.
    pub width_px: u32,
    /// Height of the box, in pixels.
    pub height_px: u32,
}

impl ThumbSize {
    /// An `side_px` x `side_px` square.
    pub const fn square(side_px: u32) -> ThumbSize {
        ThumbSize {
            width_px: side_px,
            height_px: side_px,
        }
    }

    /// A `width_px` x `height_px` box.
    pub const fn new(width_px: u32, height_px: u32) -> ThumbSize {
        ThumbSize {
            width_px,
            height_px,
        }
    }

    /// Whether width and height are the same.
    pub fn is_square(self) -> bool {
        self.width_px == self.height_px
    }

    /// The longer of width and height, in pixels.
    pub fn long_side_px(self) -> u32 {
        self.width_px.max(self.height_px)
    }

    /// Whether both sides are within 1 to [`MAX_THUMB_SIDE_PX`].
    pub fn in_range(self) -> bool {
        let ok = |px: u32| (1..=MAX_THUMB_SIDE_PX).contains(&px);
        ok(self.width_px) && ok(self.height_px)
    }
}

impl From<u32> for ThumbSize {
    fn from(side_px: u32) -> ThumbSize {
        ThumbSize::square(side_px)
    }
}

/// `256` for a square, `320x200` otherwise: the form `--size` takes and `{size}` writes.
impl std::fmt::Display for ThumbSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_square() {
            write!(f, "{}", self.width_px)
        } else {
            write!(f, "{}x{}", self.width_px, self.height_px)
        }
    }
}

/// Why a size cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a size: give pixels, as 256 (a square) or 320x200 (width x height)")]
pub struct BadThumbSize(pub String);

impl std::str::FromStr for ThumbSize {
    type Err = BadThumbSize;

    /// `N` or `WxH` (`X` and `×` also separate; spaces around the numbers are allowed).
    fn from_str(text: &str) -> Result<ThumbSize, BadThumbSize> {
        let bad = || BadThumbSize(text.to_owned());
        let number = |t: &str| t.trim().parse::<u32>().map_err(|_| bad());
        let trimmed = text.trim();
        match trimmed.split_once(['x', 'X', '×']) {
            Some((w, h)) => Ok(ThumbSize::new(number(w)?, number(h)?)),
            None => Ok(ThumbSize::square(number(trimmed)?)),
        }
    }
}

/// A square is written as a number (as job files and journals always wrote sizes), a box as
/// `"WxH"`; both are read.
impl serde::Serialize for ThumbSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.is_square() {
            s.serialize_u32(self.width_px)
        } else {
            s.collect_str(self)
        }
    }
}

impl<'de> serde::Deserialize<'de> for ThumbSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ThumbSize, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Form {
            Side(u32),
            Text(String),
        }
        match Form::deserialize(d)? {
            Form::Side(px) => Ok(ThumbSize::square(px)),
            Form::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// How an image is put in its box.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    /// The whole image inside the box, its aspect kept (one side may be shorter than the box).
    #[default]
    Contain,
    /// The box filled, its aspect kept, the overflow cropped: centred, or around the photo's
    /// subject when its EXIF names one (SubjectArea / SubjectLocation).
    Cover,
    /// Stretched to exactly the box (the aspect changes).
    Exact,
}

impl Fit {
    /// Every fit, in the order the window offers them.
    pub const ALL: [Fit; 3] = [Fit::Contain, Fit::Cover, Fit::Exact];

    /// The word the command line and job files use.
    pub fn id(self) -> &'static str {
        match self {
            Fit::Contain => "contain",
            Fit::Cover => "cover",
            Fit::Exact => "exact",
        }
    }
}

/// "Make thumbnails of these inputs into this folder."
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ThumbSpec {
    /// Image files and folders, as the user gave them.
    #[serde(with = "crate::engine::model::paths::path_json::vec")]
    pub inputs: Vec<PathBuf>,
    /// The folder thumbnails go into (the inputs' folder structure is kept below it).
    #[serde(with = "crate::engine::model::paths::path_json")]
    pub output_dir: PathBuf,
    /// One output per box and image, all from one decode; how the image is put in each box is
    /// [`ThumbSpec::fit`]. Journals and job files of earlier versions call it `sizes_px`.
    #[serde(alias = "sizes_px")]
    pub sizes: Vec<ThumbSize>,
    /// Contain (default), cover (fill and crop) or exact (stretch).
    #[serde(default)]
    pub fit: Fit,
    /// Enlarge images smaller than the box (default: never; a small image keeps its size, or
    /// for `cover`/`exact` the largest box of the same shape that it fills).
    #[serde(default)]
    pub upscale: bool,
    /// Output file name without extension; `None`: `{stem}` for one size, `{stem}_{size}` for
    /// several. See [`NameTemplate`].
    pub name_template: Option<String>,
    /// The output format.
    pub format: ThumbFormat,
    /// JPEG and lossy WebP quality, 1-100 (PNG has no quality).
    pub quality: u8,
    /// WebP only: lossless instead of lossy.
    #[serde(default)]
    pub lossless: bool,
    /// What EXIF and XMP metadata the thumbnails keep (default: none).
    #[serde(default)]
    pub metadata: MetadataPolicy,
    /// Convert colours to sRGB (default) or keep the source's ICC profile embedded.
    #[serde(default)]
    pub color: ColorMode,
    /// What to do when a thumbnail's path is taken.
    pub on_conflict: ConflictPolicy,
    /// When not empty, only these files among the inputs are processed ("Retry failed": the
    /// same inputs, so every output keeps its path, but only the items that failed).
    #[serde(default, with = "crate::engine::model::paths::path_json::vec")]
    pub only: Vec<PathBuf>,
    /// Only this share of the inputs ([`Shard::contains`]); each thumbnail gets the path a full
    /// run gives it.
    #[serde(default)]
    pub shard: Option<Shard>,
}

impl ThumbSpec {
    /// A job with the defaults (256 px, JPEG quality 85, metadata stripped, colours to sRGB, `update`).
    pub fn new(inputs: Vec<PathBuf>, output_dir: PathBuf) -> Self {
        ThumbSpec {
            inputs,
            output_dir,
            sizes: vec![ThumbSize::square(DEFAULT_THUMB_SIDE_PX)],
            fit: Fit::default(),
            upscale: false,
            name_template: None,
            format: ThumbFormat::default(),
            quality: DEFAULT_JPEG_QUALITY,
            lossless: false,
            metadata: MetadataPolicy::default(),
            color: ColorMode::default(),
            on_conflict: ConflictPolicy::default(),
            only: Vec::new(),
            shard: None,
        }
    }

    /// The same job for only these files among its inputs (e.g. the ones that failed).
    pub fn retry(&self, files: impl IntoIterator<Item = PathBuf>) -> ThumbSpec {
        ThumbSpec {
            only: files.into_iter().collect(),
            ..self.clone()
        }
    }

    /// The longest side of any requested box, in pixels.
    pub fn max_side_px(&self) -> u32 {
        self.sizes
            .iter()
            .map(|s| s.long_side_px())
            .max()
            .unwrap_or(DEFAULT_THUMB_SIDE_PX)
    }

    /// The name template in force (the given one or the default for the number of sizes).
    pub fn template(&self) -> Result<NameTemplate, SpecError> {
        match &self.name_template {
            Some(t) => NameTemplate::parse(t),
            None if self.sizes.len() > 1 => NameTemplate::parse("{stem}_{size}"),
            None => NameTemplate::parse("{stem}"),
        }
    }

    /// Checks the options and parses the name template (once), for the job to keep.
    pub(crate) fn checked_template(&self) -> Result<NameTemplate, SpecError> {
        if self.sizes.is_empty() {
            return Err(SpecError::NoSizes);
        }
        if let Some(bad) = self.sizes.iter().find(|s| !s.in_range()) {
            return Err(SpecError::Size(bad.to_string()));
        }
        if !(MIN_QUALITY..=MAX_QUALITY).contains(&self.quality) {
            return Err(SpecError::Quality(self.quality));
        }
        self.template()
    }

    /// The default output folder: `<first input's folder>/thumbnails`.
    pub fn default_output_dir(inputs: &[PathBuf]) -> Option<PathBuf> {
        let first = inputs.first()?;
        let parent = parent_dir(first);
        Some(parent.join("thumbnails"))
    }
}

/// A thumbnail's file name (without extension) made from its source: placeholders `{stem}` (the
/// source's name without extension), `{size}` (the box: `256`, or `320x200` when not square), `{ext}` (the source's
/// extension, lowercase, without the dot) and `{parent}` (the name of the source's folder).
/// The output format's extension is appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameTemplate {
    parts: Vec<TemplatePart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TemplatePart {
    Text(String),
    Stem,
    Size,
    Ext,
    Parent,
}

impl NameTemplate {
    /// Parses a template. Errors: empty, an unknown or unclosed placeholder, a `/`, or no
    /// placeholder that depends on the source (every image would get one name).
    pub fn parse(template: &str) -> Result<NameTemplate, SpecError> {
        let err = |why: &str| SpecError::Template {
            template: template.to_owned(),
            why: why.to_owned(),
        };
        if template.trim().is_empty() {
            return Err(err("it is empty"));
        }
        if template.contains('/') || template.contains('\0') {
            return Err(err("a file name cannot contain '/'"));
        }
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(TemplatePart::Text(rest[..open].to_owned()));
            }
            let Some(close) = rest[open..].find('}') else {
                return Err(err("a '{' is not closed"));
            };
            let part = match &rest[open + 1..open + close] {
                "stem" => TemplatePart::Stem,
                "size" => TemplatePart::Size,
                "ext" => TemplatePart::Ext,
                "parent" => TemplatePart::Parent,
                other => {
                    return Err(err(&format!(
                        "unknown placeholder {{{other}}} (use {{stem}}, {{size}}, {{ext}}, {{parent}})"
                    )));
                }
            };
            parts.push(part);
            rest = &rest[open + close + 1..];
        }
        if rest.contains('}') {
            return Err(err("a '}' has no '{'"));
        }
        if !rest.is_empty() {
            parts.push(TemplatePart::Text(rest.to_owned()));
        }
        if !parts
            .iter()
            .any(|p| matches!(p, TemplatePart::Stem | TemplatePart::Parent))
        {
            return Err(err(
                "it needs {stem} or {parent}, else every image gets one name",
            ));
        }
        Ok(NameTemplate { parts })
    }

    /// The file name for `source` (a relative or absolute path) for box `size`, with `extension`,
    /// for reading (a name that is not UTF-8 shows U+FFFD: see [`NameTemplate::render_os`]).
    pub fn render(&self, source: &Path, size: impl Into<ThumbSize>, extension: &str) -> String {
        self.render_os(source, size, extension)
            .to_string_lossy()
            .into_owned()
    }

    /// The file name for `source` (a relative or absolute path) for box `size`, with `extension`.
    /// The source's stem and folder keep their bytes (a Latin-1 name stays Latin-1); `{ext}` is
    /// lowercased.
    pub fn render_os(
        &self,
        source: &Path,
        size: impl Into<ThumbSize>,
        extension: &str,
    ) -> OsString {
        let size = size.into();
        let mut out = OsString::new();
        for part in &self.parts {
            match part {
                TemplatePart::Text(t) => out.push(t),
                TemplatePart::Stem => out.push(source.file_stem().unwrap_or(OsStr::new("image"))),
                TemplatePart::Size => out.push(size.to_string()),
                TemplatePart::Ext => {
                    let ext = source.extension().unwrap_or_default();
                    out.push(OsStr::from_bytes(&ext.as_bytes().to_ascii_lowercase()));
                }
                TemplatePart::Parent => out.push(
                    source
                        .parent()
                        .and_then(|p| p.file_name())
                        .unwrap_or(OsStr::new("images")),
                ),
            }
        }
        if !extension.is_empty() {
            out.push(".");
            out.push(extension);
        }
        out
    }
}

impl ThumbSpec {
    /// The spec with every path absolute and normalised, inputs sorted and de-duplicated.
    pub fn normalized(&self) -> ThumbSpec {
        ThumbSpec {
            inputs: normalized_inputs(&self.inputs),
            output_dir: normalize_path(&self.output_dir),
            only: normalized_inputs(&self.only),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_and_reject() {
        let t = NameTemplate::parse("{parent}-{stem}_{size}.{ext}").unwrap();
        assert_eq!(
            t.render(Path::new("trip/day1/k.JPEG"), 256, "jpg"),
            "day1-k_256.jpeg.jpg"
        );
        assert!(NameTemplate::parse("{size}").is_err());
        assert!(NameTemplate::parse("{stem").is_err());
        assert!(NameTemplate::parse("{nope}").is_err());
        assert!(NameTemplate::parse("a/{stem}").is_err());
        assert!(NameTemplate::parse("").is_err());
    }

    #[test]
    fn sizes_read_and_write_as_the_command_line_does() {
        assert_eq!("256".parse(), Ok(ThumbSize::square(256)));
        assert_eq!(" 320 x 200 ".parse(), Ok(ThumbSize::new(320, 200)));
        assert_eq!("320X200".parse(), Ok(ThumbSize::new(320, 200)));
        assert!("320x".parse::<ThumbSize>().is_err());
        assert!("big".parse::<ThumbSize>().is_err());
        assert_eq!(ThumbSize::new(320, 200).to_string(), "320x200");
        assert_eq!(ThumbSize::square(64).to_string(), "64");
        // Squares stay numbers (earlier journals and job files read back), boxes are text.
        let json = serde_json::to_string(&[ThumbSize::square(64), ThumbSize::new(3, 2)]).unwrap();
        assert_eq!(json, r#"[64,"3x2"]"#);
        let back: Vec<ThumbSize> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, [ThumbSize::square(64), ThumbSize::new(3, 2)]);
        assert!(serde_json::from_str::<ThumbSize>(r#""3x""#).is_err());
        // A spec written before boxes existed.
        let mut old = serde_json::to_value(ThumbSpec::new(vec!["a".into()], "o".into())).unwrap();
        let map = old.as_object_mut().unwrap();
        map.remove("sizes");
        map.remove("fit");
        map.remove("upscale");
        map.insert("sizes_px".into(), serde_json::json!([128, 512]));
        let spec: ThumbSpec = serde_json::from_value(old).unwrap();
        assert_eq!(spec.sizes, [ThumbSize::square(128), ThumbSize::square(512)]);
        assert_eq!((spec.fit, spec.upscale), (Fit::Contain, false));
        let t = NameTemplate::parse("{stem}_{size}").unwrap();
        assert_eq!(
            t.render(Path::new("a.png"), ThumbSize::new(320, 200), "jpg"),
            "a_320x200.jpg"
        );
    }

    #[test]
    fn names_keep_their_bytes() {
        use std::os::unix::ffi::OsStringExt;
        let t = NameTemplate::parse("{parent}-{stem}.{ext}").unwrap();
        let source = PathBuf::from(OsString::from_vec(b"Urlaub \xe9t\xe9/caf\xe9.JPG".to_vec()));
        assert_eq!(
            t.render_os(&source, 256, "jpg").into_vec(),
            b"Urlaub \xe9t\xe9-caf\xe9.jpg.jpg".to_vec()
        );
    }
}
