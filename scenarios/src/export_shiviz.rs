//! The trace as a ShiViz log: two lines per event, `host {vector clock}` then a description,
//! parsed in ShiViz with the regular expression [`SHIVIZ_REGEX`]. Clocks are exact: the trace
//! records each send where it happened (a `send` event, or the `drop` of a message lost on the
//! wire) and every delivery names its message's id, so each receive merges the clock of its own
//! send, duplicates and same-instant sends included.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde_json::Value;

use crate::trace_events::{self, TraceEvents};

/// The log parsing regular expression to give ShiViz for `shiviz.log`.
pub const SHIVIZ_REGEX: &str = r"(?<host>\S*) (?<clock>{.*})\n(?<event>.*)";

/// A vector clock: host name to count (hosts never seen are 0 and left out).
type Clock = BTreeMap<String, u64>;

/// What the log says about a message besides its send: its label and, if it never arrived,
/// why. Gathered first, since a send event carries neither.
#[derive(Default)]
struct MessageNote {
    label: String,
    dropped: Option<String>,
}

/// Renders the ShiViz log.
pub fn render(trace: &TraceEvents) -> String {
    let notes = message_notes(&trace.events);
    let mut clocks: HashMap<u64, Clock> = HashMap::new();
    // Each send's clock, for its receives to merge (lookups only, never iterated).
    let mut sent: HashMap<u64, Clock> = HashMap::new();
    let mut out = String::new();
    for event in &trace.events {
        let Some((host, text)) = step(event, &notes) else {
            continue;
        };
        let mut clock = clocks.remove(&host).unwrap_or_default();
        let msg_id = event["msg_id"].as_u64();
        let kind = trace_events::kind(event);
        if kind == "deliver"
            && let Some(theirs) = msg_id.and_then(|id| sent.get(&id))
        {
            for (h, &n) in theirs {
                let mine = clock.entry(h.clone()).or_insert(0);
                *mine = (*mine).max(n);
            }
        }
        *clock.entry(format!("n{host}")).or_insert(0) += 1;
        if let (Some(id), "send" | "drop") = (msg_id, kind) {
            sent.insert(id, clock.clone());
        }
        let json = serde_json::to_string(&clock).unwrap_or_default();
        let _ = writeln!(out, "n{host} {json}");
        let time = trace_events::time_ns(event);
        let _ = writeln!(out, "t={time}ns {}", text.replace(['\n', '\r'], " "));
        clocks.insert(host, clock);
    }
    out
}

/// Each message's label and, for one that was dropped, why.
fn message_notes(events: &[Value]) -> HashMap<u64, MessageNote> {
    let mut notes: HashMap<u64, MessageNote> = HashMap::new();
    for event in events {
        let kind = trace_events::kind(event);
        let Some(id) = event["msg_id"].as_u64() else {
            continue;
        };
        if kind == "deliver" || kind == "drop" {
            let note = notes.entry(id).or_default();
            note.label = event["msg"].as_str().unwrap_or("").to_string();
            if kind == "drop" {
                note.dropped = Some(event["reason"].as_str().unwrap_or("").to_string());
            }
        }
    }
    notes
}

/// The host an event happens at and its description, or `None` for events that happen at no
/// host (partitions, heals) or nowhere new (a message dropped on arrival: its send is the step).
fn step(event: &Value, notes: &HashMap<u64, MessageNote>) -> Option<(u64, String)> {
    let kind = trace_events::kind(event);
    let id = event["msg_id"].as_u64().unwrap_or(0);
    let note = notes.get(&id);
    let label = note.map_or("", |n| n.label.as_str());
    let from = event["from"].as_u64().unwrap_or(0);
    let to = event["to"].as_u64().unwrap_or(0);
    match kind {
        "send" => {
            let fate = match note.and_then(|n| n.dropped.as_deref()) {
                Some(reason) => format!(" (dropped: {reason})"),
                None => String::new(),
            };
            Some((from, format!("send #{id} to n{to}{fate}: {label}")))
        }
        "drop" if event["reason"] == "loss" && event["sent_ns"] == event["time"] => {
            // Lost on the wire: the trace has no send event, so this drop is the send.
            Some((
                from,
                format!("send #{id} to n{to} (dropped: loss): {label}"),
            ))
        }
        "drop" => None,
        "deliver" => Some((to, format!("n{to} <- n{from} #{id}: {label}"))),
        _ => trace_events::node(event).map(|host| (host, trace_events::describe(event))),
    }
}
