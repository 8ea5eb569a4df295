//! The built binary in a real window (run under Xvfb: `.ci/run` does
//! `xvfb-run -a -s "-screen 0 1280x800x24" cargo test -- --ignored --test-threads=1`).
//!
//! Each test starts `shrinkwrap` with a private XDG_DATA_HOME (so remembered settings and window
//! geometry neither leak in nor out) and a private state folder (so no journal of the machine's
//! own unfinished jobs shows up, and none is left behind), lets it render, and checks that it
//! exits with status 0 on its own: after writing a screenshot, or with `--quit-when-done` after
//! its job.
//!
//! `SHRINKWRAP_SCREENSHOT_DIR=DIR` keeps the screenshots in DIR (to look at them).

mod common;

use std::fs;
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use common::{assert_archive_matches, expected_tree, write};

/// How long the window may take before the test gives up (software GL on a busy machine).
const EXIT_DEADLINE: Duration = Duration::from_secs(180);

fn shrinkwrap(data_home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shrinkwrap"));
    command
        .env("XDG_DATA_HOME", data_home)
        .env("SHRINKWRAP_STATE_DIR", data_home.join("state"))
        .env_remove("WAYLAND_DISPLAY")
        .env("LIBGL_ALWAYS_SOFTWARE", "1");
    command
}

fn wait_for_exit(mut child: Child, what: &str) -> ExitStatus {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "no DISPLAY: run the window tests under xvfb-run (see .ci/run)"
    );
    let deadline = Instant::now() + EXIT_DEADLINE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: the window did not exit on its own");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn check_screenshot(path: &Path) {
    let image = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_rgb8();
    assert!(
        image.width() >= 400 && image.height() >= 300,
        "{}x{}",
        image.width(),
        image.height()
    );
    let mut colours: Vec<[u8; 3]> = image.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(
        colours.len() > 32,
        "only {} distinct colours: the window looks blank",
        colours.len()
    );
}

#[test]
#[ignore = "needs a display: run under xvfb-run"]
fn screenshot_of_the_window_with_a_path_argument() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("holiday");
    write(&inputs.join("notes.txt"), b"sunny\n");
    write(&inputs.join("more/list.txt"), b"sunscreen\nhat\n");
    let shot = tmp.path().join("window.png");

    let child = shrinkwrap(&tmp.path().join("xdg"))
        .arg("--screenshot")
        .arg(&shot)
        .arg(&inputs)
        .spawn()
        .unwrap();
    let status = wait_for_exit(child, "--screenshot");
    assert!(status.success(), "exit status {status}");
    check_screenshot(&shot);
}

#[test]
#[ignore = "needs a display: run under xvfb-run"]
fn screenshot_of_a_thumbnail_job() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    for i in 0..4u32 {
        let image = image::RgbImage::from_fn(800, 600, |x, y| {
            image::Rgb([(x / 4) as u8, (y / 3) as u8, (i * 60) as u8])
        });
        fs::create_dir_all(&photos).unwrap();
        image.save(photos.join(format!("photo-{i}.png"))).unwrap();
    }
    let shot = tmp.path().join("thumbs.png");
    let child = shrinkwrap(&tmp.path().join("xdg"))
        .arg("--screenshot")
        .arg(&shot)
        .arg("--thumbnails")
        .arg(&photos)
        .spawn()
        .unwrap();
    let status = wait_for_exit(child, "--screenshot --thumbnails");
    assert!(status.success(), "exit status {status}");
    check_screenshot(&shot);
    let leftovers: Vec<_> = fs::read_dir(tmp.path().join("thumbnails"))
        .map(|dir| {
            dir.flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(".part"))
                .collect()
        })
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "partial files left: {leftovers:?}");
}

#[test]
#[ignore = "needs a display: run under xvfb-run"]
fn quit_when_done_compresses_and_exits_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    write(&src.join("main.rs"), b"fn main() {}\n");
    write(
        &src.join("lib/util.rs"),
        "pub fn util() {}\n".repeat(500).as_bytes(),
    );

    let child = shrinkwrap(&tmp.path().join("xdg"))
        .arg("--quit-when-done")
        .arg("--compress")
        .arg(&src)
        .spawn()
        .unwrap();
    let status = wait_for_exit(child, "--quit-when-done --compress");
    assert!(status.success(), "exit status {status}");

    // Read back by the zip crate, unzip, python3 and 7z, extracted and byte-compared.
    assert_archive_matches(&tmp.path().join("src.zip"), &expected_tree(&src));
}

#[test]
#[ignore = "needs a display: run under xvfb-run"]
fn quit_when_done_reports_a_failed_job_in_the_exit_status() {
    // (An archive that exists is asked about, and the window waits for the answer: see
    // ui_app's the_existing_archive_question_asks_not_fails_takes_enter_and_quit_when_done_waits.)
    let tmp = tempfile::tempdir().unwrap();
    let gone = tmp.path().join("gone.txt");
    let child = shrinkwrap(&tmp.path().join("xdg"))
        .arg("--compress")
        .arg("--quit-when-done")
        .arg(&gone)
        .spawn()
        .unwrap();
    let status = wait_for_exit(child, "--quit-when-done on a missing input");
    assert_eq!(
        status.code(),
        Some(2),
        "a failed job exits 2 like the command line"
    );
    assert!(!tmp.path().join("gone.zip").exists());
}

