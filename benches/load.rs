//! The load benchmark: starts the release build of the service against a fresh database, loads
//! synthetic data (`seed-demo --scale`), drives HTTP load and checks the targets of the
//! performance issue. Run it with
//!
//! ```sh
//! cargo bench --bench load --features bench-floor -- [--subscriptions 1000000] [--seconds 30] [--connections 32]
//! ```
//!
//! It needs a Postgres server where the user may create databases (`DATABASE_URL`'s server,
//! default `postgres://postgres@127.0.0.1:5432`) and uses the database
//! `subscription_upgrades_bench`, which it drops and recreates. Workloads, each for `--seconds`
//! with `--connections` concurrent keep-alive connections:
//! 1. floor: `GET /bench/floor/...` (the `bench-floor` feature), the same stack and token check
//!    with one indexed query and no rules;
//! 2. `GET .../subscriptions/{id}/upgrades` for random subscriptions, with 10,000 subscriptions
//!    loaded and again with the full scale;
//! 3. `PATCH .../subscriptions/{id}` quantity on random E3 subscriptions;
//! 4. `POST .../upgrades` Business Basic → E1, each on a distinct eligible subscription, and a
//!    database check afterwards that no subscription was upgraded twice;
//! 5. `GET /v1/customers/{id}/upgrade-recommendations` (ten subscriptions each), then one page
//!    of a random partner's renewals pipeline (`GET /v1/renewals` over 400 days);
//! 6. the floor, the eligibility GET, the recommendations and the renewals page again with `wrk` (a lighter driver:
//!    Debian's package, installed when missing and running as root; `benches/wrk/random.lua`);
//! 7. an upgrade job of 10,000 items of one partner and, a second later, another partner's job of
//!    10 items (`load/bulk.rs`): the big job's items per second and the small one's wait;
//! 8. one partner holding 200 webhook endpoints that never answer, with events queued for each,
//!    and another partner's webhook (`load/webhooks.rs`): its arrival, to beat 3 s.
//!
//! It prints the figures and writes them to `benches/results/<date>-load.md`.

use std::fmt::Write as _;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use sqlx::{Connection, PgConnection};
use subscription_upgrades::auth::{MintRequest, mint};
use subscription_upgrades::config::Settings;
use uuid::Uuid;

use common::{recreate_database, server_url, stop};

#[path = "load/bulk.rs"]
mod bulk;
#[path = "load/common.rs"]
mod common;
#[path = "load/statements.rs"]
mod statements;
#[path = "load/webhooks.rs"]
mod webhooks;
#[allow(
    dead_code,
    reason = "the neighbours benchmark uses the rest of this module"
)]
#[path = "load/wrk.rs"]
mod wrk;

const SERVICE: &str = env!("CARGO_BIN_EXE_subscription-upgrades");
const BIND: &str = "127.0.0.1:18181";
const DATABASE: &str = "subscription_upgrades_bench";
const SMALL_SCALE: i64 = 10_000;

struct Options {
    subscriptions: i64,
    seconds: u64,
    connections: usize,
    customers_per_partner: u64,
}

/// Customers per partner in the synthetic data (`--customers-per-partner`, 100 by default).
static CUSTOMERS_PER_PARTNER: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

impl Options {
    fn parse() -> Options {
        let mut options = Options {
            subscriptions: 1_000_000,
            seconds: 30,
            connections: 32,
            customers_per_partner: 100,
        };
        let args: Vec<String> = std::env::args().skip(1).collect();
        for pair in args.windows(2) {
            let value = || pair[1].parse::<u64>().expect("a number after the flag");
            match pair[0].as_str() {
                "--subscriptions" => options.subscriptions = value() as i64,
                "--seconds" => options.seconds = value(),
                "--connections" => options.connections = value() as usize,
                "--customers-per-partner" => options.customers_per_partner = value().max(1),
                _ => {}
            }
        }
        options
    }
}

/// The synthetic data's layout (see `src/db/scale.rs`).
struct Layout {
    customers: u64,
    partners: u64,
}

impl Layout {
    fn new(subscriptions: i64) -> Layout {
        let customers = (subscriptions as u64).div_ceil(10);
        Layout {
            customers,
            partners: customers.div_ceil(Self::per_partner()).min(1_000),
        }
    }

    fn per_partner() -> u64 {
        *CUSTOMERS_PER_PARTNER.get_or_init(|| 100)
    }

    fn customer(k: u64) -> String {
        format!("c1000000-0000-4000-8000-{k:012x}")
    }

