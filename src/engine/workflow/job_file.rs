//! Job files: `shrinkwrap run FILE.toml`, the window's "Save as job file" and opening one.
//!
//! A job file lists jobs as `[[job]]` tables. Each has a `kind`, the same options as the
//! command line's flags (long names, `_` for `-`), and what it works on. A relative path is
//! relative to the job file's folder. Chains: `inputs_from = "<name>"` makes a job take the
//! outputs of the job with that `name` (see [`super::chain`]).
//!
//! ```toml
//! [[job]]
//! name = "small"
//! kind = "thumbs"
//! inputs = ["photos"]
//! output = "out/small"
//! size = [256]
//! format = "webp"
//!
//! [[job]]
//! kind = "zip"
//! inputs_from = "small"        # the outputs of the job named "small"
//! output = "out/small.zip"
//! level = 9
//! ```
//!
//! Every key:
//!
//! | key | jobs | value | meaning | flag |
//! |---|---|---|---|---|
//! | `kind` | all | `"zip"`, `"thumbs"`, `"extract"` | what the job does (required) | the subcommand |
//! | `name` | all | text | the job's name, for another job's `inputs_from` (unique in the file) | |
//! | `inputs` | all | path or list of paths | files and folders to work on | `INPUT...` |
//! | `output` | all | path | the archive (zip) or the folder (thumbs, extract) to write (required) | `--output` |
//! | `inputs_from` | all | a job's `name` | take that job's outputs as inputs, once it has ended (not with `inputs` or `files_from`) | |
//! | `files_from` | all | path | a file list (one path per line, relative to the job file's folder): without `inputs` the inputs, with `inputs` the only files among them | `--files-from` |
//! | `shard` | all | `"I/N"` | only share I of N of the inputs (0 ≤ I < N); a zip shard writes `NAME.part-I-of-N.zip`, an extract shard extracts its share of the archives | `--shard` |
//! | `preset` | all | a preset's name | that preset's options; the job's own keys win | `--preset` |
//! | `password_file` | zip, extract | path | the password's file (its first line; relative to the job file's folder): zip encrypts with WinZip AES-256, extract opens encrypted entries; the password itself is never in a job file or a journal | `--password-file` |
//! | `level` | zip | 0 to 9 | deflate level: 0 stores, 9 is smallest (default 6) | `--level` |
//! | `overwrite` | zip | `true`, `false` | replace an existing archive once the new one is complete | `--overwrite` |
//! | `keep_both` | zip | `true`, `false` | keep an existing archive and write `name (1).zip` | `--keep-both` |
//! | `exclude` | zip | a pattern or a list | leave out what matches (`.gitignore` syntax: `"*.tmp"`, `".git/"`) | `--exclude` |
//! | `gitignore` | zip | `true`, `false` | leave out what the inputs' `.gitignore` files say | `--gitignore` |
//! | `size` | thumbs | pixels (a square), `"WxH"` (a box), or a list | each thumbnail's box; one thumbnail per size (default 256) | `--size` |
//! | `fit` | thumbs | `"contain"`, `"cover"`, `"exact"` | inside the box, filling it cropped, or stretched to it (default contain) | `--fit` |
//! | `upscale` | thumbs | `true`, `false` | enlarge images smaller than the box | `--upscale` |
//! | `name_template` | thumbs | text | output name: `{stem}`, `{size}`, `{ext}`, `{parent}` (default `{stem}`, `{stem}_{size}` for several sizes) | `--name` |
//! | `format` | thumbs | `"jpeg"`, `"png"`, `"webp"` | output format (default jpeg) | `--format` |
//! | `quality` | thumbs | 1 to 100 | JPEG and lossy WebP quality (default 85) | `--quality` |
//! | `lossless` | thumbs | `true`, `false` | WebP: lossless | `--lossless` |
//! | `metadata` | thumbs | `"strip"`, `"keep-safe"`, `"keep"` | which EXIF and XMP to keep (default strip) | `--metadata` |
//! | `keep_icc` | thumbs | `true`, `false` | keep the source's colour profile instead of converting to sRGB | `--keep-icc` |
//! | `on_conflict` | thumbs, extract | `"update"` (thumbs only), `"rename"`, `"overwrite"`, `"skip"` | when an output exists (default: update for thumbs, rename for extract) | `--on-conflict` |
//! | `links` | extract | `true`, `false` | create symbolic-link entries whose target stays inside the output folder | `--links` |
//! | `keep_setuid` | extract | `true`, `false` | restore setuid and setgid bits | `--keep-setuid` |
//!
//! A job file holds one `[[job]]` per job: `zip --each` is the command line's shorthand for
//! several (write one `[[job]]` per folder). Passwords are never written in a job file: a zip
//! or extract job names its password file (`password_file`, read as `--password-file` reads it).
//!
//! Any other key, a key of another kind, a run option (`jobs`, `json`, `dry_run`,
//! `no_journal`), a kind this build does not know, and a bad value are errors naming the file
//! and the line.
//!
//! Owns: reading a job file into specs and the chain graph ([`read_job_file`],
//! [`parse_job_file`]), writing specs back as one ([`job_file_text`]).
//! Must not touch: running jobs (the engine's [`submit_job_file`](crate::engine::Engine)),
//! any front end. Reads the job file, the file lists it names and the presets file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::file_list::{FileListError, InputSelection, read_file_list_at};
use super::options::{KindOptions, OptionsError, Which};
use super::presets::{PresetError, PresetStore, find_preset};
use super::toml_in::{
    KeyProblem, Located, job_file_kind, kind_of, known_kinds, line_of, read_as, read_table,
    split_keys,
};
use super::toml_out::{TomlValue, array_table};
use super::{ExportError, path_text};
use crate::engine::kinds::JobSpec;
use crate::engine::model::error::{IoCause, SpecError};
use crate::engine::model::paths::{normalize_path, parent_dir};
use crate::engine::model::shard::{Shard, ShardError};

