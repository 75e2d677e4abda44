//! What the "bring your own protocol" work promises a user of the command line and the library:
//! an open registry with helpful errors, workloads checked against the operations a protocol
//! serves, no silent empty verdicts, scenarios and configurations that convert both ways, a
//! library that works from any directory, and output that survives a closed pipe.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

use common::{edited, library, root};
use scenarios::{Registry, RunOptions, Scenario, ScenarioSpec};
use sim_core::Protocol;
use sim_core::protocol::build;

fn dsim_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dsim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("dsim runs")
}

#[test]
fn an_unknown_protocol_lists_the_registered_ones_and_how_to_register_one() {
    let scenario = edited("register", "unknown", |v| {
        v["protocol"]["name"] = "regster".into()
    });
    let error = Registry::builtin()
        .run(&scenario, &RunOptions::default())
        .unwrap_err()
        .to_string();
    for part in [
        "protocol.name",
        "unknown protocol `regster`",
        "registered: pingpong, register, raft, chain, gossip, twopc",
        "did you mean `register`?",
        "Dsim::new().protocol::<YourProtocol>()",
    ] {
        assert!(error.contains(part), "missing {part:?} in: {error}");
    }
    let empty = Registry::new()
        .run(&library("register"), &RunOptions::default())
        .unwrap_err();
    assert!(
        empty.to_string().contains("no protocols are registered"),
        "{empty}"
    );
}

#[test]
fn a_registry_runs_only_what_it_was_given_and_a_later_registration_replaces_an_earlier_one() {
    let mut registry = Registry::new();
    registry.protocol::<protocols::register::Register>();
    assert!(registry.contains("register") && !registry.contains("raft"));
    assert!(
        registry
            .run(&library("raft-partitions"), &RunOptions::default())
            .is_err()
    );
    registry.protocol::<protocols::register::Register>();
    assert_eq!(registry.protocols().count(), 1);
    let report = registry
        .run(&library("register"), &RunOptions::default())
        .unwrap();
    assert!(report.ok, "{}", report.to_text());
}

#[test]
fn a_workload_operation_the_protocol_does_not_serve_is_bad_input_at_its_field() {
    let scenario = edited("register", "append", |v| {
        v["workload"]["mix"]["append"] = 1.into();
    });
    let error = scenarios::run(&scenario, &RunOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("workload.mix.append")
            && error.contains("serves read, write, cas, not append"),
        "{error}"
    );
}

#[test]
fn a_mix_left_out_is_the_default_mix_of_the_served_operations() {
    // twopc serves reads and writes only; the default mix has cas in it.
    let scenario = edited("2pc-lossy", "no-mix", |v| {
        v["workload"].as_object_mut().unwrap().remove("mix");
    });
    let report = scenarios::run(&scenario, &RunOptions::default()).unwrap();
    assert!(report.ok, "{}", report.to_text());
    assert!(report.history.iter().all(|e| e.f != sim_core::OpFn::Cas));
    assert!(report.stats.ops_invoked > 10);
}

#[test]
fn a_run_in_which_no_operation_completed_fails_its_linearizable_check() {
    // Every operation starts after the run ends: the history is empty.
    let scenario = edited("register", "idle", |v| {
        v["workload"]["start_ns"] = "1h".into();
    });
    let report = scenarios::run(&scenario, &RunOptions::default()).unwrap();
    let check = report
        .checks
        .iter()
        .find(|c| c.name == "linearizable")
        .unwrap();
    assert!(!check.ok, "{check:?}");
    assert!(
        check
            .detail
            .contains("no client operation completed ok (0 invoked)"),
        "{check:?}"
    );
}

#[test]
fn a_configuration_becomes_a_scenario_file_that_runs_the_same_run() {
    use protocols::raft::{Raft, RaftOptions};
    let scenario = library("raft-nemesis");
    let config = scenario.spec.to_config(11);
    let cluster = scenario.spec.cluster_for(&config);
    let options = RaftOptions::default();
    let spec = ScenarioSpec::from_config::<Raft>(&options, cluster, &config).unwrap();
    let text = spec.to_file_text();
    let back = Scenario::parse(&text, "written.json").unwrap();
    assert_eq!(back.spec.to_config(11), config);
    assert_eq!(back.spec.protocol.name, Raft::NAME);
    let mut sim = build::<Raft>(&options, cluster, config).unwrap();
    sim.run().unwrap();
    let report = scenarios::run(
        &back,
        &RunOptions {
            seed: Some(11),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(report.trace_hash, sim.trace_hash());
}

#[test]
fn list_and_run_use_the_built_in_library_from_any_directory() {
    let elsewhere = tempfile::tempdir().unwrap();
    let out = dsim_in(elsewhere.path(), &["list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text.contains("raft-nemesis") && text.contains("register-crash-storm"),
        "{text}"
    );
    let out = dsim_in(elsewhere.path(), &["run", "register", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["scenario"], "register");
    // A directory of scenario files can still be listed.
    let dir = root().join("scenarios/library");
    let out = dsim_in(
        elsewhere.path(),
        &["list", "--library", dir.to_str().unwrap()],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2pc-bank-crash"));
}

#[test]
fn a_reader_that_closes_the_pipe_early_ends_the_run_quietly_with_its_usual_status() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dsim"))
        .args(["run", "register", "--json"])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // like `| head -c 0`: nobody reads
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_empty_shard_is_an_empty_success() {
    let out = dsim_in(
        &root(),
        &["sweep", "register", "--seeds", "0..2", "--shard", "2/3"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no seeds"));
}
