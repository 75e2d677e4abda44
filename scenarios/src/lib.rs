//! # scenarios: scenario files, the runner and the `dsim` command line
//!
//! A scenario file says what to simulate ([`Scenario`]); a [`Registry`] of protocols builds the
//! simulation for the protocol it names, runs it, judges it with the checks it asks for and
//! returns a [`RunReport`]; [`Dsim`] is the whole command line for such a registry. This is the
//! only crate that knows the engine, the protocols and the checker, and it knows the built-in
//! protocols only through the registry a user's binary fills too.
//!
//! ```no_run
//! let scenario = scenarios::Scenario::from_file("scenarios/library/register.json").unwrap();
//! let report = scenarios::run(&scenario, &scenarios::RunOptions { seed: Some(7), ..Default::default() }).unwrap();
//! assert!(report.ok, "{}", report.to_text());
//! ```

#![warn(missing_docs)]

pub mod cli;
mod durations;
pub mod error;
pub mod export_perfetto;
pub mod export_shiviz;
pub mod html_report;
pub mod library;
mod linearizable;
mod liveness;
mod locate;
mod metrics;
pub mod out_dir;
pub mod registry;
pub mod replay;
pub mod report;
mod runner;
pub mod scenario;
mod served;
pub mod shrink;
pub mod swarm;
pub mod sweep;
pub mod trace_events;
mod trace_file;

pub use cli::Dsim;
pub use error::{RunError, ScenarioError};
pub use registry::{ProtocolInfo, Registry};
pub use report::RunReport;
pub use runner::{RunOptions, run_protocol};
pub use scenario::{CheckName, Scenario, ScenarioSpec};

/// Runs a loaded scenario of one of the built-in protocols (a protocol of your own runs
/// through a [`Registry`] that knows it).
pub fn run(scenario: &Scenario, options: &RunOptions) -> Result<RunReport, RunError> {
    Registry::builtin().run(scenario, options)
}
