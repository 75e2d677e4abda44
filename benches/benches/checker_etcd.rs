//! The checker on Porcupine's 102 etcd histories: reading them, and checking all of them
//! (Porcupine: 335 ms for the checking, summed).

use std::hint::black_box;
use std::path::PathBuf;

use checker::read::{self, Format};
use checker::{CheckOptions, History, ModelKind, ModelSpec, Verdict, check_history};
use criterion::{Criterion, criterion_group, criterion_main};

/// The allocator the dsim binary uses, so that the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn etcd_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/histories/porcupine/etcd"
    ));
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn bench(c: &mut Criterion) {
    let files = etcd_files();
    assert_eq!(files.len(), 102);
    let spec = ModelSpec::new(ModelKind::CasRegister);
    let options = CheckOptions::default();
    c.bench_function("etcd_read_all_102", |b| {
        b.iter(|| {
            files
                .iter()
                .map(|f| read::read_file(f, Format::EtcdLog).unwrap().events.len())
                .sum::<usize>()
        })
    });
    let histories: Vec<History> = files
        .iter()
        .map(|f| read::read_file(f, Format::EtcdLog).unwrap())
        .collect();
    for history in &histories {
        let verdict = check_history(history, &spec, &options).unwrap().verdict;
        assert_ne!(verdict, Verdict::Unknown, "{}", history.source);
    }
    c.bench_function("etcd_check_all_102", |b| {
        b.iter(|| {
            for history in &histories {
                black_box(check_history(history, &spec, &options).unwrap().verdict);
            }
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
