//! The job settings a person picks in the window, remembered between runs, and how they turn
//! into engine job specs.
//!
//! Owns: [`Settings`] (serialized through eframe persistence), the destination fields typed in
//! the window ([`Destinations`]), and [`build_jobs`], which maps inputs + settings to
//! [`JobSpec`]s, plus the local preview of thumbnail names ([`sample_names`]). Pure data: no file
//! system access, no egui.
//! Must not touch: the engine's naming and validation (the engine turns a folder or a name
//! without extension into an archive path, and decides whether a destination already exists;
//! the window passes what was typed, as typed), drawing.

use std::path::PathBuf;

use crate::engine::kinds::thumbs::color::ColorMode;
use crate::engine::kinds::thumbs::metadata::MetadataPolicy;
use crate::engine::{
    ConflictPolicy, DEFAULT_JPEG_QUALITY, DEFAULT_THUMB_SIDE_PX, ExistingArchive, JobSpec,
    MAX_THUMB_SIDE_PX, NameTemplate, ThumbFormat, ThumbSpec, ZipSpec, default_workers, parent_dir,
};

/// The eframe storage key of [`Settings`].
pub const SETTINGS_KEY: &str = "shrinkwrap.settings";
/// The eframe storage key of [`RememberedFolders`].
pub const FOLDERS_KEY: &str = "shrinkwrap.folders";

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

/// What to do when an archive to be written already exists, as remembered between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ArchiveExists {
    /// Ask: the preview shows the question before Start, and Start asks if it is unanswered.
    #[default]
    Ask,
    /// Replace it once the new archive is complete.
    Replace,
    /// Keep it and write `name (1).zip`.
    KeepBoth,
}

impl ArchiveExists {
    pub const ALL: [ArchiveExists; 3] = [
        ArchiveExists::Ask,
        ArchiveExists::Replace,
        ArchiveExists::KeepBoth,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ArchiveExists::Ask => "Ask",
            ArchiveExists::Replace => "Replace",
            ArchiveExists::KeepBoth => "Keep both",
        }
    }

    pub fn hint(self) -> &'static str {
        match self {
            ArchiveExists::Ask => "Ask before writing over an archive that already exists",
            ArchiveExists::Replace => "Replace an existing archive once the new one is complete",
            ArchiveExists::KeepBoth => {
                "Keep an existing archive and name the new one “name (1).zip”"
            }
        }
    }

    /// The engine's policy: "ask" is "fail at once", which the window turns into the question.
    pub fn policy(self) -> ExistingArchive {
        match self {
            ArchiveExists::Ask => ExistingArchive::Fail,
            ArchiveExists::Replace => ExistingArchive::Replace,
            ArchiveExists::KeepBoth => ExistingArchive::KeepBoth,
        }
    }
}

/// Thumbnail sizes offered as one-click presets (toggles), in pixels.
pub const THUMB_SIZE_PRESETS_PX: [u32; 4] = [128, 256, 512, 1024];
/// Range of a custom thumbnail size, in pixels.
pub const CUSTOM_THUMB_SIDE_RANGE_PX: std::ops::RangeInclusive<u32> = 16..=MAX_THUMB_SIDE_PX;
/// At most this many sizes in one job.
pub const MAX_THUMB_SIZES: usize = 8;
/// Range of the worker-count setting.
pub const WORKERS_RANGE: std::ops::RangeInclusive<usize> = 1..=64;

/// Everything the window remembers between runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Settings {
    pub operation: Operation,
    pub archive_layout: ArchiveLayout,
    pub compression: CompressionLevel,
    /// What to do when an archive already exists.
    pub existing_archive: ArchiveExists,
    /// The thumbnails' sizes (long side, pixels), ascending, without repeats, at least one.
    pub thumb_sizes_px: Vec<u32>,
    /// The size the "Add" field proposes, in pixels.
    pub custom_thumb_side_px: u32,
    /// The thumbnails' file name template; empty means the engine's default (`{stem}` for one
    /// size, `{stem}_{size}` for several).
    pub name_template: String,
    pub thumb_format: ThumbFormat,
    pub jpeg_quality: u8,
    /// WebP thumbnails lossless instead of lossy.
    pub webp_lossless: bool,
    /// What EXIF/XMP metadata thumbnails keep.
    pub metadata: MetadataPolicy,
    /// Convert colours to sRGB, or keep the source's ICC profile.
    pub color: ColorMode,
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
            existing_archive: ArchiveExists::Ask,
            thumb_sizes_px: vec![DEFAULT_THUMB_SIDE_PX],
            custom_thumb_side_px: 320,
            name_template: String::new(),
            thumb_format: ThumbFormat::Jpeg,
            jpeg_quality: DEFAULT_JPEG_QUALITY,
            webp_lossless: false,
            metadata: MetadataPolicy::Strip,
            color: ColorMode::ConvertToSrgb,
            on_conflict: ConflictPolicy::Update,
            workers: None,
        }
    }
}

