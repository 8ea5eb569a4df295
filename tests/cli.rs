//! The command line, run as the built binary: exit codes, messages, `--json`, Ctrl-C.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;

#[test]
fn zip_writes_a_valid_archive_and_exits_zero() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("docs/a.txt"), &text(100_000));
    write(&tmp.path().join("docs/sub/b.txt"), b"b");
    let out = shrinkwrap(
        &[
            "zip", "docs", "--output", "docs.zip", "--level", "9", "--jobs", "2",
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_archive_matches(
        &tmp.path().join("docs.zip"),
        &expected_tree(&tmp.path().join("docs")),
    );
    // Not a terminal: no progress bar noise.
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

#[test]
fn bad_arguments_exit_two() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("a.txt"), b"a");
    for args in [
        vec!["zip", "a.txt", "--output", "x.zip", "--level", "12"],
        vec!["zip", "a.txt"],
        vec!["thumbs", "a.txt", "--output", "t", "--quality", "0"],
        vec!["thumbs", "a.txt", "--output", "t", "--format", "avif"],
        vec!["zip", "--each", "a.txt", "--output", "out"],
    ] {
        let out = shrinkwrap(&args, tmp.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).is_empty());
    }
    let out = shrinkwrap(&["--help"], tmp.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("thumbs"));
}

#[test]
fn existing_archive_is_a_failed_job() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("a.txt"), b"a");
    write(&tmp.path().join("x.zip"), b"keep me");
    let out = shrinkwrap(&["zip", "a.txt", "--output", "x.zip"], tmp.path());
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("x.zip already exists"), "{err}");
    // One hint, in this front end's terms: the window's words are not the command line's.
    assert_eq!(err.matches("--overwrite").count(), 1, "{err}");
    assert!(!err.contains("choose to replace"), "{err}");
    assert_eq!(std::fs::read(tmp.path().join("x.zip")).unwrap(), b"keep me");
    let out = shrinkwrap(
        &["zip", "a.txt", "--output", "x.zip", "--overwrite"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn per_file_errors_exit_one_and_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let mut good = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(image::RgbImage::new(400, 300))
        .write_to(&mut good, image::ImageFormat::Png)
        .unwrap();
    write(&tmp.path().join("pics/good.png"), good.get_ref());
    write(
        &tmp.path().join("pics/broken.jpg"),
        b"\xFF\xD8\xFF\xE0 nope",
    );
    let out = shrinkwrap(
        &[
            "thumbs", "pics", "--output", "thumbs", "--size", "128", "--format", "png",
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("pics/broken.jpg") && err.contains("error"),
        "{err}"
    );
    let thumb = image::open(tmp.path().join("thumbs/pics/good.png")).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (128, 96));
}

#[test]
fn each_folder_gets_its_own_archive() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("one/a.txt"), b"1");
    write(&tmp.path().join("two/b.txt"), b"2");
    let out = shrinkwrap(
        &["zip", "--each", "one", "two", "--output", "zips"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_archive_matches(
        &tmp.path().join("zips/one.zip"),
        &expected_tree(&tmp.path().join("one")),
    );
    assert_archive_matches(
        &tmp.path().join("zips/two.zip"),
        &expected_tree(&tmp.path().join("two")),
    );
}

#[test]
fn json_prints_events_and_a_final_report() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("d/a.txt"), &text(3 << 20));
    let out = shrinkwrap(&["zip", "d", "--output", "d.zip", "--json"], tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines.iter().all(|l| l["schema"] == 2),
        "every line has the schema"
    );
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "finished");
    assert_eq!(last["progress"]["state"], "done");
    assert_eq!(last["outcome"], "done");
    assert_eq!(last["progress"]["bytes_done"], 3 << 20);
    assert!(
        last["progress"]["elapsed_s"].is_f64(),
        "durations are seconds"
    );
    // One plan, before any running progress; its outputs are what the run made.
    let plans: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i]["event"] == "plan")
        .collect();
    assert_eq!(plans.len(), 1);
    let plan = &lines[plans[0]];
    assert!(
        lines[..plans[0]]
            .iter()
            .all(|l| l["event"] == "progress" && l["state"] != "running")
    );
    let planned: Vec<&str> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["action"] != "skip")
        .map(|i| i["output"].as_str().unwrap())
        .collect();
    assert_eq!(planned, vec!["d/", "d/a.txt"]);
    let made: Vec<&str> = last["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    assert_eq!(made, planned);
    assert_eq!(plan["archive"]["action"], "write");
    assert!(
        lines
            .iter()
            .filter(|l| l["event"] != "plan")
            .all(|l| l["event"] == "progress" || l["event"] == "finished")
    );
}

#[test]
fn ctrl_c_cancels_cleanly_with_exit_130() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("in/huge.log"), &text(400 << 20));
    std::fs::create_dir_all(tmp.path().join("out")).unwrap();
    // `out/new/deeper` does not exist: the job makes it, and takes it away again.
    let mut child = cli(tmp.path())
        .args(["zip", "in", "--output", "out/new/deeper/huge.zip", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        if v["event"] == "plan" {
            continue;
        }
        assert_eq!(v["event"], "progress", "finished before Ctrl-C: {v}");
        if v["bytes_done"].as_u64().unwrap() > 0 {
            break;
        }
    }
    assert!(
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        files_below(&tmp.path().join("out")).is_empty(),
        "left: {:?}",
        files_below(&tmp.path().join("out"))
    );
    assert!(
        !tmp.path().join("out/new").exists(),
        "the folders the job made are gone"
    );
    assert!(tmp.path().join("out").is_dir(), "the user's folder stays");
}

