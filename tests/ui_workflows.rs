//! The window's workflows, driven through egui_kittest against the real App: "Copy as command"
//! (the copied line, run by the real binary from another folder, makes the same files), "Save as
//! job file" and opening one (the same jobs queued), the chain checkbox ("Then zip the
//! thumbnails": two cards, the archive holds exactly the thumbnails), the preset menu, and a
//! card that keeps watching its input folder.
//!
//! No timing assertions: frames are stepped until the expected state shows up, with one generous
//! deadline per wait so that a hang fails instead of blocking CI.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::fake_engine::FakeEngine;
use common::ui::{
    Settle, WAIT_DEADLINE, drop_onto_window, fake_harness_with, harness, jpeg_bytes, step_until,
};
use common::{files_below, read_archive, write};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use shrinkwrap::engine::kinds::thumbs::KIND as THUMBS;
use shrinkwrap::engine::{JobSpec, JobState, ThumbFormat};
use shrinkwrap::ui::dialogs::JobFileOf;
use shrinkwrap::ui::kinds::KindForm;
use shrinkwrap::ui::settings::Settings;
use shrinkwrap::ui::state::Command;
use shrinkwrap::ui::{App, AppOptions, LaunchArgs};

fn fake_harness(settings: Settings, launch: LaunchArgs) -> (Harness<'static, App>, FakeEngine) {
    fake_harness_with(settings, launch, AppOptions::test(None))
}

