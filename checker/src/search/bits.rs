//! Fixed-width bitsets of `N` u64 words: the live part of a configuration, with no heap.

/// A bitset of `64 * N` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Bits<const N: usize>(pub(crate) [u64; N]);

impl<const N: usize> Bits<N> {
    /// No bit set.
    pub(crate) const EMPTY: Bits<N> = Bits([0; N]);

    /// Whether bit `i` is set.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> bool {
        self.0[i / 64] >> (i % 64) & 1 == 1
    }

    /// Sets bit `i`.
    #[inline]
    pub(crate) fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    /// Clears bit `i`.
    #[inline]
    pub(crate) fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }

    /// The clear bits at positions `from..width`, lowest first: the unplaced calls of a
    /// window, found a word at a time instead of a bit at a time.
    #[inline]
    pub(crate) fn clear_in(&self, from: usize, width: usize) -> ClearBits<N> {
        let width = width.min(64 * N);
        let word = from / 64;
        let current = if from < width {
            !self.0[word] & window_mask(from % 64, width - word * 64)
        } else {
            0
        };
        ClearBits {
            words: self.0,
            word,
            current,
            width,
        }
    }

    /// How many low bits are set before the first clear one.
    #[inline]
    pub(crate) fn trailing_ones(&self) -> usize {
        let mut count = 0;
        for word in self.0 {
            let ones = word.trailing_ones() as usize;
            count += ones;
            if ones < 64 {
                break;
            }
        }
        count
    }

    /// Shifts towards bit 0 by `s` bits (the low `s` bits are dropped).
    #[inline]
    pub(crate) fn shift_down(&mut self, s: usize) {
        if s == 0 {
            return;
        }
        let (words, bits) = (s / 64, s % 64);
        for i in 0..N {
            let lo = self.0.get(i + words).copied().unwrap_or(0);
            let hi = self.0.get(i + words + 1).copied().unwrap_or(0);
            self.0[i] = if bits == 0 {
                lo
            } else {
                (lo >> bits) | (hi << (64 - bits))
            };
        }
    }

    /// Shifts away from bit 0 by `s` bits and sets the `s` low bits: undoes a
    /// [`Bits::shift_down`] of `s` set bits.
    #[inline]
    pub(crate) fn shift_up_ones(&mut self, s: usize) {
        if s == 0 {
            return;
        }
        let (words, bits) = (s / 64, s % 64);
        for i in (0..N).rev() {
            let hi = if i >= words { self.0[i - words] } else { 0 };
            let lo = if i > words { self.0[i - words - 1] } else { 0 };
            self.0[i] = if bits == 0 {
                hi
            } else {
                (hi << bits) | (lo >> (64 - bits))
            };
        }
        for i in 0..s {
            self.set(i);
        }
    }
}

/// The bits `from..to` of a word (`to` may pass 64).
#[inline]
fn window_mask(from: usize, to: usize) -> u64 {
    let high = if to >= 64 { u64::MAX } else { (1u64 << to) - 1 };
    high & (u64::MAX << from)
}

/// Iterator over the clear bits of a [`Bits`] in a range ([`Bits::clear_in`]).
pub(crate) struct ClearBits<const N: usize> {
    words: [u64; N],
    /// The word `current` came from.
    word: usize,
    /// The clear bits of that word still to give, as set bits.
    current: u64,
    width: usize,
}

impl<const N: usize> Iterator for ClearBits<N> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        loop {
            if self.current != 0 {
                let bit = self.current.trailing_zeros() as usize;
                self.current &= self.current - 1;
                return Some(self.word * 64 + bit);
            }
            self.word += 1;
            if self.word >= N || self.word * 64 >= self.width {
                return None;
            }
            self.current = !self.words[self.word] & window_mask(0, self.width - self.word * 64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Bits;

    /// The clear bits in a range are exactly those `get` says are clear, in order.
    #[test]
    fn clear_in_lists_the_clear_bits_of_the_range() {
        let mut bits = Bits::<3>::EMPTY;
        for i in [0, 1, 5, 63, 64, 66, 127, 128, 130, 191] {
            bits.set(i);
        }
        for (from, width) in [
            (0, 0),
            (0, 10),
            (3, 70),
            (64, 64),
            (60, 192),
            (0, 192),
            (5, 300),
            (190, 192),
        ] {
            let expected: Vec<usize> = (from..width.min(192)).filter(|&i| !bits.get(i)).collect();
            let found: Vec<usize> = bits.clear_in(from, width).collect();
            assert_eq!(found, expected, "from {from} width {width}");
        }
    }

    /// Shifting down then up with ones restores a set whose low bits were ones.
    #[test]
    fn shift_round_trip() {
        for s in [0, 1, 5, 63, 64, 65, 100] {
            let mut bits = Bits::<3>::EMPTY;
            for i in 0..s {
                bits.set(i);
            }
            for i in [s + 1, s + 3, s + 70, 150] {
                if i < 192 {
                    bits.set(i);
                }
            }
            let before = bits;
            assert_eq!(bits.trailing_ones(), s);
            bits.shift_down(s);
            assert!(!bits.get(0));
            bits.shift_up_ones(s);
            assert_eq!(bits, before, "shift {s}");
        }
    }
}
