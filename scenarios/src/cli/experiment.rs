//! `dsim experiment election-downtime`: the Raft paper's §9.3 experiment. Five servers, the
//! leader crashed at a random moment within its heartbeat interval, many trials per election
//! timeout range; prints the distribution of the time until a new leader is elected.
//!
//! Exit status: 0 done, 2 bad input.

use std::process::ExitCode;

use super::output::{out, outln};

use protocols::raft::experiment::{ElectionDowntime, TimeoutRange, election_downtime};

/// Arguments of `dsim experiment`.
#[derive(clap::Args, Debug, Clone)]
pub struct ExperimentArgs {
    /// Which experiment.
    #[command(subcommand)]
    pub experiment: Experiment,
}

/// The experiments.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Experiment {
    /// Time to elect a new Raft leader after the leader crashes (Raft paper §9.3, Figure 16).
    ElectionDowntime(ElectionDowntimeArgs),
}

/// Arguments of `dsim experiment election-downtime`.
#[derive(clap::Args, Debug, Clone)]
pub struct ElectionDowntimeArgs {
    /// Trials per election-timeout range.
    #[arg(long, default_value_t = 1000)]
    pub trials: u32,
    /// Election-timeout ranges in milliseconds, MIN-MAX, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        value_parser = TimeoutRange::parse,
        default_value = "150-150,150-151,150-155,150-175,150-200,150-300"
    )]
    pub timeouts: Vec<TimeoutRange>,
    /// The seed every trial derives from.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print JSON (percentiles and CDF points) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs the chosen experiment.
pub fn run(args: &ExperimentArgs) -> ExitCode {
    match &args.experiment {
        Experiment::ElectionDowntime(a) => run_election_downtime(a),
    }
}

fn run_election_downtime(args: &ElectionDowntimeArgs) -> ExitCode {
    if args.trials == 0 {
        eprintln!("error: --trials must be at least 1");
        return ExitCode::from(2);
    }
    let result = election_downtime(&args.timeouts, args.trials, args.seed);
    if args.json {
        match serde_json::to_string_pretty(&result) {
            Ok(text) => outln!("{text}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        out!("{}", table(&result));
    }
    ExitCode::SUCCESS
}

/// The human summary: one row per range, times in milliseconds.
fn table(result: &ElectionDowntime) -> String {
    let mut out = format!(
        "election downtime after a leader crash: {} servers, seed {}\n\
         {:>9} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}\n",
        result.servers,
        result.seed,
        "timeout",
        "trials",
        "elected",
        "p50",
        "p90",
        "p99",
        "max",
        "mean"
    );
    for r in &result.ranges {
        let range = format!("{}-{}", r.range.min_ms, r.range.max_ms);
        out.push_str(&format!(
            "{range:>9} {:>7} {:>8} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1}\n",
            r.trials, r.elected, r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms, r.mean_ms
        ));
    }
    out.push_str(
        "(ms; `elected` counts trials with a new leader within 30 s; --json adds the CDF)\n",
    );
    out
}
