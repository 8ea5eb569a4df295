//! A stand-in for the engine, for window tests where real jobs are not the point: it takes the
//! window's calls and records them, answers dry runs with an empty plan at once (so the preview
//! settles), refuses a job identical to a live one, and otherwise does what the test tells it
//! (start a job, report progress, end it with a report of the test's making). Cancel, pause and
//! resume answer at once with the events the real engine would send.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use shrinkwrap::engine::{
    ItemProblem, JobEvent, JobId, JobOutcome, JobReport, JobSpec, JobState, PauseReason, Plan,
    Progress, QueueMove, SpecError, SubmitError, UnfinishedJob, Waker,
};
use shrinkwrap::ui::WindowEngine;

/// Events waiting for the window, at most (a test makes a few dozen).
const EVENT_CAPACITY: usize = 4096;

/// A call the window made.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Submit(JobId),
    DryRun(JobId),
    Cancel(JobId),
    CancelAll,
    Pause(JobId),
    Resume(JobId),
    PauseAll,
    ResumeAll,
    StopAfterCurrent(JobId),
    MoveQueued(JobId, QueueMove),
    SetWorkers(usize),
    SetMemoryBudget(Option<u64>),
}

struct FakeJob {
    id: JobId,
    spec: JobSpec,
    dry_run: bool,
    progress: Progress,
    ended: bool,
}

#[derive(Default)]
struct FakeState {
    next_id: u64,
    jobs: Vec<FakeJob>,
    /// Jobs not started yet, in start order (held dry runs first, as the engine puts them).
    queued: Vec<JobId>,
    calls: Vec<Call>,
    /// Dry runs wait in the queue, unanswered (as behind a busy worker).
    hold_dry_runs: bool,
}

struct Inner {
    events_tx: flume::Sender<JobEvent>,
    events: flume::Receiver<JobEvent>,
    state: Mutex<FakeState>,
    waker: Mutex<Option<Waker>>,
    workers: AtomicUsize,
}

/// The fake engine; clones share it (the window owns one, the test keeps another).
#[derive(Clone)]
pub struct FakeEngine(Arc<Inner>);

impl Default for FakeEngine {
    fn default() -> Self {
        FakeEngine::new(2)
    }
}

