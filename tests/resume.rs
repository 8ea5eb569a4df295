//! A queue that survives: jobs killed with SIGKILL part-way are resumed by `shrinkwrap resume`,
//! which keeps what was finished and does the rest; damaged journals are set aside.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{BufRead, BufReader, Cursor};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use common::*;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

fn jpeg(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, (seed * 37) as u8])
    }));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

fn spawn(args: &[&str], cwd: &Path) -> Child {
    cli(cwd)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Reads `--json` lines until a progress event satisfies `pred`, then kills the process with
/// SIGKILL (no chance to clean up).
fn kill_when(mut child: Child, pred: impl Fn(&serde_json::Value) -> bool) {
    let stdout = child.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        assert_ne!(v["event"], "finished", "finished before the kill: {v}");
        if v["event"] == "progress" && pred(&v) {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

fn journals(state: &Path) -> Vec<PathBuf> {
    fs::read_dir(state.join("journal"))
        .map(|r| {
            r.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "journal"))
                .collect()
        })
        .unwrap_or_default()
}

/// The outputs a journal records as put in place (reading the file format directly).
fn recorded_done(journal: &Path) -> HashSet<PathBuf> {
    let text = fs::read_to_string(journal).unwrap();
    let mut done = HashSet::new();
    for line in text.lines() {
        let Some((_, json)) = line.split_once(' ') else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
            continue;
        };
        if v["t"] == "placed" {
            done.insert(PathBuf::from(v["path"].as_str().unwrap()));
        }
    }
    done
}

fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    files_below(dir)
        .into_iter()
        .map(|f| (f.clone(), fs::read(dir.join(f)).unwrap()))
        .collect()
}

#[test]
fn a_killed_thumbnail_job_resumes_without_redoing_finished_thumbnails() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join(".state");
    let src = tmp.path().join("src");
    for i in 0..60 {
        write(
            &src.join(format!("d{}/p{i:02}.jpg", i % 3)),
            &jpeg(1400, 1000, i),
        );
    }
    write(&src.join("notes.txt"), b"not an image");
    let args = [
        "thumbs", "src", "--output", "out", "--size", "128", "--size", "300", "--jobs", "1",
        "--json",
    ];
    let child = spawn(&args, tmp.path());
    kill_when(child, |v| v["items_done"].as_u64().unwrap_or(0) >= 12);
    // Long enough after the kill for nothing to be in flight.
    let out = tmp.path().join("out");
    let made_before: BTreeMap<PathBuf, (u64, i64, i64)> = files_below(&out)
        .into_iter()
        .filter(|f| !f.to_string_lossy().ends_with(".part"))
        .map(|f| {
            let m = fs::metadata(out.join(&f)).unwrap();
            (out.join(f), (m.ino(), m.mtime(), m.mtime_nsec()))
        })
        .collect();
    assert!(
        made_before.len() >= 12 && made_before.len() < 120,
        "{}",
        made_before.len()
    );
    let journal = journals(&state);
    assert_eq!(journal.len(), 1, "one unfinished job");
    let recorded: HashSet<PathBuf> = recorded_done(&journal[0]);
    assert!(!recorded.is_empty());

    let list = shrinkwrap(&["resume", "--list"], tmp.path());
    assert_eq!(list.status.code(), Some(0));
    let listed = String::from_utf8_lossy(&list.stdout);
    // The journal holds absolute paths, so the listing names the job the same from any folder.
    let expected = format!("1. Thumbnails {} -> {}: ", src.display(), out.display());
    assert!(listed.starts_with(&expected), "{listed}");

    let resumed = shrinkwrap(&["resume"], tmp.path());
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    assert_no_partial_files(&out);
    assert!(
        journals(&state).is_empty(),
        "the journal goes when the job ends"
    );
    // Thumbnails made before the kill were not written again: those the journal recorded, and
    // those put in place after its last sync (complete: outputs are renamed into place whole).
    assert!(recorded.iter().all(|p| made_before.contains_key(p)));
    for (path, before) in &made_before {
        let m = fs::metadata(path).unwrap();
        assert_eq!(
            (m.ino(), m.mtime(), m.mtime_nsec()),
            *before,
            "{} was written again",
            path.display()
        );
    }
    // The outputs equal a clean run's.
    let clean = shrinkwrap(
        &[
            "thumbs", "src", "--output", "clean", "--size", "128", "--size", "300",
        ],
        tmp.path(),
    );
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
    assert_eq!(tree(&out), tree(&tmp.path().join("clean")));
    assert_eq!(files_below(&out).len(), 120);
    // Nothing left to resume.
    let again = shrinkwrap(&["resume"], tmp.path());
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        "Nothing to resume."
    );
}

