//! What an input is fed to. Each target does what `dsim` does with a file a user gives it,
//! up to the point where the answer is printed, and returns whatever the answer is: an error
//! is a clean outcome, only a panic, an abort, a hang or a memory blow-up is a finding.
//!
//! The reading targets (`scenario`, `history-*`) stop where reading and validation end, so
//! that they run thousands of inputs a second; the heavier targets (`build`, `check`, `run`)
//! go on to what `dsim` does next with what it read, at a few hundred a second or fewer.

use std::fmt;
use std::str::FromStr;

use checker::read::{self, EventStream, Format};
use checker::{CheckOptions, Limits, ModelKind, ModelSpec};
use scenarios::{Registry, RunOptions, Scenario};

/// A fuzz target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A scenario file read: parsed and validated (`Scenario::parse` checks every range of
    /// `sim_core::bounds` and the engine's config), written back and parsed again (the two
    /// must agree).
    Scenario,
    /// A scenario file's simulation built without running it (protocol options, workload,
    /// clocks, the admission check), after everything `Scenario` does.
    Build,
    /// A history file in one format (or detected) read: streamed event by event as `dsim
    /// check` reads it, and read whole and paired into operations as `--html` reads it.
    History(Format),
    /// A history file (format detected) checked with a small search budget, streamed and
    /// whole, with its report, explanation and HTML page rendered.
    Check,
    /// A scenario run for at most [`RUN_DURATION_NS_MAX`] of simulated time with small limits.
    Run,
}

/// Longest simulated time a `run` input runs (longer ones are cut to this).
pub const RUN_DURATION_NS_MAX: u64 = 2_000_000_000;
/// Most events a `run` input may process.
pub const RUN_EVENTS_MAX: u64 = 2_000_000;
/// Most events waiting in a `run` input's queue.
pub const RUN_QUEUE_LEN_MAX: usize = 200_000;
/// Most history events a `run` input may record.
pub const RUN_HISTORY_EVENTS_MAX: usize = 200_000;
/// Most configurations one partition's search may visit in a `check` input: enough to
/// decide the small histories, small enough that a hard one ends in `unknown` quickly.
pub const CHECK_BUDGET_STATES: u64 = 20_000;

impl Target {
    /// Every target, in the order `dsim-fuzz list` shows them.
    pub const ALL: [Target; 9] = [
        Target::Scenario,
        Target::History(Format::Jsonl),
        Target::History(Format::Edn),
        Target::History(Format::EtcdLog),
        Target::History(Format::KvEdn),
        Target::History(Format::Auto),
        Target::Build,
        Target::Check,
        Target::Run,
    ];

    /// Seconds an input may take before it counts as a hang, unless `--hang-secs` says. A
    /// `run` input may process [`RUN_EVENTS_MAX`] events: 3.6 s for a 10,000-member gossip
    /// cluster here on an idle core, over 5 s at nice 15 beside other work, which is slow,
    /// not hung.
    pub fn hang_secs_default(self) -> f64 {
        match self {
            Target::Run => 20.0,
            _ => 5.0,
        }
    }

    /// Whether the target only reads and validates (thousands of inputs a second), rather than
    /// going on to build, check or run what it read.
    pub fn is_reading(self) -> bool {
        matches!(self, Target::Scenario | Target::History(_))
    }

    /// The name used on the command line and for folders.
    pub fn name(self) -> String {
        match self {
            Target::Scenario => "scenario".to_string(),
            Target::Build => "build".to_string(),
            Target::History(format) => format!("history-{format}"),
            Target::Check => "check".to_string(),
            Target::Run => "run".to_string(),
        }
    }

    /// The file extension of its inputs (for saved findings, so editors and `dsim` recognise
    /// them).
    pub fn extension(self) -> &'static str {
        match self {
            Target::Scenario | Target::Build | Target::Run => "json",
            Target::History(Format::Jsonl) => "jsonl",
            Target::History(Format::Edn) | Target::History(Format::Auto) | Target::Check => "edn",
            Target::History(Format::EtcdLog) => "log",
            Target::History(Format::KvEdn) => "txt",
        }
    }

    /// Feeds `input` to the target. Returns normally whatever the verdict (true when the input
    /// was accepted: built, read or run without an error); panics (and worse) are the findings.
    pub fn execute(self, input: &[u8]) -> bool {
        match self {
            Target::Scenario => scenario(input).is_some(),
            Target::Build => build(input),
            Target::History(format) => read_history(input, format),
            Target::Check => check(input),
            Target::Run => run(input),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Target, String> {
        Target::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| {
                let names: Vec<String> = Target::ALL.iter().map(|t| t.name()).collect();
                format!(
                    "unknown target {s:?}; expected one of: {}",
                    names.join(", ")
                )
            })
    }
}

/// `dsim run`/`dsim sweep` read a scenario as UTF-8 text; bytes that are not are an error
/// before parsing, so there is nothing more to feed. The scenario, if it reads (parsing
/// validates it too).
fn scenario(input: &[u8]) -> Option<Scenario> {
    let text = std::str::from_utf8(input).ok()?;
    let scenario = match Scenario::parse(text, "fuzz.json") {
        Ok(scenario) => scenario,
        Err(e) => {
            rejected(&e);
            return None;
        }
    };
    // A scenario written back (as `dsim shrink` and property tests write them) reads back
    // as the same scenario.
    let written = scenario.spec.to_file_text();
    match Scenario::parse(&written, "fuzz.json") {
        Ok(again) => assert!(
            again.spec == scenario.spec,
            "a scenario written back reads back different: {written}"
        ),
        Err(e) => panic!("a scenario written back does not read back: {e}\n{written}"),
    }
    Some(scenario)
}

