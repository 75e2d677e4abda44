//! Drops calls that stay open forever (`info`) whose effect no other call could ever see.
//!
//! An open call may have happened or not. If a linearization places an open call `p` and the
//! call right after it behaves the same without `p` (legal in the state before `p` too, leaving
//! the same state), or nothing follows `p`, then removing `p` leaves a linearization too.
//! Removing such calls one at a time ends in a linearization where every open call left is
//! followed by a call that *tells it apart*. When an open call is placed it changes the state
//! (the search never places one that does not), so it leaves its [`Model::effect_state`]; a
//! call that tells it apart is legal in that state and is not a reset (a reset is legal in
//! every state and leaves the same state whatever came before it). And it follows `p`, so a
//! completed one returned after `p` was called.
//!
//! The same holds for a part of a history cut where no completed call is in flight (see
//! `stream`): the call that tells `p` apart is a completed call of the part `p` is placed in, or
//! an open call placed just before that one. So a part need only offer the open calls that one
//! of its own completed calls could see; the others stay open for later parts.
//!
//! So an open call with an effect state that no such call could follow never needs a place:
//! a write of a value nobody reads, a cas to a value nobody reads or swaps from. Since the
//! follower may itself be an open call, the calls kept are the greatest set in which each has a
//! possible follower among the completed calls and the other kept calls. This is what keeps a
//! history with hundreds of `info` writes tractable: most of them were never seen.

use crate::history::Operation;
use crate::model::Model;

/// Removes from `open` the calls that need no place (see the module comment); `completed`
/// are the part's completed calls. Calls whose id is in `placed` (ascending: open calls an
/// earlier part already placed) are always kept, so that their mark carries on.
pub(crate) fn drop_unseen<M: Model>(
    model: &M,
    completed: &[&Operation<'_>],
    open: &mut Vec<&Operation<'_>>,
    placed: &[usize],
) {
    let effects: Vec<Option<M::State>> = open.iter().map(|op| model.effect_state(op)).collect();
    if effects.iter().all(Option::is_none) {
        return;
    }
    let observers: Vec<&Operation<'_>> = completed
        .iter()
        .copied()
        .filter(|op| model.reset_state(op).is_none())
        .collect();
    let open_observer: Vec<bool> = open
        .iter()
        .map(|op| model.reset_state(op).is_none())
        .collect();
    let mut kept = vec![true; open.len()];
    loop {
        let mut changed = false;
        for (i, effect) in effects.iter().enumerate() {
            let Some(effect) = effect else { continue };
            if !kept[i] || placed.binary_search(&open[i].id).is_ok() {
                continue;
            }
            let call = open[i].call;
            let seen_by_completed = observers
                .iter()
                .any(|o| o.ret.is_some_and(|ret| ret > call) && model.allows(effect, o));
            let seen = seen_by_completed
                || (0..open.len()).any(|j| {
                    j != i && kept[j] && open_observer[j] && model.allows(effect, open[j])
                });
            if !seen {
                kept[i] = false;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut kept = kept.into_iter();
    open.retain(|_| kept.next().unwrap_or(true));
}

#[cfg(test)]
mod tests {
    use super::drop_unseen;
    use crate::history::{EventKind, OpFn, Operation, Value, test_operations as ops};
    use crate::model::Register;
    use EventKind::{Info, Invoke, Ok};
    use OpFn::{Cas, Read, Write};

    /// The open calls kept, as their inputs.
    fn kept(ops: &[Operation<'_>]) -> Vec<Value> {
        let model = Register {
            initial: Value::Nil,
            cas: true,
        };
        let completed: Vec<&Operation<'_>> = ops.iter().filter(|op| !op.is_pending()).collect();
        let mut open: Vec<&Operation<'_>> = ops.iter().filter(|op| op.is_pending()).collect();
        drop_unseen(&model, &completed, &mut open, &[]);
        open.iter().map(|op| op.input().clone()).collect()
    }

    fn int(i: i64) -> Value {
        Value::Int(i)
    }

    fn pair(a: i64, b: i64) -> Value {
        Value::List(vec![int(a), int(b)])
    }

    #[test]
    fn an_open_write_is_kept_only_if_a_later_read_could_see_it() {
        let history = ops(&[
            (0, Invoke, Write, int(1)),
            (0, Info, Write, int(1)),
            (1, Invoke, Write, int(2)),
            (1, Info, Write, int(2)),
            (2, Invoke, Read, Value::Nil),
            (2, Ok, Read, int(1)),
        ]);
        assert_eq!(kept(&history), vec![int(1)]);
    }

    #[test]
    fn a_read_that_returned_before_the_write_was_called_cannot_see_it() {
        let history = ops(&[
            (2, Invoke, Read, Value::Nil),
            (2, Ok, Read, int(1)),
            (0, Invoke, Write, int(1)),
            (0, Info, Write, int(1)),
        ]);
        assert_eq!(kept(&history), Vec::<Value>::new());
    }

    #[test]
    fn a_chain_of_open_calls_is_kept_only_if_its_end_is_seen() {
        // write 1, then cas 1 -> 2 could follow it; nobody sees 2, so both go.
        let unseen = [
            (0, Invoke, Write, int(1)),
            (0, Info, Write, int(1)),
            (1, Invoke, Cas, pair(1, 2)),
            (1, Info, Cas, pair(1, 2)),
        ];
        assert_eq!(kept(&ops(&unseen)), Vec::<Value>::new());
        // A read of 2 sees the cas, which sees the write.
        let mut seen = unseen.to_vec();
        seen.extend([(2, Invoke, Read, Value::Nil), (2, Ok, Read, int(2))]);
        assert_eq!(kept(&ops(&seen)), vec![int(1), pair(1, 2)]);
    }

    #[test]
    fn a_write_only_a_later_write_follows_is_dropped() {
        // The completed write is a reset: it behaves the same whatever came before it.
        let history = ops(&[
            (0, Invoke, Write, int(1)),
            (0, Info, Write, int(1)),
            (1, Invoke, Write, int(3)),
            (1, Ok, Write, int(3)),
        ]);
        assert_eq!(kept(&history), Vec::<Value>::new());
    }
}
