//! Workflows end to end on real files: job files, chains, file lists, shards and "Copy as
//! command" run by the built binary.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use image::{DynamicImage, ImageFormat, RgbImage};
use shrinkwrap::engine::workflow::watch::{FolderWatch, WatchJobs, WatchNews, WatchOptions};
use shrinkwrap::engine::workflow::{
    InputSelection, PresetStore, Shard, Which, command_args, read_file_list, read_job_file,
};
use shrinkwrap::engine::{
    ChainBroken, Engine, JobError, JobEvent, JobId, JobOutcome, JobReport, JobSpec, JobState,
    ProblemKind, ThumbFormat, ThumbSpec, ZipSpec,
};

/// An image file's bytes: a gradient of `w`×`h` seeded by `seed`.
fn image(w: u32, h: u32, seed: u32, format: ImageFormat) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            ((x * 255 / w + seed * 37) % 256) as u8,
            ((y * 255 / h + seed * 11) % 256) as u8,
            (seed * 53 % 256) as u8,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

/// `photos/` with images at several depths, one text file, and two images that differ only by
/// their extension (their thumbnails compete for one name).
fn photos(root: &Path) -> PathBuf {
    let dir = root.join("photos");
    write(&dir.join("a.png"), &image(90, 60, 1, ImageFormat::Png));
    write(&dir.join("b.jpg"), &image(60, 90, 2, ImageFormat::Jpeg));
    write(&dir.join("2024/c.png"), &image(70, 70, 3, ImageFormat::Png));
    write(
        &dir.join("2024/deep/d.jpg"),
        &image(50, 80, 4, ImageFormat::Jpeg),
    );
    write(
        &dir.join("2024/x.jpg"),
        &image(40, 40, 5, ImageFormat::Jpeg),
    );
    write(&dir.join("2024/x.png"), &image(40, 40, 6, ImageFormat::Png));
    write(&dir.join("notes.txt"), b"not an image");
    dir
}

fn engine(root: &Path) -> Engine {
    Engine::with_state_dir(2, Some(root.join(".state")))
}

/// Every event until the jobs `ids` have all ended: their final reports (in `ids` order) and
/// every state their progress showed.
fn run_to_end(engine: &Engine, ids: &[JobId]) -> (Vec<JobReport>, BTreeMap<JobId, Vec<JobState>>) {
    let deadline = std::time::Instant::now() + JOB_DEADLINE;
    let mut reports: Vec<Option<JobReport>> = vec![None; ids.len()];
    let mut states: BTreeMap<JobId, Vec<JobState>> = BTreeMap::new();
    while reports.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(
            !left.is_zero(),
            "jobs {ids:?} did not end in {JOB_DEADLINE:?}"
        );
        match engine.events().recv_timeout(left) {
            Ok(JobEvent::Progress(p)) => states.entry(p.job).or_default().push(p.state),
            Ok(JobEvent::Finished(r)) => {
                if let Some(i) = ids.iter().position(|id| *id == r.progress.job) {
                    reports[i] = Some(r);
                }
            }
            Ok(JobEvent::Plan(_)) => {}
            Err(e) => panic!("event channel: {e:?}"),
        }
    }
    (reports.into_iter().flatten().collect(), states)
}

/// Bytes as a short digest, for comparing many files with readable failures.
fn digest(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// The file entries of an archive: name -> digest of the bytes.
fn archive_files(archive: &Path) -> BTreeMap<String, u32> {
    read_archive(archive)
        .into_iter()
        .filter_map(|(name, bytes)| bytes.map(|b| (name, digest(&b))))
        .collect()
}

/// What a folder holds, as an archive of it names it: `<folder name>/<relative path>` ->
/// digest.
fn as_entries(folder: &Path) -> BTreeMap<String, u32> {
    let top = folder.file_name().unwrap().to_str().unwrap();
    files_below(folder)
        .into_iter()
        .map(|rel| {
            let bytes = fs::read(folder.join(&rel)).unwrap();
            (format!("{top}/{}", rel.to_str().unwrap()), digest(&bytes))
        })
        .collect()
}

const ISSUE_JOB_FILE: &str = r#"[[job]]
name = "small"
kind = "thumbs"
inputs = ["photos"]
output = "out/small"
size = [256]
format = "webp"

[[job]]
kind = "zip"
inputs_from = "small"        # the outputs of the job named "small"
output = "out/small.zip"
level = 9
"#;

#[test]
fn the_issues_job_file_zips_exactly_the_thumbnails() {
    let tmp = tempfile::tempdir().unwrap();
    photos(tmp.path());
    // Files in the output folder that the thumbnail job does not make stay out of the archive.
    write(
        &tmp.path().join("out/small/older.webp"),
        b"an earlier run's file",
    );
    write(&tmp.path().join("out/small/junk/old.txt"), b"junk");
    let job_file = tmp.path().join("jobs.toml");
    fs::write(&job_file, ISSUE_JOB_FILE).unwrap();
    let file = read_job_file(&job_file, None).unwrap();
    let engine = engine(tmp.path());
    let ids: Vec<JobId> = engine
        .submit_job_file(&file)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let (reports, _) = run_to_end(&engine, &ids);
    assert_eq!(
        reports[0].outcome,
        JobOutcome::Done,
        "{}",
        reports[0].summary()
    );
    assert_eq!(
        reports[1].outcome,
        JobOutcome::Done,
        "{}",
        reports[1].summary()
    );
    // Six images, each one thumbnail (x.jpg and x.png get two names).
    let made: BTreeSet<&PathBuf> = reports[0].outputs.iter().collect();
    assert_eq!(made.len(), 6, "{made:?}");
    let archive = tmp.path().join("out/small.zip");
    assert_eq!(reports[1].archive.as_deref(), Some(archive.as_path()));
    let expected: BTreeMap<String, u32> = made
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(tmp.path().join("out")).unwrap();
            (
                rel.to_str().unwrap().to_owned(),
                digest(&fs::read(p).unwrap()),
            )
        })
        .collect();
    assert_eq!(archive_files(&archive), expected);
    // No folder entry for a folder without thumbnails.
    let folders: Vec<String> = read_archive(&archive)
        .into_iter()
        .filter(|(_, b)| b.is_none())
        .map(|(n, _)| n)
        .collect();
    assert!(folders.iter().all(|f| !f.contains("junk")), "{folders:?}");
    external_readers_accept(&archive);
    assert_no_partial_files(tmp.path());
}

