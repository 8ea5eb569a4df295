//! "Plan before work": every fault of issue 6 as a test on fresh files. Inputs are never
//! replaced, outputs are decided up front and deterministically, scans never pick up another
//! job's output, dry runs write nothing and plan exactly what the run then does.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Cursor;
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use shrinkwrap::engine::{
    Action, ConflictPolicy, Engine, ExistingArchive, JobEvent, JobOutcome, JobSpec, JobState, Plan,
    PlanWarning, ProblemKind, SkipReason, SubmitError, ThumbSpec, ZipSpec,
};

fn jpeg(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, seed])
    }));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// Every file below `dir`: relative path -> (content hash, inode, mtime). Equal snapshots mean
/// nothing was modified, replaced or deleted.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, u64, i64, i64)> {
    files_below(dir)
        .into_iter()
        .map(|rel| {
            let path = dir.join(&rel);
            let m = fs::symlink_metadata(&path).unwrap();
            let content = if m.file_type().is_symlink() {
                fs::read_link(&path)
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes()
            } else {
                fs::read(&path).unwrap()
            };
            let hash = {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                content.hash(&mut h);
                h.finish()
            };
            (rel, (hash, m.ino(), m.mtime(), m.mtime_nsec()))
        })
        .collect()
}

fn thumb_spec(inputs: Vec<PathBuf>, out: &Path, policy: ConflictPolicy) -> JobSpec {
    let mut spec = ThumbSpec::new(inputs, out.to_path_buf());
    spec.on_conflict = policy;
    JobSpec::Thumbs(spec)
}

/// Runs a job and returns its plan and report.
fn run_with_plan(engine: &Engine, spec: JobSpec) -> (Option<Plan>, shrinkwrap::engine::JobReport) {
    let id = engine.submit(spec).unwrap();
    let mut plan = None;
    loop {
        match engine.events().recv_timeout(JOB_DEADLINE).unwrap() {
            JobEvent::Plan(p) if p.job == id => plan = Some((*p).clone()),
            JobEvent::Finished(r) if r.progress.job == id => return (plan, r),
            _ => {}
        }
    }
}

#[test]
fn originals_are_never_replaced_whatever_the_policy() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    write(&d.join("a.jpg"), &jpeg(600, 400, 10));
    write(&d.join("sub/b.jpg"), &jpeg(500, 300, 20));
    write(&d.join("notes.txt"), b"not an image");
    let engine = Engine::new(2);
    for policy in ConflictPolicy::ALL {
        // A file input with its own folder as output; a folder input with its parent as output.
        for (inputs, out) in [
            (vec![d.join("a.jpg")], d.clone()),
            (vec![d.clone()], tmp.path().to_path_buf()),
            (vec![d.join("sub")], d.clone()),
        ] {
            let before = snapshot(&d);
            let (plan, report) = run_with_plan(&engine, thumb_spec(inputs.clone(), &out, policy));
            let plan = plan.expect("a plan before the work");
            assert_ne!(report.outcome, JobOutcome::Failed, "{policy:?}: {report:?}");
            let after = snapshot(&d);
            for (rel, state) in &before {
                assert_eq!(
                    after.get(rel),
                    Some(state),
                    "{policy:?} {inputs:?} -> {out:?}: input {} was modified",
                    rel.display()
                );
            }
            // Nothing the plan skipped as "would replace an input" was written anyway.
            for item in &plan.items {
                if let Action::Skip(SkipReason::WouldReplaceInput { .. }) = item.action {
                    assert!(
                        !report.outputs.contains(item.output.as_ref().unwrap()),
                        "{item:?}"
                    );
                }
            }
            assert!(
                !plan.warnings.is_empty(),
                "{policy:?} {inputs:?} -> {out:?}: beside the originals, a warning"
            );
            // Clean up what this run made, keep the originals.
            for made in &report.outputs {
                if !before.contains_key(made.strip_prefix(&d).unwrap_or(made)) {
                    let _ = fs::remove_file(made);
                }
            }
            assert_no_partial_files(tmp.path());
        }
    }
}

#[test]
fn the_cli_never_replaces_a_photo_with_its_thumbnail() {
    let tmp = tempfile::tempdir().unwrap();
    let photo = jpeg(800, 600, 33);
    write(&tmp.path().join("d/a.jpg"), &photo);
    let out = shrinkwrap(
        &[
            "thumbs",
            "d/a.jpg",
            "--output",
            "d",
            "--on-conflict",
            "overwrite",
        ],
        tmp.path(),
    );
    assert_eq!(fs::read(tmp.path().join("d/a.jpg")).unwrap(), photo);
    let err = stderr(&out);
    assert!(
        err.contains("warning:") && err.contains("same folder"),
        "{err}"
    );
    assert!(err.contains("would replace an input"), "{err}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "a planned skip is not an error: {err}"
    );
}

