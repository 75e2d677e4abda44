//! The scenario library that ships with dsim (`scenarios/library/*.json`), built into the
//! binary so that `dsim list` shows it and `dsim run NAME` runs it from any directory.

use crate::error::ScenarioError;
use crate::scenario::Scenario;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/library.rs"));
}

/// The library's scenarios as `(name, file text)`, in name order.
pub fn files() -> &'static [(&'static str, &'static str)] {
    embedded::FILES
}

/// The library scenario called `name` (a file stem such as `raft-nemesis`), if there is one.
/// Errors name it as `library/NAME.json`.
pub fn load(name: &str) -> Option<Result<Scenario, ScenarioError>> {
    let (name, text) = files().iter().find(|(n, _)| *n == name)?;
    Some(Scenario::parse(text, &format!("library/{name}.json")))
}

/// Reads the scenario at `path`, or, when no such file exists and `path` is a bare library
/// name, that library scenario.
pub fn file_or_library(path: &std::path::Path) -> Result<Scenario, ScenarioError> {
    if !path.exists()
        && let Some(found) = path.to_str().and_then(load)
    {
        return found;
    }
    Scenario::from_file(path)
}
