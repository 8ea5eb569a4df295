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

/// The outputs a journal records as done (reading the file format directly).
fn recorded_done(journal: &Path) -> HashSet<PathBuf> {
    let text = fs::read_to_string(journal).unwrap();
    let mut items: Vec<Option<PathBuf>> = Vec::new();
    let mut done = HashSet::new();
    for line in text.lines() {
        let Some((_, json)) = line.split_once(' ') else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
            continue;
        };
        match v["t"].as_str() {
            Some("plan") => {
                items = v["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["output"].as_str().map(PathBuf::from))
                    .collect()
            }
            Some("done") => {
                if let Some(Some(p)) = items.get(v["item"].as_u64().unwrap() as usize) {
                    done.insert(p.clone());
                }
            }
            _ => {}
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
    let recorded: HashSet<PathBuf> = recorded_done(&journal[0])
        .into_iter()
        .map(|p| tmp.path().join(p))
        .collect();
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
