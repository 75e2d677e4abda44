//! The linearizability search for one partition: Wing & Gong's backtracking with Lowe's memo of
//! (linearized set, state), on an explicit stack.
//!
//! Configurations are kept small and bounded by the history's concurrency, not its length:
//! - completed calls, sorted by call, are linearized from a *front* (every call before it is
//!   linearized) plus a window bitset of the calls concurrent with the front;
//! - calls that stay open forever (`info`) are a separate bitset; identical ones form a class
//!   that is always linearized earliest-call first, so the search never tries permutations of
//!   interchangeable calls; open calls that cannot change any state are dropped up front, and so
//!   are open calls whose effect no other call could ever see (`unseen`: a write of a value
//!   nobody reads); an open call that would leave the current state unchanged is never placed;
//! - a read-only completed call (a read, a cas that returned false) that may go next and is legal is
//!   placed at once without trying alternatives: any linearization can be reordered to put it
//!   there;
//! - a long history is searched in segments of [`SEGMENT_OPS`] completed calls, handing the
//!   configurations that end one segment to the next (with their states moved to a fresh table
//!   and the memo emptied) instead of keeping a stack frame per placed call, so the stack, the
//!   memo and the state table are bounded by a segment, not by the history's length.
//!
//! A lookahead prunes configurations from which some completed call can never become legal: a
//! `get` whose value cannot grow out of the current state, nor out of the value of a `put` that
//! may still go before it ([`crate::model::Model::can_reach`],
//! [`crate::model::Model::reset_state`]). And a state that no call still to be placed can
//! observe before the next `put` becomes one anonymous state, so the orders of appends that a
//! later `put` wipes out unseen are searched once, not once per order
//! ([`crate::model::Model::is_blind`]). That merge costs a scan of the unplaced calls at every
//! new state and pays off only in searches that backtrack, so it starts once a search has met
//! a few dead ends.

mod bits;
mod dfs;
mod memo;
mod prepare;
mod table;
mod unseen;

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::explain::OpRef;
use crate::history::Operation;
use crate::model::Model;

pub(crate) use prepare::Problem;

/// Named bounds on one partition's search; reaching one yields `unknown` with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Most configurations one partition's search may visit.
    pub search_budget_states: u64,
    /// Most memo entries per generation (two generations are kept); older ones are forgotten,
    /// which costs time but never changes a verdict.
    pub memo_capacity_entries: usize,
    /// Most distinct model states per partition.
    pub model_states_max: usize,
    /// Wall-clock limit for the whole check.
    pub timeout: Option<Duration>,
    /// Completed calls per segment of a long partition's search ([`SEGMENT_OPS`]); smaller
    /// segments use less memory and may take longer. At least 1.
    pub segment_ops: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            search_budget_states: 200_000_000,
            memo_capacity_entries: 4 << 20,
            model_states_max: 4 << 20,
            timeout: None,
            segment_ops: SEGMENT_OPS,
        }
    }
}

/// Most calls live in one configuration (window of concurrent completed calls, or open calls):
/// the widest bitset the search is compiled for.
pub const LIVE_OPS_MAX: usize = 64 * 16;

/// The default of [`Limits::segment_ops`]: most completed calls one depth-first pass covers before the configurations that end it are
/// gathered and the stack is emptied (see `dfs`): bounds the stack at this many frames (16
/// bytes each) plus the live calls. Every public history fits in one segment. An explanation
/// of a longer history shows the prefix from the start of the last segment searched.
pub const SEGMENT_OPS: usize = 1 << 14;

/// Most distinct configurations that may end one segment; more gives `unknown`.
pub const SEGMENT_EXITS_MAX: usize = 1 << 20;

/// What one partition's search found.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// A linearization exists.
    Linearizable,
    /// None exists; why.
    NotLinearizable(Failure),
    /// Undecided: a limit was reached, or the search was cancelled.
    Unknown(String),
}

/// The deepest point the search reached in a history that is not linearizable.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The operations of the longest linearizable prefix found, in order.
    pub(crate) prefix: Vec<OpRef>,
    /// The completed operation that could not be placed after it.
    pub(crate) blocking: OpRef,
    /// The model states (described) the search reached with that many operations placed.
    pub(crate) states: Vec<String>,
}

/// A configuration handed from one part of a history to the next: every completed call of
/// the earlier part is linearized; what remains is the model state and which open calls
/// (`info`) were placed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Entry<S> {
    /// The model state (`None`: a state no call still to come observes).
    pub(crate) state: Option<S>,
    /// Ids of the open calls already linearized, ascending.
    pub(crate) pending: Vec<usize>,
}

/// What searching one part of a partition gives.
#[derive(Debug)]
pub(crate) enum Step<S> {
    /// A verdict.
    Done(Outcome),
    /// The part is linearizable from these configurations on (more of the history follows).
    Next(Vec<Entry<S>>),
}

/// Counters of one search, for reports and benchmarks.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct SearchStats {
    /// Configurations visited.
    pub configurations: u64,
    /// Calls live in a configuration at most (concurrency window + open calls).
    pub live_ops: usize,
    /// Deepest the search's stack got, in frames (at most [`SEGMENT_OPS`] plus the live
    /// calls).
    pub stack_max: usize,
    /// Most configurations handed from one segment to the next (0: one segment).
    pub frontier_max: usize,
}

/// What stops a search early besides its own limits.
pub(crate) struct Stop<'a> {
    /// Set when another partition already decided the history.
    pub(crate) cancel: &'a AtomicBool,
    /// Give up after this instant.
    pub(crate) deadline: Option<Instant>,
    /// Where to add the configurations visited, now and then, for a progress display.
    pub(crate) progress: Option<&'a AtomicU64>,
}

/// Searches (part of) one partition for a linearization: `ops` are its completed calls, every
/// one called after the configurations `entries` were reached, and every open call known.
/// With `open_end`, more of the partition follows `ops` (every call of it called after they
/// all returned): the configurations that end `ops` are returned instead of a verdict.
pub(crate) fn search<M: Model>(
    model: &M,
    ops: &[&Operation<'_>],
    entries: &[Entry<M::State>],
    open_end: bool,
    limits: &Limits,
    stop: &Stop<'_>,
) -> (Step<M::State>, SearchStats) {
    let mut placed: Vec<usize> = entries
        .iter()
        .flat_map(|entry| entry.pending.iter().copied())
        .collect();
    placed.sort_unstable();
    placed.dedup();
    let problem = Problem::new(model, ops, &placed, open_end);
    let live_ops = problem.window_max.max(problem.pending_len());
    let mut stats = SearchStats {
        live_ops: problem.window_max + problem.pending_len(),
        ..SearchStats::default()
    };
    let outcome = match live_ops.div_ceil(64) {
        0 | 1 => dfs::run::<M, 1>(model, &problem, entries, limits, stop, &mut stats),
        2 => dfs::run::<M, 2>(model, &problem, entries, limits, stop, &mut stats),
        3 | 4 => dfs::run::<M, 4>(model, &problem, entries, limits, stop, &mut stats),
        5..=8 => dfs::run::<M, 8>(model, &problem, entries, limits, stop, &mut stats),
        9..=16 => dfs::run::<M, 16>(model, &problem, entries, limits, stop, &mut stats),
        _ => Step::Done(Outcome::Unknown(format!(
            "{live_ops} calls are live at once (concurrent or open forever); the search handles at most LIVE_OPS_MAX = {LIVE_OPS_MAX}"
        ))),
    };
    (outcome, stats)
}
