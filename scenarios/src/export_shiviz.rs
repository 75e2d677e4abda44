//! The trace as a ShiViz log: two lines per event, `host {vector clock}` then a description,
//! parsed in ShiViz with the regular expression [`SHIVIZ_REGEX`]. The trace records a message
//! only where it ends (a delivery or a drop, carrying `sent_ns`), so each message's send is
//! put back at the sender at `sent_ns` before vector clocks are computed.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde_json::Value;

use crate::trace_events::{self, TraceEvents};

/// The log parsing regular expression to give ShiViz for `shiviz.log`.
pub const SHIVIZ_REGEX: &str = r"(?<host>\S*) (?<clock>{.*})\n(?<event>.*)";

/// A vector clock: host name to count (hosts never seen are 0 and left out).
type Clock = BTreeMap<String, u64>;

/// One step at one host, in the order clocks are computed.
struct Step {
    time_ns: u64,
    /// Steps at the same time: receives and local events (0) before sends (1), since a handler
    /// sends in reaction to what it just received.
    order: u8,
    host: u64,
    /// `(from, to, sent_ns)` of the message this step sends or receives, if any.
    message: Option<(u64, u64, u64)>,
    receive: bool,
    text: String,
}

/// Renders the ShiViz log.
pub fn render(trace: &TraceEvents) -> String {
    let mut steps = steps(&trace.events);
    steps.sort_by_key(|s| (s.time_ns, s.order));
    let mut clocks: HashMap<u64, Clock> = HashMap::new();
    // Each send's clock, for the matching receive to merge; keyed by what the trace records.
    let mut sent: HashMap<(u64, u64, u64), Clock> = HashMap::new();
    let mut out = String::new();
    for step in &steps {
        let host = format!("n{}", step.host);
        let mut clock = clocks.remove(&step.host).unwrap_or_default();
        if step.receive
            && let Some(theirs) = step.message.and_then(|m| sent.get(&m))
        {
            for (h, &n) in theirs {
                let mine = clock.entry(h.clone()).or_insert(0);
                *mine = (*mine).max(n);
            }
        }
        *clock.entry(host.clone()).or_insert(0) += 1;
        if let (Some(m), false) = (step.message, step.receive) {
            sent.insert(m, clock.clone());
        }
        let json = serde_json::to_string(&clock).unwrap_or_default();
        let _ = writeln!(out, "{host} {json}");
        let _ = writeln!(out, "t={}ns {}", step.time_ns, step.text.replace('\n', " "));
        clocks.insert(step.host, clock);
    }
    out
}

/// Every event that happens at a host, plus one send per delivered or dropped message.
fn steps(events: &[Value]) -> Vec<Step> {
    let mut steps = Vec::with_capacity(events.len() * 2);
    for event in events {
        let kind = trace_events::kind(event);
        if kind == "deliver" || kind == "drop" {
            let from = event["from"].as_u64().unwrap_or(0);
            let to = event["to"].as_u64().unwrap_or(0);
            let sent_ns = event["sent_ns"].as_u64().unwrap_or(0);
            let message = Some((from, to, sent_ns));
            let msg = event["msg"].as_str().unwrap_or("");
            steps.push(Step {
                time_ns: sent_ns,
                order: 1,
                host: from,
                message,
                receive: false,
                text: format!("send to n{to}: {msg}"),
            });
            if kind == "drop" {
                // A dropped message is recorded at the sender only: nothing happened at `to`.
                let reason = event["reason"].as_str().unwrap_or("");
                if let Some(last) = steps.last_mut() {
                    last.text = format!("send to n{to} (dropped: {reason}): {msg}");
                }
                continue;
            }
            steps.push(Step {
                time_ns: trace_events::time_ns(event),
                order: 0,
                host: to,
                message,
                receive: true,
                text: trace_events::describe(event),
            });
        } else if let Some(host) = trace_events::node(event) {
            steps.push(Step {
                time_ns: trace_events::time_ns(event),
                order: 0,
                host,
                message: None,
                receive: false,
                text: trace_events::describe(event),
            });
        }
    }
    steps
}
