//! The scenario file: one JSON document that says which protocol to run, on how many servers,
//! over which network, with which clocks, faults, workload and checks. Every field has a
//! default, unknown fields are errors, and every error names the file, the line and column, the
//! field path and what would be right.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sim_core::{
    BuggifyConfig, ClockSkew, Cluster, Limits, Nanos, NemesisConfig, NetworkConfig, NodeId,
    Protocol, ScheduledFault, SimConfig, WorkloadConfig, bounds,
};

use crate::durations;
use crate::error::ScenarioError;
use crate::swarm::Draw;

/// A scenario as written in its file (after `*_ns` strings became integers).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// What the scenario shows, for people and for `dsim list`.
    #[serde(default)]
    pub description: String,
    /// The seed used when the command line gives none.
    #[serde(default)]
    pub seed: u64,
    /// Simulated time to run (default 10 s).
    #[serde(default = "default_duration")]
    pub duration_ns: Nanos,
    /// The protocol and its options.
    pub protocol: ProtocolSection,
    /// The cluster shape.
    #[serde(default)]
    pub cluster: ClusterSection,
    /// The network model (default: 0.5–1.5 ms uniform latency, no loss).
    #[serde(default)]
    pub network: NetworkConfig,
    /// Clock skew, drift and per-node clocks (default: perfect clocks).
    #[serde(default)]
    pub clocks: ClocksSection,
    /// Faults at fixed times.
    #[serde(default)]
    pub faults: Vec<ScheduledFault>,
    /// The random nemesis (default: none).
    #[serde(default)]
    pub nemesis: Option<NemesisConfig>,
    /// The client workload (default: none).
    #[serde(default)]
    pub workload: Option<WorkloadConfig>,
    /// Which checks judge the run (default: `invariants`, plus `linearizable` when the
    /// protocol has a model and there is a workload; `liveness` is added by a `liveness` section).
    #[serde(default)]
    pub checks: Option<Vec<CheckName>>,
    /// A liveness phase at the end of the run (default: none).
    #[serde(default)]
    pub liveness: Option<LivenessSection>,
    /// Swarm testing over the configuration: field paths with the choices or ranges each seed
    /// draws from (see [`crate::swarm`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swarm: Option<BTreeMap<String, Draw>>,
    /// Buggify points in the protocol's code (default: off; `{}` turns them on with the
    /// default probabilities).
    #[serde(default)]
    pub buggify: Option<BuggifyConfig>,
    /// Bounds on the run's resources.
    #[serde(default)]
    pub limits: Limits,
}

impl ScenarioSpec {
    /// The engine configuration this scenario gives for `seed` (its per-node clocks are set on
    /// the builder separately).
    pub fn to_config(&self, seed: u64) -> SimConfig {
        SimConfig {
            seed,
            duration_ns: self.duration_ns,
            network: self.network.clone(),
            clock_skew: self.clocks.skew,
            faults: self.faults.clone(),
            nemesis: self.nemesis.clone(),
            workload: self.workload.clone(),
            heal_all_at_ns: self
                .liveness
                .as_ref()
                .map(|l| self.duration_ns.saturating_sub(l.duration_ns)),
            buggify: self.buggify,
            limits: self.limits,
        }
    }

    /// The cluster shape: the scenario's servers and one client node per workload client.
    pub fn cluster_for(&self, config: &SimConfig) -> Cluster {
        Cluster {
            servers: self.cluster.servers,
            clients: config.workload.as_ref().map_or(0, |w| w.clients),
        }
    }

    /// The scenario that runs protocol `P` with `options` on `cluster` under `config`: what a
    /// property test writes out for a counterexample, so that `dsim run` reproduces it (same
    /// seed, same trace hash). The workload's client count is the cluster's.
    pub fn from_config<P: Protocol>(
        options: &P::Options,
        cluster: Cluster,
        config: &SimConfig,
    ) -> Result<Self, serde_json::Error>
    where
        P::Options: Serialize,
    {
        let liveness = config.heal_all_at_ns.map(|at| LivenessSection {
            duration_ns: config.duration_ns.saturating_sub(at),
        });
        Ok(Self {
            description: format!("{} as a property test ran it", P::NAME),
            seed: config.seed,
            duration_ns: config.duration_ns,
            protocol: ProtocolSection {
                name: P::NAME.to_string(),
                options: serde_json::to_value(options)?,
            },
            cluster: ClusterSection {
                servers: cluster.servers,
            },
            network: config.network.clone(),
            clocks: ClocksSection {
                skew: config.clock_skew,
                nodes: Vec::new(),
            },
            faults: config.faults.clone(),
            nemesis: config.nemesis.clone(),
            workload: config.workload.clone(),
            checks: None,
            liveness,
            swarm: None,
            buggify: config.buggify,
            limits: config.limits,
        })
    }

    /// The scenario as file text (pretty JSON), which [`Scenario::parse`] reads back as the
    /// same scenario.
    pub fn to_file_text(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Writes the scenario to `path` as a file `dsim run` reads.
    pub fn write(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.to_file_text())
    }
}

