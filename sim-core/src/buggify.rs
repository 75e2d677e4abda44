//! BUGGIFY (FoundationDB's idea): protocol code marks the places where a rare but legal
//! behaviour belongs — answer late, resend early, take the slow path, drop a cache — by asking
//! [`crate::Ctx::buggify`]. In a run with buggify on, each named point is enabled in some seeds
//! only (a seeded coin per point and run), and an enabled point fires on a fraction of its
//! calls, drawn from a stream of its own. Code that is correct for every legal behaviour passes
//! whatever fires; a run reports which points were enabled and how often they fired.
//!
//! Everything is a function of the run's seed: the same seed enables the same points and fires
//! them at the same calls. A run without buggify never fires anything and draws nothing, so it
//! is the same run as before the points were written.

use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::rng::{SimRng, Stream, stream};

/// How a run uses buggify points (`buggify` in a scenario; off when absent).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BuggifyConfig {
    /// Chance that a point is enabled for the whole run, decided per point and seed.
    pub enable_probability: f64,
    /// Chance that an enabled point fires at one call.
    pub fire_probability: f64,
}

impl Default for BuggifyConfig {
    /// FoundationDB's choice: a quarter of the points, each firing on 5% of its calls.
    fn default() -> Self {
        Self {
            enable_probability: 0.25,
            fire_probability: 0.05,
        }
    }
}

impl BuggifyConfig {
    /// Both probabilities must lie in [0, 1].
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (field, p) in [
            ("buggify.enable_probability", self.enable_probability),
            ("buggify.fire_probability", self.fire_probability),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(ConfigError::new(
                    field,
                    format!("{p} is not a probability; expected a number from 0 to 1"),
                ));
            }
        }
        Ok(())
    }
}

/// What one point did in a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PointRecord {
    /// Whether this run enabled the point.
    pub enabled: bool,
    /// How often protocol code asked.
    pub calls: u64,
    /// How often it fired.
    pub fired: u64,
}

/// The buggify state of one run.
#[derive(Debug)]
pub struct Buggify {
    config: Option<BuggifyConfig>,
    seed: u64,
    rng: SimRng,
    points: BTreeMap<&'static str, PointRecord>,
}

impl Buggify {
    /// The state for a run with `seed`; `config` `None` is buggify off.
    pub fn new(config: Option<BuggifyConfig>, seed: u64) -> Self {
        Self {
            config,
            seed,
            rng: stream(seed, Stream::Buggify),
            points: BTreeMap::new(),
        }
    }

    /// Whether point `name` fires at this call.
    pub fn fires(&mut self, name: &'static str) -> bool {
        let Some(config) = self.config else {
            return false;
        };
        let seed = self.seed;
        let point = self.points.entry(name).or_insert_with(|| PointRecord {
            enabled: unit(point_hash(seed, name)) < config.enable_probability,
            ..PointRecord::default()
        });
        point.calls += 1;
        if !point.enabled || !self.rng.random_bool(config.fire_probability) {
            return false;
        }
        point.fired += 1;
        true
    }

    /// Every point asked so far, by name.
    pub fn points(&self) -> &BTreeMap<&'static str, PointRecord> {
        &self.points
    }
}

/// A fixed hash of the seed and the point's name (FNV-1a, then a finalizer): no process-wide
/// random state, so it is the same on every run and machine.
fn point_hash(seed: u64, name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// A hash as a number in [0, 1).
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_never_fires_and_records_nothing() {
        let mut b = Buggify::new(None, 1);
        assert!(!(0..1000).any(|_| b.fires("p")));
        assert!(b.points().is_empty());
    }

    #[test]
    fn each_seed_enables_its_own_points_and_fires_them_at_the_configured_rate() {
        let config = BuggifyConfig {
            enable_probability: 0.5,
            fire_probability: 0.1,
        };
        let enabled_in = |name| {
            (0..400u64)
                .filter(|seed| {
                    let mut b = Buggify::new(Some(config), *seed);
                    b.fires(name);
                    b.points()[name].enabled
                })
                .count()
        };
        // About half the seeds enable each point, and not the same seeds for two points.
        let (a, b) = (enabled_in("a"), enabled_in("b"));
        assert!(
            (150..250).contains(&a) && (150..250).contains(&b),
            "{a} {b}"
        );
        let seed = (0..).find(|s| {
            let mut b = Buggify::new(Some(config), *s);
            b.fires("a");
            b.points()["a"].enabled
        });
        let mut b = Buggify::new(Some(config), seed.unwrap());
        let fired = (0..10_000).filter(|_| b.fires("a")).count();
        assert!((800..1200).contains(&fired), "{fired}");
        assert_eq!(b.points()["a"].calls, 10_000);
    }

    #[test]
    fn the_same_seed_fires_the_same_calls() {
        let config = BuggifyConfig {
            enable_probability: 1.0,
            fire_probability: 0.3,
        };
        let calls = |seed| {
            let mut b = Buggify::new(Some(config), seed);
            (0..200)
                .map(|i| b.fires(if i % 2 == 0 { "x" } else { "y" }))
                .collect::<Vec<_>>()
        };
        assert_eq!(calls(9), calls(9));
        assert_ne!(calls(9), calls(10));
    }

    #[test]
    fn probabilities_outside_zero_to_one_are_refused_with_their_field() {
        let bad = BuggifyConfig {
            enable_probability: 1.5,
            ..BuggifyConfig::default()
        };
        assert_eq!(
            bad.validate().unwrap_err().field,
            "buggify.enable_probability"
        );
        assert!(BuggifyConfig::default().validate().is_ok());
    }
}
