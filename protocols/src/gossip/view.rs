//! A member's view of the membership: per member its status and incarnation, packed into one
//! `u32` in a `Vec` indexed by `NodeId` (4 bytes per member; the view is the only O(n) state a
//! member has), plus the list of running suspicions. The precedence rules of SWIM §4.2 decide
//! which update wins.

use serde::{Deserialize, Serialize};
use sim_core::{Nanos, NodeId};

/// What a member is believed to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Answering probes.
    Alive,
    /// Missed a probe; dead unless it refutes before the suspicion times out.
    Suspect,
    /// Confirmed dead (SWIM's `Confirm`).
    Dead,
}

/// One membership update, as disseminated (piggybacked) and applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemberUpdate {
    /// Whom it is about.
    pub member: NodeId,
    /// The incarnation it is about.
    pub incarnation: u32,
    /// What it says.
    pub status: Status,
}

/// The largest incarnation a packed entry holds (30 bits).
pub const INCARNATION_MAX: u32 = (1 << 30) - 1;

/// Status and incarnation in one word: incarnation in the high 30 bits, status in the low 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry(u32);

impl Entry {
    fn new(status: Status, incarnation: u32) -> Self {
        let s = match status {
            Status::Alive => 0,
            Status::Suspect => 1,
            Status::Dead => 2,
        };
        Entry(incarnation.min(INCARNATION_MAX) << 2 | s)
    }

    fn status(self) -> Status {
        match self.0 & 3 {
            0 => Status::Alive,
            1 => Status::Suspect,
            _ => Status::Dead,
        }
    }

    fn incarnation(self) -> u32 {
        self.0 >> 2
    }
}

/// The outcome of applying an update about another member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Old news; nothing changed.
    None,
    /// The view changed from `from` to the update's status (disseminate the update further).
    Changed {
        /// The status before.
        from: Status,
    },
}

/// A member's membership view.
#[derive(Clone, Debug)]
pub struct View {
    me: NodeId,
    entries: Vec<Entry>,
    /// Running suspicions: the member and the local time at which it is confirmed dead.
    suspects: Vec<(NodeId, Nanos)>,
}

impl View {
    /// Everyone alive at incarnation 0 (the static initial membership).
    pub fn new(me: NodeId, members: u32) -> Self {
        Self {
            me,
            entries: vec![Entry::new(Status::Alive, 0); members as usize],
            suspects: Vec::new(),
        }
    }

    /// Number of members, this one included.
    pub fn len(&self) -> u32 {
        self.entries.len() as u32
    }

    /// Whether the view is empty (never: it holds at least its owner).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `member`'s status (`Dead` for an unknown member).
    pub fn status(&self, member: NodeId) -> Status {
        self.entries
            .get(member.index())
            .map_or(Status::Dead, |e| e.status())
    }

    /// `member`'s incarnation as known here.
    pub fn incarnation(&self, member: NodeId) -> u32 {
        self.entries
            .get(member.index())
            .map_or(0, |e| e.incarnation())
    }

    /// The update that states what this view believes about `member`.
    pub fn update_for(&self, member: NodeId) -> MemberUpdate {
        MemberUpdate {
            member,
            incarnation: self.incarnation(member),
            status: self.status(member),
        }
    }

    /// Whether `member` may be contacted (alive or merely suspected, and not this member).
    pub fn reachable(&self, member: NodeId) -> bool {
        member != self.me && self.status(member) != Status::Dead
    }

    /// Every entry that differs from the initial "alive at incarnation 0": what a joining
    /// member needs to know (bounded by the number of members).
    pub fn non_initial(&self) -> Vec<MemberUpdate> {
        let initial = Entry::new(Status::Alive, 0);
        (0..self.len())
            .map(NodeId)
            .filter(|m| self.entries[m.index()] != initial)
            .map(|m| self.update_for(m))
            .collect()
    }

