//! The zip job end to end: real trees in temp folders, every archive read back by the zip crate,
//! `unzip -t`, `python3 -m zipfile -t` and `7z t`, extracted and byte-compared.

mod common;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::*;
use shrinkwrap::engine::{
    Engine, ExistingArchive, JobError, JobEvent, JobSpec, JobState, ProblemKind, ZipSpec,
};

fn zip_spec(inputs: &[&Path], dest: &Path) -> JobSpec {
    JobSpec::Zip(ZipSpec::new(
        inputs.iter().map(|p| p.to_path_buf()).collect(),
        dest.to_path_buf(),
    ))
}

/// A tree with nested and empty folders, an empty file, unicode names, a multi-MiB file (larger
/// than the in-memory limit, so it takes the spill path), already-compressed data and text.
fn build_tree(root: &Path) {
    write(&root.join("readme.txt"), b"hello\n");
    write(&root.join("empty-file"), b"");
    fs::create_dir_all(root.join("empty-folder")).unwrap();
    fs::create_dir_all(root.join("a/b/c/deep-empty")).unwrap();
    write(&root.join("a/b/c/notes.md"), &text(100_000));
    write(
        &root.join("a/Grüße/日本語 ファイル.txt"),
        "こんにちは\n".as_bytes(),
    );
    write(&root.join("a/photo.jpg"), &noise(300_000, 3));
    // Compressible, but of a known compressed type: stored whole all the same.
    write(&root.join("a/diagram.png"), &text(50_000));
    write(&root.join("big/text-20MiB.log"), &text(20 << 20));
    write(&root.join("big/noise-3MiB.bin"), &noise(3 << 20, 9));
}

#[test]
fn round_trip_with_every_reader() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("tree");
    build_tree(&root);
    fs::set_permissions(root.join("readme.txt"), fs::Permissions::from_mode(0o640)).unwrap();
    let dest = tmp.path().join("out.zip");
    let engine = Engine::new(2);
    let (report, _) = run_job(&engine, zip_spec(&[&root], &dest));
    assert_eq!(report.progress.state, JobState::Done, "{:?}", report);
    assert!(report.problems.is_empty());
    assert_eq!(report.archive.as_ref(), Some(&dest));
    let entries: Vec<String> = report
        .outputs
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let archived: Vec<String> = read_archive(&dest).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        entries, archived,
        "the report lists the entries in archive order"
    );
    assert_archive_matches(&dest, &expected_tree(&root));
    assert_no_partial_files(tmp.path());

    let mut zip = zip::ZipArchive::new(fs::File::open(&dest).unwrap()).unwrap();
    // Permissions and times come from the source.
    let readme = zip.by_name("tree/readme.txt").unwrap();
    assert_eq!(readme.unix_mode().unwrap() & 0o777, 0o640);
    let mtime = fs::metadata(root.join("readme.txt"))
        .unwrap()
        .modified()
        .unwrap();
    let secs = mtime
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let ut = readme
        .extra_data_fields()
        .find_map(|f| match f {
            zip::extra_fields::ExtraField::ExtendedTimestamp(t) => t.mod_time(),
            _ => None,
        })
        .expect("extended timestamp field");
    assert_eq!(i64::from(ut), secs);
    let dos = readme.last_modified().unwrap();
    let local: chrono::DateTime<chrono::Local> = mtime.into();
    use chrono::{Datelike, Timelike};
    assert_eq!(
        (dos.year(), dos.month(), dos.day(), dos.hour(), dos.minute()),
        (
            local.year() as u16,
            local.month() as u8,
            local.day() as u8,
            local.hour() as u8,
            local.minute() as u8
        )
    );
    drop(readme);
    // Data that does not shrink is stored, known compressed types are stored whole, text is
    // deflated; unicode names carry their bytes.
    assert_eq!(
        zip.by_name("tree/a/photo.jpg").unwrap().compression(),
        zip::CompressionMethod::Stored
    );
    assert_eq!(
        zip.by_name("tree/a/diagram.png").unwrap().compression(),
        zip::CompressionMethod::Stored
    );
    // Noise of no known type is cut into blocks like any large file; none shrinks, so each is
    // a stored deflate block: 5 bytes per 64 KiB or less over the file's size.
    let noise = zip.by_name("tree/big/noise-3MiB.bin").unwrap();
    assert_eq!(noise.compression(), zip::CompressionMethod::Deflated);
    // Six blocks of 512 KiB, each 9 stored blocks of at most 65,535 bytes.
    assert_eq!(noise.size(), 6 * (512 << 10));
    assert_eq!(noise.compressed_size(), noise.size() + 6 * 9 * 5);
    drop(noise);
    assert_eq!(
        zip.by_name("tree/big/text-20MiB.log")
            .unwrap()
            .compression(),
        zip::CompressionMethod::Deflated
    );
    assert!(zip.by_name("tree/a/Grüße/日本語 ファイル.txt").is_ok());
    // The UTF-8 flag (general purpose bit 11) is set on the non-ASCII names.
    let raw = fs::read(&dest).unwrap();
    let name = "tree/a/Grüße/日本語 ファイル.txt".as_bytes();
    let at = raw.windows(name.len()).position(|w| w == name).unwrap();
    let flags = u16::from_le_bytes([raw[at - 30 + 6], raw[at - 30 + 7]]);
    assert!(flags & 0x0800 != 0, "UTF-8 flag not set");
}

