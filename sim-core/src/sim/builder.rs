//! Building a simulation: add nodes with their factories, then `build` validates the whole
//! configuration up front so a run never starts with a setting it cannot honour.

use rand::Rng;

use super::clients::ClientSlot;
use super::{Event, Node, NodeStatus, Role, Simulation, Tracer};
use crate::buggify::Buggify;
use crate::clock::{Clock, ClockConfig};
use crate::config::SimConfig;
use crate::coverage::{Coverage, FaultSource};
use crate::error::{ConfigError, SimError};
use crate::fault::{Nemesis, NemesisConfig};
use crate::footprint::{Footprint, MemoryEstimate};
use crate::history::History;
use crate::network::Network;
use crate::partition::Connectivity;
use crate::process::{BoxProcess, Factory, Message, NodeId};
use crate::queue::{EventQueue, Scheduled};
use crate::rng::{Stream, stream};
use crate::stats::Stats;
use crate::storage::Storage;
use crate::trace::{TraceHash, TraceSink};
use crate::workload::Workload;

/// Collects nodes and options, then builds a [`Simulation`].
///
/// ```
/// use sim_core::{Ctx, NodeId, Process, SimBuilder, SimConfig, TimerId, secs};
///
/// /// Sends one message to itself every second.
/// struct Ticker;
/// impl Process for Ticker {
///     type Msg = u64;
///     fn on_start(&mut self, ctx: &mut Ctx<'_, u64>) {
///         ctx.set_timer(secs(1), 0);
///     }
///     fn on_message(&mut self, _ctx: &mut Ctx<'_, u64>, _from: NodeId, _msg: u64) {}
///     fn on_timer(&mut self, ctx: &mut Ctx<'_, u64>, _t: TimerId, _tag: u64) {
///         let me = ctx.id();
///         ctx.send(me, 1);
///         ctx.set_timer(secs(1), 0);
///     }
/// }
///
/// let config = SimConfig { seed: 7, duration_ns: secs(10), ..Default::default() };
/// let mut builder = SimBuilder::new(config);
/// builder.add_server(|_| Box::new(Ticker));
/// let mut sim = builder.build().unwrap();
/// sim.run().unwrap();
/// assert_eq!(sim.stats().timers_fired, 10);
/// assert_eq!(sim.stats().messages_delivered, 9); // the tenth is still in flight at t = 10 s
/// ```
pub struct SimBuilder<M: Message> {
    config: SimConfig,
    nodes: Vec<NodeSpec<M>>,
    sink: Option<Box<dyn TraceSink<M>>>,
    describe_events: bool,
    footprint: Footprint,
}

struct NodeSpec<M> {
    role: Role,
    exempt: bool,
    clock: Option<ClockConfig>,
    factory: Factory<M>,
}

impl<M: Message> SimBuilder<M> {
    /// A builder for a run configured by `config`.
    pub fn new(config: SimConfig) -> Self {
        Self {
            config,
            nodes: Vec::new(),
            sink: None,
            describe_events: false,
            footprint: Footprint::UNDECLARED,
        }
    }

    /// Adds a server built by `factory` (called again on every crash-recovery restart).
    pub fn add_server(&mut self, factory: impl Fn(NodeId) -> BoxProcess<M> + 'static) -> NodeId {
        self.add(Role::Server, Box::new(factory))
    }

    /// Adds a server that the nemesis and partition patterns leave alone (a coordinator or
    /// master whose failure a protocol assumes away; say so in its docs). Scheduled faults
    /// can still target it by id.
    pub fn add_exempt_server(
        &mut self,
        factory: impl Fn(NodeId) -> BoxProcess<M> + 'static,
    ) -> NodeId {
        let id = self.add(Role::Server, Box::new(factory));
        self.nodes[id.index()].exempt = true;
        id
    }

    /// Adds a client node; the workload drives it through [`crate::Process::on_client_op`].
    pub fn add_client(&mut self, factory: impl Fn(NodeId) -> BoxProcess<M> + 'static) -> NodeId {
        self.add(Role::Client, Box::new(factory))
    }

    /// Gives `node` a specific clock (instead of a perfect or randomly skewed one).
    pub fn set_clock(&mut self, node: NodeId, clock: ClockConfig) -> Result<(), ConfigError> {
        let spec = self
            .nodes
            .get_mut(node.index())
            .ok_or_else(|| ConfigError::new(format!("clocks.{node}"), "no such node"))?;
        spec.clock = Some(clock);
        Ok(())
    }

    /// Streams every trace event to `sink`.
    pub fn trace_sink(&mut self, sink: Box<dyn TraceSink<M>>) {
        self.sink = Some(sink);
    }

    /// Keeps the last event as text, for naming where two runs diverge.
    pub fn describe_events(&mut self) {
        self.describe_events = true;
    }

