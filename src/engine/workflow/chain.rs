//! Chains: a job that takes another job's outputs as its inputs ("make thumbnails, then zip
//! the thumbnails"; a job file's `inputs_from`).
//!
//! [`Engine::submit_after`] queues the second job at once, with its own id and card, in its
//! place in the queue: it can be cancelled, paused and moved like any queued job. It waits,
//! costing nothing (the scheduler asks it for work and it has none), until the first job has
//! ended, then takes as its inputs what the first job's plan names and that exists now, made by
//! this run or already up to date ([`chained_inputs`]), and is built and run by the ordinary
//! lifecycle, as if submitted then. A first job that made a folder of files gives that folder
//! and only those files, so every file keeps the name it has there (a zip of thumbnails holds
//! `small/2024/a.webp`); one that made one file (an archive) gives that file.
//!
//! When the first job fails, is cancelled or stopped, or made nothing, the second never starts:
//! it ends at once with [`JobError::NotStarted`] saying which job and why (cancelled when the
//! first was cancelled or stopped, failed otherwise).
//!
//! Owns: [`Engine::submit_after`], [`Engine::submit_job_file`], [`chained_inputs`] and the
//! waiting job. Must not touch: the lifecycle (the second job is built through the engine like
//! any job once its inputs are known), what a kind does.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use super::file_list::InputSelection;
use super::job_file::JobFile;
use crate::engine::kinds::JobSpec;
use crate::engine::model::error::{ChainBroken, JobError, SubmitError};
use crate::engine::model::events::{JobEvent, JobId, JobOutcome, JobReport, PauseReason};
use crate::engine::model::kind::OutputShape;
use crate::engine::model::plan::{Action, Plan, SkipReason};
use crate::engine::runtime::scheduler::{JobDriver, Poll, Scheduler};
use crate::engine::runtime::status::JobCore;
use crate::engine::{Engine, JobBuilder, Prepared, lock};

/// What a chained job takes as its inputs.
pub type ChainedInputs = InputSelection;

/// The inputs of a job chained after the job with `plan` that ended with `report`: the
/// outputs the plan names that were made by this run (the report lists them) or were already
/// up to date (skipped as up to date, as made before an interruption, or as existing under
/// the "skip" policy). Failed items are not among them. Empty when there are none.
pub fn chained_inputs(plan: &Plan, report: &JobReport) -> ChainedInputs {
    match plan.kind.output {
        OutputShape::OneFile => InputSelection {
            inputs: report.archive.iter().cloned().collect(),
            only: Vec::new(),
        },
        OutputShape::FolderOfFiles => {
            let made: HashSet<&PathBuf> = report.outputs.iter().collect();
            let only: Vec<PathBuf> = plan
                .items
                .iter()
                .filter(|item| match &item.action {
                    Action::Skip(reason) => matches!(
                        reason,
                        SkipReason::UpToDate | SkipReason::AlreadyDone | SkipReason::Exists
                    ),
                    _ => item.output.as_ref().is_some_and(|o| made.contains(o)),
                })
                .filter_map(|item| item.output.clone())
                .collect();
            if only.is_empty() {
                return InputSelection::default();
            }
            InputSelection {
                inputs: vec![plan.destination.clone()],
                only,
            }
        }
    }
}

impl Engine {
    /// Queues `then` to run on the outputs of job `first` once `first` has ended (see the
    /// module's doc); `then`'s own inputs are replaced by those. Returns its id at once. Refused
    /// when `then`'s options are invalid, when `first` is not a job of this engine that is
    /// queued, running or just ended (call it right after submitting `first`: the engine forgets
    /// ended jobs as new ones come), or when `first` is a dry run.
    pub fn submit_after(&self, first: JobId, then: JobSpec) -> Result<JobId, SubmitError> {
        let upstream = self.job(first).ok_or(SubmitError::UnknownJob(first))?;
        let (id, driver) = self.prepare_chained(upstream, then)?;
        self.queue(driver);
        Ok(id)
    }