#[test]
fn a_killed_zip_job_resumes_and_rebuilds_its_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join(".state");
    let input = tmp.path().join("docs");
    write(&input.join("big.log"), &text(160 << 20));
    for i in 0..50 {
        write(&input.join(format!("small/{i}.txt")), &text(10_000 + i));
    }
    let child = spawn(
        &["zip", "docs", "--output", "out/docs.zip", "--json"],
        tmp.path(),
    );
    kill_when(child, |v| v["bytes_done"].as_u64().unwrap_or(0) > 20 << 20);
    let out = tmp.path().join("out");
    assert!(!out.join("docs.zip").exists());
    assert_eq!(journals(&state).len(), 1);
    let resumed = shrinkwrap(&["resume", "--json"], tmp.path());
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    assert_archive_matches(&out.join("docs.zip"), &expected_tree(&input));
    assert_no_partial_files(&out);
    assert!(journals(&state).is_empty());
}

#[test]
fn a_killed_encrypted_zip_job_resumes_only_with_its_password_given_again() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join(".state");
    let input = tmp.path().join("docs");
    write(&input.join("big.log"), &text(160 << 20));
    write(&input.join("small/a.txt"), &text(10_000));
    write(&tmp.path().join("pw.txt"), b"s3cret pass\n");
    let child = spawn(
        &[
            "zip",
            "docs",
            "--output",
            "out/docs.zip",
            "--password-file",
            "pw.txt",
            "--json",
        ],
        tmp.path(),
    );
    kill_when(child, |v| v["bytes_done"].as_u64().unwrap_or(0) > 20 << 20);
    let archive = tmp.path().join("out/docs.zip");
    assert_eq!(journals(&state).len(), 1);
    // Without the password: left for later, saying how, and nothing written unencrypted.
    let resumed = shrinkwrap(&["resume"], tmp.path());
    assert_eq!(resumed.status.code(), Some(2), "{}", stderr(&resumed));
    assert!(
        stderr(&resumed).contains("--password-file"),
        "{}",
        stderr(&resumed)
    );
    assert!(!String::from_utf8_lossy(&resumed.stdout).contains("Nothing to resume"));
    assert!(!archive.exists());
    assert_eq!(
        journals(&state).len(),
        1,
        "the job is still there to resume"
    );
    // With it: the archive, encrypted under that password.
    let resumed = shrinkwrap(&["resume", "--password-file", "pw.txt"], tmp.path());
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    assert!(journals(&state).is_empty());
    let mut zip = zip::ZipArchive::new(fs::File::open(&archive).unwrap()).unwrap();
    assert!(zip.by_name("docs/small/a.txt").is_err(), "encrypted");
    let mut entry = zip
        .by_name_decrypt("docs/small/a.txt", b"s3cret pass")
        .unwrap();
    let mut got = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut got).unwrap();
    assert_eq!(got, text(10_000));
    assert_no_partial_files(&tmp.path().join("out"));
}

#[test]
fn a_damaged_journal_is_set_aside_in_one_line_and_the_others_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join(".state");
    let jdir = state.join("journal");
    fs::create_dir_all(&jdir).unwrap();
    fs::write(jdir.join("1-2.journal"), b"this is not a journal\n").unwrap();
    let out = shrinkwrap(&["resume"], tmp.path());
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("damaged") && err.contains("set-aside"),
        "{err}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Nothing to resume."
    );
    assert!(jdir.join("set-aside/1-2.journal").is_file());
    // A second look finds nothing more to say.
    let out = shrinkwrap(&["resume", "--list"], tmp.path());
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

/// The CLI in `cwd` with the journals of `state` (a folder other than `cwd/.state`).
fn cli_with_state(cwd: &Path, state: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_shrinkwrap"));
    cmd.current_dir(cwd)
        .env("SHRINKWRAP_STATE_DIR", state)
        .stdin(Stdio::null());
    cmd
}