/// The keys every job has (the kind's option keys come from [`KindOptions::keys`]).
pub const JOB_KEYS: &[&str] = &[
    "kind",
    "name",
    "inputs",
    "output",
    "inputs_from",
    "files_from",
    "shard",
    "preset",
    "password_file",
];

/// One job of a job file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileJob {
    /// Its `name`, if it has one.
    pub name: Option<String>,
    /// The line of its `[[job]]` table (1-based; 0 for a job not read from a file).
    pub line: usize,
    /// The job. A chained job's inputs are empty: they are the outputs of the job it takes
    /// them from, known once that one has ended.
    pub spec: JobSpec,
    /// The job (an index into [`JobFile::jobs`], always an earlier one) whose outputs are this
    /// job's inputs.
    pub inputs_from: Option<usize>,
}

/// The jobs of a job file, each after the job it takes its inputs from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFile {
    /// Where the job file is.
    pub path: PathBuf,
    /// Its jobs, each after the job it takes its inputs from.
    pub jobs: Vec<FileJob>,
}

/// What is wrong in a job file.
#[derive(Debug, thiserror::Error)]
pub enum JobFileProblem {
    /// The file cannot be read.
    #[error("cannot read: {0}")]
    Read(IoCause),
    /// Not TOML: the parser's words.
    #[error("{0}")]
    Syntax(String),
    /// No `[[job]]` table.
    #[error("no [[job]] table (a job file lists its jobs as [[job]] tables)")]
    NoJobs,
    /// A key outside the `[[job]]` tables.
    #[error("`{0}` is not a key of a job file (each job is a [[job]] table)")]
    TopLevelKey(String),
    /// `job` is not a list of tables.
    #[error("`job` must be a list of [[job]] tables")]
    NotTables,
    /// A job without `kind`: the kinds there are.
    #[error("the job has no `kind` (one of: {0})")]
    NoKind(String),
    /// A kind this build does not know.
    #[error("unknown kind `{kind}` (this build knows: {known})")]
    UnknownKind {
        /// The kind given.
        kind: String,
        /// The kinds there are.
        known: String,
    },
    /// A key that is not one of this job's, or a bad value.
    #[error("{0}")]
    Key(#[from] KeyProblem),
    /// A job without `output`.
    #[error("the job has no `output`")]
    NoOutput,
    /// A job with nothing to work on.
    #[error("the job has no inputs: give `inputs`, `files_from` or `inputs_from`")]
    NoInputs,
    /// `inputs_from` with `inputs` or `files_from` (the key named).
    #[error("`inputs_from` takes the inputs from another job: this job cannot also have `{0}`")]
    InputsFromAnd(&'static str),
    /// Two jobs of one name.
    #[error("two jobs are named `{0}`")]
    DuplicateName(String),
    /// `inputs_from` names no job.
    #[error("`inputs_from`: no job is named `{0}`")]
    UnknownName(String),
    /// Jobs that take their inputs from each other, round in a circle (their names).
    #[error("`inputs_from`: a job cannot take its own outputs, directly or through others ({0})")]
    Cycle(String),
    /// A bad `shard`.
    #[error("{0}")]
    Shard(#[from] ShardError),
    /// Options that cannot go together, or a preset of another kind.
    #[error("{0}")]
    Options(#[from] OptionsError),
    /// A job that cannot run as given.
    #[error("{0}")]
    Spec(#[from] SpecError),
    /// A `files_from` list that cannot be used.
    #[error("{0}")]
    FileList(#[from] FileListError),
    /// A `preset` that cannot be found or read.
    #[error("{0}")]
    Preset(#[from] PresetError),
    /// `password_file` on a job of a kind that takes no password (its id).
    #[error("{0} jobs take no password")]
    NoPassword(&'static str),
    /// A `password_file` that gives no password.
    #[error("{path}: {why}")]
    PasswordFile {
        /// The file, as the job file's folder makes it.
        path: PathBuf,
        /// Why it gives none.
        why: crate::engine::model::error::PasswordFileError,
    },
}

/// A problem in a job file, with the file and the line (when it is about one place).
#[derive(Debug)]
pub struct JobFileError {
    /// The job file.
    pub file: PathBuf,
    /// The line (from 1) of the problem, when it is about one place.
    pub line: Option<usize>,
    /// What is wrong.
    pub problem: JobFileProblem,
}

impl std::fmt::Display for JobFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}, line {line}: {}", self.file.display(), self.problem),
            None => write!(f, "{}: {}", self.file.display(), self.problem),
        }
    }
}

impl std::error::Error for JobFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.problem)
    }
}

/// The keys every job shares, as read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommonKeys {
    /// Read before the table is split (it chooses the keys).
    #[serde(rename = "kind")]
    _kind: serde::de::IgnoredAny,
    name: Option<String>,
    #[serde(default, deserialize_with = "one_or_many_paths")]
    inputs: Option<Vec<PathBuf>>,
    output: Option<PathBuf>,
    inputs_from: Option<String>,
    files_from: Option<PathBuf>,
    shard: Option<String>,
    preset: Option<String>,
    password_file: Option<PathBuf>,
}