#[test]
fn a_chain_takes_thumbnails_that_were_already_up_to_date() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = photos(tmp.path());
    // Without the two images whose thumbnails compete for one name (a second run plans the
    // second one as up to date under the first one's name: the resolver's rule, not the chain's).
    fs::remove_file(photos.join("2024/x.png")).unwrap();
    let out = tmp.path().join("out");
    let engine = engine(tmp.path());
    let thumbs = JobSpec::Thumbs(ThumbSpec::new(vec![photos], out.join("t")));
    let (first, _) = run_job(&engine, thumbs.clone());
    assert_eq!(first.outputs.len(), 5);
    // Again: every thumbnail is up to date, none is made, and the chained archive still holds
    // them all.
    let id = engine.submit(thumbs).unwrap();
    let zip = engine
        .submit_after(
            id,
            JobSpec::Zip(ZipSpec::new(Vec::new(), out.join("t.zip"))),
        )
        .unwrap();
    let (reports, _) = run_to_end(&engine, &[id, zip]);
    assert!(reports[0].outputs.is_empty(), "{:?}", reports[0].outputs);
    assert_eq!(
        reports[1].outcome,
        JobOutcome::Done,
        "{}",
        reports[1].summary()
    );
    assert_eq!(
        archive_files(&out.join("t.zip")),
        as_entries(&out.join("t"))
    );
}

#[test]
fn a_chain_whose_first_job_fails_never_starts_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = photos(tmp.path());
    write(&tmp.path().join("taken.zip"), b"keep me");
    let engine = engine(tmp.path());
    // The archive exists and the job may not replace it: the first job fails.
    let first = engine
        .submit(JobSpec::Zip(ZipSpec::new(
            vec![photos],
            tmp.path().join("taken.zip"),
        )))
        .unwrap();
    let out = tmp.path().join("never");
    let second = engine
        .submit_after(
            first,
            JobSpec::Thumbs(ThumbSpec::new(Vec::new(), out.clone())),
        )
        .unwrap();
    let (reports, states) = run_to_end(&engine, &[first, second]);
    assert_eq!(reports[0].outcome, JobOutcome::Failed);
    assert_eq!(reports[1].outcome, JobOutcome::Failed);
    let failure = reports[1].failure.as_ref().expect("a reason");
    assert!(
        matches!(
            failure.error(),
            JobError::NotStarted { job, why: ChainBroken::Failed, .. } if *job == first
        ),
        "{failure}"
    );
    assert!(failure.to_string().contains("taken.zip"), "{failure}");
    // It never left the queue, and wrote nothing.
    let seen = states.get(&second).cloned().unwrap_or_default();
    assert!(seen.iter().all(|s| *s == JobState::Queued), "{seen:?}");
    assert!(!out.exists());
    assert_eq!(fs::read(tmp.path().join("taken.zip")).unwrap(), b"keep me");
}

#[test]
fn a_chain_after_a_job_that_already_ended_learns_how_it_ended() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = photos(tmp.path());
    write(&tmp.path().join("taken.zip"), b"keep me");
    let engine = engine(tmp.path());
    let first = engine
        .submit(JobSpec::Zip(ZipSpec::new(
            vec![photos],
            tmp.path().join("taken.zip"),
        )))
        .unwrap();
    // The first job has ended (and a worker has seen it end) before the chain is submitted.
    let (reports, _) = run_to_end(&engine, &[first]);
    assert_eq!(reports[0].outcome, JobOutcome::Failed);
    while engine.is_busy() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = tmp.path().join("never");
    let second = engine
        .submit_after(
            first,
            JobSpec::Thumbs(ThumbSpec::new(Vec::new(), out.clone())),
        )
        .expect("a job that ended a moment ago is still known");
    let (reports, _) = run_to_end(&engine, &[second]);
    assert_eq!(reports[0].outcome, JobOutcome::Failed);
    let failure = reports[0].failure.as_ref().expect("a reason");
    assert!(
        matches!(
            failure.error(),
            JobError::NotStarted { job, why: ChainBroken::Failed, .. } if *job == first
        ),
        "{failure}"
    );
    assert!(!out.exists());
}

