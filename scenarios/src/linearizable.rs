//! The `linearizable` check: the run's client history through the checker crate, under the
//! model the protocol names. The history is converted event by event (sim-core and the checker
//! share the Jepsen shape but not types: the checker knows nothing of the simulator).

use checker::{CheckOptions, EventKind, ModelKind, ModelSpec, Verdict};
use protocols::CheckResult;
use sim_core::{EventType, HistoryEvent, OpFn, Value};

const NAME: &str = "linearizable";

/// Most search states one key's check may visit inside `dsim run` (a few seconds at most).
pub const SEARCH_BUDGET_STATES: u64 = 3_000_000;

/// Judges `history` under `model` (a checker model name such as `cas-register`).
pub fn check(model: Option<&str>, history: &[HistoryEvent]) -> CheckResult {
    let Some(model) = model else {
        return CheckResult::fail(
            NAME,
            "this protocol's client history has no linearizability model",
        );
    };
    let Some((_, kind)) = ModelKind::NAMES.iter().find(|(name, _)| *name == model) else {
        return CheckResult::fail(NAME, format!("unknown checker model `{model}`"));
    };
    let events: Vec<checker::Event> = history.iter().map(convert).collect();
    // Sequential search, so the explanation is the same on every run of the same seed, and a
    // budget counted in search states rather than seconds, so the verdict is too: a history too
    // hard to decide within it is reported as unknown, never as a wrong verdict.
    let options = CheckOptions {
        parallel: false,
        limits: checker::Limits {
            search_budget_states: SEARCH_BUDGET_STATES,
            ..checker::Limits::default()
        },
        ..CheckOptions::default()
    };
    match checker::check_events(&events, &ModelSpec::new(*kind), &options) {
        Err(e) => CheckResult::fail(NAME, format!("the history could not be checked: {e}")),
        Ok(report) => {
            let summary = format!(
                "{} ops over {} key(s), {model} model, checked in {:.1} ms",
                report.ops,
                report.partitions.len(),
                report.elapsed_ms
            );
            match report.verdict {
                Verdict::Linearizable => CheckResult::pass(NAME, summary),
                Verdict::NotLinearizable => {
                    let why = report.explanation.map_or(String::new(), |e| e.to_string());
                    CheckResult::fail(NAME, format!("NOT linearizable: {summary}. {why}"))
                }
                Verdict::Unknown => {
                    let reason = report.reason.unwrap_or_default();
                    CheckResult::fail(NAME, format!("unknown (undecided): {reason}; {summary}"))
                }
            }
        }
    }
}

fn convert(e: &HistoryEvent) -> checker::Event {
    checker::Event {
        process: e.process,
        kind: match e.kind {
            EventType::Invoke => EventKind::Invoke,
            EventType::Ok => EventKind::Ok,
            EventType::Fail => EventKind::Fail,
            EventType::Info => EventKind::Info,
        },
        f: match e.f {
            OpFn::Read => checker::OpFn::Read,
            OpFn::Write => checker::OpFn::Write,
            OpFn::Cas => checker::OpFn::Cas,
            OpFn::Append => checker::OpFn::Append,
        },
        key: e.key.map(|k| checker::Value::Int(k as i64)),
        value: value(&e.value),
        time: e.time,
    }
}

fn value(v: &Value) -> checker::Value {
    match v {
        Value::Nil => checker::Value::Nil,
        Value::Int(i) => checker::Value::Int(*i),
        Value::Str(s) => checker::Value::Str(s.clone()),
        Value::List(items) => checker::Value::List(items.iter().map(value).collect()),
    }
}