/// `liveness`: the last `duration_ns` of the run, every fault ended (network healed, crashed
/// nodes restarted, paused ones resumed, nemesis stopped), and progress required.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LivenessSection {
    /// Length of the healed phase at the end of the run.
    pub duration_ns: Nanos,
}

fn default_duration() -> Nanos {
    sim_core::secs(10)
}

/// `protocol`: which one and its options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolSection {
    /// A protocol name from `dsim list`.
    pub name: String,
    /// The protocol's own options, including `bugs`.
    #[serde(default)]
    pub options: serde_json::Value,
}

/// `cluster`: how many servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterSection {
    /// Number of servers (clients come from `workload.clients`).
    pub servers: u32,
}

impl Default for ClusterSection {
    fn default() -> Self {
        Self { servers: 3 }
    }
}

/// `clocks`: random skew for all servers and explicit clocks for some nodes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClocksSection {
    /// Random offset and drift for every server.
    pub skew: Option<ClockSkew>,
    /// Explicit clocks, overriding the skew.
    pub nodes: Vec<NodeClock>,
}

/// One node's explicit clock.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeClock {
    /// The node.
    pub node: NodeId,
    /// Local minus true time at the start.
    #[serde(default)]
    pub offset_ns: i64,
    /// Drift in parts per million.
    #[serde(default)]
    pub drift_ppm: f64,
}

/// The checks a scenario can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    /// The client history is linearizable under the protocol's model.
    Linearizable,
    /// No invariant violation during the run, and every end-of-run protocol check passes.
    Invariants,
}

/// A loaded scenario: the parsed spec plus where it came from, for error messages.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The file (or other origin) it was read from.
    pub origin: String,
    /// A short name: the file stem.
    pub name: String,
    /// The source text, kept to point errors at lines and columns.
    pub text: String,
    /// The parsed content.
    pub spec: ScenarioSpec,
}

/// Largest scenario file accepted; anything bigger is not a hand-written scenario.
pub const SCENARIO_BYTES_MAX: u64 = 16 * 1024 * 1024;

impl Scenario {
    /// Reads and parses a scenario file: at most [`SCENARIO_BYTES_MAX`] bytes of UTF-8 JSON
    /// (a leading byte-order mark is allowed). A file that is too big or not UTF-8 is refused
    /// with its size, or the line, column and byte offset of its first bad byte.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ScenarioError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let bytes =
            read_bounded(path, SCENARIO_BYTES_MAX).map_err(|e| ScenarioError::io(&origin, &e))?;
        let text = utf8(&bytes).map_err(|(position, message)| {
            ScenarioError::at(&origin, Some(position), "", &message)
        })?;
        Self::parse(text, &origin)
    }

    /// Parses scenario text; `origin` names it in errors. A leading byte-order mark is
    /// skipped.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ScenarioError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            ScenarioError::at(
                origin,
                Some((e.line(), e.column())),
                "",
                &syntax_message(&e),
            )
        })?;
        durations::normalize(&mut value, &mut Vec::new())
            .map_err(|(path, why)| ScenarioError::located(origin, text, &path, &why))?;
        let spec: ScenarioSpec = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            ScenarioError::located(origin, text, &path, &e.into_inner().to_string())
        })?;
        let name = Path::new(origin)
            .file_stem()
            .map_or_else(|| origin.to_string(), |s| s.to_string_lossy().into_owned());
        let scenario = Self {
            origin: origin.to_string(),
            name,
            text: text.to_string(),
            spec,
        };
        scenario.validate()?;
        crate::swarm::validate(&scenario)?;
        Ok(scenario)
    }

    /// Whether the file itself writes the field at `path` (rather than leaving it to its
    /// default), e.g. `["workload", "mix"]`.
    pub fn mentions(&self, path: &[&str]) -> bool {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&self.text) else {
            return false;
        };
        let mut at = &value;
        for key in path {
            match at.get(key) {
                Some(next) => at = next,
                None => return false,
            }
        }
        true
    }

    /// An error about the field at `path` of this scenario.
    pub fn error(&self, path: &str, message: &str) -> ScenarioError {
        ScenarioError::located(&self.origin, &self.text, path, message)
    }

    /// The checks to run: the listed ones, or the defaults.
    pub fn checks(&self, has_model: bool) -> Vec<CheckName> {
        match &self.spec.checks {
            Some(list) => list.clone(),
            None if has_model && self.spec.workload.is_some() => {
                vec![CheckName::Linearizable, CheckName::Invariants]
            }
            None => vec![CheckName::Invariants],
        }
    }

    /// Checks every number against its range (see [`sim_core::bounds`]) and the sections
    /// against each other; protocol options are checked by the protocol when the run is built.
    pub(crate) fn validate(&self) -> Result<(), ScenarioError> {
        let spec = &self.spec;
        if spec.duration_ns == 0 {
            return Err(self.error("duration_ns", "must be positive, e.g. \"30s\""));
        }
        if let Some(l) = &spec.liveness
            && (l.duration_ns == 0 || l.duration_ns >= spec.duration_ns)
        {
            return Err(self.error(
                "liveness.duration_ns",
                "must be positive and shorter than duration_ns (it is the end of the run)",
            ));
        }
        if spec.cluster.servers == 0 {
            return Err(self.error("cluster.servers", "at least one server is needed"));
        }
        let config_error = |e: sim_core::ConfigError| self.error(&e.field, &e.message);
        bounds::check(
            "cluster.servers",
            spec.cluster.servers,
            1..=bounds::SERVERS_MAX,
        )
        .map_err(config_error)?;
        let nodes_max = (bounds::SERVERS_MAX + bounds::CLIENTS_MAX) as usize;
        bounds::check_len("clocks.nodes", spec.clocks.nodes.len(), nodes_max)
            .map_err(config_error)?;
        for (i, clock) in spec.clocks.nodes.iter().enumerate() {
            let config = sim_core::ClockConfig {
                offset_ns: clock.offset_ns,
                drift_ppm: clock.drift_ppm,
            };
            config
                .validate(&format!("clocks.nodes[{i}]"))
                .map_err(config_error)?;
        }
        spec.to_config(spec.seed).validate().map_err(config_error)
    }
}