#[test]
fn level_zero_stores_everything_and_level_nine_is_smaller() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("t");
    write(&root.join("x.txt"), &text(2 << 20));
    let engine = Engine::new(2);
    let mut sizes = Vec::new();
    for level in [0u8, 1, 9] {
        let dest = tmp.path().join(format!("l{level}.zip"));
        let mut spec = ZipSpec::new(vec![root.clone()], dest.clone());
        spec.level = level;
        let (report, _) = run_job(&engine, JobSpec::Zip(spec));
        assert_eq!(report.progress.state, JobState::Done);
        assert_archive_matches(&dest, &expected_tree(&root));
        sizes.push(fs::metadata(&dest).unwrap().len());
    }
    assert!(sizes[0] > 2 << 20, "level 0 must store");
    assert!(sizes[2] < sizes[1] && sizes[1] < sizes[0], "{sizes:?}");
}

/// Bytes 144-255 only, as in a JPEG's or a font's compressed data: the probe's dynamic codes
/// shrink them, level 1's fixed codes take 9 bits each, so a block of them is deflated and then
/// given up (stored).
fn high_bytes(len: usize, seed: u64) -> Vec<u8> {
    noise(len, seed).iter().map(|b| 144 + b % 112).collect()
}

/// Issue 13: every level archives a mixed tree (a font, a JPEG wallpaper, a shared library,
/// text, zeros, noise, small and empty files) that every reader accepts. Before the fix, level
/// 1 ended this job with "internal error: buf.len() must fit in remaining()": a worker's
/// compressor that had given up a block of the font panicked on its next large block.
#[test]
fn every_level_archives_fonts_wallpapers_and_libraries() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("mixed");
    write(&root.join("fonts/big.ttf"), &high_bytes(1_500_000, 1));
    // A library: code-like text with every third byte arbitrary, runs of zeros, tables.
    let mut library = text(3_000_000);
    for (i, byte) in noise(3_000_000, 2).iter().enumerate().step_by(3) {
        library[i] = *byte;
    }
    library[1_000_000..1_300_000].fill(0);
    write(&root.join("lib/libfoo.so.1"), &library);
    write(&root.join("wallpaper.jpg"), &high_bytes(1_000_000, 3));
    write(&root.join("docs/notes.txt"), &text(400_000));
    write(&root.join("docs/small.txt"), &text(3_000));
    write(&root.join("docs/empty"), b"");
    write(&root.join("data/noise.bin"), &noise(700_000, 4));
    write(&root.join("data/zeros.img"), &vec![0; 1_200_000]);
    write(&root.join("data/icon.jpg"), &high_bytes(90_000, 5));
    let expected = expected_tree(&root);
    let engine = Engine::new(2);
    for level in 0..=9u8 {
        let dest = tmp.path().join(format!("level-{level}.zip"));
        let mut spec = ZipSpec::new(vec![root.clone()], dest.clone());
        spec.level = level;
        let (report, _) = run_job(&engine, JobSpec::Zip(spec));
        assert_eq!(
            report.progress.state,
            JobState::Done,
            "level {level}: {:?}",
            report.failure
        );
        assert!(
            report.problems.is_empty(),
            "level {level}: {:?}",
            report.problems
        );
        assert_archive_matches(&dest, &expected);
    }
}

