//! Archives written by `archive::ArchiveWriter` from blocks deflated by
//! `compress::BlockCompressor`: read back by the zip crate, `unzip`, `python3 -m zipfile -t` and
//! `7z t`, byte-compared with their sources; aborted entries, Zip64 boundaries, errors.

mod common;

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use common::*;
use shrinkwrap::engine::kinds::zip::archive::{
    ArchiveError, ArchiveWriter, EntryMeta, Method, ZIP64_ENTRIES, needs_zip64,
};
use shrinkwrap::engine::kinds::zip::compress::{
    BlockCompressor, BlockPlan, BlockSequence, read_block,
};
use shrinkwrap::engine::kinds::zip::sink::Truncate;

const BLOCK: usize = 64 << 10;
/// 2024-05-06 07:08:10 as MS-DOS date and time.
const DOS_DATE: u16 = ((2024 - 1980) << 9) | (5 << 5) | 6;
const DOS_TIME: u16 = (7 << 11) | (8 << 5) | (10 / 2);
const MTIME: u32 = 1_715_000_000;

fn meta(name: &str, mode: u32) -> EntryMeta<'_> {
    EntryMeta {
        name: name.as_bytes(),
        dos_date: DOS_DATE,
        dos_time: DOS_TIME,
        unix_mtime: Some(MTIME),
        unix_mode: mode,
    }
}

/// Archives the file at `path` as `name`: one block as one entry (stored when the block did not
/// shrink), several as a streamed Deflated entry whose last block ends the stream. Blocks are
/// compressed in reverse order (as a pool may finish them), appended in order.
fn add_file<W: std::io::Write + Seek + Truncate>(
    w: &mut ArchiveWriter<W>,
    name: &str,
    path: &Path,
    level: u8,
    block_bytes: usize,
) {
    let file = File::open(path).unwrap();
    let plan = BlockPlan::new(file.metadata().unwrap().len(), block_bytes);
    let mut c = BlockCompressor::new(level).unwrap();
    let count = plan.block_count();
    let mut done = vec![None; count as usize];
    let mut input = Vec::new();
    for i in (0..count).rev() {
        let dict_len = read_block(&file, &plan, i, &mut input).unwrap();
        let (dict, data) = input.split_at(dict_len);
        let mut out = Vec::new();
        let s = c
            .compress_block(level, dict, data, plan.end(i), &mut out)
            .unwrap();
        done[i as usize] = Some((s, out, data.to_vec()));
    }
    let m = meta(name, 0o100_640);
    if count == 1 {
        let (s, out, data) = done[0].take().unwrap();
        if s.stored {
            w.add_entry(&m, Method::Stored, s.crc32, s.uncompressed_bytes, &data)
                .unwrap();
        } else {
            w.add_entry(&m, Method::Deflated, s.crc32, s.uncompressed_bytes, &out)
                .unwrap();
        }
        return;
    }
    w.start_entry(&m, Method::Deflated, needs_zip64(plan.file_bytes()))
        .unwrap();
    let mut seq = BlockSequence::new();
    for d in done {
        let (s, out, _) = d.unwrap();
        seq.push(&s).unwrap();
        w.append(&out).unwrap();
    }
    assert!(seq.ended());
    w.finish_entry(seq.crc32(), seq.uncompressed_bytes())
        .unwrap();
}

/// Streams `bytes` as a Stored entry in chunks.
fn add_stored_streamed(w: &mut ArchiveWriter<File>, name: &str, bytes: &[u8], large: bool) {
    w.start_entry(&meta(name, 0o100_644), Method::Stored, large)
        .unwrap();
    for chunk in bytes.chunks(10_000) {
        w.append(chunk).unwrap();
    }
    w.finish_entry(crc32fast::hash(bytes), bytes.len() as u64)
        .unwrap();
}

