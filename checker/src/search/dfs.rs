//! The depth-first search itself, on one mutable configuration and an explicit stack of
//! small frames that say how to undo each step.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::bits::Bits;
use super::memo::Memo;
use super::table::{Table, TooManyStates};
use super::{Failure, Limits, Outcome, Problem, SearchStats, Stop};
use crate::model::Model;

/// A frame's `resume` when its parent has no more children to try.
const NO_MORE: u32 = u32::MAX;
/// How many steps between looks at the clock and the cancel flag (a power of two).
const STOP_CHECK_STEPS: u64 = 1024;
/// Most states an explanation lists.
const STATES_SHOWN_MAX: usize = 8;

/// A point in the search: which calls are linearized, and the model state they leave.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Config<const N: usize> {
    /// Completed calls before `front` are linearized; `front` itself is not.
    front: u32,
    /// Interned model state.
    state: u32,
    /// Bit `k`: completed call `front + k` is linearized.
    window: Bits<N>,
    /// Bit `p`: open call `p` is linearized.
    pending: Bits<N>,
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

struct Dfs<'p, 'm, M: Model, const N: usize> {
    problem: &'p Problem<'p>,
    table: Table<'m, M>,
    config: Config<N>,
    /// Completed calls linearized in `config`.
    done: usize,
    stack: Vec<Frame>,
    deepest: Deepest,
}

/// Runs the search with bitsets of `N` words.
pub(super) fn run<M: Model, const N: usize>(
    model: &M,
    problem: &Problem<'_>,
    limits: &Limits,
    stop: &Stop<'_>,
    stats: &mut SearchStats,
) -> Outcome {
    let mut dfs = Dfs::<M, N> {
        problem,
        table: Table::new(model, limits.model_states_max),
        config: Config {
            front: 0,
            state: 0,
            window: Bits::EMPTY,
            pending: Bits::EMPTY,
        },
        done: 0,
        stack: Vec::new(),
        deepest: Deepest {
            done: 0,
            prefix: Vec::new(),
            prefix_valid: 0,
            blocking: 0,
            states: vec![0],
        },
    };
    if problem.completed == 0 {
        return Outcome::Linearizable;
    }
    dfs.deepest.blocking = dfs.blocking_op();
    match dfs.explore(limits, stop, stats) {
        Ok(true) => Outcome::Linearizable,
        Ok(false) => Outcome::NotLinearizable(dfs.failure(model)),
        Err(reason) => Outcome::Unknown(reason),
    }
}

