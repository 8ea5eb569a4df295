//! Shards: one job split across many machines (`--shard I/N`), each taking a stable share of
//! the inputs.
//!
//! Owns: [`Shard`] (which share, `I/N` with 0 ≤ I < N), its text form, and the one rule that
//! puts a file in a shard ([`Shard::contains`]): a hash of the file's path relative to its input
//! folder, so a file's shard depends on that path alone. Adding files never moves finished ones
//! to another shard, and every shard can be re-run or resumed on its own.
//!
//! The hash is fixed here and never to change (a different hash would move files between
//! shards of a batch under way): 64-bit FNV-1a (offset basis `0xcbf29ce484222325`, prime
//! `0x100000001b3`) over the UTF-8 bytes of the relative path with `/` between folders and
//! without the file name's last extension, then MurmurHash3's 64-bit finalizer (`fmix64`), so
//! that every byte of the name moves every bit (FNV-1a alone leaves the top bits nearly blind
//! to the last characters: `img01`, `img02`... would crowd into one shard); the shard is
//! `hash × N / 2^64`. The extension is left out so that `x.jpg` and `x.png`, whose thumbnails
//! compete for one name, always meet in one shard and get the names a full run gives them.
//!
//! Must not touch: the file system, any job kind (the scan applies [`Shard::contains`]; a zip
//! job names its part archive with [`Shard::part_file_name`]).

use std::path::{Path, PathBuf};

/// One share of a job's inputs: `index` of `count` (0 ≤ index < count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// Which share, from 0.
    pub index: u32,
    /// How many shares the inputs are split into (at least 1).
    pub count: u32,
}

/// Why a shard is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// The text given, which is not `I/N`.
    #[error("shard {0:?} is not of the form I/N (as 0/4: the first of four)")]
    Syntax(String),
    /// `I/0`.
    #[error("a job cannot be split into 0 shards")]
    ZeroCount,
    /// `I/N` with I ≥ N.
    #[error("shard {index}/{count}: the index counts from 0 and must be below {count}")]
    IndexTooLarge {
        /// The index given.
        index: u32,
        /// The count given.
        count: u32,
    },
}

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// 64-bit FNV-1a of `bytes`.
fn fnv1a_64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET_BASIS, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(FNV_PRIME)
    })
}

/// MurmurHash3's 64-bit finalizer: a bijection that makes every input bit flip about half of
/// the output bits.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

/// The part of a relative path the shard is chosen by: the path without its file name's last
/// extension (`a/x.jpg` -> `a/x`; a name that starts with its only dot, `.profile`, is kept).
fn shard_key(relative: &str) -> &str {
    let name_start = relative.rfind('/').map_or(0, |i| i + 1);
    match relative[name_start..].rfind('.') {
        Some(dot) if dot > 0 => &relative[..name_start + dot],
        _ => relative,
    }
}

