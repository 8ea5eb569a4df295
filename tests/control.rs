//! Job control on the real engine: pause and resume, stop after current, reordering the queue,
//! and a full disk that pauses a job instead of failing every item.

mod common;

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use shrinkwrap::engine::{
    Engine, JobEvent, JobId, JobOutcome, JobReport, JobSpec, JobState, PauseReason, Progress,
    QueueMove, ThumbFormat, ThumbSpec, ZipSpec,
};

fn jpeg(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
        let v = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729) ^ seed.wrapping_mul(31)) as u8;
        Rgb([v, v.wrapping_add(x as u8), v ^ (y as u8)])
    }));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// Waits for a progress event of `id` that satisfies `pred`; fails on the job's end.
fn wait_progress(engine: &Engine, id: JobId, pred: impl Fn(&Progress) -> bool) -> Progress {
    let deadline = Instant::now() + JOB_DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "job {id} never reached the state");
        match engine.events().recv_timeout(left).unwrap() {
            JobEvent::Progress(p) if p.job == id && pred(&p) => return p,
            JobEvent::Finished(r) if r.progress.job == id => panic!("ended first: {r:?}"),
            _ => {}
        }
    }
}

/// The job's figures once they stop changing (in-flight work parked).
fn settled(engine: &Engine, id: JobId) -> Progress {
    let mut last = engine.progress(id).unwrap();
    loop {
        std::thread::sleep(Duration::from_millis(400));
        let now = engine.progress(id).unwrap();
        if now.bytes_done == last.bytes_done && now.items_done == last.items_done {
            return now;
        }
        last = now;
    }
}

#[test]
fn pause_parks_a_zip_job_and_resume_goes_on_without_redoing_work() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    write(&input.join("big.log"), &text(300 << 20));
    write(&input.join("small.txt"), b"small");
    let out = tmp.path().join("out");
    let engine = Engine::new(2);
    let id = engine
        .submit(JobSpec::Zip(ZipSpec::new(
            vec![input.clone()],
            out.join("in.zip"),
        )))
        .unwrap();
    wait_progress(&engine, id, |p| {
        p.state == JobState::Running && p.bytes_done > 0
    });
    engine.pause(id);
    let parked = settled(&engine, id);
    assert_eq!(parked.state, JobState::Paused);
    assert_eq!(parked.paused, Some(PauseReason::User));
    assert!(
        parked.bytes_done < parked.bytes_total,
        "paused before the end"
    );
    assert_eq!(parked.eta, None, "no ETA while paused");
    // Nothing moves while paused; the temporary archive is kept; paused time is not counted.
    std::thread::sleep(Duration::from_millis(1500));
    let later = engine.progress(id).unwrap();
    assert_eq!(later.bytes_done, parked.bytes_done);
    assert!(
        later.elapsed <= parked.elapsed + Duration::from_millis(50),
        "{:?} then {:?}",
        parked.elapsed,
        later.elapsed
    );
    let temps: Vec<PathBuf> = files_below(&out)
        .into_iter()
        .filter(|f| f.to_string_lossy().ends_with(".part"))
        .collect();
    assert_eq!(
        temps.len(),
        1,
        "the paused archive keeps its temporary file"
    );
    engine.resume(id);
    let (report, seen) = wait_job(&engine, id);
    assert_eq!(report.outcome, JobOutcome::Done, "{report:?}");
    // Resume went on from where it was: bytes never went backwards.
    let mut last = 0;
    for p in &seen {
        assert!(p.bytes_done >= last, "progress went back");
        last = p.bytes_done;
    }
    assert_archive_matches(&out.join("in.zip"), &expected_tree(&input));
    assert_no_partial_files(&out);
}

fn photos(dir: &Path, count: u32, side: u32) -> Vec<PathBuf> {
    (0..count)
        .map(|i| {
            let p = dir.join(format!("p{i:03}.jpg"));
            write(&p, &jpeg(side, side * 3 / 4, i));
            p
        })
        .collect()
}

