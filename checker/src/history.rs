//! Histories: the events a client recorded, and the operations they pair into.
//!
//! An [`Event`] is one line of dsim's JSON Lines history (and what every other reader produces):
//! a process invokes an operation, then the operation completes with `ok`, `fail` (it did not
//! happen) or `info` (unknown: it may take effect at any time after its call, or never).
//! [`History::operations`] pairs invocations with completions into [`Operation`]s, the unit the
//! models and the search work on.

use std::borrow::Cow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::mem;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::HistoryError;

/// A value in a history: the argument or result of an operation, or a key.
///
/// EDN keywords are read as strings without the colon; there are no floats.
#[derive(Clone, Debug, Default, Eq, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum Value {
    /// `null` in JSON, `nil` in EDN: no value (a register that was never written).
    #[default]
    Nil,
    /// `true` / `false` (a compare-and-set that returned false is `ok` with `false`).
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A string (or an EDN keyword without its colon).
    Str(String),
    /// A list: `[from, to]` for cas, the elements of a set, a transaction.
    List(Vec<Value>),
}

impl Value {
    /// The integer inside, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The items of a list, if this is one.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }
}

/// Strings this short are compared in place: keys and small values are, and a call to the
/// C library's `memcmp` costs more than comparing them.
const SHORT_STR: usize = 16;

/// The derived equality (same variant, equal contents), but short strings are compared without
/// a library call: the checker compares every completion's key with its call's.
impl PartialEq for Value {
    #[inline]
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Str(a), Value::Str(b)) => {
                let (a, b) = (a.as_bytes(), b.as_bytes());
                a.len() == b.len()
                    && if a.len() <= SHORT_STR {
                        a.iter().zip(b).all(|(x, y)| x == y)
                    } else {
                        a == b
                    }
            }
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            _ => false,
        }
    }
}

/// As derived: the variant, then its contents (kept beside the hand-written equality).
impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        mem::discriminant(self).hash(state);
        match self {
            Value::Nil => {}
            Value::Bool(b) => b.hash(state),
            Value::Int(i) => i.hash(state),
            Value::Str(s) => s.hash(state),
            Value::List(items) => items.hash(state),
        }
    }
}

impl fmt::Display for Value {
    /// EDN-like text: `nil`, `3`, `"x"`, `[1 2]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// Reads a [`Value`] with an error that says what is allowed (an untagged enum would not).
struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("null, a boolean, an integer, a string or a list")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        i64::try_from(u).map(Value::Int).map_err(|_| {
            E::invalid_value(de::Unexpected::Unsigned(u), &"an integer that fits in i64")
        })
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }
}

/// What an event says about its operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// The process called the operation.
    Invoke,
    /// The operation completed; `value` is its result.
    Ok,
    /// The operation did not happen.
    Fail,
    /// Unknown: the operation may take effect at any time after its call, or never.
    Info,
}

/// The function an operation calls. Which ones a model accepts is up to the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpFn {
    /// Read a register (or a key).
    Read,
    /// Write a register (or a key).
    Write,
    /// Compare-and-set: value `[from, to]`.
    Cas,
    /// Append to a key's value.
    Append,
    /// Read a key.
    Get,
    /// Replace a key's value.
    Put,
    /// Add an element to a set.
    Add,
    /// A multi-register transaction: a list of `[read k v]` / `[write k v]`.
    Txn,
}

impl OpFn {
    /// Every function, in the order error messages list them.
    pub const ALL: [OpFn; 8] = [
        OpFn::Read,
        OpFn::Write,
        OpFn::Cas,
        OpFn::Append,
        OpFn::Get,
        OpFn::Put,
        OpFn::Add,
        OpFn::Txn,
    ];

    /// The name used in histories (`"read"`, `"cas"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            OpFn::Read => "read",
            OpFn::Write => "write",
            OpFn::Cas => "cas",
            OpFn::Append => "append",
            OpFn::Get => "get",
            OpFn::Put => "put",
            OpFn::Add => "add",
            OpFn::Txn => "txn",
        }
    }

    /// The function with this name, if any.
    pub fn from_name(name: &str) -> Option<OpFn> {
        OpFn::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// One event of a history, in dsim's JSON Lines form:
/// `{"process":0,"type":"invoke","f":"write","key":3,"value":5,"time":1200}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The client process; a process has at most one call open at a time.
    pub process: u64,
    /// Invoke, or how the operation completed.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// The function called.
    pub f: OpFn,
    /// The key, for keyed models; histories are checked key by key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    /// The argument (on invoke) or the result (on ok).
    #[serde(default)]
    pub value: Value,
    /// True time in nanoseconds (or the event's index when the source has no times).
    pub time: u64,
}

