//! Typed errors of the engine: bad configuration (caught before a run starts) and limits hit
//! during a run. Protocol-level findings are not errors; they are violations in the report.

use thiserror::Error;

use crate::time::Nanos;

/// A configuration value that cannot be used, with the path of the field that holds it.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// Dotted path of the offending field, e.g. `network.links[2].loss`.
    pub field: String,
    /// What is wrong and what would be right.
    pub message: String,
}

impl ConfigError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why a simulation could not be built or could not go on.
#[derive(Debug, Error)]
pub enum SimError {
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// A bound from [`crate::Limits`] was reached; the run stops rather than grow without bound.
    #[error(
        "limit `{limit}` ({value}) reached at t={at_ns}ns: the run stopped there; raise \
         `limits.{limit}` in the scenario to let it go further"
    )]
    LimitReached {
        /// The name of the limit, as in [`crate::Limits`].
        limit: &'static str,
        /// Its configured value.
        value: u64,
        /// True time at which it was reached.
        at_ns: Nanos,
    },
}
