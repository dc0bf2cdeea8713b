//! New commerce over HTTP (docs/new-commerce.md): the commerce model and plan of a purchase, the
//! price it locks, its 168-hour windows, seat reductions and cancellations inside and outside
//! them, and legacy subscriptions keeping the legacy rules. Every amount is computed here from the
//! catalog's price (Business Basic, US: 6.00 USD per seat per month), never read from the answer.

use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Api, assert_problem, date, failure_codes, json_ok, months_ago, round_half_even, spawn_app,
    wait_for_rows,
};

/// Business Basic's catalog price in the US, per seat per month, in cents.
const BASIC_US: i64 = 600;

fn buy(offer: &str, quantity: i64, plan: Value) -> Value {
    let mut body = json!({"offerId": offer, "quantity": quantity});
    for (key, value) in plan.as_object().unwrap() {
        body[key] = value.clone();
    }
    body
}

fn instant(value: &Value) -> DateTime<Utc> {
    value.as_str().unwrap().parse().unwrap()
}

/// `amount` for the days of `subscription`'s current period left from today (inclusive).
fn prorated(amount: i64, subscription: &Value) -> i64 {
    let (start, end) = (
        date(&subscription["currentPeriodStart"]),
        date(&subscription["currentPeriodEnd"]),
    );
    let today = Utc::now()
        .date_naive()
        .clamp(start, end.pred_opt().unwrap());
    let period = (end - start).num_days();
    round_half_even(amount * (end - today).num_days(), period)
}

async fn purchase(admin: &Api<'_>, customer: &str, body: &Value) -> reqwest::Response {
    admin
        .post(&format!("/v1/customers/{customer}/subscriptions"), body)
        .await
}

/// Buys `body` for `customer`: the subscription as answered, and its path.
async fn purchased(admin: &Api<'_>, customer: &str, body: &Value) -> (Value, String) {
    let response = purchase(admin, customer, body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let subscription: Value = response.json().await.unwrap();
    let id = subscription["id"].as_str().unwrap();
    let path = format!("/v1/customers/{customer}/subscriptions/{id}");
    (subscription, path)
}

#[tokio::test]
async fn a_purchase_is_new_commerce_p1y_with_its_price_locked_and_a_168_hour_window() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let asked = Utc::now();
    let bought = purchase(
        &admin,
        &customer,
        &buy("m365-business-basic", 5, json!({"billingCycle": "monthly"})),
    )
    .await;
    assert_eq!(bought.status(), StatusCode::CREATED);
    let bought: Value = bought.json().await.unwrap();
    let answered = Utc::now();

    assert_eq!(bought["commerce"], "new");
    assert_eq!(bought["termDuration"], "P1Y");
    assert_eq!(bought["billingCycle"], "monthly");
    assert_eq!(bought["unitPrice"], BASIC_US);
    let start = date(&bought["termStart"]);
    assert_eq!(date(&bought["termEnd"]), start + Months::new(12));
    let until = instant(&bought["cancellationAllowedUntil"]);
    let window = Duration::hours(168);
    assert!(asked + window - Duration::seconds(1) <= until && until <= answered + window);
    assert_eq!(
        bought["refundableQuantity"],
        json!([{"quantity": 5, "allowedUntil": bought["cancellationAllowedUntil"]}])
    );

    let path = format!(
        "/v1/customers/{customer}/subscriptions/{}",
        bought["id"].as_str().unwrap()
    );
    let history = json_ok(admin.get(&format!("{path}/history")).await).await;
    let created = &history["items"][0];
    assert_eq!(created["changeKind"], "created");
    assert_eq!(created["after"]["commerce"], "new");
    assert_eq!(created["after"]["termDuration"], "P1Y");
    assert_eq!(created["after"]["unitPrice"], BASIC_US);
    assert_eq!(created["after"]["refundableQuantity"][0]["quantity"], 5);
}

