//! `shrinkwrap thumbs`: its arguments, and the command-line names of the thumbnail kind's
//! options (formats, metadata policies, conflict policies).
//!
//! Must not touch: the defaults and ranges (the thumbnail kind's spec: every default here is
//! the engine's), running jobs.

use std::path::PathBuf;

use clap::{ArgMatches, Args, FromArgMatches, ValueEnum};

use super::{ArgsError, CliKind};
use crate::engine::{
    ColorMode, ConflictPolicy, DEFAULT_JPEG_QUALITY, DEFAULT_THUMB_SIDE_PX, Fit, JobKind,
    JobSpec, MAX_QUALITY, MAX_THUMB_SIDE_PX, MIN_QUALITY, MetadataPolicy, ThumbFormat, ThumbSize,
    ThumbSpec,
};

/// An argument's values named after an engine enum's variants, both ways (exhaustive, so a new
/// engine variant needs its name here).
macro_rules! mirror {
    ($arg:ident <-> $engine:ident { $($variant:ident),* $(,)? }) => {
        impl From<$arg> for $engine {
            fn from(value: $arg) -> $engine {
                match value {
                    $($arg::$variant => $engine::$variant,)*
                }
            }
        }

        impl From<$engine> for $arg {
            fn from(value: $engine) -> $arg {
                match value {
                    $($engine::$variant => $arg::$variant,)*
                }
            }
        }
    };
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    Jpeg,
    Png,
    Webp,
}

mirror!(FormatArg <-> ThumbFormat { Jpeg, Png, Webp });

#[derive(Clone, Copy, Debug, ValueEnum)]
enum MetadataArg {
    /// No EXIF and no XMP.
    Strip,
    /// Copyright, artist, date taken, camera and lens; no GPS, serial numbers or maker notes.
    KeepSafe,
    /// All EXIF and XMP.
    Keep,
}

mirror!(MetadataArg <-> MetadataPolicy { Strip, KeepSafe, Keep });

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ConflictArg {
    Update,
    Rename,
    Overwrite,
    Skip,
}

mirror!(ConflictArg <-> ConflictPolicy { Update, Rename, Overwrite, Skip });

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FitArg {
    /// The whole image inside the box, its shape kept.
    Contain,
    /// Fill the box, its shape kept, and crop the overflow (centred, or around the subject the
    /// photo's EXIF names).
    Cover,
    /// Stretch to exactly the box.
    Exact,
}

mirror!(FitArg <-> Fit { Contain, Cover, Exact });

/// `--size`: `N` (a square) or `WxH`, each side 1 to the engine's largest.
fn parse_size(text: &str) -> Result<ThumbSize, String> {
    let size: ThumbSize = text.parse().map_err(|e: crate::engine::BadThumbSize| e.to_string())?;
    if size.in_range() {
        Ok(size)
    } else {
        Err(format!("each side must be 1 to {MAX_THUMB_SIDE_PX} pixels"))
    }
}

#[derive(Args, Debug)]
struct ThumbsArgs {
    /// Image files and folders.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// The folder to write thumbnails into (input folder structure is kept).
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
    /// The thumbnail's box in pixels: 256 (a square) or 320x200 (width x height). Repeat for
    /// several sizes from one decode: --size 256 --size 1024. {size} in --name writes it.
    #[arg(short, long, value_name = "PX|WxH", default_values_t = [ThumbSize::square(DEFAULT_THUMB_SIDE_PX)], value_parser = parse_size)]
    size: Vec<ThumbSize>,
    /// How the image goes in the box: inside it (contain), filling it with the overflow cropped
    /// (cover), or stretched to it (exact).
    #[arg(long, value_enum, default_value_t = Fit::default().into())]
    fit: FitArg,
    /// Enlarge images smaller than the box (by default a small image keeps its size, or with
    /// cover/exact the largest box of the same shape that it fills).
    #[arg(long)]
    upscale: bool,
    /// Output file name (the format's extension is added): {stem}, {size}, {ext} (the source's
    /// extension), {parent} (the source's folder). Default {stem}, or {stem}_{size} with several
    /// sizes.
    #[arg(long, value_name = "TEMPLATE")]
    name: Option<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = ThumbFormat::default().into())]
    format: FormatArg,
    /// JPEG and WebP quality.
    #[arg(short, long, value_name = "1-100", default_value_t = DEFAULT_JPEG_QUALITY, value_parser = clap::value_parser!(u8).range(i64::from(MIN_QUALITY)..=i64::from(MAX_QUALITY)))]
    quality: u8,
    /// WebP: lossless instead of lossy.
    #[arg(long)]
    lossless: bool,
    /// What EXIF/XMP metadata to keep. The orientation is always applied to the pixels.
    #[arg(long, value_enum, default_value_t = MetadataPolicy::default().into())]
    metadata: MetadataArg,
    /// Keep the source's ICC colour profile embedded instead of converting to sRGB.
    #[arg(long)]
    keep_icc: bool,
    /// When a thumbnail exists: replace it only when its source is newer (update), pick
    /// "name (1).jpg" (rename), replace it (overwrite), or keep it (skip). Inputs are never
    /// replaced, whatever the choice.
    #[arg(long, value_enum, default_value_t = ConflictPolicy::default().into())]
    on_conflict: ConflictArg,
}

