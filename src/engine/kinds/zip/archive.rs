//! A lean zip archive writer (PKWARE APPNOTE 6.3.10) for the zip job's writer thread: entries
//! whose data comes already compressed (by `compress.rs` on the workers) or stored, folders,
//! symbolic links, the central directory and Zip64 where needed.
//!
//! Why not `zip::ZipWriter` (9.4) for this: it has no public way to start an entry with data
//! compressed elsewhere. The way around it (data written under the crate's idle encoder, then
//! `set_file_metadata`) ends every entry with the crate's own empty deflate stream, so each
//! entry was 6 bytes larger (3.9 % on 100,000 files of 70 bytes: archives bigger than before),
//! and cost 4.4 us of the writer thread per entry (a reset of the crate's encoder with a 128 KiB
//! memset, moves of its writer state), against 0.17 us here (measured with
//! `examples/entry_bench.rs` before that way was removed). Here an entry whose size is known is
//! written in one go: local header with its final CRC-32 and sizes, data, and its central record
//! appended to one growing buffer, so nothing is allocated or seeked per entry; a streamed entry
//! (one big file, block by block) gets its header patched once at the end.
//!
//! Format choices, for every reader (Info-ZIP `unzip`, Python `zipfile`, 7-Zip, the zip crate):
//! - Version made by: Unix (3), spec 6.3; version needed 1.0 (stored), 2.0 (deflated, folders),
//!   4.5 (Zip64). General-purpose flag bit 11 (UTF-8) when the name is UTF-8 and not ASCII; a
//!   name that is not UTF-8 (Latin-1 from an old disk) keeps its bytes without the flag, as
//!   Info-ZIP's `zip` stores it, and readers take it in their legacy code page; never a data
//!   descriptor: the writer seeks back instead (APPNOTE 4.3.9 is not needed).
//! - External attributes: the Unix mode in the high 16 bits, plus the MS-DOS folder bit for
//!   folders (4.4.15).
//! - Extended timestamp (0x5455, Info-ZIP) with the modification time, in local and central
//!   headers, when given: 32 bits read as unsigned up to 2106, as Info-ZIP writes them.
//! - Zip64 (4.5.3): a local header gets a Zip64 field (both sizes) when the entry is started
//!   `large` (it may reach 4 GiB); a central record gets one with all three of uncompressed
//!   size, compressed size and local header offset whenever any of them reaches 0xFFFFFFFF
//!   (Info-ZIP's unzip 6.0 misreads an offset-only field after an entry with 64-bit sizes), and
//!   only then: an entry started `large` that stayed smaller keeps classic central fields. The
//!   Zip64 end records are written when the entry count reaches 0xFFFF or the central
//!   directory's offset or size reaches 0xFFFFFFFF: at exactly those values the classic fields
//!   hold their "see Zip64" marker.
//!
//! - With a password ([`ArchiveWriter::set_password`]), every entry but folders is a WinZip
//!   AES-256 entry (AE-2, see `aes`): method 99, the general-purpose encryption bit, the 0x9901
//!   extra field (vendor version 2, "AE", strength 3, the real method) in both headers, no CRC-32
//!   (0), version needed 5.1; its data is salt, verifier, the encrypted data and the 10-byte tag,
//!   and its compressed size counts all of them. Folder entries hold no data and stay plain, as
//!   7-Zip writes them.
//!
//! Owns: the archive's bytes. Must not touch: compression, the inputs, threads.

use std::io::{self, Seek, SeekFrom, Write};

use crate::engine::kinds::zip::aes::{
    AesError, EntryCipher, OVERHEAD_BYTES, STRENGTH_AES256, SecretBytes, VENDOR_VERSION_AE2,
};
use crate::engine::kinds::zip::sink::{ArchiveSink, Truncate};

