//! Property tests of ABD, as a user writes them: proptest draws networks, fault schedules and
//! workloads, each run's client history must be linearizable, and a counterexample becomes a
//! scenario file that the command line reproduces with the same trace hash.

use std::process::Command;

use abd::{Abd, AbdBug, AbdOptions};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use scenarios::ScenarioSpec;
use sim_core::protocol::build;
use sim_core::{Cluster, ModelKind, Protocol, SimConfig, Verdict, secs, strategies};

const CLUSTER: Cluster = Cluster {
    servers: 3,
    clients: 3,
};

/// A run's configuration: everything proptest draws.
fn configs() -> impl Strategy<Value = SimConfig> {
    (
        any::<u64>(),
        strategies::network_config(),
        strategies::fault_schedule_with_clients(
            CLUSTER.servers,
            secs(5),
            6,
            strategies::client_placement(),
        ),
        strategies::workload_of(CLUSTER.clients, Abd::OPERATIONS),
    )
        .prop_map(|(seed, network, faults, workload)| SimConfig {
            seed,
            duration_ns: secs(5),
            network,
            faults,
            workload: Some(workload),
            ..SimConfig::default()
        })
}

/// Runs ABD with `options` under `config`; fails unless the history is linearizable.
fn linearizable(options: &AbdOptions, config: SimConfig) -> Result<(), TestCaseError> {
    let mut sim =
        build::<Abd>(options, CLUSTER, config).map_err(|e| TestCaseError::fail(e.to_string()))?;
    sim.run().map_err(|e| TestCaseError::fail(e.to_string()))?;
    let report = sim
        .history()
        .check(ModelKind::Register)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(
        report.verdict,
        Verdict::Linearizable,
        "{:?}",
        report.explanation
    );
    Ok(())
}

fn runner(cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
}

#[test]
fn correct_abd_is_linearizable_under_drawn_networks_faults_and_workloads() {
    let options = AbdOptions::default();
    let result = runner(32).run(&configs(), |config| linearizable(&options, config));
    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn proptest_finds_the_skipped_write_back_and_dsim_replays_the_counterexample() {
    let options = AbdOptions {
        bugs: vec![AbdBug::SkipReadWriteBack],
        ..AbdOptions::default()
    };
    let Err(TestError::Fail(why, config)) =
        runner(256).run(&configs(), |config| linearizable(&options, config))
    else {
        panic!("256 cases did not find the skipped write-back");
    };
    assert!(why.message().contains("NotLinearizable"), "{why}");
    // The shrunk counterexample as a scenario file, run by this crate's own `abd-dsim`.
    let dir = std::env::temp_dir().join(format!("abd-counterexample-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("counterexample.json");
    ScenarioSpec::from_config::<Abd>(&options, CLUSTER, &config)
        .unwrap()
        .write(&file)
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_abd-dsim"))
        .args([
            "run",
            file.to_str().unwrap(),
            "--json",
            "--out",
            dir.join("run").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut sim = build::<Abd>(&options, CLUSTER, config).unwrap();
    sim.run().unwrap();
    assert_eq!(summary["trace_hash"], format!("{:016x}", sim.trace_hash()));
    let failed: Vec<&str> = summary["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["linearizable"]);
    std::fs::remove_dir_all(&dir).unwrap();
}