    /// The configuration the run will use.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Number of nodes added so far.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Declares the memory the protocol's nodes and messages use (see [`crate::footprint`]);
    /// without it the admission check assumes [`Footprint::UNDECLARED`].
    pub fn footprint(&mut self, footprint: Footprint) {
        self.footprint = footprint;
    }

    /// The memory this run may need with the nodes added so far and everything at its limit.
    /// [`SimBuilder::build`] refuses a run whose estimate exceeds `limits.memory_bytes_max`.
    pub fn memory_estimate(&self) -> MemoryEstimate {
        let servers = self.nodes.iter().filter(|n| n.role == Role::Server).count() as u64;
        let clients = self.nodes.len() as u64 - servers;
        MemoryEstimate::new(
            &self.footprint,
            servers,
            clients,
            std::mem::size_of::<Node<M>>() as u64,
            std::mem::size_of::<Scheduled<Event<M>>>() as u64,
            &self.config.limits,
        )
    }

    /// Validates everything, checks that the run fits `limits.memory_bytes_max` and that its
    /// first events fit the queue, and returns a simulation ready to run.
    pub fn build(self) -> Result<Simulation<M>, SimError> {
        self.config.validate()?;
        if self.nodes.is_empty() {
            return Err(ConfigError::new("nodes", "a simulation needs at least one node").into());
        }
        self.memory_estimate().check(&self.config.limits, 1)?;
        let SimBuilder {
            config,
            nodes: specs,
            sink,
            describe_events,
            footprint: _,
        } = self;
        let seed = config.seed;
        let count = specs.len();
        let servers: Vec<NodeId> = (0..count as u32)
            .map(NodeId)
            .filter(|n| specs[n.index()].role == Role::Server)
            .collect();
        let targets: Vec<NodeId> = servers
            .iter()
            .copied()
            .filter(|n| !specs[n.index()].exempt)
            .collect();
        let client_ids: Vec<NodeId> = (0..count as u32)
            .map(NodeId)
            .filter(|n| specs[n.index()].role == Role::Client)
            .collect();
        let clients = client_ids.len();
        validate_first_events(&config, count)?;
        validate_faults(&config, count, &targets, &client_ids)?;
        if let Some(buggify) = &config.buggify {
            buggify.validate()?;
        }
        let workload = match &config.workload {
            Some(w) => {
                if w.clients as usize != clients {
                    return Err(ConfigError::new(
                        "workload.clients",
                        format!(
                            "{} clients configured but {clients} client nodes added",
                            w.clients
                        ),
                    )
                    .into());
                }
                Some(Workload::new(w.clone(), stream(seed, Stream::Workload))?)
            }
            None => None,
        };
        let nemesis = match &config.nemesis {
            Some(n) => Some(Nemesis::new(
                // The liveness phase ends the nemesis too.
                match config.heal_all_at_ns {
                    Some(at) => NemesisConfig {
                        stop_ns: Some(n.stop_ns.map_or(at, |s| s.min(at))),
                        ..n.clone()
                    },
                    None => n.clone(),
                },
                targets.len(),
                stream(seed, Stream::Faults),
            )?),
            None => None,
        };
        let network = Network::new(
            &config.network,
            count,
            stream(seed, Stream::Network),
            stream(seed, Stream::StaleDuplicates),
        )?;
        // Recent messages are kept only as far back as a replay can reach, and not at all in a
        // run without replays, so other runs neither pay for them nor change.
        let scheduled_window = config.faults.iter().filter_map(|f| match f.fault {
            crate::fault::Fault::Replay { window_ns, .. } => Some(window_ns.saturating_add(1)),
            _ => None,
        });
        let replay_window_ns = scheduled_window
            .chain(
                nemesis
                    .iter()
                    .map(|n| n.replay_window_ns_max().saturating_add(1)),
            )
            .max()
            .unwrap_or(0);
        let mut clock_rng = stream(seed, Stream::Clocks);
        let mut nodes = Vec::with_capacity(count);
        for (i, spec) in specs.into_iter().enumerate() {
            let id = NodeId(i as u32);
            let clock_config = match (spec.clock, config.clock_skew, spec.role) {
                (Some(c), _, _) => c,
                (None, Some(skew), Role::Server) => {
                    let off = skew.offset_ns_max.min(i64::MAX as u64) as i64;
                    let drift = skew.drift_ppm_max.abs();
                    ClockConfig {
                        offset_ns: clock_rng.random_range(-off..=off),
                        drift_ppm: if drift > 0.0 {
                            clock_rng.random_range(-drift..=drift)
                        } else {
                            0.0
                        },
                    }
                }
                _ => ClockConfig::default(),
            };
            let clock = Clock::new(&clock_config, &format!("clocks.{id}"))?;
            let client = (spec.role == Role::Client).then_some(ClientSlot {
                process: (i - servers.len().min(i)) as u64,
                open: None,
            });
            nodes.push(Node {
                process: (spec.factory)(id),
                factory: spec.factory,
                role: spec.role,
                status: NodeStatus::Up,
                incarnation: 0,
                epoch: 0,
                clock,
                storage: Storage::new(),
                rng: stream(seed, Stream::Node(id)),
                timers: Vec::new(),
                next_timer: 0,
                deferred: Vec::new(),
                client,
                crash_record: None,
                pause_record: None,
            });
        }
        let mut sim = Simulation {
            now: 0,
            queue: EventQueue::with_len_max(config.limits.queue_len_max),
            nodes,
            servers,
            clients: client_ids,
            targets,
            network,
            partition_rng: stream(seed, Stream::Partitions),
            late: Box::new(super::late::Late::new(
                replay_window_ns,
                stream(seed, Stream::Release),
            )),
            coverage: Coverage::new(config.limits.fault_records_max),
            partition_record: None,
            partition_replaced: Connectivity::full(count),
            nemesis,
            workload,
            history: History::default(),
            next_op: 0,
            next_msg_id: 0,
            violations: Vec::new(),
            buggify: Buggify::new(config.buggify, seed),
            tracer: Tracer {
                hash: TraceHash::default(),
                sink,
                last_event: describe_events.then(String::new),
            },
            stats: Stats::default(),
            effects: Vec::with_capacity(64),
            deferred_total: 0,
            config,
        };
        sim.schedule_initial_events()?;
        Ok(sim)
    }
}

