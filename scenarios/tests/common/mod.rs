//! Helpers shared by the scenario-level protocol tests: load a library scenario, switch a bug
//! on, run one seed, and list what failed.
// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use scenarios::{RunOptions, RunReport, Scenario};

/// The library scenario `scenarios/library/<name>.json`.
pub fn library(name: &str) -> Scenario {
    let path = format!("{}/library/{name}.json", env!("CARGO_MANIFEST_DIR"));
    Scenario::from_file(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `name` with `edit` applied to its JSON (switching a bug on, resizing the cluster, ...).
pub fn edited(name: &str, label: &str, edit: impl FnOnce(&mut serde_json::Value)) -> Scenario {
    let mut spec: serde_json::Value = serde_json::from_str(&library(name).text).unwrap();
    edit(&mut spec);
    Scenario::parse(&spec.to_string(), &format!("{name}+{label}")).unwrap()
}

/// `name` with `protocol.options.bugs` set to `[bug]`, its other options kept.
pub fn with_bug(name: &str, bug: &str) -> Scenario {
    edited(name, bug, |spec| {
        spec["protocol"]["options"]["bugs"] = serde_json::json!([bug]);
    })
}

/// Runs `scenario` on `seed`.
pub fn run(scenario: &Scenario, seed: u64) -> RunReport {
    let options = RunOptions {
        seed: Some(seed),
        ..Default::default()
    };
    scenarios::run(scenario, &options).unwrap()
}

/// The failed checks of a run as `name: detail`, empty if it passed.
pub fn failures(report: &RunReport) -> Vec<String> {
    report
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect()
}

/// Seeds in `0..seeds` on which `scenario` fails, with the names of the failed checks.
pub fn failing(scenario: &Scenario, seeds: u64) -> Vec<(u64, Vec<String>)> {
    (0..seeds)
        .filter_map(|seed| {
            let report = run(scenario, seed);
            let names = report
                .checks
                .iter()
                .filter(|c| !c.ok)
                .map(|c| c.name.clone());
            (!report.ok).then(|| (seed, names.collect()))
        })
        .collect()
}
