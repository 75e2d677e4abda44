//! History readers: dsim's JSON Lines, Jepsen EDN, the etcd console logs and the Porcupine kv
//! lines, with automatic format detection.
//!
//! Every reader turns text into a [`History`] of [`crate::history::Event`]s, or a
//! [`ReadError`] that names the file, the line, the column and what was expected there.
//! Readers never panic on bad input.

mod edn;
mod etcd;
mod jsonl;
mod kv;

use std::fmt;
use std::str::FromStr;

use crate::error::ReadError;
use crate::history::History;

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

/// Reads a history file in the given format (or the detected one for [`Format::Auto`]).
pub fn read_file(path: &std::path::Path, format: Format) -> Result<History, ReadError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ReadError::Io {
        file: file.clone(),
        source,
    })?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text,
        Err(err) => {
            let (line, column) = position(&String::from_utf8_lossy(&bytes), err.valid_up_to());
            return Err(ReadError::NotText { file, line, column });
        }
    };
    read_str(text, &file, format)
}

/// Reads a history from text; `source` names it in errors.
pub fn read_str(text: &str, source: &str, format: Format) -> Result<History, ReadError> {
    let format = match format {
        Format::Auto => detect(text, source)?,
        format => format,
    };
    let mut history = match format {
        Format::Jsonl => jsonl::read(text, source)?,
        Format::Edn | Format::Auto => edn::read(text, source)?,
        Format::EtcdLog => etcd::read(text, source)?,
        Format::KvEdn => kv::read(text, source)?,
    };
    history.source = source.to_owned();
    Ok(history)
}

/// Tells the format from the first line that is neither blank nor an EDN comment.
pub fn detect(text: &str, source: &str) -> Result<Format, ReadError> {
    let first = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with(';'));
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

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn position(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
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
