//! The real window app (`shrinkwrap::ui::App`), driven through egui_kittest: inputs added the
//! way a person adds them (the path field, a drop), jobs started and cancelled with the buttons,
//! outcomes read back from the window and from the disk.
//!
//! Tests about real jobs (what lands on the disk, real plans, real progress, pause, order and
//! resume as the engine does them) run the real engine; tests of the window itself (keys,
//! notices, the quit question, the strip, remembered settings, accessible names) run a fake one
//! (`common::fake_engine`) that answers at once and ends jobs when the test says.
//!
//! No timing assertions: frames are stepped until the expected state shows up, with one generous
//! deadline per wait so that a hang fails instead of blocking CI.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fake_engine::{Call, FakeEngine, failed, skipped};
use common::ui::{Settle, WAIT_DEADLINE, drop_onto_window, harness, jpeg_bytes, step_until};
use common::{assert_archive_matches, expected_tree, files_below, noise, write};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use shrinkwrap::engine::kinds::thumbs::KIND as THUMBS;
use shrinkwrap::engine::kinds::zip::KIND as ZIP;
use shrinkwrap::engine::{Fit, JobOutcome, JobSpec, JobState, SkipReason, ThumbSize};
use shrinkwrap::ui::kinds::zip::{ArchiveLayout, CompressionLevel, ZipQuestion};
use shrinkwrap::ui::settings::Settings;
use shrinkwrap::ui::state::{Command, Prompt, QuitState};
use shrinkwrap::ui::{App, AppOptions, LaunchArgs, WindowEngine};

/// A window whose engine keeps journals in `state_dir` (and lists the unfinished ones there at
/// start), with these options otherwise.
fn harness_with(workers: usize, settings: Settings, options: AppOptions) -> Harness<'static, App> {
    let settings = Settings {
        workers: Some(workers),
        ..settings
    };
    Harness::builder()
        .with_size(egui::vec2(1180.0, 760.0))
        .build_eframe(move |cc| {
            App::with_options(
                &cc.egui_ctx,
                settings,
                shrinkwrap::ui::LaunchArgs::default(),
                options,
            )
        })
}

/// A window over a fake engine (two workers), with these settings and options.
fn fake_harness_with(
    settings: Settings,
    options: AppOptions,
) -> (Harness<'static, App>, FakeEngine) {
    common::ui::fake_harness_with(settings, LaunchArgs::default(), options)
}

/// A window over a fake engine, with these settings.
fn fake_harness(settings: Settings) -> (Harness<'static, App>, FakeEngine) {
    fake_harness_with(settings, AppOptions::test(None))
}

fn type_path_and_add(harness: &mut Harness<'static, App>, path: &Path) {
    let field = harness.get_by_label("Path to add");
    field.focus();
    field.type_text(&path.display().to_string());
    harness.settle();
    harness.get_by_label("Add").click();
    harness.settle();
}

fn part_files(dir: &Path) -> Vec<PathBuf> {
    files_below(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".part"))
        .collect()
}

/// Drops a 64 MiB incompressible file named `name` on a one-worker window, starts a compress job
/// at Maximum and steps until it runs.
fn start_big_compress_job(dir: &Path, name: &str) -> Harness<'static, App> {
    let big = dir.join(name);
    write(&big, &noise(64 << 20, 7));
    let mut settings = Settings::default();
    settings.kinds.zip.compression = CompressionLevel::Maximum;
    let mut harness = harness(1, settings);
    drop_onto_window(&mut harness, &big);
    assert_eq!(harness.state().inputs().len(), 1, "the drop added the file");
    harness.get_by_label("Compress").click();
    harness.step();
    step_until(&mut harness, "the job to start", |app| {
        matches!(
            app.queue().rows()[0].state(),
            JobState::Scanning | JobState::Running
        )
    });
    harness
}

fn has_label(harness: &Harness<'static, App>, label: &str) -> bool {
    harness.query_by_label(label).is_some()
}

#[test]
fn compress_from_the_path_field_makes_a_valid_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("project");
    write(&src.join("readme.txt"), b"hello from shrinkwrap\n");
    write(
        &src.join("docs/notes.md"),
        "# notes\n".repeat(2000).as_bytes(),
    );
    write(&src.join("data/table.csv"), b"a,b\n1,2\n");

    let mut harness = harness(2, Settings::default());
    type_path_and_add(&mut harness, &src);
    step_until(&mut harness, "the input to be measured", |app| {
        app.inputs().len() == 1 && !app.inputs().measuring()
    });
    assert!(
        has_label(&harness, "project"),
        "the input list shows the folder"
    );
    assert!(
        harness
            .query_all_by_label_contains("3 files")
            .next()
            .is_some(),
        "the input list shows the file count"
    );

    harness.get_by_label("Compress").click();
    harness.settle();
    assert_eq!(harness.state().queue().rows().len(), 1, "one job row");
    step_until(&mut harness, "the job to finish", |app| {
        app.queue().rows()[0].is_finished()
    });

    assert_eq!(harness.state().queue().rows()[0].state(), JobState::Done);
    assert!(has_label(&harness, "done"), "the row says done");
    assert!(
        harness
            .query_by_label("Open the folder of project.zip")
            .is_some()
    );

    // Read back by the zip crate, unzip, python3 and 7z, extracted and byte-compared.
    assert_archive_matches(&tmp.path().join("project.zip"), &expected_tree(&src));
    assert!(part_files(tmp.path()).is_empty());
    harness.settle();
}

#[test]
fn cancelling_a_big_job_leaves_no_partial_file() {
    let tmp = tempfile::tempdir().unwrap();
    let mut harness = start_big_compress_job(tmp.path(), "big.bin");
    harness.get_by_label("Cancel big.zip").click();
    harness.step();
    step_until(&mut harness, "the job to end", |app| {
        app.queue().rows()[0].is_finished()
    });

    assert_eq!(
        harness.state().queue().rows()[0].state(),
        JobState::Cancelled
    );
    assert!(has_label(&harness, "cancelled"), "the row says cancelled");
    assert!(
        part_files(tmp.path()).is_empty(),
        "partial files left: {:?}",
        part_files(tmp.path())
    );
    assert!(
        !tmp.path().join("big.zip").exists(),
        "no archive after a cancel"
    );
    harness.settle();
}

/// A PNG of a gradient, `width` x `height`.
fn png_bytes(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x * 255 / width) as u8,
            (y * 255 / height) as u8,
            seed.wrapping_mul(40),
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[test]
fn thumbnails_with_a_broken_image_show_one_error_and_the_strip() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    for i in 0..3u8 {
        write(
            &photos.join(format!("photo-{i}.png")),
            &png_bytes(640, 480, i),
        );
    }
    let whole = png_bytes(640, 480, 9);
    write(&photos.join("broken.png"), &whole[..whole.len() / 2]);

    let mut harness = harness(2, Settings::default());
    drop_onto_window(&mut harness, &photos);
    harness.get_by_label("Thumbnails").click();
    harness.settle();
    assert_eq!(harness.state().settings().kind, THUMBS);
    harness.get_by_label("Make thumbnails").click();
    harness.step();
    step_until(&mut harness, "the thumbnail job to finish", |app| {
        app.queue().rows()[0].is_finished()
    });

    let row_state = harness.state().queue().rows()[0].state();
    assert_eq!(row_state, JobState::DoneWithErrors);
    assert!(
        has_label(&harness, "done with 1 error"),
        "the row says done with 1 error"
    );

    let report = harness.state().queue().rows()[0].report.clone().unwrap();
    assert_eq!(report.outputs.len(), 3);
    assert_eq!(report.problems.len(), 1);
    let problem = &report.problems[0];
    assert!(problem.path.ends_with("broken.png"));

    harness.get_by_label("Show 1 error").click();
    harness.settle();
    assert!(
        has_label(&harness, &problem.path.display().to_string()),
        "the error list shows the path"
    );
    assert!(
        has_label(&harness, &problem.cause.to_string()),
        "the error list shows the cause"
    );

    step_until(&mut harness, "the thumbnail strip", |app| {
        app.queue().rows()[0].strip.shown() == 3
    });
    for output in &report.outputs {
        assert!(
            output.starts_with(tmp.path().join("thumbnails")),
            "{output:?}"
        );
        let thumb = image::open(output).unwrap();
        assert!(thumb.width() <= 256 && thumb.height() <= 256);
    }
    harness.settle();
}

#[test]
fn an_archive_found_only_by_the_job_asks_at_once_and_the_failed_card_offers_the_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("report.txt");
    write(&file, b"quarterly numbers\n");
    write(&tmp.path().join("report.zip"), b"not mine to replace");

    let mut harness = harness(1, Settings::default());
    // Start in the frame the input arrives: before the preview has looked (as the file
    // manager's "Compress with Shrinkwrap" does).
    harness
        .state_mut()
        .queue_command(Command::AddPaths(vec![file.clone()]));
    harness.state_mut().queue_command(Command::Start(ZIP));
    harness.step();
    assert_eq!(harness.state().queue().rows().len(), 1);
    step_until(&mut harness, "the job to fail", |app| {
        app.queue().rows()[0].is_finished()
    });
    assert_eq!(harness.state().queue().rows()[0].state(), JobState::Failed);
    let outcome = harness
        .query_all_by_label_contains("failed:")
        .filter_map(|node| node.accesskit_node().label())
        .collect::<Vec<_>>()
        .join(" | ");
    assert!(
        outcome.contains("already exists"),
        "the row says the archive exists: {outcome}"
    );
    // The window's hint, once (the engine's message carries none; the command line's flags
    // are not the window's words).
    assert_eq!(
        outcome
            .matches("choose to replace it, or keep both")
            .count(),
        1,
        "{outcome}"
    );
    assert!(!outcome.contains("--overwrite"), "{outcome}");
    // The window asks at once.
    assert!(
        matches!(
            harness.state().state().prompt,
            Some(Prompt::Zip(ZipQuestion::ArchiveExists { .. }))
        ),
        "the question is open"
    );
    assert!(has_label(&harness, "report.zip already exists"));
    harness.get_by_label("Cancel").click();
    harness.settle();
    assert_eq!(harness.state().state().prompt, None);
    assert_eq!(
        fs::read(tmp.path().join("report.zip")).unwrap(),
        b"not mine to replace"
    );

    // No dead end: the failed card offers the same answers.
    harness
        .get_by_label("Keep report.zip and write a new archive")
        .click();
    harness.step();
    step_until(&mut harness, "the new job to finish", |app| {
        app.queue().rows().len() == 1
            && app.queue().rows()[0].is_finished()
            && app.queue().rows()[0].state() != JobState::Failed
    });
    assert_eq!(harness.state().queue().rows()[0].state(), JobState::Done);
    assert_eq!(
        fs::read(tmp.path().join("report.zip")).unwrap(),
        b"not mine to replace"
    );
    assert_archive_matches(&tmp.path().join("report (1).zip"), &expected_tree(&file));
    harness.settle();
}

/// Steps until the preview describes the current inputs and settings.
fn wait_for_preview(harness: &mut Harness<'static, App>) {
    step_until(harness, "the preview", |app| {
        app.preview().is_fresh() && app.preview().view().is_some()
    });
}

#[test]
fn an_existing_archive_asks_replace_keep_both_or_cancel_and_each_does_what_it_says() {
    for answer in ["Replace", "Keep both", "Cancel"] {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("report.txt");
        write(&file, b"quarterly numbers\n");
        let old = b"an older archive, not to be lost".to_vec();
        write(&tmp.path().join("report.zip"), &old);

        let mut harness = harness(1, Settings::default());
        drop_onto_window(&mut harness, &file);
        wait_for_preview(&mut harness);
        // The preview found it before anything started, and says so.
        let view = harness.state().preview().view().unwrap().clone();
        assert_eq!(view.existing, vec![tmp.path().join("report.zip")]);
        assert!(
            has_label(
                &harness,
                &format!("report.zip already exists in {}.", tmp.path().display())
            ),
            "the preview asks"
        );
        assert!(harness.state().queue().rows().is_empty());

        harness.get_by_label("Compress").click();
        harness.settle();
        assert!(
            harness.state().queue().rows().is_empty(),
            "{answer}: nothing is queued before the answer"
        );
        assert!(has_label(&harness, "report.zip already exists"));
        harness.get_by_label(answer).click();
        harness.step();
        match answer {
            "Cancel" => {
                harness.settle();
                assert!(harness.state().queue().rows().is_empty());
                assert_eq!(fs::read(tmp.path().join("report.zip")).unwrap(), old);
                assert_eq!(
                    files_below(tmp.path()),
                    vec![PathBuf::from("report.txt"), PathBuf::from("report.zip")],
                    "Cancel writes nothing"
                );
            }
            _ => {
                step_until(&mut harness, "the job to finish", |app| {
                    app.queue().rows().first().is_some_and(|r| r.is_finished())
                });
                assert_eq!(harness.state().queue().rows().len(), 1);
                assert_eq!(harness.state().queue().rows()[0].state(), JobState::Done);
                if answer == "Replace" {
                    assert_archive_matches(&tmp.path().join("report.zip"), &expected_tree(&file));
                    assert!(!tmp.path().join("report (1).zip").exists());
                } else {
                    assert_eq!(fs::read(tmp.path().join("report.zip")).unwrap(), old);
                    assert_archive_matches(
                        &tmp.path().join("report (1).zip"),
                        &expected_tree(&file),
                    );
                }
            }
        }
        assert!(part_files(tmp.path()).is_empty());
    }
}

