//! The engine-wide register of what live jobs read and write, so that no job's output ever
//! replaces another job's input, no scan picks up another job's output or temporary file, and
//! the same job is not queued twice.
//!
//! Owns: [`Claims`]: per live (queued or running) job, its normalised spec, its input roots, the
//! identity (device, inode) of the input files its scan found, and the outputs it will write;
//! and the overlap rule that keeps a finished job's outputs excluded from scans that were under
//! way while it ran. Every check is a short critical section; the file system is touched only to
//! canonicalise a root once.
//! Must not touch: job logic, writing files, any front end.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::engine::model::events::JobId;
use crate::engine::model::kind::SpecInfo;
use crate::engine::model::paths::normalize_path;
use crate::engine::runtime::temp::{may_be_cut, temp_name_parts};

/// The comparable form of a path that may or may not exist: its folder canonicalised when that
/// folder exists (symlinks resolved), else the lexically normalised absolute path.
pub(crate) fn comparable_path(path: &Path) -> PathBuf {
    let normal = normalize_path(path);
    match (normal.parent(), normal.file_name()) {
        (Some(parent), Some(name)) => match fs::canonicalize(parent) {
            Ok(dir) => dir.join(name),
            Err(_) => normal,
        },
        _ => normal,
    }
}

/// An input root, canonical, with the (device, inode) it had when first looked at.
type Root = (PathBuf, Option<(u64, u64)>);

struct JobClaim {
    /// For refusing an identical job: the normalised spec ([`SpecInfo::record`]).
    spec: serde_json::Value,
    /// The input roots as given, normalised; canonicalised on first use.
    roots: Vec<PathBuf>,
    canonical_roots: Option<Vec<Root>>,
    /// (device, inode) of every input file the scan found; `None` until the scan is over.
    input_files: Option<HashSet<(u64, u64)>>,
    /// Comparable paths of the outputs this job will write.
    outputs: HashSet<PathBuf>,
}

#[derive(Default)]
struct Inner {
    jobs: BTreeMap<JobId, JobClaim>,
    /// Output file names of live jobs (and of released ones still excluded), with a count: a
    /// cheap first test before a path is built and compared.
    output_names: HashMap<OsString, usize>,
    /// All outputs, live and released-but-still-excluded: the count of claims and the sequence
    /// number of the first (to know whether a scan began before the output was claimed).
    outputs: HashMap<PathBuf, (usize, u64)>,
    /// Outputs of finished jobs, kept while a scan that overlapped the job is running: the scans
    /// (by job) that must end first.
    released: Vec<(HashSet<JobId>, Vec<PathBuf>)>,
    /// Jobs scanning now, with the sequence number at which their scan began.
    scanning: HashMap<JobId, u64>,
    /// Increases with every claim and every scan start.
    seq: u64,
}

impl Inner {
    fn add_output(&mut self, path: PathBuf) {
        if let Some(name) = path.file_name() {
            *self.output_names.entry(name.to_os_string()).or_default() += 1;
        }
        self.seq += 1;
        let seq = self.seq;
        self.outputs.entry(path).or_insert((0, seq)).0 += 1;
    }

    fn remove_output(&mut self, path: &Path) {
        if let Some(name) = path.file_name()
            && let Some(n) = self.output_names.get_mut(name)
        {
            *n -= 1;
            if *n == 0 {
                self.output_names.remove(name);
            }
        }
        if let Some((n, _)) = self.outputs.get_mut(path) {
            *n -= 1;
            if *n == 0 {
                self.outputs.remove(path);
            }
        }
    }

    fn prune_released(&mut self) {
        let scanning = &self.scanning;
        let mut freed = Vec::new();
        self.released.retain_mut(|(waiting, paths)| {
            waiting.retain(|j| scanning.contains_key(j));
            if waiting.is_empty() {
                freed.append(paths);
                false
            } else {
                true
            }
        });
        for path in freed {
            self.remove_output(&path);
        }
    }
}

/// See the module documentation.
#[derive(Default)]
pub(crate) struct Claims {
    inner: Mutex<Inner>,
}

