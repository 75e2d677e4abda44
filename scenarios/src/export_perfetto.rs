//! The trace in the Chrome trace event format, for Perfetto (ui.perfetto.dev) or
//! chrome://tracing: one process, one thread per node, a 0-length slice per send and per
//! delivery joined by a flow arrow, and an instant event per other trace event. Times are
//! microseconds, as the format defines them; there is no `displayTimeUnit`, since some Perfetto
//! versions read it as the unit of `ts`. Flows bind to their slices by `bind_id` (`flow_out` on
//! the send, `flow_in` on each delivery), so they never depend on event order at equal times.

use serde_json::{Value, json};

use crate::trace_events::{self, TraceEvents};

/// The one process id all nodes share.
const PID: u64 = 1;

/// The thread id used for events that belong to no node (partitions, heals).
const TID_CLUSTER: u64 = 1_000_000;

/// Renders `{"traceEvents": [...]}`, sorted by time so `ts` never decreases on a thread.
pub fn render(trace: &TraceEvents) -> String {
    let mut events: Vec<Value> = Vec::with_capacity(trace.events.len() * 2);
    let mut tids = std::collections::BTreeSet::new();
    for event in &trace.events {
        let tid = trace_events::node(event).unwrap_or(TID_CLUSTER);
        tids.insert(tid);
        let ts = micros(trace_events::time_ns(event));
        let kind = trace_events::kind(event);
        let detail = json!({ "detail": trace_events::describe(event) });
        let flow = match (kind, event["msg_id"].as_u64()) {
            ("send", Some(id)) => Some((id, "flow_out")),
            ("deliver", Some(id)) => Some((id, "flow_in")),
            _ => None,
        };
        events.push(match flow {
            Some((id, direction)) => json!({
                "name": kind, "cat": "message", "ph": "X", "dur": 0, "pid": PID, "tid": tid,
                "ts": ts, "bind_id": id, direction: true, "args": detail,
            }),
            None => json!({
                "name": kind, "cat": kind, "ph": "i", "s": "t", "pid": PID, "tid": tid, "ts": ts,
                "args": detail,
            }),
        });
    }
    events.sort_by(|a, b| {
        a["ts"]
            .as_f64()
            .partial_cmp(&b["ts"].as_f64())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut all = vec![
        json!({"name": "process_name", "ph": "M", "pid": PID, "tid": 0, "ts": 0, "args": {"name": "dsim"}}),
    ];
    for tid in tids {
        let name = if tid == TID_CLUSTER {
            "cluster".to_string()
        } else {
            format!("n{tid}")
        };
        all.push(json!({"name": "thread_name", "ph": "M", "pid": PID, "tid": tid, "ts": 0, "args": {"name": name}}));
    }
    all.extend(events);
    let mut doc = json!({ "traceEvents": all });
    if trace.truncated {
        doc["metadata"] = json!({ "truncated_at_events": trace_events::TRACE_EVENTS_MAX });
    }
    doc.to_string()
}

/// Nanoseconds as fractional microseconds.
fn micros(ns: u64) -> f64 {
    ns as f64 / 1e3
}
