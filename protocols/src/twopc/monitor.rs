//! The run's global view of every transaction, shared by the coordinator and the participants
//! of one run: who voted yes with which effects, what the coordinator decided and in which
//! order, and what each participant finally did. It checks atomicity as events happen (the
//! caller turns an `Err` into `ctx.violation`) and keeps what the end checks and the metrics
//! need. It observes; the protocol never reads it to decide anything.

use std::collections::BTreeMap;

use sim_core::{Nanos, NodeId};

use super::msg::{Effects, TxnId};

/// How many transactions one run's monitor records before it stops (and says so).
pub const MONITOR_TXNS_MAX: usize = 1 << 20;

/// Everything known about one transaction.
#[derive(Clone, Debug, Default)]
pub struct TxnRecord {
    /// Its participants, as the coordinator chose them.
    pub participants: Vec<NodeId>,
    /// The coordinator's decision, once made (`true`: commit).
    pub decision: Option<bool>,
    /// The yes votes, with what each participant read and will write.
    pub yes: BTreeMap<NodeId, Effects>,
    /// What each participant did in the end (`true`: applied the commit).
    pub outcomes: BTreeMap<NodeId, bool>,
}

/// In-doubt time of participants: from voting yes until learning the decision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InDoubtStats {
    /// Resolved in-doubt periods.
    pub count: u64,
    /// Their total length (local clocks).
    pub total_ns: Nanos,
    /// The longest.
    pub max_ns: Nanos,
}

/// The monitor of one run.
#[derive(Debug, Default)]
pub struct Monitor {
    txns: BTreeMap<TxnId, TxnRecord>,
    /// Committed transactions in decision order.
    committed: Vec<TxnId>,
    aborts: u64,
    in_doubt: InDoubtStats,
    resolved_by_peers: u64,
    overflowed: bool,
}

impl Monitor {
    /// The coordinator starts `txn` over `participants`.
    pub fn begin(&mut self, txn: TxnId, participants: &[NodeId]) {
        if let Some(record) = self.record(txn) {
            record.participants = participants.to_vec();
        }
    }

    /// `node` votes yes for `txn` (its prepare record is durable unless a bug says otherwise).
    /// Only votes before the decision count, as for the coordinator: a later one comes from a
    /// stray duplicate of the prepare and is answered with the decision.
    pub fn voted_yes(&mut self, txn: TxnId, node: NodeId, effects: &Effects) {
        if let Some(record) = self.record(txn)
            && record.decision.is_none()
        {
            record.yes.insert(node, effects.clone());
        }
    }

    /// The coordinator decides `txn`. A commit needs a yes vote from every participant and no
    /// participant that already aborted; a decision never changes.
    pub fn decided(&mut self, txn: TxnId, commit: bool) -> Result<(), String> {
        let Some(record) = self.record(txn) else {
            return Ok(());
        };
        if let Some(before) = record.decision {
            if before != commit {
                return Err(format!(
                    "{txn} decided {} after it was decided {}",
                    word(commit),
                    word(before)
                ));
            }
            return Ok(());
        }
        record.decision = Some(commit);
        if !commit {
            self.aborts += 1;
            return Ok(());
        }
        self.committed.push(txn);
        let record = &self.txns[&txn];
        if let Some(p) = record
            .participants
            .iter()
            .find(|p| !record.yes.contains_key(p))
        {
            return Err(format!("{txn} committed without a yes vote from {p}"));
        }
        if let Some((p, _)) = record.outcomes.iter().find(|(_, c)| !**c) {
            return Err(format!("{txn} committed although {p} aborted it"));
        }
        Ok(())
    }

    /// `node` applies the decision `commit` for `txn` (durably). It must match the
    /// coordinator's decision; aborting an undecided transaction is a participant's right.
    pub fn applied(&mut self, txn: TxnId, node: NodeId, commit: bool) -> Result<(), String> {
        let Some(record) = self.record(txn) else {
            return Ok(());
        };
        let already_committed = record.outcomes.get(&node) == Some(&true);
        if !already_committed {
            record.outcomes.insert(node, commit);
        }
        match (record.decision, commit) {
            (Some(false), true) | (None, true) => Err(format!(
                "{node} committed {txn} but the coordinator {}",
                record
                    .decision
                    .map_or("has not decided it", |_| "decided abort")
            )),
            // A participant that applied the commit and later aborts a stray re-prepare of the
            // same transaction (a network duplicate after it was forgotten) changes nothing.
            (Some(true), false) if !already_committed => Err(format!(
                "{node} aborted {txn} but the coordinator decided commit"
            )),
            _ => Ok(()),
        }
    }