impl<M: Model, const N: usize> Dfs<'_, '_, M, N> {
    /// Searches until a linearization is found (`true`) or none is left (`false`).
    fn explore(
        &mut self,
        limits: &Limits,
        stop: &Stop<'_>,
        stats: &mut SearchStats,
    ) -> Result<bool, String> {
        let mut memo = Memo::new(limits.memo_capacity_entries);
        memo.insert(self.config);
        let mut cursor = 0u32;
        let mut steps = 0u64;
        loop {
            steps += 1;
            if steps & (STOP_CHECK_STEPS - 1) == 0 {
                check_stop(stop)?;
            }
            if self.config.front as usize == self.problem.completed {
                return Ok(true);
            }
            let child = self.next_child(cursor).map_err(|TooManyStates(max)| {
                format!("the model reached more than model_states_max = {max} states")
            })?;
            let Some((op, next_state, resume)) = child else {
                let Some(frame) = self.stack.pop() else {
                    return Ok(false);
                };
                self.undo(frame);
                self.deepest.prefix_valid = self.deepest.prefix_valid.min(self.stack.len());
                cursor = frame.resume;
                continue;
            };
            let frame = self.apply(op, next_state, resume);
            if !memo.insert(self.config) {
                self.undo(frame);
                cursor = resume;
                continue;
            }
            if !self.viable() {
                self.undo(frame);
                cursor = resume;
                continue;
            }
            stats.configurations += 1;
            if stats.configurations > limits.search_budget_states {
                return Err(format!(
                    "visited search_budget_states = {} configurations without a verdict (memo held {})",
                    limits.search_budget_states,
                    memo.len()
                ));
            }
            self.stack.push(frame);
            self.note_depth();
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
        let front = self.config.front as usize;
        let state = self.config.state;
        let width = problem.window[front] as usize;
        let min_ret = self.min_ret();
        let window_max = problem.window_max as u32;
        if cursor == 0 {
            // A read-only call that may go now and is legal goes now, alone: any linearization
            // can be reordered to place it here.
            for k in 0..width {
                let op = front + k;
                if problem.call[op] >= min_ret {
                    break;
                }
                if problem.read_only[op]
                    && !self.config.window.get(k)
                    && self.table.step(op as u32, problem.ops[op], state)? == Some(state)
                {
                    return Ok(Some((op as u32, state, NO_MORE)));
                }
            }
        }
        let mut pos = cursor;
        while pos < window_max {
            let k = pos as usize;
            let op = front + k;
            if k >= width || problem.call[op] >= min_ret {
                pos = window_max;
                break;
            }
            pos += 1;
            if self.config.window.get(k) {
                continue;
            }
            if let Some(next) = self.table.step(op as u32, problem.ops[op], state)? {
                return Ok(Some((op as u32, next, pos)));
            }
        }
        let pending = problem.pending_len() as u32;
        while pos < window_max + pending {
            let p = (pos - window_max) as usize;
            pos += 1;
            let op = problem.completed + p;
            if self.config.pending.get(p)
                || problem.call[op] >= min_ret
                || (!problem.class_start[p] && !self.config.pending.get(p - 1))
            {
                continue;
            }
            match self.table.step(op as u32, problem.ops[op], state)? {
                Some(next) if next != state => return Ok(Some((op as u32, next, pos))),
                _ => {}
            }
        }
        Ok(None)
    }

    /// Lookahead: false if some completed call still to be placed, which only growing calls can
    /// precede, is out of reach from the current state ([`Model::can_reach`]).
    fn viable(&mut self) -> bool {
        let problem = self.problem;
        let front = self.config.front as usize;
        if front == problem.completed {
            return true;
        }
        let width = problem.window[front] as usize;
        // The earliest call of a not-yet-placed call that may shrink the state.
        let mut shrink_call = problem.shrinking_call_from[front + width];
        for k in 0..width {
            if !self.config.window.get(k) && !problem.growing[front + k] {
                shrink_call = shrink_call.min(problem.call[front + k]);
            }
        }
        for &p in &problem.pending_shrinking {
            if !self.config.pending.get(p as usize) {
                shrink_call = shrink_call.min(problem.call[problem.completed + p as usize]);
            }
        }
        let state = self.config.state;
        (0..width).all(|k| {
            let op = front + k;
            self.config.window.get(k)
                || !problem.growing[op]
                || problem.ret[op] >= shrink_call
                || self.table.can_reach(op as u32, problem.ops[op], state)
        })
    }

    /// The earliest return among completed calls not yet linearized: nothing called after it
    /// can go next.
    fn min_ret(&self) -> u32 {
        let front = self.config.front as usize;
        let width = self.problem.window[front] as usize;
        let mut min = u32::MAX;
        for k in 0..width {
            if !self.config.window.get(k) {
                min = min.min(self.problem.ret[front + k]);
            }
        }
        min
    }

    /// The unlinearized completed call with the earliest return.
    fn blocking_op(&self) -> u32 {
        let front = self.config.front as usize;
        if front == self.problem.completed {
            // Everything is placed: nothing blocks (the search is about to succeed).
            return 0;
        }
        let width = self.problem.window[front] as usize;
        (0..width)
            .filter(|&k| !self.config.window.get(k))
            .min_by_key(|&k| self.problem.ret[front + k])
            .map_or(front as u32, |k| (front + k) as u32)
    }

    /// Linearizes `op`, leaving `next_state`; returns the frame that undoes it.
    fn apply(&mut self, op: u32, next_state: u32, resume: u32) -> Frame {
        let mut frame = Frame {
            op,
            shift: 0,
            state_before: self.config.state,
            resume,
        };
        let completed = self.problem.completed as u32;
        if op < completed {
            self.config.window.set((op - self.config.front) as usize);
            let shift = self.config.window.trailing_ones();
            self.config.window.shift_down(shift);
            self.config.front += shift as u32;
            frame.shift = shift as u32;
            self.done += 1;
        } else {
            self.config.pending.set((op - completed) as usize);
        }
        self.config.state = next_state;
        frame
    }

    /// Undoes `frame`'s step.
    fn undo(&mut self, frame: Frame) {
        let completed = self.problem.completed as u32;
        if frame.op < completed {
            self.config.window.shift_up_ones(frame.shift as usize);
            self.config.front -= frame.shift;
            self.config
                .window
                .clear((frame.op - self.config.front) as usize);
            self.done -= 1;
        } else {
            self.config.pending.clear((frame.op - completed) as usize);
        }
        self.config.state = frame.state_before;
    }

    /// Keeps the deepest prefix (most completed calls placed) for the explanation.
    fn note_depth(&mut self) {
        let blocking = if self.done > self.deepest.done {
            self.blocking_op()
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
            deepest.states.push(self.config.state);
            deepest.blocking = blocking;
        } else if self.done == deepest.done
            && deepest.states.len() < STATES_SHOWN_MAX
            && !deepest.states.contains(&self.config.state)
        {
            deepest.states.push(self.config.state);
        }
    }

    fn failure(&self, model: &M) -> Failure {
        let id = |op: u32| self.problem.ops[op as usize].id;
        Failure {
            prefix: self.deepest.prefix.iter().map(|&op| id(op)).collect(),
            blocking: id(self.deepest.blocking),
            states: self
                .deepest
                .states
                .iter()
                .map(|&s| model.describe(self.table.state(s)))
                .collect(),
        }
    }
}

fn check_stop(stop: &Stop<'_>) -> Result<(), String> {
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
