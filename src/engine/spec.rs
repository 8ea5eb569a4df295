//! Job specifications: what a front end asks the engine to do.
//!
//! Owns: the plain data describing a job (inputs, destination, options), its validation, the
//! thumbnail name template, and the naming defaults both front ends use. Pure data: no file
//! system access (what is on disk is the plan's business), no threads, no front end.

use std::path::{Component, Path, PathBuf};

use super::color::ColorMode;
use super::error::SpecError;
use super::metadata::MetadataPolicy;

/// Deflate level used when none is given.
pub const DEFAULT_ZIP_LEVEL: u8 = 6;
/// Long side of the thumbnail box when none is given.
pub const DEFAULT_THUMB_SIDE_PX: u32 = 256;
/// JPEG quality when none is given.
pub const DEFAULT_JPEG_QUALITY: u8 = 85;

/// One user request. Serialized in the job's journal (so a crashed job can be resumed).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum JobSpec {
    Zip(ZipSpec),
    Thumbs(ThumbSpec),
}

impl JobSpec {
    pub fn kind(&self) -> JobKind {
        match self {
            JobSpec::Zip(_) => JobKind::Zip,
            JobSpec::Thumbs(_) => JobKind::Thumbs,
        }
    }

    /// A short human name: the archive's file name or the output folder's name.
    pub fn display_name(&self) -> String {
        let path = match self {
            JobSpec::Zip(z) => &z.destination,
            JobSpec::Thumbs(t) => &t.output_dir,
        };
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string())
    }

    /// Where the output goes: the archive for a zip job, the folder for thumbnails.
    pub fn output_path(&self) -> &Path {
        match self {
            JobSpec::Zip(z) => &z.destination,
            JobSpec::Thumbs(t) => &t.output_dir,
        }
    }

    pub fn inputs(&self) -> &[PathBuf] {
        match self {
            JobSpec::Zip(z) => &z.inputs,
            JobSpec::Thumbs(t) => &t.inputs,
        }
    }

    /// Checks the options (ranges, template). Inputs and destinations are checked by the plan.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.inputs().is_empty() {
            return Err(SpecError::NoInputs);
        }
        match self {
            JobSpec::Zip(z) if z.level > 9 => Err(SpecError::Level(z.level)),
            JobSpec::Zip(_) => Ok(()),
            JobSpec::Thumbs(t) => t.validate(),
        }
    }

    /// The spec with every path made absolute and lexically normalised (no I/O), inputs
    /// de-duplicated and sorted: two specs that ask for the same work compare equal.
    pub fn normalized(&self) -> JobSpec {
        let inputs = |inputs: &[PathBuf]| {
            let mut v: Vec<PathBuf> = inputs.iter().map(|p| normalize_path(p)).collect();
            v.sort();
            v.dedup();
            v
        };
        match self {
            JobSpec::Zip(z) => JobSpec::Zip(ZipSpec {
                inputs: inputs(&z.inputs),
                destination: normalize_path(&z.destination),
                ..z.clone()
            }),
            JobSpec::Thumbs(t) => JobSpec::Thumbs(ThumbSpec {
                inputs: inputs(&t.inputs),
                output_dir: normalize_path(&t.output_dir),
                only: inputs(&t.only),
                ..t.clone()
            }),
        }
    }
}

/// `path` made absolute against the current folder and cleaned of `.` and `..` components
/// lexically (no file system access, so symlinks are not resolved).
pub fn normalize_path(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for comp in absolute.components() {
        match comp {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The folder a path is in (`.` for a bare name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Zip,
    Thumbs,
}

impl JobKind {
    pub fn label(self) -> &'static str {
        match self {
            JobKind::Zip => "Compress",
            JobKind::Thumbs => "Thumbnails",
        }
    }
}

/// What to do when the archive already exists.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum ExistingArchive {
    /// Fail at once, before any work (the window then asks; the CLI names `--overwrite`).
    #[default]
    Fail,
    /// Replace it once the new archive is complete.
    Replace,
    /// Keep it and write `name (1).zip` (the first free name).
    KeepBoth,
}

/// "Compress these inputs into this archive."
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ZipSpec {
    pub inputs: Vec<PathBuf>,
    /// The archive to write. An existing folder (or a path ending in `/`) means
    /// "`<input name>.zip` in that folder"; a name without `.zip` gets it.
    pub destination: PathBuf,
    /// 0 (store) to 9 (smallest).
    pub level: u8,
    pub on_exists: ExistingArchive,
}

impl ZipSpec {
    pub fn new(inputs: Vec<PathBuf>, destination: PathBuf) -> Self {
        ZipSpec {
            inputs,
            destination,
            level: DEFAULT_ZIP_LEVEL,
            on_exists: ExistingArchive::Fail,
        }
    }

    /// The archive's default file name for these inputs: the input's name for one input, the
    /// name of the first input's folder for several (`photos.zip`).
    pub fn default_archive_name(inputs: &[PathBuf]) -> String {
        let name = match inputs {
            [] => "archive".to_owned(),
            [only] => only
                .file_stem()
                .filter(|_| only.file_name().is_some())
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| folder_display_name(only)),
            [first, ..] => folder_display_name(parent_dir(&normalize_path(first))),
        };
        format!("{name}.zip")
    }

    /// "One archive per folder": each folder becomes `<out_dir>/<folder name>.zip`, its own job.
    /// Two folders with the same name get distinct archive names (`name (1).zip`).
    pub fn per_folder(
        folders: &[PathBuf],
        out_dir: &Path,
        level: u8,
        on_exists: ExistingArchive,
    ) -> Vec<ZipSpec> {
        let mut used: Vec<PathBuf> = Vec::new();
        folders
            .iter()
            .map(|folder| {
                let stem = folder_display_name(folder);
                let mut destination = out_dir.join(format!("{stem}.zip"));
                let mut n = 1;
                while used.contains(&destination) {
                    destination = out_dir.join(format!("{stem} ({n}).zip"));
                    n += 1;
                }
                used.push(destination.clone());
                ZipSpec {
                    inputs: vec![folder.clone()],
                    destination,
                    level,
                    on_exists,
                }
            })
            .collect()
    }

    /// The default archive for some inputs: next to the first one, named after it.
    pub fn default_destination(inputs: &[PathBuf]) -> Option<PathBuf> {
        let first = inputs.first()?;
        Some(parent_dir(first).join(Self::default_archive_name(inputs)))
    }
}