#[tokio::test]
async fn every_plan_sold_is_bought_at_its_price_and_term_and_every_other_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    // A P1M term costs 20 % more: 6.00 x 1.2 = 7.20.
    let monthly_term = BASIC_US * 12 / 10;
    let sold = [
        ("P1M", "monthly", 1, monthly_term),
        ("P1Y", "monthly", 12, BASIC_US),
        ("P1Y", "annual", 12, BASIC_US),
        ("P3Y", "monthly", 36, BASIC_US),
        ("P3Y", "annual", 36, BASIC_US),
        ("P3Y", "triennial", 36, BASIC_US),
    ];
    for (term, cycle, months, price) in sold {
        let body = buy(
            "m365-business-basic",
            1,
            json!({"termDuration": term, "billingCycle": cycle}),
        );
        let bought = purchase(&admin, &customer, &body).await;
        assert_eq!(bought.status(), StatusCode::CREATED, "{term} {cycle}");
        let bought: Value = bought.json().await.unwrap();
        assert_eq!(bought["termDuration"], term);
        assert_eq!(bought["unitPrice"], price, "{term} {cycle}");
        let start = date(&bought["termStart"]);
        assert_eq!(
            date(&bought["termEnd"]),
            start + Months::new(months),
            "{term}"
        );
        let period_months = match cycle {
            "monthly" => 1,
            "annual" => 12,
            _ => 36,
        };
        assert_eq!(
            date(&bought["currentPeriodEnd"]),
            start + Months::new(period_months),
            "{term} {cycle}"
        );
    }
    for (term, cycle) in [
        ("P1M", "annual"),
        ("P1M", "triennial"),
        ("P1Y", "triennial"),
    ] {
        let body = buy(
            "m365-business-basic",
            1,
            json!({"termDuration": term, "billingCycle": cycle}),
        );
        let refused = purchase(&admin, &customer, &body).await;
        let problem = assert_problem(refused, StatusCode::BAD_REQUEST, "invalid_plan").await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("P1M billed monthly") && detail.contains("P3Y billed triennial"),
            "the refusal lists the plans sold: {detail}"
        );
    }
    for (term, cycle) in [("P1M", "monthly"), ("P3Y", "annual"), ("P1Y", "triennial")] {
        let body = buy(
            "m365-business-basic",
            1,
            json!({"commerce": "legacy", "termDuration": term, "billingCycle": cycle}),
        );
        let refused = purchase(&admin, &customer, &body).await;
        assert_problem(refused, StatusCode::BAD_REQUEST, "invalid_plan").await;
    }
    let listed = json_ok(
        admin
            .get(&format!("/v1/customers/{customer}/subscriptions"))
            .await,
    )
    .await;
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        sold.len(),
        "nothing refused was written"
    );
}

