//! The streaming check: events go in one at a time and memory stays bounded by the history's
//! concurrency, not its length.
//!
//! Invocations are paired with their completions as they arrive (one open call per process)
//! and each operation goes to its key's partition. A partition's completed calls wait until
//! [`crate::Limits::segment_ops`] of them have gathered; then the partition is *cut* at the
//! latest point where none of them is in flight — every completed call before the cut returned
//! before any call after it (held or still in flight) was called, so every linearization
//! places all of the former first. The calls before the cut are searched from the
//! configurations the previous part ended in, the configurations that end them (model state
//! and which open calls were placed) are kept and the calls are dropped. What stays held is
//! the calls in flight, the completed calls since the last cut, and the calls that stay open
//! forever (`info` or never completed: they may take effect at any later time, which is
//! concurrency). A call in flight that never completes prevents cuts in its partition until the
//! end. At the end every partition's last part is searched, in parallel as in
//! [`crate::partition`].

use std::borrow::Cow;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use rustc_hash::{FxBuildHasher, FxHashMap};

use crate::check::{CheckOptions, CheckReport, PartitionReport, Progress, Verdict};
use crate::error::{CheckError, HistoryError};
use crate::explain::Explanation;
use crate::history::{Event, EventKind, Operation, Position, Value, call_text};
use crate::in_flight::InFlight;
use crate::model::Model;
use crate::partition::{self, Partition, RunMode};
use crate::search::{self, Entry, Outcome, SearchStats, Step, Stop};

/// Processes and keys the checker's maps have room for before they grow.
const MAPS_CAPACITY: usize = 16;

/// Completed calls a new partition has room for before its vector grows: a key's first calls
/// cost no reallocation (c10-ok: 3% of a check), and many small keys cost little memory.
const PART_CALLS_CAPACITY: usize = 16;

/// Checks a history event by event against a [`Model`]: [`Checker::push`] each event in
/// history order, then [`Checker::finish`].
pub struct Checker<'m, 'h, M: Model> {
    model: &'m M,
    name: String,
    source: String,
    options: CheckOptions,
    start: Instant,
    deadline: Option<Instant>,
    /// The call in flight of each process (never iterated in an order that shows).
    open: InFlight<Open<'h>>,
    /// Partition number of each key.
    index: FxHashMap<Value, usize>,
    /// Partition number of the calls without a key.
    unkeyed: Option<usize>,
    parts: Vec<Part<'h, M::State>>,
    /// Events pushed: the position of the next one.
    position: usize,
    /// Invocations pushed: the id of the next call.
    invoked: usize,
    /// Operations that did not fail.
    ops: usize,
    /// Operations held now, and at most.
    held: usize,
    held_max: usize,
    /// A partition was found not linearizable before the end, and the others are cancelled.
    cancelled: bool,
}

/// An event as [`Checker`] takes it in: owned (its key and value move into the operation) or
/// borrowed from a history that outlives the check (they are borrowed).
trait Incoming<'h> {
    /// The event.
    fn event(&self) -> &Event;
    /// Its key and value, for an operation.
    fn into_parts(self) -> (Option<Cow<'h, Value>>, Cow<'h, Value>);
}

impl<'h> Incoming<'h> for Event {
    fn event(&self) -> &Event {
        self
    }

    fn into_parts(self) -> (Option<Cow<'h, Value>>, Cow<'h, Value>) {
        (self.key.map(Cow::Owned), Cow::Owned(self.value))
    }
}

impl<'h> Incoming<'h> for &'h Event {
    fn event(&self) -> &Event {
        self
    }

    fn into_parts(self) -> (Option<Cow<'h, Value>>, Cow<'h, Value>) {
        (
            self.key.as_ref().map(Cow::Borrowed),
            Cow::Borrowed(&self.value),
        )
    }
}

/// A call in flight. Operations are boxed from their call to their drop: they move through
/// the map of calls in flight and their partition's growing vectors as one pointer, not as
/// some 170 bytes.
struct Open<'h> {
    op: Box<Operation<'h>>,
    part: usize,
}

