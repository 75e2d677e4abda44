//! Verdicts on the public histories in shared/histories: the published development set, every
//! etcd log (cross-checked against an independent slow checker), the Porcupine kv files and
//! every Knossos file.

mod common;

use checker::model::Register;
use checker::read::{self, Format};
use checker::{CheckOptions, ModelKind, ModelSpec, Value, Verdict};
use common::{check_file, histories, jit_sets};

fn cas_register() -> ModelSpec {
    ModelSpec::new(ModelKind::CasRegister)
}

fn verdict(linearizable: bool) -> Verdict {
    if linearizable {
        Verdict::Linearizable
    } else {
        Verdict::NotLinearizable
    }
}

/// The etcd logs found linearizable; every other one is not. Found by this checker and
/// confirmed file by file by `etcd_verdicts_agree_with_jit_sets`.
const ETCD_LINEARIZABLE: [u32; 23] = [
    2, 5, 7, 18, 25, 31, 38, 45, 48, 49, 51, 53, 56, 67, 75, 76, 80, 87, 92, 98, 100, 101, 102,
];

/// The etcd logs' numbers: 000 to 102, without 095.
fn etcd_numbers() -> impl Iterator<Item = u32> {
    (0..=102).filter(|&n| n != 95)
}

fn etcd_file(n: u32) -> String {
    format!("porcupine/etcd/etcd_{n:03}.log")
}

/// The development set's published verdicts come out.
#[test]
fn etcd_development_verdicts() {
    let published = [
        (0, false),
        (2, true),
        (4, false),
        (7, true),
        (25, true),
        (40, false),
        (70, false),
        (100, true),
        (102, true),
    ];
    for (n, linearizable) in published {
        let report = check_file(&etcd_file(n), &cas_register(), &CheckOptions::default());
        assert_eq!(
            report.verdict,
            verdict(linearizable),
            "etcd_{n:03}: {:?}",
            report.reason
        );
    }
}

/// All 102 etcd logs get a definite verdict, the one in the table.
#[test]
fn etcd_all_definite_and_as_recorded() {
    for n in etcd_numbers() {
        let report = check_file(&etcd_file(n), &cas_register(), &CheckOptions::default());
        assert_ne!(
            report.verdict,
            Verdict::Unknown,
            "etcd_{n:03}: {:?}",
            report.reason
        );
        assert_eq!(
            report.verdict,
            verdict(ETCD_LINEARIZABLE.contains(&n)),
            "etcd_{n:03}"
        );
    }
}

/// The recorded etcd verdicts agree with Lowe's just-in-time configuration sets, a slower
/// method that shares nothing with the search but the model. With this small cap it decides
/// most files quickly; `etcd_verdicts_agree_with_jit_sets_full` decides all but etcd_007.
#[test]
fn etcd_verdicts_agree_with_jit_sets() {
    let compared = compare_etcd_with_jit_sets(20_000);
    assert!(
        compared >= 85,
        "the slow checker decided only {compared} files"
    );
}

/// The full cross-check (about a minute and a half): every file but etcd_007, whose published
/// verdict is pinned by `etcd_development_verdicts`.
#[test]
#[ignore = "slow: run with --ignored"]
fn etcd_verdicts_agree_with_jit_sets_full() {
    assert_eq!(compare_etcd_with_jit_sets(2_000_000), 101);
}

/// Compares every etcd file the slow checker decides within `configs_max`; returns how many.
fn compare_etcd_with_jit_sets(configs_max: usize) -> usize {
    let model = Register {
        initial: Value::Nil,
        cas: true,
    };
    let mut compared = 0;
    for n in etcd_numbers() {
        let path = histories().join(etcd_file(n));
        let history = read::read_file(&path, Format::EtcdLog).unwrap();
        if let Some(linearizable) = jit_sets(&model, &history, configs_max) {
            assert_eq!(linearizable, ETCD_LINEARIZABLE.contains(&n), "etcd_{n:03}");
            compared += 1;
        }
    }
    compared
}

/// Porcupine's kv files: -ok linearizable, -bad not.
#[test]
fn kv_verdicts() {
    for clients in ["c01", "c10", "c50"] {
        for (suffix, linearizable) in [("ok", true), ("bad", false)] {
            let file = format!("porcupine/kv/{clients}-{suffix}.txt");
            let report = check_file(
                &file,
                &ModelSpec::new(ModelKind::Kv),
                &CheckOptions::default(),
            );
            assert_eq!(
                report.verdict,
                verdict(linearizable),
                "{file}: {:?}",
                report.reason
            );
        }
    }
}