/// Closes the purchase window of a subscription as if 168 hours had passed, leaving open only
/// the windows of seats added within `open_seats` (quantity, hours still left).
async fn close_purchase_window(app: &crate::helpers::TestApp, id: &str, open: &[(i64, i64)]) {
    let windows: Vec<Value> = open
        .iter()
        .map(|(quantity, hours)| {
            json!({"quantity": quantity, "allowedUntil": Utc::now() + Duration::hours(*hours)})
        })
        .collect();
    let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
    sqlx::query(
        "UPDATE subscriptions
            SET cancellation_window_ends_at = now() - interval '1 hour', seat_windows = $2
          WHERE id = $1::uuid",
    )
    .bind(id)
    .bind(Value::from(windows))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

#[tokio::test]
async fn seats_removed_inside_their_windows_are_refunded_daily_and_beyond_them_refused() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let body = buy(
        "m365-business-basic",
        10,
        json!({"billingCycle": "monthly"}),
    );
    let (bought, path) = purchased(&admin, &customer, &body).await;
    let id = bought["id"].as_str().unwrap().to_owned();

    // Five seats added: charged daily at the locked price, each with a window of its own.
    let grown = json_ok(admin.patch_with(&path, &json!({"quantity": 15}), &[]).await).await;
    assert_eq!(grown["billing"]["charge"], prorated(5 * BASIC_US, &grown));
    let windows = grown["refundableQuantity"].as_array().unwrap();
    assert_eq!(
        windows
            .iter()
            .map(|w| w["quantity"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [10, 5]
    );

    // A week later only the five added seats (three days left) are refundable.
    close_purchase_window(&app, &id, &[(5, 72)]).await;
    let before = json_ok(admin.get(&path).await).await;
    assert_eq!(before["cancellationAllowedUntil"], Value::Null);
    let refused = admin.patch_with(&path, &json!({"quantity": 9}), &[]).await;
    let problem = assert_problem(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "seat_reduction_not_allowed",
    )
    .await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("down to 10 seats"), "{detail}");
    assert!(detail.contains("Schedule the seat change"), "{detail}");
    let after = json_ok(admin.get(&path).await).await;
    assert_eq!(after["quantity"], 15);
    assert_eq!(after["updatedAt"], before["updatedAt"], "nothing written");

    // Three of them: refunded daily over the rest of the period, at the locked price.
    let fewer = json_ok(admin.patch_with(&path, &json!({"quantity": 12}), &[]).await).await;
    assert_eq!(fewer["quantity"], 12);
    assert_eq!(fewer["billing"]["credit"], prorated(3 * BASIC_US, &fewer));
    assert_eq!(fewer["billing"]["charge"], 0);
    assert_eq!(fewer["refundableQuantity"][0]["quantity"], 2);
    assert_eq!(fewer["refundableQuantity"].as_array().unwrap().len(), 1);

    // Cancelling after the purchase window: refused, with the remedy.
    let cancel = admin
        .patch_with(&path, &json!({"status": "cancelled"}), &[])
        .await;
    let problem = assert_problem(
        cancel,
        StatusCode::UNPROCESSABLE_ENTITY,
        "cancellation_window_closed",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("autoRenew off")
    );
    assert_eq!(json_ok(admin.get(&path).await).await["status"], "active");
}

#[tokio::test]
async fn a_cancellation_inside_the_window_refunds_every_seat_daily_at_the_locked_price() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    // Bought now, its (annual) period started two days ago: cancelled on the period's third day.
    let started = Utc::now().date_naive() - Duration::days(2);
    let body = buy(
        "m365-business-basic",
        4,
        json!({"termDuration": "P1Y", "billingCycle": "annual",
               "termStart": started.to_string()}),
    );
    let (bought, path) = purchased(&admin, &customer, &body).await;
    let cancelled = json_ok(
        admin
            .patch_with(&path, &json!({"status": "cancelled"}), &[])
            .await,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    // Four seats x 6.00 x 12 months, for the days of the year left.
    let period = (date(&bought["currentPeriodEnd"]) - started).num_days();
    assert_eq!(cancelled["billing"]["remainingDays"], period - 2);
    assert_eq!(
        cancelled["billing"]["credit"],
        prorated(4 * BASIC_US * 12, &bought)
    );
    if period == 365 {
        // The worked example: 4 x 6.00 x 12 x 363 / 365 = 286.421... -> 286.42.
        assert_eq!(cancelled["billing"]["credit"], 28_642);
    }
    assert_eq!(
        cancelled["billing"]["net"],
        -prorated(4 * BASIC_US * 12, &bought)
    );
}

#[tokio::test]
async fn legacy_subscriptions_keep_the_legacy_rules() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let body = buy(
        "m365-business-basic",
        10,
        json!({"commerce": "legacy", "billingCycle": "monthly"}),
    );
    let (bought, path) = purchased(&admin, &customer, &body).await;
    assert_eq!(bought["commerce"], "legacy");
    assert_eq!(bought["termDuration"], "P1Y");
    assert_eq!(bought["unitPrice"], Value::Null);
    assert_eq!(bought["cancellationAllowedUntil"], Value::Null);
    assert_eq!(bought["refundableQuantity"], json!([]));
    close_purchase_window(&app, bought["id"].as_str().unwrap(), &[]).await;

    let fewer = json_ok(admin.patch_with(&path, &json!({"quantity": 3}), &[]).await).await;
    assert_eq!(fewer["billing"]["credit"], prorated(7 * BASIC_US, &fewer));
    let cancelled = json_ok(
        admin
            .patch_with(&path, &json!({"status": "cancelled"}), &[])
            .await,
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
}

#[tokio::test]
async fn a_renewal_takes_the_price_in_force_and_opens_a_new_window_and_the_lock_holds_till_then() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    // A one-month term bought a month ago: it ends today.
    let body = buy(
        "m365-business-basic",
        5,
        json!({"termDuration": "P1M", "billingCycle": "monthly",
               "termStart": months_ago(1).to_string()}),
    );
    let (bought, path) = purchased(&admin, &customer, &body).await;
    let locked = BASIC_US * 12 / 10;
    assert_eq!(bought["unitPrice"], locked);

    // A new price list takes effect today: the locked price still bills the added seat.
    let raised = 800;
    price_from_today(&app, "m365-business-basic", ("P1M", "monthly"), raised).await;
    let grown = json_ok(admin.patch_with(&path, &json!({"quantity": 6}), &[]).await).await;
    assert_eq!(grown["billing"]["charge"], prorated(locked, &grown));
    assert_eq!(grown["unitPrice"], locked);

    let _worker = app.renewing_instance().await;
    wait_for_rows(
        app.database_url(),
        "SELECT count(*) FROM subscription_history WHERE change_kind = 'renewal'",
        "the term did not renew",
    )
    .await;
    let renewed = json_ok(admin.get(&path).await).await;
    assert_eq!(renewed["unitPrice"], raised, "re-priced at the renewal");
    let starts = date(&renewed["termStart"]);
    assert_eq!(starts, Utc::now().date_naive());
    let window = starts.and_hms_opt(0, 0, 0).unwrap().and_utc() + Duration::hours(168);
    assert_eq!(instant(&renewed["cancellationAllowedUntil"]), window);
    assert_eq!(
        renewed["refundableQuantity"],
        json!([{"quantity": 6, "allowedUntil": renewed["cancellationAllowedUntil"]}])
    );
    let history = json_ok(admin.get(&format!("{path}/history")).await).await;
    let renewal = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["changeKind"] == "renewal")
        .unwrap();
    assert_eq!(renewal["before"]["unitPrice"], locked);
    assert_eq!(renewal["after"]["unitPrice"], raised);
}

/// Loads a price list taking effect today for `offer` in the US on `plan`.
async fn price_from_today(
    app: &crate::helpers::TestApp,
    offer: &str,
    (term, cycle): (&str, &str),
    price: i64,
) {
    let list = json!({"effectiveFrom": Utc::now().date_naive().to_string(), "prices": [
        {"offerId": offer, "market": "US", "termDuration": term, "billingCycle": cycle,
         "monthlyUnitPrice": price}]});
    let loaded = load_prices(app, &list);
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
}