#[test]
fn a_chain_whose_first_job_is_cancelled_is_cancelled_too() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = photos(tmp.path());
    let engine = engine(tmp.path());
    let first = engine
        .submit(JobSpec::Thumbs(ThumbSpec::new(
            vec![photos],
            tmp.path().join("t"),
        )))
        .unwrap();
    let second = engine
        .submit_after(
            first,
            JobSpec::Zip(ZipSpec::new(Vec::new(), tmp.path().join("t.zip"))),
        )
        .unwrap();
    engine.cancel(first);
    let (reports, _) = run_to_end(&engine, &[first, second]);
    assert_eq!(reports[0].outcome, JobOutcome::Cancelled);
    assert_eq!(reports[1].outcome, JobOutcome::Cancelled);
    assert!(
        reports[1].summary().contains("was cancelled"),
        "{}",
        reports[1].summary()
    );
    assert!(!tmp.path().join("t.zip").exists());
    // Cancelling a chained job while it waits: it ends at once, nothing started.
    let photos = tmp.path().join("photos");
    let first = engine
        .submit(JobSpec::Thumbs(ThumbSpec::new(
            vec![photos],
            tmp.path().join("u"),
        )))
        .unwrap();
    let second = engine
        .submit_after(
            first,
            JobSpec::Zip(ZipSpec::new(Vec::new(), tmp.path().join("u.zip"))),
        )
        .unwrap();
    engine.cancel(second);
    let (reports, _) = run_to_end(&engine, &[first, second]);
    assert_eq!(reports[0].outcome, JobOutcome::Done);
    assert_eq!(reports[1].outcome, JobOutcome::Cancelled);
    assert!(!tmp.path().join("u.zip").exists());
}

#[test]
fn three_jobs_chain_thumbnails_of_thumbnails_into_an_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = photos(tmp.path());
    let out = tmp.path().join("out");
    let engine = engine(tmp.path());
    let big = engine
        .submit(JobSpec::Thumbs(ThumbSpec::new(
            vec![photos],
            out.join("big"),
        )))
        .unwrap();
    let mut small = ThumbSpec::new(Vec::new(), out.join("small"));
    small.sizes = [16].map(Into::into).to_vec();
    small.format = ThumbFormat::Png;
    let small = engine.submit_after(big, JobSpec::Thumbs(small)).unwrap();
    let zip = engine
        .submit_after(
            small,
            JobSpec::Zip(ZipSpec::new(Vec::new(), out.join("small.zip"))),
        )
        .unwrap();
    let (reports, _) = run_to_end(&engine, &[big, small, zip]);
    for r in &reports {
        assert_eq!(r.outcome, JobOutcome::Done, "{}", r.summary());
    }
    assert_eq!(reports[1].outputs.len(), 6);
    for made in &reports[1].outputs {
        let img = image::open(made).unwrap();
        assert!(img.width() <= 16 && img.height() <= 16);
    }
    assert_eq!(
        archive_files(&out.join("small.zip")),
        as_entries(&out.join("small"))
    );
}

#[test]
fn a_file_list_picks_files_among_the_inputs_and_keeps_their_names() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = photos(tmp.path());
    // The list comes through a real pipe, as `--files-from -` reads standard input.
    let mut printf = Command::new("printf")
        .arg("%s\\n")
        .args(["photos/2024/c.png", "", "photos/gone.png", "photos/a.png"])
        .current_dir(tmp.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let listed = read_file_list(printf.stdout.take().unwrap(), Path::new("-"), tmp.path()).unwrap();
    assert!(printf.wait().unwrap().success());
    assert_eq!(listed.len(), 3);
    let mut spec = JobSpec::Thumbs(ThumbSpec::new(vec![photos.clone()], tmp.path().join("t")));
    InputSelection::from_list(vec![photos.clone()], listed, Path::new("-"))
        .unwrap()
        .apply_to(&mut spec);
    let (report, _) = run_job(&engine(tmp.path()), spec);
    assert_eq!(
        report.outcome,
        JobOutcome::DoneWithErrors,
        "{}",
        report.summary()
    );
    assert_eq!(
        files_below(&tmp.path().join("t")),
        [Path::new("photos/2024/c.jpg"), Path::new("photos/a.jpg")]
    );
    // The listed file that is not there is an error, under the listed path.
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert_eq!(report.problems[0].path, photos.join("gone.png"));
    assert_eq!(report.problems[0].kind, ProblemKind::Error);

    // A list without inputs is the inputs, as if given on the command line.
    let list = tmp.path().join("lists/two.txt");
    write(&list, b"../photos/b.jpg\n../photos/2024/deep/d.jpg\n");
    let listed = read_file_list(
        fs::File::open(&list).unwrap(),
        &list,
        list.parent().unwrap(),
    )
    .unwrap();
    let mut spec = JobSpec::Thumbs(ThumbSpec::new(Vec::new(), tmp.path().join("u")));
    InputSelection::from_list(Vec::new(), listed, &list)
        .unwrap()
        .apply_to(&mut spec);
    let (report, _) = run_job(&engine(tmp.path()), spec);
    assert_eq!(report.outcome, JobOutcome::Done, "{}", report.summary());
    assert_eq!(
        files_below(&tmp.path().join("u")),
        [Path::new("b.jpg"), Path::new("d.jpg")]
    );
}

