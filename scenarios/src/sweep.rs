//! Seed sweeps: run one scenario over many seeds in parallel (each run stays single-threaded and
//! deterministic; parallelism is only across seeds), collect one result line per seed, and
//! summarise failures by check with the command that reproduces each. Shards split a sweep over
//! machines; their JSON Lines outputs merge back into one summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::registry::Registry;
use crate::runner::RunOptions;
use crate::scenario::Scenario;

/// One seed's outcome, as a JSON line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedResult {
    /// The scenario file, as given on the command line.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Whether every check passed.
    pub ok: bool,
    /// The trace hash (hex).
    pub trace_hash: String,
    /// Names of the failed checks, with their details.
    pub failed: Vec<FailedCheck>,
    /// Events processed.
    pub events: u64,
    /// Wall time of the run.
    pub wall_ms: f64,
    /// A run-level error (bad scenario, unwritable output) instead of a verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A failed check of one seed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailedCheck {
    /// The check's name.
    pub name: String,
    /// Its detail, cut to a readable length.
    pub detail: String,
}

/// Which seeds to run: `start..end`, every `shard_count`-th one starting at offset `shard`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedPlan {
    /// The seed range.
    pub seeds: Range<u64>,
    /// This shard's index, `0 <= shard < shard_count`.
    pub shard: u64,
    /// Number of shards.
    pub shard_count: u64,
}

impl SeedPlan {
    /// Parses `A..B` and an optional `K/N`.
    pub fn parse(seeds: &str, shard: Option<&str>) -> Result<Self, String> {
        let (a, b) = seeds
            .split_once("..")
            .ok_or_else(|| format!("--seeds `{seeds}`: expected A..B, e.g. 0..1000"))?;
        let parse = |t: &str, what: &str| {
            t.trim()
                .parse::<u64>()
                .map_err(|_| format!("--seeds `{seeds}`: {what} `{t}` is not a number"))
        };
        let (start, end) = (parse(a, "start")?, parse(b, "end")?);
        if start >= end {
            return Err(format!(
                "--seeds `{seeds}`: the range is empty (end is exclusive)"
            ));
        }
        let (shard, shard_count) = match shard {
            None => (0, 1),
            Some(text) => {
                let (k, n) = text
                    .split_once('/')
                    .ok_or_else(|| format!("--shard `{text}`: expected K/N, e.g. 3/16"))?;
                let k: u64 = k
                    .trim()
                    .parse()
                    .map_err(|_| format!("--shard `{text}`: K is not a number"))?;
                let n: u64 = n
                    .trim()
                    .parse()
                    .map_err(|_| format!("--shard `{text}`: N is not a number"))?;
                if n == 0 || k >= n {
                    return Err(format!("--shard `{text}`: need 0 <= K < N"));
                }
                (k, n)
            }
        };
        Ok(Self {
            seeds: start..end,
            shard,
            shard_count,
        })
    }

    /// The seeds this shard runs, in order.
    pub fn seeds(&self) -> impl Iterator<Item = u64> + '_ {
        self.seeds
            .clone()
            .filter(|s| (s - self.seeds.start) % self.shard_count == self.shard)
    }
}

/// Longest check detail kept per seed, so a sweep's output stays readable.
const DETAIL_CHARS_MAX: usize = 400;

/// Runs one seed and condenses its report.
pub fn run_seed(registry: &Registry, scenario: &Scenario, seed: u64) -> SeedResult {
    let options = RunOptions {
        seed: Some(seed),
        ..Default::default()
    };
    match registry.run(scenario, &options) {
        Ok(report) => SeedResult {
            scenario: scenario.origin.clone(),
            seed,
            ok: report.ok,
            trace_hash: format!("{:016x}", report.trace_hash),
            failed: report
                .checks
                .iter()
                .filter(|c| !c.ok)
                .map(|c| FailedCheck {
                    name: c.name.clone(),
                    detail: c.detail.chars().take(DETAIL_CHARS_MAX).collect(),
                })
                .collect(),
            events: report.stats.events,
            wall_ms: report.wall_ns as f64 / 1e6,
            error: None,
        },
        Err(e) => SeedResult {
            scenario: scenario.origin.clone(),
            seed,
            ok: false,
            trace_hash: String::new(),
            failed: Vec::new(),
            events: 0,
            wall_ms: 0.0,
            error: Some(e.to_string()),
        },
    }
}

/// Runs every seed of `plan` on a pool of `jobs` threads (all cores when `None`), calling
/// `progress` after each seed. Results come back sorted by seed.
pub fn sweep(
    registry: &Registry,
    scenario: &Scenario,
    plan: &SeedPlan,
    jobs: Option<usize>,
    progress: &(dyn Fn(&SeedResult) + Sync),
) -> Result<Vec<SeedResult>, String> {
    let seeds: Vec<u64> = plan.seeds().collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build()
        .map_err(|e| format!("cannot start {jobs:?} worker threads: {e}"))?;
    let mut results: Vec<SeedResult> = pool.install(|| {
        seeds
            .par_iter()
            .map(|seed| {
                let result = run_seed(registry, scenario, *seed);
                progress(&result);
                result
            })
            .collect()
    });
    results.sort_by_key(|r| r.seed);
    Ok(results)
}