const LOCAL_SIGNATURE: u32 = 0x0403_4b50;
const CENTRAL_SIGNATURE: u32 = 0x0201_4b50;
const END_SIGNATURE: u32 = 0x0605_4b50;
const ZIP64_END_SIGNATURE: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;
const LOCAL_HEADER_BYTES: u64 = 30;
/// Offset of the CRC-32 in a local header; compressed and uncompressed sizes follow it.
const LOCAL_CRC_OFFSET: u64 = 14;
const ZIP64_EXTRA_ID: u16 = 0x0001;
const EXTENDED_TIMESTAMP_ID: u16 = 0x5455;
/// The WinZip AES extra field (7 bytes of data).
const AES_EXTRA_ID: u16 = 0x9901;
pub(super) const AES_EXTRA_BYTES: u16 = 4 + 7;
/// The method code of an AES-encrypted entry; the real one is in its 0x9901 field.
const METHOD_AES: u16 = 99;
/// General-purpose flag bit 0: the entry is encrypted.
const FLAG_ENCRYPTED: u16 = 1;
/// Version needed to extract a WinZip AES entry.
const VERSION_AES: u16 = 51;
/// Marker in a 32-bit size or offset field: the value is in the Zip64 field.
const MARKER_32: u32 = 0xFFFF_FFFF;
/// Sizes and offsets from this value on need Zip64.
pub(crate) const ZIP64_BYTES: u64 = 0xFFFF_FFFF;
/// Entry counts from this value on need the Zip64 end records.
pub const ZIP64_ENTRIES: u64 = 0xFFFF;
const VERSION_MADE_BY: u16 = (3 << 8) | 63;
const VERSION_STORED: u16 = 10;
const VERSION_DEFLATED: u16 = 20;
const VERSION_ZIP64: u16 = 45;
const FLAG_UTF8: u16 = 1 << 11;
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATED: u16 = 8;
const DOS_FOLDER_ATTRIBUTE: u32 = 0x10;
const S_IFMT: u32 = 0o170_000;
const S_IFDIR: u32 = 0o040_000;

/// Whether an entry of `uncompressed_bytes` must be started `large` (Zip64 sizes in its local
/// header) whatever its blocks become: true when even its stored form (5 bytes per 64 KiB) plus a
/// sync marker per 64 KiB (and encryption's salt and tag) could reach 0xFFFFFFFF. Assumes blocks of at least 64 KiB but the last.
pub fn needs_zip64(uncompressed_bytes: u64) -> bool {
    let worst = uncompressed_bytes
        .saturating_add(uncompressed_bytes / 0xFFFF * 11)
        .saturating_add(64 + OVERHEAD_BYTES);
    worst >= ZIP64_BYTES
}

/// What the headers say of an entry, besides its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryMeta<'a> {
    /// Name in the archive: '/'-separated, relative; a folder's ends with '/'. At most 65,535
    /// bytes, of UTF-8 or (flagged as not UTF-8) as the file system gave them.
    pub name: &'a [u8],
    /// MS-DOS date (APPNOTE 4.4.6: bits 15-9 year - 1980, 8-5 month, 4-0 day), local time.
    pub dos_date: u16,
    /// MS-DOS time (bits 15-11 hour, 10-5 minute, 4-0 seconds / 2), local time.
    pub dos_time: u16,
    /// Modification time for the extended-timestamp field, as the field's 32 bits: seconds
    /// since 1970-01-01 UTC, read as unsigned up to 2106 as Info-ZIP writes it (two's
    /// complement for times before 1970); `None` writes no such field.
    pub unix_mtime: Option<u32>,
    /// The Unix mode (`st_mode`): file type and permission bits, e.g. `0o100644`.
    pub unix_mode: u32,
}

/// How an entry's data is encoded (APPNOTE 4.4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Method 0: the data is the file's bytes.
    Stored,
    /// Method 8: the data is one complete raw deflate stream (RFC 1951).
    Deflated,
}

