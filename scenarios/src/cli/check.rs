//! `dsim check FILE --model MODEL`: is a history (dsim's, Jepsen's, Knossos' or Porcupine's)
//! linearizable?
//!
//! Exit status: 0 linearizable, 1 not linearizable, 3 unknown (a limit was reached), 2 bad
//! input. FILE may be a directory: every file in it is checked in name order, one line each,
//! and the exit status is the worst one (bad input, then not linearizable, then unknown).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::output::outln;
use std::time::Duration;

use checker::read::{self, Format};
use checker::{CheckOptions, CheckReport, ModelKind, ModelSpec, Value, Verdict};

/// Arguments of `dsim check`.
#[derive(clap::Args, Debug, Clone)]
pub struct CheckArgs {
    /// The history file, or a directory of history files.
    pub file: PathBuf,
    /// The model: register, cas-register, kv, multi-register or set.
    #[arg(long, value_parser = parse_model)]
    pub model: ModelKind,
    /// The file format: auto, jsonl, edn, etcd-log or kv-edn.
    #[arg(long, default_value = "auto", value_parser = parse_format)]
    pub format: Format,
    /// The initial value (e.g. 0 for Knossos' cas-register files): nil, an integer, a string, or
    /// a JSON list. Default: nil, and "" for kv.
    #[arg(long, value_parser = parse_value)]
    pub initial: Option<Value>,
    /// Give up with `unknown` after this many seconds (per file).
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Print one JSON object per file instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write a self-contained HTML report here (for a directory: a directory of reports).
    #[arg(long)]
    pub html: Option<PathBuf>,
}

/// Exit status for bad input.
const EXIT_BAD_INPUT: u8 = 2;

/// Runs `dsim check`.
pub fn run(args: &CheckArgs) -> ExitCode {
    let files = match files_of(&args.file) {
        Ok(files) => files,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let is_dir = args.file.is_dir();
    let mut worst = 0u8;
    for file in &files {
        let html = args.html.as_ref().map(|out| {
            if is_dir {
                let name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.join(format!("{name}.html"))
            } else {
                out.clone()
            }
        });
        let status = check_file(file, args, html.as_deref());
        worst = worse(worst, status);
    }
    ExitCode::from(worst)
}

/// Checks one file, prints its result, and returns its exit status.
///
/// The file is read as it is checked ([`checker::check_stream`]), so memory follows the
/// history's concurrency, not its length. With `--html` the page needs every operation, so
/// the whole history is read into memory first (about 200 bytes per operation).
pub fn check_file(file: &Path, args: &CheckArgs, html: Option<&Path>) -> u8 {
    let spec = ModelSpec {
        kind: args.model,
        initial: args.initial.clone(),
    };
    let mut options = CheckOptions::default();
    options.limits.timeout = args
        .timeout
        .filter(|t| t.is_finite() && *t >= 0.0)
        .map(Duration::from_secs_f64);
    let report = match html {
        Some(out) => check_whole(file, args, &spec, &options, out),
        None => read::open(file, args.format)
            .map_err(|err| err.to_string())
            .and_then(|events| {
                let source = events.source().to_owned();
                checker::check_stream(events, &source, &spec, &options)
                    .map_err(|err| err.to_string())
            }),
    };
    let report = match report {
        Ok(report) => report,
        Err(message) => return bad_input(file, args.json, &message),
    };
    if args.json {
        outln!("{}", json_line(file, &report));
    } else {
        print_text(file, &report);
    }
    exit_status(report.verdict)
}

/// Reads the whole history, checks it and writes the HTML page.
fn check_whole(
    file: &Path,
    args: &CheckArgs,
    spec: &ModelSpec,
    options: &CheckOptions,
    out: &Path,
) -> Result<CheckReport, String> {
    let history = read::read_file(file, args.format).map_err(|err| err.to_string())?;
    let report = checker::check_history(&history, spec, options).map_err(|err| err.to_string())?;
    write_html(out, file, &history, &report)?;
    Ok(report)
}

/// The exit status of a verdict.
pub fn exit_status(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Linearizable => 0,
        Verdict::NotLinearizable => 1,
        Verdict::Unknown => 3,
    }
}

/// The worse of two exit statuses: bad input, then not linearizable, then unknown, then ok.
fn worse(a: u8, b: u8) -> u8 {
    let rank = |status: u8| match status {
        0 => 0,
        3 => 1,
        1 => 2,
        _ => 3,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// The file itself, or a directory's files in name order (at least one; subdirectories are
/// not entered, and a directory of only subdirectories names them).
fn files_of(path: &Path) -> Result<Vec<PathBuf>, String> {
    if !path.is_dir() {
        if !path.exists() {
            return Err(format!(
                "{}: no such file or directory; expected a history file or a directory",
                path.display()
            ));
        }
        return Ok(vec![path.to_path_buf()]);
    }
    let entries =
        std::fs::read_dir(path).map_err(|e| format!("{}: cannot list: {e}", path.display()))?;
    let (mut files, mut dirs): (Vec<PathBuf>, Vec<PathBuf>) = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .partition(|p| p.is_file());
    if files.is_empty() {
        dirs.sort();
        let names: Vec<String> = dirs
            .iter()
            .filter_map(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        let hint = if names.is_empty() {
            String::new()
        } else {
            format!(
                " (subdirectories are not entered; check one of: {})",
                names.join(", ")
            )
        };
        return Err(format!(
            "{}: no history files in this directory{hint}",
            path.display()
        ));
    }
    files.sort();
    Ok(files)
}

fn bad_input(file: &Path, json: bool, message: &str) -> u8 {
    eprintln!("{message}");
    if json {
        let line = serde_json::json!({ "file": file.display().to_string(), "verdict": "error", "error": message });
        outln!("{line}");
    }
    EXIT_BAD_INPUT
}

fn json_line(file: &Path, report: &CheckReport) -> String {
    let mut value = serde_json::to_value(report).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("file".to_owned(), file.display().to_string().into());
    }
    value.to_string()
}

fn print_text(file: &Path, report: &CheckReport) {
    outln!(
        "{}: {} ({} ops, {} partitions, read and checked in {:.1} ms, at most {} ops held)",
        file.display(),
        report.verdict.name(),
        report.ops,
        report.partitions.len(),
        report.elapsed_ms,
        report.held_ops_max
    );
    if let Some(reason) = &report.reason {
        outln!("  unknown because: {reason}");
    }
    if let Some(explanation) = &report.explanation {
        for line in explanation.to_string().lines() {
            outln!("  {line}");
        }
    }
}

fn write_html(
    out: &Path,
    file: &Path,
    history: &checker::History,
    report: &CheckReport,
) -> Result<(), String> {
    let ops = history.operations().map_err(|e| e.to_string())?;
    let page = checker::render_html(&file.display().to_string(), &ops, report);
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    }
    std::fs::write(out, page).map_err(|e| format!("{}: cannot write: {e}", out.display()))
}

fn parse_model(s: &str) -> Result<ModelKind, String> {
    s.parse()
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

/// `nil`/`null`, an integer, a JSON string or list, or else the text as a string.
fn parse_value(s: &str) -> Result<Value, String> {
    if s == "nil" {
        return Ok(Value::Nil);
    }
    Ok(serde_json::from_str::<Value>(s).unwrap_or_else(|_| Value::Str(s.to_owned())))
}
