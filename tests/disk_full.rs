//! A full disk never hangs the command line: the CLI says at once which folder is full and how
//! much room is left, and goes on by itself when there is room again; `--on-disk-full fail`
//! stops at once instead. Run on a small tmpfs (CI runs as root and may mount one; elsewhere the
//! tests say they cannot and do nothing).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

fn jpeg(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
        let v = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729) ^ seed.wrapping_mul(31)) as u8;
        Rgb([v, v.wrapping_add(x as u8), v ^ (y as u8)])
    }));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// A small tmpfs mounted for the test, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` (with a clear message) only where mounting is not permitted; in CI (root) a
    /// failed mount fails the test.
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must be able to mount a small tmpfs for the disk-full tests"
            );
            eprintln!(
                "note: mounting a tmpfs is not permitted here; this disk-full test is skipped"
            );
            return None;
        }
        Some(SmallDisk { dir })
    }

    /// Grows the file system while it is in use.
    fn grow(&self, size: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(self.dir.path())
            .status()
            .unwrap();
        assert!(ok.success(), "remount failed");
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Lines a child writes, gathered by a reader thread.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<String>>>);

impl Lines {
    fn follow(stream: impl std::io::Read + Send + 'static) -> Lines {
        let lines = Lines::default();
        let sink = lines.clone();
        std::thread::Builder::new()
            .name("test-lines".into())
            .spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    sink.0.lock().unwrap().push(line);
                }
            })
            .unwrap();
        lines
    }

    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Waits (up to the generous job deadline: reaching it is a hang) for a line that `pred`
    /// accepts.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + JOB_DEADLINE;
        loop {
            if let Some(l) = self.all().into_iter().find(|l| pred(l)) {
                return l;
            }
            assert!(Instant::now() < deadline, "never saw {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or(serde_json::Value::Null)
}

fn wait_exit(child: &mut std::process::Child) -> i32 {
    let deadline = Instant::now() + JOB_DEADLINE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the command line never ended: it hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn photos(dir: &Path, count: u32, side: u32) {
    for i in 0..count {
        write(
            &dir.join(format!("p{i:02}.jpg")),
            &jpeg(side, side * 3 / 4, i),
        );
    }
}

#[test]
fn a_full_disk_is_said_at_once_and_the_command_line_goes_on_when_there_is_room() {
    let Some(disk) = SmallDisk::mount("3m") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    photos(&tmp.path().join("src"), 30, 900);
    // About half a megabyte free: a few thumbnails fit, then the disk is full.
    write(
        &disk.path().join("filler.bin"),
        &noise((2 << 20) + (512 << 10), 7),
    );
    let out = disk.path().join("thumbs");
    let mut child = cli(tmp.path())
        .args([
            "thumbs", "src", "--size", "320", "--jobs", "2", "--json", "--output",
        ])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = Lines::follow(child.stdout.take().unwrap());
    let stderr = Lines::follow(child.stderr.take().unwrap());
    let paused = json(&stdout.wait_for("the pause in the JSON stream", |l| {
        json(l)["paused"]["reason"] == "disk_full"
    }));
    assert_eq!(paused["state"], "paused");
    let folder = PathBuf::from(paused["paused"]["folder"].as_str().unwrap());
    assert!(folder.starts_with(disk.path()), "{folder:?}");
    assert!(paused["paused"]["free_bytes"].as_u64().unwrap() < 1 << 20);
    // Said on stderr, without --json's help: which folder, how much is left.
    let said = stderr.wait_for("the note on stderr", |l| l.contains("the disk is full in"));
    assert!(said.contains(&folder.display().to_string()), "{said}");
    assert!(
        said.contains("left") && said.contains("by itself"),
        "{said}"
    );
    // It waits (it has not failed, nothing partial is left) ...
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "it waits for room");
    assert_no_partial_files(disk.path());
    // ... and goes on by itself once the disk grows.
    disk.grow("16m");
    assert_eq!(wait_exit(&mut child), 0, "{:?}", stderr.all());
    let events: Vec<serde_json::Value> = stdout.all().iter().map(|l| json(l)).collect();
    let pause_at = events
        .iter()
        .position(|v| v["paused"]["reason"] == "disk_full")
        .unwrap();
    assert!(
        events[pause_at..]
            .iter()
            .any(|v| v["event"] == "progress" && v["state"] == "running" && v["paused"].is_null()),
        "the JSON stream carries the resume"
    );
    let finished = events.iter().find(|v| v["event"] == "finished").unwrap();
    assert_eq!(finished["outcome"], "done", "{finished}");
    assert!(
        stderr
            .wait_for("the note that it goes on", |l| l
                .contains("there is room again"))
            .contains(&folder.display().to_string())
    );
    assert_eq!(files_below(&out).len(), 30);
    assert_no_partial_files(disk.path());
}

#[test]
fn on_disk_full_fail_stops_at_once_with_nothing_partial() {
    let Some(disk) = SmallDisk::mount("2m") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("in/a.bin"), &noise(3 << 20, 1));
    write(&tmp.path().join("in/b.txt"), &text(100_000));
    let archive = disk.path().join("in.zip");
    let zip = cli(tmp.path())
        .args(["zip", "in", "--on-disk-full", "fail", "--output"])
        .arg(&archive)
        .output()
        .unwrap();
    assert_eq!(zip.status.code(), Some(2), "{}", stderr(&zip));
    let err = stderr(&zip);
    assert!(err.contains("the disk is full"), "{err}");
    assert!(err.contains(&disk.path().display().to_string()), "{err}");
    assert!(!archive.exists());
    assert_eq!(files_below(disk.path()).len(), 0, "nothing partial");

    // Thumbnails: the ones made are whole; no temporary file is left.
    photos(&tmp.path().join("src"), 30, 900);
    write(
        &disk.path().join("filler.bin"),
        &noise((1 << 20) + (512 << 10), 7),
    );
    let out = disk.path().join("thumbs");
    let thumbs = cli(tmp.path())
        .args([
            "thumbs",
            "src",
            "--size",
            "320",
            "--on-disk-full",
            "fail",
            "--output",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(thumbs.status.code(), Some(2), "{}", stderr(&thumbs));
    assert!(
        stderr(&thumbs).contains("the disk is full"),
        "{}",
        stderr(&thumbs)
    );
    assert_no_partial_files(disk.path());
    for f in files_below(&out) {
        let bytes = std::fs::read(out.join(&f)).unwrap();
        assert!(image::load_from_memory(&bytes).is_ok(), "{f:?} is whole");
    }
}

#[test]
fn a_journal_that_cannot_be_kept_leaves_nothing_behind() {
    let Some(disk) = SmallDisk::mount("64k") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    photos(&tmp.path().join("src"), 4, 300);
    let journal_dir = disk.path().join("state/journal");
    std::fs::create_dir_all(&journal_dir).unwrap();
    // The state folder's disk is full.
    let _ = std::fs::write(disk.path().join("filler.bin"), noise(1 << 20, 3));
    let run = cli(tmp.path())
        .env("SHRINKWRAP_STATE_DIR", disk.path().join("state"))
        .args(["thumbs", "src", "--output", "out"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("cannot keep the job's journal"),
        "{}",
        stderr(&run)
    );
    assert_eq!(files_below(&tmp.path().join("out")).len(), 4);
    let left: Vec<_> = std::fs::read_dir(&journal_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left in the state folder: {left:?}");
}