/// Seconds since 1970-01-01 UTC of a date and time in UTC.
fn utc_seconds(year: i32, month: u32, day: u32, hms: (u32, u32, u32)) -> i64 {
    chrono::NaiveDate::from_ymd_opt(year, month, day)
        .unwrap()
        .and_hms_opt(hms.0, hms.1, hms.2)
        .unwrap()
        .and_utc()
        .timestamp()
}

fn set_mtime(path: &Path, seconds: i64) {
    let time = if seconds >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds as u64)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
    };
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

fn mtime_seconds(path: &Path) -> i64 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).unwrap().mtime()
}

/// Extracts `archive` into `into` with `unzip`, or with `7z x`.
fn extract(archive: &Path, into: &Path, with_7z: bool) {
    let out = if with_7z {
        Command::new("7z")
            .arg("x")
            .arg(format!("-o{}", into.display()))
            .arg(archive)
            .output()
            .unwrap()
    } else {
        Command::new("unzip")
            .arg("-q")
            .arg(archive)
            .arg("-d")
            .arg(into)
            .output()
            .unwrap()
    };
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issue 13: modification times from 2038-01-19 to 2106 survive the archive: `unzip` and `7z x`
/// restore 2040 and 2100 to the second (the extended timestamp is written unsigned, as Info-ZIP
/// writes it; a signed field clamped them all to 2038-01-19 03:14:07). Every time, 1960
/// included, is restored by both exactly as from Info-ZIP's own archive of the same files.
#[test]
fn times_after_2038_are_restored_by_unzip_and_7z() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("times");
    let files = [
        ("2040.txt", utc_seconds(2040, 6, 1, (12, 34, 56))),
        ("2100.txt", utc_seconds(2100, 3, 4, (5, 6, 8))),
        ("2038-after.txt", utc_seconds(2038, 1, 19, (3, 14, 8))),
        ("2106.txt", utc_seconds(2106, 2, 7, (6, 28, 14))),
        ("2024.txt", utc_seconds(2024, 5, 6, (7, 8, 10))),
        ("1960.txt", utc_seconds(1960, 2, 3, (4, 5, 6))),
    ];
    for (name, seconds) in files {
        let path = root.join(name);
        write(&path, name.as_bytes());
        set_mtime(&path, seconds);
    }
    let ours = tmp.path().join("ours.zip");
    let engine = Engine::new(2);
    let (report, _) = run_job(&engine, zip_spec(&[&root], &ours));
    assert_eq!(report.progress.state, JobState::Done, "{report:?}");
    external_readers_accept(&ours);
    let info_zip = tmp.path().join("info-zip.zip");
    let zipped = Command::new("zip")
        .current_dir(tmp.path())
        .args(["-qr", "info-zip.zip", "times"])
        .status()
        .unwrap();
    assert!(zipped.success());
    for with_7z in [false, true] {
        let tool = if with_7z { "7z x" } else { "unzip" };
        let from_ours = tmp.path().join(format!("ours-{with_7z}"));
        let from_info_zip = tmp.path().join(format!("info-zip-{with_7z}"));
        extract(&ours, &from_ours, with_7z);
        extract(&info_zip, &from_info_zip, with_7z);
        for (name, seconds) in files {
            let restored = mtime_seconds(&from_ours.join("times").join(name));
            assert_eq!(
                restored,
                mtime_seconds(&from_info_zip.join("times").join(name)),
                "{name} from our archive and from Info-ZIP's, by {tool}"
            );
            if seconds >= utc_seconds(1980, 1, 1, (0, 0, 0)) {
                assert_eq!(restored, seconds, "{name} by {tool}");
            }
        }
    }
}

