//! Reading an archive with the `zip` crate: one opened file shared by every reader (positioned
//! reads, no shared cursor), one `ZipArchive` per worker over it (its central directory parsed
//! once, then shared), and the listing the plan is made from, with the checks that need the
//! archive's layout (entries sharing data, data out of bounds).
//!
//! Owns: [`ArchiveFile`], [`Listing`], mapping the crate's errors to [`ExtractError`].
//! Must not touch: outputs, the plan's decisions, any front end.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use ::zip::result::ZipError;
use ::zip::{CompressionMethod, HasZipMetadata, ZipArchive};

use crate::engine::model::error::{IoCause, ItemError};
use crate::engine::runtime::input::open_regular;

use super::error::ExtractError;

/// Copy buffer of one reader.
pub const COPY_BUFFER_BYTES: usize = 256 << 10;
/// Longest link target read.
pub const LINK_TARGET_MAX_BYTES: u64 = 4096;

/// An archive file read at positions: cloning gives another cursor on the same open file.
#[derive(Clone)]
pub struct SharedFile {
    file: Arc<File>,
    len: u64,
    pos: u64,
}

impl Read for SharedFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SharedFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

/// One worker's reader: its own `ZipArchive` and copy buffer, reused for every entry it reads.
pub struct Reader {
    pub archive: ZipArchive<SharedFile>,
    pub buf: Vec<u8>,
}

/// One archive being extracted: the parsed archive, and the readers of the workers not using
/// theirs right now (at most one per worker ever exists).
pub struct ArchiveFile {
    template: ZipArchive<SharedFile>,
    spare: Mutex<Vec<Reader>>,
}

impl ArchiveFile {
    /// Opens and parses the archive at `path` (a regular file; no FIFO is waited on).
    pub fn open(path: &Path) -> Result<ArchiveFile, ExtractError> {
        let (file, meta) = open_regular(path).map_err(|e| match e {
            ItemError::Read(cause) => ExtractError::ReadArchive(cause),
            other => ExtractError::NotAnArchive(other.to_string()),
        })?;
        let shared = SharedFile {
            file: Arc::new(file),
            len: meta.len(),
            pos: 0,
        };
        let template = ZipArchive::new(shared).map_err(|e| match e {
            ZipError::Io(e) => ExtractError::ReadArchive(IoCause::of(e)),
            other => ExtractError::NotAnArchive(other.to_string()),
        })?;
        Ok(ArchiveFile {
            template,
            spare: Mutex::new(Vec::new()),
        })
    }

    /// A reader for one task: a spare one, or a new one over the same file.
    pub fn reader(&self) -> Reader {
        crate::engine::runtime::lock(&self.spare)
            .pop()
            .unwrap_or_else(|| Reader {
                archive: self.template.clone(),
                buf: vec![0; COPY_BUFFER_BYTES],
            })
    }

    /// Gives a reader back for the next task.
    pub fn give_back(&self, reader: Reader) {
        crate::engine::runtime::lock(&self.spare).push(reader);
    }

    /// Lists the archive: every entry the central directory holds (a name given twice: the last
    /// one), with where its data lies.
    pub fn list(&self) -> Result<Listing, ExtractError> {
        let mut archive = self.template.clone();
        let mut entries = Vec::with_capacity(archive.len());
        let central_start = archive.central_directory_start();
        for index in 0..archive.len() {
            let file = archive.by_index_raw(index).map_err(read_error)?;
            let data_start = file.data_start();
            let data = file.get_metadata();
            // The crate's `unix_mode` clears setuid, setgid and sticky: read them from the
            // attributes (whether they are restored is the plan's choice).
            let unix_mode = match (file.system(), file.external_attributes()) {
                (::zip::System::Unix, attributes) if attributes >> 16 != 0 => {
                    Some(attributes >> 16)
                }
                _ => file.unix_mode(),
            };
            entries.push(ListedEntry {
                index,
                name: file.name_raw().to_vec(),
                method: file.compression(),
                encrypted: file.encrypted(),
                size: file.size(),
                compressed_size: file.compressed_size(),
                crc32: file.crc32(),
                header_start: data.header_start,
                data_start,
                unix_mode,
                is_dir_name: file.is_dir(),
                mtime: file
                    .last_modified()
                    .and_then(|t| time_of(t, file.extra_data_fields())),
            });
        }
        let hidden_duplicates = archive.has_duplicate_names();
        let mut listing = Listing {
            entries,
            hidden_duplicates,
            overlapping: Vec::new(),
            out_of_bounds: Vec::new(),
        };
        listing.find_overlaps(central_start);
        Ok(listing)
    }
}

/// One entry as the central directory describes it.
#[derive(Debug, Clone)]
pub struct ListedEntry {
    /// Its index in the crate's archive.
    pub index: usize,
    pub name: Vec<u8>,
    pub method: CompressionMethod,
    pub encrypted: bool,
    /// Stated uncompressed size.
    pub size: u64,
    pub compressed_size: u64,
    pub crc32: u32,
    pub header_start: u64,
    pub data_start: Option<u64>,
    pub unix_mode: Option<u32>,
    /// The name ends with `/`.
    pub is_dir_name: bool,
    pub mtime: Option<SystemTime>,
}