impl Settings {
    /// Adds a thumbnail size (clamped into range); returns whether the list changed.
    pub fn add_thumb_size(&mut self, px: u32) -> bool {
        let px = clamp_side_px(px);
        if self.thumb_sizes_px.contains(&px) || self.thumb_sizes_px.len() >= MAX_THUMB_SIZES {
            return false;
        }
        self.thumb_sizes_px.push(px);
        self.thumb_sizes_px.sort_unstable();
        true
    }

    /// Removes a thumbnail size unless it is the last one; returns whether the list changed.
    pub fn remove_thumb_size(&mut self, px: u32) -> bool {
        if self.thumb_sizes_px.len() <= 1 {
            return false;
        }
        let before = self.thumb_sizes_px.len();
        self.thumb_sizes_px.retain(|&s| s != px);
        self.thumb_sizes_px.len() != before
    }

    /// The name template to pass to the engine: `None` (the default) when the field is empty.
    pub fn name_template(&self) -> Option<String> {
        let t = self.name_template.trim();
        (!t.is_empty()).then(|| t.to_owned())
    }

    /// The template in force, parsed: the typed one, else the default for the number of sizes.
    /// The error is the engine's message ("name template \"{x}\": unknown placeholder ...").
    pub fn parsed_template(&self) -> Result<NameTemplate, String> {
        self.thumb_spec(Vec::new(), PathBuf::new())
            .template()
            .map_err(|e| e.to_string())
    }

    /// The thumbnail spec for these inputs and folder.
    fn thumb_spec(&self, inputs: Vec<PathBuf>, output_dir: PathBuf) -> ThumbSpec {
        ThumbSpec {
            inputs,
            output_dir,
            sizes_px: self.thumb_sizes_px.clone(),
            name_template: self.name_template(),
            format: self.thumb_format,
            quality: self.jpeg_quality.clamp(1, 100),
            lossless: self.webp_lossless,
            metadata: self.metadata,
            color: self.color,
            on_conflict: self.on_conflict,
            only: Vec::new(),
            shard: None,
        }
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
        let mut sizes: Vec<u32> = self
            .thumb_sizes_px
            .iter()
            .map(|&px| clamp_side_px(px))
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        sizes.truncate(MAX_THUMB_SIZES);
        if sizes.is_empty() {
            sizes.push(DEFAULT_THUMB_SIDE_PX);
        }
        self.thumb_sizes_px = sizes;
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

/// The output folders typed (or picked) in the window, remembered between runs like the
/// settings. The single archive's path is not: a file name remembered would make every new
/// archive collide with the last one.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct RememberedFolders {
    pub thumbnails_folder: String,
    pub archives_folder: String,
}

impl RememberedFolders {
    pub fn of(destinations: &Destinations) -> RememberedFolders {
        RememberedFolders {
            thumbnails_folder: destinations.thumbnails_folder.trim().to_owned(),
            archives_folder: destinations.archives_folder.trim().to_owned(),
        }
    }

    /// The destination fields at start: these folders, an empty archive path.
    pub fn destinations(&self) -> Destinations {
        Destinations {
            archive: String::new(),
            archives_folder: self.archives_folder.clone(),
            thumbnails_folder: self.thumbnails_folder.clone(),
        }
    }
}

/// The destination fields of the window, as typed (or filled in by a dialog). An empty field means
/// "the default, next to the first input". The folders are remembered ([`RememberedFolders`]).
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
    /// The archive destination to pass to the engine: the typed path as typed (the engine reads
    /// a folder as "`<default name>.zip` in it" and adds `.zip` to a bare name), else the
    /// default next to the first input.
    pub fn archive_path(&self, inputs: &[PathBuf]) -> Option<PathBuf> {
        typed_path(&self.archive).or_else(|| ZipSpec::default_destination(inputs))
    }

