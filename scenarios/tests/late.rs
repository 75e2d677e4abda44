//! The late-delivery shapes through the scenario layer: a late-delivery failure shrinks to a
//! smaller schedule that still fails (holds keep their heals, replays get shorter), a swarm
//! draws the new fields and kinds, and the report shows what arrived late.

mod common;

use common::{edited, library, run, with_bug};
use scenarios::shrink::{shrink, to_file_text};
use scenarios::swarm::resolve;
use scenarios::{Registry, RunOptions, Scenario};
use serde_json::json;
use sim_core::{Fault, NemesisKind, ScheduledFault};

/// The failing run's faults as shrinking starts from them.
fn spelt_out(scenario: &Scenario, seed: u64) -> Vec<ScheduledFault> {
    let report = run(scenario, seed);
    let mut faults = scenario.spec.faults.clone();
    faults.extend(report.nemesis_schedule());
    faults
}

/// Shrinking a late-delivery failure keeps it failing with fewer faults, every hold followed
/// by the heal that releases it, and no replay longer or later than one of the original's.
#[test]
fn a_late_delivery_failure_shrinks_and_still_fails() {
    let scenario = with_bug("raft-late-delivery", "no_truncate");
    let seed = (0..50)
        .find(|&seed| !run(&scenario, seed).ok)
        .expect("no_truncate fails some seed of raft-late-delivery below 50");
    let original = spelt_out(&scenario, seed);
    let shrunk = shrink(&Registry::builtin(), &scenario, seed, None, 400).unwrap();
    let text = to_file_text(&shrunk, seed);
    let small = Scenario::parse(&text, "shrunk.json").unwrap_or_else(|e| panic!("{e}\n{text}"));
    let report = scenarios::run(&small, &RunOptions::default()).unwrap();
    assert!(
        report
            .checks
            .iter()
            .any(|c| !c.ok && c.name == shrunk.check),
        "the shrunk file no longer fails `{}`:\n{text}",
        shrunk.check
    );
    let faults = &shrunk.spec.faults;
    assert!(
        faults.len() < original.len(),
        "{} of {}",
        faults.len(),
        original.len()
    );
    let mut holding = false;
    for f in faults {
        match &f.fault {
            Fault::Hold { .. } | Fault::Partition(_) => holding = true,
            Fault::Heal => {
                assert!(holding, "a heal without a hold: {faults:?}");
                holding = false;
            }
            Fault::Replay {
                window_ns,
                delay_ns,
                ..
            } => assert!(original.iter().any(|o| matches!(
                o.fault,
                Fault::Replay { window_ns: w, delay_ns: d, .. } if w >= *window_ns && d >= *delay_ns
            ))),
            _ => {}
        }
    }
}

/// A swarm can draw the late-delivery fields and kinds like any other: each seed its own
/// stale duplication and its own nemesis kinds.
#[test]
fn a_swarm_draws_the_late_delivery_fields() {
    let scenario = edited("raft-late-delivery", "swarm", |spec| {
        spec["swarm"] = json!({
            "network.stale_duplicate": { "min": 0, "max": 0.05 },
            "nemesis.kinds": [["crash_blip"], ["hold"], ["replay"], ["crash_blip", "hold", "replay"]],
            "nemesis.crash_blip_ns_max": { "min": "2ms", "max": "90ms" }
        });
    });
    let mut kinds = std::collections::BTreeSet::new();
    for seed in 0..20 {
        let (resolved, _) = resolve(&scenario, seed).unwrap();
        let stale = resolved.spec.network.stale_duplicate;
        assert!((0.0..=0.05).contains(&stale), "{stale}");
        let nemesis = resolved.spec.nemesis.unwrap();
        assert!((2_000_000..=90_000_000).contains(&nemesis.crash_blip_ns_max));
        kinds.insert(nemesis.kinds);
    }
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    let report = run(&scenario, 3);
    assert!(report.ok, "{}", report.to_text());
}

/// The nemesis in swarm mode over the late-delivery kinds draws a subset of them per seed, and
/// every drawn kind that fired is in the coverage summary.
#[test]
fn nemesis_swarm_mode_draws_among_the_late_delivery_kinds() {
    let scenario = edited("raft-late-delivery", "nemesis-swarm", |spec| {
        spec["faults"] = json!([]);
        spec["nemesis"]["swarm"] = json!(true);
        spec["nemesis"]["kinds"] = json!(["crash_blip", "hold", "replay"]);
    });
    let mut profiles = std::collections::BTreeSet::new();
    for seed in 0..8 {
        let report = run(&scenario, seed);
        assert!(report.ok, "{}", report.to_text());
        let kinds = report.nemesis.as_ref().unwrap().kinds.clone();
        assert!(kinds.iter().all(|k| matches!(
            k,
            NemesisKind::CrashBlip | NemesisKind::Hold | NemesisKind::Replay
        )));
        profiles.insert(kinds);
    }
    assert!(profiles.len() >= 3, "{profiles:?}");
}

/// The report says how many messages arrived late, and the coverage line what each kind held
/// or replayed.
#[test]
fn the_report_shows_late_messages() {
    let report = run(&library("raft-late-delivery"), 1);
    let text = report.to_text();
    assert!(text.contains("late      stale duplicates "), "{text}");
    assert!(
        text.contains(" held ") && text.contains(" replayed "),
        "{text}"
    );
    let summary = serde_json::to_value(report.summary()).unwrap();
    assert!(
        summary["stats"]["messages_held"].as_u64().unwrap() > 0,
        "{summary}"
    );
}