/// `inputs = "photos"` or `inputs = ["a", "b"]`.
fn one_or_many_paths<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<PathBuf>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(PathBuf),
        Many(Vec<PathBuf>),
    }
    Ok(Some(match OneOrMany::deserialize(d)? {
        OneOrMany::One(p) => vec![p],
        OneOrMany::Many(v) => v,
    }))
}

/// One `[[job]]` table, read but not yet linked to the others.
struct ReadJob {
    line: usize,
    name: Option<String>,
    /// The name it takes its inputs from, and where that key is (a byte offset while the
    /// table is read, then its line).
    inputs_from: Option<(String, usize)>,
    /// The job's spec (a list, for kinds that may one day read several jobs from one table).
    specs: Vec<JobSpec>,
}

/// Reads the job file at `file`. `presets` (with the built-in presets) serves `preset` keys.
/// Does file I/O (the job file, its file lists, the presets): call it off the UI thread.
pub fn read_job_file(file: &Path, presets: Option<&PresetStore>) -> Result<JobFile, JobFileError> {
    let text = std::fs::read_to_string(file).map_err(|e| JobFileError {
        file: file.to_path_buf(),
        line: None,
        problem: JobFileProblem::Read(IoCause::of(e)),
    })?;
    parse_job_file(&text, file, presets)
}

/// Reads a job file's `text`; `file` is where it is (relative paths are relative to its
/// folder) and names it in errors.
pub fn parse_job_file(
    text: &str,
    file: &Path,
    presets: Option<&PresetStore>,
) -> Result<JobFile, JobFileError> {
    let err = |at: Option<usize>, problem: JobFileProblem| JobFileError {
        file: file.to_path_buf(),
        line: at.map(|at| line_of(text, at)),
        problem,
    };
    let base = parent_dir(&normalize_path(file)).to_path_buf();
    let doc = toml::de::DeTable::parse(text).map_err(|e| {
        err(
            e.span().map(|s| s.start),
            JobFileProblem::Syntax(e.message().to_owned()),
        )
    })?;
    for (key, span, _) in super::toml_in::entries(doc.get_ref()) {
        if key != "job" {
            return Err(err(
                Some(span.start),
                JobFileProblem::TopLevelKey(key.to_owned()),
            ));
        }
    }
    let Some(jobs) = doc.get_ref().get("job") else {
        return Err(err(None, JobFileProblem::NoJobs));
    };
    let Some(array) = jobs.get_ref().as_array() else {
        return Err(err(Some(jobs.span().start), JobFileProblem::NotTables));
    };
    let mut read = Vec::new();
    for item in array {
        let at = item.span().start;
        let Some(table) = item.get_ref().as_table() else {
            return Err(err(Some(at), JobFileProblem::NotTables));
        };
        let job = read_job(table, item.span(), &base, presets)
            .map_err(|l| err(l.at.or(Some(at)), l.problem))?;
        read.push(ReadJob {
            line: line_of(text, at),
            inputs_from: job
                .inputs_from
                .map(|(name, key_at)| (name, line_of(text, key_at))),
            ..job
        });
    }
    if read.is_empty() {
        return Err(err(None, JobFileProblem::NoJobs));
    }
    link(read)
        .map_err(|(line, problem)| JobFileError {
            file: file.to_path_buf(),
            line: Some(line),
            problem,
        })
        .map(|jobs| JobFile {
            path: file.to_path_buf(),
            jobs,
        })
}

