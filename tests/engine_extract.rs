//! The extract kind end to end: hostile archives written byte by byte by the tests themselves
//! (each refusal named, nothing landing outside the output folder, good entries byte-exact),
//! round trips of our own, Info-ZIP's and 7-Zip's archives, AES-256 both ways, "Test", the dry
//! run, and the zip job's exclude patterns.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use shrinkwrap::engine::kinds::extract::error::ExtractError;
use shrinkwrap::engine::kinds::extract::spec::ExtractSpec;
use shrinkwrap::engine::model::error::KindCause;
use shrinkwrap::engine::model::password::Password;
use shrinkwrap::engine::{
    Action, Cause, ConflictPolicy, Engine, ItemError, JobEvent, JobOutcome, JobReport, JobSpec,
    Plan, ProblemKind, SkipReason, ZipSpec,
};

// ----- A raw zip writer for crafted archives -----

/// One entry of a crafted archive: every header field as the test wants it, true or not.
#[derive(Clone)]
struct Raw {
    name: Vec<u8>,
    /// The bytes stored as the entry's data (compressed or not).
    data: Vec<u8>,
    method: u16,
    crc32: u32,
    /// The uncompressed size the headers state.
    size: u32,
    /// Unix mode (type and permission bits), written with "made by Unix".
    mode: Option<u32>,
    flags: u16,
    /// Central record only, pointing at the local header of entry `n` (no data of its own).
    shares_data_of: Option<usize>,
}

impl Raw {
    fn stored(name: &str, data: &[u8]) -> Raw {
        Raw::stored_bytes(name.as_bytes(), data)
    }

    fn stored_bytes(name: &[u8], data: &[u8]) -> Raw {
        Raw {
            name: name.to_vec(),
            data: data.to_vec(),
            method: 0,
            crc32: crc32fast::hash(data),
            size: data.len() as u32,
            mode: None,
            flags: 0,
            shares_data_of: None,
        }
    }

    fn deflated(name: &str, data: &[u8]) -> Raw {
        let mut enc =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        Raw {
            data: enc.finish().unwrap(),
            method: 8,
            ..Raw::stored(name, data)
        }
    }

    fn mode(mut self, mode: u32) -> Raw {
        self.mode = Some(mode);
        self
    }
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// The archive's bytes: local headers and data, central directory, end record.
fn build(entries: &[Raw]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for e in entries {
        if let Some(n) = e.shares_data_of {
            offsets.push(offsets[n]);
            continue;
        }
        offsets.push(out.len() as u32);
        put32(&mut out, 0x0403_4b50);
        put16(&mut out, 20);
        put16(&mut out, e.flags);
        put16(&mut out, e.method);
        put16(&mut out, 0);
        put16(&mut out, 0x21);
        put32(&mut out, e.crc32);
        put32(&mut out, e.data.len() as u32);
        put32(&mut out, e.size);
        put16(&mut out, e.name.len() as u16);
        put16(&mut out, 0);
        out.extend_from_slice(&e.name);
        out.extend_from_slice(&e.data);
    }
    let central_start = out.len() as u32;
    for (e, offset) in entries.iter().zip(&offsets) {
        let shared = e.shares_data_of.map(|n| &entries[n]);
        let data_len = shared.map_or(e.data.len(), |s| s.data.len()) as u32;
        put32(&mut out, 0x0201_4b50);
        put16(&mut out, if e.mode.is_some() { (3 << 8) | 20 } else { 20 });
        put16(&mut out, 20);
        put16(&mut out, e.flags);
        put16(&mut out, e.method);
        put16(&mut out, 0);
        put16(&mut out, 0x21);
        put32(&mut out, e.crc32);
        put32(&mut out, data_len);
        put32(&mut out, e.size);
        put16(&mut out, e.name.len() as u16);
        put16(&mut out, 0);
        put16(&mut out, 0);
        put16(&mut out, 0);
        put16(&mut out, 0);
        put32(&mut out, e.mode.map_or(0, |m| m << 16));
        put32(&mut out, *offset);
        out.extend_from_slice(&e.name);
    }
    let central_bytes = out.len() as u32 - central_start;
    put32(&mut out, 0x0605_4b50);
    put16(&mut out, 0);
    put16(&mut out, 0);
    put16(&mut out, entries.len() as u16);
    put16(&mut out, entries.len() as u16);
    put32(&mut out, central_bytes);
    put32(&mut out, central_start);
    put16(&mut out, 0);
    out
}

// ----- Running jobs -----

/// A folder for one test: `work/` holds the archives, `work/out/` is the output folder, and
/// everything else in the temporary folder is "outside".
struct Place {
    tmp: tempfile::TempDir,
}

impl Place {
    fn new() -> Place {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("work")).unwrap();
        Place { tmp }
    }
    fn work(&self) -> PathBuf {
        self.tmp.path().join("work")
    }
    fn out(&self) -> PathBuf {
        self.work().join("out")
    }
    fn archive(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.work().join(name);
        fs::write(&path, bytes).unwrap();
        path
    }
    /// Every file or link in the temporary folder that is not an archive we made nor below the
    /// output folder: must stay empty.
    fn outside(&self, archives: &[&Path]) -> Vec<PathBuf> {
        walkdir::WalkDir::new(self.tmp.path())
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| !e.file_type().is_dir())
            .map(|e| e.path().to_path_buf())
            .filter(|p| !p.starts_with(self.out()) && !archives.contains(&p.as_path()))
            .filter(|p| !p.starts_with(self.tmp.path().join("state")))
            .collect()
    }
    fn engine(&self) -> Engine {
        Engine::with_state_dir(2, Some(self.tmp.path().join("state")))
    }
}

fn extract(engine: &Engine, spec: ExtractSpec) -> JobReport {
    run_job(engine, JobSpec::Extract(spec)).0
}

