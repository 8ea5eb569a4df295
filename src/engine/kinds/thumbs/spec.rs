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

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ThumbFormat {
    #[default]
    Jpeg,
    Png,
    Webp,
}

impl ThumbFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ThumbFormat::Jpeg => "jpg",
            ThumbFormat::Png => "png",
            ThumbFormat::Webp => "webp",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            ThumbFormat::Jpeg => "JPEG",
            ThumbFormat::Png => "PNG",
            ThumbFormat::Webp => "WebP",
        }
    }
    pub const ALL: [ThumbFormat; 3] = [ThumbFormat::Jpeg, ThumbFormat::Png, ThumbFormat::Webp];
}

/// Largest thumbnail side accepted, in pixels.
pub const MAX_THUMB_SIDE_PX: u32 = 16_384;

/// "Make thumbnails of these inputs into this folder."
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ThumbSpec {
    #[serde(with = "crate::engine::model::paths::path_json::vec")]
    pub inputs: Vec<PathBuf>,
    #[serde(with = "crate::engine::model::paths::path_json")]
    pub output_dir: PathBuf,
    /// Each thumbnail fits in a square of this many pixels; never upscaled. One output per size
    /// and image, all from one decode.
    pub sizes_px: Vec<u32>,
    /// Output file name without extension; `None`: `{stem}` for one size, `{stem}_{size}` for
    /// several. See [`NameTemplate`].
    pub name_template: Option<String>,
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
    pub fn new(inputs: Vec<PathBuf>, output_dir: PathBuf) -> Self {
        ThumbSpec {
            inputs,
            output_dir,
            sizes_px: vec![DEFAULT_THUMB_SIDE_PX],
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

    /// The largest requested size, in pixels.
    pub fn max_side_px(&self) -> u32 {
        self.sizes_px
            .iter()
            .copied()
            .max()
            .unwrap_or(DEFAULT_THUMB_SIDE_PX)
    }

    /// The name template in force (the given one or the default for the number of sizes).
    pub fn template(&self) -> Result<NameTemplate, SpecError> {
        match &self.name_template {
            Some(t) => NameTemplate::parse(t),
            None if self.sizes_px.len() > 1 => NameTemplate::parse("{stem}_{size}"),
            None => NameTemplate::parse("{stem}"),
        }
    }

    /// Checks the options and parses the name template (once), for the job to keep.
    pub(crate) fn checked_template(&self) -> Result<NameTemplate, SpecError> {
        if self.sizes_px.is_empty() {
            return Err(SpecError::NoSizes);
        }
        if let Some(&bad) = self
            .sizes_px
            .iter()
            .find(|&&px| px == 0 || px > MAX_THUMB_SIDE_PX)
        {
            return Err(SpecError::Size(bad));
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
/// source's name without extension), `{size}` (the box side in pixels), `{ext}` (the source's
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

    /// The file name for `source` (a relative or absolute path) at `size_px`, with `extension`,
    /// for reading (a name that is not UTF-8 shows U+FFFD: see [`NameTemplate::render_os`]).
    pub fn render(&self, source: &Path, size_px: u32, extension: &str) -> String {
        self.render_os(source, size_px, extension)
            .to_string_lossy()
            .into_owned()
    }

    /// The file name for `source` (a relative or absolute path) at `size_px`, with `extension`.
    /// The source's stem and folder keep their bytes (a Latin-1 name stays Latin-1); `{ext}` is
    /// lowercased.
    pub fn render_os(&self, source: &Path, size_px: u32, extension: &str) -> OsString {
        let mut out = OsString::new();
        for part in &self.parts {
            match part {
                TemplatePart::Text(t) => out.push(t),
                TemplatePart::Stem => out.push(source.file_stem().unwrap_or(OsStr::new("image"))),
                TemplatePart::Size => out.push(size_px.to_string()),
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
