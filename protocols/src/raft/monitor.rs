//! The per-run invariant monitor, shared by all servers of one run (single-threaded, so an
//! `Rc<RefCell<Monitor>>`). Servers report what they do; the monitor checks the paper's
//! Figure 3 properties as the run goes, and the reporting server turns a breach into a
//! `ctx.violation`, so the first bad step is named with its time and node:
//!
//! - **election safety**: at most one leader per term;
//! - **log matching**: an entry stored at (index, term) is the one that term's leader created,
//!   and the entry before it has the term the leader's had (by induction, logs that agree on
//!   an entry agree on everything before it);
//! - **leader completeness**: a new leader's log holds every entry committed so far, and a
//!   committed index never commits a different entry;
//! - **state machine safety**: no two servers apply different entries at the same index;
//! - **durable term**: a server's term never goes back, not even across a crash.
//!
//! It also keeps the run's metrics (leader changes, the longest leaderless window). Processes
//! cannot read true time, so a leaderless window is measured on the new leader's LOCAL clock:
//! from the last moment it knew of a leader (heard one, or was one; its boot after a restart)
//! to its election. Under drift that is off by the drift rate, not by clock offsets.

use std::collections::BTreeMap;

use sim_core::{Nanos, NodeId};

use super::log::{EntryId, Log};

/// A broken invariant: the check's name and what was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breach {
    /// The invariant, e.g. `election-safety`.
    pub check: &'static str,
    /// What was seen.
    pub detail: String,
}

fn breach(check: &'static str, detail: String) -> Result<(), Breach> {
    Err(Breach { check, detail })
}

/// What the monitor knows of a committed index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Committed {
    entry_term: u64,
    commit_term: u64,
}

/// One election won, for metrics and the election-downtime experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Election {
    /// The new leader.
    pub leader: NodeId,
    /// Its term.
    pub term: u64,
    /// The leader's local time when it won.
    pub at_local_ns: Nanos,
}

/// What all servers of a run have done, as far as the invariants need to know.
#[derive(Debug, Default)]
pub struct Monitor {
    leaders: BTreeMap<u64, NodeId>,
    elections: Vec<Election>,
    /// For each (term, index) a leader created: the entry and the term of the entry before it.
    created: BTreeMap<(u64, u64), (EntryId, u64)>,
    /// For each committed index (`committed[i - 1]` for index `i`): the entry's term and the
    /// lowest term in which a leader committed it. Commit terms never decrease along the log,
    /// because a leader commits a whole prefix.
    committed: Vec<Committed>,
    /// The entry each index was applied with (`applied[i - 1]`), by whoever applied it first.
    applied: Vec<Option<EntryId>>,
    /// Each server's highest term ever made durable.
    durable_terms: BTreeMap<NodeId, u64>,
    /// The longest leaderless window seen by a new leader.
    leaderless_ns_max: Nanos,
    snapshots: u64,
}

impl Monitor {
    /// An empty monitor.
    pub fn new() -> Self {
        Self::default()
    }

    /// `node` became leader of `term` at `now_local_ns`, having last known of a leader at
    /// `leader_seen_local_ns`: checks election safety and leader completeness.
    pub fn leader_elected(
        &mut self,
        node: NodeId,
        term: u64,
        log: &Log,
        now_local_ns: Nanos,
        leader_seen_local_ns: Nanos,
    ) -> Result<(), Breach> {
        let gap = now_local_ns.saturating_sub(leader_seen_local_ns);
        self.leaderless_ns_max = self.leaderless_ns_max.max(gap);
        self.elections.push(Election {
            leader: node,
            term,
            at_local_ns: now_local_ns,
        });
        if let Some(other) = self.leaders.insert(term, node)
            && other != node
        {
            return breach(
                "election-safety",
                format!("{other} and {node} are both leaders of term {term}"),
            );
        }
        self.check_completeness(node, term, log)
    }

