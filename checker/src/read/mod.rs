//! History readers: dsim's JSON Lines, Jepsen EDN, the etcd console logs and the Porcupine kv
//! lines, with automatic format detection.
//!
//! Every reader turns text into [`crate::history::Event`]s — one at a time ([`EventStream`],
//! line by line, or form by form for EDN, so a long file is never held whole) or gathered into
//! a [`History`] — or a [`ReadError`] that names the file, the line, the column and what was
//! expected there. Readers never panic on bad input, take time linear in its size (however it
//! is split into lines), and never recurse deeper than a fixed bound: EDN forms may nest
//! [`EDN_DEPTH_MAX`] levels deep, JSON Lines 127 (serde_json's limit of 128 open brackets, the
//! event object's among them); deeper is an error at the bracket that goes too deep. A UTF-8
//! byte-order mark at the start of a file is skipped.

mod edn;
mod etcd;
mod jsonl;
mod lines;

/// How deep EDN forms may nest: each `[`, `(`, `{`, `#{`, tag and `#_` is one level, and the
/// op map itself is the first. Jepsen's histories nest 4 levels at most (a transaction's
/// micro-operations); the bound keeps the reader's recursion, and the values it builds, small
/// whatever the input. JSON Lines have serde_json's like bound.
pub const EDN_DEPTH_MAX: usize = 128;

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::str::FromStr;

use lines::Lines;

use crate::error::ReadError;
use crate::history::{Event, History, Position};

/// A history file format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// Tell the format from the first line.
    #[default]
    Auto,
    /// dsim's JSON Lines: one event object per line.
    Jsonl,
    /// Jepsen EDN as Knossos writes it: a vector, a list or a bare stream of op maps.
    Edn,
    /// The Jepsen etcd console logs used by Porcupine (`INFO  jepsen.util - 3 :ok :read 1`).
    EtcdLog,
    /// Porcupine's kv histories: one EDN op map per line.
    KvEdn,
}

impl Format {
    /// Every format with its command-line name.
    pub const NAMES: [(&'static str, Format); 5] = [
        ("auto", Format::Auto),
        ("jsonl", Format::Jsonl),
        ("edn", Format::Edn),
        ("etcd-log", Format::EtcdLog),
        ("kv-edn", Format::KvEdn),
    ];
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Format::NAMES
            .iter()
            .find(|(_, format)| format == self)
            .map(|(name, _)| *name);
        f.write_str(name.unwrap_or("auto"))
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        Format::NAMES
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, format)| *format)
            .ok_or_else(|| {
                let names: Vec<&str> = Format::NAMES.iter().map(|(name, _)| *name).collect();
                format!(
                    "unknown format {s:?}; expected one of: {}",
                    names.join(", ")
                )
            })
    }
}

/// Reads a whole history file in the given format (or the detected one for
/// [`Format::Auto`]). To check a long file without holding it, use [`open`].
pub fn read_file(path: &Path, format: Format) -> Result<History, ReadError> {
    collect(open(path, format)?)
}

/// Reads a history from text; `source` names it in errors.
pub fn read_str(text: &str, source: &str, format: Format) -> Result<History, ReadError> {
    collect(EventStream::new(text.as_bytes(), source, format)?)
}

/// The events of a history file, read as they are asked for: memory holds one line (one form
/// for EDN), not the file.
pub fn open(path: &Path, format: Format) -> Result<EventStream<BufReader<File>>, ReadError> {
    let file = File::open(path).map_err(|source| ReadError::Io {
        file: path.display().to_string(),
        source,
    })?;
    EventStream::new(BufReader::new(file), &path.display().to_string(), format)
}

/// An event and where it starts in its source.
pub type SourcedEvent = (Event, Position);

/// The events of a history, read one at a time from any [`BufRead`] (see [`open`]). Yields
/// `Err` at the first bad line and nothing after it.
pub struct EventStream<R> {
    lines: Lines<R>,
    parser: Parser,
    line: String,
    /// Events yielded so far: the time of an event whose format has none.
    yielded: u64,
    skipped: usize,
    failed: bool,
}

/// The reading state of each format.
enum Parser {
    Jsonl { time_prev: u64 },
    Edn(Box<edn::Forms>),
    EtcdLog,
    KvEdn(Box<edn::Text>),
}

impl<R: BufRead> EventStream<R> {
    /// Events of `reader` in `format`; for [`Format::Auto`] the format is told from the first
    /// line that is neither blank nor a comment. `source` names the reader in errors.
    pub fn new(reader: R, source: &str, format: Format) -> Result<EventStream<R>, ReadError> {
        let mut lines = Lines::new(reader, source);
        let format = match format {
            Format::Auto => detect_line(lines.first_meaningful()?, source)?,
            format => format,
        };
        let parser = match format {
            Format::Jsonl => Parser::Jsonl { time_prev: 0 },
            Format::Edn | Format::Auto => Parser::Edn(Box::new(edn::Forms::new(source))),
            Format::EtcdLog => Parser::EtcdLog,
            Format::KvEdn => Parser::KvEdn(Box::default()),
        };
        Ok(EventStream {
            lines,
            parser,
            line: String::new(),
            yielded: 0,
            skipped: 0,
            failed: false,
        })
    }

