//! Errors for people: every one names the source, the line (and column where it helps), and
//! what would have been right.

use thiserror::Error;

use crate::history::located;

/// A history file could not be read.
#[derive(Debug, Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid UTF-8 text.
    #[error("{file}:{line}:{column}: expected UTF-8 text, found an invalid byte")]
    NotText {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// The text does not follow the format.
    #[error("{file}:{line}:{column}: expected {expected}, found {found}")]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// What the format allows here.
        expected: String,
        /// What was there instead.
        found: String,
    },
    /// Automatic detection could not tell which format the file is in.
    #[error(
        "{file}:{line}:{column}: cannot tell the history format from {first_line:?}; \
         expected JSON Lines (a `{{\"process\": ...}}` object per line), Jepsen EDN (`[` or \
         `(` then `{{:process ...}}` maps), an etcd log (`INFO  jepsen.util - ...` lines) or \
         Porcupine kv EDN (a `{{:process ...}}` map per line); name it with --format"
    )]
    UnknownFormat {
        /// The file.
        file: String,
        /// 1-based line of the first line that is neither blank nor a comment.
        line: usize,
        /// 1-based column of its first character that is not blank.
        column: usize,
        /// That line (shortened).
        first_line: String,
    },
}

/// Events do not pair into operations.
#[derive(Debug, Error)]
pub enum HistoryError {
    /// A process invoked while its previous call was still open.
    #[error(
        "{}: process {process} invokes while its call from line {open_line} \
         is still open; expected a completion (ok, fail or info) first",
        located(source_name, *line, *column)
    )]
    DoubleInvoke {
        /// The history's source.
        source_name: String,
        /// Line of the second invocation.
        line: u32,
        /// Column of the second invocation.
        column: u32,
        /// The process.
        process: u64,
        /// Line of the open call.
        open_line: u32,
    },
    /// A completion with no open call for its process.
    #[error(
        "{}: process {process} completes a call it never invoked; \
         expected an invoke first",
        located(source_name, *line, *column)
    )]
    NoInvoke {
        /// The history's source.
        source_name: String,
        /// Line of the completion.
        line: u32,
        /// Column of the completion.
        column: u32,
        /// The process.
        process: u64,
    },
    /// A completion that does not match its invocation.
    #[error(
        "{}: process {process} completes {found}, expected {expected}",
        located(source_name, *line, *column)
    )]
    Mismatch {
        /// The history's source.
        source_name: String,
        /// Line of the completion.
        line: u32,
        /// Column of the completion.
        column: u32,
        /// The process.
        process: u64,
        /// The open call.
        expected: String,
        /// The completion.
        found: String,
    },
}

/// A history cannot be checked against the chosen model.
#[derive(Debug, Error)]
pub enum CheckError {
    /// The history could not be read (when it is read as it is checked).
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Events do not pair into operations.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// An operation the model does not accept.
    #[error("{}: {op}: {message}", located(source_name, *line, *column))]
    Model {
        /// The history's source.
        source_name: String,
        /// Line of the invocation.
        line: u32,
        /// Column of the invocation.
        column: u32,
        /// The operation, as text.
        op: String,
        /// What the model expected.
        message: String,
    },
    /// An unknown model name.
    #[error("unknown model {name:?}; expected one of: {expected}")]
    UnknownModel {
        /// The name given.
        name: String,
        /// The models there are.
        expected: String,
    },
}
