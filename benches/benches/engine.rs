//! The engine's throughput on the ping-pong workload (10 nodes, 100 balls in flight, uniform
//! 1–10 ms latency), next to a bare binary-heap event loop doing the same work with no network
//! model, no trace hash and no process abstraction: the limit the engine should stay close to.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use protocols::pingpong::{PingPong, PingPongOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sim_core::Protocol;
use sim_core::{LatencyDist, LinkConfig, NetworkConfig, SimBuilder, SimConfig, secs};

/// The allocator the dsim binary uses, so that the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const NODES: u32 = 10;
const IN_FLIGHT: u32 = 100;
const SIM_SECONDS: u64 = 10;

fn engine_pingpong() -> u64 {
    let network = NetworkConfig::uniform(LinkConfig {
        latency: LatencyDist::Uniform {
            min_ns: 1_000_000,
            max_ns: 10_000_000,
        },
        ..Default::default()
    });
    let config = SimConfig {
        seed: 1,
        duration_ns: secs(SIM_SECONDS),
        network,
        ..Default::default()
    };
    let mut builder = SimBuilder::new(config);
    let cluster = sim_core::Cluster {
        servers: NODES,
        clients: 0,
    };
    PingPong::populate(
        &PingPongOptions {
            in_flight: IN_FLIGHT,
        },
        cluster,
        &mut builder,
    )
    .expect("valid");
    let mut sim = builder.build().expect("valid");
    sim.run().expect("no limit is reached");
    sim.stats().events
}

/// The same workload on a raw heap: pop, pick a random node, push with a random delay.
fn bare_heap_pingpong() -> u64 {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut heap = BinaryHeap::with_capacity(256);
    let mut seq = 0u64;
    for ball in 0..IN_FLIGHT {
        let at = rng.random_range(1_000_000..=10_000_000u64);
        heap.push(Reverse((at, seq, ball, rng.random_range(0..NODES))));
        seq += 1;
    }
    let end = secs(SIM_SECONDS);
    let mut events = 0;
    while let Some(Reverse((now, _, ball, _node))) = heap.pop() {
        if now > end {
            break;
        }
        events += 1;
        let to = rng.random_range(0..NODES);
        let at = now + rng.random_range(1_000_000..=10_000_000u64);
        heap.push(Reverse((at, seq, ball, to)));
        seq += 1;
    }
    events
}

fn bench(c: &mut Criterion) {
    let events = engine_pingpong();
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(events));
    group.sample_size(20);
    group.bench_function("pingpong_10s", |b| b.iter(engine_pingpong));
    group.throughput(Throughput::Elements(bare_heap_pingpong()));
    group.bench_function("bare_heap_10s", |b| b.iter(bare_heap_pingpong));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
