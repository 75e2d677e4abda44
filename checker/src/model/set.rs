//! A grow-only set: add an element, read every element.

use std::collections::BTreeSet;

use super::{Model, expect_fns};
use crate::history::{OpFn, Operation, Value};

/// A set of [`Value`]s. `add v` inserts `v`; `read` returns every element as a list (in any
/// order). A set cannot be split by element: one read sees all of them at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Set {
    /// The elements before any add.
    pub initial: BTreeSet<Value>,
}

impl Model for Set {
    type State = BTreeSet<Value>;

    fn init(&self) -> BTreeSet<Value> {
        self.initial.clone()
    }

    fn step(&self, state: &BTreeSet<Value>, op: &Operation) -> Option<BTreeSet<Value>> {
        match (op.f, op.output()) {
            (OpFn::Add, _) => {
                let mut next = state.clone();
                next.insert(op.input().clone());
                Some(next)
            }
            (OpFn::Read, None) => Some(state.clone()),
            (OpFn::Read, Some(out)) => {
                let items = out.as_list()?;
                let seen: BTreeSet<&Value> = items.iter().collect();
                (seen.len() == state.len() && state.iter().all(|v| seen.contains(v)))
                    .then(|| state.clone())
            }
            _ => None,
        }
    }

    fn validate(&self, op: &Operation) -> Result<(), String> {
        expect_fns(op, &[OpFn::Add, OpFn::Read])?;
        match (&op.f, op.output()) {
            (OpFn::Read, Some(out)) if out.as_list().is_none() => Err(format!(
                "expected a read to return a list of elements, found {out}"
            )),
            _ => Ok(()),
        }
    }

    fn is_read_only(&self, op: &Operation) -> bool {
        op.f == OpFn::Read
    }

    fn is_growing(&self, _op: &Operation) -> bool {
        // Adds only add: every operation grows the set.
        true
    }

    fn can_reach(&self, state: &BTreeSet<Value>, later: &Operation) -> bool {
        // A later read sees every element there is now.
        match (later.f, later.output()) {
            (OpFn::Read, Some(out)) => out
                .as_list()
                .is_some_and(|items| state.iter().all(|v| items.contains(v))),
            _ => true,
        }
    }

    fn describe(&self, state: &BTreeSet<Value>) -> String {
        let items: Vec<String> = state.iter().map(Value::to_string).collect();
        format!("#{{{}}}", items.join(" "))
    }
}