#[test]
#[ignore = "needs a display: run under xvfb-run"]
fn quit_when_done_never_makes_several_archives_unasked() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("docs");
    write(&docs.join("plan.md"), b"# plan\n");
    write(&tmp.path().join("a.txt"), b"a\n");
    let data_home = tmp.path().join("xdg");
    // "One archive per folder", remembered.
    write(
        &data_home.join("shrinkwrap/app.ron"),
        br#"{ "shrinkwrap.settings": "(archive_layout:ArchivePerFolder)" }"#,
    );
    let child = shrinkwrap(&data_home)
        .arg("--compress")
        .arg("--quit-when-done")
        .arg(&docs)
        .arg(tmp.path().join("a.txt"))
        .spawn()
        .unwrap();
    let status = wait_for_exit(child, "--quit-when-done with one archive per folder");
    assert_eq!(
        status.code(),
        Some(2),
        "nothing could be started without asking: exit 2"
    );
    let archives: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "zip"))
        .collect();
    assert!(archives.is_empty(), "no archive made: {archives:?}");
}

/// Where a screenshot goes: `SHRINKWRAP_SCREENSHOT_DIR` when set (to look at it), else `dir`.
fn screenshot_path(dir: &Path, name: &str) -> std::path::PathBuf {
    match std::env::var_os("SHRINKWRAP_SCREENSHOT_DIR") {
        Some(keep) => {
            fs::create_dir_all(&keep).unwrap();
            Path::new(&keep).join(name)
        }
        None => dir.join(name),
    }
}

/// Noisy photos (slow enough to decode that a job is seen running).
fn noisy_photos(dir: &Path, count: u32, width: u32, height: u32) {
    fs::create_dir_all(dir).unwrap();
    for i in 0..count {
        let image = image::RgbImage::from_fn(width, height, |x, y| {
            let v = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729) ^ i.wrapping_mul(31)) as u8;
            image::Rgb([
                ((x * 255) / width) as u8 / 2 + v / 4,
                ((y * 255) / height) as u8 / 2 + v / 4,
                (i * 40) as u8 / 2 + v / 4,
            ])
        });
        image
            .save(dir.join(format!("IMG_{:04}.jpg", 4100 + i)))
            .unwrap();
    }
}

/// Runs `shrinkwrap thumbs SRC --output OUT` with the state folder of `data_home` and kills it
/// with SIGKILL once it has made a few thumbnails: an unfinished job for the window to list.
fn crash_a_thumbnail_job(data_home: &Path, src: &Path, out: &Path) {
    use std::io::BufRead;
    let mut child = shrinkwrap(data_home)
        .arg("thumbs")
        .arg(src)
        .arg("--output")
        .arg(out)
        .args(["--jobs", "1", "--json"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    for line in std::io::BufReader::new(stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        assert_ne!(v["event"], "finished", "finished before the kill: {v}");
        if v["event"] == "progress" && v["items_done"].as_u64().unwrap_or(0) >= 3 {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
#[ignore = "needs a display: run under xvfb-run"]
fn screenshot_of_a_paused_job_and_an_unfinished_one() {
    let tmp = tempfile::tempdir().unwrap();
    let data_home = tmp.path().join("xdg");
    let photos = tmp.path().join("holiday");
    noisy_photos(&photos, 12, 1200, 900);
    let earlier = tmp.path().join("wedding");
    noisy_photos(&earlier, 40, 1600, 1200);
    crash_a_thumbnail_job(&data_home, &earlier, &tmp.path().join("wedding-small"));
    let shot = screenshot_path(tmp.path(), "paused.png");
    let child = shrinkwrap(&data_home)
        .arg("--screenshot")
        .arg(&shot)
        .arg("--paused")
        .arg("--thumbnails")
        .arg(&photos)
        .spawn()
        .unwrap();
    let status = wait_for_exit(child, "--screenshot --paused --thumbnails");
    assert!(status.success(), "exit status {status}");
    check_screenshot(&shot);
    // Paused before it started, then cancelled at exit: nothing written, nothing left over.
    let written: Vec<_> = fs::read_dir(tmp.path().join("thumbnails"))
        .map(|dir| dir.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(written.is_empty(), "a paused job wrote {written:?}");
}

#[test]
#[ignore = "needs a display: run under xvfb-run"]
fn screenshot_of_a_finished_queue_with_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("garden");
    noisy_photos(&photos, 7, 800, 600);
    write(
        &photos.join("IMG_4199.jpg"),
        b"\xff\xd8\xff cut short by a bad card",
    );
    write(&photos.join("notes.txt"), b"water the roses\n");
    let shot = screenshot_path(tmp.path(), "finished.png");
    let child = shrinkwrap(&tmp.path().join("xdg"))
        .arg("--screenshot")
        .arg(&shot)
        .arg("--thumbnails")
        .arg(&photos)
        .spawn()
        .unwrap();
    let status = wait_for_exit(child, "--screenshot --thumbnails (finished)");
    assert!(status.success(), "exit status {status}");
    check_screenshot(&shot);
    let made = fs::read_dir(tmp.path().join("thumbnails/garden"))
        .map(|dir| dir.flatten().count())
        .unwrap_or(0);
    assert_eq!(made, 7, "the seven good photos have thumbnails");
}