fn located<P: Into<JobFileProblem>>(at: usize) -> impl FnOnce(P) -> Located<JobFileProblem> {
    move |p| Located {
        at: Some(at),
        problem: p.into(),
    }
}

fn key_problem(l: Located<KeyProblem>) -> Located<JobFileProblem> {
    Located {
        at: l.at,
        problem: JobFileProblem::Key(l.problem),
    }
}

/// Reads one `[[job]]` table into its specs.
fn read_job(
    table: &toml::de::DeTable<'_>,
    span: std::ops::Range<usize>,
    base: &Path,
    presets: Option<&PresetStore>,
) -> Result<ReadJob, Located<JobFileProblem>> {
    let (kind, kind_at) = kind_of(table).ok_or(Located {
        at: table.get("kind").map(|v| v.span().start),
        problem: JobFileProblem::NoKind(known_kinds()),
    })?;
    let kind = job_file_kind(kind).ok_or_else(|| Located {
        at: Some(kind_at),
        problem: JobFileProblem::UnknownKind {
            kind: kind.to_owned(),
            known: known_kinds(),
        },
    })?;
    let (common, options) = split_keys(table, kind, JOB_KEYS).map_err(key_problem)?;
    let at = |key: &str| table.get(key).map_or(span.start, |v| v.span().start);
    let keys: CommonKeys = read_as(common, span.clone()).map_err(key_problem)?;
    let options = read_table(options, span.clone(), |d| {
        KindOptions::deserialize_for(kind, d)
    })
    .map_err(key_problem)?;
    let options = match &keys.preset {
        Some(name) => {
            let preset = find_preset(presets, name).map_err(located(at("preset")))?;
            if preset.options.kind() != options.kind() {
                return Err(located(at("preset"))(OptionsError::KindMismatch {
                    options: preset.options.kind().id,
                    job: kind,
                }));
            }
            preset.options.overlay(&options)
        }
        None => options,
    };
    let output = keys.output.map(|o| base.join(o)).ok_or(Located {
        at: Some(span.start),
        problem: JobFileProblem::NoOutput,
    })?;
    let inputs: Vec<PathBuf> = keys
        .inputs
        .unwrap_or_default()
        .into_iter()
        .map(|p| base.join(p))
        .collect();
    if keys.inputs_from.is_some() {
        for (key, given) in [
            ("inputs", !inputs.is_empty()),
            ("files_from", keys.files_from.is_some()),
        ] {
            if given {
                return Err(located(at(key))(JobFileProblem::InputsFromAnd(key)));
            }
        }
    } else if inputs.is_empty() && keys.files_from.is_none() {
        return Err(located(span.start)(JobFileProblem::NoInputs));
    }
    let mut spec = JobSpec::new_of_kind(kind, inputs.clone(), output.clone()).ok_or_else(|| {
        located(kind_at)(JobFileProblem::UnknownKind {
            kind: kind.to_owned(),
            known: known_kinds(),
        })
    })?;
    options.apply(&mut spec).map_err(located(span.start))?;
    if let Some(text) = &keys.shard {
        let shard = Shard::parse(text).map_err(located(at("shard")))?;
        spec.set_shard(Some(shard));
    }
    if let Some(file) = &keys.password_file {
        if !spec.takes_password() {
            return Err(located(at("password_file"))(JobFileProblem::NoPassword(
                spec.kind().id,
            )));
        }
        let path = base.join(file);
        spec.set_password_file(&path).map_err(|why| {
            located(at("password_file"))(JobFileProblem::PasswordFile { path, why })
        })?;
    }
    if let Some(list) = &keys.files_from {
        let list = base.join(list);
        let listed = read_file_list_at(&list, base).map_err(located(at("files_from")))?;
        InputSelection::from_list(inputs.clone(), listed, &list)
            .map_err(located(at("files_from")))?
            .apply_to(&mut spec);
    }
    // A chained job's options are checked now, on a stand-in for the inputs it will get.
    let mut checked = spec.clone();
    if keys.inputs_from.is_some() {
        InputSelection {
            inputs: vec![output.clone()],
            only: Vec::new(),
        }
        .apply_to(&mut checked);
    }
    checked
        .validate()
        .map_err(|e| located(at(spec_error_key(&e)))(e))?;
    Ok(ReadJob {
        line: 0,
        name: keys.name,
        inputs_from: keys.inputs_from.map(|n| (n, at("inputs_from"))),
        specs: vec![spec],
    })
}

