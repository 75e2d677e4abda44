//! Jepsen EDN histories as Knossos writes them: a vector `[...]`, a list `(...)` or a bare
//! stream of op maps such as `{:process 7, :type :invoke, :f :cas, :value [2 3]}`, with `;`
//! comments and optional `:time` / `:index`.
//!
//! The EDN syntax itself is parsed by the `clojure-reader` crate, one op map at a time, so every
//! error can name the line and column where its map starts. Ops whose `:process` is not an
//! integer (Jepsen's `:nemesis`) are not client operations and are skipped. As in Knossos, a
//! read that completed `:ok` with `nil` returned an unknown value and constrains nothing.

use std::borrow::Cow;
use std::collections::BTreeMap;

use clojure_reader::edn::{self, Edn};
use clojure_reader::error::{Code, Error as EdnError};

use crate::error::ReadError;
use crate::history::{Event, EventKind, History, OpFn, Value};

/// Reads an EDN history; `source` names the file in errors.
pub(crate) fn read(text: &str, source: &str) -> Result<History, ReadError> {
    let mut history = History::default();
    let mut tracker = LineTracker::default();
    let mut pos = skip_blank(text, 0);
    let close = match text.as_bytes().get(pos) {
        Some(b'[') => Some(']'),
        Some(b'(') => Some(')'),
        _ => None,
    };
    if close.is_some() {
        pos = skip_blank(text, pos + 1);
    }
    loop {
        let Some(&next) = text.as_bytes().get(pos) else {
            if let Some(close) = close {
                return Err(syntax(
                    text,
                    source,
                    pos,
                    format!("`{close}` closing the history"),
                    "the end of the file",
                ));
            }
            break;
        };
        if close.is_some_and(|close| next == close as u8) {
            let end = skip_blank(text, pos + 1);
            if end < text.len() {
                return Err(syntax(
                    text,
                    source,
                    end,
                    "the end of the file after the history".into(),
                    &text[end..],
                ));
            }
            break;
        }
        let (form, rest) =
            edn::read(&text[pos..]).map_err(|err| edn_error(text, source, pos, &err))?;
        let (line, column) = tracker.advance(text, pos);
        let at = Location {
            file: source,
            line,
            column,
        };
        let index = history.events.len() as u64;
        match event_of_map(&form, &at, index)? {
            Some(event) => {
                history.events.push(event);
                history.lines.push(u32::try_from(line).unwrap_or(u32::MAX));
            }
            None => history.skipped += 1,
        }
        pos = skip_blank(text, text.len() - rest.len());
    }
    Ok(history)
}

/// Line and column of increasing byte offsets, counted incrementally so that reading stays
/// linear in the file's size.
#[derive(Default)]
struct LineTracker {
    pos: usize,
    line: usize,
    column: usize,
}

impl LineTracker {
    fn advance(&mut self, text: &str, pos: usize) -> (usize, usize) {
        if self.line == 0 {
            (self.line, self.column) = (1, 1);
        }
        for c in text[self.pos..pos].chars() {
            if c == '\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        self.pos = pos;
        (self.line, self.column)
    }
}

/// Where an op map starts, for errors about its contents.
pub(crate) struct Location<'a> {
    pub(crate) file: &'a str,
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl Location<'_> {
    fn error(&self, expected: impl Into<String>, found: impl Into<String>) -> ReadError {
        ReadError::Syntax {
            file: self.file.to_owned(),
            line: self.line,
            column: self.column,
            expected: expected.into(),
            found: found.into(),
        }
    }
}