    /// Queues the jobs of a job file, chains included. Every job is registered before any is
    /// queued (as [`Engine::submit_all`]: no job of the file scans another's output), then all
    /// are queued in the file's order. One result per job, in that order; a job that takes its
    /// inputs from a refused one is refused too.
    pub fn submit_job_file(&self, file: &JobFile) -> Vec<Result<JobId, SubmitError>> {
        let mut prepared: Vec<Result<Prepared, SubmitError>> = Vec::with_capacity(file.jobs.len());
        for job in &file.jobs {
            let result = match job.inputs_from {
                None => self.prepare_job(job.spec.clone(), false, None),
                // The file's order has each job after the one it takes from.
                Some(from) => match prepared.get(from) {
                    Some(Ok((_, upstream))) => {
                        self.prepare_chained(Arc::clone(upstream), job.spec.clone())
                    }
                    _ => Err(SubmitError::FirstNotQueued(
                        file.jobs
                            .get(from)
                            .and_then(|j| j.name.clone())
                            .unwrap_or_else(|| format!("job {}", from + 1)),
                    )),
                },
            };
            prepared.push(result);
        }
        prepared
            .into_iter()
            .map(|p| {
                p.map(|(id, driver)| {
                    self.queue(driver);
                    id
                })
            })
            .collect()
    }

    /// Registers a job chained after `upstream` without queuing it yet.
    fn prepare_chained(
        &self,
        upstream: Arc<dyn JobDriver>,
        then: JobSpec,
    ) -> Result<Prepared, SubmitError> {
        if upstream.core().status().dry_run {
            return Err(SubmitError::AfterDryRun(upstream.core().id));
        }
        // The options are checked now, on a stand-in for the inputs it will get.
        let mut checked = then.clone();
        InputSelection {
            inputs: vec![PathBuf::from(".")],
            only: Vec::new(),
        }
        .apply_to(&mut checked);
        checked.validate()?;
        let id = self.new_id();
        let core = Arc::new(JobCore::new(id, then.kind(), then.display_name(), false));
        let job: Arc<dyn JobDriver> = Arc::new(ChainedJob {
            core: Arc::clone(&core),
            upstream,
            template: then,
            builder: self.builder(),
            phase: Mutex::new(Phase::Waiting),
            inner: OnceLock::new(),
        });
        Ok((id, job))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The first job has not ended.
    Waiting,
    /// The task that builds the job is out.
    Building,
    /// Built: the job itself answers from now on.
    Built,
    /// Ended without starting.
    Over,
}

/// A chained job: waits in the queue, then becomes the job it describes.
struct ChainedJob {
    /// The job's status from its submission on; the built job keeps it.
    core: Arc<JobCore>,
    /// The job it takes its inputs from.
    upstream: Arc<dyn JobDriver>,
    /// The job, but for its inputs.
    template: JobSpec,
    builder: JobBuilder,
    phase: Mutex<Phase>,
    /// The job once built.
    inner: OnceLock<Arc<dyn JobDriver>>,
}

impl ChainedJob {
    /// On a worker, once the first job has ended: builds the job on its outputs, or ends.
    fn start(&self) {
        match self.build() {
            Ok(driver) => {
                let mut phase = lock(&self.phase);
                let _ = self.inner.set(Arc::clone(&driver));
                *phase = Phase::Built;
                drop(phase);
                // A cancel that came while building reaches the job now.
                if self.core.is_cancelled() {
                    driver.cancel();
                }
                self.notify();
            }
            Err((outcome, error)) => self.end(outcome, error),
        }
    }

