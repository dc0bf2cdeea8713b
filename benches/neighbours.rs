//! The noisy-neighbour benchmark: one partner abuses what it may (every job event stream it is
//! allowed, and hundreds of webhook endpoints that never answer, with a backlog of deliveries to
//! them) while another partner works as usual. Run it with
//!
//! ```sh
//! cargo bench --bench neighbours -- [--seconds 15] [--connections 16]
//! ```
//!
//! It needs a Postgres server where the user may create databases (`DATABASE_URL`'s server) and
//! uses the database `subscription_upgrades_bench_neighbours`, which it drops and recreates with
//! the demo data. Partner A is the demo's Contoso, partner B its Fabrikam. Phases:
//! 1. quiet: B reads one subscription's upgrades for `--seconds` (its own driver, then `wrk`);
//! 2. noise: A opens job event streams until the service refuses one (429); its job stays queued
//!    (no job workers), so every stream stays open for its whole life. Then the load benchmark's
//!    webhook case (`load/webhooks.rs`): A registers 200 endpoints at a socket that accepts and
//!    never answers, with events queued for each, and B's single webhook is timed;
//! 3. noisy: with A's streams open and its deliveries hanging, B reads as in the quiet phase, and
//!    `/healthz` is timed.
//!
//! Targets (issue "Safe under abuse, round two"): B's p99 within 2 × its quiet p99 with both
//! drivers, B's webhook within 3 s, A's streams capped, nothing answered 5xx. It prints the
//! figures and writes them to `benches/results/<date>-neighbours.md`.

use std::fmt::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use subscription_upgrades::auth::{MintRequest, mint};
use subscription_upgrades::config::Settings;
use uuid::Uuid;

use common::{recreate_database, server_url, stop};

#[path = "load/common.rs"]
mod common;
#[path = "load/webhooks.rs"]
mod webhooks;
#[allow(dead_code, reason = "the load benchmark uses the rest of this module")]
#[path = "load/wrk.rs"]
mod wrk;

const SERVICE: &str = env!("CARGO_BIN_EXE_subscription-upgrades");
const BIND: &str = "127.0.0.1:18182";
const DATABASE: &str = "subscription_upgrades_bench_neighbours";
const PARTNER_A: &str = "a0000000-0000-4000-8000-000000000001";
const PARTNER_B: &str = "b0000000-0000-4000-8000-000000000002";
/// Partner A's Northwind Business Basic and partner B's Fourth Coffee Business Standard.
const A_SUBSCRIPTION: &str = "/v1/customers/c0000000-0000-4000-8000-000000000001/subscriptions/50000000-0000-4000-8000-000000000011";
const B_SUBSCRIPTION: &str = "/v1/customers/c0000000-0000-4000-8000-000000000006/subscriptions/50000000-0000-4000-8000-000000000061";

struct Options {
    seconds: u64,
    connections: usize,
}

impl Options {
    fn parse() -> Options {
        let mut options = Options {
            seconds: 15,
            connections: 16,
        };
        let args: Vec<String> = std::env::args().skip(1).collect();
        for pair in args.windows(2) {
            let value = || pair[1].parse::<u64>().expect("a number after the flag");
            match pair[0].as_str() {
                "--seconds" => options.seconds = value(),
                "--connections" => options.connections = value() as usize,
                _ => {}
            }
        }
        options
    }
}

/// Latencies of one partner's reads, as our driver saw them.
struct Reads {
    requests: usize,
    errors: usize,
    p50_ms: f64,
    p99_ms: f64,
}

async fn read_for(client: &Client, token: &str, seconds: u64, connections: usize) -> Reads {
    let until = Instant::now() + Duration::from_secs(seconds);
    let url = format!("http://{BIND}{B_SUBSCRIPTION}/upgrades");
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (client, url, token) = (client.clone(), url.clone(), token.to_owned());
        workers.spawn(async move {
            let (mut latencies, mut errors) = (Vec::new(), 0usize);
            while Instant::now() < until {
                let sent = Instant::now();
                let ok = match client.get(&url).bearer_auth(&token).send().await {
                    Ok(response) => {
                        let ok = response.status() == StatusCode::OK;
                        ok && response.bytes().await.is_ok()
                    }
                    Err(_) => false,
                };
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                errors += usize::from(!ok);
            }
            (latencies, errors)
        });
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    while let Some(done) = workers.join_next().await {
        let (latencies, failed) = done.expect("a reader");
        all.extend(latencies);
        errors += failed;
    }
    all.sort_by(f64::total_cmp);
    let at = |p: f64| all[((all.len() as f64 - 1.0) * p).round() as usize];
    Reads {
        requests: all.len(),
        errors,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
    }
}