/// One key's share of the check so far.
#[expect(
    clippy::vec_box,
    reason = "operations move between the map of calls in flight and these vectors, and grow them: a pointer moves faster than the operation (c10-ok: 3.6% fewer instructions)"
)]
struct Part<'h, S> {
    key: Option<Value>,
    /// Operations that did not fail.
    ops: usize,
    /// Completed calls after the last cut, in call order (see [`insert_by_call`]).
    completed: Vec<Box<Operation<'h>>>,
    /// Calls that stay open forever and may change the state.
    pending: Vec<Box<Operation<'h>>>,
    /// The configurations the last cut part ended in.
    entries: Vec<Entry<S>>,
    /// The verdict, once one part decided it before the end.
    decided: Option<Outcome>,
    stats: SearchStats,
    /// Parts searched so far.
    cuts: usize,
    /// Size of `completed` at which the next cut is tried.
    cut_at: usize,
}

impl<'m, 'h, M: Model> Checker<'m, 'h, M> {
    /// A check of the history named `source` against `model`, labelled `name` in the report.
    pub fn new(
        model: &'m M,
        name: &str,
        source: &str,
        options: &CheckOptions,
    ) -> Checker<'m, 'h, M> {
        let start = Instant::now();
        Checker {
            model,
            name: name.to_owned(),
            source: source.to_owned(),
            options: options.clone(),
            start,
            deadline: options.limits.timeout.map(|timeout| start + timeout),
            // Room for a typical history's processes and keys, so that small checks never
            // rehash.
            open: InFlight::new(),
            index: FxHashMap::with_capacity_and_hasher(MAPS_CAPACITY, FxBuildHasher),
            unkeyed: None,
            parts: Vec::new(),
            position: 0,
            invoked: 0,
            ops: 0,
            held: 0,
            held_max: 0,
            cancelled: false,
        }
    }

    /// Takes the next event of the history (`at`: where it starts in its source, 0:0 when
    /// unknown).
    pub fn push(&mut self, event: Event, at: Position) -> Result<(), CheckError> {
        self.accept(event, at)
    }

    /// [`Checker::push`] for an event that outlives the check: its key and value are
    /// borrowed, not copied.
    pub fn push_ref(&mut self, event: &'h Event, at: Position) -> Result<(), CheckError> {
        self.accept(event, at)
    }

