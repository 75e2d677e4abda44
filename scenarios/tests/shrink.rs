//! `dsim shrink` on real failing library cases: the shrunk scenario, read back as a file, still
//! fails the same check on its own seed, has no more faults than the failing run had, keeps each
//! fault's undo after it, never moves a fault later, cuts a quiet start when there is one, and
//! takes out the network's reordering and duplication when loss alone is enough.

mod common;

use common::{edited, library, run, with_bug};
use scenarios::shrink::{Shrunk, shrink, to_file_text};
use scenarios::{Registry, RunOptions, Scenario};
use sim_core::{Fault, NodeId, ScheduledFault};

/// Runs one shrink may spend in these tests.
const RUNS_MAX: u32 = 600;

/// The first seed below 50 on which `scenario` fails.
fn failing_seed(scenario: &Scenario) -> u64 {
    (0..50)
        .find(|&seed| !run(scenario, seed).ok)
        .unwrap_or_else(|| panic!("{} passes seeds 0..50", scenario.name))
}

/// The failing run's faults as shrinking starts from them: the scheduled ones plus what the
/// nemesis applied, in time order.
fn spelt_out(scenario: &Scenario, seed: u64) -> Vec<ScheduledFault> {
    let options = RunOptions {
        seed: Some(seed),
        ..Default::default()
    };
    let report = scenarios::run(scenario, &options).unwrap();
    let mut faults = scenario.spec.faults.clone();
    faults.extend(report.nemesis_schedule());
    faults.sort_by_key(|f| f.at_ns);
    faults
}

/// Shrinks, writes the file, reads it back as `dsim run` would and checks that it still fails
/// the same check on the seed it names.
fn shrink_and_rerun(scenario: &Scenario, seed: u64) -> Shrunk {
    let shrunk = shrink(&Registry::builtin(), scenario, seed, None, RUNS_MAX).unwrap();
    assert!(shrunk.runs <= RUNS_MAX, "{} runs", shrunk.runs);
    let text = to_file_text(&shrunk, seed);
    let small = Scenario::parse(&text, "shrunk.json").unwrap_or_else(|e| panic!("{e}\n{text}"));
    let report = scenarios::run(&small, &RunOptions::default()).unwrap();
    assert_eq!(report.seed, seed, "the file names its seed");
    assert!(
        report
            .checks
            .iter()
            .any(|c| !c.ok && c.name == shrunk.check),
        "the shrunk file no longer fails `{}`:\n{text}",
        shrunk.check
    );
    shrunk
}

/// Whether every shrunk fault matches, in order, an original fault of the same kind at the
/// same or a later time (faults are only dropped or moved earlier, never reordered).
fn no_later_subsequence(original: &[ScheduledFault], shrunk: &[ScheduledFault]) -> bool {
    let mut rest = original.iter();
    shrunk.iter().all(|s| {
        rest.by_ref()
            .any(|o| o.fault == s.fault && o.at_ns >= s.at_ns)
    })
}

/// Every undo in `faults` comes after the fault it undoes: a restart after a crash of that
/// node, a resume after a pause, a heal while a partition is in force.
fn undos_follow_their_faults(faults: &[ScheduledFault]) -> Result<(), String> {
    let (mut crashed, mut paused, mut partitioned) = (Vec::<NodeId>::new(), Vec::new(), false);
    for (i, f) in faults.iter().enumerate() {
        let ok = match &f.fault {
            Fault::Crash { node } => {
                crashed.push(*node);
                true
            }
            Fault::Pause { node } => {
                paused.push(*node);
                true
            }
            Fault::Restart { node } => remove(&mut crashed, *node),
            Fault::Resume { node } => remove(&mut paused, *node),
            Fault::Partition(_) => {
                partitioned = true;
                true
            }
            Fault::Heal => std::mem::replace(&mut partitioned, false),
            _ => true,
        };
        if !ok {
            return Err(format!("faults[{i}] {:?} undoes nothing", f.fault));
        }
    }
    Ok(())
}

fn remove(nodes: &mut Vec<NodeId>, node: NodeId) -> bool {
    let before = nodes.len();
    nodes.retain(|n| *n != node);
    nodes.len() < before
}

/// Asserts what every shrink must keep, against the faults the failing run had.
fn assert_shrunk_within(original: &[ScheduledFault], shrunk: &Shrunk) {
    let faults = &shrunk.spec.faults;
    assert!(faults.len() <= original.len());
    assert_eq!(shrunk.faults_before, original.len());
    assert!(
        faults.windows(2).all(|w| w[0].at_ns <= w[1].at_ns),
        "out of order: {faults:?}"
    );
    assert!(
        no_later_subsequence(original, faults),
        "a fault moved later or changed: {faults:?}"
    );
    undos_follow_their_faults(faults).unwrap();
    assert!(shrunk.spec.duration_ns <= shrunk.duration_ns_before);
}

#[test]
fn raft_no_truncate_shrinks_to_fewer_earlier_faults_that_still_break_log_matching() {
    let scenario = with_bug("raft-partitions", "no_truncate");
    let seed = failing_seed(&scenario);
    let original = spelt_out(&scenario, seed);
    let shrunk = shrink_and_rerun(&scenario, seed);
    assert_shrunk_within(&original, &shrunk);
    assert!(
        shrunk.spec.faults.len() < original.len() / 2,
        "{} of {} faults left",
        shrunk.spec.faults.len(),
        original.len()
    );
    assert!(shrunk.spec.duration_ns < shrunk.duration_ns_before / 2);
}

