//! The job kinds, each in its own folder, and the one registry that lists them.
//!
//! A kind is: a spec (plain data, serialized in the journal), a [`KindInfo`] description, and a
//! [`JobKindImpl`](crate::engine::runtime::job::JobKindImpl) that the runtime's lifecycle drives.
//! The registry below is the only place that names every kind: [`JobSpec`] (one variant per
//! kind) and [`KINDS`] come from one line per kind.
//!
//! Adding a kind: its folder here (spec with `new(inputs, output)`, its options by name, `KIND`,
//! `new_job`), one line in `register_kinds!`.
//! Must not touch: the runtime's duties (claims, temporary files, journal, progress), any front
//! end.

pub mod extract;
pub mod thumbs;
pub mod zip;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::model::error::SpecError;
use crate::engine::model::kind::{JobKind, SpecInfo};
use crate::engine::model::options::{OptionError, OptionValue};
use crate::engine::model::shard::Shard;
use crate::engine::runtime::job::{Job, KindSpec, Run};
use crate::engine::runtime::scheduler::JobDriver;

pub use thumbs::spec::ThumbSpec;
pub use zip::spec::ZipSpec;

/// A checked job waiting for its run: the last step of submission.
pub(crate) type Build = Box<dyn FnOnce(Run) -> Arc<dyn JobDriver> + Send>;

/// Declares the kinds: the [`JobSpec`] enum, its dispatch, and [`KINDS`], from one line each.
macro_rules! register_kinds {
    ($($variant:ident($spec:ty) => $module:ident),* $(,)?) => {
        /// One user request, of any kind. Serialized in the job's journal (so a crashed job can
        /// be resumed), tagged with the kind's id.
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "kind", rename_all = "lowercase")]
        pub enum JobSpec {
            $(
                #[doc = concat!("A `", stringify!($module), "` job.")]
                $variant($spec),
            )*
        }

        impl JobSpec {
            fn parts(&self) -> &dyn KindSpec {
                match self {
                    $(JobSpec::$variant(s) => s,)*
                }
            }

            fn parts_mut(&mut self) -> &mut dyn KindSpec {
                match self {
                    $(JobSpec::$variant(s) => s,)*
                }
            }

            /// The spec with every path made absolute and lexically normalised (no I/O), inputs
            /// de-duplicated and sorted: two specs that ask for the same work compare equal.
            pub fn normalized(&self) -> JobSpec {
                match self {
                    $(JobSpec::$variant(s) => JobSpec::$variant(s.normalized()),)*
                }
            }

            /// Checks the spec (once: options, then anything the kind parses, such as a name
            /// template) and makes its kind, ready to be given its run.
            pub(crate) fn build(self) -> Result<Build, SpecError> {
                if self.inputs().is_empty() {
                    return Err(SpecError::NoInputs);
                }
                if let Some(shard) = self.shard() {
                    shard.check()?;
                }
                match self {
                    $(JobSpec::$variant(s) => {
                        let kind = $module::new_job(s)?;
                        Ok(Box::new(move |run| -> Arc<dyn JobDriver> { Job::new(kind, run) }))
                    })*
                }
            }
        }

        impl JobSpec {
            /// A new job of the kind with id `kind` (the kind's defaults), with these inputs and
            /// output; `None` for a kind this build does not know.
            pub fn new_of_kind(kind: &str, inputs: Vec<PathBuf>, output: PathBuf) -> Option<JobSpec> {
                $(
                    if kind == $module::KIND.id {
                        return Some(JobSpec::$variant(<$spec>::new(inputs, output)));
                    }
                )*
                None
            }

            /// The option sets every kind ships as presets: (name, kind, options).
            pub fn builtin_presets() -> Vec<(&'static str, JobKind, Vec<(&'static str, OptionValue)>)> {
                let mut out = Vec::new();
                $(
                    for (name, options) in $module::options::builtin_presets() {
                        out.push((name, $module::KIND, options));
                    }
                )*
                out
            }
        }

        /// Every kind this build knows, in the order the front ends offer them.
        pub const KINDS: &[JobKind] = &[$($module::KIND,)*];
    };
}

register_kinds! {
    Zip(ZipSpec) => zip,
    Thumbs(ThumbSpec) => thumbs,
    Extract(extract::spec::ExtractSpec) => extract,
}

impl JobSpec {
    /// The job's kind.
    pub fn kind(&self) -> JobKind {
        self.parts().kind()
    }

    /// A short human name: the archive's file name (zip), the output folder's name (thumbnails,
    /// extract), or for an extract test the archive's file name (`N archives` for several).
    pub fn display_name(&self) -> String {
        self.parts().display_name()
    }

    /// Where the output goes: the archive for a zip job, the output folder for thumbnails and
    /// extract; for an extract test (which writes nothing) its first archive.
    pub fn output_path(&self) -> &Path {
        self.parts().output_path()
    }

    /// The inputs as the user gave them.
    pub fn inputs(&self) -> &[PathBuf] {
        self.parts().inputs()
    }

