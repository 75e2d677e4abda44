//! The parent side: runs inputs in a worker process (this same binary, `dsim-fuzz worker`),
//! watches it, and turns what it sees into outcomes: a panic the worker caught, a heap peak
//! over the soft limit, a worker that died (abort, stack overflow, the memory cap) while an
//! input was running, or one that gave no answer within the hang limit (killed). A dead or
//! killed worker is started again after the input it was running.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::targets::Target;

/// Bounds on one input.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// An input that runs longer than this is a hang (its worker is killed).
    pub hang: Duration,
    /// The worker's heap cap: an allocation past it aborts the worker (a finding).
    pub cap_bytes: usize,
    /// A heap peak past this is a finding, though the input ended.
    pub soft_bytes: usize,
}

/// How one input ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The target returned (an error is clean too).
    Clean {
        /// Time taken.
        micros: u64,
        /// Heap peak above the worker's baseline.
        peak_bytes: usize,
        /// Whether the target accepted the input (rather than giving an error).
        accepted: bool,
    },
    /// The target panicked; location and message.
    Panic(String),
    /// The target returned, but its heap peak passed the soft limit.
    Memory {
        /// Heap peak above the worker's baseline.
        peak_bytes: usize,
    },
    /// The worker died: its exit status and the end of its stderr.
    Crash {
        /// How it ended (`signal 6`, `exit 134`).
        status: String,
        /// The last lines it wrote to stderr.
        stderr: String,
    },
    /// No answer within the hang limit.
    Hang,
}

impl Outcome {
    /// What kind of finding this is, coarse enough that one bug gives one signature: the kind,
    /// and for a panic its source file and line. `None` for a clean outcome.
    pub fn signature(&self) -> Option<String> {
        match self {
            Outcome::Clean { .. } => None,
            Outcome::Panic(message) => {
                // A panic raised in the standard library ("capacity overflow") is told apart
                // by the first frame of dsim's own code that led to it.
                let frame = message
                    .rsplit_once(" [in ")
                    .map(|(_, f)| f.trim_end_matches(']'));
                let location: Vec<&str> = message.splitn(3, ':').take(2).collect();
                let location = location.join(":");
                Some(match frame {
                    Some(frame)
                        if location.contains("/rustc/") || location.contains("library/") =>
                    {
                        format!("panic in {frame}")
                    }
                    _ => format!("panic at {location}"),
                })
            }
            Outcome::Memory { .. } => Some("heap peak over the soft limit".to_string()),
            Outcome::Crash { status, stderr } => {
                let frame = first_own_frame(stderr).map_or(String::new(), |f| format!(" in {f}"));
                Some(if stderr.contains("has overflowed its stack") {
                    "stack overflow".to_string()
                } else if stderr.contains("memory allocation of") {
                    format!("allocation past the memory cap{frame}")
                } else {
                    format!("crash ({status}){frame}")
                })
            }
            Outcome::Hang => Some("hang".to_string()),
        }
    }

    /// One line for people.
    pub fn describe(&self, bounds: &Bounds) -> String {
        match self {
            Outcome::Clean {
                micros,
                peak_bytes,
                accepted,
            } => format!(
                "clean, {} ({} ms, heap peak {} MiB)",
                if *accepted { "accepted" } else { "an error" },
                micros / 1000,
                peak_bytes >> 20
            ),
            Outcome::Panic(message) => format!("panic: {message}"),
            Outcome::Memory { peak_bytes } => format!(
                "heap peak {} MB (soft limit {} MB)",
                peak_bytes >> 20,
                bounds.soft_bytes >> 20
            ),
            Outcome::Crash { status, stderr } => {
                const KEYS: [&str; 4] = [
                    "memory allocation of",
                    "has overflowed its stack",
                    "panicked at",
                    "fatal runtime error",
                ];
                let key = stderr.lines().find(|l| KEYS.iter().any(|k| l.contains(k)));
                let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
                let frame = first_own_frame(stderr).map_or(String::new(), |f| format!(" in {f}"));
                format!(
                    "worker died ({status}): {}{frame}",
                    key.or(last).unwrap_or("(nothing on stderr)").trim()
                )
            }
            Outcome::Hang => format!("no answer in {:.1} s", bounds.hang.as_secs_f64()),
        }
    }
}

