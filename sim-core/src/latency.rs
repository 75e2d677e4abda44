//! Latency distributions for links. A distribution is plain data (it comes from a scenario file);
//! [`LatencySampler`] is the prepared form the event loop draws from without allocating.
//!
//! Sampling uses only arithmetic and the pure-Rust `libm` crate (inverse CDFs and Box-Muller
//! from uniform draws), never the platform's `ln`, `exp` or `powf`: those may round differently
//! on another machine or C library, and one ulp in one latency changes a run and its trace hash.

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::bounds::{check_f64, check_ns};
use crate::error::ConfigError;
use crate::rng::SimRng;
use crate::time::Nanos;

/// One-way message latency. All values are nanoseconds of true time.
///
/// The heavy-tailed shapes matter: real data-centre latency has a long tail, and protocols
/// that assume a tight bound on delay break there first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LatencyDist {
    /// Always the same delay.
    Constant {
        /// The delay.
        ns: Nanos,
    },
    /// Uniform between `min_ns` and `max_ns`, both included.
    Uniform {
        /// Smallest delay.
        min_ns: Nanos,
        /// Largest delay.
        max_ns: Nanos,
    },
    /// `min_ns` plus an exponential with mean `mean_ns`.
    Exponential {
        /// Fixed part (propagation delay).
        #[serde(default)]
        min_ns: Nanos,
        /// Mean of the exponential part (queueing delay).
        mean_ns: Nanos,
    },
    /// Log-normal with the given median and shape `sigma`; the usual fit for RPC latency.
    Lognormal {
        /// Median delay.
        median_ns: Nanos,
        /// Standard deviation of the underlying normal; 0.5 to 1.5 is typical.
        sigma: f64,
    },
    /// Pareto with scale `min_ns` (the smallest value) and tail index `shape` (smaller = heavier).
    Pareto {
        /// Scale: the minimum delay.
        min_ns: Nanos,
        /// Tail index alpha; must be positive.
        shape: f64,
    },
}

impl Default for LatencyDist {
    /// 0.5–1.5 ms uniform: a round trip inside one data-centre network.
    fn default() -> Self {
        LatencyDist::Uniform {
            min_ns: 500_000,
            max_ns: 1_500_000,
        }
    }
}

/// Upper bound on any single sampled latency (one hour), so a heavy tail never schedules an
/// event past every sensible horizon or overflows time arithmetic.
pub const LATENCY_NS_MAX: Nanos = 3_600_000_000_000;

/// A prepared latency distribution.
#[derive(Clone, Debug)]
pub enum LatencySampler {
    /// See [`LatencyDist::Constant`].
    Constant(Nanos),
    /// See [`LatencyDist::Uniform`].
    Uniform(Nanos, Nanos),
    /// See [`LatencyDist::Exponential`]: the floor and the mean of the exponential part.
    Exponential {
        /// The fixed part.
        min_ns: Nanos,
        /// The exponential part's mean.
        mean_ns: f64,
    },
    /// See [`LatencyDist::Lognormal`]: `exp(mu + sigma * z)` for a standard normal `z`.
    Lognormal {
        /// The log of the median.
        mu: f64,
        /// The shape.
        sigma: f64,
    },
    /// See [`LatencyDist::Pareto`]: `min_ns * u^(-1/shape)` for a uniform `u` in (0, 1].
    Pareto {
        /// The scale (smallest value).
        min_ns: f64,
        /// `-1 / shape`.
        exponent: f64,
    },
}

impl LatencyDist {
    /// Checks the parameters against their ranges (every time at most [`LATENCY_NS_MAX`],
    /// `sigma` in 0..=10, `shape` in 0.1..=100). `field` names the distribution, e.g.
    /// `network.latency`; errors name the parameter under it.
    pub fn validate(&self, field: &str) -> Result<(), ConfigError> {
        let at = |name: &str| format!("{field}.{name}");
        match *self {
            LatencyDist::Constant { ns } => check_ns(&at("ns"), ns, 0..=LATENCY_NS_MAX),
            LatencyDist::Uniform { min_ns, max_ns } => {
                check_ns(&at("min_ns"), min_ns, 0..=LATENCY_NS_MAX)?;
                check_ns(&at("max_ns"), max_ns, min_ns..=LATENCY_NS_MAX)
            }
            LatencyDist::Exponential { min_ns, mean_ns } => {
                check_ns(&at("min_ns"), min_ns, 0..=LATENCY_NS_MAX)?;
                check_ns(&at("mean_ns"), mean_ns, 1..=LATENCY_NS_MAX)
            }
            LatencyDist::Lognormal { median_ns, sigma } => {
                check_ns(&at("median_ns"), median_ns, 1..=LATENCY_NS_MAX)?;
                check_f64(&at("sigma"), sigma, SIGMA_RANGE)
            }
            LatencyDist::Pareto { min_ns, shape } => {
                check_ns(&at("min_ns"), min_ns, 1..=LATENCY_NS_MAX)?;
                check_f64(&at("shape"), shape, SHAPE_RANGE)
            }
        }
    }