/// Name of a folder for display and archive naming (`/` and `..` have no file name).
pub fn folder_display_name(folder: &Path) -> String {
    folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .or_else(|| {
            std::path::absolute(folder)
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        })
        .unwrap_or_else(|| "archive".to_owned())
}

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

/// What to do when a thumbnail's name is already taken on disk. Whatever the policy, an
/// output never replaces an input of any queued or running job.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ConflictPolicy {
    /// Skip when the existing thumbnail is newer than its source, replace it otherwise: running
    /// a job again refreshes instead of piling up copies.
    #[default]
    Update,
    /// Pick a new unique name: `photo (1).jpg`.
    Rename,
    Overwrite,
    Skip,
}

impl ConflictPolicy {
    pub fn label(self) -> &'static str {
        match self {
            ConflictPolicy::Update => "Update",
            ConflictPolicy::Rename => "Rename",
            ConflictPolicy::Overwrite => "Overwrite",
            ConflictPolicy::Skip => "Skip",
        }
    }
    pub const ALL: [ConflictPolicy; 4] = [
        ConflictPolicy::Update,
        ConflictPolicy::Rename,
        ConflictPolicy::Overwrite,
        ConflictPolicy::Skip,
    ];
}

/// Largest thumbnail side accepted, in pixels.
pub const MAX_THUMB_SIDE_PX: u32 = 16_384;

/// "Make thumbnails of these inputs into this folder."
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ThumbSpec {
    pub inputs: Vec<PathBuf>,
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
    #[serde(default)]
    pub only: Vec<PathBuf>,
}

impl ThumbSpec {
    pub fn new(inputs: Vec<PathBuf>, output_dir: PathBuf) -> Self {
        ThumbSpec {
            inputs,
            output_dir,
            sizes_px: vec![DEFAULT_THUMB_SIDE_PX],
            name_template: None,
            format: ThumbFormat::Jpeg,
            quality: DEFAULT_JPEG_QUALITY,
            lossless: false,
            metadata: MetadataPolicy::Strip,
            color: ColorMode::ConvertToSrgb,
            on_conflict: ConflictPolicy::Update,
            only: Vec::new(),
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

    fn validate(&self) -> Result<(), SpecError> {
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
        if !(1..=100).contains(&self.quality) {
            return Err(SpecError::Quality(self.quality));
        }
        self.template().map(|_| ())
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

    /// The file name for `source` (a relative or absolute path) at `size_px`, with `extension`.
    pub fn render(&self, source: &Path, size_px: u32, extension: &str) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                TemplatePart::Text(t) => out.push_str(t),
                TemplatePart::Stem => out.push_str(
                    &source
                        .file_stem()
                        .map(|s| s.to_string_lossy())
                        .unwrap_or_else(|| "image".into()),
                ),
                TemplatePart::Size => out.push_str(&size_px.to_string()),
                TemplatePart::Ext => out.push_str(
                    &source
                        .extension()
                        .map(|s| s.to_string_lossy().to_lowercase())
                        .unwrap_or_default(),
                ),
                TemplatePart::Parent => out.push_str(
                    &source
                        .parent()
                        .and_then(|p| p.file_name())
                        .map(|s| s.to_string_lossy())
                        .unwrap_or_else(|| "images".into()),
                ),
            }
        }
        if !extension.is_empty() {
            out.push('.');
            out.push_str(extension);
        }
        out
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
    fn normalised_specs_compare_equal() {
        let a = JobSpec::Thumbs(ThumbSpec::new(
            vec![PathBuf::from("/p/./x"), PathBuf::from("/p/y/../x")],
            PathBuf::from("/o/"),
        ));
        let b = JobSpec::Thumbs(ThumbSpec::new(
            vec![PathBuf::from("/p/x")],
            PathBuf::from("/o"),
        ));
        assert_eq!(a.normalized(), b.normalized());
    }

    #[test]
    fn default_archive_names() {
        assert_eq!(
            ZipSpec::default_archive_name(&[PathBuf::from("/d/photos")]),
            "photos.zip"
        );
        assert_eq!(
            ZipSpec::default_archive_name(&[PathBuf::from("/d/a.txt"), PathBuf::from("/d/b")]),
            "d.zip"
        );
    }
}
