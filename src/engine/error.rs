//! Error types of the engine.
//!
//! Owns: every error the engine can report, as `thiserror` enums whose messages name the path
//! they are about. Must not touch: presentation (the front ends decide how to show these).

use std::io;
use std::path::{Path, PathBuf};

/// Why a whole job could not run (the job ends `failed`).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{path}: already exists (choose overwrite to replace it)")]
    DestinationExists { path: PathBuf },
    #[error("{path}: cannot create output: {source}")]
    CreateOutput { path: PathBuf, source: io::Error },
    #[error("{path}: cannot write archive: {source}")]
    WriteArchive {
        path: PathBuf,
        source: zip::result::ZipError,
    },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("nothing to do: no inputs")]
    NoInputs,
    #[error("{0}")]
    NothingToDo(&'static str),
    #[error("{path}: is a folder; the archive needs a file name")]
    DestinationIsFolder { path: PathBuf },
    #[error("internal error: {0}")]
    Internal(String),
}

impl JobError {
    pub(crate) fn io(path: &Path, source: io::Error) -> Self {
        JobError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Why one item (file, folder, image) of a job was not processed. The job carries on.
#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    #[error("cannot read: {0}")]
    Read(io::Error),
    #[error("cannot list folder: {0}")]
    ListFolder(String),
    #[error("cannot write output {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("not a regular file or folder ({0})")]
    Special(&'static str),
    #[error("symbolic link {0}")]
    Symlink(&'static str),
    #[error("name contains a control character (tab, newline...)")]
    ControlCharacter,
    #[error("name is not valid UTF-8")]
    NotUtf8,
    #[error("same name as another input in the archive")]
    DuplicateName,
    #[error("vanished since it was listed")]
    Vanished,
    #[error("changed type since it was listed (now {0})")]
    ChangedType(&'static str),
    #[error("compression failed: {0}")]
    Compress(String),
    #[error("not an image (content is not JPEG, PNG, WebP, GIF, BMP or TIFF)")]
    NotAnImage,
    #[error("empty file")]
    Empty,
    #[error("not a valid image: {0}")]
    BadImage(String),
    #[error("damaged image: {0}")]
    Damaged(String),
    #[error("image too large: {width}x{height} pixels (limit {limit_mpx} megapixels)")]
    TooLarge {
        width: u64,
        height: u64,
        limit_mpx: u64,
    },
    #[error("file too large for an image: {bytes} bytes")]
    FileTooLarge { bytes: u64 },
    #[error("cannot encode thumbnail: {0}")]
    Encode(String),
    #[error("output {0} already exists")]
    OutputExists(PathBuf),
    #[error("internal error: {0}")]
    Internal(String),
}
