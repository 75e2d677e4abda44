//! The depth-first search itself, on one mutable configuration and an explicit stack of
//! small frames that say how to undo each step.
//!
//! A long history is searched in segments of [`super::Limits::segment_ops`] completed calls, so that the stack
//! (one frame per placed call) stays bounded whatever the history's length. Every
//! linearization passes, for each segment boundary `b`, through exactly one *first*
//! configuration whose front is at or past `b`. So a segment is searched exhaustively from each
//! of its entry configurations, collecting those first configurations past its end (its exits,
//! deduplicated) instead of going on; they are the next segment's entries, and the stack is
//! empty in between. Only the last segment stops at the first linearization. A history of at
//! most `segment_ops` completed calls is one last segment: the plain lazy search.

use std::hash::{Hash, Hasher};
use std::sync::atomic::Ordering;
use std::time::Instant;

use rustc_hash::FxHashSet;

use super::bits::Bits;
use super::memo::Memo;
use super::table::{Table, TooManyStates, UNOBSERVED};
use super::{Entry, Failure, Limits, Outcome, Problem, SEGMENT_EXITS_MAX, SearchStats, Step, Stop};
use crate::explain::OpRef;
use crate::model::Model;

/// A frame's `resume` when its parent has no more children to try.
const NO_MORE: u32 = u32::MAX;
/// How many steps between looks at the clock and the cancel flag (a power of two).
const STOP_CHECK_STEPS: u64 = 1024;
/// Most states an explanation lists.
const STATES_SHOWN_MAX: usize = 8;
/// Most unplaced calls [`Dfs::unobservable`] looks at before it answers "observable".
const UNOBSERVED_SCAN_MAX: usize = 256;
/// Dead ends a search meets before it starts merging unobservable states (plus one per
/// [`UNOBSERVED_OPS_PER_DEAD_END`] completed calls): the merge pays off only in searches that
/// backtrack, and costs a scan of the unplaced calls at every new state.
const UNOBSERVED_DEAD_ENDS_MIN: u64 = 4;
/// See [`UNOBSERVED_DEAD_ENDS_MIN`].
const UNOBSERVED_OPS_PER_DEAD_END: usize = 8;

/// A point in the search: which calls are linearized, and the model state they leave.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Config<const N: usize> {
    /// The front (low half: completed calls before it are linearized, itself not) and the
    /// interned model state (high half), in one word: the memo hashes them as one word right
    /// after a step set both, and two narrow stores cannot be forwarded to one wide load,
    /// which then waits for them (1.5% of a short search's time).
    head: u64,
    /// Bit `k`: completed call `front + k` is linearized.
    window: Bits<N>,
    /// Bit `p`: open call `p` is linearized.
    pending: Bits<N>,
}

impl<const N: usize> Config<N> {
    /// A configuration with nothing placed before `front`'s window but `window` and
    /// `pending`.
    fn new(front: u32, state: u32, window: Bits<N>, pending: Bits<N>) -> Config<N> {
        Config {
            head: head(front, state),
            window,
            pending,
        }
    }

    /// Completed calls before it are linearized; itself not.
    #[inline]
    fn front(&self) -> u32 {
        self.head as u32
    }

    /// The interned model state.
    #[inline]
    fn state(&self) -> u32 {
        (self.head >> 32) as u32
    }

    /// Sets the front and the state at once.
    #[inline]
    fn set_front_state(&mut self, front: u32, state: u32) {
        self.head = head(front, state);
    }

    #[inline]
    fn set_state(&mut self, state: u32) {
        self.set_front_state(self.front(), state);
    }
}

/// [`Config::head`] of a front and a state.
#[inline]
fn head(front: u32, state: u32) -> u64 {
    u64::from(front) | u64::from(state) << 32
}

/// Hashed as `1 + 2N` words (the derived hash takes `4 + 2N`, lengths included): the memo
/// hashes every configuration the search enters.
impl<const N: usize> Hash for Config<N> {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.head);
        for &word in self.window.0.iter().chain(&self.pending.0) {
            state.write_u64(word);
        }
    }
}