/// Reads JSON Lines of [`SeedResult`]s (one shard's `--json` output); `source` names the input.
pub fn parse_results(text: &str, source: &str) -> Result<Vec<SeedResult>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line)
                .map_err(|e| format!("{source}:{}:{}: {e}", i + 1, e.column()))
        })
        .collect()
}

/// The end-of-sweep table: failures grouped by check, each with the command that reproduces it
/// (`program` is the command line's name: `dsim`, or a user's own binary).
pub fn summarize(results: &[SeedResult], program: &str) -> String {
    let mut out = String::new();
    let failed: Vec<&SeedResult> = results.iter().filter(|r| !r.ok).collect();
    let _ = writeln!(
        out,
        "{} seeds run, {} passed, {} failed",
        results.len(),
        results.len() - failed.len(),
        failed.len()
    );
    let mut by_check: BTreeMap<&str, Vec<&SeedResult>> = BTreeMap::new();
    for r in &failed {
        if r.error.is_some() {
            by_check.entry("(run error)").or_default().push(r);
        }
        for c in &r.failed {
            by_check.entry(c.name.as_str()).or_default().push(r);
        }
    }
    for (check, runs) in by_check {
        let _ = writeln!(out, "\n{check}: {} failing seed(s)", runs.len());
        for r in runs.iter().take(20) {
            let why = r
                .failed
                .iter()
                .find(|c| c.name == check)
                .map(|c| c.detail.lines().next().unwrap_or_default().to_string())
                .or_else(|| r.error.clone())
                .unwrap_or_default();
            let why: String = why.chars().take(100).collect();
            let _ = writeln!(
                out,
                "  {program} run {} --seed {:<8} # {why}",
                r.scenario, r.seed
            );
        }
        if runs.len() > 20 {
            let _ = writeln!(out, "  ... and {} more", runs.len() - 20);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_range() {
        let all: Vec<u64> = (0..4)
            .flat_map(|k| {
                SeedPlan::parse("10..30", Some(&format!("{k}/4")))
                    .unwrap()
                    .seeds()
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut sorted = all.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (10..30).collect::<Vec<_>>());
        assert_eq!(
            SeedPlan::parse("10..30", Some("1/4"))
                .unwrap()
                .seeds()
                .collect::<Vec<_>>(),
            [11, 15, 19, 23, 27]
        );
    }

    #[test]
    fn bad_plans_say_what_is_expected() {
        assert!(SeedPlan::parse("5", None).unwrap_err().contains("A..B"));
        assert!(SeedPlan::parse("5..5", None).unwrap_err().contains("empty"));
        assert!(
            SeedPlan::parse("0..9", Some("4/4"))
                .unwrap_err()
                .contains("0 <= K < N")
        );
        assert!(
            SeedPlan::parse("0..x", None)
                .unwrap_err()
                .contains("not a number")
        );
    }

    #[test]
    fn results_round_trip_through_json_lines_and_bad_lines_are_located() {
        let r = SeedResult {
            scenario: "s.json".into(),
            seed: 3,
            ok: false,
            trace_hash: "ab".into(),
            failed: vec![FailedCheck {
                name: "linearizable".into(),
                detail: "x".into(),
            }],
            events: 9,
            wall_ms: 1.0,
            error: None,
        };
        let text = format!(
            "{}\n\n{}\n",
            serde_json::to_string(&r).unwrap(),
            serde_json::to_string(&r).unwrap()
        );
        assert_eq!(parse_results(&text, "a.jsonl").unwrap(), vec![r.clone(), r]);
        assert!(
            parse_results("{\"seed\": 1}\n", "b.jsonl")
                .unwrap_err()
                .starts_with("b.jsonl:1:")
        );
    }

    #[test]
    fn the_summary_groups_failures_by_check_with_repro_commands() {
        let fail = |seed, name: &str| SeedResult {
            scenario: "s.json".into(),
            seed,
            ok: false,
            trace_hash: String::new(),
            failed: vec![FailedCheck {
                name: name.into(),
                detail: "why".into(),
            }],
            events: 1,
            wall_ms: 0.0,
            error: None,
        };
        let pass = SeedResult {
            ok: true,
            failed: vec![],
            ..fail(0, "")
        };
        let text = summarize(
            &[pass, fail(4, "linearizable"), fail(9, "invariants")],
            "dsim",
        );
        assert!(
            text.starts_with("3 seeds run, 1 passed, 2 failed"),
            "{text}"
        );
        assert!(
            text.contains("linearizable: 1 failing seed(s)\n  dsim run s.json --seed 4"),
            "{text}"
        );
        assert!(text.contains("dsim run s.json --seed 9"), "{text}");
    }
}
