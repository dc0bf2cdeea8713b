//! `/docs` renders offline: headless Chromium, with every request off this host sent to a dead
//! proxy, loads Swagger UI from the service itself and lists every operation of the document;
//! the test keeps a screenshot.

use std::path::PathBuf;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::spawn_app;

/// Chromium: `CHROMIUM`, or `chromium` on PATH (Debian's package).
fn chromium() -> PathBuf {
    let named = std::env::var_os("CHROMIUM").map(PathBuf::from);
    let path = named.unwrap_or_else(|| PathBuf::from("chromium"));
    let found = Command::new(&path).arg("--version").output();
    assert!(
        found.is_ok_and(|output| output.status.success()),
        "the docs test needs Chromium: install it (Debian: apt-get install chromium) or set \
         CHROMIUM to its binary"
    );
    path
}

/// Runs headless Chromium on `url` with `args`; returns its standard output.
async fn headless(chromium: PathBuf, url: String, args: Vec<String>) -> String {
    let profile = std::env::temp_dir().join(format!("su-chromium-{}", uuid::Uuid::new_v4()));
    let output = tokio::task::spawn_blocking(move || {
        let output = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                // Offline: anything not on this host goes to a proxy that does not answer.
                "--proxy-server=http://127.0.0.1:9",
                "--virtual-time-budget=20000",
                "--window-size=1280,2400",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(args)
            .arg(url)
            .output();
        let _ = std::fs::remove_dir_all(&profile);
        output
    })
    .await
    .unwrap()
    .expect("Chromium runs");
    assert!(
        output.status.success(),
        "Chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn the_docs_page_and_its_assets_come_from_the_service_itself() {
    let app = spawn_app().await;

    let page = app.get_anonymous("/docs").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    for (asset, content_type) in [
        ("/docs/swagger-ui-bundle.js", "text/javascript"),
        ("/docs/swagger-ui.css", "text/css"),
        ("/docs/init.js", "text/javascript"),
    ] {
        assert!(html.contains(asset), "{asset} in {html}");
        let response = app.get_anonymous(asset).await;
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(content_type),
            "{asset}"
        );
    }
}

#[tokio::test]
async fn the_docs_render_offline_in_chromium_and_list_every_operation() {
    let chromium = chromium();
    let app = spawn_app().await;
    let url = format!("{}/docs", app.address);
    let document: Value = app.get("/openapi.json").await.json().await.unwrap();

    let screenshot = std::env::temp_dir().join("subscription-upgrades-docs.png");
    let _ = std::fs::remove_file(&screenshot);
    headless(
        chromium.clone(),
        url.clone(),
        vec![format!("--screenshot={}", screenshot.display())],
    )
    .await;
    let dom = headless(chromium, url, vec!["--dump-dom".to_owned()]).await;

    let png = std::fs::read(&screenshot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    eprintln!("docs screenshot: {}", screenshot.display());
    assert!(dom.contains("Subscription upgrades"), "the title renders");
    let mut listed = 0;
    for (path, methods) in document["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            let tag = operation["tags"][0].as_str().unwrap();
            let id = operation["operationId"].as_str().unwrap();
            assert!(
                dom.contains(&format!(r#"id="operations-{tag}-{id}""#)),
                "{method} {path} is listed"
            );
            listed += 1;
        }
    }
    assert_eq!(dom.matches("opblock-summary-path\"").count(), listed);
    assert!(listed > 25);
}
