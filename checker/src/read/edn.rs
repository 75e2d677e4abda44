//! Jepsen EDN histories as Knossos writes them: a vector `[...]`, a list `(...)` or a bare
//! stream of op maps such as `{:process 7, :type :invoke, :f :cas, :value [2 3]}`, with `;`
//! comments and optional `:time` / `:index`.
//!
//! A small reader for the EDN a history holds, one op map at a time: the text is read line by
//! line, and only the lines of the op map being read are held. It is written so that no input
//! can hurt it:
//! - every error names the line and column of the token at fault and what was expected there;
//! - nesting deeper than [`EDN_DEPTH_MAX`] levels is an error at the bracket (tag, `#_`) that
//!   goes too deep, before anything deeper is read, so the reader's recursion and the values
//!   it builds are bounded by that;
//! - time is linear in the size of the text however it is split into lines: columns are
//!   counted as reading goes on, never again from the start of a line.
//!
//! Ops whose `:process` is not an integer (Jepsen's `:nemesis`) are not client operations and
//! are skipped. As in Knossos, a read that completed `:ok` with `nil` returned an unknown value
//! and constrains nothing. Fields the checker does not use (`:index`, `:error`, ...) may hold
//! any EDN (maps, sets, tagged values, floats): they are checked for their structure only.

use std::io::BufRead;

use super::EDN_DEPTH_MAX;
use super::lines::Lines;
use crate::error::ReadError;
use crate::history::{Event, EventKind, OpFn, Position, Value};

/// Reads the op maps of an EDN history one form at a time.
pub(crate) struct Forms {
    text: Text,
    /// The source's name, for errors.
    file: String,
    /// Whether the opening `[`/`(` (or its absence) has been seen.
    started: bool,
    /// The closing delimiter of a `[`/`(` wrapper, and where the wrapper opens.
    close: Option<(u8, Position)>,
    finished: bool,
}

/// What [`Forms::next`] found.
pub(crate) enum Form {
    /// An op, with where it starts.
    Event(Event, Position),
    /// A map that is not a client's op (nemesis).
    Skipped,
    /// The end of the history.
    End,
}

impl Forms {
    /// Op maps of the source named `file`.
    pub(crate) fn new(file: &str) -> Forms {
        Forms {
            text: Text::default(),
            file: file.to_owned(),
            started: false,
            close: None,
            finished: false,
        }
    }

    /// The next form of `lines`, turned into an event; `index` stands in for `:time`.
    pub(crate) fn next<R: BufRead>(
        &mut self,
        lines: &mut Lines<R>,
        index: u64,
    ) -> Result<Form, ReadError> {
        if self.finished {
            return Ok(Form::End);
        }
        let mut reader = Reader {
            text: &mut self.text,
            more: lines,
            file: &self.file,
        };
        if !self.started {
            self.started = true;
            if let Some(open @ (b'[' | b'(')) = reader.skip_between()? {
                let at = reader.position(reader.text.mark());
                self.close = Some((if open == b'[' { b']' } else { b')' }, at));
                reader.text.pos += 1;
            }
        }
        let next = reader.skip_between()?;
        let close = self.close.map(|(close, _)| close);
        match next {
            None => {
                self.finished = true;
                match self.close {
                    Some((close, open)) => Err(reader.error_here(
                        format!(
                            "`{}` closing the history that opens at {open}",
                            close as char
                        ),
                        "the end of the file",
                    )),
                    None => Ok(Form::End),
                }
            }
            Some(b) if Some(b) == close => {
                self.finished = true;
                reader.text.pos += 1;
                match reader.skip_between()? {
                    Some(_) => {
                        let found = reader.excerpt_here();
                        Err(reader.error_here("the end of the file after the history", found))
                    }
                    None => Ok(Form::End),
                }
            }
            Some(_) => {
                reader.text.compact();
                let start = reader.text.mark();
                let event = reader.op_map(index)?;
                Ok(match event {
                    Some(event) => Form::Event(event, reader.position(start)),
                    None => Form::Skipped,
                })
            }
        }
    }
}

