//! Error types of the engine.
//!
//! Owns: every error the engine can report, as `thiserror` enums whose messages name the user's
//! path (never a temporary name) and say what went wrong in the user's terms ("the disk is
//! full", "permission denied"), and [`IoCause`], which turns an OS error into those terms.
//! Must not touch: presentation beyond the message text (the front ends decide how to show these).

use std::io;
use std::path::PathBuf;

use crate::engine::model::id::JobId;
use crate::engine::model::shard::ShardError;

/// An operating-system error in the user's terms.
#[derive(Debug)]
pub enum IoCause {
    DiskFull,
    QuotaExceeded,
    ReadOnly,
    PermissionDenied,
    NotFound,
    NotAFolder,
    IsAFolder,
    NameTooLong,
    TooManyOpenFiles,
    /// The medium reported an input/output error.
    DeviceError,
    /// The folder exists but does not take new files (a virtual file system such as /proc).
    FolderRefusesFiles,
    Other(io::Error),
}

impl IoCause {
    /// Classifies an OS error.
    pub fn of(e: io::Error) -> IoCause {
        match e.raw_os_error() {
            Some(libc::ENOSPC) => IoCause::DiskFull,
            Some(libc::EDQUOT) => IoCause::QuotaExceeded,
            Some(libc::EROFS) => IoCause::ReadOnly,
            Some(libc::EACCES | libc::EPERM) => IoCause::PermissionDenied,
            Some(libc::ENOENT) => IoCause::NotFound,
            Some(libc::ENOTDIR) => IoCause::NotAFolder,
            Some(libc::EISDIR) => IoCause::IsAFolder,
            Some(libc::ENAMETOOLONG) => IoCause::NameTooLong,
            Some(libc::EMFILE | libc::ENFILE) => IoCause::TooManyOpenFiles,
            Some(libc::EIO) => IoCause::DeviceError,
            // Errors wrapped by other crates (tempfile's carry the temporary path) keep their kind.
            _ => match e.kind() {
                io::ErrorKind::StorageFull => IoCause::DiskFull,
                io::ErrorKind::QuotaExceeded => IoCause::QuotaExceeded,
                io::ErrorKind::ReadOnlyFilesystem => IoCause::ReadOnly,
                io::ErrorKind::NotFound => IoCause::NotFound,
                io::ErrorKind::PermissionDenied => IoCause::PermissionDenied,
                io::ErrorKind::NotADirectory => IoCause::NotAFolder,
                io::ErrorKind::IsADirectory => IoCause::IsAFolder,
                io::ErrorKind::InvalidFilename => IoCause::NameTooLong,
                _ => IoCause::Other(e),
            },
        }
    }

    /// Whether this is "no space left" (disk or quota).
    pub fn is_disk_full(&self) -> bool {
        matches!(self, IoCause::DiskFull | IoCause::QuotaExceeded)
    }
}

impl std::fmt::Display for IoCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            IoCause::DiskFull => "the disk is full",
            IoCause::QuotaExceeded => "the disk quota is used up",
            IoCause::ReadOnly => "the file system is read-only",
            IoCause::PermissionDenied => "permission denied",
            IoCause::NotFound => "no such file or folder",
            IoCause::NotAFolder => "a part of the path is not a folder",
            IoCause::IsAFolder => "it is a folder",
            IoCause::NameTooLong => "the name is too long",
            IoCause::TooManyOpenFiles => "too many files are open",
            IoCause::DeviceError => "input/output error (the disk may be failing)",
            IoCause::FolderRefusesFiles => "this folder does not take new files",
            IoCause::Other(e) => {
                // "Broken pipe (os error 32)" -> "broken pipe".
                let text = e.to_string();
                let text = match text.rfind(" (os error ") {
                    Some(at) => text[..at].to_owned(),
                    None => text,
                };
                let mut chars = text.chars();
                return match chars.next() {
                    Some(c) => write!(f, "{}{}", c.to_lowercase(), chars.as_str()),
                    None => write!(f, "unknown error"),
                };
            }
        };
        f.write_str(text)
    }
}

/// Why a job was refused when submitted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the same job is already queued or running ({0})")]
    Duplicate(JobId),
    #[error("{0}")]
    Invalid(#[from] SpecError),
    #[error("job {0} is not queued or running: nothing can take its outputs")]
    UnknownJob(JobId),
    #[error("job {0} is a dry run: it writes nothing another job could take")]
    AfterDryRun(JobId),
    #[error("the engine has stopped")]
    EngineStopped,
    #[error("the job whose outputs were to be its inputs ({0}) was not queued")]
    FirstNotQueued(String),
}

