//! Probe target selection (SWIM §4.3): round-robin over the members in a random order,
//! reshuffled after each full pass. A failed member is then probed by every member within one
//! pass (at most `2n − 1` periods), instead of only with high probability.
//!
//! The order is a Fisher–Yates shuffle done lazily: the permutation is virtual (identity) and
//! only the positions swapped so far are stored, so a member that probes k members per pass
//! keeps O(k) entries, not an O(n) list. Each pass is still a uniform random permutation.

use std::collections::BTreeMap;

use rand::Rng;
use sim_core::rng::SimRng;

/// The round-robin order of one member.
#[derive(Clone, Debug, Default)]
pub struct ProbeOrder {
    len: u32,
    next: u32,
    /// Position → member index for positions moved by a swap.
    swapped: BTreeMap<u32, u32>,
}

impl ProbeOrder {
    /// An order over `len` members.
    pub fn new(len: u32) -> Self {
        Self {
            len,
            next: 0,
            swapped: BTreeMap::new(),
        }
    }

    /// The next member index in this pass (starting a new shuffled pass when one ends).
    pub fn next(&mut self, rng: &mut SimRng) -> u32 {
        if self.len == 0 {
            return 0;
        }
        if self.next == self.len {
            self.next = 0;
            self.swapped.clear();
        }
        let i = self.next;
        let j = rng.random_range(i..self.len);
        let at_j = self.at(j);
        let at_i = self.at(i);
        // Position i is never read again in this pass: drop it, keep j's new content.
        self.swapped.remove(&i);
        if j != i {
            self.swapped.insert(j, at_i);
        }
        self.next += 1;
        at_j
    }

    fn at(&self, position: u32) -> u32 {
        self.swapped.get(&position).copied().unwrap_or(position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::rng::{Stream, stream};

    /// Every pass visits every member exactly once, and passes differ (reshuffled).
    #[test]
    fn each_pass_is_a_permutation() {
        let mut rng = stream(5, Stream::Faults);
        let mut order = ProbeOrder::new(50);
        let mut passes = Vec::new();
        for _ in 0..3 {
            let mut pass: Vec<u32> = (0..50).map(|_| order.next(&mut rng)).collect();
            passes.push(pass.clone());
            pass.sort_unstable();
            assert_eq!(pass, (0..50).collect::<Vec<_>>());
        }
        assert_ne!(passes[0], passes[1]);
        assert!(order.swapped.len() <= 50);
    }
}
