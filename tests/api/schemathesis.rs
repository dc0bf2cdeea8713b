//! Schemathesis against the live service's `/openapi.json`, once per role (a global admin, who
//! may do everything, and a helpdesk agent, who may mostly read), over the demo data: no 5xx,
//! every answer matches its documented schema, status code, content type and headers.
//! Its settings and relaxations are in `tests/schemathesis.toml`. The document states the rules
//! the service enforces, so no operation may mostly reject the data generated from it: the run
//! fails on that warning (`validation_mismatch`), except for the operations the configuration
//! lists with the rule across fields or stored data that the schema cannot state.

use std::path::PathBuf;
use std::process::Command;

use subscription_upgrades::db::DEMO_PARTNERS;
use uuid::Uuid;

use crate::helpers::{spawn_demo_app, token};

/// The `st` that `scripts/test` installs (pinned), or the one named by `SCHEMATHESIS`.
fn schemathesis() -> PathBuf {
    let path = std::env::var_os("SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(".cache/subscription-upgrades/schemathesis/bin/st")
        });
    assert!(
        path.exists(),
        "Schemathesis is not installed at {}: run the tests with scripts/test, which installs the \
         pinned version, or set SCHEMATHESIS to an `st` of version 4.32",
        path.display()
    );
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_failure_as_a_global_admin_or_a_helpdesk_agent() {
    let st = schemathesis();
    let app = spawn_demo_app().await;
    let partner = Uuid::parse_str(DEMO_PARTNERS[0].0).unwrap();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis.toml");

    for role in ["global_admin", "helpdesk_agent"] {
        // One worker: with several threads, Hypothesis's source parsing trips a CPython 3.11
        // bug ("AST constructor recursion depth mismatch").
        let mut command = Command::new(&st);
        command
            // Its cache goes to the working directory: keep it out of the checkout.
            .current_dir(std::env::temp_dir())
            .args(["--config-file", config, "--no-color", "run"])
            .arg(format!("{}/openapi.json", app.address))
            .args(["--checks", "all", "--workers", "1"])
            // Relaxed, and why: see tests/schemathesis.toml.
            .args(["--exclude-checks", "ensure_resource_availability"])
            .arg("--header")
            .arg(format!("Authorization: Bearer {}", token(partner, &[role])));
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .unwrap()
            .expect("Schemathesis runs");
        let report = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "Schemathesis as {role} found failures:\n{report}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(report.contains("passed"), "{report}");
        let rejecting = mostly_rejecting(&report);
        assert!(
            rejecting.is_empty(),
            "as {role}, these operations mostly rejected data generated from the document: \
             state the rule they enforce in the document, or explain it in \
             tests/schemathesis.toml: {rejecting:?}\n{report}"
        );
    }
}

/// The operations Schemathesis's `validation_mismatch` warning lists ("mostly rejected generated
/// data"): those whose every request generated from the document was refused, mostly with 400 or
/// 422.
fn mostly_rejecting(report: &str) -> Vec<&str> {
    let Some(start) = report.find("mostly rejected generated data due to validation errors") else {
        return Vec::new();
    };
    report[start..]
        .lines()
        .skip(1)
        .map(str::trim)
        .skip_while(|line| line.is_empty())
        .map_while(|line| line.strip_prefix("- "))
        .collect()
}