    fn build(&self) -> Result<Arc<dyn JobDriver>, (JobOutcome, Option<JobError>)> {
        if self.core.is_cancelled() {
            return Err((JobOutcome::Cancelled, None));
        }
        let report = self.upstream.core().report();
        let not_started = |outcome, why| {
            let error = JobError::NotStarted {
                job: report.progress.job,
                name: report.progress.name.clone(),
                why,
            };
            Err((outcome, Some(error)))
        };
        match report.outcome {
            JobOutcome::Done | JobOutcome::DoneWithErrors => {}
            JobOutcome::Failed => return not_started(JobOutcome::Failed, ChainBroken::Failed),
            JobOutcome::Cancelled => {
                return not_started(JobOutcome::Cancelled, ChainBroken::Cancelled);
            }
            JobOutcome::Stopped => {
                return not_started(JobOutcome::Cancelled, ChainBroken::Stopped);
            }
        }
        let selection = match self.upstream.plan() {
            Some(plan) => chained_inputs(&plan, &report),
            None => InputSelection::default(),
        };
        if selection.inputs.is_empty() {
            return not_started(JobOutcome::Failed, ChainBroken::MadeNothing);
        }
        let mut spec = self.template.clone();
        selection.apply_to(&mut spec);
        self.builder
            .build(spec, Arc::clone(&self.core), false, None)
            .map_err(|e| (JobOutcome::Failed, Some(JobError::Refused(e))))
    }

    /// Ends the job without starting it, with its final report.
    fn end(&self, outcome: JobOutcome, error: Option<JobError>) {
        *lock(&self.phase) = Phase::Over;
        if let Some(report) = self.core.finish(outcome, error) {
            self.builder.hub.push(JobEvent::Finished(report));
        }
        self.notify();
    }

    fn notify(&self) {
        Scheduler::notify_weak(&self.builder.sched);
    }
}

impl JobDriver for ChainedJob {
    fn core(&self) -> &Arc<JobCore> {
        &self.core
    }

    fn next_task(self: Arc<Self>) -> Poll {
        if let Some(inner) = self.inner.get() {
            return Arc::clone(inner).next_task();
        }
        let mut phase = lock(&self.phase);
        match *phase {
            Phase::Over => Poll::Finished,
            Phase::Building => Poll::Idle,
            Phase::Built => match self.inner.get() {
                Some(inner) => {
                    drop(phase);
                    Arc::clone(inner).next_task()
                }
                None => Poll::Idle,
            },
            Phase::Waiting => {
                if !self.upstream.core().state().is_final() {
                    return Poll::Idle;
                }
                *phase = Phase::Building;
                drop(phase);
                let me = Arc::clone(&self);
                Poll::Task(Box::new(move || me.start()))
            }
        }
    }

    fn task_panicked(&self, message: String) {
        match self.inner.get() {
            Some(inner) => inner.task_panicked(message),
            None => self.end(JobOutcome::Failed, Some(JobError::Internal(message))),
        }
    }

    fn cancel(&self) {
        if let Some(inner) = self.inner.get() {
            return inner.cancel();
        }
        self.core.cancel.cancel();
        let waiting = {
            let mut phase = lock(&self.phase);
            let waiting = *phase == Phase::Waiting;
            if waiting {
                *phase = Phase::Over;
            }
            waiting
        };
        if waiting {
            // Nothing was made or claimed: it just leaves the queue.
            if let Some(report) = self.core.finish(JobOutcome::Cancelled, None) {
                self.builder.hub.push(JobEvent::Finished(report));
            }
            self.notify();
        } else if let Some(inner) = self.inner.get() {
            // Built meanwhile (the builder saw the flag, or sees it now).
            inner.cancel();
        }
    }

    fn pause(&self) {
        match self.inner.get() {
            Some(inner) => inner.pause(),
            None => {
                self.core.set_paused(PauseReason::User);
                self.builder.hub.kick();
            }
        }
    }

    fn resume(&self) {
        match self.inner.get() {
            Some(inner) => inner.resume(),
            None => {
                self.core.clear_paused();
                self.builder.hub.kick();
                self.notify();
            }
        }
    }

    fn stop_after_current(&self) -> bool {
        if let Some(inner) = self.inner.get() {
            return inner.stop_after_current();
        }
        if !self.core.kind.can_stop_early {
            return false;
        }
        // Nothing is in progress: stopping now is cancelling.
        self.cancel();
        true
    }

    fn started(&self) -> bool {
        self.inner.get().is_some_and(|inner| inner.started())
    }

    fn plan(&self) -> Option<Arc<Plan>> {
        self.inner.get().and_then(|inner| inner.plan())
    }
}
