//! The identity provider's keys, cached in memory: looked up by `kid` behind a read lock,
//! refreshed periodically (the provider's `Cache-Control: max-age` honoured within bounds) and
//! when a token names a key not seen yet — at most once per minimum interval, and concurrent
//! requests share one fetch, so tokens with made-up `kid`s cannot make us hammer the provider.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{Mutex, Notify};
use tokio::time::Instant;

use super::TokenError;
use super::jwk_set::{KeySet, SigningKey};
use super::provider::{Fetched, Provider};
use super::settings::{KeyError, KeySettings};

/// The cached key set of an identity provider.
pub struct Jwks {
    provider: Provider,
    keys: RwLock<Arc<KeySet>>,
    /// Whether a key set was ever loaded (until then, tokens are answered 503).
    loaded: AtomicBool,
    /// Fetches finished, successful or not: a request that waited for one in flight sees it.
    fetches: AtomicU64,
    schedule: Mutex<Schedule>,
    /// Wakes the periodic refresh when a fetch on demand moved the next one.
    rescheduled: Notify,
    min_refresh: Duration,
    max_refresh: Duration,
}

struct Schedule {
    last_attempt: Option<Instant>,
    next_due: Instant,
    failures: u32,
}

/// Why a refresh is asked for.
#[derive(Clone, Copy)]
enum Trigger {
    UnknownKey,
    Schedule,
}

impl Jwks {
    /// An empty cache; nothing is fetched until [`Jwks::keep_fresh`] runs or a token arrives.
    pub fn new(settings: &KeySettings) -> Result<Self, KeyError> {
        Ok(Jwks {
            provider: Provider::new(settings)?,
            keys: RwLock::new(Arc::new(KeySet::new())),
            loaded: AtomicBool::new(false),
            fetches: AtomicU64::new(0),
            schedule: Mutex::new(Schedule {
                last_attempt: None,
                next_due: Instant::now(),
                failures: 0,
            }),
            rescheduled: Notify::new(),
            min_refresh: settings.jwks_min_refresh,
            max_refresh: settings.jwks_refresh.max(settings.jwks_min_refresh),
        })
    }

    /// Whether keys have been loaded, so tokens can be verified.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// The key a token names; an unknown `kid` refreshes the set first when that is due.
    pub(super) async fn key(&self, kid: Option<&str>) -> Result<Arc<SigningKey>, TokenError> {
        let Some(kid) = kid else {
            return Err(self.missing());
        };
        if let Some(key) = self.lookup(kid) {
            return Ok(key);
        }
        self.refresh(Trigger::UnknownKey).await;
        self.lookup(kid).ok_or_else(|| self.missing())
    }

    /// Refreshes the keys on schedule until dropped (run as a background task).
    pub async fn keep_fresh(self: Arc<Self>) {
        loop {
            self.refresh(Trigger::Schedule).await;
            let due = self.schedule.lock().await.next_due;
            tokio::select! {
                () = tokio::time::sleep_until(due) => {}
                () = self.rescheduled.notified() => {}
            }
        }
    }

    /// The key of the current set with this `kid`, without fetching.
    pub(super) fn lookup(&self, kid: &str) -> Option<Arc<SigningKey>> {
        let keys = self
            .keys
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        keys.get(kid).cloned()
    }

    fn missing(&self) -> TokenError {
        if self.is_loaded() {
            TokenError::UnknownKey
        } else {
            let retry_after = u32::try_from(self.min_refresh.as_secs().max(1)).unwrap_or(u32::MAX);
            TokenError::ProviderUnavailable { retry_after }
        }
    }

    /// Fetches the key set when due; one fetch at a time, and whoever waited for one in flight
    /// uses its result instead of fetching again.
    async fn refresh(&self, trigger: Trigger) {
        let seen = self.fetches.load(Ordering::Acquire);
        let mut schedule = self.schedule.lock().await;
        let now = Instant::now();
        let due = match trigger {
            Trigger::UnknownKey => {
                self.fetches.load(Ordering::Acquire) == seen
                    && schedule
                        .last_attempt
                        .is_none_or(|at| now.duration_since(at) >= self.min_refresh)
            }
            Trigger::Schedule => now >= schedule.next_due,
        };
        if !due {
            return;
        }
        schedule.last_attempt = Some(now);
        let wait = match self.provider.fetch().await {
            Ok(fetched) => {
                schedule.failures = 0;
                self.store(fetched)
            }
            Err(error) => {
                schedule.failures = schedule.failures.saturating_add(1);
                tracing::warn!(%error, failures = schedule.failures, "could not refresh the identity provider's signing keys; keeping the cached ones");
                // Retried after the minimum interval: at most a fetch every few seconds.
                self.min_refresh
            }
        };
        schedule.next_due = Instant::now() + wait;
        self.fetches.fetch_add(1, Ordering::Release);
        if matches!(trigger, Trigger::UnknownKey) {
            self.rescheduled.notify_one();
        }
    }

    /// Replaces the cached keys; returns the time until the next periodic refresh.
    fn store(&self, fetched: Fetched) -> Duration {
        let count = fetched.keys.len();
        *self
            .keys
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(fetched.keys);
        if !self.loaded.swap(true, Ordering::AcqRel) {
            tracing::info!(keys = count, "identity provider signing keys loaded");
        }
        fetched
            .max_age
            .unwrap_or(self.max_refresh)
            .clamp(self.min_refresh, self.max_refresh)
    }
}
