//! Postgres's side of a phase, statement by statement, from `pg_stat_statements` when the server
//! loads it (`shared_preload_libraries = 'pg_stat_statements'`, a restart): how many statements
//! a request runs, which ones, and where Postgres's execution time goes. A server without the
//! module gets one line saying so, and the benchmark goes on.
//!
//! The counters are the whole server's during the phase: the service's background workers
//! (renewals, notices, webhook deliveries, jobs) run their passes meanwhile and show up too.

use std::fmt::Write as _;

use sqlx::{Connection, PgConnection};

/// One statement's share of a phase.
pub struct Statement {
    pub query: String,
    pub calls: i64,
    pub total_ms: f64,
}

/// A phase's statements, costliest first.
pub struct Phase {
    pub name: String,
    pub requests: usize,
    /// What `requests` counts: answered requests, or a job's items.
    pub unit: &'static str,
    pub statements: Vec<Statement>,
}

/// Counts the statements of the phases between its `start` and `stop`.
pub struct Counter {
    url: String,
    on: bool,
    pub phases: Vec<Phase>,
}

impl Counter {
    pub fn new(url: &str) -> Self {
        Counter {
            url: url.to_owned(),
            on: false,
            phases: Vec::new(),
        }
    }

    /// Clears the counters before a phase.
    pub async fn start(&mut self) {
        self.on = reset(&self.url).await;
    }

    /// Keeps the counters of the phase `name`, of `requests` answered requests.
    pub async fn stop(&mut self, name: &str, requests: usize) {
        self.keep(name, (requests, "request")).await;
    }

    /// Keeps the counters of the job phase `name`, of `items` items processed.
    pub async fn stop_items(&mut self, name: &str, items: usize) {
        self.keep(name, (items, "item")).await;
    }

    async fn keep(&mut self, name: &str, count: (usize, &'static str)) {
        if self.on {
            self.phases.extend(read(&self.url, name, count).await);
        }
    }
}

/// Clears the counters before a phase; `false` when the server does not load the module.
async fn reset(url: &str) -> bool {
    let Ok(mut conn) = PgConnection::connect(url).await else {
        return false;
    };
    let created = sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(&mut conn)
        .await
        .is_ok();
    let reset = created
        && sqlx::query("SELECT pg_stat_statements_reset()")
            .execute(&mut conn)
            .await
            .is_ok();
    let _ = conn.close().await;
    reset
}

/// The counters after a phase of `requests` answered requests (or items: `unit`).
async fn read(url: &str, name: &str, (requests, unit): (usize, &'static str)) -> Option<Phase> {
    let mut conn = PgConnection::connect(url).await.ok()?;
    let rows: Vec<(String, i64, f64)> = sqlx::query_as(
        "SELECT query, calls, total_exec_time FROM pg_stat_statements
          WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND query NOT LIKE '%pg_stat_statements%'
          ORDER BY total_exec_time DESC",
    )
    .fetch_all(&mut conn)
    .await
    .ok()?;
    let _ = conn.close().await;
    let statements = rows
        .into_iter()
        .map(|(query, calls, total_ms)| Statement {
            query,
            calls,
            total_ms,
        })
        .collect();
    Some(Phase {
        name: name.to_owned(),
        requests,
        unit,
        statements,
    })
}

/// The phases' tables, or why there are none.
pub fn report(phases: &[Phase]) -> String {
    let mut out = String::from("\n## Postgres, statement by statement\n\n");
    if phases.is_empty() {
        out.push_str(
            "Not measured: this server does not load `pg_stat_statements` \
             (`shared_preload_libraries`).\n",
        );
        return out;
    }
    out.push_str(
        "From `pg_stat_statements`, reset before each phase. \"Per request\" divides by the \
         phase's answered requests (\"per item\" by a job's items); execution time only (not the \
         round trips, nor the time a statement waits for a lock before it starts).\n",
    );
    for phase in phases {
        let requests = phase.requests.max(1) as f64;
        let calls: i64 = phase.statements.iter().map(|s| s.calls).sum();
        let total: f64 = phase.statements.iter().map(|s| s.total_ms).sum();
        let _ = writeln!(
            out,
            "\n### {}\n\n{:.1} statements and {:.3} ms of Postgres execution per {unit} ({} {unit}s).\n",
            phase.name,
            calls as f64 / requests,
            total / requests,
            phase.requests,
            unit = phase.unit,
        );
        let _ = writeln!(
            out,
            "| statement | per {} | mean ms | share of the time |\n|---|---:|---:|---:|",
            phase.unit
        );
        for s in phase.statements.iter().take(12) {
            let _ = writeln!(
                out,
                "| `{}` | {:.2} | {:.3} | {:.1} % |",
                short(&s.query),
                s.calls as f64 / requests,
                s.total_ms / s.calls.max(1) as f64,
                100.0 * s.total_ms / total.max(f64::MIN_POSITIVE)
            );
        }
    }
    out
}

/// The statement on one line, cut to a readable length, safe in a table cell.
fn short(query: &str) -> String {
    let line = query.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = line.chars().take(110).collect();
    if cut.len() < line.len() {
        cut.push('…');
    }
    cut.replace('|', "\\|").replace('`', "'")
}