#[test]
fn an_answer_given_in_the_preview_needs_no_question_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("notes.txt");
    write(&file, b"remember the milk\n");
    write(&tmp.path().join("notes.zip"), b"older");
    let mut harness = harness(1, Settings::default());
    drop_onto_window(&mut harness, &file);
    wait_for_preview(&mut harness);
    harness.get_by_label("Keep both").click();
    harness.step();
    wait_for_preview(&mut harness);
    assert!(
        harness
            .query_all_by_label_contains("notes.zip is kept")
            .next()
            .is_some(),
        "the preview says where the new archive goes"
    );
    assert!(
        harness
            .state()
            .preview()
            .view()
            .unwrap()
            .existing
            .is_empty()
    );
    harness.get_by_label("Compress").click();
    harness.step();
    assert_eq!(harness.state().state().prompt, None, "no question");
    step_until(&mut harness, "the job to finish", |app| {
        app.queue().rows().first().is_some_and(|r| r.is_finished())
    });
    assert_eq!(fs::read(tmp.path().join("notes.zip")).unwrap(), b"older");
    assert_archive_matches(&tmp.path().join("notes (1).zip"), &expected_tree(&file));
}

#[test]
fn delete_removes_the_selected_input_and_clear_all_empties_the_list() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("alpha.txt"), tmp.path().join("beta.txt"));
    write(&a, b"a");
    write(&b, b"b");
    let (mut harness, _fake) = fake_harness(Settings::default());
    drop_onto_window(&mut harness, &a);
    drop_onto_window(&mut harness, &b);
    assert_eq!(harness.state().inputs().len(), 2);

    harness.get_by_label("alpha.txt").click();
    harness.settle();
    assert_eq!(harness.state().inputs().selected(), Some(0));
    harness.key_press(egui::Key::Delete);
    harness.settle();
    assert_eq!(harness.state().inputs().paths(), vec![b.clone()]);

    harness.get_by_label("Clear all").click();
    harness.settle();
    assert!(harness.state().inputs().is_empty());
}

#[test]
fn closing_while_a_job_runs_asks_then_cancels_and_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let mut harness = start_big_compress_job(tmp.path(), "huge.bin");

    let root = harness
        .input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default();
    root.events.push(egui::ViewportEvent::Close);
    harness.step();
    assert_eq!(harness.state().state().quit, QuitState::Asking);
    harness.step();
    harness.get_by_label("Cancel jobs and quit").click();
    harness.step();
    step_until(&mut harness, "quitting to finish", |app| {
        app.state().quit == QuitState::Closing
    });
    assert_eq!(
        harness.state().queue().rows()[0].state(),
        JobState::Cancelled
    );
    assert!(
        part_files(tmp.path()).is_empty(),
        "partial files left: {:?}",
        part_files(tmp.path())
    );
}

/// Storage in memory, standing in for eframe's file storage.
#[derive(Default)]
struct MemoryStorage(std::collections::HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }
    fn flush(&mut self) {}
}

#[test]
fn settings_are_remembered_between_runs() {
    let (mut first, _fake) = fake_harness(Settings::default());
    first.get_by_label("Thumbnails").click();
    first.settle();
    first.get_by_label("512 px").click();
    first.settle();
    first.get_by_label("WebP").click();
    first.settle();
    let mut storage = MemoryStorage::default();
    eframe::App::save(first.state_mut(), &mut storage);
    drop(first);

    let storage: &'static MemoryStorage = Box::leak(Box::new(storage));
    let second: Harness<'static, App> = Harness::builder().build_eframe(move |cc| {
        cc.storage = Some(storage);
        App::new(cc, shrinkwrap::ui::LaunchArgs::default(), Arc::default())
    });
    let settings = second.state().settings();
    assert_eq!(settings.kind, THUMBS);
    assert_eq!(
        settings.kinds.thumbs.thumb_sizes,
        [256, 512].map(shrinkwrap::engine::ThumbSize::square)
    );
    assert_eq!(
        settings.kinds.thumbs.thumb_format,
        shrinkwrap::engine::ThumbFormat::Webp
    );
}

#[test]
fn the_worker_setting_resizes_the_pool() {
    let (mut harness, fake) = fake_harness(Settings::default());
    assert_eq!(harness.state().engine().workers(), 2);
    harness.get_by_label("Workers").set_value_accesskit(3.0);
    harness.settle();
    assert_eq!(harness.state().settings().workers, Some(3));
    assert_eq!(harness.state().engine().workers(), 3);
    assert_eq!(
        fake.calls(),
        vec![Call::SetWorkers(3)],
        "the pool is resized, once"
    );
}

#[test]
fn the_memory_setting_reaches_the_engine_and_is_remembered() {
    let (mut harness, fake) = fake_harness(Settings::default());
    harness.get_by_label("Memory").set_value_accesskit(500.0);
    harness.settle();
    assert_eq!(harness.state().settings().memory_mb, Some(500));
    assert_eq!(fake.calls(), vec![Call::SetMemoryBudget(Some(500_000_000))]);
    // Back to automatic.
    harness.get_by_label("Memory").set_value_accesskit(0.0);
    harness.settle();
    assert_eq!(harness.state().settings().memory_mb, None);
    assert_eq!(fake.calls().last(), Some(&Call::SetMemoryBudget(None)));
    // A window opened with a remembered budget gives it to its engine at once.
    let (_harness, fake) = fake_harness(Settings {
        memory_mb: Some(800),
        ..Settings::default()
    });
    assert_eq!(fake.calls(), vec![Call::SetMemoryBudget(Some(800_000_000))]);
}

#[test]
fn fill_and_crop_a_box_and_enlarging_reach_the_thumbnail_job() {
    let tmp = tempfile::tempdir().unwrap();
    let photo = tmp.path().join("face.png");
    write(&photo, &png_bytes(40, 30, 3));
    let (mut harness, fake) = fake_harness(Settings::default());
    drop_onto_window(&mut harness, &photo);
    harness.get_by_label("Thumbnails").click();
    harness.settle();
    harness.get_by_label("Fill and crop").click();
    harness.get_by_label("Enlarge smaller images").click();
    harness
        .get_by_label("Width of the size to add")
        .set_value_accesskit(320.0);
    harness
        .get_by_label("Height of the size to add")
        .set_value_accesskit(200.0);
    harness.settle();
    harness.get_by_label("Add 320 × 200").click();
    harness.settle();
    // The new box has its own toggle, and the name preview shows it.
    assert!(has_label(&harness, "320 × 200"));
    assert!(labels_containing(&harness, "face_320x200.jpg") > 0);
    harness.get_by_label("Make thumbnails").click();
    harness.step();
    let submitted = fake.submitted();
    let Some((_, JobSpec::Thumbs(spec))) = submitted.last() else {
        panic!("a thumbnail job was queued: {submitted:?}")
    };
    assert_eq!(
        spec.sizes,
        [ThumbSize::square(256), ThumbSize::new(320, 200)]
    );
    assert_eq!(spec.fit, Fit::Cover);
    assert!(spec.upscale);
}

/// Drops a file named `name` on a window over a fake engine, starts a compress job and lets the
/// fake run it.
fn start_fake_compress_job(dir: &Path, name: &str) -> (Harness<'static, App>, FakeEngine) {
    let file = dir.join(name);
    write(&file, b"data to compress\n");
    let (mut harness, fake) = fake_harness(Settings::default());
    drop_onto_window(&mut harness, &file);
    harness.get_by_label("Compress").click();
    harness.step();
    let id = fake.job(0);
    fake.run(id);
    step_until(&mut harness, "the job to run", |app| {
        app.queue().rows()[0].state() == JobState::Running
    });
    (harness, fake)
}

#[test]
fn escape_cancels_the_selected_job() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut harness, fake) = start_fake_compress_job(tmp.path(), "archive-me.bin");
    // A click on the card (here on its title) selects the job.
    harness.get_by_label("archive-me.zip").click();
    harness.step();
    let id = harness.state().queue().rows()[0].id;
    assert_eq!(harness.state().queue().selected(), Some(id));
    harness.key_press(egui::Key::Escape);
    harness.step();
    step_until(&mut harness, "the job to end", |app| {
        app.queue().rows()[0].is_finished()
    });
    assert_eq!(
        harness.state().queue().rows()[0].state(),
        JobState::Cancelled
    );
    // The engine was asked to cancel that job, and nothing else (the real engine's cleanup is
    // cancelling_a_big_job_leaves_no_partial_file's).
    let cancels: Vec<Call> = fake
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Cancel(_) | Call::CancelAll))
        .collect();
    assert_eq!(cancels, vec![Call::Cancel(id)]);
}

fn type_into(harness: &mut Harness<'static, App>, label: &str, text: &str) {
    let field = harness.get_by_label(label);
    field.focus();
    field.type_text(text);
    harness.settle();
}

fn labels_containing(harness: &Harness<'static, App>, text: &str) -> usize {
    harness.query_all_by_label_contains(text).count()
}

#[test]
fn the_preview_shows_the_plan_and_follows_the_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    for name in ["alpha", "beta", "gamma"] {
        write(&photos.join(format!("{name}.png")), &png_bytes(320, 200, 3));
    }
    write(&photos.join("notes.txt"), b"not an image");

    let mut harness = harness(2, Settings::default());
    drop_onto_window(&mut harness, &photos);
    harness.get_by_label("Thumbnails").click();
    harness.settle();
    wait_for_preview(&mut harness);
    let summary = harness.state().preview().view().unwrap().summary.clone();
    assert_eq!((summary.outputs, summary.writes, summary.skips), (3, 3, 1));
    assert!(
        labels_containing(&harness, "3 thumbnails, all new; 1 skipped (not an image)") == 1,
        "the summary line"
    );
    assert!(has_label(&harness, "Show 4 items"));
    for row in [
        "photos/alpha.png",
        "thumbnails/photos/alpha.jpg",
        "photos/notes.txt",
    ] {
        assert!(has_label(&harness, row), "the item list shows {row}");
    }
    assert!(
        labels_containing(&harness, "not an image") >= 1,
        "the skip says why"
    );
    // The name preview comes from the plan.
    assert!(has_label(&harness, "alpha.jpg"));

    // Another size: the preview is made again.
    harness.get_by_label("512 px").click();
    harness.step();
    assert!(
        !harness.state().preview().is_fresh(),
        "the change is noticed"
    );
    wait_for_preview(&mut harness);
    assert_eq!(harness.state().preview().view().unwrap().summary.outputs, 6);
    assert!(labels_containing(&harness, "6 thumbnails, all new; 1 skipped (not an image)") == 1);
    assert!(has_label(&harness, "thumbnails/photos/gamma_512.jpg"));
    assert!(has_label(&harness, "alpha_256.jpg, alpha_512.jpg"));

    // A template with an error says so in place, and Start waits for a good one.
    type_into(&mut harness, "Name", "{stem}-{nope}");
    assert!(
        labels_containing(&harness, "unknown placeholder {nope}") >= 1,
        "the template error is shown inline"
    );
    harness.get_by_label("Make thumbnails").click();
    harness.settle();
    assert!(harness.state().queue().rows().is_empty(), "nothing queued");
    harness
        .get_by_label("Name")
        .set_text_value_accesskit("{parent}-{stem}@{size}");
    harness.settle();
    // At once, rendered here on an example name (the folder's images are not listed yet)...
    assert!(has_label(
        &harness,
        "photos-IMG_0001@256.jpg, photos-IMG_0001@512.jpg"
    ));
    // ...then from the plan, on the real names.
    wait_for_preview(&mut harness);
    assert!(has_label(
        &harness,
        "photos-alpha@256.jpg, photos-alpha@512.jpg"
    ));
    assert!(has_label(&harness, "thumbnails/photos/photos-beta@512.jpg"));

    // Previews write nothing and never become cards.
    assert!(!tmp.path().join("thumbnails").exists());
    assert!(harness.state().queue().rows().is_empty());
    harness.settle();
}

#[test]
fn thumbnails_beside_their_originals_are_flagged_and_one_click_moves_them() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    let (a, b) = (photos.join("a.png"), photos.join("b.png"));
    write(&a, &png_bytes(300, 300, 1));
    write(&b, &png_bytes(300, 300, 2));

    let mut harness = harness(2, Settings::default());
    drop_onto_window(&mut harness, &a);
    drop_onto_window(&mut harness, &b);
    harness.get_by_label("Thumbnails").click();
    harness.settle();
    type_into(
        &mut harness,
        "Folder for the thumbnails",
        &photos.display().to_string(),
    );
    wait_for_preview(&mut harness);
    let view = harness.state().preview().view().unwrap().clone();
    assert!(view.beside_inputs().is_some(), "the plan warns");
    assert!(
        labels_containing(&harness, "Thumbnails would land next to their originals") == 1,
        "the window says so before starting"
    );
    harness.get_by_label("Use a thumbnails subfolder").click();
    harness.settle();
    assert_eq!(
        PathBuf::from(&harness.state().settings().kinds.thumbs.thumbnails_folder),
        photos.join("thumbnails")
    );
    wait_for_preview(&mut harness);
    assert!(
        harness
            .state()
            .preview()
            .view()
            .unwrap()
            .beside_inputs()
            .is_none()
    );
    assert_eq!(
        labels_containing(&harness, "next to their originals"),
        0,
        "the warning is gone"
    );
    assert_eq!(
        files_below(&photos),
        vec![PathBuf::from("a.png"), PathBuf::from("b.png")],
        "nothing written before Start"
    );
    harness.get_by_label("Make thumbnails").click();
    harness.step();
    step_until(&mut harness, "the job to finish", |app| {
        app.queue().rows().first().is_some_and(|r| r.is_finished())
    });
    assert_eq!(
        files_below(&photos),
        vec![
            PathBuf::from("a.png"),
            PathBuf::from("b.png"),
            PathBuf::from("thumbnails/a.jpg"),
            PathBuf::from("thumbnails/b.jpg"),
        ]
    );
}

