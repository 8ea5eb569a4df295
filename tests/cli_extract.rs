//! `shrinkwrap extract` and `shrinkwrap test`, run as the built binary on archives the tests
//! make themselves (Info-ZIP's `zip -r`, our own zip subcommand, and a zip-slip archive written
//! byte by byte): byte-exact output with modification times, `test`'s verdicts and exit codes,
//! the dry run writing nothing, and nothing landing outside the output folder.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::*;

/// Every file below `root`: relative name -> (bytes, mtime in seconds).
fn files(root: &Path) -> BTreeMap<String, (Vec<u8>, i64)> {
    files_below(root)
        .into_iter()
        .map(|rel| {
            let path = root.join(&rel);
            let mtime = fs::metadata(&path).unwrap().mtime();
            (
                rel.to_string_lossy().into_owned(),
                (fs::read(&path).unwrap(), mtime),
            )
        })
        .collect()
}

/// A tree of text, noise, an empty file and nested folders, every file with its own (even)
/// modification time, so that times survive even a DOS-time-only archive.
fn make_tree(root: &Path) {
    let named: [(&str, Vec<u8>); 5] = [
        ("readme.txt", b"hello\n".to_vec()),
        ("empty", Vec::new()),
        ("a/b/notes.md", text(120_000)),
        ("a/noise.bin", noise(200_000, 7)),
        ("docs/Grüße.txt", "grüße\n".as_bytes().to_vec()),
    ];
    for (n, (name, bytes)) in named.iter().enumerate() {
        let path = root.join(name);
        write(&path, bytes);
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000 + 7_200 * n as u64);
        fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }
}