    /// The source's name.
    pub fn source(&self) -> &str {
        self.lines.file()
    }

    /// Ops skipped so far because they are not a client's (Jepsen's nemesis).
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The next event, `None` at the end.
    fn read_next(&mut self) -> Result<Option<SourcedEvent>, ReadError> {
        let index = self.yielded;
        if let Parser::Edn(forms) = &mut self.parser {
            loop {
                match forms.next(&mut self.lines, index)? {
                    edn::Form::Event(event, at) => return Ok(Some((event, at))),
                    edn::Form::Skipped => self.skipped += 1,
                    edn::Form::End => return Ok(None),
                }
            }
        }
        while self.lines.next_into(&mut self.line)? {
            let (line, number, source) = (&self.line, self.lines.number(), self.lines.file());
            let (event, column) = match &mut self.parser {
                Parser::Jsonl { time_prev } => {
                    match jsonl::parse_line(line, number, source, time_prev)? {
                        Some(event) => (event, first_column(line)),
                        None => continue,
                    }
                }
                Parser::EtcdLog => match etcd::parse_line(line, number, source, index)? {
                    Some(event) => (event, first_column(line)),
                    None => continue,
                },
                Parser::KvEdn(text) => {
                    match edn::parse_kv_line(text, line, number, source, index)? {
                        Some((Some(event), column)) => (event, column),
                        Some((None, _)) => {
                            self.skipped += 1;
                            continue;
                        }
                        None => continue,
                    }
                }
                Parser::Edn(_) => continue,
            };
            return Ok(Some((event, Position::new(number, column))));
        }
        Ok(None)
    }
}

impl<R: BufRead> Iterator for EventStream<R> {
    type Item = Result<SourcedEvent, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.read_next() {
            Ok(Some(event)) => {
                self.yielded += 1;
                Some(Ok(event))
            }
            Ok(None) => None,
            Err(err) => {
                self.failed = true;
                Some(Err(err))
            }
        }
    }
}

/// Gathers a stream into a [`History`].
fn collect<R: BufRead>(mut stream: EventStream<R>) -> Result<History, ReadError> {
    let mut history = History {
        source: stream.source().to_owned(),
        ..History::default()
    };
    for item in &mut stream {
        let (event, at) = item?;
        history.events.push(event);
        history.positions.push(at);
    }
    history.skipped = stream.skipped();
    Ok(history)
}

/// The column of a line's first character that is not blank (1 for a blank line).
fn first_column(line: &str) -> usize {
    if line.as_bytes().first().is_some_and(u8::is_ascii_graphic) {
        return 1;
    }
    let blank = line.len() - line.trim_start().len();
    line[..blank].chars().count() + 1
}

/// Tells the format from the first line that is neither blank nor an EDN comment (after a
/// byte-order mark, if any).
pub fn detect(text: &str, source: &str) -> Result<Format, ReadError> {
    let text = text.strip_prefix(lines::BOM).unwrap_or(text);
    let first = text
        .lines()
        .enumerate()
        .find(|(_, line)| lines::meaningful(line.trim()))
        .map(|(i, line)| lines::Meaningful {
            text: line.trim().to_owned(),
            line: i + 1,
            column: first_column(line),
        });
    detect_line(first, source)
}

/// The format whose first meaningful line is `first`.
fn detect_line(first: Option<lines::Meaningful>, source: &str) -> Result<Format, ReadError> {
    let Some(lines::Meaningful {
        text: first,
        line,
        column,
    }) = first
    else {
        // An empty file is an empty history in any format.
        return Ok(Format::Jsonl);
    };
    let first = first.as_str();
    let after_brace = first.strip_prefix('{').map(str::trim_start);
    let format = match first.as_bytes()[0] {
        b'{' if after_brace.is_some_and(|rest| rest.starts_with('"')) => Format::Jsonl,
        b'{' if after_brace.is_some_and(|rest| rest.starts_with(':') || rest.is_empty()) => {
            Format::Edn
        }
        b'[' | b'(' => Format::Edn,
        _ if first.starts_with("INFO") => Format::EtcdLog,
        _ => {
            return Err(ReadError::UnknownFormat {
                file: source.to_owned(),
                line,
                column,
                first_line: first.chars().take(60).collect(),
            });
        }
    };
    Ok(format)
}

/// The largest char boundary at or below `offset` (clamped to the text).
pub(crate) fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Shortens what was found for an error message (to one line of at most 40 characters).
pub(crate) fn shorten(found: &str) -> String {
    const SHOWN_CHARS_MAX: usize = 40;
    let found = found.trim();
    if found.is_empty() {
        return "the end of the line".to_owned();
    }
    let one_line = |text: &str| -> String {
        text.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    };
    match found.char_indices().nth(SHOWN_CHARS_MAX) {
        Some((cut, _)) => format!("`{}...`", one_line(&found[..cut])),
        None => format!("`{}`", one_line(found)),
    }
}