/// A window over a real engine, laid out before it is touched.
fn settled(mut harness: Harness<'static, App>) -> Harness<'static, App> {
    harness.settle();
    harness
}

/// Runs frames until the window stops asking for repaints (within the deadline).
fn settle(harness: &mut Harness<'static, App>) {
    harness.settle();
}

/// Photos in `dir` and in a subfolder of it.
fn photos(dir: &Path) {
    write(&dir.join("a.jpg"), &jpeg_bytes(320, 240, 1));
    write(&dir.join("b.jpg"), &jpeg_bytes(240, 320, 2));
    write(&dir.join("trip/c.jpg"), &jpeg_bytes(300, 200, 3));
}

/// The files below `dir` (relative names), with their bytes.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = files_below(dir)
        .into_iter()
        .map(|p| {
            let bytes = fs::read(dir.join(&p)).unwrap();
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

/// The texts the window copied to the clipboard in the frames stepped until there is one.
fn wait_for_copy(harness: &mut Harness<'static, App>) -> Vec<String> {
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
    copied
}

/// Thumbnail settings that differ from the defaults in every way a line must carry.
fn thumbnail_settings(folder: &Path) -> Settings {
    let mut settings = Settings::default();
    let thumbs = &mut settings.kinds.thumbs;
    thumbs.thumb_sizes = [64, 128]
        .map(shrinkwrap::engine::ThumbSize::square)
        .to_vec();
    thumbs.thumb_format = ThumbFormat::Png;
    thumbs.name_template = "{parent}-{stem}_{size}".to_owned();
    thumbs.thumbnails_folder = folder.display().to_string();
    settings.kind = THUMBS;
    settings
}

#[test]
fn copy_as_command_gives_a_line_that_run_elsewhere_makes_the_same_thumbnails() {
    let tmp = tempfile::tempdir().unwrap();
    // A space and a quote in the paths: the line must quote them.
    let src = tmp.path().join("my photos");
    photos(&src);
    let out = tmp.path().join("thumb's out");
    let mut harness = settled(harness(1, thumbnail_settings(&out)));
    drop_onto_window(&mut harness, &src);

    harness.get_by_label("Copy as command").click();
    let copied = wait_for_copy(&mut harness);
    assert_eq!(copied.len(), 1, "one copy");
    let line = copied[0].trim_end().to_owned();
    assert_eq!(line.lines().count(), 1, "one job, one line: {line}");
    assert!(line.starts_with("shrinkwrap thumbs "), "{line}");
    assert!(
        line.contains(&src.display().to_string()),
        "absolute input: {line}"
    );

    // Run the line with the real binary, from another folder.
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_shrinkwrap"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(&line)
        .current_dir(&elsewhere)
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(
        files_below(&elsewhere).is_empty(),
        "nothing written in the current folder"
    );
    let from_line = tree(&out);
    assert_eq!(from_line.len(), 6, "3 photos at 2 sizes: {from_line:?}");
    fs::rename(&out, tmp.path().join("from the line")).unwrap();

    // The window's own job makes the very same files.
    harness.get_by_label("Make thumbnails").click();
    harness.step();
    step_until(&mut harness, "the thumbnail job to finish", |app| {
        app.queue().rows().first().is_some_and(|r| r.is_finished())
    });
    assert_eq!(harness.state().queue().rows()[0].state(), JobState::Done);
    let from_window = tree(&out);
    let names = |t: &[(PathBuf, Vec<u8>)]| t.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(names(&from_window), names(&from_line));
    assert!(
        from_window == from_line,
        "the same names and the same bytes"
    );

    // The finished card copies the same line (clicked once it is laid out with its strip).
    settle(&mut harness);
    let name = harness.state().queue().rows()[0].name.clone();
    harness
        .get_by_label(&format!("Copy the command line of {name}"))
        .click();
    let copied = wait_for_copy(&mut harness);
    assert_eq!(copied, [format!("{line}\n")]);
}

/// The jobs the form of `settings` starts over `inputs`: each, then the one chained after it.
fn form_jobs(settings: &Settings, inputs: &[PathBuf]) -> Vec<JobSpec> {
    let form = &settings.kinds.thumbs;
    let mut out = Vec::new();
    for spec in shrinkwrap::ui::settings::build_jobs(form, inputs, 1).unwrap() {
        let then = form.then_job(&spec);
        out.push(spec.normalized());
        out.extend(then.map(|t| t.normalized()));
    }
    out
}

fn submitted_specs(fake: &FakeEngine) -> Vec<JobSpec> {
    fake.submitted()
        .into_iter()
        .map(|(_, spec)| spec.normalized())
        .collect()
}

#[test]
fn save_as_job_file_round_trips_through_open_a_drop_and_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("photos");
    photos(&src);
    let mut settings = thumbnail_settings(&tmp.path().join("small"));
    settings.kinds.thumbs.then_zip = true;
    let expected = form_jobs(&settings, std::slice::from_ref(&src));
    assert_eq!(expected.len(), 2, "the thumbnails, then their zip");

    let (mut harness, fake) = fake_harness(settings.clone(), LaunchArgs::default());
    drop_onto_window(&mut harness, &src);
    // "Save as job file…" asks where in a dialog; its answer is this command.
    let file = tmp.path().join("jobs.toml");
    harness
        .state_mut()
        .queue_command(Command::WriteJobFile(JobFileOf::Form(THUMBS), file.clone()));
    step_until(&mut harness, "the job file to be saved", |app| {
        app.state()
            .notice
            .as_ref()
            .is_some_and(|n| n.text.starts_with("Saved the job file"))
    });
    let text = fs::read_to_string(&file).unwrap();
    assert!(text.contains("kind = \"thumbs\""), "{text}");
    assert!(
        text.contains("inputs = [\"photos\"]"),
        "relative to the file: {text}"
    );
    assert!(text.contains("inputs_from = "), "the chain is kept: {text}");
    assert!(submitted_specs(&fake).is_empty(), "saving queues nothing");

    // Open job file…: the same jobs are queued, the chain through the engine.
    harness
        .state_mut()
        .queue_command(Command::OpenJobFiles(vec![file.clone()]));
    step_until(&mut harness, "the job file's jobs", |app| {
        app.queue().rows().len() == 2
    });
    assert_eq!(submitted_specs(&fake), expected);
    assert_eq!(
        harness
            .state()
            .state()
            .notice
            .as_ref()
            .map(|n| n.text.clone()),
        Some("Queued 2 jobs from jobs.toml.".to_owned())
    );

    // A card saves its own job; opened, it is the same job.
    let card = harness.state().queue().rows()[0].id;
    let single = tmp.path().join("one job.toml");
    harness
        .state_mut()
        .queue_command(Command::WriteJobFile(JobFileOf::Card(card), single.clone()));
    step_until(&mut harness, "the card's job file", |_| single.is_file());
    let (mut reopened, fake) = fake_harness(settings.clone(), LaunchArgs::default());
    reopened
        .state_mut()
        .queue_command(Command::OpenJobFiles(vec![single]));
    step_until(&mut reopened, "the card's job", |app| {
        app.queue().rows().len() == 1
    });
    assert_eq!(submitted_specs(&fake), expected[..1]);

    // A dropped job file queues its jobs (it is not an input).
    let (mut dropped, fake) = fake_harness(settings.clone(), LaunchArgs::default());
    drop_onto_window(&mut dropped, &file);
    step_until(&mut dropped, "the dropped file's jobs", |app| {
        app.queue().rows().len() == 2
    });
    assert!(
        dropped.state().inputs().is_empty(),
        "a job file is not an input"
    );
    assert_eq!(submitted_specs(&fake), expected);

    // So does a job file named on the command line.
    let launch = LaunchArgs {
        paths: vec![file.clone()],
        ..LaunchArgs::default()
    };
    let (mut launched, fake) = fake_harness(settings, launch);
    step_until(&mut launched, "the command line's jobs", |app| {
        app.queue().rows().len() == 2
    });
    assert_eq!(submitted_specs(&fake), expected);
}

#[test]
fn the_chain_checkbox_zips_exactly_the_thumbnails_after_making_them() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("photos");
    photos(&src);
    // Something else in the thumbnails' folder already: not one of this job's thumbnails.
    let out = tmp.path().join("small");
    write(&out.join("notes.txt"), b"not a thumbnail\n");
    let mut harness = settled(harness(1, thumbnail_settings(&out)));
    drop_onto_window(&mut harness, &src);
    harness.get_by_label("Then zip the thumbnails").click();
    settle(&mut harness);
    assert!(harness.state().settings().kinds.thumbs.then_zip);

    harness.get_by_label("Make thumbnails").click();
    harness.step();
    assert_eq!(harness.state().queue().rows().len(), 2, "two cards");
    step_until(&mut harness, "both jobs to finish", |app| {
        app.queue().rows().iter().all(|r| r.is_finished())
    });
    let states: Vec<JobState> = harness
        .state()
        .queue()
        .rows()
        .iter()
        .map(|r| r.state())
        .collect();
    assert_eq!(states, [JobState::Done, JobState::Done]);

    let thumbnails: Vec<String> = files_below(&out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .map(|p| format!("small/{}", p.to_string_lossy()))
        .collect();
    assert_eq!(thumbnails.len(), 6);
    let mut entries: Vec<String> = read_archive(&tmp.path().join("small.zip"))
        .into_iter()
        .filter(|(_, bytes)| bytes.is_some())
        .map(|(name, _)| name)
        .collect();
    entries.sort();
    let mut thumbnails = thumbnails;
    thumbnails.sort();
    assert_eq!(entries, thumbnails, "exactly the thumbnails");
}

fn preset_names(app: &App) -> Vec<String> {
    app.state()
        .presets
        .of_kind(THUMBS)
        .into_iter()
        .map(|p| p.name.clone())
        .collect()
}

fn type_into(harness: &mut Harness<'static, App>, label: &str, text: &str) {
    let field = harness.get_by_label(label);
    field.focus();
    field.type_text(text);
    settle(harness);
}

#[test]
fn presets_are_saved_applied_renamed_and_deleted_from_the_menu() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config");
    let mut settings = Settings {
        kind: THUMBS,
        ..Settings::default()
    };
    let thumbs = &mut settings.kinds.thumbs;
    thumbs.thumb_sizes = [512].map(shrinkwrap::engine::ThumbSize::square).to_vec();
    thumbs.thumb_format = ThumbFormat::Webp;
    thumbs.jpeg_quality = 70;
    thumbs.name_template = "{stem}-small".to_owned();
    let mut options = AppOptions::test(None);
    options.config_dir = Some(config.clone());
    let fake = FakeEngine::new(2);
    let engine = fake.clone();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1180.0, 760.0))
        .build_eframe(move |cc| {
            App::with_engine(
                &cc.egui_ctx,
                settings,
                LaunchArgs::default(),
                options,
                Box::new(engine),
            )
        });
    settle(&mut harness);

    harness.get_by_label("Presets").click();
    step_until(&mut harness, "the presets", |app| {
        app.state().presets.presets.is_some()
    });
    // The built-in thumbnail preset is offered, and no other kind's.
    let builtin: Vec<String> = shrinkwrap::engine::workflow::builtin_presets()
        .into_iter()
        .filter(|p| p.options.kind() == THUMBS)
        .map(|p| p.name)
        .collect();
    assert!(!builtin.is_empty());
    assert_eq!(preset_names(harness.state()), builtin);
    assert!(
        harness
            .query_by_label(&format!("Apply preset {}", builtin[0]))
            .is_some()
    );

    // Save current options as "blog".
    type_into(&mut harness, "New preset name", "blog");
    harness.get_by_label("Save preset").click();
    step_until(&mut harness, "the saved preset", |app| {
        preset_names(app).contains(&"blog".to_owned())
    });
    let file = config.join("presets.toml");
    let text = fs::read_to_string(&file).unwrap();
    assert!(text.contains("name = \"blog\""), "{text}");
    assert!(text.contains("format = \"webp\""), "{text}");

    // Other options, then apply "blog": its options come back, the folder stays.
    {
        let form = &mut harness.state_mut().settings_mut().kinds.thumbs;
        form.thumb_sizes = [128].map(shrinkwrap::engine::ThumbSize::square).to_vec();
        form.thumb_format = ThumbFormat::Jpeg;
        form.jpeg_quality = 90;
        form.name_template.clear();
        form.thumbnails_folder = "/somewhere/thumbs".to_owned();
    }
    settle(&mut harness);
    harness.get_by_label("Apply preset blog").click();
    settle(&mut harness);
    let form = harness.state().settings().kinds.thumbs.clone();
    assert_eq!(
        form.thumb_sizes,
        [shrinkwrap::engine::ThumbSize::square(512)]
    );
    assert_eq!(form.thumb_format, ThumbFormat::Webp);
    assert_eq!(form.jpeg_quality, 70);
    assert_eq!(form.name_template, "{stem}-small");
    assert_eq!(form.thumbnails_folder, "/somewhere/thumbs");

    // A built-in preset applies too.
    harness.get_by_label("Presets").click();
    settle(&mut harness);
    harness
        .get_by_label(&format!("Apply preset {}", builtin[0]))
        .click();
    settle(&mut harness);
    assert_ne!(harness.state().settings().kinds.thumbs, form);

    // Rename "blog" to "blog 2".
    harness.get_by_label("Presets").click();
    settle(&mut harness);
    harness.get_by_label("Rename preset blog").click();
    settle(&mut harness);
    type_into(&mut harness, "New name for blog", " 2");
    harness.get_by_label("Rename blog to the new name").click();
    step_until(&mut harness, "the renamed preset", |app| {
        let names = preset_names(app);
        names.contains(&"blog 2".to_owned()) && !names.contains(&"blog".to_owned())
    });
    let text = fs::read_to_string(&file).unwrap();
    assert!(text.contains("name = \"blog 2\""), "{text}");

    // Delete it.
    harness.get_by_label("Delete preset blog 2").click();
    step_until(&mut harness, "the deleted preset", |app| {
        preset_names(app) == builtin
    });
    let text = fs::read_to_string(&file).unwrap();
    assert!(!text.contains("blog"), "{text}");
    drop(fake);
}

