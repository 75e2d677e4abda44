//! Swarm over configurations: each seed draws its own values for the fields a scenario's
//! `swarm` section names, records them, repeats them exactly, and `shrink` writes them out.

mod common;

use common::{edited, library, run};
use scenarios::swarm::resolve;
use scenarios::{Registry, Scenario};
use serde_json::json;

#[test]
fn each_seed_draws_its_own_configuration_within_the_given_choices_and_ranges() {
    let scenario = library("raft-swarm");
    let modes: std::collections::BTreeSet<String> = (0..30)
        .map(|seed| {
            let (resolved, drawn) = resolve(&scenario, seed).unwrap();
            assert!(resolved.spec.swarm.is_none());
            let timeout = resolved.spec.workload.as_ref().unwrap().timeout_ns;
            assert!(
                (100_000_000..=2_000_000_000).contains(&timeout),
                "{timeout}"
            );
            assert_eq!(drawn["workload.timeout_ns"], json!(timeout));
            let loss = drawn["network.loss"].as_f64().unwrap();
            assert!((0.0..=0.05).contains(&loss) && resolved.spec.network.loss == loss);
            let mode = &resolved.spec.protocol.options["read_mode"];
            assert_eq!(*mode, drawn["protocol.options.read_mode"]);
            mode.as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(modes.len(), 3, "{modes:?}");
}

#[test]
fn a_run_records_its_draws_and_the_same_seed_repeats_them_and_the_run() {
    let scenario = library("raft-swarm");
    let (a, b, c) = (run(&scenario, 4), run(&scenario, 4), run(&scenario, 5));
    assert!(a.ok, "{}", a.to_text());
    assert_eq!(a.swarm.len(), 8);
    assert_eq!(a.swarm, b.swarm);
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_ne!(a.swarm, c.swarm);
    assert!(a.to_text().contains("swarm     network.loss="));
    let summary = serde_json::to_value(a.summary()).unwrap();
    assert_eq!(
        summary["swarm"]["protocol.options.read_mode"],
        a.swarm["protocol.options.read_mode"]
    );
}

#[test]
fn bad_swarm_sections_are_bad_input_at_their_field() {
    let cases = [
        (
            json!({ "workload.timout_ns": [1] }),
            "unknown field `timout_ns`",
        ),
        (json!({ "seed.low": [1] }), "swarm.seed.low"),
        (json!({ "workload.timeout_ns": [] }), "at least one choice"),
        (
            json!({ "workload.timeout_ns": { "min": "2s", "max": "1s" } }),
            "is above max",
        ),
        (
            json!({ "network.loss": { "min": "a", "max": 1 } }),
            "range bounds must be numbers",
        ),
        (
            json!({ "protocol.options.read_mode": ["sometimes"] }),
            "sometimes",
        ),
    ];
    for (swarm, expected) in cases {
        let mut spec: serde_json::Value =
            serde_json::from_str(&library("raft-swarm").text).unwrap();
        spec["swarm"] = swarm.clone();
        let result = Scenario::parse(&spec.to_string(), "bad.json");
        let message = match result {
            Err(e) => e.to_string(),
            // Protocol options are the protocol's to judge, when the run starts.
            Ok(s) => scenarios::run(&s, &Default::default())
                .unwrap_err()
                .to_string(),
        };
        assert!(message.contains(expected), "{swarm}: {message}");
    }
}

#[test]
fn shrink_writes_the_failing_seed_s_draws_as_plain_values() {
    let scenario = edited("register", "swarm", |spec| {
        spec["protocol"]["options"]["bugs"] = json!(["no_dedup"]);
        spec["swarm"] = json!({ "protocol.options.resend_ns": { "min": "5ms", "max": "30ms" } });
    });
    let seed = (0..20)
        .find(|s| !run(&scenario, *s).ok)
        .expect("no_dedup fails on some seed");
    let drawn = run(&scenario, seed).swarm["protocol.options.resend_ns"].clone();
    let shrunk =
        scenarios::shrink::shrink(&Registry::builtin(), &scenario, seed, None, 60).unwrap();
    let text = scenarios::shrink::to_file_text(&shrunk, seed);
    assert!(!text.contains("swarm"), "{text}");
    let file = Scenario::parse(&text, "shrunk.json").unwrap();
    assert_eq!(file.spec.protocol.options["resend_ns"], drawn);
    assert!(!run(&file, seed).ok);
}
