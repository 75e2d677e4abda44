//! Clocks, timers, storage and faults end to end: timers follow local clocks, crashes lose
//! unsynced writes and volatile state, pauses hold events back, the nemesis stays in bounds.

mod common;

use common::{Bouncer, EchoClient, EchoServer, Log, Probe, Seen};
use sim_core::{
    ClientPlacement, ClockConfig, Fault, LatencyDist, Limits, LinkConfig, NemesisConfig,
    NemesisKind, NetworkConfig, NodeId, NodeStatus, PartitionSpec, ScheduledFault, SimBuilder,
    SimConfig, SimError, WorkloadConfig, ms, secs,
};

fn at(t: u64, fault: Fault) -> ScheduledFault {
    ScheduledFault { at_ns: t, fault }
}

fn constant_network(latency_ns: u64) -> NetworkConfig {
    NetworkConfig::uniform(LinkConfig {
        latency: LatencyDist::Constant { ns: latency_ns },
        ..Default::default()
    })
}

fn timers_seen(log: &Log) -> Vec<(u64, u64)> {
    log.borrow()
        .iter()
        .filter_map(|s| match s {
            Seen::Timer { tag, local, .. } => Some((*tag, *local)),
            _ => None,
        })
        .collect()
}

/// One probe node with a given clock and timers; returns (sim, log).
fn timed(
    clock: ClockConfig,
    timers: Vec<(u64, u64)>,
    faults: Vec<ScheduledFault>,
) -> (sim_core::Simulation<u64>, Log) {
    let log = Log::default();
    let mut b = SimBuilder::new(SimConfig {
        seed: 1,
        duration_ns: secs(10),
        faults,
        ..Default::default()
    });
    let n = b.add_server(
        Probe {
            log: log.clone(),
            timers: timers.clone(),
            cancel_tag: Some(99),
            ..Default::default()
        }
        .factory(),
    );
    b.set_clock(n, clock).unwrap();
    let mut sim = b.build().unwrap();
    sim.run().unwrap();
    (sim, log)
}

#[test]
fn timers_fire_by_local_time_under_drift() {
    // A clock running 25% fast reaches "1 s later" after 0.8 true seconds.
    let (sim, log) = timed(
        ClockConfig {
            offset_ns: 0,
            drift_ppm: 250_000.0,
        },
        vec![(secs(1), 1)],
        vec![],
    );
    let seen = timers_seen(&log);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].1, secs(1), "fires when the local clock reads 1 s");
    assert_eq!(sim.stats().timers_fired, 1);
    // Check the true firing time through the trace-free path: a second run that stops at 0.79 s.
    let log2 = Log::default();
    let mut b = SimBuilder::new(SimConfig {
        seed: 1,
        duration_ns: ms(790),
        ..Default::default()
    });
    let n = b.add_server(
        Probe {
            log: log2.clone(),
            timers: vec![(secs(1), 1)],
            ..Default::default()
        }
        .factory(),
    );
    b.set_clock(
        n,
        ClockConfig {
            offset_ns: 0,
            drift_ppm: 250_000.0,
        },
    )
    .unwrap();
    let mut sim = b.build().unwrap();
    sim.run().unwrap();
    assert!(
        timers_seen(&log2).is_empty(),
        "not yet fired at 0.79 s true time"
    );
}

#[test]
fn a_forward_jump_fires_pending_timers_early_and_a_backward_jump_delays_them() {
    let (_, log) = timed(
        ClockConfig::default(),
        vec![(secs(5), 1)],
        vec![at(
            secs(1),
            Fault::ClockJump {
                node: NodeId(0),
                delta_ns: secs(10) as i64,
            },
        )],
    );
    let seen = timers_seen(&log);
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].1,
        secs(11),
        "fired at the jump, when local time read 11 s"
    );

    let (_, log) = timed(
        ClockConfig::default(),
        vec![(secs(5), 1)],
        vec![at(
            secs(1),
            Fault::ClockJump {
                node: NodeId(0),
                delta_ns: -(secs(6) as i64),
            },
        )],
    );
    assert!(
        timers_seen(&log).is_empty(),
        "local 5 s is now reached only at true 11 s, after the run"
    );
}