/// Runs `spec` as shards 0..count, one after the other; each shard's report.
fn run_shards(engine: &Engine, spec: &JobSpec, count: u32) -> Vec<JobReport> {
    (0..count)
        .map(|index| {
            let mut shard = spec.clone();
            shard.set_shard(Some(Shard::new(index, count).unwrap()));
            let (report, _) = run_job(engine, shard);
            assert_eq!(report.outcome, JobOutcome::Done, "{}", report.summary());
            report
        })
        .collect()
}

/// A folder's files: relative path -> digest.
fn tree(dir: &Path) -> BTreeMap<PathBuf, u32> {
    files_below(dir)
        .into_iter()
        .map(|rel| {
            let bytes = fs::read(dir.join(&rel)).unwrap();
            (rel, digest(&bytes))
        })
        .collect()
}

#[test]
fn four_thumbnail_shards_make_exactly_what_one_run_makes() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = photos(tmp.path());
    for i in 0..30 {
        let format = if i % 2 == 0 {
            ImageFormat::Png
        } else {
            ImageFormat::Jpeg
        };
        let ext = if i % 2 == 0 { "png" } else { "jpg" };
        write(
            &photos.join(format!("set{}/img{i:02}.{ext}", i % 3)),
            &image(30 + i, 20 + i, 10 + i, format),
        );
    }
    let engine = engine(tmp.path());
    let spec =
        |out: &str| JobSpec::Thumbs(ThumbSpec::new(vec![photos.clone()], tmp.path().join(out)));
    let (full, _) = run_job(&engine, spec("full"));
    assert_eq!(full.outputs.len(), 36);
    let shards = run_shards(&engine, &spec("sharded"), 4);
    // The same paths (relative to the output folder) and the same bytes as the full run.
    assert_eq!(
        tree(&tmp.path().join("sharded")),
        tree(&tmp.path().join("full"))
    );
    // No thumbnail made by two shards; every shard has some.
    let mut owner: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for (i, r) in shards.iter().enumerate() {
        assert!(
            !r.outputs.is_empty(),
            "shard {i} made nothing: {:?}",
            shards.iter().map(|r| r.outputs.len()).collect::<Vec<_>>()
        );
        for out in &r.outputs {
            assert!(
                owner.insert(out.clone(), i).is_none(),
                "{} in two shards",
                out.display()
            );
        }
    }
    assert_eq!(owner.len(), full.outputs.len());

    // Adding files moves none of the earlier ones to another shard.
    for i in 0..25 {
        write(
            &photos.join(format!("later/new{i:02}.png")),
            &image(25, 25, 100 + i, ImageFormat::Png),
        );
    }
    let again = run_shards(&engine, &spec("again"), 4);
    for (i, r) in again.iter().enumerate() {
        let rel =
            |p: &PathBuf, dir: &str| p.strip_prefix(tmp.path().join(dir)).unwrap().to_path_buf();
        let before: BTreeSet<PathBuf> = shards[i]
            .outputs
            .iter()
            .map(|p| rel(p, "sharded"))
            .collect();
        let now: BTreeSet<PathBuf> = r.outputs.iter().map(|p| rel(p, "again")).collect();
        assert!(
            before.is_subset(&now),
            "shard {i}: {before:?} not in {now:?}"
        );
    }
}

#[test]
fn four_zip_shards_hold_the_entries_of_one_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("docs");
    for i in 0..40 {
        write(
            &docs.join(format!("d{}/f{i:02}.txt", i % 4)),
            &text(100 + i * 37),
        );
    }
    let engine = engine(tmp.path());
    let spec = JobSpec::Zip(ZipSpec::new(vec![docs], tmp.path().join("docs.zip")));
    run_job(&engine, spec.clone());
    let whole = archive_files(&tmp.path().join("docs.zip"));
    let shards = run_shards(&engine, &spec, 4);
    let mut union: BTreeMap<String, u32> = BTreeMap::new();
    for (i, r) in shards.iter().enumerate() {
        let part = tmp.path().join(format!("docs.part-{i}-of-4.zip"));
        assert_eq!(r.archive.as_deref(), Some(part.as_path()));
        external_readers_accept(&part);
        for (name, bytes) in archive_files(&part) {
            assert!(
                union.insert(name.clone(), bytes).is_none(),
                "{name} in two parts"
            );
        }
    }
    assert_eq!(union, whole);
}

