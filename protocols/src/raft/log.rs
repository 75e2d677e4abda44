//! The replicated log: entries after the last snapshot, addressed by their absolute index
//! (the first entry ever is index 1; index 0 is the empty prefix with term 0).
//!
//! This is the in-memory mirror of the log on disk; [`super::persist`] writes every change to
//! storage under per-entry keys before the server relies on it.

use serde::{Deserialize, Serialize};
use sim_core::{NodeId, OpFn, Value};

/// One log entry: the term of the leader that created it and its command.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry {
    /// Term in which a leader appended it.
    pub term: u64,
    /// What the state machine does with it.
    pub command: Command,
}

/// A log entry's command.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Command {
    /// Appended by every new leader so that it commits an entry of its own term promptly
    /// (the paper's §8: a leader learns what is committed only through its own term's entries).
    Noop,
    /// A client's key/value operation.
    Client(ClientCommand),
}

/// A client's key/value operation, tagged with its session so a retry is applied at most once.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClientCommand {
    /// The client's node: its session id.
    pub client: NodeId,
    /// The client's sequence number for this operation (increasing per client).
    pub seq: u64,
    /// Read, write, compare-and-set or append.
    pub f: OpFn,
    /// The key.
    pub key: u64,
    /// The argument (nil for reads, `[expected, new]` for cas).
    pub value: Value,
}

/// A compact identity of an entry, for the invariant monitor: equal identities mean the same
/// command was appended by the same term's leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EntryId {
    /// The entry's term.
    pub term: u64,
    /// The client and sequence number, or `None` for a leader's no-op.
    pub session: Option<(NodeId, u64)>,
}

impl Entry {
    /// The entry's identity for the monitor.
    pub fn id(&self) -> EntryId {
        EntryId {
            term: self.term,
            session: match &self.command {
                Command::Noop => None,
                Command::Client(c) => Some((c.client, c.seq)),
            },
        }
    }
}

/// The log after the last snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Log {
    /// Index of the last entry covered by the snapshot (0: no snapshot).
    snapshot_index: u64,
    /// Term of that entry.
    snapshot_term: u64,
    /// Entries `snapshot_index + 1 ..= last_index()`.
    entries: Vec<Entry>,
}

impl Log {
    /// A log that starts after a snapshot covering `..= snapshot_index`.
    pub fn after_snapshot(snapshot_index: u64, snapshot_term: u64) -> Self {
        Self {
            snapshot_index,
            snapshot_term,
            entries: Vec::new(),
        }
    }

    /// Index of the last entry covered by the snapshot.
    pub fn snapshot_index(&self) -> u64 {
        self.snapshot_index
    }

    /// Term of the last entry covered by the snapshot.
    pub fn snapshot_term(&self) -> u64 {
        self.snapshot_term
    }

    /// Index of the last entry (the snapshot's if the log is empty).
    pub fn last_index(&self) -> u64 {
        self.snapshot_index + self.entries.len() as u64
    }

