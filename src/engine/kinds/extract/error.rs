//! The extract kind's own reasons: why an entry is refused by the plan, why one failed while it
//! was read or written, and why a whole extract job could not run. Carried through the engine as
//! [`KindCause`](crate::engine::model::error::KindCause)s; the messages name what the archive
//! says, in the user's terms.
//!
//! Must not touch: the file system, any front end.

use std::path::PathBuf;

use crate::engine::model::error::{IoCause, KindError};

/// Why an entry's name is refused: it would leave the output folder or is no name at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsafeName {
    /// A `..` component.
    ParentDir,
    /// Starts with `/`.
    Absolute,
    /// Starts with a drive letter (`C:`).
    DriveLetter,
    /// Holds a `\` (a Windows separator: `..\..\x` climbs out on Windows, and means a name with
    /// backslashes elsewhere).
    Backslash,
    /// Empty, or an empty part (`a//b`).
    Empty,
    /// A `.` component.
    Dot,
    /// A NUL or another control character.
    ControlCharacter,
}

impl std::fmt::Display for UnsafeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UnsafeName::ParentDir => "its name climbs out of the output folder (`..`)",
            UnsafeName::Absolute => "its name is an absolute path",
            UnsafeName::DriveLetter => "its name starts with a drive letter",
            UnsafeName::Backslash => "its name holds a backslash (a Windows path separator)",
            UnsafeName::Empty => "its name is empty or has an empty part",
            UnsafeName::Dot => "its name has a `.` part",
            UnsafeName::ControlCharacter => "its name holds a control character",
        })
    }
}

/// What the extract kind reports about an archive or one of its entries.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    // ----- The plan's refusals (entries never written) -----
    #[error("refused: {0}")]
    UnsafeName(UnsafeName),
    #[error("symbolic link not created (links are created only when asked)")]
    LinkNotCreated,
    #[error("refused: a symbolic link to {target:?}, which is outside the output folder")]
    LinkOutside { target: String },
    #[error("refused: it would be written through the symbolic link {link:?}")]
    ThroughLink { link: String },
    #[error("refused: {0} is never created")]
    Special(&'static str),
    #[error(
        "refused: its data overlaps another entry's (an archive built to inflate far beyond its \
         size)"
    )]
    Overlapping,
    #[error("refused: its data lies outside the archive's entries")]
    DataOutOfBounds,
    #[error("entries share a name with a later entry; the last of each is extracted")]
    DuplicateNames,
    #[error("a file of the archive ({file}) has this folder's name")]
    FileFolderClash { file: String },
    #[error("a symbolic link is in the way at {path} (nothing is written through a link)")]
    LinkInTheWay { path: PathBuf },
    #[error("{path} is not a folder")]
    NotAFolder { path: PathBuf },
    #[error("encrypted, and no password was given")]
    NeedsPassword,
    #[error("compressed with {0}, which this program does not read")]
    UnsupportedMethod(String),
    #[error("not a zip archive, or a damaged one: {0}")]
    NotAnArchive(String),

    // ----- While reading or writing an entry -----
    #[error("wrong password")]
    WrongPassword,
    #[error(
        "CRC-32 mismatch (the archive says {expected:08x}, the data gives {actual:08x}): damaged"
    )]
    CrcMismatch { expected: u32, actual: u32 },
    #[error("inflates past its stated size of {stated_bytes} bytes: stopped there")]
    LargerThanStated { stated_bytes: u64 },
    #[error("its data ends after {read_bytes} of its stated {stated_bytes} bytes")]
    ShorterThanStated { read_bytes: u64, stated_bytes: u64 },
    #[error("damaged entry: {0}")]
    Damaged(String),
    #[error("cannot read the archive: {0}")]
    ReadArchive(IoCause),
    #[error("cannot create the symbolic link: {0}")]
    Link(IoCause),

    // ----- The whole job -----
    #[error(
        "not enough free space in {folder}: the plan needs {needed_bytes} bytes, {free_bytes} are free"
    )]
    NotEnoughSpace {
        folder: PathBuf,
        needed_bytes: u64,
        free_bytes: u64,
    },
    #[error("cannot read the password file {path}: {cause}")]
    PasswordFile { path: PathBuf, cause: IoCause },
    #[error("the password file {path} is empty")]
    EmptyPasswordFile { path: PathBuf },
    #[error("no output folder given")]
    NoOutputFolder,
    #[error("the password is empty")]
    EmptyPassword,
    #[error("the archives are encrypted, but passwords are never kept: give the password again")]
    PasswordNotKept,
    #[error("no zip archive among the inputs")]
    NoArchives,
}

impl KindError for ExtractError {
    fn is_error(&self) -> bool {
        !matches!(
            self,
            ExtractError::LinkNotCreated | ExtractError::Special(_) | ExtractError::DuplicateNames
        )
    }
}