#[test]
fn pause_then_resume_a_thumbnail_job_and_pause_before_it_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    photos(&src, 40, 1200);
    let engine = Engine::new(2);
    // A job paused while queued does not start.
    let queued = engine
        .submit(JobSpec::Thumbs(ThumbSpec::new(
            vec![src.clone()],
            tmp.path().join("t1"),
        )))
        .unwrap();
    engine.pause(queued);
    std::thread::sleep(Duration::from_millis(500));
    let p = engine.progress(queued).unwrap();
    assert_eq!(p.state, JobState::Paused);
    assert_eq!(p.items_done, 0);
    assert!(
        !tmp.path().join("t1").exists(),
        "a paused queued job wrote nothing"
    );
    engine.resume(queued);
    wait_progress(&engine, queued, |p| p.items_done >= 3);
    engine.pause(queued);
    // The images in flight when the pause came finish (on a loaded machine that can take longer
    // than `settled`'s look); then the files on disk and the count agree, and stay so.
    let deadline = Instant::now() + Duration::from_secs(120);
    let parked = loop {
        let parked = settled(&engine, queued);
        if files_below(&tmp.path().join("t1")).len() as u64 == parked.items_done {
            break parked;
        }
        assert!(
            Instant::now() < deadline,
            "files and count never agreed while paused"
        );
    };
    assert!(parked.items_done < 40);
    std::thread::sleep(Duration::from_millis(1000));
    let later = engine.progress(queued).unwrap();
    assert_eq!(
        later.items_done, parked.items_done,
        "nothing started while paused"
    );
    assert_eq!(
        files_below(&tmp.path().join("t1")).len() as u64,
        parked.items_done
    );
    engine.resume(queued);
    let (report, _) = wait_job(&engine, queued);
    assert_eq!(report.outcome, JobOutcome::Done);
    assert_eq!(report.outputs.len(), 40);
}

#[test]
fn stop_after_current_keeps_finished_thumbnails() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    photos(&src, 40, 1200);
    let out = tmp.path().join("out");
    let engine = Engine::new(2);
    let id = engine
        .submit(JobSpec::Thumbs(ThumbSpec::new(
            vec![src.clone()],
            out.clone(),
        )))
        .unwrap();
    wait_progress(&engine, id, |p| p.items_done >= 2);
    assert!(engine.stop_after_current(id));
    let (report, _) = wait_job(&engine, id);
    assert_eq!(report.outcome, JobOutcome::Stopped, "{report:?}");
    assert_eq!(report.progress.state, JobState::Stopped);
    let made = report.outputs.len() as u64;
    assert!((2..40).contains(&made), "{made}");
    assert_eq!(report.progress.items_done, made);
    assert_eq!(report.summary(), format!("stopped: {made} of 40"));
    assert_eq!(
        files_below(&out).len() as u64,
        made,
        "finished thumbnails are kept"
    );
    assert_no_partial_files(&out);
    // A zip job cannot stop half-way (a partial archive would mislead).
    write(&tmp.path().join("z/a.txt"), &text(50 << 20));
    let zip = engine
        .submit(JobSpec::Zip(ZipSpec::new(
            vec![tmp.path().join("z")],
            tmp.path().join("z.zip"),
        )))
        .unwrap();
    assert!(!engine.stop_after_current(zip));
    let (report, _) = wait_job(&engine, zip);
    assert_eq!(report.outcome, JobOutcome::Done);
}

#[test]
fn queued_jobs_can_be_moved_and_run_next() {
    let tmp = tempfile::tempdir().unwrap();
    photos(&tmp.path().join("big"), 12, 1600);
    for name in ["a", "b", "c"] {
        photos(&tmp.path().join(name), 1, 300);
    }
    // One worker: every job's work runs on it, one job after the other.
    let engine = Engine::new(1);
    let thumbs = |name: &str| {
        JobSpec::Thumbs(ThumbSpec::new(
            vec![tmp.path().join(name)],
            tmp.path().join(format!("out-{name}")),
        ))
    };
    let blocker = engine.submit(thumbs("big")).unwrap();
    wait_progress(&engine, blocker, |p| p.state == JobState::Running);
    let a = engine.submit(thumbs("a")).unwrap();
    let b = engine.submit(thumbs("b")).unwrap();
    let c = engine.submit(thumbs("c")).unwrap();
    assert_eq!(engine.progress(c).unwrap().state, JobState::Queued);
    assert!(
        !engine.move_queued(blocker, QueueMove::Up),
        "a started job stays"
    );
    assert!(engine.move_queued(c, QueueMove::Next));
    assert!(engine.move_queued(a, QueueMove::Down));
    assert!(!engine.move_queued(a, QueueMove::Down), "already last");
    // Now: c, b, a.
    let mut order = Vec::new();
    while order.len() < 4 {
        if let JobEvent::Finished(r) = engine.events().recv_timeout(JOB_DEADLINE).unwrap() {
            assert_eq!(r.outcome, JobOutcome::Done, "{r:?}");
            order.push(r.progress.job);
        }
    }
    assert_eq!(order, vec![blocker, c, b, a]);
}

