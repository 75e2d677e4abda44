//! The client history: what clients asked for and what they were told, with true time. It is the
//! linearizability checker's input, in Jepsen's shape: an `invoke`, then `ok` (it happened, with
//! this result), `fail` (it certainly did not happen) or `info` (unknown: timed out).
//!
//! The types are the subset of the checker's that a simulated workload produces, and convert
//! into them without loss (`From`); [`History::check`] runs the checker on a run's history and
//! [`History::write_jsonl`] writes the file `dsim check` reads.

use std::io::{self, Write};

use checker::{CheckOptions, CheckReport, ModelKind, ModelSpec};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::time::Nanos;

/// A value in an operation: an argument or a result.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// No value: a read's argument, or the result of reading a key never written.
    #[default]
    Nil,
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
    /// A list, e.g. `[from, to]` for compare-and-set.
    List(Vec<Value>),
}

/// The operation's function, Jepsen's `f`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpFn {
    /// Read a key.
    Read,
    /// Overwrite a key.
    Write,
    /// Compare-and-set: value is `[expected, new]`.
    Cas,
    /// Append to a key's value.
    Append,
}

impl OpFn {
    /// The name as it appears in histories.
    pub fn name(self) -> &'static str {
        match self {
            OpFn::Read => "read",
            OpFn::Write => "write",
            OpFn::Cas => "cas",
            OpFn::Append => "append",
        }
    }
}

/// Jepsen's `type` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// The client called the operation.
    Invoke,
    /// It completed and took effect.
    Ok,
    /// It certainly did not take effect.
    Fail,
    /// Unknown whether it took effect (timed out, or the answer was lost).
    Info,
}

/// One line of the history.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryEvent {
    /// Logical client process. After an `info` the client continues under a fresh process id,
    /// as in Jepsen, so a process never has two operations open.
    pub process: u64,
    /// Invoke, ok, fail or info.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The function.
    pub f: OpFn,
    /// The key, for keyed models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<u64>,
    /// The argument (on invoke) or the result (on completion).
    #[serde(default)]
    pub value: Value,
    /// True time in nanoseconds.
    pub time: Nanos,
}

/// How a client ends an operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It happened; the result (the value read, or the argument echoed for writes).
    Ok(Value),
    /// It certainly did not happen (a rejected compare-and-set, a refused request).
    Fail,
    /// The client does not know (an ambiguous error).
    Info,
}

/// The recorded history of a run.
#[derive(Clone, Debug, Default)]
pub struct History {
    events: Vec<HistoryEvent>,
}

impl History {
    /// Appends an event.
    pub fn push(&mut self, event: HistoryEvent) {
        self.events.push(event);
    }

