//! Dates and timestamps: the API accepts dates from 1970-01-01 through 2999-12-31 and timestamps
//! from 1970-01-01T00:00:00Z through 2999-12-31T23:59:59Z, refuses anything else with a 400 that
//! names the field and the expected format, and nothing stored can make a read fail.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgPool};
use subscription_upgrades::db::MIGRATOR;
use uuid::Uuid;

use crate::helpers::{Api, assert_problem, database_url_named, spawn_app, spawn_app_on};
use crate::periods::shown_today;

/// The migration that bounds stored dates and timestamps.
const DATE_BOUNDS_MIGRATION: i64 = 20261127090000;

/// A US customer with full admin rights and one Business Basic subscription.
struct Customer {
    id: String,
    subscription: String,
}

impl Customer {
    /// The list at `path` still holds only the fixture's item, and the customer's upgrades work.
    async fn assert_nothing_added_and_upgrades_work(&self, admin: &Api<'_>, path: &str) {
        let listed: Value = admin.get(path).await.json().await.unwrap();
        assert_eq!(
            listed["items"].as_array().unwrap().len(),
            1,
            "only the fixture's"
        );
        self.assert_upgrades_work(admin).await;
    }

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

    customer
        .assert_nothing_added_and_upgrades_work(&admin, &customer.relationships())
        .await;
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

    customer
        .assert_nothing_added_and_upgrades_work(&admin, &customer.subscriptions())
        .await;
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

/// Asserts the answer's status (showing its body when it differs); returns the body.
async fn expect(response: reqwest::Response, status: StatusCode, what: &str) -> Value {
    let got = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{what}: {text}");
    serde_json::from_str(&text).unwrap_or_default()
}

#[tokio::test]
async fn relationships_at_the_edges_of_the_range_are_accepted_and_read_back_in_utc() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let path = format!("/v1/customers/{customer}/delegated-admin-relationships");
    let cases = [
        (
            ("1970-01-01T00:00:00Z", "2999-12-31T23:59:59Z"),
            ("1970-01-01T00:00:00Z", "2999-12-31T23:59:59Z"),
        ),
        (
            ("1970-01-01T01:00:00+01:00", "1970-01-01T00:00:01Z"),
            ("1970-01-01T00:00:00Z", "1970-01-01T00:00:01Z"),
        ),
        (
            ("2999-12-31T23:59:58Z", "3000-01-01T00:59:59+01:00"),
            ("2999-12-31T23:59:58Z", "2999-12-31T23:59:59Z"),
        ),
    ];

    let mut created = Vec::new();
    for ((starts_at, ends_at), (utc_start, utc_end)) in cases {
        let body = json!({"status": "active", "startsAt": starts_at, "endsAt": ends_at, "services": ["*"]});
        let relationship = admin.create(&path, body).await;
        assert_eq!(relationship["startsAt"], utc_start);
        assert_eq!(relationship["endsAt"], utc_end);
        created.push(relationship);
    }

    let listed = expect(admin.get(&path).await, StatusCode::OK, "the list").await;
    assert_eq!(listed["items"], json!(created));
    assert_eq!(created[0]["effective"], true, "the widest one is in effect");
}

