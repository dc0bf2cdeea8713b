//! The renewals pipeline over HTTP (docs/renewals.md): across three customers of one partner and
//! one of another, its window, order, paging, filters, prices and flags, and partner isolation.

use chrono::{Days, Months, NaiveDate, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Api, assert_problem, json_ok, spawn_app};
use crate::new_commerce::load_prices;

/// A one-year subscription of `offer` for `customer` whose term ends `days` from today.
async fn ending_in(admin: &Api<'_>, customer: &str, offer: &str, seats: i64, days: u64) -> String {
    let end = Utc::now().date_naive() + Days::new(days);
    let start = end - Months::new(12);
    let body = json!({"offerId": offer, "quantity": seats, "billingCycle": "monthly",
                      "termStart": start.to_string()});
    let response = admin
        .post(&format!("/v1/customers/{customer}/subscriptions"), &body)
        .await;
    let status = response.status();
    let created: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["termEnd"], end.to_string());
    created["id"].as_str().unwrap().to_owned()
}

/// Every page of `query`'s renewals, `limit` at a time: the rows in order.
async fn every_page(api: &Api<'_>, query: &str, limit: u32) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut path = format!("/v1/renewals?limit={limit}{query}");
        if let Some(token) = &token {
            path.push_str(&format!("&continuationToken={token}"));
        }
        let page = json_ok(api.get(&path).await).await;
        rows.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["continuationToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => return rows,
        }
    }
}