/// Parses one line of Porcupine's kv histories (one op map per line) as line `line_no`:
/// `None` for a blank line, else the op (`None` for one that is not a client's) and the
/// column it starts at. `text` is reused from line to line.
pub(crate) fn parse_kv_line(
    text: &mut Text,
    line: &str,
    line_no: usize,
    file: &str,
    index: u64,
) -> Result<Option<(Option<Event>, usize)>, ReadError> {
    text.reset(line, line_no);
    let mut reader = Reader {
        text,
        more: &mut EndOfLine,
        file,
    };
    if reader.skip_blank()?.is_none() {
        return Ok(None);
    }
    let start = reader.text.mark();
    let event = reader.op_map(index)?;
    if reader.skip_blank()?.is_some() {
        let found = reader.excerpt_here();
        return Err(reader.error_here("one op map per line", found));
    }
    let (_, column) = reader.text.line_column(start);
    Ok(Some((event, column)))
}

/// Text being read: whole lines joined by `\n`, and where reading is in it.
#[derive(Default)]
pub(crate) struct Text {
    buf: String,
    /// Where reading goes on.
    pos: usize,
    /// Line number of `pos` (1-based).
    line: usize,
    /// Where `pos`'s line starts in `buf`.
    line_start: usize,
    /// A column counted before: byte `column_pos` of the line that starts at
    /// `column_line_start` is in column `column`. Columns of later positions on that line are
    /// counted on from there, so counting stays linear on a long line.
    column_line_start: usize,
    column_pos: usize,
    column: usize,
    /// The line read last, kept for its allocation.
    scratch: String,
}

/// A place in [`Text`], for errors and positions.
#[derive(Clone, Copy, Debug)]
struct Mark {
    pos: usize,
    line: usize,
    line_start: usize,
}

impl Text {
    /// Starts over with `line` alone, as line `number`.
    fn reset(&mut self, line: &str, number: usize) {
        self.buf.clear();
        self.buf.push_str(line);
        self.pos = 0;
        self.line = number;
        self.line_start = 0;
        self.column_line_start = usize::MAX;
    }

    fn mark(&self) -> Mark {
        Mark {
            pos: self.pos,
            line: self.line,
            line_start: self.line_start,
        }
    }

    /// The line and (1-based, in characters) column of `mark`.
    fn line_column(&mut self, mark: Mark) -> (usize, usize) {
        let (from, column) =
            if mark.line_start == self.column_line_start && mark.pos >= self.column_pos {
                (self.column_pos, self.column)
            } else {
                (mark.line_start, 1)
            };
        let column = column + char_count(&self.buf.as_bytes()[from..mark.pos]);
        (self.column_line_start, self.column_pos, self.column) =
            (mark.line_start, mark.pos, column);
        (mark.line, column)
    }

    /// Drops the lines before the current one (between forms, when nothing before `pos` is
    /// needed any more). Each line is dropped once, so this stays linear.
    fn compact(&mut self) {
        let dropped = self.line_start;
        if dropped == 0 {
            return;
        }
        self.buf.drain(..dropped);
        self.pos -= dropped;
        self.line_start = 0;
        if self.column_line_start == dropped {
            self.column_line_start = 0;
            self.column_pos -= dropped;
        } else {
            self.column_line_start = usize::MAX;
        }
    }

    /// Reads the next line of `more` into the text; `false` at the end of the source. With
    /// `keep`, the line is appended (the form being read goes on); otherwise the text starts
    /// over with it (everything before has been read).
    fn refill(&mut self, more: &mut impl More, keep: bool) -> Result<bool, ReadError> {
        let mut line = std::mem::take(&mut self.scratch);
        let number = more.next_line(&mut line)?;
        if let Some(number) = number {
            if keep && !self.buf.is_empty() {
                self.buf.push('\n');
                self.buf.push_str(&line);
            } else {
                self.reset(&line, number);
            }
        }
        self.scratch = line;
        Ok(number.is_some())
    }

    /// Skips whitespace, commas and `;` comments; the byte after them, `None` at the end of
    /// the source. `keep`: see [`Text::refill`].
    fn skip_blank(&mut self, more: &mut impl More, keep: bool) -> Result<Option<u8>, ReadError> {
        loop {
            let bytes = self.buf.as_bytes();
            while let Some(&b) = bytes.get(self.pos) {
                match b {
                    b' ' | b'\t' | b'\r' | b',' | 0x0b | 0x0c => self.pos += 1,
                    b'\n' => {
                        // `newline`, spelled out: `bytes` borrows the buffer.
                        self.pos += 1;
                        self.line += 1;
                        self.line_start = self.pos;
                    }
                    b';' => {
                        self.pos += bytes[self.pos..]
                            .iter()
                            .position(|&c| c == b'\n')
                            .unwrap_or(bytes.len() - self.pos);
                    }
                    _ => return Ok(Some(b)),
                }
            }
            if !self.refill(more, keep)? {
                return Ok(None);
            }
        }
    }

