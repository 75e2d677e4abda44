//! Swarm nemesis, liveness phase and fault coverage as a scenario user sees them.

use scenarios::{RunOptions, RunReport, Scenario};

fn run(text: &str, seed: u64) -> RunReport {
    let scenario = Scenario::parse(text, "phases.json").unwrap();
    scenarios::run(
        &scenario,
        &RunOptions {
            seed: Some(seed),
            ..Default::default()
        },
    )
    .unwrap()
}

fn check<'a>(report: &'a RunReport, name: &str) -> &'a sim_core::CheckResult {
    report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name} check in {:?}", report.checks))
}

const LIVE: &str = r#"{
  "duration_ns": "20s",
  "protocol": { "name": "register" },
  "cluster": { "servers": 1 },
  "nemesis": { "kinds": ["crash_recover", "partition"], "interval_ns_mean": "1s", "down_max": 1 },
  "workload": { "clients": 3, "timeout_ns": "300ms" },
  "checks": ["invariants"],
  "liveness": { "duration_ns": "5s" }
}"#;

#[test]
fn after_the_heal_clients_make_progress_and_the_check_says_so() {
    let report = run(LIVE, 1);
    let live = check(&report, "liveness/ops_complete");
    assert!(live.ok, "{}", live.detail);
    assert!(report.coverage.by_kind["heal_all"].fired == 1);
    assert!(report.ok, "{}", report.to_text());
}

#[test]
fn a_system_that_cannot_recover_fails_the_liveness_goal() {
    // The client links stay broken after the heal: they are configuration, not a fault.
    let broken = LIVE.replace(
        "\"nemesis\"",
        "\"network\": { \"links\": [{\"from\": 1, \"to\": 0, \"link\": {\"loss\": 1.0}}] },\n  \"nemesis\"",
    );
    let report = run(&broken, 1);
    let live = check(&report, "liveness/ops_complete");
    assert!(!live.ok);
    assert!(
        live.detail.contains("client 0 completed no operation"),
        "{}",
        live.detail
    );
}

#[test]
fn the_liveness_phase_must_fit_in_the_run() {
    let bad = LIVE.replace(
        "\"liveness\": { \"duration_ns\": \"5s\" }",
        "\"liveness\": { \"duration_ns\": \"20s\" }",
    );
    let err = Scenario::parse(&bad, "phases.json")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("liveness.duration_ns") && err.contains("phases.json:8:"),
        "{err}"
    );
}

#[test]
fn a_swarm_nemesis_draws_a_different_profile_per_seed() {
    let swarm = LIVE.replace("\"down_max\": 1", "\"down_max\": 1, \"swarm\": true");
    let profiles: std::collections::BTreeSet<String> = (0..8)
        .map(|seed| format!("{:?}", run(&swarm, seed).nemesis.unwrap()))
        .collect();
    assert!(profiles.len() >= 4, "{profiles:?}");
    let fixed: std::collections::BTreeSet<String> = (0..3)
        .map(|seed| format!("{:?}", run(LIVE, seed).nemesis.unwrap()))
        .collect();
    assert_eq!(
        fixed.len(),
        1,
        "without swarm the profile is the configured one"
    );
}

#[test]
fn coverage_flags_a_scheduled_fault_that_changed_nothing() {
    let text = LIVE.replace("\"nemesis\"", "\"faults\": [{\"at_ns\": \"1s\", \"fault\": {\"kind\": \"restart\", \"node\": 0}}],\n  \"nemesis\"");
    let report = run(&text, 2);
    assert!(
        report
            .coverage
            .flagged
            .iter()
            .any(|f| f == "faults[0] (restart at 1.000 s) did not apply"),
        "{:?}",
        report.coverage.flagged
    );
    let summary = serde_json::to_value(report.summary()).unwrap();
    assert!(
        !summary["coverage"]["flagged"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(report.to_text().contains("flagged: faults[0]"));
}