#[test]
fn twins_give_the_same_outputs_every_run_for_any_worker_count() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    // Same stem, different content: which one gets "k.jpg" must never vary.
    write(&src.join("k.jpg"), &jpeg(640, 480, 1));
    write(&src.join("k.jpeg"), &jpeg(480, 640, 200));
    write(&src.join("m.png"), &{
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(RgbImage::from_pixel(300, 200, Rgb([9, 9, 9])))
            .write_to(&mut out, ImageFormat::Png)
            .unwrap();
        out.into_inner()
    });
    write(&src.join("m.jpg"), &jpeg(200, 300, 90));
    for policy in [
        ConflictPolicy::Skip,
        ConflictPolicy::Overwrite,
        ConflictPolicy::Update,
        ConflictPolicy::Rename,
    ] {
        let mut reference: Option<BTreeMap<PathBuf, Vec<u8>>> = None;
        for workers in [1, 4] {
            let engine = Engine::new(workers);
            for run in 0..20 {
                let out = tmp.path().join(format!("out-{policy:?}-{workers}-{run}"));
                let (_, report) =
                    run_with_plan(&engine, thumb_spec(vec![src.clone()], &out, policy));
                assert_eq!(report.outcome, JobOutcome::Done, "{report:?}");
                let got: BTreeMap<PathBuf, Vec<u8>> = files_below(&out)
                    .into_iter()
                    .map(|rel| (rel.clone(), fs::read(out.join(rel)).unwrap()))
                    .collect();
                assert_eq!(
                    got.len(),
                    4,
                    "{policy:?}: every twin gets a thumbnail: {got:?}"
                );
                match &reference {
                    None => reference = Some(got),
                    Some(r) => assert!(
                        *r == got,
                        "{policy:?}, {workers} workers, run {run}: outputs differ"
                    ),
                }
                fs::remove_dir_all(&out).unwrap();
            }
        }
        // The first in sorted order keeps the name: "k.jpeg" < "k.jpg".
        let reference = reference.unwrap();
        let names: Vec<String> = reference
            .keys()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["src/k (1).jpg", "src/k.jpg", "src/m (1).jpg", "src/m.jpg"]
        );
    }
}

#[test]
fn update_refreshes_instead_of_piling_up_copies() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    write(&src.join("a.jpg"), &jpeg(400, 300, 5));
    write(&src.join("b.jpg"), &jpeg(300, 400, 6));
    let out = tmp.path().join("thumbs");
    let engine = Engine::new(2);
    let spec = JobSpec::Thumbs(ThumbSpec::new(vec![src.clone()], out.clone()));
    let (_, first) = run_with_plan(&engine, spec.clone());
    assert_eq!(first.outputs.len(), 2);
    let made = snapshot(&out);
    // Again: both up to date, nothing written.
    let (plan, second) = run_with_plan(&engine, spec.clone());
    assert!(second.outputs.is_empty(), "{second:?}");
    assert!(
        plan.unwrap()
            .items
            .iter()
            .all(|i| i.action == Action::Skip(SkipReason::UpToDate))
    );
    assert_eq!(snapshot(&out), made);
    // A source edited since: its thumbnail is replaced, the other one left alone.
    std::thread::sleep(std::time::Duration::from_millis(20));
    write(&src.join("a.jpg"), &jpeg(400, 300, 99));
    let (plan, third) = run_with_plan(&engine, spec);
    let plan = plan.unwrap();
    assert_eq!(plan.summary.overwrites, 1);
    assert_eq!(plan.summary.skips, 1);
    assert_eq!(third.outputs, vec![out.join("src/a.jpg")]);
    assert_eq!(files_below(&out).len(), 2, "no copies piled up");
    assert_ne!(
        snapshot(&out)[Path::new("src/a.jpg")].0,
        made[Path::new("src/a.jpg")].0
    );
}

