//! The generic check that every kind of operation is served: a protocol that never answers
//! reads (or writes, or compare-and-sets) can pass every safety check, since operations that
//! time out are `info` and constrain nothing. Judged over the whole run, with or without a
//! liveness phase, so faults may make most operations time out, but not every one of a kind.

use std::collections::BTreeMap;

use sim_core::{CheckResult, EventType, HistoryEvent};

/// An operation kind invoked fewer times than this is not judged (too few to tell).
pub const INVOKED_MIN: u64 = 20;

/// Every operation kind invoked at least [`INVOKED_MIN`] times completes (ok or fail) at least
/// once.
pub fn every_kind_served(history: &[HistoryEvent]) -> CheckResult {
    const NAME: &str = "ops-served";
    // Per kind: invoked, completed.
    let mut counts: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    for e in history {
        let slot = counts.entry(e.f.name()).or_default();
        match e.kind {
            EventType::Invoke => slot.0 += 1,
            EventType::Ok | EventType::Fail => slot.1 += 1,
            EventType::Info => {}
        }
    }
    let unserved: Vec<String> = counts
        .iter()
        .filter(|(_, (invoked, completed))| *invoked >= INVOKED_MIN && *completed == 0)
        .map(|(kind, (invoked, _))| format!("{kind} ({invoked} invoked)"))
        .collect();
    if unserved.is_empty() {
        let judged = counts
            .iter()
            .filter(|(_, (invoked, _))| *invoked >= INVOKED_MIN)
            .map(|(kind, (_, completed))| format!("{kind} {completed}"))
            .collect::<Vec<_>>()
            .join(", ");
        CheckResult::pass(
            NAME,
            format!("every kind of operation completed at least once: {judged}"),
        )
    } else {
        CheckResult::fail(
            NAME,
            format!(
                "no operation of these kinds ever completed: {}",
                unserved.join(", ")
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::{OpFn, Value};

    fn event(process: u64, kind: EventType, f: OpFn) -> HistoryEvent {
        HistoryEvent {
            process,
            kind,
            f,
            key: Some(0),
            value: Value::Nil,
            time: 0,
        }
    }

    fn history(reads_answered: bool) -> Vec<HistoryEvent> {
        let mut h = Vec::new();
        for p in 0..INVOKED_MIN {
            h.push(event(p, EventType::Invoke, OpFn::Write));
            h.push(event(p, EventType::Ok, OpFn::Write));
            h.push(event(p, EventType::Invoke, OpFn::Read));
            let end = if reads_answered && p == 7 {
                EventType::Ok
            } else {
                EventType::Info
            };
            h.push(event(p, end, OpFn::Read));
        }
        // Too few compare-and-sets to judge.
        h.push(event(99, EventType::Invoke, OpFn::Cas));
        h
    }

    #[test]
    fn a_kind_never_served_fails_and_one_answer_is_enough() {
        let failed = every_kind_served(&history(false));
        assert!(!failed.ok);
        assert_eq!(
            failed.detail,
            "no operation of these kinds ever completed: read (20 invoked)"
        );
        let passed = every_kind_served(&history(true));
        assert!(passed.ok, "{passed:?}");
        assert!(
            passed.detail.ends_with("read 1, write 20"),
            "{}",
            passed.detail
        );
    }
}
