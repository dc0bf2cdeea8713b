//! Changes scheduled for the term end: scheduled after the checks of an immediate change, read,
//! undone, one at a time, cancelled by an immediate change, applied with the renewal (an upgrade
//! with a fresh term, licenses moved and an upgrade record; a seat change) or, when no longer
//! allowed, recorded as failed while the subscription renews as it was.

use chrono::Months;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Api, assert_problem, json_ok, months_ago, spawn_app, wait_for_rows};

/// A customer with admin rights over every service, and its Business Basic subscription with
/// five seats whose term started `months` ago.
async fn fixture(admin: &Api<'_>, months: u32) -> (String, String) {
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    let created = admin
        .create(
            &format!("/v1/customers/{customer}/subscriptions"),
            json!({"offerId": "m365-business-basic", "quantity": 5, "billingCycle": "monthly",
                   "termStart": months_ago(months).to_string()}),
        )
        .await;
    (customer, created["id"].as_str().unwrap().to_owned())
}

fn path(customer: &str, subscription: &str) -> String {
    format!("/v1/customers/{customer}/subscriptions/{subscription}")
}

async fn history(admin: &Api<'_>, customer: &str, subscription: &str) -> Vec<Value> {
    let page = json_ok(
        admin
            .get(&format!("{}/history", path(customer, subscription)))
            .await,
    )
    .await;
    page["items"].as_array().unwrap().clone()
}

