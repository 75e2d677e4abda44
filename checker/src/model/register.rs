//! A single register: read / write, and optionally compare-and-set.

use super::{Model, cas_args, expect_fns};
use crate::history::{OpFn, Operation, Value};

/// A register holding one [`Value`]; `nil` is distinct from every value.
///
/// - `read` returns the value;
/// - `write v` sets it;
/// - `cas [from to]` (only with `cas: true`) sets it to `to` if it holds `from`. An `ok` cas
///   whose result is `false` returned false: it happened, and the register did not hold `from`
///   (etcd logs); any other `ok` result means it succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Register {
    /// The value before any write.
    pub initial: Value,
    /// Whether `cas` is allowed (`cas-register`) or not (`register`).
    pub cas: bool,
}

impl Model for Register {
    type State = Value;

    fn init(&self) -> Value {
        self.initial.clone()
    }

    fn step(&self, state: &Value, op: &Operation) -> Option<Value> {
        register_step(state, op)
    }

    fn validate(&self, op: &Operation) -> Result<(), String> {
        if self.cas {
            expect_fns(op, &[OpFn::Read, OpFn::Write, OpFn::Cas])?;
        } else {
            expect_fns(op, &[OpFn::Read, OpFn::Write])?;
        }
        if op.f == OpFn::Cas && cas_args(op.input()).is_none() {
            return Err(format!(
                "expected a cas value [from to], found {}",
                op.input
            ));
        }
        Ok(())
    }

    fn is_read_only(&self, op: &Operation) -> bool {
        match op.f {
            OpFn::Read => true,
            OpFn::Cas => {
                op.output() == Some(&Value::Bool(false))
                    || cas_args(op.input()).is_some_and(|(from, to)| from == to)
            }
            _ => false,
        }
    }

    fn allows(&self, state: &Value, op: &Operation) -> bool {
        match (op.f, op.output()) {
            (OpFn::Read, Some(out)) => out == state,
            (OpFn::Read, None) => true,
            _ => self.step(state, op).is_some(),
        }
    }

    fn reset_state(&self, op: &Operation) -> Option<Value> {
        (op.f == OpFn::Write).then(|| op.input().clone())
    }

    fn effect_state(&self, op: &Operation) -> Option<Value> {
        register_effect(op)
    }

    fn is_growing(&self, op: &Operation) -> bool {
        // Only ops that never change the register can precede a lookahead target.
        self.is_read_only(op)
    }

    fn can_reach(&self, state: &Value, later: &Operation) -> bool {
        !self.is_growing(later) || self.allows(state, later)
    }

    fn describe(&self, state: &Value) -> String {
        state.to_string()
    }
}

/// A register's step, shared with [`super::Kv`] (whose `get` / `put` are `read` / `write`):
/// `read` returns the value, `write` replaces it, `cas` as described on [`Register`]. Which
/// functions a model accepts is up to its `validate`.
pub(super) fn register_step(state: &Value, op: &Operation) -> Option<Value> {
    match op.f {
        OpFn::Read | OpFn::Get => match op.output() {
            Some(out) => (out == state).then(|| state.clone()),
            None => Some(state.clone()),
        },
        OpFn::Write | OpFn::Put => Some(op.input().clone()),
        OpFn::Cas => {
            let (from, to) = cas_args(op.input())?;
            if op.output() == Some(&Value::Bool(false)) {
                (from != state).then(|| state.clone())
            } else {
                (from == state).then(|| to.clone())
            }
        }
        _ => None,
    }
}

/// The state a register's `write` / `put` or successful `cas` leaves, whatever it replaced.
pub(super) fn register_effect(op: &Operation) -> Option<Value> {
    match op.f {
        OpFn::Write | OpFn::Put => Some(op.input().clone()),
        OpFn::Cas => cas_args(op.input()).map(|(_, to)| to.clone()),
        _ => None,
    }
}