#[test]
fn copy_as_command_runs_the_same_job() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = photos(tmp.path());
    let mut thumbs = ThumbSpec::new(vec![photos.clone()], tmp.path().join("by-engine"));
    thumbs.sizes = [24, 40].map(Into::into).to_vec();
    thumbs.format = ThumbFormat::Png;
    thumbs.name_template = Some("{stem} at {size}".into());
    let mut zip = ZipSpec::new(vec![photos], tmp.path().join("by-engine.zip"));
    zip.level = 1;
    let engine = engine(tmp.path());
    for spec in [JobSpec::Thumbs(thumbs), JobSpec::Zip(zip)] {
        run_job(&engine, spec.clone());
        let mut by_cli = spec.clone();
        let out = match &mut by_cli {
            JobSpec::Thumbs(t) => {
                t.output_dir = tmp.path().join("by-cli");
                t.output_dir.clone()
            }
            JobSpec::Zip(z) => {
                z.destination = tmp.path().join("by-cli.zip");
                z.destination.clone()
            }
            other => panic!("not a job of this test: {other:?}"),
        };
        let args = command_args(&by_cli).unwrap();
        assert_eq!(args[0], "shrinkwrap");
        let run = cli(tmp.path()).args(&args[1..]).output().unwrap();
        assert_eq!(run.status.code(), Some(0), "{args:?}: {}", stderr(&run));
        match spec {
            JobSpec::Thumbs(t) => assert_eq!(tree(&out), tree(&t.output_dir)),
            JobSpec::Zip(z) => assert_eq!(archive_files(&out), archive_files(&z.destination)),
            other => panic!("not a job of this test: {other:?}"),
        }
    }
}

#[test]
fn a_saved_preset_applies_through_a_job_file() {
    let tmp = tempfile::tempdir().unwrap();
    photos(tmp.path());
    let store = PresetStore::new(tmp.path().join("config"));
    let mut options = ThumbSpec::new(Vec::new(), PathBuf::new());
    options.sizes = [20].map(Into::into).to_vec();
    options.format = ThumbFormat::Png;
    store
        .save(
            "tiny",
            shrinkwrap::engine::workflow::KindOptions::of_spec(
                &JobSpec::Thumbs(options),
                Which::All,
            ),
        )
        .unwrap();
    let job_file = tmp.path().join("jobs.toml");
    fs::write(
        &job_file,
        "[[job]]\nkind = \"thumbs\"\ninputs = \"photos\"\noutput = \"t\"\npreset = \"Tiny\"\n",
    )
    .unwrap();
    let file = read_job_file(&job_file, Some(&store)).unwrap();
    let (report, _) = run_job(&engine(tmp.path()), file.jobs[0].spec.clone());
    assert_eq!(report.outputs.len(), 6);
    for out in &report.outputs {
        assert_eq!(out.extension().unwrap(), "png");
        assert!(image::open(out).unwrap().width() <= 20);
    }
}

/// What a watch test wants next.
enum Flow {
    Continue,
    Stop,
}

/// Runs a watch of `spec` as a front end would: the job itself once the watch is watching,
/// then one watch job at a time. `idle` is asked what next whenever no watch job runs or
/// waits. Every final report, in the order they came, and whether events drove the watch.
fn watch_until(
    engine: &Engine,
    spec: &JobSpec,
    options: WatchOptions,
    mut idle: impl FnMut(&[JobReport]) -> Flow,
) -> (Vec<JobReport>, bool) {
    let watch = FolderWatch::start(spec, options).unwrap();
    let mut jobs = WatchJobs::new(spec.clone());
    let mut reports: Vec<JobReport> = Vec::new();
    let mut events_used = false;
    let deadline = std::time::Instant::now() + JOB_DEADLINE;
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the watch never got there"
        );
        if let Ok(news) = watch
            .news()
            .recv_timeout(std::time::Duration::from_millis(20))
        {
            match news {
                WatchNews::Watching { events } => {
                    events_used = events;
                    let id = engine.submit(spec.clone()).unwrap();
                    jobs.started(id);
                }
                WatchNews::Ready(files) => {
                    if let Some(next) = jobs.ready(files) {
                        jobs.started(engine.submit(next).unwrap());
                    }
                }
                WatchNews::Stopped(why) => panic!("the watch stopped: {why}"),
            }
        }
        while let Ok(event) = engine.events().try_recv() {
            if let JobEvent::Finished(r) = event {
                let id = r.progress.job;
                reports.push(r);
                if let Some(next) = jobs.finished(id) {
                    jobs.started(engine.submit(next).unwrap());
                }
            }
        }
        if !jobs.busy() && !reports.is_empty() && matches!(idle(&reports), Flow::Stop) {
            break;
        }
    }
    watch.stop();
    (reports, events_used)
}

