//! The replicated map: per key a last-writer-wins register ordered by [`Stamp`] and a
//! grow-only counter (G-Counter, Shapiro et al., "Conflict-free Replicated Data Types", 2011).
//! Both merges are joins of a semilattice — associative, commutative and idempotent — so
//! replicas that have seen the same updates hold the same state in whatever order and however
//! often the updates arrived (property tests at the bottom).
//!
//! Anti-entropy does not ship the whole map. A replica keeps a root hash of its state up to
//! date (O(1) per change); replicas first compare roots, and only if they differ does one send
//! a [`KeyDigest`] per key (the register's stamp and the counter's fingerprint, O(1) per key).
//! The other answers with [`KeyDelta`]s only for the keys where it knows more, and only the
//! parts (register or counter) that differ. This is a state-based delta scheme at key
//! granularity (a two-level Merkle tree); a differing counter is sent whole (its slots are few:
//! one per member that accepted increments for the key).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::{NodeId, Value};

use super::hlc::Stamp;

/// A last-writer-wins register's content: the value and the stamp of the write that set it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LwwEntry {
    /// Orders writes; the larger stamp wins.
    pub stamp: Stamp,
    /// The value written.
    pub value: Value,
}

/// Whether `incoming` replaces `current`: the rule every register update and merge uses.
pub fn lww_wins(current: Option<&LwwEntry>, incoming: &LwwEntry) -> bool {
    current.is_none_or(|e| e.stamp < incoming.stamp)
}

/// Merges two registers: the one with the larger stamp (the join of the stamp order).
pub fn merge_lww(a: Option<LwwEntry>, b: Option<LwwEntry>) -> Option<LwwEntry> {
    match (a, b) {
        (a, Some(b)) if lww_wins(a.as_ref(), &b) => Some(b),
        (a, _) => a,
    }
}

/// A grow-only counter: one monotonic count per member that incremented it, kept sparse and
/// sorted by member so equal counters are equal values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GCounter {
    slots: Vec<(NodeId, u64)>,
    /// XOR of a hash of every slot, kept up to date by [`GCounter::raise`].
    fp: u64,
}

impl GCounter {
    /// The counter's value: the sum of all slots.
    pub fn total(&self) -> u64 {
        self.slots.iter().map(|(_, c)| *c).sum()
    }

    /// `node`'s own slot.
    pub fn slot(&self, node: NodeId) -> u64 {
        match self.slots.binary_search_by_key(&node, |(n, _)| *n) {
            Ok(i) => self.slots[i].1,
            Err(_) => 0,
        }
    }

    /// Number of members with a slot.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Raises `node`'s slot to at least `count`; returns whether it changed.
    pub fn raise(&mut self, node: NodeId, count: u64) -> bool {
        match self.slots.binary_search_by_key(&node, |(n, _)| *n) {
            Ok(i) if self.slots[i].1 >= count => false,
            Ok(i) => {
                self.fp ^= slot_hash(node, self.slots[i].1) ^ slot_hash(node, count);
                self.slots[i].1 = count;
                true
            }
            Err(_) if count == 0 => false,
            Err(i) => {
                self.fp ^= slot_hash(node, count);
                self.slots.insert(i, (node, count));
                true
            }
        }
    }

    /// Adds one to `node`'s slot and returns the slot's new count.
    pub fn increment(&mut self, node: NodeId) -> u64 {
        let next = self.slot(node) + 1;
        self.raise(node, next);
        next
    }

    /// Pointwise maximum with `other` (the G-Counter join); returns whether `self` changed.
    pub fn merge(&mut self, other: &GCounter) -> bool {
        let mut changed = false;
        for (node, count) in &other.slots {
            changed |= self.raise(*node, *count);
        }
        changed
    }

    /// A fingerprint of the slots, so two replicas can tell cheaply whether they differ: the
    /// XOR of a SplitMix64 hash of each slot, maintained incrementally (O(1) to read).
    pub fn fingerprint(&self) -> u64 {
        self.fp
    }
}

