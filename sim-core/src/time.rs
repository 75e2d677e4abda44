//! Virtual time. The engine counts true time in nanoseconds (`u64`); nothing inside a run reads
//! the host clock. These helpers keep unit conversions in one place so a `_ms` never hides a `_ns`.

/// Nanoseconds of virtual time. True time unless a name says `local`.
pub type Nanos = u64;

/// One microsecond in nanoseconds.
pub const MICROS: Nanos = 1_000;
/// One millisecond in nanoseconds.
pub const MILLIS: Nanos = 1_000_000;
/// One second in nanoseconds.
pub const SECONDS: Nanos = 1_000_000_000;

/// Converts milliseconds to nanoseconds, saturating instead of overflowing.
pub const fn ms(n: u64) -> Nanos {
    n.saturating_mul(MILLIS)
}

/// Converts seconds to nanoseconds, saturating instead of overflowing.
pub const fn secs(n: u64) -> Nanos {
    n.saturating_mul(SECONDS)
}

/// Nanoseconds as fractional milliseconds, for reports.
pub fn as_ms_f64(ns: Nanos) -> f64 {
    ns as f64 / MILLIS as f64
}
