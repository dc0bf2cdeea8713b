//! Partial upgrades over HTTP (docs/upgrades.md, "Partial upgrades"): some of the seats and the chosen users
//! move, to a new subscription or to the existing one; every refusal has its own code and writes
//! nothing; concurrent partial upgrades through two processes never move more seats than there
//! were.

use std::collections::BTreeSet;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use subscription_upgrades::domain::billing::{self, Proration};
use subscription_upgrades::domain::plan::Commerce;
use subscription_upgrades::domain::subscription::BillingCycle;

use crate::helpers::{
    Api, TestApp, assert_invariants, assert_problem, date, json_ok, months_ago, snapshot,
    spawn_app, wait_for_rows,
};

/// A US customer with full admin rights and a Business Basic subscription of `seats` seats,
/// `licensed` users licensed from it.
struct Fixture {
    customer: String,
    source: String,
    users: Vec<String>,
}

impl Fixture {
    async fn new(admin: &Api<'_>, seats: i64, licensed: usize) -> Fixture {
        let customer = admin.customer("US").await;
        admin.relationship(&customer, &["*"]).await;
        let source = admin
            .subscription(&customer, "m365-business-basic", seats)
            .await;
        let mut users = Vec::new();
        for n in 0..licensed {
            let user = admin.user(&customer, &format!("user{n}@contoso.com")).await;
            admin.assign(&customer, &source, &user, &[]).await;
            users.push(user);
        }
        Fixture {
            customer,
            source,
            users,
        }
    }

    fn subscription_path(&self, id: &str) -> String {
        format!("/v1/customers/{}/subscriptions/{id}", self.customer)
    }

    fn upgrades_path(&self) -> String {
        format!("{}/upgrades", self.subscription_path(&self.source))
    }

