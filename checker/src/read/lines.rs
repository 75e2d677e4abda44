//! Lines of a history read one at a time from any [`BufRead`], checked to be UTF-8 and
//! numbered, with a look ahead at the first meaningful line for format detection. One line is
//! held at a time (two while detecting: the first comment line, if any, is kept as well).

use std::collections::VecDeque;
use std::io::BufRead;

use crate::error::ReadError;

/// Numbered lines of a source, without their line ending (`\n` or `\r\n`).
pub(crate) struct Lines<R> {
    reader: R,
    file: String,
    /// Lines read ahead by [`Lines::first_meaningful`] with their numbers, handed out before
    /// reading more.
    ahead: VecDeque<(usize, String)>,
    /// Number of the last line handed out (1-based; 0 before the first).
    number: usize,
    /// Lines read from the source so far.
    read: usize,
    bytes: Vec<u8>,
    done: bool,
}

impl<R: BufRead> Lines<R> {
    /// Lines of `reader`; `file` names it in errors.
    pub(crate) fn new(reader: R, file: &str) -> Lines<R> {
        Lines {
            reader,
            file: file.to_owned(),
            ahead: VecDeque::new(),
            number: 0,
            read: 0,
            bytes: Vec::new(),
            done: false,
        }
    }

    /// The source's name, for errors.
    pub(crate) fn file(&self) -> &str {
        &self.file
    }

    /// The number of the line last returned by [`Lines::next_into`].
    pub(crate) fn number(&self) -> usize {
        self.number
    }

    /// Reads the next line into `line` (cleared first); `false` at the end of the source.
    pub(crate) fn next_into(&mut self, line: &mut String) -> Result<bool, ReadError> {
        line.clear();
        if let Some((number, ahead)) = self.ahead.pop_front() {
            self.number = number;
            line.push_str(&ahead);
            return Ok(true);
        }
        let number = self.read + 1;
        if !self.read_raw(line, number)? {
            return Ok(false);
        }
        (self.read, self.number) = (number, number);
        Ok(true)
    }

    /// The first line that is neither blank nor an EDN `;` comment (`None`: there is none).
    /// Call it once, before [`Lines::next_into`]. It and the first comment line before it are
    /// still handed out by [`Lines::next_into`]; the blank lines and other comment lines
    /// before it are not, so that a long run of them costs no memory. (Every format skips
    /// blank lines; the formats without comments stop at the first comment line.)
    pub(crate) fn first_meaningful(&mut self) -> Result<Option<Meaningful>, ReadError> {
        let mut comment_kept = false;
        loop {
            let mut line = String::new();
            let number = self.read + 1;
            if !self.read_raw(&mut line, number)? {
                return Ok(None);
            }
            self.read = number;
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            if !meaningful(text) {
                if !comment_kept {
                    comment_kept = true;
                    self.ahead.push_back((number, line));
                }
                continue;
            }
            let blank = line.len() - line.trim_start().len();
            let found = Meaningful {
                text: text.to_owned(),
                line: number,
                column: line[..blank].chars().count() + 1,
            };
            self.ahead.push_back((number, line));
            return Ok(Some(found));
        }
    }

    /// Reads one line from the source into `line`, as line `number` for errors.
    fn read_raw(&mut self, line: &mut String, number: usize) -> Result<bool, ReadError> {
        if self.done {
            return Ok(false);
        }
        self.bytes.clear();
        let read = self
            .reader
            .read_until(b'\n', &mut self.bytes)
            .map_err(|source| ReadError::Io {
                file: self.file.clone(),
                source,
            })?;
        if read == 0 {
            self.done = true;
            return Ok(false);
        }
        if number == 1 && self.bytes.starts_with(BOM.as_bytes()) {
            // Editors on Windows start UTF-8 files with a byte-order mark: not part of line 1.
            self.bytes.drain(..BOM.len());
        }
        if self.bytes.last() == Some(&b'\n') {
            self.bytes.pop();
            if self.bytes.last() == Some(&b'\r') {
                self.bytes.pop();
            }
        } else {
            self.done = true;
        }
        match std::str::from_utf8(&self.bytes) {
            Ok(text) => {
                line.push_str(text);
                Ok(true)
            }
            Err(err) => {
                let valid = String::from_utf8_lossy(&self.bytes[..err.valid_up_to()]);
                Err(ReadError::NotText {
                    file: self.file.clone(),
                    line: number,
                    column: valid.chars().count() + 1,
                })
            }
        }
    }
}

/// The UTF-8 byte-order mark, skipped at the start of a source.
pub(crate) const BOM: &str = "\u{feff}";

/// The first line of a source that says something, for format detection.
pub(crate) struct Meaningful {
    /// The line, trimmed.
    pub(crate) text: String,
    /// Its number (1-based).
    pub(crate) line: usize,
    /// The column of its first character that is not blank (1-based).
    pub(crate) column: usize,
}

/// Whether a trimmed line says anything (is neither blank nor a `;` comment).
pub(crate) fn meaningful(line: &str) -> bool {
    !line.is_empty() && !line.starts_with(';')
}
