//! Co-terming over HTTP (docs/new-commerce.md, "Co-terming"): the term ends a purchase may ask
//! for, a first term ended on one of them and its shorter first period billed daily, and every
//! other date refused with the list. Every date and amount is computed here.

use chrono::{Datelike, Months, NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Api, assert_problem, date, json_ok, months_ago, round_half_even, spawn_app};

/// Business Basic's price in the US on P1Y, per seat per month, in cents.
const BASIC_US: i64 = 600;

/// The last day of every calendar month after `start` and no later than `months` after it.
fn month_ends(start: NaiveDate, months: u32) -> Vec<NaiveDate> {
    let full = start + Months::new(months);
    let first = start.with_day(1).unwrap();
    (0..=months)
        .map(|k| (first + Months::new(k + 1)).pred_opt().unwrap())
        .filter(|end| *end > start && *end <= full)
        .collect()
}

/// The billing period of `months` months, counted back from `end`, that holds `day`.
fn period_back_from(end: NaiveDate, months: u32, day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let mut k = 0;
    loop {
        let start = end - Months::new((k + 1) * months);
        if day >= start {
            return (start, end - Months::new(k * months));
        }
        k += 1;
    }
}

/// The term ends allowed for a purchase of the plan `query` names.
async fn term_end_dates(api: &Api<'_>, customer: &str, query: &str) -> reqwest::Response {
    api.get(&format!(
        "/v1/customers/{customer}/custom-term-end-dates?{query}"
    ))
    .await
}