#[test]
fn a_watching_card_makes_a_thumbnail_for_a_file_copied_in_after_the_job() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("photos");
    write(&src.join("a.jpg"), &jpeg_bytes(320, 240, 1));
    let out = tmp.path().join("thumbs");
    let mut settings = Settings {
        kind: THUMBS,
        ..Settings::default()
    };
    settings.kinds.thumbs.thumbnails_folder = out.display().to_string();
    let mut harness = settled(harness(1, settings));
    drop_onto_window(&mut harness, &src);
    harness.get_by_label("Make thumbnails").click();
    harness.step();
    step_until(&mut harness, "the thumbnail job to finish", |app| {
        app.queue().rows().first().is_some_and(|r| r.is_finished())
    });
    // A folder input's thumbnails go under its name.
    assert_eq!(files_below(&out), [PathBuf::from("photos/a.jpg")]);
    let name = harness.state().queue().rows()[0].name.clone();
    // The card is laid out with its strip before the click.
    settle(&mut harness);

    harness
        .get_by_label(&format!("Keep watching the inputs of {name}"))
        .click();
    harness.step();
    assert!(harness.state().queue().rows()[0].watch.is_some());
    step_until(&mut harness, "the watch to take stock", |app| {
        app.queue().rows()[0]
            .watch
            .as_ref()
            .is_some_and(|w| w.events.is_some() && !w.busy)
    });
    assert!(
        harness
            .query_by_label(&format!("Stop watching the inputs of {name}"))
            .is_some()
    );

    // A photo copied in after the job: written under a temporary name, then renamed, as a
    // file manager does.
    let part = src.join("b.jpg.part");
    fs::write(&part, jpeg_bytes(240, 320, 2)).unwrap();
    fs::rename(&part, src.join("b.jpg")).unwrap();
    step_until(&mut harness, "the watch to make its thumbnail", |app| {
        app.queue().rows()[0]
            .watch
            .as_ref()
            .is_some_and(|w| w.made.iter().any(|(p, _)| p.ends_with("b.jpg")))
    });
    let thumb = image::open(out.join("photos/b.jpg")).unwrap();
    assert!(thumb.width() <= 256 && thumb.height() <= 256);
    assert_eq!(
        harness.state().queue().rows().len(),
        1,
        "no card of its own"
    );
    assert!(
        harness
            .query_by_label_contains("Made since: 1 thumbnail")
            .is_some(),
        "the card says what it made"
    );

    harness
        .get_by_label(&format!("Stop watching the inputs of {name}"))
        .click();
    settle(&mut harness);
    assert!(harness.state().queue().rows()[0].watch.is_none());
}