#[tokio::test]
async fn an_upgrade_credits_the_locked_price_daily_even_in_the_first_month_and_charges_todays() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    let body = buy(
        "m365-business-basic",
        10,
        json!({"billingCycle": "monthly"}),
    );
    let (source, path) = purchased(&admin, &customer, &body).await;
    // Both prices change today: the source keeps its locked 6.00, the target is bought at the
    // new 13.00.
    price_from_today(&app, "m365-business-basic", ("P1Y", "monthly"), 650).await;
    let standard = 1_300;
    price_from_today(&app, "m365-business-standard", ("P1Y", "monthly"), standard).await;

    let asked = json!({"targetOfferId": "m365-business-standard", "dryRun": true});
    let preview = admin.post(&format!("{path}/upgrades"), &asked).await;
    assert_eq!(preview.status(), StatusCode::OK);
    let preview: Value = preview.json().await.unwrap();
    let credit = prorated(10 * BASIC_US, &source);
    let charge = prorated(10 * standard, &source);
    assert_eq!(
        preview["billing"]["fullCredit"], false,
        "no first-month full credit"
    );
    assert_eq!(preview["billing"]["credit"], credit);
    assert_eq!(preview["billing"]["charge"], charge);
    assert_eq!(preview["billing"]["net"], charge - credit);

    let asked = json!({"targetOfferId": "m365-business-standard"});
    let done = admin.post(&format!("{path}/upgrades"), &asked).await;
    assert_eq!(done.status(), StatusCode::CREATED);
    let done: Value = done.json().await.unwrap();
    assert_eq!(
        done["billing"], preview["billing"],
        "the dry run answers what the upgrade does"
    );
    let target = json_ok(
        admin
            .get(&format!(
                "/v1/customers/{customer}/subscriptions/{}",
                done["targetSubscriptionId"].as_str().unwrap()
            ))
            .await,
    )
    .await;
    assert_eq!(target["commerce"], "new");
    assert_eq!(target["termDuration"], "P1Y");
    assert_eq!(target["billingCycle"], "monthly");
    assert_eq!(target["unitPrice"], standard);
    assert_eq!(target["termEnd"], source["termEnd"]);
    assert_eq!(
        target["cancellationAllowedUntil"], source["cancellationAllowedUntil"],
        "the target inherits its source's window"
    );
}

#[tokio::test]
async fn seats_move_into_an_existing_target_only_when_its_term_is_as_long_and_ends_no_earlier() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    let bought = |offer, quantity, term| {
        buy(
            offer,
            quantity,
            json!({"termDuration": term, "billingCycle": "monthly"}),
        )
    };
    let (source, path) =
        purchased(&admin, &customer, &bought("m365-business-basic", 10, "P1Y")).await;
    let (short, short_path) = purchased(
        &admin,
        &customer,
        &bought("m365-business-standard", 2, "P1M"),
    )
    .await;
    let into = |target: &Value| {
        json!({"targetOfferId": "m365-business-standard", "partial": true, "quantity": 3,
               "targetSubscriptionId": target["id"]})
    };
    // The listing's partial option checks the same conditions against the partner's target.
    let options = json_ok(admin.get(&format!("{path}/upgrades")).await).await;
    let standard = options["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["targetOfferId"] == "m365-business-standard")
        .unwrap();
    let partial = &standard["partialUpgrade"];
    assert_eq!(partial["targetSubscriptionId"], short["id"]);
    assert_eq!(partial["possible"], false);
    assert_eq!(
        failure_codes(&partial["failures"]),
        ["target_term_shorter", "target_ends_before_source"]
    );
    let refused = admin.post(&format!("{path}/upgrades"), &into(&short)).await;
    let problem = assert_problem(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "upgrade_not_eligible",
    )
    .await;
    assert_eq!(
        failure_codes(&problem["failures"]),
        ["target_term_shorter", "target_ends_before_source"]
    );

    // A three-year subscription of the target is long enough: the moved seats are charged at its
    // locked price (Standard's 12.50), and credited at the source's (6.00).
    let cancel = json!({"status": "cancelled"});
    json_ok(admin.patch_with(&short_path, &cancel, &[]).await).await;
    let (long, _) = purchased(
        &admin,
        &customer,
        &bought("m365-business-standard", 2, "P3Y"),
    )
    .await;
    price_from_today(&app, "m365-business-standard", ("P3Y", "monthly"), 1_400).await;
    let moved = admin.post(&format!("{path}/upgrades"), &into(&long)).await;
    let status = moved.status();
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{moved}");
    assert_eq!(moved["billing"]["credit"], prorated(3 * BASIC_US, &source));
    assert_eq!(moved["billing"]["charge"], prorated(3 * 1_250, &source));
    assert_eq!(moved["partial"]["targetQuantity"], 5);
}

