//! `report.html`: one self-contained page for people about one run (no network: the CSS, the
//! script and the data are inline, and the script draws SVG). It shows the checks, a
//! space-time diagram of nodes, messages and faults, the client history as a timeline and a
//! histogram of operation latencies. The page draws only what lies in the chosen time window
//! and nodes, and at most [`DRAW_MAX`] shapes per view (thinned evenly over the window, fault
//! spans and rare points kept), so runs with many events stay usable.
//! The view can be set by a URL fragment (`report.html#from=1s&to=2s&nodes=n1,n2&timers=1`),
//! which the page keeps up to date, so a link shows what its sender saw. An uncaught script
//! error is recorded on `<html data-js-errors>`; `<html data-drawn="true">` says the script ran
//! to its end.
//!
//! When the linearizability check fails, the page outlines the operation it could not place
//! (the run's [`Counterexample`], found by its invocation's index in the history).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::report::{Counterexample, RunReport};
use crate::trace_events::{self, TRACE_EVENTS_MAX, TraceEvents};

/// Most shapes the page draws in one view of the space-time diagram, and most operations in
/// one view of the history (the counterexample's operation is drawn beyond it). A view with
/// more draws an even sample across its window, says so in a note, and zooming in shows all.
pub const DRAW_MAX: usize = 20_000;

/// Renders the page.
pub fn render(report: &RunReport, trace: &TraceEvents) -> String {
    let end_ns = report.stats.sim_time_ns.max(last_time_ns(trace));
    let (ops, highlight) = ops(report);
    let data = json!({
        "end_ns": end_ns,
        "nodes": nodes(trace),
        "messages": messages(trace),
        "points": points(trace),
        "spans": spans(trace, end_ns),
        "ops": ops,
        "highlight": highlight.as_ref().map(|h| h.op),
        "truncated": trace.truncated,
        "trace_events_max": TRACE_EVENTS_MAX,
        "draw_max": DRAW_MAX,
    });
    // `</` inside the JSON would end the script element early; `<\/` means the same in JSON.
    let data = data.to_string().replace("</", "<\\/");
    let mut page = String::with_capacity(data.len() + 16_384);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    let _ = writeln!(page, "<script>{ERROR_HOOK}</script>");
    let _ = writeln!(page, "<title>dsim: {}</title>", escape(&report.scenario));
    let _ = writeln!(page, "<style>{STYLE}</style></head><body>");
    page.push_str(&header(report, highlight.as_ref()));
    if trace.truncated {
        let _ = writeln!(
            page,
            "<p class=\"note\" id=\"truncated\">The trace is longer than {TRACE_EVENTS_MAX} events \
             (TRACE_EVENTS_MAX): only its first {TRACE_EVENTS_MAX} are shown.</p>"
        );
    }
    page.push_str(BODY);
    let _ = writeln!(
        page,
        "<script type=\"application/json\" id=\"data\">{data}</script>"
    );
    let _ = writeln!(page, "<script>{SCRIPT}</script></body></html>");
    page
}

/// The operation the page highlights.
struct Highlight {
    /// Index into the ops array.
    op: usize,
    /// For people: which operation it is.
    how: String,
}

/// The verdict, the checks (failing ones first) and the run's numbers, rendered on the server so
/// they read without the script.
fn header(report: &RunReport, highlight: Option<&Highlight>) -> String {
    let mut out = String::new();
    let verdict = if report.ok { "PASS" } else { "FAIL" };
    let _ = writeln!(
        out,
        "<h1>{} <span class=\"{}\">{verdict}</span></h1>",
        escape(&report.scenario),
        verdict.to_lowercase()
    );
    let s = &report.stats;
    let _ = writeln!(
        out,
        "<p>protocol {} · seed {} · {} events · {:.3} s simulated · messages sent {} delivered {} \
         dropped {} · ops ok {} fail {} info {} · trace hash {:016x}</p>",
        escape(&report.protocol),
        report.seed,
        s.events,
        s.sim_time_ns as f64 / 1e9,
        s.messages_sent,
        s.messages_delivered,
        s.messages_dropped(),
        s.ops_ok,
        s.ops_fail,
        s.ops_info,
        report.trace_hash
    );
    out.push_str("<h2>Checks</h2>\n<ul id=\"checks\">\n");
    let mut checks: Vec<_> = report.checks.iter().collect();
    checks.sort_by_key(|c| c.ok);
    for c in checks {
        let (class, mark) = if c.ok { ("ok", "ok") } else { ("fail", "FAIL") };
        let _ = writeln!(
            out,
            "<li class=\"check {class}\" data-check=\"{}\"><b>{mark}</b> {}<pre>{}</pre></li>",
            escape(&c.name),
            escape(&c.name),
            escape(&c.detail)
        );
    }
    out.push_str("</ul>\n");
    if let Some(h) = highlight {
        let _ = writeln!(
            out,
            "<p class=\"note\" id=\"highlight\">Highlighted in the history (black outline): {} \
             <button id=\"goto\">zoom to it</button></p>",
            escape(&h.how)
        );
    }
    out
}

