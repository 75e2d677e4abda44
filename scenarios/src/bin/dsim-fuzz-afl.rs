//! `dsim-fuzz-afl`: dsim-fuzz's targets for AFL++, the coverage-guided engine, through
//! cargo-afl (which instruments with rustc's own sanitizer-coverage passes, so it works on the
//! stable toolchain). The target is named by `DSIM_FUZZ_TARGET` (as `dsim-fuzz list` shows);
//! `scripts/fuzz.sh --afl TARGET SECONDS` builds this, gathers the seeds and runs `afl-fuzz`.
//! A panic aborts (AFL++ saves it as a crash), as do a stack overflow and an allocation that
//! fails under afl-fuzz's memory limit; a hang is an input over afl-fuzz's `-t`.

// Shared with dsim-fuzz, which uses more of it (names, extensions) than this binary does.
#[allow(dead_code)]
#[path = "dsim-fuzz/targets.rs"]
mod targets;

fn main() {
    let name = std::env::var("DSIM_FUZZ_TARGET").unwrap_or_default();
    let target: targets::Target = match name.parse() {
        Ok(target) => target,
        Err(message) => {
            eprintln!("dsim-fuzz-afl: DSIM_FUZZ_TARGET: {message}");
            std::process::exit(2);
        }
    };
    afl::fuzz!(|data: &[u8]| {
        target.execute(data);
    });
}
