//! report.html in a real headless Chromium: the page's scripts run without errors, the failing
//! operation is outlined, the diagrams are drawn (capped at `DRAW_MAX` shapes per view), and a
//! link's fragment (`#from=1s&to=2s&nodes=n1,n2`) sets the window and the nodes.
//!
//! Chromium is found as `$DSIM_CHROMIUM`, else `chromium` or `chromium-browser` on `PATH`. When
//! there is none the tests say so and pass, unless `DSIM_REQUIRE_BROWSER=1` (as `scripts/test.sh`
//! and CI set), which makes them fail. `DSIM_BROWSER_KEEP=1` keeps each test's directory (reports,
//! dumped DOMs, screenshots) and prints where it is.
// Chromium runs in its own process group, so that a hung one is killed with its helpers.
#![cfg(unix)]

mod common;

use std::fs::File;
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{buggy_register_file, embedded_data, root, run_out};
use scenarios::html_report::DRAW_MAX;
use scraper::{ElementRef, Html, Selector};
use serde_json::Value;
use wait_timeout::ChildExt as _;

/// Longest one Chromium run may take before it is killed and the test fails (a page that
/// loads in a second or two here; the bound is for a hung browser, not a slow one).
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn a_failing_run_shows_its_failing_operation_outlined() {
    // A failing run's page loads cleanly and outlines exactly the operation the check names.
    let Some(chromium) = chromium("a_failing_run_shows_its_failing_operation_outlined") else {
        return;
    };
    let dir = TestDir::new();
    let file = buggy_register_file(dir.path());
    let out = dir.path().join("out");
    assert_eq!(
        run_out(&file, &out, &[]),
        Some(1),
        "the buggy register fails"
    );
    let report = out.join("report.html");
    let page = chromium.load(&report, "", "failing", dir.path());
    page.assert_ran_cleanly();

    assert_eq!(page.text("h1 span.fail"), "FAIL");
    let detail = page.text("li.check.fail[data-check=\"linearizable\"] pre");
    let named = detail
        .split("cannot linearize ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap_or_else(|| panic!("the check names no operation: {detail}"));
    // `p0 read 0 -> 1217`: process, function, key (this history is keyed), then the result.
    let words: Vec<&str> = named.split_whitespace().collect();
    let (result_word, head) = (
        words[words.len() - 1],
        format!("{} {} key {} ", words[0], words[1], words[2]),
    );
    let outlined = page.all("#hist rect.op-hl");
    assert_eq!(outlined.len(), 1, "exactly one operation is outlined");
    let title = first_line(&outlined[0]);
    assert!(
        title.starts_with(&head),
        "outlined `{title}`, the check names `{named}`"
    );
    let expected_end = if result_word == "ok" {
        "→ ok".to_string()
    } else {
        format!("→ ok {result_word}")
    };
    assert!(
        title.ends_with(&expected_end),
        "outlined `{title}`, the check names `{named}`"
    );
    assert!(
        page.text("#highlight").contains(named),
        "the note names `{named}`"
    );

    let data = embedded_data(&std::fs::read_to_string(&report).unwrap());
    let view = View::whole(&data);
    assert!(view.shapes(&data) > 1000 && view.shapes(&data) < DRAW_MAX);
    assert_eq!(page.space_time_shapes(), view.shapes(&data));
    assert!(
        page.all("#st line.msg.drop").len() > 10,
        "dropped messages are drawn"
    );
    assert_eq!(
        page.all("#hist rect").len(),
        view.ops(&data),
        "every operation is drawn"
    );
    assert_eq!(page.latency_ops(), view.completed_ops(&data));
    assert!(page.is_hidden("#note-st") && page.is_hidden("#note-h") && page.is_hidden("#note-url"));

    chromium.screenshot(&report, &dir.path().join("failing.png"), dir.path());
}

#[test]
fn a_long_passing_run_draws_at_most_draw_max_shapes() {
    // A passing run with more shapes than DRAW_MAX draws exactly DRAW_MAX, spread over the run.
    let Some(chromium) = chromium("a_long_passing_run_draws_at_most_draw_max_shapes") else {
        return;
    };
    let dir = TestDir::new();
    let report = long_raft_report(dir.path());
    let page = chromium.load(&report, "", "passing", dir.path());
    page.assert_ran_cleanly();

    assert_eq!(page.text("h1 span.pass"), "PASS");
    assert!(page.all("li.check.fail").is_empty() && page.all("#highlight").is_empty());
    assert!(page.all(".op-hl").is_empty(), "nothing is outlined");
    let data = embedded_data(&std::fs::read_to_string(&report).unwrap());
    let view = View::whole(&data);
    let total = view.shapes(&data);
    assert!(
        total > DRAW_MAX,
        "{total} shapes: the run no longer exercises the cap"
    );
    assert_eq!(page.space_time_shapes(), DRAW_MAX);
    assert!(!page.is_hidden("#note-st"), "the cap is announced");
    assert!(
        page.text("#note-st")
            .contains(&format!("Showing {DRAW_MAX} of {total} shapes"))
    );
    // The sample covers the whole run, not just its first DRAW_MAX shapes.
    let last_sent_ms = rows(&data, "messages")
        .map(|m| m[0].as_f64().unwrap() / 1e6)
        .fold(0.0, f64::max);
    let last_drawn_ms = page
        .all("#st line.msg")
        .iter()
        .map(|line| {
            let title = first_line(line);
            let sent = title
                .split(" sent ")
                .nth(1)
                .and_then(|t| t.split(" ms").next());
            sent.and_then(|t| t.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("message title `{title}`"))
        })
        .fold(0.0, f64::max);
    assert!(
        last_drawn_ms > 0.99 * last_sent_ms,
        "drawn up to {last_drawn_ms} ms of {last_sent_ms} ms"
    );
    assert_eq!(page.all("#hist rect").len(), view.ops(&data));
    assert_eq!(page.latency_ops(), view.completed_ops(&data));

    chromium.screenshot(&report, &dir.path().join("passing.png"), dir.path());
}

#[test]
fn a_link_fragment_sets_the_window_and_the_nodes() {
    // `#from=..&to=..&nodes=..` shows that window and those lanes; a bad fragment is named.
    let Some(chromium) = chromium("a_link_fragment_sets_the_window_and_the_nodes") else {
        return;
    };
    let dir = TestDir::new();
    let report = long_raft_report(dir.path());
    let data = embedded_data(&std::fs::read_to_string(&report).unwrap());
    let end_ms = data["end_ns"].as_f64().unwrap() / 1e6;

    let page = chromium.load(
        &report,
        "#from=1s&to=2000ms&nodes=n1,n2",
        "fragment",
        dir.path(),
    );
    page.assert_ran_cleanly();
    let lanes: Vec<String> = page.all("#st text[x=\"4\"]").iter().map(text).collect();
    assert_eq!(lanes, ["n1", "n2"], "only the chosen nodes have lanes");
    assert_eq!(
        page.text("#shown"),
        format!("showing 1000.000–2000.000 ms of the run's 0–{end_ms:.3} ms")
    );
    assert_eq!(page.text("#st text[text-anchor=\"start\"]"), "1000 ms");
    assert_eq!(page.text("#st text[text-anchor=\"end\"]"), "2000 ms");
    let view = View {
        from_ns: 1e9,
        to_ns: 2e9,
        nodes: Some(vec![1, 2]),
    };
    assert!(view.shapes(&data) > 10, "the window has something to draw");
    assert_eq!(page.space_time_shapes(), view.shapes(&data));
    for line in page.all("#st line.msg") {
        let title = first_line(&line);
        assert!(
            ["n1 → n2", "n2 → n1", "n1 → n1", "n2 → n2"]
                .iter()
                .any(|p| title.starts_with(p)),
            "a message of another node is drawn: {title}"
        );
    }
    assert_eq!(page.all("#hist rect").len(), view.ops(&data));
    assert_eq!(page.latency_ops(), view.completed_ops(&data));
    assert!(page.is_hidden("#note-url"));

    // A fragment with mistakes says what it ignored and shows the whole run.
    let page = chromium.load(
        &report,
        "#from=soon&nodes=n1,n99&zoom=2",
        "bad-fragment",
        dir.path(),
    );
    page.assert_ran_cleanly();
    assert!(!page.is_hidden("#note-url"));
    let note = page.text("#note-url");
    for part in ["from=soon: expected a time", "no node n99", "zoom: unknown"] {
        assert!(note.contains(part), "`{part}` not in: {note}");
    }
    assert_eq!(
        page.text("#shown"),
        format!("showing 0.000–{end_ms:.3} ms of the run's 0–{end_ms:.3} ms")
    );
    assert_eq!(
        page.all("#st text[x=\"4\"]").len(),
        data["nodes"].as_array().unwrap().len()
    );
}

/// raft-nemesis stretched to 30 s of faults and clients: a passing run with more than
/// [`DRAW_MAX`] shapes in its whole-run view.
fn long_raft_report(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join("scenarios/library/raft-nemesis.json")).unwrap();
    let mut spec: Value = serde_json::from_str(&text).unwrap();
    spec["duration_ns"] = "30s".into();
    spec["nemesis"]["stop_ns"] = "28s".into();
    spec["workload"]["stop_ns"] = "29s".into();
    let file = dir.join("raft-long.json");
    std::fs::write(&file, spec.to_string()).unwrap();
    let out = dir.join("out");
    assert_eq!(
        run_out(&file, &out, &[]),
        Some(0),
        "the long Raft run passes"
    );
    out.join("report.html")
}

