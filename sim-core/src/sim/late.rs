//! Late delivery: the messages a hold keeps back on the links it cuts, released when the hold
//! ends, and the recent messages a replay delivers again. Both re-enter the queue as ordinary
//! deliveries, so a late message meets the network and the receiver as they are when it lands.

use std::collections::VecDeque;

use rand::Rng;

use super::{Envelope, Event, Simulation};
use crate::bounds::REPLAY_MESSAGES_MAX;
use crate::error::SimError;
use crate::process::{Message, NodeId};
use crate::rng::SimRng;
use crate::time::Nanos;

/// What the engine keeps for late delivery.
pub(super) struct Late<M> {
    /// The release spread of the hold in force, when the partition in force is a hold.
    holding: Option<Nanos>,
    /// Deliveries the hold in force kept back, in arrival order.
    held: Vec<Event<M>>,
    /// Draws release times within a hold's spread (the release stream).
    release_rng: SimRng,
    /// How far back sent messages are kept for replays (0: none are).
    window_ns: Nanos,
    /// Messages sent within the last `window_ns`, oldest first, at most
    /// [`REPLAY_MESSAGES_MAX`].
    recent: VecDeque<(Envelope, M)>,
}

impl<M> Late<M> {
    /// Keeps messages for replays `window_ns` back (0: none), releasing holds with `release_rng`.
    pub(super) fn new(window_ns: Nanos, release_rng: SimRng) -> Self {
        Self {
            holding: None,
            held: Vec::new(),
            release_rng,
            window_ns,
            recent: VecDeque::new(),
        }
    }

    /// Whether the partition in force holds what it cuts.
    pub(super) fn holding(&self) -> bool {
        self.holding.is_some()
    }
}

impl<M: Message> Simulation<M> {
    /// Keeps back a delivery that the hold in force cuts; it waits like an event for a paused
    /// node, counted against `limits.queue_len_max`.
    pub(super) fn hold_message(&mut self, envelope: Envelope, msg: M) {
        self.late.held.push(Event::delivery(envelope, msg));
        self.deferred_total += 1;
        self.stats.messages_held += 1;
        self.coverage.held(self.partition_record);
    }

    /// Ends the hold in force, if any: every held message re-enters the queue, now or at a
    /// time drawn within the hold's spread, `release_spread_ns`; the partition in force from
    /// then on decides its fate. `hold` is the spread of a hold that starts now (`None` when
    /// what replaces the hold drops instead).
    pub(super) fn set_hold(&mut self, hold: Option<Nanos>) -> Result<(), SimError> {
        let spread = std::mem::replace(&mut self.late.holding, hold).unwrap_or(0);
        let held = std::mem::take(&mut self.late.held);
        for event in held {
            let after = if spread > 0 {
                self.late.release_rng.random_range(0..=spread)
            } else {
                0
            };
            self.deferred_total -= 1;
            self.push(self.now.saturating_add(after), event)?;
        }
        Ok(())
    }

    /// Keeps a copy of a message just sent, if replays may reach it, and forgets what no
    /// replay can reach any more.
    #[inline]
    pub(super) fn remember_sent(&mut self, envelope: Envelope, msg: &M) {
        if self.late.window_ns == 0 {
            return;
        }
        self.keep_sent(envelope, msg);
    }

    /// [`Self::remember_sent`] in a run with replays: kept out of line, off the send path of
    /// every other run.
    #[inline(never)]
    fn keep_sent(&mut self, envelope: Envelope, msg: &M) {
        let late = &mut *self.late;
        late.recent.push_back((envelope, msg.clone()));
        while late.recent.len() > REPLAY_MESSAGES_MAX
            || late
                .recent
                .front()
                .is_some_and(|(e, _)| self.now - e.sent_ns >= late.window_ns)
        {
            late.recent.pop_front();
        }
    }

    /// Schedules, `delay_ns` from now, copies of the messages sent in the last `window_ns`
    /// from `from` to `to` (any node where `None`), in send order; returns how many.
    pub(super) fn replay(
        &mut self,
        from: Option<NodeId>,
        to: Option<NodeId>,
        window_ns: Nanos,
        delay_ns: Nanos,
    ) -> Result<u64, SimError> {
        let since = self.now.saturating_sub(window_ns);
        let at = self.now.saturating_add(delay_ns);
        let copies: Vec<Event<M>> = self
            .late
            .recent
            .iter()
            .filter(|(e, _)| {
                e.sent_ns >= since
                    && from.is_none_or(|f| f == e.from)
                    && to.is_none_or(|t| t == e.to)
            })
            .map(|(e, msg)| Event::delivery(*e, msg.clone()))
            .collect();
        let count = copies.len() as u64;
        for event in copies {
            self.push(at, event)?;
        }
        self.stats.messages_replayed += count;
        Ok(count)
    }
}
