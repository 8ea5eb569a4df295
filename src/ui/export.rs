//! A finished job's problem list (errors and skipped items) as text to copy, or as a CSV or JSON
//! file the person picks; files are written on the `shrinkwrap-export` helper thread (started at
//! the first export).
//!
//! Formats: CSV per RFC 4180 with a header row `kind,path,cause` (`kind` is `error` or
//! `skipped`), written by the `csv` crate; JSON is one object `{"job", "outcome", "problems":
//! [{"path", "kind", "cause"}]}` (the engine's `ItemProblem` serialization, as in `--json`).
//! Both list errors first, then skipped items, as the window does.
//!
//! Owns: [`ExportFormat`], [`ProblemExport`], the text for the clipboard, [`Exporter`] (the
//! writer thread).
//! Must not touch: the frame code's thread with file I/O, the dialog (the window asks where).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::engine::{ItemProblem, ProblemKind};

use super::helper::{Helper, Reply, Waker, Work};

/// Exports waiting for the writer thread.
const EXPORT_CHANNEL_CAPACITY: usize = 4;

/// The file formats a problem list can be exported to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ExportFormat::Csv => "CSV",
            ExportFormat::Json => "JSON",
        }
    }
}

/// A job's problems, ready to write.
#[derive(Debug, Clone)]
pub struct ProblemExport {
    /// The job's name (the archive or the thumbnails' folder).
    pub job: String,
    /// The job's outcome line ("done with 2 errors").
    pub outcome: String,
    /// Errors first, then skipped items.
    pub problems: Vec<ItemProblem>,
}

fn kind_word(kind: ProblemKind) -> &'static str {
    match kind {
        ProblemKind::Error => "error",
        ProblemKind::Skipped => "skipped",
    }
}

fn path_text(problem: &ItemProblem) -> String {
    if problem.path.as_os_str().is_empty() {
        "(job)".to_owned()
    } else {
        problem.path.display().to_string()
    }
}

impl ProblemExport {
    /// The list as plain text for the clipboard: one line per problem, "error: path: cause".
    pub fn clipboard_text(&self) -> String {
        let mut text = String::new();
        for problem in &self.problems {
            text.push_str(kind_word(problem.kind));
            text.push_str(": ");
            text.push_str(&path_text(problem));
            text.push_str(": ");
            text.push_str(&problem.cause.to_string());
            text.push('\n');
        }
        text
    }

    /// Writes the list to `out` in `format`.
    pub fn write(&self, format: ExportFormat, out: impl Write) -> Result<(), String> {
        match format {
            ExportFormat::Csv => {
                let mut writer = csv::Writer::from_writer(out);
                writer
                    .write_record(["kind", "path", "cause"])
                    .map_err(|e| e.to_string())?;
                for problem in &self.problems {
                    writer
                        .write_record([
                            kind_word(problem.kind),
                            &path_text(problem),
                            &problem.cause.to_string(),
                        ])
                        .map_err(|e| e.to_string())?;
                }
                writer.flush().map_err(|e| e.to_string())
            }
            ExportFormat::Json => {
                #[derive(serde::Serialize)]
                struct Document<'a> {
                    job: &'a str,
                    outcome: &'a str,
                    problems: &'a [ItemProblem],
                }
                let mut out = out;
                serde_json::to_writer_pretty(
                    &mut out,
                    &Document {
                        job: &self.job,
                        outcome: &self.outcome,
                        problems: &self.problems,
                    },
                )
                .map_err(|e| e.to_string())?;
                out.write_all(b"\n").map_err(|e| e.to_string())
            }
        }
    }

    /// Writes the file (through a temporary file renamed into place, so a failed export leaves
    /// no half file). `Ok` is the notice that says where it went.
    pub fn write_file(&self, format: ExportFormat, path: &Path) -> Result<String, String> {
        let folder = crate::engine::parent_dir(path);
        let why = |e: String| format!("Cannot export to {}: {e}.", path.display());
        let mut temp = tempfile::Builder::new()
            .prefix(".shrinkwrap-export")
            .tempfile_in(folder)
            .map_err(|e| why(crate::engine::IoCause::of(e).to_string()))?;
        let mut buffered = std::io::BufWriter::new(temp.as_file_mut());
        self.write(format, &mut buffered).map_err(why)?;
        buffered.flush().map_err(|e| why(e.to_string()))?;
        drop(buffered);
        temp.persist(path)
            .map_err(|e| why(crate::engine::IoCause::of(e.error).to_string()))?;
        Ok(format!(
            "Exported {} to {}.",
            super::format::plural(self.problems.len() as u64, "problem", "problems"),
            path.display()
        ))
    }
}

