//! The job settings a person picks in the window, remembered between runs, and how they turn
//! into engine job specs.
//!
//! Owns: [`Settings`] (which kind the job column prepares, the worker count, every kind's form,
//! and whether the plan card is folded), remembering them through eframe persistence (the common part under [`SETTINGS_KEY`],
//! each kind's form under its own key through [`super::kind_store`], with what older versions
//! stored still read), and [`build_jobs`], the checks every kind's specs get.
//! Pure data: no file system access, no egui.
//! Must not touch: what a kind's form holds or how it builds its specs (its module in
//! [`super::kinds`]), the engine's naming and validation (the window passes what was typed, as
//! typed), drawing.

use std::path::PathBuf;

use crate::engine::{JobKind, JobSpec, default_workers};

use super::kind_store::SETTINGS_KEY;
use super::kinds::{self, KindForm, KindForms};

/// Range of the worker-count setting.
pub const WORKERS_RANGE: std::ops::RangeInclusive<usize> = 1..=64;
/// Range of the memory setting, in MB (decimal).
pub const MEMORY_MB_RANGE: std::ops::RangeInclusive<u64> = 64..=1_048_576;

/// Everything the window remembers between runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The kind the job column prepares (its tab).
    pub kind: JobKind,
    /// `None`: one worker per core.
    pub workers: Option<usize>,
    /// What image decodes may hold together, in MB; `None`: the engine's default (a share of
    /// the memory the machine has available).
    pub memory_mb: Option<u64>,
    /// Every kind's form: its settings, destination fields and answers.
    pub kinds: KindForms,
    /// The plan card is folded to its header and summary line (the person's choice; it also
    /// folds by itself when jobs start, see `UiState::plan_open`).
    pub plan_folded: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            kind: kinds::first_kind(),
            workers: None,
            memory_mb: None,
            kinds: KindForms::default(),
            plan_folded: false,
        }
    }
}

/// The common settings as stored.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct Stored {
    /// The chosen kind's id.
    kind: String,
    workers: Option<usize>,
    memory_mb: Option<u64>,
    plan_folded: bool,
    /// Older versions stored the chosen tab as `operation: Compress` (the kind's verb).
    #[serde(skip_serializing)]
    operation: LegacyVerb,
}

/// The name of a unit enum variant, whatever the enum (`Compress` in `operation: Compress`).
#[derive(Debug, Default)]
struct LegacyVerb(Option<String>);

impl<'de> serde::Deserialize<'de> for LegacyVerb {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<LegacyVerb, D::Error> {
        struct Name(String);
        impl<'de> serde::Deserialize<'de> for Name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = Name;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("a variant name")
                    }
                    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Name, E> {
                        Ok(Name(name.to_owned()))
                    }
                }
                d.deserialize_identifier(V)
            }
        }
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = LegacyVerb;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a unit variant")
            }
            fn visit_enum<A: serde::de::EnumAccess<'de>>(
                self,
                data: A,
            ) -> Result<LegacyVerb, A::Error> {
                use serde::de::VariantAccess;
                let (Name(name), variant) = data.variant::<Name>()?;
                variant.unit_variant()?;
                Ok(LegacyVerb(Some(name)))
            }
        }
        deserializer.deserialize_enum("Operation", &[], V)
    }
}

impl Settings {
    /// The settings remembered in `storage` (the defaults without one), clamped into range.
    pub fn load(storage: Option<&dyn eframe::Storage>) -> Settings {
        let stored: Stored = storage
            .and_then(|s| eframe::get_value(s, SETTINGS_KEY))
            .unwrap_or_default();
        let kind = kinds::kind_by_id(&stored.kind)
            .or_else(|| {
                let verb = stored.operation.0.as_deref()?;
                kinds::ENTRIES
                    .iter()
                    .map(|e| e.kind)
                    .find(|k| k.info().verb == verb)
            })
            .unwrap_or_else(kinds::first_kind);
        Settings {
            kind,
            workers: stored.workers,
            memory_mb: stored.memory_mb,
            kinds: KindForms::load(storage),
            plan_folded: stored.plan_folded,
        }
        .sanitized()
    }

    /// Remembers the settings in `storage`.
    pub fn save(&self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(
            storage,
            SETTINGS_KEY,
            &Stored {
                kind: self.kind.id.to_owned(),
                workers: self.workers,
                memory_mb: self.memory_mb,
                plan_folded: self.plan_folded,
                operation: LegacyVerb::default(),
            },
        );
        self.kinds.for_each(|form| form.save(storage));
    }

    /// The form of the chosen kind.
    pub fn form(&self) -> Option<&dyn KindForm> {
        self.kinds.get(self.kind)
    }

    /// The worker count to run with.
    pub fn worker_count(&self) -> usize {
        self.workers
            .unwrap_or_else(default_workers)
            .clamp(*WORKERS_RANGE.start(), *WORKERS_RANGE.end())
    }

    /// Settings read back from storage are clamped into their ranges (the file may be old or
    /// edited by hand).
    pub fn sanitized(mut self) -> Settings {
        self.kinds.for_each_mut(|form| form.sanitize());
        self.workers = self
            .workers
            .map(|n| n.clamp(*WORKERS_RANGE.start(), *WORKERS_RANGE.end()));
        self.memory_mb = self
            .memory_mb
            .map(|mb| mb.clamp(*MEMORY_MB_RANGE.start(), *MEMORY_MB_RANGE.end()));
        self
    }
}