    /// Validates the parameters and prepares a sampler. `field` names the place in the
    /// configuration for error messages.
    pub fn sampler(&self, field: &str) -> Result<LatencySampler, ConfigError> {
        self.validate(field)?;
        Ok(match *self {
            LatencyDist::Constant { ns } => LatencySampler::Constant(ns),
            LatencyDist::Uniform { min_ns, max_ns } => LatencySampler::Uniform(min_ns, max_ns),
            LatencyDist::Exponential { min_ns, mean_ns } => LatencySampler::Exponential {
                min_ns,
                mean_ns: mean_ns as f64,
            },
            LatencyDist::Lognormal { median_ns, sigma } => LatencySampler::Lognormal {
                mu: libm::log(median_ns as f64),
                sigma,
            },
            LatencyDist::Pareto { min_ns, shape } => LatencySampler::Pareto {
                min_ns: min_ns as f64,
                exponent: -1.0 / shape,
            },
        })
    }
}

/// Allowed `sigma` of a log-normal: beyond 10 nearly every draw is 0 or the cap.
pub const SIGMA_RANGE: std::ops::RangeInclusive<f64> = 0.0..=10.0;

/// Allowed `shape` of a Pareto: below 0.1 nearly every draw is the cap.
pub const SHAPE_RANGE: std::ops::RangeInclusive<f64> = 0.1..=100.0;

impl LatencySampler {
    /// Draws one latency, capped at [`LATENCY_NS_MAX`].
    #[inline]
    pub fn sample(&self, rng: &mut SimRng) -> Nanos {
        match *self {
            LatencySampler::Constant(ns) => ns,
            LatencySampler::Uniform(lo, hi) => rng.random_range(lo..=hi),
            LatencySampler::Exponential { min_ns, mean_ns } => {
                min_ns.saturating_add(clamp(-mean_ns * libm::log(unit(rng))))
            }
            LatencySampler::Lognormal { mu, sigma } => {
                clamp(libm::exp(mu + sigma * standard_normal(rng)))
            }
            LatencySampler::Pareto { min_ns, exponent } => {
                clamp(min_ns * libm::pow(unit(rng), exponent))
            }
        }
    }
}

/// A uniform draw in (0, 1], so its logarithm is finite.
#[inline]
pub fn unit(rng: &mut SimRng) -> f64 {
    1.0 - rng.random::<f64>()
}

/// A standard normal draw (Box-Muller, one of the pair; two uniform draws).
#[inline]
fn standard_normal(rng: &mut SimRng) -> f64 {
    let radius = libm::sqrt(-2.0 * libm::log(unit(rng)));
    let angle = 2.0 * std::f64::consts::PI * rng.random::<f64>();
    radius * libm::cos(angle)
}

