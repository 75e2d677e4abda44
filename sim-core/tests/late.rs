//! Late delivery end to end: a hold keeps what it cuts and releases it when it ends, a replay
//! and a link's stale duplicates deliver old messages again much later, a crash blip restarts
//! within its bound, the nemesis draws each new kind and coverage counts it, the same seed
//! gives the same trace hash, and bad values are refused naming their field.

mod common;

use common::{Log, Probe, Seen};
use rand::Rng;
use sim_core::{
    Ctx, Fault, FaultSource, LatencyDist, LinkConfig, NemesisConfig, NemesisKind, NetworkConfig,
    NodeId, PartitionSpec, Process, ScheduledFault, SimBuilder, SimConfig, SimError, TimerId, ms,
    secs,
};

/// Every 10 ms sends a number to a random other node of `nodes`, and answers nothing, so
/// replayed and duplicated messages add deliveries but never multiply traffic.
struct Ticker {
    nodes: u32,
    sent: u64,
}

impl Process for Ticker {
    type Msg = u64;
    fn on_start(&mut self, ctx: &mut Ctx<'_, u64>) {
        ctx.set_timer(ms(10), 0);
    }
    fn on_message(&mut self, _ctx: &mut Ctx<'_, u64>, _from: NodeId, _msg: u64) {}
    fn on_timer(&mut self, ctx: &mut Ctx<'_, u64>, _timer: TimerId, _tag: u64) {
        let me = ctx.id().0;
        let to = (me + ctx.rng().random_range(1..self.nodes)) % self.nodes;
        self.sent += 1;
        ctx.send(NodeId(to), self.sent);
        ctx.set_timer(ms(10), 0);
    }
}

fn ticker(nodes: u32) -> impl Fn(NodeId) -> sim_core::BoxProcess<u64> + 'static {
    move |_| Box::new(Ticker { nodes, sent: 0 })
}

fn at(t: u64, fault: Fault) -> ScheduledFault {
    ScheduledFault { at_ns: t, fault }
}

fn constant_network(latency_ns: u64) -> NetworkConfig {
    NetworkConfig::uniform(LinkConfig {
        latency: LatencyDist::Constant { ns: latency_ns },
        ..Default::default()
    })
}

/// The true times (perfect clocks) at which `node` received each message, by message.
fn arrivals(log: &Log, node: NodeId) -> Vec<(u64, u64)> {
    log.borrow()
        .iter()
        .filter_map(|s| match s {
            Seen::Message {
                node: n,
                msg,
                local,
                ..
            } if *n == node => Some((*msg, *local)),
            _ => None,
        })
        .collect()
}

