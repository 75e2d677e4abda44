//! `dsim`: run scenarios, check histories, list what is available.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod run_cmd;
mod sweep_cmd;

/// dsim — a deterministic simulator for distributed protocols.
#[derive(Parser)]
#[command(name = "dsim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario file and judge it (exit 0 pass, 1 a check failed, 2 bad input).
    Run(run_cmd::RunArgs),
    /// Run a scenario over many seeds in parallel and summarise the failures
    /// (exit 0 all passed, 1 some failed, 2 bad input).
    Sweep(sweep_cmd::SweepArgs),
    /// Reduce a failing run to a minimal scenario (fewer faults, shorter, fewer clients and
    /// servers) that still fails the same check, written as a standalone file.
    Shrink(run_cmd::ShrinkArgs),
    /// Re-run a run saved with `dsim run --out DIR` and confirm the same trace hash.
    Replay(run_cmd::ReplayArgs),
    /// Check a history file (or every file in a directory) for linearizability
    /// (exit 0 linearizable, 1 not, 3 unknown, 2 bad input).
    Check(scenarios::check_cmd::CheckArgs),
    /// Run a built-in experiment (e.g. Raft's election downtime, after §9.3 of the paper).
    Experiment(scenarios::experiment_cmd::ExperimentArgs),
    /// List protocols, their bugs and the library scenarios.
    List(run_cmd::ListArgs),
}

/// mimalloc: the checker builds and drops many small values (operations, model states, search
/// tables), and glibc's allocator made up a third of a small check's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Run(args) => run_cmd::run(&args),
        Command::Sweep(args) => sweep_cmd::run(&args),
        Command::Replay(args) => run_cmd::replay(&args),
        Command::Shrink(args) => run_cmd::shrink(&args),
        Command::Check(args) => scenarios::check_cmd::run(&args),
        Command::Experiment(args) => scenarios::experiment_cmd::run(&args),
        Command::List(args) => run_cmd::list(&args),
    }
}
