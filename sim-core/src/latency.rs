//! Latency distributions for links. A distribution is plain data (it comes from a scenario file);
//! [`LatencySampler`] is the prepared form the event loop draws from without allocating.

use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal, Pareto};
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
    /// See [`LatencyDist::Exponential`].
    Exponential(Nanos, Exp<f64>),
    /// See [`LatencyDist::Lognormal`].
    Lognormal(LogNormal<f64>),
    /// See [`LatencyDist::Pareto`].
    Pareto(Pareto<f64>),
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
        let bad = |why: &str| ConfigError::new(field, why);
        Ok(match *self {
            LatencyDist::Constant { ns } => LatencySampler::Constant(ns),
            LatencyDist::Uniform { min_ns, max_ns } => LatencySampler::Uniform(min_ns, max_ns),
            LatencyDist::Exponential { min_ns, mean_ns } => {
                let exp = Exp::new(1.0 / mean_ns as f64).map_err(|e| bad(&e.to_string()))?;
                LatencySampler::Exponential(min_ns, exp)
            }
            LatencyDist::Lognormal { median_ns, sigma } => {
                let mu = (median_ns as f64).ln();
                LatencySampler::Lognormal(
                    LogNormal::new(mu, sigma).map_err(|e| bad(&e.to_string()))?,
                )
            }
            LatencyDist::Pareto { min_ns, shape } => LatencySampler::Pareto(
                Pareto::new(min_ns as f64, shape).map_err(|e| bad(&e.to_string()))?,
            ),
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
        match self {
            LatencySampler::Constant(ns) => *ns,
            LatencySampler::Uniform(lo, hi) => rng.random_range(*lo..=*hi),
            LatencySampler::Exponential(min, exp) => min.saturating_add(clamp(exp.sample(rng))),
            LatencySampler::Lognormal(d) => clamp(d.sample(rng)),
            LatencySampler::Pareto(d) => clamp(d.sample(rng)),
        }
    }
}

fn clamp(x: f64) -> Nanos {
    if x.is_finite() && x > 0.0 {
        (x as Nanos).min(LATENCY_NS_MAX)
    } else {
        LATENCY_NS_MAX
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
}