fn ids(rows: &[Value]) -> Vec<&str> {
    rows.iter()
        .map(|r| r["subscriptionId"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_pipeline_lists_a_partners_renewals_in_term_end_order_with_filters_paging_and_flags() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (first, second, italian) = (
        admin.customer("US").await,
        admin.customer("US").await,
        admin.customer("IT").await,
    );
    let basic = "m365-business-basic";
    let soon = ending_in(&admin, &first, basic, 10, 5).await;
    let standard = ending_in(&admin, &first, "m365-business-standard", 2, 20).await;
    let tied = ending_in(&admin, &second, basic, 1, 5).await;
    let later = ending_in(&admin, &second, "o365-e1", 4, 40).await;
    let rossi = ending_in(&admin, &italian, basic, 6, 10).await;
    let user = admin.user(&first, "kim@example.com").await;
    admin.assign(&first, &soon, &user, &[]).await;
    let off = json!({"autoRenew": false});
    let path = |customer: &str, id: &str| format!("/v1/customers/{customer}/subscriptions/{id}");
    json_ok(admin.patch_with(&path(&first, &standard), &off, &[]).await).await;
    let three = json!({"quantity": 3});
    let scheduled = admin
        .post(
            &format!("{}/scheduled-change", path(&italian, &rossi)),
            &three,
        )
        .await;
    assert_eq!(scheduled.status(), StatusCode::CREATED);
    // Another partner's customer, renewing in the same window, never shows.
    let other = app.api(Uuid::new_v4(), &["global_admin"]);
    let theirs_customer = other.customer("US").await;
    let theirs = ending_in(&other, &theirs_customer, basic, 3, 5).await;
    // A price list taking effect before the first term end: the next term's price, not the
    // locked one.
    let effective = Utc::now().date_naive() + Days::new(3);
    let list = json!({"effectiveFrom": effective.to_string(), "prices": [
        {"offerId": basic, "market": "US", "termDuration": "P1Y", "billingCycle": "monthly",
         "monthlyUnitPrice": 700}]});
    assert!(load_prices(&app, &list).status.success());

    // The default window is the next 30 days: term end, then id.
    let mut ties = [soon.as_str(), tied.as_str()];
    ties.sort();
    let expected = [ties[0], ties[1], rossi.as_str(), standard.as_str()];
    let rows = every_page(&admin, "", 50).await;
    assert_eq!(ids(&rows), expected);
    for limit in [1, 3] {
        assert_eq!(
            ids(&every_page(&admin, "", limit).await),
            expected,
            "limit {limit}"
        );
    }
    let wider = format!("&termEndTo={}", Utc::now().date_naive() + Days::new(45));
    let with_later = every_page(&admin, &wider, 2).await;
    assert_eq!(ids(&with_later).last(), Some(&later.as_str()));

    let row = |id: &str| {
        rows.iter()
            .find(|r| r["subscriptionId"] == id)
            .unwrap()
            .clone()
    };
    let first_row = row(&soon);
    assert_eq!(first_row["customerId"], first.as_str());
    assert_eq!(first_row["customerName"], "Customer in US");
    assert_eq!(first_row["market"], "US");
    assert_eq!(
        (&first_row["quantity"], &first_row["licensesAssigned"]),
        (&json!(10), &json!(1))
    );
    assert_eq!(
        (&first_row["termDuration"], &first_row["billingCycle"]),
        (&json!("P1Y"), &json!("monthly"))
    );
    assert_eq!(first_row["unitPrice"], 600, "locked at purchase");
    assert_eq!(first_row["nextUnitPrice"], 700, "in force on the term end");
    assert_eq!(first_row["scheduledChange"], Value::Null);
    assert_eq!(
        first_row["flags"],
        json!(["unused_seats", "no_scheduled_change", "window_open"])
    );
    let standard_row = row(&standard);
    assert_eq!(standard_row["autoRenew"], false);
    assert_eq!(standard_row["nextUnitPrice"], 1_250);
    assert!(
        standard_row["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("auto_renew_off"))
    );
    let rossi_row = row(&rossi);
    assert_eq!(rossi_row["scheduledChange"]["kind"], "quantity");
    assert_eq!(rossi_row["scheduledChange"]["quantity"], 3);
    assert_eq!(rossi_row["nextUnitPrice"], 560, "Business Basic in Italy");
    assert_eq!(rossi_row["flags"], json!(["unused_seats", "window_open"]));

    let filtered = |query: &'static str| every_page(&admin, query, 50);
    assert_eq!(
        ids(&filtered("&offerId=m365-business-basic").await),
        [ties[0], ties[1], rossi.as_str()]
    );
    assert_eq!(ids(&filtered("&market=IT").await), [rossi.as_str()]);
    assert_eq!(
        ids(&filtered("&autoRenew=false").await),
        [standard.as_str()]
    );
    assert_eq!(ids(&filtered("&scheduled=true").await), [rossi.as_str()]);
    assert_eq!(filtered("&scheduled=false").await.len(), 3);
    let mine = every_page(&admin, &format!("&customerId={second}"), 50).await;
    assert_eq!(ids(&mine), [tied.as_str()]);
    let windowed = {
        let day = |days| (Utc::now().date_naive() + Days::new(days)).to_string();
        format!("&termEndFrom={}&termEndTo={}", day(6), day(19))
    };
    assert_eq!(
        ids(&every_page(&admin, &windowed, 50).await),
        [rossi.as_str()]
    );

    // The other partner sees its own only; another partner's customer as a filter shows nothing.
    assert_eq!(ids(&every_page(&other, "", 50).await), [theirs.as_str()]);
    let probing = every_page(&other, &format!("&customerId={first}"), 50).await;
    assert!(probing.is_empty());
}

/// The next term's price comes from the service's copy of the price list: a list stored after a
/// page was read (a new date, or a price replaced on its date) shows on the next page read, and a
/// scheduled upgrade prices the next term at its target's price.
#[tokio::test]
async fn the_next_terms_price_follows_every_price_list_stored_and_the_scheduled_offer() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    let basic = "m365-business-basic";
    let subscription = ending_in(&admin, &customer, basic, 4, 20).await;
    let next_price = || async {
        let rows = every_page(&admin, "", 50).await;
        assert_eq!(ids(&rows), [subscription.as_str()]);
        rows[0]["nextUnitPrice"].clone()
    };
    assert_eq!(
        next_price().await,
        600,
        "the catalog's price, read before any list"
    );

    let list = |days: u64, offer: &str, price: i64| {
        let effective = Utc::now().date_naive() + Days::new(days);
        json!({"effectiveFrom": effective.to_string(), "prices": [
            {"offerId": offer, "market": "US", "termDuration": "P1Y", "billingCycle": "monthly",
             "monthlyUnitPrice": price}]})
    };
    assert!(load_prices(&app, &list(5, basic, 650)).status.success());
    assert_eq!(next_price().await, 650, "in force from before the term end");
    assert!(load_prices(&app, &list(25, basic, 900)).status.success());
    assert_eq!(next_price().await, 650, "in force only after the term end");
    assert!(load_prices(&app, &list(5, basic, 640)).status.success());
    assert_eq!(next_price().await, 640, "the same day's price, replaced");

    let standard = "m365-business-standard";
    assert!(
        load_prices(&app, &list(10, standard, 1_300))
            .status
            .success()
    );
    let upgrade = json!({"targetOfferId": standard});
    let scheduled = admin
        .post(
            &format!("/v1/customers/{customer}/subscriptions/{subscription}/scheduled-change"),
            &upgrade,
        )
        .await;
    let status = scheduled.status();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        scheduled.text().await.unwrap()
    );
    assert_eq!(next_price().await, 1_300, "the scheduled upgrade's offer");
}

#[tokio::test]
async fn a_window_ending_before_it_starts_or_longer_than_400_days_is_refused() {
    let app = spawn_app().await;
    let admin = app.admin();
    let today: NaiveDate = Utc::now().date_naive();
    let refused = [
        format!("termEndFrom={}&termEndTo={}", today + Days::new(2), today),
        format!("termEndTo={}", today + Days::new(401)),
    ];
    for query in refused {
        let answer = admin.get(&format!("/v1/renewals?{query}")).await;
        assert_problem(answer, StatusCode::BAD_REQUEST, "invalid_term_end_window").await;
    }
    let longest = format!("/v1/renewals?termEndTo={}", today + Days::new(400));
    json_ok(admin.get(&longest).await).await;
    for malformed in ["termEndFrom=tomorrow", "termEndTo=-99999-01-01"] {
        let answer = admin.get(&format!("/v1/renewals?{malformed}")).await;
        assert_problem(answer, StatusCode::BAD_REQUEST, "invalid_date").await;
    }
    for (query, code) in [
        ("offerId=m365-nothing", "unknown_offer"),
        ("market=ZZ", "unknown_market"),
        ("autoRenew=maybe", "invalid_query_parameter"),
        ("customerId=42", "invalid_query_parameter"),
    ] {
        let answer = admin.get(&format!("/v1/renewals?{query}")).await;
        assert_problem(answer, StatusCode::BAD_REQUEST, code).await;
    }
    let token = admin.get("/v1/renewals?continuationToken=nonsense").await;
    assert_problem(token, StatusCode::BAD_REQUEST, "invalid_continuation_token").await;
}