impl<M: Message> SimBuilder<M> {
    fn add(&mut self, role: Role, factory: Factory<M>) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(NodeSpec {
            role,
            exempt: false,
            clock: None,
            factory,
        });
        id
    }
}

impl<M: Message> Simulation<M> {
    fn schedule_initial_events(&mut self) -> Result<(), SimError> {
        for i in 0..self.nodes.len() {
            self.push(
                0,
                Event::Start {
                    node: NodeId(i as u32),
                },
            )?;
        }
        for (index, scheduled) in self.config.faults.clone().into_iter().enumerate() {
            let source = FaultSource::Schedule {
                index: index as u32,
            };
            self.push(
                scheduled.at_ns,
                Event::Fault(Box::new((scheduled.fault, source))),
            )?;
        }
        if let Some(at) = self.config.heal_all_at_ns {
            let heal = Box::new((crate::fault::Fault::HealAll, FaultSource::Liveness));
            self.push(at, Event::Fault(heal))?;
        }
        if let Some(nemesis) = self.nemesis.as_mut() {
            let first = nemesis.first_tick();
            if nemesis.active_at(first) {
                self.push(first, Event::NemesisTick)?;
            }
        }
        Ok(())
    }
}

/// The events a run starts with (a start per node, the scheduled faults, the liveness heal and
/// the nemesis's first tick) must fit the queue, or the run could not even begin.
fn validate_first_events(config: &SimConfig, nodes: usize) -> Result<(), ConfigError> {
    let first = nodes
        + config.faults.len()
        + usize::from(config.heal_all_at_ns.is_some())
        + usize::from(config.nemesis.is_some());
    let max = config.limits.queue_len_max;
    if first > max {
        return Err(ConfigError::new(
            "limits.queue_len_max",
            format!(
                "{max} is too small: the run starts with {first} events (one for each of {nodes} \
                 nodes and {} scheduled faults, and the liveness heal and the nemesis's first \
                 tick if there are); allow at least {first}, or leave the default ({})",
                config.faults.len(),
                crate::config::Limits::default().queue_len_max
            ),
        ));
    }
    Ok(())
}

/// Every fault must name real nodes and describe a partition that can be built.
fn validate_faults(
    config: &SimConfig,
    nodes: usize,
    servers: &[NodeId],
    clients: &[NodeId],
) -> Result<(), ConfigError> {
    let mut scratch_rng = stream(0, Stream::Partitions);
    for (i, scheduled) in config.faults.iter().enumerate() {
        let field = format!("faults[{i}].fault");
        if let Some(node) = scheduled.fault.node()
            && node.index() >= nodes
        {
            return Err(ConfigError::new(
                format!("{field}.node"),
                format!("{node} is not a node; nodes are n0..n{}", nodes - 1),
            ));
        }
        match &scheduled.fault {
            crate::fault::Fault::Partition(spec) => {
                Connectivity::from_spec(spec, nodes, servers, clients, &mut scratch_rng)
                    .map_err(|e| ConfigError::new(format!("{field}.{}", e.field), e.message))?;
            }
            crate::fault::Fault::Hold { partition, .. } => {
                Connectivity::from_spec(partition, nodes, servers, clients, &mut scratch_rng)
                    .map_err(|e| {
                        ConfigError::new(format!("{field}.partition.{}", e.field), e.message)
                    })?;
            }
            crate::fault::Fault::Replay { from, to, .. } => {
                for (name, node) in [("from", from), ("to", to)] {
                    if let Some(node) = node
                        && node.index() >= nodes
                    {
                        return Err(ConfigError::new(
                            format!("{field}.{name}"),
                            format!("{node} is not a node; nodes are n0..n{}", nodes - 1),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}
