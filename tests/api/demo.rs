//! The demo data loads idempotently and shows what the README's walk-through relies on.

use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{failure_codes, spawn_app, spawn_demo_app};

const PARTNER_A: &str = "a0000000-0000-4000-8000-000000000001";
const PARTNER_B: &str = "b0000000-0000-4000-8000-000000000002";

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn demo_data_loads_twice_without_change_and_is_partitioned_by_partner() {
    let app = spawn_app().await;
    let pool = PgPool::connect(app.database_url()).await.unwrap();
    let tables = [
        "customers",
        "subscriptions",
        "users",
        "license_assignments",
        "delegated_admin_relationships",
    ];

    subscription_upgrades::db::seed_demo(&pool).await.unwrap();
    let mut first = Vec::new();
    for table in tables {
        first.push(count(&pool, table).await);
    }
    subscription_upgrades::db::seed_demo(&pool).await.unwrap();
    let mut second = Vec::new();
    for table in tables {
        second.push(count(&pool, table).await);
    }

    assert_eq!(first, second);
    let offers: i64 = sqlx::query_scalar("SELECT count(DISTINCT offer_id) FROM subscriptions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(offers, 11, "a subscription on every base offer");
    let a = app.api(Uuid::parse_str(PARTNER_A).unwrap(), &["global_admin"]);
    let b = app.api(Uuid::parse_str(PARTNER_B).unwrap(), &["global_admin"]);
    let markets = |page: Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["market"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        markets(a.get("/v1/customers").await.json().await.unwrap()),
        ["US", "IT", "IN", "US", "US", "US"]
    );
    assert_eq!(
        markets(b.get("/v1/customers").await.json().await.unwrap()),
        ["IT", "IN"]
    );
    let northwind: Value = a
        .get("/v1/customers/c0000000-0000-4000-8000-000000000001/subscriptions")
        .await
        .json()
        .await
        .unwrap();
    let statuses: Vec<&str> = northwind["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["active", "active", "active", "suspended", "cancelled"]
    );
    let adventure: Value = a
        .get("/v1/customers/c0000000-0000-4000-8000-000000000004/subscriptions")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        adventure["items"].as_array().unwrap().len(),
        2,
        "the other channel's E1 stays hidden"
    );
}

/// The demo partner's view of one subscription's upgrades, by target.
struct Demo<'a> {
    api: crate::helpers::Api<'a>,
}

impl Demo<'_> {
    fn path(customer: u8, subscription: u8) -> String {
        format!(
            "/v1/customers/c0000000-0000-4000-8000-0000000000{customer:02}/subscriptions/50000000-0000-4000-8000-0000000000{subscription:02}/upgrades"
        )
    }

    /// `(target, failure codes, [(email, [(reason, service)])])` of every listed option.
    async fn options(
        &self,
        customer: u8,
        subscription: u8,
    ) -> Vec<(String, Vec<String>, Accounts)> {
        let page: Value = self
            .api
            .get(&Self::path(customer, subscription))
            .await
            .json()
            .await
            .unwrap();
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["targetOfferId"].as_str().unwrap().to_owned(),
                    failure_codes(&o["failures"]),
                    accounts(&o["accountsRequiringReassignment"]),
                )
            })
            .collect()
    }

    /// The failure codes of a refused upgrade, or the accounts of a dry run.
    async fn dry_run(&self, customer: u8, subscription: u8, body: Value) -> Value {
        let mut body = body;
        body["dryRun"] = Value::Bool(true);
        self.api
            .post(&Self::path(customer, subscription), &body)
            .await
            .json()
            .await
            .unwrap()
    }
}

type Accounts = Vec<(String, Vec<(String, Option<String>)>)>;

fn accounts(list: &Value) -> Accounts {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let reasons = a["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["code"].as_str().unwrap().to_owned(),
                        r["service"].as_str().map(str::to_owned),
                    )
                })
                .collect();
            (a["email"].as_str().unwrap().to_owned(), reasons)
        })
        .collect()
}

fn option<'a>(
    options: &'a [(String, Vec<String>, Accounts)],
    target: &str,
) -> &'a (String, Vec<String>, Accounts) {
    options.iter().find(|o| o.0 == target).expect(target)
}

