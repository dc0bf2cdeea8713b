//! SQL injection strings in every string a client sends are stored and returned verbatim, or
//! refused with a specific 4xx; they are never interpreted.

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, json_ok, spawn_app};

const ATTACKS: [&str; 4] = [
    "Robert'); DROP TABLE customers;--",
    "' OR '1'='1",
    "x\"; DELETE FROM subscriptions WHERE ''='",
    "1; SELECT pg_sleep(10)--",
];

#[tokio::test]
async fn injection_strings_in_names_are_stored_verbatim() {
    let app = spawn_app().await;
    let admin = app.admin();

    for (i, attack) in ATTACKS.iter().enumerate() {
        let customer = admin
            .create("/v1/customers", json!({"name": attack, "market": "US"}))
            .await;
        let id = customer["id"].as_str().unwrap();
        let read = json_ok(admin.get(&format!("/v1/customers/{id}")).await).await;
        assert_eq!(read["name"], *attack);

        let email = format!("o'brien+{i}@contoso.example");
        let user = admin
            .create(
                &format!("/v1/customers/{id}/users"),
                json!({"displayName": attack, "email": email}),
            )
            .await;
        assert_eq!(user["displayName"], *attack);
        assert_eq!(user["email"], email);
    }
    let listed = json_ok(admin.get("/v1/customers").await).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), ATTACKS.len());
}

#[tokio::test]
async fn injection_strings_in_ids_codes_and_tokens_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let subscription = admin.subscription(&customer, "o365-e3", 5).await;
    let s = format!("/v1/customers/{customer}/subscriptions/{subscription}");

    for attack in ATTACKS {
        let encoded: String = url_encode(attack);
        assert_problem(
            admin.get(&format!("/v1/customers/{encoded}")).await,
            StatusCode::BAD_REQUEST,
            "invalid_path_parameter",
        )
        .await;
        assert_problem(
            admin.get(&format!("/v1/offers/{encoded}")).await,
            StatusCode::NOT_FOUND,
            "offer_not_found",
        )
        .await;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(attack);
        assert_problem(
            admin
                .get(&format!("/v1/customers?continuationToken={token}"))
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_continuation_token",
        )
        .await;
        let bodies: [(String, Value, &str); 3] = [
            (
                format!("/v1/customers/{customer}/subscriptions"),
                json!({"offerId": attack, "quantity": 1, "billingCycle": "monthly"}),
                "unknown_offer",
            ),
            (
                format!("{s}/upgrades"),
                json!({"targetOfferId": attack, "dryRun": true}),
                "upgrade_not_eligible",
            ),
            (
                format!("{s}/add-ons"),
                json!({"offerId": attack, "quantity": 1}),
                "unknown_offer",
            ),
        ];
        for (path, body, code) in bodies {
            let response = admin.post(&path, &body).await;
            assert!(response.status().is_client_error(), "{path} {body}");
            let problem: Value = response.json().await.unwrap();
            assert_eq!(problem["code"], code, "{path} {body}");
        }
    }
    let subscriptions = json_ok(
        admin
            .get(&format!("/v1/customers/{customer}/subscriptions"))
            .await,
    )
    .await;
    assert_eq!(subscriptions["items"].as_array().unwrap().len(), 1);
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