#[tokio::test]
async fn a_term_only_gets_longer_mid_term_credited_daily_and_charged_its_first_period() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let body = buy(
        "m365-business-basic",
        5,
        json!({"termDuration": "P1M", "billingCycle": "monthly"}),
    );
    let (bought, path) = purchased(&admin, &customer, &body).await;
    let monthly_term = BASIC_US * 12 / 10;
    assert_eq!(bought["unitPrice"], monthly_term);

    let longer = json_ok(
        admin
            .patch_with(&path, &json!({"termDuration": "P1Y"}), &[])
            .await,
    )
    .await;
    let today = Utc::now().date_naive();
    assert_eq!(longer["termDuration"], "P1Y");
    assert_eq!(longer["billingCycle"], "monthly");
    assert_eq!(
        longer["unitPrice"], BASIC_US,
        "the new plan's price in force"
    );
    assert_eq!(date(&longer["termStart"]), today);
    assert_eq!(date(&longer["termEnd"]), today + Months::new(12));
    // The unused days of the paid month credited at 7.20; the new plan's first month charged.
    let credit = prorated(5 * monthly_term, &bought);
    assert_eq!(longer["billing"]["credit"], credit);
    assert_eq!(longer["billing"]["charge"], 5 * BASIC_US);
    assert_eq!(longer["billing"]["net"], 5 * BASIC_US - credit);

    for term in ["P1M", "P1Y"] {
        let refused = admin
            .patch_with(&path, &json!({"termDuration": term}), &[])
            .await;
        let problem = assert_problem(
            refused,
            StatusCode::UNPROCESSABLE_ENTITY,
            "plan_change_not_allowed",
        )
        .await;
        assert!(problem["detail"].as_str().unwrap().contains("Schedule"));
    }
    let both = json!({"termDuration": "P3Y", "quantity": 6});
    let refused = admin.patch_with(&path, &both, &[]).await;
    assert_problem(refused, StatusCode::BAD_REQUEST, "invalid_change").await;

    let history = json_ok(admin.get(&format!("{path}/history")).await).await;
    let change = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["changeKind"] == "plan_change")
        .unwrap();
    assert_eq!(change["before"]["termDuration"], "P1M");
    assert_eq!(change["after"]["termDuration"], "P1Y");
    assert_eq!(change["after"]["unitPrice"], BASIC_US);

    let legacy = buy(
        "m365-business-basic",
        1,
        json!({"commerce": "legacy", "billingCycle": "monthly"}),
    );
    let (_, legacy_path) = purchased(&admin, &customer, &legacy).await;
    let refused = admin
        .patch_with(&legacy_path, &json!({"termDuration": "P3Y"}), &[])
        .await;
    assert_problem(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "plan_change_not_allowed",
    )
    .await;
}

/// Runs `subscription-upgrades load-prices` on `list` against the test's database.
pub(crate) fn load_prices(app: &crate::helpers::TestApp, list: &Value) -> std::process::Output {
    let file = std::env::temp_dir().join(format!("prices-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&file, list.to_string()).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_subscription-upgrades"))
        .arg("load-prices")
        .arg(&file)
        .env("DATABASE_URL", app.database_url())
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    output
}

