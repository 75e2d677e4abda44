//! The client history: what clients asked for and what they were told, with true time. It is the
//! linearizability checker's input, in Jepsen's shape: an `invoke`, then `ok` (it happened, with
//! this result), `fail` (it certainly did not happen) or `info` (unknown: timed out).

use serde::{Deserialize, Serialize};

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
}
