//! The real window app (`shrinkwrap::ui::App`) with the real engine, driven through egui_kittest:
//! inputs added the way a person adds them (the path field, a drop), jobs started and cancelled
//! with the buttons, outcomes read back from the window and from the disk.
//!
//! No timing assertions: frames are stepped until the expected state shows up, with one generous
//! deadline per wait so that a hang fails instead of blocking CI.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{assert_archive_matches, expected_tree, files_below, noise, write};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use shrinkwrap::engine::JobState;
use shrinkwrap::ui::settings::{CompressionLevel, Operation, Settings};
use shrinkwrap::ui::state::{Command, Prompt, QuitState};
use shrinkwrap::ui::{App, AppOptions};

/// How long one wait may take before the test fails (the machine may be busy; nothing here is a
/// performance check).
const WAIT_DEADLINE: Duration = Duration::from_secs(120);

fn harness(workers: usize, settings: Settings) -> Harness<'static, App> {
    Harness::builder()
        .with_size(egui::vec2(1180.0, 760.0))
        .build_eframe(move |cc| App::new_for_test(&cc.egui_ctx, workers, settings))
}

/// Steps frames until `done` holds, sleeping a little between frames (the engine and the helper
/// threads work in real time).
fn step_until(harness: &mut Harness<'static, App>, what: &str, done: impl Fn(&App) -> bool) {
    let deadline = Instant::now() + WAIT_DEADLINE;
    loop {
        harness.step();
        if done(harness.state()) {
            // One more frame so the window shows what the state says.
            harness.step();
            return;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn type_path_and_add(harness: &mut Harness<'static, App>, path: &Path) {
    let field = harness.get_by_label("Path to add");
    field.focus();
    field.type_text(&path.display().to_string());
    harness.run();
    harness.get_by_label("Add").click();
    harness.run();
}

#[derive(Debug)]
struct DroppedPath(PathBuf);

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn drop_onto_window(harness: &mut Harness<'static, App>, path: &Path) {
    harness
        .input_mut()
        .dropped_files
        .push(Arc::new(DroppedPath(path.to_path_buf())));
    harness.run();
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
    let settings = Settings {
        compression: CompressionLevel::Maximum,
        ..Settings::default()
    };
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
    harness.run();
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
    harness.run();
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
    harness.run();
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
    harness.run();
    assert_eq!(harness.state().settings().operation, Operation::Thumbnails);
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
    harness.run();
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
    harness.run();
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
    harness
        .state_mut()
        .queue_command(Command::Start(Operation::Compress));
    harness.step();
    assert_eq!(harness.state().queue().rows().len(), 1);
    step_until(&mut harness, "the job to fail", |app| {
        app.queue().rows()[0].is_finished()
    });
    assert_eq!(harness.state().queue().rows()[0].state(), JobState::Failed);
    let outcome = harness
        .get_by_label_contains("failed:")
        .value()
        .unwrap_or_default();
    assert!(
        outcome.contains("already exists"),
        "the row says the archive exists: {outcome}"
    );
    // The window asks at once.
    assert!(
        matches!(
            harness.state().state().prompt,
            Some(Prompt::ArchiveExists { .. })
        ),
        "the question is open"
    );
    assert!(has_label(&harness, "report.zip already exists"));
    harness.get_by_label("Cancel").click();
    harness.run();
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
    harness.run();
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
        harness.run();
        assert!(
            harness.state().queue().rows().is_empty(),
            "{answer}: nothing is queued before the answer"
        );
        assert!(has_label(&harness, "report.zip already exists"));
        harness.get_by_label(answer).click();
        harness.step();
        match answer {
            "Cancel" => {
                harness.run();
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
    let mut harness = harness(1, Settings::default());
    drop_onto_window(&mut harness, &a);
    drop_onto_window(&mut harness, &b);
    assert_eq!(harness.state().inputs().len(), 2);

    harness.get_by_label("alpha.txt").click();
    harness.run();
    assert_eq!(harness.state().inputs().selected(), Some(0));
    harness.key_press(egui::Key::Delete);
    harness.run();
    assert_eq!(harness.state().inputs().paths(), vec![b.clone()]);

    harness.get_by_label("Clear all").click();
    harness.run();
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
    let mut first = harness(1, Settings::default());
    first.get_by_label("Thumbnails").click();
    first.run();
    first.get_by_label("512 px").click();
    first.run();
    first.get_by_label("WebP").click();
    first.run();
    let mut storage = MemoryStorage::default();
    eframe::App::save(first.state_mut(), &mut storage);
    drop(first);

    let storage: &'static MemoryStorage = Box::leak(Box::new(storage));
    let second: Harness<'static, App> = Harness::builder().build_eframe(move |cc| {
        cc.storage = Some(storage);
        App::new(cc, shrinkwrap::ui::LaunchArgs::default(), Arc::default())
    });
    let settings = second.state().settings();
    assert_eq!(settings.operation, Operation::Thumbnails);
    assert_eq!(settings.thumb_sizes_px, vec![256, 512]);
    assert_eq!(settings.thumb_format, shrinkwrap::engine::ThumbFormat::Webp);
}

#[test]
fn the_worker_setting_resizes_the_pool() {
    let mut harness = harness(2, Settings::default());
    assert_eq!(harness.state().engine().workers(), 2);
    harness.get_by_label("Workers").set_value_accesskit(3.0);
    harness.run();
    assert_eq!(harness.state().settings().workers, Some(3));
    assert_eq!(harness.state().engine().workers(), 3);
}

#[test]
fn escape_cancels_the_selected_job() {
    let tmp = tempfile::tempdir().unwrap();
    let mut harness = start_big_compress_job(tmp.path(), "archive-me.bin");
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
    assert!(part_files(tmp.path()).is_empty());
}

fn type_into(harness: &mut Harness<'static, App>, label: &str, text: &str) {
    let field = harness.get_by_label(label);
    field.focus();
    field.type_text(text);
    harness.run();
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
    harness.run();
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
    harness.run();
    assert!(harness.state().queue().rows().is_empty(), "nothing queued");
    harness
        .get_by_label("Name")
        .set_text_value_accesskit("{parent}-{stem}@{size}");
    harness.run();
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
    harness.run();
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
    harness.run();
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
    harness.run();
    assert_eq!(
        PathBuf::from(&harness.state().state().destinations.thumbnails_folder),
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
    Settings {
        archive_layout: shrinkwrap::ui::settings::ArchiveLayout::ArchivePerFolder,
        ..Settings::default()
    }
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
    harness.run();
    assert!(harness.state().queue().rows().is_empty(), "nothing started");
    assert!(has_label(&harness, "Make 3 archives?"));
    harness.get_by_label("Cancel").click();
    harness.run();
    assert!(harness.state().queue().rows().is_empty());

    harness.get_by_label("Compress").click();
    harness.run();
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
        queue_at_start: Some(Operation::Compress),
        ..Default::default()
    };
    let settings = Settings {
        workers: Some(2),
        ..per_folder_settings()
    };
    let mut harness: Harness<'static, App> = Harness::builder()
        .with_size(egui::vec2(1180.0, 760.0))
        .build_eframe(move |cc| {
            App::with_options(&cc.egui_ctx, settings, launch, AppOptions::test(None))
        });
    step_until(&mut harness, "the question", |app| {
        app.state().prompt.is_some()
    });
    assert!(has_label(&harness, "Make 3 archives?"));
    assert!(harness.state().queue().rows().is_empty(), "nothing started");
    harness.get_by_label("One archive instead").click();
    harness.run();
    assert!(harness.state().queue().rows().is_empty());
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
    let mut harness = harness(1, Settings::default());
    drop_onto_window(&mut harness, &photos);
    harness.get_by_label("Thumbnails").click();
    harness.run();
    wait_for_preview(&mut harness);
    let start = harness.get_by_label("Make thumbnails");
    start.click();
    start.click();
    harness.run();
    assert_eq!(harness.state().queue().rows().len(), 1, "one card");
    assert!(
        has_label(&harness, "Queued"),
        "Start says the job is queued while it is"
    );

    // The same job asked twice in one frame: the engine refuses the second, calmly.
    let mut harness2 = self::harness(1, Settings::default());
    drop_onto_window(&mut harness2, &photos);
    harness2.state_mut().settings_mut().operation = Operation::Thumbnails;
    harness2
        .state_mut()
        .queue_command(Command::Start(Operation::Thumbnails));
    harness2
        .state_mut()
        .queue_command(Command::Start(Operation::Thumbnails));
    harness2.step();
    assert_eq!(harness2.state().queue().rows().len(), 1, "one card");
    let notice = harness2.state().state().notice.clone().unwrap();
    assert!(notice.text.starts_with("Already queued"), "{}", notice.text);
    assert_eq!(notice.level, shrinkwrap::ui::state::NoticeLevel::Info);
    for h in [&mut harness, &mut harness2] {
        step_until(h, "the job to finish", |app| !app.queue().any_active());
    }
}