fn kinds(entries: &[Value]) -> Vec<&str> {
    entries
        .iter()
        .map(|e| e["changeKind"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_scheduled_upgrade_is_previewed_read_and_undone_and_a_second_one_is_a_409() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (customer, subscription) = fixture(&admin, 2).await;
    let scheduled = format!("{}/scheduled-change", path(&customer, &subscription));
    let upgrade = json!({"targetOfferId": "m365-business-standard"});

    let preview = admin
        .post(
            &scheduled,
            &json!({"targetOfferId": "m365-business-standard", "dryRun": true}),
        )
        .await;
    let preview = json_ok(preview).await;
    assert_eq!(
        (preview["dryRun"].clone(), preview["id"].clone()),
        (json!(true), Value::Null)
    );
    assert_eq!(preview["billingPreview"]["credit"], 0, "no proration");
    assert_eq!(
        preview["billingPreview"]["charge"],
        1250 * 5,
        "the first period in full"
    );

    let created = admin.post(&scheduled, &upgrade).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert!(
        created.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("/scheduled-change")
    );
    let read = json_ok(admin.get(&scheduled).await).await;
    assert_eq!(read["kind"], "upgrade");
    assert_eq!(read["targetOfferId"], "m365-business-standard");
    assert_eq!(read["quantity"], 5);
    let subscription_view = json_ok(admin.get(&path(&customer, &subscription)).await).await;
    assert_eq!(
        subscription_view["scheduledChange"]["id"], read["id"],
        "shown with it"
    );
    let second = admin.post(&scheduled, &json!({"quantity": 7})).await;
    assert_problem(second, StatusCode::CONFLICT, "scheduled_change_exists").await;

    let undone = admin
        .request(reqwest::Method::DELETE, &scheduled)
        .send()
        .await
        .unwrap();
    assert_eq!(undone.status(), StatusCode::NO_CONTENT);
    assert_problem(
        admin.get(&scheduled).await,
        StatusCode::NOT_FOUND,
        "scheduled_change_not_found",
    )
    .await;
    let entries = history(&admin, &customer, &subscription).await;
    assert_eq!(
        kinds(&entries),
        ["created", "change_scheduled", "scheduled_change_cancelled"]
    );
    assert_eq!(entries[2]["after"]["reason"], "undone by the partner");
}

#[tokio::test]
async fn scheduling_is_refused_when_not_eligible_now_or_without_auto_renewal() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    let subscription = admin
        .subscription(&customer, "m365-business-basic", 5)
        .await;
    let scheduled = format!("{}/scheduled-change", path(&customer, &subscription));

    let no_rights = admin
        .post(&scheduled, &json!({"targetOfferId": "o365-e1"}))
        .await;
    let problem = assert_problem(
        no_rights,
        StatusCode::UNPROCESSABLE_ENTITY,
        "upgrade_not_eligible",
    )
    .await;
    assert_eq!(problem["failures"][0]["code"], "delegated_admin_missing");
    let too_many = admin.post(&scheduled, &json!({"quantity": 301})).await;
    assert_problem(
        too_many,
        StatusCode::UNPROCESSABLE_ENTITY,
        "seat_limit_exceeded",
    )
    .await;

    let seats = admin.post(&scheduled, &json!({"quantity": 7})).await;
    assert_eq!(seats.status(), StatusCode::CREATED);
    let off = admin
        .patch_with(
            &path(&customer, &subscription),
            &json!({"autoRenew": false}),
            &[],
        )
        .await;
    assert_eq!(off.status(), StatusCode::OK);
    assert_problem(
        admin.get(&scheduled).await,
        StatusCode::NOT_FOUND,
        "scheduled_change_not_found",
    )
    .await;
    let entries = history(&admin, &customer, &subscription).await;
    assert_eq!(
        entries.last().unwrap()["after"]["reason"],
        "auto-renewal switched off"
    );
    let refused = admin.post(&scheduled, &json!({"quantity": 7})).await;
    assert_problem(refused, StatusCode::CONFLICT, "auto_renew_off").await;
}

#[tokio::test]
async fn an_immediate_seat_change_cancels_a_scheduled_upgrade_and_says_why() {
    let app = spawn_app().await;
    let admin = app.admin();
    admin
        .create(
            "/v1/webhooks",
            json!({"url": "http://127.0.0.1:9/hooks", "events": ["subscription.scheduled_change_cancelled"]}),
        )
        .await;
    let (customer, subscription) = fixture(&admin, 2).await;
    let scheduled = format!("{}/scheduled-change", path(&customer, &subscription));
    let created = admin
        .post(
            &scheduled,
            &json!({"targetOfferId": "m365-business-standard"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);

    let seats = admin
        .patch_with(
            &path(&customer, &subscription),
            &json!({"quantity": 6}),
            &[],
        )
        .await;
    assert_eq!(seats.status(), StatusCode::OK);

    assert_problem(
        admin.get(&scheduled).await,
        StatusCode::NOT_FOUND,
        "scheduled_change_not_found",
    )
    .await;
    let entries = history(&admin, &customer, &subscription).await;
    assert_eq!(
        kinds(&entries),
        [
            "created",
            "change_scheduled",
            "quantity_change",
            "scheduled_change_cancelled"
        ]
    );
    assert_eq!(entries[3]["after"]["reason"], "a seat change");
    wait_for_rows(
        app.database_url(),
        "SELECT count(*) FROM webhook_events
          WHERE event_type = 'subscription.scheduled_change_cancelled'",
        "no event for the cancelled change",
    )
    .await;
}

#[tokio::test]
async fn a_scheduled_upgrade_is_applied_at_the_term_end_with_a_fresh_term_and_its_licenses() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (customer, source) = fixture(&admin, 13).await;
    let user = admin.user(&customer, "ada@contoso.com").await;
    admin.assign(&customer, &source, &user, &[]).await;
    let scheduled = format!("{}/scheduled-change", path(&customer, &source));
    let created = admin
        .post(
            &scheduled,
            &json!({"targetOfferId": "m365-business-standard"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);

    let _worker = app.renewing_instance().await;
    wait_for_rows(
        app.database_url(),
        "SELECT count(*) FROM subscription_history WHERE change_kind = 'scheduled_change_applied'",
        "the scheduled upgrade was not applied",
    )
    .await;

    let retired = json_ok(admin.get(&path(&customer, &source)).await).await;
    assert_eq!(retired["status"], "upgraded");
    let target_id = retired["upgradedTo"].as_str().unwrap();
    let target = json_ok(admin.get(&path(&customer, target_id)).await).await;
    let term_start = months_ago(1);
    assert_eq!(target["offerId"], "m365-business-standard");
    assert_eq!(
        target["termStart"],
        term_start.to_string(),
        "a fresh term from the renewal"
    );
    assert_eq!(
        target["termEnd"],
        term_start
            .checked_add_months(Months::new(12))
            .unwrap()
            .to_string()
    );
    let licenses = json_ok(
        admin
            .get(&format!(
                "{}/license-assignments",
                path(&customer, target_id)
            ))
            .await,
    )
    .await;
    assert_eq!(licenses["items"][0]["userId"], user);
    let upgrades = json_ok(
        admin
            .get(&format!("/v1/customers/{customer}/upgrades"))
            .await,
    )
    .await;
    let record = &upgrades["items"][0];
    assert_eq!(record["targetSubscriptionId"], target_id);
    assert_eq!(record["result"]["billing"]["credit"], 0, "no proration");
}

#[tokio::test]
async fn a_scheduled_upgrade_no_longer_eligible_fails_with_its_code_and_the_term_renews() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (customer, source) = fixture(&admin, 13).await;
    let scheduled = format!("{}/scheduled-change", path(&customer, &source));
    let created = admin
        .post(&scheduled, &json!({"targetOfferId": "o365-e1"}))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    // The customer now holds the target: at the term end the upgrade is no longer allowed.
    admin.subscription(&customer, "o365-e1", 3).await;

    let _worker = app.renewing_instance().await;
    wait_for_rows(
        app.database_url(),
        "SELECT count(*) FROM subscription_history WHERE change_kind = 'renewal'",
        "the term did not renew",
    )
    .await;

    let renewed = json_ok(admin.get(&path(&customer, &source)).await).await;
    assert_eq!(renewed["status"], "active");
    assert_eq!(renewed["offerId"], "m365-business-basic");
    assert_eq!(renewed["termStart"], months_ago(1).to_string());
    let entries = history(&admin, &customer, &source).await;
    let failed = entries
        .iter()
        .find(|e| e["changeKind"] == "scheduled_change_failed")
        .expect("the failure is recorded");
    assert_eq!(
        failed["after"]["failures"][0]["code"],
        "target_already_owned"
    );
}

#[tokio::test]
async fn a_scheduled_seat_change_is_applied_with_the_renewal() {
    let app = spawn_app().await;
    let admin = app.admin();
    let (customer, subscription) = fixture(&admin, 13).await;
    let scheduled = format!("{}/scheduled-change", path(&customer, &subscription));
    let created = admin.post(&scheduled, &json!({"quantity": 8})).await;
    assert_eq!(created.status(), StatusCode::CREATED);

    let _worker = app.renewing_instance().await;
    wait_for_rows(
        app.database_url(),
        "SELECT count(*) FROM subscription_history WHERE change_kind = 'scheduled_change_applied'",
        "the seat change was not applied",
    )
    .await;

    let renewed = json_ok(admin.get(&path(&customer, &subscription)).await).await;
    assert_eq!(renewed["quantity"], 8);
    assert_eq!(renewed["termStart"], months_ago(1).to_string());
    let entries = history(&admin, &customer, &subscription).await;
    assert_eq!(
        kinds(&entries),
        [
            "created",
            "change_scheduled",
            "renewal",
            "scheduled_change_applied"
        ]
    );
}