#[test]
fn each_with_the_output_inside_a_sibling_never_archives_a_sibling() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("A");
    let b = tmp.path().join("B");
    for i in 0..40 {
        write(&a.join(format!("f{i:02}.txt")), &text(20_000 + i * 100));
    }
    // B is big enough to be written while A is still being scanned and compressed.
    write(&b.join("big.log"), &text(24 << 20));
    write(&b.join("small.txt"), b"small");
    for round in 0..6 {
        let out = shrinkwrap(
            &[
                "zip",
                "--each",
                "A",
                "B",
                "--output",
                "A/out",
                "--overwrite",
                "--jobs",
                "4",
            ],
            tmp.path(),
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "round {round}: {}",
            stderr(&out)
        );
        let names: Vec<String> = read_archive(&a.join("out/A.zip"))
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        // The output folder itself is part of A; nothing in it is.
        assert!(
            names
                .iter()
                .all(|n| n == "A/out/" || !n.starts_with("A/out/")),
            "round {round}: A.zip holds another job's output: {names:?}"
        );
        // In round 0 the jobs create A/out for their outputs: not part of A. Later it exists
        // before the run, an empty folder of A (its archives are outputs, left out).
        let expected = if round == 0 { 41 } else { 42 };
        assert_eq!(names.len(), expected, "round {round}: {names:?}");
        assert_archive_matches(&a.join("out/B.zip"), &expected_tree(&b));
        assert_no_partial_files(tmp.path());
    }
}

#[test]
fn the_same_input_twice_is_one_input() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("d/a.txt"), b"hello");
    write(&tmp.path().join("d/sub/b.txt"), b"world");
    let out = shrinkwrap(
        &["zip", "d", "./d", "d/", "d/sub", "--output", "x.zip"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    assert_archive_matches(
        &tmp.path().join("x.zip"),
        &expected_tree(&tmp.path().join("d")),
    );
    let out = shrinkwrap(
        &["zip", "d/a.txt", "d/a.txt", "--output", "y.zip"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let names: Vec<String> = read_archive(&tmp.path().join("y.zip"))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, vec!["a.txt"]);
}

#[test]
fn a_link_to_an_ancestor_is_a_loop_and_7zip_extracts_the_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("d");
    write(&d.join("sub/a.txt"), b"a");
    symlink("..", d.join("sub/up")).unwrap();
    symlink(".", d.join("here")).unwrap();
    symlink("sub/a.txt", d.join("ok-link")).unwrap();
    let dest = tmp.path().join("d.zip");
    let engine = Engine::new(2);
    let (report, _) = run_job(
        &engine,
        JobSpec::Zip(ZipSpec::new(vec![d.clone()], dest.clone())),
    );
    assert_eq!(report.outcome, JobOutcome::Done, "{report:?}");
    for link in ["up", "here"] {
        let p = report
            .problems
            .iter()
            .find(|p| p.path.file_name().unwrap() == link)
            .unwrap_or_else(|| panic!("{link} not reported: {report:?}"));
        assert_eq!(p.kind, ProblemKind::Skipped);
        assert!(p.cause.to_string().contains("loop"), "{}", p.cause);
    }
    let names: Vec<String> = read_archive(&dest).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["d/", "d/ok-link", "d/sub/", "d/sub/a.txt"]);
    external_readers_accept(&dest);
    if Command::new("sh")
        .args(["-c", "command -v 7z"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        let x = tempfile::tempdir().unwrap();
        let out = Command::new("7z")
            .arg("x")
            .arg(&dest)
            .arg(format!("-o{}", x.path().display()))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(fs::read(x.path().join("d/sub/a.txt")).unwrap(), b"a");
    }
}

#[test]
fn dry_run_writes_nothing_and_plans_exactly_what_the_run_does() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("photos");
    write(&src.join("a.jpg"), &jpeg(500, 400, 1));
    write(&src.join("b.jpg"), &jpeg(400, 500, 2));
    write(&src.join("deep/c.jpg"), &jpeg(300, 300, 3));
    write(&src.join("readme.txt"), b"text");
    // Existing thumbnails that the default policy ("update") finds up to date.
    write(
        &tmp.path().join("out/photos/b_64.jpg"),
        b"newer than its source",
    );
    write(
        &tmp.path().join("out/photos/b_128.jpg"),
        b"newer than its source",
    );
    for (kind, args) in [
        (
            "thumbs",
            vec![
                "thumbs", "photos", "--output", "out", "--size", "64", "--size", "128",
            ],
        ),
        ("zip", vec!["zip", "photos", "--output", "new/photos.zip"]),
    ] {
        let before = snapshot(tmp.path());
        let mut dry = args.clone();
        dry.extend(["--dry-run", "--json"]);
        let out = shrinkwrap(&dry, tmp.path());
        assert_eq!(out.status.code(), Some(0), "{kind}: {}", stderr(&out));
        assert_eq!(
            snapshot(tmp.path()),
            before,
            "{kind}: the dry run wrote something"
        );
        assert!(
            !tmp.path().join("new").exists(),
            "not even the output folder"
        );
        let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let plan = lines.iter().find(|l| l["event"] == "plan").unwrap();
        let planned: Vec<String> = plan["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["action"] != "skip")
            .map(|i| i["output"].as_str().unwrap().to_owned())
            .collect();
        let skipped: Vec<&serde_json::Value> = plan["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["action"] == "skip")
            .collect();
        assert!(skipped.iter().all(|i| i["reason"].is_string()));
        let last = lines.last().unwrap();
        assert_eq!(last["event"], "finished");
        assert_eq!(last["dry_run"], true);
        assert!(last["outputs"].as_array().unwrap().is_empty());
        // Human form too.
        let mut human = args.clone();
        human.push("--dry-run");
        let out = shrinkwrap(&human, tmp.path());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with("Plan: "), "{text}");
        assert_eq!(snapshot(tmp.path()), before);

        // The real run makes exactly the planned outputs.
        let mut real = args.clone();
        real.push("--json");
        let out = shrinkwrap(&real, tmp.path());
        assert_eq!(out.status.code(), Some(0), "{kind}: {}", stderr(&out));
        let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let made: Vec<String> = lines.last().unwrap()["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(made, planned, "{kind}");
        if kind == "thumbs" {
            assert_eq!(
                made.len(),
                4,
                "a, c at two sizes; b is up to date: {made:?}"
            );
            assert_eq!(skipped.len(), 3, "b twice, readme.txt once");
        }
    }
}

#[test]
fn an_identical_job_is_refused_while_the_first_is_queued() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("d/a.txt"), &text(1 << 20));
    let engine = Engine::new(1);
    let spec = JobSpec::Zip(ZipSpec::new(
        vec![tmp.path().join("d")],
        tmp.path().join("d.zip"),
    ));
    let first = engine.submit(spec.clone()).unwrap();
    // The same paths spelled differently are the same job.
    let same = JobSpec::Zip(ZipSpec::new(
        vec![tmp.path().join("d/../d/.")],
        tmp.path().join("./d.zip"),
    ));
    match engine.submit(same) {
        Err(SubmitError::Duplicate(id)) => assert_eq!(id, first),
        other => panic!("not refused: {other:?}"),
    }
    // Dry runs of it are fine (a window's preview).
    let dry = engine.submit_dry_run(spec.clone()).unwrap();
    let (report, _) = wait_job(&engine, dry);
    assert!(report.dry_run);
    let (report, _) = wait_job(&engine, first);
    assert_eq!(report.outcome, JobOutcome::Done);
    // Once it has ended, the job can run again (here: the archive now exists).
    let again = engine.submit(spec).unwrap();
    let (report, _) = wait_job(&engine, again);
    assert_eq!(report.outcome, JobOutcome::Failed);
}

