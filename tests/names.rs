//! Names and folders: temporary names fit wherever the final name fits; names that are not UTF-8
//! keep their bytes in thumbnails, the plan, the journal and `--json`; `{parent}` is the real
//! folder however the path was typed; an output folder that is an input folder is never swept
//! into the inputs.

mod common;

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{BufRead, BufReader, Cursor};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;

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

fn os(bytes: &[u8]) -> OsString {
    OsString::from_vec(bytes.to_vec())
}

fn json_lines(o: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// A path as `--json` carries it: a string, or `{"bytes_hex", "lossy"}` when it is not UTF-8.
fn json_path(v: &serde_json::Value) -> PathBuf {
    match v {
        serde_json::Value::String(s) => PathBuf::from(s),
        v => {
            let hex = v["bytes_hex"].as_str().unwrap();
            assert!(v["lossy"].is_string(), "{v}");
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            PathBuf::from(OsString::from_vec(bytes))
        }
    }
}

/// A name of exactly `len` bytes ending in `.jpg`, with two-byte characters so that cutting it
/// at a byte count may fall inside one.
fn long_name(len: usize) -> String {
    let mut stem = String::new();
    while stem.len() + 4 < len {
        stem.push(if (len - stem.len()).is_multiple_of(3) {
            'é'
        } else {
            'a'
        });
    }
    while stem.len() + 4 > len {
        stem.pop();
    }
    while stem.len() + 4 < len {
        stem.push('b');
    }
    format!("{stem}.jpg")
}

#[test]
fn temporary_names_fit_wherever_the_final_name_fits() {
    let tmp = tempfile::tempdir().unwrap();
    let lengths = [243, 244, 247, 250, 253, 254, 255];
    for (i, &len) in lengths.iter().enumerate() {
        let name = long_name(len);
        assert_eq!(name.len(), len);
        write(
            &tmp.path().join("src").join(&name),
            &jpeg(300, 200, i as u32),
        );
    }
    let run = shrinkwrap(&["thumbs", "src", "--output", "out"], tmp.path());
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let made: Vec<PathBuf> = files_below(&tmp.path().join("out"));
    assert_eq!(made.len(), lengths.len(), "{made:?}");
    for &len in &lengths {
        assert!(
            made.contains(&Path::new("src").join(long_name(len))),
            "{len}"
        );
    }
    assert_no_partial_files(&tmp.path().join("out"));

    // An archive whose name takes all 255 bytes.
    let archive = format!("{}.zip", "z".repeat(251));
    let run = shrinkwrap(
        &["zip", "src", "--output", &format!("archives/{archive}")],
        tmp.path(),
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let entries = read_archive(&tmp.path().join("archives").join(&archive));
    assert_eq!(entries.len(), lengths.len() + 1, "the folder and its files");
    assert_no_partial_files(&tmp.path().join("archives"));
}

#[test]
fn thumbnails_of_names_that_are_not_utf8_keep_their_bytes_in_the_plan_and_json() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let names: [&[u8]; 4] = [
        b"plain.jpg",
        b"caf\xe9.jpg",
        b"\xc9t\xe9 2019.JPG",
        b"vacances \xe9t\xe9/plage.jpg",
    ];
    for (i, name) in names.iter().enumerate() {
        write(
            &src.join(OsStr::from_bytes(name)),
            &jpeg(400, 300, i as u32),
        );
    }
    let run = shrinkwrap(&["thumbs", "src", "--output", "out", "--json"], tmp.path());
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    // Every photo made, each named after its source's own bytes.
    let out = tmp.path().join("out/src");
    let expected: Vec<PathBuf> = [
        &b"plain.jpg"[..],
        b"caf\xe9.jpg",
        b"\xc9t\xe9 2019.jpg",
        b"vacances \xe9t\xe9/plage.jpg",
    ]
    .iter()
    .map(|n| out.join(OsStr::from_bytes(n)))
    .collect();
    for path in &expected {
        assert!(path.is_file(), "{path:?} made");
    }
    assert_eq!(files_below(&out).len(), 4);
    let lines = json_lines(&run);
    let plan = lines.iter().find(|v| v["event"] == "plan").unwrap();
    let outputs: Vec<PathBuf> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| tmp.path().join(json_path(&i["output"])))
        .collect();
    let mut want = expected.clone();
    want.sort();
    let mut got = outputs.clone();
    got.sort();
    assert_eq!(got, want, "the plan names every output exactly");
    let inputs: Vec<PathBuf> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| tmp.path().join(json_path(&i["input"])))
        .collect();
    assert!(inputs.contains(&src.join(os(b"caf\xe9.jpg"))), "{inputs:?}");
    let finished = lines.iter().find(|v| v["event"] == "finished").unwrap();
    assert_eq!(finished["outcome"], "done", "{finished}");
    let mut reported: Vec<PathBuf> = finished["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| tmp.path().join(json_path(p)))
        .collect();
    reported.sort();
    assert_eq!(reported, want);
}