    async fn licensed(&self, api: &Api<'_>, subscription: &str) -> BTreeSet<String> {
        let path = format!(
            "{}/license-assignments?limit=200",
            self.subscription_path(subscription)
        );
        json_ok(api.get(&path).await).await["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["userId"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn history_kinds(&self, api: &Api<'_>, subscription: &str) -> Vec<String> {
        let path = format!("{}/history", self.subscription_path(subscription));
        json_ok(api.get(&path).await).await["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["changeKind"].as_str().unwrap().to_owned())
            .collect()
    }
}

async fn created(response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{text}");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn ten_of_twenty_five_seats_move_with_four_named_users() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin, 25, 6).await;
    let named: Vec<&str> = f.users[..4].iter().map(String::as_str).collect();
    let source_before = json_ok(admin.get(&f.subscription_path(&f.source)).await).await;

    let result = created(
        admin
            .post(
                &f.upgrades_path(),
                &json!({"targetOfferId": "m365-business-standard", "partial": true,
                        "quantity": 10, "users": named}),
            )
            .await,
    )
    .await;

    assert_eq!(result["quantity"], 10);
    assert_eq!(
        result["partial"],
        json!({"seatsMoved": 10, "sourceQuantity": 15, "targetQuantity": 10, "targetExisted": false})
    );
    assert_eq!(result["transferredUsers"], 4);
    let moved: BTreeSet<String> = result["transferredUserIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap().to_owned())
        .collect();
    let named_set: BTreeSet<String> = named.iter().map(|u| (*u).to_owned()).collect();
    assert_eq!(moved, named_set);
    assert_eq!(result["accountsRequiringReassignment"], json!([]));
    let target = result["targetSubscriptionId"].as_str().unwrap().to_owned();

    let source = json_ok(admin.get(&f.subscription_path(&f.source)).await).await;
    assert_eq!(source["status"], "active");
    assert_eq!(source["quantity"], 15);
    assert_eq!(source["upgradedTo"], Value::Null);
    let new = json_ok(admin.get(&f.subscription_path(&target)).await).await;
    assert_eq!(new["offerId"], "m365-business-standard");
    assert_eq!(new["quantity"], 10);
    assert_eq!(new["status"], "active");
    assert_eq!(new["termEnd"], source["termEnd"], "co-terminous");
    assert_eq!(new["currentPeriodEnd"], source["currentPeriodEnd"]);
    assert_eq!(f.licensed(&admin, &target).await, named_set);
    let stayed: BTreeSet<String> = f.users[4..].iter().cloned().collect();
    assert_eq!(f.licensed(&admin, &f.source).await, stayed);

    // The same calculator as every preview: 10 Basic seats credited, 10 Standard seats charged.
    let expected = billing::prorate(&Proration {
        commerce: Commerce::New,
        currency: "USD".into(),
        cycle: BillingCycle::Monthly,
        term_start: date(&source_before["termStart"]),
        period_start: date(&source_before["currentPeriodStart"]),
        period_end: date(&source_before["currentPeriodEnd"]),
        source_quantity: 10,
        source_monthly_unit_price: 600,
        target_quantity: 10,
        target_monthly_unit_price: 1250,
        today: chrono::Utc::now().date_naive(),
    });
    assert_eq!(result["billing"], serde_json::to_value(&expected).unwrap());

    assert_eq!(
        f.history_kinds(&admin, &f.source).await,
        ["created", "partial_upgrade"]
    );
    assert_eq!(f.history_kinds(&admin, &target).await, ["partial_upgrade"]);
    let upgrade_id = result["upgradeId"].as_str().unwrap();
    let record = json_ok(
        admin
            .get(&format!(
                "/v1/customers/{}/upgrades/{upgrade_id}",
                f.customer
            ))
            .await,
    )
    .await;
    assert_eq!(record["partial"], true);
    assert_eq!(record["quantity"], 10);
    assert_eq!(record["sourceSubscriptionId"], f.source.as_str());
    assert_eq!(record["targetSubscriptionId"], target.as_str());
    assert_invariants(app.database_url()).await;
}

#[tokio::test]
async fn a_partial_upgrade_into_the_existing_target_grows_it() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin, 25, 3).await;
    let existing = admin
        .subscription(&f.customer, "m365-business-standard", 5)
        .await;
    let body = |into: Option<&str>| {
        let mut body =
            json!({"targetOfferId": "m365-business-standard", "partial": true, "quantity": 10});
        if let Some(into) = into {
            body["targetSubscriptionId"] = json!(into);
        }
        body
    };

    let problem = assert_problem(
        admin.post(&f.upgrades_path(), &body(None)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "upgrade_not_eligible",
    )
    .await;
    let codes: Vec<&str> = problem["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"target_already_owned"), "{codes:?}");

    let options = json_ok(admin.get(&f.upgrades_path()).await).await;
    let standard = options["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["targetOfferId"] == "m365-business-standard")
        .unwrap();
    assert_eq!(
        standard["eligible"], false,
        "the whole upgrade: already owned"
    );
    assert_eq!(standard["partialUpgrade"]["possible"], true);
    assert_eq!(
        standard["partialUpgrade"]["targetSubscriptionId"],
        existing.as_str()
    );

    let result = created(admin.post(&f.upgrades_path(), &body(Some(&existing))).await).await;
    assert_eq!(result["targetSubscriptionId"], existing.as_str());
    assert_eq!(result["partial"]["targetExisted"], true);
    assert_eq!(result["partial"]["targetQuantity"], 15);
    assert_eq!(result["transferredUsers"], 3, "the rule picks every holder");
    let grown = json_ok(admin.get(&f.subscription_path(&existing)).await).await;
    assert_eq!(grown["quantity"], 15);
    let source = json_ok(admin.get(&f.subscription_path(&f.source)).await).await;
    assert_eq!(source["quantity"], 15);
    let listed = json_ok(
        admin
            .get(&format!("/v1/customers/{}/subscriptions", f.customer))
            .await,
    )
    .await;
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        2,
        "no subscription created"
    );
    assert_eq!(
        f.history_kinds(&admin, &existing).await,
        ["created", "partial_upgrade"]
    );
    assert_invariants(app.database_url()).await;
}

/// Each refused request, the status and code it answers; nothing is written by any.
#[tokio::test]
async fn every_refusal_answers_its_own_code_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin, 10, 8).await;
    let stranger = admin.user(&f.customer, "stranger@contoso.com").await;
    let e1 = admin.subscription(&f.customer, "o365-e1", 1).await;
    let others = app.api(uuid::Uuid::from_u128(0xbad), &["global_admin"]);
    let their_customer = others.customer("US").await;
    let theirs = others
        .subscription(&their_customer, "m365-business-standard", 1)
        .await;
    let partial = |quantity: Value, extra: Value| {
        let mut body = json!({"targetOfferId": "m365-business-standard", "partial": true, "quantity": quantity});
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    let u = |n: usize| f.users[n].clone();
    let cases = [
        (
            partial(json!(10), json!({})),
            422,
            "partial_quantity_too_large",
        ),
        (
            partial(json!(11), json!({})),
            422,
            "partial_quantity_too_large",
        ),
        (partial(json!(0), json!({})), 400, "invalid_quantity"),
        (
            partial(json!(4), json!({"users": [u(0), stranger]})),
            422,
            "user_not_licensed",
        ),
        (
            partial(json!(2), json!({"users": [u(0), u(1), u(2)]})),
            422,
            "too_many_users",
        ),
        (
            partial(json!(4), json!({"users": [u(0), u(0)]})),
            400,
            "duplicate_user",
        ),
        (
            partial(json!(4), json!({"users": [u(0)]})),
            422,
            "quantity_below_assigned_licenses",
        ),
        (
            partial(
                json!(4),
                json!({"targetSubscriptionId": uuid::Uuid::now_v7()}),
            ),
            422,
            "target_subscription_not_found",
        ),
        (
            partial(json!(4), json!({"targetSubscriptionId": theirs})),
            422,
            "target_subscription_not_found",
        ),
        (
            partial(json!(4), json!({"targetSubscriptionId": e1})),
            422,
            "target_subscription_mismatch",
        ),
        (
            json!({"targetOfferId": "m365-business-standard", "partial": true}),
            400,
            "invalid_body",
        ),
        (
            json!({"targetOfferId": "m365-business-standard", "users": [u(0)]}),
            400,
            "invalid_body",
        ),
    ];
    let before = snapshot(&app).await;
    for (body, status, code) in cases {
        let response = admin.post(&f.upgrades_path(), &body).await;
        let status = StatusCode::from_u16(status).unwrap();
        let problem = assert_problem(response, status, code).await;
        assert!(problem["detail"].as_str().is_some(), "{body}");
        let dry = {
            let mut body = body.clone();
            body["dryRun"] = json!(true);
            body
        };
        assert_problem(admin.post(&f.upgrades_path(), &dry).await, status, code).await;
    }
    assert_eq!(snapshot(&app).await, before, "nothing written");
}

/// The family cap counts the source and the target after the change. The seeded catalog's paths
/// into the Business family all start inside it (seats only move), so this catalog adds one from
/// outside: Apps for enterprise to Business Standard.
#[tokio::test]
async fn a_partial_upgrade_into_the_family_is_refused_over_its_cap() {
    let first = spawn_app().await;
    let pool = PgPool::connect(first.database_url()).await.unwrap();
    sqlx::query(
        "INSERT INTO upgrade_paths (source_offer_id, target_offer_id, upgrade_type)
         VALUES ('m365-apps-enterprise', 'm365-business-standard', 'upgrade_with_license_transfer')",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let app = first.another_instance().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    admin
        .subscription(&customer, "m365-apps-business", 295)
        .await;
    let source = admin
        .subscription(&customer, "m365-apps-enterprise", 20)
        .await;
    let path = format!("/v1/customers/{customer}/subscriptions/{source}/upgrades");
    let body = |quantity: i64| json!({"targetOfferId": "m365-business-standard", "partial": true, "quantity": quantity});

    let before = snapshot(&app).await;
    let problem = assert_problem(
        admin.post(&path, &body(6)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "upgrade_not_eligible",
    )
    .await;
    assert_eq!(problem["failures"][0]["code"], "seat_limit_exceeded");
    assert_eq!(problem["failures"].as_array().unwrap().len(), 1);
    assert_eq!(snapshot(&app).await, before, "nothing written");

    let result = created(admin.post(&path, &body(5)).await).await;
    assert_eq!(result["partial"]["sourceQuantity"], 15);
}

#[tokio::test]
async fn a_partial_dry_run_answers_exactly_what_the_upgrade_does_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin, 25, 5).await;
    let body = json!({"targetOfferId": "o365-e1", "partial": true, "quantity": 3});
    let mut dry_body = body.clone();
    dry_body["dryRun"] = json!(true);
    let before = snapshot(&app).await;

    let response = admin.post(&f.upgrades_path(), &dry_body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let dry: Value = response.json().await.unwrap();
    assert_eq!(snapshot(&app).await, before);
    let accounts = dry["accountsRequiringReassignment"].as_array().unwrap();
    assert_eq!(
        accounts.len(),
        3,
        "E1 lacks Bookings: the movers are listed"
    );
    assert_eq!(accounts[0]["reasons"][0]["code"], "service_removed");

    let real = created(admin.post(&f.upgrades_path(), &body).await).await;
    let strip = |mut v: Value| {
        for field in ["upgradeId", "targetSubscriptionId", "dryRun"] {
            v.as_object_mut().unwrap().remove(field);
        }
        v
    };
    assert_eq!(strip(dry), strip(real));
    assert_eq!(
        f.licensed(&admin, &f.source).await.len(),
        5,
        "movers with a reason keep their source license"
    );
}

#[tokio::test]
async fn a_partial_upgrade_is_idempotent_and_conditional() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin, 25, 0).await;
    let body = json!({"targetOfferId": "o365-e3", "partial": true, "quantity": 5});
    let stale = [("if-match", "\"0\"")];
    assert_problem(
        admin.post_with(&f.upgrades_path(), &body, &stale).await,
        StatusCode::PRECONDITION_FAILED,
        "etag_mismatch",
    )
    .await;

    let key = [("idempotency-key", "partial-1")];
    let first = created(admin.post_with(&f.upgrades_path(), &body, &key).await).await;
    let replay = admin.post_with(&f.upgrades_path(), &body, &key).await;
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.json::<Value>().await.unwrap(), first);
    let source = json_ok(admin.get(&f.subscription_path(&f.source)).await).await;
    assert_eq!(source["quantity"], 20, "moved once");
}