#[tokio::test]
async fn demo_data_shows_every_eligibility_code_over_http() {
    let app = spawn_demo_app().await;
    let demo = Demo {
        api: app.api(Uuid::parse_str(PARTNER_A).unwrap(), &["admin_agent"]),
    };

    // Fabbrica Rossi: a suspended subscription; lapsed admin rights; an active add-on.
    for (_, codes, _) in demo.options(2, 23).await {
        assert!(
            codes.contains(&"subscription_not_active".to_owned()),
            "{codes:?}"
        );
    }
    for (target, codes, _) in demo.options(2, 21).await {
        assert!(
            codes.contains(&"delegated_admin_missing".to_owned()),
            "{target}"
        );
        assert!(codes.contains(&"add_ons_present".to_owned()), "{target}");
    }
    // Northwind: E3 has no paths; Basic -> Standard conflicts with the Apps for business
    // subscription; Basic -> E3 meets the E3 it owns.
    let refused = demo
        .dry_run(1, 13, json!({"targetOfferId": "o365-e5"}))
        .await;
    assert_eq!(
        failure_codes(&refused["failures"]),
        ["no_upgrade_paths", "target_offer_not_allowed"]
    );
    assert!(
        demo.options(1, 13).await.is_empty(),
        "a source with no paths lists nothing"
    );
    let northwind = demo.options(1, 11).await;
    assert_eq!(
        option(&northwind, "m365-business-standard").1,
        ["conflicting_services"]
    );
    assert_eq!(
        option(&northwind, "o365-e3").1,
        ["conflicting_services", "target_already_owned"]
    );
    assert_eq!(option(&northwind, "o365-e1").1, Vec::<String>::new());
    // Tata (India): the global Business Standard is not allowed; rights cover web and mail only.
    let refused = demo
        .dry_run(3, 31, json!({"targetOfferId": "m365-business-standard"}))
        .await;
    assert_eq!(
        failure_codes(&refused["failures"]),
        [
            "target_offer_not_allowed",
            "delegated_admin_missing",
            "conflicting_services"
        ],
        "every failing condition, not just the first"
    );
    let tata = demo.options(3, 31).await;
    assert_eq!(
        option(&tata, "o365-e3").1,
        ["delegated_admin_missing", "conflicting_services"]
    );
    assert_eq!(option(&tata, "o365-e1").1, Vec::<String>::new());
    // Adventure Works owns E1 through another channel; the message says so, without details.
    let refused = demo
        .dry_run(4, 41, json!({"targetOfferId": "o365-e1"}))
        .await;
    assert_eq!(
        failure_codes(&refused["failures"]),
        ["target_already_owned"]
    );
    let message = refused["failures"][0]["message"].as_str().unwrap();
    assert!(message.contains("another partner or channel"), "{message}");
    assert!(
        !message.contains("40"),
        "no seat count of the other channel: {message}"
    );
    // Litware: 301 seats of Business Standard exceed the Business family's cap.
    let refused = demo
        .dry_run(
            5,
            51,
            json!({"targetOfferId": "m365-business-standard", "quantity": 301}),
        )
        .await;
    assert_eq!(failure_codes(&refused["failures"]), ["seat_limit_exceeded"]);
}

