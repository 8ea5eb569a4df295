//! The thumbnail job end to end, on images the tests encode themselves in every input format.

mod common;

use std::fs;
use std::io::Cursor;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use shrinkwrap::engine::{
    ConflictPolicy, Engine, JobEvent, JobReport, JobSpec, JobState, ProblemKind, ThumbFormat,
    ThumbSpec,
};

fn gradient(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 90])
    }))
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let img = match format {
        ImageFormat::Gif => DynamicImage::ImageRgba8(img.to_rgba8()),
        _ => img.clone(),
    };
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A JPEG carrying an EXIF orientation tag.
fn jpeg_with_orientation(img: &RgbImage, orientation: u16) -> Vec<u8> {
    common::images::jpeg_with_exif(img, orientation, None)
}

fn thumbs(engine: &Engine, inputs: Vec<PathBuf>, out: &Path, format: ThumbFormat) -> JobReport {
    let mut spec = ThumbSpec::new(inputs, out.to_path_buf());
    spec.format = format;
    run_job(engine, JobSpec::Thumbs(spec)).0
}

fn open(path: &Path) -> (ImageFormat, DynamicImage) {
    let data = fs::read(path).unwrap();
    let format = image::guess_format(&data).unwrap();
    (format, image::load_from_memory(&data).unwrap())
}

#[test]
fn every_input_format_to_every_output_format() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let formats = [
        (ImageFormat::Jpeg, "jpg"),
        (ImageFormat::Png, "png"),
        (ImageFormat::WebP, "webp"),
        (ImageFormat::Gif, "gif"),
        (ImageFormat::Bmp, "bmp"),
        (ImageFormat::Tiff, "tif"),
    ];
    for (format, ext) in formats {
        write(
            &src.join(format!("wide-{ext}.{ext}")),
            &encode(&gradient(640, 480), format),
        );
        write(
            &src.join(format!("nested/tall-{ext}.{ext}")),
            &encode(&gradient(300, 900), format),
        );
    }
    // Small images are never upscaled; names do not decide the format, content does.
    write(
        &src.join("small.png"),
        &encode(&gradient(100, 50), ImageFormat::Png),
    );
    write(
        &src.join("png-named.jpg"),
        &encode(&gradient(640, 480), ImageFormat::Png),
    );
    let engine = Engine::new(2);
    for (out_format, want, ext) in [
        (ThumbFormat::Jpeg, ImageFormat::Jpeg, "jpg"),
        (ThumbFormat::Png, ImageFormat::Png, "png"),
        (ThumbFormat::Webp, ImageFormat::WebP, "webp"),
    ] {
        let out = tmp.path().join(format!("out-{ext}"));
        let report = thumbs(&engine, vec![src.clone()], &out, out_format);
        assert_eq!(
            report.progress.state,
            JobState::Done,
            "{:?}",
            report.problems
        );
        assert_eq!(report.outputs.len(), 14);
        for (_, in_ext) in formats {
            let (f, img) = open(&out.join(format!("src/wide-{in_ext}.{ext}")));
            assert_eq!(
                (f, img.width(), img.height()),
                (want, 256, 192),
                "wide {in_ext} -> {ext}"
            );
            let (f, img) = open(&out.join(format!("src/nested/tall-{in_ext}.{ext}")));
            assert_eq!(
                (f, img.width(), img.height()),
                (want, 85, 256),
                "tall {in_ext} -> {ext}"
            );
        }
        let (_, small) = open(&out.join(format!("src/small.{ext}")));
        assert_eq!((small.width(), small.height()), (100, 50));
        let (_, named) = open(&out.join(format!("src/png-named.{ext}")));
        assert_eq!((named.width(), named.height()), (256, 192));
        // The picture survives: the gradient's corners keep their colours.
        let (_, img) = open(&out.join(format!("src/wide-png.{ext}")));
        let rgb = img.to_rgb8();
        let right = rgb.get_pixel(250, 5);
        let left = rgb.get_pixel(5, 5);
        assert!(
            right[0] > 200 && left[0] < 40,
            "gradient lost: {left:?} {right:?}"
        );
        assert_no_partial_files(&out);
    }
}