/// A thumbnail job of `count` photos in `tmp/src` into `tmp/out`, started with relative paths
/// from `tmp` and killed with SIGKILL once `done` images are complete.
fn killed_thumbnail_job(tmp: &Path, count: u32, done: u64, extra: &[&str]) {
    let src = tmp.join("src");
    for i in 0..count {
        write(
            &src.join(format!("d{}/p{i:02}.jpg", i % 3)),
            &jpeg(1400, 1000, i),
        );
    }
    let mut args = vec![
        "thumbs", "src", "--output", "out", "--size", "128", "--size", "300", "--jobs", "1",
        "--json",
    ];
    args.extend_from_slice(extra);
    let child = spawn(&args, tmp);
    kill_when(child, |v| v["items_done"].as_u64().unwrap_or(0) >= done);
}

/// What a clean run makes of `tmp/src` with the killed job's settings.
fn clean_run(tmp: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let clean = shrinkwrap(
        &[
            "thumbs",
            "src",
            "--output",
            "clean",
            "--size",
            "128",
            "--size",
            "300",
            "--no-journal",
        ],
        tmp,
    );
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
    tree(&tmp.join("clean"))
}

#[test]
fn a_job_started_with_relative_paths_is_listed_and_resumed_from_any_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join(".state");
    killed_thumbnail_job(tmp.path(), 30, 6, &[]);
    let jdir = state.join("journal");
    assert_eq!(journals(&state).len(), 1);
    let src = tmp.path().join("src");
    let out = tmp.path().join("out");
    // From `/`, as a desktop launcher or another shell would.
    let list = cli_with_state(Path::new("/"), &state)
        .args(["resume", "--list"])
        .output()
        .unwrap();
    assert_eq!(list.status.code(), Some(0));
    assert!(list.stderr.is_empty(), "{}", stderr(&list));
    let listed = String::from_utf8_lossy(&list.stdout);
    let expected = format!("1. Thumbnails {} -> {}: ", src.display(), out.display());
    assert!(listed.starts_with(&expected), "{listed}");
    // The same as one JSON object.
    let json = cli_with_state(Path::new("/"), &state)
        .args(["resume", "--list", "--json"])
        .output()
        .unwrap();
    assert_eq!(json.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["schema"], 2);
    assert_eq!(v["event"], "unfinished");
    let job = &v["jobs"][0];
    assert_eq!(job["kind"], "thumbs");
    assert_eq!(job["inputs"][0], src.to_str().unwrap());
    assert_eq!(job["output"], out.to_str().unwrap());
    assert_eq!(job["outputs_total"], 60);
    assert!(job["outputs_done"].as_u64().unwrap() >= 12, "{job}");
    assert!(job["started_unix_s"].as_f64().unwrap() > 1.0e9);
    assert_eq!(job["spec"]["kind"], "thumbs");
    assert_eq!(v["cannot_resume"], serde_json::json!([]));
    assert_eq!(v["in_use"], serde_json::json!([]));
    // Listing moved nothing.
    assert_eq!(journals(&state).len(), 1);
    assert!(!jdir.join("set-aside").exists());

    let resumed = cli_with_state(Path::new("/"), &state)
        .arg("resume")
        .output()
        .unwrap();
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    assert!(journals(&state).is_empty());
    assert_no_partial_files(&out);
    assert_eq!(tree(&out), clean_run(tmp.path()));
}

#[test]
fn two_resumes_started_together_run_the_job_once() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join(".state");
    killed_thumbnail_job(tmp.path(), 60, 8, &[]);
    let start = || {
        cli(tmp.path())
            .args(["resume", "--json", "--jobs", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(), start());
    let outputs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let mut ran = 0;
    for o in &outputs {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
        let finished: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["event"] == "finished")
            .collect();
        if finished.is_empty() {
            assert!(
                stderr(o).contains("already being resumed"),
                "the other one says so: {}",
                stderr(o)
            );
            continue;
        }
        ran += 1;
        assert_eq!(finished.len(), 1);
        assert_eq!(finished[0]["outcome"], "done", "{}", finished[0]);
        assert_eq!(finished[0]["problems"], serde_json::json!([]));
    }
    assert_eq!(ran, 1, "exactly one ran the job");
    assert!(journals(&state).is_empty());
    assert_no_partial_files(&tmp.path().join("out"));
    assert_eq!(tree(&tmp.path().join("out")), clean_run(tmp.path()));
}