fn per_folder_settings() -> Settings {
    let mut settings = Settings::default();
    settings.kinds.zip.archive_layout = ArchiveLayout::ArchivePerFolder;
    settings
}

/// A folder and two plain files: "one archive per folder" makes three archives.
fn folder_and_two_files(dir: &Path) -> Vec<PathBuf> {
    let docs = dir.join("docs");
    write(&docs.join("plan.md"), b"# plan\n");
    write(&dir.join("a.txt"), b"a\n");
    write(&dir.join("b.txt"), b"b\n");
    vec![docs, dir.join("a.txt"), dir.join("b.txt")]
}

#[test]
fn one_archive_per_folder_with_plain_files_counts_and_asks_first() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = folder_and_two_files(tmp.path());
    let mut harness = harness(2, per_folder_settings());
    for input in &inputs {
        drop_onto_window(&mut harness, input);
    }
    step_until(&mut harness, "the inputs to be measured", |app| {
        !app.inputs().measuring()
    });
    assert!(
        labels_containing(&harness, "Makes 3 archives, 2 of them from single files") == 1,
        "the count is shown before starting"
    );
    harness.get_by_label("Compress").click();
    harness.settle();
    assert!(harness.state().queue().rows().is_empty(), "nothing started");
    assert!(has_label(&harness, "Make 3 archives?"));
    harness.get_by_label("Cancel").click();
    harness.settle();
    assert!(harness.state().queue().rows().is_empty());

    harness.get_by_label("Compress").click();
    harness.settle();
    harness.get_by_label("Make 3 archives").click();
    harness.step();
    assert_eq!(harness.state().queue().rows().len(), 3);
    step_until(&mut harness, "the jobs to finish", |app| {
        !app.queue().any_active()
    });
    for name in ["docs.zip", "a.txt.zip", "b.txt.zip"] {
        assert!(tmp.path().join(name).is_file(), "{name}");
    }
    assert_archive_matches(&tmp.path().join("a.txt.zip"), &expected_tree(&inputs[1]));
}

#[test]
fn the_file_manager_action_never_starts_several_archives_unasked() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = folder_and_two_files(tmp.path());
    let launch = shrinkwrap::ui::LaunchArgs {
        paths: inputs.clone(),
        queue_at_start: Some(ZIP),
        ..Default::default()
    };
    let settings = Settings {
        workers: Some(2),
        ..per_folder_settings()
    };
    let fake = FakeEngine::new(2);
    let engine = fake.clone();
    let mut harness: Harness<'static, App> = Harness::builder()
        .with_size(egui::vec2(1180.0, 760.0))
        .build_eframe(move |cc| {
            App::with_engine(
                &cc.egui_ctx,
                settings,
                launch,
                AppOptions::test(None),
                Box::new(engine),
            )
        });
    step_until(&mut harness, "the question", |app| {
        app.state().prompt.is_some()
    });
    assert!(has_label(&harness, "Make 3 archives?"));
    assert!(harness.state().queue().rows().is_empty(), "nothing started");
    harness.get_by_label("One archive instead").click();
    harness.settle();
    assert!(harness.state().queue().rows().is_empty());
    assert!(fake.submitted().is_empty(), "nothing submitted");
    assert_eq!(
        files_below(tmp.path()),
        vec![
            PathBuf::from("a.txt"),
            PathBuf::from("b.txt"),
            PathBuf::from("docs/plan.md")
        ],
        "nothing written"
    );
    wait_for_preview(&mut harness);
    assert_eq!(harness.state().preview().view().unwrap().parts().len(), 1);
}

#[test]
fn a_double_click_on_start_queues_one_job() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    for i in 0..3u8 {
        write(&photos.join(format!("p{i}.png")), &png_bytes(400, 300, i));
    }
    let (mut harness, fake) = fake_harness(Settings::default());
    drop_onto_window(&mut harness, &photos);
    harness.get_by_label("Thumbnails").click();
    harness.settle();
    wait_for_preview(&mut harness);
    let start = harness.get_by_label("Make thumbnails");
    start.click();
    start.click();
    harness.settle();
    assert_eq!(harness.state().queue().rows().len(), 1, "one card");
    assert_eq!(fake.submitted().len(), 1, "one job");
    assert!(
        has_label(&harness, "Queued"),
        "Start says the job is queued while it is"
    );

    // The same job asked twice in one frame: the engine refuses the second, calmly.
    let (mut harness2, fake2) = fake_harness(Settings::default());
    drop_onto_window(&mut harness2, &photos);
    harness2.state_mut().settings_mut().kind = THUMBS;
    harness2.state_mut().queue_command(Command::Start(THUMBS));
    harness2.state_mut().queue_command(Command::Start(THUMBS));
    harness2.step();
    assert_eq!(harness2.state().queue().rows().len(), 1, "one card");
    let notice = harness2.state().state().notice.clone().unwrap();
    assert!(notice.text.starts_with("Already queued"), "{}", notice.text);
    assert_eq!(notice.level, shrinkwrap::ui::state::NoticeLevel::Info);
    for (h, f) in [(&mut harness, &fake), (&mut harness2, &fake2)] {
        let id = f.job(0);
        f.run(id);
        f.finish_done(id, Vec::new(), None);
        step_until(h, "the job to finish", |app| !app.queue().any_active());
    }
}

// ---------------------------------------------------------------------------------------------
// Job control, a queue that survives, and what the window gets right (issue 9).
// ---------------------------------------------------------------------------------------------

/// A noisy JPEG (slow enough to decode that a job of a few dozen can be caught running).
/// `count` photos `p000.jpg`... of `side` px (4:3) in `dir`.
fn photos(dir: &Path, count: u32, side: u32) {
    for i in 0..count {
        write(
            &dir.join(format!("p{i:03}.jpg")),
            &jpeg_bytes(side, side * 3 / 4, i),
        );
    }
}

