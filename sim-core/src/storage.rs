//! Per-node durable storage with an explicit sync. Writes land in a volatile buffer first; only
//! `sync` makes them durable. A crash throws the buffer away, so a protocol that replies before
//! syncing loses what it promised, exactly as on a real disk with a page cache.

use std::collections::BTreeMap;

/// A node's disk: a sorted key/value store of byte strings.
#[derive(Clone, Debug, Default)]
pub struct Storage {
    durable: BTreeMap<String, Vec<u8>>,
    /// Writes since the last sync; `None` is a delete.
    unsynced: BTreeMap<String, Option<Vec<u8>>>,
    syncs: u64,
}

impl Storage {
    /// An empty disk.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current value of `key`, as the process sees it (unsynced writes included).
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        match self.unsynced.get(key) {
            Some(pending) => pending.as_deref(),
            None => self.durable.get(key).map(Vec::as_slice),
        }
    }

    /// Writes `value` under `key`; durable only after [`Storage::sync`].
    pub fn put(&mut self, key: impl Into<String>, value: Vec<u8>) {
        self.unsynced.insert(key.into(), Some(value));
    }

    /// Deletes `key`; durable only after [`Storage::sync`].
    pub fn delete(&mut self, key: impl Into<String>) {
        self.unsynced.insert(key.into(), None);
    }

    /// Makes every write so far durable.
    pub fn sync(&mut self) {
        self.syncs += 1;
        for (key, value) in std::mem::take(&mut self.unsynced) {
            match value {
                Some(v) => self.durable.insert(key, v),
                None => self.durable.remove(&key),
            };
        }
    }

    /// Keys starting with `prefix`, in order, as the process sees them.
    pub fn keys_with_prefix(&self, prefix: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .durable
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(k, _)| !self.unsynced.contains_key(*k))
            .map(|(k, _)| k.clone())
            .collect();
        keys.extend(
            self.unsynced
                .range(prefix.to_string()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .filter(|(_, v)| v.is_some())
                .map(|(k, _)| k.clone()),
        );
        keys.sort_unstable();
        keys
    }

    /// Whether there are writes not yet synced.
    pub fn has_unsynced(&self) -> bool {
        !self.unsynced.is_empty()
    }

    /// How many times `sync` was called.
    pub fn sync_count(&self) -> u64 {
        self.syncs
    }

    /// What a crash does to the disk: unsynced writes are gone.
    pub fn crash(&mut self) {
        self.unsynced.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsynced_writes_are_visible_but_lost_on_crash() {
        let mut s = Storage::new();
        s.put("a", b"1".to_vec());
        s.sync();
        s.put("a", b"2".to_vec());
        s.put("b", b"3".to_vec());
        assert_eq!(s.get("a"), Some(&b"2"[..]));
        s.crash();
        assert_eq!(s.get("a"), Some(&b"1"[..]));
        assert_eq!(s.get("b"), None);
    }

    #[test]
    fn synced_deletes_survive_a_crash_and_unsynced_ones_do_not() {
        let mut s = Storage::new();
        s.put("a", vec![1]);
        s.put("b", vec![2]);
        s.sync();
        s.delete("a");
        s.sync();
        s.delete("b");
        assert_eq!(s.get("b"), None);
        s.crash();
        assert_eq!(s.get("a"), None);
        assert_eq!(s.get("b"), Some(&[2][..]));
    }

    #[test]
    fn prefix_listing_merges_durable_and_unsynced() {
        let mut s = Storage::new();
        s.put("log/1", vec![]);
        s.put("log/2", vec![]);
        s.put("meta", vec![]);
        s.sync();
        s.delete("log/1");
        s.put("log/3", vec![]);
        assert_eq!(s.keys_with_prefix("log/"), ["log/2", "log/3"]);
        assert!(s.has_unsynced());
        assert_eq!(s.sync_count(), 1);
    }
}
