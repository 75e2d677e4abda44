//! Lowe's memo of visited configurations, bounded: two generations of at most
//! `capacity` entries each. When the young one fills up the old one is dropped, so memory
//! stays bounded; forgetting a configuration only means it may be searched again, never a
//! wrong verdict.

use std::hash::Hash;

use rustc_hash::{FxBuildHasher, FxHashSet};

/// A bounded set of visited configurations.
pub(crate) struct Memo<K> {
    young: FxHashSet<K>,
    old: FxHashSet<K>,
    capacity: usize,
    /// Entries the young generation is first sized for.
    expected: usize,
}

impl<K: Hash + Eq> Memo<K> {
    /// A memo keeping at most `2 * capacity` entries, sized at its first entry for about
    /// `expected` of them so that a small search never grows its table (and a search that
    /// records nothing allocates nothing).
    pub(crate) fn new(capacity: usize, expected: usize) -> Memo<K> {
        let capacity = capacity.max(1);
        Memo {
            young: FxHashSet::with_hasher(FxBuildHasher),
            old: FxHashSet::default(),
            capacity,
            expected: expected.min(capacity),
        }
    }

    /// Records `key`; `false` if it was already there (the configuration needs no new search).
    #[inline]
    pub(crate) fn insert(&mut self, key: K) -> bool {
        if self.young.capacity() == 0 {
            self.young.reserve(self.expected);
        }
        if self.old.contains(&key) {
            return false;
        }
        if self.young.len() >= self.capacity {
            if self.young.contains(&key) {
                return false;
            }
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key)
    }

    /// Entries held now.
    pub(crate) fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }
}
