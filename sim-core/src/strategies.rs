//! proptest strategies for simulation inputs (feature `proptest`): network configurations,
//! fault schedules and workloads. Property tests draw them, run a simulation, and let proptest
//! shrink a failing case: a schedule shrinks by dropping faults and moving them earlier, a
//! network by lowering loss, duplication and reordering.
//!
//! ```
//! use proptest::prelude::*;
//! use sim_core::strategies;
//!
//! proptest!(|(faults in strategies::fault_schedule(5, 10_000_000_000, 8))| {
//!     prop_assert!(faults.len() <= 8);
//!     prop_assert!(faults.windows(2).all(|w| w[0].at_ns <= w[1].at_ns));
//! });
//! ```
//!
//! Late deliveries (holds released in bursts, replays of old messages, crash blips shorter
//! than a client's timeout) come from [`late_fault_schedule`], which mixes them with the
//! faults above; their delays are log-uniform (milliseconds to seconds), so short and long
//! both come up and proptest shrinks towards short:
//!
//! ```
//! use proptest::prelude::*;
//! use sim_core::{Fault, strategies};
//!
//! proptest!(|(faults in strategies::late_fault_schedule(3, 10_000_000_000, 8))| {
//!     prop_assert!(faults.windows(2).all(|w| w[0].at_ns <= w[1].at_ns));
//!     for f in &faults {
//!         if let Fault::Replay { window_ns, .. } = f.fault {
//!             prop_assert!(window_ns <= 2_000_000_000);
//!         }
//!     }
//! });
//! ```
//!
//! Partitions leave clients connected to every server unless asked otherwise; a protocol whose
//! clients talk to the servers directly (and whose servers never talk to each other) needs
//! partitions that cut clients off too:
//!
//! ```
//! use proptest::prelude::*;
//! use sim_core::{ClientPlacement, Fault, strategies};
//!
//! let spread = Just(ClientPlacement::Spread);
//! proptest!(|(faults in strategies::fault_schedule_with_clients(3, 1_000_000_000, 8, spread))| {
//!     for f in &faults {
//!         if let Fault::Partition(p) = &f.fault {
//!             prop_assert_eq!(p.clients(), ClientPlacement::Spread);
//!         }
//!     }
//! });
//! ```

use proptest::prelude::*;

use crate::fault::{Fault, ScheduledFault};
use crate::history::OpFn;
use crate::latency::LatencyDist;
use crate::network::{LinkConfig, NetworkConfig};
use crate::partition::{ClientPlacement, PartitionSpec};
use crate::process::NodeId;
use crate::time::{MILLIS, Nanos};
use crate::workload::{OpMix, WorkloadConfig};

/// A latency distribution between 0.1 and 20 ms in shape and scale.
pub fn latency() -> impl Strategy<Value = LatencyDist> {
    prop_oneof![
        (100_000u64..20 * MILLIS).prop_map(|ns| LatencyDist::Constant { ns }),
        (100_000u64..5 * MILLIS, 0u64..15 * MILLIS).prop_map(|(min_ns, extra)| {
            LatencyDist::Uniform {
                min_ns,
                max_ns: min_ns + extra,
            }
        }),
        (100_000u64..5 * MILLIS).prop_map(|mean_ns| LatencyDist::Exponential {
            min_ns: 100_000,
            mean_ns
        }),
        (200_000u64..5 * MILLIS, 0.1f64..1.5)
            .prop_map(|(median_ns, sigma)| LatencyDist::Lognormal { median_ns, sigma }),
    ]
}

/// A link with up to 30% loss, 10% duplication and 30% reordering; FIFO one time in four.
pub fn link_config() -> impl Strategy<Value = LinkConfig> {
    (
        latency(),
        0.0f64..0.3,
        0.0f64..0.1,
        0.0f64..0.3,
        prop::bool::weighted(0.25),
    )
        .prop_map(|(latency, loss, duplicate, reorder, fifo)| LinkConfig {
            latency,
            loss,
            duplicate,
            reorder,
            fifo,
            ..LinkConfig::default()
        })
}

/// A network where every link behaves like one drawn link.
pub fn network_config() -> impl Strategy<Value = NetworkConfig> {
    link_config().prop_map(NetworkConfig::uniform)
}

/// Where a partition puts the clients: free or spread, free first so that proptest shrinks a
/// failure towards partitions that leave the clients alone.
pub fn client_placement() -> impl Strategy<Value = ClientPlacement> + Clone {
    prop_oneof![Just(ClientPlacement::Free), Just(ClientPlacement::Spread)]
}

