//! Error types of the engine.
//!
//! Owns: every error the engine can report, as `thiserror` enums whose messages name the user's
//! path (never a temporary name) and say what went wrong in the user's terms ("the disk is
//! full", "permission denied"), and [`IoCause`], which turns an OS error into those terms.
//! Must not touch: presentation beyond the message text (the front ends decide how to show these).

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::engine::model::id::JobId;
use crate::engine::model::shard::ShardError;

/// An operating-system error in the user's terms.
#[derive(Debug)]
pub enum IoCause {
    /// No space left on the device.
    DiskFull,
    /// The user's disk quota is used up.
    QuotaExceeded,
    /// The file system is mounted read-only.
    ReadOnly,
    /// The OS refused access (permissions, or an immutable file).
    PermissionDenied,
    /// The file or folder does not exist.
    NotFound,
    /// A part of the path is a file where a folder was expected.
    NotAFolder,
    /// A folder is where a file was expected.
    IsAFolder,
    /// The name (or the whole path) is longer than the file system allows.
    NameTooLong,
    /// The process or the system ran out of file descriptors.
    TooManyOpenFiles,
    /// The medium reported an input/output error.
    DeviceError,
    /// The folder exists but does not take new files (a virtual file system such as /proc).
    FolderRefusesFiles,
    /// Any other OS error, with its own text.
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

/// A job kind's own typed error or skip reason. The model carries it as a [`KindCause`] without
/// naming the kind; a front end that wants its own words downcasts it to the kind's type.
pub trait KindError: std::error::Error + Send + Sync + 'static {
    /// Whether this is an error of the item (the job ends "done with errors") rather than a
    /// deliberate skip.
    fn is_error(&self) -> bool {
        true
    }
}

/// A kind's typed error ([`KindError`]), shared: cheap to clone, compared by its message.
#[derive(Clone)]
pub struct KindCause(Arc<dyn KindError>);

impl KindCause {
    /// Wraps a kind's error to carry it through the engine's events, plans and failures.
    pub fn new(error: impl KindError) -> KindCause {
        KindCause(Arc::new(error))
    }

    /// Whether this is an error of the item rather than a deliberate skip.
    pub fn is_error(&self) -> bool {
        self.0.is_error()
    }

    /// The kind's own error, when it is a `T`.
    pub fn downcast_ref<T: KindError>(&self) -> Option<&T> {
        let error: &(dyn std::error::Error + 'static) = &*self.0;
        error.downcast_ref::<T>()
    }
}

impl std::fmt::Debug for KindCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for KindCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&*self.0, f)
    }
}

impl PartialEq for KindCause {
    fn eq(&self, other: &KindCause) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for KindCause {}

/// Why a job was refused when submitted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// An identical job (same normalised spec) is queued or running: its id.
    #[error("the same job is already queued or running ({0})")]
    Duplicate(JobId),
    /// The spec cannot run as given.
    #[error("{0}")]
    Invalid(#[from] SpecError),
    /// A job to chain after that the engine does not know (any more).
    #[error("job {0} is not queued or running: nothing can take its outputs")]
    UnknownJob(JobId),
    /// A job to chain after that is a dry run.
    #[error("job {0} is a dry run: it writes nothing another job could take")]
    AfterDryRun(JobId),
    /// The engine is shutting down.
    #[error("the engine has stopped")]
    EngineStopped,
    /// A job of a job file whose first job (named) was refused.
    #[error("the job whose outputs were to be its inputs ({0}) was not queued")]
    FirstNotQueued(String),
}

/// A job specification that cannot run as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// No inputs were given.
    #[error("nothing to do: no inputs")]
    NoInputs,
    /// A deflate level above 9.
    #[error("compression level {0} is out of range (0 to 9)")]
    Level(u8),
    /// A thumbnail box with a side of 0 or above the largest accepted (as `256` or `320x200`).
    #[error("thumbnail size {0} px is out of range (each side 1 to 16384)")]
    Size(String),
    /// A thumbnail job without any size.
    #[error("no thumbnail size given")]
    NoSizes,
    /// A quality outside 1 to 100.
    #[error("quality {0} is out of range (1 to 100)")]
    Quality(u8),
    /// A name template that cannot make names: the template, and why.
    #[error("name template {template:?}: {why}")]
    Template {
        /// The template as given.
        template: String,
        /// What is wrong with it.
        why: String,
    },
    /// A kind's own reason (a missing password...).
    #[error("{0}")]
    Kind(KindCause),
    /// A shard that is not one (`I/N` with 0 ≤ I < N).
    #[error("{0}")]
    Shard(#[from] ShardError),
}

/// Why a chained job (one that takes another job's outputs as its inputs) did not start: what
/// became of the job it takes them from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChainBroken {
    /// It failed.
    #[error("failed")]
    Failed,
    /// It was cancelled.
    #[error("was cancelled")]
    Cancelled,
    /// It was stopped after the items in progress.
    #[error("was stopped before the end")]
    Stopped,
    /// It ended with no output to take.
    #[error("made no outputs")]
    MadeNothing,
}