    /// All events in time order.
    pub fn events(&self) -> &[HistoryEvent] {
        &self.events
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// Most search states one key's check may visit in [`History::check`] (a few seconds at most);
/// a history too hard to decide within it is `unknown`, never given a wrong verdict.
pub const CHECK_SEARCH_STATES_MAX: u64 = 3_000_000;

/// Why a run's history could not be judged.
#[derive(Debug, Error)]
pub enum HistoryCheckError {
    /// No operation completed with `ok`: there is nothing to judge, and calling such a run
    /// linearizable would hide a broken or idle system (or a run too short to do anything).
    #[error("no client operation completed ok ({invoked} invoked): nothing to check")]
    NothingCompleted {
        /// How many operations were invoked.
        invoked: u64,
    },
    /// The checker rejected the history (an operation its model does not understand).
    #[error(transparent)]
    Checker(#[from] checker::CheckError),
}

impl History {
    /// Judges the history for linearizability under `model`, the same way `dsim run`'s
    /// `linearizable` check does: sequentially and with a budget of
    /// [`CHECK_SEARCH_STATES_MAX`] search states per key, so the verdict and the explanation
    /// depend on the history alone, never on timing or threads.
    pub fn check(&self, model: ModelKind) -> Result<CheckReport, HistoryCheckError> {
        let completed = self.events.iter().any(|e| e.kind == EventType::Ok);
        if !completed {
            let invoked = self.events.iter().filter(|e| e.kind == EventType::Invoke);
            return Err(HistoryCheckError::NothingCompleted {
                invoked: invoked.count() as u64,
            });
        }
        let options = CheckOptions {
            parallel: false,
            limits: checker::Limits {
                search_budget_states: CHECK_SEARCH_STATES_MAX,
                ..checker::Limits::default()
            },
            ..CheckOptions::default()
        };
        let history = self.to_checker("history");
        Ok(checker::check_history(
            &history,
            &ModelSpec::new(model),
            &options,
        )?)
    }

    /// The history as the checker's input; `source` names it in the checker's messages.
    pub fn to_checker(&self, source: &str) -> checker::History {
        checker::History::from_events(source, self.events.iter().map(Into::into).collect())
    }

    /// Writes the history as JSON Lines, one event a line: the format `dsim check` reads.
    pub fn write_jsonl(&self, out: &mut impl Write) -> io::Result<()> {
        for event in &self.events {
            serde_json::to_writer(&mut *out, event)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

impl From<&Value> for checker::Value {
    fn from(v: &Value) -> Self {
        match v {
            Value::Nil => checker::Value::Nil,
            Value::Int(i) => checker::Value::Int(*i),
            Value::Str(s) => checker::Value::Str(s.clone()),
            Value::List(items) => checker::Value::List(items.iter().map(Into::into).collect()),
        }
    }
}

impl From<OpFn> for checker::OpFn {
    fn from(f: OpFn) -> Self {
        match f {
            OpFn::Read => checker::OpFn::Read,
            OpFn::Write => checker::OpFn::Write,
            OpFn::Cas => checker::OpFn::Cas,
            OpFn::Append => checker::OpFn::Append,
        }
    }
}

impl From<EventType> for checker::EventKind {
    fn from(kind: EventType) -> Self {
        match kind {
            EventType::Invoke => checker::EventKind::Invoke,
            EventType::Ok => checker::EventKind::Ok,
            EventType::Fail => checker::EventKind::Fail,
            EventType::Info => checker::EventKind::Info,
        }
    }
}

impl From<&HistoryEvent> for checker::Event {
    fn from(e: &HistoryEvent) -> Self {
        checker::Event {
            process: e.process,
            kind: e.kind.into(),
            f: e.f.into(),
            key: e.key.map(|k| checker::Value::Int(k as i64)),
            value: (&e.value).into(),
            time: e.time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialize_with_jepsen_fields() {
        let e = HistoryEvent {
            process: 3,
            kind: EventType::Invoke,
            f: OpFn::Cas,
            key: Some(7),
            value: Value::List(vec![Value::Int(1), Value::Int(2)]),
            time: 1500,
        };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"process":3,"type":"invoke","f":"cas","key":7,"value":[1,2],"time":1500}"#
        );
        let back: HistoryEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn nil_is_null_and_key_is_optional() {
        let e: HistoryEvent =
            serde_json::from_str(r#"{"process":0,"type":"ok","f":"read","value":null,"time":9}"#)
                .unwrap();
        assert_eq!(e.value, Value::Nil);
        assert_eq!(e.key, None);
        assert!(!serde_json::to_string(&e).unwrap().contains("key"));
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let r: Result<HistoryEvent, _> =
            serde_json::from_str(r#"{"process":0,"type":"ok","f":"read","time":9,"colour":1}"#);
        assert!(r.is_err());
    }

    fn event(process: u64, kind: EventType, f: OpFn, value: Value, time: Nanos) -> HistoryEvent {
        HistoryEvent {
            process,
            kind,
            f,
            key: Some(3),
            value,
            time,
        }
    }

    /// A write of 1, then a read that sees nil: stale.
    fn stale_read() -> History {
        let mut h = History::default();
        h.push(event(0, EventType::Invoke, OpFn::Write, Value::Int(1), 10));
        h.push(event(0, EventType::Ok, OpFn::Write, Value::Int(1), 20));
        h.push(event(1, EventType::Invoke, OpFn::Read, Value::Nil, 30));
        h.push(event(1, EventType::Ok, OpFn::Read, Value::Nil, 40));
        h
    }

    #[test]
    fn the_written_jsonl_reads_back_as_the_same_events_the_checker_gets_in_memory() {
        let mut h = stale_read();
        h.push(event(
            2,
            EventType::Invoke,
            OpFn::Cas,
            Value::List(vec![Value::Int(1), Value::Str("x".into())]),
            50,
        ));
        h.push(event(2, EventType::Info, OpFn::Cas, Value::Nil, 60));
        let mut text = Vec::new();
        h.write_jsonl(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        let read = checker::read::read_str(&text, "h.jsonl", checker::read::Format::Auto).unwrap();
        assert_eq!(read.events, h.to_checker("memory").events);
        assert_eq!(read.events.len(), 6);
    }

    #[test]
    fn check_judges_the_history_and_explains_a_stale_read() {
        let report = stale_read().check(ModelKind::Register).unwrap();
        assert_eq!(report.verdict, checker::Verdict::NotLinearizable);
        assert!(report.explanation.is_some());
        let mut fresh = stale_read();
        fresh.events[3].value = Value::Int(1);
        assert_eq!(
            fresh.check(ModelKind::Register).unwrap().verdict,
            checker::Verdict::Linearizable
        );
    }

    #[test]
    fn a_history_with_no_completed_operation_is_an_error_not_a_verdict() {
        let mut h = History::default();
        h.push(event(0, EventType::Invoke, OpFn::Read, Value::Nil, 1));
        h.push(event(0, EventType::Info, OpFn::Read, Value::Nil, 2));
        let err = h.check(ModelKind::Register).unwrap_err();
        assert!(
            matches!(err, HistoryCheckError::NothingCompleted { invoked: 1 }),
            "{err}"
        );
        assert!(History::default().check(ModelKind::Register).is_err());
    }
}
