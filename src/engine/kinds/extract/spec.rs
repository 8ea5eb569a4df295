//! The extract kind's spec: "extract (or test) these archives into this folder".
//!
//! Pure data: no file system access, no threads, no front end.

use std::path::PathBuf;

use crate::engine::model::password::{Password, serde_marker};
use crate::engine::model::paths::{normalize_path, normalized_inputs};
use crate::engine::model::plan::ConflictPolicy;
use crate::engine::model::shard::Shard;

/// "Extract these archives into this folder", or with `test_only`, "read every entry of these
/// archives and check it, writing nothing".
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExtractSpec {
    /// Zip archives, or folders holding them (`*.zip` inside them, at any depth).
    pub inputs: Vec<PathBuf>,
    /// The folder the archives are extracted into (created when missing). An archive whose
    /// entries all sit in one top-level folder, or that holds one file, goes straight in; any
    /// other gets a folder named after it (`<output>/<archive name without .zip>/`). Not used
    /// by a test.
    pub output_dir: PathBuf,
    /// What to do when an entry's file exists (rename by default: nothing is replaced unless
    /// asked).
    pub on_conflict: ConflictPolicy,
    /// A file holding the password of encrypted entries (its first line), read when the job
    /// starts. Kept in the journal (the file, not the password), so a resumed job reads it again.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// The password of encrypted entries, given directly (the window's field). Never kept: a
    /// spec read back from a journal holds [`Password::NotKept`].
    #[serde(
        default,
        with = "serde_marker",
        skip_serializing_if = "Option::is_none"
    )]
    pub password: Option<Password>,
    /// "Test": read every entry and check its CRC-32 (or its AES tag), write nothing.
    #[serde(default)]
    pub test_only: bool,
    /// Create symbolic-link entries whose target stays inside the output folder (the others are
    /// never created). Off: no link is created, each is listed as skipped.
    #[serde(default)]
    pub create_symlinks: bool,
    /// Restore the setuid and setgid bits of entries that have them (off: plain permission bits
    /// only).
    #[serde(default)]
    pub restore_setuid: bool,
    /// When not empty, only these archives among the inputs (a `--files-from` list, what a
    /// chained job made).
    #[serde(default)]
    pub only: Vec<PathBuf>,
    /// Only this share of the archives ([`Shard::contains`] on the path relative to the input
    /// folder); each is extracted where a full run puts it.
    #[serde(default)]
    pub shard: Option<Shard>,
}

impl ExtractSpec {
    /// Extract `inputs` into `output_dir`, renaming on conflicts, without links or setuid bits.
    pub fn new(inputs: Vec<PathBuf>, output_dir: PathBuf) -> ExtractSpec {
        ExtractSpec {
            inputs,
            output_dir,
            on_conflict: ConflictPolicy::Rename,
            password_file: None,
            password: None,
            test_only: false,
            create_symlinks: false,
            restore_setuid: false,
            only: Vec::new(),
            shard: None,
        }
    }

    /// Test `inputs`: read every entry and check it, write nothing.
    pub fn test(inputs: Vec<PathBuf>) -> ExtractSpec {
        ExtractSpec {
            test_only: true,
            ..ExtractSpec::new(inputs, PathBuf::new())
        }
    }

    /// The spec with every path absolute and normalised, inputs sorted and de-duplicated.
    pub fn normalized(&self) -> ExtractSpec {
        ExtractSpec {
            inputs: normalized_inputs(&self.inputs),
            output_dir: if self.test_only {
                PathBuf::new()
            } else {
                normalize_path(&self.output_dir)
            },
            password_file: self.password_file.as_deref().map(normalize_path),
            only: normalized_inputs(&self.only),
            ..self.clone()
        }
    }
}