    /// Checks the options (ranges, template), for a front end's form. Inputs and destinations
    /// are checked by the plan. Submission checks once more, as it builds the job.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.inputs().is_empty() {
            return Err(SpecError::NoInputs);
        }
        if let Some(shard) = self.shard() {
            shard.check()?;
        }
        self.parts().validate()
    }

    /// The kind's option keys (job files, presets; the long flags with `_` for `-`).
    pub fn option_keys(&self) -> &'static [&'static str] {
        self.parts().option_keys()
    }

    /// Every option of the spec, as `(key, value)`.
    pub fn options(&self) -> Vec<(&'static str, OptionValue)> {
        self.parts().options()
    }

    /// Sets one option by its key.
    pub fn set_option(&mut self, key: &str, value: &OptionValue) -> Result<(), OptionError> {
        self.parts_mut().set_option(key, value)
    }

    /// Replaces the inputs.
    pub fn set_inputs(&mut self, inputs: Vec<PathBuf>) {
        self.parts_mut().set_inputs(inputs)
    }

    /// The files among the inputs the job takes (empty: every file of the inputs).
    pub fn only(&self) -> &[PathBuf] {
        self.parts().only()
    }

    /// Takes only these files among the inputs (empty: all of them), named and placed as the
    /// whole inputs would have them.
    pub fn set_only(&mut self, files: Vec<PathBuf>) {
        self.parts_mut().set_only(files)
    }

    /// The share of the inputs the job takes, when split across machines.
    pub fn shard(&self) -> Option<Shard> {
        self.parts().shard()
    }

    /// Takes only this share of the inputs (`None`: all of them).
    pub fn set_shard(&mut self, shard: Option<Shard>) {
        self.parts_mut().set_shard(shard)
    }

    /// Whether the spec, read back from a journal, waits for a password it was not given again
    /// (passwords are never kept).
    pub fn waits_for_password(&self) -> bool {
        self.parts().waits_for_password()
    }

    /// Gives a spec that waits for a password its password; whether it was waiting for one.
    pub fn give_password(&mut self, text: &str) -> bool {
        self.parts_mut().give_password(text)
    }

    /// The password file the job reads when it starts, if any.
    pub fn password_file(&self) -> Option<&Path> {
        self.parts().password_file()
    }

    /// Whether the job holds a password given to it (never shown, never written).
    pub fn holds_password(&self) -> bool {
        self.parts().holds_password()
    }

    /// Whether jobs of this kind take a password.
    pub fn takes_password(&self) -> bool {
        self.parts().takes_password()
    }

    /// Takes the password from a password file (zip reads it now; extract keeps the file).
    pub fn set_password_file(
        &mut self,
        path: &Path,
    ) -> Result<(), crate::engine::model::error::PasswordFileError> {
        self.parts_mut().set_password_file(path)
    }
}

impl SpecInfo for JobSpec {
    fn kind(&self) -> JobKind {
        JobSpec::kind(self)
    }
    fn inputs(&self) -> &[PathBuf] {
        JobSpec::inputs(self)
    }
    fn known_outputs(&self) -> Vec<PathBuf> {
        self.parts().known_outputs()
    }
    fn display_name(&self) -> String {
        JobSpec::display_name(self)
    }
    fn record(&self) -> serde_json::Value {
        serde_json::to_value(self.normalized()).unwrap_or(serde_json::Value::Null)
    }
}

/// The kind with this id (`zip`, `thumbs`, `extract`), if this build knows it.
pub fn kind_by_id(id: &str) -> Option<JobKind> {
    KINDS.iter().copied().find(|k| k.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_serializes_under_its_own_id() {
        let specs = [
            JobSpec::Zip(ZipSpec::new(
                vec![PathBuf::from("/a")],
                PathBuf::from("/a.zip"),
            )),
            JobSpec::Thumbs(ThumbSpec::new(
                vec![PathBuf::from("/a")],
                PathBuf::from("/t"),
            )),
            JobSpec::Extract(extract::spec::ExtractSpec::new(
                vec![PathBuf::from("/a.zip")],
                PathBuf::from("/x"),
            )),
        ];
        assert_eq!(specs.len(), KINDS.len());
        for spec in specs {
            let json = serde_json::to_value(&spec).unwrap();
            assert_eq!(json["kind"], spec.kind().id);
            assert_eq!(kind_by_id(spec.kind().id), Some(spec.kind()));
        }
    }

    #[test]
    fn normalised_specs_compare_equal() {
        let a = JobSpec::Thumbs(ThumbSpec::new(
            vec![PathBuf::from("/p/./x"), PathBuf::from("/p/y/../x")],
            PathBuf::from("/o/"),
        ));
        let b = JobSpec::Thumbs(ThumbSpec::new(
            vec![PathBuf::from("/p/x")],
            PathBuf::from("/o"),
        ));
        assert_eq!(a.normalized(), b.normalized());
        assert_eq!(a.record(), b.record());
    }
}
