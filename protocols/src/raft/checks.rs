//! Raft's end-of-run checks over the replicas' final state: log matching over whole logs and
//! state-machine agreement over values and client sessions.

use sim_core::NodeId;
use sim_core::protocol::CheckResult;

use super::kv::KvState;
use super::server::RaftServer;

/// The full log-matching property over the final logs: if two servers hold an entry with the
/// same index and term, they hold identical entries up to it.
pub fn log_matching_at_end(servers: &[&RaftServer]) -> CheckResult {
    const NAME: &str = "raft-log-matching";
    for (i, a) in servers.iter().enumerate() {
        for b in &servers[i + 1..] {
            let (la, lb) = (a.log(), b.log());
            let low = la.snapshot_index().max(lb.snapshot_index()) + 1;
            let high = la.last_index().min(lb.last_index());
            // The highest index where both agree on the term; everything from `low` up to it
            // must be identical.
            let Some(agree) = (low..=high).rev().find(|&k| la.term_at(k) == lb.term_at(k)) else {
                continue;
            };
            if let Some(k) = (low..=agree).find(|&k| la.entry(k) != lb.entry(k)) {
                let (na, nb) = (a.id(), b.id());
                return CheckResult::fail(
                    NAME,
                    format!("{na} and {nb} agree at index {agree} but differ at {k}"),
                );
            }
        }
    }
    CheckResult::pass(
        NAME,
        format!("{} final logs agree where they overlap", servers.len()),
    )
}

/// State-machine safety over the replicas' full state: two servers that applied the same
/// prefix of the log hold the same values *and* the same client sessions (the exactly-once
/// table), whether they got there entry by entry or from a snapshot.
pub fn state_agreement(applied: &[(NodeId, u64, &KvState)]) -> CheckResult {
    const NAME: &str = "raft-state-agreement";
    let mut compared = 0;
    for (i, (na, ia, a)) in applied.iter().enumerate() {
        for (nb, ib, b) in &applied[i + 1..] {
            if ia != ib || *ia == 0 {
                continue;
            }
            compared += 1;
            if a != b {
                return CheckResult::fail(
                    NAME,
                    format!(
                        "{na} and {nb} both applied up to index {ia} but hold {}",
                        a.difference(b)
                    ),
                );
            }
        }
    }
    CheckResult::pass(
        NAME,
        format!(
            "{compared} pair(s) of replicas at the same applied index hold the same values and sessions"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::log::ClientCommand;
    use sim_core::{OpFn, Value};

    fn write(client: u32, seq: u64, value: i64) -> ClientCommand {
        ClientCommand {
            client: NodeId(client),
            seq,
            f: OpFn::Write,
            key: 0,
            value: Value::Int(value),
        }
    }

    #[test]
    fn replicas_at_the_same_applied_index_must_hold_the_same_values_and_sessions() {
        let mut a = KvState::default();
        a.apply(&write(7, 1, 10));
        let same = a.clone();
        // The same value, but from a command of another client: the session tables differ.
        let mut other_session = KvState::default();
        other_session.apply(&write(8, 1, 10));
        let mut other_value = KvState::default();
        other_value.apply(&write(7, 1, 11));
        let ok = state_agreement(&[
            (NodeId(0), 1, &a),
            (NodeId(1), 1, &same),
            (NodeId(2), 2, &other_value),
        ]);
        assert!(ok.ok, "{ok:?}");
        assert!(ok.detail.starts_with("1 pair(s)"), "{ok:?}");
        let values = state_agreement(&[(NodeId(0), 1, &a), (NodeId(1), 1, &other_value)]);
        assert!(!values.ok);
        assert!(
            values.detail.contains("key 0 = Int(10) / Int(11)"),
            "{values:?}"
        );
        let sessions = state_agreement(&[(NodeId(0), 1, &a), (NodeId(2), 1, &other_session)]);
        assert!(!sessions.ok);
        assert!(sessions.detail.contains("session of n7"), "{sessions:?}");
    }
}