/// The finished thumbnails in `dir` (no temporary files).
fn thumbnails_in(dir: &Path) -> Vec<PathBuf> {
    files_below(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .filter(|p| !p.to_string_lossy().ends_with(".part"))
        .collect()
}

/// Drops `folder` on the window and starts a thumbnail job of it.
fn start_thumbnails(harness: &mut Harness<'static, App>, folder: &Path) {
    drop_onto_window(harness, folder);
    harness.get_by_label("Thumbnails").click();
    harness.settle();
    harness.get_by_label("Make thumbnails").click();
    harness.step();
    assert!(
        !harness.state().queue().rows().is_empty(),
        "the job was queued"
    );
}

fn row_name(harness: &Harness<'static, App>, index: usize) -> String {
    harness.state().queue().rows()[index].name.clone()
}

fn row_names(app: &App) -> Vec<String> {
    app.queue().rows().iter().map(|r| r.name.clone()).collect()
}

/// Steps frames for a while without waiting for anything (work that must not happen gets its
/// chance to).
fn idle_frames(harness: &mut Harness<'static, App>, frames: usize) {
    for _ in 0..frames {
        harness.step();
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until the only job is paused and its work in progress has parked.
fn wait_parked(harness: &mut Harness<'static, App>) {
    step_until(harness, "the job to park", |app| {
        let row = &app.queue().rows()[0];
        row.state() == JobState::Paused && row.progress.workers_busy == 0
    });
}

fn journals_in(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|read| {
            read.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "journal"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn pause_and_resume_a_thumbnail_job_from_its_card_and_for_the_whole_queue() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("photos");
    photos(&src, 48, 1600);
    let out = tmp.path().join("thumbnails");
    let state = tmp.path().join("state");
    let mut harness = harness_with(
        1,
        Settings::default(),
        AppOptions::test(Some(state.clone())),
    );
    start_thumbnails(&mut harness, &src);
    step_until(&mut harness, "the first thumbnails", |app| {
        let p = &app.queue().rows()[0].progress;
        p.state == JobState::Running && p.items_done >= 1 && p.items_per_sec > 0.0
    });
    let name = row_name(&harness, 0);
    // Counted and timed by images, not bytes (the speed shows while a worker runs the job: with
    // one worker, the preview's dry run may take it for a moment).
    let deadline = Instant::now() + WAIT_DEADLINE;
    while labels_containing(&harness, "of 48 images") == 0
        || labels_containing(&harness, "images/s") == 0
    {
        assert!(
            Instant::now() < deadline,
            "gave up waiting for the image count and rate"
        );
        harness.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(labels_containing(&harness, "B/s"), 0, "no byte speed");
    assert_eq!(
        journals_in(&state).len(),
        1,
        "a running job keeps a journal"
    );

    harness.get_by_label(&format!("Pause {name}")).click();
    harness.step();
    wait_parked(&mut harness);
    assert!(has_label(&harness, "paused"), "the card says paused");
    assert!(harness.query_by_label(&format!("Resume {name}")).is_some());
    step_until(&mut harness, "the title to say paused", |app| {
        app.window_title().starts_with("Paused")
    });
    let made = thumbnails_in(&out).len();
    assert!(made < 48, "paused part-way ({made} made)");
    idle_frames(&mut harness, 40);
    assert_eq!(thumbnails_in(&out).len(), made, "nothing new starts");
    assert_eq!(harness.state().queue().rows()[0].state(), JobState::Paused);

    harness.get_by_label(&format!("Resume {name}")).click();
    harness.step();
    step_until(&mut harness, "more thumbnails after Resume", |app| {
        let p = &app.queue().rows()[0].progress;
        p.state == JobState::Running && p.items_done > made as u64
    });

    // The whole queue.
    harness.get_by_label("Pause all").click();
    harness.step();
    wait_parked(&mut harness);
    assert!(has_label(&harness, "Resume all"));
    harness.get_by_label("Resume all").click();
    harness.step();
    step_until(&mut harness, "the job to finish", |app| {
        app.queue().rows()[0].is_finished()
    });
    assert_eq!(harness.state().queue().rows()[0].state(), JobState::Done);
    assert_eq!(thumbnails_in(&out).len(), 48);
    assert!(part_files(&out).is_empty());
    assert!(
        journals_in(&state).is_empty(),
        "the journal goes with the job"
    );
}

#[test]
fn stop_after_current_keeps_the_thumbnails_made_and_run_again_finishes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("photos");
    photos(&src, 40, 1600);
    let out = tmp.path().join("thumbnails");
    let mut harness = harness(1, Settings::default());
    start_thumbnails(&mut harness, &src);
    step_until(&mut harness, "the first thumbnails", |app| {
        app.queue().rows()[0].progress.items_done >= 1
    });
    let name = row_name(&harness, 0);
    // Paused first, so that the stop lands part-way whatever the machine's speed.
    harness.get_by_label(&format!("Pause {name}")).click();
    harness.step();
    wait_parked(&mut harness);
    let made = thumbnails_in(&out).len();
    harness
        .get_by_label(&format!("Stop {name} after the current images"))
        .click();
    harness.step();
    harness.get_by_label(&format!("Resume {name}")).click();
    harness.step();
    step_until(&mut harness, "the job to stop", |app| {
        app.queue().rows()[0].is_finished()
    });
    let row = &harness.state().queue().rows()[0];
    assert_eq!(row.state(), JobState::Stopped);
    assert_eq!(row.report.as_ref().unwrap().outputs.len(), made);
    assert!(
        has_label(&harness, &format!("stopped: {made} of 40")),
        "the card says stopped: {made} of 40"
    );
    assert_eq!(
        thumbnails_in(&out).len(),
        made,
        "finished thumbnails are kept"
    );
    assert!(part_files(&out).is_empty());

    // Run again: the same job, in the same card's place; the rest gets made.
    harness.get_by_label(&format!("Run {name} again")).click();
    harness.step();
    assert_eq!(
        harness.state().queue().rows().len(),
        1,
        "the card is replaced"
    );
    step_until(&mut harness, "the job to finish", |app| {
        app.queue().rows()[0].is_finished()
    });
    assert_eq!(harness.state().queue().rows()[0].state(), JobState::Done);
    assert_eq!(thumbnails_in(&out).len(), 40);
}

/// Releases the primary button at `pos` (kittest's `drop_at` also removes the pointer, and a
/// drop target needs it).
fn release_at(harness: &Harness<'static, App>, pos: egui::Pos2) {
    harness.event(egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
}

#[test]
fn queued_jobs_move_with_up_down_run_next_and_drag_and_run_in_that_order() {
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("big");
    photos(&big, 30, 1600);
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        write(
            &tmp.path().join(name).join("data.bin"),
            &noise(2 << 20, i as u64 + 1),
        );
    }
    let mut harness = harness(1, Settings::default());
    // One worker, kept busy: the other jobs wait their turn.
    start_thumbnails(&mut harness, &big);
    step_until(&mut harness, "the big job to run", |app| {
        app.queue().rows()[0].progress.items_done >= 1
    });
    let blocker = row_name(&harness, 0);
    harness.get_by_label("Zip archive").click();
    harness.settle();
    for name in ["a", "b", "c"] {
        let app = harness.state_mut();
        app.queue_command(Command::ClearInputs);
        app.queue_command(Command::AddPaths(vec![tmp.path().join(name)]));
        app.queue_command(Command::Start(ZIP));
        harness.step();
    }
    harness.settle();
    assert_eq!(
        row_names(harness.state()),
        [blocker.as_str(), "a.zip", "b.zip", "c.zip"]
    );
    assert!(
        has_label(&harness, "queued · starts next"),
        "a.zip starts next"
    );
    // Started jobs cannot move; an archive cannot stop part-way.
    assert!(
        harness
            .query_by_label(&format!("Move {blocker} up"))
            .is_none()
    );
    assert!(
        harness
            .query_by_label(&format!("Stop {blocker} after the current images"))
            .is_some()
    );
    assert!(
        harness
            .query_by_label("Stop a.zip after the current images")
            .is_none()
    );
    assert!(harness.query_by_label("Pause a.zip").is_some());

    harness.get_by_label("Run c.zip next").click();
    harness.settle();
    assert_eq!(
        row_names(harness.state()),
        [blocker.as_str(), "c.zip", "a.zip", "b.zip"]
    );
    harness.get_by_label("Move a.zip down").click();
    harness.settle();
    assert_eq!(
        row_names(harness.state()),
        [blocker.as_str(), "c.zip", "b.zip", "a.zip"]
    );
    harness.get_by_label("Move b.zip up").click();
    harness.settle();
    assert_eq!(
        row_names(harness.state()),
        [blocker.as_str(), "b.zip", "c.zip", "a.zip"]
    );

    // Drag a.zip by its handle onto b.zip's card: it takes b.zip's place.
    let handle = harness
        .get_by_label("Drag a.zip to reorder")
        .rect()
        .center();
    let target = harness
        .get_by_label_contains("Job b.zip (archive)")
        .rect()
        .center();
    harness.hover_at(handle);
    harness.step();
    harness.drag_at(handle);
    harness.step();
    for step in 1..=6 {
        harness.hover_at(handle + (target - handle) * (step as f32 / 6.0));
        harness.step();
    }
    release_at(&harness, target);
    harness.step();
    harness.settle();
    assert_eq!(
        row_names(harness.state()),
        [blocker.as_str(), "a.zip", "b.zip", "c.zip"]
    );

    // The engine will start them in the order the window shows (it starts queued jobs in its
    // queue order: tests/control.rs checks that on the engine itself).
    let ids: Vec<_> = harness.state().queue().rows()[1..]
        .iter()
        .map(|r| r.id)
        .collect();
    let engine_order: Vec<_> = harness
        .state()
        .engine()
        .queued_order()
        .into_iter()
        .filter(|id| ids.contains(id))
        .collect();
    assert_eq!(engine_order, ids);
    // The plan above the queue grows when its preview arrives (its dry run waits for the one
    // busy worker): let it arrive, so the click lands where the button is.
    wait_for_preview(&mut harness);
    harness.settle();
    harness.get_by_label(&format!("Cancel {blocker}")).click();
    harness.step();
    step_until(&mut harness, "the queue to finish", |app| {
        !app.queue().any_active()
    });
    for name in ["a", "b", "c"] {
        assert_archive_matches(
            &tmp.path().join(format!("{name}.zip")),
            &expected_tree(&tmp.path().join(name)),
        );
    }
}

/// The engine's queue also holds the preview's dry runs, which have no card: "Move up" and a
/// drag still move a job past the waiting job the person sees, and the cards show the order the
/// engine will start them in.
#[test]
fn moving_a_waiting_job_passes_the_previews_dry_runs_it_cannot_see() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut harness, fake) = fake_harness(Settings::default());
    fake.hold_dry_runs();
    for name in ["a", "b", "c"] {
        let folder = tmp.path().join(name);
        write(&folder.join("data.txt"), name.as_bytes());
        let app = harness.state_mut();
        app.queue_command(Command::ClearInputs);
        app.queue_command(Command::AddPaths(vec![folder]));
        app.queue_command(Command::Start(ZIP));
        harness.step();
    }
    step_until(&mut harness, "a dry run in the queue", |_| {
        fake.queued_dry_runs() == 1
    });
    let ids: Vec<_> = (0..3).map(|i| fake.job(i)).collect();
    assert_eq!(row_names(harness.state()), ["a.zip", "b.zip", "c.zip"]);

    // Run next puts c before everything, the dry run included: [c, dry, a, b].
    harness.get_by_label("Run c.zip next").click();
    harness.settle();
    assert_eq!(row_names(harness.state()), ["c.zip", "a.zip", "b.zip"]);
    harness.get_by_label("Move a.zip down").click();
    harness.settle();
    assert_eq!(row_names(harness.state()), ["c.zip", "b.zip", "a.zip"]);
    // One step up only passes the dry run: the window goes on until b is before c.
    harness.get_by_label("Move b.zip up").click();
    harness.settle();
    assert_eq!(row_names(harness.state()), ["b.zip", "c.zip", "a.zip"]);
    let engine_order: Vec<_> = fake
        .queued_order()
        .into_iter()
        .filter(|id| ids.contains(id))
        .collect();
    assert_eq!(engine_order, vec![ids[1], ids[2], ids[0]]);
    // A drag of a onto b's card: a takes b's place.
    harness.state_mut().queue_command(Command::MoveQueuedTo {
        job: ids[0],
        to: ids[1],
    });
    harness.settle();
    assert_eq!(row_names(harness.state()), ["a.zip", "b.zip", "c.zip"]);
    let engine_order: Vec<_> = fake
        .queued_order()
        .into_iter()
        .filter(|id| ids.contains(id))
        .collect();
    assert_eq!(engine_order, ids);
}

#[test]
fn retry_failed_makes_only_the_failed_images_again_and_the_list_can_be_copied() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("photos");
    photos(&src, 3, 400);
    let broken = src.join("broken.jpg");
    write(&broken, b"\xff\xd8\xff not really a jpeg");
    let out = tmp.path().join("thumbnails");
    let mut harness = harness(2, Settings::default());
    start_thumbnails(&mut harness, &src);
    step_until(&mut harness, "the job to finish", |app| {
        app.queue().rows()[0].is_finished()
    });
    let name = row_name(&harness, 0);
    assert_eq!(
        harness.state().queue().rows()[0].state(),
        JobState::DoneWithErrors
    );
    harness.get_by_label("Show 1 error").click();
    harness.settle();
    assert!(has_label(&harness, "1 item failed"), "errors in words");
    assert!(has_label(&harness, "error"), "the row says error");
    assert!(has_label(&harness, &broken.display().to_string()));

    harness
        .get_by_label(&format!("Copy the problems of {name}"))
        .click();
    // The copy is in the output of the frame that handled the click: look at each frame's
    // output until it comes (a repaint the engine asked for can run a frame in between).
    let mut copied: Vec<String> = Vec::new();
    let deadline = Instant::now() + WAIT_DEADLINE;
    while copied.is_empty() {
        assert!(Instant::now() < deadline, "gave up waiting for the copy");
        harness.step();
        copied.extend(
            harness
                .output()
                .platform_output
                .commands
                .iter()
                .filter_map(|c| match c {
                    egui::OutputCommand::CopyText(text) => Some(text.clone()),
                    _ => None,
                }),
        );
    }
    assert_eq!(copied.len(), 1, "one copy");
    assert!(
        copied[0].starts_with(&format!("error: {}: ", broken.display())),
        "{}",
        copied[0]
    );
    // "Copied" shows beside the button, on its row.
    harness.step();
    let button = harness
        .get_by_label(&format!("Copy the problems of {name}"))
        .rect();
    let said = harness.get_by_label("Copied").rect();
    assert!(
        (said.center().y - button.center().y).abs() < button.height()
            && (said.max.x - button.min.x).abs() < 40.0,
        "\"Copied\" at {said:?}, the button at {button:?}"
    );

    use std::os::unix::fs::MetadataExt;
    let before: Vec<(PathBuf, u64)> = thumbnails_in(&out)
        .into_iter()
        .map(|f| (f.clone(), fs::metadata(out.join(&f)).unwrap().ino()))
        .collect();
    assert_eq!(before.len(), 3);
    // The person mends the file, then retries the failed image only. (The "Copied" notice moved
    // the layout: let it settle, so the click lands on the button where it is now.)
    write(&broken, &jpeg_bytes(500, 300, 77));
    harness.settle();
    harness
        .get_by_label(&format!("Retry the failed images of {name}"))
        .click();
    harness.step();
    assert_eq!(harness.state().queue().rows().len(), 2, "a new card");
    step_until(&mut harness, "the retry to finish", |app| {
        app.queue().rows()[1].is_finished()
    });
    let retry = &harness.state().queue().rows()[1];
    assert_eq!(retry.state(), JobState::Done);
    assert_eq!(
        retry.report.as_ref().unwrap().outputs,
        vec![out.join("photos/broken.jpg")]
    );
    for (file, ino) in before {
        assert_eq!(
            fs::metadata(out.join(&file)).unwrap().ino(),
            ino,
            "{file:?} was made again"
        );
    }
    assert_eq!(thumbnails_in(&out).len(), 4);
}

/// Starts `shrinkwrap thumbs SRC --output OUT --jobs 1 --json` with journals in `state`, and
/// kills it with SIGKILL once it has made a few thumbnails.
fn crash_a_thumbnail_job(src: &Path, out: &Path, state: &Path) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_shrinkwrap"))
        .arg("thumbs")
        .arg(src)
        .arg("--output")
        .arg(out)
        .args(["--jobs", "1", "--json"])
        .env("SHRINKWRAP_STATE_DIR", state)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    for line in std::io::BufReader::new(stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        assert_ne!(v["event"], "finished", "finished before the kill: {v}");
        if v["event"] == "progress" && v["items_done"].as_u64().unwrap_or(0) >= 2 {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn unfinished_jobs_after_a_crash_are_listed_and_resume_and_discard_do_what_they_say() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let journal_dir = state.join("journal");
    let (src_a, src_b) = (tmp.path().join("holiday"), tmp.path().join("garden"));
    photos(&src_a, 30, 1400);
    photos(&src_b, 30, 1400);
    let (out_a, out_b) = (
        tmp.path().join("holiday-thumbs"),
        tmp.path().join("garden-thumbs"),
    );
    crash_a_thumbnail_job(&src_a, &out_a, &state);
    crash_a_thumbnail_job(&src_b, &out_b, &state);
    let journals = journals_in(&journal_dir);
    assert_eq!(journals.len(), 2, "the crashes left two journals");
    // And one journal that cannot be resumed.
    write(
        &journal_dir.join("1-damaged.journal"),
        b"not a journal at all\n",
    );

    let mut harness = harness_with(
        2,
        Settings::default(),
        AppOptions::test(Some(journal_dir.clone())),
    );
    step_until(&mut harness, "the unfinished jobs", |app| {
        app.state().unfinished.status == shrinkwrap::ui::unfinished::ListStatus::Listed
    });
    let entries = harness.state().state().unfinished.entries.clone();
    assert_eq!(entries.len(), 2);
    assert!(has_label(&harness, "Unfinished jobs"));
    assert!(labels_containing(&harness, "of 30 thumbnails done") == 2);
    assert!(labels_containing(&harness, "started ") >= 2);
    let notice = harness.state().state().notice.clone().unwrap();
    assert!(
        notice.text.contains("cannot be resumed (it is damaged)"),
        "{}",
        notice.text
    );
    let journal_of = |out: &Path| {
        entries
            .iter()
            .find(|e| e.job.spec.output_path() == out)
            .unwrap()
            .job
            .journal
            .clone()
    };
    let (journal_a, journal_b) = (journal_of(&out_a), journal_of(&out_b));

    // Discard: its journal and leftovers go; what it made stays.
    let kept_b = thumbnails_in(&out_b).len();
    harness
        .get_by_label("Discard the unfinished job garden-thumbs")
        .click();
    harness.step();
    step_until(&mut harness, "the discard", |app| {
        app.state().unfinished.entries.len() == 1
    });
    assert!(!journal_b.exists(), "the journal is removed");
    assert!(part_files(&out_b).is_empty(), "no temporary file left");
    assert_eq!(thumbnails_in(&out_b).len(), kept_b);

    // Resume: a card, the rest made, the journal gone at the end.
    use std::os::unix::fs::MetadataExt;
    let made_before: Vec<(PathBuf, u64)> = thumbnails_in(&out_a)
        .into_iter()
        .map(|f| (f.clone(), fs::metadata(out_a.join(&f)).unwrap().ino()))
        .collect();
    harness
        .get_by_label("Resume the unfinished job holiday-thumbs")
        .click();
    harness.step();
    assert!(
        harness.state().state().unfinished.entries.is_empty(),
        "{:?}",
        harness.state().state().notice
    );
    harness.step();
    assert!(
        !has_label(&harness, "Unfinished jobs"),
        "the card goes once the list is empty"
    );
    assert_eq!(harness.state().queue().rows().len(), 1);
    step_until(&mut harness, "the resumed job to finish", |app| {
        app.queue().rows()[0].is_finished()
    });
    assert_eq!(harness.state().queue().rows()[0].state(), JobState::Done);
    assert_eq!(thumbnails_in(&out_a).len(), 30);
    assert!(part_files(&out_a).is_empty());
    assert!(!journal_a.exists(), "the journal goes with the job");
    // Listing moves nothing now (issue 13): the damaged journal planted above stays where it
    // is until someone resumes or discards it (the window does not offer that for a damaged one
    // yet). Every journal of the jobs that ran is gone.
    let left = journals_in(&journal_dir);
    assert!(
        left.iter()
            .all(|j| j.file_name().is_some_and(|n| n == "1-damaged.journal")),
        "{left:?}"
    );
    for (file, ino) in made_before {
        assert_eq!(
            fs::metadata(out_a.join(&file)).unwrap().ino(),
            ino,
            "{file:?} was made again"
        );
    }
}

/// One turn of the mouse wheel where the pointer is (negative: down the list).
fn wheel(harness: &Harness<'static, App>, dy: f32) {
    harness.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Point,
        delta: egui::vec2(0.0, dy),
        phase: egui::TouchPhase::Move,
        modifiers: egui::Modifiers::NONE,
        source: egui::MouseWheelSource::Wheel,
    });
}

