//! Replaying a saved run: `dsim run --out DIR` stores the scenario text and the summary (seed
//! and trace hash); a replay re-runs the scenario with that seed and confirms the hash.

use std::path::Path;

use crate::error::RunError;
use crate::registry::Registry;
use crate::report::RunReport;
use crate::runner::RunOptions;
use crate::scenario::Scenario;

/// The outcome of a replay.
#[derive(Debug)]
pub struct Replay {
    /// The new run.
    pub report: RunReport,
    /// The trace hash recorded in the saved summary.
    pub recorded_hash: String,
}

impl Replay {
    /// Whether the new run reproduced the saved one exactly.
    pub fn matches(&self) -> bool {
        format!("{:016x}", self.report.trace_hash) == self.recorded_hash
    }
}

/// Re-runs the run saved in `dir` (its `scenario.json` and `summary.json`).
pub fn replay(registry: &Registry, dir: &Path) -> Result<Replay, RunError> {
    let scenario = Scenario::from_file(dir.join("scenario.json"))?;
    let summary_path = dir.join("summary.json");
    let origin = summary_path.display().to_string();
    let text = std::fs::read_to_string(&summary_path)
        .map_err(|e| crate::ScenarioError::io(&origin, &e.to_string()))?;
    let summary: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        crate::ScenarioError::at(
            &origin,
            Some((e.line(), e.column())),
            "",
            &format!("invalid JSON: {e}"),
        )
    })?;
    let seed = summary["seed"].as_u64().ok_or_else(|| {
        crate::ScenarioError::located(
            &origin,
            &text,
            "seed",
            "expected the run's seed, an integer",
        )
    })?;
    let recorded_hash = summary["trace_hash"]
        .as_str()
        .ok_or_else(|| {
            crate::ScenarioError::located(
                &origin,
                &text,
                "trace_hash",
                "expected the run's trace hash, a hex string",
            )
        })?
        .to_string();
    let report = registry.run(
        &scenario,
        &RunOptions {
            seed: Some(seed),
            ..Default::default()
        },
    )?;
    Ok(Replay {
        report,
        recorded_hash,
    })
}
