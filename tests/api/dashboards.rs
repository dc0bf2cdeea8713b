//! The Grafana dashboard and the Prometheus alerting rules under `deploy/` watch only what the
//! service exposes: every metric their PromQL selects is on `/metrics` from start-up (series with
//! closed label sets are registered at zero), and every exact label matcher on such a label
//! matches a series. Renaming a metric or a label value fails here. The dashboard uses only its
//! datasource variable. `measured` checks that the gauges the alerts watch follow reality.

mod measured;
mod promql;

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::ServiceProcess;

const DASHBOARD: &str = include_str!("../../deploy/grafana/subscription-upgrades.json");
const ALERTS: &str = include_str!("../../deploy/prometheus/alerts.yml");

/// Labels whose values appear only with traffic (a 429 exists after the first rate-limited
/// request); matchers on them are not checked against a fresh instance.
const TRAFFIC_LABELS: [&str; 3] = ["method", "route", "status"];

/// Every PromQL expression of the dashboard: panel queries, and the selectors of its variables'
/// `label_values(selector, label)` queries.
fn dashboard_expressions(dashboard: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect_exprs(dashboard, &mut found);
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if variable["type"] != "query" {
            continue;
        }
        let query = variable["query"]["query"]
            .as_str()
            .or(variable["query"].as_str())
            .unwrap_or_default();
        let selector = query
            .strip_prefix("label_values(")
            .and_then(|rest| rest.rsplit_once(','))
            .map_or(query, |(selector, _)| selector);
        found.push(selector.to_owned());
    }
    found
}

fn collect_exprs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("expr", Value::String(expr)) => found.push(expr.clone()),
                    _ => collect_exprs(value, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_exprs(item, found)),
        _ => {}
    }
}

/// Every `expr:` of the rules file, one line or a `|` block (the lines indented deeper).
fn alert_expressions(yaml: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut found = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let Some(value) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        let value = value.trim();
        if !matches!(value, "|" | ">" | "|-" | ">-") {
            found.push(value.to_owned());
            continue;
        }
        let block: Vec<&str> = lines[n + 1..]
            .iter()
            .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
            .copied()
            .collect();
        found.push(block.join("\n"));
    }
    found
}

/// The sample names of a Prometheus text exposition (`foo_bucket` for a histogram's buckets).
fn sample_names(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

/// What `expressions` refer to that `exposition` lacks: metric names, and exact matchers on
/// labels other than [`TRAFFIC_LABELS`] that no series of the metric has.
fn missing_from(exposition: &str, expressions: &[String]) -> Vec<String> {
    let samples = sample_names(exposition);
    let mut missing = BTreeSet::new();
    for expr in expressions {
        for name in promql::metric_names(expr) {
            if !samples.contains(&name) {
                missing.insert(format!("metric {name} (in `{expr}`)"));
            }
        }
        for m in promql::exact_matchers(expr) {
            let pair = format!("{}=\"{}\"", m.label, m.value);
            let found = exposition
                .lines()
                .any(|line| line.starts_with(&format!("{}{{", m.metric)) && line.contains(&pair));
            if !TRAFFIC_LABELS.contains(&m.label.as_str()) && !found {
                missing.insert(format!("series {}{{{pair}}} (in `{expr}`)", m.metric));
            }
        }
    }
    missing.into_iter().collect()
}

#[tokio::test]
async fn every_metric_the_dashboard_and_the_alerts_watch_is_exposed_from_start_up() {
    let dashboard: Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    let mut expressions = dashboard_expressions(&dashboard);
    let panels = expressions.len();
    expressions.extend(alert_expressions(ALERTS));
    assert!(panels >= 20, "the dashboard's queries were read: {panels}");
    assert!(expressions.len() - panels >= 10, "the alerts were read");
    // A fresh process: its metrics are its own (tests in this process share one recorder).
    let service = ServiceProcess::start(&[], std::process::Stdio::null()).await;

    let exposition = reqwest::get(format!("{}/metrics", service.base))
        .await
        .expect("/metrics answers")
        .text()
        .await
        .expect("a body");

    let missing = missing_from(&exposition, &expressions);
    assert!(
        missing.is_empty(),
        "referred to but not exposed:\n{}\n\nexposition:\n{exposition}",
        missing.join("\n")
    );
}

#[test]
fn a_renamed_metric_or_label_value_is_reported_missing() {
    let exposition = "# TYPE upgrades_total counter\nupgrades_total{outcome=\"performed\"} 0\n\
                      db_pool_connections{state=\"in_use\"} 1\n";
    let expressions = [
        r#"sum(rate(upgrades_total{outcome="performed"}[5m]))"#.to_owned(),
        r#"sum(rate(upgrade_total[5m]))"#.to_owned(),
        r#"db_pool_connections{state="busy"}"#.to_owned(),
        r#"rate(http_requests_total{status="429"}[5m])"#.to_owned(),
    ];

    let missing = missing_from(exposition, &expressions);

    assert_eq!(missing.len(), 3, "{missing:#?}");
    assert!(
        missing[0].starts_with("metric http_requests_total "),
        "{missing:#?}"
    );
    assert!(
        missing[1].starts_with("metric upgrade_total "),
        "{missing:#?}"
    );
    assert!(
        missing[2].starts_with(r#"series db_pool_connections{state="busy"}"#),
        "{missing:#?}"
    );
}

#[test]
fn the_rules_file_yields_every_alert_expression_whole() {
    let expressions = alert_expressions(ALERTS);

    assert_eq!(expressions.len(), ALERTS.matches("- alert:").count());
    let error_rate = &expressions[0];
    assert!(
        error_rate.contains("status=~\"5..\"") && error_rate.contains("> 0.1"),
        "{error_rate}"
    );
}

/// Every `datasource` in the dashboard: panels' and queries' must be the `${datasource}` variable.
fn datasources(value: &Value, found: &mut Vec<Value>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                if key == "datasource" {
                    found.push(value.clone());
                } else {
                    datasources(value, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| datasources(item, found)),
        _ => {}
    }
}

#[test]
fn the_dashboard_uses_only_its_datasource_variable() {
    let dashboard: Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    let variables = dashboard["templating"]["list"]
        .as_array()
        .expect("variables");
    let names: Vec<&str> = variables
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert_eq!(names, ["datasource", "job", "instance"]);
    assert_eq!(variables[0]["type"], "datasource");
    assert_eq!(variables[0]["query"], "prometheus");
    assert!(dashboard["schemaVersion"].as_u64().is_some_and(|v| v >= 36));
    assert!(dashboard.get("__inputs").is_none(), "no import-time inputs");

    let mut found = Vec::new();
    datasources(&dashboard["panels"], &mut found);
    datasources(&dashboard["templating"]["list"][1], &mut found);
    datasources(&dashboard["templating"]["list"][2], &mut found);

    assert!(found.len() > 40, "panels and queries read: {}", found.len());
    let variable = serde_json::json!({"type": "prometheus", "uid": "${datasource}"});
    for datasource in found {
        assert_eq!(datasource, variable);
    }
}