/// The problem reported for the entry `name` of `archive`, as text.
fn problem_of(report: &JobReport, archive: &Path, name: &str) -> String {
    let label = format!("{}/{name}", archive.display());
    report
        .problems
        .iter()
        .find(|p| p.path.to_string_lossy() == label)
        .map(|p| p.cause.to_string())
        .unwrap_or_else(|| panic!("no problem reported for {label}: {:#?}", report.problems))
}

/// The extract kind's own error behind the problem of entry `name`.
fn kind_error_of<'r>(report: &'r JobReport, archive: &Path, name: &str) -> &'r ExtractError {
    let label = format!("{}/{name}", archive.display());
    let problem = report
        .problems
        .iter()
        .find(|p| p.path.to_string_lossy() == label)
        .unwrap_or_else(|| panic!("no problem reported for {label}: {:#?}", report.problems));
    let cause: &KindCause = match &problem.cause {
        Cause::Plan(SkipReason::Kind(c)) => c,
        Cause::Item(e) => match &**e {
            ItemError::Kind(c) => c,
            other => panic!("{label}: not the extract kind's error: {other}"),
        },
        other => panic!("{label}: not the extract kind's error: {other}"),
    };
    cause
        .downcast_ref()
        .unwrap_or_else(|| panic!("{label}: {cause}"))
}

/// Files below `dir`, relative name -> bytes (links: their target, prefixed "-> ").
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        let rel = e
            .path()
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if e.file_type().is_symlink() {
            let t = fs::read_link(e.path()).unwrap();
            out.insert(rel, format!("-> {}", t.display()).into_bytes());
        } else if e.file_type().is_file() {
            out.insert(rel, fs::read(e.path()).unwrap());
        }
    }
    out
}

// ----- Hostile archives -----

#[test]
fn names_that_leave_the_output_folder_are_refused_by_name() {
    let place = Place::new();
    let absolute = place.tmp.path().join("absolute-target.txt");
    let entries = vec![
        Raw::stored("good/ok.txt", b"fine\n"),
        Raw::stored("../evil-parent.txt", b"x"),
        Raw::stored("good/../../evil-climb.txt", b"x"),
        Raw::stored(absolute.to_str().unwrap(), b"x"),
        Raw::stored("..\\..\\evil-backslash.txt", b"x"),
        Raw::stored("C:/evil-drive.txt", b"x"),
        Raw::stored("./dot.txt", b"x"),
        Raw::stored("good//empty-part.txt", b"x"),
    ];
    let zip = place.archive("hostile.zip", &build(&entries));
    let engine = place.engine();
    let report = extract(&engine, ExtractSpec::new(vec![zip.clone()], place.out()));
    assert_eq!(report.outcome, JobOutcome::DoneWithErrors, "{report:#?}");
    for e in &entries[1..] {
        let name = String::from_utf8(e.name.clone()).unwrap();
        let why = problem_of(&report, &zip, &name);
        assert!(why.starts_with("refused: its name"), "{name}: {why}");
    }
    assert!(matches!(
        kind_error_of(&report, &zip, "../evil-parent.txt"),
        ExtractError::UnsafeName(_)
    ));
    // The only well-named entries sit in one folder: straight into the output folder.
    assert_eq!(
        tree(&place.out()),
        BTreeMap::from([("good/ok.txt".to_owned(), b"fine\n".to_vec())])
    );
    assert_eq!(place.outside(&[&zip]), Vec::<PathBuf>::new());
    assert!(!absolute.exists());
}

#[test]
fn a_link_pointing_out_and_a_file_through_it_are_refused() {
    for create_symlinks in [false, true] {
        let place = Place::new();
        let entries = vec![
            Raw::stored("top/escape", b"../../..").mode(0o120_777),
            Raw::stored("top/escape/passwd", b"owned\n"),
            Raw::stored("top/up", b"../..").mode(0o120_777),
            Raw::stored("top/abs", b"/etc").mode(0o120_777),
            Raw::stored("top/docs/v1/readme.txt", b"v1\n"),
            Raw::stored("top/docs/latest", b"v1").mode(0o120_777),
        ];
        let zip = place.archive("links.zip", &build(&entries));
        let engine = place.engine();
        let mut spec = ExtractSpec::new(vec![zip.clone()], place.out());
        spec.create_symlinks = create_symlinks;
        let report = extract(&engine, spec);
        assert_eq!(report.outcome, JobOutcome::DoneWithErrors, "{report:#?}");
        assert!(matches!(
            kind_error_of(&report, &zip, "top/escape/passwd"),
            ExtractError::ThroughLink { .. }
        ));
        let mut expected =
            BTreeMap::from([("top/docs/v1/readme.txt".to_owned(), b"v1\n".to_vec())]);
        if create_symlinks {
            for name in ["top/escape", "top/up", "top/abs"] {
                assert!(
                    matches!(
                        kind_error_of(&report, &zip, name),
                        ExtractError::LinkOutside { .. }
                    ),
                    "{name}"
                );
            }
            expected.insert("top/docs/latest".to_owned(), b"-> v1".to_vec());
        } else {
            for name in ["top/escape", "top/up", "top/abs", "top/docs/latest"] {
                assert_eq!(
                    problem_of(&report, &zip, name),
                    "symbolic link not created (links are created only when asked)"
                );
                let p = report
                    .problems
                    .iter()
                    .find(|p| p.path.to_string_lossy().ends_with(name))
                    .unwrap();
                assert_eq!(p.kind, ProblemKind::Skipped);
            }
        }
        assert_eq!(
            tree(&place.out()),
            expected,
            "links created: {create_symlinks}"
        );
        assert_eq!(place.outside(&[&zip]), Vec::<PathBuf>::new());
    }
}

