//! The Jepsen etcd console logs used by Porcupine:
//! `INFO  jepsen.util - <process> <type> <f> <value>`, fields separated by tabs or runs of
//! spaces, in time order (the line order is the order).
//!
//! Their semantics differ from Knossos' in two places, and this reader translates them so the
//! published verdicts come out: `:fail :cas` is a cas that *returned false* (it happened, and
//! the register did not hold `from`), read as `ok` with the value `false`; `:fail :read
//! :timed-out` is a read with an unknown result, which constrains nothing, read as `fail`.

use crate::error::ReadError;
use crate::history::{Event, EventKind, OpFn, Value};

/// Parses one line as line `number`; `None` for a blank line. `index` is the event's time.
pub(crate) fn parse_line(
    line: &str,
    number: usize,
    source: &str,
    index: u64,
) -> Result<Option<Event>, ReadError> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let at = Line {
        file: source,
        number,
        text: line,
    };
    at.event(index).map(Some)
}

/// One line being read, for errors that point into it.
struct Line<'a> {
    file: &'a str,
    number: usize,
    text: &'a str,
}

impl Line<'_> {
    fn event(&self, time: u64) -> Result<Event, ReadError> {
        let fields = self.fields();
        let prefix = ["INFO", "jepsen.util", "-"];
        for (i, want) in prefix.iter().enumerate() {
            match fields.get(i) {
                Some(&(_, got)) if got == *want => {}
                Some(&(at, got)) => return Err(self.error(at, &format!("`{want}`"), got)),
                None => return Err(self.error(self.text.len(), &format!("`{want}`"), "")),
            }
        }
        let field = |i: usize, expected: &str| -> Result<(usize, &str), ReadError> {
            fields
                .get(i)
                .copied()
                .ok_or_else(|| self.error(self.text.len(), expected, ""))
        };
        let (at, process) = field(3, "a process number")?;
        let process: u64 = process
            .parse()
            .map_err(|_| self.error(at, "a process number", process))?;
        let (at, kind) = field(4, "a type (:invoke, :ok, :fail or :info)")?;
        let kind = match kind {
            ":invoke" => EventKind::Invoke,
            ":ok" => EventKind::Ok,
            ":fail" => EventKind::Fail,
            ":info" => EventKind::Info,
            other => return Err(self.error(at, "a type (:invoke, :ok, :fail or :info)", other)),
        };
        let (at, f) = field(5, "a function (:read, :write or :cas)")?;
        let f = match f {
            ":read" => OpFn::Read,
            ":write" => OpFn::Write,
            ":cas" => OpFn::Cas,
            other => return Err(self.error(at, "a function (:read, :write or :cas)", other)),
        };
        let (at, _) = field(6, "a value (nil, an integer, [from to] or :timed-out)")?;
        let value = self.value(at)?;
        let (kind, value) = match (kind, f) {
            (EventKind::Fail, OpFn::Cas) => (EventKind::Ok, Value::Bool(false)),
            (kind, _) => (kind, value),
        };
        Ok(Event {
            process,
            kind,
            f,
            key: None,
            value,
            time,
        })
    }

    /// Parses the value that starts at byte `at` and runs to the end of the line.
    fn value(&self, at: usize) -> Result<Value, ReadError> {
        const EXPECTED: &str = "a value (nil, an integer, [from to] or :timed-out)";
        let text = self.text[at..].trim_end();
        let int = |s: &str, at: usize| -> Result<Value, ReadError> {
            s.parse::<i64>()
                .map(Value::Int)
                .map_err(|_| self.error(at, "an integer", s))
        };
        if text == "nil" {
            return Ok(Value::Nil);
        }
        if let Some(keyword) = text.strip_prefix(':') {
            return Ok(Value::Str(keyword.to_owned()));
        }
        if let Some(inner) = text.strip_prefix('[') {
            let Some(inner) = inner.strip_suffix(']') else {
                return Err(self.error(at + text.len(), "`]` closing [from to]", ""));
            };
            let parts: Vec<(usize, &str)> = split_fields(inner)
                .into_iter()
                .map(|(i, s)| (at + 1 + i, s))
                .collect();
            if parts.len() != 2 {
                return Err(self.error(at, "[from to] with two integers", text));
            }
            return Ok(Value::List(vec![
                int(parts[0].1, parts[0].0)?,
                int(parts[1].1, parts[1].0)?,
            ]));
        }
        if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            return int(text, at);
        }
        Err(self.error(at, EXPECTED, text))
    }

    fn fields(&self) -> Vec<(usize, &str)> {
        split_fields(self.text)
    }

    fn error(&self, byte: usize, expected: &str, found: &str) -> ReadError {
        let byte = super::floor_char_boundary(self.text, byte);
        ReadError::Syntax {
            file: self.file.to_owned(),
            line: self.number,
            column: self.text[..byte].chars().count() + 1,
            expected: expected.to_owned(),
            found: super::shorten(found),
        }
    }
}

/// Whitespace-separated fields with their byte offsets (tabs and runs of spaces alike).
fn split_fields(text: &str) -> Vec<(usize, &str)> {
    let mut fields = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                fields.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        fields.push((s, &text[s..]));
    }
    fields
}