/// Reads at most `max` bytes of `path`; a longer file (or stream: the size on disk is not
/// trusted) is an error that names its size and the limit.
fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let too_big = |size: String| {
        format!("the file is {size} bytes; scenario files of at most {max} bytes are accepted")
    };
    if size > max {
        return Err(too_big(size.to_string()));
    }
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max {
        return Err(too_big(format!("more than {max}")));
    }
    Ok(bytes)
}

/// The bytes as text, or the line and column of the first byte that is not UTF-8 and a
/// message naming it and its offset.
fn utf8(bytes: &[u8]) -> Result<&str, ((usize, usize), String)> {
    std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        // The part before the bad byte is valid UTF-8, so lines and columns count characters.
        let before = std::str::from_utf8(&bytes[..offset]).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let message = format!(
            "not UTF-8: byte 0x{:02x} at offset {offset} cannot start or continue a character; \
             scenario files are UTF-8 JSON",
            bytes[offset]
        );
        ((line, column), message)
    })
}

fn syntax_message(e: &serde_json::Error) -> String {
    // serde_json appends " at line L column C"; the location is printed separately.
    let text = e.to_string();
    let message = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(m, _)| m);
    format!("invalid JSON: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> ScenarioError {
        Scenario::parse(text, "s.json").unwrap_err()
    }

    /// A number out of range is refused at load with its line, column, field and range.
    #[test]
    fn out_of_range_numbers_are_located() {
        let e = error("{\n  \"protocol\": {\"name\": \"raft\"},\n  \"duration_ns\": \"1000h\"\n}");
        assert_eq!(e.path, "duration_ns");
        assert_eq!(e.position, Some((3, 18)));
        assert!(
            e.message.contains("1000 h") && e.message.contains("24 h"),
            "{e}"
        );
        let e = error(r#"{"protocol": {"name": "raft"}, "workload": {"clients": 4294967295}}"#);
        assert_eq!(e.path, "workload.clients");
        let e = error(
            r#"{"protocol": {"name": "raft"}, "clocks": {"nodes": [{"node": 0, "offset_ns": "-48h"}]}}"#,
        );
        assert_eq!(e.path, "clocks.nodes[0].offset_ns");
        let e = error(r#"{"protocol": {"name": "raft"}, "limits": {"queue_len_max": 0}}"#);
        assert_eq!(e.path, "limits.queue_len_max");
        assert!(e.position.is_some());
    }

    /// A byte-order mark is skipped, and positions count from after it.
    #[test]
    fn a_byte_order_mark_is_accepted() {
        let s = Scenario::parse("\u{feff}{\"protocol\": {\"name\": \"raft\"}}", "s.json").unwrap();
        assert_eq!(s.spec.protocol.name, "raft");
        let e = error("\u{feff}{\"protocol\": {\"name\": \"raft\"}, \"seed\": -1}");
        assert_eq!(e.position, Some((1, 40)));
    }

    /// Bytes that are not UTF-8 are named with their line, column and offset.
    #[test]
    fn bytes_that_are_not_utf8_are_located() {
        let ((line, column), message) = utf8(b"{\n  \"description\": \"caf\xe9\"}").unwrap_err();
        assert_eq!((line, column), (2, 22));
        assert!(message.contains("0xe9 at offset 23"), "{message}");
        assert_eq!(utf8("\u{e9}t\u{e9}".as_bytes()), Ok("\u{e9}t\u{e9}"));
    }

    /// A file over the size limit is refused with its size and the limit, before it is read.
    #[test]
    fn oversized_files_name_their_size_and_the_limit() {
        let path = std::env::temp_dir().join(format!("dsim-oversized-{}.json", std::process::id()));
        std::fs::write(&path, vec![b' '; 2_000]).unwrap();
        let message = read_bounded(&path, 1_000).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            message,
            "the file is 2000 bytes; scenario files of at most 1000 bytes are accepted"
        );
    }
}
