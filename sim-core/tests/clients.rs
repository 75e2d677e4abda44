//! Clients and the history: operations are invoked by the workload and complete as ok, or
//! time out as info, after which the client continues under a fresh process id.

mod common;

use common::{EchoClient, EchoServer};
use sim_core::{
    EventType, LinkConfig, NetworkConfig, NodeId, SimBuilder, SimConfig, WorkloadConfig, ms, secs,
};

fn run(loss: f64) -> sim_core::Simulation<u64> {
    let config = SimConfig {
        seed: 3,
        duration_ns: secs(10),
        network: NetworkConfig::uniform(LinkConfig {
            loss,
            ..Default::default()
        }),
        workload: Some(WorkloadConfig {
            clients: 2,
            rate_per_sec: 50.0,
            timeout_ns: ms(100),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut b = SimBuilder::new(config);
    let server = b.add_server(|_| Box::new(EchoServer));
    for _ in 0..2 {
        b.add_client(move |_| Box::new(EchoClient { server, open: None }));
    }
    let mut sim = b.build().unwrap();
    sim.run().unwrap();
    sim
}

#[test]
fn every_invocation_completes_exactly_once_and_processes_never_overlap() {
    let sim = run(0.3);
    let h = sim.history().events();
    let s = sim.stats();
    assert!(s.ops_invoked > 150, "{s:?}");
    assert!(
        s.ops_info > 50,
        "30% loss must time some operations out: {s:?}"
    );
    let mut open = std::collections::BTreeMap::new();
    for e in h {
        match e.kind {
            EventType::Invoke => assert!(
                open.insert(e.process, e.time).is_none(),
                "process {} has two open ops",
                e.process
            ),
            _ => assert!(
                open.remove(&e.process).is_some(),
                "completion without invoke: {e:?}"
            ),
        }
    }
    // Only the last operation of each client may still be open at the end.
    assert!(open.len() <= 2);
    assert_eq!(
        s.ops_invoked,
        s.ops_ok + s.ops_fail + s.ops_info + open.len() as u64
    );
    assert!(
        h.windows(2).all(|w| w[0].time <= w[1].time),
        "history is in time order"
    );
}

#[test]
fn after_info_a_client_moves_to_a_fresh_process_id() {
    let sim = run(0.3);
    let h = sim.history().events();
    let info = h
        .iter()
        .find(|e| e.kind == EventType::Info)
        .expect("some op timed out");
    let after = h.iter().find(|e| {
        e.time >= info.time
            && e.kind == EventType::Invoke
            && e.process % 2 == info.process % 2
            && e.process != info.process
    });
    let next = after.expect("the client went on");
    assert_eq!(
        next.process,
        info.process + 2,
        "fresh id = old id + number of clients"
    );
    // The timed-out op's info comes exactly timeout_ns after its invoke.
    let invoke = h
        .iter()
        .rev()
        .find(|e| e.process == info.process && e.kind == EventType::Invoke && e.time <= info.time)
        .unwrap();
    assert_eq!(info.time - invoke.time, ms(100));
}

#[test]
fn without_loss_nothing_times_out() {
    let sim = run(0.0);
    assert_eq!(sim.stats().ops_info, 0);
    assert!(sim.stats().ops_ok > 300);
}

#[test]
fn a_workload_needs_as_many_client_nodes_as_it_names() {
    let config = SimConfig {
        duration_ns: secs(1),
        workload: Some(WorkloadConfig {
            clients: 3,
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut b = SimBuilder::new(config);
    let server = b.add_server(|_| Box::new(EchoServer));
    b.add_client(move |_| Box::new(EchoClient { server, open: None }));
    let err = b.build().err().unwrap().to_string();
    assert!(err.contains("workload.clients"), "{err}");
    let _ = NodeId(0);
}