/// The plans of `offer` in the US as the catalog shows them on `date` (today when `None`):
/// (term, cycle) → (price, effective from).
async fn us_plans(
    admin: &Api<'_>,
    offer: &str,
    date: Option<NaiveDate>,
) -> Vec<(String, i64, String)> {
    let query = date.map(|d| format!("?date={d}")).unwrap_or_default();
    let offer = json_ok(admin.get(&format!("/v1/offers/{offer}{query}")).await).await;
    let us = offer["prices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["market"] == "US")
        .unwrap();
    us["plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                format!(
                    "{} {}",
                    p["termDuration"].as_str().unwrap(),
                    p["billingCycle"].as_str().unwrap()
                ),
                p["monthlyUnitPrice"].as_i64().unwrap(),
                p["effectiveFrom"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_catalog_shows_the_prices_in_force_on_a_day_and_a_loaded_price_list_takes_effect_on_its()
 {
    let app = spawn_app().await;
    let admin = app.admin();
    let first = "2000-01-01".to_owned();
    let monthly_term = BASIC_US * 12 / 10;
    assert_eq!(
        us_plans(&admin, "m365-business-basic", None).await,
        [
            ("P1M monthly".to_owned(), monthly_term, first.clone()),
            ("P1Y annual".to_owned(), BASIC_US, first.clone()),
            ("P1Y monthly".to_owned(), BASIC_US, first.clone()),
            ("P3Y annual".to_owned(), BASIC_US, first.clone()),
            ("P3Y monthly".to_owned(), BASIC_US, first.clone()),
            ("P3Y triennial".to_owned(), BASIC_US, first.clone()),
        ]
    );

    let tomorrow = Utc::now().date_naive() + Duration::days(1);
    let list = json!({"effectiveFrom": tomorrow.to_string(), "prices": [
        {"offerId": "m365-business-basic", "market": "US", "termDuration": "P1Y",
         "billingCycle": "monthly", "monthlyUnitPrice": 650}]});
    let loaded = load_prices(&app, &list);
    assert!(
        loaded.status.success(),
        "{}",
        String::from_utf8_lossy(&loaded.stderr)
    );
    let shown = us_plans(&admin, "m365-business-basic", Some(tomorrow)).await;
    assert!(
        shown.contains(&("P1Y monthly".to_owned(), 650, tomorrow.to_string())),
        "{shown:?}"
    );
    assert!(shown.contains(&("P1Y annual".to_owned(), BASIC_US, first.clone())));
    let today = us_plans(&admin, "m365-business-basic", None).await;
    assert!(
        today.contains(&("P1Y monthly".to_owned(), BASIC_US, first)),
        "{today:?}"
    );

    // Bought today: the price in force today, not tomorrow's.
    let customer = admin.customer("US").await;
    let body = buy("m365-business-basic", 1, json!({"billingCycle": "monthly"}));
    let (bought, _) = purchased(&admin, &customer, &body).await;
    assert_eq!(bought["unitPrice"], BASIC_US);

    for (bad, says) in [
        (
            json!({"effectiveFrom": "2030-01-01", "prices": [
            {"offerId": "m365-business-basic", "market": "US", "termDuration": "P1M",
             "billingCycle": "annual", "monthlyUnitPrice": 1}]}),
            "prices[0]",
        ),
        (
            json!({"effectiveFrom": "2030-01-01", "prices": [
            {"offerId": "m365-business-basic-india", "market": "US", "termDuration": "P1Y",
             "billingCycle": "annual", "monthlyUnitPrice": 1}]}),
            "not sold in its market",
        ),
    ] {
        let refused = load_prices(&app, &bad);
        assert!(!refused.status.success());
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(says), "{stderr}");
    }
    let bad_date = admin
        .get("/v1/offers/m365-business-basic?date=tomorrow")
        .await;
    assert_problem(bad_date, StatusCode::BAD_REQUEST, "invalid_date").await;
}

#[tokio::test]
async fn seats_moved_by_a_partial_upgrade_leave_the_sources_refundable_seats() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    let body = buy(
        "m365-business-basic",
        10,
        json!({"billingCycle": "monthly"}),
    );
    let (source, path) = purchased(&admin, &customer, &body).await;
    let asked = json!({"targetOfferId": "m365-business-standard", "partial": true, "quantity": 4});
    let moved = admin.post(&format!("{path}/upgrades"), &asked).await;
    assert_eq!(moved.status(), StatusCode::CREATED);
    let moved: Value = moved.json().await.unwrap();
    let after = json_ok(admin.get(&path).await).await;
    assert_eq!(after["quantity"], 6);
    let window = &source["cancellationAllowedUntil"];
    assert_eq!(
        after["refundableQuantity"],
        json!([{"quantity": 6, "allowedUntil": window}])
    );
    // The subscription it created inherits the window with the seats it took: no new one.
    let target_path = format!(
        "/v1/customers/{customer}/subscriptions/{}",
        moved["targetSubscriptionId"].as_str().unwrap()
    );
    let target = json_ok(admin.get(&target_path).await).await;
    assert_eq!(target["cancellationAllowedUntil"], *window);
    assert_eq!(
        target["refundableQuantity"],
        json!([{"quantity": 4, "allowedUntil": window}])
    );
    // So its seats can go back inside that window, refunded at its own locked price.
    let reduced = json_ok(
        admin
            .patch_with(&target_path, &json!({"quantity": 1}), &[])
            .await,
    )
    .await;
    assert_eq!(reduced["quantity"], 1);
    assert_eq!(
        reduced["billing"]["credit"],
        prorated(3 * target["unitPrice"].as_i64().unwrap(), &target)
    );
}

#[tokio::test]
async fn a_change_scheduled_for_the_renewal_is_previewed_at_the_price_in_force_that_day() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let mut previews = Vec::new();
    for commerce in ["new", "legacy"] {
        let body = buy(
            "m365-business-basic",
            5,
            json!({"commerce": commerce, "billingCycle": "monthly"}),
        );
        let (bought, path) = purchased(&admin, &customer, &body).await;
        if commerce == "new" {
            // The price list of the renewal day.
            let list = json!({"effectiveFrom": bought["termEnd"], "prices": [
                {"offerId": "m365-business-basic", "market": "US", "termDuration": "P1Y",
                 "billingCycle": "monthly", "monthlyUnitPrice": 700}]});
            assert!(load_prices(&app, &list).status.success());
        }
        let asked = json!({"quantity": 3, "dryRun": true});
        let preview = json_ok(
            admin
                .post(&format!("{path}/scheduled-change"), &asked)
                .await,
        )
        .await;
        previews.push(preview["billingPreview"]["charge"].clone());
    }
    // Three seats for the first month of the new term: at 7.00 (new commerce re-prices at the
    // renewal), at the catalog's 6.00 (legacy).
    assert_eq!(previews, [json!(3 * 700), json!(3 * BASIC_US)]);
}