#[test]
fn a_job_on_names_that_are_not_utf8_keeps_its_journal_and_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    // The input folder's own name is Latin-1: every path of the job is not UTF-8.
    let folder = os(b"Photos d'\xe9t\xe9");
    let src = tmp.path().join(&folder);
    for i in 0..40 {
        write(&src.join(format!("p{i:02}.jpg")), &jpeg(1400, 1000, i));
    }
    let mut child = cli(tmp.path())
        .arg("thumbs")
        .arg(&folder)
        .args(["--output", "out", "--jobs", "1", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        assert_ne!(v["event"], "finished", "finished before the kill");
        if v["event"] == "progress" && v["items_done"].as_u64().unwrap_or(0) >= 4 {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let journal_dir = tmp.path().join(".state/journal");
    // The journal was kept, with the names' bytes.
    let list = shrinkwrap(&["resume", "--list", "--json"], tmp.path());
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let job = &v["jobs"][0];
    assert_eq!(json_path(&job["inputs"][0]), src, "{job}");
    assert!(job["outputs_done"].as_u64().unwrap() >= 4, "{job}");
    let resumed = shrinkwrap(&["resume"], tmp.path());
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr(&resumed));
    let out = tmp.path().join("out").join(&folder);
    assert_eq!(files_below(&out).len(), 40);
    assert_no_partial_files(&tmp.path().join("out"));
    let left: Vec<_> = fs::read_dir(&journal_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left in the state folder: {left:?}");
}

#[test]
fn parent_is_the_real_folder_however_the_path_was_typed() {
    let tmp = tempfile::tempdir().unwrap();
    let small = tmp.path().join("small");
    write(&small.join("tiny.jpg"), &jpeg(200, 150, 1));
    let full = small.join("tiny.jpg");
    let typed = [
        ("tiny.jpg", small.clone()),
        ("./tiny.jpg", small.clone()),
        ("../small/tiny.jpg", small.clone()),
        (full.to_str().unwrap(), tmp.path().to_path_buf()),
    ];
    for (n, (input, cwd)) in typed.iter().enumerate() {
        let out = tmp.path().join(format!("out{n}"));
        let run = cli(cwd)
            .args(["thumbs", input, "--name", "{parent}", "--output"])
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
        assert_eq!(
            files_below(&out),
            vec![PathBuf::from("small.jpg")],
            "typed as {input}"
        );
    }
}

#[test]
fn an_output_folder_that_is_the_input_folder_is_never_swept_into_the_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let edge = tmp.path().join("edge");
    for i in 0..3 {
        write(&edge.join(format!("p{i}.jpg")), &jpeg(300, 200, i));
    }
    for round in 0..2 {
        let run = shrinkwrap(
            &["thumbs", "edge", "--output", "edge", "--json"],
            tmp.path(),
        );
        assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
        let err = stderr(&run);
        assert!(
            err.contains("the output folder is the input folder") && err.contains("thumbnails"),
            "round {round}: {err}"
        );
        let lines = json_lines(&run);
        let plan = lines.iter().find(|v| v["event"] == "plan").unwrap();
        assert_eq!(plan["warnings"][0]["warning"], "output_is_input_folder");
        assert_eq!(
            plan["items"].as_array().unwrap().len(),
            3,
            "round {round}: only the photos are inputs, never their thumbnails"
        );
        let made = files_below(&edge);
        assert_eq!(made.len(), 6, "round {round}: {made:?}");
        assert!(made.iter().all(|f| f.components().count() <= 2), "{made:?}");
    }
}