/// n0 sends 1, 2, 3 to n1 at the start over a 10 ms link; n1 logs what arrives when.
fn two_nodes(
    network: NetworkConfig,
    faults: Vec<ScheduledFault>,
) -> (sim_core::Simulation<u64>, Log) {
    let log = Log::default();
    let mut b = SimBuilder::new(SimConfig {
        seed: 3,
        duration_ns: secs(10),
        network,
        faults,
        ..Default::default()
    });
    b.add_server(
        Probe {
            sends: vec![(NodeId(1), 1), (NodeId(1), 2), (NodeId(1), 3)],
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
    (sim, log)
}

fn hold_n1(release_spread_ns: u64) -> Fault {
    Fault::Hold {
        partition: PartitionSpec::isolate(Some(NodeId(1))),
        release_spread_ns,
    }
}

/// A hold keeps every message it cuts and releases them all at the heal, not before.
#[test]
fn held_messages_arrive_in_a_burst_at_the_heal_and_not_before() {
    let faults = vec![at(ms(1), hold_n1(0)), at(secs(2), Fault::Heal)];
    let (sim, log) = two_nodes(constant_network(ms(10)), faults);
    assert_eq!(
        arrivals(&log, NodeId(1)),
        vec![(1, secs(2)), (2, secs(2)), (3, secs(2))],
        "held in order, released at the heal"
    );
    assert_eq!(sim.stats().messages_held, 3);
    assert_eq!(sim.stats().messages_dropped(), 0);
    let hold = &sim.fault_records()[0];
    assert_eq!(
        (hold.messages_held, hold.lasted_ns),
        (3, Some(secs(2) - ms(1)))
    );
    assert!(hold.affected());
    let coverage = sim.coverage();
    assert_eq!(coverage.by_kind["hold"].messages_held, 3);
    assert!(coverage.flagged.is_empty(), "{:?}", coverage.flagged);
    // The same schedule with a partition drops them instead.
    let faults = vec![
        at(
            ms(1),
            Fault::Partition(PartitionSpec::isolate(Some(NodeId(1)))),
        ),
        at(secs(2), Fault::Heal),
    ];
    let (sim, log) = two_nodes(constant_network(ms(10)), faults);
    assert!(arrivals(&log, NodeId(1)).is_empty());
    assert_eq!(sim.stats().messages_dropped_partition, 3);
}

/// A spread release delivers each held message within the spread after the heal.
#[test]
fn a_spread_release_stays_within_its_spread() {
    let faults = vec![at(ms(1), hold_n1(ms(300))), at(secs(2), Fault::Heal)];
    let (_, log) = two_nodes(constant_network(ms(10)), faults);
    let seen = arrivals(&log, NodeId(1));
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter()
            .all(|(_, t)| (secs(2)..=secs(2) + ms(300)).contains(t)),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|(_, t)| *t > secs(2)),
        "a spread of 300 ms spreads: {seen:?}"
    );
}

/// Held messages meet whatever partition replaced the hold: a partition that still cuts the
/// link drops them when they land.
#[test]
fn a_partition_replacing_a_hold_releases_into_itself() {
    let faults = vec![
        at(ms(1), hold_n1(0)),
        at(
            secs(1),
            Fault::Partition(PartitionSpec::isolate(Some(NodeId(1)))),
        ),
        at(secs(2), Fault::Heal),
    ];
    let (sim, log) = two_nodes(constant_network(ms(10)), faults);
    assert!(arrivals(&log, NodeId(1)).is_empty());
    assert_eq!(sim.stats().messages_held, 3);
    assert_eq!(sim.stats().messages_dropped_partition, 3);
}

/// A stopped VM's outgoing messages arrive after it resumes: a pause together with a hold of
/// the node's outgoing links, ended together, delivers what it had sent in a burst at resume.
#[test]
fn a_pause_with_its_outgoing_links_held_delivers_them_after_resume() {
    let outgoing = Fault::Hold {
        partition: PartitionSpec::OneWay {
            from: vec![NodeId(0)],
            to: vec![NodeId(1)],
        },
        release_spread_ns: 0,
    };
    let faults = vec![
        at(ms(1), Fault::Pause { node: NodeId(0) }),
        at(ms(1), outgoing),
        at(secs(2), Fault::Resume { node: NodeId(0) }),
        at(secs(2), Fault::Heal),
    ];
    let (sim, log) = two_nodes(constant_network(ms(10)), faults);
    assert_eq!(
        arrivals(&log, NodeId(1)),
        vec![(1, secs(2)), (2, secs(2)), (3, secs(2))]
    );
    assert_eq!(sim.stats().messages_held, 3);
}

