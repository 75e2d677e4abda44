//! The calls in flight, by process: a vector indexed by process for the small process numbers
//! histories use (no hashing on the hot path), a hash map for the others.

use rustc_hash::FxHashMap;

/// Processes numbered below this are kept in the vector (it grows to the largest one seen).
const DENSE_PROCESSES: u64 = 1 << 12;

/// At most one value per process.
pub(crate) struct InFlight<T> {
    /// Slot `p`: process `p`'s value, for `p < DENSE_PROCESSES`.
    dense: Vec<Option<T>>,
    /// The values of processes numbered from `DENSE_PROCESSES` up. Only looked up, and
    /// drained in an order the caller sorts, so nothing depends on hashing order.
    sparse: FxHashMap<u64, T>,
    len: usize,
}

impl<T> InFlight<T> {
    /// Nothing in flight.
    pub(crate) fn new() -> InFlight<T> {
        InFlight {
            dense: Vec::new(),
            sparse: FxHashMap::default(),
            len: 0,
        }
    }

    /// The value of `process`, if any.
    #[inline]
    pub(crate) fn get(&self, process: u64) -> Option<&T> {
        if process < DENSE_PROCESSES {
            self.dense.get(process as usize)?.as_ref()
        } else {
            self.sparse.get(&process)
        }
    }

    /// Sets the value of `process`, which has none.
    #[inline]
    pub(crate) fn insert(&mut self, process: u64, value: T) {
        debug_assert!(self.get(process).is_none());
        self.len += 1;
        if process < DENSE_PROCESSES {
            let slot = process as usize;
            if slot >= self.dense.len() {
                self.dense.resize_with(slot + 1, || None);
            }
            self.dense[slot] = Some(value);
        } else {
            self.sparse.insert(process, value);
        }
    }

    /// Takes the value of `process` out, if any.
    #[inline]
    pub(crate) fn remove(&mut self, process: u64) -> Option<T> {
        let value = if process < DENSE_PROCESSES {
            self.dense.get_mut(process as usize)?.take()
        } else {
            self.sparse.remove(&process)
        };
        self.len -= usize::from(value.is_some());
        value
    }

    /// Every value, in no particular order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &T> {
        self.dense.iter().flatten().chain(self.sparse.values())
    }

    /// Takes every value out, in no particular order.
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let mut all = Vec::with_capacity(self.len);
        all.extend(self.dense.drain(..).flatten());
        all.extend(self.sparse.drain().map(|(_, value)| value));
        self.len = 0;
        all
    }
}

#[cfg(test)]
mod tests {
    use super::{DENSE_PROCESSES, InFlight};

    /// Small and large process numbers alike are kept, found, removed and drained once.
    #[test]
    fn keeps_one_value_per_process() {
        let mut in_flight = InFlight::new();
        let processes = [0, 7, DENSE_PROCESSES - 1, DENSE_PROCESSES, u64::MAX];
        for &p in &processes {
            assert!(in_flight.get(p).is_none());
            in_flight.insert(p, p);
        }
        for &p in &processes {
            assert_eq!(in_flight.get(p), Some(&p));
        }
        assert_eq!(in_flight.remove(7), Some(7));
        assert_eq!(in_flight.remove(7), None);
        assert_eq!(in_flight.remove(DENSE_PROCESSES), Some(DENSE_PROCESSES));
        assert_eq!(in_flight.remove(12345678), None);
        let mut left: Vec<u64> = in_flight.values().copied().collect();
        left.sort_unstable();
        assert_eq!(left, [0, DENSE_PROCESSES - 1, u64::MAX]);
        let mut drained = in_flight.drain();
        drained.sort_unstable();
        assert_eq!(drained, [0, DENSE_PROCESSES - 1, u64::MAX]);
        assert_eq!(in_flight.values().count(), 0);
    }
}