#[test]
fn offsets_shift_the_local_reading_but_not_true_time() {
    let (_, log) = timed(
        ClockConfig {
            offset_ns: secs(100) as i64,
            drift_ppm: 0.0,
        },
        vec![(secs(2), 1)],
        vec![],
    );
    assert_eq!(timers_seen(&log), [(1, secs(102))]);
    match log.borrow()[0] {
        Seen::Started { local, .. } => assert_eq!(local, secs(100)),
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn cancelled_timers_do_not_fire() {
    let (sim, log) = timed(
        ClockConfig::default(),
        vec![(secs(1), 1), (secs(2), 99), (secs(3), 3)],
        vec![],
    );
    assert_eq!(
        timers_seen(&log).iter().map(|t| t.0).collect::<Vec<_>>(),
        [1, 3]
    );
    assert_eq!(sim.stats().timers_skipped, 1);
}

/// Writes `value` (synced or not), crashes at 1 s, restarts at 2 s; returns what the restarted
/// process found in storage.
fn restart_after_write(sync: bool) -> Option<Vec<u8>> {
    let log = Log::default();
    let faults = vec![
        at(secs(1), Fault::Crash { node: NodeId(0) }),
        at(secs(2), Fault::Restart { node: NodeId(0) }),
    ];
    let mut b = SimBuilder::new(SimConfig {
        seed: 1,
        duration_ns: secs(3),
        faults,
        ..Default::default()
    });
    b.add_server(
        Probe {
            log: log.clone(),
            write: Some((b"v".to_vec(), sync)),
            ..Default::default()
        }
        .factory(),
    );
    let mut sim = b.build().unwrap();
    sim.run().unwrap();
    let starts: Vec<Option<Vec<u8>>> = log
        .borrow()
        .iter()
        .filter_map(|s| match s {
            Seen::Started { restored, .. } => Some(restored.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(starts.len(), 2, "started, then restarted from the factory");
    assert_eq!(starts[0], None);
    starts[1].clone()
}

#[test]
fn a_crash_keeps_synced_writes_and_loses_the_rest() {
    assert_eq!(restart_after_write(true), Some(b"v".to_vec()));
    assert_eq!(restart_after_write(false), None);
}

#[test]
fn messages_to_a_crashed_node_are_dropped_and_crash_stop_is_permanent() {
    let log = Log::default();
    let mut b = SimBuilder::new(SimConfig {
        seed: 1,
        duration_ns: secs(2),
        network: constant_network(ms(10)),
        faults: vec![at(ms(5), Fault::Crash { node: NodeId(1) })],
        ..Default::default()
    });
    b.add_server(
        Probe {
            sends: vec![(NodeId(1), 1), (NodeId(1), 2)],
            ..Default::default()
        }
        .factory(),
    );
    b.add_server(
        Probe {
            log: log.clone(),
            ..Default::default()
        }
        .factory(),
    );
    let mut sim = b.build().unwrap();
    sim.run().unwrap();
    assert_eq!(sim.stats().messages_dropped_node_down, 2);
    assert_eq!(sim.status(NodeId(1)), Some(NodeStatus::Crashed));
    assert!(
        !log.borrow()
            .iter()
            .any(|s| matches!(s, Seen::Message { .. }))
    );
}

#[test]
fn a_paused_node_receives_its_messages_and_timers_after_resuming() {
    let log = Log::default();
    let faults = vec![
        at(ms(1), Fault::Pause { node: NodeId(1) }),
        at(secs(3), Fault::Resume { node: NodeId(1) }),
    ];
    let mut b = SimBuilder::new(SimConfig {
        seed: 1,
        duration_ns: secs(5),
        network: constant_network(ms(10)),
        faults,
        ..Default::default()
    });
    b.add_server(
        Probe {
            sends: vec![(NodeId(1), 1), (NodeId(1), 2)],
            ..Default::default()
        }
        .factory(),
    );
    b.add_server(
        Probe {
            log: log.clone(),
            timers: vec![(secs(1), 7)],
            ..Default::default()
        }
        .factory(),
    );
    let mut sim = b.build().unwrap();
    sim.run().unwrap();
    let after_start: Vec<Seen> = log.borrow()[1..].to_vec();
    assert_eq!(after_start.len(), 3, "{after_start:?}");
    for seen in &after_start {
        let local = match seen {
            Seen::Message { local, .. } | Seen::Timer { local, .. } => *local,
            Seen::Started { .. } => panic!("no restart expected"),
        };
        assert_eq!(local, secs(3), "everything waits for the resume: {seen:?}");
    }
    // Messages keep their order through the pause.
    let msgs: Vec<u64> = after_start
        .iter()
        .filter_map(|s| {
            if let Seen::Message { msg, .. } = s {
                Some(*msg)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(msgs, [1, 2]);
}

#[test]
fn faults_naming_unknown_nodes_are_rejected() {
    let mut b: SimBuilder<u64> = SimBuilder::new(SimConfig {
        duration_ns: secs(1),
        faults: vec![at(0, Fault::Crash { node: NodeId(5) })],
        ..Default::default()
    });
    b.add_server(|_| Box::new(Probe::default()));
    let err = b.build().err().unwrap().to_string();
    assert!(
        err.contains("faults[0].fault.node") && err.contains("n5"),
        "{err}"
    );
}

fn nemesis_run(seed: u64, kinds: Vec<NemesisKind>) -> sim_core::Simulation<u64> {
    let nemesis = NemesisConfig {
        kinds,
        interval_ns_mean: ms(500),
        duration_ns_min: ms(100),
        duration_ns_max: ms(800),
        ..Default::default()
    };
    let mut b = SimBuilder::new(SimConfig {
        seed,
        duration_ns: secs(30),
        nemesis: Some(nemesis),
        ..Default::default()
    });
    for _ in 0..5 {
        b.add_server(|_| Box::new(Bouncer { nodes: 5, serve: 2 }));
    }
    let mut sim = b.build().unwrap();
    sim.run().unwrap();
    sim
}

#[test]
fn the_nemesis_injects_faults_and_never_downs_a_majority() {
    let sim = nemesis_run(
        4,
        vec![
            NemesisKind::CrashRecover,
            NemesisKind::Pause,
            NemesisKind::Partition,
            NemesisKind::ClockJump,
        ],
    );
    let s = sim.stats();
    assert!(
        s.faults_applied > 40,
        "about 60 starts plus their undos expected, got {}",
        s.faults_applied
    );
    assert!(
        s.messages_dropped_partition > 0 && s.messages_dropped_node_down > 0,
        "{s:?}"
    );
    let down = sim
        .servers()
        .iter()
        .filter(|n| sim.status(**n) != Some(NodeStatus::Up))
        .count();
    assert!(down <= 2);
}

#[test]
fn the_crash_stop_nemesis_leaves_at_most_a_minority_crashed() {
    let sim = nemesis_run(9, vec![NemesisKind::CrashStop]);
    let crashed = sim
        .servers()
        .iter()
        .filter(|n| sim.status(**n) == Some(NodeStatus::Crashed))
        .count();
    assert_eq!(
        crashed, 2,
        "a 5-node cluster ends with exactly its tolerance crashed"
    );
}

#[test]
fn queue_limit_stops_a_message_storm_with_an_error() {
    let limits = Limits {
        queue_len_max: 50,
        ..Default::default()
    };
    let mut b = SimBuilder::new(SimConfig {
        seed: 1,
        duration_ns: secs(1),
        limits,
        ..Default::default()
    });
    b.add_server(|_| {
        Box::new(Bouncer {
            nodes: 1,
            serve: 100,
        })
    });
    let mut sim = b.build().unwrap();
    match sim.run() {
        Err(SimError::LimitReached { limit, .. }) => assert_eq!(limit, "queue_len_max"),
        other => panic!("expected the queue limit, got {other:?}"),
    }
}

/// Two bouncing nodes with a schedule; returns the finished simulation.
fn scheduled(faults: Vec<ScheduledFault>) -> sim_core::Simulation<u64> {
    let mut b = SimBuilder::new(SimConfig {
        seed: 2,
        duration_ns: secs(10),
        faults,
        ..Default::default()
    });
    for _ in 0..3 {
        b.add_server(|_| {
            Box::new(Bouncer {
                nodes: 3,
                serve: 20,
            })
        });
    }
    let mut sim = b.build().unwrap();
    sim.run().unwrap();
    sim
}

#[test]
fn coverage_counts_what_each_fault_affected_and_flags_faults_that_did_nothing() {
    let sim = scheduled(vec![
        at(secs(1), Fault::Pause { node: NodeId(1) }),
        at(secs(2), Fault::Resume { node: NodeId(1) }),
        // Short enough that some balls survive it.
        at(
            secs(3),
            Fault::Partition(sim_core::PartitionSpec::isolate(Some(NodeId(0)))),
        ),
        at(secs(3) + ms(2), Fault::Heal),
        at(secs(5), Fault::Resume { node: NodeId(1) }),
        at(secs(6), Fault::Crash { node: NodeId(2) }),
    ]);
    let records = sim.fault_records();
    assert_eq!(records.len(), 6);
    assert!(
        records[0].events_deferred > 0 && records[0].lasted_ns == Some(secs(1)),
        "{:?}",
        records[0]
    );
    assert!(
        records[2].messages_dropped > 0 && records[2].lasted_ns == Some(ms(2)),
        "{:?}",
        records[2]
    );
    assert!(
        !records[4].applied,
        "resuming a running node does not apply"
    );
    assert!(
        records[5].messages_dropped > 0 && records[5].lasted_ns.is_none(),
        "{:?}",
        records[5]
    );
    let summary = sim.coverage();
    assert_eq!(summary.by_kind["partition"].time_ns, ms(2));
    assert_eq!(summary.by_kind["pause"].time_ns, secs(1));
    assert_eq!(
        summary.by_kind["crash"].time_ns,
        secs(4),
        "still down at the end of the run"
    );
    assert_eq!(
        summary.flagged,
        ["faults[4] (resume at 5.000 s) did not apply"]
    );
}

#[test]
fn a_partition_while_nobody_talks_is_flagged() {
    let mut b = SimBuilder::new(SimConfig {
        seed: 2,
        duration_ns: secs(3),
        faults: vec![at(
            secs(1),
            Fault::Partition(sim_core::PartitionSpec::halves()),
        )],
        ..Default::default()
    });
    b.add_server(|_| Box::new(Probe::default()));
    b.add_server(|_| Box::new(Probe::default()));
    let mut sim = b.build().unwrap();
    sim.run().unwrap();
    let flagged = sim.coverage().flagged;
    assert_eq!(flagged, ["faults[0] (partition at 1.000 s) had no effect"]);
}

#[test]
fn heal_all_ends_every_fault_at_once() {
    let sim = scheduled(vec![
        at(secs(1), Fault::Partition(sim_core::PartitionSpec::halves())),
        at(secs(1), Fault::Crash { node: NodeId(0) }),
        at(secs(1), Fault::Pause { node: NodeId(1) }),
        at(secs(2), Fault::HealAll),
    ]);
    assert!(
        sim.servers()
            .iter()
            .all(|n| sim.status(*n) == Some(NodeStatus::Up))
    );
    assert!(!sim.connectivity().is_partitioned());
    let records = sim.fault_records();
    assert!(
        records[..3].iter().all(|r| r.lasted_ns == Some(secs(1))),
        "{records:?}"
    );
}

#[test]
fn nemesis_kinds_that_never_fire_are_flagged() {
    let nemesis = NemesisConfig {
        kinds: vec![NemesisKind::Pause, NemesisKind::ClockJump],
        interval_ns_mean: secs(100),
        start_ns: secs(5),
        ..Default::default()
    };
    let mut b = SimBuilder::new(SimConfig {
        seed: 1,
        duration_ns: secs(6),
        nemesis: Some(nemesis),
        ..Default::default()
    });
    b.add_server(|_| Box::new(Probe::default()));
    let mut sim = b.build().unwrap();
    sim.run().unwrap();
    let flagged = sim.coverage().flagged;
    assert!(
        flagged.iter().any(|f| f.contains("Pause"))
            && flagged.iter().any(|f| f.contains("ClockJump")),
        "{flagged:?}"
    );
}

/// Three echo servers that never talk to each other, each with its own client, under a
/// partition-only nemesis placing clients by `clients`.
fn clients_only_run(clients: ClientPlacement) -> sim_core::Simulation<u64> {
    let nemesis = NemesisConfig {
        kinds: vec![NemesisKind::Partition],
        interval_ns_mean: secs(1),
        duration_ns_min: ms(500),
        duration_ns_max: secs(2),
        partition_clients: clients,
        ..Default::default()
    };
    let mut b = SimBuilder::new(SimConfig {
        seed: 5,
        duration_ns: secs(20),
        nemesis: Some(nemesis),
        workload: Some(WorkloadConfig {
            clients: 3,
            rate_per_sec: 60.0,
            timeout_ns: ms(100),
            ..Default::default()
        }),
        ..Default::default()
    });
    let servers: Vec<NodeId> = (0..3)
        .map(|_| b.add_server(|_| Box::new(EchoServer)))
        .collect();
    for server in servers {
        b.add_client(move |_| Box::new(EchoClient { server, open: None }));
    }
    let mut sim = b.build().unwrap();
    sim.run().unwrap();
    sim
}

#[test]
fn a_nemesis_kind_that_fires_but_affects_nothing_is_flagged() {
    // Servers that only answer clients: partitions among servers alone cut nothing in use.
    let free = clients_only_run(ClientPlacement::Free);
    let summary = free.coverage();
    let partitions = &summary.by_kind["partition"];
    assert!(partitions.fired >= 3, "{summary:?}");
    assert_eq!(partitions.affected, 0, "{summary:?}");
    assert_eq!(free.stats().messages_dropped_partition, 0);
    let flag = format!(
        "nemesis kind Partition fired {} times but never affected the run",
        partitions.fired
    );
    assert_eq!(summary.flagged, [flag]);
}

#[test]
fn a_nemesis_partition_that_spreads_clients_cuts_them_off_and_is_not_flagged() {
    let spread = clients_only_run(ClientPlacement::Spread);
    let summary = spread.coverage();
    let partitions = &summary.by_kind["partition"];
    assert!(partitions.affected > 0, "{summary:?}");
    assert!(partitions.messages_dropped > 0, "{summary:?}");
    assert!(spread.stats().ops_info > 0, "cut-off clients time out");
    assert!(summary.flagged.is_empty(), "{:?}", summary.flagged);
    assert!(spread.fault_records().iter().all(|r| match &r.fault {
        Fault::Partition(p) => p.clients() == ClientPlacement::Spread,
        _ => true,
    }));
}

#[test]
fn a_partition_that_replaces_another_ends_it_and_takes_its_drops_from_then_on() {
    let sim = scheduled(vec![
        at(
            secs(3),
            Fault::Partition(PartitionSpec::isolate(Some(NodeId(0)))),
        ),
        at(
            secs(3) + ms(2),
            Fault::Partition(PartitionSpec::isolate(Some(NodeId(1)))),
        ),
        at(secs(3) + ms(5), Fault::Heal),
    ]);
    let records = sim.fault_records();
    assert_eq!(records[0].lasted_ns, Some(ms(2)), "{:?}", records[0]);
    assert_eq!(records[1].lasted_ns, Some(ms(3)), "{:?}", records[1]);
    assert!(records[0].messages_dropped > 0 && records[1].messages_dropped > 0);
    assert_eq!(
        records[0].messages_dropped + records[1].messages_dropped,
        sim.stats().messages_dropped_partition,
        "every partition drop is attributed to the partition in force"
    );
    assert!(records[1].messages_changed > 0 && records[1].affected());
    let summary = sim.coverage();
    assert_eq!(summary.by_kind["partition"].time_ns, ms(5));
    assert_eq!(summary.by_kind["partition"].affected, 2);
    assert!(summary.flagged.is_empty(), "{:?}", summary.flagged);
}

#[test]
fn a_replacement_with_the_same_links_is_flagged_though_it_drops_messages() {
    let isolate = || Fault::Partition(PartitionSpec::isolate(Some(NodeId(0))));
    let sim = scheduled(vec![
        at(secs(3), isolate()),
        at(secs(3) + ms(2), isolate()),
        at(secs(3) + ms(5), Fault::Heal),
    ]);
    let records = sim.fault_records();
    assert!(records[0].affected(), "{:?}", records[0]);
    // The drops are the new one's, but the old one would have dropped them all the same.
    assert!(records[1].messages_dropped > 0, "{:?}", records[1]);
    assert_eq!(records[1].messages_changed, 0, "{:?}", records[1]);
    assert_eq!(
        sim.coverage().flagged,
        ["faults[1] (partition at 3.002 s) had no effect"]
    );
}

#[test]
fn a_replacement_that_only_reconnects_affects_the_run_though_it_drops_nothing() {
    let alone = vec![vec![NodeId(0)], vec![NodeId(1)], vec![NodeId(2)]];
    let sim = scheduled(vec![
        at(
            secs(3),
            Fault::Partition(PartitionSpec::Groups { groups: alone }),
        ),
        // One group of everyone: nothing is cut, everything cut before is joined again.
        at(
            secs(3) + ms(2),
            Fault::Partition(PartitionSpec::Groups {
                groups: vec![vec![NodeId(0), NodeId(1), NodeId(2)]],
            }),
        ),
    ]);
    let records = sim.fault_records();
    assert!(records[0].affected(), "{:?}", records[0]);
    assert_eq!(records[1].messages_dropped, 0, "{:?}", records[1]);
    assert!(records[1].messages_changed > 0, "{:?}", records[1]);
    assert!(
        sim.coverage().flagged.is_empty(),
        "{:?}",
        sim.coverage().flagged
    );
}
