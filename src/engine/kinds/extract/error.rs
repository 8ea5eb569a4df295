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
    /// The entry's name would leave the output folder or is no name (which way it is unsafe).
    #[error("refused: {0}")]
    UnsafeName(UnsafeName),
    /// A symbolic link entry, and the spec did not ask for links to be created: skipped, not an
    /// error.
    #[error("symbolic link not created (links are created only when asked)")]
    LinkNotCreated,
    /// A symbolic link entry whose target resolves outside the folder the archive is extracted
    /// into, or through another link entry of the archive: refused.
    #[error("refused: a symbolic link to {target:?}, which is outside the output folder")]
    LinkOutside {
        /// The link's target as the entry holds it (lossy UTF-8).
        target: String,
    },
    /// The entry's name lies under the name of a link entry of the same archive (`l/x` when `l`
    /// is a link): writing it would go through the link, so it is refused.
    #[error("refused: it would be written through the symbolic link {link:?}")]
    ThroughLink {
        /// The link entry's name, `/`-joined as the archive spells it (lossy UTF-8).
        link: String,
    },
    /// A FIFO, character or block device or socket entry (the words for it, "a FIFO"): never
    /// created; skipped, not an error.
    #[error("refused: {0} is never created")]
    Special(&'static str),
    /// The entry's data (or local header) shares bytes with another entry's: the overlapping
    /// construction of a zip bomb, where many entries inflate one run of data. Refused.
    #[error(
        "refused: its data overlaps another entry's (an archive built to inflate far beyond its \
         size)"
    )]
    Overlapping,
    /// The entry's data has no readable start, starts before its local header, or runs into the
    /// central directory or past it. Refused.
    #[error("refused: its data lies outside the archive's entries")]
    DataOutOfBounds,
    /// Some central directory records share a name with a later one; only the last of each is
    /// extracted. Reported once per archive as a skip, not an error.
    #[error("entries share a name with a later entry; the last of each is extracted")]
    DuplicateNames,
    /// A folder entry (or a folder on the way to an entry) has the output path of a file entry
    /// planned from the same archive. Refused.
    #[error("a file of the archive ({file}) has this folder's name")]
    FileFolderClash {
        /// The file entry's name as the archive spells it (lossy UTF-8).
        file: String,
    },
    /// A folder the entry goes into (or the folder entry itself) is a symbolic link on disk:
    /// nothing is written through it. Found by the plan or, if it appeared since, by the write.
    #[error("a symbolic link is in the way at {path} (nothing is written through a link)")]
    LinkInTheWay {
        /// The link on disk, under the output folder.
        path: PathBuf,
    },
    /// Where a folder must be (to hold the entry, or for a folder entry) there is a file on disk.
    #[error("{path} is not a folder")]
    NotAFolder {
        /// The file on disk that stands where the folder goes.
        path: PathBuf,
    },
    /// The entry is encrypted and the job has no password (or the crate asks for one).
    #[error("encrypted, and no password was given")]
    NeedsPassword,
    /// The entry's compression method (named as 7-Zip lists it, or the crate's reason) is not
    /// one the reader inflates.
    #[error("compressed with {0}, which this program does not read")]
    UnsupportedMethod(String),
    /// The file could not be parsed as a zip archive (no end of central directory record, a
    /// damaged one, or not a regular file): the crate's reason, in its words.
    #[error("not a zip archive, or a damaged one: {0}")]
    NotAnArchive(String),

    // ----- While reading or writing an entry -----
    /// The password given does not decrypt this entry (ZipCrypto check byte or AES password
    /// verifier).
    #[error("wrong password")]
    WrongPassword,
    /// The CRC-32 of the inflated bytes differs from the one the archive records for the entry:
    /// its data is damaged. Nothing is put in place.
    #[error(
        "CRC-32 mismatch (the archive says {expected:08x}, the data gives {actual:08x}): damaged"
    )]
    CrcMismatch {
        /// The CRC-32 the archive records.
        expected: u32,
        /// The CRC-32 of the bytes read.
        actual: u32,
    },
    /// The entry's data inflates to more than its stated uncompressed size: reading stopped at
    /// that size and nothing is put in place.
    #[error("inflates past its stated size of {stated_bytes} bytes: stopped there")]
    LargerThanStated {
        /// The uncompressed size the central directory states, in bytes.
        stated_bytes: u64,
    },
    /// The entry's data ended before its stated uncompressed size.
    #[error("its data ends after {read_bytes} of its stated {stated_bytes} bytes")]
    ShorterThanStated {
        /// Uncompressed bytes read before the data ended.
        read_bytes: u64,
        /// The uncompressed size the central directory states, in bytes.
        stated_bytes: u64,
    },
    /// The compressed data or a link's target could not be read as the format says (a bad
    /// deflate stream, a target longer than 4096 bytes): the reader's reason.
    #[error("damaged entry: {0}")]
    Damaged(String),
    /// Reading the archive file failed (an I/O error from the system).
    #[error("cannot read the archive: {0}")]
    ReadArchive(IoCause),
    /// Creating a symbolic link entry's link (or renaming it over the file it replaces) failed.
    #[error("cannot create the symbolic link: {0}")]
    Link(IoCause),

    // ----- The whole job -----
    /// The files of the plan need more space than the output folder's file system has free; the
    /// job writes nothing.
    #[error(
        "not enough free space in {folder}: the plan needs {needed_bytes} bytes, {free_bytes} are free"
    )]
    NotEnoughSpace {
        /// The output folder, or its nearest existing ancestor (whose file system was measured).
        folder: PathBuf,
        /// The planned files' stated uncompressed sizes plus 4096 bytes each, in bytes.
        needed_bytes: u64,
        /// Bytes free to this user on that file system.
        free_bytes: u64,
    },
    /// The password file gives no password.
    #[error("{path}: {why}")]
    PasswordFile {
        /// The password file, as the user gave it.
        path: PathBuf,
        /// Why it gives none.
        why: crate::engine::model::error::PasswordFileError,
    },
    /// The spec names no output folder (and is not a test, which writes nothing).
    #[error("no output folder given")]
    NoOutputFolder,
    /// The password given is the empty string.
    #[error("the password is empty")]
    EmptyPassword,
    /// The spec was read back from a journal and had a password, which is never saved (and no
    /// password file is named): it must be given again.
    #[error("the archives are encrypted, but passwords are never kept: give the password again")]
    PasswordNotKept,
    /// Nothing among the inputs looked like an archive: no file given by name and no `*.zip` file
    /// inside a folder input.
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