/// A replay delivers the messages of the window once more, `delay_ns` after the replay.
#[test]
fn a_replay_delivers_the_window_again_after_its_delay() {
    let replay = |window_ns| Fault::Replay {
        from: Some(NodeId(0)),
        to: Some(NodeId(1)),
        window_ns,
        delay_ns: secs(2),
    };
    let (sim, log) = two_nodes(constant_network(ms(10)), vec![at(ms(500), replay(secs(1)))]);
    assert_eq!(
        arrivals(&log, NodeId(1)),
        vec![
            (1, ms(10)),
            (2, ms(10)),
            (3, ms(10)),
            (1, ms(2500)),
            (2, ms(2500)),
            (3, ms(2500))
        ]
    );
    assert_eq!(sim.stats().messages_replayed, 3);
    assert_eq!(sim.fault_records()[0].messages_replayed, 3);
    assert!(sim.coverage().flagged.is_empty());
    // A window that ends before the sends replays nothing, and coverage says so.
    let (sim, log) = two_nodes(constant_network(ms(10)), vec![at(ms(500), replay(ms(100)))]);
    assert_eq!(arrivals(&log, NodeId(1)).len(), 3);
    assert_eq!(sim.stats().messages_replayed, 0);
    let flagged = sim.coverage().flagged;
    assert!(
        flagged.len() == 1 && flagged[0].contains("replay"),
        "{flagged:?}"
    );
    // Another link's messages are not replayed.
    let other = Fault::Replay {
        from: Some(NodeId(1)),
        to: None,
        window_ns: secs(1),
        delay_ns: secs(2),
    };
    let (sim, _) = two_nodes(constant_network(ms(10)), vec![at(ms(500), other)]);
    assert_eq!(sim.stats().messages_replayed, 0);
}

/// Every message on a link with `stale_duplicate: 1` arrives twice, the copy at least the
/// stale delay's minimum after the original.
#[test]
fn stale_duplicates_arrive_at_least_their_delay_after_the_original() {
    let network = NetworkConfig::uniform(LinkConfig {
        latency: LatencyDist::Constant { ns: ms(10) },
        stale_duplicate: 1.0,
        stale_delay: LatencyDist::Pareto {
            min_ns: secs(1),
            shape: 2.0,
        },
        ..Default::default()
    });
    let (sim, log) = two_nodes(network, vec![]);
    let seen = arrivals(&log, NodeId(1));
    assert_eq!(seen.len(), 6, "{seen:?}");
    for msg in 1..=3 {
        let times: Vec<u64> = seen
            .iter()
            .filter(|(m, _)| *m == msg)
            .map(|(_, t)| *t)
            .collect();
        assert_eq!(times[0], ms(10));
        assert!(times[1] >= ms(10) + secs(1), "{msg}: {times:?}");
    }
    assert_eq!(sim.stats().messages_stale, 3);
}

