//! The generic liveness goal: after the liveness phase heals every fault, clients make
//! progress again. Protocols add their own goals (a leader exists, members converge) through
//! `Protocol::liveness`.

use std::collections::BTreeMap;

use sim_core::CheckResult;
use sim_core::{EventType, HistoryEvent, Nanos};

/// Every client completes (ok or fail, not info) at least one operation invoked in the second
/// half of the healed phase, `[healed_at + (end - healed_at) / 2, end)`, and at most half of
/// the operations invoked then time out (`info`). The first half is the system's time to
/// recover; the allowance is for link loss, which healing does not end, and for clients that
/// never resend.
pub fn clients_progress(
    history: &[HistoryEvent],
    clients: u32,
    healed_at_ns: Nanos,
    end_ns: Nanos,
) -> CheckResult {
    const NAME: &str = "liveness/ops_complete";
    if clients == 0 {
        return CheckResult::pass(NAME, "no workload, nothing to complete");
    }
    let from_ns = healed_at_ns + (end_ns - healed_at_ns) / 2;
    let mut invoked_at: BTreeMap<u64, Nanos> = BTreeMap::new();
    let mut completed = vec![0u64; clients as usize];
    let mut timed_out = 0u64;
    for e in history {
        match e.kind {
            EventType::Invoke => {
                invoked_at.insert(e.process, e.time);
            }
            EventType::Ok | EventType::Fail => {
                if invoked_at.remove(&e.process).is_some_and(|t| t >= from_ns) {
                    completed[(e.process % u64::from(clients)) as usize] += 1;
                }
            }
            EventType::Info => {
                if invoked_at.remove(&e.process).is_some_and(|t| t >= from_ns) {
                    timed_out += 1;
                }
            }
        }
    }
    let stuck: Vec<String> = completed
        .iter()
        .enumerate()
        .filter(|(_, n)| **n == 0)
        .map(|(c, _)| format!("client {c}"))
        .collect();
    let window = format!(
        "after {:.3} s (faults healed at {:.3} s)",
        from_ns as f64 / 1e9,
        healed_at_ns as f64 / 1e9
    );
    let total: u64 = completed.iter().sum();
    if stuck.is_empty() && timed_out <= total {
        CheckResult::pass(
            NAME,
            format!("{total} operations completed and {timed_out} timed out {window}"),
        )
    } else if stuck.is_empty() {
        CheckResult::fail(
            NAME,
            format!("{timed_out} operations timed out and only {total} completed {window}"),
        )
    } else {
        CheckResult::fail(
            NAME,
            format!("{} completed no operation {window}", stuck.join(", ")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::{OpFn, Value};

    fn event(process: u64, kind: EventType, time: Nanos) -> HistoryEvent {
        HistoryEvent {
            process,
            kind,
            f: OpFn::Read,
            key: Some(0),
            value: Value::Nil,
            time,
        }
    }

    #[test]
    fn every_client_must_finish_something_late_in_the_window() {
        let ok = vec![
            event(0, EventType::Invoke, 80),
            event(0, EventType::Ok, 85),
            event(1, EventType::Invoke, 90),
            event(1, EventType::Fail, 95),
        ];
        assert!(clients_progress(&ok, 2, 50, 100).ok);
        // Client 1's only late operation timed out (info), and its new process id (1 + 2 = 3)
        // only completed an early one.
        let stuck = vec![
            event(0, EventType::Invoke, 80),
            event(0, EventType::Ok, 85),
            event(3, EventType::Invoke, 60),
            event(3, EventType::Ok, 70),
            event(1, EventType::Invoke, 90),
            event(1, EventType::Info, 99),
        ];
        let r = clients_progress(&stuck, 2, 50, 100);
        assert!(!r.ok);
        assert!(
            r.detail.starts_with("client 1 completed no operation"),
            "{}",
            r.detail
        );
    }

    #[test]
    fn most_late_operations_must_complete() {
        // Each client completes one late operation, but three others time out.
        let mut history = vec![
            event(0, EventType::Invoke, 60),
            event(0, EventType::Ok, 61),
            event(1, EventType::Invoke, 60),
            event(1, EventType::Ok, 61),
        ];
        for (p, t) in [(2, 62), (3, 70), (4, 80)] {
            history.push(event(p, EventType::Invoke, t));
            history.push(event(p, EventType::Info, t + 5));
        }
        let r = clients_progress(&history, 2, 0, 100);
        assert!(!r.ok, "{r:?}");
        assert!(
            r.detail
                .starts_with("3 operations timed out and only 2 completed")
        );
        // As many completed as timed out: loss can do that much.
        history.truncate(history.len() - 2);
        assert!(clients_progress(&history, 2, 0, 100).ok);
    }
}
