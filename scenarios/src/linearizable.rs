//! The `linearizable` check: the run's client history through the checker crate, under the
//! model the protocol names. The history is converted event by event (sim-core and the checker
//! share the Jepsen shape but not types: the checker knows nothing of the simulator). A failed
//! check also says which operation it could not place, by its index in the run's history, so the
//! report can point at it without parsing the check's text.

use checker::{CheckOptions, CheckReport, EventKind, History, ModelKind, ModelSpec, Verdict};
use protocols::CheckResult;
use sim_core::{EventType, HistoryEvent, OpFn, Value};

const NAME: &str = "linearizable";

/// Most search states one key's check may visit inside `dsim run` (a few seconds at most).
pub const SEARCH_BUDGET_STATES: u64 = 3_000_000;

/// The operation a failed linearizability check could not place after the longest
/// linearizable prefix it found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counterexample {
    /// Index in the run's client history of the operation's invocation.
    pub invoke_index: usize,
    /// The operation as the checker prints it, e.g. `p3 read 0 -> 7`.
    pub text: String,
}

/// Judges `history` under `model` (a checker model name such as `cas-register`); when it is not
/// linearizable, also the operation the checker could not place.
pub fn check(
    model: Option<&str>,
    history: &[HistoryEvent],
) -> (CheckResult, Option<Counterexample>) {
    let Some(model) = model else {
        let detail = "this protocol's client history has no linearizability model";
        return (CheckResult::fail(NAME, detail), None);
    };
    let Some((_, kind)) = ModelKind::NAMES.iter().find(|(name, _)| *name == model) else {
        let detail = format!("unknown checker model `{model}`");
        return (CheckResult::fail(NAME, detail), None);
    };
    let history = History::from_events("history", history.iter().map(convert).collect());
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
    match checker::check_history(&history, &ModelSpec::new(*kind), &options) {
        Err(e) => {
            let detail = format!("the history could not be checked: {e}");
            (CheckResult::fail(NAME, detail), None)
        }
        Ok(report) => {
            let counterexample = counterexample(&history, &report);
            (verdict(model, report), counterexample)
        }
    }
}

fn verdict(model: &str, report: CheckReport) -> CheckResult {
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

/// Maps the explanation's operation id (an index among the checker's operations, failed calls
/// left out) back to its invocation in the history. Pairs the history a second time, but only
/// for a failed check.
fn counterexample(history: &History, report: &CheckReport) -> Option<Counterexample> {
    let op = &report.explanation.as_ref()?.op;
    let ops = history.operations().ok()?;
    let found = ops.iter().find(|o| o.id == op.id)?;
    Some(Counterexample {
        invoke_index: found.call,
        text: op.text.clone(),
    })
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
