//! Keeping the keys fresh: a new key is fetched when a token names it, a removed key stops
//! working at the next periodic refresh (the provider's `max-age` honoured), and a flood of
//! tokens naming made-up keys does not make the service hammer the provider.

use uuid::Uuid;

use super::provider::{KeySetAnswer, TestKey, TestProvider};
use super::{claims, eventually, outcome, spawn_on};

#[tokio::test]
async fn a_rotated_in_key_is_accepted_after_a_refresh_and_a_removed_key_refused_after_the_next() {
    let old = TestKey::rsa("2026-old");
    let new = TestKey::new("rsa-2", jsonwebtoken::Algorithm::RS256, "2026-new");
    let provider = TestProvider::start(KeySetAnswer::Keys(vec![old.jwk()])).await;
    let app = spawn_on(&provider, 1).await;
    let (by_old, by_new) = (
        old.sign(&claims(Uuid::new_v4())),
        new.sign(&claims(Uuid::new_v4())),
    );
    assert_eq!(outcome(&app, &by_old).await.0, 200);

    // The provider publishes the new key beside the old one. The next periodic refresh is an
    // hour away, so a token naming the new key fetches it (once a second has passed since the
    // last fetch; until then it is token_key_unknown).
    provider.set_max_age(1);
    provider.answer(KeySetAnswer::Keys(vec![old.jwk(), new.jwk()]));
    eventually("the new key is accepted", || async {
        let (status, code) = outcome(&app, &by_new).await;
        assert!(
            status == 200 || code == "token_key_unknown",
            "{status} {code}"
        );
        status == 200
    })
    .await;
    assert_eq!(
        outcome(&app, &by_old).await.0,
        200,
        "both keys are published"
    );

    // That key set may be cached for a second (max-age=1): the periodic refreshes now come every
    // second. The provider removes the old key; once a fetch after the change has been stored
    // (the second fetch after it starts only then), the old key is refused.
    provider.answer(KeySetAnswer::Keys(vec![new.jwk()]));
    let before = provider.fetches();
    provider.wait_for_fetches(before + 2).await;
    assert_eq!(
        outcome(&app, &by_old).await,
        (401, "token_key_unknown".to_owned())
    );
    assert_eq!(outcome(&app, &by_new).await.0, 200);
}

#[tokio::test]
async fn a_flood_of_tokens_naming_unknown_keys_fetches_the_key_set_at_most_twice() {
    let key = TestKey::rsa("real");
    // Signed before the service starts (signing is slow in a debug build, and the test and the
    // service share a thread): with Ed25519, a key the provider does not publish.
    let (first, second) = (made_up(), made_up());
    let provider = TestProvider::start(KeySetAnswer::Keys(vec![key.jwk()])).await;
    // The first fetch is held back, so the first flood arrives while it is in flight.
    provider.hold();
    let app = spawn_on(&provider, 60).await;
    provider.wait_for_fetches(1).await;

    let during = tokio::spawn(outcomes(app.client.clone(), app.address.clone(), first));
    provider.release();
    let during = during.await.unwrap();
    let after = outcomes(app.client.clone(), app.address.clone(), second).await;

    for (flood, answers) in [("during the fetch", during), ("after it", after)] {
        assert!(
            answers
                .iter()
                .all(|answer| *answer == (401, "token_key_unknown".to_owned())),
            "{flood}: {answers:?}"
        );
    }
    assert!(provider.fetches() <= 2, "{} fetches", provider.fetches());
    assert_eq!(
        outcome(&app, &key.sign(&claims(Uuid::new_v4()))).await.0,
        200
    );
}

/// A hundred tokens naming made-up keys.
fn made_up() -> Vec<String> {
    let key = TestKey::new("ed25519", jsonwebtoken::Algorithm::EdDSA, "unused");
    (0..100)
        .map(|_| {
            let kid = Uuid::new_v4().to_string();
            key.sign_as(key.algorithm, Some(&kid), &claims(Uuid::new_v4()))
        })
        .collect()
}

/// Sends every token at once; the status and problem code of each answer.
async fn outcomes(
    client: reqwest::Client,
    base: String,
    tokens: Vec<String>,
) -> Vec<(u16, String)> {
    let calls = tokens.iter().map(|token| {
        let request = client.get(format!("{base}/v1/offers")).bearer_auth(token);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap();
            (status, body["code"].as_str().unwrap_or_default().to_owned())
        }
    });
    futures::future::join_all(calls).await
}