impl FakeEngine {
    pub fn new(workers: usize) -> FakeEngine {
        let (events_tx, events) = flume::bounded(EVENT_CAPACITY);
        FakeEngine(Arc::new(Inner {
            events_tx,
            events,
            state: Mutex::new(FakeState {
                next_id: 1,
                ..FakeState::default()
            }),
            waker: Mutex::new(None),
            workers: AtomicUsize::new(workers),
        }))
    }

    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.0.state.lock().unwrap()
    }

    fn emit(&self, event: JobEvent) {
        // Never waits: the window may be the caller (a dry run is answered inside its call).
        self.0
            .events_tx
            .try_send(event)
            .expect("the window reads its events every frame");
        if let Some(waker) = self.0.waker.lock().unwrap().as_ref() {
            waker();
        }
    }

    /// From now on dry runs wait at the front of the queue, unanswered, like the real engine's
    /// behind a busy worker.
    pub fn hold_dry_runs(&self) {
        self.state().hold_dry_runs = true;
    }

    /// The dry runs waiting in the queue.
    pub fn queued_dry_runs(&self) -> usize {
        let state = self.state();
        state
            .queued
            .iter()
            .filter(|id| state.jobs.iter().any(|j| j.id == **id && j.dry_run))
            .count()
    }

    /// Every call the window made, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// The real jobs submitted (no dry runs), in order.
    pub fn submitted(&self) -> Vec<(JobId, JobSpec)> {
        self.state()
            .jobs
            .iter()
            .filter(|j| !j.dry_run)
            .map(|j| (j.id, j.spec.clone()))
            .collect()
    }

    /// The id of the `index`th real job submitted.
    pub fn job(&self, index: usize) -> JobId {
        self.submitted()[index].0
    }

    /// Changes a job's figures and sends them as progress.
    pub fn progress(&self, id: JobId, change: impl FnOnce(&mut Progress)) {
        let progress = {
            let mut state = self.state();
            let job = state.jobs.iter_mut().find(|j| j.id == id).expect("a job");
            change(&mut job.progress);
            job.progress.clone()
        };
        self.emit(JobEvent::Progress(progress));
    }

    /// A worker takes the job up: it runs.
    pub fn run(&self, id: JobId) {
        self.state().queued.retain(|&q| q != id);
        self.progress(id, |p| {
            p.state = JobState::Running;
            p.workers_busy = 1;
            p.elapsed = p.elapsed.max(Duration::from_millis(100));
        });
    }

    /// Ends a job with `outcome`; `fill` completes the report (outputs, problems...).
    pub fn finish(&self, id: JobId, outcome: JobOutcome, fill: impl FnOnce(&mut JobReport)) {
        let report = {
            let mut state = self.state();
            state.queued.retain(|&q| q != id);
            let job = state.jobs.iter_mut().find(|j| j.id == id).expect("a job");
            job.ended = true;
            let mut progress = job.progress.clone();
            progress.state = match outcome {
                JobOutcome::Done => JobState::Done,
                JobOutcome::DoneWithErrors => JobState::DoneWithErrors,
                JobOutcome::Failed => JobState::Failed,
                JobOutcome::Cancelled => JobState::Cancelled,
                JobOutcome::Stopped => JobState::Stopped,
            };
            progress.workers_busy = 0;
            progress.paused = None;
            let mut report = JobReport {
                progress,
                outcome,
                dry_run: job.dry_run,
                failure: None,
                problems: Vec::new(),
                warnings: Vec::new(),
                outputs: Vec::new(),
                archive: None,
                output_bytes: 0,
            };
            fill(&mut report);
            report.progress.errors = report
                .problems
                .iter()
                .filter(|p| p.kind == shrinkwrap::engine::ProblemKind::Error)
                .count() as u64;
            report.progress.skipped = report.problems.len() as u64 - report.progress.errors;
            job.progress = report.progress.clone();
            report
        };
        self.emit(JobEvent::Finished(report));
    }

    /// Ends a job as done with `outputs` (and, for a job with one output file, that file).
    pub fn finish_done(&self, id: JobId, outputs: Vec<PathBuf>, archive: Option<&Path>) {
        self.finish(id, JobOutcome::Done, |report| {
            report.output_bytes = 1000;
            report.progress.items_done = outputs.len() as u64;
            report.progress.items_total = outputs.len() as u64;
            report.outputs = outputs;
            report.archive = archive.map(Path::to_path_buf);
        });
    }

    fn add(&self, spec: JobSpec, dry_run: bool) -> Result<JobId, SubmitError> {
        spec.validate()?;
        self.add_checked(spec, dry_run)
    }

    /// A job whose inputs come from another job's outputs: checked on a stand-in input, as the
    /// engine does.
    fn add_chained(&self, spec: JobSpec) -> Result<JobId, SubmitError> {
        let mut checked = spec.clone();
        checked.set_inputs(vec![PathBuf::from(".")]);
        checked.validate()?;
        self.add_checked(spec, false)
    }

    fn add_checked(&self, spec: JobSpec, dry_run: bool) -> Result<JobId, SubmitError> {
        let mut state = self.state();
        if !dry_run {
            let wanted = spec.normalized();
            if let Some(live) = state
                .jobs
                .iter()
                .find(|j| !j.dry_run && !j.ended && j.spec.normalized() == wanted)
            {
                return Err(SubmitError::Duplicate(live.id));
            }
        }
        let id = JobId(state.next_id);
        state.next_id += 1;
        let progress = Progress::queued(id, spec.kind(), spec.display_name());
        state.jobs.push(FakeJob {
            id,
            spec,
            dry_run,
            progress,
            ended: false,
        });
        if dry_run {
            state.calls.push(Call::DryRun(id));
        } else {
            state.queued.push(id);
            state.calls.push(Call::Submit(id));
        }
        Ok(id)
    }

    /// Whether some job has not ended.
    pub fn is_busy(&self) -> bool {
        !self.live().is_empty()
    }

    fn live(&self) -> Vec<JobId> {
        self.state()
            .jobs
            .iter()
            .filter(|j| !j.ended)
            .map(|j| j.id)
            .collect()
    }

    fn set_paused(&self, id: JobId, paused: bool) {
        let started = {
            let state = self.state();
            match state.jobs.iter().find(|j| j.id == id && !j.ended) {
                Some(job) if (job.progress.state == JobState::Paused) != paused => {
                    !state.queued.contains(&id)
                }
                _ => return,
            }
        };
        self.progress(id, |p| {
            if paused {
                p.state = JobState::Paused;
                p.paused = Some(PauseReason::User);
                p.workers_busy = 0;
            } else {
                p.state = if started {
                    JobState::Running
                } else {
                    JobState::Queued
                };
                p.paused = None;
                p.workers_busy = u64::from(started);
            }
        });
    }
}

impl WindowEngine for FakeEngine {
    fn submit(&self, spec: JobSpec) -> Result<JobId, SubmitError> {
        self.add(spec, false)
    }

    fn submit_all(&self, specs: Vec<JobSpec>) -> Vec<Result<JobId, SubmitError>> {
        specs
            .into_iter()
            .map(|spec| self.add(spec, false))
            .collect()
    }

    fn submit_after(&self, first: JobId, then: JobSpec) -> Result<JobId, SubmitError> {
        if !self
            .state()
            .jobs
            .iter()
            .any(|j| j.id == first && !j.dry_run)
        {
            return Err(SubmitError::UnknownJob(first));
        }
        self.add_chained(then)
    }

