//! The seed inputs of each target: the library scenarios, the example's scenario and the
//! public histories (read where they lie, in `../shared/histories`, never copied), plus the
//! inputs saved under `scenarios/fuzz/corpus/<target>/`. Loaded in a fixed order, so that the
//! parent and its workers agree on what index `i` of a campaign is.

use std::path::{Path, PathBuf};

use checker::read::Format;

use crate::targets::Target;

/// Seeds bigger than this are only used by campaigns that ask for them (`--big-seeds`): a
/// 2.8 MB history takes a second to check, and the small ones find the same bugs faster.
pub const SEED_BYTES_SMALL_MAX: usize = 512 * 1024;

/// The seed inputs of one target.
pub struct Corpus {
    /// Each seed's path (shown in findings) and bytes, in load order.
    pub entries: Vec<(PathBuf, Vec<u8>)>,
    /// Tokens the mutations insert ([`crate::mutate::dictionary`]).
    pub dictionary: Vec<Vec<u8>>,
}

/// The folders of a target's seeds, relative to the repository root.
pub fn seed_dirs(target: Target) -> Vec<&'static str> {
    let scenarios = vec!["scenarios/library", "examples/abd/scenarios"];
    let edn = vec![
        "../shared/histories/knossos/cas-register",
        "../shared/histories/knossos/multi-register",
        "../shared/histories/elle",
    ];
    let etcd = vec!["../shared/histories/porcupine/etcd"];
    let kv = vec!["../shared/histories/porcupine/kv"];
    match target {
        Target::Scenario | Target::Build | Target::Run => scenarios,
        Target::History(Format::Jsonl) => vec![],
        Target::History(Format::Edn) => [edn, kv].concat(),
        Target::History(Format::EtcdLog) => etcd,
        Target::History(Format::KvEdn) => kv,
        Target::History(Format::Auto) | Target::Check => [edn, etcd, kv].concat(),
    }
}

/// The folders of the inputs saved in the repository for a target: its corpus, for the
/// `history-auto` and `check` targets every history target's too, and for `build` and `run`
/// the `scenario` target's.
pub fn saved_dirs(target: Target) -> Vec<String> {
    let mut dirs = vec![format!("scenarios/fuzz/corpus/{target}")];
    if matches!(target, Target::History(Format::Auto) | Target::Check) {
        for other in Target::ALL {
            if matches!(other, Target::History(_)) && other != target {
                dirs.push(format!("scenarios/fuzz/corpus/{other}"));
            }
        }
    }
    if matches!(target, Target::Build | Target::Run) {
        dirs.push("scenarios/fuzz/corpus/scenario".to_string());
    }
    dirs
}

impl Corpus {
    /// Loads a target's seeds from under `root` (the repository). Missing folders are skipped
    /// with a note on stderr (a checkout without `../shared` still fuzzes with what it has).
    pub fn load(root: &Path, target: Target, big_seeds: bool) -> Corpus {
        let mut dirs: Vec<PathBuf> = seed_dirs(target).iter().map(|d| root.join(d)).collect();
        dirs.extend(saved_dirs(target).iter().map(|d| root.join(d)));
        let mut entries = Vec::new();
        for dir in dirs {
            let Ok(listing) = std::fs::read_dir(&dir) else {
                eprintln!("dsim-fuzz: no seeds in {} (skipped)", dir.display());
                continue;
            };
            let mut files: Vec<PathBuf> = listing
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && is_input(p))
                .collect();
            files.sort();
            for file in files {
                let Ok(bytes) = std::fs::read(&file) else {
                    continue;
                };
                if big_seeds || bytes.len() <= SEED_BYTES_SMALL_MAX {
                    entries.push((file, bytes));
                }
            }
        }
        let dictionary = crate::mutate::dictionary(target, &entries);
        Corpus {
            entries,
            dictionary,
        }
    }
}

/// Inputs, not the notes and licences beside them.
pub fn is_input(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    !(name.ends_with(".md")
        || name.ends_with(".note")
        || name.starts_with('.')
        || name.starts_with("LICENSE"))
}
