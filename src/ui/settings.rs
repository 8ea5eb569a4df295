//! The job settings a person picks in the window, remembered between runs, and how they turn
//! into engine job specs.
//!
//! Owns: [`Settings`] (serialized through eframe persistence), the destination fields typed in
//! the window ([`Destinations`]), and [`build_jobs`], which maps inputs + settings to
//! [`JobSpec`]s. Pure data: no file system access, no egui.
//! Must not touch: the engine's validation (the engine decides whether a destination already
//! exists and fails the job if so), drawing.

use std::path::{Path, PathBuf};

use crate::engine::{
    ConflictPolicy, DEFAULT_JPEG_QUALITY, DEFAULT_THUMB_SIDE_PX, ExistingArchive, JobSpec,
    ThumbFormat, ThumbSpec, ZipSpec, default_workers,
};

/// The eframe storage key of [`Settings`].
pub const SETTINGS_KEY: &str = "shrinkwrap.settings";

/// Which kind of job the settings panel prepares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Operation {
    #[default]
    Compress,
    Thumbnails,
}

impl Operation {
    pub fn label(self) -> &'static str {
        match self {
            Operation::Compress => "Compress",
            Operation::Thumbnails => "Thumbnails",
        }
    }
}

/// One archive for all inputs, or one archive per input folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ArchiveLayout {
    #[default]
    SingleArchive,
    ArchivePerFolder,
}

/// The four compression presets a person chooses from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum CompressionLevel {
    Store,
    Fast,
    #[default]
    Normal,
    Maximum,
}

impl CompressionLevel {
    pub const ALL: [CompressionLevel; 4] = [
        CompressionLevel::Store,
        CompressionLevel::Fast,
        CompressionLevel::Normal,
        CompressionLevel::Maximum,
    ];

    pub fn label(self) -> &'static str {
        match self {
            CompressionLevel::Store => "Store",
            CompressionLevel::Fast => "Fast",
            CompressionLevel::Normal => "Normal",
            CompressionLevel::Maximum => "Maximum",
        }
    }

    /// The deflate level (0 = stored, no compression).
    pub fn deflate_level(self) -> u8 {
        match self {
            CompressionLevel::Store => 0,
            CompressionLevel::Fast => 1,
            CompressionLevel::Normal => 6,
            CompressionLevel::Maximum => 9,
        }
    }

    pub fn hint(self) -> &'static str {
        match self {
            CompressionLevel::Store => {
                "No compression: fastest, for media that is already compressed"
            }
            CompressionLevel::Fast => "Deflate level 1",
            CompressionLevel::Normal => "Deflate level 6, like zip's default",
            CompressionLevel::Maximum => "Deflate level 9: smallest, slowest",
        }
    }
}

/// The long side of a thumbnail: a preset or a custom number of pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ThumbSize {
    Preset(u32),
    Custom,
}

/// Thumbnail sizes offered as one-click presets.
pub const THUMB_SIZE_PRESETS_PX: [u32; 3] = [128, 256, 512];
/// Range of the custom thumbnail size.
pub const CUSTOM_THUMB_SIDE_RANGE_PX: std::ops::RangeInclusive<u32> = 16..=4096;
/// Range of the worker-count setting.
pub const WORKERS_RANGE: std::ops::RangeInclusive<usize> = 1..=64;

/// Everything the window remembers between runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    pub operation: Operation,
    pub archive_layout: ArchiveLayout,
    pub compression: CompressionLevel,
    pub overwrite_archives: bool,
    pub thumb_size: ThumbSize,
    pub custom_thumb_side_px: u32,
    pub thumb_format: ThumbFormat,
    pub jpeg_quality: u8,
    pub on_conflict: ConflictPolicy,
    /// `None`: one worker per core.
    pub workers: Option<usize>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            operation: Operation::Compress,
            archive_layout: ArchiveLayout::SingleArchive,
            compression: CompressionLevel::Normal,
            overwrite_archives: false,
            thumb_size: ThumbSize::Preset(DEFAULT_THUMB_SIDE_PX),
            custom_thumb_side_px: 320,
            thumb_format: ThumbFormat::Jpeg,
            jpeg_quality: DEFAULT_JPEG_QUALITY,
            on_conflict: ConflictPolicy::Update,
            workers: None,
        }
    }
}

impl Settings {
    /// The long side of the thumbnails, in pixels.
    pub fn thumb_side_px(&self) -> u32 {
        clamp_side_px(match self.thumb_size {
            ThumbSize::Preset(px) => px,
            ThumbSize::Custom => self.custom_thumb_side_px,
        })
    }

    /// The worker count to run with.
    pub fn worker_count(&self) -> usize {
        self.workers
            .unwrap_or_else(default_workers)
            .clamp(*WORKERS_RANGE.start(), *WORKERS_RANGE.end())
    }

