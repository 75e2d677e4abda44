//! Jepsen EDN histories as Knossos writes them: a vector `[...]`, a list `(...)` or a bare
//! stream of op maps such as `{:process 7, :type :invoke, :f :cas, :value [2 3]}`, with `;`
//! comments and optional `:time` / `:index`.
//!
//! The EDN syntax itself is parsed by the `clojure-reader` crate, one op map at a time, so every
//! error can name the line and column where its map starts; the text is read line by line and
//! only the lines of the form being read are held. Ops whose `:process` is not an
//! integer (Jepsen's `:nemesis`) are not client operations and are skipped. As in Knossos, a
//! read that completed `:ok` with `nil` returned an unknown value and constrains nothing.

use std::borrow::Cow;
use std::collections::BTreeMap;

use clojure_reader::edn::{self, Edn};
use clojure_reader::error::{Code, Error as EdnError};

use std::io::BufRead;

use super::lines::Lines;
use crate::error::ReadError;
use crate::history::{Event, EventKind, OpFn, Value};

/// Reads the op maps of an EDN history one form at a time, holding the text of the current
/// form (whole lines of it) and no more.
#[derive(Default)]
pub(crate) struct Forms {
    /// Whole lines from `buf_line` on, joined by `\n` (none after the last).
    buf: String,
    /// Line number of `buf`'s first line.
    buf_line: usize,
    /// Where reading goes on in `buf`.
    pos: usize,
    /// Line and column of `pos`, counted incrementally.
    tracker: LineTracker,
    /// How far the current form has been scanned for its end.
    scan: Scan,
    /// Whether the opening `[`/`(` (or its absence) has been seen.
    started: bool,
    /// The closing delimiter of a `[`/`(` wrapper.
    close: Option<u8>,
    finished: bool,
}

/// Progress of the search for the end of a form that may span lines.
#[derive(Default)]
struct Scan {
    /// Where the form starts.
    start: usize,
    at: usize,
    depth: usize,
    string: bool,
}

/// What [`Forms::next`] found.
pub(crate) enum Form {
    /// An op, with the line it starts on.
    Event(Event, usize),
    /// A map that is not a client's op (nemesis).
    Skipped,
    /// The end of the history.
    End,
}

impl Forms {
    /// The next form of `lines`, turned into an event; `index` stands in for `:time`.
    pub(crate) fn next<R: BufRead>(
        &mut self,
        lines: &mut Lines<R>,
        index: u64,
    ) -> Result<Form, ReadError> {
        if self.finished {
            return Ok(Form::End);
        }
        if !self.started {
            self.skip_blank(lines)?;
            self.close = match self.buf.as_bytes().get(self.pos) {
                Some(b'[') => Some(b']'),
                Some(b'(') => Some(b')'),
                _ => None,
            };
            if self.close.is_some() {
                self.pos += 1;
            }
            self.started = true;
        }
        self.skip_blank(lines)?;
        let Some(&next) = self.buf.as_bytes().get(self.pos) else {
            self.finished = true;
            if let Some(close) = self.close {
                return Err(self.syntax(
                    lines.file(),
                    format!("`{}` closing the history", close as char),
                    "the end of the file",
                ));
            }
            return Ok(Form::End);
        };
        if self.close == Some(next) {
            self.pos += 1;
            self.skip_blank(lines)?;
            self.finished = true;
            if self.pos < self.buf.len() {
                let found = self.buf[self.pos..].to_owned();
                return Err(self.syntax(
                    lines.file(),
                    "the end of the file after the history".into(),
                    &found,
                ));
            }
            return Ok(Form::End);
        }
        self.buffer_form(lines)?;
        let (line, column) = self.tracker.advance(&self.buf, self.pos);
        let base = (self.buf_line + line - 1, column);
        let (found, rest_len) = {
            let (form, rest) = edn::read(&self.buf[self.pos..])
                .map_err(|err| edn_error(lines.file(), base, &err))?;
            let at = Location {
                file: lines.file(),
                line: base.0,
                column: base.1,
            };
            let found = match event_of_map(&form, &at, index)? {
                Some(event) => Form::Event(event, base.0),
                None => Form::Skipped,
            };
            (found, rest.len())
        };
        self.pos = self.buf.len() - rest_len;
        self.compact();
        Ok(found)
    }

