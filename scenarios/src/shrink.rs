//! Shrinking a failing run: starting from a scenario and a seed on which a check fails, try
//! smaller variants — the nemesis spelt out as a fixed schedule, fewer faults, a shorter run,
//! fewer clients and operations, fewer servers — keeping each one that still fails the same
//! check with the same seed, until none helps. The result is a standalone scenario file.

use serde_json::Value;
use sim_core::{FaultSource, ScheduledFault};

use crate::runner::RunOptions;
use crate::scenario::{Scenario, ScenarioSpec};

/// What shrinking found.
#[derive(Debug)]
pub struct Shrunk {
    /// The smallest failing scenario found.
    pub spec: ScenarioSpec,
    /// The check it still fails.
    pub check: String,
    /// Runs made.
    pub runs: u32,
    /// What was reduced, step by step, for people.
    pub steps: Vec<String>,
}

/// Why shrinking could not start.
#[derive(Debug, thiserror::Error)]
pub enum ShrinkError {
    /// The scenario does not fail on this seed (or not the named check).
    #[error("seed {seed} does not fail {what}; nothing to shrink")]
    DoesNotFail {
        /// The seed.
        seed: u64,
        /// Which check was wanted.
        what: String,
    },
    /// The scenario could not be run.
    #[error("{0}")]
    Run(#[from] crate::RunError),
}

/// Shrinks `scenario` failing on `seed`. `check` names the check to keep failing (default: the
/// first failing one); at most `runs_max` runs are made.
pub fn shrink(
    scenario: &Scenario,
    seed: u64,
    check: Option<&str>,
    runs_max: u32,
) -> Result<Shrunk, ShrinkError> {
    let first = crate::run(
        scenario,
        &RunOptions {
            seed: Some(seed),
            ..Default::default()
        },
    )?;
    let failed = first
        .checks
        .iter()
        .find(|c| !c.ok && check.is_none_or(|want| c.name == want));
    let Some(failed) = failed else {
        let what = check.map_or("any check".to_string(), |c| format!("the `{c}` check"));
        return Err(ShrinkError::DoesNotFail { seed, what });
    };
    let mut state = State {
        origin: scenario.origin.clone(),
        seed,
        check: failed.name.clone(),
        best: scenario.spec.clone(),
        runs: 1,
        runs_max,
        steps: Vec::new(),
    };
    // The nemesis becomes the schedule it actually produced on this seed.
    if state.best.nemesis.is_some() {
        let mut candidate = state.best.clone();
        candidate.nemesis = None;
        candidate.faults.extend(
            first
                .fault_records
                .iter()
                .filter(|r| r.applied && matches!(r.source, FaultSource::Nemesis { .. }))
                .map(|r| ScheduledFault {
                    at_ns: r.at_ns,
                    fault: r.fault.clone(),
                }),
        );
        candidate.faults.sort_by_key(|f| f.at_ns);
        let n = candidate.faults.len();
        state.try_keep(
            candidate,
            format!("nemesis spelt out as {n} scheduled faults"),
        );
    }
    // Operations are cut starting from what the failing run actually made.
    let ops_made = first.stats.ops_invoked;
    loop {
        let before = state.runs;
        let mut progressed = state.drop_faults();
        progressed |= state.shorten();
        progressed |= state.fewer(
            "workload.clients",
            |s| s.workload.as_ref().map(|w| u64::from(w.clients)),
            |s, v| {
                if let Some(w) = s.workload.as_mut() {
                    w.clients = v as u32;
                }
            },
        );
        progressed |= state.fewer(
            "workload.ops_max",
            |s| s.workload.as_ref().map(|w| w.ops_max.unwrap_or(ops_made)),
            |s, v| {
                if let Some(w) = s.workload.as_mut() {
                    w.ops_max = Some(v);
                }
            },
        );
        progressed |= state.fewer(
            "cluster.servers",
            |s| Some(u64::from(s.cluster.servers)),
            |s, v| s.cluster.servers = v as u32,
        );
        if !progressed || state.runs == before || state.runs >= state.runs_max {
            break;
        }
    }
    Ok(Shrunk {
        spec: state.best,
        check: state.check,
        runs: state.runs,
        steps: state.steps,
    })
}

/// The search state: the best failing spec so far and the run budget.
struct State {
    origin: String,
    seed: u64,
    check: String,
    best: ScenarioSpec,
    runs: u32,
    runs_max: u32,
    steps: Vec<String>,
}

impl State {
    /// Whether `spec` still fails the check (false when invalid or out of budget).
    fn fails(&mut self, spec: &ScenarioSpec) -> bool {
        if self.runs >= self.runs_max {
            return false;
        }
        self.runs += 1;
        let Ok(text) = serde_json::to_string(spec) else {
            return false;
        };
        let Ok(scenario) = Scenario::parse(&text, &self.origin) else {
            return false;
        };
        match crate::run(
            &scenario,
            &RunOptions {
                seed: Some(self.seed),
                ..Default::default()
            },
        ) {
            Ok(report) => report.checks.iter().any(|c| !c.ok && c.name == self.check),
            Err(_) => false,
        }
    }

