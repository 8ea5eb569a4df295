//! The zip kind's spec: "compress these inputs into this archive", and its naming defaults.
//!
//! Pure data: no file system access, no threads, no front end.

use std::path::{Path, PathBuf};

use crate::engine::model::error::{KindCause, KindError, SpecError};
use crate::engine::model::password::{Password, serde_marker};
use crate::engine::model::paths::{
    folder_display_name, normalize_path, normalized_inputs, parent_dir,
};
use crate::engine::model::shard::Shard;

/// Deflate level used when none is given.
pub const DEFAULT_ZIP_LEVEL: u8 = 6;
/// The highest deflate level (smallest archive); 0 stores.
pub const MAX_ZIP_LEVEL: u8 = 9;

/// What to do when the archive already exists.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum ExistingArchive {
    /// Fail at once, before any work (each front end then offers its own way to choose).
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
    /// The files and folders to compress (a folder with everything under it, as one top-level
    /// folder of the archive).
    #[serde(with = "crate::engine::model::paths::path_json::vec")]
    pub inputs: Vec<PathBuf>,
    /// The archive to write. An existing folder (or a path ending in `/`) means
    /// "the default archive name in that folder" ([`ZipSpec::default_archive_name`]); a name with no extension at all gets `.zip` (one
    /// with another extension, `backup.tar`, is kept as given).
    #[serde(with = "crate::engine::model::paths::path_json")]
    pub destination: PathBuf,
    /// 0 (store) to 9 (smallest).
    pub level: u8,
    /// What to do when the archive already exists.
    pub on_exists: ExistingArchive,
    /// When not empty, only these files among the inputs go in, named as the whole inputs
    /// would name them (a list given with `--files-from`, or what a chained job made).
    #[serde(default, with = "crate::engine::model::paths::path_json::vec")]
    pub only: Vec<PathBuf>,
    /// Only this share of the inputs ([`Shard::contains`]), written to
    /// `NAME.part-I-of-N.zip` ([`Shard::part_file_name`]) with the entries a full run names.
    #[serde(default)]
    pub shard: Option<Shard>,
    /// Glob patterns of files and folders to leave out, with `.gitignore` syntax (`*.tmp`,
    /// `.git/`, `node_modules/`, `/build` for the top level only, `!keep.tmp` to take one back),
    /// matched against names inside each input (a folder input's own name included).
    #[serde(default)]
    pub excludes: Vec<String>,
    /// Leave out what the `.gitignore` files met in the inputs' folders say (as git does: each
    /// applies to its folder and below).
    #[serde(default)]
    pub honour_gitignore: bool,
    /// Encrypt every entry with WinZip AES-256 under this password. Its text never reaches the
    /// journal: a journal records only that there was one, and a spec read back from it holds
    /// [`Password::NotKept`], which
    /// [`KindSpec::validate`](crate::engine::runtime::job::KindSpec::validate) refuses (a
    /// resumed job never writes unencrypted what was to be encrypted).
    #[serde(
        default,
        with = "serde_marker",
        skip_serializing_if = "Option::is_none"
    )]
    pub password: Option<Password>,
}

/// What is wrong with a zip spec beyond the common checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecProblem {
    /// The spec was read back from a journal and had a password, which is never kept: it must
    /// be given again before the archive is written.
    #[error(
        "the archive is to be encrypted, but passwords are never kept: give the password again"
    )]
    PasswordNotKept,
    /// The password given is the empty string.
    #[error("the password is empty")]
    EmptyPassword,
    /// An exclude pattern is not a valid `.gitignore` glob.
    #[error("exclude pattern {pattern:?}: {why}")]
    BadExclude {
        /// The pattern as the user gave it.
        pattern: String,
        /// Why it is refused: the glob parser's reason, or that it is empty.
        why: String,
    },
}

impl KindError for SpecProblem {}

impl From<SpecProblem> for SpecError {
    fn from(p: SpecProblem) -> SpecError {
        SpecError::Kind(KindCause::new(p))
    }
}

impl ZipSpec {
    /// A spec compressing `inputs` into `destination` with the defaults: level
    /// [`DEFAULT_ZIP_LEVEL`], fail if the archive exists, no excludes, no `.gitignore`, no
    /// password.
    pub fn new(inputs: Vec<PathBuf>, destination: PathBuf) -> Self {
        ZipSpec {
            inputs,
            destination,
            level: DEFAULT_ZIP_LEVEL,
            on_exists: ExistingArchive::default(),
            excludes: Vec::new(),
            honour_gitignore: false,
            password: None,
            only: Vec::new(),
            shard: None,
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
                    level,
                    on_exists,
                    ..ZipSpec::new(vec![folder.clone()], destination)
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

impl ZipSpec {
    /// The spec with every path absolute and normalised, inputs sorted and de-duplicated.
    pub fn normalized(&self) -> ZipSpec {
        ZipSpec {
            inputs: normalized_inputs(&self.inputs),
            destination: normalize_path(&self.destination),
            only: normalized_inputs(&self.only),
            ..self.clone()
        }
    }
}