fn set_focused(harness: &mut Harness<'static, App>, focused: bool) {
    harness
        .input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .focused = Some(focused);
}

#[test]
fn a_job_that_ends_unseen_notifies_and_the_title_says_how_until_the_window_is_focused() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("alpha.txt"), tmp.path().join("beta.txt"));
    write(&a, b"alpha\n");
    write(&b, b"beta\n");
    let (mut harness, fake) = fake_harness(Settings::default());
    set_focused(&mut harness, false);
    drop_onto_window(&mut harness, &a);
    harness.get_by_label("Compress").click();
    harness.step();
    let first = fake.job(0);
    fake.run(first);
    fake.finish_done(
        first,
        vec![PathBuf::from("alpha.txt")],
        Some(&tmp.path().join("alpha.zip")),
    );
    step_until(&mut harness, "the job to finish", |app| {
        app.queue().rows()[0].is_finished()
    });
    let notes = harness.state().notifications().to_vec();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].summary, "alpha.zip: done");
    assert!(
        notes[0].body.contains("The queue is empty."),
        "{}",
        notes[0].body
    );
    step_until(&mut harness, "the outcome in the title", |app| {
        app.window_title() == "Done: alpha.zip — Shrinkwrap"
    });
    set_focused(&mut harness, true);
    step_until(&mut harness, "the title back", |app| {
        app.window_title() == "Shrinkwrap"
    });

    // Seen while it ends: no notification.
    harness.get_by_label("Clear all").click();
    harness.settle();
    drop_onto_window(&mut harness, &b);
    harness.get_by_label("Compress").click();
    harness.step();
    let second = fake.job(1);
    fake.run(second);
    fake.finish_done(
        second,
        vec![PathBuf::from("beta.txt")],
        Some(&tmp.path().join("beta.zip")),
    );
    step_until(&mut harness, "the second job to finish", |app| {
        app.queue().rows().len() == 2 && app.queue().rows()[1].is_finished()
    });
    assert_eq!(harness.state().notifications().len(), 1);
    assert_eq!(harness.state().window_title(), "Shrinkwrap");
}

#[test]
fn the_keyboard_adds_paths_starts_the_job_and_selects_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("one.txt"), tmp.path().join("two.txt"));
    write(&a, b"1\n");
    write(&b, b"2\n");
    let (mut harness, fake) = fake_harness(Settings::default());
    // Nothing to start yet: Ctrl+Enter says why.
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    harness.settle();
    assert!(harness.state().queue().rows().is_empty());
    let notice = harness.state().state().notice.clone().unwrap();
    assert!(
        notice.text.starts_with("Not started: Add files"),
        "{}",
        notice.text
    );

    let field = harness.get_by_label("Path to add");
    field.focus();
    field.type_text(&a.display().to_string());
    harness.settle();
    harness.key_press(egui::Key::Enter);
    harness.settle();
    assert_eq!(harness.state().inputs().len(), 1);
    assert!(
        harness.get_by_label("Path to add").is_focused(),
        "Enter keeps the field focused for the next path"
    );
    harness
        .get_by_label("Path to add")
        .type_text(&b.display().to_string());
    harness.settle();
    harness.key_press(egui::Key::Enter);
    harness.settle();
    assert_eq!(harness.state().inputs().len(), 2);

    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    harness.step();
    assert_eq!(harness.state().queue().rows().len(), 1, "Ctrl+Enter starts");
    let submitted = fake.submitted();
    assert_eq!(submitted.len(), 1);
    assert_eq!(submitted[0].1.inputs(), &[a.clone(), b.clone()]);
    fake.run(submitted[0].0);
    fake.finish_done(
        submitted[0].0,
        vec![PathBuf::from("one.txt"), PathBuf::from("two.txt")],
        Some(&tmp.path().join("one.zip")),
    );
    step_until(&mut harness, "the job to finish", |app| {
        app.queue().rows()[0].is_finished()
    });

    // Tab reaches the job's card; focusing it selects it.
    let id = harness.state().queue().rows()[0].id;
    for _ in 0..120 {
        if harness.state().queue().selected() == Some(id) {
            break;
        }
        harness.key_press(egui::Key::Tab);
        harness.settle();
    }
    assert_eq!(harness.state().queue().selected(), Some(id));
}

#[test]
fn the_output_folders_are_remembered_like_the_settings() {
    let (mut first, _fake) = fake_harness(Settings::default());
    first.get_by_label("Thumbnails").click();
    first.settle();
    type_into(&mut first, "Folder for the thumbnails", "/srv/photos/small");
    let mut storage = MemoryStorage::default();
    eframe::App::save(first.state_mut(), &mut storage);
    drop(first);
    let storage: &'static MemoryStorage = Box::leak(Box::new(storage));
    let second: Harness<'static, App> = Harness::builder().build_eframe(move |cc| {
        cc.storage = Some(storage);
        App::new(cc, shrinkwrap::ui::LaunchArgs::default(), Arc::default())
    });
    let kinds = &second.state().settings().kinds;
    assert_eq!(kinds.thumbs.thumbnails_folder, "/srv/photos/small");
    assert_eq!(kinds.zip.archive, "", "an archive's name is not remembered");
}

/// A stand-in for xdg-open: records files it opens in `log`, fails on folders.
fn fake_opener(dir: &Path, log: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("fake-xdg-open");
    write(
        &script,
        format!(
            "#!/bin/sh\nif [ -d \"$1\" ]; then echo 'no file manager here' >&2; exit 4; fi\n\
             echo \"$1\" >> '{}'\n",
            log.display()
        )
        .as_bytes(),
    );
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// `count` small JPEGs `p000.jpg`... in `dir`, as a thumbnail job would leave them.
fn thumbnail_files(dir: &Path, count: u32) -> Vec<PathBuf> {
    (0..count)
        .map(|i| {
            let path = dir.join(format!("p{i:03}.jpg"));
            write(&path, &jpeg_bytes(96, 72, i));
            path
        })
        .collect()
}

#[test]
fn every_thumbnail_is_reachable_opens_on_click_and_open_folder_failures_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("photos");
    write(&src.join("a.jpg"), b"an input");
    let log = tmp.path().join("opened.log");
    let options = AppOptions {
        opener: fake_opener(tmp.path(), &log).into_os_string(),
        ..AppOptions::test(None)
    };
    let (mut harness, fake) = fake_harness_with(Settings::default(), options);
    start_thumbnails(&mut harness, &src);
    let id = fake.job(0);
    fake.run(id);
    let outputs = thumbnail_files(&tmp.path().join("thumbnails"), 30);
    fake.finish_done(id, outputs.clone(), None);
    step_until(&mut harness, "the first thumbnails shown", |app| {
        let row = &app.queue().rows()[0];
        row.is_finished() && row.strip.shown() == 24
    });
    let name = row_name(&harness, 0);
    assert_eq!(
        harness.state().queue().rows()[0]
            .report
            .as_ref()
            .unwrap()
            .outputs,
        outputs
    );
    // In the order of the outputs, each named.
    assert!(has_label(&harness, "p000.jpg"));
    assert!(has_label(&harness, "p023.jpg"));
    assert!(!has_label(&harness, "p029.jpg"));
    harness
        .get_by_label(&format!("Show all thumbnails of {name}"))
        .click();
    harness.settle();
    // The grid scrolls: bring the last one into view.
    let grid = harness.get_by_label("p000.jpg").rect().center();
    for _ in 0..20 {
        harness.hover_at(grid);
        wheel(&harness, -120.0);
        harness.run_steps(3);
    }
    assert!(has_label(&harness, "p029.jpg"), "scrolled to the end");
    harness.remove_cursor();
    harness.run_steps(3);
    step_until(&mut harness, "every thumbnail loaded", |app| {
        app.queue().rows()[0].strip.shown() == 30
    });
    harness.get_by_label("p029.jpg").click();
    harness.step();
    let last = outputs.last().unwrap().display().to_string();
    step_until(&mut harness, "the thumbnail to be opened", |app| {
        assert!(app.state().notice.is_none(), "{:?}", app.state().notice);
        fs::read_to_string(&log).is_ok_and(|text| text.lines().any(|l| l == last))
    });

    harness
        .get_by_label(&format!("Open the folder of {name}"))
        .click();
    harness.step();
    step_until(&mut harness, "the failure notice", |app| {
        app.state()
            .notice
            .as_ref()
            .is_some_and(|n| n.text.starts_with("Cannot open"))
    });
    let notice = harness.state().state().notice.clone().unwrap();
    // In the user's words, not the opener's raw error output.
    assert!(
        notice
            .text
            .ends_with("in the file manager: the program set up to open it failed."),
        "{}",
        notice.text
    );
    assert!(
        !notice.text.contains("no file manager here"),
        "{}",
        notice.text
    );
}

#[test]
fn a_job_that_made_nothing_is_not_done_and_its_whole_skip_list_scrolls_and_copies() {
    let tmp = tempfile::tempdir().unwrap();
    let notes = tmp.path().join("notes");
    for i in 0..120 {
        write(&notes.join(format!("note{i:03}.txt")), b"not an image\n");
    }
    let (mut harness, fake) = fake_harness(Settings::default());
    start_thumbnails(&mut harness, &notes);
    let id = fake.job(0);
    fake.run(id);
    fake.finish(id, JobOutcome::Done, |report| {
        report.problems = (0..120)
            .map(|i| {
                skipped(
                    notes.join(format!("note{i:03}.txt")),
                    SkipReason::NotAnImage,
                )
            })
            .collect();
    });
    step_until(&mut harness, "the job to finish", |app| {
        app.queue().rows()[0].is_finished()
    });
    assert_eq!(
        harness.state().queue().rows()[0].outcome().as_deref(),
        Some("nothing made (120 skipped)")
    );
    assert!(has_label(&harness, "nothing made (120 skipped)"));
    assert!(!has_label(&harness, "done"), "not a green done");
    harness.get_by_label("Show 120 skipped").click();
    harness.settle();
    assert!(has_label(
        &harness,
        "120 items skipped on purpose (not errors)"
    ));
    assert!(harness.query_all_by_label("skipped").count() >= 2);
    let first = notes.join("note000.txt").display().to_string();
    let last = notes.join("note119.txt").display().to_string();
    assert!(has_label(&harness, &first));
    assert!(
        !has_label(&harness, &last),
        "only the rows in view are laid out"
    );
    let prefix = notes.join("note").display().to_string();
    for _ in 0..80 {
        if has_label(&harness, &last) {
            break;
        }
        // The wheel over the middle of the rows in view (the one at the edge may be cut off).
        let rows: Vec<egui::Pos2> = harness
            .query_all_by_label_contains(&prefix)
            .filter(|n| {
                // A label's text is its value.
                n.accesskit_node()
                    .value()
                    .is_some_and(|l| l.starts_with(&prefix))
            })
            .map(|n| n.rect().center())
            .collect();
        assert!(!rows.is_empty(), "a row of the list is in view");
        harness.hover_at(rows[rows.len() / 2]);
        wheel(&harness, -300.0);
        harness.run_steps(3);
    }
    assert!(has_label(&harness, &last), "the last item is reachable");
}

