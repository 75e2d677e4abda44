//! The protocols dsim can run, by name. This is the one place that lists them all.

use protocols::{BugInfo, Protocol};

use crate::error::{RunError, closest};
use crate::report::RunReport;
use crate::runner::{RunOptions, run_with};
use crate::scenario::Scenario;

/// What `dsim list` shows about a protocol.
#[derive(Clone, Debug)]
pub struct ProtocolInfo {
    /// The name used in scenario files.
    pub name: &'static str,
    /// One line.
    pub description: &'static str,
    /// The checker model of its client history, if any.
    pub model: Option<&'static str>,
    /// The bugs it can be switched to.
    pub bugs: &'static [BugInfo],
}

fn info<P: Protocol>() -> ProtocolInfo {
    ProtocolInfo {
        name: P::NAME,
        description: P::DESCRIPTION,
        model: P::MODEL,
        bugs: P::bugs(),
    }
}

/// Every protocol, in the order `dsim list` shows them.
pub fn all() -> Vec<ProtocolInfo> {
    vec![
        info::<protocols::pingpong::PingPong>(),
        info::<protocols::register::Register>(),
        info::<protocols::raft::Raft>(),
        info::<protocols::chain::Chain>(),
        info::<protocols::gossip::Gossip>(),
        info::<protocols::twopc::TwoPc>(),
    ]
}

/// Runs `scenario` with the protocol it names.
pub(crate) fn dispatch(scenario: &Scenario, options: &RunOptions) -> Result<RunReport, RunError> {
    match scenario.spec.protocol.name.as_str() {
        "pingpong" => run_with::<protocols::pingpong::PingPong>(scenario, options),
        "register" => run_with::<protocols::register::Register>(scenario, options),
        "raft" => run_with::<protocols::raft::Raft>(scenario, options),
        "chain" => run_with::<protocols::chain::Chain>(scenario, options),
        "gossip" => run_with::<protocols::gossip::Gossip>(scenario, options),
        "twopc" => run_with::<protocols::twopc::TwoPc>(scenario, options),
        other => {
            let names: Vec<&str> = all().iter().map(|p| p.name).collect();
            let hint =
                closest(other, &names).map_or(String::new(), |c| format!("; did you mean `{c}`?"));
            let message = format!(
                "unknown protocol `{other}`, expected one of {}{hint}",
                names.join(", ")
            );
            Err(scenario.error("protocol.name", &message).into())
        }
    }
}
