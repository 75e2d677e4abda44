//! `dsim-fuzz`: a fuzz harness for dsim's inputs that runs on the stable toolchain.
//!
//! A seeded, structure-aware mutation fuzzer without coverage feedback: input `i` of a
//! campaign is a seed input (a library scenario, a public history, a saved corpus entry) with
//! a few stacked mutations drawn from the campaign's seed and `i` (see `mutate`). Inputs run in
//! a worker process that reports each one before running it, so that a panic, an abort, a stack
//! overflow, an allocation past the memory cap, a heap peak past the soft limit or a hang (no
//! answer within the limit) is pinned to its input; the parent regenerates that input from its
//! index, minimises it, and saves it with a note.
//!
//! ```text
//! dsim-fuzz list
//! dsim-fuzz campaign history-edn --seconds 60        # or --execs N; --seed S repeats one
//! dsim-fuzz replay scenario scenarios/fuzz/findings/scenario
//! ```
//!
//! Exit status: 0 nothing new found (or every replayed input clean), 1 a new finding (or an
//! input that is not clean), 2 bad arguments or a harness failure.
//!
//! It lives in the `scenarios` crate because that is the crate that knows both the scenario
//! runner and the checker, the two things fuzzed, and `scenarios/tests/fuzz_regressions.rs`
//! can run it as `CARGO_BIN_EXE_dsim-fuzz`.

mod corpus;
mod minimise;
mod mutate;
mod supervise;
mod targets;
mod worker;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

use corpus::Corpus;
use supervise::{Bounds, Outcome, Replayer};
use targets::Target;

#[global_allocator]
static ALLOCATOR: worker::CountingAlloc = worker::CountingAlloc;

/// Stack of the thread that runs inputs: what `dsim`'s main thread has on Linux by default,
/// so that a stack overflow here is one in `dsim` too.
const STACK_BYTES: usize = 8 << 20;

/// A fuzz harness for dsim's scenario files, history readers and runs.
#[derive(Parser, Debug)]
#[command(name = "dsim-fuzz")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The targets and their seed folders.
    List,
    /// Runs a campaign against one target.
    Campaign(CampaignArgs),
    /// Runs saved inputs (files, or folders of them) and says how each ended.
    Replay(ReplayArgs),
    /// Writes input INDEX of the campaign with SEED to stdout (what the campaign ran).
    Generate(GenerateArgs),
    /// Copies a target's seed inputs into a folder (for another engine, such as AFL++).
    Seeds(SeedsArgs),
    /// Runs inputs for a parent `dsim-fuzz` (internal).
    #[command(hide = true)]
    Worker(WorkerArgs),
}

/// Bounds shared by campaigns and replays.
#[derive(clap::Args, Debug, Clone)]
struct BoundArgs {
    /// An input that takes longer than this many seconds is a hang (default: 5, and 20 for
    /// `run`, whose inputs may take up to 2 M events).
    #[arg(long)]
    hang_secs: Option<f64>,
    /// The worker's heap cap in MiB: an allocation past it is a finding.
    #[arg(long, default_value_t = 2048)]
    mem_cap_mb: usize,
    /// A heap peak past this many MiB is a finding, though the input ended.
    #[arg(long, default_value_t = 1024)]
    mem_soft_mb: usize,
    /// The repository root (seed folders are found from it).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.."))]
    root: PathBuf,
}

impl BoundArgs {
    fn bounds(&self, target: Target) -> Bounds {
        let hang_secs = self.hang_secs.unwrap_or(target.hang_secs_default());
        Bounds {
            hang: Duration::from_secs_f64(hang_secs.clamp(0.1, 3600.0)),
            cap_bytes: self.mem_cap_mb.saturating_mul(1 << 20),
            soft_bytes: self.mem_soft_mb.saturating_mul(1 << 20),
        }
    }
}

#[derive(clap::Args, Debug)]
struct CampaignArgs {
    /// scenario, history-jsonl, history-edn, history-etcd-log, history-kv-edn, history-auto
    /// (the reading targets), build, check or run.
    #[arg(value_parser = parse_target)]
    target: Target,
    /// Stop after this many seconds.
    #[arg(long)]
    seconds: Option<f64>,
    /// Stop after this many executions.
    #[arg(long)]
    execs: Option<u64>,
    /// The campaign's seed (default: from the clock, printed so that it can be repeated).
    #[arg(long)]
    seed: Option<u64>,
    /// Also draw seed inputs bigger than 512 KiB (slow to run).
    #[arg(long)]
    big_seeds: bool,
    /// Where new findings are saved, under `<target>/` (default: the repository's
    /// `scenarios/fuzz/findings/open`).
    #[arg(long)]
    findings: Option<PathBuf>,
    /// Folders of open findings, already known: a finding with the signature of one of their
    /// notes (under `<target>/`) is counted as known, not saved, and does not fail the
    /// campaign. Default: the repository's `scenarios/fuzz/findings/open`. Fixed findings
    /// (`scenarios/fuzz/findings/<target>/`) are not known: finding one again fails.
    #[arg(long)]
    known: Vec<PathBuf>,
    /// Seconds spent minimising each new finding (0: save it as found).
    #[arg(long, default_value_t = 60.0)]
    minimise_secs: f64,
    #[command(flatten)]
    bounds: BoundArgs,
}

