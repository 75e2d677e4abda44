//! The protocols a scenario can name: an open registry that a binary fills with the protocols
//! it knows. The `dsim` binary registers the built-in ones ([`Registry::builtin`]); a user's own
//! binary registers theirs the same way ([`Registry::protocol`]), with or without the built-ins.

use sim_core::{BugInfo, ModelKind, OpFn, Protocol};

use crate::error::{RunError, closest};
use crate::report::RunReport;
use crate::runner::{RunOptions, build_with, run_protocol};
use crate::scenario::Scenario;

/// What `dsim list` shows about a protocol.
#[derive(Clone, Debug)]
pub struct ProtocolInfo {
    /// The name used in scenario files.
    pub name: &'static str,
    /// One line.
    pub description: &'static str,
    /// The checker model of its client history, if any.
    pub model: Option<ModelKind>,
    /// The client operations it serves.
    pub operations: &'static [OpFn],
    /// The bugs it can be switched to.
    pub bugs: &'static [BugInfo],
}

/// Runs a scenario as one registered protocol.
type RunFn = fn(&Scenario, &RunOptions) -> Result<RunReport, RunError>;

/// Builds a scenario's simulation as one registered protocol, without running it.
type BuildFn = fn(&Scenario, Option<u64>) -> Result<(), RunError>;

/// Protocols by name, in the order they were registered.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    entries: Vec<(ProtocolInfo, RunFn, BuildFn)>,
}

impl Registry {
    /// A registry with no protocols.
    pub fn new() -> Self {
        Self::default()
    }

    /// The protocols that come with dsim: pingpong, register, raft, chain, gossip, twopc.
    pub fn builtin() -> Self {
        let mut registry = Self::new();
        registry
            .protocol::<protocols::pingpong::PingPong>()
            .protocol::<protocols::register::Register>()
            .protocol::<protocols::raft::Raft>()
            .protocol::<protocols::chain::Chain>()
            .protocol::<protocols::gossip::Gossip>()
            .protocol::<protocols::twopc::TwoPc>();
        registry
    }

    /// Registers protocol `P` under [`Protocol::NAME`]. A protocol registered again under a
    /// name already taken replaces the earlier one (so a binary can swap in its own build of a
    /// built-in).
    pub fn protocol<P: Protocol + 'static>(&mut self) -> &mut Self {
        let info = ProtocolInfo {
            name: P::NAME,
            description: P::DESCRIPTION,
            model: P::MODEL,
            operations: P::OPERATIONS,
            bugs: P::bugs(),
        };
        self.insert(info, run_protocol::<P>, build_with::<P>);
        self
    }

    /// Registers every protocol of `other`, as [`Registry::protocol`] would, in its order.
    pub fn extend(&mut self, other: Registry) {
        for (info, run, build) in other.entries {
            self.insert(info, run, build);
        }
    }

    fn insert(&mut self, info: ProtocolInfo, run: RunFn, build: BuildFn) {
        match self
            .entries
            .iter_mut()
            .find(|(i, _, _)| i.name == info.name)
        {
            Some(entry) => *entry = (info, run, build),
            None => self.entries.push((info, run, build)),
        }
    }

    /// The registered protocols, in registration order.
    pub fn protocols(&self) -> impl Iterator<Item = &ProtocolInfo> {
        self.entries.iter().map(|(info, _, _)| info)
    }

    /// Whether a protocol of this name is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.iter().any(|(info, _, _)| info.name == name)
    }

    /// Runs `scenario` with the protocol it names.
    pub fn run(&self, scenario: &Scenario, options: &RunOptions) -> Result<RunReport, RunError> {
        let name = scenario.spec.protocol.name.as_str();
        match self.entries.iter().find(|(info, _, _)| info.name == name) {
            Some((_, run, _)) => run(scenario, options),
            None => Err(scenario.error("protocol.name", &self.unknown(name)).into()),
        }
    }

    /// Builds the simulation `scenario` describes with the protocol it names, for `seed` (the
    /// scenario's own when `None`), and drops it without running it: every check a run makes
    /// before its first event (protocol options, workload, clocks, the engine's config), so a
    /// tool can validate a file cheaply. The fuzz harness (`dsim-fuzz`) uses it.
    pub fn build(&self, scenario: &Scenario, seed: Option<u64>) -> Result<(), RunError> {
        let name = scenario.spec.protocol.name.as_str();
        match self.entries.iter().find(|(info, _, _)| info.name == name) {
            Some((_, _, build)) => build(scenario, seed),
            None => Err(scenario.error("protocol.name", &self.unknown(name)).into()),
        }
    }

    fn unknown(&self, name: &str) -> String {
        let names: Vec<&str> = self.protocols().map(|p| p.name).collect();
        let hint =
            closest(name, &names).map_or(String::new(), |c| format!("; did you mean `{c}`?"));
        let known = if names.is_empty() {
            "no protocols are registered".to_string()
        } else {
            format!("registered: {}", names.join(", "))
        };
        format!(
            "unknown protocol `{name}` ({known}){hint}. A protocol of your own is registered in \
             your binary's main: `scenarios::Dsim::new().protocol::<YourProtocol>().main()` \
             (see \"Bring your own protocol\" in dsim's README)"
        )
    }
}
