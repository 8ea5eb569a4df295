//! Workflows: the policy both front ends share for running more than one job the same way,
//! and one job on many machines.
//!
//! - [`job_file`]: job files (`shrinkwrap run FILE.toml`, "Save as job file"): `[[job]]` tables
//!   read into specs and the chain graph, and specs written back;
//! - [`chain`]: a job that takes another job's outputs as its inputs once that job has ended
//!   ([`Engine::submit_after`](crate::engine::Engine::submit_after),
//!   [`Engine::submit_job_file`](crate::engine::Engine::submit_job_file));
//! - [`command`]: a spec as the command line that does the same job ("Copy as command");
//! - [`file_list`]: `--files-from` lists and what they select;
//! - [`presets`]: named option sets in the user's config folder, and the built-in ones;
//! - [`options`]: a kind's options by the names job files, presets and flags give them;
//! - [`watch`]: watched folders: new and changed files taken once settled, one job at a time.
//!
//! Shards ([`Shard`]) are the model's (the scan applies them); this module reads and writes them.
//!
//! Owns: everything above. Must not touch: a job's lifecycle (a chained job is built and queued
//! through the engine like any other, and runs the ordinary lifecycle), what a kind does with
//! its files, any front end (words for the user beyond the error messages are theirs).

pub mod chain;
pub mod command;
pub mod file_list;
pub mod job_file;
pub mod options;
pub mod presets;
mod toml_in;
mod toml_out;
pub mod watch;

use std::path::{Path, PathBuf};

pub use crate::engine::model::shard::{Shard, ShardError};
pub use chain::{ChainedInputs, chained_inputs};
pub use command::{
    PASSWORD_FILE_PLACEHOLDER, PasswordOnLine, command_args, command_line, password_on_line,
    shell_quote,
};
pub use file_list::{FileListError, InputSelection, Listed, read_file_list, read_file_list_at};
pub use job_file::{
    FileJob, JobFile, JobFileError, JobFileProblem, job_file_text, job_table_text, parse_job_file,
    read_job_file,
};
pub use options::{KindOptions, OptionError, OptionValue, OptionsError, Which};
pub use presets::{
    CONFIG_DIR_ENV, Preset, PresetError, PresetStore, builtin_presets, default_config_dir,
    find_preset,
};
pub use toml_in::KeyProblem;

/// Why a spec has no job-file or command-line form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// The job takes only some files among its inputs: neither form says which.
    #[error(
        "the job takes only some files among its inputs (a retry, a list or a chained job): \
         save the chain, or the whole job, instead"
    )]
    OnlySomeFiles,
    /// A path that is not text.
    #[error("{} is not valid UTF-8: it cannot be written as text", .0.display())]
    NotUtf8(PathBuf),
}

/// A path as text, for a job file or a command line.
pub(crate) fn path_text(path: &Path) -> Result<String, ExportError> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| ExportError::NotUtf8(path.to_path_buf()))
}
