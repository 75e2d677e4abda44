//! Fault coverage: which faults fired, what each one affected (messages it dropped, events it
//! held back, messages it held or replayed, how long it lasted), and which configured faults never affected anything — a
//! schedule that crashes a node nobody talks to tests nothing, and the summary says so.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::fault::{Fault, NemesisKind};
use crate::time::Nanos;

/// Where a fault came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum FaultSource {
    /// The scenario's `faults` list, at this index.
    Schedule {
        /// Index in the list.
        index: u32,
    },
    /// The random nemesis, drawing this kind (undos carry the kind that started them).
    Nemesis {
        /// The kind drawn.
        kind: NemesisKind,
    },
    /// The heal at the start of the liveness phase.
    Liveness,
}

/// One fault as it happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultRecord {
    /// True time it was applied.
    pub at_ns: Nanos,
    /// The fault.
    pub fault: Fault,
    /// Its origin.
    #[serde(flatten)]
    pub source: FaultSource,
    /// False when it did not fit the state (restarting a node that was up).
    pub applied: bool,
    /// Messages it dropped: a partition's drops while in force, a crash's drops to the node
    /// while it was down.
    pub messages_dropped: u64,
    /// For a partition, messages whose fate it changed compared with the connectivity it
    /// replaced (the healed network, or the partition in force before it): dropped on a link
    /// that one let through, or delivered on a link that one cut. A partition imposed on a
    /// healed network changes exactly the messages it drops; one that replaced a partition
    /// with the same links changes none.
    pub messages_changed: u64,
    /// Events a pause held back.
    pub events_deferred: u64,
    /// Messages a hold kept back on the links it cut (each released when the hold ended).
    pub messages_held: u64,
    /// Copies of old messages a replay scheduled.
    pub messages_replayed: u64,
    /// How long a partition, hold, crash or pause lasted (`None` while still in force).
    pub lasted_ns: Option<Nanos>,
}

impl FaultRecord {
    /// Whether the fault changed anything: partitions must change a message's fate (see
    /// `messages_changed`), pauses must hold an event back, holds must hold a message and
    /// replays must replay one; other applied faults always change the run.
    pub fn affected(&self) -> bool {
        self.applied
            && match self.fault {
                Fault::Partition(_) => self.messages_changed > 0,
                Fault::Pause { .. } => self.events_deferred > 0,
                Fault::Hold { .. } => self.messages_held > 0,
                Fault::Replay { .. } => self.messages_replayed > 0,
                _ => true,
            }
    }
}

/// Totals for one kind of fault.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KindTotals {
    /// Times it fired.
    pub fired: u64,
    /// Times it applied.
    pub applied: u64,
    /// Times it affected the run.
    pub affected: u64,
    /// Messages dropped because of it.
    pub messages_dropped: u64,
    /// Events held back by it.
    pub events_deferred: u64,
    /// Messages held by it (holds).
    pub messages_held: u64,
    /// Copies of old messages it scheduled (replays).
    pub messages_replayed: u64,
    /// Total time in force (partitions, holds, crashes, pauses).
    pub time_ns: Nanos,
}

/// The coverage summary of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CoverageSummary {
    /// Totals per fault kind (`crash`, `partition`, ...).
    pub by_kind: BTreeMap<&'static str, KindTotals>,
    /// Configured faults that never affected anything, described for people.
    pub flagged: Vec<String>,
    /// Records not kept because of the limit (still counted in the totals above: no).
    pub records_not_kept: u64,
}

/// The coverage kept during a run.
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    records: Vec<FaultRecord>,
    records_max: usize,
    not_kept: u64,
}

impl Coverage {
    /// Keeps at most `records_max` records.
    pub fn new(records_max: usize) -> Self {
        Self {
            records: Vec::new(),
            records_max,
            not_kept: 0,
        }
    }

    /// Records a fault; returns its index if kept.
    pub fn record(
        &mut self,
        at_ns: Nanos,
        fault: &Fault,
        source: FaultSource,
        applied: bool,
    ) -> Option<usize> {
        if self.records.len() >= self.records_max {
            self.not_kept += 1;
            return None;
        }
        self.records.push(FaultRecord {
            at_ns,
            fault: fault.clone(),
            source,
            applied,
            messages_dropped: 0,
            messages_changed: 0,
            events_deferred: 0,
            messages_held: 0,
            messages_replayed: 0,
            lasted_ns: None,
        });
        Some(self.records.len() - 1)
    }

    /// Adds to a record's drop count.
    pub fn dropped(&mut self, record: Option<usize>) {
        if let Some(r) = record.and_then(|i| self.records.get_mut(i)) {
            r.messages_dropped += 1;
        }
    }

