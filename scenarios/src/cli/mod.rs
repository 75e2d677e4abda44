//! The `dsim` command line as a library. [`Dsim`] holds the protocols a binary knows; its
//! [`Dsim::main`] parses the arguments and runs `run`, `sweep`, `shrink`, `replay`, `check`,
//! `experiment` and `list` for them. The `dsim` binary is `Dsim::new().builtin_protocols().main()`;
//! a user's binary registers its own protocols the same way:
//!
//! ```no_run
//! # use sim_core::{Cluster, ConfigError, Protocol, SimBuilder};
//! # struct MyProtocol;
//! # impl Protocol for MyProtocol {
//! #     const NAME: &'static str = "mine";
//! #     const DESCRIPTION: &'static str = "";
//! #     const MODEL: Option<sim_core::ModelKind> = None;
//! #     type Msg = ();
//! #     type Options = ();
//! #     fn populate(_: &(), _: Cluster, _: &mut SimBuilder<()>) -> Result<(), ConfigError> { Ok(()) }
//! # }
//! use std::process::ExitCode;
//!
//! fn main() -> ExitCode {
//!     scenarios::Dsim::new().protocol::<MyProtocol>().main()
//! }
//! ```

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sim_core::Protocol;

use crate::registry::Registry;

pub mod check;
pub mod experiment;
pub(crate) mod output;
mod run;
mod sweep;

/// A command line for a set of protocols.
#[derive(Clone, Debug, Default)]
pub struct Dsim {
    registry: Registry,
}

impl Dsim {
    /// A command line that knows no protocols yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the protocols that come with dsim (see [`Registry::builtin`]).
    /// Protocols added before keep their place; a name taken by both is the built-in one.
    pub fn builtin_protocols(mut self) -> Self {
        self.registry.extend(Registry::builtin());
        self
    }

    /// Adds protocol `P`, which scenario files then name as [`Protocol::NAME`].
    pub fn protocol<P: Protocol + 'static>(mut self) -> Self {
        self.registry.protocol::<P>();
        self
    }

    /// The protocols this command line runs.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Parses the process's arguments and runs the command; exit status as each command
    /// documents (0 pass, 1 a check failed, 2 bad input, 3 unknown).
    pub fn main(self) -> ExitCode {
        self.main_with(std::env::args_os())
    }

    /// Like [`Dsim::main`], with the arguments given (the first is the program name).
    pub fn main_with<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let program = args
            .first()
            .and_then(|a| std::path::Path::new(a).file_name())
            .map_or_else(|| "dsim".to_string(), |n| n.to_string_lossy().into_owned());
        let cli = match Cli::try_parse_from(args) {
            Ok(cli) => cli,
            Err(e) => {
                let code = if e.use_stderr() { 2 } else { 0 };
                let _ = e.print();
                return ExitCode::from(code);
            }
        };
        let context = Context {
            registry: &self.registry,
            program: &program,
        };
        match cli.command {
            Command::Run(args) => run::run(&context, &args),
            Command::Sweep(args) => sweep::run(&context, &args),
            Command::Replay(args) => run::replay(context.registry, &args),
            Command::Shrink(args) => run::shrink(&context, &args),
            Command::Check(args) => check::run(&args),
            Command::Experiment(args) => experiment::run(&args),
            Command::List(args) => run::list(context.registry, &args),
        }
    }
}

/// What a command needs to know about the command line it runs in.
struct Context<'a> {
    /// The protocols it runs.
    registry: &'a Registry,
    /// Its name as invoked (`dsim`, or a user's own binary), for the commands it prints.
    program: &'a str,
}

/// dsim — a deterministic simulator for distributed protocols.
#[derive(Parser)]
#[command(name = "dsim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario file and judge it (exit 0 pass, 1 a check failed, 2 bad input).
    Run(run::RunArgs),
    /// Run a scenario over many seeds in parallel and summarise the failures
    /// (exit 0 all passed, 1 some failed, 2 bad input).
    Sweep(sweep::SweepArgs),
    /// Reduce a failing run to a minimal scenario (fewer faults, shorter, fewer clients and
    /// servers, a milder network) that still fails the same check, written as a standalone file.
    Shrink(run::ShrinkArgs),
    /// Re-run a run saved with `dsim run --out DIR` and confirm the same trace hash.
    Replay(run::ReplayArgs),
    /// Check a history file (or every file in a directory) for linearizability
    /// (exit 0 linearizable, 1 not, 3 unknown, 2 bad input).
    ///
    /// Every check ends: after --timeout seconds per file (default 60), or once one key's
    /// search has visited --budget-states configurations (default 2,000,000: 3 to 6 s on a
    /// 2-core machine), with `unknown` and the reason (exit 3). On a terminal, a check that
    /// takes more than a second shows its progress on stderr.
    Check(check::CheckArgs),
    /// Run a built-in experiment (e.g. Raft's election downtime, after §9.3 of the paper).
    Experiment(experiment::ExperimentArgs),
    /// List the protocols, their bugs and the library scenarios.
    List(run::ListArgs),
}
