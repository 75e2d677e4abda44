//! `dsim`: the command line with the built-in protocols registered.

use std::process::ExitCode;

/// mimalloc: the checker builds and drops many small values (operations, model states, search
/// tables), and glibc's allocator made up a third of a small check's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    scenarios::Dsim::new().builtin_protocols().main()
}