#[test]
fn a_missing_input_means_the_same_exit_status_for_every_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut jpeg)
        .encode(&[90u8; 32 * 24 * 3], 32, 24, image::ExtendedColorType::Rgb8)
        .unwrap();
    write(&tmp.path().join("here/p.jpg"), &jpeg);
    let kinds: [(&str, &[&str]); 2] = [
        ("zip", &["--output", "out.zip"]),
        ("thumbs", &["--output", "thumbs"]),
    ];
    for (kind, output) in kinds {
        // Every input missing: the job fails (2), naming the path as typed.
        let mut args = vec![kind, "gone"];
        args.extend_from_slice(output);
        let out = shrinkwrap(&args, tmp.path());
        assert_eq!(out.status.code(), Some(2), "{kind}: {}", stderr(&out));
        assert!(stderr(&out).contains("gone"), "{kind}: {}", stderr(&out));
        // One of two missing: the rest is made, and the missing one is an error (1).
        let mut args = vec![kind, "gone", "here"];
        args.extend_from_slice(output);
        let out = shrinkwrap(&args, tmp.path());
        assert_eq!(out.status.code(), Some(1), "{kind}: {}", stderr(&out));
        assert!(stderr(&out).contains("gone"), "{kind}: {}", stderr(&out));
    }
    assert!(tmp.path().join("out.zip").is_file());
    assert!(tmp.path().join("thumbs/here/p.jpg").is_file());
}

#[test]
fn dry_run_prints_each_kinds_plan_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    write(&tmp.path().join("d/a.txt"), b"a");
    write(&tmp.path().join("d/b.txt"), b"b");
    write(&tmp.path().join("old.zip"), b"keep me");
    for (args, heading, counts) in [
        (
            vec!["zip", "d", "--output", "new.zip", "--dry-run"],
            "Plan: archive new.zip (a new file); nothing is written yet",
            "  3 entries (3 new) · ",
        ),
        (
            vec![
                "zip",
                "d",
                "--output",
                "old.zip",
                "--keep-both",
                "--dry-run",
            ],
            // The kept archive's new name is shown with its folder.
            "Plan: archive ./old (1).zip (old.zip exists and is kept); nothing is written yet",
            "  3 entries (3 new) · ",
        ),
        (
            vec!["thumbs", "d", "--output", "t", "--dry-run"],
            "Plan: thumbnails into t; nothing is written yet",
            "  0 thumbnails · 2 skipped · ",
        ),
    ] {
        let out = shrinkwrap(&args, tmp.path());
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], heading, "{args:?}");
        assert!(lines[1].starts_with(counts), "{args:?}: {text}");
    }
    assert_eq!(
        files_below(tmp.path()),
        vec![
            std::path::PathBuf::from("d/a.txt"),
            std::path::PathBuf::from("d/b.txt"),
            std::path::PathBuf::from("old.zip"),
        ],
        "a dry run writes nothing"
    );
    assert_eq!(
        std::fs::read(tmp.path().join("old.zip")).unwrap(),
        b"keep me"
    );
}

#[test]
fn the_command_line_uses_the_windows_units_and_separators() {
    let tmp = tempfile::tempdir().unwrap();
    for i in 0..1_001 {
        write(&tmp.path().join(format!("d/{i:04}.txt")), b"a");
    }
    write(&tmp.path().join("d/big.bin"), &vec![7u8; 1_500_000]);
    let out = shrinkwrap(&["zip", "d", "--output", "d.zip", "--dry-run"], tmp.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let counts = text.lines().nth(1).unwrap();
    // Decimal units as the window shows them (1,501,001 bytes), counts with separators.
    assert!(
        counts.starts_with("  1,003 entries (1,003 new) · 1.50 MB in"),
        "{counts}"
    );
    assert!(!text.contains("MiB"), "{text}");
}

#[test]
fn thumbs_fill_boxes_and_a_memory_budget_too_small_for_an_image_names_its_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let img = image::RgbImage::from_fn(1200, 900, |x, y| image::Rgb([x as u8, y as u8, 40]));
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    write(&tmp.path().join("photos/wide.png"), &png);
    let out = shrinkwrap(
        &[
            "thumbs", "photos", "-o", "t", "--size", "160x90", "--size", "64", "--fit", "cover",
        ],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for (name, size) in [("wide_160x90.jpg", (160, 90)), ("wide_64.jpg", (64, 64))] {
        let made = image::open(tmp.path().join("t/photos").join(name)).unwrap();
        assert_eq!((made.width(), made.height()), size, "{name}");
    }
    // The same picture as a 16-bit PNG (decoded whole, 6.5 MB, then its 8-bit copy, 3.2 MB),
    // more than a 5 MB budget. (The 8-bit one is reduced on load and fits.)
    let wide16 = image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(1200, 900, |x, y| {
        image::Rgb([x as u16 * 50, y as u16 * 70, 40 * 257])
    });
    let mut png16 = Vec::new();
    wide16
        .write_to(
            &mut std::io::Cursor::new(&mut png16),
            image::ImageFormat::Png,
        )
        .unwrap();
    write(&tmp.path().join("photos/wide.png"), &png16);
    let out = shrinkwrap(
        &["thumbs", "photos", "-o", "t2", "--memory", "5"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("wide.png")
            && err.contains("1200x900")
            && err.contains("memory budget of 5 MB"),
        "{err}"
    );
    assert!(!tmp.path().join("t2/photos/wide.jpg").exists());
    // A size that is not one is refused before anything runs, in the flag's terms.
    let out = shrinkwrap(
        &["thumbs", "photos", "-o", "t3", "--size", "wide"],
        tmp.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("320x200"), "{}", stderr(&out));
}