#[tokio::test]
async fn subscriptions_at_the_edges_of_the_range_are_accepted_and_every_read_and_change_of_them_answers()
 {
    let app = spawn_app().await;
    let admin = app.admin();
    // The dates sent, and the term and current period stored: (termStart, termEnd,
    // currentPeriodStart, currentPeriodEnd). A term ends a year after it starts, so a term
    // starting on the last accepted day ends a year later. The answer shows them as of today
    // (a 1970 term has renewed since: `shown_today`).
    let cases = [
        (
            json!({"billingCycle": "monthly", "termStart": "1970-01-01",
                   "currentPeriodStart": "1970-01-01", "currentPeriodEnd": "1970-02-01"}),
            ["1970-01-01", "1971-01-01", "1970-01-01", "1970-02-01"],
        ),
        (
            json!({"billingCycle": "monthly", "termStart": "1970-01-01"}),
            ["1970-01-01", "1971-01-01", "1970-12-01", "1971-01-01"],
        ),
        (
            json!({"billingCycle": "monthly", "termStart": "2999-12-31"}),
            ["2999-12-31", "3000-12-31", "2999-12-31", "3000-01-31"],
        ),
        (
            json!({"billingCycle": "annual", "termStart": "2999-12-31"}),
            ["2999-12-31", "3000-12-31", "2999-12-31", "3000-12-31"],
        ),
        (
            json!({"billingCycle": "monthly", "termStart": "2999-01-01",
                   "currentPeriodStart": "2999-12-01", "currentPeriodEnd": "2999-12-31"}),
            ["2999-01-01", "3000-01-01", "2999-12-01", "2999-12-31"],
        ),
    ];

    for (dates, stored) in cases {
        let customer = Customer::new(&admin).await;
        let mut body = json!({"offerId": "m365-business-basic", "quantity": 1});
        body.as_object_mut()
            .unwrap()
            .extend(dates.as_object().unwrap().clone());
        let created = admin.create(&customer.subscriptions(), body).await;
        let step = if dates["billingCycle"] == "annual" {
            12
        } else {
            1
        };
        let shown = shown_today(step, stored);
        let fields = [
            "termStart",
            "termEnd",
            "currentPeriodStart",
            "currentPeriodEnd",
        ];
        for (field, value) in fields.iter().zip(shown) {
            assert_eq!(created[field], value, "{field} of {dates}");
        }
        let id = created["id"].as_str().unwrap();
        exercise(&admin, &customer, id, &dates.to_string()).await;
    }
}

/// Every read of the subscription and its customer answers, and a seat change, an add-on bought
/// and cancelled, a dry run and an upgrade all go through.
async fn exercise(admin: &Api<'_>, customer: &Customer, id: &str, what: &str) {
    let subscription = format!("{}/{id}", customer.subscriptions());
    let upgrades = customer.upgrades_of(id);
    let ok = StatusCode::OK;
    expect(admin.get(&subscription).await, ok, what).await;
    expect(admin.get(&customer.subscriptions()).await, ok, what).await;
    let options = expect(admin.get(&upgrades).await, ok, what).await;
    assert!(!options["items"].as_array().unwrap().is_empty(), "{what}");
    let seats = admin
        .patch_with(&subscription, &json!({"quantity": 2}), &[])
        .await;
    expect(seats, ok, what).await;
    let add_on = json!({"offerId": "teams-audio-conferencing", "quantity": 1});
    let add_on = admin
        .post(&format!("{subscription}/add-ons"), &add_on)
        .await;
    let add_on = expect(add_on, StatusCode::CREATED, what).await;
    let cancel = json!({"status": "cancelled"});
    let add_on_path = format!("{subscription}/add-ons/{}", add_on["id"].as_str().unwrap());
    expect(admin.patch_with(&add_on_path, &cancel, &[]).await, ok, what).await;
    let dry = json!({"targetOfferId": "o365-e1", "dryRun": true});
    expect(admin.post(&upgrades, &dry).await, ok, what).await;
    let upgrade = json!({"targetOfferId": "o365-e1"});
    let result = expect(
        admin.post(&upgrades, &upgrade).await,
        StatusCode::CREATED,
        what,
    )
    .await;
    let target = result["targetSubscriptionId"].as_str().unwrap();
    expect(
        admin
            .get(&format!("{}/{target}", customer.subscriptions()))
            .await,
        ok,
        what,
    )
    .await;
    for history in [
        &subscription,
        &format!("{}/{target}", customer.subscriptions()),
    ] {
        expect(admin.get(&format!("{history}/history")).await, ok, what).await;
    }
    let record = format!("/v1/customers/{}/upgrades", customer.id);
    expect(admin.get(&record).await, ok, what).await;
    let one = format!("{record}/{}", result["upgradeId"].as_str().unwrap());
    expect(admin.get(&one).await, ok, what).await;
    expect(admin.get(&customer.relationships()).await, ok, what).await;
}

