//! The engine's vocabulary: plain data shared by the runtime, every job kind and both front
//! ends: errors ([`error`]), events and outcomes ([`events`]), the plan ([`plan`]), what a kind
//! is ([`kind`]) and its options by name ([`options`]), a job's identity ([`id`]), how paths
//! are compared ([`paths`]) and how a job is split across machines ([`shard`]).
//!
//! Must not touch: the runtime (threads, the pool, the journal), any particular job kind, any
//! front end. Nothing here starts a thread; only [`paths::normalize_path`] asks the OS anything
//! (the current folder).

pub mod error;
pub mod events;
pub mod id;
pub mod kind;
pub mod options;
pub mod password;
pub mod paths;
pub mod plan;
pub mod shard;
