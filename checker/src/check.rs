//! The entry points: check a history (or dsim's in-memory events) against a model and get a
//! verdict, per-partition results and, when it is not linearizable, an explanation.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::error::{CheckError, ReadError};
use crate::explain::Explanation;
use crate::history::{Event, History, Operation, Position, Value};
use crate::model::{Kv, Model, ModelKind, ModelSpec, MultiRegister, Register, Set};
use crate::read::SourcedEvent;
use crate::search::{Limits, SearchStats};
use crate::stream::Checker;

/// How to check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckOptions {
    /// Bounds on the search.
    pub limits: Limits,
    /// Check partitions in parallel (rayon). Off gives the same explanation on every run even
    /// when several keys fail, as a deterministic simulation run wants.
    pub parallel: bool,
    /// Stop the other partitions once one is not linearizable (their verdicts are then
    /// `unknown`, cancelled). Off decides every partition.
    pub stop_on_first_failure: bool,
    /// A count of the configurations searched so far, kept up to date during the check (every
    /// thousand steps or so) for a progress display on another thread. `None` costs nothing.
    #[serde(skip)]
    pub progress: Option<Arc<Progress>>,
}

/// A live count of the configurations a check has searched, shared through
/// [`CheckOptions::progress`] and read from any thread.
#[derive(Debug, Default)]
pub struct Progress {
    configurations: AtomicU64,
}

impl Progress {
    /// Configurations searched so far (by every partition, all threads together).
    pub fn configurations(&self) -> u64 {
        self.configurations.load(Ordering::Relaxed)
    }

    pub(crate) fn counter(&self) -> &AtomicU64 {
        &self.configurations
    }
}

impl PartialEq for Progress {
    /// The same counter, not the same count.
    fn eq(&self, other: &Progress) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for Progress {}

impl Default for CheckOptions {
    fn default() -> CheckOptions {
        CheckOptions {
            limits: Limits::default(),
            parallel: true,
            stop_on_first_failure: true,
            progress: None,
        }
    }
}

/// Whether a history is linearizable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Some order of the operations explains every result.
    Linearizable,
    /// No order does.
    NotLinearizable,
    /// Undecided: a limit was reached (the report says which).
    Unknown,
}

impl Verdict {
    /// The name used in reports: `linearizable`, `not-linearizable`, `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Linearizable => "linearizable",
            Verdict::NotLinearizable => "not-linearizable",
            Verdict::Unknown => "unknown",
        }
    }
}

/// The result of checking one partition (one key).
#[derive(Clone, Debug, Serialize)]
pub struct PartitionReport {
    /// The key (`None`: operations without a key).
    pub key: Option<Value>,
    /// Its operations.
    pub ops: usize,
    /// Its verdict.
    pub verdict: Verdict,
    /// Why it is `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Search counters (summed over its parts).
    pub stats: SearchStats,
    /// How many parts the history of this partition was cut into and searched one after
    /// another (1: searched whole).
    pub parts: usize,
}

/// The result of a check.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// The overall verdict: not linearizable if any partition is not, unknown if any is
    /// undecided, linearizable otherwise.
    pub verdict: Verdict,
    /// Why it is `unknown` (the first undecided partition's reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The model's name.
    pub model: String,
    /// Operations checked (failed calls excluded).
    pub ops: usize,
    /// Per-partition results, in key order.
    pub partitions: Vec<PartitionReport>,
    /// Time spent checking, in milliseconds: from the first event to the verdict (reading
    /// included when the events are read as they are checked, [`check_stream`]).
    pub elapsed_ms: f64,
    /// Most operations held in memory at once: calls in flight, completed calls not searched
    /// yet, and calls open forever. Bounded by the history's concurrency (and
    /// [`Limits::segment_ops`]), not its length.
    pub held_ops_max: usize,
    /// For a history that is not linearizable: the first failing partition's explanation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
}

/// Checks a history read from a file against one of the built-in models.
pub fn check_history(
    history: &History,
    spec: &ModelSpec,
    options: &CheckOptions,
) -> Result<CheckReport, CheckError> {
    with_built_in(spec, HistoryFeed { history, options })
}

/// Checks dsim's in-memory client history (events in time order) against a built-in model.
pub fn check_events(
    events: &[Event],
    spec: &ModelSpec,
    options: &CheckOptions,
) -> Result<CheckReport, CheckError> {
    with_built_in(spec, EventsFeed { events, options })
}

/// Checks a stream of events (from [`crate::read::open`], say) against a built-in model,
/// holding only what the history's concurrency needs (see [`Checker`]). `source` names the
/// history in errors; a read error ends the check with that error.
pub fn check_stream<I>(
    events: I,
    source: &str,
    spec: &ModelSpec,
    options: &CheckOptions,
) -> Result<CheckReport, CheckError>
where
    I: Iterator<Item = Result<SourcedEvent, ReadError>>,
{
    let feed = StreamFeed {
        events,
        source,
        options,
    };
    with_built_in(spec, feed)
}

