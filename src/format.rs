//! Human-readable figures for both front ends (the window and the command line): sizes, counts,
//! speeds and durations, in one convention: decimal units ("12.4 MB", as file managers show
//! them), thousands separated by commas ("1,204").
//!
//! Owns: turning numbers into short text ("12.4 MB", "1,204", "3 min 05 s"), and a path's name
//! for a sentence.
//! Must not touch: egui, the engine, the file system, any front end's wording.

use std::time::Duration;

/// "0 B", "999 B", "1.5 kB", "12.4 MB", "3.02 GB" (decimal units, as file managers show them).
pub fn bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["kB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    let digits = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    format!("{value:.digits$} {}", UNITS[unit])
}

/// "12.4 MB/s".
pub fn speed(bytes_per_sec: f64) -> String {
    if !bytes_per_sec.is_finite() || bytes_per_sec <= 0.0 {
        return "–".to_owned();
    }
    format!("{}/s", bytes(bytes_per_sec.round() as u64))
}

/// "3.2 images/s", "12 images/s" (`unit` is the plural); "–" when nothing was measured.
pub fn rate(per_sec: f64, unit: &str) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        return "–".to_owned();
    }
    if per_sec < 10.0 {
        format!("{per_sec:.1} {unit}/s")
    } else {
        format!("{} {unit}/s", count(per_sec.round() as u64))
    }
}

/// "1,204,000".
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "1 file", "3 files".
pub fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{} {many}", count(n))
    }
}

/// "0.4 s", "12 s", "3 min 05 s", "2 h 03 min".
pub fn duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 10.0 {
        return format!("{secs:.1} s");
    }
    let whole = d.as_secs();
    if whole < 60 {
        format!("{whole} s")
    } else if whole < 3600 {
        format!("{} min {:02} s", whole / 60, whole % 60)
    } else {
        format!("{} h {:02} min", whole / 3600, (whole % 3600) / 60)
    }
}

/// An ETA, rounded up to whole seconds: "5 s left", "3 min 05 s left".
pub fn eta(d: Duration) -> String {
    let rounded = Duration::from_secs(d.as_secs() + u64::from(d.subsec_nanos() > 0));
    let text = if rounded.as_secs() < 60 {
        format!("{} s", rounded.as_secs())
    } else {
        duration(rounded)
    };
    format!("{text} left")
}

/// The last component of `path` ("photos.zip"), or the whole path when it has none.
pub fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// A whole percentage of `fraction` (0.0 to 1.0), never 100 before the end.
pub fn percent(fraction: f32, finished: bool) -> String {
    let value = (fraction.clamp(0.0, 1.0) * 100.0).floor() as u32;
    let value = if finished { value } else { value.min(99) };
    format!("{value} %")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1500), "1.50 kB");
        assert_eq!(bytes(12_400_000), "12.4 MB");
        assert_eq!(bytes(999_999_999), "1.00 GB");
        assert_eq!(bytes(123_456_789_000), "123 GB");
    }

    #[test]
    fn counts_and_plurals() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1234), "1,234");
        assert_eq!(count(1_204_000), "1,204,000");
        assert_eq!(plural(1, "file", "files"), "1 file");
        assert_eq!(plural(1000, "file", "files"), "1,000 files");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(Duration::from_millis(420)), "0.4 s");
        assert_eq!(duration(Duration::from_secs(12)), "12 s");
        assert_eq!(duration(Duration::from_secs(185)), "3 min 05 s");
        assert_eq!(duration(Duration::from_secs(7380)), "2 h 03 min");
        assert_eq!(eta(Duration::from_millis(4200)), "5 s left");
        assert_eq!(speed(0.0), "–");
        assert_eq!(speed(2_500_000.0), "2.50 MB/s");
        assert_eq!(rate(3.24, "images"), "3.2 images/s");
        assert_eq!(rate(1234.4, "images"), "1,234 images/s");
        assert_eq!(rate(0.0, "images"), "–");
    }

    #[test]
    fn percentages() {
        assert_eq!(percent(0.999, false), "99 %");
        assert_eq!(percent(1.0, false), "99 %");
        assert_eq!(percent(1.0, true), "100 %");
        assert_eq!(percent(0.42, false), "42 %");
    }
}