/// The jobs Start would submit with `form` over `inputs`, checked (options in range, a
/// template that parses). The error is a sentence for the window.
pub fn build_jobs(
    form: &dyn KindForm,
    inputs: &[PathBuf],
    inputs_generation: u64,
) -> Result<Vec<JobSpec>, String> {
    if inputs.is_empty() {
        return Err("Add some files or folders first.".to_owned());
    }
    let specs = form.build(inputs, inputs_generation)?;
    for spec in &specs {
        spec.validate().map_err(|e| capitalized(&e.to_string()))?;
    }
    Ok(specs)
}

/// "name template ..." -> "Name template ...".
pub(crate) fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ui::kind_store::LEGACY_FOLDERS_KEY;
    use std::collections::HashMap;

    /// Storage in memory, standing in for eframe's file storage.
    #[derive(Default)]
    pub(crate) struct MemoryStorage(HashMap<String, String>);

    impl eframe::Storage for MemoryStorage {
        fn get_string(&self, key: &str) -> Option<String> {
            self.0.get(key).cloned()
        }
        fn set_string(&mut self, key: &str, value: String) {
            self.0.insert(key.to_owned(), value);
        }
        fn remove_string(&mut self, key: &str) {
            self.0.remove(key);
        }
        fn flush(&mut self) {}
    }

    impl MemoryStorage {
        /// What the window stored before each kind had its own key: every setting in one
        /// struct, the folders in another (the same types, serialized the same way). The thumbs
        /// tab chosen, per-folder archives at Maximum replacing, 256 and 512 px WebP at 70, 3
        /// workers, the folders `/srv/zips` and `/srv/photos/small`.
        pub(crate) fn old_format() -> MemoryStorage {
            use crate::engine::{ColorMode, ConflictPolicy, MetadataPolicy, ThumbFormat};
            use crate::ui::kinds::zip::{ArchiveExists, ArchiveLayout, CompressionLevel};
            #[derive(serde::Serialize)]
            enum Operation {
                #[allow(dead_code)]
                Compress,
                Thumbnails,
            }
            #[derive(serde::Serialize)]
            struct OldSettings {
                operation: Operation,
                archive_layout: ArchiveLayout,
                compression: CompressionLevel,
                existing_archive: ArchiveExists,
                thumb_sizes_px: Vec<u32>,
                custom_thumb_side_px: u32,
                name_template: String,
                thumb_format: ThumbFormat,
                jpeg_quality: u8,
                webp_lossless: bool,
                metadata: MetadataPolicy,
                color: ColorMode,
                on_conflict: ConflictPolicy,
                workers: Option<usize>,
            }
            #[derive(serde::Serialize)]
            struct OldFolders {
                thumbnails_folder: String,
                archives_folder: String,
            }
            let mut storage = MemoryStorage::default();
            eframe::set_value(
                &mut storage,
                SETTINGS_KEY,
                &OldSettings {
                    operation: Operation::Thumbnails,
                    archive_layout: ArchiveLayout::ArchivePerFolder,
                    compression: CompressionLevel::Maximum,
                    existing_archive: ArchiveExists::Replace,
                    thumb_sizes_px: vec![256, 512],
                    custom_thumb_side_px: 320,
                    name_template: String::new(),
                    thumb_format: ThumbFormat::Webp,
                    jpeg_quality: 70,
                    webp_lossless: false,
                    metadata: MetadataPolicy::KeepSafe,
                    color: ColorMode::KeepProfile,
                    on_conflict: ConflictPolicy::Rename,
                    workers: Some(3),
                },
            );
            eframe::set_value(
                &mut storage,
                LEGACY_FOLDERS_KEY,
                &OldFolders {
                    thumbnails_folder: "/srv/photos/small".to_owned(),
                    archives_folder: "/srv/zips".to_owned(),
                },
            );
            storage
        }
    }

    #[test]
    fn settings_round_trip_and_an_old_store_still_loads() {
        let mut settings = Settings {
            kind: crate::engine::kinds::thumbs::KIND,
            workers: Some(5),
            ..Default::default()
        };
        settings.kinds.thumbs.jpeg_quality = 55;
        let mut storage = MemoryStorage::default();
        settings.save(&mut storage);
        assert_eq!(Settings::load(Some(&storage)), settings);

        let old = Settings::load(Some(&MemoryStorage::old_format()));
        assert_eq!(old.kind, crate::engine::kinds::thumbs::KIND);
        assert_eq!(old.workers, Some(3));
        assert_eq!(
            old.kinds.thumbs.metadata,
            crate::engine::MetadataPolicy::KeepSafe
        );
        assert_eq!(
            old.kinds.thumbs.color,
            crate::engine::ColorMode::KeepProfile
        );
        assert_eq!(
            old.kinds.thumbs.on_conflict,
            crate::engine::ConflictPolicy::Rename
        );

        assert_eq!(Settings::load(None), Settings::default());
    }

    #[test]
    fn no_inputs_no_jobs() {
        let settings = Settings::default();
        assert!(build_jobs(settings.form().unwrap(), &[], 0).is_err());
    }

    #[test]
    fn stored_workers_are_clamped() {
        let settings = Settings {
            workers: Some(0),
            ..Default::default()
        };
        assert_eq!(settings.sanitized().workers, Some(1));
    }
}