#[test]
fn exif_orientation_is_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    // Red top-left quadrant on blue, large enough to take the shrink-on-load path.
    let img = RgbImage::from_fn(1600, 800, |x, y| {
        if x < 800 && y < 400 {
            Rgb([230, 20, 20])
        } else {
            Rgb([20, 20, 230])
        }
    });
    // (orientation, expected size, where red ends up: (x, y) of a pixel that must be red)
    let cases = [
        (1, (256, 128), (40, 20)),
        (2, (256, 128), (216, 20)),
        (3, (256, 128), (216, 108)),
        (6, (128, 256), (108, 40)),
        (8, (128, 256), (20, 216)),
    ];
    for (o, _, _) in cases {
        write(
            &src.join(format!("o{o}.jpg")),
            &jpeg_with_orientation(&img, o),
        );
    }
    let engine = Engine::new(2);
    let out = tmp.path().join("out");
    let report = thumbs(&engine, vec![src.clone()], &out, ThumbFormat::Png);
    assert_eq!(
        report.progress.state,
        JobState::Done,
        "{:?}",
        report.problems
    );
    for (o, size, red_at) in cases {
        let (_, thumb) = open(&out.join(format!("src/o{o}.png")));
        assert_eq!((thumb.width(), thumb.height()), size, "orientation {o}");
        let px = thumb.to_rgb8().get_pixel(red_at.0, red_at.1).0;
        assert!(
            px[0] > 180 && px[2] < 80,
            "orientation {o}: expected red at {red_at:?}, got {px:?}"
        );
    }
}

#[test]
fn transparency_is_kept_or_flattened_on_white() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let img = RgbaImage::from_fn(600, 300, |x, _| {
        if x < 300 {
            Rgba([0, 0, 0, 0])
        } else {
            Rgba([200, 30, 30, 255])
        }
    });
    write(
        &src.join("alpha.png"),
        &encode(&DynamicImage::ImageRgba8(img), ImageFormat::Png),
    );
    let engine = Engine::new(1);
    for (format, ext) in [
        (ThumbFormat::Jpeg, "jpg"),
        (ThumbFormat::Png, "png"),
        (ThumbFormat::Webp, "webp"),
    ] {
        let out = tmp.path().join(ext);
        let report = thumbs(&engine, vec![src.join("alpha.png")], &out, format);
        assert_eq!(report.progress.state, JobState::Done);
        let (_, thumb) = open(&out.join(format!("alpha.{ext}")));
        assert_eq!((thumb.width(), thumb.height()), (256, 128));
        let left = thumb.to_rgba8().get_pixel(20, 64).0;
        let right = thumb.to_rgba8().get_pixel(230, 64).0;
        if format == ThumbFormat::Jpeg {
            assert!(left.iter().take(3).all(|&c| c > 245), "not white: {left:?}");
        } else {
            assert_eq!(left[3], 0, "alpha lost: {left:?}");
        }
        assert!(right[0] > 150 && right[3] == 255, "{right:?}");
    }
}

fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut data = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    data.extend_from_slice(&13u32.to_be_bytes());
    data.extend_from_slice(&ihdr);
    data.extend_from_slice(&crc32fast::hash(&ihdr).to_be_bytes());
    let idat = b"IDAT\x78\x9c\x63\x00\x00".to_vec();
    data.extend_from_slice(&5u32.to_be_bytes());
    data.extend_from_slice(&idat);
    data.extend_from_slice(&crc32fast::hash(&idat).to_be_bytes());
    data.extend_from_slice(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]);
    data
}