fn slot_hash(node: NodeId, count: u64) -> u64 {
    mix(mix(u64::from(node.0)) ^ count)
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Everything one key holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyState {
    /// The last-writer-wins register (written by `write`).
    pub lww: Option<LwwEntry>,
    /// The grow-only counter (incremented by `append`).
    pub counter: GCounter,
}

/// What a replica says about one key in a digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyDigest {
    /// The key.
    pub key: u64,
    /// The register's stamp, if written.
    pub stamp: Option<Stamp>,
    /// The counter's [`GCounter::fingerprint`].
    pub counter_fp: u64,
}

/// The parts of a key a peer lacks.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyDelta {
    /// The key.
    pub key: u64,
    /// The register, when the sender's is newer.
    pub lww: Option<LwwEntry>,
    /// The counter, when the two differ.
    pub counter: Option<GCounter>,
}

/// Which parts of a key one side should send the other, judged from digests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Need {
    /// The register is newer on the sending side.
    pub lww: bool,
    /// The counters differ.
    pub counter: bool,
}

impl Need {
    /// Whether anything is needed.
    pub fn any(self) -> bool {
        self.lww || self.counter
    }
}

/// What of `ours` the owner of `theirs` lacks.
pub fn need(ours: &KeyDigest, theirs: &KeyDigest) -> Need {
    Need {
        lww: ours.stamp > theirs.stamp,
        counter: ours.counter_fp != theirs.counter_fp,
    }
}

/// A whole replica: key to state, in key order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReplicaMap {
    keys: BTreeMap<u64, KeyState>,
    /// XOR of the hash of every key's digest, kept up to date on every change: two replicas
    /// with equal roots (almost surely) hold the same state, so a round between converged
    /// replicas costs one message and O(1) work.
    root: u64,
}

/// What merging a delta changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    /// The register took this new value (from a newer write).
    pub adopted: Option<Value>,
    /// The counter grew.
    pub counter_grew: bool,
}

impl ReplicaMap {
    /// The state of `key`, if anything was ever written to it.
    pub fn get(&self, key: u64) -> Option<&KeyState> {
        self.keys.get(&key)
    }

    /// All keys in order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &KeyState)> {
        self.keys.iter().map(|(k, s)| (*k, s))
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key was ever written.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The root hash: equal replicas have equal roots.
    pub fn root(&self) -> u64 {
        self.root
    }

    /// Changes `key`'s state with `change`, keeping the root hash up to date and never
    /// keeping an empty state (so "never written" and "absent" are the same replica).
    fn change<R>(&mut self, key: u64, change: impl FnOnce(&mut KeyState) -> R) -> R {
        let state = self.keys.entry(key).or_default();
        let before = key_hash(key, state);
        let result = change(state);
        let after = key_hash(key, state);
        self.root ^= before ^ after;
        if state.lww.is_none() && state.counter.slot_count() == 0 {
            self.keys.remove(&key);
        }
        result
    }

    /// Merges a register write into `key`; returns whether it won.
    pub fn put(&mut self, key: u64, entry: LwwEntry) -> bool {
        self.change(key, |state| {
            if !lww_wins(state.lww.as_ref(), &entry) {
                return false;
            }
            state.lww = Some(entry);
            true
        })
    }

    /// Adds one to `node`'s slot of `key`'s counter; returns the slot's new count.
    pub fn increment(&mut self, key: u64, node: NodeId) -> u64 {
        self.change(key, |state| state.counter.increment(node))
    }

    /// Raises `node`'s slot of `key`'s counter to `count` (recovery from storage).
    pub fn raise(&mut self, key: u64, node: NodeId, count: u64) {
        self.change(key, |state| state.counter.raise(node, count));
    }

    /// The digest of every key.
    pub fn digest(&self) -> Vec<KeyDigest> {
        self.keys.iter().map(|(k, s)| digest_of(*k, s)).collect()
    }

