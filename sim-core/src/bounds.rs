//! The allowed range of every number a run is configured with, in one place, and the checks
//! that hold a configuration to them. A value outside its range is a [`ConfigError`] that names
//! the field, the value and the range, so a typo (`"1000h"`, a count of 4294967295) is refused
//! before a run starts instead of exhausting memory or running for hours.
//!
//! The ranges are documented in the README's scenario reference; protocols use the same
//! constants and checks for their own options (e.g. [`PERIOD_NS_MIN`] for timers).

use std::fmt::Display;
use std::ops::RangeInclusive;

use crate::error::ConfigError;
use crate::time::{MICROS, MILLIS, Nanos, SECONDS};

/// Longest run: one simulated day. Every other time (a fault's start, a timeout, a clock jump)
/// is bounded by it too; a longer soak is a sweep of shorter runs.
pub const DURATION_NS_MAX: Nanos = 24 * 3600 * SECONDS;

/// Most servers in a scenario. The admission check (see [`crate::footprint`]) refuses a cluster
/// that is allowed here but would not fit in memory with its protocol's state.
pub const SERVERS_MAX: u32 = 100_000;

/// Most clients (`workload.clients`); each is a node with its own process.
pub const CLIENTS_MAX: u32 = 10_000;

/// Shortest period of a timer that repeats (a heartbeat, a resend, a gossip round, a probe):
/// 10 µs. A shorter one fills the event queue with timers before anything else happens.
pub const PERIOD_NS_MIN: Nanos = 10 * MICROS;

/// Shortest mean interval between two nemesis faults: each one schedules its undo, so a
/// shorter interval piles up undo events faster than they fire.
pub const NEMESIS_INTERVAL_NS_MIN: Nanos = MILLIS;

/// Most scheduled faults in a scenario. A partition is built against every server three times
/// (validated before the run, tested and applied when it fires), about 10 ms with 100,000
/// servers, so a thousand stay within seconds.
pub const FAULTS_MAX: usize = 1_000;

/// Most recent messages kept for replays (in a run with a `replay` fault or nemesis kind):
/// when more were sent within the longest replay window, the oldest are forgotten first, so a
/// replay reaches back less far than its window (the coverage report counts what it replayed).
pub const REPLAY_MESSAGES_MAX: usize = 100_000;

/// Most link overrides in a scenario.
pub const LINKS_MAX: usize = 10_000;

/// Largest weight of one operation in a workload's mix.
pub const MIX_WEIGHT_MAX: u32 = 1_000_000;

/// Most distinct keys a workload draws from.
pub const KEYS_MAX: u64 = 1_000_000_000;

/// Range of a target workload rate, in operations per simulated second.
pub const RATE_PER_SEC_RANGE: RangeInclusive<f64> = 0.001..=1e9;

/// Checks that `value` lies in `range`; the error names `field`, the value and the range.
pub fn check<T: PartialOrd + Display>(
    field: &str,
    value: T,
    range: RangeInclusive<T>,
) -> Result<(), ConfigError> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(out_of_range(field, &value, &range))
}

/// The error of [`check`] and [`check_f64`]: the field, the value and the range.
fn out_of_range<T: Display>(field: &str, value: &T, range: &RangeInclusive<T>) -> ConfigError {
    ConfigError::new(
        field,
        format!(
            "{value} is out of range; allowed: {} to {}",
            range.start(),
            range.end()
        ),
    )
}

/// [`check`] for a float: NaN and infinities are out of every range.
pub fn check_f64(field: &str, value: f64, range: RangeInclusive<f64>) -> Result<(), ConfigError> {
    if value.is_finite() && range.contains(&value) {
        return Ok(());
    }
    Err(out_of_range(field, &value, &range))
}

/// [`check`] for nanoseconds: the value and the range are also shown with units.
pub fn check_ns(
    field: &str,
    value: Nanos,
    range: RangeInclusive<Nanos>,
) -> Result<(), ConfigError> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(ConfigError::new(
        field,
        format!(
            "{value} ns ({}) is out of range; allowed: {} to {}",
            human_ns(value),
            human_ns(*range.start()),
            human_ns(*range.end())
        ),
    ))
}

/// [`check_ns`] for a signed time (a clock offset or jump): its size must be at most `max`.
pub fn check_signed_ns(field: &str, value: i64, max: Nanos) -> Result<(), ConfigError> {
    if value.unsigned_abs() <= max {
        return Ok(());
    }
    Err(ConfigError::new(
        field,
        format!(
            "{value} ns is out of range; allowed: -{} to {}",
            human_ns(max),
            human_ns(max)
        ),
    ))
}

/// [`check`] for a list's length.
pub fn check_len(field: &str, len: usize, max: usize) -> Result<(), ConfigError> {
    if len <= max {
        return Ok(());
    }
    Err(ConfigError::new(
        field,
        format!("{len} entries are too many; at most {max} are allowed"),
    ))
}

/// A time for people: `1.5 ms`, `24 h`, `3 ns`.
pub fn human_ns(ns: Nanos) -> String {
    const UNITS: [(Nanos, &str); 6] = [
        (3600 * SECONDS, "h"),
        (60 * SECONDS, "min"),
        (SECONDS, "s"),
        (MILLIS, "ms"),
        (MICROS, "us"),
        (1, "ns"),
    ];
    let (scale, unit) = UNITS
        .iter()
        .copied()
        .find(|(scale, _)| ns >= *scale)
        .unwrap_or((1, "ns"));
    if ns.is_multiple_of(scale) {
        format!("{} {unit}", ns / scale)
    } else {
        format!("{:.3} {unit}", ns as f64 / scale as f64)
    }
}

/// Bytes for people: `1.5 GB`, `640 kB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1_000_000_000_000, "TB"),
        (1_000_000_000, "GB"),
        (1_000_000, "MB"),
        (1_000, "kB"),
    ];
    match UNITS.iter().find(|(scale, _)| bytes >= *scale) {
        Some((scale, unit)) => format!("{:.1} {unit}", bytes as f64 / *scale as f64),
        None => format!("{bytes} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An out-of-range value's error names the field, the value and the range.
    #[test]
    fn errors_name_the_field_the_value_and_the_range() {
        let e = check_ns("duration_ns", 3_600_000 * SECONDS, 1..=DURATION_NS_MAX).unwrap_err();
        assert_eq!(e.field, "duration_ns");
        assert_eq!(
            e.message,
            "3600000000000000 ns (1000 h) is out of range; allowed: 1 ns to 24 h"
        );
        let e = check("cluster.servers", u32::MAX, 1..=SERVERS_MAX).unwrap_err();
        assert_eq!(
            e.message,
            "4294967295 is out of range; allowed: 1 to 100000"
        );
        assert!(check_f64("x", f64::NAN, 0.0..=1.0).is_err());
        assert!(check_f64("x", 1.0, 0.0..=1.0).is_ok());
        assert!(check_signed_ns("d", i64::MIN, DURATION_NS_MAX).is_err());
        assert!(check_signed_ns("d", -5, DURATION_NS_MAX).is_ok());
        assert!(check_len("faults", FAULTS_MAX + 1, FAULTS_MAX).is_err());
    }

    #[test]
    fn times_and_sizes_read_like_people_write_them() {
        assert_eq!(human_ns(1_500_000), "1.500 ms");
        assert_eq!(human_ns(10 * MICROS), "10 us");
        assert_eq!(human_ns(0), "0 ns");
        assert_eq!(human_ns(90 * SECONDS), "1.500 min");
        assert_eq!(human_bytes(2_000_000_000), "2.0 GB");
        assert_eq!(human_bytes(999), "999 B");
    }
}
