//! Buggify points: off by default (the run is the run it always was), on in a scenario with
//! `buggify`, enabled per seed, reported, deterministic, and able to expose a bug that the
//! network alone does not.

mod common;

use common::{edited, run};
use serde_json::{Value, json};

/// The register over a perfect network with no faults: nothing ever makes a client resend.
fn quiet_register(bug: Option<&str>, buggify: Option<Value>) -> scenarios::Scenario {
    edited("register", "quiet", |spec| {
        spec["network"] = json!({});
        spec["faults"] = json!([]);
        if let Some(bug) = bug {
            spec["protocol"]["options"]["bugs"] = json!([bug]);
        }
        if let Some(b) = buggify {
            spec["buggify"] = b;
        }
    })
}

#[test]
fn a_request_sent_twice_by_buggify_exposes_the_missing_dedup_the_quiet_network_hides() {
    let always = Some(json!({ "enable_probability": 1.0, "fire_probability": 0.2 }));
    let hidden = run(&quiet_register(Some("no_dedup"), None), 1);
    assert!(hidden.ok, "{}", hidden.to_text());
    assert!(hidden.buggify.is_empty());
    let exposed = run(&quiet_register(Some("no_dedup"), always.clone()), 1);
    assert!(!exposed.ok, "{}", exposed.to_text());
    let point = exposed.buggify["register/send-twice"];
    assert!(
        point.enabled && point.fired > 0 && point.fired < point.calls,
        "{point:?}"
    );
    // The correct server absorbs the same duplicates.
    let correct = run(&quiet_register(None, always), 1);
    assert!(correct.ok, "{}", correct.to_text());
    assert!(correct.buggify["register/send-twice"].fired > 0);
}

#[test]
fn points_are_enabled_in_some_seeds_only_and_the_same_seed_repeats_exactly() {
    let scenario = edited("raft-partitions", "buggify", |spec| {
        spec["buggify"] = json!({ "enable_probability": 0.5, "fire_probability": 0.3 });
    });
    let reports: Vec<_> = (0..8).map(|seed| run(&scenario, seed)).collect();
    for r in &reports {
        assert!(r.ok, "seed {}: {}", r.seed, r.to_text());
    }
    let enabled = |r: &scenarios::RunReport| r.buggify["raft/shortest-election-timeout"].enabled;
    let on = reports.iter().filter(|r| enabled(r)).count();
    assert!(
        on > 0 && on < reports.len(),
        "{on} of {} seeds",
        reports.len()
    );
    let on_seed = reports.iter().find(|r| enabled(r)).unwrap();
    assert!(on_seed.buggify["raft/shortest-election-timeout"].fired > 0);
    assert!(
        on_seed
            .to_text()
            .contains("buggify   raft/shortest-election-timeout fired")
    );
    let again = run(&scenario, on_seed.seed);
    assert_eq!(again.trace_hash, on_seed.trace_hash);
    assert_eq!(again.buggify, on_seed.buggify);
    let off = run(&common::library("raft-partitions"), on_seed.seed);
    assert_ne!(off.trace_hash, on_seed.trace_hash);
}

#[test]
fn a_probability_outside_zero_to_one_is_bad_input_at_its_field() {
    let scenario = quiet_register(None, Some(json!({ "fire_probability": 2 })));
    let err = scenarios::run(&scenario, &scenarios::RunOptions::default()).unwrap_err();
    assert!(
        err.to_string().contains("buggify.fire_probability"),
        "{err}"
    );
}
