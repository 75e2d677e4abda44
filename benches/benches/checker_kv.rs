//! The checker on Porcupine's kv histories (Porcupine: c50-ok 146 ms, c50-bad 23 ms, c10-ok
//! 0.64 ms), reading and checking measured apart; and c50-bad with every key decided.

use std::hint::black_box;
use std::path::PathBuf;

use checker::read::{self, Format};
use checker::{CheckOptions, History, ModelKind, ModelSpec, Verdict, check_history};
use criterion::{Criterion, criterion_group, criterion_main};

/// The allocator the dsim binary uses, so that the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn load(name: &str) -> History {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/histories/porcupine/kv"
    ))
    .join(name);
    read::read_file(&path, Format::KvEdn).unwrap()
}

fn bench(c: &mut Criterion) {
    let spec = ModelSpec::new(ModelKind::Kv);
    let options = CheckOptions::default();
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/histories/porcupine/kv/c50-ok.txt"
    ));
    c.bench_function("kv_read_c50_ok", |b| {
        b.iter(|| read::read_file(&path, Format::KvEdn).unwrap().events.len())
    });
    for (name, expected) in [
        ("c10-ok.txt", Verdict::Linearizable),
        ("c50-ok.txt", Verdict::Linearizable),
        ("c50-bad.txt", Verdict::NotLinearizable),
    ] {
        let history = load(name);
        assert_eq!(
            check_history(&history, &spec, &options).unwrap().verdict,
            expected,
            "{name}"
        );
        c.bench_function(&format!("kv_check_{name}"), |b| {
            b.iter(|| black_box(check_history(&history, &spec, &options).unwrap().verdict))
        });
    }
    // Every key decided, none cancelled (Porcupine cannot decide two of c50-bad's keys).
    let all_keys = CheckOptions {
        stop_on_first_failure: false,
        ..CheckOptions::default()
    };
    let history = load("c50-bad.txt");
    let report = check_history(&history, &spec, &all_keys).unwrap();
    assert!(
        report
            .partitions
            .iter()
            .all(|p| p.verdict != Verdict::Unknown)
    );
    c.bench_function("kv_check_c50-bad.txt_every_key", |b| {
        b.iter(|| black_box(check_history(&history, &spec, &all_keys).unwrap().verdict))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