#[test]
fn the_quit_question_follows_the_queue_and_a_zip_card_offers_pause_and_cancel_only() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut harness, fake) = start_fake_compress_job(tmp.path(), "movie.bin");
    assert!(harness.query_by_label("Pause movie.zip").is_some());
    assert!(harness.query_by_label("Cancel movie.zip").is_some());
    for items in ["images", "entries"] {
        assert!(
            harness
                .query_by_label(&format!("Stop movie.zip after the current {items}"))
                .is_none(),
            "an archive cannot stop part-way"
        );
    }
    assert!(
        !has_label(&harness, "Stop after current"),
        "an archive cannot stop part-way"
    );
    let root = harness
        .input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default();
    root.events.push(egui::ViewportEvent::Close);
    harness.step();
    assert_eq!(harness.state().state().quit, QuitState::Asking);
    harness.step();
    assert!(has_label(&harness, "Jobs are still running"));
    // The job ends while the question is open: it says so.
    harness.state_mut().queue_command(Command::CancelAll);
    step_until(&mut harness, "the job to end", |app| {
        !app.queue().any_active()
    });
    assert!(has_label(&harness, "The jobs have finished"));
    assert!(!has_label(&harness, "Jobs are still running"));
    harness.get_by_label("Quit").click();
    harness.step();
    step_until(&mut harness, "the window to close", |app| {
        app.state().quit == QuitState::Closing
    });
    assert!(fake.calls().contains(&Call::CancelAll));
    assert!(!fake.is_busy(), "nothing left running");
}

#[test]
fn every_widget_a_person_can_use_has_an_accessible_name() {
    use egui::accesskit::Role;
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("photos");
    photos(&src, 3, 300);
    write(&src.join("broken.jpg"), b"\xff\xd8\xff broken");
    write(&src.join("notes.txt"), b"not an image\n");
    let big = tmp.path().join("big.bin");
    write(&big, b"a file to compress");
    let (mut harness, fake) = fake_harness(Settings::default());
    // A finished thumbnail job with its problems open and its strip...
    start_thumbnails(&mut harness, &src);
    let thumbs_job = fake.job(0);
    fake.run(thumbs_job);
    let outputs = thumbnail_files(&tmp.path().join("thumbnails/photos"), 3);
    fake.finish(thumbs_job, JobOutcome::DoneWithErrors, |report| {
        report.outputs = outputs;
        report.output_bytes = 3000;
        report.problems = vec![
            failed(src.join("broken.jpg"), "cannot decode: not a JPEG"),
            skipped(src.join("notes.txt"), SkipReason::NotAnImage),
        ];
    });
    step_until(&mut harness, "the thumbnails", |app| {
        let row = &app.queue().rows()[0];
        row.is_finished() && row.strip.shown() == 3
    });
    harness.get_by_label("Show 1 error and 1 skipped").click();
    harness.settle();
    // ...a paused archive job, and a waiting one.
    harness.get_by_label("Zip archive").click();
    harness.settle();
    for input in [&big, &src] {
        let app = harness.state_mut();
        app.queue_command(Command::ClearInputs);
        app.queue_command(Command::AddPaths(vec![input.clone()]));
        app.queue_command(Command::Start(ZIP));
        harness.step();
    }
    let archive_job = fake.job(1);
    fake.run(archive_job);
    fake.progress(archive_job, |p| {
        p.bytes_total = 1 << 20;
        p.bytes_done = 1 << 10;
    });
    step_until(&mut harness, "the archive job to run", |app| {
        app.queue().rows()[1].progress.bytes_done > 0
    });
    harness.get_by_label("Pause big.zip").click();
    harness.step();
    step_until(&mut harness, "the pause", |app| {
        app.queue().rows()[1].state() == JobState::Paused
    });
    assert_eq!(harness.state().queue().rows().len(), 3);
    harness.run_steps(2);

    let interactive = [
        Role::Button,
        Role::CheckBox,
        Role::RadioButton,
        Role::TextInput,
        Role::MultilineTextInput,
        Role::SpinButton,
        Role::Slider,
        Role::ComboBox,
        Role::Link,
        Role::ListItem,
        Role::ProgressIndicator,
        Role::Tab,
    ];
    let mut checked = 0;
    let mut unnamed = Vec::new();
    for node in harness.root().children_recursive() {
        let ak = node.accesskit_node();
        if !interactive.contains(&ak.role()) {
            continue;
        }
        checked += 1;
        if ak.label().is_none_or(|l| l.trim().is_empty()) {
            unnamed.push(format!("{:?} {:?}", ak.role(), ak.value()));
        }
    }
    assert!(unnamed.is_empty(), "widgets without a name: {unnamed:#?}");
    assert!(checked > 30, "only {checked} widgets found");
    harness.state_mut().queue_command(Command::CancelAll);
    step_until(&mut harness, "the jobs to end", |app| {
        !app.queue().any_active()
    });
}

#[test]
fn the_extract_tab_previews_the_plan_tests_and_extracts_a_zip() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("docs");
    write(&src.join("readme.txt"), b"hello\n");
    write(
        &src.join("sub/notes.md"),
        "# notes\n".repeat(500).as_bytes(),
    );
    let status = std::process::Command::new("zip")
        .args(["-qr", "docs.zip", "docs"])
        .current_dir(tmp.path())
        .status()
        .expect("Info-ZIP's zip is installed");
    assert!(status.success());
    let archive = tmp.path().join("docs.zip");
    let out = tmp.path().join("out");

    let mut harness = harness(2, Settings::default());
    drop_onto_window(&mut harness, &archive);
    harness.get_by_label("Extract").click();
    harness.settle();
    assert!(has_label(&harness, "Password"), "the password field");
    assert!(has_label(&harness, "Test archives"));
    type_into(
        &mut harness,
        "Folder to extract into",
        &out.display().to_string(),
    );
    wait_for_preview(&mut harness);
    let view = harness.state().preview().view().unwrap();
    assert_eq!(view.kind.id, "extract");
    assert_eq!(
        (view.summary.outputs, view.summary.writes),
        (4, 4),
        "two files and two folders"
    );
    assert!(
        labels_containing(&harness, "4 files, all new") == 1,
        "the summary line"
    );
    // One top-level folder: straight into the output folder.
    assert!(
        has_label(
            &harness,
            &out.join("docs/sub/notes.md").display().to_string()
        ) || labels_containing(&harness, "docs/sub/notes.md") >= 1,
        "the item list shows the entry"
    );
    assert!(!out.exists(), "a preview writes nothing");
    assert!(harness.state().queue().rows().is_empty());

    // Test: a job of its own, writing nothing.
    harness.get_by_label("Test archives").click();
    harness.settle();
    assert_eq!(harness.state().queue().rows().len(), 1, "the test's card");
    step_until(&mut harness, "the test to finish", |app| {
        app.queue().rows()[0].is_finished()
    });
    assert_eq!(harness.state().queue().rows()[0].state(), JobState::Done);
    assert!(!out.exists(), "a test writes nothing");

    harness.get_by_label("Extract archives").click();
    harness.settle();
    assert_eq!(harness.state().queue().rows().len(), 2);
    step_until(&mut harness, "the extract to finish", |app| {
        app.queue().rows()[1].is_finished()
    });
    assert_eq!(harness.state().queue().rows()[1].state(), JobState::Done);
    assert_eq!(fs::read(out.join("docs/readme.txt")).unwrap(), b"hello\n");
    assert_eq!(
        fs::read(out.join("docs/sub/notes.md")).unwrap(),
        "# notes\n".repeat(500).as_bytes()
    );
    assert!(part_files(&out).is_empty());
    harness.settle();
}

// ---------------------------------------------------------------------------------------------
// What a new user tripped on (issue 13).
// ---------------------------------------------------------------------------------------------

#[test]
fn pasting_several_lines_adds_each_line_as_an_input() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("one.txt"), tmp.path().join("two words.txt"));
    write(&a, b"1\n");
    write(&b, b"2\n");
    let (mut harness, _fake) = fake_harness(Settings::default());
    harness.get_by_label("Path to add").focus();
    harness.step();
    // Two lines, as a file manager's Copy puts them on the clipboard (a URI and a plain path).
    harness.input_mut().events.push(egui::Event::Paste(format!(
        "file://{}\n{}\n",
        a.display(),
        b.display()
    )));
    harness.settle();
    let inputs: Vec<PathBuf> = harness
        .state()
        .inputs()
        .entries()
        .iter()
        .map(|e| e.path.clone())
        .collect();
    assert_eq!(inputs, vec![a.clone(), b.clone()]);
    assert_eq!(harness.state().state().path_field, "", "nothing joined");
    // One line still goes into the field, to be finished and added with Enter.
    harness.input_mut().events.push(egui::Event::Paste(
        tmp.path().join("thr").display().to_string(),
    ));
    harness.settle();
    assert_eq!(
        harness.state().state().path_field,
        tmp.path().join("thr").display().to_string()
    );
    assert_eq!(harness.state().inputs().len(), 2);
}

#[test]
fn ctrl_enter_never_adds_a_half_typed_path() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("report.txt");
    write(&file, b"numbers\n");
    let (mut harness, fake) = fake_harness(Settings::default());
    drop_onto_window(&mut harness, &file);
    let half = tmp.path().join("rep").display().to_string();
    type_into(&mut harness, "Path to add", &half);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    harness.settle();
    assert_eq!(
        harness.state().inputs().len(),
        1,
        "the half-typed path was not added"
    );
    assert!(fake.submitted().is_empty(), "nothing started");
    let notice = harness.state().state().notice.clone().unwrap();
    assert!(
        notice
            .text
            .starts_with("Not started: the path field still holds")
            && notice.text.contains(&half),
        "{}",
        notice.text
    );
    assert_eq!(harness.state().state().path_field, half, "the text stays");
}

#[test]
fn pause_comes_before_cancel_in_tab_order() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut harness, _fake) = start_fake_compress_job(tmp.path(), "movie.bin");
    harness.get_by_label("Pause movie.zip").focus();
    harness.settle();
    assert!(harness.get_by_label("Pause movie.zip").is_focused());
    harness.key_press(egui::Key::Tab);
    harness.settle();
    assert!(
        harness.get_by_label("Cancel movie.zip").is_focused(),
        "Tab goes from Pause to Cancel"
    );
}

#[test]
fn start_is_refused_when_the_plan_has_nothing_to_make() {
    let tmp = tempfile::tempdir().unwrap();
    let notes = tmp.path().join("notes");
    for i in 0..3 {
        write(&notes.join(format!("note{i}.txt")), b"not an image\n");
    }
    let mut harness = harness(1, Settings::default());
    drop_onto_window(&mut harness, &notes);
    harness.get_by_label("Thumbnails").click();
    harness.settle();
    wait_for_preview(&mut harness);
    harness.settle();
    let start = harness.get_by_label("Nothing to make");
    assert!(start.accesskit_node().is_disabled(), "Start is disabled");
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    harness.settle();
    assert!(harness.state().queue().rows().is_empty(), "nothing queued");
    let notice = harness.state().state().notice.clone().unwrap();
    assert!(
        notice
            .text
            .contains("nothing to make: every item is skipped (3 not an image)"),
        "{}",
        notice.text
    );
    // With a photo among them, Start makes it.
    let photo = tmp.path().join("p.jpg");
    write(&photo, &jpeg_bytes(64, 48, 1));
    drop_onto_window(&mut harness, &photo);
    wait_for_preview(&mut harness);
    harness.settle();
    assert!(harness.query_by_label("Nothing to make").is_none());
    assert!(
        !harness
            .get_by_label("Make thumbnails")
            .accesskit_node()
            .is_disabled()
    );
}

/// `notes` text files and `photos` small photos with long folder names (listed first), for a
/// long plan.
fn long_mixed_folder(dir: &Path, notes: u32, photos: u32) -> PathBuf {
    let root = dir.join("holidays");
    for i in 0..notes {
        write(
            &root.join(format!("zz-notes/note{i:03}.txt")),
            b"not an image\n",
        );
    }
    let deep = root.join("a-rather-long-folder-name-from-a-camera/another-long-folder-name");
    for i in 0..photos {
        write(
            &deep.join(format!("IMG_{i:04}-full-size.jpg")),
            &jpeg_bytes(64, 48, i),
        );
    }
    root
}

#[test]
fn plan_rows_keep_the_file_name_in_view_and_long_plans_filter_skips() {
    let tmp = tempfile::tempdir().unwrap();
    let root = long_mixed_folder(tmp.path(), 30, 3);
    let mut harness = harness(1, Settings::default());
    drop_onto_window(&mut harness, &root);
    harness.get_by_label("Thumbnails").click();
    harness.settle();
    wait_for_preview(&mut harness);
    harness.settle();
    harness.get_by_label("Skipped 30").click();
    harness.settle();
    assert_eq!(
        harness.query_all_by_label("new").count(),
        0,
        "only skips show"
    );
    assert!(harness.query_all_by_label("skip").count() > 0);
    harness.get_by_label("All 33").click();
    harness.settle();
    assert!(harness.query_all_by_label("new").count() > 0);
    // The rows are cut in the middle: each photo's row ends with its own name.
    for i in 0..3 {
        let name = format!("IMG_{i:04}-full-size.jpg");
        let rows: Vec<String> = harness
            .query_all_by_label_contains(&name)
            .filter_map(|n| n.accesskit_node().value())
            .collect();
        assert!(
            rows.iter().any(|r| r.ends_with(&name) && r.contains('…')),
            "{name}: {rows:?}"
        );
    }
}

