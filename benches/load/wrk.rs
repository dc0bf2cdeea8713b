//! The load benchmark's second driver: `wrk` (Debian's package) with `benches/wrk/random.lua`, a
//! lighter client than the benchmark's own, so that the driver takes less of the machine's two
//! cores from the service and Postgres.

use std::process::Command;
use std::time::Duration;

/// What one `wrk` run measured.
pub struct WrkStats {
    pub name: String,
    pub rate: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub requests: u64,
    /// Non-2xx answers and socket errors.
    pub errors: u64,
}

/// `wrk`, installed from Debian's packages when missing and this runs as root; `None` (and the
/// benchmark goes on without it) otherwise.
pub fn available() -> Option<&'static str> {
    let found = || Command::new("wrk").arg("--version").output().is_ok();
    if !found() {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout == b"0\n");
        if root {
            eprintln!("installing wrk (Debian's package) …");
            let _ = Command::new("apt-get")
                .args(["install", "-y", "-q", "wrk"])
                .status();
        }
    }
    found().then_some("wrk")
}

/// Runs `wrk` against `base` in `mode` (`floor`, `eligibility`, `recommendations` or `renewals`) over
/// `customers` customers, with one token per partner in `tokens`.
pub fn run(
    base: &str,
    (mode, name): (&str, &str),
    (customers, per_partner): (u64, u64),
    tokens: &std::path::Path,
    (duration, connections): (Duration, usize),
) -> WrkStats {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/wrk/random.lua");
    let output = Command::new("wrk")
        .args(["-t2", &format!("-c{connections}")])
        .arg(format!("-d{}s", duration.as_secs()))
        .args(["--latency", "-s", script, base, "--", mode])
        .arg(customers.to_string())
        .arg(tokens)
        .arg(per_partner.to_string())
        .output()
        .expect("wrk runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    parse(name, &text)
}

/// Runs `wrk` against one URL with one bearer token, without a script.
pub fn run_url(
    url: &str,
    token: &str,
    (duration, connections): (Duration, usize),
) -> Option<WrkStats> {
    available()?;
    let output = Command::new("wrk")
        .args(["-t2", &format!("-c{connections}")])
        .arg(format!("-d{}s", duration.as_secs()))
        .args([
            "--latency",
            "-H",
            &format!("Authorization: Bearer {token}"),
            url,
        ])
        .output()
        .expect("wrk runs");
    Some(parse("wrk", &String::from_utf8_lossy(&output.stdout)))
}

/// Reads `wrk --latency`'s report.
fn parse(name: &str, text: &str) -> WrkStats {
    let after = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(prefix).map(str::trim).map(str::to_owned))
    };
    let number = |value: Option<String>| -> f64 {
        value
            .and_then(|v| v.split_whitespace().next().map(str::to_owned))
            .and_then(|v| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let percentile = |p: &str| after(p).map_or(f64::NAN, |v| millis(&v));
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    let non_2xx = number(after("Non-2xx or 3xx responses:"));
    let socket: u64 = after("Socket errors:")
        .map(|errors| {
            errors
                .split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or_default();
    WrkStats {
        name: name.to_owned(),
        rate: number(after("Requests/sec:")),
        p50_ms: percentile("50%"),
        p90_ms: percentile("90%"),
        p99_ms: percentile("99%"),
        requests,
        errors: if non_2xx.is_nan() { 0 } else { non_2xx as u64 } + socket,
    }
}

/// `1.23ms`, `850.00us` or `1.02s` in milliseconds.
fn millis(value: &str) -> f64 {
    let value = value.trim();
    let (number, factor) = if let Some(v) = value.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = value.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = value.strip_suffix('s') {
        (v, 1000.0)
    } else {
        (value, f64::NAN)
    };
    number.parse::<f64>().map_or(f64::NAN, |n| n * factor)
}