/// A drawn latency in whole nanoseconds, capped at [`LATENCY_NS_MAX`] (NaN, which no sampler
/// should produce, counts as the cap).
fn clamp(x: f64) -> Nanos {
    if x.is_nan() {
        LATENCY_NS_MAX
    } else {
        // `as` saturates: negative values become 0, huge ones u64::MAX.
        (x as Nanos).min(LATENCY_NS_MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stream, stream};

    fn samples(d: LatencyDist, n: usize) -> Vec<Nanos> {
        let s = d.sampler("latency").unwrap();
        let mut rng = stream(1, Stream::Network);
        let mut v: Vec<_> = (0..n).map(|_| s.sample(&mut rng)).collect();
        v.sort_unstable();
        v
    }

    fn mean(v: &[Nanos]) -> f64 {
        v.iter().map(|x| *x as f64).sum::<f64>() / v.len() as f64
    }

    #[test]
    fn constant_is_constant() {
        assert!(
            samples(LatencyDist::Constant { ns: 42 }, 100)
                .iter()
                .all(|x| *x == 42)
        );
    }

    #[test]
    fn uniform_stays_in_range_and_covers_it() {
        let v = samples(
            LatencyDist::Uniform {
                min_ns: 1_000,
                max_ns: 10_000,
            },
            10_000,
        );
        assert!(v[0] >= 1_000 && v[v.len() - 1] <= 10_000);
        assert!(
            v[0] < 1_100 && v[v.len() - 1] > 9_900,
            "range not covered: {} {}",
            v[0],
            v[v.len() - 1]
        );
        assert!((mean(&v) - 5_500.0).abs() < 150.0);
    }

    #[test]
    fn exponential_has_its_mean_above_its_floor() {
        let v = samples(
            LatencyDist::Exponential {
                min_ns: 100,
                mean_ns: 1_000,
            },
            20_000,
        );
        assert!(v[0] >= 100);
        assert!((mean(&v) - 1_100.0).abs() < 50.0, "mean {}", mean(&v));
    }

    #[test]
    fn lognormal_has_its_median_and_a_tail() {
        let v = samples(
            LatencyDist::Lognormal {
                median_ns: 1_000_000,
                sigma: 1.0,
            },
            20_001,
        );
        let median = v[v.len() / 2] as f64;
        assert!((median / 1_000_000.0 - 1.0).abs() < 0.05, "median {median}");
        let p99 = v[v.len() * 99 / 100] as f64;
        assert!(p99 > 8.0 * median, "p99 {p99} is not a heavy tail");
    }

    #[test]
    fn pareto_never_goes_below_scale_and_is_heavy_tailed() {
        let v = samples(
            LatencyDist::Pareto {
                min_ns: 1_000,
                shape: 1.5,
            },
            20_000,
        );
        assert!(v[0] >= 1_000);
        assert!(v[v.len() - 1] > 100_000);
    }

    #[test]
    fn invalid_parameters_are_rejected_with_the_field() {
        let err = LatencyDist::Uniform {
            min_ns: 5,
            max_ns: 1,
        }
        .sampler("network.latency")
        .unwrap_err();
        assert!(err.to_string().contains("network.latency"), "{err}");
        assert!(
            LatencyDist::Pareto {
                min_ns: 1,
                shape: 0.0
            }
            .sampler("x")
            .is_err()
        );
        assert!(
            LatencyDist::Lognormal {
                median_ns: 0,
                sigma: 1.0
            }
            .sampler("x")
            .is_err()
        );
        assert!(
            LatencyDist::Exponential {
                min_ns: 0,
                mean_ns: 0
            }
            .sampler("x")
            .is_err()
        );
    }

    /// Every parameter has a range; the error names the parameter under the distribution.
    #[test]
    fn out_of_range_parameters_name_the_parameter() {
        let field = |d: LatencyDist| d.validate("network.latency").unwrap_err().field;
        assert_eq!(
            field(LatencyDist::Constant {
                ns: LATENCY_NS_MAX + 1
            }),
            "network.latency.ns"
        );
        assert_eq!(
            field(LatencyDist::Lognormal {
                median_ns: 1,
                sigma: f64::INFINITY
            }),
            "network.latency.sigma"
        );
        assert_eq!(
            field(LatencyDist::Uniform {
                min_ns: 5,
                max_ns: 1
            }),
            "network.latency.max_ns"
        );
        assert_eq!(
            field(LatencyDist::Pareto {
                min_ns: 1,
                shape: 0.01
            }),
            "network.latency.shape"
        );
    }

    /// Sampling depends only on the seed: the first draws of each shape are pinned, so a change
    /// of algorithm (or a platform whose float functions round differently, were they used)
    /// shows here before it shows as changed trace hashes.
    #[test]
    fn the_first_draws_are_pinned() {
        let first = |d: LatencyDist| -> Vec<Nanos> {
            let s = d.sampler("latency").unwrap();
            let mut rng = stream(7, Stream::Network);
            (0..4).map(|_| s.sample(&mut rng)).collect()
        };
        let exponential = first(LatencyDist::Exponential {
            min_ns: 100_000,
            mean_ns: 1_000_000,
        });
        let lognormal = first(LatencyDist::Lognormal {
            median_ns: 1_000_000,
            sigma: 1.0,
        });
        let pareto = first(LatencyDist::Pareto {
            min_ns: 500_000,
            shape: 1.5,
        });
        assert_eq!(exponential, [271_733, 283_910, 1_318_329, 1_397_336]);
        assert_eq!(lognormal, [1_334_827, 796_674, 423_076, 1_275_417]);
        assert_eq!(pareto, [560_650, 565_219, 1_126_451, 1_187_373]);
    }
}
