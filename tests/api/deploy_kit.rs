//! The deploy kit watches metrics that exist: every metric name the Prometheus alert rules
//! (`deploy/prometheus/alerts.yml`) and the Grafana dashboard
//! (`deploy/grafana/ashby-partner.json`) use must appear in a real `/metrics` answer —
//! except the few a planned feature is to export, listed in `NOT_EXPORTED_YET`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::helpers::{TestApp, start_body};

/// Metrics the rules or the dashboard use before the server exports them. Each entry names
/// the feature that will export it; the test fails once one is exported (remove it here)
/// or no longer used (remove it here too), so the list cannot go stale.
const NOT_EXPORTED_YET: &[(&str, &str)] = &[];

/// Series Prometheus writes itself for every target; no /metrics answer carries them.
const WRITTEN_BY_PROMETHEUS: &[&str] = &["up"];

/// Words of PromQL that look like metric names but are not.
const PROMQL_KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
];

fn deploy_file(relative: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `expr:` values of a rules file: inline ones, and `|` / `>` block scalars (the lines
/// indented deeper than the key). Enough YAML for a rules file; promtool (in .ci/run)
/// checks the file as Prometheus reads it.
fn rule_expressions(yaml: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut expressions = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        i += 1;
        let Some(value) = trimmed.strip_prefix("expr:") else {
            continue;
        };
        let value = value.trim();
        if value.starts_with('|') || value.starts_with('>') {
            let indent = line.len() - trimmed.len();
            let mut block = String::new();
            while i < lines.len() {
                let next = lines[i];
                let next_indent = next.len() - next.trim_start().len();
                if !next.trim().is_empty() && next_indent <= indent {
                    break;
                }
                block.push_str(next.trim());
                block.push(' ');
                i += 1;
            }
            expressions.push(block);
        } else {
            expressions.push(value.trim_matches(|c| c == '"' || c == '\'').to_owned());
        }
    }
    expressions
}

/// Every `expr` field anywhere in a dashboard (panels, targets, nested rows).
fn dashboard_expressions(dashboard: &Value, found: &mut Vec<String>) {
    match dashboard {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("expr", Value::String(expr)) => found.push(expr.clone()),
                    _ => dashboard_expressions(value, found),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                dashboard_expressions(item, found);
            }
        }
        _ => {}
    }
}

/// `text` with each span from `open` to its matching `close` replaced by a space
/// (`open == close`, as for quotes, toggles).
fn without_spans(text: &str, open: char, close: char) -> String {
    let mut out = String::new();
    let mut depth = 0_usize;
    for c in text.chars() {
        if open == close && c == open {
            depth = usize::from(depth == 0);
            if depth == 0 {
                out.push(' ');
            }
        } else if c == open {
            depth += 1;
        } else if c == close && depth > 0 {
            depth -= 1;
            out.push(' ');
        } else if depth == 0 {
            out.push(c);
        }
    }
    out
}

/// The metric names a PromQL expression reads: identifiers outside label matchers
/// (`{...}`), ranges (`[...]`), strings and `by (...)` / `without (...)` lists, that are
/// not a function call, a keyword or a number.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut text = without_spans(expr, '{', '}');
    text = without_spans(&text, '[', ']');
    text = without_spans(&text, '"', '"');
    for grouping in [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ] {
        while let Some(start) = find_word_then_paren(&text, grouping) {
            let Some(end) = text[start..].find(')') else {
                break;
            };
            text.replace_range(start..start + end + 1, " ");
        }
    }
    let mut names = BTreeSet::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let next = chars[i..].iter().find(|c| !c.is_whitespace());
            let preceded_by_digit = start > 0 && chars[start - 1].is_ascii_digit();
            if next != Some(&'(')
                && !preceded_by_digit
                && !PROMQL_KEYWORDS.contains(&word.to_ascii_lowercase().as_str())
            {
                names.insert(word);
            }
        } else if c.is_ascii_digit() || c == '.' {
            // A number, with its exponent or duration suffix (1e3, 5m): not a name.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    names
}

/// Where `word (` starts in `text`, as a whole word.
fn find_word_then_paren(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = text[from..].find(word) {
        let start = from + found;
        let end = start + word.len();
        let before_ok = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        let after = text[end..].trim_start();
        if before_ok && after.starts_with('(') {
            return Some(start);
        }
        from = end;
    }
    None
}

