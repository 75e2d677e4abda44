//! Lines of a history read one at a time from any [`BufRead`], checked to be UTF-8 and
//! numbered, with a look ahead at the first meaningful line for format detection. One line is
//! held at a time (plus the blank and comment lines before the first meaningful one).

use std::collections::VecDeque;
use std::io::BufRead;

use crate::error::ReadError;

/// Numbered lines of a source, without their line ending (`\n` or `\r\n`).
pub(crate) struct Lines<R> {
    reader: R,
    file: String,
    /// Lines read ahead by [`Lines::first_meaningful`], handed out before reading more.
    ahead: VecDeque<String>,
    /// Number of the last line handed out (1-based; 0 before the first).
    number: usize,
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
        if let Some(ahead) = self.ahead.pop_front() {
            self.number += 1;
            line.push_str(&ahead);
            return Ok(true);
        }
        let number = self.number + 1;
        if !self.read_raw(line, number)? {
            return Ok(false);
        }
        self.number = number;
        Ok(true)
    }

    /// The first line that is neither blank nor an EDN `;` comment, trimmed (`None`: there is
    /// none). The lines read to find it are still handed out by [`Lines::next_into`].
    pub(crate) fn first_meaningful(&mut self) -> Result<Option<String>, ReadError> {
        if let Some(found) = self.ahead.iter().map(|l| l.trim()).find(|l| meaningful(l)) {
            return Ok(Some(found.to_owned()));
        }
        loop {
            let mut line = String::new();
            let number = self.number + self.ahead.len() + 1;
            if !self.read_raw(&mut line, number)? {
                return Ok(None);
            }
            let found = meaningful(line.trim()).then(|| line.trim().to_owned());
            self.ahead.push_back(line);
            if found.is_some() {
                return Ok(found);
            }
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

/// Whether a trimmed line says anything (is neither blank nor a `;` comment).
fn meaningful(line: &str) -> bool {
    !line.is_empty() && !line.starts_with(';')
}
