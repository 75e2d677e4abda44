//! Every built-in protocol refuses options outside their ranges with the field named, and
//! declares a footprint that admits the library's clusters and refuses clusters too big for
//! the default memory limit before a run starts.

use protocols::chain::{Chain, ChainOptions};
use protocols::gossip::{Gossip, GossipOptions};
use protocols::pingpong::{PingPong, PingPongOptions};
use protocols::raft::{Raft, RaftOptions};
use protocols::register::{Register, RegisterOptions};
use protocols::twopc::client::WorkloadKind;
use protocols::twopc::{TwoPc, TwoPcOptions};
use sim_core::protocol::build;
use sim_core::{Cluster, Protocol, SimConfig, SimError, WorkloadConfig};

/// The field of the configuration error building `P` gives, or a panic if it builds.
fn refused<P: Protocol>(options: &P::Options, servers: u32, clients: u32) -> String {
    let config = SimConfig {
        workload: (clients > 0).then(|| WorkloadConfig {
            clients,
            mix: sim_core::OpMix::default().restricted_to(P::OPERATIONS),
            ..WorkloadConfig::default()
        }),
        ..SimConfig::default()
    };
    match build::<P>(options, Cluster { servers, clients }, config) {
        Err(SimError::Config(e)) => {
            assert!(
                e.message.contains("out of range") || e.message.contains("memory_bytes_max"),
                "{e}"
            );
            e.field
        }
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("{} built with {options:?}", P::NAME),
    }
}

/// Builds `P` with a workload like the library's (writes stop after 3 s), or panics.
fn admitted<P: Protocol>(options: &P::Options, servers: u32, clients: u32) {
    let config = SimConfig {
        workload: (clients > 0).then(|| WorkloadConfig {
            clients,
            mix: sim_core::OpMix::default().restricted_to(P::OPERATIONS),
            stop_ns: Some(3 * sim_core::SECONDS),
            ..WorkloadConfig::default()
        }),
        ..SimConfig::default()
    };
    if let Err(e) = build::<P>(options, Cluster { servers, clients }, config) {
        panic!("{} with {servers} servers: {e}", P::NAME);
    }
}

#[test]
fn timers_shorter_than_ten_microseconds_are_refused() {
    let raft = RaftOptions {
        heartbeat_ns: 1,
        ..RaftOptions::default()
    };
    assert_eq!(
        refused::<Raft>(&raft, 3, 0),
        "protocol.options.heartbeat_ns"
    );
    let chain = ChainOptions {
        resend_ns: 1,
        ..ChainOptions::default()
    };
    assert_eq!(refused::<Chain>(&chain, 4, 0), "protocol.options.resend_ns");
    let gossip = GossipOptions {
        gossip_interval_ns: 1,
        ..GossipOptions::default()
    };
    assert_eq!(
        refused::<Gossip>(&gossip, 3, 0),
        "protocol.options.gossip_interval_ns"
    );
    let register = RegisterOptions {
        resend_ns: 1,
        ..RegisterOptions::default()
    };
    assert_eq!(
        refused::<Register>(&register, 1, 1),
        "protocol.options.resend_ns"
    );
    let twopc = TwoPcOptions {
        query_interval_ns: 1,
        ..TwoPcOptions::default()
    };
    assert_eq!(
        refused::<TwoPc>(&twopc, 3, 0),
        "protocol.options.query_interval_ns"
    );
}

#[test]
fn counts_are_bounded() {
    let balls = PingPongOptions { in_flight: 1 << 31 };
    assert_eq!(
        refused::<PingPong>(&balls, 3, 0),
        "protocol.options.in_flight"
    );
    for workload in [WorkloadKind::Bank, WorkloadKind::Rw] {
        let keys = TwoPcOptions {
            workload,
            keys: (1 << 63) - 1,
            ..TwoPcOptions::default()
        };
        assert_eq!(refused::<TwoPc>(&keys, 3, 0), "protocol.options.keys");
    }
    let snapshot = RaftOptions {
        snapshot_threshold: u64::MAX,
        ..RaftOptions::default()
    };
    assert_eq!(
        refused::<Raft>(&snapshot, 3, 0),
        "protocol.options.snapshot_threshold"
    );
}

/// Gossip members each hold a view of every member: a cluster whose state cannot fit is
/// refused on `cluster.servers` before anything runs (Raft and chain, whose events cost O(n),
/// stop at 100 servers), while the library's sizes are admitted.
#[test]
fn clusters_too_big_for_memory_are_refused_and_the_library_sizes_admitted() {
    assert_eq!(
        refused::<Gossip>(&GossipOptions::default(), 100_000, 0),
        "cluster.servers"
    );
    assert_eq!(
        refused::<Raft>(&RaftOptions::default(), 101, 0),
        "cluster.servers"
    );
    assert_eq!(
        refused::<Chain>(&ChainOptions::default(), 101, 0),
        "cluster.servers"
    );
    admitted::<Gossip>(&GossipOptions::default(), 10_000, 4);
    // Every member ends up holding what every operation left: 14,000 members under writes
    // all day could not fit (a run like it reached 15 GB before the footprint counted data).
    let all_day = SimConfig {
        duration_ns: 24 * 3600 * sim_core::SECONDS,
        workload: Some(WorkloadConfig {
            clients: 100,
            rate_per_sec: 100_000.0,
            mix: sim_core::OpMix::default().restricted_to(Gossip::OPERATIONS),
            ..WorkloadConfig::default()
        }),
        ..SimConfig::default()
    };
    let cluster = Cluster {
        servers: 14_000,
        clients: 100,
    };
    match build::<Gossip>(&GossipOptions::default(), cluster, all_day) {
        Err(SimError::Config(e)) => assert_eq!(e.field, "cluster.servers", "{e}"),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("14,000 members holding 100,000 operations' data fit in 2 GB?"),
    }
    admitted::<Raft>(&RaftOptions::default(), 100, 10);
    admitted::<PingPong>(&PingPongOptions::default(), 100_000, 0);
    let bank = TwoPcOptions {
        keys: 1_000,
        ..TwoPcOptions::default()
    };
    // A snapshot of a thousand balances in each of 200,000 history events does not fit...
    assert_eq!(refused::<TwoPc>(&bank, 3, 3), "limits.history_events_max");
    // ... and eight accounts, as in the library, do.
    let small = TwoPcOptions {
        keys: 8,
        ..TwoPcOptions::default()
    };
    admitted::<TwoPc>(&small, 3, 3);
}