    /// Compares a peer's digest with this replica: the deltas the peer lacks (those this side
    /// knows better) and the keys the peer knows better (to ask for). Both in key order.
    pub fn compare(&self, theirs: &[KeyDigest]) -> (Vec<KeyDelta>, Vec<u64>) {
        let mut deltas = Vec::new();
        let mut wanted = Vec::new();
        let mut theirs_iter = theirs.iter().peekable();
        for (key, state) in &self.keys {
            let ours = digest_of(*key, state);
            // Keys only the peer has: we want them.
            while let Some(t) = theirs_iter.next_if(|t| t.key < *key) {
                wanted.push(t.key);
            }
            let t = theirs_iter
                .next_if(|t| t.key == *key)
                .copied()
                .unwrap_or(KeyDigest {
                    key: *key,
                    stamp: None,
                    counter_fp: GCounter::default().fingerprint(),
                });
            if let Some(delta) = self.delta(*key, need(&ours, &t)) {
                deltas.push(delta);
            }
            if need(&t, &ours).any() {
                wanted.push(*key);
            }
        }
        wanted.extend(theirs_iter.map(|t| t.key));
        (deltas, wanted)
    }

    /// The parts of `key` named by `need`, if any.
    pub fn delta(&self, key: u64, need: Need) -> Option<KeyDelta> {
        let state = self.keys.get(&key)?;
        let lww = if need.lww { state.lww.clone() } else { None };
        let counter =
            (need.counter && state.counter.slot_count() > 0).then(|| state.counter.clone());
        (lww.is_some() || counter.is_some()).then_some(KeyDelta { key, lww, counter })
    }

    /// Everything this replica knows about `keys` (answering a peer's request).
    pub fn deltas_for(&self, keys: &[u64]) -> Vec<KeyDelta> {
        let all = Need {
            lww: true,
            counter: true,
        };
        keys.iter().filter_map(|k| self.delta(*k, all)).collect()
    }

    /// Merges a delta (the join of both parts).
    pub fn merge_delta(&mut self, delta: KeyDelta) -> Merged {
        let KeyDelta { key, lww, counter } = delta;
        self.change(key, |state| {
            let mut merged = Merged::default();
            if let Some(entry) = lww
                && lww_wins(state.lww.as_ref(), &entry)
            {
                merged.adopted = Some(entry.value.clone());
                state.lww = Some(entry);
            }
            if let Some(counter) = counter {
                merged.counter_grew = state.counter.merge(&counter);
            }
            merged
        })
    }

    /// Merges a whole replica (the join of every key).
    pub fn merge(&mut self, other: &ReplicaMap) {
        for (key, state) in &other.keys {
            self.merge_delta(KeyDelta {
                key: *key,
                lww: state.lww.clone(),
                counter: Some(state.counter.clone()),
            });
        }
    }
}

/// The hash of a key's digest (0 for an empty state, which is never kept).
fn key_hash(key: u64, state: &KeyState) -> u64 {
    if state.lww.is_none() && state.counter.slot_count() == 0 {
        return 0;
    }
    let stamp = state.lww.as_ref().map_or(0, |e| {
        mix(e.stamp.hlc.wall_ns)
            ^ mix(u64::from(e.stamp.hlc.logical) << 32 | u64::from(e.stamp.node.0))
    });
    mix(mix(key) ^ mix(stamp) ^ state.counter.fingerprint())
}