#[tokio::test]
async fn the_next_terms_plan_and_seats_are_scheduled_together_and_applied_at_the_renewal() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    // A one-year term bought a year ago: it ends today.
    let body = buy(
        "m365-business-basic",
        5,
        json!({"billingCycle": "monthly", "termStart": months_ago(12).to_string()}),
    );
    let (_, path) = purchased(&admin, &customer, &body).await;
    let scheduled = format!("{path}/scheduled-change");
    let next = json!({"quantity": 3, "termDuration": "P3Y", "billingCycle": "annual"});

    let mut preview = next.clone();
    preview["dryRun"] = json!(true);
    let preview = json_ok(admin.post(&scheduled, &preview).await).await;
    assert_eq!(preview["termDuration"], "P3Y");
    assert_eq!(preview["billingCycle"], "annual");
    // The new term's first (annual) period: 3 seats x 6.00 x 12.
    assert_eq!(preview["billingPreview"]["charge"], 3 * BASIC_US * 12);

    for (refused, status, code) in [
        (
            json!({"termDuration": "P1M", "billingCycle": "annual"}),
            StatusCode::BAD_REQUEST,
            "invalid_plan",
        ),
        (
            json!({"partial": true, "quantity": 1, "termDuration": "P3Y"}),
            StatusCode::BAD_REQUEST,
            "invalid_change",
        ),
    ] {
        assert_problem(admin.post(&scheduled, &refused).await, status, code).await;
    }
    let created = admin.post(&scheduled, &next).await;
    assert_eq!(created.status(), StatusCode::CREATED);

    let _worker = app.renewing_instance().await;
    wait_for_rows(
        app.database_url(),
        "SELECT count(*) FROM subscription_history WHERE change_kind = 'scheduled_change_applied'",
        "the next term's instructions were not applied",
    )
    .await;
    let renewed = json_ok(admin.get(&path).await).await;
    let today = Utc::now().date_naive();
    assert_eq!(renewed["quantity"], 3);
    assert_eq!(renewed["termDuration"], "P3Y");
    assert_eq!(renewed["billingCycle"], "annual");
    assert_eq!(renewed["unitPrice"], BASIC_US);
    assert_eq!(date(&renewed["termStart"]), today);
    assert_eq!(date(&renewed["termEnd"]), today + Months::new(36));
    assert_eq!(date(&renewed["currentPeriodEnd"]), today + Months::new(12));
    assert_eq!(renewed["refundableQuantity"][0]["quantity"], 3);

    let legacy = buy(
        "m365-business-basic",
        1,
        json!({"commerce": "legacy", "billingCycle": "monthly"}),
    );
    let (_, legacy_path) = purchased(&admin, &customer, &legacy).await;
    let refused = admin
        .post(
            &format!("{legacy_path}/scheduled-change"),
            &json!({"termDuration": "P3Y"}),
        )
        .await;
    assert_problem(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "plan_change_not_allowed",
    )
    .await;
}

/// Waits until the renewal worker of a `renewing_instance` has applied (or failed) the scheduled
/// change.
async fn scheduled_change_done(app: &crate::helpers::TestApp) {
    wait_for_rows(
        app.database_url(),
        "SELECT count(*) FROM subscription_history
          WHERE change_kind IN ('scheduled_change_applied', 'scheduled_change_failed')",
        "the scheduled change was not applied",
    )
    .await;
}

#[tokio::test]
async fn an_upgrade_and_the_next_terms_plan_in_one_instruction_start_a_new_term_and_window() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    // A one-year term bought a year ago: it ends today.
    let body = buy(
        "m365-business-basic",
        5,
        json!({"billingCycle": "monthly", "termStart": months_ago(12).to_string()}),
    );
    let (_, path) = purchased(&admin, &customer, &body).await;
    let next = json!({"targetOfferId": "m365-business-standard", "termDuration": "P1M",
                      "billingCycle": "monthly"});
    let created = admin.post(&format!("{path}/scheduled-change"), &next).await;
    let status = created.status();
    let created: Value = created.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (&created["kind"], &created["termDuration"]),
        (&json!("upgrade"), &json!("P1M"))
    );
    // Standard's one-month term: 20 % above its 12.50, for 5 seats' first month.
    let p1m = round_half_even(1_250 * 12, 10);
    assert_eq!(created["billingPreview"]["charge"], 5 * p1m);

    let _worker = app.renewing_instance().await;
    scheduled_change_done(&app).await;
    let source = json_ok(admin.get(&path).await).await;
    assert_eq!(source["status"], "upgraded");
    let target_path = format!(
        "/v1/customers/{customer}/subscriptions/{}",
        source["upgradedTo"].as_str().unwrap()
    );
    let target = json_ok(admin.get(&target_path).await).await;
    let today = Utc::now().date_naive();
    assert_eq!(target["offerId"], "m365-business-standard");
    assert_eq!(
        (&target["termDuration"], &target["billingCycle"]),
        (&json!("P1M"), &json!("monthly"))
    );
    assert_eq!(target["unitPrice"], p1m);
    assert_eq!(date(&target["termStart"]), today);
    assert_eq!(date(&target["termEnd"]), today + Months::new(1));
    // Created by the renewal, it opens the renewal's window for every seat.
    let window = today.and_hms_opt(0, 0, 0).unwrap().and_utc() + Duration::hours(168);
    assert_eq!(instant(&target["cancellationAllowedUntil"]), window);
    assert_eq!(
        target["refundableQuantity"],
        json!([{"quantity": 5, "allowedUntil": target["cancellationAllowedUntil"]}])
    );
}

