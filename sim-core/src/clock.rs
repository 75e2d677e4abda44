//! Node clocks. Each node reads a local clock that runs off true time by an offset and a drift,
//! and can jump forward or back. Processes only ever see local time; timers are set in local
//! time; checkers and the trace see true time.

use serde::{Deserialize, Serialize};

use crate::bounds::{DURATION_NS_MAX, check_signed_ns};
use crate::error::ConfigError;
use crate::time::Nanos;

/// A node's clock as configured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClockConfig {
    /// Local minus true time at the start, in nanoseconds (may be negative).
    pub offset_ns: i64,
    /// Rate error in parts per million: +100 means the clock gains 100 µs per second. Quartz
    /// oscillators are specified at ±20–100 ppm.
    pub drift_ppm: f64,
}

impl ClockConfig {
    /// Checks the offset (at most [`DURATION_NS_MAX`] either way) and the drift (within
    /// ±[`DRIFT_PPM_MAX`]); `field` names the clock, e.g. `clocks.nodes[2]`.
    pub fn validate(&self, field: &str) -> Result<(), ConfigError> {
        check_signed_ns(
            &format!("{field}.offset_ns"),
            self.offset_ns,
            DURATION_NS_MAX,
        )?;
        if !self.drift_ppm.is_finite() || self.drift_ppm.abs() > DRIFT_PPM_MAX {
            return Err(ConfigError::new(
                format!("{field}.drift_ppm"),
                format!(
                    "{} is out of range; allowed: -{DRIFT_PPM_MAX} to {DRIFT_PPM_MAX}",
                    self.drift_ppm
                ),
            ));
        }
        Ok(())
    }
}

/// The largest drift accepted, in ppm. A clock running at half or double speed is not a clock.
pub const DRIFT_PPM_MAX: f64 = 500_000.0;

/// A node's clock at run time: `local(t) = t + offset + t * drift`, never below zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    offset_ns: i128,
    /// Drift in parts per billion, kept as an integer so local time is exact arithmetic.
    drift_ppb: i128,
}

impl Clock {
    /// A clock from its configuration; `field` names it in errors.
    pub fn new(config: &ClockConfig, field: &str) -> Result<Self, ConfigError> {
        config.validate(field)?;
        Ok(Self {
            offset_ns: i128::from(config.offset_ns),
            drift_ppb: (config.drift_ppm * 1000.0).round() as i128,
        })
    }

    /// A perfect clock.
    pub fn perfect() -> Self {
        Self {
            offset_ns: 0,
            drift_ppb: 0,
        }
    }

    /// The local reading at true time `true_ns`.
    #[inline]
    pub fn local(&self, true_ns: Nanos) -> Nanos {
        if self.drift_ppb == 0 {
            // The common case: no 128-bit multiply and divide on every event.
            let local = i128::from(true_ns) + self.offset_ns;
            return local.clamp(0, i128::from(u64::MAX)) as Nanos;
        }
        let t = i128::from(true_ns);
        let local = t + self.offset_ns + t * self.drift_ppb / 1_000_000_000;
        local.clamp(0, i128::from(u64::MAX)) as Nanos
    }

    /// The earliest true time, not before `now_true_ns`, at which the local clock reads at least
    /// `local_ns`. Timers use this to turn a local deadline into an event time.
    pub fn true_time_of(&self, local_ns: Nanos, now_true_ns: Nanos) -> Nanos {
        if self.local(now_true_ns) >= local_ns {
            return now_true_ns;
        }
        // Invert the affine map, then correct the rounding with a short bounded walk.
        let rate = 1_000_000_000 + self.drift_ppb;
        let guess = (i128::from(local_ns) - self.offset_ns) * 1_000_000_000 / rate;
        let mut t = guess.clamp(i128::from(now_true_ns), i128::from(u64::MAX)) as Nanos;
        for _ in 0..4 {
            if self.local(t) >= local_ns {
                break;
            }
            t = t.saturating_add(1);
        }
        while self.local(t) < local_ns && t < u64::MAX {
            // The bounded walk above should always suffice; fall back to doubling steps so we
            // still terminate (log2(u64::MAX) iterations at most) if rounding was worse.
            let mut step = 1u64;
            while t.saturating_add(step) < u64::MAX && self.local(t.saturating_add(step)) < local_ns
            {
                step = step.saturating_mul(2);
            }
            t = t.saturating_add(step);
        }
        while t > now_true_ns && self.local(t - 1) >= local_ns {
            t -= 1;
        }
        t
    }