/// Checked key by key without stopping, c10-bad decides every key.
#[test]
fn kv_c10_bad_every_key_definite() {
    let options = CheckOptions {
        stop_on_first_failure: false,
        ..CheckOptions::default()
    };
    let report = check_file(
        "porcupine/kv/c10-bad.txt",
        &ModelSpec::new(ModelKind::Kv),
        &options,
    );
    for partition in &report.partitions {
        assert_ne!(
            partition.verdict,
            Verdict::Unknown,
            "key {:?}: {:?}",
            partition.key,
            partition.reason
        );
    }
}

/// Checked key by key without stopping, c50-bad decides every key (Porcupine cannot decide two
/// of them alone), at least one of them not linearizable; c50-ok stays linearizable throughout.
#[test]
fn kv_c50_every_key_definite() {
    let options = CheckOptions {
        stop_on_first_failure: false,
        ..CheckOptions::default()
    };
    let spec = ModelSpec::new(ModelKind::Kv);
    let bad = check_file("porcupine/kv/c50-bad.txt", &spec, &options);
    assert_eq!(bad.partitions.len(), 10);
    for partition in &bad.partitions {
        assert_ne!(
            partition.verdict,
            Verdict::Unknown,
            "key {:?}: {:?}",
            partition.key,
            partition.reason
        );
    }
    assert!(
        bad.partitions
            .iter()
            .any(|p| p.verdict == Verdict::NotLinearizable)
    );
    let ok = check_file("porcupine/kv/c50-ok.txt", &spec, &options);
    for partition in &ok.partitions {
        assert_eq!(
            partition.verdict,
            Verdict::Linearizable,
            "key {:?}",
            partition.key
        );
    }
}

/// Knossos' cas-register files, initially 0: the published verdicts, and a definite one for
/// the rest (as recorded here).
#[test]
fn knossos_cas_register_verdicts() {
    let spec = cas_register().with_initial(Value::Int(0));
    let dir = histories().join("knossos/cas-register");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 120);
    let not_linearizable = [
        "bad-analysis.edn",
        "cas-failure.edn",
        "immediate-failure.edn",
        "mongodb-v0-ack-rollback-6.edn",
        "rethink-fail-minimal.edn",
        "rethink-fail-smaller.edn",
        "rethink-fail.edn",
    ];
    for name in &names {
        let report = check_file(
            &format!("knossos/cas-register/{name}"),
            &spec,
            &CheckOptions::default(),
        );
        let expected = verdict(!not_linearizable.contains(&name.as_str()));
        assert_eq!(report.verdict, expected, "{name}: {:?}", report.reason);
    }
}

/// Knossos' multi-register history (x and y initially 0) is linearizable.
#[test]
fn knossos_multi_register_linearizable() {
    let spec = ModelSpec::new(ModelKind::MultiRegister).with_initial(Value::Int(0));
    let report = check_file(
        "knossos/multi-register/multi-register.edn",
        &spec,
        &CheckOptions::default(),
    );
    assert_eq!(
        report.verdict,
        Verdict::Linearizable,
        "{:?}",
        report.explanation
    );
}

/// A tiny search budget yields unknown with the limit named, never a wrong verdict.
#[test]
fn budget_gives_unknown_with_reason() {
    let mut options = CheckOptions::default();
    options.limits.search_budget_states = 10;
    let report = check_file(&etcd_file(2), &cas_register(), &options);
    assert_eq!(report.verdict, Verdict::Unknown);
    assert!(report.reason.unwrap().contains("search_budget_states"));
}

/// A cap on distinct model states yields unknown with the limit named; a cap the search stays
/// under changes nothing.
#[test]
fn state_cap_gives_unknown_with_reason() {
    let spec = ModelSpec::new(ModelKind::Kv);
    let mut options = CheckOptions::default();
    options.limits.model_states_max = 5;
    let report = check_file("porcupine/kv/c10-ok.txt", &spec, &options);
    assert_eq!(report.verdict, Verdict::Unknown);
    assert!(report.reason.unwrap().contains("model_states_max = 5"));
    options.limits.model_states_max = 1000;
    let report = check_file("porcupine/kv/c10-ok.txt", &spec, &options);
    assert_eq!(report.verdict, Verdict::Linearizable);
}
