//! Job specifications: what a front end asks the engine to do.
//!
//! Owns: the plain data describing a job (inputs, destination, options) and its validation.
//! Must not touch: the file system beyond cheap checks, threads, or any front end.

use std::path::{Path, PathBuf};

use super::output::parent_dir;

/// Deflate level used when none is given.
pub const DEFAULT_ZIP_LEVEL: u8 = 6;
/// Long side of the thumbnail box when none is given.
pub const DEFAULT_THUMB_SIDE_PX: u32 = 256;
/// JPEG quality when none is given.
pub const DEFAULT_JPEG_QUALITY: u8 = 85;

/// One user request.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
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

/// "Compress these inputs into this archive."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipSpec {
    pub inputs: Vec<PathBuf>,
    pub destination: PathBuf,
    /// 0 (store) to 9 (smallest).
    pub level: u8,
    pub overwrite: bool,
}

impl ZipSpec {
    pub fn new(inputs: Vec<PathBuf>, destination: PathBuf) -> Self {
        ZipSpec {
            inputs,
            destination,
            level: DEFAULT_ZIP_LEVEL,
            overwrite: false,
        }
    }

    /// "One archive per folder": each folder becomes `<out_dir>/<folder name>.zip`, its own job.
    /// Two folders with the same name get distinct archive names (`name (1).zip`).
    pub fn per_folder(
        folders: &[PathBuf],
        out_dir: &Path,
        level: u8,
        overwrite: bool,
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
                    overwrite,
                }
            })
            .collect()
    }

    /// The default archive for some inputs: next to the first one, named after it.
    pub fn default_destination(inputs: &[PathBuf]) -> Option<PathBuf> {
        let first = inputs.first()?;
        let parent = parent_dir(first);
        let name = if inputs.len() == 1 {
            first
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| folder_display_name(first))
        } else {
            parent
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "archive".to_owned())
        };
        Some(parent.join(format!("{name}.zip")))
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

/// What to do when a thumbnail's name is already taken.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ConflictPolicy {
    /// Pick a new unique name: `photo (1).jpg`.
    #[default]
    Rename,
    Overwrite,
    Skip,
}

impl ConflictPolicy {
    pub fn label(self) -> &'static str {
        match self {
            ConflictPolicy::Rename => "Rename",
            ConflictPolicy::Overwrite => "Overwrite",
            ConflictPolicy::Skip => "Skip",
        }
    }
    pub const ALL: [ConflictPolicy; 3] = [
        ConflictPolicy::Rename,
        ConflictPolicy::Overwrite,
        ConflictPolicy::Skip,
    ];
}

/// "Make thumbnails of these inputs into this folder."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThumbSpec {
    pub inputs: Vec<PathBuf>,
    pub output_dir: PathBuf,
    /// The thumbnail fits in a square of this many pixels; never upscaled.
    pub max_side_px: u32,
    pub format: ThumbFormat,
    /// JPEG quality 1-100 (WebP output is lossless, PNG has no quality).
    pub quality: u8,
    pub on_conflict: ConflictPolicy,
}

impl ThumbSpec {
    pub fn new(inputs: Vec<PathBuf>, output_dir: PathBuf) -> Self {
        ThumbSpec {
            inputs,
            output_dir,
            max_side_px: DEFAULT_THUMB_SIDE_PX,
            format: ThumbFormat::Jpeg,
            quality: DEFAULT_JPEG_QUALITY,
            on_conflict: ConflictPolicy::Rename,
        }
    }

    /// The default output folder: `<first input's folder>/thumbnails`.
    pub fn default_output_dir(inputs: &[PathBuf]) -> Option<PathBuf> {
        let first = inputs.first()?;
        let parent = parent_dir(first);
        Some(parent.join("thumbnails"))
    }
}