/// A small tmpfs mounted for the test, unmounted when dropped. `None` where mounting is not
/// allowed (then the test cannot run: it fails in CI, which runs as root).
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
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
            eprintln!("note: cannot mount a tmpfs here; disk-full test not run");
            return None;
        }
        Some(SmallDisk { dir })
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

fn wait_disk_full(engine: &Engine, id: JobId) -> Progress {
    wait_progress(engine, id, |p| {
        matches!(p.paused, Some(PauseReason::DiskFull { .. }))
    })
}

#[test]
fn a_full_disk_pauses_a_thumbnail_job_once_and_resume_finishes_it() {
    let Some(disk) = SmallDisk::mount("3m") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    photos(&src, 30, 900);
    // About 0.4 MB free: a few thumbnails fit, then the disk is full. All 30 (about 1.5 MB of
    // noisy 320 px PNGs would not; JPEG keeps it small) fit once the filler is gone.
    let filler = disk.path().join("filler.bin");
    fs::write(&filler, noise((2 << 20) + (600 << 10), 7)).unwrap();
    let out = disk.path().join("thumbs");
    let engine = Engine::new(2);
    let mut spec = ThumbSpec::new(vec![src.clone()], out.clone());
    spec.format = ThumbFormat::Jpeg;
    spec.sizes = [320].map(Into::into).to_vec();
    let id = engine.submit(JobSpec::Thumbs(spec)).unwrap();
    let paused = wait_disk_full(&engine, id);
    let largest = files_below(&out)
        .iter()
        .map(|f| fs::metadata(out.join(f)).unwrap().len())
        .max()
        .unwrap_or(0);
    assert!(
        largest * 30 < 2_800_000,
        "all thumbnails must fit once the filler is gone: {largest} bytes each"
    );
    match &paused.paused {
        Some(PauseReason::DiskFull { folder, .. }) => {
            assert!(folder.starts_with(disk.path()), "{folder:?}");
            assert!(!folder.to_string_lossy().contains(".part"));
        }
        other => panic!("{other:?}"),
    }
    let parked = settled(&engine, id);
    assert_eq!(parked.errors, 0, "no error per item: one pause");
    assert_eq!(parked.state, JobState::Paused);
    assert_no_partial_files(disk.path());
    fs::remove_file(&filler).unwrap();
    engine.resume(id);
    let (report, _) = wait_job(&engine, id);
    assert_eq!(report.outcome, JobOutcome::Done, "{report:?}");
    assert_eq!(report.outputs.len(), 30);
    assert_eq!(files_below(&out).len(), 30);
    assert_no_partial_files(disk.path());
}

/// The engine watches the free space: the job goes on by itself (for the window too) and
/// rebuilds its archive.
#[test]
fn a_full_disk_pauses_a_zip_job_and_it_goes_on_by_itself_when_there_is_room() {
    let Some(disk) = SmallDisk::mount("6m") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    write(&input.join("a.bin"), &noise(2 << 20, 1));
    write(&input.join("b.bin"), &noise(1 << 20, 2));
    write(&input.join("c.txt"), &text(200_000));
    let filler = disk.path().join("filler.bin");
    fs::write(&filler, noise(4 << 20, 3)).unwrap();
    let dest = disk.path().join("in.zip");
    let engine = Engine::new(2);
    let id = engine
        .submit(JobSpec::Zip(ZipSpec::new(
            vec![input.clone()],
            dest.clone(),
        )))
        .unwrap();
    wait_disk_full(&engine, id);
    let parked = settled(&engine, id);
    assert_eq!(parked.errors, 0);
    assert_no_partial_files(disk.path());
    fs::remove_file(&filler).unwrap();
    // No Resume: the free space is watched.

    let (report, _): (JobReport, _) = wait_job(&engine, id);
    assert_eq!(report.outcome, JobOutcome::Done, "{report:?}");
    assert_archive_matches(&dest, &expected_tree(&input));
    assert_no_partial_files(disk.path());
}