/// A named partition pattern over `servers` servers (ids `n0..`), with its clients placed by
/// `clients` (for example `Just(ClientPlacement::Spread)` or [`client_placement`]).
pub fn partition<C>(servers: u32, clients: C) -> impl Strategy<Value = PartitionSpec>
where
    C: Strategy<Value = ClientPlacement> + Clone + 'static,
{
    let node = (0..servers.max(1)).prop_map(NodeId);
    prop_oneof![
        (node, clients.clone()).prop_map(|(n, clients)| PartitionSpec::Isolate {
            node: Some(n),
            clients
        }),
        clients
            .clone()
            .prop_map(|clients| PartitionSpec::Halves { clients }),
        clients
            .clone()
            .prop_map(|clients| PartitionSpec::MajorityRing { clients }),
        clients.prop_map(|clients| PartitionSpec::Bridge { clients }),
    ]
}

/// One fault against one of `servers` servers (ids `n0..`); partitions leave clients free.
pub fn fault(servers: u32) -> impl Strategy<Value = Fault> {
    fault_with_clients(servers, Just(ClientPlacement::Free))
}

/// One fault against one of `servers` servers, partitions placing the clients by `clients`.
pub fn fault_with_clients<C>(servers: u32, clients: C) -> impl Strategy<Value = Fault>
where
    C: Strategy<Value = ClientPlacement> + Clone + 'static,
{
    let servers = servers.max(1);
    let node = (0..servers).prop_map(NodeId);
    prop_oneof![
        node.clone().prop_map(|node| Fault::Crash { node }),
        node.clone().prop_map(|node| Fault::Restart { node }),
        node.clone().prop_map(|node| Fault::Pause { node }),
        node.clone().prop_map(|node| Fault::Resume { node }),
        (node, -2_000i64..2_000).prop_map(|(node, ms)| Fault::ClockJump {
            node,
            delta_ns: ms * MILLIS as i64
        }),
        partition(servers, clients).prop_map(Fault::Partition),
        Just(Fault::Heal),
    ]
}

/// Up to `faults_max` faults at times in `[0, duration_ns)`, sorted by time; partitions leave
/// clients free.
pub fn fault_schedule(
    servers: u32,
    duration_ns: Nanos,
    faults_max: usize,
) -> impl Strategy<Value = Vec<ScheduledFault>> {
    fault_schedule_with_clients(
        servers,
        duration_ns,
        faults_max,
        Just(ClientPlacement::Free),
    )
}

/// Like [`fault_schedule`], with partitions placing the clients by `clients`:
/// `fault_schedule_with_clients(5, 10_000_000_000, 12, client_placement())` draws schedules
/// whose partitions may cut clients off from servers, as a protocol whose servers never talk
/// to each other needs.
pub fn fault_schedule_with_clients<C>(
    servers: u32,
    duration_ns: Nanos,
    faults_max: usize,
    clients: C,
) -> impl Strategy<Value = Vec<ScheduledFault>>
where
    C: Strategy<Value = ClientPlacement> + Clone + 'static,
{
    let one = (0..duration_ns.max(1), fault_with_clients(servers, clients));
    prop::collection::vec(one, 0..=faults_max).prop_map(|mut faults| {
        faults.sort_by_key(|(at, _)| *at);
        faults
            .into_iter()
            .map(|(at_ns, fault)| ScheduledFault { at_ns, fault })
            .collect()
    })
}

/// A time between 1 ms and `max_ms` ms, log-uniform (as many draws under 10 ms as between
/// 100 ms and 1 s): a cheap heavy tail that shrinks towards 1 ms.
pub fn log_uniform_ns(max_ms: u64) -> impl Strategy<Value = Nanos> + Clone {
    let steps = (64 - max_ms.max(1).leading_zeros()) * 4;
    (0..=steps).prop_map(move |e| {
        let ms = libm::exp2(f64::from(e) / 4.0) as u64;
        ms.clamp(1, max_ms.max(1)) * MILLIS
    })
}

/// A hold over a named pattern of `servers` servers, its release a burst or spread over up to
/// 200 ms.
pub fn hold(servers: u32) -> impl Strategy<Value = Fault> {
    (
        partition(servers, Just(ClientPlacement::Free)),
        prop_oneof![Just(0), log_uniform_ns(200)],
    )
        .prop_map(|(partition, release_spread_ns)| Fault::Hold {
            partition,
            release_spread_ns,
        })
}