    /// Takes an event, owned or borrowed.
    fn accept<E: Incoming<'h>>(&mut self, incoming: E, at: Position) -> Result<(), CheckError> {
        let position = self.position;
        self.position += 1;
        let event = incoming.event();
        if event.kind == EventKind::Invoke {
            return self.invoke(incoming, at, position);
        }
        let Some(Open { mut op, part }) = self.open.remove(event.process) else {
            return Err(HistoryError::NoInvoke {
                source_name: self.source.clone(),
                line: at.line,
                column: at.column,
                process: event.process,
            }
            .into());
        };
        // A completion may leave the key out; if it names one, it must be the call's.
        if op.f != event.f || (event.key.is_some() && op.key() != event.key.as_ref()) {
            return Err(HistoryError::Mismatch {
                source_name: self.source.clone(),
                line: at.line,
                column: at.column,
                process: event.process,
                expected: call_text(op.f, op.key()),
                found: call_text(event.f, event.key.as_ref()),
            }
            .into());
        }
        match event.kind {
            EventKind::Ok => {
                op.ret = Some(position);
                op.ret_time = Some(event.time);
                op.output = Some(incoming.into_parts().1);
                self.validate(&op)?;
                self.ops += 1;
                let p = &mut self.parts[part];
                p.ops += 1;
                if p.decided.is_some() || self.cancelled {
                    self.held -= 1;
                } else {
                    insert_by_call(&mut p.completed, op);
                    if p.completed.len() >= p.cut_at {
                        self.try_cut(part);
                    }
                }
            }
            EventKind::Info | EventKind::Invoke => self.open_forever(op, part)?,
            // It did not happen.
            EventKind::Fail => self.held -= 1,
        }
        Ok(())
    }

    /// Searches what is left and gives the verdict.
    pub fn finish(mut self) -> Result<CheckReport, CheckError> {
        // Calls never completed stay open forever, in call order.
        let mut never: Vec<Open> = self.open.drain();
        never.sort_by_key(|open| open.op.id);
        for Open { op, part } in never {
            self.open_forever(op, part)?;
        }
        let mut order: Vec<usize> = (0..self.parts.len()).collect();
        order.sort_by(|&a, &b| self.parts[a].key.cmp(&self.parts[b].key));
        let undecided: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| self.parts[i].decided.is_none())
            .collect();
        let results = if self.cancelled {
            let reason = "cancelled: another partition is not linearizable";
            undecided
                .iter()
                .map(|_| (Outcome::Unknown(reason.to_owned()), SearchStats::default()))
                .collect()
        } else {
            let taken: Vec<Vec<Entry<M::State>>> = undecided
                .iter()
                .map(|&i| std::mem::take(&mut self.parts[i].entries))
                .collect();
            let jobs: Vec<Partition<'_, M::State>> = undecided
                .iter()
                .zip(taken)
                .map(|(&i, entries)| {
                    let part = &self.parts[i];
                    Partition {
                        ops: part
                            .completed
                            .iter()
                            .chain(&part.pending)
                            .map(|op| &**op)
                            .collect(),
                        entries: Mutex::new(entries),
                        visited: part.stats.configurations,
                    }
                })
                .collect();
            let mode = RunMode {
                parallel: self.options.parallel,
                stop_on_first_failure: self.options.stop_on_first_failure,
            };
            let progress = self.options.progress.as_deref().map(Progress::counter);
            partition::check_all(
                self.model,
                &jobs,
                &self.options.limits,
                mode,
                self.deadline,
                progress,
            )
        };
        for (&i, (outcome, stats)) in undecided.iter().zip(results) {
            let part = &mut self.parts[i];
            part.decided = Some(outcome);
            merge(&mut part.stats, &stats);
        }
        Ok(self.report(&order))
    }

    /// Opens a call for an invocation's process.
    fn invoke<E: Incoming<'h>>(
        &mut self,
        incoming: E,
        at: Position,
        position: usize,
    ) -> Result<(), CheckError> {
        let event = incoming.event();
        if let Some(open) = self.open.get(event.process) {
            return Err(HistoryError::DoubleInvoke {
                source_name: self.source.clone(),
                line: at.line,
                column: at.column,
                process: event.process,
                open_line: open.op.line,
            }
            .into());
        }
        let part = self.part_of(event.key.as_ref());
        let (process, f, call_time) = (event.process, event.f, event.time);
        let (key, input) = incoming.into_parts();
        let op = Box::new(Operation {
            id: self.invoked,
            process,
            f,
            key,
            input,
            output: None,
            call: position,
            ret: None,
            call_time,
            ret_time: None,
            line: at.line,
            column: at.column,
        });
        self.invoked += 1;
        self.open.insert(op.process, Open { op, part });
        self.held += 1;
        self.held_max = self.held_max.max(self.held);
        Ok(())
    }

    /// The partition of `key`, made on first sight.
    fn part_of(&mut self, key: Option<&Value>) -> usize {
        let known = match key {
            Some(key) => self.index.get(key).copied(),
            None => self.unkeyed,
        };
        if let Some(part) = known {
            return part;
        }
        let part = self.parts.len();
        self.parts.push(Part {
            key: key.cloned(),
            ops: 0,
            completed: Vec::with_capacity(PART_CALLS_CAPACITY),
            pending: Vec::new(),
            entries: vec![Entry {
                state: Some(self.model.init()),
                pending: Vec::new(),
            }],
            decided: None,
            stats: SearchStats::default(),
            cuts: 0,
            cut_at: self.options.limits.segment_ops.max(1),
        });
        match key {
            Some(key) => {
                self.index.insert(key.clone(), part);
            }
            None => self.unkeyed = Some(part),
        }
        part
    }

    /// Keeps a call whose outcome is unknown until the end, unless it cannot change any state.
    fn open_forever(&mut self, op: Box<Operation<'h>>, part: usize) -> Result<(), CheckError> {
        self.validate(&op)?;
        self.ops += 1;
        let p = &mut self.parts[part];
        p.ops += 1;
        if p.decided.is_some() || self.cancelled || self.model.is_read_only(&op) {
            self.held -= 1;
        } else {
            p.pending.push(op);
        }
        // The call no longer keeps a cut from being made before it.
        if p.completed.len() >= p.cut_at {
            self.try_cut(part);
        }
        Ok(())
    }

    fn validate(&self, op: &Operation<'_>) -> Result<(), CheckError> {
        self.model
            .validate(op)
            .map_err(|message| CheckError::Model {
                source_name: self.source.clone(),
                line: op.line,
                column: op.column,
                op: op.to_string(),
                message,
            })
    }

    /// Cuts partition `part` at the latest point none of its completed calls is in flight (see
    /// the module docs), searches the calls before it and drops them.
    fn try_cut(&mut self, part: usize) {
        if self.parts[part].decided.is_some() || self.cancelled {
            return;
        }
        // No completed call may be called after a call in flight (it might still return ok).
        let horizon = self
            .open
            .values()
            .filter(|open| open.part == part)
            .map(|open| open.op.call)
            .min()
            .unwrap_or(usize::MAX);
        let p = &mut self.parts[part];
        p.completed.sort_unstable_by_key(|op| op.call);
        // The latest k such that every call before k returned before call k (and every call
        // in flight) was called.
        let mut cut = 0;
        let mut ret_max = 0;
        let mut scanned = 0;
        for op in &p.completed {
            if scanned > 0 && ret_max < op.call.min(horizon) {
                cut = scanned;
            }
            if op.call >= horizon {
                break;
            }
            ret_max = ret_max.max(op.ret.unwrap_or(usize::MAX));
            scanned += 1;
        }
        if scanned == p.completed.len() && ret_max < horizon {
            cut = scanned;
        }
        let step = self.options.limits.segment_ops.max(1);
        if cut == 0 {
            // Try again once a quarter segment more has gathered.
            p.cut_at = p.completed.len() + step.div_ceil(4);
            return;
        }
        let ops: Vec<&Operation<'_>> = p.completed[..cut]
            .iter()
            .chain(&p.pending)
            .map(|op| &**op)
            .collect();
        let limits = partition::budget_left(&self.options.limits, p.stats.configurations);
        let never = AtomicBool::new(false);
        let stop = Stop {
            cancel: &never,
            deadline: self.deadline,
            progress: self.options.progress.as_deref().map(Progress::counter),
        };
        let (step_result, stats) =
            search::search(self.model, &ops, &p.entries, true, &limits, &stop);
        drop(ops);
        merge(&mut p.stats, &stats);
        p.cuts += 1;
        match step_result {
            Step::Next(entries) => {
                p.stats.frontier_max = p.stats.frontier_max.max(entries.len());
                p.entries = entries;
                p.completed.drain(..cut);
                self.held -= cut;
            }
            Step::Done(outcome) => {
                if matches!(outcome, Outcome::NotLinearizable(_))
                    && self.options.stop_on_first_failure
                {
                    self.cancelled = true;
                }
                p.decided = Some(outcome);
                self.held -= p.completed.len() + p.pending.len();
                p.completed = Vec::new();
                p.pending = Vec::new();
                p.entries = Vec::new();
            }
        }
        p.cut_at = p.completed.len() + step;
    }

    /// The report, partitions in key order (`order`).
    fn report(self, order: &[usize]) -> CheckReport {
        let mut explanation = None;
        let mut reports = Vec::with_capacity(order.len());
        for &i in order {
            let part = &self.parts[i];
            let (verdict, reason) = match &part.decided {
                Some(Outcome::Linearizable) | None => (Verdict::Linearizable, None),
                Some(Outcome::Unknown(reason)) => (Verdict::Unknown, Some(reason.clone())),
                Some(Outcome::NotLinearizable(failure)) => {
                    if explanation.is_none() {
                        explanation = Some(Explanation {
                            key: part.key.clone(),
                            op: failure.blocking.clone(),
                            prefix: failure.prefix.clone(),
                            states_before: failure.states.clone(),
                        });
                    }
                    (Verdict::NotLinearizable, None)
                }
            };
            reports.push(PartitionReport {
                key: part.key.clone(),
                ops: part.ops,
                verdict,
                reason,
                stats: part.stats,
                parts: part.cuts + 1,
            });
        }
        let (verdict, reason) = crate::check::overall(&reports);
        CheckReport {
            verdict,
            reason,
            model: self.name,
            ops: self.ops,
            partitions: reports,
            elapsed_ms: self.start.elapsed().as_secs_f64() * 1e3,
            held_ops_max: self.held_max,
            explanation,
        }
    }
}

/// Adds a completed call to calls sorted by call, keeping them sorted: it moves back only past
/// the calls made after it that completed first, as many as the calls concurrent with it.
/// The search's sort by call then finds them sorted at once.
fn insert_by_call<'h>(completed: &mut Vec<Box<Operation<'h>>>, op: Box<Operation<'h>>) {
    let call = op.call;
    completed.push(op);
    let mut i = completed.len() - 1;
    while i > 0 && completed[i - 1].call > call {
        completed.swap(i - 1, i);
        i -= 1;
    }
}

/// Adds one search's counters to a partition's.
fn merge(total: &mut SearchStats, one: &SearchStats) {
    total.configurations += one.configurations;
    total.live_ops = total.live_ops.max(one.live_ops);
    total.stack_max = total.stack_max.max(one.stack_max);
    total.frontier_max = total.frontier_max.max(one.frontier_max);
}