/// Sixteen partial upgrades of one 25-seat source, each moving 2 seats into the existing target,
/// through two processes at once: twelve fit (25 − 12 × 2 = 1), the rest are refused, and no
/// seat is lost or made.
#[tokio::test]
async fn sixteen_concurrent_partial_upgrades_never_move_more_seats_than_the_source_had() {
    let app = spawn_app().await;
    let second = app.another_instance().await;
    let admin = app.admin();
    let f = Fixture::new(&admin, 25, 5).await;
    let target = admin
        .subscription(&f.customer, "m365-business-standard", 1)
        .await;
    let body = json!({"targetOfferId": "m365-business-standard", "partial": true,
                      "quantity": 2, "targetSubscriptionId": target});

    let attempts = (0..16).map(|n| {
        let instance: &TestApp = if n % 2 == 0 { &app } else { &second };
        let api = instance.admin();
        let path = f.upgrades_path();
        let body = body.clone();
        async move {
            let response = api.post(&path, &body).await;
            let status = response.status();
            let answer: Value = response.json().await.unwrap();
            (status, answer["code"].as_str().map(str::to_owned))
        }
    });
    let outcomes = join_all(attempts).await;

    let wins = outcomes
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(wins, 12, "{outcomes:?}");
    for (status, code) in outcomes.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(code.as_deref(), Some("partial_quantity_too_large"));
    }
    let source = json_ok(admin.get(&f.subscription_path(&f.source)).await).await;
    assert_eq!(source["quantity"], 1);
    let grown = json_ok(admin.get(&f.subscription_path(&target)).await).await;
    assert_eq!(grown["quantity"], 25);
    let pool = PgPool::connect(app.database_url()).await.unwrap();
    let moved: i64 = sqlx::query_scalar(
        "SELECT sum(quantity) FROM upgrades WHERE partial AND source_subscription_id = $1::text::uuid",
    )
    .bind(&f.source)
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(moved, 24);
    assert_eq!(f.licensed(&admin, &target).await.len(), 5);
    assert_invariants(app.database_url()).await;
}