/// What a view of the page shows, computed from the embedded data the way the page's script
/// is documented to: a shape or operation is in the window if it overlaps it.
struct View {
    from_ns: f64,
    to_ns: f64,
    /// `None`: every node.
    nodes: Option<Vec<u64>>,
}

impl View {
    fn whole(data: &Value) -> View {
        View {
            from_ns: 0.0,
            to_ns: data["end_ns"].as_f64().unwrap().max(1.0),
            nodes: None,
        }
    }

    fn overlaps(&self, start: &Value, end: &Value) -> bool {
        !(end.as_f64().unwrap() < self.from_ns || start.as_f64().unwrap() > self.to_ns)
    }

    fn shows(&self, node: &Value) -> bool {
        self.nodes
            .as_ref()
            .is_none_or(|nodes| nodes.iter().any(|n| node == n))
    }

    /// Space-time shapes in the view (timers off): fault spans, messages, other points.
    fn shapes(&self, data: &Value) -> usize {
        let spans = rows(data, "spans")
            .filter(|s| self.overlaps(&s[0], &s[1]) && (s[2] == -1 || self.shows(&s[2])))
            .count();
        let messages = rows(data, "messages")
            .filter(|m| self.overlaps(&m[0], &m[1]) && self.shows(&m[2]) && self.shows(&m[3]))
            .count();
        let points = rows(data, "points")
            .filter(|p| self.overlaps(&p[0], &p[0]) && self.shows(&p[1]) && p[2] != "timer")
            .count();
        spans + messages + points
    }