/// Why the archive could not be written, or an entry not added.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Writing to (or seeking in) the archive file failed; the zip job reports it as a write
    /// error of the archive's path.
    #[error("cannot write archive: {0}")]
    Io(#[from] io::Error),
    /// The entry's name does not fit the 16-bit name length of a local header.
    #[error("entry name is longer than 65,535 bytes")]
    NameTooLong,
    /// A streamed entry's compressed or uncompressed size reached 0xFFFFFFFF bytes, but its local
    /// header was written without a Zip64 field (it was not started `large`).
    #[error("the entry reached 4 GiB but was started without Zip64 sizes")]
    NeedsZip64,
    /// A stored (method 0) entry's data length differs from the uncompressed size given for it.
    #[error("a stored entry's data is {data_bytes} bytes, but it says {uncompressed_bytes}")]
    StoredSizeMismatch {
        /// Bytes of data written for the entry (without the AES salt, verifier and tag).
        data_bytes: u64,
        /// The uncompressed size the caller gave, in bytes.
        uncompressed_bytes: u64,
    },
    /// An entry was added while a streamed entry is still open (a caller's mistake).
    #[error("an entry is still open")]
    EntryOpen,
    /// Data was appended or an entry finished with no streamed entry open (a caller's mistake).
    #[error("no entry is open")]
    NoEntryOpen,
    /// The entry's AES encryption could not start (no random salt).
    #[error("cannot encrypt the entry: {0}")]
    Encrypt(#[from] AesError),
}

/// The entry being streamed.
#[derive(Debug, Clone, Copy)]
struct Open {
    header_start: u64,
    data_start: u64,
    method: Method,
    large: bool,
    dos_date: u16,
    dos_time: u16,
    unix_mtime: Option<u32>,
    unix_mode: u32,
    /// A WinZip AES entry.
    aes: bool,
}

/// Writes one archive into `W` (the temporary archive file), entry after entry, in order.
/// Memory: the central directory (46 bytes + name + 9-37 bytes of extra fields per entry) and a
/// 1 MiB write buffer.
#[derive(Debug)]
pub struct ArchiveWriter<W: Write + Seek + Truncate> {
    sink: ArchiveSink<W>,
    /// The central directory so far, written at the end.
    central: Vec<u8>,
    entries: u64,
    open: Option<Open>,
    /// Name of the open entry (its central record is written when it ends); reused.
    open_name: Vec<u8>,
    /// Reused for building one header.
    header: Vec<u8>,
    /// Furthest position ever written: beyond the archive's end when an entry was aborted last.
    high_water: u64,
    /// With a password, entries are encrypted (see the module doc).
    password: Option<SecretBytes>,
    /// The keys of the open (streamed) AES entry.
    cipher: Option<EntryCipher>,
    /// Reused for encrypting a copy of the data handed in.
    scratch: Vec<u8>,
}

impl<W: Write + Seek + Truncate> ArchiveWriter<W> {
    /// Starts an archive at `inner`'s current position (normally 0 of an empty file).
    pub fn new(inner: W) -> io::Result<Self> {
        let sink = ArchiveSink::new(inner)?;
        let high_water = sink.position();
        Ok(ArchiveWriter {
            sink,
            central: Vec::new(),
            entries: 0,
            open: None,
            open_name: Vec::new(),
            header: Vec::with_capacity(512),
            high_water,
            password: None,
            cipher: None,
            scratch: Vec::new(),
        })
    }

    /// Encrypts every entry added from now on but folders with WinZip AES-256 under `password`.
    pub fn set_password(&mut self, password: &[u8]) {
        self.password = Some(SecretBytes::new(password));
    }

    /// Whether an entry of this mode is encrypted.
    fn encrypts(&self, unix_mode: u32) -> bool {
        self.password.is_some() && unix_mode & S_IFMT != S_IFDIR
    }

    /// Encrypts `data` with `cipher` (through the scratch buffer) and writes it.
    fn write_encrypted(&mut self, cipher: &mut EntryCipher, data: &[u8]) -> io::Result<()> {
        const PIECE: usize = 256 << 10;
        for piece in data.chunks(PIECE) {
            self.scratch.clear();
            self.scratch.extend_from_slice(piece);
            cipher.encrypt(&mut self.scratch);
            self.sink.write_all(&self.scratch)?;
        }
        Ok(())
    }

    /// Where the next byte goes, from the start of the file.
    pub fn position(&self) -> u64 {
        self.sink.position()
    }

    /// Entries added so far (finished ones).
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Adds an entry whose data is all known: `data` is its stored bytes or its complete deflate
    /// stream, `crc32` and `uncompressed_bytes` those of the file's bytes. No seek, no patch.
    pub fn add_entry(
        &mut self,
        meta: &EntryMeta<'_>,
        method: Method,
        crc32: u32,
        uncompressed_bytes: u64,
        data: &[u8],
    ) -> Result<(), ArchiveError> {
        self.check_idle()?;
        let compressed_bytes = data.len() as u64;
        if method == Method::Stored && compressed_bytes != uncompressed_bytes {
            return Err(ArchiveError::StoredSizeMismatch {
                data_bytes: compressed_bytes,
                uncompressed_bytes,
            });
        }
        let aes = self.encrypts(meta.unix_mode);
        let (crc32, compressed_bytes) = if aes {
            (0, compressed_bytes + OVERHEAD_BYTES)
        } else {
            (crc32, compressed_bytes)
        };
        let large = uncompressed_bytes >= ZIP64_BYTES || compressed_bytes >= ZIP64_BYTES;
        let header_start = self.position();
        let sizes = Some((crc32, compressed_bytes, uncompressed_bytes));
        self.write_local_header(meta, method, large, aes, sizes)?;
        let cipher = match (aes, self.password.as_ref().map(SecretBytes::bytes)) {
            (true, Some(password)) => Some(EntryCipher::new(password)?),
            _ => None,
        };
        match cipher {
            Some(mut cipher) => {
                self.sink.write_all(cipher.header())?;
                self.write_encrypted(&mut cipher, data)?;
                self.sink.write_all(&cipher.tag())?;
            }
            None => self.sink.write_all(data)?,
        }
        let entry = Open {
            header_start,
            data_start: 0,
            method,
            large,
            dos_date: meta.dos_date,
            dos_time: meta.dos_time,
            unix_mtime: meta.unix_mtime,
            unix_mode: meta.unix_mode,
            aes,
        };
        self.push_central(
            meta.name,
            &entry,
            crc32,
            compressed_bytes,
            uncompressed_bytes,
        );
        self.note_written();
        Ok(())
    }

    /// Adds a folder entry (`meta.name` should end with '/').
    pub fn add_folder(&mut self, meta: &EntryMeta<'_>) -> Result<(), ArchiveError> {
        self.add_entry(meta, Method::Stored, 0, 0, &[])
    }

    /// Adds a symbolic link: a stored entry whose data is the link's target, with `meta`'s mode
    /// (which should say `S_IFLNK`).
    pub fn add_symlink(&mut self, meta: &EntryMeta<'_>, target: &str) -> Result<(), ArchiveError> {
        let bytes = target.as_bytes();
        self.add_entry(
            meta,
            Method::Stored,
            crc32fast::hash(bytes),
            bytes.len() as u64,
            bytes,
        )
    }

    /// Starts an entry whose data comes in pieces ([`ArchiveWriter::append`]): one big file,
    /// block by block. `large`: give the local header Zip64 sizes, needed when the data or the
    /// file may reach 4 GiB (decide from the file's size with [`needs_zip64`]).
    pub fn start_entry(
        &mut self,
        meta: &EntryMeta<'_>,
        method: Method,
        large: bool,
    ) -> Result<(), ArchiveError> {
        self.check_idle()?;
        let aes = self.encrypts(meta.unix_mode);
        let cipher = match (aes, self.password.as_ref().map(SecretBytes::bytes)) {
            (true, Some(password)) => Some(EntryCipher::new(password)?),
            _ => None,
        };
        let header_start = self.position();
        self.write_local_header(meta, method, large, aes, None)?;
        let data_start = self.position();
        if let Some(cipher) = &cipher {
            self.sink.write_all(cipher.header())?;
        }
        self.cipher = cipher;
        self.open_name.clear();
        self.open_name.extend_from_slice(meta.name);
        self.open = Some(Open {
            header_start,
            data_start,
            method,
            large,
            dos_date: meta.dos_date,
            dos_time: meta.dos_time,
            unix_mtime: meta.unix_mtime,
            unix_mode: meta.unix_mode,
            aes,
        });
        Ok(())
    }

    /// Appends data of the open entry: stored bytes, or the next compressed block in order (the
    /// last one ending the deflate stream, `BlockEnd::Final`).
    pub fn append(&mut self, data: &[u8]) -> Result<(), ArchiveError> {
        if self.open.is_none() {
            return Err(ArchiveError::NoEntryOpen);
        }
        match self.cipher.take() {
            Some(mut cipher) => {
                let written = self.write_encrypted(&mut cipher, data);
                self.cipher = Some(cipher);
                written?;
            }
            None => self.sink.write_all(data)?,
        }
        Ok(())
    }

    /// Ends the open entry: `crc32` and `uncompressed_bytes` of the file's bytes (for blocks,
    /// what `BlockSequence` added up). Patches the local header in place.
    pub fn finish_entry(
        &mut self,
        crc32: u32,
        uncompressed_bytes: u64,
    ) -> Result<(), ArchiveError> {
        let entry = self.open.ok_or(ArchiveError::NoEntryOpen)?;
        if let Some(cipher) = self.cipher.take() {
            self.sink.write_all(&cipher.tag())?;
        }
        let end = self.position();
        let compressed_bytes = end - entry.data_start;
        let data_bytes = if entry.aes {
            compressed_bytes.saturating_sub(OVERHEAD_BYTES)
        } else {
            compressed_bytes
        };
        if entry.method == Method::Stored && data_bytes != uncompressed_bytes {
            return Err(ArchiveError::StoredSizeMismatch {
                data_bytes,
                uncompressed_bytes,
            });
        }
        // AE-2 entries store no CRC-32: their tag authenticates the data.
        let crc32 = if entry.aes { 0 } else { crc32 };
        if !entry.large && (compressed_bytes >= ZIP64_BYTES || uncompressed_bytes >= ZIP64_BYTES) {
            return Err(ArchiveError::NeedsZip64);
        }
        self.sink
            .seek(SeekFrom::Start(entry.header_start + LOCAL_CRC_OFFSET))?;
        self.sink.write_all(&crc32.to_le_bytes())?;
        if entry.large {
            // The sizes stay at the marker; they go into the Zip64 field after the name.
            let field = entry.header_start + LOCAL_HEADER_BYTES + self.open_name.len() as u64 + 4;
            self.sink.seek(SeekFrom::Start(field))?;
            self.sink.write_all(&uncompressed_bytes.to_le_bytes())?;
            self.sink.write_all(&compressed_bytes.to_le_bytes())?;
        } else {
            self.sink
                .write_all(&(compressed_bytes as u32).to_le_bytes())?;
            self.sink
                .write_all(&(uncompressed_bytes as u32).to_le_bytes())?;
        }
        self.sink.seek(SeekFrom::Start(end))?;
        let name = std::mem::take(&mut self.open_name);
        self.push_central(&name, &entry, crc32, compressed_bytes, uncompressed_bytes);
        self.open_name = name;
        self.open = None;
        self.note_written();
        Ok(())
    }

    /// Takes the open entry back out (a read error or cancel half-way): the next entry is written
    /// over it, and [`ArchiveWriter::finish`] cuts off what is left of it.
    pub fn abort_entry(&mut self) -> Result<(), ArchiveError> {
        let entry = self.open.take().ok_or(ArchiveError::NoEntryOpen)?;
        self.cipher = None;
        self.high_water = self.high_water.max(self.position());
        self.sink.seek(SeekFrom::Start(entry.header_start))?;
        Ok(())
    }

    /// Writes the central directory and the end records, cuts off anything an aborted entry
    /// left beyond them, and returns `W` with everything written (flushed, not synced).
    pub fn finish(mut self) -> Result<W, ArchiveError> {
        self.check_idle()?;
        let central_start = self.position();
        self.sink.write_all(&self.central)?;
        let central_bytes = self.central.len() as u64;
        let zip64 = self.entries >= ZIP64_ENTRIES
            || central_start >= ZIP64_BYTES
            || central_bytes >= ZIP64_BYTES;
        let mut end = Vec::with_capacity(98);
        if zip64 {
            let record_start = central_start + central_bytes;
            put_u32(&mut end, ZIP64_END_SIGNATURE);
            put_u64(&mut end, 44); // size of the rest of the record
            put_u16(&mut end, VERSION_MADE_BY);
            put_u16(&mut end, VERSION_ZIP64);
            put_u32(&mut end, 0); // this disk
            put_u32(&mut end, 0); // disk of the central directory
            put_u64(&mut end, self.entries);
            put_u64(&mut end, self.entries);
            put_u64(&mut end, central_bytes);
            put_u64(&mut end, central_start);
            put_u32(&mut end, ZIP64_LOCATOR_SIGNATURE);
            put_u32(&mut end, 0); // disk of the Zip64 end record
            put_u64(&mut end, record_start);
            put_u32(&mut end, 1); // disks
        }
        put_u32(&mut end, END_SIGNATURE);
        put_u16(&mut end, 0);
        put_u16(&mut end, 0);
        let count = self.entries.min(ZIP64_ENTRIES) as u16;
        put_u16(&mut end, count);
        put_u16(&mut end, count);
        put_u32(&mut end, clamp_32(central_bytes));
        put_u32(&mut end, clamp_32(central_start));
        put_u16(&mut end, 0); // comment length
        self.sink.write_all(&end)?;
        let archive_end = self.position();
        if self.high_water > archive_end {
            self.sink.truncate(archive_end)?;
        }
        let mut inner = self.sink.into_inner()?;
        inner.flush()?;
        Ok(inner)
    }

    fn check_idle(&self) -> Result<(), ArchiveError> {
        if self.open.is_some() {
            return Err(ArchiveError::EntryOpen);
        }
        Ok(())
    }

    fn note_written(&mut self) {
        self.entries += 1;
    }

    /// Writes a local header (APPNOTE 4.3.7). `sizes`: (CRC-32, compressed, uncompressed) when
    /// known, else zeros to be patched.
    fn write_local_header(
        &mut self,
        meta: &EntryMeta<'_>,
        method: Method,
        large: bool,
        aes: bool,
        sizes: Option<(u32, u64, u64)>,
    ) -> Result<(), ArchiveError> {
        let name = meta.name;
        if name.len() > usize::from(u16::MAX) {
            return Err(ArchiveError::NameTooLong);
        }
        let (crc32, compressed, uncompressed) = sizes.unwrap_or((0, 0, 0));
        let mut extra_bytes = 0u16;
        if large {
            extra_bytes += 20;
        }
        if meta.unix_mtime.is_some() {
            extra_bytes += 9;
        }
        if aes {
            extra_bytes += AES_EXTRA_BYTES;
        }
        let h = &mut self.header;
        h.clear();
        put_u32(h, LOCAL_SIGNATURE);
        put_u16(h, version_needed(method, meta.unix_mode, large, aes));
        put_u16(h, flags(meta.name, aes));
        put_u16(h, if aes { METHOD_AES } else { method_code(method) });
        put_u16(h, meta.dos_time);
        put_u16(h, meta.dos_date);
        put_u32(h, crc32);
        put_sizes_32(h, large, compressed, uncompressed);
        put_u16(h, name.len() as u16);
        put_u16(h, extra_bytes);
        h.extend_from_slice(name);
        if large {
            put_u16(h, ZIP64_EXTRA_ID);
            put_u16(h, 16);
            put_u64(h, uncompressed);
            put_u64(h, compressed);
        }
        if let Some(mtime) = meta.unix_mtime {
            put_extended_timestamp(h, mtime);
        }
        if aes {
            put_aes_field(h, method);
        }
        self.sink.write_all(&self.header)?;
        Ok(())
    }

    /// Appends an entry's central record (APPNOTE 4.3.12) to the central directory.
    fn push_central(
        &mut self,
        name: &[u8],
        entry: &Open,
        crc32: u32,
        compressed_bytes: u64,
        uncompressed_bytes: u64,
    ) {
        // The field goes where a value needs it, not because the local header has one (as
        // Info-ZIP and Python do): an entry started `large` that stayed below 4 GiB keeps
        // classic central fields. Its version needed stays 4.5, as in its local header.
        let zip64 = compressed_bytes >= ZIP64_BYTES
            || uncompressed_bytes >= ZIP64_BYTES
            || entry.header_start >= ZIP64_BYTES;
        let mut extra_bytes = 0u16;
        if zip64 {
            extra_bytes += 28;
        }
        if entry.unix_mtime.is_some() {
            extra_bytes += 9;
        }
        if entry.aes {
            extra_bytes += AES_EXTRA_BYTES;
        }
        let mut external = entry.unix_mode << 16;
        if entry.unix_mode & S_IFMT == S_IFDIR {
            external |= DOS_FOLDER_ATTRIBUTE;
        }
        let c = &mut self.central;
        put_u32(c, CENTRAL_SIGNATURE);
        put_u16(c, VERSION_MADE_BY);
        put_u16(
            c,
            version_needed(
                entry.method,
                entry.unix_mode,
                zip64 || entry.large,
                entry.aes,
            ),
        );
        put_u16(c, flags(name, entry.aes));
        put_u16(
            c,
            if entry.aes {
                METHOD_AES
            } else {
                method_code(entry.method)
            },
        );
        put_u16(c, entry.dos_time);
        put_u16(c, entry.dos_date);
        put_u32(c, crc32);
        put_sizes_32(c, zip64, compressed_bytes, uncompressed_bytes);
        put_u16(c, name.len() as u16);
        put_u16(c, extra_bytes);
        put_u16(c, 0); // comment length
        put_u16(c, 0); // disk number start
        put_u16(c, 0); // internal attributes
        put_u32(c, external);
        put_u32(
            c,
            if zip64 {
                MARKER_32
            } else {
                entry.header_start as u32
            },
        );
        c.extend_from_slice(name);
        if zip64 {
            put_u16(c, ZIP64_EXTRA_ID);
            put_u16(c, 24);
            put_u64(c, uncompressed_bytes);
            put_u64(c, compressed_bytes);
            put_u64(c, entry.header_start);
        }
        if let Some(mtime) = entry.unix_mtime {
            put_extended_timestamp(c, mtime);
        }
        if entry.aes {
            put_aes_field(c, entry.method);
        }
    }
}

/// The WinZip AES extra field (0x9901): AE-2, AES-256, and the entry's real method.
fn put_aes_field(out: &mut Vec<u8>, method: Method) {
    put_u16(out, AES_EXTRA_ID);
    put_u16(out, AES_EXTRA_BYTES - 4);
    put_u16(out, VENDOR_VERSION_AE2);
    out.extend_from_slice(b"AE");
    out.push(STRENGTH_AES256);
    put_u16(out, method_code(method));
}

fn version_needed(method: Method, unix_mode: u32, zip64: bool, aes: bool) -> u16 {
    if aes {
        VERSION_AES
    } else if zip64 {
        VERSION_ZIP64
    } else if method == Method::Deflated || unix_mode & S_IFMT == S_IFDIR {
        VERSION_DEFLATED
    } else {
        VERSION_STORED
    }
}

/// General-purpose flags: bit 11 (UTF-8) for a name that is UTF-8 and not ASCII; bit 0 for an
/// encrypted (AES) entry.
fn flags(name: &[u8], aes: bool) -> u16 {
    let utf8 = if !name.is_ascii() && std::str::from_utf8(name).is_ok() {
        FLAG_UTF8
    } else {
        0
    };
    if aes { utf8 | FLAG_ENCRYPTED } else { utf8 }
}

fn method_code(method: Method) -> u16 {
    match method {
        Method::Stored => METHOD_STORED,
        Method::Deflated => METHOD_DEFLATED,
    }
}

/// The extended-timestamp field with the modification time only (its local and central forms
/// are then the same).
fn put_extended_timestamp(out: &mut Vec<u8>, mtime: u32) {
    put_u16(out, EXTENDED_TIMESTAMP_ID);
    put_u16(out, 5);
    out.push(1); // flags: modification time present
    out.extend_from_slice(&mtime.to_le_bytes());
}

fn clamp_32(value: u64) -> u32 {
    value.min(u64::from(MARKER_32)) as u32
}

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// The 32-bit compressed and uncompressed size fields of a local header or central record
/// (APPNOTE 4.4.8, 4.4.9): the sizes, or both [`MARKER_32`] when they are in the Zip64 field.
fn put_sizes_32(out: &mut Vec<u8>, zip64: bool, compressed_bytes: u64, uncompressed_bytes: u64) {
    if zip64 {
        put_u32(out, MARKER_32);
        put_u32(out, MARKER_32);
    } else {
        put_u32(out, compressed_bytes as u32);
        put_u32(out, uncompressed_bytes as u32);
    }
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}