/// A history as read from a source: its events in order, and where each came from.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// Where the history came from (a file name), for messages.
    pub source: String,
    /// The events, in history order (the order of the lines, which is real-time order).
    pub events: Vec<Event>,
    /// Where each event starts in the source (0:0 when unknown).
    pub positions: Vec<Position>,
    /// Events the reader skipped because they are not client operations (Jepsen's nemesis).
    pub skipped: usize,
}

/// Where an event starts in its source: the 1-based line and column (in characters) of its
/// first character; `0:0` for events made in memory, which have no source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Position {
    /// 1-based line (0: unknown).
    pub line: u32,
    /// 1-based column, in characters (0: unknown).
    pub column: u32,
}

impl Position {
    /// The position at `line` and `column` (1-based; saturated at `u32::MAX`).
    pub fn new(line: usize, column: usize) -> Position {
        let saturate = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Position {
            line: saturate(line),
            column: saturate(column),
        }
    }
}

impl fmt::Display for Position {
    /// `line:column`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// `file:line:column`, or the file alone for an event without a source position: the prefix
/// of every message about an event.
pub(crate) fn located(source: &str, line: u32, column: u32) -> String {
    match (line, column) {
        (0, _) => source.to_owned(),
        (line, 0) => format!("{source}:{line}"),
        (line, column) => format!("{source}:{line}:{column}"),
    }
}

/// One call: an invocation paired with its completion. Its key and values are borrowed from
/// the events when those stay in memory for the check (`'a`), so pairing copies no values;
/// owned otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Operation<'a> {
    /// The call's number among the history's invocations (0-based, in call order). Failed
    /// calls are dropped and leave gaps, so the number is known as soon as the call is made.
    pub id: usize,
    /// The process that called it.
    pub process: u64,
    /// The function called.
    pub f: OpFn,
    /// The key, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Cow<'a, Value>>,
    /// The argument, from the invocation.
    pub input: Cow<'a, Value>,
    /// The result, from the `ok` completion; `None` when unknown (`info` or never completed).
    pub output: Option<Cow<'a, Value>>,
    /// Index of the invocation in the history's events.
    pub call: usize,
    /// Index of the `ok` completion; `None` for an operation that stays open forever.
    pub ret: Option<usize>,
    /// Time of the invocation.
    pub call_time: u64,
    /// Time of the completion, if it completed.
    pub ret_time: Option<u64>,
    /// Source line of the invocation (0 when unknown).
    pub line: u32,
    /// Source column of the invocation (1-based, in characters; 0 when unknown).
    pub column: u32,
}

impl Operation<'_> {
    /// The argument.
    #[inline]
    pub fn input(&self) -> &Value {
        &self.input
    }

    /// The result, when known.
    #[inline]
    pub fn output(&self) -> Option<&Value> {
        self.output.as_deref()
    }

    /// The key, if any.
    #[inline]
    pub fn key(&self) -> Option<&Value> {
        self.key.as_deref()
    }

    /// The same operation owning its key and values.
    pub fn into_owned(self) -> Operation<'static> {
        Operation {
            key: self.key.map(|key| Cow::Owned(key.into_owned())),
            input: Cow::Owned(self.input.into_owned()),
            output: self.output.map(|out| Cow::Owned(out.into_owned())),
            ..self
        }
    }

    /// Whether the operation may take effect at any time after its call, or never.
    pub fn is_pending(&self) -> bool {
        self.ret.is_none()
    }
}

impl fmt::Display for Operation<'_> {
    /// `p3 write 4 -> ok`, `p1 read -> 3`, `p2 cas [1 2] -> ?` (unknown outcome).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{} {}", self.process, self.f.name())?;
        if let Some(key) = &self.key {
            write!(f, " {key}")?;
        }
        if *self.input != Value::Nil {
            write!(f, " {}", self.input)?;
        }
        match &self.output {
            None => f.write_str(" -> ?"),
            Some(out) if *out == self.input && *self.input != Value::Nil => f.write_str(" -> ok"),
            Some(out) => write!(f, " -> {out}"),
        }
    }
}

impl History {
    /// A history of in-memory events (dsim's own client history), with no source lines.
    pub fn from_events(source: impl Into<String>, events: Vec<Event>) -> History {
        let positions = vec![Position::default(); events.len()];
        History {
            source: source.into(),
            events,
            positions,
            skipped: 0,
        }
    }

