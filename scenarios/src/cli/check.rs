//! `dsim check FILE --model MODEL`: is a history (dsim's, Jepsen's, Knossos' or Porcupine's)
//! linearizable?
//!
//! Exit status: 0 linearizable, 1 not linearizable, 3 unknown (a limit was reached), 2 bad
//! input. FILE may be a directory: every file in it is checked in name order, one line each,
//! and the exit status is the worst one (bad input, then not linearizable, then unknown).
//!
//! No input runs unbounded: a check gives up with `unknown` after `--timeout` seconds per file
//! ([`TIMEOUT_SECS_DEFAULT`]) or when one key's search has visited `--budget-states`
//! configurations ([`BUDGET_STATES_DEFAULT`], reached in 3 to 6 s on a 2-core machine in the
//! worst case we know: 30 concurrent writes and a read that can only be placed after all of
//! them). The wall-clock limit covers many keys and any input; the state budget is
//! the same on every machine. On a terminal, a check that takes more than a second shows the
//! configurations searched so far on stderr.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::output::outln;

use checker::read::{self, Format};
use checker::{CheckOptions, CheckReport, ModelKind, ModelSpec, Progress, Value, Verdict};

/// The default of `--timeout`: seconds one file's check may take.
pub const TIMEOUT_SECS_DEFAULT: u64 = 60;

/// The least and the most `--timeout` accepts, in seconds (one millisecond, one week).
pub const TIMEOUT_SECS_RANGE: (f64, f64) = (0.001, 604_800.0);

/// The default of `--budget-states`: configurations one key's search may visit. Public
/// histories need at most some 15,000 (etcd_002); the worst case we know visits 350,000 to
/// 700,000 a second on a 2-core machine (less as its memo grows: 5,000,000 took 19 s with
/// the machine loaded), so this budget ends it in 3 to 6 s, with 180 MB.
pub const BUDGET_STATES_DEFAULT: u64 = 2_000_000;

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
    /// Give up with `unknown` (exit 3) after this many seconds per file: from 0.001 to 604800
    /// (one week).
    #[arg(long, value_name = "SECS", default_value_t = TIMEOUT_SECS_DEFAULT as f64, value_parser = parse_timeout, allow_hyphen_values = true)]
    pub timeout: f64,
    /// Give up with `unknown` (exit 3) once one key's search has visited this many
    /// configurations: a bound that, unlike --timeout, is the same on every machine. At
    /// least 1.
    #[arg(long, value_name = "STATES", default_value_t = BUDGET_STATES_DEFAULT, value_parser = clap::value_parser!(u64).range(1..))]
    pub budget_states: u64,
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
    let mut options = options_of(args);
    let spinner = std::io::stderr()
        .is_terminal()
        .then(|| Spinner::start(file, &mut options));
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
    drop(spinner);
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

/// The checker's options for `args`: its time limit and state budget.
fn options_of(args: &CheckArgs) -> CheckOptions {
    let mut options = CheckOptions::default();
    options.limits.timeout = Some(Duration::from_secs_f64(args.timeout));
    options.limits.search_budget_states = args.budget_states;
    options
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
        // A path that is there but cannot be looked at (a symlink loop, a folder on the way
        // that cannot be searched) says why, not that it is missing.
        return match std::fs::metadata(path) {
            Ok(_) => Ok(vec![path.to_path_buf()]),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
                "{}: no such file or directory; expected a history file or a directory",
                path.display()
            )),
            Err(e) => Err(format!("{}: cannot read: {e}", path.display())),
        };
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
        if reason.contains("search_budget_states") {
            outln!("  (raise the budget with --budget-states STATES)");
        } else if reason.contains("time limit") {
            outln!("  (allow more time with --timeout SECS)");
        }
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

/// A progress line on stderr while a check runs: configurations searched and time spent,
/// shown from the first second on and cleared when dropped.
struct Spinner {
    /// Dropped (disconnected) to stop the drawing thread.
    done: Option<mpsc::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Spinner {
    /// How long a check runs before its progress shows.
    const QUIET: Duration = Duration::from_secs(1);
    /// How often the line is redrawn.
    const TICK: Duration = Duration::from_millis(200);

    /// Starts showing the progress of checking `file` with `options` (which it fills in).
    fn start(file: &Path, options: &mut CheckOptions) -> Spinner {
        let progress = Arc::new(Progress::default());
        options.progress = Some(Arc::clone(&progress));
        let (done, stopped) = mpsc::channel::<()>();
        let name = file.display().to_string();
        let thread = thread::spawn(move || {
            let start = Instant::now();
            if stopped.recv_timeout(Self::QUIET) != Err(RecvTimeoutError::Timeout) {
                return;
            }
            // Built hidden and shown once filled in, so the first frame is a whole one.
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
                .with_style(
                    ProgressStyle::with_template("{spinner} checking {prefix}: {msg} [{elapsed}]")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                )
                .with_prefix(name)
                .with_elapsed(start.elapsed());
            bar.set_draw_target(ProgressDrawTarget::stderr());
            loop {
                bar.set_message(format!(
                    "{} configurations searched",
                    progress.configurations()
                ));
                bar.tick();
                if stopped.recv_timeout(Self::TICK) != Err(RecvTimeoutError::Timeout) {
                    break;
                }
            }
            bar.finish_and_clear();
        });
        Spinner {
            done: Some(done),
            thread: Some(thread),
        }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        drop(self.done.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `--timeout`: a finite number of seconds in [`TIMEOUT_SECS_RANGE`].
fn parse_timeout(s: &str) -> Result<f64, String> {
    let (min, max) = TIMEOUT_SECS_RANGE;
    match s.trim().parse::<f64>() {
        Ok(secs) if (min..=max).contains(&secs) => Ok(secs),
        _ => Err(format!(
            "expected a number of seconds from {min} to {max} (one week), found {s:?}"
        )),
    }
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        check: CheckArgs,
    }

    /// Without flags, a check has the documented wall-clock limit and state budget.
    #[test]
    fn the_default_budget_applies() {
        let cli = Cli::try_parse_from(["check", "h.edn", "--model", "register"]).unwrap();
        let options = options_of(&cli.check);
        assert_eq!(
            options.limits.timeout,
            Some(Duration::from_secs(TIMEOUT_SECS_DEFAULT))
        );
        assert_eq!(options.limits.search_budget_states, BUDGET_STATES_DEFAULT);
        let cli = Cli::try_parse_from([
            "check",
            "h.edn",
            "--model",
            "register",
            "--timeout",
            "0.5",
            "--budget-states",
            "7",
        ])
        .unwrap();
        let options = options_of(&cli.check);
        assert_eq!(options.limits.timeout, Some(Duration::from_millis(500)));
        assert_eq!(options.limits.search_budget_states, 7);
    }

    /// `--timeout` takes finite seconds from a millisecond to a week, nothing else.
    #[test]
    fn timeouts_out_of_range_are_refused() {
        for good in ["0.001", "1", "60", "604800", " 2.5 "] {
            assert!(parse_timeout(good).is_ok(), "{good}");
        }
        for bad in [
            "1e20", "NaN", "nan", "inf", "-inf", "-1", "0", "0.0001", "604801", "", "abc",
        ] {
            let message = parse_timeout(bad).unwrap_err();
            assert!(message.contains("from 0.001 to 604800"), "{bad}: {message}");
        }
    }
}
