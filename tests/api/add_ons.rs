//! Add-ons over HTTP (docs/subscriptions.md): buying within the catalog's rules,
//! listing, changing and cancelling them, what they do to seat changes, cancellations and upgrades,
//! and retries.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, assert_problem, json_ok, spawn_app};
use crate::lifecycle::history_kinds;

/// A US customer with a delegated admin relationship and a 10-seat Business Basic subscription.
struct Fixture {
    customer: String,
    subscription: String,
}

impl Fixture {
    async fn new(admin: &Api<'_>) -> Fixture {
        let customer = admin.customer("US").await;
        admin.relationship(&customer, &["*"]).await;
        let subscription = admin
            .subscription(&customer, "m365-business-basic", 10)
            .await;
        Fixture {
            customer,
            subscription,
        }
    }

    fn subscription_path(&self) -> String {
        format!(
            "/v1/customers/{}/subscriptions/{}",
            self.customer, self.subscription
        )
    }

    fn add_ons(&self) -> String {
        format!("{}/add-ons", self.subscription_path())
    }

    async fn buy(&self, api: &Api<'_>, offer: &str, quantity: i64) -> Value {
        let response = api
            .post(
                &self.add_ons(),
                &json!({"offerId": offer, "quantity": quantity}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }
}

async fn patch(api: &Api<'_>, path: &str, body: Value) -> reqwest::Response {
    api.patch_with(path, &body, &[]).await
}

async fn listed(api: &Api<'_>, path: &str) -> Vec<Value> {
    json_ok(api.get(path).await).await["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn buying_an_add_on_answers_it_with_its_location_and_a_prorated_charge() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;

    let response = admin
        .post(
            &f.add_ons(),
            &json!({"offerId": "teams-audio-conferencing", "quantity": 4}),
        )
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        location,
        format!("{}/{}", f.add_ons(), body["id"].as_str().unwrap())
    );
    assert_eq!(body["subscriptionId"], f.subscription.as_str());
    assert_eq!(body["offerId"], "teams-audio-conferencing");
    assert_eq!(
        body["offerName"],
        "Microsoft Teams Audio Conferencing add-on"
    );
    assert_eq!(body["quantity"], 4);
    assert_eq!(body["status"], "active");
    let billing = &body["billing"];
    assert_eq!(billing["currency"], "USD");
    assert_eq!(billing["credit"], 0);
    let (remaining, days) = (
        billing["remainingDays"].as_f64().unwrap(),
        billing["periodDays"].as_f64().unwrap(),
    );
    // 4 seats × 4.00 USD a month over the days left in the subscription's period.
    let exact = 4.0 * 400.0 * remaining / days;
    assert!((billing["charge"].as_f64().unwrap() - exact).abs() <= 0.5);

    let read = json_ok(admin.get(&location).await).await;
    assert_eq!(read["id"], body["id"]);
    assert!(read.get("billing").is_none());
    assert_eq!(listed(&admin, &f.add_ons()).await, [read]);
    assert_eq!(
        history_kinds(&admin, &f.subscription_path()).await,
        ["add_on_purchase"]
    );
}

#[tokio::test]
async fn invalid_add_on_purchases_get_specific_problems_and_write_nothing() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    f.buy(&admin, "exchange-online-archiving", 2).await;
    let e5 = admin.subscription(&f.customer, "o365-e5", 10).await;
    let suspended = admin
        .subscription(&f.customer, "m365-business-standard", 10)
        .await;
    let suspended_path = format!("/v1/customers/{}/subscriptions/{suspended}", f.customer);
    json_ok(patch(&admin, &suspended_path, json!({"status": "suspended"})).await).await;
    let audio =
        |quantity: i64| json!({"offerId": "teams-audio-conferencing", "quantity": quantity});
    let e5_add_ons = format!("/v1/customers/{}/subscriptions/{e5}/add-ons", f.customer);
    let suspended_add_ons = format!("{suspended_path}/add-ons");

    let cases = [
        (
            f.add_ons(),
            json!({"offerId": "no-such-offer", "quantity": 1}),
            StatusCode::BAD_REQUEST,
            "unknown_offer",
        ),
        (
            f.add_ons(),
            audio(0),
            StatusCode::BAD_REQUEST,
            "invalid_quantity",
        ),
        (
            f.add_ons(),
            json!({"offerId": "teams-audio-conferencing"}),
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            f.add_ons(),
            json!({"offerId": "o365-e1", "quantity": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "offer_not_add_on",
        ),
        (
            e5_add_ons,
            audio(1),
            StatusCode::UNPROCESSABLE_ENTITY,
            "add_on_not_attachable",
        ),
        (
            f.add_ons(),
            audio(11),
            StatusCode::UNPROCESSABLE_ENTITY,
            "add_on_quantity_exceeds_base",
        ),
        (
            f.add_ons(),
            json!({"offerId": "exchange-online-archiving", "quantity": 1}),
            StatusCode::CONFLICT,
            "add_on_already_active",
        ),
        (
            suspended_add_ons,
            audio(1),
            StatusCode::CONFLICT,
            "subscription_not_active",
        ),
    ];
    for (path, body, status, code) in cases {
        let response = admin.post(&path, &body).await;
        assert_problem(response, status, code).await;
    }
    let add_ons = listed(&admin, &f.add_ons()).await;
    assert_eq!(add_ons.len(), 1, "only the first archiving add-on");
    assert_eq!(
        history_kinds(&admin, &f.subscription_path()).await,
        ["add_on_purchase"]
    );
}

#[tokio::test]
async fn an_active_add_on_blocks_the_upgrade_until_it_is_cancelled() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    let add_on = f.buy(&admin, "teams-audio-conferencing", 5).await;
    let upgrades = format!("{}/upgrades", f.subscription_path());

    let options = json_ok(admin.get(&upgrades).await).await;
    let e3 = options["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["targetOfferId"] == "o365-e3")
        .unwrap()
        .clone();
    assert_eq!(e3["eligible"], false);
    assert_eq!(e3["failures"][0]["code"], "add_ons_present", "{e3}");
    let refused = admin
        .post(&upgrades, &json!({"targetOfferId": "o365-e3"}))
        .await;
    let problem = assert_problem(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "upgrade_not_eligible",
    )
    .await;
    assert_eq!(problem["failures"][0]["code"], "add_ons_present");

    let add_on_path = format!("{}/{}", f.add_ons(), add_on["id"].as_str().unwrap());
    let cancelled =
        json_ok(patch(&admin, &add_on_path, json!({"status": "cancelled"})).await).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled["cancelledAt"].is_string());
    assert!(cancelled["billing"]["credit"].as_i64().unwrap() > 0);

    let upgraded = admin
        .post(&upgrades, &json!({"targetOfferId": "o365-e3"}))
        .await;
    assert_eq!(upgraded.status(), StatusCode::CREATED);
    assert_eq!(
        history_kinds(&admin, &f.subscription_path()).await,
        ["add_on_purchase", "add_on_cancel", "upgrade"]
    );
}

#[tokio::test]
async fn an_add_on_changes_seats_within_the_subscriptions_and_stays_cancelled() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    let add_on = f.buy(&admin, "teams-audio-conferencing", 5).await;
    let path = format!("{}/{}", f.add_ons(), add_on["id"].as_str().unwrap());

    let more = json_ok(patch(&admin, &path, json!({"quantity": 10})).await).await;
    assert_eq!(more["quantity"], 10);
    assert!(more["billing"]["charge"].as_i64().unwrap() > 0);
    assert_problem(
        patch(&admin, &path, json!({"quantity": 11})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "add_on_quantity_exceeds_base",
    )
    .await;
    assert_problem(
        patch(&admin, &f.subscription_path(), json!({"quantity": 9})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "quantity_below_add_on_quantity",
    )
    .await;
    assert_problem(
        patch(&admin, &path, json!({"quantity": 3, "status": "cancelled"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_change",
    )
    .await;

    json_ok(patch(&admin, &path, json!({"status": "cancelled"})).await).await;
    let again = json_ok(patch(&admin, &path, json!({"status": "cancelled"})).await).await;
    assert!(
        again.get("billing").is_none(),
        "cancelling twice changes nothing"
    );
    for body in [json!({"status": "active"}), json!({"quantity": 2})] {
        assert_problem(
            patch(&admin, &path, body).await,
            StatusCode::CONFLICT,
            "add_on_not_active",
        )
        .await;
    }
    let fewer = json_ok(patch(&admin, &f.subscription_path(), json!({"quantity": 2})).await).await;
    assert_eq!(
        fewer["quantity"], 2,
        "a cancelled add-on no longer holds the seats"
    );
    let second = f.buy(&admin, "teams-audio-conferencing", 2).await;
    assert_ne!(
        second["id"], add_on["id"],
        "a new add-on after the cancelled one"
    );
    assert_eq!(
        history_kinds(&admin, &f.subscription_path()).await,
        [
            "add_on_purchase",
            "add_on_quantity_change",
            "add_on_cancel",
            "quantity_change",
            "add_on_purchase"
        ]
    );
}

#[tokio::test]
async fn cancelling_the_subscription_cancels_its_add_ons_and_says_so() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    let audio = f.buy(&admin, "teams-audio-conferencing", 3).await;
    let archiving = f.buy(&admin, "exchange-online-archiving", 2).await;

    let suspended = json_ok(
        patch(
            &admin,
            &f.subscription_path(),
            json!({"status": "suspended"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        suspended["cancelledAddOns"],
        json!([]),
        "suspension keeps add-ons"
    );
    let cancelled = json_ok(
        patch(
            &admin,
            &f.subscription_path(),
            json!({"status": "cancelled"}),
        )
        .await,
    )
    .await;

    let ids: Vec<&Value> = cancelled["cancelledAddOns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["id"])
        .collect();
    assert_eq!(ids, [&audio["id"], &archiving["id"]]);
    let add_ons = listed(&admin, &f.add_ons()).await;
    assert!(
        add_ons.iter().all(|a| a["status"] == "cancelled"),
        "{add_ons:?}"
    );
}

#[tokio::test]
async fn concurrent_purchases_of_one_add_on_buy_it_once() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;

    let attempts = (0..8).map(|_| {
        let api = app.admin();
        let path = f.add_ons();
        async move {
            api.post(
                &path,
                &json!({"offerId": "teams-audio-conferencing", "quantity": 1}),
            )
            .await
            .status()
        }
    });
    let statuses = join_all(attempts).await;

    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 7), "{statuses:?}");
    assert_eq!(listed(&admin, &f.add_ons()).await.len(), 1);
}

#[tokio::test]
async fn a_retried_purchase_with_the_same_key_buys_once_and_answers_the_same() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    let body = json!({"offerId": "teams-audio-conferencing", "quantity": 2});
    let key = [("idempotency-key", "buy-audio-1")];

    let first = admin.post_with(&f.add_ons(), &body, &key).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let location = first.headers()["location"].clone();
    let first_body = first.bytes().await.unwrap();
    let replay = admin.post_with(&f.add_ons(), &body, &key).await;

    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.headers()["location"], location);
    assert_eq!(replay.bytes().await.unwrap(), first_body);
    assert_eq!(listed(&admin, &f.add_ons()).await.len(), 1);
}

#[tokio::test]
async fn an_unknown_add_on_is_not_found() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin).await;
    let path = format!("{}/{}", f.add_ons(), uuid::Uuid::new_v4());

    assert_problem(
        admin.get(&path).await,
        StatusCode::NOT_FOUND,
        "add_on_not_found",
    )
    .await;
    assert_problem(
        patch(&admin, &path, json!({"status": "cancelled"})).await,
        StatusCode::NOT_FOUND,
        "add_on_not_found",
    )
    .await;
}