    fn submit_job_file(
        &self,
        file: &shrinkwrap::engine::workflow::JobFile,
    ) -> Vec<Result<JobId, SubmitError>> {
        file.jobs
            .iter()
            .map(|job| match job.inputs_from {
                None => self.add(job.spec.clone(), false),
                Some(_) => self.add_chained(job.spec.clone()),
            })
            .collect()
    }

    /// Answers at once: an empty plan into the spec's output, and a dry run's report (unless
    /// dry runs are held).
    fn submit_dry_run(&self, spec: JobSpec) -> Result<JobId, SubmitError> {
        let id = self.add(spec.clone(), true)?;
        {
            let mut state = self.state();
            if state.hold_dry_runs {
                state.queued.insert(0, id);
                return Ok(id);
            }
        }
        let plan = Plan::new(
            id,
            spec.kind(),
            spec.display_name(),
            spec.output_path().to_path_buf(),
            None,
            Vec::new(),
            Vec::new(),
        );
        self.emit(JobEvent::Plan(Arc::new(plan)));
        self.finish(id, JobOutcome::Done, |_| {});
        Ok(id)
    }

    fn resume_unfinished(&self, job: UnfinishedJob) -> Result<JobId, SubmitError> {
        if job.spec.inputs().is_empty() {
            return Err(SubmitError::Invalid(SpecError::NoInputs));
        }
        self.add(job.spec, false)
    }

    fn cancel(&self, id: JobId) {
        self.state().calls.push(Call::Cancel(id));
        if self.live().contains(&id) {
            self.finish(id, JobOutcome::Cancelled, |_| {});
        }
    }

    fn cancel_all(&self) {
        self.state().calls.push(Call::CancelAll);
        for id in self.live() {
            self.finish(id, JobOutcome::Cancelled, |_| {});
        }
    }

    fn pause(&self, id: JobId) {
        self.state().calls.push(Call::Pause(id));
        self.set_paused(id, true);
    }

    fn resume(&self, id: JobId) {
        self.state().calls.push(Call::Resume(id));
        self.set_paused(id, false);
    }

    fn pause_all(&self) {
        self.state().calls.push(Call::PauseAll);
        for id in self.live() {
            self.set_paused(id, true);
        }
    }

    fn resume_all(&self) {
        self.state().calls.push(Call::ResumeAll);
        for id in self.live() {
            self.set_paused(id, false);
        }
    }

    fn stop_after_current(&self, id: JobId) -> bool {
        let mut state = self.state();
        state.calls.push(Call::StopAfterCurrent(id));
        state
            .jobs
            .iter()
            .any(|j| j.id == id && j.spec.kind().can_stop_early)
    }

    fn move_queued(&self, id: JobId, to: QueueMove) -> bool {
        let mut state = self.state();
        state.calls.push(Call::MoveQueued(id, to));
        let Some(at) = state.queued.iter().position(|&q| q == id) else {
            return false;
        };
        match to {
            QueueMove::Up if at > 0 => state.queued.swap(at, at - 1),
            QueueMove::Down if at + 1 < state.queued.len() => state.queued.swap(at, at + 1),
            QueueMove::Next if at > 0 => {
                state.queued.remove(at);
                state.queued.insert(0, id);
            }
            _ => return false,
        }
        true
    }

    fn queued_order(&self) -> Vec<JobId> {
        self.state().queued.clone()
    }

    fn events(&self) -> &flume::Receiver<JobEvent> {
        &self.0.events
    }

    fn set_waker(&self, waker: Waker) {
        *self.0.waker.lock().unwrap() = Some(waker);
    }

    fn set_memory_budget(&self, bytes: Option<u64>) {
        self.state().calls.push(Call::SetMemoryBudget(bytes));
    }

    fn set_workers(&self, workers: usize) {
        self.state().calls.push(Call::SetWorkers(workers));
        self.0.workers.store(workers, Ordering::Relaxed);
    }

    fn workers(&self) -> usize {
        self.0.workers.load(Ordering::Relaxed)
    }

    fn state_dir(&self) -> Option<&Path> {
        None
    }
}

/// A skipped item, as the engine reports one.
pub fn skipped(path: PathBuf, reason: shrinkwrap::engine::SkipReason) -> ItemProblem {
    ItemProblem {
        path,
        kind: shrinkwrap::engine::ProblemKind::Skipped,
        cause: shrinkwrap::engine::Cause::Plan(reason),
    }
}

/// A failed item, with its cause as a note.
pub fn failed(path: PathBuf, cause: &str) -> ItemProblem {
    ItemProblem {
        path,
        kind: shrinkwrap::engine::ProblemKind::Error,
        cause: shrinkwrap::engine::Cause::Note(cause.to_owned()),
    }
}
