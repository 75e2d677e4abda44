//! Lowe's memo of visited configurations, bounded: two generations of at most
//! `capacity` entries each. When the young one fills up the old one is dropped, so memory
//! stays bounded; forgetting a configuration only means it may be searched again, never a
//! wrong verdict.

use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use rustc_hash::FxBuildHasher;

/// A bounded set of visited configurations.
pub(crate) struct Memo<K> {
    young: HashTable<K>,
    old: HashTable<K>,
    capacity: usize,
    /// Entries the young generation is first sized for.
    expected: usize,
}

impl<K: Hash + Eq + Copy> Memo<K> {
    /// A memo keeping at most `2 * capacity` entries, sized at its first entry for about
    /// `expected` of them so that a small search never grows its table (and a search that
    /// records nothing allocates nothing).
    pub(crate) fn new(capacity: usize, expected: usize) -> Memo<K> {
        let capacity = capacity.max(1);
        Memo {
            young: HashTable::new(),
            old: HashTable::new(),
            capacity,
            expected: expected.min(capacity),
        }
    }

    /// Records `key`; `false` if it was already there (the configuration needs no new search).
    ///
    /// The key is hashed once, by reference, and copied only into a free slot: a copy made
    /// at once, right after the search wrote the configuration field by field, would wait for
    /// those writes.
    #[inline]
    pub(crate) fn insert(&mut self, key: &K) -> bool {
        let hash = FxBuildHasher.hash_one(key);
        if !self.old.is_empty() && self.old.find(hash, |k| k == key).is_some() {
            return false;
        }
        if self.young.len() >= self.capacity {
            if self.young.find(hash, |k| k == key).is_some() {
                return false;
            }
            self.old = std::mem::take(&mut self.young);
        }
        if self.young.capacity() == 0 {
            self.young
                .reserve(self.expected, |k| FxBuildHasher.hash_one(k));
        }
        match self
            .young
            .entry(hash, |k| k == key, |k| FxBuildHasher.hash_one(k))
        {
            Entry::Occupied(_) => false,
            Entry::Vacant(slot) => {
                slot.insert(*key);
                true
            }
        }
    }

    /// Entries held now.
    pub(crate) fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }
}

#[cfg(test)]
mod tests {
    use super::Memo;

    /// Entries are remembered for two generations of `capacity`, then forgotten.
    #[test]
    fn remembers_two_generations() {
        let mut memo = Memo::new(2, 1);
        assert!(memo.insert(&1));
        assert!(memo.insert(&2));
        assert!(!memo.insert(&1));
        // The young generation is full: it becomes the old one.
        assert!(memo.insert(&3));
        assert!(!memo.insert(&1) && !memo.insert(&2) && !memo.insert(&3));
        assert_eq!(memo.len(), 3);
        assert!(memo.insert(&4));
        // 1 and 2 are dropped with the old generation.
        assert!(memo.insert(&5));
        assert_eq!(memo.len(), 3);
        assert!(memo.insert(&1));
        assert!(!memo.insert(&5));
    }
}