#[test]
fn retry_failed_redoes_only_the_failed_items_at_the_same_paths() {
    use shrinkwrap::engine::ProblemKind;
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    photos(&src.join("a"), 3, 400);
    photos(&src.join("b"), 2, 400);
    write(&src.join("b/broken.jpg"), b"\xff\xd8\xff not really");
    let out = tmp.path().join("out");
    let engine = Engine::new(2);
    let spec = ThumbSpec::new(vec![src.clone()], out.clone());
    let (first, _) = run_job(&engine, JobSpec::Thumbs(spec.clone()));
    assert_eq!(first.outcome, JobOutcome::DoneWithErrors);
    let failed: Vec<PathBuf> = first
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::Error)
        .map(|p| p.path.clone())
        .collect();
    assert_eq!(failed.len(), 1);
    let before: Vec<(PathBuf, u64)> = files_below(&out)
        .into_iter()
        .map(|f| (f.clone(), fs::metadata(out.join(&f)).unwrap().ino()))
        .collect();
    // The user mends the file, then retries the failed item only.
    write(&src.join("b/broken.jpg"), &jpeg(500, 300, 77));
    let (retry, _) = run_job(&engine, JobSpec::Thumbs(spec.retry(failed)));
    assert_eq!(retry.outcome, JobOutcome::Done, "{retry:?}");
    assert_eq!(retry.outputs, vec![out.join("src/b/broken.jpg")]);
    for (f, ino) in before {
        assert_eq!(
            fs::metadata(out.join(&f)).unwrap().ino(),
            ino,
            "{f:?} touched"
        );
    }
}

#[test]
fn a_cancelled_job_leaves_no_folder_it_created_and_keeps_the_users() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    write(&input.join("big.log"), &text(96 << 20));
    let photos_in = tmp.path().join("photos");
    photos(&photos_in, 12, 1200);
    // The user's own (empty) folder on the way: it must stay.
    let users = tmp.path().join("users-folder");
    std::fs::create_dir(&users).unwrap();
    let engine = Engine::new(2);
    let zip = engine
        .submit(JobSpec::Zip(ZipSpec::new(
            vec![input.clone()],
            users.join("new/deeper/in.zip"),
        )))
        .unwrap();
    let thumbs = engine
        .submit(JobSpec::Thumbs(ThumbSpec::new(
            vec![photos_in.clone()],
            tmp.path().join("thumbs-out/nested"),
        )))
        .unwrap();
    wait_progress(&engine, zip, |p| p.bytes_done > 0);
    wait_progress(&engine, thumbs, |p| p.state == JobState::Running);
    engine.cancel(zip);
    engine.cancel(thumbs);
    // Both final events, whichever comes first.
    let reports = wait_jobs(&engine, &[zip, thumbs]);
    let zip_report = reports.iter().find(|r| r.progress.job == zip).unwrap();
    let thumbs_report = reports.iter().find(|r| r.progress.job == thumbs).unwrap();
    assert_eq!(zip_report.outcome, JobOutcome::Cancelled);
    assert_eq!(thumbs_report.outcome, JobOutcome::Cancelled);
    assert!(users.is_dir(), "the user's folder stays");
    assert!(
        !users.join("new").exists(),
        "the folders the zip job made are gone"
    );
    // Thumbnails finished before the cancel are complete files and stay; no folder the job
    // made is left empty.
    let thumbs_out = tmp.path().join("thumbs-out");
    let kept = files_below(&thumbs_out);
    assert_eq!(
        thumbs_out.exists(),
        !kept.is_empty(),
        "the folders the thumbnail job made are gone unless they hold finished thumbnails"
    );
    for dir in walkdir::WalkDir::new(&thumbs_out).into_iter().flatten() {
        if dir.file_type().is_dir() {
            assert!(
                fs::read_dir(dir.path()).unwrap().next().is_some(),
                "{} was left empty",
                dir.path().display()
            );
        }
    }
}

#[test]
fn workers_busy_never_counts_more_than_the_pool() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    write(&input.join("big.log"), &text(48 << 20));
    write(&input.join("small.txt"), b"small");
    let photos_in = tmp.path().join("photos");
    photos(&photos_in, 8, 1200);
    let engine = Engine::new(2);
    let zip = engine
        .submit(JobSpec::Zip(ZipSpec::new(
            vec![input.clone()],
            tmp.path().join("out/in.zip"),
        )))
        .unwrap();
    let thumbs = engine
        .submit(JobSpec::Thumbs(ThumbSpec::new(
            vec![photos_in.clone()],
            tmp.path().join("thumbs"),
        )))
        .unwrap();
    let (zip_report, zip_seen) = wait_job(&engine, zip);
    let (thumbs_report, thumbs_seen) = wait_job(&engine, thumbs);
    assert_eq!(zip_report.outcome, JobOutcome::Done);
    assert_eq!(thumbs_report.outcome, JobOutcome::Done);
    let busiest = zip_seen
        .iter()
        .chain(&thumbs_seen)
        .map(|p| p.workers_busy)
        .max()
        .unwrap_or(0);
    assert!(busiest <= 2, "{busiest} workers busy on a 2-worker pool");
    assert!(
        zip_seen.iter().any(|p| p.workers_busy > 0),
        "the zip job was seen at work"
    );
}