    /// Term of the last entry.
    pub fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.snapshot_term, |e| e.term)
    }

    /// Term of the entry at `index`: known for the snapshot's last entry and the entries after
    /// it, `None` for compacted or missing ones.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.snapshot_index {
            Some(self.snapshot_term)
        } else {
            self.entry(index).map(|e| e.term)
        }
    }

    /// The entry at `index`, if it is in the log (not compacted, not beyond the end).
    pub fn entry(&self, index: u64) -> Option<&Entry> {
        let offset = index.checked_sub(self.snapshot_index + 1)?;
        self.entries.get(usize::try_from(offset).ok()?)
    }

    /// Up to `max` entries starting at `from` (which must be after the snapshot).
    pub fn slice(&self, from: u64, max: usize) -> &[Entry] {
        let start = from.saturating_sub(self.snapshot_index + 1) as usize;
        let start = start.min(self.entries.len());
        let end = start.saturating_add(max).min(self.entries.len());
        &self.entries[start..end]
    }

    /// Appends `entry` and returns its index.
    pub fn push(&mut self, entry: Entry) -> u64 {
        self.entries.push(entry);
        self.last_index()
    }

    /// Removes the entries at `from` and after.
    pub fn truncate_from(&mut self, from: u64) {
        let keep = from.saturating_sub(self.snapshot_index + 1) as usize;
        self.entries.truncate(keep);
    }

    /// Drops the entries up to `index` (now covered by a snapshot whose last term is `term`).
    /// If `index` is beyond the end, the whole log is replaced by the snapshot.
    pub fn compact_to(&mut self, index: u64, term: u64) {
        if index <= self.snapshot_index {
            return;
        }
        // Beyond the end, everything goes.
        let drop = ((index - self.snapshot_index) as usize).min(self.entries.len());
        self.entries.drain(..drop);
        self.snapshot_index = index;
        self.snapshot_term = term;
    }

    /// The first index of the run of entries with term `term` that contains `index`, never
    /// below the first entry after the snapshot: the follower's conflict hint.
    pub fn first_index_of_term_run(&self, index: u64, term: u64) -> u64 {
        let mut first = index;
        while first > self.snapshot_index + 1 && self.term_at(first - 1) == Some(term) {
            first -= 1;
        }
        first
    }

    /// The last index holding an entry of term `term`, if any (the leader's use of a hint).
    pub fn last_index_of_term(&self, term: u64) -> Option<u64> {
        // Terms never decrease along the log, so search back from the end and stop early.
        let mut index = self.last_index();
        while index > self.snapshot_index {
            match self.term_at(index) {
                Some(t) if t == term => return Some(index),
                Some(t) if t < term => return None,
                _ => index -= 1,
            }
        }
        None
    }

    /// Whether a candidate whose log ends at `(last_index, last_term)` is at least as
    /// up to date as this log (§5.4.1: compare last terms, then lengths).
    pub fn candidate_is_up_to_date(&self, last_index: u64, last_term: u64) -> bool {
        last_term > self.last_term()
            || (last_term == self.last_term() && last_index >= self.last_index())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop(term: u64) -> Entry {
        Entry {
            term,
            command: Command::Noop,
        }
    }

    fn log_with_terms(terms: &[u64]) -> Log {
        let mut log = Log::default();
        for &t in terms {
            log.push(noop(t));
        }
        log
    }

    #[test]
    fn indexes_and_terms_survive_compaction() {
        let mut log = log_with_terms(&[1, 1, 2, 3, 3]);
        assert_eq!((log.last_index(), log.last_term()), (5, 3));
        log.compact_to(3, 2);
        assert_eq!(log.term_at(3), Some(2));
        assert_eq!(log.term_at(2), None);
        assert_eq!(log.term_at(4), Some(3));
        assert_eq!(log.slice(4, 10).len(), 2);
        assert_eq!(log.last_index(), 5);
        log.compact_to(9, 4);
        assert_eq!((log.last_index(), log.last_term()), (9, 4));
        assert_eq!(log.slice(10, 10).len(), 0);
    }

    #[test]
    fn truncation_removes_the_suffix() {
        let mut log = log_with_terms(&[1, 2, 2, 2]);
        log.truncate_from(3);
        assert_eq!((log.last_index(), log.last_term()), (2, 2));
        assert_eq!(log.entry(3), None);
    }

    #[test]
    fn conflict_hints_find_term_boundaries() {
        let log = log_with_terms(&[1, 2, 2, 2, 5]);
        assert_eq!(log.first_index_of_term_run(4, 2), 2);
        assert_eq!(log.last_index_of_term(2), Some(4));
        assert_eq!(log.last_index_of_term(3), None);
        assert_eq!(log.last_index_of_term(5), Some(5));
    }

    #[test]
    fn election_restriction_compares_term_then_length() {
        let log = log_with_terms(&[1, 2, 2]);
        assert!(log.candidate_is_up_to_date(1, 3));
        assert!(log.candidate_is_up_to_date(3, 2));
        assert!(!log.candidate_is_up_to_date(2, 2));
        assert!(!log.candidate_is_up_to_date(9, 1));
    }
}