/// Events fed to a [`Checker`] of whichever model a [`ModelSpec`] names.
trait Feed {
    fn feed<M: Model>(self, model: &M, name: &str) -> Result<CheckReport, CheckError>;
}

/// Events read as they are checked.
struct StreamFeed<'a, I> {
    events: I,
    source: &'a str,
    options: &'a CheckOptions,
}

impl<I: Iterator<Item = Result<SourcedEvent, ReadError>>> Feed for StreamFeed<'_, I> {
    fn feed<M: Model>(self, model: &M, name: &str) -> Result<CheckReport, CheckError> {
        let mut checker = Checker::new(model, name, self.source, self.options);
        for item in self.events {
            let (event, at) = item?;
            checker.push(event, at)?;
        }
        checker.finish()
    }
}

/// A history in memory.
struct HistoryFeed<'a> {
    history: &'a History,
    options: &'a CheckOptions,
}

impl Feed for HistoryFeed<'_> {
    fn feed<M: Model>(self, model: &M, name: &str) -> Result<CheckReport, CheckError> {
        check_with_model(model, name, self.history, self.options)
    }
}

/// dsim's events in memory.
struct EventsFeed<'a> {
    events: &'a [Event],
    options: &'a CheckOptions,
}

impl Feed for EventsFeed<'_> {
    fn feed<M: Model>(self, model: &M, name: &str) -> Result<CheckReport, CheckError> {
        let mut checker = Checker::new(model, name, "history", self.options);
        for event in self.events {
            checker.push_ref(event, Position::default())?;
        }
        checker.finish()
    }
}

/// Builds the model `spec` names and feeds it.
fn with_built_in(spec: &ModelSpec, feed: impl Feed) -> Result<CheckReport, CheckError> {
    let initial = spec.initial.clone();
    let name = spec.kind.name();
    match spec.kind {
        ModelKind::Register => {
            let model = Register {
                initial: initial.unwrap_or_default(),
                cas: false,
            };
            feed.feed(&model, name)
        }
        ModelKind::CasRegister => {
            let model = Register {
                initial: initial.unwrap_or_default(),
                cas: true,
            };
            feed.feed(&model, name)
        }
        ModelKind::Kv => {
            let model = Kv {
                initial: initial.unwrap_or(Value::Str(String::new())),
            };
            feed.feed(&model, name)
        }
        ModelKind::MultiRegister => {
            let model = MultiRegister {
                initial: initial.unwrap_or_default(),
            };
            feed.feed(&model, name)
        }
        ModelKind::Set => {
            let initial: BTreeSet<Value> = match initial {
                Some(Value::List(items)) => items.into_iter().collect(),
                Some(Value::Nil) | None => BTreeSet::new(),
                Some(one) => BTreeSet::from([one]),
            };
            feed.feed(&Set { initial }, name)
        }
    }
}

/// Checks a history against any [`Model`]; `name` labels the report.
pub fn check_with_model<M: Model>(
    model: &M,
    name: &str,
    history: &History,
    options: &CheckOptions,
) -> Result<CheckReport, CheckError> {
    let mut checker = Checker::new(model, name, &history.source, options);
    push_all(&mut checker, history)?;
    checker.finish()
}

/// Pushes every event of `history`, borrowed.
fn push_all<'h, M: Model>(
    checker: &mut Checker<'_, 'h, M>,
    history: &'h History,
) -> Result<(), CheckError> {
    for (i, event) in history.events.iter().enumerate() {
        checker.push_ref(event, history.positions.get(i).copied().unwrap_or_default())?;
    }
    Ok(())
}

/// Not linearizable beats unknown beats linearizable.
pub(crate) fn overall(reports: &[PartitionReport]) -> (Verdict, Option<String>) {
    if reports
        .iter()
        .any(|r| r.verdict == Verdict::NotLinearizable)
    {
        return (Verdict::NotLinearizable, None);
    }
    match reports.iter().find(|r| r.verdict == Verdict::Unknown) {
        Some(report) => {
            let key = report
                .key
                .as_ref()
                .map(|k| format!("key {k}: "))
                .unwrap_or_default();
            (
                Verdict::Unknown,
                Some(format!(
                    "{key}{}",
                    report.reason.clone().unwrap_or_default()
                )),
            )
        }
        None => (Verdict::Linearizable, None),
    }
}

/// The operations of a report's partition (those with its key), for the HTML timeline.
pub fn partition_ops<'a, 'h>(
    report: &PartitionReport,
    ops: &'a [Operation<'h>],
) -> Vec<&'a Operation<'h>> {
    ops.iter()
        .filter(|op| op.key() == report.key.as_ref())
        .collect()
}