/// Turns one op map into an event; `None` for an op that is not a client's (nemesis).
/// `index` stands in for `:time` when the map has none.
pub(crate) fn event_of_map(
    form: &Edn<'_>,
    at: &Location<'_>,
    index: u64,
) -> Result<Option<Event>, ReadError> {
    let Edn::Map(map) = form else {
        return Err(at.error(
            "an op map `{:process .., :type .., :f .., :value ..}`",
            describe(form),
        ));
    };
    let process = match field(map, "process") {
        Some(Edn::Int(p)) if *p >= 0 => *p as u64,
        Some(Edn::Int(p)) => {
            return Err(at.error("a process number >= 0 in :process", p.to_string()));
        }
        Some(_) => return Ok(None),
        None => return Err(at.error("a :process entry in the op map", "none")),
    };
    let kind = match field(map, "type") {
        Some(Edn::Key(k)) => match k.as_ref() {
            "invoke" => EventKind::Invoke,
            "ok" => EventKind::Ok,
            "fail" => EventKind::Fail,
            "info" => EventKind::Info,
            other => {
                return Err(at.error(
                    ":type to be one of :invoke, :ok, :fail, :info",
                    format!(":{other}"),
                ));
            }
        },
        Some(other) => {
            return Err(at.error(
                ":type to be one of :invoke, :ok, :fail, :info",
                describe(other),
            ));
        }
        None => return Err(at.error("a :type entry in the op map", "none")),
    };
    let f = match field(map, "f") {
        Some(Edn::Key(k)) => {
            OpFn::from_name(k).ok_or_else(|| at.error(expected_fns(), format!(":{k}")))?
        }
        Some(other) => return Err(at.error(expected_fns(), describe(other))),
        None => return Err(at.error("an :f entry in the op map", "none")),
    };
    let value = match field(map, "value") {
        Some(v) => value_of(v).map_err(|found| {
            at.error(
                "a :value of nil, an integer, a string, a keyword or a vector",
                found,
            )
        })?,
        None => Value::Nil,
    };
    let key = match field(map, "key") {
        Some(v) => Some(
            value_of(v)
                .map_err(|found| at.error("a :key of an integer, a string or a keyword", found))?,
        ),
        None => None,
    };
    let time = match field(map, "time") {
        Some(Edn::Int(t)) if *t >= 0 => *t as u64,
        Some(other) => {
            return Err(at.error("a :time in nanoseconds (an integer >= 0)", describe(other)));
        }
        None => index,
    };
    // Knossos' convention: a read that completed with nil returned an unknown value, which
    // constrains nothing, the same as a read that did not happen.
    let kind = if kind == EventKind::Ok && f == OpFn::Read && value == Value::Nil {
        EventKind::Fail
    } else {
        kind
    };
    Ok(Some(Event {
        process,
        kind,
        f,
        key,
        value,
        time,
    }))
}

fn field<'m, 'e>(map: &'m BTreeMap<Edn<'e>, Edn<'e>>, name: &'static str) -> Option<&'m Edn<'e>> {
    map.get(&Edn::Key(Cow::Borrowed(name)))
}

fn expected_fns() -> String {
    let names: Vec<String> = OpFn::ALL.iter().map(|f| format!(":{}", f.name())).collect();
    format!(":f to be one of {}", names.join(", "))
}

/// Converts an EDN value; keywords and symbols become strings. Errs with what was found.
fn value_of(form: &Edn<'_>) -> Result<Value, String> {
    Ok(match form {
        Edn::Nil => Value::Nil,
        Edn::Bool(b) => Value::Bool(*b),
        Edn::Int(i) => Value::Int(*i),
        Edn::Str(s) | Edn::Key(s) | Edn::Symbol(s) => Value::Str(s.to_string()),
        Edn::Vector(items) | Edn::List(items) => {
            Value::List(items.iter().map(value_of).collect::<Result<_, _>>()?)
        }
        other => return Err(describe(other)),
    })
}

/// A short description of a form for "found ..." in messages.
fn describe(form: &Edn<'_>) -> String {
    let text = form.to_string();
    super::shorten(&text)
}

/// Skips whitespace, commas and `;` comments from `pos`.
fn skip_blank(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    while let Some(&b) = bytes.get(pos) {
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => pos += 1,
            b';' => {
                pos = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
            }
            _ => break,
        }
    }
    pos
}

fn syntax(text: &str, source: &str, pos: usize, expected: String, found: &str) -> ReadError {
    let (line, column) = super::position(text, pos);
    ReadError::Syntax {
        file: source.to_owned(),
        line,
        column,
        expected,
        found: if found.starts_with("the end") {
            found.to_owned()
        } else {
            super::shorten(found)
        },
    }
}

/// Translates the EDN parser's error, whose position is relative to `base`, into the file's.
pub(crate) fn edn_error(text: &str, source: &str, base: usize, err: &EdnError) -> ReadError {
    let (base_line, base_column) = super::position(text, base);
    let (line, column) = match (err.line, err.column) {
        (Some(1), Some(column)) => (base_line, base_column + column - 1),
        (Some(line), Some(column)) => (base_line + line - 1, column),
        _ => (base_line, base_column),
    };
    let (expected, found) = match &err.code {
        Code::UnexpectedEOF => (
            "the rest of the EDN form".to_owned(),
            "the end of the file".to_owned(),
        ),
        Code::UnmatchedDelimiter(c) => (
            "a value or the matching closing delimiter".to_owned(),
            format!("`{c}`"),
        ),
        Code::NoFloatFeature => (
            "an integer".to_owned(),
            "a floating-point number".to_owned(),
        ),
        Code::HashMapDuplicateKey => (
            "each key once in a map".to_owned(),
            "a duplicate key".to_owned(),
        ),
        other => (
            format!("valid EDN ({other:?})"),
            "something else".to_owned(),
        ),
    };
    ReadError::Syntax {
        file: source.to_owned(),
        line,
        column,
        expected,
        found,
    }
}