/// The first frame of dsim's own crates in a printed backtrace (the harness's frames and the
/// standard library's skipped): its function without generic arguments, and its file without
/// the line (so that the signature survives edits elsewhere in the file).
pub fn first_own_frame(backtrace: &str) -> Option<String> {
    const OWN: [&str; 4] = [
        "sim-core/src/",
        "checker/src/",
        "protocols/src/",
        "scenarios/src/",
    ];
    let lines: Vec<&str> = backtrace.lines().collect();
    lines.iter().enumerate().find_map(|(i, line)| {
        let path = line.trim().strip_prefix("at ")?;
        if path.contains("/bin/dsim-fuzz/") {
            return None;
        }
        let start = OWN.iter().filter_map(|own| path.find(own)).min()?;
        let file = path[start..].split(':').next().unwrap_or_default();
        let symbol = lines[..i]
            .iter()
            .rev()
            .find_map(|l| l.trim().split_once(": ").map(|(_, s)| s))
            .unwrap_or("?");
        let mut plain = String::new();
        let mut depth = 0i32;
        for c in symbol.chars() {
            match c {
                '<' => depth += 1,
                '>' => depth -= 1,
                _ if depth == 0 => plain.push(c),
                _ => {}
            }
        }
        Some(format!("{plain} ({file})"))
    })
}

/// A running worker process and the threads that read its output.
struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

/// Keeps the last this-many bytes of a worker's stderr.
const STDERR_TAIL_BYTES: usize = 64 * 1024;