#[tokio::test]
async fn the_database_refuses_dates_outside_the_range_by_the_constraints_name() {
    let app = spawn_app().await;
    let customer = Customer::new(&app.admin()).await;
    let pool = PgPool::connect(app.database_url()).await.unwrap();
    let relationships = "delegated_admin_relationships_dates_in_range";
    let subscriptions = "subscriptions_dates_in_range";
    let cases = [
        ("UPDATE delegated_admin_relationships SET starts_at = '1969-12-31 23:59:59+00'", relationships),
        ("UPDATE delegated_admin_relationships SET ends_at = '3000-01-01 00:00:00+00'", relationships),
        ("UPDATE delegated_admin_relationships SET ends_at = 'infinity'", relationships),
        ("UPDATE subscriptions SET term_start = '1969-12-31', current_period_start = '1969-12-31'", subscriptions),
        (
            "UPDATE subscriptions SET term_start = '3000-01-01', current_period_start = '3000-01-01',
                                      current_period_end = '3000-02-01', term_end = '3000-12-31'",
            subscriptions,
        ),
        ("UPDATE subscriptions SET term_end = '3001-01-01'", subscriptions),
    ];

    for (update, constraint) in cases {
        let statement = format!("{update} WHERE customer_id = $1::text::uuid");
        let error = sqlx::query(sqlx::AssertSqlSafe(statement))
            .bind(&customer.id)
            .execute(&pool)
            .await
            .expect_err(update);
        let violated = error.as_database_error().and_then(|e| e.constraint());
        assert_eq!(violated, Some(constraint), "{update}: {error}");
    }

    let edges = [
        "UPDATE delegated_admin_relationships
            SET starts_at = '1970-01-01 00:00:00+00', ends_at = '2999-12-31 23:59:59+00'",
        "UPDATE subscriptions SET term_start = '2999-12-31', current_period_start = '2999-12-31',
                                  current_period_end = '3000-12-31', term_end = '3000-12-31'",
    ];
    for update in edges {
        let statement = format!("{update} WHERE customer_id = $1::text::uuid");
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .bind(&customer.id)
            .execute(&pool)
            .await
            .expect(update);
    }
    pool.close().await;
    customer.assert_upgrades_work(&app.admin()).await;
}

/// Rows as the API stored them before it bounded dates: relationships from 1 BC, to the year
/// 12345 and wholly before 1970, a term in the year 10000, one before 4000 BC, and one in range.
const STORED_BEFORE_THE_BOUNDS: &str = "
    INSERT INTO partners (id) VALUES ('d0000000-0000-4000-8000-000000000001');
    INSERT INTO customers (id, name, market_code)
        VALUES ('c1000000-0000-4000-8000-000000000001', 'Stored before the bounds', 'US');
    INSERT INTO reseller_relationships (customer_id, partner_id)
        VALUES ('c1000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000001');
    INSERT INTO delegated_admin_relationships
        (customer_id, id, partner_id, status, starts_at, ends_at, all_services)
    SELECT 'c1000000-0000-4000-8000-000000000001', id::uuid,
           'd0000000-0000-4000-8000-000000000001', status, starts_at::timestamptz,
           ends_at::timestamptz, true
      FROM (VALUES
        ('da000000-0000-4000-8000-000000000001', 'active',
         '0001-01-01 00:00:00+00 BC', '2030-01-01 00:00:00+00'),
        ('da000000-0000-4000-8000-000000000002', 'expired',
         '2020-01-01 00:00:00+00', '12345-01-01 00:00:00+00'),
        ('da000000-0000-4000-8000-000000000003', 'terminated',
         '4713-01-01 00:00:00+00 BC', '0100-01-01 00:00:00+00')
      ) AS r (id, status, starts_at, ends_at);
    INSERT INTO subscriptions
        (customer_id, id, offer_id, channel, partner_id, quantity, status, billing_cycle,
         term_start, term_end, current_period_start, current_period_end)
    SELECT 'c1000000-0000-4000-8000-000000000001', id::uuid, 'm365-business-basic', 'partner',
           'd0000000-0000-4000-8000-000000000001', 5, 'active', 'monthly',
           term_start::date, term_end::date, period_start::date, period_end::date
      FROM (VALUES
        ('51000000-0000-4000-8000-000000000001',
         '10000-01-01', '10001-01-01', '10000-01-01', '10000-02-01'),
        ('51000000-0000-4000-8000-000000000002',
         '4000-01-01 BC', '3999-01-01 BC', '4000-01-01 BC', '4000-02-01 BC'),
        ('51000000-0000-4000-8000-000000000003',
         '2026-01-01', '2027-01-01', '2026-11-01', '2026-12-01')
      ) AS s (id, term_start, term_end, period_start, period_end);
