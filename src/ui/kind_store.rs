//! Where the window remembers each kind's form: one eframe storage key per kind, with what
//! older versions stored under the shared keys still read.
//!
//! Owns: the storage keys and [`save_kind`]/[`load_kind`]. Must not touch: what a form holds
//! (each kind's module in `super::kinds` picks its stored type), the common settings
//! (`super::settings`).

use serde::de::DeserializeOwned;

use crate::engine::JobKind;

/// The eframe storage key of the common settings (and, before each kind had its own key, of
/// every setting).
pub const SETTINGS_KEY: &str = "shrinkwrap.settings";
/// The eframe storage key where older versions kept the output folders.
pub const LEGACY_FOLDERS_KEY: &str = "shrinkwrap.folders";
/// The storage key of a kind's form.
fn kind_key(kind: JobKind) -> String {
    format!("shrinkwrap.kind.{}", kind.id)
}

/// Remembers a kind's form (its stored part) under the kind's own key.
pub fn save_kind<T: serde::Serialize>(storage: &mut dyn eframe::Storage, kind: JobKind, value: &T) {
    eframe::set_value(storage, &kind_key(kind), value);
}

/// A kind's remembered form: under the kind's own key; else, from a store written before each
/// kind had one, `merge(from the shared settings, from the shared folders)` (the stored type
/// keeps the old field names, and fields of other kinds are ignored); else the defaults.
pub fn load_kind<T: DeserializeOwned + Default>(
    storage: Option<&dyn eframe::Storage>,
    kind: JobKind,
    merge: impl FnOnce(T, T) -> T,
) -> T {
    let Some(storage) = storage else {
        return T::default();
    };
    if let Some(value) = eframe::get_value(storage, &kind_key(kind)) {
        return value;
    }
    let settings: Option<T> = eframe::get_value(storage, SETTINGS_KEY);
    let folders: Option<T> = eframe::get_value(storage, LEGACY_FOLDERS_KEY);
    match (settings, folders) {
        (None, None) => T::default(),
        (settings, folders) => merge(settings.unwrap_or_default(), folders.unwrap_or_default()),
    }
}