/// A replay of the link between two of `servers` servers (or every link from or to one of
/// them), reaching back up to 2 s and delivering up to 10 s later.
pub fn replay(servers: u32) -> impl Strategy<Value = Fault> {
    let node = (0..servers.max(1)).prop_map(NodeId);
    (
        proptest::option::of(node.clone()),
        proptest::option::of(node),
        log_uniform_ns(2_000),
        log_uniform_ns(10_000),
    )
        .prop_map(|(from, to, window_ns, delay_ns)| Fault::Replay {
            from,
            to,
            window_ns,
            delay_ns,
        })
}

/// A network like [`network_config`] whose links also re-deliver up to 5% of messages as
/// stale duplicates, 100 ms to tens of seconds late (Pareto).
pub fn late_network_config() -> impl Strategy<Value = NetworkConfig> {
    (
        network_config(),
        0.0f64..0.05,
        log_uniform_ns(1_000),
        1.0f64..2.0,
    )
        .prop_map(|(network, stale_duplicate, min_ns, shape)| NetworkConfig {
            stale_duplicate,
            stale_delay: LatencyDist::Pareto {
                min_ns: min_ns.max(100 * MILLIS),
                shape,
            },
            ..network
        })
}

/// One entry of a late-delivery schedule: the faults (at offsets from the entry's time) it
/// stands for.
fn late_unit(servers: u32) -> impl Strategy<Value = Vec<(Nanos, Fault)>> {
    let node = (0..servers.max(1)).prop_map(NodeId);
    prop_oneof![
        fault(servers).prop_map(|f| vec![(0, f)]),
        // A hold and its heal, which releases what it held.
        (hold(servers), log_uniform_ns(5_000))
            .prop_map(|(h, lasts)| vec![(0, h), (lasts, Fault::Heal)]),
        replay(servers).prop_map(|f| vec![(0, f)]),
        // A crash blip: down for 1 to 50 ms, less than a client's patience.
        (node, log_uniform_ns(50)).prop_map(|(node, lasts)| vec![
            (0, Fault::Crash { node }),
            (lasts, Fault::Restart { node })
        ]),
    ]
}

/// Up to `faults_max` entries at times in `[0, duration_ns)`, sorted by time: the faults of
/// [`fault_schedule`] mixed with holds and their heals, replays, and crash blips (a crash and
/// its restart 1 to 50 ms later). An entry may stand for two faults, so the schedule holds up
/// to twice `faults_max`.
pub fn late_fault_schedule(
    servers: u32,
    duration_ns: Nanos,
    faults_max: usize,
) -> impl Strategy<Value = Vec<ScheduledFault>> {
    let one = (0..duration_ns.max(1), late_unit(servers));
    prop::collection::vec(one, 0..=faults_max).prop_map(|units| {
        let mut faults: Vec<ScheduledFault> = units
            .into_iter()
            .flat_map(|(at, unit)| {
                unit.into_iter().map(move |(after, fault)| ScheduledFault {
                    at_ns: at.saturating_add(after),
                    fault,
                })
            })
            .collect();
        // Stable: a fault stays before its undo when both land at the same time.
        faults.sort_by_key(|f| f.at_ns);
        faults
    })
}

/// A workload for `clients` clients: 10–300 ops/s over 1–4 keys with a random mix.
pub fn workload(clients: u32) -> impl Strategy<Value = WorkloadConfig> {
    (10.0f64..300.0, 1u64..=4, 0u32..4, 0u32..4, 0u32..4).prop_map(
        move |(rate_per_sec, keys, write, cas, read)| WorkloadConfig {
            clients: clients.max(1),
            rate_per_sec,
            keys,
            mix: OpMix {
                read: read + 1,
                write,
                cas,
                append: 0,
            },
            ..WorkloadConfig::default()
        },
    )
}

/// A workload like [`workload`] that only draws the operations in `served` (a protocol's
/// [`crate::Protocol::OPERATIONS`]): the random mix with every other weight set to 0, and
/// reads or the first served operation kept positive so the mix is never empty.
pub fn workload_of(clients: u32, served: &'static [OpFn]) -> impl Strategy<Value = WorkloadConfig> {
    workload(clients).prop_map(move |mut w| {
        w.mix = w.mix.restricted_to(served);
        if w.mix.weights().iter().all(|(_, weight)| *weight == 0) {
            let first = served.first().copied().unwrap_or(OpFn::Read);
            w.mix = OpMix {
                read: 0,
                write: 0,
                cas: 0,
                append: 0,
            }
            .with_weight(first, 1);
        }
        w
    })
}
