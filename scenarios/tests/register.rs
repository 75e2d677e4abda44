//! The single-server register: linearizable under loss, duplication, reordering, crash-recovery
//! and pauses; each switched-on bug is caught by the checker within a few seeds.

mod common;

use common::{failing, library, with_bug};

const SEEDS: u64 = 20;

#[test]
fn the_correct_register_passes_every_seed() {
    assert_eq!(failing(&library("register"), SEEDS), vec![]);
}

#[test]
fn no_dedup_is_caught_by_the_linearizability_check() {
    let fails = failing(&with_bug("register", "no_dedup"), SEEDS);
    assert!(!fails.is_empty(), "no seed in 0..{SEEDS} found the bug");
    assert!(
        fails.iter().all(|(_, checks)| checks == &["linearizable"]),
        "{fails:?}"
    );
}

#[test]
fn reply_before_sync_loses_acknowledged_writes_in_the_crash() {
    let fails = failing(&with_bug("register", "reply_before_sync"), SEEDS);
    assert!(!fails.is_empty(), "no seed in 0..{SEEDS} found the bug");
}