#[test]
fn bad_inputs_get_per_file_errors_and_the_job_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let good_jpeg = encode(&gradient(800, 600), ImageFormat::Jpeg);
    let good_png = encode(&gradient(800, 600), ImageFormat::Png);
    write(&src.join("a-good.png"), &good_png);
    write(&src.join("b-good.jpg"), &good_jpeg);
    write(&src.join("empty.jpg"), b"");
    write(
        &src.join("text.jpg"),
        b"this is just text, named like a photo\n",
    );
    write(
        &src.join("notes.txt"),
        b"not an image, and not pretending to be one\n",
    );
    write(
        &src.join("truncated.jpg"),
        &good_jpeg[..good_jpeg.len() / 2],
    );
    write(&src.join("truncated.png"), &good_png[..good_png.len() / 2]);
    write(&src.join("huge.png"), &png_claiming(100_000, 100_000));
    // Work for the single worker so that the scan is over well before the last file.
    for i in 0..12 {
        write(
            &src.join(format!("c-filler-{i:02}.jpg")),
            &encode(&gradient(1600, 1200), ImageFormat::Jpeg),
        );
    }
    write(&src.join("zz-gone.jpg"), &good_jpeg);
    assert!(
        Command::new("mkfifo")
            .arg(src.join("pipe.jpg"))
            .status()
            .unwrap()
            .success()
    );
    let engine = Engine::new(1);
    let out = tmp.path().join("out");
    let id = engine
        .submit(JobSpec::Thumbs(ThumbSpec::new(
            vec![src.clone()],
            out.clone(),
        )))
        .unwrap();
    wait_until_running(&engine, id);
    // Deleted after the scan: as unreadable as a file can be for root.
    fs::remove_file(src.join("zz-gone.jpg")).unwrap();
    let (report, _) = wait_job(&engine, id);
    assert_eq!(report.progress.state, JobState::DoneWithErrors);
    let problem = |name: &str| {
        report
            .problems
            .iter()
            .find(|p| p.path.file_name().is_some_and(|n| n == name))
            .unwrap_or_else(|| panic!("{name} not reported: {:#?}", report.problems))
    };
    for (name, cause) in [
        ("empty.jpg", "empty"),
        ("text.jpg", "not an image"),
        ("truncated.jpg", "truncated"),
        ("truncated.png", ""),
        ("huge.png", "too large"),
        ("zz-gone.jpg", "vanished"),
    ] {
        let p = problem(name);
        assert_eq!(p.kind, ProblemKind::Error, "{name}");
        assert!(p.cause.to_string().contains(cause), "{name}: {}", p.cause);
    }
    assert_eq!(problem("notes.txt").kind, ProblemKind::Skipped);
    assert!(problem("pipe.jpg").cause.to_string().contains("FIFO"));
    assert_eq!(report.progress.errors, 6);
    assert_eq!(report.summary(), "done with 6 errors, 2 skipped");
    assert_eq!(report.outputs.len(), 14);
    for f in ["a-good.jpg", "b-good.jpg", "c-filler-11.jpg"] {
        assert!(out.join("src").join(f).is_file(), "{f} missing");
    }
    assert!(!out.join("src/truncated.jpg").exists());
    assert_no_partial_files(&out);
}

#[test]
fn name_conflicts_rename_skip_or_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("photo.png");
    write(&src, &encode(&gradient(640, 480), ImageFormat::Png));
    let out = tmp.path().join("out");
    write(&out.join("photo.jpg"), b"someone else's file");
    let engine = Engine::new(1);
    let run = |policy| {
        let mut spec = ThumbSpec::new(vec![src.clone()], out.clone());
        spec.on_conflict = policy;
        run_job(&engine, JobSpec::Thumbs(spec)).0
    };
    let r = run(ConflictPolicy::Rename);
    assert_eq!(r.outputs, vec![out.join("photo (1).jpg")]);
    let r = run(ConflictPolicy::Rename);
    assert_eq!(r.outputs, vec![out.join("photo (2).jpg")]);
    assert_eq!(
        fs::read(out.join("photo.jpg")).unwrap(),
        b"someone else's file"
    );
    let r = run(ConflictPolicy::Skip);
    assert_eq!(r.progress.state, JobState::Done);
    assert!(r.outputs.is_empty());
    assert_eq!(r.problems[0].kind, ProblemKind::Skipped);
    assert_eq!(
        fs::read(out.join("photo.jpg")).unwrap(),
        b"someone else's file"
    );
    let r = run(ConflictPolicy::Overwrite);
    assert_eq!(r.outputs, vec![out.join("photo.jpg")]);
    assert_eq!(open(&out.join("photo.jpg")).0, ImageFormat::Jpeg);
    // Two inputs of one job that map to one name never replace each other.
    let dir = tmp.path().join("pair");
    write(
        &dir.join("x.png"),
        &encode(&gradient(300, 200), ImageFormat::Png),
    );
    write(
        &dir.join("x.jpg"),
        &encode(&gradient(200, 300), ImageFormat::Jpeg),
    );
    let mut spec = ThumbSpec::new(
        vec![dir.join("x.jpg"), dir.join("x.png")],
        tmp.path().join("pair-out"),
    );
    spec.on_conflict = ConflictPolicy::Overwrite;
    let r = run_job(&engine, JobSpec::Thumbs(spec)).0;
    assert_eq!(r.outputs.len(), 2);
    assert_ne!(r.outputs[0], r.outputs[1]);
}

#[test]
fn symlinked_files_are_read_and_symlinked_folders_are_not_walked() {
    let tmp = tempfile::tempdir().unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    write(
        &elsewhere.join("real.png"),
        &encode(&gradient(300, 300), ImageFormat::Png),
    );
    let src = tmp.path().join("src");
    fs::create_dir_all(&src).unwrap();
    symlink(elsewhere.join("real.png"), src.join("linked.png")).unwrap();
    symlink(&elsewhere, src.join("linked-folder")).unwrap();
    let engine = Engine::new(1);
    let out = tmp.path().join("out");
    let report = thumbs(&engine, vec![src.clone()], &out, ThumbFormat::Jpeg);
    assert_eq!(report.outputs, vec![out.join("src/linked.jpg")]);
    assert!(!out.join("src/linked-folder").exists());
}

