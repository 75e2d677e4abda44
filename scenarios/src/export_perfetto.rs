//! The trace in the Chrome trace event format, for Perfetto (ui.perfetto.dev) or
//! chrome://tracing: one process, one thread per node, an instant event per trace event and a
//! flow arrow per delivered message from its send to its delivery. Times are microseconds.

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
    for (id, event) in trace.events.iter().enumerate() {
        let tid = trace_events::node(event).unwrap_or(TID_CLUSTER);
        tids.insert(tid);
        let ts = micros(trace_events::time_ns(event));
        let kind = trace_events::kind(event);
        events.push(json!({
            "name": kind, "cat": kind, "ph": "i", "s": "t", "pid": PID, "tid": tid, "ts": ts,
            "args": { "detail": trace_events::describe(event) },
        }));
        if kind == "deliver" {
            // A flow binds to the slice around its end points, so each end gets a 0-length slice.
            let from = event["from"].as_u64().unwrap_or(0);
            tids.insert(from);
            let sent = micros(event["sent_ns"].as_u64().unwrap_or(0));
            let name = "message";
            events.push(json!({"name": "send", "cat": name, "ph": "X", "dur": 0, "pid": PID, "tid": from, "ts": sent}));
            events.push(json!({"name": name, "cat": name, "ph": "s", "id": id, "pid": PID, "tid": from, "ts": sent}));
            events.push(json!({"name": "receive", "cat": name, "ph": "X", "dur": 0, "pid": PID, "tid": tid, "ts": ts}));
            events.push(json!({"name": name, "cat": name, "ph": "f", "bp": "e", "id": id, "pid": PID, "tid": tid, "ts": ts}));
        }
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
    let mut doc = json!({ "traceEvents": all, "displayTimeUnit": "ms" });
    if trace.truncated {
        doc["metadata"] = json!({ "truncated_at_events": trace_events::TRACE_EVENTS_MAX });
    }
    doc.to_string()
}

/// Nanoseconds as fractional microseconds.
fn micros(ns: u64) -> f64 {
    ns as f64 / 1e3
}