#[test]
fn a_watched_folder_takes_files_once_settled_and_remakes_replaced_ones() {
    for polling in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let photos = tmp.path().join("photos");
        write(&photos.join("a.png"), &image(80, 60, 1, ImageFormat::Png));
        let out = tmp.path().join("t");
        let spec = JobSpec::Thumbs(ThumbSpec::new(vec![photos.clone()], out.clone()));
        let engine = engine(tmp.path());
        let late = image(90, 70, 2, ImageFormat::Png);
        let replaced = image(60, 80, 3, ImageFormat::Png);
        let thumb_a = out.join("photos/a.jpg");
        let thumb_b = out.join("photos/b.jpg");
        let mut step = 0;
        let (reports, events) = watch_until(
            &engine,
            &spec,
            WatchOptions {
                polling,
                ..WatchOptions::default()
            },
            |reports| {
                match step {
                    // The job itself has made a's thumbnail: b arrives in two halves, a second
                    // apart.
                    0 => {
                        let half = late.len() / 2;
                        write(&photos.join("b.png"), &late[..half]);
                        std::thread::sleep(std::time::Duration::from_secs(1));
                        let mut f = fs::OpenOptions::new()
                            .append(true)
                            .open(photos.join("b.png"))
                            .unwrap();
                        std::io::Write::write_all(&mut f, &late[half..]).unwrap();
                        step = 1;
                    }
                    // b's thumbnail is made: a is replaced by another image.
                    1 if thumb_b.exists() => {
                        let staged = tmp.path().join("staged.png");
                        write(&staged, &replaced);
                        fs::rename(&staged, photos.join("a.png")).unwrap();
                        step = 2;
                    }
                    2 if reports.len() >= 3 => return Flow::Stop,
                    _ => {}
                }
                Flow::Continue
            },
        );
        if !polling {
            assert!(events, "file-system events should drive the watch here");
        }
        // The job itself, then one job for b (none for its first half), then one for a.
        for r in &reports {
            assert_eq!(r.outcome, JobOutcome::Done, "{}", r.summary());
            assert!(r.problems.is_empty(), "{:?}", r.problems);
        }
        let made: Vec<Vec<PathBuf>> = reports.iter().map(|r| r.outputs.clone()).collect();
        assert_eq!(
            made,
            [
                vec![thumb_a.clone()],
                vec![thumb_b.clone()],
                vec![thumb_a.clone()]
            ],
            "polling: {polling}"
        );
        assert_eq!(
            image::open(&thumb_a).unwrap().height(),
            80,
            "remade from the new a"
        );
    }
}

// ---- The command line: `run FILE.toml`, `--files-from`, presets, `--watch`, GNU parallel ----

/// The binary run in `dir`, its presets kept in `dir/config` (the platform's config folder,
/// through XDG_CONFIG_HOME: never the user's).
fn cli_at(dir: &Path) -> Command {
    let mut cmd = cli(dir);
    cmd.env_remove("SHRINKWRAP_CONFIG_DIR")
        .env("XDG_CONFIG_HOME", dir.join("config"));
    cmd
}

/// The image files below `dir`, relative, with each one's (width, height).
fn image_sizes(dir: &Path) -> BTreeMap<PathBuf, (u32, u32)> {
    files_below(dir)
        .into_iter()
        .map(|rel| {
            let img = image::open(dir.join(&rel)).unwrap();
            (rel, (img.width(), img.height()))
        })
        .collect()
}

#[test]
fn cli_runs_the_issues_job_file_from_anywhere() {
    let tmp = tempfile::tempdir().unwrap();
    photos(tmp.path());
    let job_file = tmp.path().join("jobs.toml");
    fs::write(&job_file, ISSUE_JOB_FILE).unwrap();
    // Run from another folder: the file's paths are relative to the file's folder.
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    let run = cli_at(&elsewhere)
        .arg("run")
        .arg(&job_file)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let thumbs = tmp.path().join("out/small");
    let made = files_below(&thumbs);
    assert_eq!(made.len(), 6, "{made:?}");
    assert!(
        made.iter()
            .all(|p| p.extension().is_some_and(|e| e == "webp")),
        "{made:?}"
    );
    // The archive holds exactly the thumbnails, named as in the folder.
    let archive = tmp.path().join("out/small.zip");
    assert_eq!(archive_files(&archive), as_entries(&thumbs));
    external_readers_accept(&archive);
    assert!(
        files_below(&elsewhere).is_empty(),
        "nothing written where it ran"
    );
    assert_no_partial_files(tmp.path());
}