#[test]
fn at_the_minimum_size_the_running_jobs_name_and_progress_stay_in_view() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    for i in 0..60 {
        write(&project.join(format!("notes/n{i:03}.txt")), b"some notes\n");
    }
    write(&project.join("big.bin"), &noise(64 << 20, 3));
    let mut settings = Settings::default();
    settings.kinds.zip.compression = CompressionLevel::Maximum;
    let size = shrinkwrap::ui::MIN_WINDOW_SIZE;
    let mut harness = Harness::builder()
        .with_size(egui::vec2(size[0], size[1]))
        .build_eframe(move |cc| App::new_for_test(&cc.egui_ctx, 1, settings));
    drop_onto_window(&mut harness, &project);
    wait_for_preview(&mut harness);
    harness.get_by_label("Compress").click();
    harness.step();
    step_until(&mut harness, "the job to run", |app| {
        app.queue().rows()[0].state() == JobState::Running
    });
    harness.settle();
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(size[0], size[1]));
    for label in ["project.zip", "Pause project.zip", "Cancel project.zip"] {
        let rect = harness.get_by_label(label).rect();
        assert!(
            window.contains_rect(rect),
            "{label} is out of view at {size:?}: {rect:?}"
        );
    }
    let progress = harness
        .query_all_by_label_contains(" of ")
        .map(|n| n.rect())
        .find(|r| r.min.y > harness.get_by_label("project.zip").rect().min.y);
    assert!(
        progress.is_some_and(|r| window.contains_rect(r)),
        "the progress line is in view: {progress:?}"
    );
    harness.get_by_label("Cancel project.zip").click();
    step_until(&mut harness, "the job to end", |app| {
        app.queue().rows()[0].is_finished()
    });
}

#[test]
fn the_existing_archive_question_asks_not_fails_takes_enter_and_quit_when_done_waits() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("data.txt");
    write(&file, b"numbers\n");
    write(&tmp.path().join("data.zip"), b"already here");
    // "Compress with Shrinkwrap" from a file manager, unfocused, closing when done.
    let launch = LaunchArgs {
        paths: vec![file.clone()],
        queue_at_start: Some(ZIP),
        quit_when_done: true,
        ..LaunchArgs::default()
    };
    let settings = Settings {
        workers: Some(1),
        ..Settings::default()
    };
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1180.0, 760.0))
        .build_eframe(move |cc| {
            App::with_options(&cc.egui_ctx, settings, launch, AppOptions::test(None))
        });
    set_focused(&mut harness, false);
    step_until(&mut harness, "the question", |app| {
        app.state().prompt.is_some()
    });
    harness.settle();
    assert!(has_label(&harness, "data.zip already exists"));
    // Asked, not told "failed"; the window stays to hear the answer.
    let notes = harness.state().notifications().to_vec();
    assert!(
        notes.iter().all(|n| !n.summary.contains("failed")),
        "{notes:?}"
    );
    assert_eq!(harness.state().state().quit, QuitState::Running);
    // Enter answers the default (the first answer: Replace, once the new archive is complete).
    assert!(
        harness.get_by_label("Replace").is_focused(),
        "the first answer has the focus"
    );
    harness.key_press(egui::Key::Enter);
    harness.step();
    step_until(&mut harness, "the window to close when done", |app| {
        app.state().quit == QuitState::Closing
    });
    assert_eq!(harness.state().state().prompt, None);
    assert_eq!(harness.state().exit_status(), 0);
    assert_archive_matches(&tmp.path().join("data.zip"), &expected_tree(&file));
}

#[test]
fn a_cards_warnings_are_listed_as_the_command_line_lists_them() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("pano");
    let full = jpeg_bytes(320, 240, 5);
    assert_eq!(&full[full.len() - 2..], &[0xFF, 0xD9]);
    let no_end = src.join("no-end-marker.jpg");
    write(&no_end, &full[..full.len() - 2]);
    let mut harness = harness(1, Settings::default());
    start_thumbnails(&mut harness, &src);
    step_until(&mut harness, "the job to finish", |app| {
        app.queue().rows()[0].is_finished()
    });
    harness.settle();
    assert_eq!(harness.state().queue().rows()[0].state(), JobState::Done);
    harness.get_by_label("Show 1 warning").click();
    harness.settle();
    assert!(has_label(&harness, "warning"));
    assert!(has_label(&harness, &no_end.display().to_string()));
    assert!(
        labels_containing(&harness, "end marker") >= 1,
        "the warning's cause is shown"
    );
}

#[test]
fn two_jobs_into_folders_of_the_same_name_are_told_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut harness, fake) = fake_harness(Settings::default());
    set_focused(&mut harness, false);
    for side in ["trip", "garden"] {
        let dir = tmp.path().join(side);
        write(&dir.join("big/p.jpg"), &jpeg_bytes(32, 24, 1));
        let app = harness.state_mut();
        app.settings_mut().kinds.thumbs.thumbnails_folder =
            dir.join("out-big").display().to_string();
        app.queue_command(Command::ClearInputs);
        app.queue_command(Command::AddPaths(vec![dir.join("big")]));
        app.queue_command(Command::Start(THUMBS));
        harness.step();
    }
    harness.settle();
    let names = row_names(harness.state());
    assert_eq!(names.len(), 2, "{names:?}");
    assert_ne!(names[0], names[1], "the cards are told apart");
    assert_eq!(names[1], format!("{} (garden)", names[0]));
    for name in &names {
        assert!(has_label(&harness, name), "{name}");
    }
    // The second ends first: its notification names it apart from the first.
    let second = fake.job(1);
    fake.run(second);
    fake.finish_done(second, vec![PathBuf::from("p.jpg")], None);
    step_until(&mut harness, "the second job to finish", |app| {
        app.queue().rows()[1].is_finished()
    });
    let summaries: Vec<String> = harness
        .state()
        .notifications()
        .iter()
        .map(|n| format!("{} {}", n.summary, n.body))
        .collect();
    assert!(
        summaries.iter().any(|s| s.contains(&names[1])),
        "the notification names the second job apart: {summaries:?}"
    );
}

/// How many items of the preview's plans the exclude patterns (or .gitignore files) left out.
fn excluded_in_preview(app: &App) -> Option<usize> {
    let view = app.preview().view()?;
    Some(
        view.parts()
            .iter()
            .flat_map(|p| p.plan.items.iter())
            .filter(|i| {
                matches!(
                    i.action,
                    shrinkwrap::engine::Action::Skip(SkipReason::Excluded { .. })
                )
            })
            .count(),
    )
}

#[test]
fn typing_an_exclude_pattern_changes_the_plans_excluded_count() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("project");
    write(&src.join("main.rs"), b"fn main() {}\n");
    write(&src.join("a.tmp"), b"scratch");
    write(&src.join("sub/b.tmp"), b"scratch");
    write(&src.join(".git/config"), b"[core]\n");
    write(&src.join("build/out.o"), b"obj");
    write(&src.join(".gitignore"), b"build/\n");

    let mut harness = harness(2, Settings::default());
    drop_onto_window(&mut harness, &src);
    wait_for_preview(&mut harness);
    assert_eq!(excluded_in_preview(harness.state()), Some(0));
    assert!(has_label(&harness, "Exclude patterns"));
    assert!(has_label(&harness, "Honour .gitignore"));

    type_into(&mut harness, "Exclude patterns", "*.tmp, .git/");
    step_until(&mut harness, "the plan with the patterns", |app| {
        app.preview().is_fresh() && excluded_in_preview(app) == Some(3)
    });
    assert_eq!(
        harness.state().settings().kinds.zip.exclude_patterns(),
        ["*.tmp", ".git/"]
    );
    let view = harness.state().preview().view().unwrap().clone();
    assert!(
        view.skip_reasons.contains(&("excluded", 3)),
        "{:?}",
        view.skip_reasons
    );
    assert!(
        labels_containing(&harness, "Leaves out 3 files and folders") == 1,
        "the plan says what is left out"
    );
    assert!(
        labels_containing(&harness, "excluded") >= 1,
        "the rows say why they are skipped"
    );

    // .gitignore files: the build folder too.
    harness.get_by_label("Honour .gitignore").click();
    harness.settle();
    step_until(&mut harness, "the plan with .gitignore", |app| {
        app.preview().is_fresh() && excluded_in_preview(app) == Some(4)
    });

    // What Start queues leaves out the same.
    let archive = tmp.path().join("project.zip");
    harness.get_by_label("Compress").click();
    harness.settle();
    step_until(&mut harness, "the job to finish", |app| {
        app.queue().rows().len() == 1 && app.queue().rows()[0].is_finished()
    });
    assert_eq!(harness.state().queue().rows()[0].state(), JobState::Done);
    let zip = zip::ZipArchive::new(fs::File::open(&archive).unwrap()).unwrap();
    let mut names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "project/",
            "project/.gitignore",
            "project/main.rs",
            "project/sub/"
        ]
    );
    harness.settle();
}

#[test]
fn a_password_job_makes_an_archive_only_that_password_opens_and_it_is_never_stored() {
    const PASSWORD: &str = "s3cret window pass";
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("letters");
    let body = noise(300_000, 11);
    write(&src.join("one.txt"), b"dear reader\n");
    write(&src.join("two.bin"), &body);
    let archive = tmp.path().join("letters.zip");

    let mut harness = harness(2, Settings::default());
    drop_onto_window(&mut harness, &src);
    assert!(has_label(&harness, "Password"));
    assert!(has_label(&harness, "Show password"));
    type_into(&mut harness, "Password", PASSWORD);
    // Masked and not confirmed yet: Start refuses, naming why.
    type_into(&mut harness, "Confirm password", "s3cret window pas");
    let refusal = harness.state().state().start_refusal().map(|r| r.why);
    assert!(
        refusal.as_deref().is_some_and(|w| w.contains("differ")),
        "{refusal:?}"
    );
    harness.get_by_label("Compress").click();
    harness.settle();
    assert!(harness.state().queue().rows().is_empty(), "started anyway");
    type_into(&mut harness, "Confirm password", "s");
    assert_eq!(harness.state().state().start_refusal().map(|r| r.why), None);
    wait_for_preview(&mut harness);
    assert!(labels_containing(&harness, "encrypted with AES-256") == 1);

    harness.get_by_label("Compress").click();
    harness.settle();
    step_until(&mut harness, "the job to finish", |app| {
        app.queue().rows().len() == 1 && app.queue().rows()[0].is_finished()
    });
    assert_eq!(harness.state().queue().rows()[0].state(), JobState::Done);

    // The zip crate opens it with that password only.
    let mut zip = zip::ZipArchive::new(fs::File::open(&archive).unwrap()).unwrap();
    assert!(
        zip.by_name("letters/two.bin").is_err(),
        "read without a password"
    );
    assert!(
        zip.by_name_decrypt("letters/two.bin", b"s3cret window pas")
            .is_err(),
        "read with a wrong password"
    );
    for (name, want) in [
        ("letters/one.txt", b"dear reader\n".to_vec()),
        ("letters/two.bin", body),
    ] {
        let mut entry = zip.by_name_decrypt(name, PASSWORD.as_bytes()).unwrap();
        assert!(entry.encrypted(), "{name}");
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut got).unwrap();
        assert!(got == want, "{name}: not byte-exact");
    }

    // The settings as stored hold no trace of it, and come back without it.
    let mut storage = MemoryStorage::default();
    eframe::App::save(harness.state_mut(), &mut storage);
    assert!(!storage.0.is_empty());
    for (key, value) in &storage.0 {
        assert!(!value.contains(PASSWORD), "{key}: {value}");
    }
    assert!(!format!("{:?}", harness.state().settings()).contains(PASSWORD));
    drop(harness);
    let storage: &'static MemoryStorage = Box::leak(Box::new(storage));
    let second: Harness<'static, App> = Harness::builder().build_eframe(move |cc| {
        cc.storage = Some(storage);
        App::new(cc, shrinkwrap::ui::LaunchArgs::default(), Arc::default())
    });
    assert!(second.state().settings().kinds.zip.password.0.is_empty());
}

/// Queues one thumbnail job per folder in `folders` on the fake engine (its inputs: that folder
/// only), the way the window does after a drop and Start.
fn queue_fake_thumbnail_jobs(harness: &mut Harness<'static, App>, folders: &[PathBuf]) {
    harness.get_by_label("Thumbnails").click();
    harness.settle();
    queue_fake_jobs(harness, folders, THUMBS);
}

/// Queues one job of `kind` per folder in `folders` (its inputs: that folder only).
fn queue_fake_jobs(
    harness: &mut Harness<'static, App>,
    folders: &[PathBuf],
    kind: shrinkwrap::engine::JobKind,
) {
    for folder in folders {
        harness.state_mut().queue_command(Command::ClearInputs);
        harness.step();
        harness
            .state_mut()
            .queue_command(Command::AddPaths(vec![folder.clone()]));
        harness.settle();
        harness.state_mut().queue_command(Command::Start(kind));
        harness.settle();
    }
    assert_eq!(harness.state().queue().rows().len(), folders.len());
}

