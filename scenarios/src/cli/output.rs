//! Standard output for the commands. A reader that closes the pipe early
//! (`dsim run FILE --json | head -c 1`) is normal, not an error: output then stops quietly and
//! the command ends with the exit status it would have had.

use std::fmt;
use std::io::{self, Write};

/// Writes `args` to standard output; a closed pipe is ignored, any other error is reported
/// on standard error.
pub fn write_stdout(args: fmt::Arguments<'_>) {
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush())
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        let _ = writeln!(io::stderr(), "error: writing to standard output: {e}");
    }
}

/// `print!` that survives a closed pipe.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::write_stdout(format_args!($($arg)*))
    };
}

/// `println!` that survives a closed pipe.
macro_rules! outln {
    () => {
        $crate::cli::output::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};