    fn subscription(k: u64, slot: u64) -> String {
        format!("5100000{slot}-0000-4000-8000-{k:012x}")
    }

    /// The partner (number) that sold customer `k`.
    fn partner(k: u64) -> u64 {
        (k / Self::per_partner()) % 1_000
    }

    fn partner_id(p: u64) -> Uuid {
        Uuid::parse_str(&format!("a1000000-0000-4000-8000-{p:012x}")).expect("a uuid")
    }

    /// Customers whose Business Basic (slot 0) may go to E1: even customers (odd ones own E1)
    /// with an active delegated admin relationship.
    fn upgradable(&self) -> Vec<u64> {
        (0..self.customers)
            .filter(|k| k % 2 == 0 && k % 20 < 18)
            .collect()
    }
}

/// A small fast random number generator (xorshift), one per connection.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[derive(Default)]
struct Stats {
    name: String,
    requests: usize,
    errors: usize,
    server_errors: usize,
    seconds: f64,
    latencies_us: Vec<u32>,
}

impl Stats {
    /// The requests answered as expected.
    fn answered(&self) -> usize {
        self.requests - self.errors
    }

    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies_us[index]) / 1000.0
    }
}

/// One request to make: method, path, body, the partner whose token to use, the expected status.
struct Call {
    method: Method,
    path: String,
    body: Option<serde_json::Value>,
    partner: u64,
    expect: StatusCode,
}

type MakeCall = Arc<dyn Fn(&mut Rng) -> Option<Call> + Send + Sync>;

struct Driver {
    client: Client,
    /// A token per partner number.
    tokens: Arc<Vec<String>>,
    connections: usize,
}

impl Driver {
    async fn run(&self, name: &str, duration: Duration, make: MakeCall) -> Stats {
        let started = Instant::now();
        let mut workers = tokio::task::JoinSet::new();
        for worker in 0..self.connections {
            let (client, make) = (self.client.clone(), Arc::clone(&make));
            let tokens = Arc::clone(&self.tokens);
            workers.spawn(async move {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((worker as u64 + 1) * 0x2545_f491));
                let mut stats = Stats::default();
                while started.elapsed() < duration {
                    let Some(call) = make(&mut rng) else { break };
                    let mut request = client
                        .request(call.method, format!("http://{BIND}{}", call.path))
                        .bearer_auth(&tokens[call.partner as usize]);
                    if let Some(body) = &call.body {
                        request = request.json(body);
                    }
                    let sent = Instant::now();
                    let outcome = request.send().await;
                    let status = match outcome {
                        Ok(response) => {
                            let status = response.status();
                            let _ = response.bytes().await;
                            Some(status)
                        }
                        Err(_) => None,
                    };
                    let elapsed = sent.elapsed().as_micros();
                    stats
                        .latencies_us
                        .push(u32::try_from(elapsed).unwrap_or(u32::MAX));
                    stats.requests += 1;
                    if status != Some(call.expect) {
                        stats.errors += 1;
                    }
                    if status.is_none_or(|s| s.is_server_error()) {
                        stats.server_errors += 1;
                    }
                }
                stats
            });
        }
        let mut total = Stats {
            name: name.to_owned(),
            ..Stats::default()
        };
        while let Some(stats) = workers.join_next().await {
            let stats = stats.expect("a worker");
            total.requests += stats.requests;
            total.errors += stats.errors;
            total.server_errors += stats.server_errors;
            total.latencies_us.extend(stats.latencies_us);
        }
        total.seconds = started.elapsed().as_secs_f64();
        total.latencies_us.sort_unstable();
        total
    }
}

fn command(server: &str) -> Command {
    let mut command = Command::new(SERVICE);
    command
        .env("DATABASE_URL", format!("{server}/{DATABASE}"))
        .env("BIND_ADDR", BIND)
        .env("LOG_FORMAT", "json")
        // The driver is one partner per hundred customers hammering from one host: no quota.
        .env("RATE_LIMIT_PER_SECOND", "0")
        .envs(webhooks::SERVICE_ENV)
        .env_remove("AUTH_JWT_PUBLIC_KEY_FILE")
        .env_remove("AUTH_JWT_SECRET");
    command
}

fn seed(server: &str, subscriptions: i64) {
    eprintln!("loading {subscriptions} subscriptions …");
    let status = command(server)
        .args(["seed-demo", "--scale", &subscriptions.to_string()])
        .args([
            "--customers-per-partner",
            &Layout::per_partner().to_string(),
        ])
        .env("RUST_LOG", "error")
        .status()
        .expect("run seed-demo");
    assert!(status.success(), "seed-demo failed");
}