/// The key a spec error is about (`kind` when it is about no one key).
fn spec_error_key(e: &SpecError) -> &'static str {
    match e {
        SpecError::NoInputs => "inputs",
        SpecError::Level(_) => "level",
        SpecError::Size(_) | SpecError::NoSizes => "size",
        SpecError::Quality(_) => "quality",
        SpecError::Template { .. } => "name_template",
        SpecError::Shard(_) => "shard",
        _ => "kind",
    }
}

/// Links the jobs by name and orders them so each comes after the job it takes from.
fn link(read: Vec<ReadJob>) -> Result<Vec<FileJob>, (usize, JobFileProblem)> {
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (i, job) in read.iter().enumerate() {
        if let Some(name) = &job.name
            && by_name.insert(name.as_str(), i).is_some()
        {
            return Err((job.line, JobFileProblem::DuplicateName(name.clone())));
        }
    }
    // The job each takes from, as an index into `read`.
    let mut from: Vec<Option<usize>> = Vec::with_capacity(read.len());
    for job in &read {
        from.push(match &job.inputs_from {
            None => None,
            Some((name, line)) => {
                let Some(&i) = by_name.get(name.as_str()) else {
                    return Err((*line, JobFileProblem::UnknownName(name.clone())));
                };
                Some(i)
            }
        });
    }
    // Each job after the one it takes from (file order otherwise); a loop is an error.
    let mut order: Vec<usize> = Vec::with_capacity(read.len());
    let mut placed = vec![false; read.len()];
    for start in 0..read.len() {
        let mut path = Vec::new();
        let mut at = Some(start);
        while let Some(i) = at {
            if placed[i] {
                break;
            }
            if path.contains(&i) {
                let names: Vec<String> = path
                    .iter()
                    .map(|&j: &usize| read[j].name.clone().unwrap_or_else(|| "?".into()))
                    .collect();
                return Err((read[i].line, JobFileProblem::Cycle(names.join(" <- "))));
            }
            path.push(i);
            at = from[i];
        }
        for &i in path.iter().rev() {
            placed[i] = true;
            order.push(i);
        }
    }
    // Index of each read job's first spec in the result.
    let mut first_index = vec![0usize; read.len()];
    let mut n = 0;
    for &i in &order {
        first_index[i] = n;
        n += read[i].specs.len();
    }
    let mut read: Vec<Option<ReadJob>> = read.into_iter().map(Some).collect();
    let mut jobs = Vec::with_capacity(n);
    for &i in &order {
        let Some(job) = read[i].take() else { continue };
        let inputs_from = from[i].map(|f| first_index[f]);
        for spec in job.specs {
            jobs.push(FileJob {
                name: job.name.clone(),
                line: job.line,
                spec,
                inputs_from,
            });
        }
    }
    Ok(jobs)
}

/// The text of a job file holding `jobs` (a chained job names the job it takes from; one that
/// others take from and has no name is given one). With `relative_to`, paths inside that
/// folder are written relative to it (the folder the file will be saved in: the file can move
/// with its data).
pub fn job_file_text(jobs: &[FileJob], relative_to: Option<&Path>) -> Result<String, ExportError> {
    let mut names: Vec<Option<String>> = jobs.iter().map(|j| j.name.clone()).collect();
    for job in jobs {
        if let Some(from) = job.inputs_from
            && names.get(from).is_some_and(Option::is_none)
        {
            let mut n = from + 1;
            let mut name = format!("job-{n}");
            while names.iter().flatten().any(|x| *x == name) {
                n += 1;
                name = format!("job-{n}");
            }
            names[from] = Some(name);
        }
    }
    let mut out = String::from("# Shrinkwrap job file: run it with `shrinkwrap run FILE`.\n");
    for (i, job) in jobs.iter().enumerate() {
        out.push('\n');
        let from_name = job
            .inputs_from
            .and_then(|f| names.get(f).cloned().flatten());
        let entries = table_entries(&job.spec, names[i].as_deref(), from_name, relative_to)?;
        array_table(&mut out, "job", &entries);
    }
    Ok(out)
}

/// The text of a job file with one job (a card's "Save as job file").
pub fn job_table_text(spec: &JobSpec, relative_to: Option<&Path>) -> Result<String, ExportError> {
    job_file_text(
        &[FileJob {
            name: None,
            line: 0,
            spec: spec.clone(),
            inputs_from: None,
        }],
        relative_to,
    )
}

