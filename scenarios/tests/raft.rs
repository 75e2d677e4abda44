//! Raft through the scenario runner: every library scenario passes with the correct code, each
//! known bug is found by a library scenario within a bounded number of seeds (and the correct
//! code passes the same scenario on the same seeds), and lease reads break under clock trouble
//! where ReadIndex does not.

mod common;

use common::{failures, library, run, with_bug};
use scenarios::{RunOptions, Scenario};

/// Seeds each correct-code scenario is run on.
const PASS_SEEDS: u64 = 8;
/// The most seeds a bug may need to show up.
const BUG_SEEDS_MAX: u64 = 50;

/// `name` with its options' text edited: `from` replaced by `to`.
fn edited(name: &str, from: &str, to: &str) -> Scenario {
    let scenario = library(name);
    assert!(
        scenario.text.contains(from),
        "{name} no longer contains {from}"
    );
    Scenario::parse(&scenario.text.replace(from, to), &format!("{name}+{to}")).unwrap()
}

/// The checks that failed on `seed` as `name: detail`, empty if it passed.
fn failed_checks(scenario: &Scenario, seed: u64) -> Vec<String> {
    failures(&run(scenario, seed))
}

/// The first seed below `BUG_SEEDS_MAX` on which `scenario` fails, with the failed checks.
fn first_failure(scenario: &Scenario) -> Option<(u64, Vec<String>)> {
    (0..BUG_SEEDS_MAX).find_map(|seed| {
        let failed = failed_checks(scenario, seed);
        (!failed.is_empty()).then_some((seed, failed))
    })
}

/// Asserts that `bug` makes `name` fail on some seed, in a check named `expected`, and that
/// the correct code passes every seed up to that one.
fn bug_is_found(name: &str, bug: &str, expected: &str) {
    let (seed, failed) = first_failure(&with_bug(name, bug))
        .unwrap_or_else(|| panic!("{bug}: no seed in 0..{BUG_SEEDS_MAX} of {name} fails"));
    assert!(
        failed.iter().any(|c| c.contains(expected)),
        "{bug} on seed {seed}: {failed:?}"
    );
    let correct = library(name);
    for s in 0..=seed {
        assert_eq!(
            failed_checks(&correct, s),
            Vec::<String>::new(),
            "correct code, {name}, seed {s}"
        );
    }
}

#[test]
fn every_library_scenario_passes_with_the_correct_code() {
    for name in [
        "raft-partitions",
        "raft-crash-recovery",
        "raft-restart-storm",
        "raft-pauses",
        "raft-lossy",
        "raft-clock-skew",
        "raft-nemesis",
        "raft-figure8",
    ] {
        let scenario = library(name);
        for seed in 0..PASS_SEEDS {
            assert_eq!(
                failed_checks(&scenario, seed),
                Vec::<String>::new(),
                "{name} seed {seed}"
            );
        }
    }
}

#[test]
fn the_nemesis_run_makes_progress_and_is_deterministic() {
    let options = RunOptions {
        seed: Some(3),
        verify_determinism: true,
        ..Default::default()
    };
    let report = scenarios::run(&library("raft-nemesis"), &options).unwrap();
    assert!(report.ok, "{}", report.to_text());
    assert!(
        report.metrics["commit_index"] > 100.0,
        "{:?}",
        report.metrics
    );
    assert!(
        report.metrics["leader_changes"] >= 2.0,
        "{:?}",
        report.metrics
    );
    assert!(report.metrics["snapshots"] >= 1.0, "{:?}", report.metrics);
    assert!(report.stats.ops_ok > 300, "{:?}", report.stats);
}

#[test]
fn stale_leader_read_is_found_by_the_partitions_scenario() {
    bug_is_found("raft-partitions", "stale_leader_read", "linearizable");
}

#[test]
fn no_truncate_is_found_by_the_partitions_scenario() {
    bug_is_found("raft-partitions", "no_truncate", "log-matching");
}

#[test]
fn forget_voted_for_is_found_by_the_restart_storm() {
    bug_is_found("raft-restart-storm", "forget_voted_for", "election-safety");
}

#[test]
fn commit_previous_term_is_found_by_the_figure8_replay() {
    bug_is_found(
        "raft-figure8",
        "commit_previous_term",
        "leader-completeness",
    );
}

#[test]
fn lease_reads_break_under_clock_trouble_and_read_index_does_not() {
    let (seed, failed) = first_failure(&library("raft-lease-drift"))
        .unwrap_or_else(|| panic!("lease reads survived {BUG_SEEDS_MAX} seeds of clock trouble"));
    assert!(
        failed.iter().any(|c| c.starts_with("linearizable")),
        "seed {seed}: {failed:?}"
    );
    let read_index = edited(
        "raft-lease-drift",
        "\"read_mode\": \"lease\"",
        "\"read_mode\": \"read_index\"",
    );
    for s in 0..=seed.max(PASS_SEEDS) {
        assert_eq!(
            failed_checks(&read_index, s),
            Vec::<String>::new(),
            "read_index, seed {s}"
        );
    }
}

#[test]
fn read_index_stays_linearizable_when_a_leaders_clock_stands_still() {
    // Seed 70 isolates a leader whose skewed clock is still clamped at zero: a read must not
    // ride on a heartbeat round "started at the same local instant", which was long ago.
    let scenario = library("raft-clock-skew");
    assert_eq!(failed_checks(&scenario, 70), Vec::<String>::new());
}

#[test]
fn bad_options_are_rejected_with_the_field_named() {
    let scenario = edited(
        "raft-pauses",
        "\"bugs\": []",
        "\"bugs\": [], \"heartbeat_ns\": \"1s\"",
    );
    let err = scenarios::run(&scenario, &RunOptions::default()).unwrap_err();
    assert!(err.to_string().contains("heartbeat_ns"), "{err}");
}
