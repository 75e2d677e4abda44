//! A server's durable state (Figure 2's "persistent state on all servers": currentTerm,
//! votedFor, log[]) plus the latest snapshot, kept in memory and mirrored to storage.
//!
//! Every mutator writes the change to storage but does not sync: the server syncs once before
//! it sends anything that depends on the change (a vote, an acknowledgement, a leader counting
//! its own log), which is the paper's "respond to RPCs only after updating stable storage".
//! Log entries live under one key per index, so appending never rewrites the log; truncation
//! and compaction delete exactly the keys they drop. After a crash, [`DurableState::recover`]
//! rebuilds everything from storage alone.

use serde::{Deserialize, Serialize};
use sim_core::{NodeId, Storage};

use super::kv::KvState;
use super::log::{Entry, Log};

const HARD_STATE_KEY: &str = "raft/hard";
const SNAPSHOT_KEY: &str = "raft/snapshot";
const LOG_PREFIX: &str = "raft/log/";

/// currentTerm and votedFor, stored together under one key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct HardState {
    term: u64,
    voted_for: Option<NodeId>,
}

/// The snapshot record: the state machine after applying everything up to `last_index`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct SnapshotRecord {
    last_index: u64,
    last_term: u64,
    state: KvState,
}

/// What survives a crash, and nothing else.
#[derive(Clone, Debug, Default)]
pub struct DurableState {
    hard: HardState,
    log: Log,
    /// The state machine at `log.snapshot_index()`.
    snapshot: KvState,
    /// The `forget_voted_for` bug: votedFor is never written to storage.
    forget_voted_for: bool,
}

impl DurableState {
    /// Rebuilds the durable state from `storage` alone.
    pub fn recover(storage: &Storage, forget_voted_for: bool) -> Result<Self, String> {
        let hard: HardState = read_json(storage, HARD_STATE_KEY)?.unwrap_or_default();
        let snapshot: SnapshotRecord = read_json(storage, SNAPSHOT_KEY)?.unwrap_or_default();
        let mut log = Log::after_snapshot(snapshot.last_index, snapshot.last_term);
        for key in storage.keys_with_prefix(LOG_PREFIX) {
            let index: u64 = key[LOG_PREFIX.len()..]
                .parse()
                .map_err(|_| format!("bad log key {key}"))?;
            if index <= log.snapshot_index() {
                return Err(format!(
                    "log entry {index} survived compaction to {}",
                    log.snapshot_index()
                ));
            }
            if index != log.last_index() + 1 {
                return Err(format!("log gap: entry {index} after {}", log.last_index()));
            }
            let entry: Entry = read_json(storage, &key)?.ok_or("vanished key")?;
            log.push(entry);
        }
        Ok(Self {
            hard,
            log,
            snapshot: snapshot.state,
            forget_voted_for,
        })
    }

    /// currentTerm.
    pub fn term(&self) -> u64 {
        self.hard.term
    }

    /// votedFor (in the current term).
    pub fn voted_for(&self) -> Option<NodeId> {
        self.hard.voted_for
    }

    /// The log.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// The state machine as of the snapshot.
    pub fn snapshot_state(&self) -> &KvState {
        &self.snapshot
    }

    /// Sets currentTerm and votedFor.
    pub fn set_term_and_vote(&mut self, storage: &mut Storage, term: u64, vote: Option<NodeId>) {
        self.hard = HardState {
            term,
            voted_for: vote,
        };
        let stored = HardState {
            term,
            voted_for: if self.forget_voted_for { None } else { vote },
        };
        storage.put(HARD_STATE_KEY, to_json(&stored));
    }

    /// Appends `entry` and returns its index.
    pub fn append(&mut self, storage: &mut Storage, entry: Entry) -> u64 {
        let index = self.log.last_index() + 1;
        storage.put(log_key(index), to_json(&entry));
        self.log.push(entry)
    }