    /// Applies an update about another member with SWIM's precedence (§4.2, with memberlist's
    /// treatment of `Dead`):
    /// - `Alive i` overrides `Suspect j` and `Alive j` when `i > j`, and `Dead j` when `i > j`
    ///   (a restarted or refuting member rejoins with a higher incarnation);
    /// - `Suspect i` overrides `Suspect j` when `i > j` and `Alive j` when `i ≥ j`;
    /// - `Dead i` overrides `Alive j` and `Suspect j` when `i ≥ j`.
    ///
    /// With `ignore_incarnation` (the bug) every incarnation compares equal.
    pub fn apply(
        &mut self,
        update: MemberUpdate,
        ignore_incarnation: bool,
        suspect_until_local_ns: Nanos,
    ) -> Change {
        let Some(current) = self.entries.get(update.member.index()).copied() else {
            return Change::None;
        };
        if update.member == self.me {
            return Change::None;
        }
        let (new, old) = if ignore_incarnation {
            (0, 0)
        } else {
            (update.incarnation, current.incarnation())
        };
        let from = current.status();
        let wins = match (update.status, from) {
            (Status::Alive, _) => new > old,
            (Status::Suspect, Status::Alive) => new >= old,
            (Status::Suspect, Status::Suspect) => new > old,
            (Status::Suspect, Status::Dead) => false,
            (Status::Dead, Status::Dead) => false,
            (Status::Dead, _) => new >= old,
        };
        if !wins {
            return Change::None;
        }
        let incarnation = if ignore_incarnation {
            current.incarnation()
        } else {
            update.incarnation
        };
        self.entries[update.member.index()] = Entry::new(update.status, incarnation);
        self.suspects.retain(|(m, _)| *m != update.member);
        if update.status == Status::Suspect {
            self.suspects.push((update.member, suspect_until_local_ns));
        }
        Change::Changed { from }
    }

    /// The suspicions that have timed out by `now_local_ns`, removed from the running list.
    pub fn expired_suspicions(&mut self, now_local_ns: Nanos) -> Vec<MemberUpdate> {
        let mut expired = Vec::new();
        self.suspects.retain(|(m, until)| {
            let done = *until <= now_local_ns;
            if done {
                expired.push(*m);
            }
            !done
        });
        expired
            .into_iter()
            .map(|m| MemberUpdate {
                member: m,
                incarnation: self.incarnation(m),
                status: Status::Dead,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(member: u32, incarnation: u32, status: Status) -> MemberUpdate {
        MemberUpdate {
            member: NodeId(member),
            incarnation,
            status,
        }
    }

    /// A refutation (alive at a higher incarnation) beats a suspicion; an alive at the same
    /// incarnation does not; with the bug nothing ever beats a suspicion.
    #[test]
    fn refutation_needs_a_higher_incarnation() {
        let mut v = View::new(NodeId(0), 4);
        assert!(matches!(
            v.apply(up(1, 0, Status::Suspect), false, 10),
            Change::Changed { .. }
        ));
        assert_eq!(v.apply(up(1, 0, Status::Alive), false, 10), Change::None);
        assert!(matches!(
            v.apply(up(1, 1, Status::Alive), false, 10),
            Change::Changed { .. }
        ));
        assert_eq!(v.status(NodeId(1)), Status::Alive);
        assert!(
            v.expired_suspicions(100).is_empty(),
            "the suspicion was cancelled"
        );

        let mut buggy = View::new(NodeId(0), 4);
        buggy.apply(up(1, 0, Status::Suspect), true, 10);
        assert_eq!(buggy.apply(up(1, 5, Status::Alive), true, 10), Change::None);
        assert_eq!(buggy.expired_suspicions(10), vec![up(1, 0, Status::Dead)]);
    }

    /// A stale death (lower incarnation) does not kill a member that rejoined; a newer alive
    /// revives a dead member.
    #[test]
    fn dead_and_rejoin_follow_incarnations() {
        let mut v = View::new(NodeId(0), 4);
        v.apply(up(2, 3, Status::Alive), false, 0);
        assert_eq!(v.apply(up(2, 2, Status::Dead), false, 0), Change::None);
        assert!(matches!(
            v.apply(up(2, 3, Status::Dead), false, 0),
            Change::Changed { .. }
        ));
        assert_eq!(v.apply(up(2, 3, Status::Suspect), false, 0), Change::None);
        assert!(matches!(
            v.apply(up(2, 4, Status::Alive), false, 0),
            Change::Changed { .. }
        ));
        assert_eq!(v.non_initial(), vec![up(2, 4, Status::Alive)]);
        assert_eq!(
            v.apply(up(0, 9, Status::Dead), false, 0),
            Change::None,
            "never about me"
        );
    }
}