    /// The leader of `term` created the entry `id` at `index`, after an entry of `prev_term`.
    pub fn entry_created(&mut self, index: u64, id: EntryId, prev_term: u64) {
        self.created.insert((id.term, index), (id, prev_term));
    }

    /// `node` stored entry `id` at `index`, after an entry of `prev_term` in its own log.
    pub fn entry_stored(
        &self,
        node: NodeId,
        index: u64,
        id: EntryId,
        prev_term: Option<u64>,
    ) -> Result<(), Breach> {
        let Some(&(created, created_prev)) = self.created.get(&(id.term, index)) else {
            return breach(
                "log-matching",
                format!(
                    "{node} stored {id:?} at {index}, which no leader of term {} created",
                    id.term
                ),
            );
        };
        if created != id {
            return breach(
                "log-matching",
                format!("{node} stored {id:?} at {index} but the leader created {created:?}"),
            );
        }
        if let Some(prev) = prev_term
            && prev != created_prev
        {
            return breach(
                "log-matching",
                format!(
                    "{node} stored ({index}, term {}) after an entry of term {prev}, the leader's was of term {created_prev}",
                    id.term
                ),
            );
        }
        Ok(())
    }

    /// The leader of `leader_term` committed `index`, whose entry has `entry_term`. A committed
    /// index must never be committed with a different entry.
    pub fn committed(
        &mut self,
        node: NodeId,
        index: u64,
        entry_term: u64,
        leader_term: u64,
    ) -> Result<(), Breach> {
        let slot = (index - 1) as usize;
        if let Some(known) = self.committed.get_mut(slot) {
            known.commit_term = known.commit_term.min(leader_term);
            if known.entry_term != entry_term {
                let had = known.entry_term;
                return breach(
                    "leader-completeness",
                    format!(
                        "{node} committed term {entry_term} at {index}, where term {had} was committed"
                    ),
                );
            }
            return Ok(());
        }
        // A leader commits a prefix, so the index right after the known ones comes next.
        if slot != self.committed.len() {
            return breach(
                "leader-completeness",
                format!(
                    "{node} committed {index} but only ..={} is known committed",
                    self.committed.len()
                ),
            );
        }
        self.committed.push(Committed {
            entry_term,
            commit_term: leader_term,
        });
        Ok(())
    }

    /// `node` applied entry `id` at `index` to its state machine.
    pub fn applied(&mut self, node: NodeId, index: u64, id: EntryId) -> Result<(), Breach> {
        let slot = (index - 1) as usize;
        if slot >= self.applied.len() {
            self.applied.resize(slot + 1, None);
        }
        match self.applied[slot] {
            None => {
                self.applied[slot] = Some(id);
                Ok(())
            }
            Some(first) if first == id => Ok(()),
            Some(first) => breach(
                "state-machine-safety",
                format!("{node} applied {id:?} at {index}, another server applied {first:?}"),
            ),
        }
    }

    /// `node` made `term` durable (or recovered it after a restart): it must never go back.
    pub fn durable_term(&mut self, node: NodeId, term: u64) -> Result<(), Breach> {
        let known = self.durable_terms.entry(node).or_insert(0);
        if term < *known {
            return breach(
                "term-monotonic",
                format!("{node}'s durable term went back from {known} to {term}"),
            );
        }
        *known = term;
        Ok(())
    }

    /// `node` took a snapshot.
    pub fn snapshot_taken(&mut self) {
        self.snapshots += 1;
    }

    /// The elections won so far, in order.
    pub fn elections(&self) -> &[Election] {
        &self.elections
    }

    /// The longest leaderless window a new leader saw, in its local nanoseconds.
    pub fn leaderless_ns_max(&self) -> Nanos {
        self.leaderless_ns_max
    }

    /// Snapshots taken by all servers.
    pub fn snapshots(&self) -> u64 {
        self.snapshots
    }

    /// The highest committed index.
    pub fn commit_index(&self) -> u64 {
        self.committed.len() as u64
    }