fn check_metadata(archive: &Path) {
    let mut read = zip::ZipArchive::new(File::open(archive).unwrap()).unwrap();
    for i in 0..read.len() {
        let f = read.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let t = f.last_modified().unwrap();
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (2024, 5, 6, 7, 8, 10),
            "{name}"
        );
        assert!(
            f.extra_data_fields().any(|e| matches!(
                e,
                zip::ExtraField::ExtendedTimestamp(ts) if ts.mod_time() == Some(MTIME)
            )),
            "{name}: no extended timestamp"
        );
        let mode = f.unix_mode().unwrap();
        if f.is_dir() {
            assert_eq!(mode, 0o040_755, "{name}");
        } else {
            assert_eq!(
                mode & 0o7777,
                if name.contains("streamed") {
                    0o644
                } else {
                    0o640
                }
            );
        }
    }
}

#[test]
fn every_kind_of_entry_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a.zip");
    let mut expected = Expected::new();
    let mut w = ArchiveWriter::new(File::create(&archive).unwrap()).unwrap();
    w.add_folder(&meta("t/", 0o040_755)).unwrap();
    expected.insert("t/".into(), None);
    let mut big_noise = noise(3 * BLOCK, 4);
    big_noise.extend_from_slice(&text(2 * BLOCK));
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("t/a-empty", Vec::new()),
        ("t/b-one-byte", b"x".to_vec()),
        ("t/c-noise-small", noise(1000, 1)),
        ("t/d-text-small", text(5000)),
        ("t/e-text-big", text(5 * BLOCK + 7)),
        ("t/f-noise-big", noise(4 * BLOCK + 3000, 2)),
        ("t/g-mixed-big", big_noise),
        ("t/h-exact-block", text(BLOCK)),
        ("t/i-block-plus-one", text(BLOCK + 1)),
        ("t/j-ünïcødé.txt", text(100)),
    ];
    for (name, bytes) in &files {
        let src = tmp.path().join("src").join(name.replace('/', "_"));
        write(&src, bytes);
        add_file(&mut w, name, &src, 6, BLOCK);
        expected.insert((*name).to_owned(), Some(bytes.clone()));
    }
    let streamed = noise(25_000, 9);
    add_stored_streamed(&mut w, "t/k-streamed-stored", &streamed, false);
    expected.insert("t/k-streamed-stored".into(), Some(streamed));
    assert_eq!(w.entries(), 12);
    w.finish().unwrap();
    assert_archive_matches(&archive, &expected);
    check_metadata(&archive);
    // Methods as chosen: the small noise stored, the small text deflated.
    let mut read = zip::ZipArchive::new(File::open(&archive).unwrap()).unwrap();
    let method = |read: &mut zip::ZipArchive<File>, n: &str| read.by_name(n).unwrap().compression();
    assert_eq!(
        method(&mut read, "t/c-noise-small"),
        zip::CompressionMethod::Stored
    );
    assert_eq!(
        method(&mut read, "t/d-text-small"),
        zip::CompressionMethod::Deflated
    );
    assert_eq!(
        method(&mut read, "t/f-noise-big"),
        zip::CompressionMethod::Deflated
    );
}

#[test]
fn every_level_round_trips() {
    for level in [0, 1, 6, 9] {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("l.zip");
        let mut w = ArchiveWriter::new(File::create(&archive).unwrap()).unwrap();
        let mut expected = Expected::new();
        for (name, bytes) in [
            ("a-small.txt", text(3000)),
            ("b-big.txt", text(4 * BLOCK + 5)),
        ] {
            let src = tmp.path().join(name);
            write(&src, &bytes);
            add_file(&mut w, name, &src, level, BLOCK);
            expected.insert(name.to_owned(), Some(bytes));
        }
        w.finish().unwrap();
        assert_archive_matches(&archive, &expected);
    }
}