/// Info-ZIP's `zip -r` of `dir` (relative to `cwd`) into `archive`; `store`: no compression.
fn info_zip(cwd: &Path, archive: &str, dir: &str, store: bool) {
    let mut cmd = Command::new("zip");
    cmd.arg(if store { "-qr0" } else { "-qr" })
        .arg(archive)
        .arg(dir)
        .current_dir(cwd);
    let status = cmd.status().expect("Info-ZIP's zip is installed");
    assert!(status.success());
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn info_zip_and_our_own_archives_extract_byte_exact_with_times() {
    let tmp = tempfile::tempdir().unwrap();
    make_tree(&tmp.path().join("proj"));
    info_zip(tmp.path(), "infozip.zip", "proj", false);
    let out = shrinkwrap(&["zip", "proj", "--output", "own.zip"], tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = files(&tmp.path().join("proj"));
    assert_eq!(expected.len(), 5);

    for archive in ["infozip.zip", "own.zip"] {
        let dest = format!("out-{archive}");
        let out = shrinkwrap(
            &["extract", archive, "--output", &dest, "--jobs", "2"],
            tmp.path(),
        );
        assert_eq!(out.status.code(), Some(0), "{archive}: {}", stderr(&out));
        // One top-level folder: straight into the output folder.
        assert_eq!(
            files(&tmp.path().join(&dest).join("proj")),
            expected,
            "{archive}"
        );
        assert_no_partial_files(&tmp.path().join(&dest));
    }
    // The inputs are untouched.
    assert_eq!(files(&tmp.path().join("proj")), expected);

    // Again into the same folder: renamed by default, nothing replaced.
    let out = shrinkwrap(
        &["extract", "own.zip", "--output", "out-own.zip"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let again = files(&tmp.path().join("out-own.zip/proj"));
    assert_eq!(again["readme (1).txt"], expected["readme.txt"]);
    assert_eq!(again["readme.txt"], expected["readme.txt"]);
    // Skip keeps what is there and makes nothing new.
    let out = shrinkwrap(
        &[
            "extract",
            "own.zip",
            "--output",
            "out-own.zip",
            "--on-conflict",
            "skip",
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(files(&tmp.path().join("out-own.zip/proj")), again);
}

#[test]
fn test_reports_each_entry_and_exits_one_on_a_damaged_archive() {
    let tmp = tempfile::tempdir().unwrap();
    make_tree(&tmp.path().join("proj"));
    // Stored, so the damage lands in an entry's data, not in what deflate can refuse.
    info_zip(tmp.path(), "good.zip", "proj", true);
    let before = files(tmp.path());

    let out = shrinkwrap(&["test", "good.zip"], tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = stdout(&out);
    for name in [
        "proj/readme.txt",
        "proj/a/b/notes.md",
        "proj/a/noise.bin",
        "proj/empty",
    ] {
        assert!(
            said.lines()
                .any(|l| l.contains("testing:") && l.contains(name) && l.ends_with("OK")),
            "{name} not reported: {said}"
        );
    }
    assert!(said.contains("No errors detected in good.zip"), "{said}");

    // One byte of notes.md's data changed: a CRC mismatch for that entry only.
    let mut bytes = fs::read(tmp.path().join("good.zip")).unwrap();
    let notes = text(120_000);
    let at = bytes
        .windows(64)
        .position(|w| w == &notes[1000..1064])
        .expect("the stored data of notes.md");
    bytes[at] ^= 0xFF;
    write(&tmp.path().join("bad.zip"), &bytes);
    let out = shrinkwrap(&["test", "bad.zip"], tmp.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.lines()
            .any(|l| l.contains("error") && l.contains("notes.md")),
        "{err}"
    );
    let said = stdout(&out);
    assert!(said.contains("readme.txt  OK"), "{said}");
    assert!(!said.contains("notes.md  OK"), "{said}");
    assert!(said.contains("1 of"), "{said}");

    // Nothing was written by either test (the journal folder aside).
    let after: BTreeMap<_, _> = files(tmp.path())
        .into_iter()
        .filter(|(k, _)| !k.starts_with(".state") && k != "bad.zip")
        .collect();
    let before: BTreeMap<_, _> = before
        .into_iter()
        .filter(|(k, _)| !k.starts_with(".state"))
        .collect();
    assert_eq!(after, before);

    // --json: one object per line, the final report naming the entries checked.
    let out = shrinkwrap(&["test", "good.zip", "--json"], tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(!said.contains("testing:"), "{said}");
    for line in said.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    make_tree(&tmp.path().join("proj"));
    info_zip(tmp.path(), "p.zip", "proj", false);
    let out = shrinkwrap(
        &["extract", "p.zip", "--output", "out", "--dry-run"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = stdout(&out);
    let first = said.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("Plan: extract into ") && first.ends_with("out; nothing is written yet"),
        "{said}"
    );
    assert!(said.contains("p.zip/proj/a/b/notes.md"), "{said}");
    assert!(
        said.lines()
            .any(|l| l.trim_start().starts_with("write") && l.ends_with("out/proj/readme.txt")),
        "{said}"
    );
    assert!(
        !tmp.path().join("out").exists(),
        "the dry run made the output folder"
    );

    let out = shrinkwrap(&["test", "p.zip", "--dry-run"], tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("Plan: test p.zip; nothing is written"),
        "{}",
        stdout(&out)
    );
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A zip of stored entries, written field by field: a local header and data per entry, a
/// central record per entry, the end record.
fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u32;
        let crc = crc32fast::hash(data);
        put32(&mut out, 0x0403_4b50);
        for v in [20u16, 0, 0, 0, 0x21] {
            put16(&mut out, v); // version, flags, method (stored), time, date
        }
        put32(&mut out, crc);
        put32(&mut out, data.len() as u32);
        put32(&mut out, data.len() as u32);
        put16(&mut out, name.len() as u16);
        put16(&mut out, 0);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);

        put32(&mut central, 0x0201_4b50);
        for v in [20u16, 20, 0, 0, 0, 0x21] {
            put16(&mut central, v); // made by, needed, flags, method, time, date
        }
        put32(&mut central, crc);
        put32(&mut central, data.len() as u32);
        put32(&mut central, data.len() as u32);
        for v in [name.len() as u16, 0, 0, 0, 0] {
            put16(&mut central, v); // name, extra, comment, disk, internal attributes
        }
        put32(&mut central, 0);
        put32(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let central_at = out.len() as u32;
    out.extend_from_slice(&central);
    put32(&mut out, 0x0605_4b50);
    for v in [0u16, 0, entries.len() as u16, entries.len() as u16] {
        put16(&mut out, v);
    }
    put32(&mut out, central.len() as u32);
    put32(&mut out, central_at);
    put16(&mut out, 0);
    out
}

#[test]
fn a_zip_slip_entry_is_refused_by_name_and_nothing_leaves_the_output() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("box");
    write(
        &root.join("slip.zip"),
        &stored_zip(&[
            ("../evil.txt", b"escaped"),
            ("../../evil2.txt", b"escaped"),
            ("good.txt", b"fine"),
        ]),
    );
    let out = shrinkwrap(&["extract", "slip.zip", "--output", "out"], &root);
    let err = stderr(&out);
    assert_ne!(out.status.code(), Some(2), "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains("slip.zip/../evil.txt") && l.contains("..")),
        "the refused entry is not named: {err}"
    );
    assert!(err.contains("slip.zip/../../evil2.txt"), "{err}");
    // Nothing anywhere but the good entry, inside the output folder.
    let everywhere: Vec<String> = files_below(tmp.path())
        .into_iter()
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| !p.starts_with("box/.state"))
        .collect();
    assert!(
        everywhere.iter().all(|p| !p.contains("evil")),
        "{everywhere:?}"
    );
    let good: Vec<&String> = everywhere
        .iter()
        .filter(|p| p.ends_with("good.txt"))
        .collect();
    assert_eq!(good.len(), 1, "{everywhere:?}");
    assert!(good[0].starts_with("box/out/"), "{good:?}");
    assert_eq!(fs::read(tmp.path().join(good[0])).unwrap(), b"fine");
}

#[test]
fn bad_arguments_exit_two_and_name_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("a.zip"), &stored_zip(&[("a.txt", b"a")]));
    write(&tmp.path().join("file"), b"x");
    for (args, named) in [
        (vec!["extract", "a.zip"], "--output"),
        (
            vec!["extract", "a.zip", "-o", "out", "--on-conflict", "update"],
            "update",
        ),
        (
            vec!["extract", "a.zip", "-o", "out", "--password-file", "nope"],
            "nope",
        ),
        (vec!["extract", "a.zip", "-o", "file"], "file"),
        (vec!["test"], "ARCHIVE"),
    ] {
        let out = shrinkwrap(&args, tmp.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(named), "{args:?}: {}", stderr(&out));
    }
    assert!(!tmp.path().join("out").exists());
    let out = shrinkwrap(&["--help"], tmp.path());
    let help = stdout(&out);
    assert!(help.contains("extract") && help.contains("test"), "{help}");
}