    /// Settings read back from storage are clamped into their ranges (the file may be old or
    /// edited by hand).
    pub fn sanitized(mut self) -> Settings {
        self.jpeg_quality = self.jpeg_quality.clamp(1, 100);
        self.custom_thumb_side_px = clamp_side_px(self.custom_thumb_side_px);
        if let ThumbSize::Preset(px) = self.thumb_size {
            self.thumb_size = ThumbSize::Preset(clamp_side_px(px));
        }
        self.workers = self
            .workers
            .map(|n| n.clamp(*WORKERS_RANGE.start(), *WORKERS_RANGE.end()));
        self
    }
}

fn clamp_side_px(px: u32) -> u32 {
    px.clamp(
        *CUSTOM_THUMB_SIDE_RANGE_PX.start(),
        *CUSTOM_THUMB_SIDE_RANGE_PX.end(),
    )
}

/// The destination fields of the window, as typed (or filled in by a dialog). An empty field means
/// "the default, next to the first input". They belong to the session, not to [`Settings`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Destinations {
    /// The archive of "one archive" mode.
    pub archive: String,
    /// The folder that receives the archives of "one archive per folder" mode.
    pub archives_folder: String,
    /// The thumbnails' output folder.
    pub thumbnails_folder: String,
}

impl Destinations {
    /// The archive path to use: the typed one, else next to the first input.
    pub fn archive_path(&self, inputs: &[PathBuf]) -> Option<PathBuf> {
        typed_path(&self.archive)
            .map(with_zip_extension)
            .or_else(|| ZipSpec::default_destination(inputs))
    }

    /// Where "one archive per folder" writes: the typed folder, else the first input's folder.
    pub fn archives_folder_path(&self, inputs: &[PathBuf]) -> Option<PathBuf> {
        typed_path(&self.archives_folder).or_else(|| {
            let first = inputs.first()?;
            Some(
                first
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
                    .to_path_buf(),
            )
        })
    }

    /// The thumbnails' folder: the typed one, else `thumbnails` beside the first input.
    pub fn thumbnails_folder_path(&self, inputs: &[PathBuf]) -> Option<PathBuf> {
        typed_path(&self.thumbnails_folder).or_else(|| ThumbSpec::default_output_dir(inputs))
    }
}

/// A path typed by a person: trimmed, without surrounding quotes, `~/` expanded, `file://` URIs
/// decoded. `None` when empty.
pub fn typed_path(text: &str) -> Option<PathBuf> {
    let text = text.trim();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .or_else(|| text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')))
        .unwrap_or(text)
        .trim();
    if text.is_empty() {
        return None;
    }
    if let Some(rest) = text.strip_prefix("file://") {
        // `file:///home/x` (local host) or `file://localhost/home/x`.
        let rest = rest.strip_prefix("localhost").unwrap_or(rest);
        return Some(PathBuf::from(percent_decode(rest)));
    }
    if (text == "~" || text.starts_with("~/"))
        && let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty())
    {
        let mut path = PathBuf::from(home);
        if let Some(rest) = text.strip_prefix("~/") {
            path.push(rest);
        }
        return Some(path);
    }
    Some(PathBuf::from(text))
}

/// Splits pasted text into paths: one per line (a file manager's "copy" gives one URI a line).
pub fn typed_paths(text: &str) -> Vec<PathBuf> {
    text.lines().filter_map(typed_path).collect()
}

fn percent_decode(text: &str) -> std::ffi::OsString {
    use std::os::unix::ffi::OsStringExt;
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    std::ffi::OsString::from_vec(out)
}

fn with_zip_extension(path: PathBuf) -> PathBuf {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
    {
        path
    } else {
        let mut name = path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(".zip");
        path.with_file_name(name)
    }
}

