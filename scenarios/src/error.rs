//! Errors for people: a bad scenario names the file, the line and column, the field path, what
//! was wrong and, for a misspelt name, the closest allowed one.

use std::fmt;

use thiserror::Error;

use crate::locate::locate;

/// A scenario that cannot be used. Exit status 2.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub struct ScenarioError {
    /// The file.
    pub file: String,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// The field path, e.g. `network.links[0].loss` (empty for whole-file problems).
    pub path: String,
    /// What is wrong and what would be right.
    pub message: String,
}

impl ScenarioError {
    /// An error at a known position.
    pub fn at(file: &str, position: Option<(usize, usize)>, path: &str, message: &str) -> Self {
        Self {
            file: file.to_string(),
            position,
            path: path.to_string(),
            message: with_suggestion(message),
        }
    }

    /// An error at the field `path`, located in `text`.
    pub fn located(file: &str, text: &str, path: &str, message: &str) -> Self {
        let position = if path.is_empty() {
            None
        } else {
            locate(text, path)
        };
        Self::at(file, position, path, message)
    }

    /// The file could not be read.
    pub fn io(file: &str, message: &str) -> Self {
        Self::at(file, None, "", message)
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": field `{}`", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Appends "did you mean `x`?" to serde's "unknown field/variant `y`, expected one of ..."
/// messages when one allowed name is close to the misspelt one.
fn with_suggestion(message: &str) -> String {
    let Some(bad) = backticked(message).next() else {
        return message.to_string();
    };
    if !(message.starts_with("unknown field") || message.starts_with("unknown variant")) {
        return message.to_string();
    }
    let allowed: Vec<&str> = backticked(message).skip(1).collect();
    match closest(bad, &allowed) {
        Some(best) => format!("{message}; did you mean `{best}`?"),
        None => message.to_string(),
    }
}

/// The allowed name closest to `bad`, if it is close enough to be a likely typo.
pub fn closest<'a>(bad: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (strsim::jaro_winkler(bad, a), *a))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|x, y| x.0.total_cmp(&y.0))
        .map(|(_, a)| a)
}

fn backticked(text: &str) -> impl Iterator<Item = &str> {
    text.split('`').skip(1).step_by(2)
}

/// Why a run could not produce a verdict.
#[derive(Debug, Error)]
pub enum RunError {
    /// The scenario is invalid (exit 2).
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    /// Writing an artefact failed.
    #[error("{path}: {message}")]
    Output {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_field() {
        let m =
            with_suggestion("unknown field `los`, expected one of `latency`, `loss`, `duplicate`");
        assert!(m.ends_with("did you mean `loss`?"), "{m}");
        let m = with_suggestion("unknown field `zzz`, expected one of `latency`, `loss`");
        assert!(!m.contains("did you mean"), "{m}");
    }

    #[test]
    fn display_names_file_position_and_field() {
        let e = ScenarioError::at("a.json", Some((3, 7)), "workload.keys", "must be positive");
        assert_eq!(
            e.to_string(),
            "a.json:3:7: field `workload.keys`: must be positive"
        );
    }
}