    /// Client operations overlapping the window (one still open lasts to the end).
    fn ops(&self, data: &Value) -> usize {
        rows(data, "ops")
            .filter(|o| {
                self.overlaps(
                    &o[1],
                    if o[2].is_null() {
                        &data["end_ns"]
                    } else {
                        &o[2]
                    },
                )
            })
            .count()
    }

    /// Completed operations invoked in the window (the latency histogram's population).
    fn completed_ops(&self, data: &Value) -> usize {
        rows(data, "ops")
            .filter(|o| !o[2].is_null() && self.overlaps(&o[1], &o[1]))
            .count()
    }
}

fn rows<'a>(data: &'a Value, name: &str) -> impl Iterator<Item = &'a Value> {
    data[name].as_array().unwrap().iter()
}

/// The page's DOM after its scripts ran, and what it logged to the console.
struct Page {
    dom: Html,
    console: Vec<String>,
    /// Where the dumped DOM is, for messages.
    dom_path: PathBuf,
}

impl Page {
    /// No uncaught error (recorded by the page's hook), nothing logged, and the script ran to
    /// its end.
    fn assert_ran_cleanly(&self) {
        let root = self.dom.root_element();
        let root = root.value();
        if let Some(errors) = root.attr("data-js-errors") {
            panic!("script errors in {}:\n{errors}", self.dom_path.display());
        }
        assert!(
            self.console.is_empty(),
            "the page logged to the console:\n{}",
            self.console.join("\n")
        );
        assert_eq!(
            root.attr("data-drawn"),
            Some("true"),
            "{}",
            self.dom_path.display()
        );
    }

