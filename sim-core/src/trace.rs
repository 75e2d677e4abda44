//! The trace: every delivery, drop, timer, fault, client event, log line and violation, folded
//! into a rolling hash and optionally streamed to a sink. Nothing is kept in memory by default,
//! so a trace never grows without bound; a sink decides what to keep (a file, a ring buffer).

use std::hash::{Hash, Hasher};

use rustc_hash::FxHasher;
use serde::Serialize;

use crate::fault::Fault;
use crate::history::HistoryEvent;
use crate::process::{NodeId, TimerId};
use crate::time::Nanos;

/// Why a message did not arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// The link lost it.
    Loss,
    /// A partition was in force when it arrived.
    Partition,
    /// The receiver was crashed when it arrived.
    NodeDown,
}

/// What happened.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TraceKind<'a, M> {
    /// A node's process started (first start or restart).
    Start {
        /// The node.
        node: NodeId,
        /// 0 at first start, then one more per crash.
        incarnation: u32,
    },
    /// A message was put on the wire (a lost one is traced as its `drop` instead). Not
    /// folded into the trace hash: the message is hashed where it ends (its delivery or drop),
    /// and this event only tells readers where in the sender's steps the send happened.
    Send {
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// The message's id, as its delivery or drop carries it.
        msg_id: u64,
    },
    /// A message arrived and was handed to the receiver.
    Deliver {
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// When it was sent.
        sent_ns: Nanos,
        /// The message's id: unique per send within a run, shared by a duplicate's copies.
        msg_id: u64,
        /// The message.
        msg: &'a M,
    },
    /// A message was lost.
    Drop {
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// When it was sent.
        sent_ns: Nanos,
        /// The message's id (see [`TraceKind::Deliver`]).
        msg_id: u64,
        /// Why.
        reason: DropReason,
        /// The message.
        msg: &'a M,
    },
    /// A timer fired.
    Timer {
        /// The node.
        node: NodeId,
        /// The timer.
        id: TimerId,
        /// Its tag.
        tag: u64,
    },
    /// A fault was applied (or ignored, when it did not apply to the node's state).
    Fault {
        /// The fault.
        fault: &'a Fault,
        /// False when the fault had no effect (restarting a node that is up, say).
        applied: bool,
    },
    /// A client event was recorded in the history.
    Client {
        /// The client node.
        node: NodeId,
        /// The history line.
        op: &'a HistoryEvent,
    },
    /// A process logged a line.
    Log {
        /// The node.
        node: NodeId,
        /// The line.
        line: &'a str,
    },
    /// A process reported a broken invariant.
    Violation {
        /// The node.
        node: NodeId,
        /// The invariant's name.
        check: &'a str,
        /// What was seen.
        detail: &'a str,
    },
}

/// One trace event at a true time.
#[derive(Debug, Serialize)]
pub struct TraceEvent<'a, M> {
    /// True time.
    pub time: Nanos,
    /// What happened.
    #[serde(flatten)]
    pub kind: TraceKind<'a, M>,
}

/// Receives every trace event as it happens.
pub trait TraceSink<M> {
    /// Called once per event, in order.
    fn record(&mut self, event: &TraceEvent<'_, M>);
}

/// The rolling hash of a trace: each event is folded into the previous value, so two runs
/// agree on the final hash only if they agree on every event, in order. Message ids and send
/// events are left out: they follow from the events that are hashed, and leaving them out kept
/// every hash pinned before they existed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceHash(u64);

impl TraceHash {
    /// The current value.
    pub fn value(self) -> u64 {
        self.0
    }

    /// Folds one event in.
    #[inline]
    pub fn fold<M: Hash>(&mut self, event: &TraceEvent<'_, M>) {
        if let TraceKind::Send { .. } = event.kind {
            return;
        }
        let mut h = FxHasher::default();
        self.0.hash(&mut h);
        event.time.hash(&mut h);
        match &event.kind {
            TraceKind::Start { node, incarnation } => (0u8, node, incarnation).hash(&mut h),
            TraceKind::Send { .. } => {}
            TraceKind::Deliver {
                from,
                to,
                sent_ns,
                msg,
                ..
            } => (1u8, from, to, sent_ns, msg).hash(&mut h),
            TraceKind::Drop {
                from,
                to,
                sent_ns,
                reason,
                msg,
                ..
            } => (2u8, from, to, sent_ns, reason, msg).hash(&mut h),
            TraceKind::Timer { node, id, tag } => (3u8, node, id, tag).hash(&mut h),
            // Faults are rare; hashing their debug form avoids a Hash impl over floats.
            TraceKind::Fault { fault, applied } => {
                (4u8, format!("{fault:?}"), applied).hash(&mut h)
            }
            TraceKind::Client { node, op } => (5u8, node, op).hash(&mut h),
            TraceKind::Log { node, line } => (6u8, node, line).hash(&mut h),
            TraceKind::Violation {
                node,
                check,
                detail,
            } => (7u8, node, check, detail).hash(&mut h),
        }
        self.0 = h.finish();
    }
}

/// A sink that keeps the last `capacity` events rendered as text; used to name the event at
/// which two runs diverge without keeping the whole trace.
#[derive(Debug)]
pub struct RecentEvents {
    capacity: usize,
    lines: std::collections::VecDeque<String>,
}

impl RecentEvents {
    /// Keeps at most `capacity` events.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            lines: std::collections::VecDeque::new(),
        }
    }

    /// The kept events, oldest first.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(String::as_str)
    }

    /// The newest event.
    pub fn last(&self) -> Option<&str> {
        self.lines.back().map(String::as_str)
    }
}

impl<M: std::fmt::Debug> TraceSink<M> for RecentEvents {
    fn record(&mut self, event: &TraceEvent<'_, M>) {
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
        }
        self.lines
            .push_back(format!("t={}ns {:?}", event.time, event.kind));
    }
}
