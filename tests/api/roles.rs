//! The role table, cell by cell, over HTTP: each role tries each operation on fresh fixtures.

use reqwest::StatusCode;
use serde_json::json;
use subscription_upgrades::domain::policy::{Operation, Role, permits};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_problem, spawn_app};

/// Performs `operation` as `roles` against fixtures the partner's global admin prepared; returns
/// the status.
async fn attempt(app: &TestApp, operation: Operation, roles: &[&str]) -> reqwest::Response {
    let admin = app.admin();
    let actor = app.api(app.partner, roles);
    let customer = admin.customer("US").await;
    let c = format!("/v1/customers/{customer}");
    match operation {
        Operation::ReadCatalog => actor.get("/v1/upgrade-paths").await,
        Operation::ReadCustomers => actor.get(&c).await,
        Operation::CreateCustomer => {
            actor
                .post("/v1/customers", &json!({"name": "New", "market": "IT"}))
                .await
        }
        Operation::ManageDelegatedAdmin => {
            let body = json!({"status": "active", "startsAt": "2026-01-01T00:00:00Z",
                              "endsAt": "2028-01-01T00:00:00Z", "services": ["*"]});
            actor
                .post(&format!("{c}/delegated-admin-relationships"), &body)
                .await
        }
        Operation::ManageUsers => {
            let body = json!({"displayName": "Ada", "email": "ada@contoso.com"});
            actor.post(&format!("{c}/users"), &body).await
        }
        Operation::AssignLicenses => {
            let subscription = admin.subscription(&customer, "o365-e3", 5).await;
            let user = admin.user(&customer, "grace@contoso.com").await;
            let path = format!("{c}/subscriptions/{subscription}/license-assignments");
            actor.post(&path, &json!({"userId": user})).await
        }
        Operation::CreateSubscription => {
            let body = json!({"offerId": "o365-e1", "quantity": 3, "billingCycle": "annual"});
            actor.post(&format!("{c}/subscriptions"), &body).await
        }
        Operation::RecordSyncedSubscription => {
            let body = json!({"offerId": "o365-e1", "quantity": 3, "billingCycle": "annual", "channel": "other"});
            actor.post(&format!("{c}/subscriptions"), &body).await
        }
        Operation::ChangeSubscription => {
            admin.relationship(&customer, &["*"]).await;
            let subscription = admin
                .subscription(&customer, "m365-business-basic", 5)
                .await;
            let path = format!("{c}/subscriptions/{subscription}/upgrades");
            actor
                .post(&path, &json!({"targetOfferId": "o365-e1"}))
                .await
        }
        Operation::ManageWebhooks => {
            let body = json!({"url": "https://hooks.contoso.example/csp", "events": ["*"]});
            actor.post("/v1/webhooks", &body).await
        }
    }
}

#[tokio::test]
async fn every_cell_of_the_role_table_holds_over_http() {
    let app = spawn_app().await;

    for operation in Operation::ALL {
        for role in Role::ALL {
            let response = attempt(&app, operation, &[role.as_str()]).await;
            let status = response.status();
            if permits(role, operation) {
                assert!(
                    status.is_success(),
                    "{role:?} may {operation:?} but got {status}"
                );
            } else {
                assert_problem(response, StatusCode::FORBIDDEN, "role_not_allowed").await;
            }
        }
    }
}

/// Every route of the "upgrade, change seats, add-ons or status" row, as `roles`.
async fn attempt_changes(app: &TestApp, roles: &[&str]) -> Vec<reqwest::Response> {
    let admin = app.admin();
    let actor = app.api(app.partner, roles);
    let customer = admin.customer("US").await;
    let subscription = admin.subscription(&customer, "o365-e1", 5).await;
    let s = format!("/v1/customers/{customer}/subscriptions/{subscription}");
    let add_on = admin
        .create(
            &format!("{s}/add-ons"),
            json!({"offerId": "teams-audio-conferencing", "quantity": 1}),
        )
        .await;
    let add_on_path = format!("{s}/add-ons/{}", add_on["id"].as_str().unwrap());
    vec![
        actor.patch_with(&s, &json!({"quantity": 6}), &[]).await,
        actor
            .post(
                &format!("{s}/add-ons"),
                &json!({"offerId": "exchange-online-archiving", "quantity": 1}),
            )
            .await,
        actor
            .patch_with(&add_on_path, &json!({"quantity": 2}), &[])
            .await,
        actor
            .patch_with(&add_on_path, &json!({"status": "cancelled"}), &[])
            .await,
        actor
            .patch_with(&s, &json!({"status": "suspended"}), &[])
            .await,
    ]
}

#[tokio::test]
async fn every_change_route_follows_the_change_subscription_row() {
    let app = spawn_app().await;

    for role in Role::ALL {
        for response in attempt_changes(&app, &[role.as_str()]).await {
            let (status, url) = (response.status(), response.url().path().to_owned());
            if permits(role, Operation::ChangeSubscription) {
                assert!(status.is_success(), "{role:?} {url}: {status}");
            } else {
                assert_problem(response, StatusCode::FORBIDDEN, "role_not_allowed").await;
            }
        }
    }
}

#[tokio::test]
async fn unknown_roles_and_no_roles_grant_nothing() {
    let app = spawn_app().await;

    for roles in [&["billing_admin", "reader"][..], &[][..]] {
        for operation in [
            Operation::ReadCatalog,
            Operation::ReadCustomers,
            Operation::CreateCustomer,
        ] {
            let response = attempt(&app, operation, roles).await;
            assert_problem(response, StatusCode::FORBIDDEN, "role_not_allowed").await;
        }
    }
}

#[tokio::test]
async fn a_role_not_allowed_writes_nothing() {
    let app = spawn_app().await;
    let reader = app.api(Uuid::new_v4(), &["helpdesk_agent"]);

    let response = reader
        .post("/v1/customers", &json!({"name": "Nope", "market": "US"}))
        .await;

    assert_problem(response, StatusCode::FORBIDDEN, "role_not_allowed").await;
    let list = reader
        .get("/v1/customers")
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(list["items"], json!([]));
}