    /// Pairs invocations with completions, borrowing their keys and values. `fail`ed calls are
    /// dropped (they did not happen); `info` and never-completed calls stay open forever.
    pub fn operations(&self) -> Result<Vec<Operation<'_>>, HistoryError> {
        let mut ops: Vec<Operation<'_>> = Vec::new();
        let mut failed: Vec<bool> = Vec::new();
        // Open call per process: index into `ops`. Only looked up, never iterated, so nothing
        // depends on hashing order.
        let mut open = rustc_hash::FxHashMap::<u64, usize>::default();
        ops.reserve(self.events.len() / 2 + 1);
        failed.reserve(self.events.len() / 2 + 1);
        for (index, event) in self.events.iter().enumerate() {
            let at = self.positions.get(index).copied().unwrap_or_default();
            let (line, column) = (at.line, at.column);
            if event.kind == EventKind::Invoke {
                if let Some(&prev) = open.get(&event.process) {
                    return Err(HistoryError::DoubleInvoke {
                        source_name: self.source.clone(),
                        line,
                        column,
                        process: event.process,
                        open_line: ops[prev].line,
                    });
                }
                open.insert(event.process, ops.len());
                ops.push(Operation {
                    id: ops.len(),
                    process: event.process,
                    f: event.f,
                    key: event.key.as_ref().map(Cow::Borrowed),
                    input: Cow::Borrowed(&event.value),
                    output: None,
                    call: index,
                    ret: None,
                    call_time: event.time,
                    ret_time: None,
                    line,
                    column,
                });
                failed.push(false);
                continue;
            }
            let Some(slot) = open.remove(&event.process) else {
                return Err(HistoryError::NoInvoke {
                    source_name: self.source.clone(),
                    line,
                    column,
                    process: event.process,
                });
            };
            let op = &mut ops[slot];
            // A completion may leave the key out; if it names one, it must be the call's.
            if op.f != event.f || (event.key.is_some() && op.key.as_deref() != event.key.as_ref()) {
                return Err(HistoryError::Mismatch {
                    source_name: self.source.clone(),
                    line,
                    column,
                    process: event.process,
                    expected: call_text(op.f, op.key.as_deref()),
                    found: call_text(event.f, event.key.as_ref()),
                });
            }
            match event.kind {
                EventKind::Ok => {
                    op.output = Some(Cow::Borrowed(&event.value));
                    op.ret = Some(index);
                    op.ret_time = Some(event.time);
                }
                EventKind::Fail => failed[slot] = true,
                EventKind::Info | EventKind::Invoke => {}
            }
        }
        if failed.contains(&true) {
            let mut failed = failed.into_iter();
            ops.retain(|_| !failed.next().unwrap_or(false));
        }
        Ok(ops)
    }
}

/// A call as error messages name it: `get on key "1"`, or `read` without a key.
pub(crate) fn call_text(f: OpFn, key: Option<&Value>) -> String {
    match key {
        Some(key) => format!("{} on key {key}", f.name()),
        None => f.name().to_owned(),
    }
}

/// Owned operations from `(process, kind, f, value)` events, in order, with keyless calls and
/// the event's index as its time: the shared fixture of the search's unit tests.
#[cfg(test)]
pub(crate) fn test_operations(events: &[(u64, EventKind, OpFn, Value)]) -> Vec<Operation<'static>> {
    let events = events
        .iter()
        .enumerate()
        .map(|(time, (process, kind, f, value))| Event {
            process: *process,
            kind: *kind,
            f: *f,
            key: None,
            value: value.clone(),
            time: time as u64,
        })
        .collect();
    History::from_events("test", events)
        .operations()
        .expect("test events pair up")
        .into_iter()
        .map(Operation::into_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use rustc_hash::FxBuildHasher;

    use super::Value;

    fn text(s: &str) -> Value {
        Value::Str(s.to_owned())
    }

    /// The hand-written equality is the derived one: short and long strings, every variant,
    /// nested lists; and equal values hash alike.
    #[test]
    fn equality_is_by_variant_and_contents() {
        let long = "x".repeat(40);
        let equal = [
            (text("0"), text("0")),
            (text(""), text("")),
            (text(&long), text(&long)),
            (Value::Nil, Value::Nil),
            (Value::Int(3), Value::Int(3)),
            (Value::Bool(true), Value::Bool(true)),
            (
                Value::List(vec![text("a"), Value::Int(1)]),
                Value::List(vec![text("a"), Value::Int(1)]),
            ),
        ];
        for (a, b) in &equal {
            assert_eq!(a, b);
            assert_eq!(FxBuildHasher.hash_one(a), FxBuildHasher.hash_one(b));
        }
        let different = [
            (text("0"), text("1")),
            (text("ab"), text("abc")),
            (text(&long), text(&format!("{}y", &long[1..]))),
            (text("1"), Value::Int(1)),
            (Value::Nil, text("")),
            (Value::Bool(false), Value::Int(0)),
            (Value::List(vec![]), Value::Nil),
            (Value::List(vec![text("a")]), Value::List(vec![text("b")])),
        ];
        for (a, b) in &different {
            assert_ne!(a, b);
            assert_ne!(b, a);
        }
    }
}
