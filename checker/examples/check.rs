//! Checks history files and prints each verdict with separate read and check times; for
//! measuring speed and peak memory (`/usr/bin/time -v`) without the dsim binary.
//!
//! `cargo run --release -p checker --example check -- MODEL [--initial V] [--all-keys] [--keys] [--serial] [--repeat N] FILE...`
//!
//! `--repeat N` checks each file N times and prints the fastest check, for timing tiny files.

use std::time::Instant;

use checker::{CheckOptions, ModelKind, ModelSpec, Value, check_history, read};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(model) = args.next() else {
        eprintln!(
            "usage: check MODEL [--initial INT] [--all-keys] [--keys] [--serial] [--repeat N] FILE..."
        );
        std::process::exit(2);
    };
    let kind: ModelKind = model.parse().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let mut spec = ModelSpec::new(kind);
    let mut options = CheckOptions::default();
    let mut files = Vec::new();
    let mut show_keys = false;
    let mut repeat = 1u32;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--initial" => {
                let v: i64 = args.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                spec = spec.with_initial(Value::Int(v));
            }
            "--all-keys" => options.stop_on_first_failure = false,
            "--keys" => show_keys = true,
            "--serial" => options.parallel = false,
            "--repeat" => repeat = args.next().and_then(|n| n.parse().ok()).unwrap_or(1),
            _ => files.push(arg),
        }
    }
    let (mut read_total, mut check_total) = (0.0, 0.0);
    for file in &files {
        let t0 = Instant::now();
        let history = match read::read_file(file.as_ref(), read::Format::Auto) {
            Ok(history) => history,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        };
        let read_ms = t0.elapsed().as_secs_f64() * 1e3;
        let mut report = match check_history(&history, &spec, &options) {
            Ok(report) => report,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        };
        for _ in 1..repeat {
            if let Ok(again) = check_history(&history, &spec, &options)
                && again.elapsed_ms < report.elapsed_ms
            {
                report = again;
            }
        }
        let configurations: u64 = report
            .partitions
            .iter()
            .map(|p| p.stats.configurations)
            .sum();
        println!(
            "{file}\t{}\tread {read_ms:.3} ms\tcheck {:.3} ms\t{configurations} configurations\t{}",
            report.verdict.name(),
            report.elapsed_ms,
            report.reason.unwrap_or_default()
        );
        if show_keys {
            for p in &report.partitions {
                println!(
                    "  key {:?}\t{} ops\t{}\t{} configurations\tlive {}\t{}",
                    p.key,
                    p.ops,
                    p.verdict.name(),
                    p.stats.configurations,
                    p.stats.live_ops,
                    p.reason.as_deref().unwrap_or_default()
                );
            }
        }
        read_total += read_ms;
        check_total += report.elapsed_ms;
    }
    println!(
        "total: read {read_total:.3} ms, check {check_total:.3} ms, {} files",
        files.len()
    );
}