    /// The paper's Leader Completeness: an entry committed in a term before `term` is in the
    /// log of `term`'s leader (entries committed in later terms need not be: a stale minority
    /// can elect a leader of a lower term after a higher term committed something).
    fn check_completeness(&self, node: NodeId, term: u64, log: &Log) -> Result<(), Breach> {
        let upto = self.committed.partition_point(|c| c.commit_term < term) as u64;
        if log.last_index() < upto {
            return breach(
                "leader-completeness",
                format!(
                    "{node}, leader of term {term}, ends at {} but ..={upto} was committed before",
                    log.last_index()
                ),
            );
        }
        for index in log.snapshot_index() + 1..=upto {
            let want = self.committed[(index - 1) as usize].entry_term;
            if log.term_at(index) != Some(want) {
                return breach(
                    "leader-completeness",
                    format!(
                        "{node}, leader of term {term}, holds term {:?} at {index} where term {want} is committed",
                        log.term_at(index)
                    ),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::log::{Command, Entry};

    fn log_with_terms(terms: &[u64]) -> Log {
        let mut log = Log::default();
        for &term in terms {
            log.push(Entry {
                term,
                command: Command::Noop,
            });
        }
        log
    }

    #[test]
    fn two_leaders_in_one_term_are_a_breach() {
        let mut m = Monitor::new();
        let log = Log::default();
        assert!(m.leader_elected(NodeId(0), 1, &log, 10, 0).is_ok());
        let b = m.leader_elected(NodeId(1), 1, &log, 20, 0).unwrap_err();
        assert_eq!(b.check, "election-safety");
        assert!(m.leader_elected(NodeId(1), 2, &log, 30, 0).is_ok());
    }

    #[test]
    fn a_leader_missing_a_committed_entry_is_a_breach() {
        let mut m = Monitor::new();
        m.committed(NodeId(0), 1, 1, 2).unwrap();
        m.committed(NodeId(0), 2, 2, 2).unwrap();
        let b = m
            .leader_elected(NodeId(1), 3, &log_with_terms(&[1, 1, 3]), 0, 0)
            .unwrap_err();
        assert_eq!(b.check, "leader-completeness");
        assert!(
            m.leader_elected(NodeId(2), 4, &log_with_terms(&[1, 2]), 0, 0)
                .is_ok()
        );
        assert!(m.committed(NodeId(2), 2, 3, 4).is_err());
        // A leader of a lower term need not hold what a higher term committed.
        assert!(
            m.leader_elected(NodeId(3), 1, &log_with_terms(&[1]), 0, 0)
                .is_ok()
        );
    }

    #[test]
    fn applying_different_entries_at_one_index_is_a_breach() {
        let mut m = Monitor::new();
        let a = EntryId {
            term: 1,
            session: None,
        };
        let b = EntryId {
            term: 2,
            session: None,
        };
        m.applied(NodeId(0), 1, a).unwrap();
        m.applied(NodeId(1), 1, a).unwrap();
        assert_eq!(
            m.applied(NodeId(2), 1, b).unwrap_err().check,
            "state-machine-safety"
        );
    }

    #[test]
    fn storing_an_entry_after_a_mismatched_predecessor_is_a_breach() {
        let mut m = Monitor::new();
        let id = EntryId {
            term: 3,
            session: None,
        };
        m.entry_created(5, id, 2);
        assert!(m.entry_stored(NodeId(1), 5, id, Some(2)).is_ok());
        assert_eq!(
            m.entry_stored(NodeId(1), 5, id, Some(1)).unwrap_err().check,
            "log-matching"
        );
        let other = EntryId {
            term: 3,
            session: Some((NodeId(9), 1)),
        };
        assert!(m.entry_stored(NodeId(1), 5, other, Some(2)).is_err());
    }

    #[test]
    fn a_durable_term_going_back_is_a_breach() {
        let mut m = Monitor::new();
        m.durable_term(NodeId(0), 4).unwrap();
        assert!(m.durable_term(NodeId(0), 3).is_err());
    }
}