impl Claims {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        crate::engine::runtime::lock(&self.inner)
    }

    /// Registers a job at submission, with the outputs its spec names before any scan (a zip
    /// job's archive as given). Refuses it when a live job has the same normalised spec.
    pub fn register(&self, id: JobId, spec: &dyn SpecInfo) -> Result<(), JobId> {
        let normalized = spec.record();
        let mut inner = self.lock();
        if let Some((&other, _)) = inner.jobs.iter().find(|(_, c)| c.spec == normalized) {
            return Err(other);
        }
        let mut roots: Vec<PathBuf> = spec.inputs().iter().map(|p| normalize_path(p)).collect();
        roots.sort();
        roots.dedup();
        let outputs: HashSet<PathBuf> = spec
            .known_outputs()
            .iter()
            .map(|p| normalize_path(p))
            .collect();
        for out in &outputs {
            inner.add_output(out.clone());
        }
        inner.jobs.insert(
            id,
            JobClaim {
                spec: normalized,
                roots,
                canonical_roots: None,
                input_files: None,
                outputs,
            },
        );
        Ok(())
    }

    /// Adds outputs a job will write (made comparable by the caller with [`comparable_path`]).
    pub fn add_outputs(&self, id: JobId, outputs: impl IntoIterator<Item = PathBuf>) {
        let mut inner = self.lock();
        let mut new = Vec::new();
        if let Some(claim) = inner.jobs.get_mut(&id) {
            for out in outputs {
                if claim.outputs.insert(out.clone()) {
                    new.push(out);
                }
            }
        }
        for out in new {
            inner.add_output(out);
        }
    }

    /// A job's scan begins: outputs of jobs that end meanwhile stay excluded until it is over.
    pub fn begin_scan(&self, id: JobId) {
        let mut inner = self.lock();
        inner.seq += 1;
        let seq = inner.seq;
        inner.scanning.insert(id, seq);
    }

    /// A job's scan is over; `input_files` are the (device, inode) of the files it found.
    pub fn end_scan(&self, id: JobId, input_files: HashSet<(u64, u64)>) {
        let mut inner = self.lock();
        inner.scanning.remove(&id);
        if let Some(claim) = inner.jobs.get_mut(&id) {
            claim.input_files = Some(input_files);
        }
        inner.prune_released();
    }

    /// The job has ended: it protects nothing any more.
    pub fn release(&self, id: JobId) {
        let mut inner = self.lock();
        inner.scanning.remove(&id);
        if let Some(claim) = inner.jobs.remove(&id) {
            let waiting: HashSet<JobId> = inner.scanning.keys().copied().collect();
            let outputs: Vec<PathBuf> = claim.outputs.into_iter().collect();
            if waiting.is_empty() {
                for out in &outputs {
                    inner.remove_output(out);
                }
            } else {
                inner.released.push((waiting, outputs));
            }
        }
        inner.prune_released();
    }

    /// Whether a scan must leave out this entry (a file met while walking, as the walk spells
    /// it): an output of a live job, or a temporary file beside one (`.<name>.<random>.part`,
    /// whose `<name>` may be cut short: see `temp`). Cheap for the usual entry: only a name that
    /// matches a claimed output's costs a lookup of its folder.
    pub fn excludes(&self, path: &Path) -> bool {
        let Some(name) = path.file_name() else {
            return false;
        };
        let targets: Vec<OsString> = {
            let inner = self.lock();
            if inner.outputs.is_empty() {
                return false;
            }
            if inner.output_names.contains_key(name) {
                vec![name.to_os_string()]
            } else {
                let Some((target, _)) = temp_name_parts(name) else {
                    return false;
                };
                let target = OsStr::from_bytes(target);
                if inner.output_names.contains_key(target) {
                    vec![target.to_os_string()]
                } else if may_be_cut(name) {
                    inner
                        .output_names
                        .keys()
                        .filter(|n| n.as_bytes().starts_with(target.as_bytes()))
                        .cloned()
                        .collect()
                } else {
                    return false;
                }
            }
        };
        targets.into_iter().any(|target| {
            let full = comparable_path(&path.with_file_name(target));
            self.lock().outputs.contains_key(&full)
        })
    }

    /// The live job, other than `me`, that claimed this output (a comparable path), if any.
    pub fn claimed_by(&self, me: JobId, path: &Path) -> Option<JobId> {
        let inner = self.lock();
        if !inner.outputs.contains_key(path) {
            return None;
        }
        inner
            .jobs
            .iter()
            .find(|(id, c)| **id != me && c.outputs.contains(path))
            .map(|(id, _)| *id)
    }

    /// The live job, other than `me`, one of whose inputs the existing file at `path`
    /// (comparable path, with its metadata) is. A job that has scanned protects exactly the
    /// files it found; a job still queued or scanning protects everything below its roots,
    /// except outputs claimed by a live job before its scan began (its scan leaves those out).
    pub fn input_of(&self, me: JobId, path: &Path, meta: &fs::Metadata) -> Option<JobId> {
        let id = (meta.dev(), meta.ino());
        let mut inner = self.lock();
        let claimed_at = inner.outputs.get(path).map(|&(_, seq)| seq);
        let ids: Vec<JobId> = inner.jobs.keys().copied().filter(|j| *j != me).collect();
        for job in ids {
            let excluded_by_its_scan = match (claimed_at, inner.scanning.get(&job)) {
                (None, _) => false,
                (Some(_), None) => true,
                (Some(claimed), Some(&began)) => claimed < began,
            };
            let Some(claim) = inner.jobs.get_mut(&job) else {
                continue;
            };
            if let Some(files) = &claim.input_files {
                if files.contains(&id) {
                    return Some(job);
                }
                continue;
            }
            if excluded_by_its_scan {
                continue;
            }
            let roots = claim.canonical_roots.get_or_insert_with(|| {
                claim
                    .roots
                    .iter()
                    .map(|r| {
                        let canonical = fs::canonicalize(r).unwrap_or_else(|_| r.clone());
                        let ident = fs::metadata(r).ok().map(|m| (m.dev(), m.ino()));
                        (canonical, ident)
                    })
                    .collect()
            });
            if roots
                .iter()
                .any(|(root, ident)| path.starts_with(root) || *ident == Some(id))
            {
                return Some(job);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{JobSpec, ZipSpec};

    #[test]
    fn identical_jobs_are_refused_until_the_first_ends() {
        let claims = Claims::default();
        let spec = JobSpec::Zip(ZipSpec::new(
            vec![PathBuf::from("/a/x")],
            PathBuf::from("/a/x.zip"),
        ));
        claims.register(JobId(1), &spec).unwrap();
        assert_eq!(claims.register(JobId(2), &spec), Err(JobId(1)));
        claims.release(JobId(1));
        claims.register(JobId(3), &spec).unwrap();
    }

    #[test]
    fn outputs_and_their_temporaries_are_excluded_from_scans() {
        let claims = Claims::default();
        let spec = JobSpec::Zip(ZipSpec::new(
            vec![PathBuf::from("/in")],
            PathBuf::from("/out/B.zip"),
        ));
        claims.register(JobId(1), &spec).unwrap();
        assert!(claims.excludes(Path::new("/out/B.zip")));
        assert!(claims.excludes(Path::new("/out/.B.zip.a1B2c3.part")));
        assert!(!claims.excludes(Path::new("/out/C.zip")));
        assert!(!claims.excludes(Path::new("/other/B.zip")));
        // A scan that overlapped the job keeps excluding its outputs after it ends.
        claims.begin_scan(JobId(2));
        claims.release(JobId(1));
        assert!(claims.excludes(Path::new("/out/B.zip")));
        claims.end_scan(JobId(2), HashSet::new());
        assert!(!claims.excludes(Path::new("/out/B.zip")));
    }

    #[test]
    fn temporaries_of_long_names_are_excluded_too() {
        let claims = Claims::default();
        let long = format!("{}.jpg", "é".repeat(120));
        let spec = JobSpec::Zip(ZipSpec::new(
            vec![PathBuf::from("/in")],
            PathBuf::from("/out").join(&long),
        ));
        claims.register(JobId(1), &spec).unwrap();
        // The temporary name of a 244-byte name keeps 240 bytes of it.
        let cut = &long.as_bytes()[..240];
        let mut temp = b".".to_vec();
        temp.extend_from_slice(cut);
        temp.extend_from_slice(b".abcdefXy.part");
        let temp = PathBuf::from("/out").join(OsStr::from_bytes(&temp));
        assert!(claims.excludes(&temp));
        assert!(!claims.excludes(Path::new("/out/.other.abcdefXy.part")));
    }
}