    /// `node` is told to commit `txn` but has no prepare record for it: fine if it already
    /// applied the commit (a resent decision), otherwise it lost a prepared transaction.
    pub fn commit_of_unknown(&mut self, txn: TxnId, node: NodeId) -> Result<(), String> {
        let Some(record) = self.txns.get(&txn) else {
            return Ok(());
        };
        if record.outcomes.get(&node) == Some(&true) {
            return Ok(());
        }
        let how = if record.yes.contains_key(&node) {
            "it voted yes but lost its prepare record"
        } else {
            "it never voted yes"
        };
        Err(format!(
            "{node} is told to commit {txn} but cannot: {how}; its writes are lost"
        ))
    }

    /// A participant was in doubt for `duration_ns` before it learned the decision.
    pub fn in_doubt(&mut self, duration_ns: Nanos) {
        let s = &mut self.in_doubt;
        s.count += 1;
        s.total_ns = s.total_ns.saturating_add(duration_ns);
        s.max_ns = s.max_ns.max(duration_ns);
    }

    /// An in-doubt participant learned the decision from a peer, not the coordinator.
    pub fn resolved_by_peer(&mut self) {
        self.resolved_by_peers += 1;
    }

    /// Every transaction recorded.
    pub fn txns(&self) -> &BTreeMap<TxnId, TxnRecord> {
        &self.txns
    }

    /// Committed transactions in decision order.
    pub fn committed(&self) -> &[TxnId] {
        &self.committed
    }

    /// Number of commit decisions.
    pub fn commits(&self) -> u64 {
        self.committed.len() as u64
    }

    /// Number of abort decisions (presumed aborts after a coordinator crash are not counted).
    pub fn aborts(&self) -> u64 {
        self.aborts
    }

    /// In-doubt statistics.
    pub fn in_doubt_stats(&self) -> InDoubtStats {
        self.in_doubt
    }

    /// How many in-doubt periods a peer ended (cooperative termination).
    pub fn resolved_by_peers(&self) -> u64 {
        self.resolved_by_peers
    }

    /// Whether [`MONITOR_TXNS_MAX`] was reached, so the end checks saw only part of the run.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    fn record(&mut self, txn: TxnId) -> Option<&mut TxnRecord> {
        if !self.txns.contains_key(&txn) && self.txns.len() >= MONITOR_TXNS_MAX {
            self.overflowed = true;
            return None;
        }
        Some(self.txns.entry(txn).or_default())
    }
}

fn word(commit: bool) -> &'static str {
    if commit { "commit" } else { "abort" }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: TxnId = TxnId { epoch: 1, seq: 1 };

    #[test]
    fn a_commit_needs_every_yes_vote() {
        let mut m = Monitor::default();
        m.begin(T, &[NodeId(1), NodeId(2)]);
        m.voted_yes(T, NodeId(1), &Effects::default());
        let err = m.decided(T, true).unwrap_err();
        assert!(err.contains("without a yes vote from n2"), "{err}");
    }

    #[test]
    fn participants_must_follow_the_decision() {
        let mut m = Monitor::default();
        m.begin(T, &[NodeId(1), NodeId(2)]);
        m.voted_yes(T, NodeId(1), &Effects::default());
        m.voted_yes(T, NodeId(2), &Effects::default());
        assert_eq!(m.decided(T, true), Ok(()));
        assert_eq!(m.applied(T, NodeId(1), true), Ok(()));
        assert!(m.applied(T, NodeId(2), false).is_err());
        assert_eq!(m.commit_of_unknown(T, NodeId(1)), Ok(()));
        assert!(m.commit_of_unknown(T, NodeId(2)).is_err());
    }

    #[test]
    fn an_early_abort_is_allowed_but_forbids_a_later_commit() {
        let mut m = Monitor::default();
        m.begin(T, &[NodeId(1)]);
        assert_eq!(m.applied(T, NodeId(1), false), Ok(()));
        m.voted_yes(T, NodeId(1), &Effects::default());
        assert!(m.decided(T, true).is_err());
        assert_eq!(m.commits(), 1);
    }
}
