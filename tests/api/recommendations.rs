//! `GET /v1/customers/{customerId}/upgrade-recommendations`: every active subscription the
//! partner sold the customer, with exactly the options of its own upgrade listing, the eligible
//! ones ranked by the rule and the others with the same failures.

use reqwest::StatusCode;
use serde_json::{Value, json};
use subscription_upgrades::domain::policy::{Operation, Role, permits};
use subscription_upgrades::domain::recommendation::{Gain, compare};
use uuid::Uuid;

use crate::helpers::{Api, TestApp, assert_problem, json_ok, spawn_app};

fn recommendations_of(customer: &str) -> String {
    format!("/v1/customers/{customer}/upgrade-recommendations")
}

/// Asserts that one subscription's entry lists exactly the options of its upgrade listing: the
/// eligible ones, with the same type, bill and accounts, ranked 1.. in the rule's order; the
/// others, in the listing's order, with the same failures.
async fn assert_agrees_with_the_listing(admin: &Api<'_>, customer: &str, entry: &Value) {
    let subscription = entry["subscriptionId"].as_str().unwrap();
    let path = format!("/v1/customers/{customer}/subscriptions/{subscription}/upgrades");
    let listing = json_ok(admin.get(&path).await).await;
    let options = listing["items"].as_array().unwrap();
    let recommended = entry["recommendations"].as_array().unwrap();
    let eligible: Vec<&Value> = options.iter().filter(|o| o["eligible"] == true).collect();
    assert_eq!(recommended.len(), eligible.len(), "{subscription}: {entry}");
    for (at, recommendation) in recommended.iter().enumerate() {
        assert_eq!(recommendation["rank"], at + 1);
        let target = &recommendation["targetOfferId"];
        let option = eligible
            .iter()
            .find(|o| &o["targetOfferId"] == target)
            .unwrap_or_else(|| panic!("{target} is not eligible in the listing"));
        for (ours, theirs) in [
            ("targetOfferName", "targetOfferName"),
            ("upgradeType", "upgradeType"),
            ("billingPreview", "billingPreview"),
            ("transferredUsers", "transferredUsers"),
            (
                "accountsRequiringReassignment",
                "accountsRequiringReassignment",
            ),
        ] {
            assert_eq!(recommendation[ours], option[theirs], "{target}: {ours}");
        }
    }
    for pair in recommended.windows(2) {
        let (above, below) = (gain(&pair[0]), gain(&pair[1]));
        let ids = (id(&pair[0]), id(&pair[1]));
        assert!(
            compare((ids.0, &above), (ids.1, &below)).is_lt(),
            "{pair:?}"
        );
    }
    let blocked: Vec<(&Value, &Value, &Value)> = options
        .iter()
        .filter(|o| o["eligible"] == false)
        .map(|o| (&o["targetOfferId"], &o["targetOfferName"], &o["failures"]))
        .collect();
    let ours: Vec<(&Value, &Value, &Value)> = entry["blocked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (&b["targetOfferId"], &b["targetOfferName"], &b["failures"]))
        .collect();
    assert_eq!(ours, blocked, "{subscription}");
}

fn id(recommendation: &Value) -> &str {
    recommendation["targetOfferId"].as_str().unwrap()
}

fn gain(recommendation: &Value) -> Gain {
    Gain {
        services: serde_json::from_value(recommendation["servicesGained"].clone()).unwrap(),
        extra_monthly_cost_per_seat: recommendation["extraMonthlyCostPerSeat"].as_i64(),
    }
}

/// Lets another partner reach the customer too (as if it also resold to it), and returns it.
async fn second_reseller<'a>(app: &'a TestApp, customer: &str) -> Api<'a> {
    let partner = Uuid::new_v4();
    let other = app.api(partner, &["global_admin"]);
    other.customer("US").await;
    let pool = sqlx::PgPool::connect(app.database_url()).await.unwrap();
    sqlx::query(
        "INSERT INTO reseller_relationships (customer_id, partner_id) VALUES ($1::uuid, $2)",
    )
    .bind(customer)
    .bind(partner)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    other
}

/// A US customer with the partner's Business Basic (three users, an add-on) and Business
/// Standard (Grace, who also holds Basic), and subscriptions that are never listed: a suspended
/// and a cancelled one, another channel's, and another reseller's (`other`, `theirs`).
struct Fixture<'a> {
    customer: String,
    basic: String,
    standard: String,
    grace: String,
    other: Api<'a>,
    theirs: String,
}

