//! The single-server register: linearizable under loss, duplication, reordering, crash-recovery
//! and pauses; each switched-on bug is caught by the checker within a few seeds. Under a
//! restart storm, where hundreds of calls end unknown, every verdict is still definite.

mod common;

use common::{failing, library, run, with_bug};
use sim_core::history::EventType;

const SEEDS: u64 = 20;

#[test]
fn the_correct_register_passes_every_seed() {
    assert_eq!(failing(&library("register"), SEEDS), vec![]);
}

#[test]
fn no_dedup_is_caught_by_the_linearizability_check() {
    let fails = failing(&with_bug("register", "no_dedup"), SEEDS);
    assert!(!fails.is_empty(), "no seed in 0..{SEEDS} found the bug");
    assert!(
        fails.iter().all(|(_, checks)| checks == &["linearizable"]),
        "{fails:?}"
    );
}

#[test]
fn reply_before_sync_loses_acknowledged_writes_in_the_crash() {
    let fails = failing(&with_bug("register", "reply_before_sync"), SEEDS);
    assert!(!fails.is_empty(), "no seed in 0..{SEEDS} found the bug");
}

#[test]
fn a_restart_storm_with_hundreds_of_unknown_calls_is_decided_linearizable() {
    let storm = library("register-crash-storm");
    assert_eq!(failing(&storm, SEEDS), vec![]);
    let report = run(&storm, 1);
    let unknown = report
        .history
        .iter()
        .filter(|e| e.kind == EventType::Info)
        .count();
    assert!(unknown >= 100, "only {unknown} calls ended unknown");
}

#[test]
fn under_the_restart_storm_both_bugs_get_a_definite_not_linearizable() {
    for bug in ["no_dedup", "reply_before_sync"] {
        let scenario = with_bug("register-crash-storm", bug);
        for seed in 0..5 {
            let report = run(&scenario, seed);
            let check = report
                .checks
                .iter()
                .find(|c| c.name == "linearizable")
                .expect("the scenario asks for the linearizable check");
            assert!(
                !check.ok && check.detail.starts_with("NOT linearizable"),
                "{bug} seed {seed}: {}",
                check.detail
            );
        }
    }
}
