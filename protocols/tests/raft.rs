//! Raft driven directly through `SimBuilder`: liveness and the run-time invariants under
//! faults, recovery from storage alone, and each known bug caught by the monitor.

use protocols::raft::{self, Raft, RaftMsg, RaftOptions, ReadMode};
use sim_core::{Cluster, Protocol};
use sim_core::{
    EventType, Fault, NodeId, ScheduledFault, SimBuilder, SimConfig, Simulation, WorkloadConfig,
    ms, secs,
};

fn config(seed: u64, duration_s: u64, clients: u32) -> SimConfig {
    SimConfig {
        seed,
        duration_ns: secs(duration_s),
        workload: Some(WorkloadConfig {
            clients,
            rate_per_sec: 100.0,
            keys: 3,
            stop_ns: Some(secs(duration_s) - ms(1500)),
            ..WorkloadConfig::default()
        }),
        ..SimConfig::default()
    }
}

fn run(options: &RaftOptions, servers: u32, config: SimConfig) -> Simulation<RaftMsg> {
    let clients = config.workload.as_ref().map_or(0, |w| w.clients);
    let mut builder = SimBuilder::new(config);
    Raft::populate(options, Cluster { servers, clients }, &mut builder).unwrap();
    let mut sim = builder.build().unwrap();
    sim.run().unwrap();
    sim
}

fn violations(sim: &Simulation<RaftMsg>) -> String {
    sim.violations()
        .iter()
        .map(|v| format!("t={}ns {} {}: {}\n", v.time_ns, v.node, v.check, v.detail))
        .collect()
}

fn metric(sim: &Simulation<RaftMsg>, name: &str) -> f64 {
    Raft::metrics(sim)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .unwrap()
}

#[test]
fn a_healthy_cluster_elects_one_leader_and_serves_every_operation() {
    for read_mode in [ReadMode::Log, ReadMode::ReadIndex, ReadMode::Lease] {
        let options = RaftOptions {
            read_mode,
            snapshot_threshold: 100,
            ..RaftOptions::default()
        };
        let sim = run(&options, 5, config(1, 10, 3));
        assert_eq!(violations(&sim), "");
        let s = sim.stats();
        assert!(s.ops_ok + s.ops_fail > 700, "{read_mode:?}: {s:?}");
        assert_eq!(s.ops_info, 0, "{read_mode:?}: {s:?}");
        assert_eq!(metric(&sim, "leader_changes"), 1.0);
        assert!(
            metric(&sim, "snapshots") >= 5.0,
            "{:?} {s:?}",
            Raft::metrics(&sim)
        );
        for check in Raft::end_checks(&options, &sim) {
            assert!(check.ok, "{check:?}");
        }
    }
}

fn at(at_ms: u64, fault: Fault) -> ScheduledFault {
    ScheduledFault {
        at_ns: ms(at_ms),
        fault,
    }
}

#[test]
fn a_whole_cluster_power_failure_loses_nothing_acknowledged() {
    let mut config = config(2, 12, 3);
    for n in 0..5 {
        config
            .faults
            .push(at(5_000, Fault::Crash { node: NodeId(n) }));
        config.faults.push(at(
            5_000 + 100 * u64::from(n),
            Fault::Restart { node: NodeId(n) },
        ));
    }
    let sim = run(&RaftOptions::default(), 5, config);
    assert_eq!(violations(&sim), "");
    // Work continues after the restart, on top of what was committed before it.
    let servers = raft::servers(&sim);
    assert!(
        servers.iter().all(|s| s.last_applied() > 300),
        "{:?}",
        Raft::metrics(&sim)
    );
    let ok_after = sim
        .history()
        .events()
        .iter()
        .filter(|e| e.time > secs(6) && e.kind == EventType::Ok)
        .count();
    assert!(
        ok_after > 200,
        "{ok_after} operations succeeded after the restart"
    );
}

#[test]
fn a_server_down_for_long_catches_up_by_install_snapshot() {
    let options = RaftOptions {
        snapshot_threshold: 50,
        ..RaftOptions::default()
    };
    let mut config = config(3, 12, 3);
    for n in [3, 4] {
        config
            .faults
            .push(at(1_000, Fault::Crash { node: NodeId(n) }));
        config
            .faults
            .push(at(8_000, Fault::Restart { node: NodeId(n) }));
    }
    let sim = run(&options, 5, config);
    assert_eq!(violations(&sim), "");
    let servers = raft::servers(&sim);
    let applied: Vec<u64> = servers.iter().map(|s| s.last_applied()).collect();
    let commit = servers.iter().map(|s| s.commit_index()).max().unwrap();
    assert!(
        applied.iter().all(|&a| a + 10 >= commit),
        "{applied:?} vs {commit}"
    );
    // The restarted servers never saw most entries one by one: they got a snapshot.
    for s in &servers[3..] {
        assert!(
            s.log().snapshot_index() > 100,
            "{:?}",
            s.log().snapshot_index()
        );
    }
}

#[test]
fn a_single_server_cluster_commits_on_its_own() {
    let sim = run(&RaftOptions::default(), 1, config(4, 5, 2));
    assert_eq!(violations(&sim), "");
    assert_eq!(sim.stats().ops_info, 0);
    let s = sim.stats();
    assert!(s.ops_ok + s.ops_fail > 250, "{s:?}");
}

#[test]
fn invalid_options_name_the_field() {
    let options = RaftOptions {
        read_mode: ReadMode::Lease,
        leader_stickiness: false,
        ..RaftOptions::default()
    };
    let mut builder = SimBuilder::new(config(5, 5, 1));
    let cluster = Cluster {
        servers: 3,
        clients: 1,
    };
    let err = Raft::populate(&options, cluster, &mut builder).unwrap_err();
    assert_eq!(err.field, "protocol.options.leader_stickiness");
}