#[tokio::test]
async fn a_move_down_a_matrix_path_at_the_renewal_keeps_the_licenses_and_lists_who_loses_services()
{
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    let body = buy(
        "m365-business-standard",
        4,
        json!({"billingCycle": "monthly", "termStart": months_ago(12).to_string()}),
    );
    let (standard, path) = purchased(&admin, &customer, &body).await;
    let id = standard["id"].as_str().unwrap();
    let users = [
        admin.user(&customer, "desk@example.com").await,
        admin.user(&customer, "web@example.com").await,
        admin.user(&customer, "quiet@example.com").await,
    ];
    admin.assign(&customer, id, &users[0], &[]).await;
    admin
        .assign(&customer, id, &users[1], &["OFFICE_DESKTOP"])
        .await;
    admin
        .assign(&customer, id, &users[2], &["OFFICE_DESKTOP", "TEAMS"])
        .await;
    let scheduled = format!("{path}/scheduled-change");
    let down =
        |quantity: i64| json!({"targetOfferId": "m365-business-basic", "quantity": quantity});

    // Fewer seats than licenses assigned, and offers with no path towards Standard, are refused.
    let below = admin.post(&scheduled, &down(2)).await;
    let code = "quantity_below_assigned_licenses";
    assert_problem(below, StatusCode::UNPROCESSABLE_ENTITY, code).await;
    let sideways = json!({"targetOfferId": "m365-apps-business"});
    let problem = assert_problem(
        admin.post(&scheduled, &sideways).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "upgrade_not_eligible",
    )
    .await;
    assert_eq!(
        failure_codes(&problem["failures"]),
        ["target_offer_not_allowed"]
    );

    let created = admin.post(&scheduled, &down(3)).await;
    let status = created.status();
    let created: Value = created.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["kind"], "downgrade");
    // Only the user with the desktop apps switched on loses a service.
    let accounts = created["accountsToReassign"].as_array().unwrap();
    assert_eq!(accounts.len(), 1, "{accounts:?}");
    assert_eq!(accounts[0]["userId"], users[0].as_str());
    assert_eq!(accounts[0]["reasons"][0]["code"], "service_removed");
    assert_eq!(accounts[0]["reasons"][0]["service"], "OFFICE_DESKTOP");
    assert_eq!(created["billingPreview"]["charge"], 3 * BASIC_US);

    let _worker = app.renewing_instance().await;
    scheduled_change_done(&app).await;
    let renewed = json_ok(admin.get(&path).await).await;
    assert_eq!(renewed["id"], standard["id"], "the same subscription");
    assert_eq!(renewed["status"], "active");
    assert_eq!(renewed["offerId"], "m365-business-basic");
    assert_eq!(renewed["quantity"], 3);
    assert_eq!(renewed["unitPrice"], BASIC_US);
    assert_eq!(date(&renewed["termStart"]), Utc::now().date_naive());
    assert_eq!(
        renewed["refundableQuantity"],
        json!([{"quantity": 3, "allowedUntil": renewed["cancellationAllowedUntil"]}])
    );
    let licenses = json_ok(admin.get(&format!("{path}/license-assignments")).await).await;
    let mut disabled: Vec<(String, Value)> = licenses["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["userId"].as_str().unwrap().to_owned(),
                l["disabledServices"].clone(),
            )
        })
        .collect();
    disabled.sort_by_key(|(user, _)| users.iter().position(|u| u == user));
    let expected: Vec<(String, Value)> = vec![
        (users[0].clone(), json!([])),
        (users[1].clone(), json!([])),
        (users[2].clone(), json!(["TEAMS"])),
    ];
    assert_eq!(disabled, expected);
    let history = json_ok(admin.get(&format!("{path}/history")).await).await;
    let applied = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["changeKind"] == "scheduled_change_applied")
        .unwrap();
    assert_eq!(applied["after"]["offerId"], "m365-business-basic");
    assert_eq!(
        applied["after"]["accountsToReassign"][0]["userId"],
        users[0].as_str()
    );

    // A legacy subscription moves down only once it is on new commerce.
    let legacy = buy(
        "m365-business-standard",
        1,
        json!({"commerce": "legacy", "billingCycle": "monthly"}),
    );
    let (_, legacy_path) = purchased(&admin, &customer, &legacy).await;
    let problem = assert_problem(
        admin
            .post(&format!("{legacy_path}/scheduled-change"), &down(1))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "upgrade_not_eligible",
    )
    .await;
    assert_eq!(
        failure_codes(&problem["failures"])[0],
        "target_offer_not_allowed"
    );
}
