//! The piggyback buffer (SWIM §4.1, "infection-style dissemination"): membership updates wait
//! here and ride on pings, ping-reqs and acks, at most `piggyback_max` per message, fewest-sent
//! first. Each update is sent `retransmit_limit` (λ·log n) times and then forgotten. The buffer
//! holds at most one update per member (a newer one replaces it) and at most
//! `piggyback_buffer_max` in all; when full, the most-sent update gives way.

use super::view::MemberUpdate;

/// Pending updates and how often each has been sent.
#[derive(Clone, Debug)]
pub struct Piggyback {
    items: Vec<(MemberUpdate, u32)>,
    retransmit_limit: u32,
    capacity: usize,
}

impl Piggyback {
    /// An empty buffer.
    pub fn new(retransmit_limit: u32, capacity: usize) -> Self {
        Self {
            items: Vec::new(),
            retransmit_limit,
            capacity,
        }
    }

    /// Number of updates waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Queues `update`, replacing any older update about the same member.
    pub fn push(&mut self, update: MemberUpdate) {
        if let Some(slot) = self
            .items
            .iter_mut()
            .find(|(u, _)| u.member == update.member)
        {
            *slot = (update, 0);
            return;
        }
        if self.items.len() >= self.capacity
            && let Some(most_sent) = (0..self.items.len()).max_by_key(|i| self.items[*i].1)
        {
            self.items.swap_remove(most_sent);
        }
        self.items.push((update, 0));
    }

    /// Up to `max` updates for one outgoing message, fewest-sent first; each counts as sent
    /// once, and updates sent `retransmit_limit` times leave the buffer.
    pub fn take(&mut self, max: usize) -> Vec<MemberUpdate> {
        if self.items.is_empty() {
            return Vec::new();
        }
        // Stable: among equally-sent updates the older goes first.
        self.items.sort_by_key(|(_, sent)| *sent);
        let n = max.min(self.items.len());
        let mut out = Vec::with_capacity(n);
        for (update, sent) in &mut self.items[..n] {
            out.push(*update);
            *sent += 1;
        }
        let limit = self.retransmit_limit;
        self.items.retain(|(_, sent)| *sent < limit);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gossip::view::Status;
    use sim_core::NodeId;

    fn up(member: u32, incarnation: u32) -> MemberUpdate {
        MemberUpdate {
            member: NodeId(member),
            incarnation,
            status: Status::Alive,
        }
    }

    /// Each update is sent exactly `retransmit_limit` times, fewest-sent first, at most
    /// `max` per message.
    #[test]
    fn updates_are_sent_limit_times() {
        let mut b = Piggyback::new(3, 10);
        b.push(up(1, 1));
        b.push(up(2, 1));
        let mut sent = Vec::new();
        for _ in 0..10 {
            let batch = b.take(1);
            assert!(batch.len() <= 1);
            sent.extend(batch);
        }
        assert_eq!(sent.iter().filter(|u| u.member == NodeId(1)).count(), 3);
        assert_eq!(sent.iter().filter(|u| u.member == NodeId(2)).count(), 3);
        assert_eq!(sent[0].member, NodeId(1));
        assert_eq!(sent[1].member, NodeId(2));
        assert!(b.is_empty());
    }

    /// A newer update replaces the older one about the same member; a full buffer evicts.
    #[test]
    fn buffer_is_bounded() {
        let mut b = Piggyback::new(5, 2);
        b.push(up(1, 1));
        b.push(up(1, 2));
        assert_eq!(b.len(), 1);
        b.push(up(2, 1));
        b.take(1);
        b.push(up(3, 1));
        assert_eq!(b.len(), 2);
    }
}
