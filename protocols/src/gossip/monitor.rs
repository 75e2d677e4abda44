//! The run's observer, shared by all members (one `Rc<RefCell<Monitor>>` per run). Members
//! tell it what they do; it never influences them. It records:
//! - **death episodes**: all declarations that `m` is dead at one incarnation. If `m` is seen
//!   running in the same process lifetime after the first of them, the episode was a *false
//!   positive* (`m` was alive, only slow, paused or cut off); if `m` restarts first, it had
//!   crashed and the detection was right;
//! - per write and increment the member that took it and the write's stamp, for the
//!   lost-write check, and how far each write has spread, for the dissemination metrics;
//! - message and round counters.
//!
//! Times are the local clock of the member that reports them: equal to true time in
//! scenarios without clock skew (the detection metrics are only meaningful there).

use std::collections::BTreeMap;

use sim_core::{Nanos, NodeId, Value};

use super::hlc::Stamp;

/// Most death episodes kept in detail; later ones are only counted.
pub const EPISODES_KEPT_MAX: usize = 100_000;
/// Writes and increments are indexed by their value (the workload's values are 1, 2, 3, …);
/// values at or above this are not tracked.
pub const VALUES_TRACKED_MAX: i64 = 10_000_000;

/// One stretch during which some member held `member` for dead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Episode {
    /// Who was declared dead.
    pub member: NodeId,
    /// First suspicion of `member` since it was last seen running, if any (local ns).
    pub first_suspect_ns: Option<Nanos>,
    /// First declaration (local ns of the declaring member).
    pub first_dead_ns: Nanos,
    /// Each member that declared it, with the time of its latest declaration.
    pub by: BTreeMap<NodeId, Nanos>,
    /// How the episode ended.
    pub verdict: Verdict,
}

/// How a death episode ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not yet: the member has not run since (crashed for good, or paused at the end).
    Open,
    /// The member restarted: it had crashed, the detection was right.
    Crashed,
    /// The member ran again in the same lifetime: it was alive, a false positive.
    FalsePositive,
}

/// What the monitor knows about one write (`write` op).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WriteRecord {
    /// The key.
    pub key: u64,
    /// Its last-writer-wins stamp.
    pub stamp: Stamp,
    /// The member that accepted it.
    pub member: NodeId,
    /// Members that adopted it so far (the accepting one included, if it won there).
    pub holders: u32,
    /// Rounds started and sync messages sent, cluster-wide, when it was accepted.
    pub at: (u64, u64),
    /// The same counters when the latest member adopted it.
    pub last_adoption: (u64, u64),
}

/// What the monitor knows about one value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Applied {
    /// A write.
    Write(WriteRecord),
    /// An increment of `key`'s counter, taken by `member`.
    Increment {
        /// The key.
        key: u64,
        /// The member that took it.
        member: NodeId,
    },
}

#[derive(Clone, Debug, Default)]
struct Track {
    first_suspect_ns: Option<Nanos>,
    /// The latest episode: the incarnation it is about and its index in `episodes`.
    current: Option<(u32, usize)>,
}

/// The shared observer.
#[derive(Debug)]
pub struct Monitor {
    members: u32,
    tracks: Vec<Track>,
    episodes: Vec<Episode>,
    episodes_total: u64,
    false_positives: u64,
    applied: Vec<Option<Applied>>,
    rounds: u64,
    sync_messages: u64,
    membership_messages: u64,
}

impl Monitor {
    /// A monitor for `members` members.
    pub fn new(members: u32) -> Self {
        Self {
            members,
            tracks: vec![Track::default(); members as usize],
            episodes: Vec::new(),
            episodes_total: 0,
            false_positives: 0,
            applied: Vec::new(),
            rounds: 0,
            sync_messages: 0,
            membership_messages: 0,
        }
    }

    /// `member` (re)started: an open episode was a true detection of its crash.
    pub fn started(&mut self, member: NodeId) {
        self.judge(member, Verdict::Crashed);
    }

    /// `member` handles an event: it is running, so an open episode was a false positive.
    #[inline]
    pub fn active(&mut self, member: NodeId) {
        self.judge(member, Verdict::FalsePositive);
    }

    fn judge(&mut self, member: NodeId, verdict: Verdict) {
        let Some(track) = self.tracks.get_mut(member.index()) else {
            return;
        };
        track.first_suspect_ns = None;
        if let Some((_, i)) = track.current
            && self.episodes[i].verdict == Verdict::Open
        {
            self.episodes[i].verdict = verdict;
            if verdict == Verdict::FalsePositive {
                self.false_positives += 1;
            }
        }
    }

    /// Some member suspects `member`.
    pub fn suspected(&mut self, member: NodeId, local_ns: Nanos) {
        if let Some(track) = self.tracks.get_mut(member.index()) {
            track.first_suspect_ns.get_or_insert(local_ns);
        }
    }