";

#[tokio::test]
async fn dates_stored_out_of_range_before_the_bounds_are_clamped_into_it_and_read_again() {
    let database_url = database_url_named(&format!("su_test_{}", Uuid::new_v4().simple()));
    let name = database_url.rsplit('/').next().unwrap().to_owned();
    let mut server = sqlx::PgConnection::connect(&database_url_named("postgres"))
        .await
        .unwrap();
    server
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .await
        .unwrap();
    server.close().await.unwrap();
    let pool = PgPool::connect(&database_url).await.unwrap();
    MIGRATOR
        .run_to(DATE_BOUNDS_MIGRATION - 1, &pool)
        .await
        .unwrap();
    sqlx::raw_sql(STORED_BEFORE_THE_BOUNDS)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let app = spawn_app_on(database_url).await;
    let partner = Uuid::parse_str("d0000000-0000-4000-8000-000000000001").unwrap();
    let admin = app.api(partner, &["global_admin"]);
    let customer = "/v1/customers/c1000000-0000-4000-8000-000000000001";

    let relationships = admin
        .get(&format!("{customer}/delegated-admin-relationships"))
        .await;
    let relationships = expect(relationships, StatusCode::OK, "relationships").await;
    let periods: Vec<_> = relationships["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["startsAt"].as_str().unwrap(),
                r["endsAt"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        periods,
        [
            ("1970-01-01T00:00:00Z", "2030-01-01T00:00:00Z"),
            ("2020-01-01T00:00:00Z", "2999-12-31T23:59:59Z"),
            ("1970-01-01T00:00:00Z", "1970-01-01T00:00:01Z"),
        ]
    );
    // As clamped and stored; a read shows them as of today (`shown_today`).
    let subscriptions = [
        (
            "51000000-0000-4000-8000-000000000001",
            ["2999-12-31", "3000-12-31", "2999-12-31", "3000-12-31"],
        ),
        (
            "51000000-0000-4000-8000-000000000002",
            ["1970-01-01", "1970-01-02", "1970-01-01", "1970-01-02"],
        ),
        (
            "51000000-0000-4000-8000-000000000003",
            ["2026-01-01", "2027-01-01", "2026-11-01", "2026-12-01"],
        ),
    ];
    for (id, dates) in subscriptions {
        let path = format!("{customer}/subscriptions/{id}");
        let read = expect(admin.get(&path).await, StatusCode::OK, id).await;
        let stored = [
            "termStart",
            "termEnd",
            "currentPeriodStart",
            "currentPeriodEnd",
        ]
        .map(|f| read[f].clone());
        assert_eq!(stored, shown_today(1, dates).map(Value::from), "{id}");
        expect(
            admin.get(&format!("{path}/upgrades")).await,
            StatusCode::OK,
            id,
        )
        .await;
    }
    let upgrade = json!({"targetOfferId": "o365-e1"});
    let path = format!("{customer}/subscriptions/51000000-0000-4000-8000-000000000001/upgrades");
    expect(
        admin.post(&path, &upgrade).await,
        StatusCode::CREATED,
        "the upgrade",
    )
    .await;
}
