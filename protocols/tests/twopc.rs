//! Two-phase commit participants driven by a scripted coordinator: a participant recovers its
//! prepared transactions (and their locks) from its log alone, forgets them when it voted
//! without syncing (the `vote_without_sync` bug), and an in-doubt participant learns the
//! outcome from a peer (cooperative termination) or stays blocked when nobody knows.

use std::cell::RefCell;
use std::rc::Rc;

use protocols::twopc::monitor::Monitor;
use protocols::twopc::msg::{Effects, ReadResult, TwoPcMsg, TxnId, TxnOp, Vote};
use protocols::twopc::participant::{Participant, ParticipantConfig};
use sim_core::{
    Ctx, Fault, Nanos, NodeId, Process, ScheduledFault, SimBuilder, SimConfig, Simulation, TimerId,
    ms, secs,
};

const T1: TxnId = TxnId { epoch: 0, seq: 1 };
const T2: TxnId = TxnId { epoch: 0, seq: 2 };
const T3: TxnId = TxnId { epoch: 0, seq: 3 };

type Inbox = Rc<RefCell<Vec<(NodeId, TwoPcMsg)>>>;

/// Stands in for the coordinator: sends each step's message at its time and records what
/// arrives. A decision it sends is reported to the monitor first.
struct Script {
    steps: Vec<(Nanos, NodeId, TwoPcMsg)>,
    inbox: Inbox,
    monitor: Rc<RefCell<Monitor>>,
}

impl Process for Script {
    type Msg = TwoPcMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>) {
        for (i, (at, _, _)) in self.steps.iter().enumerate() {
            ctx.set_timer(*at, i as u64);
        }
    }

    fn on_message(&mut self, _ctx: &mut Ctx<'_, TwoPcMsg>, from: NodeId, msg: TwoPcMsg) {
        self.inbox.borrow_mut().push((from, msg));
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, TwoPcMsg>, _timer: TimerId, tag: u64) {
        let (_, to, msg) = self.steps[tag as usize].clone();
        if let TwoPcMsg::Decision { txn, commit } = msg {
            let _ = self.monitor.borrow_mut().decided(txn, commit);
        }
        ctx.send(to, msg);
    }
}

fn config(vote_without_sync: bool) -> ParticipantConfig {
    ParticipantConfig {
        coordinator: NodeId(0),
        initial: None,
        abort_probability: 0.0,
        decision_timeout_ns: ms(100),
        query_interval_ns: ms(100),
        tick_ns: ms(20),
        vote_without_sync,
    }
}

fn prepare(txn: TxnId, ops: Vec<TxnOp>, participants: &[u32]) -> TwoPcMsg {
    TwoPcMsg::Prepare {
        txn,
        ops,
        participants: participants.iter().copied().map(NodeId).collect(),
    }
}

/// Runs the script against `participants` participants for 2 s with `faults`.
fn simulate(
    steps: Vec<(Nanos, NodeId, TwoPcMsg)>,
    participants: u32,
    faults: Vec<ScheduledFault>,
    vote_without_sync: bool,
) -> (Simulation<TwoPcMsg>, Inbox) {
    let sim_config = SimConfig {
        seed: 1,
        duration_ns: secs(2),
        faults,
        ..Default::default()
    };
    let mut builder = SimBuilder::new(sim_config);
    let monitor = Rc::new(RefCell::new(Monitor::default()));
    let inbox: Inbox = Rc::default();
    let (script_inbox, script_monitor) = (Rc::clone(&inbox), Rc::clone(&monitor));
    builder.add_exempt_server(move |_| {
        Box::new(Script {
            steps: steps.clone(),
            inbox: Rc::clone(&script_inbox),
            monitor: Rc::clone(&script_monitor),
        })
    });
    for _ in 0..participants {
        let m = Rc::clone(&monitor);
        builder.add_server(move |_| {
            Box::new(Participant::new(config(vote_without_sync), Rc::clone(&m)))
        });
    }
    let mut sim = builder.build().unwrap();
    sim.run().unwrap();
    (sim, inbox)
}

fn votes(inbox: &Inbox, txn: TxnId) -> Vec<Vote> {
    inbox
        .borrow()
        .iter()
        .filter_map(|(_, m)| match m {
            TwoPcMsg::Vote { txn: t, vote } if *t == txn => Some(vote.clone()),
            _ => None,
        })
        .collect()
}

fn received(inbox: &Inbox, from: u32, want: &TwoPcMsg) -> bool {
    inbox
        .borrow()
        .iter()
        .any(|(f, m)| *f == NodeId(from) && m == want)
}

fn participant(sim: &Simulation<TwoPcMsg>, node: u32) -> &Participant {
    sim.process(NodeId(node))
        .unwrap()
        .as_any()
        .downcast_ref::<Participant>()
        .unwrap()
}