/// Why a whole job could not run (the job ends `failed`).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The output exists and the job was not told to replace it or keep both.
    #[error("{path} already exists")]
    DestinationExists {
        /// The user's path it concerns.
        path: PathBuf,
    },
    /// The output is an input of this or another live job: never replaced.
    #[error("{path} is an input of this job or of another queued job; it is never replaced")]
    DestinationIsInput {
        /// The user's path it concerns.
        path: PathBuf,
    },
    /// Another live job (`job`) writes this output.
    #[error("{path} is being written by another queued job ({job})")]
    DestinationClaimed {
        /// The user's path it concerns.
        path: PathBuf,
        /// The other job.
        job: JobId,
    },
    /// The output folder `path` could not be created or written into.
    #[error("cannot write into {path}: {cause}")]
    CreateOutput {
        /// The user's path it concerns.
        path: PathBuf,
        /// What the OS said, in the user's terms.
        cause: IoCause,
    },
    /// Writing the archive `path` failed.
    #[error("cannot write {path}: {cause}")]
    WriteArchive {
        /// The user's path it concerns.
        path: PathBuf,
        /// What the OS said, in the user's terms.
        cause: IoCause,
    },
    /// The archive `path` cannot be written in the format (a limit of zip).
    #[error("cannot write {path}: {detail}")]
    ArchiveFormat {
        /// The user's path it concerns.
        path: PathBuf,
        /// What the format cannot hold.
        detail: String,
    },
    /// The spec cannot run as given.
    #[error("{0}")]
    Spec(#[from] SpecError),
    /// Every input was skipped or there were none: what the user reads.
    #[error("{0}")]
    NothingToDo(&'static str),
    /// The disk filled up and the job was told not to wait for room.
    #[error("the disk is full ({folder}: {free_bytes} bytes free); nothing partial was left")]
    DiskFull {
        /// The folder being written into when the disk filled up.
        folder: PathBuf,
        /// Bytes free there when it was measured (0 if it could not be measured).
        free_bytes: u64,
    },
    /// A resumed job could not take its journal over.
    #[error("{0}")]
    Resume(#[from] ResumeError),
    /// A kind's own reason for failing the whole job (not enough free space...).
    #[error("{0}")]
    Kind(KindCause),
    /// A chained job that never started: the job it takes its inputs from (`job`, named
    /// `name`) did not give it any, and why.
    #[error("not started: {name} (job {job}), whose outputs were to be its inputs, {why}")]
    NotStarted {
        /// The job it takes its inputs from.
        job: JobId,
        /// That job's name as its card shows it.
        name: String,
        /// What became of that job.
        why: ChainBroken,
    },
    /// A chained job whose inputs became known, refused as a submission would have been.
    #[error("{0}")]
    Refused(SubmitError),
    /// A bug: a panic or a broken invariant, with what is known of it.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Why an unfinished job's journal could not be taken over (to resume or discard the job).
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// Another process (or job) holds the journal: it runs the job now.
    #[error("this job is already being resumed or run by another Shrinkwrap; it is left to it")]
    InUse,
    /// The journal is gone: its job was resumed to its end, or discarded, meanwhile.
    #[error("the job is no longer unfinished (another Shrinkwrap resumed or discarded it)")]
    Gone,
    /// What the journal says cannot be resumed (why, in the user's terms).
    #[error("it cannot be resumed: {0}")]
    CannotResume(String),
    /// The journal could not be opened, locked or read.
    #[error("cannot open its journal: {0}")]
    Io(IoCause),
}

impl From<io::Error> for ResumeError {
    fn from(e: io::Error) -> Self {
        ResumeError::Io(IoCause::of(e))
    }
}

/// Why one item (file, folder, image) of a job was not processed. The job carries on.
#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    /// The input could not be read.
    #[error("cannot read: {0}")]
    Read(IoCause),
    /// A folder could not be listed: why.
    #[error("cannot list folder: {0}")]
    ListFolder(String),
    /// The output `path` could not be written.
    #[error("cannot write {path}: {cause}")]
    Write {
        /// The user's path it concerns.
        path: PathBuf,
        /// What the OS said, in the user's terms.
        cause: IoCause,
    },
    /// A FIFO, socket or device: what it is.
    #[error("not a regular file or folder ({0})")]
    Special(&'static str),
    /// A symbolic link the policy does not follow: why.
    #[error("symbolic link {0}")]
    Symlink(&'static str),
    /// A symbolic link to a folder that contains it.
    #[error("symbolic link to a folder that contains it (a loop)")]
    SymlinkLoop,
    /// The name holds a control character (tab, newline...).
    #[error("name contains a control character (tab, newline...)")]
    ControlCharacter,
    /// The name is not valid UTF-8.
    #[error("name is not valid UTF-8")]
    NotUtf8,
    /// The file was listed, then disappeared before it was read.
    #[error("vanished since it was listed")]
    Vanished,
    /// The path became something else after it was listed (what it is now).
    #[error("changed type since it was listed (now {0})")]
    ChangedType(&'static str),
    /// Compression failed: why.
    #[error("compression failed: {0}")]
    Compress(String),
    /// The content is none of the image formats read.
    #[error("not an image (content is not JPEG, PNG, WebP, GIF, BMP, TIFF, JPEG XL, HEIC or AVIF)")]
    NotAnImage,
    /// The file is empty.
    #[error("empty file")]
    Empty,
    /// The decoder refused the image: why.
    #[error("not a valid image: {0}")]
    BadImage(String),
    /// The image is damaged (cut short, bad data): where and how.
    #[error("damaged image: {0}")]
    Damaged(String),
    /// The image is larger than decoding accepts.
    #[error("image too large: {width}x{height} pixels (limit {limit_mpx} megapixels)")]
    TooLarge {
        /// Width, in pixels.
        width: u64,
        /// Height, in pixels.
        height: u64,
        /// The limit, in megapixels.
        limit_mpx: u64,
    },
    /// Decoding the image would need more memory than the whole budget allows, even alone.
    #[error(
        "decoding this {width}x{height} image needs {} MB, more than the whole memory budget of {} MB",
        .need_bytes.div_ceil(1_000_000),
        .budget_bytes / 1_000_000
    )]
    OverMemoryBudget {
        /// Width, in pixels.
        width: u64,
        /// Height, in pixels.
        height: u64,
        /// What decoding it needs, in bytes.
        need_bytes: u64,
        /// The whole budget, in bytes.
        budget_bytes: u64,
    },
    /// The file is too large to be an image we read, in bytes.
    #[error("file too large for an image: {bytes} bytes")]
    FileTooLarge {
        /// The file's size, in bytes.
        bytes: u64,
    },
    /// The thumbnail could not be encoded: why.
    #[error("cannot encode thumbnail: {0}")]
    Encode(String),
    /// A file appeared at the output after the plan: kept, not replaced.
    #[error("{path} appeared since the plan was made; it was not replaced")]
    OutputAppeared {
        /// The user's path it concerns.
        path: PathBuf,
    },
    /// The output became an input of a live job after the plan: not replaced.
    #[error("{path} became an input of a queued job since the plan was made; it was not replaced")]
    OutputIsInput {
        /// The user's path it concerns.
        path: PathBuf,
    },
    /// A kind's own reason for this item (a CRC mismatch in an archive entry...).
    #[error("{0}")]
    Kind(KindCause),
    /// A bug: a panic or a broken invariant, with what is known of it.
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

/// Why a password file gives no password.
#[derive(Debug, thiserror::Error)]
pub enum PasswordFileError {
    /// There is no file at the path.
    #[error("no such password file")]
    NotFound,
    /// The path is a folder, a link or a device.
    #[error("the password file is not a regular file")]
    NotAFile,
    /// It could not be read.
    #[error("cannot read the password file: {0}")]
    Read(IoCause),
    /// Its first line is empty.
    #[error("the password file is empty (the password is its first line)")]
    Empty,
    /// Its first line is not UTF-8 text.
    #[error("the password file's first line is not UTF-8 text")]
    NotUtf8,
}