    /// Deletes the entries at `from` and after.
    pub fn truncate_from(&mut self, storage: &mut Storage, from: u64) {
        for index in from.max(self.log.snapshot_index() + 1)..=self.log.last_index() {
            storage.delete(log_key(index));
        }
        self.log.truncate_from(from);
    }

    /// Replaces the log up to `last_index` by a snapshot whose state is `state`. Entries after
    /// `last_index` are kept only if the log holds `last_index` with `last_term` (§7); otherwise
    /// the whole log is discarded.
    pub fn install_snapshot(
        &mut self,
        storage: &mut Storage,
        last_index: u64,
        last_term: u64,
        state: KvState,
    ) {
        if self.log.term_at(last_index) != Some(last_term) {
            self.truncate_from(storage, self.log.snapshot_index() + 1);
        }
        let drop_to = last_index.min(self.log.last_index());
        for index in self.log.snapshot_index() + 1..=drop_to {
            storage.delete(log_key(index));
        }
        let record = SnapshotRecord {
            last_index,
            last_term,
            state,
        };
        storage.put(SNAPSHOT_KEY, to_json(&record));
        self.log.compact_to(last_index, last_term);
        self.snapshot = record.state;
    }
}

fn log_key(index: u64) -> String {
    format!("{LOG_PREFIX}{index:020}")
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising plain data with string/integer map keys cannot fail.
    serde_json::to_vec(value).expect("raft records serialise")
}

fn read_json<T: for<'de> Deserialize<'de>>(
    storage: &Storage,
    key: &str,
) -> Result<Option<T>, String> {
    match storage.get(key) {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(bytes)
            .map(Some)
            .map_err(|e| format!("unreadable {key}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::log::Command;

    fn noop(term: u64) -> Entry {
        Entry {
            term,
            command: Command::Noop,
        }
    }

    #[test]
    fn only_synced_state_survives_recovery() {
        let mut storage = Storage::new();
        let mut d = DurableState::recover(&storage, false).unwrap();
        d.set_term_and_vote(&mut storage, 3, Some(NodeId(1)));
        d.append(&mut storage, noop(1));
        d.append(&mut storage, noop(3));
        storage.sync();
        d.append(&mut storage, noop(3));
        storage.crash();
        let r = DurableState::recover(&storage, false).unwrap();
        assert_eq!((r.term(), r.voted_for()), (3, Some(NodeId(1))));
        assert_eq!((r.log().last_index(), r.log().last_term()), (2, 3));
    }

    #[test]
    fn truncation_and_snapshots_leave_no_stray_keys() {
        let mut storage = Storage::new();
        let mut d = DurableState::recover(&storage, false).unwrap();
        for t in [1, 1, 2, 2, 2] {
            d.append(&mut storage, noop(t));
        }
        d.truncate_from(&mut storage, 4);
        d.install_snapshot(&mut storage, 2, 1, KvState::default());
        storage.sync();
        assert_eq!(storage.keys_with_prefix(LOG_PREFIX), [log_key(3)]);
        let r = DurableState::recover(&storage, false).unwrap();
        assert_eq!(r.log(), d.log());
        // A snapshot that disagrees with the log replaces it entirely.
        d.install_snapshot(&mut storage, 3, 9, KvState::default());
        storage.sync();
        assert!(storage.keys_with_prefix(LOG_PREFIX).is_empty());
        assert_eq!(
            DurableState::recover(&storage, false)
                .unwrap()
                .log()
                .last_term(),
            9
        );
    }

    #[test]
    fn the_forget_voted_for_bug_drops_the_vote_on_disk_only() {
        let mut storage = Storage::new();
        let mut d = DurableState::recover(&storage, true).unwrap();
        d.set_term_and_vote(&mut storage, 2, Some(NodeId(4)));
        storage.sync();
        assert_eq!(d.voted_for(), Some(NodeId(4)));
        let r = DurableState::recover(&storage, true).unwrap();
        assert_eq!((r.term(), r.voted_for()), (2, None));
    }
}