#[test]
fn cli_a_chain_whose_first_job_fails_never_starts_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let job_file = tmp.path().join("jobs.toml");
    fs::write(
        &job_file,
        ISSUE_JOB_FILE.replace("inputs = [\"photos\"]", "inputs = [\"no such photos\"]"),
    )
    .unwrap();
    let run = cli_at(tmp.path())
        .arg("run")
        .arg(&job_file)
        .output()
        .unwrap();
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no such photos"),
        "the missing input is named: {err}"
    );
    assert!(
        err.contains("not started") && err.contains("small"),
        "the chained job says why it did not start: {err}"
    );
    assert!(!tmp.path().join("out/small.zip").exists());
    assert_no_partial_files(tmp.path());

    // A job file that names an unknown job is refused before anything runs, with its line.
    fs::write(
        &job_file,
        ISSUE_JOB_FILE.replace("inputs_from = \"small\"", "inputs_from = \"smal\""),
    )
    .unwrap();
    let run = cli_at(tmp.path())
        .arg("run")
        .arg(&job_file)
        .output()
        .unwrap();
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(err.contains("jobs.toml, line 11"), "{err}");
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn cli_files_from_a_list_and_from_standard_input() {
    let tmp = tempfile::tempdir().unwrap();
    photos(tmp.path());
    fs::write(
        tmp.path().join("list.txt"),
        "photos/a.png\n\nphotos/2024/c.png\n",
    )
    .unwrap();
    // With INPUTs: only the listed files among them, placed as a whole run places them.
    let run = cli_at(tmp.path())
        .args(["thumbs", "photos", "-o", "t", "--files-from", "list.txt"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert_eq!(
        files_below(&tmp.path().join("t")),
        [
            PathBuf::from("photos/2024/c.jpg"),
            PathBuf::from("photos/a.jpg")
        ]
    );
    // Without INPUTs, from standard input: the listed paths are the inputs.
    let mut child = cli_at(tmp.path())
        .args(["zip", "-o", "listed.zip", "--files-from", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, b"photos/b.jpg\nphotos/notes.txt\n").unwrap();
    }
    let run = child.wait_with_output().unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let names: BTreeSet<String> = archive_files(&tmp.path().join("listed.zip"))
        .into_keys()
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["b.jpg".to_owned(), "notes.txt".to_owned()])
    );
    // A listed file outside the inputs is refused, naming the list and the line.
    fs::write(tmp.path().join("bad.txt"), "photos/a.png\nelsewhere.png\n").unwrap();
    let run = cli_at(tmp.path())
        .args(["thumbs", "photos", "-o", "u", "--files-from", "bad.txt"])
        .output()
        .unwrap();
    let err = stderr(&run);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.txt") && err.contains('2'), "{err}");
    assert!(!tmp.path().join("u").exists());
}

#[test]
fn cli_a_preset_is_saved_and_applied_and_later_flags_win() {
    let tmp = tempfile::tempdir().unwrap();
    photos(tmp.path());
    let saved = cli_at(tmp.path())
        .args([
            "thumbs", "photos", "-o", "first", "--size", "32", "--format", "png",
        ])
        .args(["--save-preset", "Tiny PNG"])
        .output()
        .unwrap();
    assert_eq!(saved.status.code(), Some(0), "{}", stderr(&saved));
    let presets = tmp.path().join("config/shrinkwrap/presets.toml");
    let text = fs::read_to_string(&presets).unwrap();
    assert!(text.contains("name = \"Tiny PNG\""), "{text}");
    assert!(!text.contains("photos"), "no inputs in a preset: {text}");

    let applied = cli_at(tmp.path())
        .args(["thumbs", "photos", "-o", "second", "--preset", "tiny png"])
        .output()
        .unwrap();
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    let second = image_sizes(&tmp.path().join("second"));
    assert_eq!(second.len(), 6);
    for (rel, (w, h)) in &second {
        assert_eq!(rel.extension().unwrap(), "png", "{rel:?}");
        assert_eq!(w.max(h), &32, "{rel:?}");
    }
    // A flag given on the command line wins over the preset; the preset's others stay.
    let over = cli_at(tmp.path())
        .args(["thumbs", "photos", "-o", "third", "--preset", "Tiny PNG"])
        .args(["--format", "webp"])
        .output()
        .unwrap();
    assert_eq!(over.status.code(), Some(0), "{}", stderr(&over));
    for (rel, (w, h)) in image_sizes(&tmp.path().join("third")) {
        assert_eq!(rel.extension().unwrap(), "webp", "{rel:?}");
        assert_eq!(w.max(h), 32, "{rel:?}");
    }
    // A built-in preset, and an unknown one refused before anything is written.
    let zip = cli_at(tmp.path())
        .args([
            "zip",
            "photos",
            "-o",
            "mail.zip",
            "--preset",
            "archive for email",
        ])
        .args(["--dry-run", "--json"])
        .output()
        .unwrap();
    assert_eq!(zip.status.code(), Some(0), "{}", stderr(&zip));
    let unknown = cli_at(tmp.path())
        .args(["thumbs", "photos", "-o", "fourth", "--preset", "nope"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("no preset named \"nope\""));
    assert!(!tmp.path().join("fourth").exists());
}

/// A watching process's `--json` final reports, read on a named thread as they come.
struct Finished {
    reports: flume::Receiver<serde_json::Value>,
    seen: Vec<serde_json::Value>,
}

impl Finished {
    fn of(child: &mut std::process::Child) -> Finished {
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = flume::bounded(64);
        std::thread::Builder::new()
            .name("test-json-reader".into())
            .spawn(move || {
                for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
                    let Ok(line) = line else { break };
                    let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                        continue;
                    };
                    if event["event"] == "finished" && tx.send(event).is_err() {
                        break;
                    }
                }
            })
            .unwrap();
        Finished {
            reports: rx,
            seen: Vec::new(),
        }
    }

    /// Waits for the next final report ([`JOB_DEADLINE`] only catches a hang).
    fn next(&mut self) -> serde_json::Value {
        let report = self
            .reports
            .recv_timeout(JOB_DEADLINE)
            .expect("a watch job's final report");
        self.seen.push(report.clone());
        report
    }
}