impl Worker {
    fn spawn(args: &[String], piped_stdin: bool) -> std::io::Result<Worker> {
        let exe = std::env::current_exe()?;
        // RUST_BACKTRACE: an allocation failure prints where it happened (the signature uses it).
        let mut child = Command::new(exe)
            .args(args)
            .env("RUST_BACKTRACE", "1")
            .stdin(if piped_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().expect("piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let tail = Arc::clone(&stderr);
        let mut pipe = child.stderr.take().expect("piped");
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                if let Ok(mut tail) = tail.lock() {
                    tail.extend_from_slice(&chunk[..n]);
                    let excess = tail.len().saturating_sub(STDERR_TAIL_BYTES);
                    tail.drain(..excess);
                }
            }
        });
        Ok(Worker {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
        })
    }

    /// Waits for the worker to end and tells how it ended.
    fn crash(mut self) -> Outcome {
        let status = match self.child.wait() {
            Ok(status) => {
                use std::os::unix::process::ExitStatusExt;
                match (status.code(), status.signal()) {
                    (_, Some(signal)) => format!("signal {signal}"),
                    (Some(code), _) => format!("exit {code}"),
                    _ => status.to_string(),
                }
            }
            Err(e) => format!("cannot wait: {e}"),
        };
        // The stderr thread may still be copying the last lines.
        std::thread::sleep(Duration::from_millis(50));
        let stderr = self
            .stderr
            .lock()
            .map(|t| String::from_utf8_lossy(&t).into_owned())
            .unwrap_or_default();
        Outcome::Crash { status, stderr }
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A line a worker wrote about an input.
enum Report {
    Started(u64),
    Ended(u64, Outcome),
}

fn parse_report(line: &str) -> Option<Report> {
    let mut parts = line.splitn(3, ' ');
    let kind = parts.next()?;
    let index: u64 = parts.next()?.parse().ok()?;
    let rest = parts.next().unwrap_or("");
    let numbers: Vec<u64> = rest.split(' ').filter_map(|n| n.parse().ok()).collect();
    let micros = numbers.first().copied().unwrap_or(0);
    let peak_bytes = numbers.get(1).copied().unwrap_or(0) as usize;
    let accepted = numbers.get(2) == Some(&1);
    Some(match kind {
        "S" => Report::Started(index),
        "D" => Report::Ended(
            index,
            Outcome::Clean {
                micros,
                peak_bytes,
                accepted,
            },
        ),
        "M" => Report::Ended(index, Outcome::Memory { peak_bytes }),
        "P" => Report::Ended(index, Outcome::Panic(rest.to_string())),
        _ => return None,
    })
}

/// The arguments every worker gets.
fn worker_args(target: Target, root: &Path, big_seeds: bool, bounds: &Bounds) -> Vec<String> {
    let mut args = vec![
        "worker".to_string(),
        target.name(),
        "--root".to_string(),
        root.display().to_string(),
        "--cap-bytes".to_string(),
        bounds.cap_bytes.to_string(),
        "--soft-bytes".to_string(),
        bounds.soft_bytes.to_string(),
    ];
    if big_seeds {
        args.push("--big-seeds".to_string());
    }
    args
}

/// What a generated campaign saw.
#[derive(Debug, Default)]
pub struct Tally {
    /// Inputs that ended (clean or not).
    pub executions: u64,
    /// Workers started.
    pub workers: u64,
    /// Longest clean input, in microseconds, and its index.
    pub slowest: (u64, u64),
    /// Largest heap peak of a clean input, in bytes.
    pub peak_bytes_max: usize,
    /// Clean inputs the target accepted (the rest gave an error).
    pub accepted: u64,
}

/// Runs indices `from..to` of the campaign with `seed` in workers until `deadline`, calling
/// `found` with each index whose outcome is not clean. Returns the tally.
#[allow(clippy::too_many_arguments)]
pub fn campaign(
    target: Target,
    root: &Path,
    big_seeds: bool,
    bounds: &Bounds,
    seed: u64,
    from: u64,
    to: u64,
    deadline: Instant,
    mut progress: impl FnMut(&Tally),
    mut found: impl FnMut(u64, Outcome),
) -> std::io::Result<Tally> {
    let mut tally = Tally::default();
    let mut next = from;
    let mut last_progress = Instant::now();
    while next < to && Instant::now() < deadline {
        let mut args = worker_args(target, root, big_seeds, bounds);
        args.extend([
            "--seed".to_string(),
            seed.to_string(),
            "--from".to_string(),
            next.to_string(),
            "--to".to_string(),
            to.to_string(),
        ]);
        let worker = Worker::spawn(&args, false)?;
        tally.workers += 1;
        let mut running: Option<(u64, Instant)> = None;
        loop {
            if last_progress.elapsed() >= Duration::from_secs(10) {
                progress(&tally);
                last_progress = Instant::now();
            }
            match worker.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => match parse_report(&line) {
                    Some(Report::Started(index)) => running = Some((index, Instant::now())),
                    Some(Report::Ended(index, outcome)) => {
                        running = None;
                        tally.executions += 1;
                        next = index + 1;
                        match outcome {
                            Outcome::Clean {
                                micros,
                                peak_bytes,
                                accepted,
                            } => {
                                tally.accepted += u64::from(accepted);
                                if micros > tally.slowest.0 {
                                    tally.slowest = (micros, index);
                                }
                                tally.peak_bytes_max = tally.peak_bytes_max.max(peak_bytes);
                            }
                            other => found(index, other),
                        }
                        if Instant::now() >= deadline {
                            worker.kill();
                            break;
                        }
                    }
                    None => {}
                },
                Err(RecvTimeoutError::Timeout) => {
                    let hung = running.filter(|(_, since)| since.elapsed() > bounds.hang);
                    if let Some((index, _)) = hung {
                        worker.kill();
                        tally.executions += 1;
                        next = index + 1;
                        found(index, Outcome::Hang);
                        break;
                    }
                    if Instant::now() >= deadline {
                        worker.kill();
                        break;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    match running {
                        Some((index, _)) => {
                            tally.executions += 1;
                            next = index + 1;
                            found(index, worker.crash());
                        }
                        None => {
                            let outcome = worker.crash();
                            if next < to {
                                // Died between inputs: a harness fault, not the target's.
                                return Err(std::io::Error::other(format!(
                                    "worker died between inputs: {}",
                                    outcome.describe(bounds)
                                )));
                            }
                        }
                    }
                    break;
                }
            }
        }
    }
    Ok(tally)
}

/// Runs given inputs one at a time in a worker that reads them from stdin (restarted after
/// one that kills it): for replays and for minimising.
pub struct Replayer {
    args: Vec<String>,
    bounds: Bounds,
    worker: Option<Worker>,
}

impl Replayer {
    /// A replayer for `target`; its worker starts with the first input.
    pub fn new(target: Target, root: &Path, bounds: &Bounds) -> Replayer {
        let mut args = worker_args(target, root, false, bounds);
        args.push("--stdin".to_string());
        Replayer {
            args,
            bounds: *bounds,
            worker: None,
        }
    }

    /// Runs one input and tells how it ended.
    pub fn run(&mut self, input: &[u8]) -> std::io::Result<Outcome> {
        if self.worker.is_none() {
            self.worker = Some(Worker::spawn(&self.args, true)?);
        }
        let worker = self.worker.as_mut().expect("just started");
        let stdin = worker.stdin.as_mut().expect("piped");
        let sent = stdin
            .write_all(format!("{}\n", input.len()).as_bytes())
            .and_then(|()| stdin.write_all(input))
            .and_then(|()| stdin.flush());
        if sent.is_err() {
            // It died before reading the input (or while reading it).
            return Ok(self.worker.take().expect("present").crash());
        }
        let mut started: Option<Instant> = None;
        loop {
            let worker = self.worker.as_ref().expect("present");
            match worker.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => match parse_report(&line) {
                    Some(Report::Started(_)) => started = Some(Instant::now()),
                    Some(Report::Ended(_, outcome)) => return Ok(outcome),
                    None => {}
                },
                Err(RecvTimeoutError::Timeout) => {
                    if started.is_some_and(|s| s.elapsed() > self.bounds.hang) {
                        self.worker.take().expect("present").kill();
                        return Ok(Outcome::Hang);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Ok(self.worker.take().expect("present").crash());
                }
            }
        }
    }
}

impl Drop for Replayer {
    fn drop(&mut self) {
        if let Some(worker) = self.worker.take() {
            worker.kill();
        }
    }
}

/// The files of the given paths: a file itself, a folder's inputs (not its notes) in name
/// order, without entering subfolders.
pub fn input_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(path)?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && crate::corpus::is_input(p))
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}
