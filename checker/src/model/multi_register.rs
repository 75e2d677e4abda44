//! Knossos' multi-register: named registers read and written by transactions.

use std::collections::BTreeMap;

use super::{Model, expect_fns};
use crate::history::{OpFn, Operation, Value};

/// Registers named by keys (`:x`, `:y`), all starting at `initial`, changed by `txn`
/// operations whose value is a list of micro-ops `[read k v]` / `[write k v]`, applied in
/// order. A read's `v` in the completion is what it returned; `nil` there (Knossos'
/// convention), or a call whose outcome is unknown, matches anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiRegister {
    /// Every register's value before any write.
    pub initial: Value,
}

/// The registers that were written; the others hold `initial`.
pub type Registers = BTreeMap<Value, Value>;

impl Model for MultiRegister {
    type State = Registers;

    fn init(&self) -> Registers {
        Registers::new()
    }

    fn step(&self, state: &Registers, op: &Operation) -> Option<Registers> {
        let calls = op.input.as_list()?;
        let results = match op.output() {
            Some(out) => Some(out.as_list()?),
            None => None,
        };
        let mut next = state.clone();
        for (i, call) in calls.iter().enumerate() {
            let (f, key, value) = micro_op(call)?;
            match f {
                "read" => {
                    let Some(results) = results else { continue };
                    let (_, _, seen) = micro_op(results.get(i)?)?;
                    let current = next.get(key).unwrap_or(&self.initial);
                    // As in Knossos, a read that returned nil returned an unknown value.
                    if *seen != Value::Nil && seen != current {
                        return None;
                    }
                }
                "write" => {
                    next.insert(key.clone(), value.clone());
                }
                _ => return None,
            }
        }
        Some(next)
    }

    fn validate(&self, op: &Operation) -> Result<(), String> {
        expect_fns(op, &[OpFn::Txn])?;
        let shape = "expected a transaction [[read k v] [write k v] ...]";
        let calls = op
            .input
            .as_list()
            .ok_or_else(|| format!("{shape}, found {}", op.input))?;
        for call in calls {
            match micro_op(call) {
                Some(("read" | "write", _, _)) => {}
                _ => return Err(format!("{shape}, found {call}")),
            }
        }
        if let Some(out) = op.output() {
            let results = out.as_list().filter(|r| r.len() == calls.len());
            if results.is_none_or(|r| r.iter().any(|m| micro_op(m).is_none())) {
                return Err(format!("{shape} with one result per micro-op, found {out}"));
            }
        }
        Ok(())
    }

    fn is_read_only(&self, op: &Operation) -> bool {
        op.input.as_list().is_some_and(|calls| {
            calls
                .iter()
                .all(|c| matches!(micro_op(c), Some(("read", _, _))))
        })
    }

    fn describe(&self, state: &Registers) -> String {
        let entries: Vec<String> = state.iter().map(|(k, v)| format!("{k} {v}")).collect();
        format!("{{{}}} (others {})", entries.join(", "), self.initial)
    }
}

/// `[f k v]` split into its parts.
fn micro_op(call: &Value) -> Option<(&str, &Value, &Value)> {
    match call.as_list()? {
        [Value::Str(f), key, value] => Some((f.as_str(), key, value)),
        _ => None,
    }
}