/// What the plan needs of an archive.
pub struct Listing {
    pub entries: Vec<ListedEntry>,
    /// Some central records share a name with a later one: the crate's name map keeps the last
    /// of each, the earlier ones are not extracted.
    pub hidden_duplicates: bool,
    /// Positions (in `entries`) of entries whose data overlaps another's.
    pub overlapping: Vec<usize>,
    /// Positions of entries whose data runs into the central directory or past it.
    pub out_of_bounds: Vec<usize>,
}

impl Listing {
    /// Finds entries whose data (or local header) shares bytes with another entry's: the
    /// "quoted-overlap" construction, where many entries inflate one run of data.
    fn find_overlaps(&mut self, central_start: u64) {
        let mut ranges: Vec<(u64, u64, usize)> = Vec::with_capacity(self.entries.len());
        for (pos, e) in self.entries.iter().enumerate() {
            let Some(data_start) = e.data_start else {
                self.out_of_bounds.push(pos);
                continue;
            };
            let end = data_start.saturating_add(e.compressed_size);
            if end > central_start || data_start < e.header_start {
                self.out_of_bounds.push(pos);
                continue;
            }
            ranges.push((e.header_start, end, pos));
        }
        ranges.sort_unstable();
        let mut overlapping = vec![false; self.entries.len()];
        // The entry reaching furthest so far, and where it ends.
        let mut reach: Option<(u64, usize)> = None;
        for &(start, end, pos) in &ranges {
            if let Some((far, holder)) = reach
                && start < far
            {
                overlapping[pos] = true;
                overlapping[holder] = true;
            }
            if reach.is_none_or(|(far, _)| end > far) {
                reach = Some((end, pos));
            }
        }
        self.overlapping = overlapping
            .iter()
            .enumerate()
            .filter(|(_, o)| **o)
            .map(|(p, _)| p)
            .collect();
    }
}

/// Whether the crate reads entries of this method.
pub fn method_supported(method: CompressionMethod) -> bool {
    matches!(
        method,
        CompressionMethod::Stored
            | CompressionMethod::Deflated
            | CompressionMethod::Deflate64
            | CompressionMethod::Bzip2
            | CompressionMethod::Aes
    )
}

/// The name of a method, as 7-Zip lists it.
pub fn method_name(method: CompressionMethod) -> String {
    #[allow(deprecated)]
    match method {
        CompressionMethod::Unsupported(code) => format!("method {code}"),
        other => format!("{other}"),
    }
}

/// The crate's error while opening or reading an entry, in our terms.
pub fn read_error(e: ZipError) -> ExtractError {
    match e {
        ZipError::Io(e) => ExtractError::ReadArchive(IoCause::of(e)),
        ZipError::InvalidPassword => ExtractError::WrongPassword,
        ZipError::UnsupportedArchive(why) if why == ZipError::PASSWORD_REQUIRED => {
            ExtractError::NeedsPassword
        }
        ZipError::UnsupportedArchive(why) => ExtractError::UnsupportedMethod(why.to_string()),
        other => ExtractError::Damaged(other.to_string()),
    }
}

/// The entry's modification time: the extended timestamp (UTC, Info-ZIP's and ours) or the NTFS
/// field (7-Zip's, in 100 ns) when it has one, else its MS-DOS time (2 s steps) read as local
/// time.
fn time_of<'a>(
    dos: ::zip::DateTime,
    extra: impl Iterator<Item = &'a ::zip::extra_fields::ExtraField>,
) -> Option<SystemTime> {
    /// 100 ns ticks from 1601-01-01 to 1970-01-01.
    const NT_EPOCH_TICKS: u64 = 116_444_736_000_000_000;
    let mut ntfs = None;
    for field in extra {
        match field {
            ::zip::extra_fields::ExtraField::ExtendedTimestamp(ts) => {
                if let Some(secs) = ts.mod_time() {
                    return Some(
                        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(u64::from(secs)),
                    );
                }
            }
            ::zip::extra_fields::ExtraField::Ntfs(n) if n.mtime() >= NT_EPOCH_TICKS => {
                let ticks = n.mtime() - NT_EPOCH_TICKS;
                ntfs = Some(
                    SystemTime::UNIX_EPOCH
                        + std::time::Duration::new(
                            ticks / 10_000_000,
                            (ticks % 10_000_000) as u32 * 100,
                        ),
                );
            }
            _ => {}
        }
    }
    if ntfs.is_some() {
        return ntfs;
    }
    use chrono::{Local, NaiveDate, TimeZone};
    let date = NaiveDate::from_ymd_opt(
        i32::from(dos.year()),
        u32::from(dos.month()),
        u32::from(dos.day()),
    )?;
    let naive = date.and_hms_opt(
        u32::from(dos.hour()),
        u32::from(dos.minute()),
        u32::from(dos.second()),
    )?;
    let local = Local.from_local_datetime(&naive).earliest()?;
    Some(SystemTime::from(local))
}
