//! Replaying a saved run: `dsim run --out DIR` stores the scenario text, the history, the
//! trace, the artefacts and a summary that records the seed, the trace hash and the SHA-256 of
//! every other file. A replay re-runs the scenario with that seed into a scratch directory and
//! compares everything: the trace hash, each file against its recorded digest and against what
//! the re-run wrote, and the summary against the re-run's, naming each file that differs and
//! where.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{RunError, ScenarioError};
use crate::out_dir;
use crate::registry::Registry;
use crate::report::RunReport;
use crate::runner::RunOptions;
use crate::scenario::Scenario;

/// The outcome of a replay.
#[derive(Debug)]
pub struct Replay {
    /// The new run (none when the saved scenario is missing, so there was nothing to re-run).
    pub report: Option<RunReport>,
    /// The trace hash recorded in the saved summary.
    pub recorded_hash: String,
    /// Each difference between the saved directory and the re-run, one line each, starting
    /// with the file it is about.
    pub differences: Vec<String>,
    /// Remarks that are not differences (a directory from a dsim that recorded no digests).
    pub notes: Vec<String>,
}

impl Replay {
    /// Whether the new run reproduced the saved one exactly: the same trace hash and the same
    /// files, none of them edited.
    pub fn matches(&self) -> bool {
        self.same_hash() && self.differences.is_empty()
    }

    /// Whether the new run has the recorded trace hash.
    pub fn same_hash(&self) -> bool {
        self.report
            .as_ref()
            .is_some_and(|r| format!("{:016x}", r.trace_hash) == self.recorded_hash)
    }
}

/// Summary fields measured in wall-clock time (they differ from run to run by nature), and
/// the digests, which are checked file by file.
const VOLATILE: [&str; 5] = [
    "wall_ms",
    "check_ms",
    "events_per_sec",
    "sim_to_wall_ratio",
    "files",
];

/// Largest summary.json read (a saved summary is a few kilobytes).
const SUMMARY_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// Re-runs the run saved in `dir` and compares it with what is saved. An error (exit 2) means
/// `dir` is not a saved run: no readable summary, or a scenario that is neither there nor
/// recorded. A recorded scenario gone missing is a difference: the other files are still
/// checked against their digests, and nothing is re-run.
pub fn replay(registry: &Registry, dir: &Path) -> Result<Replay, RunError> {
    let summary_path = dir.join(out_dir::SUMMARY);
    let origin = summary_path.display().to_string();
    let text = read_summary(&summary_path).map_err(|e| ScenarioError::io(&origin, &e))?;
    let summary: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        ScenarioError::at(
            &origin,
            Some((e.line(), e.column())),
            "",
            &format!("invalid JSON: {e}"),
        )
    })?;
    let seed = summary["seed"].as_u64().ok_or_else(|| {
        ScenarioError::located(
            &origin,
            &text,
            "seed",
            "expected the run's seed, an integer",
        )
    })?;
    let recorded_hash = summary["trace_hash"]
        .as_str()
        .ok_or_else(|| {
            ScenarioError::located(
                &origin,
                &text,
                "trace_hash",
                "expected the run's trace hash, a hex string",
            )
        })?
        .to_string();
    let recorded: BTreeMap<String, String> = summary["files"]
        .as_object()
        .map(|files| {
            files
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let scenario_path = dir.join("scenario.json");
    if !scenario_path.exists() && recorded.contains_key("scenario.json") {
        let mut differences = out_dir::check_digests(dir, &recorded);
        differences.push("scenario.json: missing, so the run cannot be re-run".to_string());
        return Ok(Replay {
            report: None,
            recorded_hash,
            differences,
            notes: Vec::new(),
        });
    }
    let mut scenario = Scenario::from_file(&scenario_path)?;
    // The run was of a file or library scenario of this name, not of a file `scenario.json`.
    if let Some(name) = summary["scenario"].as_str() {
        scenario.name = name.to_string();
    }
    let scratch = tempfile::Builder::new()
        .prefix("dsim-replay-")
        .tempdir()
        .map_err(|e| out_dir::output_error(&std::env::temp_dir(), &e))?;
    // A run made with --verify-determinism has a `determinism` check: replay it the same way.
    let verified = summary["checks"]
        .as_array()
        .is_some_and(|checks| checks.iter().any(|c| c["name"] == "determinism"));
    let report = registry.run(
        &scenario,
        &RunOptions {
            seed: Some(seed),
            trace_path: Some(scratch.path().join(out_dir::TRACE)),
            verify_determinism: verified,
        },
    )?;
    let mut notes = Vec::new();
    if recorded.is_empty() {
        // Comparing with the re-run still catches any edit; only the digests are missing.
        notes.push(format!(
            "{} records no file digests (written by an older dsim?): files are compared with \
             the re-run's only",
            out_dir::SUMMARY
        ));
    }
    out_dir::write_files(scratch.path(), &scenario.text, &report)?;
    let mut differences = out_dir::compare(dir, &recorded, scratch.path());
    let fresh = serde_json::to_value(report.summary()).unwrap_or_default();
    differences.extend(summary_differences(&summary, &fresh));
    Ok(Replay {
        report: Some(report),
        recorded_hash,
        differences,
        notes,
    })
}

/// The saved summary's fields that differ from the re-run's, wall-clock measurements aside.
fn summary_differences(saved: &serde_json::Value, fresh: &serde_json::Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let saved = saved.as_object().unwrap_or(&empty);
    let fresh = fresh.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = saved.keys().chain(fresh.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| !VOLATILE.contains(&k.as_str()) && saved.get(*k) != fresh.get(*k))
        .map(|k| {
            let show = |v: Option<&serde_json::Value>| {
                let text = v.map_or("(absent)".to_string(), |v| v.to_string());
                if text.chars().count() > 80 {
                    text.chars().take(80).collect::<String>() + "…"
                } else {
                    text
                }
            };
            format!(
                "{}: field `{k}` is {}, the re-run's is {}",
                out_dir::SUMMARY,
                show(saved.get(k)),
                show(fresh.get(k))
            )
        })
        .collect()
}

/// The summary's text, refusing a file too large to be one.
fn read_summary(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            "missing: not a directory written by `dsim run --out`".to_string()
        }
        _ => e.to_string(),
    })?;
    let mut text = String::new();
    file.take(SUMMARY_BYTES_MAX + 1)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    if text.len() as u64 > SUMMARY_BYTES_MAX {
        return Err(format!(
            "more than {SUMMARY_BYTES_MAX} bytes: not a run's summary"
        ));
    }
    Ok(text)
}