    /// Steps over the `\n` at `pos`.
    fn newline(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.pos;
    }

    /// Where the token (symbol, keyword, number) that starts at `from` ends: tokens end at a
    /// delimiter or at the end of their line.
    fn token_end(&self, from: usize) -> usize {
        let bytes = self.buf.as_bytes();
        from + bytes[from.min(bytes.len())..]
            .iter()
            .position(|&b| is_delimiter(b))
            .unwrap_or(bytes.len().saturating_sub(from))
    }
}

/// Where more lines come from: the file for a Jepsen history, nowhere for a kv line.
pub(crate) trait More {
    /// Reads the next line into `line` (cleared first) and gives its number; `None` at the
    /// end.
    fn next_line(&mut self, line: &mut String) -> Result<Option<usize>, ReadError>;
    /// What the end of the source is called in errors.
    const END: &'static str;
}

impl<R: BufRead> More for Lines<R> {
    fn next_line(&mut self, line: &mut String) -> Result<Option<usize>, ReadError> {
        Ok(self.next_into(line)?.then(|| self.number()))
    }
    const END: &'static str = "the end of the file";
}

/// A source of one line: a kv line ends its op map.
struct EndOfLine;

impl More for EndOfLine {
    fn next_line(&mut self, _line: &mut String) -> Result<Option<usize>, ReadError> {
        Ok(None)
    }
    const END: &'static str = "the end of the line";
}

/// A value read from the text, or what it was instead when it is not one [`Value`] holds.
struct Parsed {
    value: Result<Value, Odd>,
    /// Whether the value was a keyword (`:ok`, not `"ok"`).
    keyword: bool,
    start: Mark,
    end: usize,
}

/// A form that is not a [`Value`] (a map, a set, a float, ...): what it is and where.
struct Odd {
    what: &'static str,
    start: Mark,
    end: usize,
}

/// The fields of an op map the checker reads.
const FIELDS: [&str; 6] = ["process", "type", "f", "value", "key", "time"];

/// What a `:value` may be.
const VALUE_EXPECTED: &str = "a :value of nil, an integer, a string, a keyword or a vector";

/// A parse of `text`, reading more lines from `more` when a form goes on past the text.
struct Reader<'a, M> {
    text: &'a mut Text,
    more: &'a mut M,
    file: &'a str,
}