/// Starts the service; answers it and the time until `/readyz` said 200.
#[allow(
    clippy::zombie_processes,
    reason = "the child goes back to the caller, which stops and waits for it"
)]
async fn start(server: &str) -> (Child, Duration) {
    // Another process on the port would answer the readiness check and every request: the run
    // would measure it, against another database.
    if let Err(error) = std::net::TcpListener::bind(BIND) {
        panic!("{BIND} is taken ({error}): stop whatever listens there and run again");
    }
    let started = Instant::now();
    let mut child = command(server)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the service");
    let client = Client::new();
    loop {
        let ready = client.get(format!("http://{BIND}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status() == StatusCode::OK) {
            return (child, started.elapsed());
        }
        if started.elapsed() > Duration::from_secs(60) {
            stop(&mut child);
            panic!("the service did not become ready within a minute");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The service's peak resident set size after each phase, so the report says which phase reached
/// the run's peak.
#[derive(Default)]
struct PeakRss(Vec<(String, f64)>);

impl PeakRss {
    fn note(&mut self, service: &Child, phase: &str) {
        self.0.push((phase.to_owned(), peak_rss_mb(service)));
    }

    /// The run's peak, in MB.
    fn peak(&self) -> f64 {
        self.0.last().map_or(f64::NAN, |(_, mb)| *mb)
    }

    /// The phase during which the peak was reached, and the peak after each phase.
    fn summary(&self) -> String {
        let peak = self.peak();
        let reached = self.0.iter().find(|(_, mb)| *mb >= peak);
        let after: Vec<String> = (self.0.iter())
            .map(|(phase, mb)| format!("{phase}: {mb:.1}"))
            .collect();
        format!(
            "reached during {}. After each phase, in MB: {}",
            reached.map_or("no phase", |(phase, _)| phase.as_str()),
            after.join("; ")
        )
    }
}

/// The process's peak resident set size so far, in MB.
fn peak_rss_mb(child: &Child) -> f64 {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn random_get(layout: &Layout) -> MakeCall {
    let customers = layout.customers;
    Arc::new(move |rng| {
        let k = rng.below(customers);
        // Slots sold by the partner (8 is another channel's).
        let slot = [0, 1, 2, 3, 4, 5, 6, 7, 9][rng.below(9) as usize];
        Some(Call {
            method: Method::GET,
            path: format!(
                "/v1/customers/{}/subscriptions/{}/upgrades",
                Layout::customer(k),
                Layout::subscription(k, slot)
            ),
            body: None,
            partner: Layout::partner(k),
            expect: StatusCode::OK,
        })
    })
}

fn random_recommendations(layout: &Layout) -> MakeCall {
    let customers = layout.customers;
    Arc::new(move |rng| {
        let k = rng.below(customers);
        Some(Call {
            method: Method::GET,
            path: format!(
                "/v1/customers/{}/upgrade-recommendations",
                Layout::customer(k)
            ),
            body: None,
            partner: Layout::partner(k),
            expect: StatusCode::OK,
        })
    })
}

/// One page (50) of a random partner's renewals pipeline over the longest window: every live
/// subscription of the partner's is in it.
fn random_renewals(layout: &Layout) -> MakeCall {
    let customers = layout.customers;
    let to = chrono::Utc::now().date_naive() + chrono::Days::new(400);
    Arc::new(move |rng| {
        let k = rng.below(customers);
        Some(Call {
            method: Method::GET,
            path: format!("/v1/renewals?termEndTo={to}"),
            body: None,
            partner: Layout::partner(k),
            expect: StatusCode::OK,
        })
    })
}

/// The read cases again with `wrk`: floor, eligibility GET, recommendations, renewals page (none
/// without wrk).
fn run_wrk(
    driver: &Driver,
    layout: &Layout,
    seconds: Duration,
    connections: usize,
) -> Vec<wrk::WrkStats> {
    if wrk::available().is_none() {
        eprintln!("wrk is not installed: the wrk cases are skipped");
        return Vec::new();
    }
    let tokens = std::env::temp_dir().join("subscription-upgrades-bench-tokens.txt");
    std::fs::write(&tokens, driver.tokens.join("\n")).expect("write the tokens");
    let base = format!("http://{BIND}");
    let cases = [
        ("floor", "wrk: floor"),
        ("eligibility", "wrk: eligibility GET"),
        ("recommendations", "wrk: recommendations GET"),
        ("renewals", "wrk: renewals page (50)"),
    ];
    let mut stats = Vec::new();
    for case in cases {
        let result = wrk::run(
            &base,
            case,
            (layout.customers, Layout::per_partner()),
            &tokens,
            (seconds, connections),
        );
        eprintln!(
            "{}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors of {}",
            result.name, result.rate, result.p50_ms, result.p99_ms, result.errors, result.requests
        );
        stats.push(result);
    }
    let _ = std::fs::remove_file(&tokens);
    stats
}

/// The `wrk` table, each case against `wrk`'s own floor.
fn wrk_report(stats: &[wrk::WrkStats]) -> String {
    let mut out = String::new();
    let Some(floor) = stats.first() else {
        return "\nwrk was not available: no second driver.\n".to_owned();
    };
    let _ = writeln!(
        out,
        "\nThe same reads with `wrk` (2 threads, same connections, `benches/wrk/random.lua`):\n"
    );
    let _ = writeln!(
        out,
        "| workload | req/s | p50 ms | p90 ms | p99 ms | errors | requests | × floor | p99 ÷ floor p99 |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for stat in stats {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {:.2} | {:.2} |",
            stat.name,
            stat.rate,
            stat.p50_ms,
            stat.p90_ms,
            stat.p99_ms,
            stat.errors,
            stat.requests,
            stat.rate / floor.rate,
            stat.p99_ms / floor.p99_ms
        );
    }
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let options = Options::parse();
    CUSTOMERS_PER_PARTNER
        .set(options.customers_per_partner)
        .expect("set once, before any use");
    let server = server_url();
    let seconds = Duration::from_secs(options.seconds);
    recreate_database(&server, DATABASE).await;

    // The first start applies the migrations; the second is the one measured and benchmarked.
    let (mut first, _) = start(&server).await;
    stop(&mut first);
    let (mut service, startup) = start(&server).await;
    eprintln!("start-up to ready: {} ms", startup.as_millis());

    let settings = Settings::from_env().expect("settings");
    let full = Layout::new(options.subscriptions);
    let token = |partner: Uuid| {
        let request = MintRequest {
            partner,
            roles: vec!["admin_agent".to_owned()],
            user: "bench".to_owned(),
            ttl: Duration::from_secs(3600),
        };
        mint(&settings.keys(), &request).expect("a token")
    };
    let tokens: Vec<String> = (0..full.partners)
        .map(|p| token(Layout::partner_id(p)))
        .collect();
    let driver = Driver {
        client: Client::builder()
            .pool_max_idle_per_host(options.connections)
            .build()
            .expect("an HTTP client"),
        tokens: Arc::new(tokens),
        connections: options.connections,
    };
    let mut results = Vec::new();
    // Every phase, reads included, starts from a vacuumed database, as autovacuum would leave it
    // (see `bulk::vacuum_database`): a load of 100,000 rows leaves no page all-visible, and every
    // index-only scan (license counts, relationships, prices) then reads the table as well.
    let database = format!("{server}/{DATABASE}");
    let mut postgres = statements::Counter::new(&database);

    let small_scale = SMALL_SCALE.min(options.subscriptions);
    seed(&server, small_scale);
    bulk::vacuum_database(&database).await;
    let small = Layout::new(small_scale);
    let warm = Duration::from_secs(3);
    driver.run("warm-up", warm, random_get(&small)).await;
    let mut small_get = driver
        .run("eligibility GET", seconds, random_get(&small))
        .await;
    small_get.name = format!("eligibility GET, {small_scale} subscriptions");
    eprintln!("{}", line(&small_get, None));
    let mut rss = PeakRss::default();
    rss.note(&service, &small_get.name);

    if options.subscriptions > small_scale {
        seed(&server, options.subscriptions);
        bulk::vacuum_database(&database).await;
    }
    let customers = full.customers;
    let floor_call: MakeCall = Arc::new(move |rng| {
        let k = rng.below(customers);
        Some(Call {
            method: Method::GET,
            path: format!(
                "/bench/floor/{}/{}",
                Layout::customer(k),
                Layout::subscription(k, rng.below(8))
            ),
            body: None,
            partner: Layout::partner(k),
            expect: StatusCode::OK,
        })
    });
    driver.run("warm-up", warm, Arc::clone(&floor_call)).await;
    let floor = driver.run("floor", seconds, floor_call).await;
    eprintln!("{}", line(&floor, None));
    rss.note(&service, &floor.name);
    results.push(small_get);

    postgres.start().await;
    let get = driver
        .run(
            &format!("eligibility GET, {} subscriptions", options.subscriptions),
            seconds,
            random_get(&full),
        )
        .await;
    postgres.stop(&get.name, get.answered()).await;
    eprintln!("{}", line(&get, Some(&floor)));
    rss.note(&service, &get.name);
    results.push(get);
    let recommendations = driver
        .run(
            "recommendations GET (10 subscriptions)",
            seconds,
            random_recommendations(&full),
        )
        .await;
    eprintln!("{}", line(&recommendations, Some(&floor)));
    rss.note(&service, &recommendations.name);
    results.push(recommendations);
    postgres.start().await;
    let renewals = driver
        .run(
            "renewals pipeline GET (a page of 50)",
            seconds,
            random_renewals(&full),
        )
        .await;
    postgres.stop(&renewals.name, renewals.answered()).await;
    eprintln!("{}", line(&renewals, Some(&floor)));
    rss.note(&service, &renewals.name);
    results.push(renewals);
    let with_wrk = run_wrk(&driver, &full, seconds, options.connections);
    rss.note(&service, "the reads with wrk");

    let write_floor_call: MakeCall = Arc::new(move |rng| {
        let k = rng.below(customers);
        Some(Call {
            method: Method::POST,
            path: format!(
                "/bench/floor/{}/{}",
                Layout::customer(k),
                Layout::subscription(k, 2)
            ),
            body: None,
            partner: Layout::partner(k),
            expect: StatusCode::OK,
        })
    });
    // The phase before each write phase wrote tens of thousands of rows.
    bulk::vacuum_database(&database).await;
    postgres.start().await;
    let write_floor = driver
        .run(
            "write floor (lock, update, history row)",
            seconds,
            write_floor_call,
        )
        .await;
    postgres
        .stop(&write_floor.name, write_floor.answered())
        .await;
    eprintln!("{}", line(&write_floor, None));
    rss.note(&service, &write_floor.name);

    let patch: MakeCall = Arc::new(move |rng| {
        let k = rng.below(customers);
        Some(Call {
            method: Method::PATCH,
            path: format!(
                "/v1/customers/{}/subscriptions/{}",
                Layout::customer(k),
                Layout::subscription(k, 2)
            ),
            body: Some(json!({"quantity": 30 + rng.below(170)})),
            partner: Layout::partner(k),
            expect: StatusCode::OK,
        })
    });
    bulk::vacuum_database(&database).await;
    postgres.start().await;
    let patch = driver.run("seat change PATCH", seconds, patch).await;
    postgres.stop(&patch.name, patch.answered()).await;
    eprintln!("{}", line(&patch, Some(&write_floor)));
    rss.note(&service, &patch.name);
    results.push(patch);

    // The last partner's customers are kept out of the upgrade POST, for the small job of the
    // bulk case: however many upgrades the POST makes, they are still there to upgrade (at
    // 100,000 subscriptions the POST used to reach them, and that job's items all failed).
    let small_partner = full.partners - 1;
    let (reserved, upgradable): (Vec<u64>, Vec<u64>) = full
        .upgradable()
        .into_iter()
        .partition(|k| Layout::partner(*k) == small_partner);
    let upgradable = Arc::new(upgradable);
    let next = Arc::new(AtomicUsize::new(0));
    let post: MakeCall = {
        let (upgradable, next) = (Arc::clone(&upgradable), Arc::clone(&next));
        Arc::new(move |_| {
            let k = *upgradable.get(next.fetch_add(1, Ordering::Relaxed))?;
            Some(Call {
                method: Method::POST,
                path: format!(
                    "/v1/customers/{}/subscriptions/{}/upgrades",
                    Layout::customer(k),
                    Layout::subscription(k, 0)
                ),
                body: Some(json!({"targetOfferId": "o365-e1"})),
                partner: Layout::partner(k),
                expect: StatusCode::CREATED,
            })
        })
    };
    bulk::vacuum_database(&database).await;
    postgres.start().await;
    let post = driver.run("upgrade POST", seconds, post).await;
    postgres.stop(&post.name, post.answered()).await;
    eprintln!("{}", line(&post, Some(&write_floor)));
    rss.note(&service, &post.name);
    let check = double_upgrade_check(&server, post.answered()).await;
    results.push(post);

    let small_items: Vec<serde_json::Value> = reserved
        .iter()
        .take(10)
        .map(|&k| {
            json!({"customerId": Layout::customer(k), "subscriptionId": Layout::subscription(k, 0),
                   "targetOfferId": "o365-e1"})
        })
        .collect();
    eprintln!("bulk job of {} items …", bulk::ITEMS);
    let bulk = bulk::run(
        &database,
        &mut postgres,
        (&driver.client, &format!("http://{BIND}")),
        &token(Uuid::parse_str(bulk::PARTNER).expect("a uuid")),
        (&driver.tokens[small_partner as usize], small_items),
    )
    .await;
    eprintln!(
        "bulk job: {} items in {:.1} s ({:.0} items/s); 10-item job of another partner: {:.2} s; \
         right-sizing job: {} items in {:.1} s",
        bulk.succeeded,
        bulk.seconds,
        bulk.items_per_second(),
        bulk.small_seconds,
        bulk.right_size_succeeded,
        bulk.right_size_seconds
    );
    rss.note(&service, "the jobs");
    eprintln!(
        "webhooks: {} hanging endpoints of one partner …",
        webhooks::ENDPOINTS
    );
    let seat_change = |k: u64| {
        format!(
            "/v1/customers/{}/subscriptions/{}",
            Layout::customer(k),
            Layout::subscription(k, 2)
        )
    };
    let webhooks = webhooks::run(
        &database,
        (&driver.client, &format!("http://{BIND}")),
        webhooks::Partner {
            id: Layout::partner_id(0),
            token: &driver.tokens[0],
            subscriptions: (0..5).map(seat_change).collect(),
        },
        webhooks::Partner {
            id: Layout::partner_id(1),
            token: &driver.tokens[1],
            subscriptions: vec![seat_change(Layout::per_partner())],
        },
    )
    .await;
    eprintln!("{}", webhooks.report().trim());
    rss.note(&service, "the webhooks");
    stop(&mut service);

    let measured = Measured {
        startup,
        floor: &floor,
        write_floor: &write_floor,
        results: &results,
        rss: &rss,
        check: &check,
        bulk: &bulk,
        wrk: &with_wrk,
    };
    let (targets, hollow) = targets(&measured);
    let report = report(&options, &measured)
        + &wrk_report(&with_wrk)
        + &webhooks.report()
        + &targets
        + &statements::report(&postgres.phases);
    eprintln!("\n{report}");
    let path = format!(
        "{}/benches/results/{}-load.md",
        env!("CARGO_MANIFEST_DIR"),
        chrono::Utc::now().format("%Y-%m-%d")
    );
    std::fs::write(&path, report).expect("write the results");
    eprintln!("written to {path}");
    if !hollow.is_empty() {
        eprintln!("\nFAILED: these phases measured nothing real:");
        for phase in &hollow {
            eprintln!("  - {phase}");
        }
        std::process::exit(1);
    }
}

/// Everything one run measured, for the report and the targets.
struct Measured<'a> {
    startup: Duration,
    floor: &'a Stats,
    write_floor: &'a Stats,
    /// Eligibility at the small scale and at full scale, recommendations, renewals, PATCH, POST.
    results: &'a [Stats],
    rss: &'a PeakRss,
    check: &'a str,
    bulk: &'a bulk::Bulk,
    wrk: &'a [wrk::WrkStats],
}

/// The targets (issues 30 and 31) as a table of met / not met, and the phases that measured
/// nothing real (no successful request, any error, a failed consistency check, a job item that
/// did not succeed): those fail the run.
fn targets(m: &Measured) -> (String, Vec<String>) {
    let mut rows: Vec<(String, String, bool)> = Vec::new();
    let mut hollow = Vec::new();
    for stats in std::iter::once(m.floor)
        .chain(std::iter::once(m.write_floor))
        .chain(m.results)
    {
        if stats.requests == stats.errors || stats.errors > 0 {
            hollow.push(format!(
                "{}: {} errors of {} requests",
                stats.name, stats.errors, stats.requests
            ));
        }
    }
    for stats in m.wrk {
        if stats.requests == 0 || stats.errors > 0 {
            hollow.push(format!(
                "{}: {} errors of {} requests",
                stats.name, stats.errors, stats.requests
            ));
        }
    }
    if m.check.contains("INCONSISTENT") || m.bulk.check.contains("INCONSISTENT") {
        hollow.push(format!("consistency: {} / {}", m.check, m.bulk.check));
    }
    if m.bulk.right_size_check.contains("INCONSISTENT") {
        hollow.push(format!("right-sizing: {}", m.bulk.right_size_check));
    }
    if m.bulk.small_items == 0 || m.bulk.small_succeeded < m.bulk.small_items as i64 {
        hollow.push(format!(
            "the second partner's job: {} of {} items succeeded",
            m.bulk.small_succeeded, m.bulk.small_items
        ));
    }
    let mut target = |what: String, value: String, met: bool| rows.push((what, value, met));
    if let [_, get, recommendations, renewals, patch, post, ..] = m.results {
        let ratio = |s: &Stats, f: &Stats| s.rate() / f.rate();
        let get_ratio = ratio(get, m.floor);
        target(
            "eligibility GET ≥ 0.8 × read floor (ours)".into(),
            format!("{get_ratio:.2}"),
            get_ratio >= 0.8,
        );
        let p99 = get.percentile_ms(0.99) / m.floor.percentile_ms(0.99);
        target(
            "eligibility GET p99 ≤ 1.5 × floor p99".into(),
            format!("{p99:.2}"),
            p99 <= 1.5,
        );
        if let (Some(floor), Some(eligibility)) = (m.wrk.first(), m.wrk.get(1)) {
            let wrk_ratio = eligibility.rate / floor.rate;
            target(
                "eligibility GET ≥ 0.8 × read floor (wrk)".into(),
                format!("{wrk_ratio:.2}"),
                wrk_ratio >= 0.8,
            );
        }
        let rec = ratio(recommendations, m.floor);
        target(
            "recommendations GET ≥ 0.6 × read floor".into(),
            format!("{rec:.2}"),
            rec >= 0.6,
        );
        let pipeline = renewals.percentile_ms(0.99) / get.percentile_ms(0.99);
        target(
            "renewals page p99 ≤ 2 × eligibility GET p99 (ours)".into(),
            format!("{pipeline:.2}"),
            pipeline <= 2.0,
        );
        if let (Some(eligibility), Some(page)) = (m.wrk.get(1), m.wrk.get(3)) {
            let wrk_pipeline = page.p99_ms / eligibility.p99_ms;
            target(
                "renewals page p99 ≤ 2 × eligibility GET p99 (wrk)".into(),
                format!("{wrk_pipeline:.2}"),
                wrk_pipeline <= 2.0,
            );
        }
        let post_ratio = ratio(post, m.write_floor);
        target(
            "upgrade POST ≥ 0.35 × write floor".into(),
            format!("{post_ratio:.2} ({:.0}/s)", post.rate()),
            post_ratio >= 0.35,
        );
        let patch_ratio = ratio(patch, m.write_floor);
        target(
            "seat PATCH ≥ 0.6 × write floor".into(),
            format!("{patch_ratio:.2} ({:.0}/s)", patch.rate()),
            patch_ratio >= 0.6,
        );
    }
    target(
        format!("{}-item upgrade job < 30 s", bulk::ITEMS),
        format!("{:.1} s", m.bulk.seconds),
        m.bulk.seconds < 30.0,
    );
    target(
        "second partner's small job done within 1 s, every item succeeded".into(),
        format!(
            "{:.2} s, {} of {}",
            m.bulk.small_seconds, m.bulk.small_succeeded, m.bulk.small_items
        ),
        m.bulk.small_seconds <= 1.0
            && m.bulk.small_items > 0
            && m.bulk.small_succeeded == m.bulk.small_items as i64,
    );
    target(
        "right-sizing job (10,000 subscriptions) < 60 s".into(),
        format!("{:.1} s", m.bulk.right_size_seconds),
        m.bulk.right_size_seconds < 60.0,
    );
    target(
        "peak RSS ≤ 64 MB".into(),
        format!("{:.1} MB", m.rss.peak()),
        m.rss.peak() <= 64.0,
    );
    target(
        "start-up < 1 s".into(),
        format!("{} ms", m.startup.as_millis()),
        m.startup < Duration::from_secs(1),
    );
    target(
        "every phase measured, 0 errors, every check consistent".into(),
        format!("{} phases failed", hollow.len()),
        hollow.is_empty(),
    );
    let mut out = String::from(
        "
## Targets

| target | measured | |
|---|---:|---|
",
    );
    for (what, value, met) in rows {
        let verdict = if met { "met" } else { "**not met**" };
        let _ = writeln!(out, "| {what} | {value} | {verdict} |");
    }
    (out, hollow)
}

/// Counts upgrades, sources marked upgraded and sources with more than one target.
async fn double_upgrade_check(server: &str, created: usize) -> String {
    let mut conn = PgConnection::connect(&format!("{server}/{DATABASE}"))
        .await
        .expect("the bench database");
    let (upgrades, upgraded, doubled): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM upgrades),
                (SELECT count(*) FROM subscriptions WHERE status = 'upgraded'),
                (SELECT count(*) FROM (SELECT 1 FROM subscriptions WHERE upgraded_from_id IS NOT NULL
                                       GROUP BY customer_id, upgraded_from_id HAVING count(*) > 1) d)",
    )
    .fetch_one(&mut conn)
    .await
    .expect("the check query");
    let verdict = if upgrades == upgraded && upgrades as usize == created && doubled == 0 {
        "consistent"
    } else {
        "INCONSISTENT"
    };
    format!(
        "{created} answered 201; {upgrades} upgrade records; {upgraded} sources marked upgraded; \
         {doubled} sources with more than one target: {verdict}"
    )
}

fn line(stats: &Stats, floor: Option<&Stats>) -> String {
    let ratio = floor.map_or(String::new(), |f| {
        format!(", {:.2} × floor", stats.rate() / f.rate())
    });
    format!(
        "{}: {:.0} req/s, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, {} errors ({} 5xx) of {}{ratio}",
        stats.name,
        stats.rate(),
        stats.percentile_ms(0.5),
        stats.percentile_ms(0.9),
        stats.percentile_ms(0.99),
        stats.errors,
        stats.server_errors,
        stats.requests
    )
}

fn report(options: &Options, m: &Measured) -> String {
    let (startup, floor, results, rss, check, bulk) =
        (m.startup, m.floor, m.results, m.rss, m.check, m.bulk);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Load benchmark, {}\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    let _ = writeln!(
        out,
        "`cargo bench --bench load --features bench-floor -- --subscriptions {} --seconds {} --connections {} --customers-per-partner {}`\n",
        options.subscriptions, options.seconds, options.connections, options.customers_per_partner
    );
    let _ = writeln!(
        out,
        "Service (release build) and load driver on the same 2-core host; {} connections.\n",
        options.connections
    );
    let _ = writeln!(
        out,
        "| workload | req/s | p50 ms | p90 ms | p99 ms | errors | 5xx | requests | × its floor |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for stats in std::iter::once(floor)
        .chain(std::iter::once(m.write_floor))
        .chain(results)
    {
        // Writes are read against the write floor, reads (and the write floor) the read floor.
        let write = stats.name.contains("PATCH") || stats.name.contains("POST");
        let its_floor = if write { m.write_floor } else { floor };
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {:.2} |",
            stats.name,
            stats.rate(),
            stats.percentile_ms(0.5),
            stats.percentile_ms(0.9),
            stats.percentile_ms(0.99),
            stats.errors,
            stats.server_errors,
            stats.requests,
            stats.rate() / its_floor.rate()
        );
    }
    let _ = writeln!(
        out,
        "\n- Peak RSS of the service over the whole run: {:.1} MB ({})",
        rss.peak(),
        rss.summary()
    );
    let _ = writeln!(
        out,
        "- Start-up to `/readyz` 200 (migrations applied): {} ms",
        startup.as_millis()
    );
    if let [small, full, recommendations, renewals, ..] = results {
        let _ = writeln!(
            out,
            "- Eligibility p50 at full scale ÷ p50 at {SMALL_SCALE} subscriptions: {:.2}",
            full.percentile_ms(0.5) / small.percentile_ms(0.5)
        );
        let _ = writeln!(
            out,
            "- Recommendations for a customer of 10 subscriptions, p50 ÷ one subscription's eligibility GET p50: {:.2} (target: at most 2)",
            recommendations.percentile_ms(0.5) / full.percentile_ms(0.5)
        );
        let _ = writeln!(
            out,
            "- Renewals pipeline, one page of 50 of a partner's: p99 {:.2} ms ÷ the eligibility GET's p99: {:.2} (target: at most 2)",
            renewals.percentile_ms(0.99),
            renewals.percentile_ms(0.99) / full.percentile_ms(0.99)
        );
    }
    let _ = writeln!(out, "- Upgrades: {check}");
    let _ = writeln!(
        out,
        "- Upgrade job of {} items (real upgrades, one partner): {:.1} s, {:.0} items/s (target: under 60 s); \
         {}",
        bulk::ITEMS,
        bulk.seconds,
        bulk.items_per_second(),
        bulk.check
    );
    let _ = writeln!(
        out,
        "- Another partner's {}-item job, submitted 1 s after it: done in {:.2} s ({} of {} succeeded)",
        bulk.small_items, bulk.small_seconds, bulk.small_succeeded, bulk.small_items
    );
    let _ = writeln!(
        out,
        "- Right-sizing job (`atTermEnd`, `quantity: \"assigned\"`) over the bulk partner's {} \
         subscriptions: {:.1} s, {:.0} items/s (target: under 60 s); {}",
        bulk.right_size_succeeded,
        bulk.right_size_seconds,
        bulk.right_size_succeeded as f64 / bulk.right_size_seconds,
        bulk.right_size_check
    );
    out
}
