//! Reads a run's `trace.jsonl` back for the artefacts written for people (the HTML report and
//! the ShiViz and Perfetto exports). Memory stays bounded: at most [`TRACE_EVENTS_MAX`] events
//! are kept, and each message payload is cut down to a short label.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::Value;

/// The most trace events the artefacts read; a longer trace is cut here and the artefacts say so.
pub const TRACE_EVENTS_MAX: usize = 200_000;

/// The most characters of a message kept as its label.
const MSG_LABEL_CHARS_MAX: usize = 80;

/// The first events of a trace.
#[derive(Debug, Default)]
pub struct TraceEvents {
    /// The events, in trace order, with `msg` replaced by a short label string.
    pub events: Vec<Value>,
    /// True when the trace held more than [`TRACE_EVENTS_MAX`] events.
    pub truncated: bool,
}

/// Reads the first [`TRACE_EVENTS_MAX`] events of a JSON Lines trace; unparsable lines are skipped
/// (the file was written by this program, so there should be none).
pub fn read(path: &Path) -> std::io::Result<TraceEvents> {
    let reader = BufReader::new(File::open(path)?);
    let mut out = TraceEvents::default();
    for line in reader.lines() {
        let line = line?;
        if out.events.len() == TRACE_EVENTS_MAX {
            out.truncated = true;
            break;
        }
        let Ok(mut event) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if let Some(msg) = event.get_mut("msg") {
            *msg = Value::String(msg_label(msg));
        }
        out.events.push(event);
    }
    Ok(out)
}

/// A short label for a message: its JSON text, cut to [`MSG_LABEL_CHARS_MAX`] characters.
fn msg_label(msg: &Value) -> String {
    let text = msg.to_string();
    if text.chars().count() <= MSG_LABEL_CHARS_MAX {
        return text;
    }
    let mut cut: String = text.chars().take(MSG_LABEL_CHARS_MAX).collect();
    cut.push('…');
    cut
}

/// A trace event's `time` in nanoseconds (0 if missing).
pub fn time_ns(event: &Value) -> u64 {
    event["time"].as_u64().unwrap_or(0)
}

/// A trace event's kind (`deliver`, `drop`, `timer`, ...).
pub fn kind(event: &Value) -> &str {
    event["event"].as_str().unwrap_or("")
}

/// The node an event happens at: the sender for sends, the receiver for deliveries and drops,
/// the fault's node for faults; `None` for faults that target no node (partitions, heals).
pub fn node(event: &Value) -> Option<u64> {
    match kind(event) {
        "send" => event["from"].as_u64(),
        "deliver" | "drop" => event["to"].as_u64(),
        "fault" => event["fault"]["node"].as_u64(),
        _ => event["node"].as_u64(),
    }
}

/// A one-line description of an event for people.
pub fn describe(event: &Value) -> String {
    let s = |k: &str| event[k].to_string();
    match kind(event) {
        "start" => format!("start incarnation {}", s("incarnation")),
        "send" => format!("n{} -> n{}: message #{}", s("from"), s("to"), s("msg_id")),
        "deliver" => format!(
            "n{} <- n{}: {}",
            s("to"),
            s("from"),
            event["msg"].as_str().unwrap_or("")
        ),
        "drop" => format!(
            "drop n{} -> n{} ({}): {}",
            s("from"),
            s("to"),
            event["reason"].as_str().unwrap_or(""),
            event["msg"].as_str().unwrap_or("")
        ),
        "timer" => format!("timer {} tag {}", s("id"), s("tag")),
        "fault" => format!("fault {}", event["fault"]),
        "client" => format!("client {}", event["op"]),
        "log" => event["line"].as_str().unwrap_or("").to_string(),
        "violation" => format!(
            "VIOLATION {}: {}",
            event["check"].as_str().unwrap_or(""),
            event["detail"].as_str().unwrap_or("")
        ),
        other => other.to_string(),
    }
}
