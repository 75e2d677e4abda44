//! A key/value map. Keys are independent, so the checker splits the history by key and this
//! model sees one key's value.

use super::register::{register_effect, register_step};
use super::{Model, cas_args, expect_fns};
use crate::history::{OpFn, Operation, Value};

/// One key of a key/value map (Porcupine's kv model, plus cas).
///
/// - `get` (or `read`) returns the value;
/// - `put v` (or `write v`) replaces it;
/// - `append v` concatenates strings (no separator), or pushes `v` onto a list; appending to
///   `nil` starts a string or a list;
/// - `cas [from to]` as in [`super::Register`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kv {
    /// Every key's value before any write; `""` for Porcupine's histories.
    pub initial: Value,
}

impl Model for Kv {
    type State = Value;

    fn init(&self) -> Value {
        self.initial.clone()
    }

    fn step(&self, state: &Value, op: &Operation) -> Option<Value> {
        match op.f {
            OpFn::Append => append(state, op.input()),
            _ => register_step(state, op),
        }
    }

    fn validate(&self, op: &Operation) -> Result<(), String> {
        expect_fns(
            op,
            &[
                OpFn::Get,
                OpFn::Put,
                OpFn::Append,
                OpFn::Cas,
                OpFn::Read,
                OpFn::Write,
            ],
        )?;
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
            OpFn::Get | OpFn::Read => true,
            OpFn::Cas => {
                op.output() == Some(&Value::Bool(false))
                    || cas_args(op.input()).is_some_and(|(from, to)| from == to)
            }
            _ => false,
        }
    }

    fn allows(&self, state: &Value, op: &Operation) -> bool {
        match (op.f, op.output()) {
            (OpFn::Get | OpFn::Read, Some(out)) => out == state,
            (OpFn::Get | OpFn::Read, None) => true,
            (OpFn::Append, _) => matches!(
                (state, op.input()),
                (Value::Str(_) | Value::Nil, Value::Str(_)) | (Value::List(_) | Value::Nil, _)
            ),
            _ => self.step(state, op).is_some(),
        }
    }

    fn reset_state(&self, op: &Operation) -> Option<Value> {
        matches!(op.f, OpFn::Put | OpFn::Write).then(|| op.input().clone())
    }

    fn effect_state(&self, op: &Operation) -> Option<Value> {
        register_effect(op)
    }

    fn is_blind(&self, op: &Operation) -> bool {
        // An append that fits a value still fits after more appends.
        op.f == OpFn::Append
    }

    fn is_growing(&self, op: &Operation) -> bool {
        matches!(op.f, OpFn::Get | OpFn::Read | OpFn::Append)
    }

    fn can_reach(&self, state: &Value, later: &Operation) -> bool {
        // Appends only extend the value: a later get must see the current value as a prefix.
        match (later.f, state, later.output()) {
            (OpFn::Get | OpFn::Read, Value::Str(now), Some(Value::Str(seen))) => {
                seen.starts_with(now.as_str())
            }
            (OpFn::Get | OpFn::Read, Value::List(now), Some(Value::List(seen))) => {
                seen.starts_with(now)
            }
            // A string stays a string: a get that saw anything else is out of reach.
            (OpFn::Get | OpFn::Read, Value::Str(_), Some(_)) => false,
            _ => true,
        }
    }

    fn describe(&self, state: &Value) -> String {
        state.to_string()
    }
}

/// `state` with `tail` appended, or `None` when the types do not fit (an integer value).
fn append(state: &Value, tail: &Value) -> Option<Value> {
    match (state, tail) {
        (Value::Str(s), Value::Str(t)) => {
            let mut joined = String::with_capacity(s.len() + t.len());
            joined.push_str(s);
            joined.push_str(t);
            Some(Value::Str(joined))
        }
        (Value::Nil, Value::Str(t)) => Some(Value::Str(t.clone())),
        (Value::List(items), item) => {
            let mut items = items.clone();
            items.push(item.clone());
            Some(Value::List(items))
        }
        (Value::Nil, item) => Some(Value::List(vec![item.clone()])),
        _ => None,
    }
}