#[test]
fn an_existing_archive_is_found_at_once_and_the_cli_names_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("d/a.txt"), b"a");
    write(&tmp.path().join("d.zip"), b"precious");
    let out = shrinkwrap(&["zip", "d", "--output", "d.zip"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("d.zip") && err.contains("--overwrite"),
        "{err}"
    );
    assert_eq!(fs::read(tmp.path().join("d.zip")).unwrap(), b"precious");
    // Keep both: "d (1).zip".
    let out = shrinkwrap(
        &["zip", "d", "--output", "d.zip", "--keep-both"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fs::read(tmp.path().join("d.zip")).unwrap(), b"precious");
    assert_archive_matches(
        &tmp.path().join("d (1).zip"),
        &expected_tree(&tmp.path().join("d")),
    );
}

#[test]
fn a_folder_as_the_archive_name_means_inside_it() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("docs/a.txt"), b"a");
    fs::create_dir_all(tmp.path().join("archives")).unwrap();
    let out = shrinkwrap(&["zip", "docs", "--output", "archives"], tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_archive_matches(
        &tmp.path().join("archives/docs.zip"),
        &expected_tree(&tmp.path().join("docs")),
    );
    assert!(!tmp.path().join("archives.zip").exists());
    // A name without extension gets ".zip".
    let out = shrinkwrap(&["zip", "docs", "--output", "backup"], tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(tmp.path().join("backup.zip").is_file());
}

#[test]
fn write_failures_name_the_users_path_in_the_users_terms() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("d/a.txt"), b"a");
    write(&tmp.path().join("p/a.jpg"), &jpeg(100, 100, 1));
    for (args, path) in [
        (vec!["zip", "d", "--output", "/proc/x.zip"], "/proc"),
        (
            vec!["thumbs", "p", "--output", "/proc/thumbs"],
            "/proc/thumbs",
        ),
    ] {
        let out = shrinkwrap(&args, tmp.path());
        assert!(matches!(out.status.code(), Some(1 | 2)), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(path), "{args:?}: {err}");
        assert!(!err.contains(".part"), "{args:?}: a temporary name: {err}");
        assert!(!err.contains("os error"), "{args:?}: a raw OS error: {err}");
    }
}