#[test]
fn cli_watch_takes_a_file_written_in_two_halves_once_and_remakes_a_replaced_one() {
    let tmp = tempfile::tempdir().unwrap();
    let photos = tmp.path().join("photos");
    write(&photos.join("a.png"), &image(80, 60, 1, ImageFormat::Png));
    let mut child = cli_at(tmp.path())
        .args(["thumbs", "photos", "-o", "t", "--watch", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut finished = Finished::of(&mut child);
    let thumb_a = tmp.path().join("t/photos/a.jpg");
    let thumb_b = tmp.path().join("t/photos/b.jpg");
    let outputs = |r: &serde_json::Value| -> Vec<PathBuf> {
        r["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| tmp.path().join(p.as_str().unwrap()))
            .collect()
    };
    // The job itself makes what is missing.
    let first = finished.next();
    assert_eq!(outputs(&first), std::slice::from_ref(&thumb_a), "{first}");
    // b arrives in two halves, a second apart: taken once, whole.
    let late = image(90, 70, 2, ImageFormat::Png);
    let half = late.len() / 2;
    write(&photos.join("b.png"), &late[..half]);
    std::thread::sleep(std::time::Duration::from_secs(1));
    {
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(photos.join("b.png"))
            .unwrap();
        std::io::Write::write_all(&mut f, &late[half..]).unwrap();
    }
    let second = finished.next();
    assert_eq!(outputs(&second), std::slice::from_ref(&thumb_b), "{second}");
    assert_eq!(image::open(&thumb_b).unwrap().width(), 90);
    // a is replaced by another image: its thumbnail is made again.
    let staged = tmp.path().join("staged.png");
    write(&staged, &image(60, 80, 3, ImageFormat::Png));
    fs::rename(&staged, photos.join("a.png")).unwrap();
    let third = finished.next();
    assert_eq!(outputs(&third), std::slice::from_ref(&thumb_a), "{third}");
    assert_eq!(
        image::open(&thumb_a).unwrap().height(),
        80,
        "remade from the new a"
    );
    // Ctrl-C ends the watch cleanly.
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(
        finished.reports.recv_timeout(JOB_DEADLINE).is_err(),
        "no job after the three"
    );
    for f in &finished.seen {
        assert_eq!(f["outcome"], "done", "{f}");
        assert_eq!(
            f["problems"],
            serde_json::json!([]),
            "no error for the half file: {f}"
        );
    }
    assert_eq!(
        files_below(&tmp.path().join("t")),
        [PathBuf::from("photos/a.jpg"), PathBuf::from("photos/b.jpg")]
    );
    assert_no_partial_files(tmp.path());
}

/// GNU parallel, required where CI installs it.
fn have_parallel() -> bool {
    let found = Command::new("parallel")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var_os("SHRINKWRAP_REQUIRE_READERS").is_none(),
        "GNU parallel is required but not installed"
    );
    if !found {
        eprintln!("note: GNU parallel not installed, skipping the parallel run");
    }
    found
}

#[test]
fn four_shards_run_by_gnu_parallel_make_exactly_what_one_run_makes() {
    if !have_parallel() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let photos = photos(tmp.path());
    for i in 0..24 {
        write(
            &photos.join(format!("set{}/img{i:02}.png", i % 3)),
            &image(30 + i, 20 + i, 10 + i, ImageFormat::Png),
        );
    }
    let full = cli_at(tmp.path())
        .args(["thumbs", "photos", "-o", "full"])
        .output()
        .unwrap();
    assert_eq!(full.status.code(), Some(0), "{}", stderr(&full));
    // The README's example: one process per shard, each with its own events.
    let bin = env!("CARGO_BIN_EXE_shrinkwrap");
    let run = Command::new("parallel")
        .current_dir(tmp.path())
        .env("SHRINKWRAP_STATE_DIR", tmp.path().join(".state"))
        .stdin(Stdio::null())
        .args(["-j", "4", "--halt", "now,fail=1"])
        .arg(format!(
            "{bin} thumbs photos -o sharded --shard {{}}/4 --json -j 1 --no-journal"
        ))
        .args([":::", "0", "1", "2", "3"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert_eq!(
        tree(&tmp.path().join("sharded")),
        tree(&tmp.path().join("full"))
    );
    // Each shard's final report: no thumbnail made by two.
    let stdout = String::from_utf8_lossy(&run.stdout);
    let mut owner: BTreeMap<String, usize> = BTreeMap::new();
    let mut shards = 0;
    for line in stdout.lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if event["event"] != "finished" {
            continue;
        }
        assert_eq!(event["outcome"], "done", "{event}");
        for out in event["outputs"].as_array().unwrap() {
            let out = out.as_str().unwrap().to_owned();
            assert!(
                owner.insert(out.clone(), shards).is_none(),
                "{out} in two shards"
            );
        }
        shards += 1;
    }
    assert_eq!(shards, 4, "{stdout}");
    assert_eq!(owner.len(), tree(&tmp.path().join("full")).len());
}
