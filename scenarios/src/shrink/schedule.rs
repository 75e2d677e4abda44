//! The fault schedule as shrinking sees it: which entries belong together (a crash and its
//! restart, a pause and its resume, a partition and its heal, a clock jump and the jump back),
//! how far a group of entries can move earlier without passing the entry before it, and the
//! moved schedule. Keeping every entry at or after the one before it in the list keeps the
//! order in which the engine applies them, so pairs stay paired and ordered.

use sim_core::{Nanos, ScheduledFault};

/// Entries moved together: a fault and, if it has one, the entry that undoes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unit {
    /// The index of the fault.
    pub start: usize,
    /// The index of its undo, later in the list.
    pub undo: Option<usize>,
}

impl Unit {
    /// The indices of the unit's entries.
    pub fn indices(self) -> impl Iterator<Item = usize> {
        std::iter::once(self.start).chain(self.undo)
    }
}

/// Whether the entries' times never decrease along the list.
pub fn is_sorted(faults: &[ScheduledFault]) -> bool {
    faults.windows(2).all(|w| w[0].at_ns <= w[1].at_ns)
}

/// The schedule cut into units: each fault that starts something is paired with the first
/// later entry that undoes it and is not yet taken; everything else is a unit on its own.
/// `heal_all` is never taken as an undo, since it ends every fault at once.
pub fn units(faults: &[ScheduledFault]) -> Vec<Unit> {
    let mut taken = vec![false; faults.len()];
    let mut units = Vec::new();
    for i in 0..faults.len() {
        if taken[i] {
            continue;
        }
        taken[i] = true;
        let undo = (i + 1..faults.len())
            .find(|&j| !taken[j] && faults[i].fault.undone_by(&faults[j].fault));
        if let Some(j) = undo {
            taken[j] = true;
        }
        units.push(Unit { start: i, undo });
    }
    units
}

/// How far the entries `moved` (ascending indices) can all move earlier together: no entry
/// before 0 and none before an entry that stays, so the list stays in time order.
pub fn shift_max(faults: &[ScheduledFault], moved: &[usize]) -> Nanos {
    moved
        .iter()
        .map(|&k| {
            let before = match k.checked_sub(1) {
                Some(p) if moved.contains(&p) => return Nanos::MAX,
                Some(p) => faults[p].at_ns,
                None => 0,
            };
            faults[k].at_ns.saturating_sub(before)
        })
        .min()
        .unwrap_or(0)
}

/// The schedule with the entries `moved` made `delta_ns` earlier (saturating at 0).
pub fn shifted(faults: &[ScheduledFault], moved: &[usize], delta_ns: Nanos) -> Vec<ScheduledFault> {
    let mut out = faults.to_vec();
    for &k in moved {
        out[k].at_ns = out[k].at_ns.saturating_sub(delta_ns);
    }
    out
}

/// Coarse time steps tried when rounding, coarsest first: 1 s, 100 ms, 10 ms, 1 ms.
pub const ROUNDING_QUANTA_NS: [Nanos; 4] = [1_000_000_000, 100_000_000, 10_000_000, 1_000_000];

/// `t` rounded down to a multiple of `quantum_ns`.
pub fn round_down(t: Nanos, quantum_ns: Nanos) -> Nanos {
    t - t % quantum_ns.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::{Fault, NodeId, PartitionSpec};

    fn at(at_ns: Nanos, fault: Fault) -> ScheduledFault {
        ScheduledFault { at_ns, fault }
    }

    fn crash(n: u32) -> Fault {
        Fault::Crash { node: NodeId(n) }
    }

    fn restart(n: u32) -> Fault {
        Fault::Restart { node: NodeId(n) }
    }

    #[test]
    fn starts_pair_with_their_own_undo_and_overlaps_stay_apart() {
        let faults = vec![
            at(10, crash(1)),
            at(20, Fault::Partition(PartitionSpec::halves())),
            at(30, crash(2)),
            at(40, restart(1)),
            at(50, Fault::Heal),
            at(60, restart(2)),
            at(70, restart(3)),
            at(80, Fault::HealAll),
        ];
        let units = units(&faults);
        let pairs: Vec<(usize, Option<usize>)> = units.iter().map(|u| (u.start, u.undo)).collect();
        assert_eq!(
            pairs,
            vec![
                (0, Some(3)),
                (1, Some(4)),
                (2, Some(5)),
                (6, None),
                (7, None)
            ]
        );
    }

    #[test]
    fn clock_jumps_pair_only_with_the_jump_back_on_the_same_node() {
        let jump = |n, d| Fault::ClockJump {
            node: NodeId(n),
            delta_ns: d,
        };
        let faults = vec![at(1, jump(0, 5)), at(2, jump(1, -5)), at(3, jump(0, -5))];
        let units = units(&faults);
        assert_eq!(
            units[0],
            Unit {
                start: 0,
                undo: Some(2)
            }
        );
        assert_eq!(
            units[1],
            Unit {
                start: 1,
                undo: None
            }
        );
    }

    #[test]
    fn shifts_never_pass_an_entry_that_stays() {
        let faults = vec![at(100, crash(1)), at(250, crash(2)), at(400, restart(2))];
        assert_eq!(shift_max(&faults, &[0]), 100, "bounded by time 0");
        assert_eq!(
            shift_max(&faults, &[1, 2]),
            150,
            "the pair stops at the crash before"
        );
        assert_eq!(
            shift_max(&faults, &[2]),
            150,
            "the undo stops at its own start"
        );
        assert_eq!(shift_max(&faults, &[0, 1, 2]), 100, "everything stops at 0");
        let moved = shifted(&faults, &[1, 2], 150);
        assert!(is_sorted(&moved));
        assert_eq!((moved[1].at_ns, moved[2].at_ns), (100, 250));
        assert!(!is_sorted(&shifted(&faults, &[1], 151)));
    }

    #[test]
    fn rounding_goes_down_to_the_quantum() {
        assert_eq!(round_down(1_234_567_891, 100_000_000), 1_200_000_000);
        assert_eq!(round_down(999, 1_000), 0);
        assert_eq!(round_down(5, 0), 5);
    }
}
