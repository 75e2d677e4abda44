//! `dsim run` and `dsim list`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use scenarios::{RunError, RunOptions, Scenario, registry};

/// Arguments of `dsim run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// The scenario file.
    file: PathBuf,
    /// Seed (default: the scenario's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Print one JSON object instead of the human summary.
    #[arg(long)]
    json: bool,
    /// Write history.jsonl, trace.jsonl, summary.json and scenario.json into this directory, and
    /// for people report.html, shiviz.log and trace.perfetto.json.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Run twice in lockstep and fail at the first event where the runs differ.
    #[arg(long)]
    verify_determinism: bool,
}

/// Arguments of `dsim replay`.
#[derive(clap::Args)]
pub struct ReplayArgs {
    /// A directory written by `dsim run --out`.
    dir: PathBuf,
    /// Print the new run's JSON summary.
    #[arg(long)]
    json: bool,
}

/// Arguments of `dsim list`.
#[derive(clap::Args)]
pub struct ListArgs {
    /// Where the library scenarios live.
    #[arg(long, default_value = "scenarios/library")]
    library: PathBuf,
}

const EXIT_FAIL: u8 = 1;
const EXIT_BAD_INPUT: u8 = 2;

/// Runs `dsim run`.
pub fn run(args: &RunArgs) -> ExitCode {
    match run_inner(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(EXIT_FAIL),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

fn run_inner(args: &RunArgs) -> Result<bool, RunError> {
    let scenario = Scenario::from_file(&args.file)?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).map_err(|e| output_error(dir, &e))?;
    }
    let options = RunOptions {
        seed: args.seed,
        trace_path: args.out.as_ref().map(|d| d.join("trace.jsonl")),
        verify_determinism: args.verify_determinism,
    };
    let report = scenarios::run(&scenario, &options)?;
    let summary = serde_json::to_string_pretty(&report.summary()).unwrap_or_default();
    if let Some(dir) = &args.out {
        write(&dir.join("summary.json"), summary.as_bytes())?;
        write(&dir.join("scenario.json"), scenario.text.as_bytes())?;
        let mut history = String::new();
        for event in &report.history {
            history.push_str(&serde_json::to_string(event).unwrap_or_default());
            history.push('\n');
        }
        write(&dir.join("history.jsonl"), history.as_bytes())?;
        write_artefacts(dir, &report)?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&report.summary()).unwrap_or_default()
        );
    } else {
        print!("{}", report.to_text());
        if !report.ok {
            let seed = report.seed;
            println!("reproduce: dsim run {} --seed {seed}", args.file.display());
        }
    }
    Ok(report.ok)
}

/// Writes the artefacts for people, read back from the trace file the run just wrote.
fn write_artefacts(dir: &Path, report: &scenarios::RunReport) -> Result<(), RunError> {
    let trace_path = dir.join("trace.jsonl");
    let trace =
        scenarios::trace_events::read(&trace_path).map_err(|e| output_error(&trace_path, &e))?;
    write(
        &dir.join("report.html"),
        scenarios::html_report::render(report, &trace).as_bytes(),
    )?;
    write(
        &dir.join("shiviz.log"),
        scenarios::export_shiviz::render(&trace).as_bytes(),
    )?;
    write(
        &dir.join("trace.perfetto.json"),
        scenarios::export_perfetto::render(&trace).as_bytes(),
    )
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    std::fs::write(path, bytes).map_err(|e| output_error(path, &e))
}

fn output_error(path: &Path, e: &std::io::Error) -> RunError {
    RunError::Output {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Runs `dsim list`.
pub fn list(args: &ListArgs) -> ExitCode {
    println!("protocols:");
    for p in registry::all() {
        let model = p.model.map_or(String::new(), |m| format!(" [model: {m}]"));
        println!("  {:<12} {}{model}", p.name, p.description);
        for bug in p.bugs {
            println!("      bug {:<28} {}", bug.name, bug.description);
        }
    }
    println!("checks: linearizable, invariants");
    println!("library ({}):", args.library.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&args.library)
        .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    for file in files {
        match Scenario::from_file(&file) {
            Ok(s) => println!("  {:<28} {}", s.name, s.spec.description),
            Err(e) => println!("  {:<28} INVALID: {e}", file.display()),
        }
    }
    ExitCode::SUCCESS
}

/// Runs `dsim replay`.
pub fn replay(args: &ReplayArgs) -> ExitCode {
    match scenarios::replay::replay(&args.dir) {
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
        Ok(replay) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string(&replay.report.summary()).unwrap_or_default()
                );
            } else {
                print!("{}", replay.report.to_text());
            }
            let new_hash = format!("{:016x}", replay.report.trace_hash);
            if replay.matches() {
                eprintln!("replay: same trace hash {new_hash} as recorded");
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "replay: DIFFERENT trace hash: recorded {}, now {new_hash}",
                    replay.recorded_hash
                );
                ExitCode::from(EXIT_FAIL)
            }
        }
    }
}

/// Arguments of `dsim shrink`.
#[derive(clap::Args)]
pub struct ShrinkArgs {
    /// The scenario file.
    file: PathBuf,
    /// The failing seed.
    #[arg(long)]
    seed: u64,
    /// The check that must keep failing (default: the first failing one).
    #[arg(long)]
    check: Option<String>,
    /// Where to write the shrunk scenario (default: FILE-seedN-shrunk.json in the current directory).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Most runs to spend.
    #[arg(long, default_value_t = 1000)]
    runs_max: u32,
}

/// Runs `dsim shrink`.
pub fn shrink(args: &ShrinkArgs) -> ExitCode {
    let scenario = match Scenario::from_file(&args.file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let shrunk =
        match scenarios::shrink::shrink(&scenario, args.seed, args.check.as_deref(), args.runs_max)
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        };
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!("{}-seed{}-shrunk.json", scenario.name, args.seed))
    });
    if let Err(e) = write(
        &out,
        scenarios::shrink::to_file_text(&shrunk, args.seed).as_bytes(),
    ) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    for step in &shrunk.steps {
        println!("  kept: {step}");
    }
    println!("{}", shrunk.summary());
    println!("reproduce: dsim run {} --seed {}", out.display(), args.seed);
    ExitCode::SUCCESS
}