/// The crash-recovery script: T1 writes k0 and prepares, n1 crashes and restarts, T2 wants to
/// read k0, T1 commits, T3 reads k0.
fn crash_script() -> (Vec<(Nanos, NodeId, TwoPcMsg)>, Vec<ScheduledFault>) {
    let n1 = NodeId(1);
    let steps = vec![
        (ms(10), n1, prepare(T1, vec![TxnOp::Write(0, 7)], &[1])),
        (ms(300), n1, prepare(T2, vec![TxnOp::Read(0)], &[1])),
        (
            ms(400),
            n1,
            TwoPcMsg::Decision {
                txn: T1,
                commit: true,
            },
        ),
        (ms(500), n1, prepare(T3, vec![TxnOp::Read(0)], &[1])),
    ];
    let faults = vec![
        ScheduledFault {
            at_ns: ms(100),
            fault: Fault::Crash { node: n1 },
        },
        ScheduledFault {
            at_ns: ms(200),
            fault: Fault::Restart { node: n1 },
        },
    ];
    (steps, faults)
}

#[test]
fn a_recovered_participant_keeps_its_prepared_transactions_and_their_locks() {
    let (steps, faults) = crash_script();
    let (sim, inbox) = simulate(steps, 1, faults, false);
    assert!(matches!(votes(&inbox, T1).as_slice(), [Vote::Yes(_)]));
    assert_eq!(
        votes(&inbox, T2),
        vec![Vote::No],
        "k0 is still locked by T1"
    );
    // After the restart it asks about T1 at once.
    assert!(received(&inbox, 1, &TwoPcMsg::DecisionRequest { txn: T1 }));
    assert!(received(&inbox, 1, &TwoPcMsg::Ack { txn: T1 }));
    let read = ReadResult {
        key: 0,
        value: Some(7),
        version: Some(T1),
    };
    let want = Effects {
        reads: vec![read],
        writes: vec![],
    };
    assert_eq!(votes(&inbox, T3), vec![Vote::Yes(want)]);
    assert!(sim.violations().is_empty(), "{:?}", sim.violations());
}

#[test]
fn voting_without_sync_forgets_the_prepared_transaction_in_a_crash() {
    let (steps, faults) = crash_script();
    let (sim, inbox) = simulate(steps, 1, faults, true);
    assert!(
        matches!(votes(&inbox, T2).as_slice(), [Vote::Yes(_)]),
        "the lock of T1 is gone"
    );
    assert!(!received(&inbox, 1, &TwoPcMsg::DecisionRequest { txn: T1 }));
    let v = &sim.violations()[0];
    assert_eq!(v.check, "atomicity");
    assert!(v.detail.contains("lost its prepare record"), "{}", v.detail);
}

#[test]
fn an_in_doubt_participant_learns_a_commit_from_a_peer() {
    // Both prepare T1; only n2 hears the commit; the coordinator never answers n1.
    let steps = vec![
        (
            ms(10),
            NodeId(1),
            prepare(T1, vec![TxnOp::Write(1, 5)], &[1, 2]),
        ),
        (
            ms(10),
            NodeId(2),
            prepare(T1, vec![TxnOp::Write(2, 6)], &[1, 2]),
        ),
        (
            ms(50),
            NodeId(2),
            TwoPcMsg::Decision {
                txn: T1,
                commit: true,
            },
        ),
    ];
    let (sim, inbox) = simulate(steps, 2, Vec::new(), false);
    assert!(received(&inbox, 1, &TwoPcMsg::DecisionRequest { txn: T1 }));
    assert!(received(&inbox, 1, &TwoPcMsg::Ack { txn: T1 }));
    assert_eq!(participant(&sim, 1).in_doubt().count(), 0);
    assert_eq!(participant(&sim, 1).locked_keys(), 0);
    assert!(sim.violations().is_empty(), "{:?}", sim.violations());
}

#[test]
fn a_peer_that_never_voted_aborts_and_frees_the_in_doubt_participant() {
    // n2's prepare never comes: asked by n1, it promises never to vote yes, so T1 aborts.
    let steps = vec![
        (
            ms(10),
            NodeId(1),
            prepare(T1, vec![TxnOp::Write(1, 5)], &[1, 2]),
        ),
        (
            ms(1000),
            NodeId(2),
            prepare(T1, vec![TxnOp::Write(2, 6)], &[1, 2]),
        ),
    ];
    let (sim, inbox) = simulate(steps, 2, Vec::new(), false);
    assert_eq!(participant(&sim, 1).in_doubt().count(), 0);
    assert_eq!(
        votes(&inbox, T1).last(),
        Some(&Vote::No),
        "n2 keeps its promise"
    );
    assert!(sim.violations().is_empty(), "{:?}", sim.violations());
}

#[test]
fn participants_that_all_voted_yes_stay_blocked_without_the_coordinator() {
    let steps = vec![
        (
            ms(10),
            NodeId(1),
            prepare(T1, vec![TxnOp::Write(1, 5)], &[1, 2]),
        ),
        (
            ms(10),
            NodeId(2),
            prepare(T1, vec![TxnOp::Write(2, 6)], &[1, 2]),
        ),
    ];
    let (sim, inbox) = simulate(steps, 2, Vec::new(), false);
    for node in [1, 2] {
        let p = participant(&sim, node);
        assert_eq!(p.in_doubt().collect::<Vec<_>>(), vec![T1]);
        assert_eq!(p.locked_keys(), 1);
        assert!(p.open_in_doubt_ns_max() > ms(1900));
    }
    let asked = inbox
        .borrow()
        .iter()
        .filter(|(_, m)| matches!(m, TwoPcMsg::DecisionRequest { .. }))
        .count();
    assert!(asked > 10, "they keep asking ({asked} requests)");
}
