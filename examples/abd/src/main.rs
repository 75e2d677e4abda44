//! `abd-dsim`: the whole dsim command line (run, sweep, shrink, replay, check, list) for ABD.

use std::process::ExitCode;

fn main() -> ExitCode {
    scenarios::Dsim::new().protocol::<abd::Abd>().main()
}