/// (name, general-purpose flags) of every central directory record of `archive`.
fn central_names_and_flags(archive: &Path) -> Vec<(Vec<u8>, u16)> {
    let bytes = fs::read(archive).unwrap();
    let le16 = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let le32 = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let end = (0..bytes.len() - 21)
        .rev()
        .find(|&i| bytes[i..i + 4] == [0x50, 0x4b, 5, 6])
        .unwrap();
    let count = le16(end + 10) as usize;
    let mut at = le32(end + 16) as usize;
    let mut out = Vec::new();
    for _ in 0..count {
        assert_eq!(le32(at), 0x0201_4b50, "central record expected");
        let name_len = le16(at + 28) as usize;
        let extra_len = le16(at + 30) as usize;
        let comment_len = le16(at + 32) as usize;
        out.push((bytes[at + 46..at + 46 + name_len].to_vec(), le16(at + 8)));
        at += 46 + name_len + extra_len + comment_len;
    }
    out
}

/// Issue 13: names that are not valid UTF-8 (Latin-1, from an old disk) are archived with their
/// bytes and without the UTF-8 flag, as Info-ZIP's `zip` stores them, where they were skipped
/// before: the zip crate and `unzip -l` list the same bytes, `unzip` extracts them under the
/// same names and contents, and every reader accepts the archive.
#[test]
fn latin1_names_are_kept_as_their_bytes() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("old");
    let files: [(&[u8], &[u8]); 4] = [
        (b"caf\xe9.txt", b"un caf\xe9"),
        (b"r\xe9sum\xe9s/na\xefve.txt", b"na\xefve"),
        (b"r\xe9sum\xe9s/plain.txt", b"ascii inside a Latin-1 folder"),
        ("déjà.txt".as_bytes(), "UTF-8 déjà".as_bytes()),
    ];
    for (name, content) in files {
        write(&root.join(OsStr::from_bytes(name)), content);
    }
    let dest = tmp.path().join("old.zip");
    let engine = Engine::new(2);
    let (report, _) = run_job(&engine, zip_spec(&[&root], &dest));
    assert_eq!(report.progress.state, JobState::Done, "{report:?}");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let expected: Vec<Vec<u8>> = vec![
        b"old/".to_vec(),
        b"old/caf\xe9.txt".to_vec(),
        "old/déjà.txt".as_bytes().to_vec(),
        b"old/r\xe9sum\xe9s/".to_vec(),
        b"old/r\xe9sum\xe9s/na\xefve.txt".to_vec(),
        b"old/r\xe9sum\xe9s/plain.txt".to_vec(),
    ];
    // The headers: the bytes as they were, the UTF-8 flag only on the name that is UTF-8.
    let records = central_names_and_flags(&dest);
    let names: Vec<Vec<u8>> = records.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(names, expected);
    for (name, flags) in &records {
        let utf8 = !name.is_ascii() && std::str::from_utf8(name).is_ok();
        assert_eq!(flags & (1 << 11) != 0, utf8, "{name:?}");
    }
    // The zip crate: same raw names and contents.
    let mut zip = zip::ZipArchive::new(fs::File::open(&dest).unwrap()).unwrap();
    for (i, name) in expected.iter().enumerate() {
        let mut entry = zip.by_index(i).unwrap();
        assert_eq!(entry.name_raw(), &name[..]);
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut content).unwrap();
        if let Some((_, bytes)) = files
            .iter()
            .find(|(n, _)| b"old/".iter().chain(n.iter()).eq(name.iter()))
        {
            assert!(content == *bytes, "{name:?}");
        }
    }
    external_readers_accept(&dest);
    // unzip -l lists the same bytes; unzip extracts the same names with the same contents.
    let listed = Command::new("unzip").arg("-l").arg(&dest).output().unwrap();
    assert!(listed.status.success());
    for name in &expected {
        assert!(
            listed.stdout.windows(name.len()).any(|w| w == &name[..]),
            "{} not listed by unzip -l: {}",
            String::from_utf8_lossy(name),
            String::from_utf8_lossy(&listed.stdout)
        );
    }
    let out = tmp.path().join("unzipped");
    extract(&dest, &out, false);
    for (name, content) in files {
        let path = out.join("old").join(OsStr::from_bytes(name));
        assert!(fs::read(&path).unwrap() == content, "{path:?}");
    }
}