#[derive(clap::Args, Debug)]
struct ReplayArgs {
    /// The target the inputs are for.
    #[arg(value_parser = parse_target)]
    target: Target,
    /// Input files, or folders of them (notes beside them are skipped).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    bounds: BoundArgs,
}

#[derive(clap::Args, Debug)]
struct GenerateArgs {
    #[arg(value_parser = parse_target)]
    target: Target,
    /// The campaign's seed.
    #[arg(long)]
    seed: u64,
    /// The input's index.
    #[arg(long)]
    index: u64,
    /// As for the campaign.
    #[arg(long)]
    big_seeds: bool,
    /// The repository root.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.."))]
    root: PathBuf,
}

#[derive(clap::Args, Debug)]
struct SeedsArgs {
    #[arg(value_parser = parse_target)]
    target: Target,
    /// The folder to write them into (created; keep it outside the repository, the public
    /// histories are not ours to copy there).
    out: PathBuf,
    /// Leave out seeds bigger than this many bytes.
    #[arg(long, default_value_t = corpus::SEED_BYTES_SMALL_MAX)]
    max_bytes: usize,
    /// The repository root.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.."))]
    root: PathBuf,
}

#[derive(clap::Args, Debug)]
struct WorkerArgs {
    #[arg(value_parser = parse_target)]
    target: Target,
    #[arg(long)]
    root: PathBuf,
    #[arg(long)]
    cap_bytes: usize,
    #[arg(long)]
    soft_bytes: usize,
    #[arg(long)]
    big_seeds: bool,
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long, default_value_t = 0)]
    from: u64,
    #[arg(long, default_value_t = u64::MAX)]
    to: u64,
    /// Read framed inputs from stdin instead of generating them.
    #[arg(long)]
    stdin: bool,
}

fn parse_target(s: &str) -> Result<Target, String> {
    s.parse()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::List => list(),
        Command::Campaign(args) => campaign(&args),
        Command::Replay(args) => replay(&args),
        Command::Generate(args) => {
            let corpus = Corpus::load(&args.root, args.target, args.big_seeds);
            let input = mutate::generate(args.target, &corpus, args.seed, args.index);
            std::io::Write::write_all(&mut std::io::stdout(), &input)
                .map(|()| ExitCode::SUCCESS)
                .map_err(|e| e.to_string())
        }
        Command::Seeds(args) => seeds(&args),
        Command::Worker(args) => worker(args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("dsim-fuzz: {message}");
            ExitCode::from(2)
        }
    }
}

