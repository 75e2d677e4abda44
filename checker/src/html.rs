//! A self-contained HTML page for people: one tab per partition, one timeline row per process,
//! operations as bars from call to return, the operation that cannot be placed in red and the
//! longest linearizable prefix numbered in order. Inline CSS and JS; no network.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::check::CheckReport;
use crate::history::{Operation, Value};

/// Most tabs rendered; a history with more keys shows the failing and undecided ones first.
const TABS_MAX: usize = 200;

/// Renders `report` over the history's operations (`ops`, from [`crate::History::operations`]).
pub fn render_html(title: &str, ops: &[Operation], report: &CheckReport) -> String {
    let mut page = String::new();
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    let _ = writeln!(page, "<title>{}</title>", escape(title));
    page.push_str(STYLE);
    page.push_str("</head><body>\n");
    let _ = writeln!(
        page,
        "<h1>{}</h1>\n<p class=\"verdict {}\">{} &middot; model {} &middot; {} ops &middot; {} partitions &middot; {:.2} ms</p>",
        escape(title),
        report.verdict.name(),
        report.verdict.name(),
        escape(&report.model),
        report.ops,
        report.partitions.len(),
        report.elapsed_ms
    );
    if let Some(reason) = &report.reason {
        let _ = writeln!(page, "<p>{}</p>", escape(reason));
    }
    if let Some(explanation) = &report.explanation {
        let _ = writeln!(
            page,
            "<pre class=\"explanation\">{}</pre>",
            escape(&explanation.to_string())
        );
    }
    // Failing and undecided partitions first, then the rest in key order.
    let mut order: Vec<usize> = (0..report.partitions.len()).collect();
    order.sort_by_key(|&i| report.partitions[i].verdict.name() == "linearizable");
    order.truncate(TABS_MAX);
    page.push_str("<div class=\"tabs\">");
    for (tab, &i) in order.iter().enumerate() {
        let partition = &report.partitions[i];
        let label = partition
            .key
            .as_ref()
            .map_or("all".to_owned(), ToString::to_string);
        let _ = write!(
            page,
            "<button class=\"tab {}\" data-tab=\"{tab}\">{} ({})</button>",
            partition.verdict.name(),
            escape(&label),
            partition.verdict.name()
        );
    }
    page.push_str("</div>\n");
    let mut by_key: BTreeMap<Option<&Value>, Vec<&Operation>> = BTreeMap::new();
    for op in ops {
        by_key.entry(op.key()).or_default().push(op);
    }
    for (tab, &i) in order.iter().enumerate() {
        let partition = &report.partitions[i];
        let explanation = report
            .explanation
            .as_ref()
            .filter(|e| e.key == partition.key);
        let blocking = explanation.map(|e| e.op.id);
        let order_of: BTreeMap<usize, usize> = explanation
            .map(|e| {
                e.prefix
                    .iter()
                    .enumerate()
                    .map(|(n, op)| (op.id, n + 1))
                    .collect()
            })
            .unwrap_or_default();
        let _ = writeln!(page, "<div class=\"panel\" id=\"tab{tab}\">");
        timeline(
            &mut page,
            by_key
                .get(&partition.key.as_ref())
                .map_or(&[][..], Vec::as_slice),
            blocking,
            &order_of,
        );
        page.push_str("</div>\n");
    }
    page.push_str(SCRIPT);
    page.push_str("</body></html>\n");
    page
}

/// One row per process; bars placed by event position.
fn timeline(
    page: &mut String,
    ops: &[&Operation],
    blocking: Option<usize>,
    order_of: &BTreeMap<usize, usize>,
) {
    let start = ops.iter().map(|op| op.call).min().unwrap_or(0);
    let end = ops
        .iter()
        .map(|op| op.ret.unwrap_or(op.call) + 1)
        .max()
        .unwrap_or(1);
    let span = (end - start).max(1) as f64;
    let mut rows: BTreeMap<u64, Vec<&Operation>> = BTreeMap::new();
    for op in ops {
        rows.entry(op.process).or_default().push(op);
    }
    for (process, row) in rows {
        let _ = write!(
            page,
            "<div class=\"row\"><span class=\"proc\">p{process}</span><div class=\"lane\">"
        );
        for op in row {
            let left = (op.call - start) as f64 / span * 100.0;
            let right = op.ret.map_or(end, |ret| ret + 1);
            let width = ((right - op.call) as f64 / span * 100.0).max(0.3);
            let mut class = String::from("op");
            if op.is_pending() {
                class.push_str(" pending");
            }
            if blocking == Some(op.id) {
                class.push_str(" blocking");
            }
            let number = order_of.get(&op.id);
            if number.is_some() {
                class.push_str(" placed");
            }
            let label = number.map_or(String::new(), |n| format!("{n}: "));
            let text = escape(&op.to_string());
            let _ = write!(
                page,
                "<div class=\"{class}\" style=\"left:{left:.3}%;width:{width:.3}%\" title=\"{label}{text} (line {})\">{label}{text}</div>",
                op.line
            );
        }
        page.push_str("</div></div>\n");
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"<style>
body { font: 13px system-ui, sans-serif; margin: 16px; color: #222; }
.verdict { font-weight: bold; }
.verdict.linearizable { color: #1a7f37; } .verdict.not-linearizable { color: #cf222e; } .verdict.unknown { color: #9a6700; }
.explanation { background: #fff4f4; border: 1px solid #f0c0c0; padding: 8px; white-space: pre-wrap; }
.tabs { display: flex; flex-wrap: wrap; gap: 4px; margin: 12px 0; }
.tab { border: 1px solid #bbb; background: #f6f8fa; padding: 3px 8px; cursor: pointer; }
.tab.active { background: #fff; border-bottom-color: #fff; font-weight: bold; }
.tab.not-linearizable { color: #cf222e; } .tab.unknown { color: #9a6700; }
.panel { display: none; } .panel.active { display: block; }
.row { display: flex; align-items: center; height: 20px; border-bottom: 1px solid #eee; }
.proc { width: 56px; flex: none; color: #555; }
.lane { position: relative; flex: 1; height: 16px; }
.op { position: absolute; height: 14px; top: 1px; overflow: hidden; white-space: nowrap; font-size: 10px;
      background: #ddeeff; border: 1px solid #7aa7d8; border-radius: 2px; box-sizing: border-box; }
.op.placed { background: #d8f5dd; border-color: #5cb270; }
.op.pending { background: repeating-linear-gradient(45deg, #f3f3f3, #f3f3f3 4px, #e4e4e4 4px, #e4e4e4 8px); border-style: dashed; }
.op.blocking { background: #ffd7d5; border: 2px solid #cf222e; z-index: 2; }
</style>
"#;

const SCRIPT: &str = r#"<script>
(function () {
  var tabs = document.querySelectorAll('.tab');
  function show(i) {
    tabs.forEach(function (t) { t.classList.toggle('active', t.dataset.tab === String(i)); });
    document.querySelectorAll('.panel').forEach(function (p) { p.classList.toggle('active', p.id === 'tab' + i); });
  }
  tabs.forEach(function (t) { t.addEventListener('click', function () { show(t.dataset.tab); }); });
  show(0);
})();
</script>
"#;