#[test]
fn specials_and_bad_names_are_skipped_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("t");
    write(&root.join("ok.txt"), b"fine");
    write(&root.join("sub/target.txt"), b"target");
    symlink("../ok.txt", root.join("sub/inside-link")).unwrap();
    symlink("/etc/hostname", root.join("absolute-link")).unwrap();
    symlink("../../outside.txt", root.join("sub/outside-link")).unwrap();
    write(&tmp.path().join("outside.txt"), b"outside");
    symlink("nowhere", root.join("dangling-link")).unwrap();
    symlink("loop-b", root.join("loop-a")).unwrap();
    symlink("loop-a", root.join("loop-b")).unwrap();
    write(&root.join("tab\tname.txt"), b"tab");
    write(&root.join("new\nline.txt"), b"nl");
    let fifo = root.join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let dest = tmp.path().join("out.zip");
    let engine = Engine::new(2);
    let (report, _) = run_job(&engine, zip_spec(&[&root], &dest));
    // Skipped items are listed, but they are not errors: the archive holds everything else.
    assert_eq!(report.progress.state, JobState::Done, "{report:?}");
    let skipped: Vec<String> = report
        .problems
        .iter()
        .map(|p| p.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for name in [
        "absolute-link",
        "outside-link",
        "dangling-link",
        "loop-a",
        "loop-b",
        "tab\tname.txt",
        "new\nline.txt",
        "fifo",
    ] {
        assert!(
            skipped.iter().any(|s| s == name),
            "{name:?} not reported: {:?}",
            report.problems
        );
    }
    assert!(
        report
            .problems
            .iter()
            .all(|p| p.kind == ProblemKind::Skipped && !p.cause.to_string().is_empty())
    );
    assert!(report.summary().contains("skipped"), "{}", report.summary());
    let names: Vec<String> = read_archive(&dest).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        vec![
            "t/",
            "t/ok.txt",
            "t/sub/",
            "t/sub/inside-link",
            "t/sub/target.txt"
        ]
    );
    let mut zip = zip::ZipArchive::new(fs::File::open(&dest).unwrap()).unwrap();
    assert!(zip.by_name("t/sub/inside-link").unwrap().is_symlink());
    external_readers_accept(&dest);
}

#[test]
fn existing_destination_fails_unless_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("t");
    write(&root.join("a.txt"), b"a");
    let dest = tmp.path().join("out.zip");
    fs::write(&dest, b"precious").unwrap();
    let engine = Engine::new(1);
    let (report, _) = run_job(&engine, zip_spec(&[&root], &dest));
    assert_eq!(report.progress.state, JobState::Failed);
    assert!(
        matches!(
            report.failure.as_ref().map(|f| f.error()),
            Some(JobError::DestinationExists { path }) if *path == dest
        ),
        "{:?}",
        report.failure
    );
    assert_eq!(report.progress.items_total, 0, "found before any work");
    assert_eq!(fs::read(&dest).unwrap(), b"precious");
    let mut spec = ZipSpec::new(vec![root.clone()], dest.clone());
    spec.on_exists = ExistingArchive::Replace;
    let (report, _) = run_job(&engine, JobSpec::Zip(spec));
    assert_eq!(report.progress.state, JobState::Done);
    assert_archive_matches(&dest, &expected_tree(&root));
    assert_no_partial_files(tmp.path());
}

#[test]
fn archive_inside_its_own_input_is_not_an_input() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("t");
    write(&root.join("a.txt"), &text(10_000));
    let dest = root.join("self.zip");
    let engine = Engine::new(2);
    let (report, _) = run_job(&engine, zip_spec(&[&root], &dest));
    assert_eq!(report.progress.state, JobState::Done, "{report:?}");
    let names: Vec<String> = read_archive(&dest).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["t/", "t/a.txt"]);
    // Again with overwrite: the old archive is not an input either.
    let mut spec = ZipSpec::new(vec![root.clone()], dest.clone());
    spec.on_exists = ExistingArchive::Replace;
    let (report, _) = run_job(&engine, JobSpec::Zip(spec));
    assert_eq!(report.progress.state, JobState::Done);
    let names: Vec<String> = read_archive(&dest).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["t/", "t/a.txt"]);
}