fn list() -> Result<ExitCode, String> {
    for target in Target::ALL {
        let mut dirs: Vec<String> = corpus::seed_dirs(target)
            .iter()
            .map(|d| d.to_string())
            .collect();
        dirs.extend(corpus::saved_dirs(target));
        println!("{:<18} seeds: {}", target.name(), dirs.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

fn seeds(args: &SeedsArgs) -> Result<ExitCode, String> {
    let corpus = Corpus::load(&args.root, args.target, true);
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let mut written = 0;
    for (i, (path, bytes)) in corpus.entries.iter().enumerate() {
        if bytes.len() > args.max_bytes {
            continue;
        }
        let name = path.file_name().map_or_else(
            || format!("seed-{i}"),
            |n| format!("{i:04}-{}", n.to_string_lossy()),
        );
        let out = args.out.join(name);
        std::fs::write(&out, bytes).map_err(|e| format!("{}: {e}", out.display()))?;
        written += 1;
    }
    eprintln!(
        "dsim-fuzz: {}: {written} seed inputs written to {}",
        args.target,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn worker(args: WorkerArgs) -> Result<ExitCode, String> {
    let target = args.target;
    let source = if args.stdin {
        worker::Source::Stdin
    } else {
        worker::Source::Generated {
            seed: args.seed.ok_or("a generating worker needs --seed")?,
            from: args.from,
            to: args.to,
        }
    };
    // Inputs run on a thread with a known stack, so that a stack overflow here is one in dsim.
    let thread = std::thread::Builder::new()
        .name("fuzz-input".into())
        .stack_size(STACK_BYTES)
        .spawn(move || {
            let corpus = if args.stdin {
                Corpus {
                    entries: Vec::new(),
                    dictionary: Vec::new(),
                }
            } else {
                Corpus::load(&args.root, target, args.big_seeds)
            };
            worker::run(target, &corpus, source, args.cap_bytes, args.soft_bytes)
        })
        .map_err(|e| e.to_string())?;
    match thread.join() {
        Ok(Ok(())) => Ok(ExitCode::SUCCESS),
        // The parent went away (it closed our stdout): nothing to report to.
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "the input thread panicked outside an input (a harness bug): {}",
            worker::take_last_panic()
        )),
    }
}

fn replay(args: &ReplayArgs) -> Result<ExitCode, String> {
    let bounds = args.bounds.bounds(args.target);
    let files = supervise::input_files(&args.paths).map_err(|e| e.to_string())?;
    let mut replayer = Replayer::new(args.target, &args.bounds.root, &bounds);
    let mut unclean = 0;
    let started = Instant::now();
    for file in &files {
        let input = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let outcome = replayer.run(&input).map_err(|e| e.to_string())?;
        if outcome.signature().is_some() {
            unclean += 1;
        }
        println!("{}: {}", file.display(), outcome.describe(&bounds));
    }
    println!(
        "dsim-fuzz: {}: replayed {} inputs in {:.1} s, {unclean} not clean",
        args.target,
        files.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(if unclean == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// A finding of this campaign, as found.
struct Found {
    index: u64,
    outcome: Outcome,
}

fn campaign(args: &CampaignArgs) -> Result<ExitCode, String> {
    let target = args.target;
    let root = &args.bounds.root;
    let bounds = args.bounds.bounds(args.target);
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    if args.seconds.is_none() && args.execs.is_none() {
        return Err("give --seconds or --execs (or both)".into());
    }
    let corpus = Corpus::load(root, target, args.big_seeds);
    if corpus.entries.is_empty() {
        return Err(format!(
            "no seed inputs for {target} under {}",
            root.display()
        ));
    }
    let findings_dir = args
        .findings
        .clone()
        .unwrap_or_else(|| root.join("scenarios/fuzz/findings/open"));
    let known_dirs = if args.known.is_empty() {
        vec![root.join("scenarios/fuzz/findings/open")]
    } else {
        args.known.clone()
    };
    let mut known = known_signatures(&known_dirs, target);
    known.extend(known_signatures(
        std::slice::from_ref(&findings_dir),
        target,
    ));
    eprintln!(
        "dsim-fuzz: {target}: seed {seed}, {} seed inputs, hang limit {:.1} s, memory cap {} MiB",
        corpus.entries.len(),
        bounds.hang.as_secs_f64(),
        bounds.cap_bytes >> 20
    );
    let started = Instant::now();
    let deadline = args
        .seconds
        .map_or(started + Duration::from_secs(86_400 * 365), |s| {
            started + Duration::from_secs_f64(s.max(0.0))
        });
    let mut found: Vec<Found> = Vec::new();
    let progress = |tally: &supervise::Tally| {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "dsim-fuzz: {target}: [{secs:>6.0} s] {} executions ({:.0}/s)",
            tally.executions,
            tally.executions as f64 / secs.max(1e-9)
        );
    };
    let tally = supervise::campaign(
        target,
        root,
        args.big_seeds,
        &bounds,
        seed,
        0,
        args.execs.unwrap_or(u64::MAX),
        deadline,
        progress,
        |index, outcome| found.push(Found { index, outcome }),
    )
    .map_err(|e| e.to_string())?;
    let secs = started.elapsed().as_secs_f64();

    // One finding per signature: the first one found, minimised unless already known.
    let mut by_signature: BTreeMap<String, (Found, usize)> = BTreeMap::new();
    for finding in found {
        let signature = finding.outcome.signature().unwrap_or_default();
        by_signature
            .entry(signature)
            .and_modify(|(_, count)| *count += 1)
            .or_insert((finding, 1));
    }
    let mut new = 0;
    let mut replayer = Replayer::new(target, root, &bounds);
    for (signature, (finding, count)) in &by_signature {
        let input = mutate::generate(target, &corpus, seed, finding.index);
        let base = seed_of(&corpus, finding.index);
        if known.contains(signature) {
            println!(
                "known   {signature} ({count}x, e.g. index {}): {}",
                finding.index,
                finding.outcome.describe(&bounds)
            );
            continue;
        }
        new += 1;
        let minimised = if args.minimise_secs > 0.0 {
            let budget = Duration::from_secs_f64(args.minimise_secs);
            shrink(
                target,
                root,
                &bounds,
                &mut replayer,
                &input,
                signature,
                budget,
            )
            .map_err(|e| e.to_string())?
        } else {
            input.clone()
        };
        let path = save(
            &findings_dir,
            target,
            signature,
            &minimised,
            &[
                format!("target: {target}"),
                format!("signature: {signature}"),
                format!("symptom: {}", finding.outcome.describe(&bounds)),
                format!(
                    "found: campaign seed {seed}, index {} (from {base}), {} bytes, minimised to {} bytes; {count} inputs of this campaign gave this signature",
                    finding.index,
                    input.len(),
                    minimised.len()
                ),
                format!("replay: scripts/fuzz.sh replay {target} <this file>"),
            ],
        )
        .map_err(|e| e.to_string())?;
        println!(
            "NEW     {signature} ({count}x): {} -> {}",
            finding.outcome.describe(&bounds),
            path.display()
        );
    }
    let known_count = by_signature.len() - new;
    println!(
        "dsim-fuzz: {target}: {} executions in {secs:.1} s ({:.1}/s), seed {seed}, {} workers; \
         {:.0}% accepted; slowest clean input {:.0} ms (index {}), largest heap peak {} MiB; \
         findings: {} ({new} new, {known_count} known)",
        tally.executions,
        tally.executions as f64 / secs.max(1e-9),
        tally.workers,
        100.0 * tally.accepted as f64 / tally.executions.max(1) as f64,
        tally.slowest.0 as f64 / 1000.0,
        tally.slowest.1,
        tally.peak_bytes_max >> 20,
        by_signature.len()
    );
    Ok(if new == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Minimises a finding's input. A hang is minimised with a hang limit of at most 1 s, so
/// that each candidate that still hangs costs 1 s rather than the full limit, and the result
/// is kept only if it still hangs at the full limit.
fn shrink(
    target: Target,
    root: &Path,
    bounds: &Bounds,
    replayer: &mut Replayer,
    input: &[u8],
    signature: &str,
    budget: Duration,
) -> std::io::Result<Vec<u8>> {
    if signature != "hang" {
        return Ok(minimise::minimise(
            replayer, target, input, signature, budget,
        ));
    }
    let quick = Bounds {
        hang: bounds.hang.min(Duration::from_secs(1)),
        ..*bounds
    };
    let mut quick_replayer = Replayer::new(target, root, &quick);
    let candidate = minimise::minimise(&mut quick_replayer, target, input, signature, budget);
    let still = replayer.run(&candidate)?.signature();
    Ok(if still.as_deref() == Some(signature) {
        candidate
    } else {
        input.to_vec()
    })
}

/// The seed file input `index` was made from, for the note.
fn seed_of(corpus: &Corpus, index: u64) -> String {
    match usize::try_from(index)
        .ok()
        .and_then(|i| corpus.entries.get(i))
    {
        Some((path, _)) => format!("seed {} unmutated", path.display()),
        None => "a mutated seed".to_string(),
    }
}

/// The signatures in the notes (`*.note`) under `dirs/<target>/`.
fn known_signatures(dirs: &[PathBuf], target: Target) -> Vec<String> {
    let mut signatures = Vec::new();
    for dir in dirs {
        let Ok(listing) = std::fs::read_dir(dir.join(target.name())) else {
            continue;
        };
        for entry in listing.filter_map(Result::ok) {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "note")
                && let Ok(text) = std::fs::read_to_string(&path)
            {
                signatures.extend(
                    text.lines()
                        .filter_map(|l| l.strip_prefix("signature: "))
                        .map(str::to_string),
                );
            }
        }
    }
    signatures
}

/// Saves a finding as `<dir>/<target>/<slug>.<ext>` with a `.note` beside it.
fn save(
    dir: &Path,
    target: Target,
    signature: &str,
    input: &[u8],
    note: &[String],
) -> std::io::Result<PathBuf> {
    let dir = dir.join(target.name());
    std::fs::create_dir_all(&dir)?;
    let slug: String = signature
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let slug = slug.chars().take(60).collect::<String>();
    let name = format!("{slug}-{:08x}", targets::fnv1a(signature.as_bytes()) as u32);
    let path = dir.join(format!("{name}.{}", target.extension()));
    std::fs::write(&path, input)?;
    std::fs::write(dir.join(format!("{name}.note")), note.join("\n") + "\n")?;
    Ok(path)
}