fn digest_of(key: u64, state: &KeyState) -> KeyDigest {
    KeyDigest {
        key,
        stamp: state.lww.as_ref().map(|e| e.stamp),
        counter_fp: state.counter.fingerprint(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gossip::hlc::Hlc;
    use proptest::prelude::*;

    /// A stamp; the value is a function of the stamp, as in a real run where one stamp names
    /// one write (the LWW laws need that: two different values under one stamp cannot commute).
    fn entry(wall: u64, node: u32) -> LwwEntry {
        let stamp = Stamp {
            hlc: Hlc {
                wall_ns: wall,
                logical: (wall % 3) as u32,
            },
            node: NodeId(node),
        };
        LwwEntry {
            stamp,
            value: Value::Int((wall * 10 + u64::from(node)) as i64),
        }
    }

    fn arb_lww() -> impl Strategy<Value = Option<LwwEntry>> {
        proptest::option::of((0u64..6, 0u32..3).prop_map(|(w, n)| entry(w, n)))
    }

    fn arb_counter() -> impl Strategy<Value = GCounter> {
        proptest::collection::vec((0u32..5, 0u64..6), 0..5).prop_map(|slots| {
            let mut c = GCounter::default();
            for (n, v) in slots {
                c.raise(NodeId(n), v);
            }
            c
        })
    }

    fn arb_map() -> impl Strategy<Value = ReplicaMap> {
        proptest::collection::vec((0u64..4, arb_lww(), arb_counter()), 0..5).prop_map(|keys| {
            let mut m = ReplicaMap::default();
            for (k, lww, counter) in keys {
                m.merge_delta(KeyDelta {
                    key: k,
                    lww,
                    counter: Some(counter),
                });
            }
            m
        })
    }

    fn merged_counter(a: &GCounter, b: &GCounter) -> GCounter {
        let mut c = a.clone();
        c.merge(b);
        c
    }

    fn merged_map(a: &ReplicaMap, b: &ReplicaMap) -> ReplicaMap {
        let mut c = a.clone();
        c.merge(b);
        c
    }

    proptest! {
        /// LWW merge is associative, commutative and idempotent.
        #[test]
        fn lww_merge_is_a_join(a in arb_lww(), b in arb_lww(), c in arb_lww()) {
            let ab_c = merge_lww(merge_lww(a.clone(), b.clone()), c.clone());
            let a_bc = merge_lww(a.clone(), merge_lww(b.clone(), c.clone()));
            prop_assert_eq!(ab_c, a_bc);
            prop_assert_eq!(merge_lww(a.clone(), b.clone()), merge_lww(b.clone(), a.clone()));
            prop_assert_eq!(merge_lww(a.clone(), a.clone()), a);
        }

        /// G-Counter merge is associative, commutative and idempotent, and never shrinks.
        #[test]
        fn counter_merge_is_a_join(a in arb_counter(), b in arb_counter(), c in arb_counter()) {
            prop_assert_eq!(
                merged_counter(&merged_counter(&a, &b), &c),
                merged_counter(&a, &merged_counter(&b, &c))
            );
            prop_assert_eq!(merged_counter(&a, &b), merged_counter(&b, &a));
            prop_assert_eq!(merged_counter(&a, &a), a.clone());
            prop_assert!(merged_counter(&a, &b).total() >= a.total().max(b.total()));
        }

        /// The whole map's merge is associative, commutative and idempotent.
        #[test]
        fn map_merge_is_a_join(a in arb_map(), b in arb_map(), c in arb_map()) {
            prop_assert_eq!(
                merged_map(&merged_map(&a, &b), &c),
                merged_map(&a, &merged_map(&b, &c))
            );
            prop_assert_eq!(merged_map(&a, &b), merged_map(&b, &a));
            prop_assert_eq!(merged_map(&a, &a), a.clone());
            // Equal states have equal roots, whatever the merge order.
            prop_assert_eq!(merged_map(&a, &b).root(), merged_map(&b, &a).root());
        }

        /// One digest exchange in each direction makes two replicas equal to their join:
        /// the deltas are enough, without sending the whole map.
        #[test]
        fn digest_exchange_converges(a in arb_map(), b in arb_map()) {
            let join = merged_map(&a, &b);
            let (for_a, wanted_by_b) = b.compare(&a.digest());
            let for_b = a.deltas_for(&wanted_by_b);
            let (mut a2, mut b2) = (a.clone(), b.clone());
            for d in for_a { a2.merge_delta(d); }
            for d in for_b { b2.merge_delta(d); }
            prop_assert_eq!(&a2, &join);
            prop_assert_eq!(&b2, &join);
        }
    }

    /// Equal replicas exchange nothing.
    #[test]
    fn equal_replicas_send_no_deltas() {
        let mut a = ReplicaMap::default();
        a.put(1, entry(5, 0));
        a.increment(2, NodeId(3));
        let (deltas, wanted) = a.compare(&a.clone().digest());
        assert!(deltas.is_empty() && wanted.is_empty());
    }
}