#[test]
fn cancel_in_one_big_file_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    write(&input.join("huge.bin"), &text(400 << 20));
    let out_dir = tmp.path().join("out");
    fs::create_dir_all(&out_dir).unwrap();
    let dest = out_dir.join("huge.zip");
    let engine = Engine::new(2);
    let id = engine.submit(zip_spec(&[&input], &dest)).unwrap();
    // Wait until the job is inside the file, then cancel.
    let deadline = std::time::Instant::now() + JOB_DEADLINE;
    loop {
        assert!(std::time::Instant::now() < deadline);
        match engine
            .events()
            .recv_timeout(Duration::from_secs(60))
            .unwrap()
        {
            JobEvent::Progress(p) if p.bytes_done > 0 => {
                assert!(p.bytes_done < p.bytes_total, "too fast to cancel mid-file");
                break;
            }
            JobEvent::Finished(r) => panic!("finished before cancel: {r:?}"),
            _ => {}
        }
    }
    let asked = std::time::Instant::now();
    engine.cancel(id);
    let (report, _) = wait_job(&engine, id);
    eprintln!("cancel took {:?}", asked.elapsed());
    assert_eq!(report.progress.state, JobState::Cancelled);
    assert!(report.outputs.is_empty());
    assert!(
        files_below(&out_dir).is_empty(),
        "left: {:?}",
        files_below(&out_dir)
    );
    assert!(!dest.exists());
}

#[test]
fn cancelling_a_queued_job_removes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    write(&input.join("big.log"), &text(64 << 20));
    let engine = Engine::new(1);
    let first = engine
        .submit(zip_spec(&[&input], &tmp.path().join("first.zip")))
        .unwrap();
    let second = engine
        .submit(zip_spec(&[&input], &tmp.path().join("second.zip")))
        .unwrap();
    engine.cancel(second);
    let (report, _) = wait_job(&engine, second);
    assert_eq!(report.progress.state, JobState::Cancelled);
    assert_eq!(report.progress.items_done, 0);
    let (report, _) = wait_job(&engine, first);
    assert_eq!(report.progress.state, JobState::Done);
    assert!(!tmp.path().join("second.zip").exists());
    assert_no_partial_files(tmp.path());
}

#[test]
fn one_archive_per_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let mut folders = Vec::new();
    for name in ["alpha", "beta", "gamma"] {
        let f = tmp.path().join("src").join(name);
        write(&f.join("file.txt"), name.as_bytes());
        write(&f.join("nested/more.txt"), &text(50_000));
        folders.push(f);
    }
    let out = tmp.path().join("archives");
    let engine = Engine::new(2);
    let ids: Vec<_> = ZipSpec::per_folder(&folders, &out, 6, ExistingArchive::Fail)
        .into_iter()
        .map(|s| engine.submit(JobSpec::Zip(s)).unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    let mut finished = 0;
    while finished < 3 {
        if let JobEvent::Finished(r) = engine.events().recv_timeout(JOB_DEADLINE).unwrap() {
            assert_eq!(r.progress.state, JobState::Done);
            finished += 1;
        }
    }
    for f in &folders {
        let name = f.file_name().unwrap().to_str().unwrap();
        assert_archive_matches(&out.join(format!("{name}.zip")), &expected_tree(f));
    }
}

#[test]
fn progress_is_monotonic_and_ends_at_totals() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("t");
    for i in 0..200 {
        write(
            &root.join(format!("d{}/f{i}.txt", i % 7)),
            &text(20_000 + i * 1000),
        );
    }
    write(&root.join("big.log"), &text(40 << 20));
    let engine = Engine::new(2);
    let (report, seen) = run_job(&engine, zip_spec(&[&root], &tmp.path().join("o.zip")));
    assert_eq!(report.progress.state, JobState::Done);
    assert!(!seen.is_empty());
    for pair in seen.windows(2) {
        assert!(pair[1].bytes_done >= pair[0].bytes_done, "bytes went back");
        assert!(pair[1].items_done >= pair[0].items_done, "items went back");
        assert!(pair[0].bytes_done <= pair[0].bytes_total);
    }
    let p = &report.progress;
    assert_eq!(p.items_done, p.items_total);
    assert_eq!(p.bytes_done, p.bytes_total);
    assert_eq!(p.items_total, 200 + 7 + 1 + 1);
    let expected_bytes: u64 = (0..200).map(|i| 20_000 + i * 1000).sum::<u64>() + (40 << 20);
    assert_eq!(p.bytes_total, expected_bytes);
}

