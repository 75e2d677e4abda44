//! Turns a partition's operations into the arrays the search walks: completed calls sorted by
//! call with their concurrency windows, then open calls grouped into classes of identical ones.

use crate::history::Operation;
use crate::model::Model;

/// One partition, laid out for the search. Operation numbers: completed calls are
/// `0..completed`, open calls follow.
pub(crate) struct Problem<'a> {
    /// Completed calls sorted by call, then open calls sorted by (class, call).
    pub(crate) ops: Vec<&'a Operation>,
    /// How many of `ops` completed.
    pub(crate) completed: usize,
    /// Call position (event index) of every op.
    pub(crate) call: Vec<u32>,
    /// Return position of every completed op.
    pub(crate) ret: Vec<u32>,
    /// For completed op `i`: how many completed ops from `i` on were called before `i`
    /// returned — the only ones that can be linearized while `i` is not.
    pub(crate) window: Vec<u32>,
    /// The largest `window`.
    pub(crate) window_max: usize,
    /// For open op `p` (numbered from 0): whether it is the first of its class.
    pub(crate) class_start: Vec<bool>,
    /// Per op: [`Model::is_read_only`].
    pub(crate) read_only: Vec<bool>,
    /// Per op: [`Model::is_growing`].
    pub(crate) growing: Vec<bool>,
    /// For `i` in `0..=completed`: the earliest call of a completed op from `i` on that is not
    /// growing (`u32::MAX` if none).
    pub(crate) shrinking_call_from: Vec<u32>,
    /// Open ops (numbered from 0) that are not growing.
    pub(crate) pending_shrinking: Vec<u32>,
}

impl<'a> Problem<'a> {
    /// Lays out `ops`, dropping open calls that cannot change any state.
    pub(crate) fn new<M: Model>(model: &M, ops: &[&'a Operation]) -> Problem<'a> {
        let mut completed: Vec<&Operation> =
            ops.iter().copied().filter(|op| !op.is_pending()).collect();
        completed.sort_by_key(|op| op.call);
        let mut pending: Vec<&Operation> = ops
            .iter()
            .copied()
            .filter(|op| op.is_pending() && !model.is_read_only(op))
            .collect();
        // Identical open calls are interchangeable: group them, earliest call first.
        pending.sort_by(|a, b| (a.f as u8, &a.input, a.call).cmp(&(b.f as u8, &b.input, b.call)));
        let class_start: Vec<bool> = (0..pending.len())
            .map(|p| {
                p == 0
                    || pending[p - 1].f != pending[p].f
                    || pending[p - 1].input != pending[p].input
            })
            .collect();
        let position = |index: usize| u32::try_from(index).unwrap_or(u32::MAX);
        let ret: Vec<u32> = completed
            .iter()
            .map(|op| position(op.ret.unwrap_or(usize::MAX)))
            .collect();
        let calls_completed: Vec<u32> = completed.iter().map(|op| position(op.call)).collect();
        let window: Vec<u32> = (0..completed.len())
            .map(|i| {
                let end = calls_completed.partition_point(|&call| call < ret[i]);
                position(end - i)
            })
            .collect();
        let window_max = window.iter().copied().max().unwrap_or(0) as usize;
        let count = completed.len();
        let mut all = completed;
        all.extend(pending);
        let call: Vec<u32> = all.iter().map(|op| position(op.call)).collect();
        let growing: Vec<bool> = all.iter().map(|op| model.is_growing(op)).collect();
        let read_only: Vec<bool> = all.iter().map(|op| model.is_read_only(op)).collect();
        let mut shrinking_call_from = vec![u32::MAX; count + 1];
        for i in (0..count).rev() {
            shrinking_call_from[i] = if growing[i] {
                shrinking_call_from[i + 1]
            } else {
                call[i]
            };
        }
        let pending_shrinking = (count..all.len())
            .filter(|&op| !growing[op])
            .map(|op| position(op - count))
            .collect();
        Problem {
            ops: all,
            completed: count,
            call,
            ret,
            window,
            window_max,
            class_start,
            read_only,
            growing,
            shrinking_call_from,
            pending_shrinking,
        }
    }

    /// How many open calls take part.
    pub(crate) fn pending_len(&self) -> usize {
        self.ops.len() - self.completed
    }
}
