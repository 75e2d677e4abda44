//! Why a history is not linearizable: the operation that cannot be placed, the longest
//! linearizable prefix the search found, and the model states just before it.

use std::fmt;

use serde::Serialize;

use crate::history::{Operation, Value};

/// The explanation of one partition that is not linearizable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The partition's key (`None`: the whole history, or the operations without a key).
    pub key: Option<Value>,
    /// The completed operation that cannot be placed after the longest prefix.
    pub op: OpRef,
    /// The longest linearizable prefix found, in linearization order (for a partition of more
    /// than [`crate::search::SEGMENT_OPS`] calls, its part from the last segment searched).
    pub prefix: Vec<OpRef>,
    /// Model states the search reached with that prefix placed (a few of them).
    pub states_before: Vec<String>,
}

/// An operation as an explanation shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OpRef {
    /// The operation's id (index in call order).
    pub id: usize,
    /// Its process.
    pub process: u64,
    /// Source line of its invocation (0 when unknown).
    pub line: u32,
    /// Whether its outcome is unknown (`info` or never completed).
    pub pending: bool,
    /// The operation as text, e.g. `p3 write 4 -> ok`.
    pub text: String,
}

impl OpRef {
    /// The reference to `op`.
    pub fn of(op: &Operation<'_>) -> OpRef {
        OpRef {
            id: op.id,
            process: op.process,
            line: op.line,
            pending: op.is_pending(),
            text: op.to_string(),
        }
    }
}

impl fmt::Display for OpRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.text)?;
        if self.line > 0 {
            write!(f, " (line {})", self.line)?;
        }
        Ok(())
    }
}

/// How many prefix operations the text form shows (the last ones; JSON has them all).
const PREFIX_SHOWN_MAX: usize = 10;

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(key) = &self.key {
            writeln!(f, "key {key} is not linearizable.")?;
        }
        writeln!(f, "cannot linearize {}", self.op)?;
        writeln!(
            f,
            "  model states just before it: {}",
            self.states_before.join(" | ")
        )?;
        let skipped = self.prefix.len().saturating_sub(PREFIX_SHOWN_MAX);
        write!(
            f,
            "  after the longest linearizable prefix found ({} ops",
            self.prefix.len()
        )?;
        if skipped > 0 {
            write!(f, ", last {PREFIX_SHOWN_MAX} shown")?;
        }
        f.write_str("):")?;
        for op in &self.prefix[skipped..] {
            write!(f, "\n    {op}")?;
        }
        Ok(())
    }
}