    /// `by` declared `member` dead at `incarnation`. Declarations about the same incarnation
    /// form one episode (one death, true or false, however many members declare it).
    pub fn declared_dead(&mut self, member: NodeId, incarnation: u32, by: NodeId, local_ns: Nanos) {
        let Some(track) = self.tracks.get_mut(member.index()) else {
            return;
        };
        let index = match track.current {
            Some((i, index)) if i == incarnation => Some(index),
            _ => {
                self.episodes_total += 1;
                if self.episodes.len() < EPISODES_KEPT_MAX {
                    self.episodes.push(Episode {
                        member,
                        first_suspect_ns: track.first_suspect_ns,
                        first_dead_ns: local_ns,
                        by: BTreeMap::new(),
                        verdict: Verdict::Open,
                    });
                    track.current = Some((incarnation, self.episodes.len() - 1));
                    track.current.map(|c| c.1)
                } else {
                    None
                }
            }
        };
        if let Some(i) = index {
            self.episodes[i].by.insert(by, local_ns);
        }
    }

    /// `member` accepted the write of `value` to `key` with `stamp`; `won` says whether it
    /// became the member's current value.
    pub fn write_applied(
        &mut self,
        value: &Value,
        key: u64,
        stamp: Stamp,
        member: NodeId,
        won: bool,
    ) {
        let at = (self.rounds, self.sync_messages);
        let record = WriteRecord {
            key,
            stamp,
            member,
            holders: 0,
            at,
            last_adoption: at,
        };
        if let Some(slot) = self.slot(value) {
            *slot = Some(Applied::Write(record));
        }
        if won {
            self.adopted(value);
        }
    }

    /// `member` accepted the increment `value` of `key`'s counter.
    pub fn increment_applied(&mut self, value: &Value, key: u64, member: NodeId) {
        if let Some(slot) = self.slot(value) {
            *slot = Some(Applied::Increment { key, member });
        }
    }

    /// One more member holds the write of `value`.
    pub fn adopted(&mut self, value: &Value) {
        let now = (self.rounds, self.sync_messages);
        let Some(Some(Applied::Write(w))) = self.slot(value) else {
            return;
        };
        w.holders += 1;
        w.last_adoption = now;
    }

    fn slot(&mut self, value: &Value) -> Option<&mut Option<Applied>> {
        let Value::Int(v) = value else { return None };
        if !(0..VALUES_TRACKED_MAX).contains(v) {
            return None;
        }
        let i = *v as usize;
        if self.applied.len() <= i {
            self.applied.resize(i + 1, None);
        }
        self.applied.get_mut(i)
    }

    /// What was applied for `value`, if anything.
    pub fn applied(&self, value: &Value) -> Option<Applied> {
        let Value::Int(v) = value else { return None };
        usize::try_from(*v)
            .ok()
            .and_then(|i| self.applied.get(i).copied().flatten())
    }

    /// Every write recorded.
    pub fn writes(&self) -> impl Iterator<Item = &WriteRecord> {
        self.applied.iter().filter_map(|a| match a {
            Some(Applied::Write(w)) => Some(w),
            _ => None,
        })
    }

    /// Rounds (per member) and sync messages from the write's acceptance until `live` members
    /// held it, if they did.
    pub fn reach(&self, w: &WriteRecord, live: u32) -> Option<(f64, u64)> {
        (w.holders >= live).then(|| {
            let rounds = (w.last_adoption.0 - w.at.0) as f64 / f64::from(self.members.max(1));
            (rounds, w.last_adoption.1 - w.at.1)
        })
    }

    /// A member started an anti-entropy round.
    pub fn round_started(&mut self) {
        self.rounds += 1;
    }

    /// A member sent an anti-entropy message.
    pub fn sync_sent(&mut self) {
        self.sync_messages += 1;
    }

    /// A member sent a membership message (ping, ack, ping-req, join).
    pub fn membership_sent(&mut self) {
        self.membership_messages += 1;
    }

    /// The death episodes kept.
    pub fn episodes(&self) -> &[Episode] {
        &self.episodes
    }

    /// All death episodes, kept or not.
    pub fn episodes_total(&self) -> u64 {
        self.episodes_total
    }

    /// Episodes that ended because the dead member was seen running: false positives.
    pub fn false_positives(&self) -> u64 {
        self.false_positives
    }

    /// Anti-entropy rounds started, cluster-wide.
    pub fn rounds(&self) -> u64 {
        self.rounds
    }

    /// Anti-entropy messages sent, cluster-wide.
    pub fn sync_messages(&self) -> u64 {
        self.sync_messages
    }

    /// Membership messages sent, cluster-wide.
    pub fn membership_messages(&self) -> u64 {
        self.membership_messages
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A member declared dead that runs again was a false positive; one that restarts had
    /// crashed.
    #[test]
    fn episodes_are_judged_by_what_the_member_does_next() {
        let mut m = Monitor::new(3);
        m.suspected(NodeId(1), 5);
        m.declared_dead(NodeId(1), 0, NodeId(0), 10);
        m.active(NodeId(1));
        m.declared_dead(NodeId(1), 0, NodeId(2), 12);
        m.active(NodeId(1));
        m.declared_dead(NodeId(2), 0, NodeId(0), 20);
        m.started(NodeId(2));
        m.declared_dead(NodeId(2), 0, NodeId(1), 22);
        m.active(NodeId(2));
        assert_eq!(m.false_positives(), 1);
        assert_eq!(m.episodes_total(), 2);
        let e = &m.episodes()[0];
        assert_eq!(
            (e.first_suspect_ns, e.first_dead_ns, e.by.len()),
            (Some(5), 10, 2)
        );
        assert_eq!(e.verdict, Verdict::FalsePositive);
        assert_eq!(m.episodes()[1].verdict, Verdict::Crashed);
    }
}