/// The metric names with at least one sample in a Prometheus text answer.
fn exported_names(metrics_text: &str) -> BTreeSet<String> {
    metrics_text
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn metric_names_are_read_from_promql_without_functions_labels_or_keywords() {
    let cases: &[(&str, &[&str])] = &[
        (
            r#"max by (kind) (ashby_partner_deliveries{status="dead"}) > 0"#,
            &["ashby_partner_deliveries"],
        ),
        (
            "histogram_quantile(0.95, sum by (route, le) (rate(a_bucket{job=\"$job\"}[$__rate_interval])))",
            &["a_bucket"],
        ),
        (
            "sum(rate(x_total{outcome=\"retry\"}[15m])) > 0.5 * sum(rate(x_total[15m]))",
            &["x_total"],
        ),
        ("max(age_seconds) > 15 * 60", &["age_seconds"]),
        ("up{job=\"ashby-partner\"} == 0", &["up"]),
        ("a / on (kind) group_left b offset 5m", &["a", "b"]),
    ];
    for (expr, expected) in cases {
        let names: Vec<String> = metric_names(expr).into_iter().collect();
        assert_eq!(names, *expected, "{expr}");
    }
}

#[test]
fn rule_expressions_are_read_inline_and_from_block_scalars() {
    let yaml = "groups:\n  - rules:\n      - alert: A\n        expr: max(a) > 0\n        for: 5m\n      - alert: B\n        expr: |\n          sum(b)\n            > 1\n        labels: {}\n";
    assert_eq!(rule_expressions(yaml), ["max(a) > 0", "sum(b) > 1 "]);
}

#[tokio::test]
async fn every_metric_the_alert_rules_and_the_dashboard_use_is_exported() {
    // Arrange: the files, and their metric names.
    let rules = rule_expressions(&deploy_file("prometheus/alerts.yml"));
    assert!(rules.len() >= 5, "the rules file has its alerts: {rules:?}");
    let dashboard: Value = serde_json::from_str(&deploy_file("grafana/ashby-partner.json"))
        .expect("the dashboard is JSON");
    let mut panels = Vec::new();
    dashboard_expressions(&dashboard, &mut panels);
    assert!(
        panels.len() >= 5,
        "the dashboard has its panels: {panels:?}"
    );
    let used: BTreeSet<String> = rules
        .iter()
        .chain(&panels)
        .flat_map(|expr| metric_names(expr))
        .collect();

    // Traffic of every kind the metrics count: requests, a refused request, readiness,
    // a vendor event and a delivery attempt (the tenant has no Ashby key: it goes dead).
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let id = app.start_assessment(&tenant, &start_body("app-1")).await;
    let (status, _) = app
        .vendor_event(&id, &json!({"status": "in_progress"}))
        .await;
    assert_eq!(status, 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let report = app
        .engine
        .step_at(ashby_partner::store::now_ms())
        .await
        .unwrap();
    assert_eq!(report.claimed, 1, "one delivery was attempted");

    // Act
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let exported = exported_names(&response.text().await.unwrap());

    // Assert
    let allowed: BTreeSet<&str> = NOT_EXPORTED_YET.iter().map(|(name, _)| *name).collect();
    let missing: Vec<&String> = used
        .iter()
        .filter(|name| !exported.contains(*name))
        .filter(|name| !allowed.contains(name.as_str()))
        .filter(|name| !WRITTEN_BY_PROMETHEUS.contains(&name.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "the deploy kit uses metrics /metrics does not export: {missing:?}\nexported: {exported:?}"
    );
    for (name, feature) in NOT_EXPORTED_YET {
        assert!(
            !exported.contains(*name),
            "{name} is exported now ({feature}): remove it from NOT_EXPORTED_YET"
        );
        assert!(
            used.contains(*name),
            "{name} is no longer used by the rules or the dashboard: remove it from NOT_EXPORTED_YET"
        );
    }
}

/// The README and every page under docs/ (recursively).
fn repository_docs() -> Vec<PathBuf> {
    fn walk(dir: &std::path::Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "md") {
                found.push(path);
            }
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut found = vec![root.join("README.md")];
    walk(&root.join("docs"), &mut found);
    found
}

/// The targets of the Markdown links `[text](target)` in `text`.
fn link_targets(text: &str) -> Vec<String> {
    text.match_indices("](")
        .filter_map(|(at, _)| {
            let rest = &text[at + 2..];
            rest.find(')').map(|end| rest[..end].to_owned())
        })
        .collect()
}

#[test]
fn the_readme_and_docs_send_readers_only_to_files_inside_the_repository() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .unwrap();
    let mut problems = Vec::new();
    for page in repository_docs() {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page
            .strip_prefix(&root)
            .unwrap_or(&page)
            .display()
            .to_string();
        for outside in ["CONTRACT.md", "PROTOCOL.md", "shared folder"] {
            if text.contains(outside) {
                problems.push(format!(
                    "{name} mentions {outside}, which is not in the repository"
                ));
            }
        }
        for target in link_targets(&text) {
            let path = target.split('#').next().unwrap_or("");
            if path.is_empty() || path.contains("://") || path.starts_with("mailto:") {
                continue;
            }
            let resolved = page.parent().unwrap().join(path);
            match resolved.canonicalize() {
                Ok(file) if file.starts_with(&root) => {}
                Ok(_) => problems.push(format!("{name} links outside the repository: {target}")),
                Err(_) => problems.push(format!("{name} links to a missing file: {target}")),
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