#[test]
fn a_symlink_is_a_link() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("l.zip");
    let mut w = ArchiveWriter::new(File::create(&archive).unwrap()).unwrap();
    w.add_symlink(&meta("link", 0o120_777), "some/target.txt")
        .unwrap();
    w.finish().unwrap();
    external_readers_accept(&archive);
    let mut read = zip::ZipArchive::new(File::open(&archive).unwrap()).unwrap();
    let mut f = read.by_index(0).unwrap();
    assert!(f.is_symlink());
    let mut target = String::new();
    f.read_to_string(&mut target).unwrap();
    assert_eq!(target, "some/target.txt");
}

#[test]
fn aborted_entries_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("ab.zip");
    let mut w = ArchiveWriter::new(File::create(&archive).unwrap()).unwrap();
    // Aborted in the middle, then written over by a shorter entry.
    w.start_entry(&meta("gone-1", 0o100_644), Method::Stored, false)
        .unwrap();
    w.append(&noise(3 << 20, 1)).unwrap();
    w.abort_entry().unwrap();
    w.add_entry(
        &meta("kept", 0o100_640),
        Method::Stored,
        crc32fast::hash(b"kept"),
        4,
        b"kept",
    )
    .unwrap();
    // Aborted last: the archive must end at its own end record, not at the aborted bytes.
    w.start_entry(&meta("gone-2", 0o100_644), Method::Stored, false)
        .unwrap();
    w.append(&noise(2 << 20, 2)).unwrap();
    w.abort_entry().unwrap();
    w.finish().unwrap();
    let mut expected = Expected::new();
    expected.insert("kept".into(), Some(b"kept".to_vec()));
    assert_archive_matches(&archive, &expected);
    let len = fs::metadata(&archive).unwrap().len();
    assert!(len < 200, "{len} bytes: the aborted data is still there");
}

#[test]
fn entry_count_boundary_switches_to_zip64_end_records() {
    let tmp = tempfile::tempdir().unwrap();
    for (count, zip64) in [(ZIP64_ENTRIES - 1, false), (ZIP64_ENTRIES, true)] {
        let archive = tmp.path().join(format!("n{count}.zip"));
        let mut w = ArchiveWriter::new(File::create(&archive).unwrap()).unwrap();
        for i in 0..count {
            let name = format!("e/{i:05}");
            w.add_entry(&meta(&name, 0o100_640), Method::Stored, 0, 0, &[])
                .unwrap();
        }
        w.finish().unwrap();
        let mut f = File::open(&archive).unwrap();
        f.seek(SeekFrom::End(-200)).unwrap();
        let mut tail = Vec::new();
        f.read_to_end(&mut tail).unwrap();
        assert_eq!(
            tail.windows(4).any(|w| w == b"PK\x06\x06"),
            zip64,
            "{count}"
        );
        let read = zip::ZipArchive::new(File::open(&archive).unwrap()).unwrap();
        assert_eq!(read.len() as u64, count);
        external_readers_accept(&archive);
    }
}

#[test]
fn zip64_sizes_on_a_small_streamed_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("z.zip");
    let mut w = ArchiveWriter::new(File::create(&archive).unwrap()).unwrap();
    let bytes = text(50_000);
    add_stored_streamed(&mut w, "streamed-large", &bytes, true);
    w.finish().unwrap();
    let mut expected = Expected::new();
    expected.insert("streamed-large".into(), Some(bytes));
    assert_archive_matches(&archive, &expected);
}

