//! Two service processes on one database under sustained concurrent load (a few seconds of
//! upgrades, seat changes and eligibility reads on a handful of customers, through both): no
//! 5xx, no source upgraded twice, no customer given the same target twice, every stored answer
//! replayed as given by either instance, and the invariants hold afterwards.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, assert_invariants, spawn_app};

const CUSTOMERS: usize = 6;
const SOURCES_PER_CUSTOMER: usize = 4;
const WORKERS: usize = 8;
const LOAD: Duration = Duration::from_secs(5);
const TARGETS: [&str; 3] = ["m365-business-standard", "o365-e1", "o365-e3"];

/// One state-changing request and its answer.
#[derive(Debug)]
struct Sent {
    method: Method,
    path: String,
    body: Value,
    key: String,
    status: StatusCode,
    answer: Value,
}

/// A uniformly random index below `n` (the tests need no seedable generator).
fn pick(n: usize) -> usize {
    (Uuid::new_v4().as_u128() % n as u128) as usize
}

async fn worker(instance: &TestApp, sources: &[(String, String)], until: Instant) -> Vec<Sent> {
    let api = instance.admin();
    let mut sent = Vec::new();
    while Instant::now() < until {
        let (customer, source) = &sources[pick(sources.len())];
        let subscription = format!("/v1/customers/{customer}/subscriptions/{source}");
        let (method, path, body) = match pick(3) {
            0 => {
                let response = api.get(&format!("{subscription}/upgrades")).await;
                assert_eq!(response.status(), StatusCode::OK, "eligibility read");
                continue;
            }
            1 => (
                Method::POST,
                format!("{subscription}/upgrades"),
                json!({"targetOfferId": TARGETS[pick(TARGETS.len())]}),
            ),
            _ => (
                Method::PATCH,
                subscription,
                json!({"quantity": 2 + pick(6)}),
            ),
        };
        let key = Uuid::new_v4().to_string();
        let response = api
            .request(method.clone(), &path)
            .header("Idempotency-Key", &key)
            .json(&body)
            .send()
            .await
            .expect("the service answers");
        let status = response.status();
        let answer: Value = response.json().await.expect("a JSON answer");
        sent.push(Sent {
            method,
            path,
            body,
            key,
            status,
            answer,
        });
    }
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_under_sustained_concurrent_load_keep_every_guarantee() {
    let first = spawn_app().await;
    let second = first.another_instance().await;
    let admin = first.admin();
    let mut sources = Vec::new();
    for n in 0..CUSTOMERS {
        let customer = admin.customer("US").await;
        admin.relationship(&customer, &["*"]).await;
        let user = admin.user(&customer, &format!("user{n}@contoso.com")).await;
        for m in 0..SOURCES_PER_CUSTOMER {
            let source = admin
                .subscription(&customer, "m365-business-basic", 4)
                .await;
            if m == 0 {
                admin.assign(&customer, &source, &user, &[]).await;
            }
            sources.push((customer.clone(), source));
        }
    }

    let until = Instant::now() + LOAD;
    let workers = (0..WORKERS).map(|n| {
        let instance = if n % 2 == 0 { &first } else { &second };
        worker(instance, &sources, until)
    });
    let sent: Vec<Sent> = join_all(workers).await.into_iter().flatten().collect();

    let mut statuses = BTreeMap::new();
    for request in &sent {
        *statuses.entry(request.status.as_u16()).or_insert(0) += 1;
        assert!(
            [200, 201, 409, 422].contains(&request.status.as_u16()),
            "{} {} {}: {} {}",
            request.method,
            request.path,
            request.body,
            request.status,
            request.answer
        );
    }
    let upgrades: Vec<&Sent> = sent
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .collect();
    assert!(
        !upgrades.is_empty() && statuses.contains_key(&200),
        "the load upgraded and changed seats: {statuses:?}"
    );

    let mut upgraded_sources = HashMap::new();
    let mut targets_per_customer = HashMap::new();
    for upgrade in &upgrades {
        let source = upgrade.answer["sourceSubscriptionId"].as_str().unwrap();
        let customer = upgrade.path.split('/').nth(3).unwrap();
        let target = upgrade.body["targetOfferId"].as_str().unwrap();
        *upgraded_sources.entry(source).or_insert(0) += 1;
        *targets_per_customer.entry((customer, target)).or_insert(0) += 1;
    }
    assert!(
        upgraded_sources.values().all(|n| *n == 1),
        "{upgraded_sources:?}"
    );
    assert!(
        targets_per_customer.values().all(|n| *n == 1),
        "{targets_per_customer:?}"
    );

    // Every stored answer is replayed as given, by the other instance too.
    for (n, request) in sent.iter().filter(|r| r.status.is_success()).enumerate() {
        let instance = if n % 2 == 0 { &first } else { &second };
        let replay = instance
            .admin()
            .request(request.method.clone(), &request.path)
            .header("Idempotency-Key", &request.key)
            .json(&request.body)
            .send()
            .await
            .unwrap();
        assert_eq!(replay.status(), request.status);
        assert_eq!(replay.json::<Value>().await.unwrap(), request.answer);
    }
    assert_invariants(first.database_url()).await;
}