#[test]
fn restart_storm_keeps_restarts_after_their_crashes() {
    let scenario = with_bug("raft-restart-storm", "forget_voted_for");
    let seed = failing_seed(&scenario);
    let original = spelt_out(&scenario, seed);
    let shrunk = shrink_and_rerun(&scenario, seed);
    assert_shrunk_within(&original, &shrunk);
    assert!(shrunk.spec.faults.len() < original.len() / 4);
}

/// raft-partitions with no_truncate, its nemesis removed and every fault 6 s later: the first
/// 7.5 s are quiet, and Raft elects a leader in well under a second.
fn late_partitions() -> Scenario {
    edited("raft-partitions", "late", |spec| {
        spec["protocol"]["options"]["bugs"] = serde_json::json!(["no_truncate"]);
        spec.as_object_mut().unwrap().remove("nemesis");
        // Without the library's liveness phase: this is about the quiet start.
        spec.as_object_mut().unwrap().remove("liveness");
        spec["duration_ns"] = serde_json::json!("20s");
        spec["workload"]["stop_ns"] = serde_json::json!("19s");
        for f in spec["faults"].as_array_mut().unwrap() {
            let ms: u64 = f["at_ns"]
                .as_str()
                .unwrap()
                .trim_end_matches("ms")
                .parse()
                .unwrap();
            f["at_ns"] = serde_json::json!(format!("{}ms", ms + 6000));
        }
    })
}

#[test]
fn a_quiet_start_is_cut_and_the_faults_come_sooner() {
    let scenario = late_partitions();
    let seed = failing_seed(&scenario);
    let original = spelt_out(&scenario, seed);
    assert_eq!(original[0].at_ns, 7_500_000_000);
    let shrunk = shrink_and_rerun(&scenario, seed);
    assert_shrunk_within(&original, &shrunk);
    assert!(
        shrunk.steps.iter().any(|s| s.starts_with("start cut by")),
        "{:?}",
        shrunk.steps
    );
    let first = shrunk.spec.faults.first().expect("a fault is needed");
    assert!(
        first.at_ns <= 2_500_000_000,
        "first fault still at {} ns",
        first.at_ns
    );
    assert!(shrunk.spec.duration_ns <= 5_000_000_000);
}

#[test]
fn shrinking_is_deterministic_and_stays_within_its_run_budget() {
    let scenario = late_partitions();
    let seed = failing_seed(&scenario);
    let a = shrink(&Registry::builtin(), &scenario, seed, None, 40).unwrap();
    let b = shrink(&Registry::builtin(), &scenario, seed, None, 40).unwrap();
    assert_eq!(a.runs, 40, "a small budget is used up, not exceeded");
    assert_eq!((a.spec, a.steps), (b.spec, b.steps));
    let wrong = shrink(
        &Registry::builtin(),
        &library("raft-partitions"),
        seed,
        None,
        40,
    );
    assert!(wrong.is_err(), "the correct code does not fail seed {seed}");
}

/// The register with `no_dedup` and no faults, on a network that loses, duplicates and reorders
/// messages, with one worse link between the server and the first client.
fn bad_network_register() -> Scenario {
    edited("register", "bad-network", |spec| {
        spec["protocol"]["options"]["bugs"] = serde_json::json!(["no_dedup"]);
        spec.as_object_mut().unwrap().remove("faults");
        spec["network"]["links"] = serde_json::json!([
            { "from": 0, "to": 1, "link": { "loss": 0.2, "duplicate": 0.1, "reorder": 0.2 } }
        ]);
    })
}

/// The network's loss, duplication and reordering probabilities, the default link's first.
fn probabilities(network: &sim_core::NetworkConfig) -> Vec<(f64, f64, f64)> {
    let mut all = vec![(network.loss, network.duplicate, network.reorder)];
    all.extend(
        network
            .links
            .iter()
            .map(|l| (l.link.loss, l.link.duplicate, l.link.reorder)),
    );
    all
}

#[test]
fn a_failure_that_needs_only_loss_shrinks_to_a_network_that_only_loses() {
    let scenario = bad_network_register();
    let seed = failing_seed(&scenario);
    let shrunk = shrink_and_rerun(&scenario, seed);
    let before = probabilities(&scenario.spec.network);
    let after = probabilities(&shrunk.spec.network);
    assert_eq!(before.len(), after.len(), "overrides are kept");
    for ((loss, duplicate, reorder), (loss_was, _, _)) in after.iter().zip(&before) {
        assert_eq!((*duplicate, *reorder), (0.0, 0.0), "{after:?}");
        assert!(*loss <= *loss_was, "loss only goes down: {after:?}");
    }
    assert!(
        after.iter().any(|(loss, _, _)| *loss > 0.0),
        "a resent request needs a lost one: {after:?}"
    );
    // Loss is what the failure needs: without it the same seed passes.
    let mut lossless = shrunk.spec.clone();
    lossless.network.loss = 0.0;
    for l in &mut lossless.network.links {
        l.link.loss = 0.0;
    }
    let text = serde_json::to_string(&lossless).unwrap();
    let lossless = Scenario::parse(&text, "lossless.json").unwrap();
    assert!(
        run(&lossless, seed).ok,
        "the shrunk scenario fails even without loss"
    );
    for step in ["network.reorder 0", "network.duplicate 0"] {
        assert!(shrunk.steps.iter().any(|s| s == step), "{:?}", shrunk.steps);
    }
    let summary = shrunk.summary();
    assert!(
        summary.contains("network.duplicate 0.05 -> 0")
            && summary.contains("network.links[0].link.reorder 0.2 -> 0"),
        "{summary}"
    );
}