impl Shard {
    /// Shard `index` of `count`, checked.
    pub fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        let shard = Shard { index, count };
        shard.check()?;
        Ok(shard)
    }

    /// Checks a shard read from elsewhere (a journal, a job file).
    pub fn check(self) -> Result<(), ShardError> {
        if self.count == 0 {
            return Err(ShardError::ZeroCount);
        }
        if self.index >= self.count {
            return Err(ShardError::IndexTooLarge {
                index: self.index,
                count: self.count,
            });
        }
        Ok(())
    }

    /// Parses `I/N` (spaces around the numbers allowed).
    pub fn parse(text: &str) -> Result<Shard, ShardError> {
        let syntax = || ShardError::Syntax(text.to_owned());
        let (index, count) = text.split_once('/').ok_or_else(syntax)?;
        let index: u32 = index.trim().parse().map_err(|_| syntax())?;
        let count: u32 = count.trim().parse().map_err(|_| syntax())?;
        Shard::new(index, count)
    }

    /// The shard (0..count) of the file at `relative` (its path relative to its input folder,
    /// `/` between folders; for a file given as an input itself, its name).
    pub fn of(relative: &str, count: u32) -> u32 {
        let hash = fmix64(fnv1a_64(shard_key(relative).as_bytes()));
        ((u128::from(hash) * u128::from(count)) >> 64) as u32
    }

    /// Whether the file at `relative` (see [`Shard::of`]) belongs to this shard.
    pub fn contains(self, relative: &str) -> bool {
        Shard::of(relative, self.count) == self.index
    }

    /// The file a shard writes instead of the whole job's `path`: `NAME.part-I-of-N.EXT`
    /// (`photos.zip` -> `photos.part-2-of-4.zip`).
    pub fn part_file_name(self, path: &Path) -> PathBuf {
        let part = format!("part-{}-of-{}", self.index, self.count);
        let Some(name) = path.file_name() else {
            return path.join(part);
        };
        let name = Path::new(name);
        let mut file = name.file_stem().unwrap_or_default().to_os_string();
        file.push(".");
        file.push(&part);
        if let Some(ext) = name.extension() {
            file.push(".");
            file.push(ext);
        }
        path.with_file_name(file)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = ShardError;
    fn from_str(s: &str) -> Result<Shard, ShardError> {
        Shard::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        // From the FNV reference (draft-eastlake-fnv, test vectors for FNV-1a 64).
        assert_eq!(fnv1a_64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn shards_parse_print_and_refuse() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(Shard::parse(" 0 / 1 ").unwrap().to_string(), "0/1");
        assert_eq!(
            Shard::parse("4/4"),
            Err(ShardError::IndexTooLarge { index: 4, count: 4 })
        );
        assert_eq!(Shard::parse("0/0"), Err(ShardError::ZeroCount));
        for bad in ["", "1", "a/4", "1/4/2", "-1/4", "1/"] {
            assert!(
                matches!(Shard::parse(bad), Err(ShardError::Syntax(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_file_is_in_exactly_one_shard_and_the_split_is_even() {
        let count = 4;
        let mut sizes = [0u32; 4];
        for i in 0..4000 {
            let path = format!("2024/day{}/IMG_{i:04}.JPG", i % 17);
            let owners: Vec<u32> = (0..count)
                .filter(|&s| Shard { index: s, count }.contains(&path))
                .collect();
            assert_eq!(owners.len(), 1, "{path}");
            sizes[owners[0] as usize] += 1;
        }
        // 1000 expected per shard; a fair split stays well within 10 %.
        for size in sizes {
            assert!((900..=1100).contains(&size), "{sizes:?}");
        }
    }

    #[test]
    fn names_that_differ_only_at_the_end_spread_over_the_shards() {
        // Short names differing in their last characters: FNV-1a's high bits alone put most of
        // these in one or two shards.
        for count in [2u32, 3, 4, 8] {
            let mut sizes = vec![0u32; count as usize];
            for i in 0..64 {
                sizes[Shard::of(&format!("set{}/img{i:02}.png", i % 3), count) as usize] += 1;
            }
            let fair = 64 / count;
            for &size in &sizes {
                assert!(size >= fair / 3, "{count} shards: {sizes:?}");
            }
        }
    }

    #[test]
    fn the_shard_of_a_name_never_changes() {
        // Fixed forever: a batch split across machines must agree on every file's shard, whatever
        // version of the program each runs.
        // Values from an independent implementation (Python) of the documented rule.
        assert_eq!(fmix64(fnv1a_64(b"a/x")), 0x9530_21a7_5799_5576);
        for (path, of_4, of_7) in [
            ("a/x.jpg", 2, 4),
            ("2024/IMG_0001.JPG", 3, 6),
            ("photos.txt", 3, 5),
            ("deep/er/name.tar.gz", 0, 1),
        ] {
            assert_eq!(
                (Shard::of(path, 4), Shard::of(path, 7)),
                (of_4, of_7),
                "{path}"
            );
        }
    }

    #[test]
    fn names_differing_only_by_extension_share_a_shard() {
        for count in [2, 3, 4, 7, 16] {
            for stem in ["a/x", "b/IMG_0001", "c", "d.e/f"] {
                assert_eq!(
                    Shard::of(&format!("{stem}.jpg"), count),
                    Shard::of(&format!("{stem}.png"), count)
                );
            }
        }
        assert_eq!(shard_key("a.b/c"), "a.b/c");
        assert_eq!(shard_key("a/.profile"), "a/.profile");
        assert_eq!(shard_key("x.tar.gz"), "x.tar");
    }

    #[test]
    fn part_names_keep_the_extension() {
        let s = Shard { index: 2, count: 4 };
        assert_eq!(
            s.part_file_name(Path::new("/out/photos.zip")),
            Path::new("/out/photos.part-2-of-4.zip")
        );
        assert_eq!(
            s.part_file_name(Path::new("out/photos")),
            Path::new("out/photos.part-2-of-4")
        );
    }
}