#[test]
fn misuse_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("e.zip");
    let mut w = ArchiveWriter::new(File::create(&archive).unwrap()).unwrap();
    assert!(matches!(w.append(b"x"), Err(ArchiveError::NoEntryOpen)));
    assert!(matches!(
        w.finish_entry(0, 0),
        Err(ArchiveError::NoEntryOpen)
    ));
    assert!(matches!(
        w.add_entry(&meta("s", 0o100_644), Method::Stored, 0, 5, b"1234"),
        Err(ArchiveError::StoredSizeMismatch { .. })
    ));
    let long = "n".repeat(70_000);
    assert!(matches!(
        w.add_entry(&meta(&long, 0o100_644), Method::Stored, 0, 0, &[]),
        Err(ArchiveError::NameTooLong)
    ));
    w.start_entry(&meta("open", 0o100_644), Method::Deflated, false)
        .unwrap();
    assert!(matches!(
        w.add_folder(&meta("d/", 0o040_755)),
        Err(ArchiveError::EntryOpen)
    ));
    w.append(&[3, 0]).unwrap();
    // Claiming 4 GiB of input without Zip64 sizes: refused, the entry stays open to be aborted.
    assert!(matches!(
        w.finish_entry(0, 0xFFFF_FFFF),
        Err(ArchiveError::NeedsZip64)
    ));
    w.abort_entry().unwrap();
    w.add_entry(
        &meta("after", 0o100_644),
        Method::Stored,
        crc32fast::hash(b"ok"),
        2,
        b"ok",
    )
    .unwrap();
    w.finish().unwrap();
    let mut expected = Expected::new();
    expected.insert("after".into(), Some(b"ok".to_vec()));
    assert_archive_matches(&archive, &expected);
}

/// A file that leaves a hole where a whole write is zeros, so a 4 GiB archive of stored zeros
/// takes almost no disk (a CI machine may have less free); readers see the same bytes.
struct SparseFile(File);

impl std::io::Write for SparseFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() >= 4096 && buf.iter().all(|&b| b == 0) {
            let end = self.0.stream_position()? + buf.len() as u64;
            if self.0.metadata()?.len() < end {
                self.0.set_len(end)?;
            }
            self.0.seek(SeekFrom::Start(end))?;
            Ok(buf.len())
        } else {
            self.0.write(buf)
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl Seek for SparseFile {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.0.seek(pos)
    }
}

impl Truncate for SparseFile {
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.0.set_len(len)
    }
}

/// A stored entry of 4 GiB + 1 (a sparse file, streamed), then a deflated one whose local header
/// starts beyond 4 GiB, then the central directory beyond 4 GiB: Zip64 sizes, offset and end
/// records.
#[test]
#[ignore = "writes a 4 GiB archive; run by .ci/run"]
fn beyond_4_gib() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("zeros");
    let len: u64 = (4 << 30) + 1;
    File::create(&src).unwrap().set_len(len).unwrap();
    let archive = tmp.path().join("big.zip");
    let mut w = ArchiveWriter::new(SparseFile(File::create(&archive).unwrap())).unwrap();
    w.start_entry(&meta("zeros", 0o100_640), Method::Stored, true)
        .unwrap();
    let mut crc = crc32fast::Hasher::new();
    let mut f = File::open(&src).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        crc.update(&buf[..n]);
        w.append(&buf[..n]).unwrap();
    }
    w.finish_entry(crc.finalize(), len).unwrap();
    let after = text(3 * BLOCK);
    let small = tmp.path().join("after.txt");
    write(&small, &after);
    assert!(w.position() > 0xFFFF_FFFF);
    add_file(&mut w, "after.txt", &small, 6, BLOCK);
    w.finish().unwrap();
    let on_disk = std::os::unix::fs::MetadataExt::blocks(&fs::metadata(&archive).unwrap()) * 512;
    assert!(
        on_disk < 1 << 30,
        "the archive takes {on_disk} bytes of disk"
    );
    fs::remove_file(&src).unwrap();
    let mut read = zip::ZipArchive::new(File::open(&archive).unwrap()).unwrap();
    assert_eq!(read.by_index(0).unwrap().size(), len);
    let mut got = Vec::new();
    read.by_name("after.txt")
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert!(got == after);
    external_readers_accept(&archive);
}

#[test]
fn needs_zip64_leaves_room_for_stored_blocks() {
    assert!(!needs_zip64(0));
    assert!(!needs_zip64(4_000_000_000));
    assert!(needs_zip64(0xFFFF_0000));
    assert!(needs_zip64(u64::MAX));
}