    fn all(&self, selector: &str) -> Vec<ElementRef<'_>> {
        let parsed = Selector::parse(selector).unwrap_or_else(|e| panic!("{selector}: {e}"));
        self.dom.select(&parsed).collect()
    }

    /// The text of the one element `selector` matches.
    fn text(&self, selector: &str) -> String {
        let found = self.all(selector);
        assert_eq!(found.len(), 1, "{selector} in {}", self.dom_path.display());
        text(&found[0])
    }

    fn is_hidden(&self, selector: &str) -> bool {
        let found = self.all(selector);
        assert_eq!(found.len(), 1, "{selector} in {}", self.dom_path.display());
        found[0].value().attr("hidden").is_some()
    }

    /// Shapes the space-time diagram drew: fault spans, messages and points.
    fn space_time_shapes(&self) -> usize {
        self.all("#st rect[class^=\"span-\"]").len()
            + self.all("#st line.msg").len()
            + self.all("#st circle").len()
    }

    /// Operations the latency histogram counts, summed from its bars' titles (`...: N ops`).
    fn latency_ops(&self) -> usize {
        let bars = self.all("#lat rect.bar");
        assert!(!bars.is_empty(), "the latency histogram has bars");
        bars.iter()
            .map(|bar| {
                let title = first_line(bar);
                let count = title
                    .rsplit(": ")
                    .next()
                    .and_then(|c| c.strip_suffix(" ops"));
                count
                    .and_then(|c| c.parse::<usize>().ok())
                    .unwrap_or_else(|| panic!("bar title `{title}`"))
            })
            .sum()
    }
}

fn text(element: &ElementRef<'_>) -> String {
    element.text().collect::<String>().trim().to_string()
}

/// The first line of an SVG shape's `<title>` (its tooltip).
fn first_line(element: &ElementRef<'_>) -> String {
    text(element).lines().next().unwrap_or("").to_string()
}

/// Headless Chromium, run once per page with a fresh profile and no network.
struct Chromium {
    binary: PathBuf,
}

/// Chromium, or `None` (after saying the test is skipped) when there is none and
/// `DSIM_REQUIRE_BROWSER` is not `1`.
fn chromium(test: &str) -> Option<Chromium> {
    let required = std::env::var("DSIM_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let found = match std::env::var_os("DSIM_CHROMIUM") {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "DSIM_CHROMIUM={} is not a file",
                path.display()
            );
            Some(path)
        }
        None => on_path(&["chromium", "chromium-browser"]),
    };
    match found {
        Some(binary) => Some(Chromium { binary }),
        None if required => panic!(
            "DSIM_REQUIRE_BROWSER=1 but no Chromium was found (`chromium` or `chromium-browser` on \
             PATH, or DSIM_CHROMIUM=/path/to/it). Install Debian's: \
             `apt-get install -y --no-install-recommends chromium`, or run scripts/test.sh as root."
        ),
        None => {
            // Straight to stderr: the test harness captures `eprintln!` of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "{test}: SKIPPED, no Chromium found (set DSIM_REQUIRE_BROWSER=1 to make this fail)"
            );
            None
        }
    }
}

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