async fn customer_with_every_kind_of_subscription(app: &TestApp) -> Fixture<'_> {
    let admin = app.admin();
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    let c = format!("/v1/customers/{customer}");
    let basic = admin
        .subscription(&customer, "m365-business-basic", 5)
        .await;
    let standard = admin
        .subscription(&customer, "m365-business-standard", 3)
        .await;
    let grace = admin.user(&customer, "grace@contoso.com").await;
    for (user, disabled) in [
        ("ada@contoso.com", &[][..]),
        ("alan@contoso.com", &["BOOKINGS"]),
    ] {
        let user = admin.user(&customer, user).await;
        admin.assign(&customer, &basic, &user, disabled).await;
    }
    admin.assign(&customer, &basic, &grace, &[]).await;
    admin.assign(&customer, &standard, &grace, &[]).await;
    let add_on = json!({"offerId": "teams-audio-conferencing", "quantity": 1});
    admin
        .create(&format!("{c}/subscriptions/{basic}/add-ons"), add_on)
        .await;
    for (offer, status) in [
        ("m365-apps-enterprise", "suspended"),
        ("o365-e1", "cancelled"),
    ] {
        let id = admin.subscription(&customer, offer, 2).await;
        let path = format!("{c}/subscriptions/{id}");
        let changed = admin
            .patch_with(&path, &json!({"status": status}), &[])
            .await;
        assert_eq!(changed.status(), StatusCode::OK);
    }
    app.platform()
        .create(
            &format!("{c}/subscriptions"),
            json!({"offerId": "m365-apps-business", "quantity": 2, "billingCycle": "monthly", "channel": "other"}),
        )
        .await;
    let other = second_reseller(app, &customer).await;
    let theirs = other
        .subscription(&customer, "m365-apps-enterprise", 1)
        .await;
    Fixture {
        customer,
        basic,
        standard,
        grace,
        other,
        theirs,
    }
}

fn entry<'v>(answer: &'v Value, subscription: &str) -> &'v Value {
    let listed = answer["subscriptions"].as_array().unwrap();
    listed
        .iter()
        .find(|s| s["subscriptionId"] == subscription)
        .unwrap_or_else(|| panic!("{subscription} is not listed in {answer}"))
}

#[tokio::test]
async fn each_active_subscription_lists_exactly_its_listings_options_ranked() {
    let app = spawn_app().await;
    let f = customer_with_every_kind_of_subscription(&app).await;
    let admin = app.admin();

    let answer = json_ok(admin.get(&recommendations_of(&f.customer)).await).await;

    assert_eq!(
        (&answer["customerId"], &answer["market"]),
        (&json!(f.customer), &json!("US"))
    );
    let ids: Vec<&Value> = answer["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["subscriptionId"])
        .collect();
    let mut expected = [json!(f.basic), json!(f.standard)];
    expected.sort_by_key(|id| id.as_str().unwrap().to_owned());
    assert_eq!(ids, [&expected[0], &expected[1]], "the active ones, by id");
    for listed in answer["subscriptions"].as_array().unwrap() {
        assert_agrees_with_the_listing(&admin, &f.customer, listed).await;
    }
    let seen_by_other = json_ok(f.other.get(&recommendations_of(&f.customer)).await).await;
    let theirs: Vec<&Value> = seen_by_other["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["subscriptionId"])
        .collect();
    assert_eq!(theirs, [&json!(f.theirs)], "each reseller sees its own");
}

#[tokio::test]
async fn an_add_on_blocks_its_own_subscription_and_the_other_is_ranked_with_its_holders() {
    let app = spawn_app().await;
    let f = customer_with_every_kind_of_subscription(&app).await;

    let answer = json_ok(app.admin().get(&recommendations_of(&f.customer)).await).await;

    let basic = entry(&answer, &f.basic);
    assert_eq!(
        (&basic["offerId"], &basic["offerName"], &basic["quantity"]),
        (
            &json!("m365-business-basic"),
            &json!("Microsoft 365 Business Basic"),
            &json!(5)
        )
    );
    assert_eq!(basic["recommendations"], json!([]));
    assert_eq!(basic["blocked"].as_array().unwrap().len(), 4, "{basic}");
    for blocked in basic["blocked"].as_array().unwrap() {
        let codes: Vec<&Value> = blocked["failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| &f["code"])
            .collect();
        assert!(codes.contains(&&json!("add_ons_present")), "{blocked}");
    }
    let standard = entry(&answer, &f.standard);
    let ranked: Vec<(&Value, &Value, &Value)> = standard["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                &r["targetOfferId"],
                &r["rank"],
                &r["extraMonthlyCostPerSeat"],
            )
        })
        .collect();
    // E5 gains 4 services for 2550 more a seat, E3 one for 1050: 4/2550 > 1/1050.
    assert_eq!(
        ranked,
        [
            (&json!("o365-e5"), &json!(1), &json!(2550)),
            (&json!("o365-e3"), &json!(2), &json!(1050))
        ]
    );
    // Grace also holds a Business Basic license, whose services E3 brings too.
    let e3 = &standard["recommendations"][1];
    assert_eq!(
        e3["accountsRequiringReassignment"][0]["userId"],
        f.grace.as_str()
    );
    assert_eq!(standard["blocked"], json!([]));
}

#[tokio::test]
async fn business_basic_alone_ranks_e5_then_standard_then_e3_then_e1() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("US").await;
    admin.relationship(&customer, &["*"]).await;
    admin
        .subscription(&customer, "m365-business-basic", 10)
        .await;

    let answer = json_ok(admin.get(&recommendations_of(&customer)).await).await;

    let entry = &answer["subscriptions"][0];
    assert_agrees_with_the_listing(&admin, &customer, entry).await;
    let ranked: Vec<(&str, u64, usize, i64, &str)> = entry["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["targetOfferId"].as_str().unwrap(),
                r["rank"].as_u64().unwrap(),
                r["servicesGained"].as_array().unwrap().len(),
                r["extraMonthlyCostPerSeat"].as_i64().unwrap(),
                r["currency"].as_str().unwrap(),
            )
        })
        .collect();
    // 5 services for 3200, 1 for 650, 2 for 1700, none for 400.
    assert_eq!(
        ranked,
        [
            ("o365-e5", 1, 5, 3200, "USD"),
            ("m365-business-standard", 2, 1, 650, "USD"),
            ("o365-e3", 3, 2, 1700, "USD"),
            ("o365-e1", 4, 0, 400, "USD"),
        ]
    );
    assert_eq!(
        entry["recommendations"][0]["servicesGained"],
        json!([
            "AUDIO_CONFERENCING",
            "EXCHANGE_ARCHIVING",
            "OFFICE_DESKTOP",
            "POWER_BI_PRO",
            "TEAMS_PHONE"
        ])
    );
    assert_eq!(entry["blocked"], json!([]));
}

