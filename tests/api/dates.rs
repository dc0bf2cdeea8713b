//! Dates and timestamps: the API accepts dates from 1970-01-01 through 2999-12-31 and timestamps
//! from 1970-01-01T00:00:00Z through 2999-12-31T23:59:59Z, refuses anything else with a 400 that
//! names the field and the expected format, and nothing stored can make a read fail.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, assert_problem, spawn_app};

/// A US customer with full admin rights and one Business Basic subscription.
struct Customer {
    id: String,
    subscription: String,
}

impl Customer {
    async fn new(admin: &Api<'_>) -> Customer {
        let id = admin.customer("US").await;
        admin.relationship(&id, &["*"]).await;
        let subscription = admin.subscription(&id, "m365-business-basic", 5).await;
        Customer { id, subscription }
    }

    fn relationships(&self) -> String {
        format!("/v1/customers/{}/delegated-admin-relationships", self.id)
    }

    fn subscriptions(&self) -> String {
        format!("/v1/customers/{}/subscriptions", self.id)
    }

    fn upgrades_of(&self, subscription: &str) -> String {
        format!("{}/{subscription}/upgrades", self.subscriptions())
    }

    /// The upgrade listing, a dry run and an upgrade of the subscription all still answer.
    async fn assert_upgrades_work(&self, admin: &Api<'_>) {
        let path = self.upgrades_of(&self.subscription);
        let listing = admin.get(&path).await;
        assert_eq!(listing.status(), StatusCode::OK, "the upgrade listing");
        let dry = json!({"targetOfferId": "o365-e1", "dryRun": true});
        let response = admin.post(&path, &dry).await;
        assert_eq!(response.status(), StatusCode::OK, "the dry run");
        let response = admin
            .post(&path, &json!({"targetOfferId": "o365-e1"}))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "the upgrade");
    }
}

/// Asserts a 400 with `code` whose detail names `field` and contains every one of `texts`.
async fn assert_refused(response: reqwest::Response, code: &str, field: &str, texts: &[&str]) {
    let body = assert_problem(response, StatusCode::BAD_REQUEST, code).await;
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.starts_with(&format!("{field}: ")), "{detail}");
    for text in texts {
        assert!(detail.contains(text), "{detail} should say {text:?}");
    }
}

#[tokio::test]
async fn a_relationship_dated_outside_the_range_is_refused_and_the_customer_keeps_working() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = Customer::new(&admin).await;
    let cases = [
        (
            "active",
            "0000-01-01T00:00:00Z",
            "2030-01-01T00:00:00Z",
            "startsAt",
        ),
        (
            "expired",
            "2020-01-01T00:00:00Z",
            "+12345-01-01T00:00:00Z",
            "endsAt",
        ),
        (
            "active",
            "-4714-01-01T00:00:00Z",
            "2030-01-01T00:00:00Z",
            "startsAt",
        ),
        (
            "active",
            "1969-12-31T23:59:59Z",
            "2030-01-01T00:00:00Z",
            "startsAt",
        ),
        (
            "active",
            "2020-01-01T00:00:00Z",
            "3000-01-01T00:00:00Z",
            "endsAt",
        ),
    ];

    for (status, starts_at, ends_at, field) in cases {
        let body =
            json!({"status": status, "startsAt": starts_at, "endsAt": ends_at, "services": ["*"]});
        let response = admin.post(&customer.relationships(), &body).await;
        assert_refused(
            response,
            "invalid_timestamp",
            field,
            &[
                "RFC 3339",
                "1970-01-01T00:00:00Z through 2999-12-31T23:59:59Z",
            ],
        )
        .await;
    }

    let listed: Value = admin
        .get(&customer.relationships())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "only the fixture's"
    );
    customer.assert_upgrades_work(&admin).await;
}

#[tokio::test]
async fn a_subscription_term_outside_the_range_is_refused_and_the_customer_keeps_working() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = Customer::new(&admin).await;
    let sub = |dates: Value| {
        let mut body =
            json!({"offerId": "m365-business-basic", "quantity": 1, "billingCycle": "monthly"});
        body.as_object_mut()
            .unwrap()
            .extend(dates.as_object().unwrap().clone());
        body
    };
    let cases = [
        (json!({"termStart": "+10000-01-01"}), "termStart"),
        (json!({"termStart": "-5000-01-01"}), "termStart"),
        (json!({"termStart": "0000-01-01"}), "termStart"),
        (json!({"termStart": "3000-01-01"}), "termStart"),
        (
            json!({"termStart": "2026-01-01", "currentPeriodStart": "1969-12-31", "currentPeriodEnd": "2026-02-01"}),
            "currentPeriodStart",
        ),
        (
            json!({"termStart": "2026-01-01", "currentPeriodStart": "2026-01-01", "currentPeriodEnd": "10000-01-01"}),
            "currentPeriodEnd",
        ),
    ];

    for (dates, field) in cases {
        let response = admin.post(&customer.subscriptions(), &sub(dates)).await;
        assert_refused(
            response,
            "invalid_date",
            field,
            &["YYYY-MM-DD", "1970-01-01 through 2999-12-31"],
        )
        .await;
    }

    let listed: Value = admin
        .get(&customer.subscriptions())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "only the fixture's"
    );
    customer.assert_upgrades_work(&admin).await;
}

#[tokio::test]
async fn a_timestamp_sent_for_a_date_or_a_date_for_a_timestamp_is_named_as_such() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = Customer::new(&admin).await;

    let response = admin
        .post(
            &customer.subscriptions(),
            &json!({"offerId": "m365-business-basic", "quantity": 1, "billingCycle": "monthly",
                    "termStart": "2026-01-01T00:00:00Z"}),
        )
        .await;
    assert_refused(
        response,
        "invalid_date",
        "termStart",
        &["expected a date (YYYY-MM-DD), got a timestamp"],
    )
    .await;

    let response = admin
        .post(
            &customer.relationships(),
            &json!({"status": "active", "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2027-01-01",
                    "services": ["*"]}),
        )
        .await;
    assert_refused(
        response,
        "invalid_timestamp",
        "endsAt",
        &["expected a timestamp (RFC 3339, e.g. 2026-01-01T00:00:00Z), got a date"],
    )
    .await;
}