fn token(partner: &str) -> String {
    let request = MintRequest {
        partner: Uuid::parse_str(partner).expect("a partner id"),
        roles: vec!["global_admin".to_owned()],
        user: "bench".to_owned(),
        ttl: Duration::from_secs(3600),
    };
    let settings = Settings::from_env().expect("settings");
    mint(&settings.keys(), &request).expect("a development token")
}

fn command(server: &str) -> Command {
    let mut command = Command::new(SERVICE);
    command
        .env("DATABASE_URL", format!("{server}/{DATABASE}"))
        .env("BIND_ADDR", BIND)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "error")
        .env("RATE_LIMIT_PER_SECOND", "0")
        // The noisy partner's job must stay queued, so that its streams stay open.
        .env("JOB_WORKERS", "0")
        .envs(webhooks::SERVICE_ENV)
        .env("WEBHOOK_POLL_MS", "100")
        .env_remove("AUTH_JWT_PUBLIC_KEY_FILE")
        .env_remove("AUTH_JWT_SECRET");
    command
}

#[allow(
    clippy::zombie_processes,
    reason = "the child goes back to the caller, which stops and waits for it"
)]
async fn start(server: &str) -> Child {
    let status = command(server)
        .arg("seed-demo")
        .status()
        .expect("run seed-demo");
    assert!(status.success(), "seed-demo failed");
    let child = command(server)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the service");
    let client = Client::new();
    let started = Instant::now();
    while client
        .get(format!("http://{BIND}/readyz"))
        .send()
        .await
        .map_or(true, |r| r.status() != StatusCode::OK)
    {
        assert!(started.elapsed() < Duration::from_secs(60), "not ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child
}

async fn send(token: &str, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.bearer_auth(token).send().await.expect("an answer");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Partner A's streams: every one it may hold, on a job that stays queued. Answers the streams
/// held open and whether the next one was refused with 429 and `Retry-After`.
async fn hold_streams(
    client: &Client,
    token: &str,
) -> (usize, bool, Vec<tokio::task::JoinHandle<()>>) {
    let job = json!({"dryRun": true, "items": [{
        "customerId": "c0000000-0000-4000-8000-000000000001",
        "subscriptionId": "50000000-0000-4000-8000-000000000011",
        "targetOfferId": "o365-e1"}]});
    let (status, answer) = send(
        token,
        client
            .post(format!("http://{BIND}/v1/upgrade-jobs"))
            .json(&job),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "the noisy job: {answer}");
    let id = answer["id"].as_str().expect("a job id");
    let events = format!("http://{BIND}/v1/upgrade-jobs/{id}/events");
    let mut streams = Vec::new();
    loop {
        let mut response = client
            .get(&events)
            .bearer_auth(token)
            .send()
            .await
            .expect("a stream");
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = response.headers().contains_key("retry-after");
            return (streams.len(), retry_after, streams);
        }
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "stream {}",
            streams.len()
        );
        assert!(streams.len() < 10_000, "no cap on a partner's streams");
        streams.push(tokio::spawn(async move {
            while let Ok(Some(_)) = response.chunk().await {}
        }));
    }
}

#[tokio::main]
async fn main() {
    let options = Options::parse();
    let server = server_url();
    recreate_database(&server, DATABASE).await;
    let mut child = start(&server).await;
    let client = Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("a client");
    let (a, b) = (token(PARTNER_A), token(PARTNER_B));
    let seconds = Duration::from_secs(options.seconds);
    let wrk_url = format!("http://{BIND}{B_SUBSCRIPTION}/upgrades");

    eprintln!("quiet: partner B reads for {} s …", options.seconds);
    let quiet = read_for(&client, &b, options.seconds, options.connections).await;
    let quiet_wrk = wrk::run_url(&wrk_url, &b, (seconds, options.connections));

    eprintln!("noise: partner A opens every stream it may, then 200 hanging endpoints …");
    let (streams, retry_after, held) = hold_streams(&client, &a).await;
    let hooks = webhooks::run(
        &format!("{server}/{DATABASE}"),
        (&client, &format!("http://{BIND}")),
        webhooks::Partner {
            id: Uuid::parse_str(PARTNER_A).expect("a partner id"),
            token: &a,
            subscriptions: vec![A_SUBSCRIPTION.to_owned()],
        },
        webhooks::Partner {
            id: Uuid::parse_str(PARTNER_B).expect("a partner id"),
            token: &b,
            subscriptions: vec![B_SUBSCRIPTION.to_owned()],
        },
    )
    .await;

    eprintln!("noisy: partner B reads for {} s …", options.seconds);
    let health_sent = Instant::now();
    let health = client.get(format!("http://{BIND}/healthz")).send().await;
    let health_ms = health_sent.elapsed().as_secs_f64() * 1000.0;
    let noisy = read_for(&client, &b, options.seconds, options.connections).await;
    let noisy_wrk = wrk::run_url(&wrk_url, &b, (seconds, options.connections));
    for stream in held {
        stream.abort();
    }
    stop(&mut child);

    let noise = Noise {
        streams,
        retry_after,
        health_ok: health.is_ok_and(|r| r.status() == StatusCode::OK),
        health_ms,
    };
    let report = report(
        &options,
        (&quiet, &noisy),
        (quiet_wrk.as_ref(), noisy_wrk.as_ref()),
        &noise,
        &hooks,
    );
    eprintln!("{report}");
    let path = format!(
        "{}/benches/results/{}-neighbours.md",
        env!("CARGO_MANIFEST_DIR"),
        chrono::Utc::now().format("%Y-%m-%d")
    );
    std::fs::write(&path, report).expect("write the results");
    eprintln!("written to {path}");
}

/// What partner A held.
struct Noise {
    streams: usize,
    retry_after: bool,
    health_ok: bool,
    health_ms: f64,
}

fn report(
    options: &Options,
    (quiet, noisy): (&Reads, &Reads),
    (quiet_wrk, noisy_wrk): (Option<&wrk::WrkStats>, Option<&wrk::WrkStats>),
    noise: &Noise,
    hooks: &webhooks::Webhooks,
) -> String {
    let mut out = String::new();
    let met = |ok: bool| if ok { "met" } else { "**not met**" };
    let _ = writeln!(
        out,
        "# Noisy neighbour, {}\n\n`cargo bench --bench neighbours -- --seconds {} --connections {}`\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        options.seconds,
        options.connections
    );
    let _ = writeln!(
        out,
        "Partner A held {} job event streams (the next was refused: 429, Retry-After {}).",
        noise.streams,
        if noise.retry_after { "sent" } else { "missing" }
    );
    let _ = writeln!(out, "{}", hooks.report().trim());
    let _ = writeln!(
        out,
        "\n| partner B's reads | requests | errors | p50 ms | p99 ms |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|");
    let rows = [
        (
            "quiet, our driver",
            quiet.requests as u64,
            quiet.errors as u64,
            quiet.p50_ms,
            quiet.p99_ms,
        ),
        (
            "noisy, our driver",
            noisy.requests as u64,
            noisy.errors as u64,
            noisy.p50_ms,
            noisy.p99_ms,
        ),
    ];
    for (name, requests, errors, p50, p99) in rows {
        let _ = writeln!(
            out,
            "| {name} | {requests} | {errors} | {p50:.2} | {p99:.2} |"
        );
    }
    for (name, stats) in [("quiet, wrk", quiet_wrk), ("noisy, wrk", noisy_wrk)] {
        if let Some(s) = stats {
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {:.2} | {:.2} |",
                s.requests, s.errors, s.p50_ms, s.p99_ms
            );
        }
    }
    let ours = noisy.p99_ms / quiet.p99_ms;
    let _ = writeln!(out, "\n| target | measured | |\n|---|---:|---|");
    let _ = writeln!(
        out,
        "| B's p99 ≤ 2 × quiet (our driver) | {ours:.2} × | {} |",
        met(ours <= 2.0)
    );
    if let (Some(q), Some(n)) = (quiet_wrk, noisy_wrk) {
        let ratio = n.p99_ms / q.p99_ms;
        let _ = writeln!(
            out,
            "| B's p99 ≤ 2 × quiet (wrk) | {ratio:.2} × | {} |",
            met(ratio <= 2.0)
        );
    }
    let arrival = hooks.seconds.unwrap_or(f64::INFINITY);
    let _ = writeln!(
        out,
        "| B's webhook within 3 s | {arrival:.2} s | {} |",
        met(arrival < 3.0)
    );
    let _ = writeln!(
        out,
        "| A's streams capped with 429 and Retry-After | {} | {} |",
        noise.streams,
        met(noise.retry_after)
    );
    let _ = writeln!(
        out,
        "| `/healthz` answers while A holds its streams | {:.1} ms | {} |",
        noise.health_ms,
        met(noise.health_ok)
    );
    let errors = quiet.errors + noisy.errors;
    let _ = writeln!(
        out,
        "| B's reads without errors | {errors} | {} |",
        met(errors == 0)
    );
    out
}