fn table_entries(
    spec: &JobSpec,
    name: Option<&str>,
    inputs_from: Option<String>,
    relative_to: Option<&Path>,
) -> Result<Vec<(&'static str, TomlValue)>, ExportError> {
    let selection = InputSelection::of(spec);
    if !selection.only.is_empty() {
        return Err(ExportError::OnlySomeFiles);
    }
    let text = |p: &Path| -> Result<TomlValue, ExportError> {
        let shown = match relative_to.map(normalize_path) {
            Some(dir) => {
                let abs = normalize_path(p);
                match abs.strip_prefix(&dir) {
                    Ok(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
                    _ => abs,
                }
            }
            None => p.to_path_buf(),
        };
        path_text(&shown).map(TomlValue::Str)
    };
    let mut entries = Vec::new();
    if let Some(name) = name {
        entries.push(("name", TomlValue::Str(name.to_owned())));
    }
    entries.push(("kind", TomlValue::Str(spec.kind().id.to_owned())));
    match inputs_from {
        Some(from) => entries.push(("inputs_from", TomlValue::Str(from))),
        None => {
            let inputs = spec
                .inputs()
                .iter()
                .map(|p| text(p))
                .collect::<Result<Vec<_>, _>>()?;
            entries.push(("inputs", TomlValue::Array(inputs)));
        }
    }
    entries.push(("output", text(spec.output_path())?));
    if let Some(shard) = spec.shard() {
        entries.push(("shard", TomlValue::Str(shard.to_string())));
    }
    entries.extend(KindOptions::of_spec(spec, Which::Changed).entries());
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kinds::thumbs::spec::ThumbFormat;
    use crate::engine::kinds::thumbs::spec::ThumbSpec;
    use crate::engine::kinds::zip::spec::ZipSpec;
    use crate::engine::model::password::Password;

    const ISSUE_EXAMPLE: &str = r#"[[job]]
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

    fn parse(text: &str) -> Result<JobFile, JobFileError> {
        parse_job_file(text, Path::new("/work/jobs.toml"), None)
    }

    fn problem(text: &str) -> (Option<usize>, String) {
        let e = parse(text).expect_err(text);
        (e.line, e.to_string())
    }

    #[test]
    fn a_password_file_is_named_never_written_and_only_for_kinds_that_take_one() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("pw.txt"), "s3cret\n").unwrap();
        let file = tmp.path().join("jobs.toml");
        let job = |kind: &str, pw: &str| {
            format!(
                "[[job]]\nkind = \"{kind}\"\ninputs = \"a\"\noutput = \"o\"\npassword_file = \"{pw}\"\n"
            )
        };
        // Zip reads it now (relative to the job file's folder).
        let read = parse_job_file(&job("zip", "pw.txt"), &file, None).unwrap();
        let JobSpec::Zip(z) = &read.jobs[0].spec else {
            panic!()
        };
        assert_eq!(z.password, Some(Password::new("s3cret")));
        // Extract keeps the file, read when the job starts (and again on resume).
        let read = parse_job_file(&job("extract", "pw.txt"), &file, None).unwrap();
        let JobSpec::Extract(x) = &read.jobs[0].spec else {
            panic!()
        };
        assert_eq!(
            x.password_file.as_deref(),
            Some(tmp.path().join("pw.txt").as_path())
        );
        let e = parse_job_file(&job("thumbs", "pw.txt"), &file, None).unwrap_err();
        assert!(
            e.to_string().contains("thumbs jobs take no password"),
            "{e}"
        );
        assert_eq!(e.line, Some(5));
        let e = parse_job_file(&job("zip", "nope.txt"), &file, None).unwrap_err();
        assert!(
            e.to_string().contains("nope.txt") && e.to_string().contains("no such password file"),
            "{e}"
        );
    }

    #[test]
    fn the_issues_example_parses_into_a_chain() {
        let file = parse(ISSUE_EXAMPLE).unwrap();
        assert_eq!(file.jobs.len(), 2);
        let JobSpec::Thumbs(t) = &file.jobs[0].spec else {
            panic!("{:?}", file.jobs[0])
        };
        assert_eq!(file.jobs[0].name.as_deref(), Some("small"));
        assert_eq!(t.inputs, [Path::new("/work/photos")]);
        assert_eq!(t.output_dir, Path::new("/work/out/small"));
        assert_eq!(t.sizes, [crate::engine::ThumbSize::square(256)]);
        assert_eq!(t.format, ThumbFormat::Webp);
        let JobSpec::Zip(z) = &file.jobs[1].spec else {
            panic!("{:?}", file.jobs[1])
        };
        assert_eq!(file.jobs[1].inputs_from, Some(0));
        assert!(z.inputs.is_empty());
        assert_eq!(z.destination, Path::new("/work/out/small.zip"));
        assert_eq!(z.level, 9);
    }

    #[test]
    fn mistakes_name_the_file_and_the_line() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "[[job]]\nkind = \"zip\"\ninputs = [\"a\"]\noutput = \"a.zip\"\nlevle = 9\n",
                5,
                "`levle` is not a key of a zip job",
            ),
            (
                "[[job]]\nkind = \"zip\"\ninputs = [\"a\"]\noutput = \"a.zip\"\nsize = 9\n",
                5,
                "`size` is a key of thumbs jobs, not of zip jobs",
            ),
            (
                "[[job]]\nkind = \"zip\"\ninputs = [\"a\"]\noutput = \"a.zip\"\nkeep-both = true\n",
                5,
                "write `keep_both`",
            ),
            (
                "[[job]]\nkind = \"zip\"\ninputs = [\"a\"]\noutput = \"a.zip\"\ndry_run = true\n",
                5,
                "option of the run",
            ),
            (
                "\n[[job]]\nkind = \"unzip\"\ninputs = [\"a.zip\"]\noutput = \"x\"\n",
                3,
                "unknown kind `unzip` (this build knows: zip, thumbs, extract)",
            ),
            (
                "[[job]]\nkind = \"thumbs\"\ninputs = [\"a\"]\noutput = \"t\"\nquality = \"high\"\n",
                5,
                "`quality`",
            ),
            (
                "[[job]]\nkind = \"thumbs\"\ninputs = [\"a\"]\noutput = \"t\"\nformat = \"avif\"\n",
                5,
                "avif",
            ),
            (
                "[[job]]\nkind = \"thumbs\"\ninputs = [\"a\"]\noutput = \"t\"\nquality = 0\n",
                5,
                "quality 0 is out of range",
            ),
            (
                "[[job]]\nkind = \"thumbs\"\ninputs = [\"a\"]\noutput = \"t\"\nshard = \"4/4\"\n",
                5,
                "must be below 4",
            ),
            (
                "[[job]]\nkind = \"thumbs\"\ninputs = [\"a\"]\n",
                1,
                "no `output`",
            ),
            (
                "[[job]]\nkind = \"zip\"\noutput = \"a.zip\"\n",
                1,
                "no inputs",
            ),
            (
                "[[job]]\nkind = \"zip\"\ninputs = [\"a\"]\ninputs_from = \"x\"\noutput = \"a.zip\"\n",
                3,
                "cannot also have `inputs`",
            ),
            (
                "[[job]]\nkind = \"zip\"\ninputs_from = \"nobody\"\noutput = \"a.zip\"\n",
                3,
                "no job is named `nobody`",
            ),
            (
                "[[job]]\nname = \"a\"\nkind = \"zip\"\ninputs_from = \"b\"\noutput = \"a.zip\"\n\n[[job]]\nname = \"b\"\nkind = \"zip\"\ninputs_from = \"a\"\noutput = \"b.zip\"\n",
                1,
                "cannot take its own outputs",
            ),
            (
                "[[job]]\nname = \"a\"\nkind = \"zip\"\ninputs = [\"x\"]\noutput = \"a.zip\"\n[[job]]\nname = \"a\"\nkind = \"zip\"\ninputs = [\"y\"]\noutput = \"b.zip\"\n",
                6,
                "two jobs are named `a`",
            ),
            ("title = \"x\"\n", 1, "`title` is not a key of a job file"),
            ("[[job]]\nkind = \"zip\"\ninputs = [\"a\"\n", 3, ""),
            ("", 0, "no [[job]] table"),
            (
                "[[job]]\nkind = \"zip\"\ninputs = [\"a\"]\noutput = \"a.zip\"\npreset = \"nope\"\n",
                5,
                "no preset named \"nope\"",
            ),
            (
                "[[job]]\nkind = \"zip\"\ninputs = [\"a\"]\noutput = \"a.zip\"\npreset = \"web 1024 px WebP\"\n",
                5,
                "options of a thumbs job, not of a zip job",
            ),
        ];
        for (text, line, says) in cases {
            let (got_line, message) = problem(text);
            assert!(message.starts_with("/work/jobs.toml"), "{message}");
            assert!(message.contains(says), "{text:?}: {message}");
            assert_eq!(got_line.unwrap_or(0), *line, "{text:?}: {message}");
        }
    }

    #[test]
    fn presets_give_options_and_the_jobs_own_keys_win() {
        let text = "[[job]]\nkind = \"thumbs\"\ninputs = \"p\"\noutput = \"t\"\npreset = \"web 1024 px webp\"\nquality = 60\n";
        let file = parse(text).unwrap();
        let JobSpec::Thumbs(t) = &file.jobs[0].spec else {
            panic!()
        };
        assert_eq!(
            (t.sizes.as_slice(), t.format, t.quality),
            (
                &[crate::engine::ThumbSize::square(1024)][..],
                ThumbFormat::Webp,
                60
            )
        );
    }

    #[test]
    fn specs_round_trip_through_job_files() {
        let mut thumbs =
            ThumbSpec::new(vec!["/d/photos".into(), "/e/more".into()], "/d/out".into());
        thumbs.sizes = [128, 512].map(Into::into).to_vec();
        thumbs.name_template = Some("{parent}-{stem}_{size}".into());
        thumbs.format = ThumbFormat::Png;
        thumbs.shard = Some(Shard { index: 1, count: 3 });
        let mut zip = ZipSpec::new(vec!["/d/out".into()], "/d/out.zip".into());
        zip.level = 0;
        zip.on_exists = crate::engine::kinds::zip::spec::ExistingArchive::KeepBoth;
        zip.excludes = vec!["*.tmp".into(), ".git/".into(), "*.{jpg,png}".into()];
        zip.honour_gitignore = true;
        thumbs.fit = crate::engine::Fit::Cover;
        thumbs.upscale = true;
        thumbs.sizes.push(crate::engine::ThumbSize::new(320, 200));
        for spec in [JobSpec::Thumbs(thumbs), JobSpec::Zip(zip)] {
            for relative_to in [None, Some(Path::new("/d"))] {
                let text = job_table_text(&spec, relative_to).unwrap();
                let file = parse_job_file(&text, Path::new("/d/saved.toml"), None)
                    .unwrap_or_else(|e| panic!("{e}\n{text}"));
                assert_eq!(file.jobs.len(), 1);
                assert_eq!(file.jobs[0].spec.normalized(), spec.normalized(), "{text}");
            }
        }
        let chain = parse(ISSUE_EXAMPLE).unwrap();
        let text = job_file_text(&chain.jobs, Some(Path::new("/work"))).unwrap();
        assert!(text.contains("inputs = [\"photos\"]"), "{text}");
        let again = parse(&text).unwrap();
        let shape = |f: &JobFile| -> Vec<(Option<String>, JobSpec, Option<usize>)> {
            f.jobs
                .iter()
                .map(|j| (j.name.clone(), j.spec.clone(), j.inputs_from))
                .collect()
        };
        assert_eq!(shape(&again), shape(&chain));
    }

    #[test]
    fn a_chain_of_three_runs_in_chain_order_whatever_the_file_order() {
        let text = r#"
[[job]]
kind = "zip"
inputs_from = "small"
output = "out/small.zip"
level = 9

[[job]]
name = "small"
kind = "thumbs"
inputs_from = "big"
output = "out/small"
size = 64
format = "png"

[[job]]
name = "big"
kind = "thumbs"
inputs = "photos"
output = "out/big"
size = [1024]
"#;
        let file = parse(text).unwrap();
        let order: Vec<(&str, Option<usize>)> = file
            .jobs
            .iter()
            .map(|j| (j.spec.kind().id, j.inputs_from))
            .collect();
        assert_eq!(
            order,
            [("thumbs", None), ("thumbs", Some(0)), ("zip", Some(1))]
        );
        assert_eq!(file.jobs[0].name.as_deref(), Some("big"));
        assert_eq!(file.jobs[2].line, 2);
    }

    #[test]
    fn a_chain_written_without_names_gets_them() {
        let first = JobSpec::Thumbs(ThumbSpec::new(vec!["/p".into()], "/t".into()));
        let second = JobSpec::Zip(ZipSpec::new(Vec::new(), "/t.zip".into()));
        let jobs = [
            FileJob {
                name: None,
                line: 0,
                spec: first,
                inputs_from: None,
            },
            FileJob {
                name: None,
                line: 0,
                spec: second,
                inputs_from: Some(0),
            },
        ];
        let text = job_file_text(&jobs, None).unwrap();
        let file = parse_job_file(&text, Path::new("/x.toml"), None).unwrap();
        assert_eq!(file.jobs[1].inputs_from, Some(0));
        assert_eq!(file.jobs[0].name.as_deref(), Some("job-1"));
    }

    #[test]
    fn every_key_is_in_the_doc_table() {
        let table: Vec<&str> = include_str!("job_file.rs")
            .lines()
            .filter(|l| l.starts_with("//! | `"))
            .collect();
        let keys: std::collections::BTreeSet<&str> = JOB_KEYS
            .iter()
            .chain(
                crate::engine::KINDS
                    .iter()
                    .flat_map(|k| KindOptions::keys(k.id).unwrap_or(&[])),
            )
            .copied()
            .collect();
        let mut documented = 0;
        for key in keys {
            let row = format!("//! | `{key}` |");
            assert!(
                table.iter().any(|l| l.starts_with(&row)),
                "`{key}` is not documented"
            );
            documented += 1;
        }
        assert_eq!(
            table.len(),
            documented,
            "the table documents a key that does not exist"
        );
    }

    #[test]
    fn a_job_that_picks_files_has_no_job_file_form() {
        let mut t = ThumbSpec::new(vec!["/p".into()], "/t".into());
        t.only = vec!["/p/a.jpg".into()];
        assert!(matches!(
            job_table_text(&JobSpec::Thumbs(t), None),
            Err(ExportError::OnlySomeFiles)
        ));
    }
}
