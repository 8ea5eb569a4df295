//! `shrinkwrap extract` and `shrinkwrap test`, run as the built binary on archives the tests
//! make themselves (Info-ZIP's `zip -r`, our own zip subcommand, and a zip-slip archive written
//! byte by byte): byte-exact output with modification times, `test`'s verdicts and exit codes,
//! the dry run writing nothing, and nothing landing outside the output folder. Also `zip`'s
//! archive options seen from the other side: `--exclude` and `--gitignore` (what is left out,
//! listed by the dry run), and `--password-file` (AES-256 archives opened by 7-Zip and by our
//! extract, a wrong password refused per entry, the password never in a journal or `--json`).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
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

// ----- zip's exclude patterns, .gitignore files and passwords -----

/// The entries of an archive, as the zip crate lists them (names only).
fn entry_names(archive: &Path) -> Vec<String> {
    let zip = zip::ZipArchive::new(fs::File::open(archive).unwrap()).unwrap();
    let mut names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    names.sort();
    names
}

/// A project with the usual clutter: editor and build leftovers, `.git/`, `node_modules/`, and a
/// `.gitignore` of its own.
fn make_cluttered(root: &Path) {
    for (name, bytes) in [
        ("src/main.rs", b"fn main() {}\n".as_slice()),
        ("src/main.rs.tmp", b"half-saved"),
        ("notes.tmp", b"scratch"),
        ("keep.tmp", b"kept by a later !pattern"),
        (".git/config", b"[core]\n"),
        (".git/objects/ab/cdef", b"blob"),
        ("node_modules/left-pad/index.js", b"module.exports = 1;\n"),
        ("web/node_modules/x/y.js", b"deep"),
        ("build/out.o", b"\x7fELF"),
        ("src/debug.log", b"log"),
        ("src/.gitignore", b"!debug.log\n"),
        (".gitignore", b"build/\n*.log\n"),
        ("README.md", b"# cluttered\n"),
    ] {
        write(&root.join(name), bytes);
    }
}

