//! Billing periods move with time: a subscription bought long ago is shown, and billed, in the
//! term and period that contain today; a cancelled one keeps what was stored.

use chrono::{Months, NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::helpers::{Api, json_ok, months_ago, spawn_app};

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn plus_months(day: NaiveDate, months: u32) -> NaiveDate {
    day.checked_add_months(Months::new(months)).unwrap()
}

/// The `step`-month slice `[start + k × step, start + (k + 1) × step)` that contains `day`,
/// counted one slice at a time from `start`.
fn slice_containing(start: NaiveDate, step: u32, day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let mut k = 0;
    while plus_months(start, (k + 1) * step) <= day {
        k += 1;
    }
    (
        plus_months(start, k * step),
        plus_months(start, (k + 1) * step),
    )
}

/// `amount × part ÷ whole`, rounded half to even.
fn share(amount: i64, part: i64, whole: i64) -> i64 {
    let (quotient, remainder) = (amount * part / whole, amount * part % whole);
    match (2 * remainder).cmp(&whole) {
        std::cmp::Ordering::Less => quotient,
        std::cmp::Ordering::Greater => quotient + 1,
        std::cmp::Ordering::Equal => quotient + quotient % 2,
    }
}

fn day(value: &Value) -> NaiveDate {
    value.as_str().unwrap().parse().unwrap()
}

/// The term and period a subscription shows: (termStart, termEnd, currentPeriodStart,
/// currentPeriodEnd).
fn shown(subscription: &Value) -> [NaiveDate; 4] {
    [
        "termStart",
        "termEnd",
        "currentPeriodStart",
        "currentPeriodEnd",
    ]
    .map(|field| day(&subscription[field]))
}

struct Bought {
    customer: String,
    path: String,
    body: Value,
    etag: String,
}

/// A customer (with an all-services relationship) who bought 5 seats of Business Basic with
/// the term starting `term_start`.
async fn bought(admin: &Api<'_>, cycle: &str, term_start: NaiveDate) -> Bought {
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    let subscriptions = format!("/v1/customers/{customer}/subscriptions");
    let response = admin
        .post(
            &subscriptions,
            &json!({"offerId": "m365-business-basic", "quantity": 5, "billingCycle": cycle,
                    "termStart": term_start}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let path = format!("{subscriptions}/{}", body["id"].as_str().unwrap());
    Bought {
        customer,
        path,
        body,
        etag,
    }
}

#[tokio::test]
async fn a_monthly_subscription_bought_13_months_ago_is_shown_and_billed_in_the_period_containing_today()
 {
    let app = spawn_app().await;
    let admin = app.admin();
    let term_start = months_ago(13);
    let sub = bought(&admin, "monthly", term_start).await;

    let (term, term_end) = slice_containing(term_start, 12, today());
    let (start, end) = slice_containing(term_start, 1, today());
    assert_eq!(term, plus_months(term_start, 12), "the second term");
    let expected = [term, term_end, start, end];
    assert_eq!(shown(&sub.body), expected, "the purchase's answer");
    let read = admin.get(&sub.path).await;
    assert_eq!(read.headers()["etag"].to_str().unwrap(), sub.etag);
    assert_eq!(shown(&json_ok(read).await), expected, "a read");
    let listed = json_ok(
        admin
            .get(&format!("/v1/customers/{}/subscriptions", sub.customer))
            .await,
    )
    .await;
    assert_eq!(shown(&listed["items"][0]), expected, "the list");

    let remaining = (end - today()).num_days();
    let days = (end - start).num_days();
    let preview = json_ok(
        admin
            .post(
                &format!("{}/upgrades", sub.path),
                &json!({"targetOfferId": "m365-business-standard", "dryRun": true}),
            )
            .await,
    )
    .await;
    let options = json_ok(admin.get(&format!("{}/upgrades", sub.path)).await).await;
    let listed = options["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["targetOfferId"] == "m365-business-standard")
        .unwrap();
    assert_eq!(
        listed["billingPreview"], preview["billing"],
        "the options agree"
    );
    let billing = &preview["billing"];
    assert_eq!(day(&billing["effectiveDate"]), today());
    assert_eq!(day(&billing["periodEnd"]), end);
    assert_eq!(billing["remainingDays"], remaining);
    assert_eq!(billing["periodDays"], days);
    assert_eq!(billing["fullCredit"], false);
    // 5 seats × 6.00 USD credited and 5 × 12.50 USD charged over the days left.
    assert_eq!(billing["credit"], share(5 * 600, remaining, days));
    assert_eq!(billing["charge"], share(5 * 1250, remaining, days));

    let seats = json_ok(
        admin
            .patch_with(&sub.path, &json!({"quantity": 8}), &[])
            .await,
    )
    .await;
    assert_eq!(shown(&seats), expected, "the seat change's answer");
    assert_eq!(day(&seats["billing"]["periodEnd"]), end);
    assert_eq!(seats["billing"]["remainingDays"], remaining);
    assert_eq!(seats["billing"]["periodDays"], days);
    assert_eq!(seats["billing"]["charge"], share(3 * 600, remaining, days));

    let add_on = admin
        .create(
            &format!("{}/add-ons", sub.path),
            json!({"offerId": "teams-audio-conferencing", "quantity": 2}),
        )
        .await;
    assert_eq!(day(&add_on["billing"]["periodEnd"]), end);
    assert_eq!(add_on["billing"]["charge"], share(2 * 400, remaining, days));
}

#[tokio::test]
async fn an_upgrade_of_a_subscription_bought_13_months_ago_is_coterminous_with_its_current_term_which_the_source_keeps()
 {
    let app = spawn_app().await;
    let admin = app.admin();
    let term_start = months_ago(13);
    let sub = bought(&admin, "monthly", term_start).await;
    let (_, term_end) = slice_containing(term_start, 12, today());
    let (_, end) = slice_containing(term_start, 1, today());

    let result = admin
        .create(
            &format!("{}/upgrades", sub.path),
            json!({"targetOfferId": "m365-business-standard"}),
        )
        .await;
    let target = result["targetSubscriptionId"].as_str().unwrap();
    let target = json_ok(
        admin
            .get(&format!(
                "/v1/customers/{}/subscriptions/{target}",
                sub.customer
            ))
            .await,
    )
    .await;

    assert_eq!(shown(&target), [today(), term_end, today(), end]);
    let (term, _) = slice_containing(term_start, 12, today());
    let (start, _) = slice_containing(term_start, 1, today());
    let upgraded = [term, term_end, start, end];
    assert_eq!(shown(&json_ok(admin.get(&sub.path).await).await), upgraded);
    assert_eq!(stored(app.database_url(), &sub.body["id"]).await, upgraded);
}

#[tokio::test]
async fn an_annual_subscription_bought_25_months_ago_is_in_its_third_term() {
    let app = spawn_app().await;
    let admin = app.admin();
    let term_start = months_ago(25);
    let sub = bought(&admin, "annual", term_start).await;

    let (term, term_end) = slice_containing(term_start, 12, today());
    assert_eq!(term, plus_months(term_start, 24), "the third term");
    let expected = [term, term_end, term, term_end];
    assert_eq!(shown(&json_ok(admin.get(&sub.path).await).await), expected);
    let preview = json_ok(
        admin
            .post(
                &format!("{}/upgrades", sub.path),
                &json!({"targetOfferId": "m365-business-standard", "dryRun": true}),
            )
            .await,
    )
    .await;
    assert_eq!(day(&preview["billing"]["periodEnd"]), term_end);
    assert_eq!(
        preview["billing"]["periodDays"],
        (term_end - term).num_days()
    );
}

#[tokio::test]
async fn a_cancelled_subscription_keeps_the_term_and_period_it_was_cancelled_in() {
    let app = spawn_app().await;
    let admin = app.admin();
    let term_start = months_ago(13);
    let sub = bought(&admin, "monthly", term_start).await;
    let (term, term_end) = slice_containing(term_start, 12, today());
    let (start, end) = slice_containing(term_start, 1, today());
    let current = [term, term_end, start, end];

    let cancelled = json_ok(
        admin
            .patch_with(&sub.path, &json!({"status": "cancelled"}), &[])
            .await,
    )
    .await;

    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(shown(&cancelled), current);
    assert_eq!(shown(&json_ok(admin.get(&sub.path).await).await), current);
    // Stored, so that it is what every later read shows, whatever the day.
    assert_eq!(stored(app.database_url(), &sub.body["id"]).await, current);
}

/// The term and period stored in the subscription's row.
async fn stored(database_url: &str, id: &Value) -> [NaiveDate; 4] {
    let mut conn = sqlx::PgConnection::connect(database_url).await.unwrap();
    let id: uuid::Uuid = id.as_str().unwrap().parse().unwrap();
    let row: (NaiveDate, NaiveDate, NaiveDate, NaiveDate) = sqlx::query_as(
        "SELECT term_start, term_end, current_period_start, current_period_end
           FROM subscriptions WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    [row.0, row.1, row.2, row.3]
}

/// What a live subscription stored with `stored` (termStart, termEnd, currentPeriodStart,
/// currentPeriodEnd) and billed every `step` months shows today: the stored dates while the
/// stored period runs, else the term and period containing today, counted from 12 months before
/// the stored term's end.
pub fn shown_today(step: u32, stored: [&str; 4]) -> [String; 4] {
    let stored = stored.map(|d| d.parse::<NaiveDate>().unwrap());
    let [term, term_end, start, end] = if today() < stored[3] {
        stored
    } else {
        let nominal = stored[1].checked_sub_months(Months::new(12)).unwrap();
        let (term, term_end) = slice_containing(nominal, 12, today());
        let (start, end) = slice_containing(nominal, step, today());
        [term, term_end, start, end]
    };
    [term, term_end, start, end].map(|d| d.to_string())
}