#[test]
fn final_events_arrive_even_when_nobody_drains() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("t");
    write(&root.join("a.txt"), &text(30_000));
    let engine = Engine::new(2);
    // More jobs than the event channel holds, and nobody reading while they run.
    let count = shrinkwrap::engine::EVENT_CHANNEL_CAPACITY + 44;
    let ids: Vec<_> = (0..count)
        .map(|i| {
            engine
                .submit(zip_spec(&[&root], &tmp.path().join(format!("o{i}.zip"))))
                .unwrap()
        })
        .collect();
    let deadline = std::time::Instant::now() + JOB_DEADLINE;
    while engine.is_busy() {
        assert!(std::time::Instant::now() < deadline, "jobs did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut finished = std::collections::HashSet::new();
    while finished.len() < ids.len() {
        match engine.events().recv_timeout(Duration::from_secs(30)) {
            Ok(JobEvent::Finished(r)) => {
                assert_eq!(r.progress.state, JobState::Done);
                assert!(finished.insert(r.progress.job), "final event twice");
            }
            Ok(_) => {}
            Err(e) => panic!(
                "only {} of {} final events: {e:?}",
                finished.len(),
                ids.len()
            ),
        }
    }
}

#[test]
fn two_engines_run_side_by_side() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("t");
    write(&root.join("a.txt"), &text(5 << 20));
    let (a, b) = (Engine::new(1), Engine::new(2));
    let ja = a
        .submit(zip_spec(&[&root], &tmp.path().join("a.zip")))
        .unwrap();
    let jb = b
        .submit(zip_spec(&[&root], &tmp.path().join("b.zip")))
        .unwrap();
    assert_eq!(wait_job(&a, ja).0.progress.state, JobState::Done);
    assert_eq!(wait_job(&b, jb).0.progress.state, JobState::Done);
    assert_eq!(
        read_archive(&tmp.path().join("a.zip")),
        read_archive(&tmp.path().join("b.zip"))
    );
}

#[test]
fn file_vanishing_after_scan_is_reported_and_job_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("t");
    // Work for the single worker, so that the scan is over well before the last files.
    for i in 0..12 {
        write(&root.join(format!("a-{i:02}.log")), &text(8 << 20));
    }
    write(&root.join("z-vanishes.txt"), b"soon gone");
    write(&root.join("z-zstays.txt"), b"stays");
    let engine = Engine::new(1);
    let dest = tmp.path().join("o.zip");
    let id = engine.submit(zip_spec(&[&root], &dest)).unwrap();
    wait_until_running(&engine, id);
    fs::remove_file(root.join("z-vanishes.txt")).unwrap();
    let (report, _) = wait_job(&engine, id);
    assert_eq!(report.progress.state, JobState::DoneWithErrors);
    assert_eq!(report.problems.len(), 1);
    assert!(report.problems[0].path.ends_with("z-vanishes.txt"));
    assert!(
        report.problems[0].cause.to_string().contains("vanished"),
        "{}",
        report.problems[0].cause
    );
    let names: Vec<String> = read_archive(&dest).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names.len(), 1 + 12 + 1);
    assert_eq!(names.last().unwrap(), "t/z-zstays.txt");
    assert!(!names.iter().any(|n| n.contains("vanishes")));
    external_readers_accept(&dest);
}

