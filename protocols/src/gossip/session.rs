//! The session guarantees gossip promises its clients, checked over the history: a client's
//! write is stamped after every write whose value the client has read and after its own
//! acknowledged writes (writes-follow-reads and monotonic writes). Clients carry their causal
//! context (the largest HLC they were told) in every request, which is what makes the promise.
//!
//! Read-your-writes and monotonic reads are *not* promised: a client sends each operation to a
//! member chosen at random, which may not have heard of the client's last write yet; the check
//! says so rather than pretending.

use std::collections::BTreeMap;

use sim_core::protocol::CheckResult;
use sim_core::{EventType, OpFn, Simulation, Value};

use super::hlc::Stamp;
use super::member::Member;
use super::monitor::{Applied, Monitor};
use super::msg::GossipMsg;

const NAME: &str = "gossip-session-order";

/// How many examples a failing check names.
const EXAMPLES_MAX: usize = 3;

/// The latest write a client knows of: its stamp and value.
type Floor = Option<(Stamp, i64)>;

/// Writes-follow-reads and monotonic writes, client by client, over the whole history.
pub fn session_order(sim: &Simulation<GossipMsg>) -> CheckResult {
    let Some(member) = sim
        .servers()
        .first()
        .and_then(|id| sim.process(*id))
        .and_then(|p| p.as_any().downcast_ref::<Member>())
    else {
        return CheckResult::pass(NAME, "no members to judge");
    };
    let clients = sim
        .config()
        .workload
        .as_ref()
        .map_or(1, |w| u64::from(w.clients.max(1)));
    let monitor = member.monitor().borrow();
    judge(&monitor, sim.history().events(), clients)
}

fn stamp_of(monitor: &Monitor, value: i64) -> Option<Stamp> {
    match monitor.applied(&Value::Int(value)) {
        Some(Applied::Write(record)) => Some(record.stamp),
        _ => None,
    }
}

fn judge(monitor: &Monitor, events: &[sim_core::HistoryEvent], clients: u64) -> CheckResult {
    // Per client: the latest write it knows of, and the floor when its open write was invoked.
    let mut known: BTreeMap<u64, Floor> = BTreeMap::new();
    let mut open_writes: BTreeMap<u64, (i64, Floor)> = BTreeMap::new();
    let (mut judged, mut count) = (0usize, 0usize);
    let mut examples = Vec::new();
    for e in events {
        let client = e.process % clients;
        let floor = known.get(&client).copied().flatten();
        match (e.kind, e.f, &e.value) {
            (EventType::Invoke, OpFn::Write, Value::Int(v)) => {
                open_writes.insert(e.process, (*v, floor));
            }
            (EventType::Invoke, ..) => {}
            (kind, OpFn::Write, _) => {
                let Some((value, at_invoke)) = open_writes.remove(&e.process) else {
                    continue;
                };
                // Applied or not, acknowledged or not: a write a member took must follow what
                // its client knew when it sent it.
                if let (Some(stamp), Some((before, read))) = (stamp_of(monitor, value), at_invoke) {
                    judged += 1;
                    if stamp <= before {
                        count += 1;
                        if examples.len() < EXAMPLES_MAX {
                            examples.push(format!(
                                "client {client}'s write {value} (stamp {}) is not after write {read} it knew of (stamp {})",
                                show(stamp),
                                show(before)
                            ));
                        }
                    }
                }
                if kind == EventType::Ok
                    && let Some(stamp) = stamp_of(monitor, value)
                {
                    raise(&mut known, client, stamp, value);
                }
            }
            (EventType::Ok, OpFn::Read, Value::List(pair)) => {
                if let Some(Value::Int(v)) = pair.first()
                    && let Some(stamp) = stamp_of(monitor, *v)
                {
                    raise(&mut known, client, stamp, *v);
                }
            }
            _ => {}
        }
    }
    if count == 0 {
        CheckResult::pass(
            NAME,
            format!(
                "{judged} writes each stamped after every write their client had read or written \
                 (read-your-writes and monotonic reads are not promised: a client asks a random member)"
            ),
        )
    } else {
        CheckResult::fail(
            NAME,
            format!(
                "{count} write(s) ordered before what their client had seen, e.g. {}",
                examples.join("; ")
            ),
        )
    }
}

/// A stamp for people: `wall.logical@member`.
fn show(stamp: Stamp) -> String {
    format!("{}.{}@{}", stamp.hlc.wall_ns, stamp.hlc.logical, stamp.node)
}

fn raise(known: &mut BTreeMap<u64, Floor>, client: u64, stamp: Stamp, value: i64) {
    let floor = known.entry(client).or_default();
    if floor.is_none_or(|(s, _)| stamp > s) {
        *floor = Some((stamp, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gossip::hlc::Hlc;
    use sim_core::{HistoryEvent, NodeId};

    fn stamp(wall_ns: u64) -> Stamp {
        Stamp {
            hlc: Hlc {
                wall_ns,
                logical: 0,
            },
            node: NodeId(0),
        }
    }

    fn event(process: u64, kind: EventType, f: OpFn, value: Value) -> HistoryEvent {
        HistoryEvent {
            process,
            kind,
            f,
            key: Some(0),
            value,
            time: 0,
        }
    }

    fn read_of(v: i64) -> Value {
        Value::List(vec![Value::Int(v), Value::Int(0)])
    }

    /// Client 1 reads value 1 (written by client 0 at stamp 50), then writes value 2.
    fn history() -> Vec<HistoryEvent> {
        vec![
            event(0, EventType::Invoke, OpFn::Write, Value::Int(1)),
            event(0, EventType::Ok, OpFn::Write, Value::Int(1)),
            event(1, EventType::Invoke, OpFn::Read, Value::Nil),
            event(1, EventType::Ok, OpFn::Read, read_of(1)),
            event(1, EventType::Invoke, OpFn::Write, Value::Int(2)),
            event(1, EventType::Info, OpFn::Write, Value::Int(2)),
        ]
    }

    #[test]
    fn a_write_stamped_before_a_value_its_client_read_fails() {
        let mut monitor = Monitor::new(2);
        monitor.write_applied(&Value::Int(1), 0, stamp(50), NodeId(0), true);
        monitor.write_applied(&Value::Int(2), 0, stamp(40), NodeId(1), false);
        let result = judge(&monitor, &history(), 2);
        assert!(!result.ok, "{result:?}");
        assert!(
            result.detail.contains("client 1's write 2"),
            "{}",
            result.detail
        );
    }

    #[test]
    fn a_write_stamped_after_what_its_client_read_passes() {
        let mut monitor = Monitor::new(2);
        monitor.write_applied(&Value::Int(1), 0, stamp(50), NodeId(0), true);
        monitor.write_applied(&Value::Int(2), 0, stamp(60), NodeId(1), true);
        let result = judge(&monitor, &history(), 2);
        assert!(result.ok, "{result:?}");
        assert!(result.detail.starts_with("1 writes"), "{}", result.detail);
    }
}