    /// Where "one archive per folder" writes: the typed folder, else the first input's folder.
    pub fn archives_folder_path(&self, inputs: &[PathBuf]) -> Option<PathBuf> {
        typed_path(&self.archives_folder)
            .or_else(|| Some(parent_dir(inputs.first()?).to_path_buf()))
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

/// The jobs to submit for `operation` over `inputs` with these settings and destinations.
/// `archive_choice` is the answer to "the archive already exists" given for these inputs and
/// destination, if any; else the remembered [`Settings::existing_archive`] applies. The error is
/// a sentence for the window.
pub fn build_jobs(
    operation: Operation,
    settings: &Settings,
    inputs: &[PathBuf],
    destinations: &Destinations,
    archive_choice: Option<ExistingArchive>,
) -> Result<Vec<JobSpec>, String> {
    if inputs.is_empty() {
        return Err("Add some files or folders first.".to_owned());
    }
    let specs = match operation {
        Operation::Compress => {
            let level = settings.compression.deflate_level();
            let on_exists = archive_choice.unwrap_or(settings.existing_archive.policy());
            match settings.archive_layout {
                ArchiveLayout::SingleArchive => {
                    let destination = destinations
                        .archive_path(inputs)
                        .ok_or("Choose where to save the archive.")?;
                    vec![JobSpec::Zip(ZipSpec {
                        inputs: inputs.to_vec(),
                        destination,
                        level,
                        on_exists,
                        only: Vec::new(),
                        shard: None,
                    })]
                }
                ArchiveLayout::ArchivePerFolder => {
                    let folder = destinations
                        .archives_folder_path(inputs)
                        .ok_or("Choose a folder for the archives.")?;
                    ZipSpec::per_folder(inputs, &folder, level, on_exists)
                        .into_iter()
                        .map(JobSpec::Zip)
                        .collect()
                }
            }
        }
        Operation::Thumbnails => {
            let output_dir = destinations
                .thumbnails_folder_path(inputs)
                .ok_or("Choose a folder for the thumbnails.")?;
            vec![JobSpec::Thumbs(
                settings.thumb_spec(inputs.to_vec(), output_dir),
            )]
        }
    };
    for spec in &specs {
        spec.validate().map_err(|e| capitalized(&e.to_string()))?;
    }
    Ok(specs)
}

/// One input and the thumbnail names it gets, for the live preview of the name template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleNames {
    /// The source's file name.
    pub source: String,
    /// The thumbnails' file names, one per size.
    pub outputs: Vec<String>,
}

/// The first `count` sources' thumbnail names, rendered locally with the template (no file
/// system access): `sources` are file paths (a folder input stands for the images inside it,
/// which the window does not list; the caller passes an example name there). The error is the
/// template's, in the user's terms.
pub fn sample_names(
    settings: &Settings,
    sources: &[PathBuf],
    count: usize,
) -> Result<Vec<SampleNames>, String> {
    let template = settings.parsed_template()?;
    let extension = settings.thumb_format.extension();
    Ok(sources
        .iter()
        .take(count)
        .map(|source| SampleNames {
            source: source
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            outputs: settings
                .thumb_sizes_px
                .iter()
                .map(|&px| template.render(source, px, extension))
                .collect(),
        })
        .collect())
}

/// "name template ..." -> "Name template ...".
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jobs(
        operation: Operation,
        settings: &Settings,
        inputs: &[PathBuf],
        destinations: &Destinations,
    ) -> Vec<JobSpec> {
        build_jobs(operation, settings, inputs, destinations, None).unwrap()
    }

    #[test]
    fn default_archive_is_next_to_the_first_input() {
        let inputs = vec![PathBuf::from("/data/photos")];
        let jobs = jobs(
            Operation::Compress,
            &Settings::default(),
            &inputs,
            &Destinations::default(),
        );
        let [JobSpec::Zip(zip)] = jobs.as_slice() else {
            panic!("one zip job expected: {jobs:?}")
        };
        assert_eq!(zip.destination, PathBuf::from("/data/photos.zip"));
        assert_eq!(zip.level, 6);
        assert_eq!(zip.on_exists, ExistingArchive::Fail);
    }

    #[test]
    fn typed_archive_is_passed_as_typed_and_the_choice_wins() {
        let inputs = vec![PathBuf::from("/data/a.txt")];
        let destinations = Destinations {
            archive: " /tmp/out ".to_owned(),
            ..Default::default()
        };
        // The engine decides what "/tmp/out" means (a folder, or "out.zip").
        assert_eq!(
            destinations.archive_path(&inputs),
            Some(PathBuf::from("/tmp/out"))
        );
        let settings = Settings {
            existing_archive: ArchiveExists::Replace,
            ..Default::default()
        };
        let remembered = jobs(Operation::Compress, &settings, &inputs, &destinations);
        let chosen = build_jobs(
            Operation::Compress,
            &settings,
            &inputs,
            &destinations,
            Some(ExistingArchive::KeepBoth),
        )
        .unwrap();
        let on_exists = |specs: &[JobSpec]| match specs {
            [JobSpec::Zip(z)] => z.on_exists,
            other => panic!("one zip job expected: {other:?}"),
        };
        assert_eq!(on_exists(&remembered), ExistingArchive::Replace);
        assert_eq!(on_exists(&chosen), ExistingArchive::KeepBoth);
    }

