//! Gossip (SWIM + anti-entropy): the correct protocol passes every library scenario over a
//! range of seeds; each known bug is caught within a bounded number of seeds of a library
//! scenario that the correct protocol passes on the very same seeds; a 1,000-member cluster
//! runs in the test suite; detection and dissemination metrics over seeds are printed as
//! percentiles (`cargo test -p scenarios --test gossip -- --nocapture`).

mod common;

use common::{edited, failing, library, run, with_bug};
use scenarios::RunOptions;

/// Seeds every library scenario must pass.
const PASS_SEEDS: u64 = 20;
/// Seeds a bug must be found within (and the correct protocol must pass).
const BUG_SEEDS: u64 = 20;

const LIBRARY: &[&str] = &[
    "gossip-lossy",
    "gossip-crash",
    "gossip-partitions",
    "gossip-pauses",
    "gossip-clock-skew",
];

#[test]
fn the_correct_protocol_passes_every_library_scenario() {
    for name in LIBRARY {
        let scenario = library(name);
        assert_eq!(failing(&scenario, PASS_SEEDS), vec![], "{name}");
        // The quiet-period checks were judged, not skipped.
        let report = run(&scenario, 0);
        for check in &report.checks {
            assert!(!check.detail.starts_with("not judged"), "{name}: {check:?}");
        }
    }
}

#[test]
fn ignore_incarnation_kills_live_members_for_good() {
    let correct = library("gossip-lossy");
    assert_eq!(failing(&correct, BUG_SEEDS), vec![]);
    let fails = failing(&with_bug("gossip-lossy", "ignore_incarnation"), BUG_SEEDS);
    assert_eq!(
        fails.len() as u64,
        BUG_SEEDS,
        "every seed should find it: {fails:?}"
    );
    for (seed, checks) in &fails {
        assert!(
            checks.iter().any(|c| c.starts_with("gossip-membership")),
            "seed {seed}: {checks:?}"
        );
    }
}

#[test]
fn ignore_incarnation_leaves_paused_members_dead() {
    let fails = failing(&with_bug("gossip-pauses", "ignore_incarnation"), BUG_SEEDS);
    assert!(!fails.is_empty(), "no seed in 0..{BUG_SEEDS} found the bug");
    assert!(
        fails
            .iter()
            .all(|(_, checks)| checks.iter().any(|c| c.starts_with("gossip-membership"))),
        "{fails:?}"
    );
}

#[test]
fn wall_clock_lww_loses_acknowledged_writes_under_clock_skew() {
    let correct = library("gossip-clock-skew");
    assert_eq!(failing(&correct, BUG_SEEDS), vec![]);
    let fails = failing(&with_bug("gossip-clock-skew", "wall_clock_lww"), BUG_SEEDS);
    assert!(!fails.is_empty(), "no seed in 0..{BUG_SEEDS} found the bug");
    for (seed, checks) in &fails {
        // Lost writes at the end, and the writes stamped before what their client had read
        // (writes-follow-reads) that lose them.
        assert!(
            checks
                .iter()
                .all(|c| c.starts_with("gossip-lost-writes")
                    || c.starts_with("gossip-session-order")),
            "seed {seed}: {checks:?}"
        );
        assert!(
            checks.iter().any(|c| c.starts_with("gossip-session-order")),
            "seed {seed}: {checks:?}"
        );
    }
}

#[test]
fn a_thousand_members_detect_crashes_and_converge() {
    let scenario = edited("gossip-crash", "1000", |spec| {
        spec["cluster"]["servers"] = serde_json::json!(1000);
        spec["duration_ns"] = serde_json::json!("12s");
        spec["faults"] = serde_json::json!([
            { "at_ns": "1s", "fault": { "kind": "crash", "node": 10 } },
            { "at_ns": "1s", "fault": { "kind": "crash", "node": 500 } },
            { "at_ns": "1500ms", "fault": { "kind": "crash", "node": 999 } }
        ]);
        spec["workload"]["stop_ns"] = serde_json::json!("2s");
    });
    let report = run(&scenario, 0);
    assert!(report.ok, "{:#?}", report.checks);
    for check in &report.checks {
        assert!(!check.detail.starts_with("not judged"), "{check:?}");
    }
    assert!(report.metrics["gossip_detect_full_ms"] > 0.0);
}

#[test]
fn runs_are_deterministic() {
    let options = RunOptions {
        seed: Some(3),
        verify_determinism: true,
        ..Default::default()
    };
    let report = scenarios::run(&library("gossip-pauses"), &options).unwrap();
    let check = report
        .checks
        .iter()
        .find(|c| c.name == "determinism")
        .unwrap();
    assert!(check.ok, "{check:?}");
}

/// Detection and dissemination over seeds: prints percentiles and holds the averages to the
/// bounds the checks state (first detection within a few periods plus the suspicion timeout).
#[test]
fn detection_and_dissemination_distributions_over_seeds() {
    const SEEDS: u64 = 12;
    let scenario = library("gossip-crash");
    let mut samples: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    let names = [
        "gossip_suspect_first_ms",
        "gossip_detect_first_ms",
        "gossip_detect_full_ms",
        "gossip_false_positive_rate",
        "gossip_dissemination_rounds_p50",
        "gossip_dissemination_messages_p50",
    ];
    for seed in 0..SEEDS {
        let report = run(&scenario, seed);
        assert!(report.ok, "seed {seed}: {:#?}", report.checks);
        for name in names {
            if let Some(v) = report.metrics.get(name) {
                samples.entry(name).or_default().push(*v);
            }
        }
    }
    println!("gossip-crash over {SEEDS} seeds: p10 / p50 / p90 / max");
    for (name, values) in &mut samples {
        values.sort_by(f64::total_cmp);
        let q = |q: f64| protocols::gossip::checks::percentile(values, q);
        println!(
            "  {name:36} {:10.2} {:10.2} {:10.2} {:10.2}",
            q(0.1),
            q(0.5),
            q(0.9),
            q(1.0)
        );
    }
    // 32 members, 200 ms periods: suspicion timeout 1.6 s. First detection: expected within
    // a couple of periods plus the suspicion timeout; everyone within the settle bound (5 s).
    let p90 = |name: &str| {
        let v = &samples[name];
        protocols::gossip::checks::percentile(v, 0.9)
    };
    assert!(p90("gossip_detect_first_ms") < 1600.0 + 5.0 * 200.0);
    assert!(p90("gossip_detect_full_ms") < 5000.0);
    assert_eq!(samples["gossip_detect_full_ms"].len() as u64, SEEDS);
}