/// The jobs to submit for `operation` over `inputs` with these settings and destinations.
pub fn build_jobs(
    operation: Operation,
    settings: &Settings,
    inputs: &[PathBuf],
    destinations: &Destinations,
) -> Result<Vec<JobSpec>, String> {
    if inputs.is_empty() {
        return Err("Add some files or folders first.".to_owned());
    }
    match operation {
        Operation::Compress => {
            let level = settings.compression.deflate_level();
            let on_exists = if settings.overwrite_archives {
                ExistingArchive::Replace
            } else {
                ExistingArchive::Fail
            };
            match settings.archive_layout {
                ArchiveLayout::SingleArchive => {
                    let destination = destinations
                        .archive_path(inputs)
                        .ok_or("Choose where to save the archive.")?;
                    Ok(vec![JobSpec::Zip(ZipSpec {
                        inputs: inputs.to_vec(),
                        destination,
                        level,
                        on_exists,
                    })])
                }
                ArchiveLayout::ArchivePerFolder => {
                    let folder = destinations
                        .archives_folder_path(inputs)
                        .ok_or("Choose a folder for the archives.")?;
                    Ok(ZipSpec::per_folder(inputs, &folder, level, on_exists)
                        .into_iter()
                        .map(JobSpec::Zip)
                        .collect())
                }
            }
        }
        Operation::Thumbnails => {
            let output_dir = destinations
                .thumbnails_folder_path(inputs)
                .ok_or("Choose a folder for the thumbnails.")?;
            Ok(vec![JobSpec::Thumbs(ThumbSpec {
                inputs: inputs.to_vec(),
                output_dir,
                sizes_px: vec![settings.thumb_side_px()],
                name_template: None,
                format: settings.thumb_format,
                quality: settings.jpeg_quality.clamp(1, 100),
                on_conflict: settings.on_conflict,
                only: Vec::new(),
            })])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_archive_is_next_to_the_first_input() {
        let inputs = vec![PathBuf::from("/data/photos")];
        let jobs = build_jobs(
            Operation::Compress,
            &Settings::default(),
            &inputs,
            &Destinations::default(),
        )
        .unwrap();
        let [JobSpec::Zip(zip)] = jobs.as_slice() else {
            panic!("one zip job expected: {jobs:?}")
        };
        assert_eq!(zip.destination, PathBuf::from("/data/photos.zip"));
        assert_eq!(zip.level, 6);
        assert_eq!(zip.on_exists, ExistingArchive::Fail);
    }

    #[test]
    fn typed_archive_gets_a_zip_extension() {
        let inputs = vec![PathBuf::from("/data/a.txt")];
        let destinations = Destinations {
            archive: " /tmp/out ".to_owned(),
            ..Default::default()
        };
        assert_eq!(
            destinations.archive_path(&inputs),
            Some(PathBuf::from("/tmp/out.zip"))
        );
    }

    #[test]
    fn one_archive_per_folder() {
        let inputs = vec![PathBuf::from("/data/a"), PathBuf::from("/data/b")];
        let settings = Settings {
            archive_layout: ArchiveLayout::ArchivePerFolder,
            compression: CompressionLevel::Maximum,
            ..Default::default()
        };
        let jobs = build_jobs(
            Operation::Compress,
            &settings,
            &inputs,
            &Destinations::default(),
        )
        .unwrap();
        let outputs: Vec<_> = jobs.iter().map(|j| j.output_path().to_path_buf()).collect();
        assert_eq!(
            outputs,
            vec![PathBuf::from("/data/a.zip"), PathBuf::from("/data/b.zip")]
        );
    }

    #[test]
    fn thumbnails_use_the_settings() {
        let inputs = vec![PathBuf::from("/pics/x.jpg")];
        let settings = Settings {
            thumb_size: ThumbSize::Custom,
            custom_thumb_side_px: 300,
            thumb_format: ThumbFormat::Webp,
            on_conflict: ConflictPolicy::Skip,
            ..Default::default()
        };
        let jobs = build_jobs(
            Operation::Thumbnails,
            &settings,
            &inputs,
            &Destinations::default(),
        )
        .unwrap();
        let [JobSpec::Thumbs(t)] = jobs.as_slice() else {
            panic!("one thumbnail job expected")
        };
        assert_eq!(t.output_dir, PathBuf::from("/pics/thumbnails"));
        assert_eq!(t.sizes_px, vec![300]);
        assert_eq!(t.format, ThumbFormat::Webp);
        assert_eq!(t.on_conflict, ConflictPolicy::Skip);
    }

    #[test]
    fn no_inputs_no_jobs() {
        assert!(
            build_jobs(
                Operation::Compress,
                &Settings::default(),
                &[],
                &Destinations::default()
            )
            .is_err()
        );
    }

    #[test]
    fn pasted_paths_are_cleaned() {
        assert_eq!(typed_path("  "), None);
        assert_eq!(typed_path("'/a b/c'"), Some(PathBuf::from("/a b/c")));
        assert_eq!(
            typed_path("file:///a%20b/%C3%A9t%C3%A9"),
            Some(PathBuf::from("/a b/été"))
        );
        assert_eq!(
            typed_paths("/x\n\n/y\r\n"),
            vec![PathBuf::from("/x"), PathBuf::from("/y")]
        );
    }

    #[test]
    fn stored_settings_are_clamped() {
        let settings = Settings {
            jpeg_quality: 0,
            custom_thumb_side_px: 1,
            workers: Some(0),
            ..Default::default()
        };
        let settings = settings.sanitized();
        assert_eq!(settings.jpeg_quality, 1);
        assert_eq!(settings.custom_thumb_side_px, 16);
        assert_eq!(settings.workers, Some(1));
    }
}