    /// Moves the clock by `delta_ns` (forward if positive, back if negative).
    pub fn jump(&mut self, delta_ns: i64) {
        self.offset_ns += i128::from(delta_ns);
    }

    /// Changes the drift from now on, keeping the current reading continuous.
    pub fn set_drift(&mut self, now_true_ns: Nanos, drift_ppm: f64) {
        let before = i128::from(self.local(now_true_ns));
        self.drift_ppb = (drift_ppm.clamp(-DRIFT_PPM_MAX, DRIFT_PPM_MAX) * 1000.0).round() as i128;
        let t = i128::from(now_true_ns);
        self.offset_ns = before - t - t * self.drift_ppb / 1_000_000_000;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn clock(offset_ns: i64, drift_ppm: f64) -> Clock {
        Clock::new(
            &ClockConfig {
                offset_ns,
                drift_ppm,
            },
            "clock",
        )
        .unwrap()
    }

    #[test]
    fn offset_and_drift_shape_local_time() {
        let c = clock(5_000, 100.0);
        // After one true second a +100 ppm clock has gained 100 µs.
        assert_eq!(c.local(1_000_000_000), 1_000_000_000 + 5_000 + 100_000);
        assert_eq!(
            clock(0, -100.0).local(1_000_000_000),
            1_000_000_000 - 100_000
        );
    }

    #[test]
    fn jumps_move_the_reading_both_ways() {
        let mut c = clock(0, 0.0);
        c.jump(2_000);
        assert_eq!(c.local(10_000), 12_000);
        c.jump(-5_000);
        assert_eq!(c.local(10_000), 7_000);
    }

    #[test]
    fn a_clock_jumped_far_back_reads_zero_not_garbage() {
        let mut c = clock(0, 0.0);
        c.jump(-1_000_000);
        assert_eq!(c.local(10), 0);
    }

    #[test]
    fn set_drift_keeps_the_reading_continuous() {
        let mut c = clock(0, 0.0);
        c.set_drift(1_000_000_000, 1000.0);
        assert_eq!(c.local(1_000_000_000), 1_000_000_000);
        assert_eq!(c.local(2_000_000_000), 2_000_000_000 + 1_000_000);
    }

    #[test]
    fn extreme_drift_is_rejected() {
        assert!(
            Clock::new(
                &ClockConfig {
                    offset_ns: 0,
                    drift_ppm: 2e6
                },
                "c"
            )
            .is_err()
        );
        assert!(
            Clock::new(
                &ClockConfig {
                    offset_ns: 0,
                    drift_ppm: f64::NAN
                },
                "c"
            )
            .is_err()
        );
    }

    proptest! {
        /// `true_time_of` returns the first true instant at which the local clock has reached
        /// the deadline: the clock reads >= deadline then, and < deadline one nanosecond before.
        #[test]
        fn true_time_of_is_the_exact_first_instant(
            offset in -1_000_000_000i64..1_000_000_000,
            drift in -200_000.0f64..200_000.0,
            now in 0u64..1_000_000_000_000,
            delay in 0u64..10_000_000_000,
        ) {
            let c = clock(offset, drift);
            let deadline = c.local(now) + delay;
            let t = c.true_time_of(deadline, now);
            prop_assert!(t >= now);
            prop_assert!(c.local(t) >= deadline);
            if t > now {
                prop_assert!(c.local(t - 1) < deadline);
            }
        }
    }
}
