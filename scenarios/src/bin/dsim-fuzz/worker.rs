//! The child side: runs inputs one after another in this process and reports each on stdout,
//! so that the parent can tell which input was running when this process died or stopped
//! answering. Inputs are generated here from the campaign's seed and an index (the parent can
//! generate the same input again from the index alone), or read from stdin.
//!
//! Lines written, each flushed before anything else happens:
//! - `S <index>`: input `index` starts.
//! - `D <index> <micros> <peak bytes> <accepted>`: it ended cleanly (the target returned; 1 if
//!   it accepted the input, 0 if it gave an error).
//! - `P <index> <message>`: it panicked (message and location on one line).
//! - `M <index> <micros> <peak bytes>`: it ended, but its heap peak passed the soft limit.

use std::alloc::{GlobalAlloc, Layout};
use std::io::{BufRead, Write};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::corpus::Corpus;
use crate::mutate;
use crate::targets::Target;

/// The worker's allocator: mimalloc (as in `dsim`) with live and peak bytes counted, and
/// allocations refused past a cap so that a blow-up aborts at the cap ("memory allocation of N
/// bytes failed") instead of taking the machine's memory.
pub struct CountingAlloc;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static PEAK_BYTES: AtomicUsize = AtomicUsize::new(0);
static CAP_BYTES: AtomicUsize = AtomicUsize::new(usize::MAX);

impl CountingAlloc {
    fn admit(size: usize) -> bool {
        let live = LIVE_BYTES.fetch_add(size, Ordering::Relaxed) + size;
        if live > CAP_BYTES.load(Ordering::Relaxed) {
            LIVE_BYTES.fetch_sub(size, Ordering::Relaxed);
            // The process aborts now; lift the cap so that the abort can still print where
            // it happened (the backtrace needs memory too).
            CAP_BYTES.store(usize::MAX, Ordering::Relaxed);
            return false;
        }
        PEAK_BYTES.fetch_max(live, Ordering::Relaxed);
        true
    }
}

// SAFETY: every call is passed on to mimalloc unchanged; only the counters are extra, and a
// refused allocation returns null as the trait allows.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !Self::admit(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's layout contract is passed on.
        let p = unsafe { mimalloc::MiMalloc.alloc(layout) };
        if p.is_null() {
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !Self::admit(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `alloc`.
        let p = unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) };
        if p.is_null() {
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator with this layout.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old && !Self::admit(new_size - old) {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `dealloc`, and `new_size` is the caller's.
        let p = unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) };
        if p.is_null() {
            if new_size > old {
                LIVE_BYTES.fetch_sub(new_size - old, Ordering::Relaxed);
            }
        } else if new_size < old {
            LIVE_BYTES.fetch_sub(old - new_size, Ordering::Relaxed);
        }
        p
    }
}

/// Where a worker's inputs come from.
pub enum Source {
    /// Generated: indices `from..to` of the campaign with this seed.
    Generated {
        /// The campaign's seed.
        seed: u64,
        /// The first index.
        from: u64,
        /// One past the last index (`u64::MAX`: until stopped).
        to: u64,
    },
    /// Read from stdin, each as `<length>\n<bytes>`, until stdin closes.
    Stdin,
}

/// Runs the worker: sets the memory cap, then runs inputs until the source is exhausted.
pub fn run(
    target: Target,
    corpus: &Corpus,
    source: Source,
    cap_bytes: usize,
    soft_bytes: usize,
) -> std::io::Result<()> {
    CAP_BYTES.store(cap_bytes, Ordering::Relaxed);
    install_panic_hook();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut report = |line: String| -> std::io::Result<()> {
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
        out.flush()
    };
    match source {
        Source::Generated { seed, from, to } => {
            for index in from..to {
                let input = mutate::generate(target, corpus, seed, index);
                let line = execute(target, index, &input, soft_bytes, &mut report)?;
                report(line)?;
            }
        }
        Source::Stdin => {
            let stdin = std::io::stdin();
            let mut input_stream = stdin.lock();
            let mut index = 0u64;
            while let Some(input) = read_framed(&mut input_stream)? {
                let line = execute(target, index, &input, soft_bytes, &mut report)?;
                report(line)?;
                index += 1;
            }
        }
    }
    Ok(())
}

/// Runs one input, after announcing it; returns the line that says how it ended.
fn execute(
    target: Target,
    index: u64,
    input: &[u8],
    soft_bytes: usize,
    report: &mut impl FnMut(String) -> std::io::Result<()>,
) -> std::io::Result<String> {
    report(format!("S {index}"))?;
    let baseline = LIVE_BYTES.load(Ordering::Relaxed);
    PEAK_BYTES.store(baseline, Ordering::Relaxed);
    let started = Instant::now();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| target.execute(input)));
    let micros = started.elapsed().as_micros();
    let peak = PEAK_BYTES.load(Ordering::Relaxed).saturating_sub(baseline);
    Ok(match outcome {
        Ok(_) if peak > soft_bytes => format!("M {index} {micros} {peak}"),
        Ok(accepted) => format!("D {index} {micros} {peak} {}", u8::from(accepted)),
        Err(_) => format!("P {index} {}", take_last_panic().replace(['\n', '\r'], " ")),
    })
}

/// One `<length>\n<bytes>` frame; `None` at the end of the stream.
fn read_framed(input: &mut impl BufRead) -> std::io::Result<Option<Vec<u8>>> {
    let mut header = String::new();
    if input.read_line(&mut header)? == 0 {
        return Ok(None);
    }
    let len: usize = header
        .trim()
        .parse()
        .map_err(|e| std::io::Error::other(format!("bad frame header {header:?}: {e}")))?;
    let mut bytes = vec![0; len];
    input.read_exact(&mut bytes)?;
    Ok(Some(bytes))
}

/// The last panic's message and location, taken by [`take_last_panic`].
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// The last panic's message and location (empty if none was recorded), for the report of an
/// input, or of a panic outside any input (in the harness itself).
pub fn take_last_panic() -> String {
    LAST_PANIC
        .lock()
        .map(|mut m| m.take().unwrap_or_default())
        .unwrap_or_default()
}

/// Panics are findings reported by [`execute`], not noise on stderr: the hook only records
/// the message and where it was raised.
fn install_panic_hook() {
    panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(non-string panic payload)".to_string());
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        let frame = crate::supervise::first_own_frame(
            &std::backtrace::Backtrace::force_capture().to_string(),
        )
        .map_or(String::new(), |f| format!(" [in {f}]"));
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(format!("{location}: {message}{frame}"));
        }
    }));
}