    fn try_keep(&mut self, candidate: ScenarioSpec, step: String) -> bool {
        if self.fails(&candidate) {
            self.best = candidate;
            self.steps.push(step);
            true
        } else {
            false
        }
    }

    /// Removes scheduled faults: first halves, then quarters, ... then single faults.
    fn drop_faults(&mut self) -> bool {
        let mut progressed = false;
        let mut chunk = self.best.faults.len().div_ceil(2).max(1);
        while chunk >= 1 && !self.best.faults.is_empty() {
            let mut start = 0;
            while start < self.best.faults.len() {
                let mut candidate = self.best.clone();
                let end = (start + chunk).min(candidate.faults.len());
                candidate.faults.drain(start..end);
                let left = candidate.faults.len();
                if self.try_keep(candidate, format!("{left} faults left")) {
                    progressed = true;
                } else {
                    start += chunk;
                }
                if self.runs >= self.runs_max {
                    return progressed;
                }
            }
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
        progressed
    }

    /// Binary search for the shortest duration that still fails (at 1 ms resolution).
    fn shorten(&mut self) -> bool {
        let (mut lo, mut hi) = (0u64, self.best.duration_ns);
        let min_step = 1_000_000;
        let mut progressed = false;
        while hi - lo > min_step && self.runs < self.runs_max {
            let mid = lo + (hi - lo) / 2;
            let candidate = with_duration(&self.best, mid);
            if self.try_keep(candidate, format!("duration {:.3} s", mid as f64 / 1e9)) {
                hi = mid;
                progressed = true;
            } else {
                lo = mid;
            }
        }
        progressed
    }

    /// Binary search for the smallest value of a numeric field that still fails.
    fn fewer(
        &mut self,
        name: &str,
        get: impl Fn(&ScenarioSpec) -> Option<u64>,
        set: impl Fn(&mut ScenarioSpec, u64),
    ) -> bool {
        let Some(current) = get(&self.best) else {
            return false;
        };
        let (mut lo, mut hi) = (0u64, current);
        let mut progressed = false;
        while hi - lo > 1 && self.runs < self.runs_max {
            let mid = lo + (hi - lo) / 2;
            let mut candidate = self.best.clone();
            set(&mut candidate, mid);
            if self.try_keep(candidate, format!("{name} {mid}")) {
                hi = mid;
                progressed = true;
            } else {
                lo = mid;
            }
        }
        progressed
    }
}

/// `spec` cut to `duration_ns`, with everything that lived past the new end cut too.
fn with_duration(spec: &ScenarioSpec, duration_ns: u64) -> ScenarioSpec {
    let mut s = spec.clone();
    s.duration_ns = duration_ns.max(1);
    s.faults.retain(|f| f.at_ns < s.duration_ns);
    if let Some(l) = &s.liveness
        && l.duration_ns >= s.duration_ns
    {
        s.liveness = None;
    }
    if let Some(w) = s.workload.as_mut() {
        w.stop_ns = w.stop_ns.map(|t| t.min(s.duration_ns));
    }
    s
}

/// The shrunk scenario as a standalone, readable file.
pub fn to_file_text(shrunk: &Shrunk, seed: u64) -> String {
    let mut value = serde_json::to_value(&shrunk.spec).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        // Leave out what is at its default, so the file shows what matters.
        let defaults = serde_json::to_value(sim_core::Limits::default()).unwrap_or(Value::Null);
        map.retain(|key, v| !(v.is_null() || key == "limits" && *v == defaults));
        if map.get("clocks").is_some_and(|c| {
            c["nodes"].as_array().is_some_and(Vec::is_empty) && c["skew"].is_null()
        }) {
            map.remove("clocks");
        }
        map.insert("seed".into(), Value::from(seed));
        let note = format!(
            "shrunk by dsim shrink: still fails `{}` on seed {seed} ({} runs)",
            shrunk.check, shrunk.runs
        );
        map.insert("description".into(), Value::from(note));
    }
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}
