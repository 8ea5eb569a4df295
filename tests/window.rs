//! The built binary in a real window (run under Xvfb: `.ci/run` does
//! `xvfb-run -a -s "-screen 0 1280x800x24" cargo test -- --ignored --test-threads=1`).
//!
//! Each test starts `shrinkwrap` with a private XDG_DATA_HOME (so remembered settings and window
//! geometry neither leak in nor out), lets it render, and checks that it exits with status 0 on
//! its own: after writing a screenshot, or with `--quit-when-done` after its job.

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
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("data.txt");
    write(&file, b"numbers\n");
    write(&tmp.path().join("data.zip"), b"already here");
    let child = shrinkwrap(&tmp.path().join("xdg"))
        .arg("--compress")
        .arg("--quit-when-done")
        .arg(&file)
        .spawn()
        .unwrap();
    let status = wait_for_exit(child, "--quit-when-done on an existing archive");
    assert_eq!(
        status.code(),
        Some(2),
        "a failed job exits 2 like the command line"
    );
    assert_eq!(
        fs::read(tmp.path().join("data.zip")).unwrap(),
        b"already here"
    );
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