/// One file to write.
pub struct ExportRequest {
    pub export: ProblemExport,
    pub format: ExportFormat,
    pub path: PathBuf,
}

/// Writes exports on the helper thread.
struct ExportWork;

impl Work for ExportWork {
    type Request = ExportRequest;
    /// The notice: where the file went, or why it could not be written.
    type Result = Result<String, String>;

    fn run(&mut self, request: &ExportRequest, reply: &Reply<Self::Result>) {
        reply.send(request.export.write_file(request.format, &request.path));
    }

    fn panicked(&mut self, request: &ExportRequest, message: &str, reply: &Reply<Self::Result>) {
        reply.send(Err(format!(
            "Cannot export to {}: {message}.",
            request.path.display()
        )));
    }
}

/// Writes problem lists to files, off the frame code's thread.
pub struct Exporter {
    helper: Option<Helper<ExportWork>>,
    /// A notice made here (the thread could not be started, or is busy).
    refused: Option<String>,
    waker: Waker,
}

impl Exporter {
    pub fn new(waker: Waker) -> Exporter {
        Exporter {
            helper: None,
            refused: None,
            waker,
        }
    }

    /// Writes `request` on the helper thread; its notice comes back through
    /// [`Exporter::try_recv`].
    pub fn export(&mut self, request: ExportRequest) {
        if self.helper.is_none() {
            match Helper::start(
                "shrinkwrap-export",
                EXPORT_CHANNEL_CAPACITY,
                self.waker.clone(),
                ExportWork,
            ) {
                Ok(helper) => self.helper = Some(helper),
                Err(err) => {
                    self.refused = Some(format!("Cannot start the export: {err}."));
                    return;
                }
            }
        }
        if let Some(helper) = &self.helper
            && let Err(refused) = helper.try_send(request)
        {
            self.refused = Some(format!(
                "Not exported to {}: earlier exports are still being written.",
                refused.into_inner().path.display()
            ));
        }
    }

    /// A finished export's notice (never blocks).
    pub fn try_recv(&mut self) -> Option<Result<String, String>> {
        if let Some(text) = self.refused.take() {
            return Some(Err(text));
        }
        self.helper.as_ref()?.try_recv()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Cause, SkipReason};

    fn sample() -> ProblemExport {
        ProblemExport {
            job: "thumbnails".to_owned(),
            outcome: "done with 1 error".to_owned(),
            problems: vec![
                ItemProblem {
                    path: PathBuf::from("/photos/bad, \"quoted\".png"),
                    kind: ProblemKind::Error,
                    cause: Cause::Note("cannot decode: truncated".to_owned()),
                },
                ItemProblem {
                    path: PathBuf::from("/photos/notes.txt"),
                    kind: ProblemKind::Skipped,
                    cause: Cause::Plan(SkipReason::NotAnImage),
                },
            ],
        }
    }

    #[test]
    fn csv_quotes_and_json_round_trip() {
        let export = sample();
        let mut csv_bytes = Vec::new();
        export.write(ExportFormat::Csv, &mut csv_bytes).unwrap();
        let mut reader = csv::Reader::from_reader(csv_bytes.as_slice());
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        assert_eq!(
            rows[0],
            [
                "error",
                "/photos/bad, \"quoted\".png",
                "cannot decode: truncated"
            ]
        );
        assert_eq!(rows[1][0], "skipped");
        assert_eq!(rows.len(), 2);

        let mut json = Vec::new();
        export.write(ExportFormat::Json, &mut json).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["job"], "thumbnails");
        assert_eq!(v["problems"][0]["kind"], "error");
        assert_eq!(v["problems"][1]["path"], "/photos/notes.txt");
        assert_eq!(
            v["problems"][1]["cause"],
            SkipReason::NotAnImage.to_string()
        );

        let text = export.clipboard_text();
        assert_eq!(text.lines().count(), 2);
        assert!(text.starts_with("error: /photos/bad"));
    }

    #[test]
    fn a_file_goes_in_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("problems.csv");
        let notice = sample().write_file(ExportFormat::Csv, &path).unwrap();
        assert!(notice.contains("2 problems"), "{notice}");
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .starts_with("kind,path,cause")
        );
        let missing = dir.path().join("no/such/folder/p.json");
        let err = sample()
            .write_file(ExportFormat::Json, &missing)
            .unwrap_err();
        assert!(err.starts_with("Cannot export to"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
