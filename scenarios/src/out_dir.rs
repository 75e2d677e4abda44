//! The directory `dsim run --out DIR` writes, made tamper-evident: `summary.json` records the
//! SHA-256 digest of every other file written, and [`compare`] tells a replay which files are
//! missing, were edited after the run, or are not what a re-run writes, and where they first
//! differ.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::RunError;
use crate::report::RunReport;

/// The summary, which records the others' digests (and so cannot record its own).
pub const SUMMARY: &str = "summary.json";
/// The trace, streamed during the run.
pub const TRACE: &str = "trace.jsonl";

/// Every file besides the summary, in the order they are written; all are deterministic (the
/// same scenario and seed write the same bytes).
pub const FILES: [&str; 6] = [
    "scenario.json",
    "history.jsonl",
    TRACE,
    "report.html",
    "shiviz.log",
    "trace.perfetto.json",
];

/// Writes everything but the trace (already streamed to `dir/trace.jsonl` by the run) and the
/// summary, then returns each file's digest, by name.
pub fn write_files(
    dir: &Path,
    scenario_text: &str,
    report: &RunReport,
) -> Result<BTreeMap<String, String>, RunError> {
    write(&dir.join("scenario.json"), scenario_text.as_bytes())?;
    let mut history = String::new();
    for event in &report.history {
        history.push_str(&serde_json::to_string(event).unwrap_or_default());
        history.push('\n');
    }
    write(&dir.join("history.jsonl"), history.as_bytes())?;
    drop(history);
    let trace_path = dir.join(TRACE);
    let trace =
        crate::trace_events::read(&trace_path).map_err(|e| output_error(&trace_path, &e))?;
    write(
        &dir.join("report.html"),
        crate::html_report::render(report, &trace).as_bytes(),
    )?;
    write(
        &dir.join("shiviz.log"),
        crate::export_shiviz::render(&trace).as_bytes(),
    )?;
    write(
        &dir.join("trace.perfetto.json"),
        crate::export_perfetto::render(&trace).as_bytes(),
    )?;
    let mut digests = BTreeMap::new();
    for name in FILES {
        let path = dir.join(name);
        let digest = digest(&path).map_err(|e| output_error(&path, &e))?;
        digests.insert(name.to_string(), digest);
    }
    Ok(digests)
}

/// `sha256:` and the hex SHA-256 of the file at `path`, read in chunks.
pub fn digest(path: &Path) -> io::Result<String> {
    let mut hasher = Sha256::new();
    io::copy(&mut File::open(path)?, &mut hasher)?;
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(format!("sha256:{hex}"))
}

/// What is wrong with the saved files: one line per file, naming it. `recorded` holds the
/// digests from the saved summary (empty for a directory from a dsim that recorded none),
/// `fresh` the directory a re-run wrote.
pub fn compare(saved: &Path, recorded: &BTreeMap<String, String>, fresh: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for name in FILES {
        let (saved_path, fresh_path) = (saved.join(name), fresh.join(name));
        let recorded = recorded.get(name);
        let on_disk = match digest(&saved_path) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                problems.push(format!("{name}: missing"));
                continue;
            }
            Err(e) => {
                problems.push(format!("{name}: cannot be read: {e}"));
                continue;
            }
        };
        let rerun = digest(&fresh_path).ok();
        let where_ = || {
            first_difference(&saved_path, &fresh_path)
                .unwrap_or_else(|e| format!("cannot compare: {e}"))
        };
        let problem = match recorded {
            None if rerun.as_ref() == Some(&on_disk) => None,
            None => Some(format!(
                "differs from what the re-run writes ({}; no digest was recorded)",
                where_()
            )),
            Some(r) if *r == on_disk && rerun.as_ref() == Some(r) => None,
            Some(r) if *r == on_disk => Some(format!(
                "the re-run writes different contents ({}): the run is not reproduced",
                where_()
            )),
            Some(r) if rerun.as_ref() == Some(r) => Some(format!(
                "edited after the run: its digest is not the one recorded in {SUMMARY} ({})",
                where_()
            )),
            Some(_) if rerun.as_ref() == Some(&on_disk) => Some(format!(
                "the digest {SUMMARY} records for it was edited (the file is what the re-run \
                 writes)"
            )),
            Some(_) => Some(format!(
                "edited after the run (its digest is not the one recorded in {SUMMARY}), and \
                 the re-run writes yet other contents ({})",
                where_()
            )),
        };
        if let Some(problem) = problem {
            problems.push(format!("{name}: {problem}"));
        }
    }
    problems
}

/// The saved files whose digest is not the recorded one, or that are missing; for when there
/// is no re-run to compare with.
pub fn check_digests(saved: &Path, recorded: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, want) in recorded {
        if name == "scenario.json" {
            continue;
        }
        match digest(&saved.join(name)) {
            Ok(d) if d == *want => {}
            Ok(_) => problems.push(format!(
                "{name}: edited after the run: its digest is not the one recorded in {SUMMARY}"
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                problems.push(format!("{name}: missing"));
            }
            Err(e) => problems.push(format!("{name}: cannot be read: {e}")),
        }
    }
    problems
}

/// Where the saved file first differs from the re-run's, as people count: the line and
/// column, or which one ends first. Reads both in chunks, so memory stays bounded whatever
/// the files hold.
pub fn first_difference(saved: &Path, fresh: &Path) -> io::Result<String> {
    let (mut a, mut b) = (File::open(saved)?, File::open(fresh)?);
    let (mut buf_a, mut buf_b) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    let (mut line, mut column) = (1u64, 1u64);
    loop {
        let n = read_full(&mut a, &mut buf_a)?;
        let m = read_full(&mut b, &mut buf_b)?;
        let common = n.min(m);
        for i in 0..common {
            if buf_a[i] != buf_b[i] {
                return Ok(format!("first difference at line {line}, column {column}"));
            }
            if buf_a[i] == b'\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        if n != m {
            let ends = if n < m {
                "it ends"
            } else {
                "the re-run's ends"
            };
            return Ok(format!(
                "{ends} first, at line {line} column {column}: truncated or extended"
            ));
        }
        if n == 0 {
            return Ok("same bytes".to_string());
        }
    }
}

/// Fills `buf` as far as the reader allows; fewer bytes only at the end.
fn read_full(reader: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Writes `bytes` to `path`, naming the file in an error.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    std::fs::write(path, bytes).map_err(|e| output_error(path, &e))
}

/// An I/O error on `path` as a run error.
pub fn output_error(path: &Path, e: &io::Error) -> RunError {
    RunError::Output {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(a: &[u8], b: &[u8]) -> String {
        let dir = std::env::temp_dir().join(format!(
            "dsim-out-dir-{}-{}",
            std::process::id(),
            a.len() * 1000 + b.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a"), a).unwrap();
        std::fs::write(dir.join("b"), b).unwrap();
        let found = first_difference(&dir.join("a"), &dir.join("b")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        found
    }

    /// The first difference is named by line and column, and truncation as such.
    #[test]
    fn the_first_difference_is_located() {
        assert_eq!(
            pair(b"one\ntwo\nthree\n", b"one\ntwX\nthree\n"),
            "first difference at line 2, column 3"
        );
        assert_eq!(
            pair(b"one\ntw", b"one\ntwo\n"),
            "it ends first, at line 2 column 3: truncated or extended"
        );
        assert_eq!(pair(b"same\n", b"same\n"), "same bytes");
    }

    #[test]
    fn digests_are_sha256() {
        let path = std::env::temp_dir().join(format!("dsim-digest-{}", std::process::id()));
        std::fs::write(&path, b"abc").unwrap();
        let d = digest(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            d,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