#[test]
fn a_thumbnail_whose_source_changed_after_it_was_made_is_made_again_on_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join(".state");
    killed_thumbnail_job(tmp.path(), 30, 6, &[]);
    let journal = journals(&state).pop().unwrap();
    let recorded = recorded_done(&journal);
    // A source with both of its thumbnails recorded.
    let out = tmp.path().join("out");
    let (source, made) = (0..30)
        .map(|i| {
            let rel = format!("d{}/p{i:02}", i % 3);
            (
                tmp.path().join(format!("src/{rel}.jpg")),
                [
                    out.join(format!("src/{rel}_128.jpg")),
                    out.join(format!("src/{rel}_300.jpg")),
                ],
            )
        })
        .find(|(_, made)| made.iter().all(|m| recorded.contains(m)))
        .expect("a source with its thumbnails recorded");
    let other: Vec<(PathBuf, u64)> = recorded
        .iter()
        .filter(|p| !made.contains(p))
        .map(|p| (p.clone(), fs::metadata(p).unwrap().ino()))
        .collect();
    // The photo is edited after its thumbnails were made.
    std::thread::sleep(std::time::Duration::from_millis(20));
    write(&source, &jpeg(1000, 1400, 99));
    let resumed = shrinkwrap(&["resume"], tmp.path());
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    // As a clean run of the edited photos makes them, and nothing else was written again.
    assert_eq!(tree(&out), clean_run(tmp.path()));
    for (p, ino) in other {
        assert_eq!(
            fs::metadata(&p).unwrap().ino(),
            ino,
            "{} made again",
            p.display()
        );
    }
}

#[test]
fn a_file_someone_saved_at_an_output_path_after_the_crash_is_never_replaced() {
    // An archive: the job's rule for an existing archive (stop, by default) holds on resume.
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join(".state");
    let input = tmp.path().join("docs");
    write(&input.join("big.log"), &text(160 << 20));
    write(&input.join("small/a.txt"), &text(10_000));
    let child = spawn(
        &["zip", "docs", "--output", "out/docs.zip", "--json"],
        tmp.path(),
    );
    kill_when(child, |v| v["bytes_done"].as_u64().unwrap_or(0) > 20 << 20);
    let archive = tmp.path().join("out/docs.zip");
    assert!(!archive.exists());
    std::thread::sleep(std::time::Duration::from_millis(20));
    write(&archive, b"the user's own archive, saved after the crash");
    let resumed = shrinkwrap(&["resume"], tmp.path());
    assert_eq!(resumed.status.code(), Some(2), "{}", stderr(&resumed));
    assert!(
        stderr(&resumed).contains("already exists"),
        "{}",
        stderr(&resumed)
    );
    assert_eq!(
        fs::read(&archive).unwrap(),
        b"the user's own archive, saved after the crash"
    );
    assert_no_partial_files(&tmp.path().join("out"));
    assert!(journals(&state).is_empty());

    // Thumbnails: a file at a thumbnail's path is met by the conflict policy (here: skip).
    let tmp = tempfile::tempdir().unwrap();
    killed_thumbnail_job(tmp.path(), 30, 6, &["--on-conflict", "skip"]);
    let out = tmp.path().join("out");
    let made: Vec<PathBuf> = files_below(&out)
        .into_iter()
        .filter(|f| !f.to_string_lossy().ends_with(".part"))
        .collect();
    let missing = (0..30)
        .map(|i| PathBuf::from(format!("src/d{}/p{i:02}_300.jpg", i % 3)))
        .find(|p| !made.contains(p))
        .unwrap();
    // One the job made (replaced by the user's own) and one it had not made yet.
    let replaced = made[0].clone();
    fs::remove_file(out.join(&replaced)).unwrap();
    write(&out.join(&replaced), b"mine");
    write(&out.join(&missing), b"mine too");
    let resumed = shrinkwrap(&["resume", "--json"], tmp.path());
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    assert_eq!(fs::read(out.join(&replaced)).unwrap(), b"mine");
    assert_eq!(fs::read(out.join(&missing)).unwrap(), b"mine too");
    let plan = String::from_utf8_lossy(&resumed.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "plan")
        .unwrap();
    let skipped: Vec<&serde_json::Value> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["action"] == "skip" && i["reason"] == "the output exists (policy: skip)")
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
}