    /// Appends the next line to the buffer; `false` at the end of the source.
    fn refill<R: BufRead>(&mut self, lines: &mut Lines<R>) -> Result<bool, ReadError> {
        let mut line = String::new();
        if !lines.next_into(&mut line)? {
            return Ok(false);
        }
        if self.buf.is_empty() {
            self.buf_line = lines.number();
            self.pos = 0;
            self.tracker = LineTracker::default();
        } else {
            self.buf.push('\n');
        }
        self.buf.push_str(&line);
        Ok(true)
    }

    /// Drops the whole lines before `pos`, so the buffer holds the current line on.
    fn compact(&mut self) {
        let Some(newline) = self.buf[..self.pos].rfind('\n') else {
            return;
        };
        let dropped = newline + 1;
        self.buf_line += self.buf[..dropped].matches('\n').count();
        self.buf.drain(..dropped);
        self.pos -= dropped;
        self.tracker = LineTracker::default();
        self.scan = Scan::default();
    }

    /// Skips whitespace, commas and `;` comments from `pos`, reading lines as needed.
    fn skip_blank<R: BufRead>(&mut self, lines: &mut Lines<R>) -> Result<(), ReadError> {
        loop {
            self.pos = skip_blank(&self.buf, self.pos);
            if self.pos < self.buf.len() {
                return Ok(());
            }
            self.compact_all();
            if !self.refill(lines)? {
                return Ok(());
            }
        }
    }

    /// Empties a buffer that has been read to its end (keeping the line count).
    fn compact_all(&mut self) {
        if self.pos < self.buf.len() || self.buf.is_empty() {
            return;
        }
        self.compact();
    }

    /// Reads lines until the form at `pos` is complete (or the source ends: the parser then
    /// says what is missing). Strings may hold brackets; `;` starts a comment.
    fn buffer_form<R: BufRead>(&mut self, lines: &mut Lines<R>) -> Result<(), ReadError> {
        if self.scan.start != self.pos || self.scan.at < self.pos {
            self.scan = Scan {
                start: self.pos,
                at: self.pos,
                ..Scan::default()
            };
        }
        loop {
            if self.scan_form() {
                return Ok(());
            }
            if !self.refill(lines)? {
                return Ok(());
            }
        }
    }

    /// Scans on from `scan.at`; `true` once the form is complete.
    fn scan_form(&mut self) -> bool {
        let bytes = self.buf.as_bytes();
        let scan = &mut self.scan;
        while let Some(&b) = bytes.get(scan.at) {
            if scan.string {
                match b {
                    b'\\' => scan.at += 1,
                    b'"' => scan.string = false,
                    _ => {}
                }
                scan.at += 1;
                continue;
            }
            match b {
                b'"' => scan.string = true,
                b'\\' => scan.at += 1,
                b';' => match bytes[scan.at..].iter().position(|&c| c == b'\n') {
                    Some(end) => scan.at += end,
                    // The comment may end on a line not read yet.
                    None => return false,
                },
                b'(' | b'[' | b'{' => scan.depth += 1,
                b')' | b']' | b'}' => {
                    scan.depth = scan.depth.saturating_sub(1);
                    if scan.depth == 0 {
                        return true;
                    }
                }
                b' ' | b'\t' | b'\n' | b'\r' | b',' if scan.depth == 0 && scan.at > self.pos => {
                    return true;
                }
                _ => {}
            }
            scan.at += 1;
        }
        false
    }

    fn syntax(&mut self, file: &str, expected: String, found: &str) -> ReadError {
        let (line, column) = self
            .tracker
            .advance(&self.buf, self.pos.min(self.buf.len()));
        ReadError::Syntax {
            file: file.to_owned(),
            line: self.buf_line.max(1) + line - 1,
            column,
            expected,
            found: if found.starts_with("the end") {
                found.to_owned()
            } else {
                super::shorten(found)
            },
        }
    }
}

/// Line and column of increasing byte offsets, counted incrementally so that reading stays
/// linear in the size of the text.
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

/// Translates the EDN parser's error, whose position is relative to where the form starts
/// (`base`: line and column in the file), into the file's.
pub(crate) fn edn_error(source: &str, base: (usize, usize), err: &EdnError) -> ReadError {
    let (base_line, base_column) = base;
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