#[tokio::test]
async fn the_listing_says_when_a_partial_upgrade_is_not_possible() {
    let app = spawn_app().await;
    let admin = app.admin();
    let f = Fixture::new(&admin, 1, 0).await;
    let options = json_ok(admin.get(&f.upgrades_path()).await).await;
    for option in options["items"].as_array().unwrap() {
        let partial = &option["partialUpgrade"];
        assert_eq!(partial["possible"], false, "{option}");
        assert_eq!(partial["refusal"]["code"], "partial_quantity_too_large");
    }
    let f = Fixture::new(&admin, 4, 0).await;
    let options = json_ok(admin.get(&f.upgrades_path()).await).await;
    for option in options["items"].as_array().unwrap() {
        assert_eq!(option["partialUpgrade"]["possible"], true, "{option}");
        assert_eq!(
            option["partialUpgrade"]["targetSubscriptionId"],
            Value::Null
        );
    }
}

/// A partial upgrade scheduled for the term end is checked now (its refusals too), shown with its
/// users, and performed right after the renewal.
#[tokio::test]
async fn a_scheduled_partial_upgrade_is_performed_right_after_the_renewal() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    let bought = admin
        .create(
            &format!("/v1/customers/{customer}/subscriptions"),
            json!({"offerId": "m365-business-basic", "quantity": 5, "billingCycle": "monthly",
                   "termStart": months_ago(13).to_string()}),
        )
        .await;
    let source = bought["id"].as_str().unwrap().to_owned();
    let f = Fixture {
        customer: customer.clone(),
        source: source.clone(),
        users: Vec::new(),
    };
    let ada = admin.user(&customer, "ada@contoso.com").await;
    let alan = admin.user(&customer, "alan@contoso.com").await;
    admin.assign(&customer, &source, &ada, &[]).await;
    admin.assign(&customer, &source, &alan, &[]).await;
    let scheduled = format!("{}/scheduled-change", f.subscription_path(&source));
    let ask = |quantity: i64| {
        json!({"targetOfferId": "m365-business-standard", "partial": true,
               "quantity": quantity, "users": [ada]})
    };

    assert_problem(
        admin.post(&scheduled, &ask(5)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "partial_quantity_too_large",
    )
    .await;
    let view = created(admin.post(&scheduled, &ask(2)).await).await;
    assert_eq!(view["kind"], "partial_upgrade");
    assert_eq!(view["quantity"], 2);
    assert_eq!(view["users"], json!([ada]));
    assert_eq!(
        json_ok(admin.get(&scheduled).await).await["users"],
        json!([ada])
    );

    let _worker = app.renewing_instance().await;
    wait_for_rows(
        app.database_url(),
        "SELECT count(*) FROM subscription_history WHERE change_kind = 'scheduled_change_applied'",
        "the scheduled partial upgrade was not applied",
    )
    .await;

    let renewed = json_ok(admin.get(&f.subscription_path(&source)).await).await;
    assert_eq!(renewed["status"], "active");
    assert_eq!(renewed["quantity"], 3);
    assert_eq!(renewed["termStart"], months_ago(1).to_string());
    assert_eq!(
        f.history_kinds(&admin, &source).await,
        [
            "created",
            "change_scheduled",
            "renewal",
            "partial_upgrade",
            "scheduled_change_applied"
        ]
    );
    let upgrades = json_ok(
        admin
            .get(&format!("/v1/customers/{customer}/upgrades"))
            .await,
    )
    .await;
    let record = &upgrades["items"][0];
    assert_eq!(record["partial"], true);
    let target = record["targetSubscriptionId"].as_str().unwrap();
    let new = json_ok(admin.get(&f.subscription_path(target)).await).await;
    assert_eq!(new["quantity"], 2);
    assert_eq!(
        new["termEnd"], renewed["termEnd"],
        "co-terminous with the new term"
    );
    assert_eq!(
        f.licensed(&admin, target).await,
        BTreeSet::from([ada.clone()])
    );
    assert_eq!(f.licensed(&admin, &source).await, BTreeSet::from([alan]));
    assert_invariants(app.database_url()).await;
}
