//! Chain replication driven directly through `SimBuilder`: a healthy chain answers everything
//! exactly once, a lone member recovers from its disk, failed servers are removed and
//! restarted ones rejoin as the new tail, all without a single invariant violation.

use protocols::chain::{Chain, ChainMsg, ChainOptions, ChainServer, Master};
use sim_core::{Cluster, Protocol};
use sim_core::{
    EventType, Fault, LatencyDist, NodeId, OpFn, OpMix, ScheduledFault, SimBuilder, SimConfig,
    Simulation, Value, WorkloadConfig, ms, secs,
};

/// `servers` counts the master; a run of `duration_s` seconds whose workload stops 2 s early.
fn config(seed: u64, duration_s: u64, mix: OpMix, faults: Vec<ScheduledFault>) -> SimConfig {
    let mut config = SimConfig {
        seed,
        duration_ns: secs(duration_s),
        faults,
        workload: Some(WorkloadConfig {
            clients: 3,
            rate_per_sec: 150.0,
            keys: 2,
            mix,
            stop_ns: Some(secs(duration_s - 3)),
            ..WorkloadConfig::default()
        }),
        ..SimConfig::default()
    };
    config.network.latency = LatencyDist::Uniform {
        min_ns: ms(1),
        max_ns: ms(4),
    };
    config
}

fn run(servers: u32, config: SimConfig) -> Simulation<ChainMsg> {
    let mut builder = SimBuilder::new(config);
    let cluster = Cluster {
        servers,
        clients: 3,
    };
    Chain::populate(&ChainOptions::default(), cluster, &mut builder).unwrap();
    let mut sim = builder.build().unwrap();
    sim.run().unwrap();
    sim
}

fn appends_and_reads() -> OpMix {
    OpMix {
        read: 1,
        write: 0,
        cas: 0,
        append: 2,
    }
}

fn at(s: u64, fault: Fault) -> ScheduledFault {
    ScheduledFault {
        at_ns: secs(s),
        fault,
    }
}

fn violations(sim: &Simulation<ChainMsg>) -> String {
    sim.violations()
        .iter()
        .map(|v| format!("t={}ns {} {}: {}\n", v.time_ns, v.node, v.check, v.detail))
        .collect()
}

fn server(sim: &Simulation<ChainMsg>, n: u32) -> &ChainServer {
    sim.process(NodeId(n))
        .and_then(|p| p.as_any().downcast_ref::<ChainServer>())
        .expect("a chain server")
}

fn chain(sim: &Simulation<ChainMsg>) -> Vec<NodeId> {
    let master = *sim.servers().last().unwrap();
    let master = sim
        .process(master)
        .and_then(|p| p.as_any().downcast_ref::<Master>())
        .expect("the master");
    master.config().unwrap().chain.clone()
}

/// Every acknowledged append is in `list` exactly once, and no append appears twice.
fn assert_appends_exactly_once(sim: &Simulation<ChainMsg>, key: u64, list: &Value) {
    let Value::List(items) = list else {
        panic!("key {key} holds {list:?}, not a list");
    };
    let events = sim.history().events();
    let acknowledged = events
        .iter()
        .filter(|e| e.kind == EventType::Ok && e.f == OpFn::Append && e.key == Some(key));
    let mut count = 0;
    for e in acknowledged {
        count += 1;
        let n = items.iter().filter(|v| **v == e.value).count();
        assert_eq!(n, 1, "acknowledged append {:?} appears {n} times", e.value);
    }
    let mut sorted = items.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), items.len(), "an append was applied twice");
    assert!(count > 20, "only {count} appends acknowledged on key {key}");
}

