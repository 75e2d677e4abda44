//! History readers: dsim's JSON Lines, Jepsen EDN, the etcd console logs and the Porcupine kv
//! lines, with automatic format detection.
//!
//! Every reader turns text into [`crate::history::Event`]s — one at a time ([`EventStream`],
//! line by line, or form by form for EDN, so a long file is never held whole) or gathered into
//! a [`History`] — or a [`ReadError`] that names the file, the line, the column and what was
//! expected there. Readers never panic on bad input.

mod edn;
mod etcd;
mod jsonl;
mod kv;
mod lines;

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::str::FromStr;

use lines::Lines;

use crate::error::ReadError;
use crate::history::{Event, History};

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

/// An event and the source line it starts on (1-based; 0 when unknown).
pub type SourcedEvent = (Event, u32);

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
    KvEdn,
}

impl<R: BufRead> EventStream<R> {
    /// Events of `reader` in `format`; for [`Format::Auto`] the format is told from the first
    /// line that is neither blank nor a comment. `source` names the reader in errors.
    pub fn new(reader: R, source: &str, format: Format) -> Result<EventStream<R>, ReadError> {
        let mut lines = Lines::new(reader, source);
        let format = match format {
            Format::Auto => detect_line(lines.first_meaningful()?.as_deref(), source)?,
            format => format,
        };
        let parser = match format {
            Format::Jsonl => Parser::Jsonl { time_prev: 0 },
            Format::Edn | Format::Auto => Parser::Edn(Box::default()),
            Format::EtcdLog => Parser::EtcdLog,
            Format::KvEdn => Parser::KvEdn,
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
                    edn::Form::Event(event, line) => return Ok(Some((event, line_u32(line)))),
                    edn::Form::Skipped => self.skipped += 1,
                    edn::Form::End => return Ok(None),
                }
            }
        }
        while self.lines.next_into(&mut self.line)? {
            let (line, number, source) = (&self.line, self.lines.number(), self.lines.file());
            let event = match &mut self.parser {
                Parser::Jsonl { time_prev } => jsonl::parse_line(line, number, source, time_prev)?,
                Parser::EtcdLog => etcd::parse_line(line, number, source, index)?,
                Parser::KvEdn => match kv::parse_line(line, number, source, index)? {
                    Some(None) => {
                        self.skipped += 1;
                        None
                    }
                    Some(event) => event,
                    None => None,
                },
                Parser::Edn(_) => None,
            };
            if let Some(event) = event {
                return Ok(Some((event, line_u32(number))));
            }
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
        let (event, line) = item?;
        history.events.push(event);
        history.lines.push(line);
    }
    history.skipped = stream.skipped();
    Ok(history)
}

fn line_u32(line: usize) -> u32 {
    u32::try_from(line).unwrap_or(u32::MAX)
}

/// Tells the format from the first line that is neither blank nor an EDN comment.
pub fn detect(text: &str, source: &str) -> Result<Format, ReadError> {
    let first = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with(';'));
    detect_line(first, source)
}

/// The format whose first meaningful line (trimmed) is `first`.
fn detect_line(first: Option<&str>, source: &str) -> Result<Format, ReadError> {
    let Some(first) = first else {
        // An empty file is an empty history in any format.
        return Ok(Format::Jsonl);
    };
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

/// Shortens what was found for an error message.
pub(crate) fn shorten(found: &str) -> String {
    const SHOWN_CHARS_MAX: usize = 40;
    let found = found.trim();
    if found.is_empty() {
        return "the end of the line".to_owned();
    }
    if found.chars().count() > SHOWN_CHARS_MAX {
        let head: String = found.chars().take(SHOWN_CHARS_MAX).collect();
        format!("`{head}...`")
    } else {
        format!("`{found}`")
    }
}
