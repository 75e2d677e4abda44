//! Chain replication's library scenarios: the correct protocol passes every one of them over a
//! range of seeds (linearizable, no invariant violated, converged at the end), and each known
//! bug is caught within a bounded number of seeds on the scenario designed for it, which the
//! correct protocol passes on the very same seeds.

mod common;

use common::{failing, library, run, with_bug};

/// Seeds every library scenario must pass.
const PASS_SEEDS: u64 = 12;
/// Seeds a bug must be found within.
const BUG_SEEDS: u64 = 20;

const LIBRARY: &[&str] = &[
    "chain-crash-recovery",
    "chain-middle-failure",
    "chain-tail-reorder",
    "chain-stale-tail",
    "chain-partitions",
    "chain-pauses",
    "chain-lossy",
    "chain-clock-skew",
    "chain-nemesis",
];

#[test]
fn every_chain_scenario_passes_with_the_correct_protocol() {
    for name in LIBRARY {
        let scenario = library(name);
        let report = run(&scenario, 0);
        let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
        for check in [
            "linearizable",
            "invariants",
            "update-propagation-final",
            "chain-converged",
        ] {
            assert!(
                names.contains(&check),
                "{name} does not run {check}: {names:?}"
            );
        }
        assert_eq!(failing(&scenario, PASS_SEEDS), vec![], "{name}");
    }
}

/// A tail that applies out of order breaks the prefix invariant (and, on some seed, linearizability).
#[test]
fn tail_reply_unordered_is_caught_by_the_propagation_invariant() {
    let name = "chain-tail-reorder";
    let fails = failing(&with_bug(name, "tail_reply_unordered"), BUG_SEEDS);
    assert!(!fails.is_empty(), "no seed in 0..{BUG_SEEDS} found the bug");
    assert!(
        fails
            .iter()
            .all(|(_, checks)| checks.iter().any(|c| c == "invariants")),
        "{fails:?}"
    );
    assert!(
        fails
            .iter()
            .any(|(_, checks)| checks.iter().any(|c| c == "linearizable")),
        "the checker should also see the reordered answers on some seed: {fails:?}"
    );
    assert_eq!(
        failing(&library(name), BUG_SEEDS),
        vec![],
        "correct code, same seeds"
    );
}

/// Skipping the paper's re-send after a middle failure leaves the successor a gap, which it reports.
#[test]
fn no_resend_on_middle_failure_is_caught_when_a_middle_server_fails() {
    let name = "chain-middle-failure";
    let scenario = with_bug(name, "no_resend_on_middle_failure");
    let fails = failing(&scenario, BUG_SEEDS);
    assert!(!fails.is_empty(), "no seed in 0..{BUG_SEEDS} found the bug");
    let report = run(&scenario, fails[0].0);
    let v = report.violations.first().expect("a violation");
    assert_eq!(v.check, "update-propagation");
    assert!(v.detail.contains("would never reach it"), "{}", v.detail);
    assert_eq!(
        failing(&library(name), BUG_SEEDS),
        vec![],
        "correct code, same seeds"
    );
}

/// A removed tail that answers reads unfenced returns stale values: the read-completeness
/// invariant flags them at the server and the checker rejects the history.
#[test]
fn unfenced_reads_are_caught_by_read_completeness_and_the_checker() {
    let name = "chain-stale-tail";
    let scenario = with_bug(name, "unfenced_reads");
    let fails = failing(&scenario, BUG_SEEDS);
    assert!(!fails.is_empty(), "no seed in 0..{BUG_SEEDS} found the bug");
    assert!(
        fails
            .iter()
            .all(|(_, checks)| checks == &["linearizable", "invariants"]),
        "{fails:?}"
    );
    let report = run(&scenario, fails[0].0);
    assert_eq!(report.violations[0].check, "read-completeness");
    assert_eq!(
        failing(&library(name), BUG_SEEDS),
        vec![],
        "correct code, same seeds"
    );
}

/// Crashed servers are removed and, once restarted, rejoin: the metrics show the chain shrink and regrow.
#[test]
fn crash_recovery_shrinks_and_regrows_the_chain() {
    let report = run(&library("chain-crash-recovery"), 3);
    assert!(report.ok, "{}", report.to_text());
    let m = |k: &str| report.metrics.get(k).copied().unwrap_or(f64::NAN);
    // Three crashes, each a removal and a rejoin (join + promotion).
    assert!(m("chain.reconfigurations") >= 6.0, "{:?}", report.metrics);
    assert_eq!(m("chain.length_min"), 2.0);
    assert_eq!(m("chain.length_final"), 3.0);
    assert!(m("chain.updates_applied") > 100.0);
    assert!(m("chain.pending_max") >= 1.0);
    assert!(m("chain.prefix_checks") > 1000.0);
}

/// One seed, one run: same trace hash and metrics; another seed, another run.
#[test]
fn the_same_seed_gives_the_same_run() {
    let scenario = library("chain-nemesis");
    let (a, b, c) = (run(&scenario, 5), run(&scenario, 5), run(&scenario, 6));
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.metrics, b.metrics);
    assert_ne!(a.trace_hash, c.trace_hash);
}