/// The thumbnail kind on the command line.
pub(super) struct ThumbsCli;

impl CliKind for ThumbsCli {
    fn kind(&self) -> JobKind {
        crate::engine::kinds::thumbs::KIND
    }

    fn subcommand(&self, command: clap::Command) -> clap::Command {
        ThumbsArgs::augment_args(command.about("Make thumbnails of the images among the inputs"))
    }

    fn specs(&self, matches: &ArgMatches) -> Result<Vec<JobSpec>, ArgsError> {
        let a = ThumbsArgs::from_arg_matches(matches)?;
        let defaults = ThumbSpec::new(a.inputs, a.output);
        Ok(vec![JobSpec::Thumbs(ThumbSpec {
            sizes: a.size,
            fit: a.fit.into(),
            upscale: a.upscale,
            name_template: a.name,
            format: a.format.into(),
            quality: a.quality,
            lossless: a.lossless,
            metadata: a.metadata.into(),
            color: if a.keep_icc {
                ColorMode::KeepProfile
            } else {
                defaults.color
            },
            on_conflict: a.on_conflict.into(),
            ..defaults
        })])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command() -> clap::Command {
        ThumbsCli.subcommand(clap::Command::new("thumbs").no_binary_name(true))
    }

    #[test]
    fn every_option_reaches_the_spec() {
        let matches = command()
            .try_get_matches_from([
                "p",
                "q",
                "-o",
                "t",
                "-s",
                "64",
                "-s",
                "320x200",
                "--fit",
                "cover",
                "--upscale",
                "--name",
                "{parent}-{stem}",
                "-f",
                "webp",
                "-q",
                "70",
                "--lossless",
                "--metadata",
                "keep-safe",
                "--keep-icc",
                "--on-conflict",
                "rename",
            ])
            .unwrap();
        let Ok(specs) = ThumbsCli.specs(&matches) else {
            panic!("arguments refused")
        };
        assert_eq!(
            specs,
            vec![JobSpec::Thumbs(ThumbSpec {
                sizes: vec![ThumbSize::square(64), ThumbSize::new(320, 200)],
                fit: Fit::Cover,
                upscale: true,
                name_template: Some("{parent}-{stem}".to_owned()),
                format: ThumbFormat::Webp,
                quality: 70,
                lossless: true,
                metadata: MetadataPolicy::KeepSafe,
                color: ColorMode::KeepProfile,
                on_conflict: ConflictPolicy::Rename,
                ..ThumbSpec::new(vec!["p".into(), "q".into()], "t".into())
            })]
        );
    }

    #[test]
    fn names_and_ranges_are_the_engines() {
        for format in ThumbFormat::ALL {
            assert_eq!(ThumbFormat::from(FormatArg::from(format)), format);
        }
        for policy in ConflictPolicy::ALL {
            assert_eq!(ConflictPolicy::from(ConflictArg::from(policy)), policy);
        }
        let command = command();
        let quality = command
            .get_arguments()
            .find(|a| a.get_id() == "quality")
            .unwrap();
        let names: Vec<_> = quality.get_value_names().unwrap().iter().collect();
        assert_eq!(
            names.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
            vec![format!("{MIN_QUALITY}-{MAX_QUALITY}")]
        );
        for (quality, accepted) in [
            (MIN_QUALITY - 1, false),
            (MIN_QUALITY, true),
            (MAX_QUALITY, true),
            (MAX_QUALITY + 1, false),
        ] {
            let parsed = command.clone().try_get_matches_from([
                "p".to_owned(),
                "-o".to_owned(),
                "t".to_owned(),
                "-q".to_owned(),
                quality.to_string(),
            ]);
            assert_eq!(parsed.is_ok(), accepted, "quality {quality}");
        }
    }

    #[test]
    fn sizes_are_squares_or_boxes_within_range() {
        let size = |text: &str| {
            command()
                .try_get_matches_from(["p", "-o", "t", "-s", text])
                .map_err(|e| e.to_string())
                .and_then(|m| ThumbsCli.specs(&m).map_err(|_| "refused".to_owned()))
                .map(|specs| match &specs[0] {
                    JobSpec::Thumbs(t) => t.sizes.clone(),
                    _ => unreachable!(),
                })
        };
        assert_eq!(size("256"), Ok(vec![ThumbSize::square(256)]));
        assert_eq!(size("1920x1080"), Ok(vec![ThumbSize::new(1920, 1080)]));
        assert!(size("0").is_err());
        assert!(size("16385x10").is_err());
        let err = size("wide").unwrap_err();
        assert!(err.contains("320x200"), "{err}");
    }
}
