//! Helpers shared by the scenario-level tests: load a library scenario, switch a bug on, run one
//! seed, list what failed; run the `dsim` binary with `--out` and read the report it wrote.
// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

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

/// The repository's root (the `dsim` binary runs there, as a person would).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `dsim run FILE --out DIR ARGS...` and returns its exit code.
pub fn run_out(file: &Path, dir: &Path, args: &[&str]) -> Option<i32> {
    let out = Command::new(env!("CARGO_BIN_EXE_dsim"))
        .arg("run")
        .arg(file)
        .arg("--out")
        .arg(dir)
        .args(args)
        .current_dir(root())
        .output()
        .expect("dsim runs");
    out.status.code()
}

/// Writes the library scenario `register.json` with its `no_dedup` bug switched on to
/// `dir/buggy.json` (a run that fails the linearizability check on most seeds).
pub fn buggy_register_file(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join("scenarios/library/register.json")).unwrap();
    let text = text.replace(
        "\"resend_ns\": \"20ms\"",
        "\"resend_ns\": \"20ms\", \"bugs\": [\"no_dedup\"]",
    );
    let file = dir.join("buggy.json");
    std::fs::write(&file, text).unwrap();
    file
}

/// The JSON a report.html embeds for its script.
pub fn embedded_data(html: &str) -> serde_json::Value {
    let start_tag = "<script type=\"application/json\" id=\"data\">";
    let start = html.find(start_tag).expect("embedded data") + start_tag.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}