/// A job specification that cannot run as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("nothing to do: no inputs")]
    NoInputs,
    #[error("compression level {0} is out of range (0 to 9)")]
    Level(u8),
    #[error("thumbnail size {0} px is out of range (1 to 16384)")]
    Size(u32),
    #[error("no thumbnail size given")]
    NoSizes,
    #[error("quality {0} is out of range (1 to 100)")]
    Quality(u8),
    #[error("name template {template:?}: {why}")]
    Template { template: String, why: String },
    #[error("{0}")]
    Shard(#[from] ShardError),
}

/// Why a chained job (one that takes another job's outputs as its inputs) did not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChainBroken {
    #[error("failed")]
    Failed,
    #[error("was cancelled")]
    Cancelled,
    #[error("was stopped before the end")]
    Stopped,
    #[error("made no outputs")]
    MadeNothing,
}

/// Why a whole job could not run (the job ends `failed`).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{path} already exists (choose to replace it, or keep both)")]
    DestinationExists { path: PathBuf },
    #[error("{path} is an input of this job or of another queued job; it is never replaced")]
    DestinationIsInput { path: PathBuf },
    #[error("{path} is being written by another queued job ({job})")]
    DestinationClaimed { path: PathBuf, job: JobId },
    #[error("cannot write into {path}: {cause}")]
    CreateOutput { path: PathBuf, cause: IoCause },
    #[error("cannot write {path}: {cause}")]
    WriteArchive { path: PathBuf, cause: IoCause },
    #[error("cannot write {path}: {detail}")]
    ArchiveFormat { path: PathBuf, detail: String },
    #[error("{0}")]
    Spec(#[from] SpecError),
    #[error("{0}")]
    NothingToDo(&'static str),
    #[error("not started: {name} (job {job}), whose outputs were to be its inputs, {why}")]
    NotStarted {
        /// The job it takes its inputs from.
        job: JobId,
        /// That job's name as its card shows it.
        name: String,
        why: ChainBroken,
    },
    /// A chained job whose inputs became known, refused as a submission would have been.
    #[error("{0}")]
    Refused(SubmitError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why one item (file, folder, image) of a job was not processed. The job carries on.
#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    #[error("cannot read: {0}")]
    Read(IoCause),
    #[error("cannot list folder: {0}")]
    ListFolder(String),
    #[error("cannot write {path}: {cause}")]
    Write { path: PathBuf, cause: IoCause },
    #[error("not a regular file or folder ({0})")]
    Special(&'static str),
    #[error("symbolic link {0}")]
    Symlink(&'static str),
    #[error("symbolic link to a folder that contains it (a loop)")]
    SymlinkLoop,
    #[error("name contains a control character (tab, newline...)")]
    ControlCharacter,
    #[error("name is not valid UTF-8")]
    NotUtf8,
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
    #[error("{path} appeared since the plan was made; it was not replaced")]
    OutputAppeared { path: PathBuf },
    #[error("{path} became an input of a queued job since the plan was made; it was not replaced")]
    OutputIsInput { path: PathBuf },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ItemError {
    /// A read failure of an input.
    pub(crate) fn read(e: io::Error) -> ItemError {
        ItemError::Read(IoCause::of(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_in_the_users_terms() {
        let full = IoCause::of(io::Error::from_raw_os_error(libc::ENOSPC));
        assert!(full.is_disk_full());
        assert_eq!(full.to_string(), "the disk is full");
        assert_eq!(
            IoCause::of(io::Error::from_raw_os_error(libc::EROFS)).to_string(),
            "the file system is read-only"
        );
        // Wrapped (as tempfile does, with the temporary path in it): classified by kind.
        let wrapped = io::Error::new(io::ErrorKind::StorageFull, "/x/.a.jpg.XYZ.part: full");
        assert!(IoCause::of(wrapped).is_disk_full());
        let other = IoCause::of(io::Error::from_raw_os_error(libc::EPIPE)).to_string();
        assert!(!other.contains("os error"), "{other}");
        assert!(other.starts_with(char::is_lowercase), "{other}");
    }
}