impl Chromium {
    /// Loads `report` (with `fragment` appended to its file URL), lets its scripts run and
    /// returns the resulting DOM; the dump and Chromium's log are kept in `dir` as
    /// `NAME.dom.html` and `NAME.dom.log`.
    fn load(&self, report: &Path, fragment: &str, name: &str, dir: &Path) -> Page {
        let dom_path = dir.join(format!("{name}.dom.html"));
        let log = self.run(
            &[
                "--dump-dom",
                "--virtual-time-budget=10000",
                "--enable-logging=stderr",
                "--v=0",
            ],
            &format!("{}{fragment}", url(report)),
            &dom_path,
            dir,
        );
        let console = log
            .lines()
            .filter(|line| line.contains(":CONSOLE"))
            .map(str::to_string)
            .collect();
        let dom = std::fs::read_to_string(&dom_path).unwrap();
        Page {
            dom: Html::parse_document(&dom),
            console,
            dom_path,
        }
    }

    /// Writes a PNG of the top of the page to `png`.
    fn screenshot(&self, report: &Path, png: &Path, dir: &Path) {
        let screenshot = format!("--screenshot={}", png.display());
        self.run(
            &[&screenshot, "--window-size=1280,1400", "--hide-scrollbars"],
            &url(report),
            &dir.join("screenshot.out"),
            dir,
        );
        let bytes = std::fs::read(png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000,
            "{}",
            png.display()
        );
    }

    /// Runs Chromium on `url` with `args`, its stdout to `stdout`; returns its stderr. Fails
    /// the test, with Chromium's stderr, if it exits unsuccessfully or outlives
    /// [`CHROMIUM_TIMEOUT`] (then its whole process group is killed).
    fn run(&self, args: &[&str], url: &str, stdout: &Path, dir: &Path) -> String {
        let profile = tempfile::tempdir_in(dir).unwrap();
        let stderr_path = stdout.with_extension("log");
        let mut child = Command::new(&self.binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                // Any host name fails to resolve: the report must not need the network.
                "--host-resolver-rules=MAP * ~NOTFOUND",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(url)
            .stdin(Stdio::null())
            .stdout(File::create(stdout).unwrap())
            .stderr(File::create(&stderr_path).unwrap())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", self.binary.display()));
        let status = child.wait_timeout(CHROMIUM_TIMEOUT).unwrap();
        let log = || std::fs::read_to_string(&stderr_path).unwrap_or_default();
        match status {
            None => {
                // The browser forks helpers: end the group it leads, then reap it.
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "chromium took over {CHROMIUM_TIMEOUT:?} on {url}; killed. stderr:\n{}",
                    log()
                )
            }
            Some(status) if !status.success() => {
                panic!("chromium failed ({status}) on {url}. stderr:\n{}", log())
            }
            Some(_) => log(),
        }
    }
}

fn url(path: &Path) -> String {
    let path = path.canonicalize().unwrap();
    format!("file://{}", path.display())
}

/// A temporary directory for one test, kept (and printed) when `DSIM_BROWSER_KEEP=1`.
struct TestDir {
    path: PathBuf,
    /// Removes the directory when dropped; `None` when it is kept.
    _guard: Option<tempfile::TempDir>,
}

impl TestDir {
    fn new() -> TestDir {
        let dir = tempfile::tempdir().unwrap();
        if std::env::var("DSIM_BROWSER_KEEP").is_ok_and(|v| v == "1") {
            let path = dir.keep();
            let _ = writeln!(
                std::io::stderr(),
                "browser test files kept in {}",
                path.display()
            );
            return TestDir { path, _guard: None };
        }
        TestDir {
            path: dir.path().to_path_buf(),
            _guard: Some(dir),
        }
    }

    fn path(&self) -> &Path {
        &self.path
    }
}
