//! Turns a partition's operations into the arrays the search walks: completed calls sorted by
//! call with their concurrency windows, then open calls grouped into classes of identical ones.

use super::unseen;
use crate::history::Operation;
use crate::model::Model;

/// Longest window found by walking the calls one by one before searching for its end.
const WINDOW_WALK_MAX: usize = 16;

/// One partition, laid out for the search. Operation numbers: completed calls are
/// `0..completed`, open calls follow.
pub(crate) struct Problem<'a> {
    /// Completed calls sorted by call, then open calls sorted by (class, call).
    pub(crate) ops: Vec<&'a Operation<'a>>,
    /// What the search needs of each op, packed (one allocation, one cache line per 4 ops).
    pub(crate) info: Vec<OpInfo>,
    /// How many of `ops` completed.
    pub(crate) completed: usize,
    /// The largest `window`.
    pub(crate) window_max: usize,
    /// Completed ops that are not growing ([`Model::is_growing`]), ascending: the ones the
    /// lookahead must account for.
    pub(crate) shrinking: Vec<u32>,
    /// Open ops (numbered from 0) that are not growing.
    pub(crate) pending_shrinking: Vec<u32>,
    /// Whether any op is blind: only then can a state become unobservable.
    pub(crate) any_blind: bool,
    /// Whether more of the partition's history follows these ops (all of it called after
    /// they returned): the search then hands on the configurations that end them.
    pub(crate) open_end: bool,
}

/// One op as the search sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OpInfo {
    /// Call position (event index).
    pub(crate) call: u32,
    /// Return position (`u32::MAX` for an open op).
    pub(crate) ret: u32,
    /// For completed op `i`: how many completed ops from `i` on were called before `i`
    /// returned — the only ones that can be linearized while `i` is not. 0 for open ops.
    pub(crate) window: u32,
    /// [`Model::is_read_only`].
    pub(crate) read_only: bool,
    /// [`Model::is_growing`].
    pub(crate) growing: bool,
    /// [`Model::is_blind`].
    pub(crate) blind: bool,
    /// Growing and read-only: a call the lookahead asks [`Model::can_reach`] about.
    pub(crate) observer: bool,
    /// For an open op: whether it is the first of its class of identical open ops.
    pub(crate) class_start: bool,
}

impl<'a> Problem<'a> {
    /// Lays out `ops`, dropping open calls that cannot change any state or whose effect none of
    /// the completed calls in `ops` could see ([`unseen`]), except those in `placed` (ids,
    /// ascending), which an earlier part placed. `open_end`: more of the history follows.
    pub(crate) fn new<M: Model>(
        model: &M,
        ops: &[&'a Operation<'a>],
        placed: &[usize],
        open_end: bool,
    ) -> Problem<'a> {
        let mut all: Vec<&Operation<'a>> = Vec::with_capacity(ops.len());
        all.extend(ops.iter().copied().filter(|op| !op.is_pending()));
        // Calls are distinct event positions: an unstable sort gives the one order, without a buffer.
        all.sort_unstable_by_key(|op| op.call);
        let completed = all.len();
        let mut open: Vec<&Operation<'a>> = ops
            .iter()
            .copied()
            .filter(|op| op.is_pending() && !model.is_read_only(op))
            .collect();
        unseen::drop_unseen(model, &all, &mut open, placed);
        all.extend(open);
        // Identical open calls are interchangeable: group them, earliest call first.
        all[completed..]
            .sort_by(|a, b| (a.f as u8, &a.input, a.call).cmp(&(b.f as u8, &b.input, b.call)));
        let position = |index: usize| u32::try_from(index).unwrap_or(u32::MAX);
        let mut info: Vec<OpInfo> = all
            .iter()
            .enumerate()
            .map(|(i, op)| {
                let (read_only, growing) = (model.is_read_only(op), model.is_growing(op));
                OpInfo {
                    call: position(op.call),
                    ret: op.ret.map_or(u32::MAX, position),
                    window: 0,
                    read_only,
                    growing,
                    blind: growing && model.is_blind(op),
                    observer: growing && read_only,
                    class_start: i == completed
                        || (i > completed
                            && (all[i - 1].f != op.f || all[i - 1].input != op.input)),
                }
            })
            .collect();
        for i in 0..completed {
            let ret = info[i].ret;
            // Calls are sorted: a short walk finds most windows, a binary search the long ones.
            let mut end = i + 1;
            while end < completed && end - i <= WINDOW_WALK_MAX && info[end].call < ret {
                end += 1;
            }
            if end - i > WINDOW_WALK_MAX {
                end += info[end..completed].partition_point(|o| o.call < ret);
            }
            info[i].window = position(end - i);
        }
        let window_max = info[..completed]
            .iter()
            .map(|o| o.window)
            .max()
            .unwrap_or(0) as usize;
        let shrinking = (0..completed)
            .filter(|&i| !info[i].growing)
            .map(position)
            .collect();
        let pending_shrinking = (completed..all.len())
            .filter(|&i| !info[i].growing)
            .map(|i| position(i - completed))
            .collect();
        let any_blind = info.iter().any(|o| o.blind);
        Problem {
            any_blind,
            open_end,
            ops: all,
            info,
            completed,
            window_max,
            shrinking,
            pending_shrinking,
        }
    }

    /// How many open calls take part.
    pub(crate) fn pending_len(&self) -> usize {
        self.ops.len() - self.completed
    }
}

#[cfg(test)]
mod tests {
    use super::Problem;
    use crate::history::{EventKind, OpFn, Operation, Value, test_operations};
    use crate::model::Register;

    /// A write that stays in flight over `inside` reads, then `after` more reads.
    fn long_write(inside: usize, after: usize) -> Vec<Operation<'static>> {
        use EventKind::{Invoke, Ok};
        let read = |process: u64| {
            [
                (process, Invoke, OpFn::Read, Value::Nil),
                (process, Ok, OpFn::Read, Value::Nil),
            ]
        };
        let mut events = vec![(0, Invoke, OpFn::Write, Value::Int(1))];
        events.extend((1..=inside as u64).flat_map(read));
        events.push((0, Ok, OpFn::Write, Value::Int(1)));
        events.extend((1..=after as u64).flat_map(read));
        test_operations(&events)
    }

    /// Each completed call's window is the number of calls from it on made before it
    /// returned, whether the walk finds its end or the binary search past the walk does.
    #[test]
    fn windows_count_the_calls_made_before_a_return() {
        let model = Register {
            initial: Value::Nil,
            cas: false,
        };
        for inside in [0, 1, 15, 16, 17, 40] {
            let ops = long_write(inside, 20);
            let refs: Vec<&Operation<'_>> = ops.iter().collect();
            let problem = Problem::new(&model, &refs, &[], false);
            let info = &problem.info;
            for (i, op) in info.iter().enumerate() {
                let expected = info[i..].iter().filter(|o| o.call < op.ret).count();
                assert_eq!(op.window as usize, expected, "inside {inside}, op {i}");
            }
            assert_eq!(info[0].window as usize, 1 + inside);
            assert_eq!(problem.window_max, 1 + inside);
        }
    }
}
