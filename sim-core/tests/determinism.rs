//! Determinism: one seed, one run. The same seed gives the same trace hash and the same
//! history, run after run in one process (which would catch hash-map iteration order, since
//! every std HashMap gets fresh random keys); different seeds give different runs.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::{Bouncer, EchoClient, EchoServer};
use sim_core::{
    ClockSkew, LatencyDist, LinkConfig, NemesisConfig, NetworkConfig, NodeId, OpMix, SimBuilder,
    SimConfig, TraceEvent, TraceSink, WorkloadConfig, ms, secs,
};

/// A busy run: lossy, duplicating, reordering network, skewed clocks, a nemesis and clients.
fn busy(
    seed: u64,
    sink: Option<Box<dyn TraceSink<u64>>>,
) -> (u64, sim_core::Stats, Vec<sim_core::HistoryEvent>) {
    let network = NetworkConfig::uniform(LinkConfig {
        latency: LatencyDist::Lognormal {
            median_ns: ms(2),
            sigma: 0.8,
        },
        loss: 0.05,
        duplicate: 0.02,
        reorder: 0.1,
        ..Default::default()
    });
    let config = SimConfig {
        seed,
        duration_ns: secs(20),
        network,
        clock_skew: Some(ClockSkew {
            offset_ns_max: ms(100),
            drift_ppm_max: 200.0,
        }),
        nemesis: Some(NemesisConfig {
            interval_ns_mean: secs(1),
            ..Default::default()
        }),
        workload: Some(WorkloadConfig {
            clients: 3,
            keys: 2,
            mix: OpMix::default(),
            timeout_ns: ms(200),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut b = SimBuilder::new(config);
    b.add_server(|_| Box::new(EchoServer));
    for _ in 0..4 {
        b.add_server(|_| Box::new(Bouncer { nodes: 5, serve: 3 }));
    }
    for _ in 0..3 {
        b.add_client(|_| {
            Box::new(EchoClient {
                server: NodeId(0),
                open: None,
            })
        });
    }
    if let Some(sink) = sink {
        b.trace_sink(sink);
    }
    let mut sim = b.build().unwrap();
    sim.run().unwrap();
    (
        sim.trace_hash(),
        sim.stats().clone(),
        sim.history().events().to_vec(),
    )
}

#[test]
fn same_seed_gives_the_same_trace_hash_stats_and_history() {
    let a = busy(42, None);
    let b = busy(42, None);
    assert_eq!(a.0, b.0);
    assert_eq!(a.1, b.1);
    assert_eq!(a.2, b.2);
    assert!(
        a.1.faults_applied > 5 && a.1.ops_invoked > 100 && a.1.messages_dropped() > 0,
        "{:?}",
        a.1
    );
}

#[test]
fn different_seeds_give_different_runs() {
    let hashes: std::collections::BTreeSet<u64> = (0..8).map(|s| busy(s, None).0).collect();
    assert_eq!(hashes.len(), 8);
}

/// Counts events and hashes their debug text independently of the engine's own hash.
struct Counting(Rc<RefCell<(u64, Vec<String>)>>);

impl TraceSink<u64> for Counting {
    fn record(&mut self, event: &TraceEvent<'_, u64>) {
        let mut inner = self.0.borrow_mut();
        inner.0 += 1;
        if inner.1.len() < 50 {
            inner.1.push(format!("{} {:?}", event.time, event.kind));
        }
    }
}

#[test]
fn a_trace_sink_sees_the_same_events_every_time_and_does_not_change_the_run() {
    let first = Rc::new(RefCell::new((0, Vec::new())));
    let second = Rc::new(RefCell::new((0, Vec::new())));
    let with_a = busy(5, Some(Box::new(Counting(first.clone()))));
    let with_b = busy(5, Some(Box::new(Counting(second.clone()))));
    let without = busy(5, None);
    assert_eq!(with_a.0, without.0, "observing must not change the run");
    assert_eq!(with_a.0, with_b.0);
    assert_eq!(*first.borrow(), *second.borrow());
    assert!(
        first.borrow().0 >= with_a.1.events,
        "every processed event is traced"
    );
}

#[test]
fn time_never_goes_backwards_in_the_trace() {
    let log = Rc::new(RefCell::new(Vec::new()));
    struct Times(Rc<RefCell<Vec<u64>>>);
    impl TraceSink<u64> for Times {
        fn record(&mut self, event: &TraceEvent<'_, u64>) {
            self.0.borrow_mut().push(event.time);
        }
    }
    busy(8, Some(Box::new(Times(log.clone()))));
    let times = log.borrow();
    assert!(times.len() > 1000);
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}
