//! Errors for people: every one names the source, the line (and column where it helps), and
//! what would have been right.

use thiserror::Error;

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
        "{file}: cannot tell the history format from the first line {first_line:?}; \
         expected JSON Lines (`{{\"process\": ...}}`), Jepsen EDN (`[{{:process ...}}`), \
         an etcd log (`INFO  jepsen.util - ...`) or Porcupine kv EDN lines; \
         name it with --format"
    )]
    UnknownFormat {
        /// The file.
        file: String,
        /// Its first non-blank line (shortened).
        first_line: String,
    },
}

/// Events do not pair into operations.
#[derive(Debug, Error)]
pub enum HistoryError {
    /// A process invoked while its previous call was still open.
    #[error(
        "{source_name}:{line}: process {process} invokes while its call from line {open_line} \
         is still open; expected a completion (ok, fail or info) first"
    )]
    DoubleInvoke {
        /// The history's source.
        source_name: String,
        /// Line of the second invocation.
        line: u32,
        /// The process.
        process: u64,
        /// Line of the open call.
        open_line: u32,
    },
    /// A completion with no open call for its process.
    #[error(
        "{source_name}:{line}: process {process} completes a call it never invoked; \
         expected an invoke first"
    )]
    NoInvoke {
        /// The history's source.
        source_name: String,
        /// Line of the completion.
        line: u32,
        /// The process.
        process: u64,
    },
    /// A completion that does not match its invocation.
    #[error("{source_name}:{line}: process {process} completes {found}, expected {expected}")]
    Mismatch {
        /// The history's source.
        source_name: String,
        /// Line of the completion.
        line: u32,
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
    #[error("{source_name}:{line}: {op}: {message}")]
    Model {
        /// The history's source.
        source_name: String,
        /// Line of the invocation.
        line: u32,
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
