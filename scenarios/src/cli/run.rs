//! `dsim run` and `dsim list`.

use std::path::PathBuf;
use std::process::ExitCode;

use super::Context;
use super::output::{out, outln};
use crate::out_dir::{self, output_error, write};
use crate::registry::Registry;
use crate::{RunError, RunOptions, Scenario};

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
    /// List the scenario files in this directory instead of the built-in library.
    #[arg(long, value_name = "DIR")]
    library: Option<PathBuf>,
}

const EXIT_FAIL: u8 = 1;
const EXIT_BAD_INPUT: u8 = 2;

/// Runs `dsim run`.
pub fn run(context: &Context<'_>, args: &RunArgs) -> ExitCode {
    match run_inner(context, args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(EXIT_FAIL),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

fn run_inner(context: &Context<'_>, args: &RunArgs) -> Result<bool, RunError> {
    let scenario = crate::library::file_or_library(&args.file)?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).map_err(|e| output_error(dir, &e))?;
    }
    let options = RunOptions {
        seed: args.seed,
        trace_path: args.out.as_ref().map(|d| d.join(out_dir::TRACE)),
        verify_determinism: args.verify_determinism,
    };
    let report = context.registry.run(&scenario, &options)?;
    if let Some(dir) = &args.out {
        // The summary goes last: it records the digest of every other file.
        let files = out_dir::write_files(dir, &scenario.text, &report)?;
        let summary = report.summary().with_files(files);
        let summary = serde_json::to_string_pretty(&summary).unwrap_or_default();
        write(&dir.join(out_dir::SUMMARY), summary.as_bytes())?;
    }
    print_report(&report, args.json);
    if !args.json && !report.ok {
        let seed = report.seed;
        outln!(
            "reproduce: {} run {} --seed {seed}",
            context.program,
            args.file.display()
        );
    }
    Ok(report.ok)
}

/// Runs `dsim list`.
pub fn list(registry: &Registry, args: &ListArgs) -> ExitCode {
    outln!("protocols:");
    for p in registry.protocols() {
        let model = p
            .model
            .map_or(String::new(), |m| format!(" [model: {}]", m.name()));
        outln!("  {:<12} {}{model}", p.name, p.description);
        for bug in p.bugs {
            outln!("      bug {:<28} {}", bug.name, bug.description);
        }
    }
    outln!("checks: linearizable, invariants");
    let scenarios: Vec<(String, Result<Scenario, crate::ScenarioError>)> = match &args.library {
        Some(dir) => {
            outln!("library ({}):", dir.display());
            let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
                Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
                Err(e) => {
                    eprintln!("error: {}: {e}", dir.display());
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            };
            files.retain(|p| p.extension().is_some_and(|e| e == "json"));
            files.sort();
            files
                .into_iter()
                .map(|f| (f.display().to_string(), Scenario::from_file(&f)))
                .collect()
        }
        None => {
            outln!("library (built in; run one with `dsim run NAME`):");
            crate::library::files()
                .iter()
                .filter_map(|(name, _)| Some((name.to_string(), crate::library::load(name)?)))
                .filter(|(_, s)| {
                    s.as_ref()
                        .is_ok_and(|s| registry.contains(&s.spec.protocol.name))
                })
                .collect()
        }
    };
    if scenarios.is_empty() {
        outln!("  (none for these protocols)");
    }
    for (origin, scenario) in scenarios {
        match scenario {
            Ok(s) => outln!("  {:<28} {}", s.name, s.spec.description),
            Err(e) => outln!("  {origin:<28} INVALID: {e}"),
        }
    }
    ExitCode::SUCCESS
}

/// Runs `dsim replay`: exit 0 when the re-run has the recorded trace hash and every saved file
/// is intact and what the re-run writes, 1 when anything differs (each difference named on
/// standard error), 2 when the directory is not a saved run.
pub fn replay(registry: &Registry, args: &ReplayArgs) -> ExitCode {
    let replay = match crate::replay::replay(registry, &args.dir) {
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        Ok(replay) => replay,
    };
    if let Some(report) = &replay.report {
        print_report(report, args.json);
        let new_hash = format!("{:016x}", report.trace_hash);
        if replay.same_hash() {
            eprintln!("replay: same trace hash {new_hash} as recorded");
        } else {
            eprintln!(
                "replay: DIFFERENT trace hash: recorded {}, now {new_hash}",
                replay.recorded_hash
            );
        }
    }
    for note in &replay.notes {
        eprintln!("replay: note: {note}");
    }
    for difference in &replay.differences {
        eprintln!("replay: DIFFERENT {difference}");
    }
    if replay.matches() {
        eprintln!(
            "replay: every saved file is intact and the same as the re-run's ({} files)",
            out_dir::FILES.len() + 1
        );
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAIL)
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
pub fn shrink(context: &Context<'_>, args: &ShrinkArgs) -> ExitCode {
    let scenario = match crate::library::file_or_library(&args.file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let shrunk = match crate::shrink::shrink(
        context.registry,
        &scenario,
        args.seed,
        args.check.as_deref(),
        args.runs_max,
    ) {
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
        crate::shrink::to_file_text(&shrunk, args.seed).as_bytes(),
    ) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    for step in &shrunk.steps {
        outln!("  kept: {step}");
    }
    outln!("{}", shrunk.summary());
    outln!(
        "reproduce: {} run {} --seed {}",
        context.program,
        out.display(),
        args.seed
    );
    ExitCode::SUCCESS
}

/// Prints a run's report: one JSON object, or the human summary.
fn print_report(report: &crate::RunReport, json: bool) {
    if json {
        outln!(
            "{}",
            serde_json::to_string(&report.summary()).unwrap_or_default()
        );
    } else {
        out!("{}", report.to_text());
    }
}
