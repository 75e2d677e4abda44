//! The network model: per-link latency, loss, duplication, reordering and stale duplicates
//! (a copy re-delivered seconds later), an optional FIFO mode, per-link overrides, and the
//! partition in force. The event loop asks it what happens to each
//! message when it is sent ([`Network::transmit`]) and whether it may land when it arrives
//! ([`Network::connectivity`]): a message in flight obeys the partition at delivery time.

use rand::Rng;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::bounds::{LINKS_MAX, check_f64, check_len, check_ns};
use crate::error::ConfigError;
use crate::latency::{LATENCY_NS_MAX, LatencyDist, LatencySampler};
use crate::partition::Connectivity;
use crate::process::NodeId;
use crate::rng::SimRng;
use crate::time::Nanos;

/// How one directed link behaves. Defaults model a healthy data-centre link: 0.5–1.5 ms, no
/// loss, no duplication, no extra reordering beyond what latency jitter gives.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkConfig {
    /// One-way latency distribution.
    pub latency: LatencyDist,
    /// Probability in [0, 1] that a message is lost.
    pub loss: f64,
    /// Probability in [0, 1] that a message is delivered twice (each copy with its own delay).
    pub duplicate: f64,
    /// Probability in [0, 1] that a message is held back by up to `reorder_delay_ns_max` extra,
    /// so later messages overtake it.
    pub reorder: f64,
    /// The largest extra delay of a reordered message.
    pub reorder_delay_ns_max: Nanos,
    /// Deliver in send order on this link, like a TCP connection (later messages wait for
    /// earlier ones). Loss and duplication still apply if configured.
    pub fifo: bool,
    /// Probability in [0, 1] that a message is delivered once more, much later: a stale
    /// duplicate, as a retransmission after a heal or a slow path delivers one. The copy
    /// arrives `stale_delay` after the message itself (and ignores `fifo`).
    #[serde(skip_serializing_if = "is_zero")]
    pub stale_duplicate: f64,
    /// How much later than the message a stale duplicate arrives (default: Pareto from 1 s
    /// with shape 1.5, a heavy tail of seconds to minutes).
    #[serde(skip_serializing_if = "is_stale_delay_default")]
    pub stale_delay: LatencyDist,
}

/// The default delay of a stale duplicate behind its original: Pareto with scale 1 s and
/// shape 1.5 (median 1.6 s, one in a hundred beyond 21 s).
pub fn stale_delay_default() -> LatencyDist {
    LatencyDist::Pareto {
        min_ns: 1_000_000_000,
        shape: 1.5,
    }
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            latency: LatencyDist::default(),
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay_ns_max: 10_000_000,
            fifo: false,
            stale_duplicate: 0.0,
            stale_delay: stale_delay_default(),
        }
    }
}

/// A link that behaves differently from the default (a slow or lossy link).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkOverride {
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// Apply to `to -> from` as well (default true).
    #[serde(default = "yes")]
    pub both_ways: bool,
    /// How the link behaves.
    pub link: LinkConfig,
}

fn yes() -> bool {
    true
}

// Written out only when set, so a scenario written by `dsim shrink` or a property test reads
// as it did before stale duplicates existed.
fn is_zero(p: &f64) -> bool {
    *p == 0.0
}

fn is_stale_delay_default(d: &LatencyDist) -> bool {
    *d == stale_delay_default()
}

/// The whole network's configuration: how every link behaves unless overridden, and the
/// overrides. (The default link's fields are spelt out rather than flattened so that a misspelt
/// field gets serde's list of allowed names.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// See [`LinkConfig::latency`].
    pub latency: LatencyDist,
    /// See [`LinkConfig::loss`].
    pub loss: f64,
    /// See [`LinkConfig::duplicate`].
    pub duplicate: f64,
    /// See [`LinkConfig::reorder`].
    pub reorder: f64,
    /// See [`LinkConfig::reorder_delay_ns_max`].
    pub reorder_delay_ns_max: Nanos,
    /// See [`LinkConfig::fifo`].
    pub fifo: bool,
    /// See [`LinkConfig::stale_duplicate`].
    #[serde(skip_serializing_if = "is_zero")]
    pub stale_duplicate: f64,
    /// See [`LinkConfig::stale_delay`].
    #[serde(skip_serializing_if = "is_stale_delay_default")]
    pub stale_delay: LatencyDist,
    /// Per-link exceptions.
    pub links: Vec<LinkOverride>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self::uniform(LinkConfig::default())
    }
}

