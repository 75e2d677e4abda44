//! # scenarios: scenario files, the runner and the `dsim` command line
//!
//! A scenario file says what to simulate ([`Scenario`]); [`run`] builds the simulation for the
//! protocol it names, runs it, judges it with the checks it asks for and returns a
//! [`RunReport`]. This is the only crate that knows the engine, the protocols and the checker.
//!
//! ```no_run
//! let scenario = scenarios::Scenario::from_file("scenarios/library/register.json").unwrap();
//! let report = scenarios::run(&scenario, &scenarios::RunOptions { seed: Some(7), ..Default::default() }).unwrap();
//! assert!(report.ok, "{}", report.to_text());
//! ```

pub mod check_cmd;
mod durations;
pub mod error;
pub mod experiment_cmd;
pub mod export_perfetto;
pub mod export_shiviz;
pub mod html_report;
mod linearizable;
mod liveness;
mod locate;
mod metrics;
pub mod registry;
pub mod replay;
pub mod report;
mod runner;
pub mod scenario;
pub mod shrink;
pub mod sweep;
pub mod trace_events;
mod trace_file;

pub use error::{RunError, ScenarioError};
pub use report::RunReport;
pub use runner::RunOptions;
pub use scenario::{CheckName, Scenario, ScenarioSpec};

/// Runs a loaded scenario.
pub fn run(scenario: &Scenario, options: &RunOptions) -> Result<RunReport, RunError> {
    registry::dispatch(scenario, options)
}
