//! Hybrid logical clocks (Kulkarni, Demirbas, Madappa, Avva & Leone, "Logical Physical Clocks",
//! OPODIS 2014) and the last-writer-wins stamp built on them.
//!
//! An HLC timestamp `(wall_ns, logical)` stays close to the node's physical clock (it never runs
//! ahead of the largest physical time seen anywhere) yet respects causality: if event `e`
//! happened before `f`, then `hlc(e) < hlc(f)`, whatever the clocks' skew. Last-writer-wins
//! ordered by HLC therefore never lets a write lose to one it causally follows, which ordering
//! by the local wall clock does under skew (the `wall_clock_lww` bug).

use serde::{Deserialize, Serialize};
use sim_core::{Nanos, NodeId};

/// An HLC timestamp, ordered by `(wall_ns, logical)`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Hlc {
    /// The largest physical time (local clock, ns) known when the timestamp was taken.
    pub wall_ns: Nanos,
    /// Counts events that share `wall_ns`.
    pub logical: u32,
}

/// The order of two writes: HLC first, the writing member breaks ties. Two writes never share
/// a stamp (one member's HLC strictly increases), so `Stamp` totally orders writes.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Stamp {
    /// When, in hybrid logical time.
    pub hlc: Hlc,
    /// The member that accepted the write.
    pub node: NodeId,
}

/// A node's hybrid logical clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HlcClock {
    last: Hlc,
}

impl HlcClock {
    /// A clock that will never issue a timestamp at or below `floor` (recovered after a restart).
    pub fn starting_after(floor: Hlc) -> Self {
        Self { last: floor }
    }

    /// The latest timestamp issued or observed.
    pub fn last(&self) -> Hlc {
        self.last
    }

    /// A timestamp for a local or send event at physical time `pt_ns` (the paper's send rule).
    pub fn tick(&mut self, pt_ns: Nanos) -> Hlc {
        let wall_ns = self.last.wall_ns.max(pt_ns);
        let logical = if wall_ns == self.last.wall_ns {
            self.last.logical.saturating_add(1)
        } else {
            0
        };
        self.last = Hlc { wall_ns, logical };
        self.last
    }

    /// Takes a timestamp `remote` seen in a message into account (the paper's receive rule),
    /// so every later `tick` exceeds it.
    pub fn observe(&mut self, remote: Hlc, pt_ns: Nanos) {
        let l = self.last;
        let wall_ns = l.wall_ns.max(remote.wall_ns).max(pt_ns);
        let logical = if wall_ns == l.wall_ns && wall_ns == remote.wall_ns {
            l.logical.max(remote.logical).saturating_add(1)
        } else if wall_ns == l.wall_ns {
            l.logical.saturating_add(1)
        } else if wall_ns == remote.wall_ns {
            remote.logical.saturating_add(1)
        } else {
            0
        };
        self.last = Hlc { wall_ns, logical };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ticks strictly increase even when the physical clock stands still or goes back.
    #[test]
    fn ticks_are_strictly_monotonic() {
        let mut c = HlcClock::default();
        let a = c.tick(100);
        let b = c.tick(100);
        let d = c.tick(50);
        let e = c.tick(200);
        assert!(a < b && b < d && d < e, "{a:?} {b:?} {d:?} {e:?}");
        assert_eq!(
            e,
            Hlc {
                wall_ns: 200,
                logical: 0
            }
        );
    }

    /// After observing a remote timestamp from a clock far ahead, the next tick exceeds it:
    /// causality holds under skew.
    #[test]
    fn observe_makes_later_ticks_exceed_the_remote() {
        let mut slow = HlcClock::default();
        let remote = Hlc {
            wall_ns: 1_000_000,
            logical: 7,
        };
        slow.observe(remote, 10);
        let t = slow.tick(20);
        assert!(t > remote, "{t:?} <= {remote:?}");
        assert_eq!(
            t.wall_ns, 1_000_000,
            "HLC stays at the largest physical time seen"
        );
    }
}