impl NetworkConfig {
    /// Every link behaves like `link`.
    pub fn uniform(link: LinkConfig) -> Self {
        Self {
            latency: link.latency,
            loss: link.loss,
            duplicate: link.duplicate,
            reorder: link.reorder,
            reorder_delay_ns_max: link.reorder_delay_ns_max,
            fifo: link.fifo,
            stale_duplicate: link.stale_duplicate,
            stale_delay: link.stale_delay,
            links: Vec::new(),
        }
    }

    /// How a link without an override behaves.
    pub fn default_link(&self) -> LinkConfig {
        LinkConfig {
            latency: self.latency.clone(),
            loss: self.loss,
            duplicate: self.duplicate,
            reorder: self.reorder,
            reorder_delay_ns_max: self.reorder_delay_ns_max,
            fifo: self.fifo,
            stale_duplicate: self.stale_duplicate,
            stale_delay: self.stale_delay.clone(),
        }
    }
}

/// What happens to one sent message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transmission {
    /// Lost on the wire.
    Lost,
    /// Arrives at `at`; if `duplicate_at` is set a second copy arrives then, and if
    /// `stale_at` is set a stale copy arrives then (much later).
    Arrives {
        /// Delivery time of the message.
        at: Nanos,
        /// Delivery time of a duplicate, if one was made.
        duplicate_at: Option<Nanos>,
        /// Delivery time of a stale duplicate, if one was made.
        stale_at: Option<Nanos>,
    },
}

/// A link ready for sampling.
#[derive(Clone, Debug)]
struct PreparedLink {
    latency: LatencySampler,
    loss: f64,
    duplicate: f64,
    reorder: f64,
    reorder_delay_ns_max: Nanos,
    fifo: bool,
    stale_duplicate: f64,
    stale_delay: LatencySampler,
}

impl LinkConfig {
    /// Checks the link against its ranges: probabilities in [0, 1], every time at most
    /// [`LATENCY_NS_MAX`]. `field` is the prefix of its fields, e.g. `network.` or
    /// `network.links[2].link.`.
    pub fn validate(&self, field: &str) -> Result<(), ConfigError> {
        for (name, p) in [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
            ("stale_duplicate", self.stale_duplicate),
        ] {
            check_f64(&format!("{field}{name}"), p, 0.0..=1.0)?;
        }
        check_ns(
            &format!("{field}reorder_delay_ns_max"),
            self.reorder_delay_ns_max,
            0..=LATENCY_NS_MAX,
        )?;
        self.stale_delay.validate(&format!("{field}stale_delay"))?;
        self.latency.validate(&format!("{field}latency"))
    }
}

impl NetworkConfig {
    /// Checks the default link and every override against their ranges (at most
    /// [`crate::bounds::LINKS_MAX`] overrides). Node ids are checked when the network is built
    /// for a number of nodes.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_len("network.links", self.links.len(), LINKS_MAX)?;
        self.default_link().validate("network.")?;
        for (i, o) in self.links.iter().enumerate() {
            o.link.validate(&format!("network.links[{i}].link."))?;
        }
        Ok(())
    }
}

impl PreparedLink {
    fn new(config: &LinkConfig, field: &str) -> Result<Self, ConfigError> {
        config.validate(field)?;
        Ok(Self {
            latency: config.latency.sampler(&format!("{field}latency"))?,
            loss: config.loss,
            duplicate: config.duplicate,
            reorder: config.reorder,
            reorder_delay_ns_max: config.reorder_delay_ns_max,
            fifo: config.fifo,
            stale_duplicate: config.stale_duplicate,
            stale_delay: config.stale_delay.sampler(&format!("{field}stale_delay"))?,
        })
    }
}

