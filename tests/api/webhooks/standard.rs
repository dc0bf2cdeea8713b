//! Deliveries follow the Standard Webhooks specification exactly: the specification's own
//! reference library (PyPI `standardwebhooks`, pinned in
//! `scripts/standardwebhooks-requirements.txt`, installed by `scripts/test`) verifies a real
//! delivery with the secret the registration answered, and refuses it once tampered with.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use super::{Received, Receiver, subscription};
use crate::helpers::spawn_app;

/// The Python that `scripts/test` installs the library into, or the one named by
/// `STANDARDWEBHOOKS_PYTHON`.
fn python() -> PathBuf {
    let path = std::env::var_os("STANDARDWEBHOOKS_PYTHON").map(PathBuf::from);
    match path {
        Some(path) if path.exists() => path,
        _ => panic!(
            "STANDARDWEBHOOKS_PYTHON does not name a Python with the standardwebhooks library: \
             run the tests with scripts/test, which installs the pinned version"
        ),
    }
}

/// What the reference library says of a delivery: `Ok(event id)` or `Err(why it refused)`.
fn reference_library_verdict(secret: &str, headers: &Value, body: &str) -> Result<String, String> {
    let mut child = Command::new(python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/standardwebhooks/verify.py"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python runs");
    let input = json!({"secret": secret, "headers": headers, "body": body});
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if output.status.success() {
        Ok(said)
    } else {
        Err(said)
    }
}

fn headers_of(received: &Received) -> Value {
    received
        .headers
        .iter()
        .map(|(name, value)| (name.to_string(), json!(value.to_str().unwrap())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

#[tokio::test]
async fn a_real_delivery_verifies_with_the_standard_webhooks_reference_library() {
    let app = spawn_app().await;
    let admin = app.admin();
    let receiver = Receiver::start(0).await;
    let endpoint = admin
        .create(
            "/v1/webhooks",
            json!({"url": receiver.url(), "events": ["subscription.created"]}),
        )
        .await;
    let secret = endpoint["secret"].as_str().unwrap();
    subscription(&admin).await;

    let delivery = &receiver.delivered(1).await[0];
    let headers = headers_of(delivery);
    let body = String::from_utf8(delivery.body.clone()).unwrap();
    let event: Value = serde_json::from_str(&body).unwrap();

    assert_eq!(
        reference_library_verdict(secret, &headers, &body),
        Ok(event["id"].as_str().unwrap().to_owned())
    );
    let tampered = body.replace("subscription.created", "subscription.upgraded");
    assert_ne!(tampered, body);
    assert_eq!(
        reference_library_verdict(secret, &headers, &tampered),
        Err("refused: No matching signature found".to_owned())
    );
    let another_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    assert!(reference_library_verdict(another_secret, &headers, &body).is_err());
}