#[test]
fn cancel_keeps_finished_thumbnails_and_leaves_no_partial_file() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let big = encode(&gradient(2000, 1500), ImageFormat::Png);
    for i in 0..60 {
        write(&src.join(format!("img-{i:02}.png")), &big);
    }
    let engine = Engine::new(1);
    let out = tmp.path().join("out");
    let id = engine
        .submit(JobSpec::Thumbs(ThumbSpec::new(
            vec![src.clone()],
            out.clone(),
        )))
        .unwrap();
    loop {
        match engine
            .events()
            .recv_timeout(Duration::from_secs(120))
            .unwrap()
        {
            JobEvent::Progress(p) if p.items_done >= 2 => break,
            JobEvent::Finished(r) => panic!("finished before cancel: {r:?}"),
            _ => {}
        }
    }
    engine.cancel(id);
    let (report, _) = wait_job(&engine, id);
    assert_eq!(report.progress.state, JobState::Cancelled);
    assert!(
        report.outputs.len() >= 2 && report.outputs.len() < 60,
        "{}",
        report.outputs.len()
    );
    for f in &report.outputs {
        assert!(f.is_file());
    }
    assert_eq!(files_below(&out).len(), report.outputs.len());
    assert_no_partial_files(&out);
}

#[test]
fn several_sizes_and_a_template_give_the_right_names_and_sizes() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("trip");
    write(
        &src.join("day1/beach.jpg"),
        &encode(&gradient(1200, 800), ImageFormat::Jpeg),
    );
    write(
        &src.join("day2/hill.png"),
        &encode(&gradient(300, 900), ImageFormat::Png),
    );
    let out = tmp.path().join("out");
    let engine = Engine::new(2);
    let mut spec = ThumbSpec::new(vec![src.clone()], out.clone());
    spec.sizes = [64, 512].map(Into::into).to_vec();
    spec.name_template = Some("{parent}-{stem}_{size}".to_owned());
    let (report, _) = run_job(&engine, JobSpec::Thumbs(spec.clone()));
    assert_eq!(report.progress.state, JobState::Done, "{report:?}");
    let expected = [
        ("trip/day1/day1-beach_64.jpg", (64, 43)),
        ("trip/day1/day1-beach_512.jpg", (512, 341)),
        ("trip/day2/day2-hill_64.jpg", (21, 64)),
        // Never upscaled: 900 px is the long side.
        ("trip/day2/day2-hill_512.jpg", (171, 512)),
    ];
    let made: Vec<PathBuf> = expected.iter().map(|(n, _)| out.join(n)).collect();
    assert_eq!(report.outputs, made);
    for (name, (w, h)) in expected {
        let img = image::open(out.join(name)).unwrap();
        assert_eq!((img.width(), img.height()), (w, h), "{name}");
    }
    // The default template for several sizes is {stem}_{size}.
    spec.name_template = None;
    spec.sizes = [100, 50].map(Into::into).to_vec();
    let (report, _) = run_job(&engine, JobSpec::Thumbs(spec));
    let names: Vec<String> = report
        .outputs
        .iter()
        .map(|p| p.strip_prefix(&out).unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "trip/day1/beach_100.jpg",
            "trip/day1/beach_50.jpg",
            "trip/day2/hill_100.jpg",
            "trip/day2/hill_50.jpg"
        ]
    );
}

#[test]
fn a_jpeg_missing_only_its_end_marker_is_made_with_a_warning_and_a_cut_one_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let full = encode(&gradient(640, 480), ImageFormat::Jpeg);
    assert_eq!(&full[full.len() - 2..], &[0xFF, 0xD9]);
    write(&src.join("no-eoi.jpg"), &full[..full.len() - 2]);
    write(&src.join("cut.jpg"), &full[..full.len() / 2]);
    let out = tmp.path().join("out");
    let engine = Engine::new(2);
    let (report, _) = run_job(
        &engine,
        JobSpec::Thumbs(ThumbSpec::new(vec![src.clone()], out.clone())),
    );
    assert_eq!(
        report.progress.state,
        JobState::DoneWithErrors,
        "{report:?}"
    );
    assert_eq!(report.outputs, vec![out.join("src/no-eoi.jpg")]);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].path.ends_with("no-eoi.jpg"));
    assert!(report.warnings[0].cause.to_string().contains("end marker"));
    assert_eq!(report.problems.len(), 1);
    assert!(report.problems[0].path.ends_with("cut.jpg"));
    assert_eq!(report.problems[0].kind, ProblemKind::Error);
}