#[test]
fn the_extract_chain_checkbox_makes_thumbnails_of_the_extracted_images() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("photos");
    photos(&src);
    write(&src.join("readme.txt"), b"not an image\n");
    let status = std::process::Command::new("zip")
        .args(["-qr", "photos.zip", "photos"])
        .current_dir(tmp.path())
        .status()
        .expect("Info-ZIP's zip is installed");
    assert!(status.success());
    let archive = tmp.path().join("photos.zip");
    let out = tmp.path().join("out");
    let mut settings = Settings::default();
    settings.kinds.extract.extract_folder = out.display().to_string();
    let mut harness = settled(harness(1, settings));
    drop_onto_window(&mut harness, &archive);
    harness.get_by_label("Extract").click();
    settle(&mut harness);
    harness
        .get_by_label("Then make thumbnails of the images")
        .click();
    settle(&mut harness);
    assert!(harness.state().settings().kinds.extract.then_thumbnails);

    harness.get_by_label("Extract archives").click();
    harness.step();
    assert_eq!(harness.state().queue().rows().len(), 2, "two cards");
    step_until(&mut harness, "both jobs to finish", |app| {
        app.queue().rows().iter().all(|r| r.is_finished())
    });
    let rows = harness.state().queue().rows();
    assert_eq!(rows[0].state(), JobState::Done);
    assert_eq!(rows[1].state(), JobState::Done, "{:?}", rows[1].report);
    let thumbs = out.join("thumbnails");
    let mut made: Vec<String> = files_below(&thumbs)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    made.sort();
    assert_eq!(made, ["a.jpg", "b.jpg", "c.jpg"], "the images only");
    assert_eq!(
        fs::read(out.join("photos/readme.txt")).unwrap(),
        b"not an image\n"
    );
}