/// Every node named by the trace, in order.
fn nodes(trace: &TraceEvents) -> Vec<u64> {
    let mut nodes = BTreeSet::new();
    for e in &trace.events {
        nodes.extend(trace_events::node(e));
        nodes.extend(e["from"].as_u64());
    }
    nodes.into_iter().collect()
}

fn last_time_ns(trace: &TraceEvents) -> u64 {
    trace.events.last().map_or(0, trace_events::time_ns)
}

/// `[sent_ns, end_ns, from, to, dropped, label]` per delivered or dropped message.
fn messages(trace: &TraceEvents) -> Vec<Value> {
    let mut out = Vec::new();
    for e in &trace.events {
        let kind = trace_events::kind(e);
        if kind == "deliver" || kind == "drop" {
            let label = if kind == "drop" {
                format!(
                    "dropped ({}): {}",
                    e["reason"].as_str().unwrap_or(""),
                    e["msg"].as_str().unwrap_or("")
                )
            } else {
                e["msg"].as_str().unwrap_or("").to_string()
            };
            out.push(json!([
                e["sent_ns"],
                e["time"],
                e["from"],
                e["to"],
                u8::from(kind == "drop"),
                label
            ]));
        }
    }
    out
}

/// `[time_ns, node, kind, text]` per start, timer, log line, violation and node fault.
fn points(trace: &TraceEvents) -> Vec<Value> {
    let mut out = Vec::new();
    for e in &trace.events {
        let kind = trace_events::kind(e);
        if matches!(kind, "start" | "timer" | "log" | "violation" | "fault")
            && let Some(node) = trace_events::node(e)
        {
            out.push(json!([e["time"], node, kind, trace_events::describe(e)]));
        }
    }
    out
}

/// `[start_ns, end_ns, node or -1, kind]` per crash (to restart), pause (to resume) and
/// partition (to heal); a fault still in force at the end lasts to `end_ns`.
fn spans(trace: &TraceEvents, end_ns: u64) -> Vec<Value> {
    let mut open: BTreeMap<(i64, &'static str), u64> = BTreeMap::new();
    let mut out = Vec::new();
    for e in &trace.events {
        if trace_events::kind(e) != "fault" || e["applied"] == false {
            continue;
        }
        let time = trace_events::time_ns(e);
        let node = e["fault"]["node"].as_i64().unwrap_or(-1);
        let mut close = |key: (i64, &'static str)| {
            if let Some(start) = open.remove(&key) {
                out.push(json!([start, time, key.0, key.1]));
            }
        };
        match e["fault"]["kind"].as_str().unwrap_or("") {
            "crash" => {
                open.insert((node, "crash"), time);
            }
            "pause" => {
                open.insert((node, "pause"), time);
            }
            "partition" => {
                close((-1, "partition"));
                open.insert((-1, "partition"), time);
            }
            "restart" => close((node, "crash")),
            "resume" => close((node, "pause")),
            "heal" => close((-1, "partition")),
            "heal_all" => {
                for ((node, kind), start) in std::mem::take(&mut open) {
                    out.push(json!([start, time, node, kind]));
                }
            }
            _ => {}
        }
    }
    for ((node, kind), start) in open {
        out.push(json!([start, end_ns, node, kind]));
    }
    out
}

/// `[process, invoke_ns, end_ns or null, type, f, key, input, output]` per client operation,
/// and the counterexample's operation among them.
fn ops(report: &RunReport) -> (Vec<Value>, Option<Highlight>) {
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    let mut out: Vec<Value> = Vec::new();
    let mut highlight = None;
    for (index, event) in report.history.iter().enumerate() {
        let e = serde_json::to_value(event).unwrap_or_default();
        let process = event.process;
        if e["type"] == "invoke" {
            if let Some(Counterexample { invoke_index, text }) = &report.counterexample
                && *invoke_index == index
            {
                highlight = Some(Highlight {
                    op: out.len(),
                    how: format!(
                        "{text}, invoked at {:.3} ms, the operation the linearizability check \
                         could not place.",
                        event.time as f64 / 1e6
                    ),
                });
            }
            open.insert(process, out.len());
            out.push(json!([
                process, e["time"], null, "pending", e["f"], e["key"], e["value"], null
            ]));
        } else if let Some(i) = open.remove(&process) {
            out[i][2] = e["time"].clone();
            out[i][3] = e["type"].clone();
            out[i][7] = e["value"].clone();
        }
    }
    (out, highlight)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = include_str!("html_report.css");
const BODY: &str = include_str!("html_report_body.html");
const SCRIPT: &str = include_str!("html_report.js");
const ERROR_HOOK: &str = include_str!("html_report_errors.js");