#[tokio::test]
async fn a_customer_without_active_subscriptions_has_nothing_to_recommend() {
    let app = spawn_app().await;
    let admin = app.admin();
    let customer = admin.customer("IT").await;

    let answer = json_ok(admin.get(&recommendations_of(&customer)).await).await;

    assert_eq!(
        answer,
        json!({"customerId": customer, "market": "IT", "subscriptions": []})
    );
}

#[tokio::test]
async fn another_partners_customer_is_not_found_exactly_like_one_that_does_not_exist() {
    let app = spawn_app().await;
    let customer = app.admin().customer("US").await;
    app.admin()
        .subscription(&customer, "m365-business-basic", 1)
        .await;
    let intruder = app.api(Uuid::new_v4(), &["global_admin"]);

    let theirs = assert_problem(
        intruder.get(&recommendations_of(&customer)).await,
        StatusCode::NOT_FOUND,
        "customer_not_found",
    )
    .await;
    let missing = assert_problem(
        intruder
            .get(&recommendations_of(&Uuid::new_v4().to_string()))
            .await,
        StatusCode::NOT_FOUND,
        "customer_not_found",
    )
    .await;

    assert_eq!(theirs["title"], missing["title"]);
}

#[tokio::test]
async fn every_role_that_reads_customers_reads_recommendations_and_no_other() {
    let app = spawn_app().await;
    let customer = app.admin().customer("US").await;
    app.admin()
        .subscription(&customer, "m365-business-basic", 1)
        .await;
    let path = recommendations_of(&customer);
    assert!(permits(Role::HelpdeskAgent, Operation::ReadCustomers));

    for role in Role::ALL {
        let response = app.api(app.partner, &[role.as_str()]).get(&path).await;
        if permits(role, Operation::ReadCustomers) {
            let answer = json_ok(response).await;
            assert_eq!(
                answer["subscriptions"].as_array().unwrap().len(),
                1,
                "{role:?}"
            );
        } else {
            assert_problem(response, StatusCode::FORBIDDEN, "role_not_allowed").await;
        }
    }
    let roleless = app.api(app.partner, &[]).get(&path).await;
    assert_problem(roleless, StatusCode::FORBIDDEN, "role_not_allowed").await;
}
