//! `dsim sweep`: many seeds in parallel, or `--merge` of shard outputs.

use std::path::PathBuf;
use std::process::ExitCode;

use super::Context;
use super::output::{out, outln};
use crate::registry::Registry;
use crate::sweep::{self, SeedPlan, SeedResult};
use indicatif::{ProgressBar, ProgressStyle};

/// Arguments of `dsim sweep`.
#[derive(clap::Args)]
pub struct SweepArgs {
    /// The scenario file (not needed with --merge).
    #[arg(required_unless_present = "merge", conflicts_with = "merge")]
    file: Option<PathBuf>,
    /// Seeds to run, `A..B` (end exclusive).
    #[arg(long, required_unless_present = "merge")]
    seeds: Option<String>,
    /// Worker threads (default: all cores). Each run stays single-threaded.
    #[arg(long)]
    jobs: Option<usize>,
    /// Run only shard K of N (every N-th seed from A+K), for batch systems.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Print one JSON line per seed on stdout (the summary goes to stderr).
    #[arg(long)]
    json: bool,
    /// Combine the JSON Lines outputs of several shards instead of running.
    #[arg(long, num_args = 1.., value_name = "FILE", conflicts_with_all = ["seeds", "shard", "jobs"])]
    merge: Vec<PathBuf>,
}

/// Runs `dsim sweep`.
pub fn run(context: &Context<'_>, args: &SweepArgs) -> ExitCode {
    let outcome = if args.merge.is_empty() {
        run_sweep(context.registry, args)
    } else {
        merge(args)
    };
    match outcome {
        Ok(results) => {
            report(&results, args.json, context.program);
            ExitCode::from(u8::from(results.iter().any(|r| !r.ok)))
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run_sweep(registry: &Registry, args: &SweepArgs) -> Result<Vec<SeedResult>, String> {
    let file = args.file.as_ref().ok_or("a scenario file is needed")?;
    let scenario = crate::library::file_or_library(file).map_err(|e| e.to_string())?;
    let plan = SeedPlan::parse(
        args.seeds.as_deref().unwrap_or_default(),
        args.shard.as_deref(),
    )?;
    // Validate once up front so a bad scenario is one error, not one per seed.
    let Some(first) = plan.seeds().next() else {
        eprintln!("note: this shard holds no seeds; nothing to run");
        return Ok(Vec::new());
    };
    let probe = sweep::run_seed(registry, &scenario, first);
    if let Some(error) = probe.error {
        return Err(error);
    }
    let bar = ProgressBar::new(plan.seeds().count() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} seeds, {msg} [{elapsed_precise} < {eta}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let failures = std::sync::atomic::AtomicU64::new(0);
    let results = sweep::sweep(registry, &scenario, &plan, args.jobs, &|r| {
        if !r.ok {
            failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        bar.set_message(format!(
            "{} failing",
            failures.load(std::sync::atomic::Ordering::Relaxed)
        ));
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    Ok(results)
}

fn merge(args: &SweepArgs) -> Result<Vec<SeedResult>, String> {
    let mut all = Vec::new();
    for path in &args.merge {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        all.extend(sweep::parse_results(&text, &path.display().to_string())?);
    }
    all.sort_by_key(|r| r.seed);
    all.dedup_by_key(|r| r.seed);
    Ok(all)
}

fn report(results: &[SeedResult], json: bool, program: &str) {
    let summary = sweep::summarize(results, program);
    if json {
        for r in results {
            outln!("{}", serde_json::to_string(r).unwrap_or_default());
        }
        eprint!("{summary}");
    } else {
        out!("{summary}");
    }
}