/// One step taken: enough to undo it and to go on with the parent's next child.
#[derive(Clone, Copy)]
struct Frame {
    op: u32,
    shift: u32,
    state_before: u32,
    resume: u32,
}

/// The deepest configurations seen, for the explanation of a failure.
struct Deepest {
    done: usize,
    prefix: Vec<u32>,
    /// How much of the stack still matches `prefix`.
    prefix_valid: usize,
    blocking: u32,
    states: Vec<u32>,
}

/// A segment's exits, in the order found (deterministic), each once.
struct Exits<const N: usize> {
    list: Vec<Config<N>>,
    seen: FxHashSet<Config<N>>,
}

struct Dfs<'p, 'm, M: Model, const N: usize> {
    problem: &'p Problem<'p>,
    table: Table<'m, M>,
    memo: Memo<Config<N>>,
    config: Config<N>,
    /// Completed calls linearized in `config`.
    done: usize,
    stack: Vec<Frame>,
    deepest: Deepest,
    /// Scratch for the lookahead: unplaced calls that may change the state arbitrarily.
    shrinkers: Vec<u32>,
    /// Dead ends met so far.
    dead_ends: u64,
    /// States nobody observes are merged ([`Dfs::unobservable`]) once the search has met this
    /// many dead ends (and only when some call is blind).
    merge_after: u64,
    /// Whether configurations are recorded in the memo yet.
    ///
    /// A memo hit prunes a configuration whose search ended without a linearization, and such
    /// a search met a dead end. So until the last segment's lazy search from its one entry
    /// meets its first dead end, no configuration it visited can be met again but the ones
    /// on the current path, and those only once the search backtracks past them. Those are
    /// left out of the memo: meeting one again costs a second search of its subtree, whose
    /// configurations since the first dead end are in the memo — a chain of at most the
    /// path's length, once — against recording every configuration of every search that never
    /// backtracks, the common case.
    memo_on: bool,
}

/// Runs the search with bitsets of `N` words from `entries`. When more of the history follows
/// the problem ([`Problem::open_end`]), the configurations that end it are returned instead of
/// a verdict.
pub(super) fn run<M: Model, const N: usize>(
    model: &M,
    problem: &Problem<'_>,
    entries: &[Entry<M::State>],
    limits: &Limits,
    stop: &Stop<'_>,
    stats: &mut SearchStats,
) -> Step<M::State> {
    let ops = problem.ops.len();
    let mut dfs = Dfs::<M, N> {
        problem,
        table: Table::new(
            model,
            limits.model_states_max,
            ops,
            ops.min(limits.segment_ops),
        ),
        memo: Memo::new(limits.memo_capacity_entries, ops.saturating_mul(4)),
        config: Config::new(0, 0, Bits::EMPTY, Bits::EMPTY),
        done: 0,
        stack: Vec::with_capacity(ops.min(limits.segment_ops) + problem.pending_len()),
        deepest: Deepest {
            done: 0,
            prefix: Vec::new(),
            prefix_valid: 0,
            blocking: 0,
            states: Vec::new(),
        },
        shrinkers: Vec::new(),
        dead_ends: 0,
        merge_after: UNOBSERVED_DEAD_ENDS_MIN
            + (problem.completed / UNOBSERVED_OPS_PER_DEAD_END) as u64,
        // One lazy search from one entry needs no memo before its first dead end.
        memo_on: entries.len() > 1
            || problem.open_end
            || problem.completed > limits.segment_ops.max(1),
    };
    let mut entries = match dfs.configs_of(entries) {
        Ok(configs) => configs,
        Err(TooManyStates(max)) => return Step::Done(too_many_states(max)),
    };
    if problem.completed == 0 {
        return match problem.open_end {
            true => Step::Next(dfs.entries_of(&entries)),
            false => Step::Done(Outcome::Linearizable),
        };
    }
    if dfs.memo_on {
        for &entry in &entries {
            dfs.memo.insert(&entry);
        }
    }
    if let Some(first) = entries.first() {
        dfs.config = *first;
        dfs.deepest.states.push(first.state());
    }
    dfs.deepest.blocking = dfs.blocking_op();
    let mut boundary = 0;
    loop {
        boundary = (boundary + limits.segment_ops.max(1)).min(problem.completed);
        let end = boundary == problem.completed;
        let last = end && !problem.open_end;
        let mut exits = Exits {
            list: Vec::new(),
            seen: FxHashSet::default(),
        };
        for &entry in &entries {
            dfs.start(entry);
            match dfs.explore(boundary, last, &mut exits, limits, stop, stats) {
                Ok(true) => return Step::Done(Outcome::Linearizable),
                Ok(false) => {}
                Err(reason) => return Step::Done(Outcome::Unknown(reason)),
            }
        }
        if last || exits.list.is_empty() {
            return Step::Done(Outcome::NotLinearizable(dfs.failure(model)));
        }
        stats.frontier_max = stats.frontier_max.max(exits.list.len());
        if end {
            return Step::Next(dfs.entries_of(&exits.list));
        }
        entries = exits.list;
        if let Err(TooManyStates(max)) = dfs.next_segment(model, limits, &mut entries) {
            return Step::Done(too_many_states(max));
        }
    }
}