/// Stale duplicates draw from a stream of their own: turning them on leaves every other
/// draw of the network as it was, so the messages' first copies arrive exactly as before.
#[test]
fn stale_duplicates_leave_the_other_network_draws_alone() {
    let run = |stale_duplicate| {
        let log = Log::default();
        let mut b = SimBuilder::new(SimConfig {
            seed: 5,
            duration_ns: secs(5),
            network: NetworkConfig::uniform(LinkConfig {
                latency: LatencyDist::Uniform {
                    min_ns: ms(1),
                    max_ns: ms(20),
                },
                stale_duplicate,
                ..Default::default()
            }),
            ..Default::default()
        });
        b.add_server(
            Probe {
                sends: (0..50).map(|i| (NodeId(1), i)).collect(),
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
        b.build().unwrap().run().unwrap();
        let mut first: Vec<(u64, u64)> = arrivals(&log, NodeId(1))
            .into_iter()
            .filter(|(_, t)| *t < secs(1))
            .collect();
        first.sort_unstable();
        first
    };
    assert_eq!(run(0.0), run(0.5));
}

fn nemesis_run(seed: u64, nemesis: NemesisConfig) -> sim_core::Simulation<u64> {
    let mut b = SimBuilder::new(SimConfig {
        seed,
        duration_ns: secs(20),
        nemesis: Some(nemesis),
        network: NetworkConfig::uniform(LinkConfig {
            latency: LatencyDist::Uniform {
                min_ns: ms(1),
                max_ns: ms(5),
            },
            ..Default::default()
        }),
        ..Default::default()
    });
    for _ in 0..5 {
        b.add_server(ticker(5));
    }
    let mut sim = b.build().unwrap();
    sim.run().unwrap();
    sim
}

fn only(kind: NemesisKind) -> NemesisConfig {
    NemesisConfig {
        kinds: vec![kind],
        interval_ns_mean: ms(500),
        duration_ns_min: ms(100),
        duration_ns_max: ms(800),
        ..Default::default()
    }
}

/// A crash blip restarts its server within `crash_blip_ns_max`, and coverage counts it.
#[test]
fn crash_blips_restart_within_their_bound() {
    let sim = nemesis_run(
        1,
        NemesisConfig {
            crash_blip_ns_min: ms(2),
            crash_blip_ns_max: ms(20),
            ..only(NemesisKind::CrashBlip)
        },
    );
    let records = sim.fault_records();
    let crashes: Vec<_> = records
        .iter()
        .filter(|r| matches!(r.fault, Fault::Crash { .. }) && r.applied)
        .collect();
    assert!(crashes.len() >= 10, "{} crash blips", crashes.len());
    for crash in &crashes {
        assert_eq!(
            crash.source,
            FaultSource::Nemesis {
                kind: NemesisKind::CrashBlip
            }
        );
        let lasted = crash.lasted_ns.expect("every blip ended");
        assert!((ms(2)..=ms(20)).contains(&lasted), "lasted {lasted}");
    }
    let coverage = sim.coverage();
    assert!(coverage.by_kind["crash"].affected >= 10);
    assert!(coverage.flagged.is_empty(), "{:?}", coverage.flagged);
}

/// The hold nemesis holds messages and heals, releasing them; coverage counts what it held.
#[test]
fn the_hold_nemesis_holds_and_releases() {
    let sim = nemesis_run(2, only(NemesisKind::Hold));
    let coverage = sim.coverage();
    let holds = &coverage.by_kind["hold"];
    assert!(holds.affected >= 5, "{holds:?}");
    assert!(holds.messages_held > 0);
    assert_eq!(sim.stats().messages_held, holds.messages_held);
    assert_eq!(
        sim.stats().messages_dropped_partition,
        0,
        "holds drop nothing"
    );
    assert!(coverage.flagged.is_empty(), "{:?}", coverage.flagged);
}

/// The replay nemesis replays server-to-server links; coverage counts the copies.
#[test]
fn the_replay_nemesis_replays_links_between_servers() {
    let sim = nemesis_run(3, only(NemesisKind::Replay));
    let coverage = sim.coverage();
    let replays = &coverage.by_kind["replay"];
    assert!(
        replays.fired >= 10 && replays.messages_replayed > 0,
        "{replays:?}"
    );
    assert_eq!(sim.stats().messages_replayed, replays.messages_replayed);
    for r in sim.fault_records() {
        let Fault::Replay {
            from: Some(from),
            to: Some(to),
            window_ns,
            ..
        } = r.fault
        else {
            panic!("only replays were asked for: {:?}", r.fault);
        };
        assert_ne!(from, to);
        assert!(window_ns <= NemesisConfig::default().replay_window_ns_max);
    }
}

/// Fault durations drawn from a heavy-tailed distribution stay within the configured bounds
/// and mix short and long.
#[test]
fn heavy_tailed_durations_stay_in_bounds_and_mix_short_and_long() {
    let sim = nemesis_run(
        4,
        NemesisConfig {
            duration_dist: Some(LatencyDist::Pareto {
                min_ns: ms(5),
                shape: 0.7,
            }),
            duration_ns_min: ms(5),
            duration_ns_max: secs(3),
            ..only(NemesisKind::Pause)
        },
    );
    let lasted: Vec<u64> = sim
        .fault_records()
        .iter()
        .filter_map(|r| r.lasted_ns)
        .collect();
    assert!(lasted.len() >= 5, "{lasted:?}");
    assert!(lasted.iter().all(|l| (ms(5)..=secs(3)).contains(l)));
    assert!(lasted.iter().any(|l| *l < ms(50)), "{lasted:?}");
    assert!(lasted.iter().any(|l| *l > ms(200)), "{lasted:?}");
}

/// Each new shape is deterministic: the same seed gives the same trace hash, another seed
/// another one.
#[test]
fn each_new_shape_is_deterministic() {
    let stale = NetworkConfig::uniform(LinkConfig {
        stale_duplicate: 0.2,
        ..Default::default()
    });
    let shapes: Vec<(NetworkConfig, Vec<ScheduledFault>, Option<NemesisConfig>)> = vec![
        (
            NetworkConfig::default(),
            vec![at(ms(100), hold_n1(ms(50))), at(secs(2), Fault::Heal)],
            None,
        ),
        (
            NetworkConfig::default(),
            vec![at(
                secs(1),
                Fault::Replay {
                    from: None,
                    to: None,
                    window_ns: ms(300),
                    delay_ns: secs(1),
                },
            )],
            None,
        ),
        (stale, vec![], None),
        (
            NetworkConfig::default(),
            vec![],
            Some(only(NemesisKind::CrashBlip)),
        ),
        (
            NetworkConfig::default(),
            vec![],
            Some(only(NemesisKind::Hold)),
        ),
        (
            NetworkConfig::default(),
            vec![],
            Some(only(NemesisKind::Replay)),
        ),
    ];
    for (i, (network, faults, nemesis)) in shapes.into_iter().enumerate() {
        let hash = |seed| {
            let mut b = SimBuilder::new(SimConfig {
                seed,
                duration_ns: secs(5),
                network: network.clone(),
                faults: faults.clone(),
                nemesis: nemesis.clone(),
                ..Default::default()
            });
            for _ in 0..3 {
                b.add_server(ticker(3));
            }
            let mut sim = b.build().unwrap();
            sim.run().unwrap();
            sim.trace_hash()
        };
        assert_eq!(hash(7), hash(7), "shape {i}");
        assert_ne!(hash(7), hash(8), "shape {i}");
    }
}

/// Values out of range and unknown nodes are refused with the field that holds them.
#[test]
fn bad_values_name_their_field() {
    let field = |config: SimConfig| {
        let mut b = SimBuilder::new(config);
        for _ in 0..3 {
            b.add_server(ticker(3));
        }
        match b.build() {
            Err(SimError::Config(e)) => e.field,
            Err(other) => panic!("expected a config error, got {other:?}"),
            Ok(_) => panic!("accepted"),
        }
    };
    let faults = |fault| SimConfig {
        faults: vec![at(0, fault)],
        ..Default::default()
    };
    assert_eq!(
        field(faults(hold_n1(secs(100_000)))),
        "faults[0].fault.release_spread_ns"
    );
    assert_eq!(
        field(faults(Fault::Hold {
            partition: PartitionSpec::isolate(Some(NodeId(9))),
            release_spread_ns: 0
        })),
        "faults[0].fault.partition.node"
    );
    let replay = |from, window_ns| Fault::Replay {
        from,
        to: None,
        window_ns,
        delay_ns: 0,
    };
    assert_eq!(
        field(faults(replay(Some(NodeId(3)), 0))),
        "faults[0].fault.from"
    );
    assert_eq!(
        field(faults(replay(None, secs(100_000)))),
        "faults[0].fault.window_ns"
    );
    let nemesis = |n: NemesisConfig| SimConfig {
        nemesis: Some(n),
        ..Default::default()
    };
    assert_eq!(
        field(nemesis(NemesisConfig {
            crash_blip_ns_min: ms(10),
            crash_blip_ns_max: ms(5),
            ..Default::default()
        })),
        "nemesis.crash_blip_ns_min"
    );
    assert_eq!(
        field(nemesis(NemesisConfig {
            duration_dist: Some(LatencyDist::Pareto {
                min_ns: 1,
                shape: 0.0
            }),
            ..Default::default()
        })),
        "nemesis.duration_dist.shape"
    );
    let network = |link: LinkConfig| SimConfig {
        network: NetworkConfig::uniform(link),
        ..Default::default()
    };
    assert_eq!(
        field(network(LinkConfig {
            stale_duplicate: 1.5,
            ..Default::default()
        })),
        "network.stale_duplicate"
    );
    assert_eq!(
        field(network(LinkConfig {
            stale_delay: LatencyDist::Lognormal {
                median_ns: 0,
                sigma: 1.0
            },
            ..Default::default()
        })),
        "network.stale_delay.median_ns"
    );
}