/// A scenario read as [`scenario`] does, then its simulation built (and dropped).
fn build(input: &[u8]) -> bool {
    let Some(scenario) = scenario(input) else {
        return false;
    };
    match Registry::builtin().build(&scenario, None) {
        Ok(()) => true,
        Err(e) => rejected(&e),
    }
}

/// An error is a clean outcome; its message is still made, as `dsim` prints it.
fn rejected(error: &dyn std::fmt::Display) -> bool {
    drop(error.to_string());
    false
}

/// What `dsim check` reads before it checks: every event of the stream (the default), and
/// the whole history paired into operations (what `--html` reads). Accepted when both read
/// (a history that reads but does not pair, as most windows of a seed do not, counts too).
fn read_history(input: &[u8], format: Format) -> bool {
    let streamed = match EventStream::new(input, "fuzz", format) {
        Ok(events) => {
            let mut read = true;
            for event in events {
                if let Err(e) = event {
                    read = rejected(&e);
                    break;
                }
            }
            read
        }
        Err(e) => rejected(&e),
    };
    let Ok(text) = std::str::from_utf8(input) else {
        return false;
    };
    match read::read_str(text, "fuzz", format) {
        Ok(history) => {
            if let Err(e) = history.operations() {
                rejected(&e);
            }
            streamed
        }
        Err(e) => rejected(&e),
    }
}

/// `dsim check FILE --model M`: the streaming check of the default, and the whole-history
/// check that `--html` does, with its page.
fn check(input: &[u8]) -> bool {
    let format = Format::Auto;
    let spec = ModelSpec::new(model_for(input));
    let options = check_options(input);
    match EventStream::new(input, "fuzz", format) {
        Ok(events) => match checker::check_stream(events, "fuzz", &spec, &options) {
            Ok(report) => render(&report),
            Err(e) => drop(rejected(&e)),
        },
        Err(e) => drop(rejected(&e)),
    }
    let Ok(text) = std::str::from_utf8(input) else {
        return false;
    };
    let history = match read::read_str(text, "fuzz", format) {
        Ok(history) => history,
        Err(e) => return rejected(&e),
    };
    match checker::check_history(&history, &spec, &options) {
        Ok(report) => {
            render(&report);
            if let Ok(ops) = history.operations() {
                drop(checker::render_html("fuzz", &ops, &report));
            }
        }
        Err(e) => drop(rejected(&e)),
    }
    true
}

/// What `dsim check` prints: the JSON line and the explanation.
fn render(report: &checker::CheckReport) {
    drop(serde_json::to_string(report));
    if let Some(explanation) = &report.explanation {
        drop(explanation.to_string());
    }
}

/// The model a history is checked against: told from what its operations look like, as a
/// user would pick it, and now and then (by the input's hash) another one, since a user can
/// pick any. A function of the bytes alone, so that a saved input replays the same way.
fn model_for(input: &[u8]) -> ModelKind {
    let hash = fnv1a(input);
    if hash % 8 == 7 {
        return ModelKind::NAMES[(hash / 8) as usize % ModelKind::NAMES.len()].1;
    }
    let has = |needle: &str| {
        input
            .windows(needle.len())
            .any(|window| window == needle.as_bytes())
    };
    if has("txn") {
        ModelKind::MultiRegister
    } else if has("append") || has("get") || has("put") {
        ModelKind::Kv
    } else if has("add") {
        ModelKind::Set
    } else if has("cas") {
        ModelKind::CasRegister
    } else {
        ModelKind::Register
    }
}

/// Small search bounds (the input decides whether long partitions are cut into segments, so
/// that both ways are exercised); no wall-clock timeout, so that a replay does what the
/// campaign did.
fn check_options(input: &[u8]) -> CheckOptions {
    let hash = fnv1a(input);
    CheckOptions {
        limits: Limits {
            search_budget_states: CHECK_BUDGET_STATES,
            memo_capacity_entries: 1 << 12,
            model_states_max: 1 << 12,
            timeout: None,
            segment_ops: if hash.is_multiple_of(4) {
                8
            } else {
                Limits::default().segment_ops
            },
        },
        parallel: false,
        stop_on_first_failure: hash.is_multiple_of(2),
        progress: None,
    }
}

/// A scenario run with the simulated time and the limits cut to the `RUN_*` bounds (inputs
/// the campaign generates already respect them, so a saved one runs the same with `dsim run`).
fn run(input: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(input) else {
        return false;
    };
    let mut scenario = match Scenario::parse(text, "fuzz.json") {
        Ok(scenario) => scenario,
        Err(e) => return rejected(&e),
    };
    clamp(&mut scenario);
    match Registry::builtin().run(&scenario, &RunOptions::default()) {
        Ok(report) => {
            drop(report.to_text());
            drop(serde_json::to_string(&report.summary()));
            true
        }
        Err(e) => rejected(&e),
    }
}

/// Cuts a scenario to the bounds of the `run` target.
fn clamp(scenario: &mut Scenario) {
    let spec = &mut scenario.spec;
    spec.duration_ns = spec.duration_ns.min(RUN_DURATION_NS_MAX);
    if let Some(liveness) = spec.liveness.as_mut() {
        if liveness.duration_ns >= spec.duration_ns {
            liveness.duration_ns = spec.duration_ns / 2;
        }
        if liveness.duration_ns == 0 {
            spec.liveness = None;
        }
    }
    let limits = &mut spec.limits;
    limits.events_max = limits.events_max.min(RUN_EVENTS_MAX);
    limits.queue_len_max = limits.queue_len_max.min(RUN_QUEUE_LEN_MAX);
    limits.history_events_max = limits.history_events_max.min(RUN_HISTORY_EVENTS_MAX);
}

/// FNV-1a: a hash that is the same on every machine and build.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