/// The network at run time.
#[derive(Debug)]
pub struct Network {
    default: PreparedLink,
    overrides: FxHashMap<(NodeId, NodeId), PreparedLink>,
    /// Last delivery time per FIFO link; only looked up, never iterated.
    fifo_last_ns: FxHashMap<(NodeId, NodeId), Nanos>,
    connectivity: Connectivity,
    rng: SimRng,
    /// Draws stale duplicates only, so links without them leave it untouched. Boxed: it is
    /// rarely used, and the hot fields stay together without it.
    stale_rng: Box<SimRng>,
}

impl Network {
    /// Prepares the network for `nodes` nodes, drawing from `rng` (the network stream) and,
    /// for stale duplicates only, from `stale_rng` (the stale-duplicates stream).
    pub fn new(
        config: &NetworkConfig,
        nodes: usize,
        rng: SimRng,
        stale_rng: SimRng,
    ) -> Result<Self, ConfigError> {
        let mut overrides = FxHashMap::default();
        for (i, o) in config.links.iter().enumerate() {
            let field = format!("network.links[{i}].");
            for n in [o.from, o.to] {
                if n.index() >= nodes {
                    return Err(ConfigError::new(
                        format!("{field}from/to"),
                        format!(
                            "{n} is not a node; nodes are n0..n{}",
                            nodes.saturating_sub(1)
                        ),
                    ));
                }
            }
            let link = PreparedLink::new(&o.link, &format!("{field}link."))?;
            if o.both_ways {
                overrides.insert((o.to, o.from), link.clone());
            }
            overrides.insert((o.from, o.to), link);
        }
        Ok(Self {
            default: PreparedLink::new(&config.default_link(), "network.")?,
            overrides,
            fifo_last_ns: FxHashMap::default(),
            connectivity: Connectivity::full(nodes),
            rng,
            stale_rng: Box::new(stale_rng),
        })
    }

    /// Decides the fate of a message sent now from `from` to `to`.
    #[inline]
    pub fn transmit(&mut self, from: NodeId, to: NodeId, now: Nanos) -> Transmission {
        let link = if self.overrides.is_empty() {
            &self.default
        } else {
            self.overrides.get(&(from, to)).unwrap_or(&self.default)
        };
        if link.loss > 0.0 && self.rng.random_bool(link.loss) {
            return Transmission::Lost;
        }
        let mut at = now.saturating_add(delay(link, &mut self.rng));
        let mut duplicate_at = (link.duplicate > 0.0 && self.rng.random_bool(link.duplicate))
            .then(|| now.saturating_add(delay(link, &mut self.rng)));
        if link.fifo {
            let last = self.fifo_last_ns.entry((from, to)).or_insert(0);
            at = at.max(*last);
            *last = at;
            if let Some(d) = duplicate_at.as_mut() {
                *d = (*d).max(*last);
                *last = *d;
            }
        }
        // Drawn from a stream of its own and only where enabled, so links without stale
        // duplicates draw exactly what they drew before the feature existed.
        let stale_at = (link.stale_duplicate > 0.0
            && self.stale_rng.random_bool(link.stale_duplicate))
        .then(|| at.saturating_add(link.stale_delay.sample(&mut self.stale_rng)));
        Transmission::Arrives {
            at,
            duplicate_at,
            stale_at,
        }
    }

    /// The partition in force.
    pub fn connectivity(&self) -> &Connectivity {
        &self.connectivity
    }

    /// Replaces the partition in force (a partition fault or a heal).
    pub fn set_connectivity(&mut self, connectivity: Connectivity) {
        self.connectivity = connectivity;
    }
}

#[inline]
fn delay(link: &PreparedLink, rng: &mut SimRng) -> Nanos {
    let base = link.latency.sample(rng);
    if link.reorder > 0.0 && rng.random_bool(link.reorder) {
        base.saturating_add(rng.random_range(0..=link.reorder_delay_ns_max))
    } else {
        base
    }
}
