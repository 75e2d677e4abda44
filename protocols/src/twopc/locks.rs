//! A participant's lock table: strict two-phase locking with shared and exclusive locks, taken
//! all at once when a transaction prepares and released when its decision is applied. Nobody
//! waits: a transaction that cannot take every lock it needs votes no, so there are no
//! deadlocks and no unbounded queues.

use std::collections::BTreeMap;

use super::msg::{TxnId, TxnOp};

/// How a transaction holds a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// Readers share.
    Shared,
    /// One writer, nobody else.
    Exclusive,
}

/// The lock on one key.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Lock {
    /// Held by these readers (never empty).
    Shared(Vec<TxnId>),
    /// Held by one writer.
    Exclusive(TxnId),
}

/// All locks of one participant.
#[derive(Clone, Debug, Default)]
pub struct LockTable {
    locks: BTreeMap<u64, Lock>,
}

/// The locks `ops` need: one per key, exclusive if any operation on it writes.
pub fn needed(ops: &[TxnOp]) -> Vec<(u64, Mode)> {
    let mut needs: BTreeMap<u64, Mode> = BTreeMap::new();
    for op in ops {
        let mode = if op.writes() {
            Mode::Exclusive
        } else {
            Mode::Shared
        };
        let entry = needs.entry(op.key()).or_insert(mode);
        *entry = (*entry).max(mode);
    }
    needs.into_iter().collect()
}

impl LockTable {
    /// Takes every lock in `needs` for `txn`, or none of them if any conflicts with another
    /// transaction's lock. Returns whether it took them.
    pub fn try_acquire(&mut self, txn: TxnId, needs: &[(u64, Mode)]) -> bool {
        let free = needs.iter().all(|&(key, mode)| match self.locks.get(&key) {
            None => true,
            Some(Lock::Shared(_)) => mode == Mode::Shared,
            Some(Lock::Exclusive(_)) => false,
        });
        if !free {
            return false;
        }
        for &(key, mode) in needs {
            match mode {
                Mode::Exclusive => {
                    self.locks.insert(key, Lock::Exclusive(txn));
                }
                Mode::Shared => match self.locks.entry(key).or_insert(Lock::Shared(Vec::new())) {
                    Lock::Shared(holders) => holders.push(txn),
                    Lock::Exclusive(_) => unreachable!("checked free above"),
                },
            }
        }
        true
    }

    /// Releases `txn`'s locks on `keys`.
    pub fn release(&mut self, txn: TxnId, keys: impl IntoIterator<Item = u64>) {
        for key in keys {
            let empty = match self.locks.get_mut(&key) {
                Some(Lock::Exclusive(holder)) => *holder == txn,
                Some(Lock::Shared(holders)) => {
                    holders.retain(|h| *h != txn);
                    holders.is_empty()
                }
                None => false,
            };
            if empty {
                self.locks.remove(&key);
            }
        }
    }

    /// Number of keys locked.
    pub fn len(&self) -> usize {
        self.locks.len()
    }

    /// Whether no key is locked.
    pub fn is_empty(&self) -> bool {
        self.locks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seq: u32) -> TxnId {
        TxnId { epoch: 0, seq }
    }

    #[test]
    fn readers_share_and_writers_exclude() {
        let mut table = LockTable::default();
        assert!(table.try_acquire(t(1), &needed(&[TxnOp::Read(1)])));
        assert!(table.try_acquire(t(2), &needed(&[TxnOp::Read(1)])));
        assert!(!table.try_acquire(t(3), &needed(&[TxnOp::Write(1, 5)])));
        table.release(t(1), [1]);
        assert!(!table.try_acquire(t(3), &needed(&[TxnOp::Write(1, 5)])));
        table.release(t(2), [1]);
        assert!(table.try_acquire(t(3), &needed(&[TxnOp::Add(1, 5)])));
        assert!(!table.try_acquire(t(4), &needed(&[TxnOp::Read(1)])));
    }

    #[test]
    fn a_conflict_takes_no_lock_at_all() {
        let mut table = LockTable::default();
        assert!(table.try_acquire(t(1), &needed(&[TxnOp::Write(2, 1)])));
        assert!(!table.try_acquire(t(2), &needed(&[TxnOp::Read(1), TxnOp::Read(2)])));
        assert_eq!(
            table.len(),
            1,
            "key 1 must not stay locked by the refused txn"
        );
        table.release(t(1), [2]);
        assert!(table.is_empty());
    }

    #[test]
    fn a_read_then_write_of_one_key_needs_the_exclusive_lock() {
        assert_eq!(
            needed(&[TxnOp::Read(3), TxnOp::Write(3, 1), TxnOp::Read(4)]),
            vec![(3, Mode::Exclusive), (4, Mode::Shared)]
        );
    }
}
