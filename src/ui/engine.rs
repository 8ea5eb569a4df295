//! What the window asks of the engine, as one small trait: [`WindowEngine`], implemented by the
//! real [`Engine`]. Tests drive the window against a fake where real jobs are not the point.
//!
//! Every method is non-blocking (it queues or flags work), so the frame code may call any of
//! them.
//!
//! Owns: [`WindowEngine`] and its implementation for [`Engine`].
//! Must not touch: the engine's internals (only its public API), drawing.

use std::path::Path;

use crate::engine::workflow::JobFile;
use crate::engine::{
    Engine, JobEvent, JobId, JobSpec, QueueMove, SubmitError, UnfinishedJob, Waker,
};

/// The engine calls the window makes.
pub trait WindowEngine {
    /// Queues a job.
    fn submit(&self, spec: JobSpec) -> Result<JobId, SubmitError>;
    /// Queues several jobs as one batch (every job's claims registered before any starts).
    fn submit_all(&self, specs: Vec<JobSpec>) -> Vec<Result<JobId, SubmitError>>;
    /// Queues `then` to run on the outputs of job `first` once that has ended (a chain).
    fn submit_after(&self, first: JobId, then: JobSpec) -> Result<JobId, SubmitError>;
    /// Queues the jobs of a job file, chains included; one result per job, in its order.
    fn submit_job_file(&self, file: &JobFile) -> Vec<Result<JobId, SubmitError>>;
    /// Queues a dry run (the plan preview).
    fn submit_dry_run(&self, spec: JobSpec) -> Result<JobId, SubmitError>;
    /// Resumes an unfinished job found at start.
    fn resume_unfinished(&self, job: UnfinishedJob) -> Result<JobId, SubmitError>;
    fn cancel(&self, id: JobId);
    fn cancel_all(&self);
    fn pause(&self, id: JobId);
    fn resume(&self, id: JobId);
    fn pause_all(&self);
    fn resume_all(&self);
    /// "Stop after current"; false for a job that cannot stop early.
    fn stop_after_current(&self, id: JobId) -> bool;
    /// Moves a queued job; whether it moved.
    fn move_queued(&self, id: JobId, to: QueueMove) -> bool;
    /// The jobs not started yet, in the order they will start.
    fn queued_order(&self) -> Vec<JobId>;
    /// Progress and final reports.
    fn events(&self) -> &flume::Receiver<JobEvent>;
    /// The "there is news" callback.
    fn set_waker(&self, waker: Waker);
    fn set_workers(&self, workers: usize);
    fn workers(&self) -> usize;
    /// What image decodes may hold together, in bytes (`None`: the engine's default).
    fn set_memory_budget(&self, bytes: Option<u64>);
    /// Where journals are kept (`None`: journals are off).
    fn state_dir(&self) -> Option<&Path>;
}

impl WindowEngine for Engine {
    fn submit(&self, spec: JobSpec) -> Result<JobId, SubmitError> {
        Engine::submit(self, spec)
    }
    fn submit_all(&self, specs: Vec<JobSpec>) -> Vec<Result<JobId, SubmitError>> {
        Engine::submit_all(self, specs)
    }
    fn submit_after(&self, first: JobId, then: JobSpec) -> Result<JobId, SubmitError> {
        Engine::submit_after(self, first, then)
    }
    fn submit_job_file(&self, file: &JobFile) -> Vec<Result<JobId, SubmitError>> {
        Engine::submit_job_file(self, file)
    }
    fn submit_dry_run(&self, spec: JobSpec) -> Result<JobId, SubmitError> {
        Engine::submit_dry_run(self, spec)
    }
    fn resume_unfinished(&self, job: UnfinishedJob) -> Result<JobId, SubmitError> {
        Engine::resume_unfinished(self, job)
    }
    fn cancel(&self, id: JobId) {
        Engine::cancel(self, id)
    }
    fn cancel_all(&self) {
        Engine::cancel_all(self)
    }
    fn pause(&self, id: JobId) {
        Engine::pause(self, id)
    }
    fn resume(&self, id: JobId) {
        Engine::resume(self, id)
    }
    fn pause_all(&self) {
        Engine::pause_all(self)
    }
    fn resume_all(&self) {
        Engine::resume_all(self)
    }
    fn stop_after_current(&self, id: JobId) -> bool {
        Engine::stop_after_current(self, id)
    }
    fn move_queued(&self, id: JobId, to: QueueMove) -> bool {
        Engine::move_queued(self, id, to)
    }
    fn queued_order(&self) -> Vec<JobId> {
        Engine::queued_order(self)
    }
    fn events(&self) -> &flume::Receiver<JobEvent> {
        Engine::events(self)
    }
    fn set_waker(&self, waker: Waker) {
        Engine::set_waker(self, waker)
    }
    fn set_workers(&self, workers: usize) {
        Engine::set_workers(self, workers)
    }
    fn set_memory_budget(&self, bytes: Option<u64>) {
        Engine::set_memory_budget(self, bytes)
    }
    fn workers(&self) -> usize {
        Engine::workers(self)
    }
    fn state_dir(&self) -> Option<&Path> {
        Engine::state_dir(self)
    }
}