#[test]
fn the_plan_of_a_running_job_claims_its_outputs_from_other_jobs() {
    // Two jobs writing the same thumbnails folder: the second renames or skips, never replaces
    // what the first writes.
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    for i in 0..6 {
        write(&a.join(format!("p{i}.jpg")), &jpeg(900, 700, i as u8));
        write(&b.join(format!("p{i}.jpg")), &jpeg(700, 900, 100 + i as u8));
    }
    let out = tmp.path().join("out");
    let engine = Engine::new(2);
    let mut s1 = ThumbSpec::new(vec![a.join("p0.jpg"), a.join("p1.jpg")], out.clone());
    s1.on_conflict = ConflictPolicy::Overwrite;
    let mut s2 = ThumbSpec::new(vec![b.join("p0.jpg"), b.join("p1.jpg")], out.clone());
    s2.on_conflict = ConflictPolicy::Overwrite;
    let j1 = engine.submit(JobSpec::Thumbs(s1)).unwrap();
    let j2 = engine.submit(JobSpec::Thumbs(s2)).unwrap();
    let reports = wait_jobs(&engine, &[j1, j2]);
    let (r1, r2) = (&reports[0], &reports[1]);
    assert_eq!(r1.progress.state, JobState::Done);
    let all: Vec<&PathBuf> = r1.outputs.iter().chain(r2.outputs.iter()).collect();
    let unique: std::collections::HashSet<&PathBuf> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "two jobs wrote one file: {all:?}");
}

#[test]
fn identical_runs_with_existing_archive_replace_only_when_complete() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("d/a.txt"), &text(100_000));
    let dest = tmp.path().join("d.zip");
    write(&dest, b"old");
    let engine = Engine::new(2);
    let mut spec = ZipSpec::new(vec![tmp.path().join("d")], dest.clone());
    spec.on_exists = ExistingArchive::Replace;
    let (plan, report) = run_with_plan(&engine, JobSpec::Zip(spec));
    assert_eq!(report.outcome, JobOutcome::Done);
    assert_eq!(plan.unwrap().archive.unwrap().action, Action::Overwrite);
    assert_archive_matches(&dest, &expected_tree(&tmp.path().join("d")));
}

/// Runs a dry run and returns its plan.
fn dry_plan(engine: &Engine, spec: JobSpec) -> Plan {
    let id = engine.submit_dry_run(spec).unwrap();
    loop {
        match engine.events().recv_timeout(JOB_DEADLINE).unwrap() {
            JobEvent::Plan(p) if p.job == id => return (*p).clone(),
            JobEvent::Finished(r) if r.progress.job == id => panic!("no plan: {r:?}"),
            _ => {}
        }
    }
}

#[test]
fn a_destination_that_takes_no_files_is_flagged_in_the_plan_for_every_kind() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("d/a.jpg"), &jpeg(300, 200, 1));
    // A read-only folder: a read-only tmpfs where this runs as root (root ignores permission
    // bits), else a folder without write permission.
    let locked = tmp.path().join("locked");
    fs::create_dir(&locked).unwrap();
    let is_root = unsafe { libc::geteuid() } == 0;
    let mounted = is_root
        && Command::new("mount")
            .args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"])
            .arg(&locked)
            .status()
            .is_ok_and(|s| s.success());
    if !mounted {
        if is_root {
            eprintln!("skipped: cannot mount a read-only tmpfs here");
            return;
        }
        let mut perms = fs::metadata(&locked).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o555);
        fs::set_permissions(&locked, perms).unwrap();
    }
    let engine = Engine::new(2);
    let inputs = vec![tmp.path().join("d")];
    for spec in [
        JobSpec::Zip(ZipSpec::new(inputs.clone(), locked.join("sub/d.zip"))),
        JobSpec::Thumbs(ThumbSpec::new(inputs.clone(), locked.join("thumbs"))),
    ] {
        let plan = dry_plan(&engine, spec.clone());
        let flagged = plan.warnings.iter().any(|w| {
            matches!(w, PlanWarning::DestinationNotWritable { folder, .. } if *folder == locked)
        });
        assert!(flagged, "{:?}: {:?}", spec.kind(), plan.warnings);
    }
    // A writable destination is not flagged.
    let plan = dry_plan(
        &engine,
        JobSpec::Thumbs(ThumbSpec::new(inputs, tmp.path().join("fine/thumbs"))),
    );
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    if mounted {
        let _ = Command::new("umount").arg(&locked).status();
    }
}