#[test]
fn a_link_already_in_the_output_folder_is_never_written_through() {
    let place = Place::new();
    let elsewhere = place.tmp.path().join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    fs::create_dir_all(place.out()).unwrap();
    std::os::unix::fs::symlink(&elsewhere, place.out().join("top")).unwrap();
    let zip = place.archive(
        "a.zip",
        &build(&[
            Raw::stored("top/file.txt", b"x"),
            Raw::stored("top/b.txt", b"y"),
        ]),
    );
    let engine = place.engine();
    let report = extract(&engine, ExtractSpec::new(vec![zip.clone()], place.out()));
    assert_eq!(report.outcome, JobOutcome::DoneWithErrors, "{report:#?}");
    assert!(matches!(
        kind_error_of(&report, &zip, "top/file.txt"),
        ExtractError::LinkInTheWay { .. }
    ));
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn duplicate_names_keep_the_last_and_say_so() {
    let place = Place::new();
    let zip = place.archive(
        "dup.zip",
        &build(&[
            Raw::stored("dup.txt", b"first\n"),
            Raw::stored("other.txt", b"other\n"),
            Raw::stored("dup.txt", b"second\n"),
        ]),
    );
    let engine = place.engine();
    let report = extract(&engine, ExtractSpec::new(vec![zip.clone()], place.out()));
    assert_eq!(report.outcome, JobOutcome::Done, "{report:#?}");
    let dup = report
        .problems
        .iter()
        .find(|p| p.path == zip)
        .expect("the duplicates are listed");
    assert_eq!(dup.kind, ProblemKind::Skipped);
    assert!(
        dup.cause.to_string().contains("share a name"),
        "{}",
        dup.cause
    );
    assert_eq!(
        tree(&place.out()),
        BTreeMap::from([
            ("dup/dup.txt".to_owned(), b"second\n".to_vec()),
            ("dup/other.txt".to_owned(), b"other\n".to_vec()),
        ])
    );
}

#[test]
fn fifos_are_never_made_and_setuid_only_when_asked() {
    for restore_setuid in [false, true] {
        let place = Place::new();
        let zip = place.archive(
            "modes.zip",
            &build(&[
                Raw::stored("m/pipe", b"").mode(0o010_644),
                Raw::stored("m/device", b"").mode(0o020_644),
                Raw::stored("m/tool", b"#!/bin/sh\n").mode(0o104_755),
                Raw::stored("m/private", b"secret\n").mode(0o100_600),
            ]),
        );
        let engine = place.engine();
        let mut spec = ExtractSpec::new(vec![zip.clone()], place.out());
        spec.restore_setuid = restore_setuid;
        let report = extract(&engine, spec);
        assert_eq!(report.outcome, JobOutcome::Done, "{report:#?}");
        assert_eq!(
            problem_of(&report, &zip, "m/pipe"),
            "refused: a FIFO is never created"
        );
        assert_eq!(
            problem_of(&report, &zip, "m/device"),
            "refused: a character device is never created"
        );
        assert!(!place.out().join("m/pipe").exists());
        let tool = fs::metadata(place.out().join("m/tool")).unwrap().mode() & 0o7777;
        assert_eq!(tool, if restore_setuid { 0o4755 } else { 0o755 });
        let private = fs::metadata(place.out().join("m/private")).unwrap().mode() & 0o7777;
        assert_eq!(private, 0o600);
    }
}

#[test]
fn a_lying_size_and_a_bad_crc_leave_no_file() {
    let place = Place::new();
    let big = text(100_000);
    let mut lying = Raw::deflated("d/lying.txt", &big);
    lying.size = 1000;
    let mut bad_crc = Raw::stored("d/bad-crc.txt", b"these bytes are not what the CRC says\n");
    bad_crc.crc32 ^= 0xdead_beef;
    let mut short = Raw::stored("d/short.txt", b"short");
    short.size = 10;
    short.data.truncate(5);
    let zip = place.archive(
        "lies.zip",
        &build(&[lying, bad_crc, Raw::stored("d/good.txt", b"good\n")]),
    );
    let engine = place.engine();
    let report = extract(&engine, ExtractSpec::new(vec![zip.clone()], place.out()));
    assert_eq!(report.outcome, JobOutcome::DoneWithErrors, "{report:#?}");
    assert!(matches!(
        kind_error_of(&report, &zip, "d/lying.txt"),
        ExtractError::LargerThanStated { stated_bytes: 1000 }
    ));
    assert!(matches!(
        kind_error_of(&report, &zip, "d/bad-crc.txt"),
        ExtractError::CrcMismatch { .. }
    ));
    assert_eq!(
        tree(&place.out()),
        BTreeMap::from([("d/good.txt".to_owned(), b"good\n".to_vec())])
    );
    assert_no_partial_files(&place.out());
    // "Test" finds the same two, writing nothing.
    let test = extract(&engine, ExtractSpec::test(vec![zip.clone()]));
    assert_eq!(test.outcome, JobOutcome::DoneWithErrors, "{test:#?}");
    assert!(matches!(
        kind_error_of(&test, &zip, "d/bad-crc.txt"),
        ExtractError::CrcMismatch { .. }
    ));
    assert!(matches!(
        kind_error_of(&test, &zip, "d/lying.txt"),
        ExtractError::LargerThanStated { .. }
    ));
    assert_eq!(
        test.outputs,
        vec![PathBuf::from(format!("{}/d/good.txt", zip.display()))]
    );
}

#[test]
fn overlapping_entries_are_refused_in_the_plan() {
    let place = Place::new();
    let kernel = Raw::deflated("bomb/0", &vec![0u8; 1 << 20]);
    let mut entries = vec![kernel.clone()];
    for n in 1..6 {
        entries.push(Raw {
            name: format!("bomb/{n}").into_bytes(),
            shares_data_of: Some(0),
            ..kernel.clone()
        });
    }
    entries.push(Raw::stored("bomb/fine.txt", b"fine\n"));
    let zip = place.archive("overlap.zip", &build(&entries));
    let engine = place.engine();
    let dry = engine
        .submit_dry_run(JobSpec::Extract(ExtractSpec::new(
            vec![zip.clone()],
            place.out(),
        )))
        .unwrap();
    let plan = plan_of(&engine, dry);
    for n in 0..6 {
        let label = PathBuf::from(format!("{}/bomb/{n}", zip.display()));
        let item = plan.items.iter().find(|i| i.input == label).unwrap();
        assert!(
            matches!(&item.action, Action::Skip(SkipReason::Kind(c))
                if matches!(c.downcast_ref(), Some(ExtractError::Overlapping))),
            "{item:?}"
        );
    }
    let report = extract(&engine, ExtractSpec::new(vec![zip.clone()], place.out()));
    assert_eq!(report.outcome, JobOutcome::DoneWithErrors);
    assert_eq!(
        tree(&place.out()),
        BTreeMap::from([("bomb/fine.txt".to_owned(), b"fine\n".to_vec())])
    );
}

#[test]
fn unsupported_methods_and_nested_archives() {
    let place = Place::new();
    let inner = build(&[Raw::stored("inside.txt", b"inside\n")]);
    let mut zstd = Raw::stored("n/zstd.bin", b"pretend");
    zstd.method = 93;
    let zip = place.archive(
        "outer.zip",
        &build(&[
            zstd,
            Raw::stored("n/inner.zip", &inner),
            Raw::stored("n/a.txt", b"a"),
        ]),
    );
    let engine = place.engine();
    let report = extract(&engine, ExtractSpec::new(vec![zip.clone()], place.out()));
    assert_eq!(report.outcome, JobOutcome::DoneWithErrors, "{report:#?}");
    assert!(matches!(
        kind_error_of(&report, &zip, "n/zstd.bin"),
        ExtractError::UnsupportedMethod(_)
    ));
    // The nested archive stays a file, byte for byte.
    assert_eq!(
        tree(&place.out()),
        BTreeMap::from([
            ("n/a.txt".to_owned(), b"a".to_vec()),
            ("n/inner.zip".to_owned(), inner),
        ])
    );
}

#[test]
fn an_encrypted_entry_needs_its_password() {
    let place = Place::new();
    let src = place.tmp.path().join("secret");
    write(&src.join("plans.txt"), &text(50_000));
    write(&src.join("tiny.txt"), b"tiny");
    let zip = place.work().join("secret.zip");
    let engine = place.engine();
    let mut zs = ZipSpec::new(vec![src.clone()], zip.clone());
    zs.password = Some(Password::new("correct horse"));
    let (made, _) = run_job(&engine, JobSpec::Zip(zs));
    assert_eq!(made.outcome, JobOutcome::Done, "{made:#?}");

    // Without a password: each encrypted entry is an error, named; nothing written.
    let report = extract(&engine, ExtractSpec::new(vec![zip.clone()], place.out()));
    assert_eq!(report.outcome, JobOutcome::DoneWithErrors);
    assert!(matches!(
        kind_error_of(&report, &zip, "secret/plans.txt"),
        ExtractError::NeedsPassword
    ));
    assert!(tree(&place.out()).is_empty());

    // A wrong password: an error per entry, nothing written.
    let mut wrong = ExtractSpec::new(vec![zip.clone()], place.out());
    wrong.password = Some(Password::new("wrong"));
    let report = extract(&engine, wrong);
    assert_eq!(report.outcome, JobOutcome::DoneWithErrors);
    assert!(matches!(
        kind_error_of(&report, &zip, "secret/tiny.txt"),
        ExtractError::WrongPassword
    ));
    assert!(tree(&place.out()).is_empty());
    assert_no_partial_files(&place.out());

    // The right one, from a file: byte-exact.
    let pw_file = place.tmp.path().join("pw.txt");
    fs::write(&pw_file, "correct horse\n").unwrap();
    let mut right = ExtractSpec::new(vec![zip.clone()], place.out());
    right.password_file = Some(pw_file);
    let report = extract(&engine, right);
    assert_eq!(report.outcome, JobOutcome::Done, "{report:#?}");
    assert_eq!(
        fs::read(place.out().join("secret/plans.txt")).unwrap(),
        text(50_000)
    );
    assert_eq!(
        fs::read(place.out().join("secret/tiny.txt")).unwrap(),
        b"tiny"
    );
}

#[test]
fn a_gibibyte_of_zeros_extracts_in_bounded_memory() {
    let place = Place::new();
    let zeros = place.tmp.path().join("zeros.bin");
    let file = fs::File::create(&zeros).unwrap();
    file.set_len(1 << 30).unwrap();
    drop(file);
    let zip = place.work().join("zeros.zip");
    let engine = place.engine();
    let mut zs = ZipSpec::new(vec![zeros.clone()], zip.clone());
    zs.level = 9;
    let (made, _) = run_job(&engine, JobSpec::Zip(zs));
    assert_eq!(made.outcome, JobOutcome::Done);
    let archive_bytes = fs::metadata(&zip).unwrap().len();
    assert!(archive_bytes < 4 << 20, "{archive_bytes}");
    fs::remove_file(&zeros).unwrap();
    let report = extract(&engine, ExtractSpec::new(vec![zip.clone()], place.out()));
    let out = place.out().join("zeros.bin");
    match report.outcome {
        JobOutcome::Done => {
            assert_eq!(fs::metadata(&out).unwrap().len(), 1 << 30);
            let mut f = fs::File::open(&out).unwrap();
            let mut buf = vec![0u8; 1 << 20];
            let mut total = 0u64;
            loop {
                let n = f.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                assert!(buf[..n].iter().all(|&b| b == 0));
                total += n as u64;
            }
            assert_eq!(total, 1 << 30);
        }
        JobOutcome::Failed => {
            let failure = report.failure.unwrap().to_string();
            assert!(failure.starts_with("not enough free space"), "{failure}");
            assert!(!out.exists());
        }
        other => panic!("{other:?}: {report:#?}"),
    }
    assert_no_partial_files(&place.out());
}

// ----- Round trips -----

fn build_tree(root: &Path) {
    write(&root.join("readme.txt"), b"hello\n");
    write(&root.join("empty-file"), b"");
    fs::create_dir_all(root.join("empty-folder")).unwrap();
    write(&root.join("a/b/c/notes.md"), &text(100_000));
    write(&root.join("a/Grüße/日本語.txt"), "こんにちは\n".as_bytes());
    write(&root.join("a/noise.bin"), &noise(300_000, 3));
    write(&root.join("big/text.log"), &text(3 << 20));
    fs::set_permissions(root.join("readme.txt"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::set_permissions(root.join("a/noise.bin"), fs::Permissions::from_mode(0o755)).unwrap();
}

/// Every file below `a` and `b` equal, with the same permission bits and modification times
/// (to the second).
fn assert_same_tree(a: &Path, b: &Path) {
    assert_eq!(tree(a), tree(b));
    for name in tree(a).keys() {
        let (ma, mb) = (
            fs::metadata(a.join(name)).unwrap(),
            fs::metadata(b.join(name)).unwrap(),
        );
        assert_eq!(ma.mode() & 0o777, mb.mode() & 0o777, "{name}");
        assert_eq!(ma.mtime(), mb.mtime(), "{name}");
    }
    let dirs = |d: &Path| -> Vec<PathBuf> {
        walkdir::WalkDir::new(d)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_dir())
            .map(|e| e.path().strip_prefix(d).unwrap().to_path_buf())
            .collect()
    };
    let (mut da, mut db) = (dirs(a), dirs(b));
    da.sort();
    db.sort();
    assert_eq!(da, db);
}

#[test]
fn our_archives_at_every_level_come_back_byte_exact() {
    let place = Place::new();
    let root = place.tmp.path().join("tree");
    build_tree(&root);
    let engine = place.engine();
    for level in [0u8, 1, 6, 9] {
        let zip = place.work().join(format!("tree-{level}.zip"));
        let mut zs = ZipSpec::new(vec![root.clone()], zip.clone());
        zs.level = level;
        assert_eq!(
            run_job(&engine, JobSpec::Zip(zs)).0.outcome,
            JobOutcome::Done
        );
        let out = place.work().join(format!("out-{level}"));
        let report = extract(&engine, ExtractSpec::new(vec![zip], out.clone()));
        assert_eq!(report.outcome, JobOutcome::Done, "{report:#?}");
        // One top-level folder: straight into the output folder.
        assert_same_tree(&root, &out.join("tree"));
    }
}

#[test]
fn info_zip_and_7zip_archives_come_back_byte_exact() {
    let place = Place::new();
    let root = place.tmp.path().join("tree");
    build_tree(&root);
    let engine = place.engine();
    let infozip = place.work().join("infozip.zip");
    let status = Command::new("zip")
        .arg("-qr")
        .arg(&infozip)
        .arg("tree")
        .current_dir(place.tmp.path())
        .status()
        .expect("Info-ZIP's zip is installed");
    assert!(status.success());
    let sevenzip = place.work().join("7zip.zip");
    let status = Command::new("7z")
        .args(["a", "-tzip", "-bso0", "-bsp0"])
        .arg(&sevenzip)
        .arg("tree")
        .current_dir(place.tmp.path())
        .status()
        .expect("7-Zip is installed");
    assert!(status.success());
    for zip in [&infozip, &sevenzip] {
        let out = place.work().join(format!(
            "out-{}",
            zip.file_stem().unwrap().to_string_lossy()
        ));
        let report = extract(&engine, ExtractSpec::new(vec![zip.clone()], out.clone()));
        assert_eq!(report.outcome, JobOutcome::Done, "{report:#?}");
        assert_eq!(tree(&root), tree(&out.join("tree")), "{}", zip.display());
        assert_eq!(
            fs::metadata(root.join("a/b/c/notes.md")).unwrap().mtime(),
            fs::metadata(out.join("tree/a/b/c/notes.md"))
                .unwrap()
                .mtime(),
            "{}",
            zip.display()
        );
    }
}

#[test]
fn aes_archives_both_ways_with_7zip_and_the_zip_crate() {
    let place = Place::new();
    let root = place.tmp.path().join("tree");
    build_tree(&root);
    let engine = place.engine();

    // Ours (stored and deflated, whole and in blocks), read by 7-Zip, by the zip crate and by
    // our own extract.
    for level in [0u8, 6] {
        let ours = place.work().join(format!("ours-{level}.zip"));
        let mut zs = ZipSpec::new(vec![root.clone()], ours.clone());
        zs.password = Some(Password::new("PASSWORD"));
        zs.level = level;
        let (made, _) = run_job(&engine, JobSpec::Zip(zs));
        assert_eq!(made.outcome, JobOutcome::Done, "{made:#?}");
        let by_7z = place.tmp.path().join(format!("by-7z-{level}"));
        let status = Command::new("7z")
            .args(["x", "-pPASSWORD", "-bso0", "-bsp0"])
            .arg(format!("-o{}", by_7z.display()))
            .arg(&ours)
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(tree(&root), tree(&by_7z.join("tree")), "level {level}");
        let by_us = place.tmp.path().join(format!("by-us-{level}"));
        let mut spec = ExtractSpec::new(vec![ours.clone()], by_us.clone());
        spec.password = Some(Password::new("PASSWORD"));
        let report = extract(&engine, spec);
        assert_eq!(report.outcome, JobOutcome::Done, "{report:#?}");
        assert_same_tree(&root, &by_us.join("tree"));
    }
    let ours = place.work().join("ours-6.zip");
    let mut archive = zip::ZipArchive::new(fs::File::open(&ours).unwrap()).unwrap();
    let mut notes = Vec::new();
    archive
        .by_name_decrypt("tree/a/b/c/notes.md", b"PASSWORD")
        .unwrap()
        .read_to_end(&mut notes)
        .unwrap();
    assert_eq!(notes, text(100_000));
    assert!(
        archive.by_name_decrypt("tree/readme.txt", b"nope").is_err(),
        "a wrong password is refused"
    );
    // 7-Zip with a wrong password fails.
    let wrong = Command::new("7z")
        .args(["t", "-pWRONG", "-bso0", "-bsp0", "-bse0"])
        .arg(&ours)
        .status()
        .unwrap();
    assert!(!wrong.success());

    // 7-Zip's, read by us.
    let theirs = place.work().join("theirs.zip");
    let status = Command::new("7z")
        .args(["a", "-tzip", "-mem=AES256", "-pPASSWORD", "-bso0", "-bsp0"])
        .arg(&theirs)
        .arg("tree")
        .current_dir(place.tmp.path())
        .status()
        .unwrap();
    assert!(status.success());
    let mut spec = ExtractSpec::new(vec![theirs.clone()], place.out());
    spec.password = Some(Password::new("PASSWORD"));
    let report = extract(&engine, spec);
    assert_eq!(report.outcome, JobOutcome::Done, "{report:#?}");
    assert_eq!(tree(&root), tree(&place.out().join("tree")));

    // The password is in no journal and no JSON event.
    let mut journals = String::new();
    for f in walkdir::WalkDir::new(place.tmp.path().join("state"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
    {
        journals.push_str(&String::from_utf8_lossy(&fs::read(f.path()).unwrap()));
    }
    assert!(!journals.contains("PASSWORD"));
    let mut spec = ExtractSpec::new(vec![theirs.clone()], place.work().join("dry"));
    spec.password = Some(Password::new("PASSWORD"));
    let id = engine
        .submit_dry_run(JobSpec::Extract(spec.clone()))
        .unwrap();
    let plan = plan_of(&engine, id);
    let line = JobEvent::Plan(std::sync::Arc::new(plan))
        .to_json_line()
        .unwrap();
    assert!(!line.contains("PASSWORD"));
    let json = serde_json::to_string(&JobSpec::Extract(spec)).unwrap();
    assert!(!json.contains("PASSWORD"), "{json}");
}

// ----- Placement, test, dry run -----

#[test]
fn smart_placement() {
    let place = Place::new();
    let one_folder = place.archive(
        "one-folder.zip",
        &build(&[
            Raw::stored("proj/", b"").mode(0o040_755),
            Raw::stored("proj/a.txt", b"a"),
        ]),
    );
    let one_file = place.archive("one-file.zip", &build(&[Raw::stored("only.txt", b"o")]));
    let loose = place.archive(
        "Loose.ZIP",
        &build(&[Raw::stored("x.txt", b"x"), Raw::stored("y/z.txt", b"z")]),
    );
    let engine = place.engine();
    let report = extract(
        &engine,
        ExtractSpec::new(vec![one_folder, one_file, loose], place.out()),
    );
    assert_eq!(report.outcome, JobOutcome::Done, "{report:#?}");
    assert_eq!(
        tree(&place.out()),
        BTreeMap::from([
            ("Loose/x.txt".to_owned(), b"x".to_vec()),
            ("Loose/y/z.txt".to_owned(), b"z".to_vec()),
            ("only.txt".to_owned(), b"o".to_vec()),
            ("proj/a.txt".to_owned(), b"a".to_vec()),
        ])
    );
    // Again: nothing is replaced, the new copies are renamed.
    let again = extract(
        &engine,
        ExtractSpec::new(vec![place.work().join("one-file.zip")], place.out()),
    );
    assert_eq!(again.outcome, JobOutcome::Done);
    assert_eq!(fs::read(place.out().join("only (1).txt")).unwrap(), b"o");
    // Overwrite when asked.
    let mut over = ExtractSpec::new(vec![place.work().join("one-file.zip")], place.out());
    over.on_conflict = ConflictPolicy::Overwrite;
    fs::write(place.out().join("only.txt"), b"changed").unwrap();
    assert_eq!(extract(&engine, over).outcome, JobOutcome::Done);
    assert_eq!(fs::read(place.out().join("only.txt")).unwrap(), b"o");
}

/// Waits for `id`'s plan and its end.
fn plan_of(engine: &Engine, id: shrinkwrap::engine::JobId) -> Plan {
    let mut plan = None;
    loop {
        match engine.events().recv_timeout(JOB_DEADLINE).unwrap() {
            JobEvent::Plan(p) if p.job == id => plan = Some((*p).clone()),
            JobEvent::Finished(r) if r.progress.job == id => {
                return plan.unwrap_or_else(|| panic!("no plan: {r:#?}"));
            }
            _ => {}
        }
    }
}

#[test]
fn the_dry_run_equals_the_run_and_test_writes_nothing() {
    let place = Place::new();
    let root = place.tmp.path().join("tree");
    build_tree(&root);
    let engine = place.engine();
    let zip = place.work().join("tree.zip");
    assert_eq!(
        run_job(
            &engine,
            JobSpec::Zip(ZipSpec::new(vec![root.clone()], zip.clone()))
        )
        .0
        .outcome,
        JobOutcome::Done
    );
    let spec = JobSpec::Extract(ExtractSpec::new(vec![zip.clone()], place.out()));
    let dry = plan_of(&engine, engine.submit_dry_run(spec.clone()).unwrap());
    assert!(!place.out().exists(), "a dry run writes nothing");
    let id = engine.submit(spec).unwrap();
    let mut run_plan = None;
    let report = loop {
        match engine.events().recv_timeout(JOB_DEADLINE).unwrap() {
            JobEvent::Plan(p) if p.job == id => run_plan = Some((*p).clone()),
            JobEvent::Finished(r) if r.progress.job == id => break r,
            _ => {}
        }
    };
    let run_plan = run_plan.unwrap();
    assert_eq!(dry.items, run_plan.items);
    assert_eq!(report.outcome, JobOutcome::Done);
    let planned: Vec<PathBuf> = dry.outputs().map(Path::to_path_buf).collect();
    assert_eq!(report.outputs, planned);
    assert_eq!(
        dry.summary.estimated_output_bytes,
        Some(report.output_bytes)
    );
    assert_eq!(report.progress.bytes_done, report.progress.bytes_total);

    // Test: every entry reported intact, nothing written anywhere.
    let before = tree(place.tmp.path());
    let test = extract(&engine, ExtractSpec::test(vec![zip.clone()]));
    assert_eq!(test.outcome, JobOutcome::Done, "{test:#?}");
    let files = tree(&root).len();
    assert_eq!(test.outputs.len(), files);
    let after: BTreeMap<String, Vec<u8>> = tree(place.tmp.path())
        .into_iter()
        .filter(|(k, _)| !k.starts_with("state"))
        .collect();
    let before: BTreeMap<String, Vec<u8>> = before
        .into_iter()
        .filter(|(k, _)| !k.starts_with("state"))
        .collect();
    assert_eq!(before, after);
}

#[test]
fn cancel_mid_extract_leaves_no_partial_file() {
    let place = Place::new();
    let src = place.tmp.path().join("big");
    write(&src.join("a.bin"), &noise(24 << 20, 1));
    write(&src.join("b.bin"), &noise(24 << 20, 2));
    let zip = place.work().join("big.zip");
    let engine = place.engine();
    let mut zs = ZipSpec::new(vec![src.clone()], zip.clone());
    zs.level = 0;
    assert_eq!(
        run_job(&engine, JobSpec::Zip(zs)).0.outcome,
        JobOutcome::Done
    );
    let id = engine
        .submit(JobSpec::Extract(ExtractSpec::new(vec![zip], place.out())))
        .unwrap();
    // On a fast machine the whole extract can end before it is seen running: then there is
    // nothing to cancel, and the outputs must be complete.
    let report = match wait_running_or_finished(&engine, id) {
        None => {
            engine.cancel(id);
            wait_job(&engine, id).0
        }
        Some(report) => report,
    };
    assert!(
        matches!(report.outcome, JobOutcome::Cancelled | JobOutcome::Done),
        "{report:#?}"
    );
    assert_no_partial_files(&place.out());
    // Whatever is there is complete (all of it when the job was done before the cancel).
    let made = tree(&place.out());
    for (name, bytes) in &made {
        let n = if name.ends_with("a.bin") { 1 } else { 2 };
        assert_eq!(bytes, &noise(24 << 20, n), "{name}");
    }
    if report.outcome == JobOutcome::Done {
        assert_eq!(made.len(), 2);
    }
}

// ----- Exclude patterns of zip jobs -----

#[test]
fn zip_excludes_and_gitignore_are_listed_in_the_plan() {
    let place = Place::new();
    let root = place.tmp.path().join("proj");
    write(&root.join("src/main.rs"), b"fn main() {}\n");
    write(&root.join("src/scratch.tmp"), b"tmp");
    write(&root.join("node_modules/dep/index.js"), b"js");
    write(&root.join(".git/HEAD"), b"ref");
    write(&root.join("target/debug/app"), b"bin");
    write(&root.join("notes.log"), b"log");
    write(&root.join(".gitignore"), b"/target\n*.log\n");
    let engine = place.engine();
    let zip = place.work().join("proj.zip");
    let mut zs = ZipSpec::new(vec![root.clone()], zip.clone());
    zs.excludes = vec!["*.tmp".into(), "node_modules/".into(), ".git/".into()];
    zs.honour_gitignore = true;
    let id = engine.submit(JobSpec::Zip(zs)).unwrap();
    let plan = {
        let mut plan = None;
        loop {
            match engine.events().recv_timeout(JOB_DEADLINE).unwrap() {
                JobEvent::Plan(p) if p.job == id => plan = Some((*p).clone()),
                JobEvent::Finished(r) if r.progress.job == id => {
                    assert_eq!(r.outcome, JobOutcome::Done, "{r:#?}");
                    break plan.unwrap();
                }
                _ => {}
            }
        }
    };
    let excluded: BTreeMap<String, String> = plan
        .items
        .iter()
        .filter_map(|i| match &i.action {
            Action::Skip(SkipReason::Excluded { pattern }) => Some((
                i.output.as_ref().unwrap().to_string_lossy().into_owned(),
                pattern.clone(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        excluded.get("proj/src/scratch.tmp").map(String::as_str),
        Some("*.tmp")
    );
    assert_eq!(
        excluded.get("proj/node_modules").map(String::as_str),
        Some("node_modules/")
    );
    assert_eq!(excluded.get("proj/.git").map(String::as_str), Some(".git/"));
    assert!(
        excluded["proj/target"].starts_with("/target"),
        "{excluded:?}"
    );
    assert!(
        excluded["proj/notes.log"].starts_with("*.log"),
        "{excluded:?}"
    );
    assert_eq!(excluded.len(), 5, "{excluded:?}");
    let names: Vec<String> = read_archive(&zip).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        vec!["proj/", "proj/.gitignore", "proj/src/", "proj/src/main.rs"],
    );
}

// ----- Resume after kill -9 -----

/// The child of [`a_killed_extract_resumes_without_redoing_finished_files`]: runs the extract job
/// it is given until a few entries are done, pauses it mid-entry and waits to be killed. Without
/// its environment it does nothing.
#[test]
fn kill_child_extracts_until_paused() {
    let Ok(spec) = std::env::var("SHRINKWRAP_TEST_EXTRACT_CHILD") else {
        return;
    };
    let state = PathBuf::from(std::env::var("SHRINKWRAP_TEST_EXTRACT_STATE").unwrap());
    let spec: JobSpec = serde_json::from_str(&spec).unwrap();
    let engine = Engine::with_state_dir(1, Some(state));
    let id = engine.submit(spec).unwrap();
    loop {
        match engine.events().recv_timeout(JOB_DEADLINE).unwrap() {
            JobEvent::Progress(p) if p.job == id && p.items_done >= 3 => {
                engine.pause(id);
                // Let the worker park inside its current entry, then say so.
                std::thread::sleep(std::time::Duration::from_millis(300));
                println!("PAUSED");
                std::io::stdout().flush().unwrap();
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            }
            JobEvent::Finished(r) if r.progress.job == id => {
                panic!("finished before the kill: {r:#?}")
            }
            _ => {}
        }
    }
}

#[test]
fn a_killed_extract_resumes_without_redoing_finished_files() {
    const PARTS: u64 = 400;
    let place = Place::new();
    let src = place.tmp.path().join("data");
    let mut expected = BTreeMap::new();
    // Many entries, so that the extract lasts many progress intervals even on a fast machine
    // (48 MB in eight entries once ended within one interval, before the child could pause it):
    // each entry costs a file made and renamed whatever its size.
    for n in 0..PARTS {
        let bytes = noise(256 << 10, n + 1);
        write(&src.join(format!("part-{n:03}.bin")), &bytes);
        expected.insert(format!("data/part-{n:03}.bin"), bytes);
    }
    let zip = place.work().join("data.zip");
    let engine = place.engine();
    let mut zs = ZipSpec::new(vec![src.clone()], zip.clone());
    zs.level = 0;
    assert_eq!(
        run_job(&engine, JobSpec::Zip(zs)).0.outcome,
        JobOutcome::Done
    );
    let state = place.tmp.path().join("kill-state");
    let spec = JobSpec::Extract(ExtractSpec::new(vec![zip.clone()], place.out()));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "kill_child_extracts_until_paused",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            "SHRINKWRAP_TEST_EXTRACT_CHILD",
            serde_json::to_string(&spec).unwrap(),
        )
        .env("SHRINKWRAP_TEST_EXTRACT_STATE", &state)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = flume::bounded(1);
    let reader = std::thread::Builder::new().name("child-stdout".to_owned());
    reader
        .spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.contains("PAUSED") {
                    let _ = tx.send(());
                    break;
                }
            }
        })
        .unwrap();
    rx.recv_timeout(JOB_DEADLINE)
        .expect("the child paused its job");
    child.kill().unwrap();
    child.wait().unwrap();

    // Killed mid-entry: complete files and one half-written temporary.
    let done_before: BTreeMap<String, u64> = tree(&place.out())
        .into_iter()
        .filter(|(name, _)| !name.ends_with(".part"))
        .map(|(name, _)| {
            let ino = fs::metadata(place.out().join(&name)).unwrap().ino();
            (name, ino)
        })
        .collect();
    assert!(done_before.len() >= 2, "{done_before:?}");
    assert!(done_before.len() < PARTS as usize, "{done_before:?}");

    let (mut unfinished, set_aside) = shrinkwrap::engine::list_unfinished(&state);
    assert!(set_aside.is_empty(), "{set_aside:?}");
    assert_eq!(unfinished.len(), 1);
    let resumer = Engine::with_state_dir(2, Some(state.clone()));
    let id = resumer.resume_unfinished(unfinished.remove(0)).unwrap();
    let (report, _) = wait_job(&resumer, id);
    assert_eq!(report.outcome, JobOutcome::Done, "{report:#?}");
    // Everything once, byte-exact, nothing renamed beside it, no temporary left.
    assert_eq!(tree(&place.out()), expected);
    assert_no_partial_files(&place.out());
    // What was complete before the kill was kept, not written again.
    for (name, ino) in done_before {
        assert_eq!(
            fs::metadata(place.out().join(&name)).unwrap().ino(),
            ino,
            "{name} was written again"
        );
    }
}

#[test]
fn names_that_are_not_utf8_come_back_with_their_bytes() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let place = Place::new();
    let root = place.tmp.path().join("latin1");
    let file = root.join(OsStr::from_bytes(b"caf\xe9.txt"));
    let folder = root.join(OsStr::from_bytes(b"r\xe9sum\xe9s"));
    write(&file, b"coffee\n");
    write(&folder.join("cv.txt"), b"cv\n");
    let zip = place.work().join("latin1.zip");
    let engine = place.engine();
    let (made, _) = run_job(
        &engine,
        JobSpec::Zip(ZipSpec::new(vec![root.clone()], zip.clone())),
    );
    assert_eq!(made.outcome, JobOutcome::Done, "{made:#?}");
    let report = extract(&engine, ExtractSpec::new(vec![zip], place.out()));
    assert_eq!(report.outcome, JobOutcome::Done, "{report:#?}");
    let out = place.out().join("latin1");
    assert_eq!(
        fs::read(out.join(OsStr::from_bytes(b"caf\xe9.txt"))).unwrap(),
        b"coffee\n"
    );
    assert_eq!(
        fs::read(out.join(OsStr::from_bytes(b"r\xe9sum\xe9s/cv.txt"))).unwrap(),
        b"cv\n"
    );
}

#[test]
#[ignore = "100,000 files in and out; run by .ci/run"]
fn a_hundred_thousand_entries_with_zip64_end_records_come_back() {
    let place = Place::new();
    let root = place.tmp.path().join("many");
    for d in 0..100 {
        let dir = root.join(format!("d{d:02}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..1000 {
            fs::write(dir.join(format!("f{f:03}.txt")), format!("{d}/{f}\n")).unwrap();
        }
    }
    let zip = place.work().join("many.zip");
    let engine = place.engine();
    let (made, _) = run_job(
        &engine,
        JobSpec::Zip(ZipSpec::new(vec![root.clone()], zip.clone())),
    );
    assert_eq!(made.outcome, JobOutcome::Done);
    // More than 65,535 entries: the archive needs the Zip64 end records.
    assert_eq!(
        zip::ZipArchive::new(fs::File::open(&zip).unwrap())
            .unwrap()
            .len(),
        100_101
    );
    let report = extract(&engine, ExtractSpec::new(vec![zip], place.out()));
    assert_eq!(
        report.outcome,
        JobOutcome::Done,
        "{:?}",
        report.problems.first()
    );
    assert_eq!(report.outputs.len(), 100_101);
    assert_eq!(tree(&root), tree(&place.out().join("many")));
}
