//! Zip64 at its exact boundaries: 65,535 entries, an entry of 4,294,967,295 bytes, and a central
//! directory starting at offset 4,294,967,295. The large cases use sparse files; they write and
//! read gigabytes, so they are `#[ignore]`d here and run by `.ci/run` with the other ignored tests.

mod common;

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use common::*;
use shrinkwrap::engine::{Engine, JobSpec, JobState, ZipSpec};

const EOCD64_SIGNATURE: &[u8] = b"PK\x06\x06";
const CENTRAL_SIGNATURE: &[u8] = b"PK\x01\x02";

fn tail(path: &Path, len: u64) -> Vec<u8> {
    let mut f = File::open(path).unwrap();
    let size = f.metadata().unwrap().len();
    f.seek(SeekFrom::Start(size.saturating_sub(len))).unwrap();
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).unwrap();
    buf
}

fn has_zip64_end_record(path: &Path) -> bool {
    tail(path, 200).windows(4).any(|w| w == EOCD64_SIGNATURE)
}

/// (compressed size, uncompressed size, local header offset) as the central header's 32-bit
/// fields hold them, for the entry named `name`.
fn central_fields(path: &Path, name: &str) -> (u32, u32, u32) {
    let t = tail(path, 1 << 20);
    let mut at = 0;
    while let Some(p) = t[at..].windows(4).position(|w| w == CENTRAL_SIGNATURE) {
        let h = at + p;
        let name_len = u16::from_le_bytes([t[h + 28], t[h + 29]]) as usize;
        if &t[h + 46..h + 46 + name_len] == name.as_bytes() {
            let u32_at =
                |o: usize| u32::from_le_bytes([t[h + o], t[h + o + 1], t[h + o + 2], t[h + o + 3]]);
            return (u32_at(20), u32_at(24), u32_at(42));
        }
        at = h + 4;
    }
    panic!("{name} not in central directory");
}

fn zip(engine: &Engine, inputs: Vec<std::path::PathBuf>, dest: &Path, level: u8) {
    let mut spec = ZipSpec::new(inputs, dest.to_path_buf());
    spec.level = level;
    let (report, _) = run_job(engine, JobSpec::Zip(spec));
    assert_eq!(report.progress.state, JobState::Done, "{report:?}");
}

#[test]
fn entry_count_boundary() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = Engine::new(2);
    // The folder itself is one entry: 65,533 files make 65,534 entries, 65,534 make 65,535.
    for (files, zip64) in [(65_533u32, false), (65_534, true)] {
        let root = tmp.path().join(format!("n{files}"));
        fs::create_dir_all(&root).unwrap();
        for i in 0..files {
            File::create(root.join(format!("{i:05}"))).unwrap();
        }
        let dest = tmp.path().join(format!("n{files}.zip"));
        zip(&engine, vec![root.clone()], &dest, 6);
        assert_eq!(has_zip64_end_record(&dest), zip64, "{} entries", files + 1);
        assert_eq!(
            zip::ZipArchive::new(File::open(&dest).unwrap())
                .unwrap()
                .len(),
            files as usize + 1
        );
        external_readers_accept(&dest);
        fs::remove_dir_all(&root).unwrap();
    }
}

fn sparse(path: &Path, len: u64) {
    let f = File::create(path).unwrap();
    f.set_len(len).unwrap();
}

#[test]
#[ignore = "deflates 8 GiB of sparse zeros; run by .ci/run"]
fn entry_size_boundary() {
    let tmp = tempfile::tempdir().unwrap();
    let engine = Engine::new(2);
    for (len, zip64) in [(0xFFFF_FFFEu64, false), (0xFFFF_FFFF, true)] {
        let input = tmp.path().join(format!("zeros-{len:x}"));
        sparse(&input, len);
        let dest = tmp.path().join(format!("{len:x}.zip"));
        zip(&engine, vec![input.clone()], &dest, 1);
        let name = input.file_name().unwrap().to_str().unwrap();
        let (_, uncompressed, _) = central_fields(&dest, name);
        assert_eq!(uncompressed == 0xFFFF_FFFF, zip64, "size {len:#x}");
        let mut archive = zip::ZipArchive::new(File::open(&dest).unwrap()).unwrap();
        assert_eq!(archive.by_index(0).unwrap().size(), len);
        external_readers_accept(&dest);
        fs::remove_file(&input).unwrap();
        fs::remove_file(&dest).unwrap();
    }
}

#[test]
#[ignore = "writes a 4 GiB archive; run by .ci/run"]
fn offset_boundary() {
    let tmp = big_tempdir(5 << 30);
    let engine = Engine::new(2);
    let root = tmp.path().join("o");
    fs::create_dir_all(&root).unwrap();
    // Measure the header of a stored entry named like the big one, then size the big one so the
    // central directory starts exactly at 0xFFFFFFFF.
    let probe = root.join("big.bin");
    // Big enough to take the same (spilled) path as the real one.
    sparse(&probe, 64 << 20);
    let probe_zip = tmp.path().join("probe.zip");
    zip(&engine, vec![probe.clone()], &probe_zip, 0);
    let header_len = zip::ZipArchive::new(File::open(&probe_zip).unwrap())
        .unwrap()
        .by_index(0)
        .unwrap()
        .data_start()
        .unwrap();
    let len = 0xFFFF_FFFF - header_len;
    sparse(&probe, len);
    let dest = tmp.path().join("boundary.zip");
    zip(&engine, vec![probe.clone()], &dest, 0);
    let data_start = zip::ZipArchive::new(File::open(&dest).unwrap())
        .unwrap()
        .by_index(0)
        .unwrap()
        .data_start()
        .unwrap();
    assert_eq!(
        data_start, header_len,
        "the probe's header differs from the real one"
    );
    assert!(
        has_zip64_end_record(&dest),
        "central directory at 0xFFFFFFFF needs the Zip64 end records"
    );
    let (_, uncompressed, offset) = central_fields(&dest, "big.bin");
    assert_eq!((uncompressed as u64, offset), (len, 0));
    external_readers_accept(&dest);
    fs::remove_file(&dest).unwrap();
    // One entry further: the second entry's local header is at or above 0xFFFFFFFF.
    let root2 = tmp.path().join("o2");
    fs::create_dir_all(&root2).unwrap();
    sparse(&root2.join("a-big.bin"), 0xFFFF_FFFF);
    fs::write(root2.join("b-small.txt"), b"after the boundary").unwrap();
    let dest2 = tmp.path().join("beyond.zip");
    zip(&engine, vec![root2.clone()], &dest2, 0);
    let (_, _, offset) = central_fields(&dest2, "o2/b-small.txt");
    assert_eq!(
        offset, 0xFFFF_FFFF,
        "offset beyond 4 GiB must be in the Zip64 field"
    );
    let mut archive = zip::ZipArchive::new(File::open(&dest2).unwrap()).unwrap();
    let mut small = String::new();
    archive
        .by_name("o2/b-small.txt")
        .unwrap()
        .read_to_string(&mut small)
        .unwrap();
    assert_eq!(small, "after the boundary");
    external_readers_accept(&dest2);
}