#[test]
fn a_cards_problem_list_shows_several_rows_wherever_the_card_is_in_the_queue() {
    let tmp = tempfile::tempdir().unwrap();
    let folders: Vec<PathBuf> = (0..6)
        .map(|i| {
            let folder = tmp.path().join(format!("set{i}"));
            write(&folder.join("a.txt"), b"x\n");
            folder
        })
        .collect();
    let (mut harness, fake) = fake_harness(Settings::default());
    queue_fake_thumbnail_jobs(&mut harness, &folders);
    // The last card, below the queue's first screen, has 40 errors.
    let broken = tmp.path().join("broken");
    for index in 0..folders.len() {
        let id = fake.job(index);
        fake.run(id);
        if index + 1 < folders.len() {
            fake.finish_done(id, vec![PathBuf::from("a.jpg")], None);
        } else {
            fake.finish(id, JobOutcome::Failed, |report| {
                report.problems = (0..40)
                    .map(|i| failed(broken.join(format!("photo{i:02}.jpg")), "not a JPEG"))
                    .collect();
            });
        }
    }
    step_until(&mut harness, "the jobs to finish", |app| {
        app.queue().rows().iter().all(|r| r.is_finished())
    });
    harness.settle();
    let header = harness.get_by_label("Show 40 errors");
    header.focus();
    harness.settle();
    harness.key_press(egui::Key::Space);
    harness.settle();
    assert!(has_label(&harness, "40 items failed"), "the list is open");
    let prefix = broken.join("photo").display().to_string();
    let rows: Vec<egui::Rect> = harness
        .query_all_by_label_contains(&prefix)
        .filter(|n| {
            n.accesskit_node()
                .value()
                .is_some_and(|l| l.starts_with(&prefix))
        })
        .map(|n| n.rect())
        .collect();
    let top = rows.iter().map(|r| r.min.y).fold(f32::INFINITY, f32::min);
    let bottom = rows
        .iter()
        .map(|r| r.max.y)
        .fold(f32::NEG_INFINITY, f32::max);
    assert!(
        rows.len() >= 7,
        "the list lays out several rows, not a row and a half: {} rows over {} points",
        rows.len(),
        bottom - top
    );
    assert!(
        !has_label(&harness, &broken.join("photo39.jpg").display().to_string()),
        "40 rows scroll: the last is not laid out"
    );
}

/// A real thumbnail job of `count` 400 px photos at `sizes`, finished, its strip loaded.
fn finished_strip(count: u32, sizes: Vec<ThumbSize>) -> (tempfile::TempDir, Harness<'static, App>) {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("photos");
    photos(&src, count, 400);
    let mut settings = Settings::default();
    settings.kinds.thumbs.thumb_sizes = sizes;
    let mut harness = harness(2, settings);
    start_thumbnails(&mut harness, &src);
    step_until(&mut harness, "the job to finish", |app| {
        let row = &app.queue().rows()[0];
        row.is_finished() && row.strip.loading() == 0
    });
    harness.settle();
    (tmp, harness)
}

#[test]
fn the_strip_shows_each_photo_once_with_the_sizes_made_named() {
    let (tmp, harness) = finished_strip(3, [64, 160].map(ThumbSize::square).to_vec());
    let row = &harness.state().queue().rows()[0];
    let report = row.report.as_ref().unwrap();
    assert_eq!(report.outputs.len(), 6, "{:?}", report.outputs);
    assert_eq!(row.strip.slots.len(), 3, "one cell per photo");
    assert_eq!(row.strip.shown(), 3);
    assert!(has_label(
        &harness,
        "Each image once, at its largest size (made at 64 and 160 px)"
    ));
    for i in 0..3 {
        let label = format!("p{i:03}_160.jpg (made at 64 and 160 px)");
        assert!(has_label(&harness, &label), "{label}");
        assert!(!has_label(&harness, &format!("p{i:03}_64.jpg")));
    }
    assert_eq!(thumbnails_in(&tmp.path().join("thumbnails")).len(), 6);
}

#[test]
fn the_strip_names_boxes_by_width_and_height_when_one_is_not_square() {
    let (_tmp, harness) = finished_strip(2, vec![ThumbSize::square(64), ThumbSize::new(320, 200)]);
    assert!(has_label(
        &harness,
        "Each image once, at its largest size (made at 64\u{d7}64 and 320\u{d7}200 px)"
    ));
    for i in 0..2 {
        let label = format!("p{i:03}_320x200.jpg (made at 64\u{d7}64 and 320\u{d7}200 px)");
        assert!(has_label(&harness, &label), "{label}");
    }
}

/// The card that has the keyboard focus, by its job's place in the queue.
fn focused_card(harness: &Harness<'static, App>) -> Option<usize> {
    let names: Vec<String> = harness
        .state()
        .queue()
        .rows()
        .iter()
        .map(|r| format!("Job {} (", r.name))
        .collect();
    let focused = harness
        .query_all_by_label_contains("Job ")
        .find(|n| n.is_focused())?;
    let label = focused.accesskit_node().label()?;
    names.iter().position(|n| label.starts_with(n.as_str()))
}

fn no_focus(harness: &mut Harness<'static, App>) {
    harness.ctx.memory_mut(|m| {
        if let Some(id) = m.focused() {
            m.surrender_focus(id);
        }
    });
    harness.settle();
}

fn folders_with_a_file(dir: &Path, count: usize) -> Vec<PathBuf> {
    (0..count)
        .map(|i| {
            let folder = dir.join(format!("set{i:02}"));
            write(&folder.join("a.txt"), b"x\n");
            folder
        })
        .collect()
}

#[test]
fn the_first_card_is_two_keys_away_and_up_and_down_go_card_to_card() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut harness, _fake) = fake_harness(Settings::default());
    queue_fake_jobs(&mut harness, &folders_with_a_file(tmp.path(), 3), ZIP);
    let ids: Vec<_> = harness
        .state()
        .queue()
        .rows()
        .iter()
        .map(|r| r.id)
        .collect();
    no_focus(&mut harness);

    // Tab, then Enter: the window's first Tab stop skips to the queue.
    let mut keys = 0;
    harness.key_press(egui::Key::Tab);
    keys += 1;
    harness.settle();
    assert!(
        harness.get_by_label("Skip to the queue (F6)").is_focused(),
        "the first Tab stop skips to the queue"
    );
    harness.key_press(egui::Key::Enter);
    keys += 1;
    harness.settle();
    assert_eq!(
        focused_card(&harness),
        Some(0),
        "the first card has the focus"
    );
    assert_eq!(harness.state().queue().selected(), Some(ids[0]));
    assert!(keys <= 2, "{keys} keys to the first card");

    // Down and Up go from card to card (and select the job).
    harness.key_press(egui::Key::ArrowDown);
    harness.settle();
    assert_eq!(focused_card(&harness), Some(1));
    assert_eq!(harness.state().queue().selected(), Some(ids[1]));
    harness.key_press(egui::Key::ArrowDown);
    harness.settle();
    assert_eq!(focused_card(&harness), Some(2));
    harness.key_press(egui::Key::ArrowUp);
    harness.settle();
    assert_eq!(focused_card(&harness), Some(1));
    assert_eq!(harness.state().queue().selected(), Some(ids[1]));

    // F6 from the path field goes to the selected card.
    harness.get_by_label("Path to add").focus();
    harness.settle();
    harness.key_press(egui::Key::F6);
    harness.settle();
    assert_eq!(
        focused_card(&harness),
        Some(1),
        "F6 goes to the selected card"
    );
}

#[test]
fn after_a_click_on_a_card_the_arrows_move_and_the_focus_stays_in_view() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut harness, _fake) = fake_harness(Settings::default());
    let count = 14;
    queue_fake_jobs(&mut harness, &folders_with_a_file(tmp.path(), count), ZIP);
    let ids: Vec<_> = harness
        .state()
        .queue()
        .rows()
        .iter()
        .map(|r| r.id)
        .collect();
    no_focus(&mut harness);
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1180.0, 760.0));
    // A click on a card in view (on its name) selects it and focuses it.
    let name = harness.state().queue().rows()[count - 1].name.clone();
    let label = harness.get_by_label(&name).rect();
    assert!(window.contains_rect(label), "the last card is in view");
    harness.get_by_label(&name).click();
    harness.settle();
    assert_eq!(harness.state().queue().selected(), Some(ids[count - 1]));
    assert_eq!(focused_card(&harness), Some(count - 1));
    // Up to the first card, each one scrolled into view as it gets the focus.
    for index in (0..count - 1).rev() {
        harness.key_press(egui::Key::ArrowUp);
        harness.settle();
        assert_eq!(focused_card(&harness), Some(index));
        assert_eq!(harness.state().queue().selected(), Some(ids[index]));
        let name = harness.state().queue().rows()[index].name.clone();
        let rect = harness.get_by_label(&name).rect();
        assert!(
            window.contains_rect(rect),
            "card {index} is scrolled into view: {rect:?}"
        );
    }
    // Tab from the first card's last control goes on down the queue, each stop in view.
    for _ in 0..12 {
        harness.key_press(egui::Key::Tab);
        harness.settle();
        let focused = harness
            .query_all(
                egui_kittest::kittest::by()
                    .predicate(|n: &egui_kittest::kittest::AccessKitNode<'_>| n.is_focused()),
            )
            .next()
            .map(|n| n.rect());
        if let Some(rect) = focused {
            assert!(
                window.contains_rect(rect),
                "the Tab stop is in view: {rect:?}"
            );
        }
    }
}

/// The plan card's details are shown (its item list's header is there).
fn plan_details_shown(harness: &Harness<'static, App>) -> bool {
    labels_containing(harness, "Show ") > 0
        && harness.query_all_by_label_contains("Show ").any(|n| {
            n.accesskit_node()
                .label()
                .is_some_and(|l| l.ends_with(" items") || l.ends_with(" item"))
        })
}

#[test]
fn the_plan_folds_on_its_title_remembers_it_and_folds_itself_while_jobs_run() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("docs");
    for i in 0..3 {
        write(&folder.join(format!("n{i}.txt")), b"notes\n");
    }
    let (mut harness, fake) = fake_harness(Settings::default());
    drop_onto_window(&mut harness, &folder);
    wait_for_preview(&mut harness);
    harness.settle();
    assert!(plan_details_shown(&harness), "the plan opens unfolded");

    // Its title folds it to one line that still says what Start will do.
    harness.get_by_label("Plan").click();
    harness.settle();
    assert!(!plan_details_shown(&harness), "folded");
    assert!(harness.state().settings().plan_folded);
    let summary =
        shrinkwrap::ui::view::plan_panel::summary_line(harness.state().preview().view().unwrap());
    assert!(
        has_label(&harness, &summary),
        "the folded plan shows its summary: {summary}"
    );
    // Remembered between runs.
    let mut storage = MemoryStorage::default();
    eframe::App::save(harness.state_mut(), &mut storage);
    assert!(Settings::load(Some(&storage)).plan_folded);
    harness.get_by_label("Plan").click();
    harness.settle();
    assert!(plan_details_shown(&harness), "open again");
    assert!(!harness.state().settings().plan_folded);

    // When a job starts the plan folds by itself (the queue gets the room), and can be opened.
    harness.get_by_label("Compress").click();
    harness.settle();
    let id = fake.job(0);
    fake.run(id);
    step_until(&mut harness, "the job to run", |app| {
        app.queue().rows()[0].state() == JobState::Running
    });
    harness.settle();
    assert!(!plan_details_shown(&harness), "folded while the job runs");
    harness.get_by_label("Plan").click();
    harness.settle();
    assert!(plan_details_shown(&harness), "opened while the job runs");
    assert!(
        !harness.state().settings().plan_folded,
        "the choice is not changed"
    );
    harness.get_by_label("Plan").click();
    harness.settle();
    assert!(!plan_details_shown(&harness));
    // The job ending does not move the queue under the pointer: the plan stays folded until it
    // changes (another input), then the person's own choice again (open).
    fake.finish_done(
        id,
        vec![PathBuf::from("n0.txt")],
        Some(&tmp.path().join("docs.zip")),
    );
    step_until(&mut harness, "the job to end", |app| {
        app.queue().rows()[0].is_finished()
    });
    harness.settle();
    assert!(
        !plan_details_shown(&harness),
        "still folded when the job ends"
    );
    let more = tmp.path().join("more.txt");
    write(&more, b"more notes\n");
    drop_onto_window(&mut harness, &more);
    wait_for_preview(&mut harness);
    harness.settle();
    assert!(plan_details_shown(&harness), "open again for a new plan");
}

#[test]
fn an_output_folder_that_takes_no_files_is_flagged_in_the_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("photos");
    photos(&src, 1, 200);
    // A file where the output folder's parent would be: nothing can be made below it.
    write(&tmp.path().join("blocked"), b"a file, not a folder\n");
    let mut settings = Settings {
        kind: THUMBS,
        ..Settings::default()
    };
    settings.kinds.thumbs.thumbnails_folder =
        tmp.path().join("blocked/thumbs").display().to_string();
    let mut harness = harness(1, settings);
    drop_onto_window(&mut harness, &src);
    wait_for_preview(&mut harness);
    harness.settle();
    let blocked = tmp.path().join("blocked").display().to_string();
    let flagged = harness
        .query_all_by_label_contains("Nothing can be written in")
        .any(|n| {
            n.accesskit_node()
                .value()
                .is_some_and(|l| l.contains(&blocked))
        });
    assert!(flagged, "the plan says the output folder takes no files");
}