/// Under loss and duplication every operation is answered and every acknowledged append lands exactly once.
#[test]
fn a_healthy_chain_answers_every_operation_exactly_once() {
    let mut config = config(1, 10, appends_and_reads(), vec![]);
    config.network.loss = 0.05;
    config.network.duplicate = 0.05;
    let sim = run(4, config);
    assert_eq!(violations(&sim), "");
    let stats = sim.stats();
    assert_eq!(stats.ops_info, 0, "no operation should stay unanswered");
    assert!(stats.ops_ok > 300, "{stats:?}");
    let head = server(&sim, 0).replica();
    for n in 1..3 {
        let r = server(&sim, n).replica();
        assert_eq!(
            (r.applied(), r.digest()),
            (head.applied(), head.digest()),
            "n{n}"
        );
    }
    for key in 0..2 {
        assert_appends_exactly_once(&sim, key, head.value(key));
    }
}

/// A lone member that crashes keeps its place and recovers every acknowledged update from its disk.
#[test]
fn the_only_member_recovers_its_committed_updates_from_disk() {
    let faults = vec![
        at(3, Fault::Crash { node: NodeId(0) }),
        at(4, Fault::Restart { node: NodeId(0) }),
    ];
    let sim = run(2, config(2, 9, appends_and_reads(), faults));
    assert_eq!(violations(&sim), "");
    assert_eq!(
        chain(&sim),
        vec![NodeId(0)],
        "the lone member is never removed"
    );
    let lone = server(&sim, 0).replica();
    for key in 0..2 {
        assert_appends_exactly_once(&sim, key, lone.value(key));
    }
}

/// A crashed middle server is removed once and the two survivors keep serving with equal histories.
#[test]
fn a_crashed_middle_server_is_removed_and_updates_go_on() {
    let faults = vec![at(3, Fault::Crash { node: NodeId(1) })];
    let sim = run(4, config(3, 10, OpMix::default(), faults));
    assert_eq!(violations(&sim), "");
    assert_eq!(chain(&sim), vec![NodeId(0), NodeId(2)]);
    let answered_late = sim
        .history()
        .events()
        .iter()
        .filter(|e| e.kind == EventType::Ok && e.f != OpFn::Read && e.time > secs(4))
        .count();
    assert!(
        answered_late > 50,
        "only {answered_late} updates after the crash"
    );
    let (a, b) = (server(&sim, 0).replica(), server(&sim, 2).replica());
    assert_eq!((a.applied(), a.digest()), (b.applied(), b.digest()));
    let metrics = Chain::metrics(&sim);
    let get = |k: &str| metrics.iter().find(|(n, _)| n == k).unwrap().1;
    assert_eq!(get("chain.reconfigurations"), 1.0);
    assert_eq!(get("chain.length_min"), 2.0);
}

/// A restarted head rejoins as the tail and ends with the same history and nothing pending.
#[test]
fn a_restarted_head_rejoins_as_the_new_tail() {
    let faults = vec![
        at(2, Fault::Crash { node: NodeId(0) }),
        at(3, Fault::Restart { node: NodeId(0) }),
    ];
    let sim = run(4, config(4, 10, OpMix::default(), faults));
    assert_eq!(violations(&sim), "");
    assert_eq!(chain(&sim), vec![NodeId(1), NodeId(2), NodeId(0)]);
    let tail = server(&sim, 0).replica();
    for n in 1..3 {
        let r = server(&sim, n).replica();
        assert_eq!(
            (r.applied(), r.digest()),
            (tail.applied(), tail.digest()),
            "n{n}"
        );
    }
    for n in 0..3 {
        assert_eq!(
            server(&sim, n).pending(),
            0,
            "n{n} still has pending updates"
        );
    }
}

/// A cluster without room for both a chain and the master is a configuration error.
#[test]
fn too_small_a_cluster_is_refused() {
    let mut builder = SimBuilder::<ChainMsg>::new(SimConfig::default());
    let cluster = Cluster {
        servers: 1,
        clients: 0,
    };
    let err = Chain::populate(&ChainOptions::default(), cluster, &mut builder).unwrap_err();
    assert_eq!(err.field, "cluster.servers");
}