#[tokio::test]
async fn a_first_term_ends_on_an_allowed_date_and_its_shorter_first_period_is_billed_daily() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let subscriptions = format!("/v1/customers/{customer}/subscriptions");
    let today = Utc::now().date_naive();
    // The anchor: a one-year subscription bought three months ago (and one of another term
    // duration, and a legacy one, which do not count).
    let anchor = admin
        .create(
            &subscriptions,
            json!({"offerId": "m365-business-basic", "quantity": 2, "billingCycle": "monthly",
                   "termStart": months_ago(3).to_string()}),
        )
        .await;
    let anchor_end = months_ago(3) + Months::new(12);
    assert_eq!(date(&anchor["termEnd"]), anchor_end);
    admin
        .create(
            &subscriptions,
            json!({"offerId": "m365-business-basic", "quantity": 1, "billingCycle": "monthly",
                   "termDuration": "P1M"}),
        )
        .await;
    admin
        .create(
            &subscriptions,
            json!({"offerId": "m365-business-basic", "quantity": 1, "billingCycle": "monthly",
                   "commerce": "legacy", "termStart": months_ago(5).to_string()}),
        )
        .await;

    let listed =
        json_ok(term_end_dates(&admin, &customer, "termDuration=P1Y&billingCycle=monthly").await)
            .await;
    let mut expected: Vec<(NaiveDate, &str, Value)> = month_ends(today, 12)
        .into_iter()
        .map(|d| (d, "calendar_month_end", Value::Null))
        .collect();
    expected.push((anchor_end, "subscription_term_end", anchor["id"].clone()));
    expected.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let items: Vec<(NaiveDate, &str, Value)> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let id = i.get("subscriptionId").cloned().unwrap_or(Value::Null);
            (date(&i["date"]), i["reason"].as_str().unwrap(), id)
        })
        .collect();
    assert_eq!(items, expected);

    // Co-termed with the anchor, billed monthly: the first period is the part from today of the
    // month counted back from the anchor's end.
    let bought = admin
        .create(
            &subscriptions,
            json!({"offerId": "m365-business-basic", "quantity": 5, "billingCycle": "monthly",
                   "customTermEndDate": anchor_end.to_string()}),
        )
        .await;
    assert_eq!(date(&bought["termStart"]), today);
    assert_eq!(date(&bought["termEnd"]), anchor_end);
    let (start, end) = period_back_from(anchor_end, 1, today);
    assert_eq!(date(&bought["currentPeriodStart"]), today);
    assert_eq!(date(&bought["currentPeriodEnd"]), end);
    let (days, period_days) = ((end - today).num_days(), (end - start).num_days());
    let billing = &bought["firstPeriodBilling"];
    assert_eq!(
        billing["charge"],
        round_half_even(5 * BASIC_US * days, period_days)
    );
    assert_eq!(billing["remainingDays"], days);
    assert_eq!(billing["periodDays"], period_days);
    assert_eq!(bought["unitPrice"], BASIC_US);
    let read = json_ok(
        admin
            .get(&format!(
                "{subscriptions}/{}",
                bought["id"].as_str().unwrap()
            ))
            .await,
    )
    .await;
    assert_eq!(date(&read["termEnd"]), anchor_end);

    // A calendar month's end six months on, billed annually: one period, [end − 1 year, end),
    // charged for its days from today.
    let month_end = month_ends(today, 12)[5];
    let annual = admin
        .create(
            &subscriptions,
            json!({"offerId": "m365-business-basic", "quantity": 3, "billingCycle": "annual",
                   "customTermEndDate": month_end.to_string()}),
        )
        .await;
    assert_eq!(date(&annual["termEnd"]), month_end);
    assert_eq!(date(&annual["currentPeriodEnd"]), month_end);
    let year = (month_end - (month_end - Months::new(12))).num_days();
    let days = (month_end - today).num_days();
    assert_eq!(
        annual["firstPeriodBilling"]["charge"],
        round_half_even(3 * BASIC_US * 12 * days, year)
    );

    // Every other date is refused with the dates allowed, which now include the term ends of
    // the two subscriptions just bought.
    let listed =
        json_ok(term_end_dates(&admin, &customer, "termDuration=P1Y&billingCycle=monthly").await)
            .await;
    let anchored = |id: &Value, end: NaiveDate| {
        listed["items"].as_array().unwrap().iter().any(|i| {
            i["reason"] == "subscription_term_end"
                && i["subscriptionId"] == *id
                && date(&i["date"]) == end
        })
    };
    assert!(anchored(&bought["id"], anchor_end));
    assert!(anchored(&annual["id"], month_end));
    let not_month_end = [1, 2]
        .map(|back| month_ends(today, 12)[2] - chrono::Days::new(back))
        .into_iter()
        .find(|day| *day != anchor_end)
        .unwrap();
    for refused in [
        not_month_end,
        today,
        today + Months::new(13),
        months_ago(1).with_day(1).unwrap().pred_opt().unwrap(),
    ] {
        let problem = assert_problem(
            admin
                .post(
                    &subscriptions,
                    &json!({"offerId": "m365-business-basic", "quantity": 1,
                            "billingCycle": "monthly", "customTermEndDate": refused.to_string()}),
                )
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "custom_term_end_not_allowed",
        )
        .await;
        assert_eq!(problem["allowedDates"], listed["items"], "{refused}");
    }
    let legacy = assert_problem(
        admin
            .post(
                &subscriptions,
                &json!({"offerId": "m365-business-basic", "quantity": 1, "billingCycle": "monthly",
                        "commerce": "legacy", "customTermEndDate": month_end.to_string()}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "custom_term_end_not_allowed",
    )
    .await;
    assert_eq!(legacy["allowedDates"], json!([]));
    assert_problem(
        admin
            .post(
                &subscriptions,
                &json!({"offerId": "m365-business-basic", "quantity": 1, "billingCycle": "monthly",
                        "customTermEndDate": "2027-02-30"}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_date",
    )
    .await;

    // A monthly term: the one month end within it.
    let monthly =
        json_ok(term_end_dates(&admin, &customer, "termDuration=P1M&billingCycle=monthly").await)
            .await;
    let month_dates: Vec<NaiveDate> = monthly["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["reason"] == "calendar_month_end")
        .map(|i| date(&i["date"]))
        .collect();
    assert_eq!(month_dates, month_ends(today, 1));

    assert_problem(
        term_end_dates(&admin, &customer, "termDuration=P1M&billingCycle=annual").await,
        StatusCode::BAD_REQUEST,
        "invalid_plan",
    )
    .await;
    let stranger = app.api(Uuid::new_v4(), &["global_admin"]);
    assert_problem(
        stranger
            .get(&format!("/v1/customers/{customer}/custom-term-end-dates"))
            .await,
        StatusCode::NOT_FOUND,
        "customer_not_found",
    )
    .await;
}