#[test]
fn excluded_files_are_listed_by_the_dry_run_and_absent_from_the_archive() {
    let tmp = tempfile::tempdir().unwrap();
    make_cluttered(&tmp.path().join("proj"));
    let excludes = [
        "--exclude",
        "*.tmp",
        "--exclude",
        ".git/",
        "--exclude",
        "node_modules/",
        "--exclude",
        "!keep.tmp",
    ];
    let mut args = vec!["zip", "proj", "--output", "p.zip", "--dry-run"];
    args.extend(excludes);
    let out = shrinkwrap(&args, tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = stdout(&out);
    // Each excluded file or folder on a skip line with the pattern that left it out (a folder
    // once, not what is inside it).
    for (name, pattern) in [
        ("proj/notes.tmp", "*.tmp"),
        ("proj/src/main.rs.tmp", "*.tmp"),
        ("proj/.git", ".git/"),
        ("proj/node_modules", "node_modules/"),
        ("proj/web/node_modules", "node_modules/"),
    ] {
        assert!(
            said.lines().any(|l| l.trim_start().starts_with("skip")
                && l.contains(&format!("{name}: "))
                && l.contains("excluded")
                && l.ends_with(pattern)),
            "{name} not listed as excluded by {pattern}: {said}"
        );
    }
    assert!(
        !said.contains("left-pad"),
        "inside an excluded folder: {said}"
    );
    assert!(
        !said
            .lines()
            .any(|l| l.contains("keep.tmp") && l.contains("skip")),
        "{said}"
    );
    assert!(said.contains("5 skipped"), "{said}");
    assert!(!tmp.path().join("p.zip").exists(), "the dry run wrote");

    let mut args = vec!["zip", "proj", "--output", "p.zip"];
    args.extend(excludes);
    let out = shrinkwrap(&args, tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let names = entry_names(&tmp.path().join("p.zip"));
    assert!(
        names
            .iter()
            .all(|n| !n.ends_with(".tmp") || n == "proj/keep.tmp"),
        "{names:?}"
    );
    assert!(names.iter().all(|n| !n.contains(".git/")), "{names:?}");
    assert!(
        names.iter().all(|n| !n.contains("node_modules")),
        "{names:?}"
    );
    for kept in [
        "proj/keep.tmp",
        "proj/src/main.rs",
        "proj/README.md",
        "proj/build/out.o",
        "proj/src/debug.log",
        "proj/.gitignore",
    ] {
        assert!(names.iter().any(|n| n == kept), "{kept} missing: {names:?}");
    }
    // The inputs are untouched.
    assert!(tmp.path().join("proj/notes.tmp").exists());
    assert!(tmp.path().join("proj/.git/config").exists());

    // A bad pattern is refused, named, before anything is written.
    let out = shrinkwrap(
        &["zip", "proj", "--output", "bad.zip", "--exclude", "{a"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("{a"), "{}", stderr(&out));
    assert!(!tmp.path().join("bad.zip").exists());
}

#[test]
fn gitignore_files_are_honoured_only_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    make_cluttered(&tmp.path().join("proj"));
    let out = shrinkwrap(&["zip", "proj", "--output", "all.zip"], tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let all = entry_names(&tmp.path().join("all.zip"));
    assert!(all.contains(&"proj/build/out.o".to_owned()), "{all:?}");
    assert!(all.contains(&"proj/.git/config".to_owned()), "{all:?}");

    let out = shrinkwrap(
        &[
            "zip",
            "proj",
            "--output",
            "git.zip",
            "--gitignore",
            "--dry-run",
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(
        said.lines()
            .any(|l| l.contains("proj/build: ") && l.contains("build/")),
        "{said}"
    );
    let out = shrinkwrap(
        &["zip", "proj", "--output", "git.zip", "--gitignore"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let names = entry_names(&tmp.path().join("git.zip"));
    // The top .gitignore leaves out build/ and *.log; src/.gitignore takes debug.log back.
    assert!(
        names.iter().all(|n| !n.starts_with("proj/build")),
        "{names:?}"
    );
    assert!(
        names.contains(&"proj/src/debug.log".to_owned()),
        "{names:?}"
    );
    assert!(names.contains(&"proj/.gitignore".to_owned()), "{names:?}");
    assert!(names.contains(&"proj/src/main.rs".to_owned()), "{names:?}");
    // Nothing else is left out: .git/ is only left out when a pattern says so.
    assert!(names.contains(&"proj/.git/config".to_owned()), "{names:?}");
}

/// Whether a reader is installed (CI sets SHRINKWRAP_REQUIRE_READERS=1 and installs them all).
fn have_reader(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var_os("SHRINKWRAP_REQUIRE_READERS").is_none(),
        "{tool} is required but not installed"
    );
    if !found {
        eprintln!("note: {tool} not installed, skipping that reader");
    }
    found
}

/// Every file below `dir`, in it or in any folder below it, that contains `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    files_below(dir)
        .into_iter()
        .filter(|rel| {
            fs::read(dir.join(rel))
                .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        })
        .map(|rel| rel.display().to_string())
        .collect()
}

const PASSWORD: &str = "correct horse battery staple";

#[test]
fn an_aes_archive_opens_in_7zip_and_in_our_extract_and_the_password_stays_secret() {
    let tmp = tempfile::tempdir().unwrap();
    make_tree(&tmp.path().join("proj"));
    // CRLF line end, as an editor on Windows saves it: not part of the password.
    write(
        &tmp.path().join("pass.txt"),
        format!("{PASSWORD}\r\n").as_bytes(),
    );
    let expected = files(&tmp.path().join("proj"));
    let out = shrinkwrap(
        &[
            "zip",
            "proj",
            "--output",
            "enc.zip",
            "--password-file",
            "pass.txt",
            "--json",
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !stdout(&out).contains(PASSWORD) && !stderr(&out).contains(PASSWORD),
        "the password was printed"
    );
    let archive = tmp.path().join("enc.zip");
    let bytes = fs::read(&archive).unwrap();
    let plain = text(120_000);
    assert!(
        !bytes.windows(64).any(|w| w == &plain[1000..1064]),
        "plain text in the archive"
    );
    // The zip crate refuses it without the password.
    let mut zip = zip::ZipArchive::new(fs::File::open(&archive).unwrap()).unwrap();
    assert!(zip.by_name("proj/readme.txt").is_err());

    // 7-Zip with the password: byte-exact.
    if have_reader("7z") {
        let out7 = tmp.path().join("out7");
        let done = Command::new("7z")
            .arg("x")
            .arg(format!("-p{PASSWORD}"))
            .arg(format!("-o{}", out7.display()))
            .arg("-y")
            .arg(&archive)
            .output()
            .unwrap();
        assert!(
            done.status.success(),
            "{}",
            String::from_utf8_lossy(&done.stdout)
        );
        let got = files(&out7.join("proj"));
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>()
        );
        for (name, (bytes, _)) in &expected {
            assert_eq!(&got[name].0, bytes, "{name}");
        }
    }

    // Our extract with the password file: byte-exact, times kept.
    let out = shrinkwrap(
        &[
            "extract",
            "enc.zip",
            "--output",
            "ours",
            "--password-file",
            "pass.txt",
            "--json",
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stdout(&out).contains(PASSWORD), "the password in --json");
    assert_eq!(files(&tmp.path().join("ours/proj")), expected);
    // And `test` with it.
    let out = shrinkwrap(
        &["test", "enc.zip", "--password-file", "pass.txt"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // The dry run's plan does not hold it either.
    for args in [
        vec![
            "zip",
            "proj",
            "-o",
            "dry.zip",
            "--password-file",
            "pass.txt",
            "--dry-run",
        ],
        vec![
            "zip",
            "proj",
            "-o",
            "dry.zip",
            "--password-file",
            "pass.txt",
            "--dry-run",
            "--json",
        ],
    ] {
        let out = shrinkwrap(&args, tmp.path());
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            !stdout(&out).contains(PASSWORD),
            "{args:?}: {}",
            stdout(&out)
        );
    }
    assert!(
        files_containing(&tmp.path().join(".state"), PASSWORD.as_bytes()).is_empty(),
        "the password in the state folder"
    );
}

#[test]
fn a_wrong_password_is_an_error_per_entry_and_writes_nothing_for_them() {
    let tmp = tempfile::tempdir().unwrap();
    make_tree(&tmp.path().join("proj"));
    write(
        &tmp.path().join("pass.txt"),
        format!("{PASSWORD}\n").as_bytes(),
    );
    write(&tmp.path().join("wrong.txt"), b"Tr0ub4dor&3\n");
    let out = shrinkwrap(
        &[
            "zip",
            "proj",
            "-o",
            "enc.zip",
            "--password-file",
            "pass.txt",
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let out = shrinkwrap(
        &[
            "extract",
            "enc.zip",
            "--output",
            "out",
            "--password-file",
            "wrong.txt",
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    for name in ["readme.txt", "notes.md", "noise.bin"] {
        assert!(
            err.lines().any(|l| l.contains("enc.zip/proj/")
                && l.contains(name)
                && l.contains("wrong password")),
            "{name}: {err}"
        );
    }
    let written = files_below(&tmp.path().join("out"));
    // The empty file has no data to check a password against: no entry with data is written.
    assert!(
        written.iter().all(|p| p.ends_with("empty")),
        "written with a wrong password: {written:?}"
    );
    assert_no_partial_files(&tmp.path().join("out"));

    // Without any password: each entry says so.
    let out = shrinkwrap(&["test", "enc.zip"], tmp.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("no password"), "{}", stderr(&out));
}

#[test]
fn a_killed_encrypted_job_leaves_a_journal_without_the_password() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("in/big.log"), &text(96 << 20));
    write(
        &tmp.path().join("pass.txt"),
        format!("{PASSWORD}\n").as_bytes(),
    );
    let mut child = cli(tmp.path())
        .args([
            "zip",
            "in",
            "--output",
            "big.zip",
            "--password-file",
            "pass.txt",
            "--level",
            "9",
            "--jobs",
            "1",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_ne!(v["event"], "finished", "finished before the kill: {v}");
        if v["event"] == "progress" && v["bytes_done"].as_u64().unwrap_or(0) > 0 {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!seen.contains(PASSWORD), "the password in --json");
    let journals: Vec<_> = files_below(&tmp.path().join(".state"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "journal"))
        .collect();
    assert_eq!(journals.len(), 1, "{journals:?}");
    let journal = fs::read_to_string(tmp.path().join(".state").join(&journals[0])).unwrap();
    assert!(!journal.contains(PASSWORD), "the password in the journal");
    assert!(journal.contains("\"password\":true"), "{journal}");
    assert!(files_containing(tmp.path().join(".state").as_path(), PASSWORD.as_bytes()).is_empty());
    // Resuming cannot guess it: refused, naming why, nothing written unencrypted.
    let out = shrinkwrap(&["resume"], tmp.path());
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("password"), "{}", stderr(&out));
    assert!(!tmp.path().join("big.zip").exists());
}
