//! Two-phase commit's library scenarios: the correct protocol passes every one of them over a
//! range of seeds (atomic, durable, serializable, the bank's money conserved, no violation),
//! each known bug is caught within a bounded number of seeds on a library scenario that the
//! correct protocol passes on the very same seeds, and the blocking problem shows in the metrics.

mod common;

use common::{failures, library, run, with_bug};
use scenarios::{RunOptions, RunReport};

/// Seeds every library scenario must pass.
const PASS_SEEDS: u64 = 12;
/// Seeds a bug must be found within.
const BUG_SEEDS: u64 = 50;

const LIBRARY: &[&str] = &[
    "2pc-bank-crash",
    "2pc-coordinator-crash",
    "2pc-blocking",
    "2pc-partitions",
    "2pc-pauses",
    "2pc-lossy",
    "2pc-clock-skew",
    "2pc-rw-nemesis",
];

/// The first seed in `0..BUG_SEEDS` on which `bug` makes `name` fail, with the failures; the
/// correct protocol must pass every seed up to and including it.
fn first_catch(name: &str, bug: &str) -> (u64, Vec<String>) {
    let buggy = with_bug(name, bug);
    let correct = library(name);
    for seed in 0..BUG_SEEDS {
        let report = run(&buggy, seed);
        let control = run(&correct, seed);
        assert!(
            control.ok,
            "{name} seed {seed} fails without the bug: {:?}",
            failures(&control)
        );
        if !report.ok {
            return (seed, failures(&report));
        }
    }
    panic!("{bug} not caught by {name} in seeds 0..{BUG_SEEDS}");
}

#[test]
fn the_correct_protocol_passes_every_library_scenario() {
    for name in LIBRARY {
        let scenario = library(name);
        for seed in 0..PASS_SEEDS {
            let report = run(&scenario, seed);
            assert!(report.ok, "{name} seed {seed}: {:?}", failures(&report));
            assert!(
                report.metrics["commits"] > 50.0,
                "{name} seed {seed} barely commits"
            );
        }
    }
}

#[test]
fn transactions_commit_and_abort_and_the_client_history_says_which() {
    let report = run(&library("2pc-bank-crash"), 1);
    let commits = report.metrics["commits"];
    assert!(commits > 300.0, "{commits} commits");
    assert!(report.metrics["aborts"] > 0.0);
    assert!(report.metrics["abort_rate"] > 0.0 && report.metrics["abort_rate"] < 1.0);
    // Every ok in the history is a committed transaction's list of reads and writes.
    let oks: Vec<_> = report
        .history
        .iter()
        .filter(|e| e.kind == sim_core::EventType::Ok)
        .collect();
    assert!(!oks.is_empty());
    assert!(oks.len() as f64 <= commits);
    assert!(
        oks.iter()
            .all(|e| matches!(&e.value, sim_core::Value::List(items) if !items.is_empty()))
    );
}

#[test]
fn commit_before_durable_is_caught_after_a_coordinator_crash() {
    let (seed, failed) = first_catch("2pc-coordinator-crash", "commit_before_durable");
    assert!(
        failed
            .iter()
            .any(|f| f.contains("aborted") && f.contains("the coordinator decided commit")),
        "seed {seed}: {failed:?}"
    );
}

#[test]
fn vote_without_sync_is_caught_after_a_participant_crash() {
    let (seed, failed) = first_catch("2pc-bank-crash", "vote_without_sync");
    assert!(
        failed.iter().any(|f| f.contains("lost its prepare record")),
        "seed {seed}: {failed:?}"
    );
    assert!(
        failed.iter().any(|f| f.starts_with("atomicity:")),
        "seed {seed}: {failed:?}"
    );
}

#[test]
fn commit_on_timeout_is_caught_under_pauses_and_partitions() {
    for name in ["2pc-pauses", "2pc-partitions"] {
        let (seed, failed) = first_catch(name, "commit_on_timeout");
        assert!(
            failed.iter().any(|f| f.contains("without a yes vote")),
            "{name} seed {seed}: {failed:?}"
        );
    }
}

#[test]
fn a_crashed_coordinator_blocks_participants_that_cannot_learn_the_outcome() {
    let scenario = library("2pc-blocking");
    let reports: Vec<RunReport> = (0..PASS_SEEDS).map(|seed| run(&scenario, seed)).collect();
    assert!(reports.iter().all(|r| r.ok));
    // Cooperative termination settles some doubts without the coordinator ...
    assert!(
        reports
            .iter()
            .any(|r| r.metrics["in_doubt_resolved_by_peers"] > 0.0)
    );
    // ... but when every participant voted yes, they stay blocked to the end (6 s).
    let blocked = reports
        .iter()
        .find(|r| r.metrics["blocked_participants_end"] > 0.0)
        .expect("some seed leaves a participant blocked");
    assert!(blocked.metrics["in_doubt_open_ms_max"] > 5000.0);
}

#[test]
fn runs_are_deterministic() {
    let options = RunOptions {
        seed: Some(4),
        verify_determinism: true,
        ..Default::default()
    };
    let report = scenarios::run(&library("2pc-rw-nemesis"), &options).unwrap();
    assert!(report.ok, "{:?}", failures(&report));
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.name == "determinism" && c.ok)
    );
}