impl<M: More> Reader<'_, M> {
    /// Reads one op map (at `pos`) into an event; `None` for an op that is not a client's.
    /// `index` stands in for `:time` when the map has none.
    fn op_map(&mut self, index: u64) -> Result<Option<Event>, ReadError> {
        let start = self.text.mark();
        let bytes = self.text.buf.as_bytes();
        if bytes.get(self.text.pos) != Some(&b'{') {
            let found = self.excerpt_here();
            return Err(self.error(
                start,
                "an op map `{:process .., :type .., :f .., :value ..}`",
                found,
            ));
        }
        self.text.pos += 1;
        let mut fields: [Option<Parsed>; 6] = Default::default();
        loop {
            let Some(b) = self.skip_discards(2)? else {
                return Err(self.unclosed(b'}', "op map", start));
            };
            if b == b'}' {
                self.text.pos += 1;
                break;
            }
            if is_closer(b) {
                return Err(self.mismatched(b'}', "op map", start));
            }
            let key = self.text.mark();
            let slot = if b == b':' {
                let end = self.text.token_end(key.pos);
                let name = &self.text.buf[key.pos + 1..end];
                self.text.pos = end;
                FIELDS.iter().position(|field| *field == name)
            } else {
                self.skip_form(2)?;
                None
            };
            let key_end = self.text.pos;
            match self.skip_discards(2)? {
                None => return Err(self.unclosed(b'}', "op map", start)),
                Some(b) if is_closer(b) => {
                    let key_text = self.snippet(key.pos, key_end);
                    let found = self.excerpt_here();
                    return Err(self.error_here(format!("a value for the key {key_text}"), found));
                }
                Some(_) => {}
            }
            match slot {
                Some(slot) if fields[slot].is_some() => {
                    let found = format!("a second {}", self.snippet(key.pos, key_end));
                    return Err(self.error(key, "each key once in an op map", found));
                }
                Some(slot) => fields[slot] = Some(self.value(2)?),
                None => self.skip_form(2)?,
            }
        }
        self.event(start, fields, index)
    }

    /// The event of an op map's fields (in [`FIELDS`] order); errors point at the field at
    /// fault, or at the map (`start`) for a missing one.
    fn event(
        &mut self,
        start: Mark,
        fields: [Option<Parsed>; 6],
        index: u64,
    ) -> Result<Option<Event>, ReadError> {
        let [process, kind, f, value, key, time] = fields;
        let process = match process {
            Some(Parsed {
                value: Ok(Value::Int(p)),
                ..
            }) if p >= 0 => p as u64,
            Some(
                ref field @ Parsed {
                    value: Ok(Value::Int(_)),
                    ..
                },
            ) => {
                return Err(self.field_error(field, "a process number >= 0 in :process"));
            }
            Some(_) => return Ok(None),
            None => return Err(self.error(start, "a :process entry in the op map", "none")),
        };
        const TYPES: &str = ":type to be one of :invoke, :ok, :fail, :info";
        let kind = match kind {
            Some(field) => match (&field.value, field.keyword) {
                (Ok(Value::Str(name)), true) => match name.as_str() {
                    "invoke" => EventKind::Invoke,
                    "ok" => EventKind::Ok,
                    "fail" => EventKind::Fail,
                    "info" => EventKind::Info,
                    _ => return Err(self.field_error(&field, TYPES)),
                },
                _ => return Err(self.field_error(&field, TYPES)),
            },
            None => return Err(self.error(start, "a :type entry in the op map", "none")),
        };
        let f = match f {
            Some(field) => match (&field.value, field.keyword) {
                (Ok(Value::Str(name)), true) => match OpFn::from_name(name) {
                    Some(f) => f,
                    None => return Err(self.field_error(&field, &expected_fns())),
                },
                _ => return Err(self.field_error(&field, &expected_fns())),
            },
            None => return Err(self.error(start, "an :f entry in the op map", "none")),
        };
        let value = match value {
            Some(field) => self.value_of(field, VALUE_EXPECTED)?,
            None => Value::Nil,
        };
        let key = match key {
            Some(field) => {
                Some(self.value_of(field, "a :key of an integer, a string or a keyword")?)
            }
            None => None,
        };
        let time = match time {
            Some(Parsed {
                value: Ok(Value::Int(t)),
                ..
            }) if t >= 0 => t as u64,
            Some(field) => {
                return Err(self.field_error(&field, "a :time in nanoseconds (an integer >= 0)"));
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

    /// The value of a field, or an error at the part of it that is not a [`Value`].
    fn value_of(&mut self, field: Parsed, expected: &str) -> Result<Value, ReadError> {
        field.value.map_err(|odd| {
            let found = format!("{} {}", odd.what, self.snippet(odd.start.pos, odd.end));
            self.error(odd.start, expected, found)
        })
    }

    /// An error at a field's value, showing it.
    fn field_error(&mut self, field: &Parsed, expected: &str) -> ReadError {
        let found = match &field.value {
            Ok(_) => self.snippet(field.start.pos, field.end),
            Err(odd) => format!("{} {}", odd.what, self.snippet(odd.start.pos, odd.end)),
        };
        self.error(field.start, expected, found)
    }

    /// Reads the form at `pos` (not blank, not a closing delimiter) at nesting `depth` as a
    /// value; a form that is not one is skipped and described.
    fn value(&mut self, depth: usize) -> Result<Parsed, ReadError> {
        let start = self.text.mark();
        let bytes = self.text.buf.as_bytes();
        let b = bytes[start.pos];
        let mut keyword = false;
        let value = match b {
            b'[' | b'(' => {
                self.check_depth(depth, start)?;
                self.text.pos += 1;
                self.sequence(closer_of(b), depth, start)?
            }
            b'"' => Ok(Value::Str(self.string(start, true)?)),
            b'{' | b'#' | b'\\' => {
                let what = match (b, bytes.get(start.pos + 1)) {
                    (b'{', _) => "a map",
                    (b'\\', _) => "a character",
                    (_, Some(b'{')) => "a set",
                    (_, Some(b'#')) => "a symbolic value",
                    _ => "a tagged value",
                };
                self.skip_form(depth)?;
                Err(Odd {
                    what,
                    start,
                    end: self.text.pos,
                })
            }
            _ => {
                let end = self.text.token_end(start.pos);
                if end == start.pos {
                    let found = self.excerpt_here();
                    return Err(self.error(start, "a value", found));
                }
                self.text.pos = end;
                keyword = b == b':';
                self.atom(start, end)?
            }
        };
        Ok(Parsed {
            value,
            keyword,
            start,
            end: self.text.pos,
        })
    }

    /// The items of a vector or list whose opening delimiter (at `open`) has been read, up to
    /// `close`.
    fn sequence(
        &mut self,
        close: u8,
        depth: usize,
        open: Mark,
    ) -> Result<Result<Value, Odd>, ReadError> {
        let mut items = Vec::new();
        let mut odd = None;
        loop {
            match self.skip_discards(depth + 1)? {
                None => return Err(self.unclosed(close, kind_of(close), open)),
                Some(b) if b == close => {
                    self.text.pos += 1;
                    break;
                }
                Some(b) if is_closer(b) => {
                    return Err(self.mismatched(close, kind_of(close), open));
                }
                Some(_) => match self.value(depth + 1)?.value {
                    Ok(item) => items.push(item),
                    Err(found) => {
                        odd.get_or_insert(found);
                    }
                },
            }
        }
        Ok(match odd {
            Some(odd) => Err(odd),
            None => Ok(Value::List(items)),
        })
    }

    /// A symbol, keyword, number, `nil`, `true` or `false` (the token `start..end`).
    fn atom(&mut self, start: Mark, end: usize) -> Result<Result<Value, Odd>, ReadError> {
        let token = &self.text.buf[start.pos..end];
        let odd = |what| Err(Odd { what, start, end });
        let bytes = token.as_bytes();
        let numeric = bytes[0].is_ascii_digit()
            || (matches!(bytes[0], b'+' | b'-') && bytes.get(1).is_some_and(u8::is_ascii_digit));
        Ok(match token {
            "nil" => Ok(Value::Nil),
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ if bytes[0] == b':' => {
                if token.len() == 1 {
                    return Err(self.error(start, "a keyword's name after `:`", "`:`"));
                }
                Ok(Value::Str(token[1..].to_owned()))
            }
            _ if numeric => {
                // `N` marks an integer of any size; Jepsen's fit in 64 bits.
                let digits = token.strip_suffix('N').unwrap_or(token);
                if let Ok(i) = digits.parse::<i64>() {
                    Ok(Value::Int(i))
                } else if digits[1..].bytes().all(|b| b.is_ascii_digit()) {
                    odd("an integer outside the 64-bit range")
                } else if token.contains('/') {
                    odd("a ratio")
                } else if token
                    .strip_suffix('M')
                    .unwrap_or(token)
                    .parse::<f64>()
                    .is_ok()
                {
                    odd("a floating-point number")
                } else {
                    let found = self.snippet(start.pos, end);
                    return Err(self.error(start, "a number", found));
                }
            }
            _ => Ok(Value::Str(token.to_owned())),
        })
    }

    /// Reads the string whose opening quote is at `start`; with `keep`, its contents.
    fn string(&mut self, start: Mark, keep: bool) -> Result<String, ReadError> {
        self.text.pos += 1;
        let mut out = String::new();
        loop {
            let bytes = self.text.buf.as_bytes();
            let from = self.text.pos;
            let special = bytes[from..]
                .iter()
                .position(|&b| matches!(b, b'"' | b'\\' | b'\n'));
            let Some(special) = special else {
                if keep {
                    out.push_str(&self.text.buf[from..]);
                }
                self.text.pos = bytes.len();
                if !self.text.refill(self.more, true)? {
                    return Err(self.unclosed(b'"', "string", start));
                }
                continue;
            };
            let at = from + special;
            if keep {
                out.push_str(&self.text.buf[from..at]);
            }
            self.text.pos = at;
            match bytes[at] {
                b'"' => {
                    self.text.pos += 1;
                    return Ok(out);
                }
                b'\n' => {
                    out.push('\n');
                    self.text.newline();
                }
                _ => out.push(self.escape()?),
            }
        }
    }

    /// The character of the escape (`\n`, `\"`, `\u00e9`, ...) at `pos`.
    fn escape(&mut self) -> Result<char, ReadError> {
        const EXPECTED: &str = "an escape: \\\" \\\\ \\n \\t \\r \\b \\f or \\u and 4 hex digits";
        let at = self.text.mark();
        let rest = &self.text.buf[at.pos + 1..];
        let (c, len) = match rest.chars().next() {
            Some('"') => ('"', 1),
            Some('\\') => ('\\', 1),
            Some('/') => ('/', 1),
            Some('n') => ('\n', 1),
            Some('t') => ('\t', 1),
            Some('r') => ('\r', 1),
            Some('b') => ('\u{8}', 1),
            Some('f') => ('\u{c}', 1),
            Some('u') => {
                let hex = rest
                    .get(1..5)
                    .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
                match hex
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
                {
                    Some(c) => (c, 5),
                    None => {
                        let end = super::floor_char_boundary(&self.text.buf, at.pos + 6);
                        let found = self.snippet(at.pos, end);
                        return Err(self.error(at, EXPECTED, found));
                    }
                }
            }
            Some('\n') | None => {
                return Err(self.error(at, EXPECTED, "`\\` at the end of the line"));
            }
            Some(other) => {
                let found = format!("`\\{other}`");
                return Err(self.error(at, EXPECTED, found));
            }
        };
        self.text.pos += 1 + len;
        Ok(c)
    }

    /// Skips the form at `pos` at nesting `depth`, checking its structure only.
    fn skip_form(&mut self, depth: usize) -> Result<(), ReadError> {
        let Some(b) = self.skip_discards(depth)? else {
            return Err(self.error_here("a value", M::END));
        };
        let start = self.text.mark();
        let next = self.text.buf.as_bytes().get(start.pos + 1).copied();
        match b {
            b'(' | b'[' | b'{' => {
                self.check_depth(depth, start)?;
                self.text.pos += 1;
                self.skip_items(closer_of(b), depth, start)
            }
            b'#' => match next {
                Some(b'{') => {
                    self.check_depth(depth, start)?;
                    self.text.pos += 2;
                    self.skip_items(b'}', depth, start)
                }
                Some(b'#') => {
                    self.text.pos = self.text.token_end(start.pos + 2);
                    Ok(())
                }
                Some(c) if !is_delimiter(c) => {
                    // A tag (`#inst "..."`): the form it tags is one level down.
                    self.check_depth(depth, start)?;
                    self.text.pos = self.text.token_end(start.pos + 1);
                    self.skip_form(depth + 1)
                }
                _ => {
                    let found = self.excerpt_here();
                    Err(self.error(start, "a tag, `#{` or `#_` after `#`", found))
                }
            },
            b'"' => self.string(start, false).map(drop),
            b'\\' => {
                let Some(c) = self.text.buf[start.pos + 1..].chars().next() else {
                    return Err(self.error(start, "a character after `\\`", M::END));
                };
                self.text.pos = self.text.token_end(start.pos + 1 + c.len_utf8());
                Ok(())
            }
            _ if is_closer(b) => {
                let found = self.excerpt_here();
                Err(self.error(start, "a value", found))
            }
            _ => {
                self.text.pos = self.text.token_end(start.pos);
                Ok(())
            }
        }
    }

    /// Skips the forms of a collection whose opening delimiter (at `open`) has been read, up to
    /// `close`.
    fn skip_items(&mut self, close: u8, depth: usize, open: Mark) -> Result<(), ReadError> {
        loop {
            match self.skip_discards(depth + 1)? {
                None => return Err(self.unclosed(close, kind_of(close), open)),
                Some(b) if b == close => {
                    self.text.pos += 1;
                    return Ok(());
                }
                Some(b) if is_closer(b) => {
                    return Err(self.mismatched(close, kind_of(close), open));
                }
                Some(_) => self.skip_form(depth + 1)?,
            }
        }
    }

    /// Skips blanks and `#_` discarded forms (at nesting `depth`) within a form.
    fn skip_discards(&mut self, depth: usize) -> Result<Option<u8>, ReadError> {
        loop {
            let next = self.skip_blank()?;
            let bytes = self.text.buf.as_bytes();
            if next != Some(b'#') || bytes.get(self.text.pos + 1) != Some(&b'_') {
                return Ok(next);
            }
            // A discard is a form at `depth`; the form it discards is one level down.
            let start = self.text.mark();
            self.check_depth(depth, start)?;
            self.text.pos += 2;
            self.skip_form(depth + 1)?;
        }
    }

    /// Skips blanks within a form.
    fn skip_blank(&mut self) -> Result<Option<u8>, ReadError> {
        self.text.skip_blank(self.more, true)
    }

    /// Skips blanks and `#_` discarded forms between forms, dropping what has been read.
    fn skip_between(&mut self) -> Result<Option<u8>, ReadError> {
        loop {
            let next = self.text.skip_blank(self.more, false)?;
            if next != Some(b'#') || self.text.buf.as_bytes().get(self.text.pos + 1) != Some(&b'_')
            {
                return Ok(next);
            }
            self.text.pos += 2;
            self.skip_form(1)?;
        }
    }

    /// An error if a form that opens at `start` would be nested `depth` levels deep.
    fn check_depth(&mut self, depth: usize, start: Mark) -> Result<(), ReadError> {
        if depth <= EDN_DEPTH_MAX {
            return Ok(());
        }
        let found = format!("a form opening level {depth}");
        Err(self.error(
            start,
            format!(
                "forms nested at most {EDN_DEPTH_MAX} levels deep (each `[`, `(`, `{{`, `#{{`, tag and `#_` is one level)"
            ),
            found,
        ))
    }

    /// The end of the source where a collection (or string) that opens at `open` is not
    /// closed yet.
    fn unclosed(&mut self, close: u8, what: &str, open: Mark) -> ReadError {
        let (line, column) = self.text.line_column(open);
        self.error_here(
            format!(
                "`{}` closing the {what} that opens at {line}:{column}",
                close as char
            ),
            M::END,
        )
    }

    /// A closing delimiter at `pos` that does not close the collection that opens at `open`.
    fn mismatched(&mut self, close: u8, what: &str, open: Mark) -> ReadError {
        let (line, column) = self.text.line_column(open);
        let found = self.excerpt_here();
        self.error_here(
            format!(
                "a value or `{}` closing the {what} that opens at {line}:{column}",
                close as char
            ),
            found,
        )
    }

    fn position(&mut self, mark: Mark) -> Position {
        let (line, column) = self.text.line_column(mark);
        Position::new(line, column)
    }

    fn error(
        &mut self,
        at: Mark,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> ReadError {
        let (line, column) = self.text.line_column(at);
        ReadError::Syntax {
            file: self.file.to_owned(),
            line,
            column,
            expected: expected.into(),
            found: found.into(),
        }
    }

    fn error_here(&mut self, expected: impl Into<String>, found: impl Into<String>) -> ReadError {
        let here = self.text.mark();
        self.error(here, expected, found)
    }

    /// The text `from..to`, shortened, for "found ...".
    fn snippet(&self, from: usize, to: usize) -> String {
        super::shorten(&self.text.buf[from..to])
    }

    /// What is at `pos`, for "found ...": a token or the start of the rest of the line.
    fn excerpt_here(&self) -> String {
        let pos = self.text.pos;
        let bytes = self.text.buf.as_bytes();
        match bytes.get(pos) {
            None => M::END.to_owned(),
            Some(&b) if is_delimiter(b) && b != b'"' => super::shorten(&self.text.buf[pos..=pos]),
            Some(_) => {
                let end = match self.text.token_end(pos) {
                    end if end > pos => end,
                    _ => bytes[pos..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(bytes.len(), |i| pos + i),
                };
                let end = super::floor_char_boundary(&self.text.buf, end);
                super::shorten(&self.text.buf[pos..end])
            }
        }
    }
}

/// Bytes that end a token.
fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t'
            | b'\n'
            | b'\r'
            | b','
            | 0x0b
            | 0x0c
            | b'"'
            | b';'
            | b'('
            | b')'
            | b'['
            | b']'
            | b'{'
            | b'}'
    )
}

fn is_closer(b: u8) -> bool {
    matches!(b, b')' | b']' | b'}')
}

fn closer_of(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    }
}

/// The collection a closing delimiter closes, for errors.
fn kind_of(close: u8) -> &'static str {
    match close {
        b')' => "list",
        b']' => "vector",
        b'"' => "string",
        _ => "map",
    }
}

/// Characters in UTF-8 `bytes` (which start and end on character boundaries).
fn char_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b & 0xc0) != 0x80).count()
}

fn expected_fns() -> String {
    let names: Vec<String> = OpFn::ALL.iter().map(|f| format!(":{}", f.name())).collect();
    format!(":f to be one of {}", names.join(", "))
}
