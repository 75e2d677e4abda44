//! Swarm testing over configurations: a scenario's `swarm` section gives choices or ranges for
//! any of its fields (protocol options, client timeouts, workload mixes, network settings), and
//! each seed draws its own values, so a bug that only bites in one mode or at one timeout is
//! run by some seeds instead of none. The draws come from the seed alone (a stream of their
//! own), are recorded in the run's summary, and `dsim shrink` writes them out as plain values.
//!
//! ```json
//! "swarm": {
//!   "protocol.options.read_mode": ["log", "read_index", "lease"],
//!   "workload.timeout_ns": { "min": "50ms", "max": "2s" },
//!   "network.loss": { "min": 0, "max": 0.2 }
//! }
//! ```

use std::collections::BTreeMap;

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sim_core::rng::{Stream, stream};

use crate::durations;
use crate::error::ScenarioError;
use crate::scenario::{Scenario, ScenarioSpec};

/// What a seed may draw for one field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Draw {
    /// One of these values, uniformly.
    Choices(Vec<Value>),
    /// A number uniformly in `[min, max]`: integers stay integers, and a field ending in `_ns`
    /// takes durations such as `"50ms"`.
    Range {
        /// The smallest value.
        min: Value,
        /// The largest value.
        max: Value,
    },
}

/// The values one seed drew, by field path.
pub type Drawn = BTreeMap<String, Value>;

/// The scenario as `seed` runs it: every `swarm` field set to its draw and the section removed,
/// with what was drawn. A scenario without `swarm` comes back unchanged.
pub fn resolve(scenario: &Scenario, seed: u64) -> Result<(Scenario, Drawn), ScenarioError> {
    let Some(swarm) = scenario.spec.swarm.as_ref().filter(|s| !s.is_empty()) else {
        return Ok((scenario.clone(), Drawn::new()));
    };
    let mut rng = stream(seed, Stream::Swarm);
    let mut value = serde_json::to_value(&scenario.spec)
        .map_err(|e| scenario.error("swarm", &e.to_string()))?;
    let mut drawn = Drawn::new();
    for (path, draw) in swarm {
        let field = format!("swarm.{path}");
        let choice = pick(draw, path, &mut rng).map_err(|why| scenario.error(&field, &why))?;
        set(&mut value, path, choice.clone()).map_err(|why| scenario.error(&field, &why))?;
        drawn.insert(path.clone(), choice);
    }
    if let Some(map) = value.as_object_mut() {
        map.remove("swarm");
    }
    let spec: ScenarioSpec = serde_path_to_error::deserialize(value).map_err(|e| {
        let why = format!("a seed's draws make `{}` invalid: {}", e.path(), e.inner());
        scenario.error("swarm", &why)
    })?;
    let resolved = Scenario {
        spec,
        ..scenario.clone()
    };
    resolved.validate()?;
    Ok((resolved, drawn))
}

/// Checks a `swarm` section up front: every draw is well formed and lands in a valid scenario
/// (tried with the smallest and largest choices' seeds alike: seeds 0 to 15).
pub fn validate(scenario: &Scenario) -> Result<(), ScenarioError> {
    for seed in 0..16 {
        resolve(scenario, seed)?;
    }
    Ok(())
}

fn pick(draw: &Draw, path: &str, rng: &mut sim_core::rng::SimRng) -> Result<Value, String> {
    match draw {
        Draw::Choices(choices) if choices.is_empty() => {
            Err("expected at least one choice".to_string())
        }
        Draw::Choices(choices) => Ok(choices[rng.random_range(0..choices.len())].clone()),
        Draw::Range { min, max } => {
            let duration = path.ends_with("_ns") || path.contains("_ns_");
            let (lo, hi) = (number(min, duration)?, number(max, duration)?);
            if lo.as_f64() > hi.as_f64() {
                return Err(format!("min {min} is above max {max}"));
            }
            match (lo, hi) {
                (Number::Int(lo), Number::Int(hi)) => Ok(Value::from(rng.random_range(lo..=hi))),
                (lo, hi) => {
                    let (lo, hi) = (lo.as_f64(), hi.as_f64());
                    let x = if lo == hi {
                        lo
                    } else {
                        rng.random_range(lo..=hi)
                    };
                    Ok(serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number))
                }
            }
        }
    }
}

/// A range bound as read: an integer or a finite float.
#[derive(Clone, Copy)]
enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

/// A range bound: a JSON number, or for a duration field a string with a unit.
fn number(v: &Value, duration: bool) -> Result<Number, String> {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(Number::Int(i)),
            None => n
                .as_f64()
                .filter(|f| f.is_finite())
                .map(Number::Float)
                .ok_or_else(|| format!("{n} is not a usable number")),
        },
        Value::String(s) if duration => durations::parse(s).map(Number::Int),
        other => Err(format!(
            "range bounds must be numbers{}, not {other}",
            if duration { " or durations" } else { "" }
        )),
    }
}

/// Sets the field at dotted `path` (e.g. `protocol.options.read_mode`), creating objects on
/// the way where the scenario left them out.
fn set(root: &mut Value, path: &str, to: Value) -> Result<(), String> {
    let mut at = root;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            return Err(format!(
                "`{path}` is not a field path like `workload.timeout_ns`"
            ));
        }
        if at.is_null() {
            *at = Value::Object(Default::default());
        }
        let Some(map) = at.as_object_mut() else {
            let parent = parts[..i].join(".");
            return Err(format!(
                "`{parent}` holds no fields, so `{path}` cannot be drawn"
            ));
        };
        if i + 1 == parts.len() {
            map.insert((*part).to_string(), to);
            return Ok(());
        }
        at = map.entry((*part).to_string()).or_insert(Value::Null);
    }
    Ok(())
}