#[test]
fn setuid_setgid_and_sticky_bits_round_trip_through_unzip_k() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("t");
    write(&root.join("suid-tool"), b"#!/bin/sh\necho hi\n");
    write(&root.join("shared/sgid-dir-file.txt"), b"x");
    write(&root.join("sticky/keep.txt"), b"y");
    fs::set_permissions(root.join("suid-tool"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::set_permissions(root.join("shared"), fs::Permissions::from_mode(0o2775)).unwrap();
    fs::set_permissions(root.join("sticky"), fs::Permissions::from_mode(0o1777)).unwrap();
    let dest = tmp.path().join("modes.zip");
    let engine = Engine::new(2);
    let (report, _) = run_job(&engine, zip_spec(&[&root], &dest));
    assert_eq!(report.progress.state, JobState::Done, "{report:?}");
    external_readers_accept(&dest);
    // The zip crate's reader clears these bits on purpose; Info-ZIP's tools show and restore them.
    let have_unzip = Command::new("sh")
        .args(["-c", "command -v unzip"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(have_unzip || std::env::var_os("SHRINKWRAP_REQUIRE_READERS").is_none());
    if have_unzip {
        let listing = Command::new("unzip").arg("-Z").arg(&dest).output().unwrap();
        let listing = String::from_utf8_lossy(&listing.stdout);
        for (mode, name) in [
            ("-rwsr-xr-x", "t/suid-tool"),
            ("drwxrwsr-x", "t/shared/"),
            ("drwxrwxrwt", "t/sticky/"),
        ] {
            assert!(
                listing
                    .lines()
                    .any(|l| l.starts_with(mode) && l.ends_with(name)),
                "{mode} {name} in:\n{listing}"
            );
        }
        let x = tempfile::tempdir().unwrap();
        let out = Command::new("unzip")
            .arg("-qK")
            .arg(&dest)
            .arg("-d")
            .arg(x.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mode = |p: &str| fs::metadata(x.path().join(p)).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode("t/suid-tool"), 0o4755);
        assert_eq!(mode("t/shared"), 0o2775);
        assert_eq!(mode("t/sticky"), 0o1777);
    }
}

/// A binary of mixed parts, as programs and libraries are: zero padding, tables of small
/// numbers, code-like noise with repeats, strings.
fn binary_like(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 4096);
    let mut part = 0u64;
    while out.len() < len {
        match part % 4 {
            0 => out.extend(std::iter::repeat_n(0u8, 3000)),
            1 => out.extend((0..6000u32).map(|i| ((i * 7 + seed as u32) % 61) as u8)),
            2 => {
                let chunk = noise(2048, seed + part);
                out.extend_from_slice(&chunk);
                out.extend_from_slice(&chunk[..1024]);
            }
            _ => out.extend_from_slice(&text(2500)),
        }
        part += 1;
    }
    out.truncate(len);
    out
}

/// Reads a dry run's plan of `spec` from the engine's events.
fn dry_run_estimate(engine: &Engine, spec: JobSpec) -> u64 {
    let id = engine.submit_dry_run(spec).unwrap();
    let mut estimate = None;
    loop {
        match engine
            .events()
            .recv_timeout(Duration::from_secs(600))
            .unwrap()
        {
            JobEvent::Plan(p) if p.job == id => estimate = p.summary.estimated_output_bytes,
            JobEvent::Finished(r) if r.progress.job == id => break,
            _ => {}
        }
    }
    estimate.expect("a dry run estimates the archive's size")
}

#[test]
fn the_size_estimate_of_a_mixed_tree_is_within_ten_percent() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("project");
    // Many small texts (the most files, few of the bytes), photos, binaries and a disk image
    // whose kind of data changes along the way: an estimate from the starts of a few files,
    // taken among the texts, is far off.
    for i in 0..300u64 {
        let mut body = text(2000 + (i as usize * 37) % 3000);
        body.extend_from_slice(format!("// file {i}\n").as_bytes());
        write(&root.join(format!("src/m{:02}/f{i:03}.rs", i % 12)), &body);
    }
    for i in 0..4u64 {
        write(
            &root.join(format!("photos/IMG_{i:04}.jpg")),
            &noise(700_000 + i as usize * 90_000, 40 + i),
        );
        write(
            &root.join(format!("icons/icon{i}.png")),
            &noise(20_000, 50 + i),
        );
    }
    write(&root.join("bin/tool"), &binary_like(2_500_000, 7));
    write(&root.join("bin/libcore.so"), &binary_like(1_800_000, 9));
    let mut image = text(600_000);
    image.extend_from_slice(&noise(1_400_000, 11));
    image.extend(std::iter::repeat_n(0u8, 500_000));
    write(&root.join("disk.img"), &image);
    write(&root.join("data/table.csv"), &text(900_000));

    let engine = Engine::new(2);
    let archive = tmp.path().join("project.zip");
    let spec = zip_spec(&[&root], &archive);
    let estimate = dry_run_estimate(&engine, spec.clone());
    assert!(!archive.exists(), "a dry run writes nothing");
    let (report, _) = run_job(&engine, spec);
    assert_eq!(report.progress.state, JobState::Done, "{report:?}");
    let actual = fs::metadata(&archive).unwrap().len();
    let off = (estimate as f64 - actual as f64) / actual as f64;
    assert!(
        off.abs() <= 0.10,
        "estimated {estimate} bytes, the archive is {actual} ({:+.1} %)",
        off * 100.0
    );
}