    #[test]
    fn one_archive_per_folder() {
        let inputs = vec![PathBuf::from("/data/a"), PathBuf::from("/data/b")];
        let settings = Settings {
            archive_layout: ArchiveLayout::ArchivePerFolder,
            compression: CompressionLevel::Maximum,
            ..Default::default()
        };
        let jobs = jobs(
            Operation::Compress,
            &settings,
            &inputs,
            &Destinations::default(),
        );
        let outputs: Vec<_> = jobs.iter().map(|j| j.output_path().to_path_buf()).collect();
        assert_eq!(
            outputs,
            vec![PathBuf::from("/data/a.zip"), PathBuf::from("/data/b.zip")]
        );
    }

    #[test]
    fn thumbnails_use_the_settings() {
        let inputs = vec![PathBuf::from("/pics/x.jpg")];
        let mut settings = Settings {
            thumb_format: ThumbFormat::Webp,
            on_conflict: ConflictPolicy::Skip,
            name_template: " {parent}-{stem}_{size} ".to_owned(),
            ..Default::default()
        };
        assert!(settings.add_thumb_size(1024));
        assert!(settings.add_thumb_size(64));
        assert!(!settings.add_thumb_size(64), "no repeats");
        let jobs = jobs(
            Operation::Thumbnails,
            &settings,
            &inputs,
            &Destinations::default(),
        );
        let [JobSpec::Thumbs(t)] = jobs.as_slice() else {
            panic!("one thumbnail job expected")
        };
        assert_eq!(t.output_dir, PathBuf::from("/pics/thumbnails"));
        assert_eq!(t.sizes_px, vec![64, 256, 1024]);
        assert_eq!(t.name_template.as_deref(), Some("{parent}-{stem}_{size}"));
        assert_eq!(t.format, ThumbFormat::Webp);
        assert_eq!(t.on_conflict, ConflictPolicy::Skip);
    }

    #[test]
    fn the_last_size_stays() {
        let mut settings = Settings::default();
        assert!(!settings.remove_thumb_size(DEFAULT_THUMB_SIDE_PX));
        assert_eq!(settings.thumb_sizes_px, vec![DEFAULT_THUMB_SIDE_PX]);
        settings.add_thumb_size(512);
        assert!(settings.remove_thumb_size(DEFAULT_THUMB_SIDE_PX));
        assert_eq!(settings.thumb_sizes_px, vec![512]);
    }

    #[test]
    fn template_names_render_locally_and_errors_read_well() {
        let mut settings = Settings::default();
        let sources = [PathBuf::from("/p/trip/a.JPG"), PathBuf::from("/p/b.png")];
        let names = sample_names(&settings, &sources, 1).unwrap();
        assert_eq!(
            names,
            vec![SampleNames {
                source: "a.JPG".to_owned(),
                outputs: vec!["a.jpg".to_owned()]
            }]
        );
        settings.add_thumb_size(512);
        let names = sample_names(&settings, &sources, 5).unwrap();
        assert_eq!(names[1].outputs, vec!["b_256.jpg", "b_512.jpg"]);
        settings.name_template = "{parent}/{stem}".to_owned();
        let err = sample_names(&settings, &sources, 5).unwrap_err();
        assert!(err.contains("cannot contain '/'"), "{err}");
        let err = build_jobs(
            Operation::Thumbnails,
            &settings,
            &sources,
            &Destinations::default(),
            None,
        )
        .unwrap_err();
        assert!(err.starts_with("Name template"), "{err}");
    }

    #[test]
    fn no_inputs_no_jobs() {
        assert!(
            build_jobs(
                Operation::Compress,
                &Settings::default(),
                &[],
                &Destinations::default(),
                None,
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
            thumb_sizes_px: vec![99_999, 1, 1],
            workers: Some(0),
            ..Default::default()
        };
        let settings = settings.sanitized();
        assert_eq!(settings.jpeg_quality, 1);
        assert_eq!(settings.custom_thumb_side_px, 16);
        assert_eq!(settings.thumb_sizes_px, vec![16, MAX_THUMB_SIDE_PX]);
        assert_eq!(settings.workers, Some(1));
        let empty = Settings {
            thumb_sizes_px: Vec::new(),
            ..Default::default()
        };
        assert_eq!(
            empty.sanitized().thumb_sizes_px,
            vec![DEFAULT_THUMB_SIDE_PX]
        );
    }
}