/// A thumbnail job's real journal, cut at every byte offset of its last record, still resumes
/// (the engine in this process, the outputs made before the "crash" left as they were).
#[test]
fn a_journal_cut_at_every_byte_of_its_last_record_still_resumes() {
    use shrinkwrap::engine::{Engine, JobOutcome, JobSpec, ThumbSpec, list_unfinished};
    let tmp = tempfile::tempdir().unwrap();
    let jdir = tmp.path().join("journal");
    let src = tmp.path().join("src");
    for i in 0..8 {
        write(&src.join(format!("p{i}.jpg")), &jpeg(320, 200 + i * 10, i));
    }
    let out = tmp.path().join("out");
    let spec = JobSpec::Thumbs(ThumbSpec::new(vec![src.clone()], out.clone()));
    // A journal as a crash leaves it: copied while the job is paused part-way.
    let whole = {
        let engine = Engine::with_state_dir(1, Some(jdir.clone()));
        let id = engine.submit(spec).unwrap();
        loop {
            let p = engine.events().recv_timeout(JOB_DEADLINE).unwrap();
            if let shrinkwrap::engine::JobEvent::Progress(p) = p
                && p.items_done >= 3
            {
                break;
            }
        }
        engine.pause(id);
        std::thread::sleep(std::time::Duration::from_millis(500));
        let journal = fs::read_dir(&jdir).unwrap().next().unwrap().unwrap().path();
        let bytes = fs::read(&journal).unwrap();
        engine.cancel(id);
        let (report, _) = wait_job(&engine, id);
        assert_eq!(report.outcome, JobOutcome::Cancelled);
        (journal, bytes)
    };
    let (journal, bytes) = whole;
    let made: BTreeMap<PathBuf, (u64, i64)> = files_below(&out)
        .into_iter()
        .map(|f| {
            let m = fs::metadata(out.join(&f)).unwrap();
            (f, (m.ino(), m.mtime_nsec()))
        })
        .collect();
    assert!(made.len() >= 3 && made.len() < 8, "{made:?}");
    let last_start = bytes[..bytes.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    let clean = {
        let engine = Engine::with_state_dir(2, None);
        let (r, _) = run_job(
            &engine,
            JobSpec::Thumbs(ThumbSpec::new(vec![src.clone()], tmp.path().join("clean"))),
        );
        assert_eq!(r.outcome, JobOutcome::Done);
        tree(&tmp.path().join("clean"))
    };
    let engine = Engine::with_state_dir(2, Some(jdir.clone()));
    for cut in last_start..=bytes.len() {
        fs::write(&journal, &bytes[..cut]).unwrap();
        let (mut found, aside) = list_unfinished(&jdir);
        assert!(aside.is_empty(), "cut at {cut}: {aside:?}");
        assert_eq!(found.len(), 1, "cut at {cut}");
        let id = engine.resume_unfinished(found.pop().unwrap()).unwrap();
        let (report, _) = wait_job(&engine, id);
        assert_eq!(report.outcome, JobOutcome::Done, "cut at {cut}: {report:?}");
        assert!(
            !journal.exists(),
            "cut at {cut}: the journal goes at the end"
        );
        assert_eq!(tree(&out), clean, "cut at {cut}");
        for (f, before) in &made {
            let m = fs::metadata(out.join(f)).unwrap();
            assert_eq!(
                (m.ino(), m.mtime_nsec()),
                *before,
                "cut at {cut}: {f:?} written again"
            );
        }
        // Back to the state after the crash.
        for f in files_below(&out) {
            if !made.contains_key(&f) {
                fs::remove_file(out.join(f)).unwrap();
            }
        }
    }
}

/// Two crashes in a row, the first in the middle of an append: the job still resumes.
#[test]
fn a_job_resumes_after_a_torn_append_and_a_second_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join(".state");
    killed_thumbnail_job(tmp.path(), 60, 6, &[]);
    let journal = journals(&state).pop().unwrap();
    let mut bytes = fs::read(&journal).unwrap();
    // The last record, torn in its middle.
    let last_start = bytes[..bytes.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    bytes.truncate(last_start + (bytes.len() - last_start) / 2);
    fs::write(&journal, &bytes).unwrap();
    // The resume is killed in turn, after it appended.
    let child = spawn(&["resume", "--json", "--jobs", "1"], tmp.path());
    kill_when(child, |v| v["items_done"].as_u64().unwrap_or(0) >= 4);
    let journal = journals(&state).pop().unwrap();
    assert!(fs::metadata(&journal).unwrap().len() as usize > bytes.len());
    let list = shrinkwrap(&["resume", "--list"], tmp.path());
    assert!(list.stderr.is_empty(), "{}", stderr(&list));
    let resumed = shrinkwrap(&["resume"], tmp.path());
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    // The output whose record was torn is the job's, but nothing says so any more: the job's
    // own rule (update) finds it up to date.
    assert!(!stderr(&resumed).contains("error"), "{}", stderr(&resumed));
    assert!(journals(&state).is_empty());
    assert_eq!(tree(&tmp.path().join("out")), clean_run(tmp.path()));
}