fn too_many_states(max: usize) -> Outcome {
    Outcome::Unknown(format!(
        "the model reached more than model_states_max = {max} states"
    ))
}

impl<'m, M: Model, const N: usize> Dfs<'_, 'm, M, N> {
    /// The configurations `entries` stand for in this problem: no completed call placed,
    /// their states interned, their placed open calls found by id.
    fn configs_of(&mut self, entries: &[Entry<M::State>]) -> Result<Vec<Config<N>>, TooManyStates> {
        let pending = &self.problem.ops[self.problem.completed..];
        let mut by_id: Vec<(usize, usize)> = pending
            .iter()
            .enumerate()
            .map(|(p, op)| (op.id, p))
            .collect();
        by_id.sort_unstable();
        let mut configs = Vec::with_capacity(entries.len());
        for entry in entries {
            let state = match &entry.state {
                Some(state) => self.table.adopt(state.clone())?,
                None => UNOBSERVED,
            };
            let mut placed = Bits::EMPTY;
            for id in &entry.pending {
                // An open call the problem dropped (one that changes nothing) is never placed.
                if let Ok(at) = by_id.binary_search_by_key(id, |&(id, _)| id) {
                    placed.set(by_id[at].1);
                }
            }
            configs.push(Config::new(0, state, Bits::EMPTY, placed));
        }
        Ok(configs)
    }

    /// The configurations that end the problem (every completed call placed), for the next
    /// part of the history.
    fn entries_of(&self, exits: &[Config<N>]) -> Vec<Entry<M::State>> {
        let pending = &self.problem.ops[self.problem.completed..];
        exits
            .iter()
            .map(|config| Entry {
                state: self.table.state(config.state()).cloned(),
                pending: (0..pending.len())
                    .filter(|&p| config.pending.get(p))
                    .map(|p| pending[p].id)
                    .collect(),
            })
            .collect()
    }

    /// Forgets everything about the segment just searched but its exits (`entries`), so that
    /// memory stays bounded by a segment: no later configuration can have a front before the
    /// boundary, so the memo is emptied; the states the exits need move to a fresh table; the
    /// deepest point is forgotten (an explanation shows the last segment's part of the prefix).
    fn next_segment(
        &mut self,
        model: &'m M,
        limits: &Limits,
        entries: &mut [Config<N>],
    ) -> Result<(), TooManyStates> {
        let ops = limits.segment_ops.min(self.problem.ops.len());
        let mut table = Table::new(model, limits.model_states_max, self.problem.ops.len(), ops);
        for entry in entries.iter_mut() {
            if let Some(state) = self.table.state(entry.state()) {
                entry.set_state(table.adopt(state.clone())?);
            }
        }
        self.table = table;
        self.memo = Memo::new(limits.memo_capacity_entries, ops.saturating_mul(4));
        self.deepest = Deepest {
            done: 0,
            prefix: Vec::new(),
            prefix_valid: 0,
            blocking: 0,
            states: Vec::new(),
        };
        Ok(())
    }

    /// Starts from `entry` with an empty stack.
    fn start(&mut self, entry: Config<N>) {
        self.config = entry;
        self.done = entry.front() as usize
            + entry
                .window
                .0
                .iter()
                .map(|w| w.count_ones() as usize)
                .sum::<usize>();
        self.stack.clear();
        self.deepest.prefix_valid = 0;
    }

    /// Searches from the current configuration. In the last segment (`last`), until a
    /// linearization is found (`true`) or none is left (`false`); otherwise every configuration
    /// that first reaches `boundary` is added to `exits` and the result is `false`.
    fn explore(
        &mut self,
        boundary: usize,
        last: bool,
        exits: &mut Exits<N>,
        limits: &Limits,
        stop: &Stop<'_>,
        stats: &mut SearchStats,
    ) -> Result<bool, String> {
        let too_many = |TooManyStates(max)| {
            format!("the model reached more than model_states_max = {max} states")
        };
        let mut cursor = 0u32;
        let mut steps = 0u64;
        let mut reported = stats.configurations;
        loop {
            steps += 1;
            if steps & (STOP_CHECK_STEPS - 1) == 0 {
                check_stop(stop, stats.configurations, &mut reported)?;
            }
            let child = if self.config.front() as usize >= boundary {
                if last {
                    return Ok(true);
                }
                if exits.seen.insert(self.config) {
                    exits.list.push(self.config);
                    if exits.list.len() > SEGMENT_EXITS_MAX {
                        return Err(format!(
                            "more than SEGMENT_EXITS_MAX = {SEGMENT_EXITS_MAX} configurations end a segment of segment_ops = {} calls",
                            limits.segment_ops
                        ));
                    }
                }
                None
            } else {
                self.next_child(cursor).map_err(too_many)?
            };
            let Some((op, next_state, resume)) = child else {
                // A dead end (or an exit): the deepest configurations are among these, so depth
                // is noted here, not at every step of a search that succeeds.
                self.note_depth(None);
                if (self.config.front() as usize) < boundary {
                    self.dead_ends += 1;
                    // See `memo_on`.
                    self.memo_on = true;
                }
                let Some(frame) = self.stack.pop() else {
                    return Ok(false);
                };
                self.undo(frame);
                self.deepest.prefix_valid = self.deepest.prefix_valid.min(self.stack.len());
                cursor = frame.resume;
                continue;
            };
            let frame = self.apply(op, next_state, resume);
            // Only a new state can have become unobservable (a read placed rarely makes one).
            if self.problem.any_blind
                && self.dead_ends >= self.merge_after
                && next_state != frame.state_before
                && self.config.state() != UNOBSERVED
                && self.unobservable().map_err(too_many)?
            {
                self.config.set_state(UNOBSERVED);
            }
            if self.memo_on && !self.memo.insert(&self.config) {
                self.undo(frame);
                cursor = resume;
                continue;
            }
            // A call that left the state as it was and moved no new call into the window
            // cannot make the lookahead find anything its parent's did not.
            let same_lookahead = next_state == frame.state_before && frame.shift == 0;
            if !same_lookahead
                && let Some(unreachable) = self.unreachable_call().map_err(too_many)?
            {
                // A legal prefix after all: the explanation may show it, blocked by the call
                // the lookahead found out of reach.
                self.stack.push(frame);
                self.note_depth(Some(unreachable));
                self.stack.pop();
                self.deepest.prefix_valid = self.deepest.prefix_valid.min(self.stack.len());
                self.undo(frame);
                cursor = resume;
                continue;
            }
            stats.configurations += 1;
            if stats.configurations > limits.search_budget_states {
                return Err(format!(
                    "visited search_budget_states = {} configurations without a verdict (memo held {})",
                    limits.search_budget_states,
                    self.memo.len()
                ));
            }
            self.stack.push(frame);
            stats.stack_max = stats.stack_max.max(self.stack.len());
            cursor = 0;
        }
    }

    /// The next child of the current configuration at or after `cursor`: the op to linearize,
    /// the state it leaves, and where to resume among the siblings.
    ///
    /// Cursor positions `0..window_max` are completed calls `front + k`; positions after are
    /// open calls.
    fn next_child(&mut self, cursor: u32) -> Result<Option<(u32, u32, u32)>, TooManyStates> {
        if cursor == NO_MORE {
            return Ok(None);
        }
        let problem = self.problem;
        let info = &problem.info;
        let front = self.config.front() as usize;
        let state = self.config.state();
        let width = info[front].window as usize;
        let min_ret = self.min_ret();
        let window_max = problem.window_max as u32;
        if cursor == 0 {
            // A read-only call that may go now and is legal goes now, alone: any linearization
            // can be reordered to place it here.
            // Calls are in call order: once one is called too late, so are the rest.
            for k in self.config.window.clear_in(0, width) {
                let op = front + k;
                if info[op].call >= min_ret {
                    break;
                }
                if info[op].read_only
                    && self
                        .table
                        .step(op as u32, problem.ops[op], &info[op], state)?
                        .is_some()
                {
                    return Ok(Some((op as u32, state, NO_MORE)));
                }
            }
        }
        let mut pos = cursor;
        if pos < window_max {
            for k in self.config.window.clear_in(pos as usize, width) {
                let op = front + k;
                if info[op].call >= min_ret {
                    break;
                }
                if let Some(next) = self
                    .table
                    .step(op as u32, problem.ops[op], &info[op], state)?
                {
                    return Ok(Some((op as u32, next, k as u32 + 1)));
                }
            }
            pos = window_max;
        }
        let pending = problem.pending_len() as u32;
        while pos < window_max + pending {
            let p = (pos - window_max) as usize;
            pos += 1;
            let op = problem.completed + p;
            if self.config.pending.get(p)
                || info[op].call >= min_ret
                || (!info[op].class_start && !self.config.pending.get(p - 1))
            {
                continue;
            }
            match self
                .table
                .step(op as u32, problem.ops[op], &info[op], state)?
            {
                Some(next) if next != state => return Ok(Some((op as u32, next, pos))),
                _ => {}
            }
        }
        Ok(None)
    }

    /// Lookahead: a completed read-only call still to be placed that can never become legal,
    /// if any.
    ///
    /// Every call linearized before a call `g` was called before `g` returned. So if all the
    /// unplaced calls called before `g` returns that are not growing ([`Model::is_growing`])
    /// have a [`Model::effect_state`], the state `g` runs in is grown from the current state or
    /// from one of those reset states; [`Model::can_reach`] false for all of them means `g`
    /// can never go, whatever is placed next.
    fn unreachable_call(&mut self) -> Result<Option<u32>, TooManyStates> {
        let problem = self.problem;
        let info = &problem.info;
        let front = self.config.front() as usize;
        if front == problem.completed {
            return Ok(None);
        }
        let width = info[front].window as usize;
        let state = self.config.state();
        // The latest return of a call the lookahead looks at bounds the shrinkers it needs.
        let mut ret_max = 0;
        for k in self.config.window.clear_in(0, width) {
            if info[front + k].observer {
                ret_max = ret_max.max(info[front + k].ret);
            }
        }
        if ret_max == 0 {
            return Ok(None);
        }
        self.shrinkers.clear();
        let first = problem
            .shrinking
            .partition_point(|&op| (op as usize) < front);
        for &op in &problem.shrinking[first..] {
            let i = op as usize;
            if info[i].call >= ret_max {
                break;
            }
            if i - front >= width || !self.config.window.get(i - front) {
                self.shrinkers.push(op);
            }
        }
        for &p in &problem.pending_shrinking {
            let op = problem.completed + p as usize;
            if !self.config.pending.get(p as usize) && info[op].call < ret_max {
                self.shrinkers.push(op as u32);
            }
        }
        for k in self.config.window.clear_in(0, width) {
            let g = front + k;
            if !info[g].observer {
                continue;
            }
            if self
                .table
                .can_reach(g as u32, problem.ops[g], &info[g], state)
            {
                continue;
            }
            if !self.reachable_after_reset(g)? {
                return Ok(Some(g as u32));
            }
        }
        Ok(None)
    }

    /// Whether some shrinker that may go before `g` lets `g` become legal: one with no effect
    /// state (it could leave anything), or one whose effect state `g` can grow from.
    fn reachable_after_reset(&mut self, g: usize) -> Result<bool, TooManyStates> {
        let problem = self.problem;
        let ret = problem.info[g].ret;
        for i in 0..self.shrinkers.len() {
            let s = self.shrinkers[i];
            if problem.info[s as usize].call >= ret {
                continue;
            }
            match self.table.effect(s, problem.ops[s as usize])? {
                None => return Ok(true),
                Some(reset) => {
                    let info = &problem.info[g];
                    if self.table.can_reach(g as u32, problem.ops[g], info, reset) {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }

    /// Whether no call still to be placed can observe the current state before the next
    /// reset: then the state may be replaced by [`UNOBSERVED`], which merges the configurations
    /// that differ only by the order of blind calls no one will see.
    ///
    /// Let `r` be the earliest return of an unplaced completed call with a
    /// [`crate::model::Model::reset_state`]. A call called after `r` goes after that reset.
    /// Every other unplaced call must be a reset, blind and legal here (then legal in every
    /// growth too), or growing and out of reach ([`crate::model::Model::can_reach`] false).
    /// Then, until a reset, only those blind calls can go, whatever the exact state was, and a
    /// reset forgets it: the futures of all such states are the same.
    fn unobservable(&mut self) -> Result<bool, TooManyStates> {
        let problem = self.problem;
        let info = &problem.info;
        let front = self.config.front() as usize;
        let mut reset_ret = u32::MAX;
        let first = problem
            .shrinking
            .partition_point(|&op| (op as usize) < front);
        for &op in &problem.shrinking[first..] {
            let i = op as usize;
            if info[i].call >= reset_ret {
                break;
            }
            if !self.placed(i) && self.table.reset(op, problem.ops[i])?.is_some() {
                reset_ret = reset_ret.min(info[i].ret);
            }
        }
        if reset_ret == u32::MAX && problem.open_end {
            // Calls of the history's next part may observe the state: no reset hides it.
            return Ok(false);
        }
        let mut scanned = 0;
        // Placed calls are all in the window, so this visits at most the window and
        // UNOBSERVED_SCAN_MAX more.
        let mut i = front;
        while i < problem.completed && info[i].call < reset_ret {
            if !self.placed(i) {
                scanned += 1;
                if scanned > UNOBSERVED_SCAN_MAX || !self.blind_to(i)? {
                    return Ok(false);
                }
            }
            i += 1;
        }
        for p in 0..problem.pending_len() {
            let op = problem.completed + p;
            if !self.config.pending.get(p) && info[op].call < reset_ret && !self.blind_to(op)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Whether unplaced op `i` cannot observe the current state (see `unobservable`).
    fn blind_to(&mut self, i: usize) -> Result<bool, TooManyStates> {
        let problem = self.problem;
        let info = &problem.info[i];
        let (op, state) = (problem.ops[i], self.config.state());
        if info.blind {
            return Ok(self.table.allows(op, state));
        }
        if info.growing {
            return Ok(!self.table.can_reach(i as u32, op, info, state));
        }
        Ok(self.table.reset(i as u32, op)?.is_some())
    }

    /// Whether completed op `i` is linearized.
    fn placed(&self, i: usize) -> bool {
        let front = self.config.front() as usize;
        i < front
            || (i - front < self.problem.info[front].window as usize
                && self.config.window.get(i - front))
    }

    /// The earliest return among completed calls not yet linearized: nothing called after it
    /// can go next.
    fn min_ret(&self) -> u32 {
        let front = self.config.front() as usize;
        let info = &self.problem.info;
        let width = info[front].window as usize;
        let mut min = u32::MAX;
        for k in self.config.window.clear_in(0, width) {
            min = min.min(info[front + k].ret);
        }
        min
    }

    /// The unlinearized completed call with the earliest return.
    fn blocking_op(&self) -> u32 {
        let front = self.config.front() as usize;
        if front == self.problem.completed {
            // Everything is placed: nothing blocks (the search is about to succeed).
            return 0;
        }
        let info = &self.problem.info;
        let width = info[front].window as usize;
        self.config
            .window
            .clear_in(0, width)
            .min_by_key(|&k| info[front + k].ret)
            .map_or(front as u32, |k| (front + k) as u32)
    }

    /// Linearizes `op`, leaving `next_state`; returns the frame that undoes it.
    fn apply(&mut self, op: u32, next_state: u32, resume: u32) -> Frame {
        let mut frame = Frame {
            op,
            shift: 0,
            state_before: self.config.state(),
            resume,
        };
        let completed = self.problem.completed as u32;
        let mut front = self.config.front();
        if op < completed {
            self.config.window.set((op - front) as usize);
            let shift = self.config.window.trailing_ones();
            self.config.window.shift_down(shift);
            front += shift as u32;
            frame.shift = shift as u32;
            self.done += 1;
        } else {
            self.config.pending.set((op - completed) as usize);
        }
        self.config.set_front_state(front, next_state);
        frame
    }

    /// Undoes `frame`'s step.
    fn undo(&mut self, frame: Frame) {
        let completed = self.problem.completed as u32;
        let mut front = self.config.front();
        if frame.op < completed {
            self.config.window.shift_up_ones(frame.shift as usize);
            front -= frame.shift;
            self.config.window.clear((frame.op - front) as usize);
            self.done -= 1;
        } else {
            self.config.pending.clear((frame.op - completed) as usize);
        }
        self.config.set_front_state(front, frame.state_before);
    }

    /// Keeps the deepest prefix (most completed calls placed) for the explanation, with the
    /// call that blocks it (`blocking`, or the unplaced one that returns first).
    fn note_depth(&mut self, blocking: Option<u32>) {
        let blocking = if self.done > self.deepest.done {
            blocking.unwrap_or_else(|| self.blocking_op())
        } else {
            0
        };
        let deepest = &mut self.deepest;
        if self.done > deepest.done {
            deepest.done = self.done;
            deepest.prefix.truncate(deepest.prefix_valid);
            deepest.prefix.extend(
                self.stack[deepest.prefix_valid..]
                    .iter()
                    .map(|frame| frame.op),
            );
            deepest.prefix_valid = self.stack.len();
            deepest.states.clear();
            deepest.states.push(self.config.state());
            deepest.blocking = blocking;
        } else if self.done == deepest.done
            && deepest.states.len() < STATES_SHOWN_MAX
            && !deepest.states.contains(&self.config.state())
        {
            deepest.states.push(self.config.state());
        }
    }

    fn failure(&self, model: &M) -> Failure {
        let id = |op: u32| OpRef::of(self.problem.ops[op as usize]);
        Failure {
            prefix: self.deepest.prefix.iter().map(|&op| id(op)).collect(),
            blocking: id(self.deepest.blocking),
            states: self
                .deepest
                .states
                .iter()
                .map(|&s| {
                    self.table.state(s).map_or_else(
                        || "(a state no remaining call observes)".to_owned(),
                        |state| model.describe(state),
                    )
                })
                .collect(),
        }
    }
}

/// Whether to stop (why), after adding the configurations visited since `reported` to the
/// progress count.
fn check_stop(stop: &Stop<'_>, configurations: u64, reported: &mut u64) -> Result<(), String> {
    if let Some(progress) = stop.progress {
        progress.fetch_add(configurations - *reported, Ordering::Relaxed);
        *reported = configurations;
    }
    if stop.cancel.load(Ordering::Relaxed) {
        return Err("cancelled: another partition is not linearizable".to_owned());
    }
    if stop
        .deadline
        .is_some_and(|deadline| Instant::now() >= deadline)
    {
        return Err("the time limit ran out".to_owned());
    }
    Ok(())
}
