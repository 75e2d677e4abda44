//! The event queue: a min-heap ordered by `(time, sequence number)`. The sequence number is
//! assigned at push time and breaks ties, so the order of simultaneous events is the order in
//! which they were scheduled, never an accident of allocation or hashing.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::Nanos;

/// A min-heap of events keyed by `(time, seq)`.
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
    /// The most entries the queue will hold; its buffer never grows past room for them.
    len_max: usize,
}

/// One scheduled event as it leaves the queue.
#[derive(Debug)]
pub struct Scheduled<E> {
    /// True time at which the event happens.
    pub time: Nanos,
    /// Global scheduling order; unique within a run.
    pub seq: u64,
    /// What happens.
    pub event: E,
}

#[derive(Debug)]
struct Entry<E>(Scheduled<E>);

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.0.seq == other.0.seq
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    // Reversed: BinaryHeap is a max-heap and we want the earliest event on top.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.0.time, other.0.seq).cmp(&(self.0.time, self.0.seq))
    }
}

/// Room a new queue starts with.
const INITIAL_CAPACITY: usize = 1024;

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::with_len_max(usize::MAX)
    }

    /// An empty queue that will hold at most `len_max` entries (the caller enforces the count;
    /// the queue only sizes its buffer by it). Growing by doubling would otherwise allocate up
    /// to twice the room the bound allows, all at once.
    pub fn with_len_max(len_max: usize) -> Self {
        Self {
            heap: BinaryHeap::with_capacity(INITIAL_CAPACITY.min(len_max)),
            next_seq: 0,
            len_max,
        }
    }

    /// Schedules `event` at `time` and returns its sequence number.
    pub fn push(&mut self, time: Nanos, event: E) -> u64 {
        let len = self.heap.len();
        if len == self.heap.capacity() {
            // Double, but not past the bound (and by one at least, should the caller let the
            // queue go past it).
            let room = len
                .max(INITIAL_CAPACITY)
                .min(self.len_max.saturating_sub(len))
                .max(1);
            self.heap.reserve_exact(room);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry(Scheduled { time, seq, event }));
        seq
    }

    /// Removes and returns the earliest event if it happens at or before `limit`.
    pub fn pop_until(&mut self, limit: Nanos) -> Option<Scheduled<E>> {
        if self.heap.peek()?.0.time > limit {
            return None;
        }
        self.heap.pop().map(|entry| entry.0)
    }

    /// Time of the earliest event, if any.
    pub fn peek_time(&self) -> Option<Nanos> {
        self.heap.peek().map(|entry| entry.0.time)
    }

    /// Number of scheduled events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pops_in_time_order_and_breaks_ties_by_push_order() {
        let mut q = EventQueue::new();
        q.push(30, "c");
        q.push(10, "a1");
        q.push(20, "b");
        q.push(10, "a2");
        let order: Vec<_> = std::iter::from_fn(|| q.pop_until(u64::MAX))
            .map(|s| s.event)
            .collect();
        assert_eq!(order, ["a1", "a2", "b", "c"]);
    }

    #[test]
    fn pop_until_leaves_later_events() {
        let mut q = EventQueue::new();
        q.push(5, ());
        q.push(15, ());
        assert!(q.pop_until(10).is_some());
        assert!(q.pop_until(10).is_none());
        assert_eq!(q.peek_time(), Some(15));
        assert_eq!(q.len(), 1);
    }

    /// A bounded queue's buffer never holds room for more than its bound.
    #[test]
    fn growth_stops_at_the_bound() {
        let mut q = EventQueue::with_len_max(5_000);
        for i in 0..5_000u64 {
            q.push(i, ());
        }
        assert_eq!(q.heap.capacity(), 5_000);
        let mut small = EventQueue::with_len_max(3);
        for i in 0..3u64 {
            small.push(i, ());
        }
        assert_eq!(small.heap.capacity(), 3);
    }

    proptest! {
        /// Whatever the push order, pops come out sorted by (time, push order).
        #[test]
        fn pop_order_is_time_then_seq(times in proptest::collection::vec(0u64..50, 0..200)) {
            let mut q = EventQueue::new();
            for (i, t) in times.iter().enumerate() {
                q.push(*t, i);
            }
            let mut expected: Vec<(u64, usize)> = times.iter().copied().zip(0..).collect();
            expected.sort();
            let got: Vec<(u64, usize)> =
                std::iter::from_fn(|| q.pop_until(u64::MAX)).map(|s| (s.time, s.event)).collect();
            prop_assert_eq!(got, expected);
        }
    }
}