    /// Adds to a record's count of messages whose fate it changed.
    pub fn changed(&mut self, record: Option<usize>) {
        if let Some(r) = record.and_then(|i| self.records.get_mut(i)) {
            r.messages_changed += 1;
        }
    }

    /// Adds to a record's deferred count.
    pub fn deferred(&mut self, record: Option<usize>) {
        if let Some(r) = record.and_then(|i| self.records.get_mut(i)) {
            r.events_deferred += 1;
        }
    }

    /// Adds to a record's count of held messages.
    pub fn held(&mut self, record: Option<usize>) {
        if let Some(r) = record.and_then(|i| self.records.get_mut(i)) {
            r.messages_held += 1;
        }
    }

    /// Adds `copies` to a record's count of replayed messages.
    pub fn replayed(&mut self, record: Option<usize>, copies: u64) {
        if let Some(r) = record.and_then(|i| self.records.get_mut(i)) {
            r.messages_replayed += copies;
        }
    }

    /// Closes a record's duration at `now`.
    pub fn ended(&mut self, record: Option<usize>, now: Nanos) {
        if let Some(r) = record.and_then(|i| self.records.get_mut(i)) {
            r.lasted_ns.get_or_insert(now.saturating_sub(r.at_ns));
        }
    }

    /// All kept records, in order.
    pub fn records(&self) -> &[FaultRecord] {
        &self.records
    }

    /// Totals and flags as of `now`; `nemesis_kinds` are the kinds the nemesis could draw, so
    /// a kind that never fired, or fired but never affected the run, is flagged too.
    pub fn summary(&self, now: Nanos, nemesis_kinds: &[NemesisKind]) -> CoverageSummary {
        let mut summary = CoverageSummary {
            records_not_kept: self.not_kept,
            ..Default::default()
        };
        for r in &self.records {
            let totals = summary.by_kind.entry(kind_name(&r.fault)).or_default();
            totals.fired += 1;
            totals.applied += u64::from(r.applied);
            totals.affected += u64::from(r.affected());
            totals.messages_dropped += r.messages_dropped;
            totals.events_deferred += r.events_deferred;
            totals.messages_held += r.messages_held;
            totals.messages_replayed += r.messages_replayed;
            if r.applied
                && matches!(
                    r.fault,
                    Fault::Partition(_)
                        | Fault::Hold { .. }
                        | Fault::Crash { .. }
                        | Fault::Pause { .. }
                )
            {
                totals.time_ns += r.lasted_ns.unwrap_or_else(|| now.saturating_sub(r.at_ns));
            }
            if let FaultSource::Schedule { index } = r.source
                && !r.affected()
            {
                let why = if r.applied {
                    "had no effect"
                } else {
                    "did not apply"
                };
                summary.flagged.push(format!(
                    "faults[{index}] ({} at {:.3} s) {why}",
                    kind_name(&r.fault),
                    r.at_ns as f64 / 1e9
                ));
            }
        }
        for kind in nemesis_kinds {
            // Undos carry the kind that started them but are not judged: a heal ends whatever
            // partition is in force, whether or not that partition did anything.
            let started = self.records.iter().filter(|r| {
                r.source == FaultSource::Nemesis { kind: *kind } && !is_undo_only(&r.fault)
            });
            let (fired, affected) = started.fold((0u64, 0u64), |(f, a), r| {
                (f + 1, a + u64::from(r.affected()))
            });
            if fired == 0 {
                summary
                    .flagged
                    .push(format!("nemesis kind {kind:?} never fired"));
            } else if affected == 0 {
                let times = if fired == 1 { "time" } else { "times" };
                summary.flagged.push(format!(
                    "nemesis kind {kind:?} fired {fired} {times} but never affected the run"
                ));
            }
        }
        summary
    }
}

/// Whether the nemesis uses `fault` only to undo another (a clock jump back is a jump too).
fn is_undo_only(fault: &Fault) -> bool {
    matches!(
        fault,
        Fault::Restart { .. } | Fault::Resume { .. } | Fault::Heal
    )
}

/// A short name for a fault's kind.
pub fn kind_name(fault: &Fault) -> &'static str {
    match fault {
        Fault::Crash { .. } => "crash",
        Fault::Restart { .. } => "restart",
        Fault::Pause { .. } => "pause",
        Fault::Resume { .. } => "resume",
        Fault::ClockJump { .. } => "clock_jump",
        Fault::ClockDrift { .. } => "clock_drift",
        Fault::Partition(_) => "partition",
        Fault::Hold { .. } => "hold",
        Fault::Replay { .. } => "replay",
        Fault::Heal => "heal",
        Fault::HealAll => "heal_all",
    }
}