#[tokio::test]
async fn demo_data_shows_every_reassignment_reason_over_http() {
    let app = spawn_demo_app().await;
    let demo = Demo {
        api: app.api(Uuid::parse_str(PARTNER_A).unwrap(), &["admin_agent"]),
    };
    assert!(
        demo.options(1, 13).await.is_empty(),
        "a source with no paths lists nothing"
    );
    let northwind = demo.options(1, 11).await;
    let reason = |code: &str, service: Option<&str>| (code.to_owned(), service.map(str::to_owned));

    // Basic -> E5 is upgrade-only: all six users are listed.
    let e5 = &option(&northwind, "o365-e5").2;
    assert_eq!(e5.len(), 6);
    assert!(
        e5.iter()
            .all(|(_, r)| r[0] == reason("upgrade_only_path", None))
    );
    // Basic -> E3: Grace and Edsger hold Apps for business licenses with the desktop apps.
    let e3 = &option(&northwind, "o365-e3").2;
    let emails: Vec<&str> = e3.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(
        emails,
        ["grace@northwind.example", "edsger@northwind.example"]
    );
    assert!(
        e3[0]
            .1
            .contains(&reason("conflicting_license", Some("OFFICE_DESKTOP")))
    );
    // Basic -> E1 loses Bookings, except for Alan, who had it switched off.
    let e1 = &option(&northwind, "o365-e1").2;
    assert_eq!(
        e1[0],
        (
            "ada@northwind.example".to_owned(),
            vec![reason("service_removed", Some("BOOKINGS"))]
        )
    );
    assert!(e1.iter().all(|a| a.0 != "alan@northwind.example"));
    // Four seats for six licensed users: the last two licensed are left over.
    let short = demo
        .dry_run(1, 11, json!({"targetOfferId": "o365-e1", "quantity": 4}))
        .await;
    let short = accounts(&short["accountsRequiringReassignment"]);
    let left_over: Vec<&str> = short
        .iter()
        .filter(|(_, r)| r.contains(&reason("seat_shortage", None)))
        .map(|a| a.0.as_str())
        .collect();
    assert_eq!(
        left_over,
        ["barbara@northwind.example", "donald@northwind.example"]
    );
}

/// The README's new-commerce steps: Wingtip Toys' 12 seats, 2 inside their window, go down to 10
/// (refunded daily at the locked 12.50), not to 8 (the remedy, scheduling it, works), and the
/// subscription cannot be cancelled any more.
#[tokio::test]
async fn demo_data_shows_the_new_commerce_refusals_and_their_remedies() {
    let app = spawn_demo_app().await;
    let a = app.api(Uuid::parse_str(PARTNER_A).unwrap(), &["admin_agent"]);
    let path = "/v1/customers/c0000000-0000-4000-8000-000000000008/subscriptions/50000000-0000-4000-8000-000000000081";
    let wingtip: Value = a.get(path).await.json().await.unwrap();
    assert_eq!(
        (
            &wingtip["commerce"],
            &wingtip["quantity"],
            &wingtip["unitPrice"]
        ),
        (&json!("new"), &json!(12), &json!(1250))
    );
    assert_eq!(wingtip["cancellationAllowedUntil"], Value::Null);
    assert_eq!(wingtip["refundableQuantity"][0]["quantity"], 2);

    let refused = a.patch_with(path, &json!({"quantity": 8}), &[]).await;
    let code = "seat_reduction_not_allowed";
    let problem =
        crate::helpers::assert_problem(refused, reqwest::StatusCode::UNPROCESSABLE_ENTITY, code)
            .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("down to 10 seats"),
        "{problem}"
    );
    let cancel = a
        .patch_with(path, &json!({"status": "cancelled"}), &[])
        .await;
    let code = "cancellation_window_closed";
    crate::helpers::assert_problem(cancel, reqwest::StatusCode::UNPROCESSABLE_ENTITY, code).await;

    let reduced = a.patch_with(path, &json!({"quantity": 10}), &[]).await;
    assert_eq!(reduced.status(), reqwest::StatusCode::OK);
    let reduced: Value = reduced.json().await.unwrap();
    // 2 seats x 12.50 over the days of the month-long period left from today, out of its days.
    let day = |v: &Value| v.as_str().unwrap().parse::<chrono::NaiveDate>().unwrap();
    let (start, end) = (
        day(&wingtip["currentPeriodStart"]),
        day(&wingtip["currentPeriodEnd"]),
    );
    let today = chrono::Utc::now().date_naive();
    let (left, days) = ((end - today).num_days(), (end - start).num_days());
    let exact = 2 * 1250 * left;
    let (quotient, remainder) = (exact / days, exact % days);
    let credit = match (2 * remainder).cmp(&days) {
        std::cmp::Ordering::Greater => quotient + 1,
        std::cmp::Ordering::Equal => quotient + (quotient & 1),
        std::cmp::Ordering::Less => quotient,
    };
    assert_eq!(reduced["billing"]["credit"], credit);
    let scheduled = a
        .post(&format!("{path}/scheduled-change"), &json!({"quantity": 8}))
        .await;
    assert_eq!(scheduled.status(), reqwest::StatusCode::CREATED);
}
