//! Bounds on job event streams, which hold a connection for as long as a job runs: at most so
//! many open on this instance, and at most so many of one partner, so that one partner's
//! streams can never take the connections other partners, `/healthz` and `/readyz` need. Counted
//! in this instance's memory: each instance bounds its own connections. A stream holds its slot
//! until it ends or its client goes away.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use uuid::Uuid;

use crate::domain::ErrorCode;
use crate::error::Error;

/// Seconds a refused client is told to wait: streams end at the latest after their maximum life,
/// and usually much sooner, with their job.
const RETRY_AFTER_SECS: u32 = 10;

/// How many streams may be open, and for how long each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Streams open on this instance at once, over every partner.
    pub per_instance: usize,
    /// Streams of one partner open on this instance at once.
    pub per_partner: usize,
    /// How long a stream stays open at most.
    pub max_life: Duration,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            per_instance: 64,
            per_partner: 8,
            max_life: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_partner: HashMap<Uuid, usize>,
}

/// The streams open on this instance.
#[derive(Debug)]
pub struct StreamSlots {
    limits: StreamLimits,
    open: Mutex<Open>,
}

/// One open stream's place; given back when dropped.
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    partner: Uuid,
}

impl StreamSlots {
    pub fn new(limits: StreamLimits) -> Self {
        StreamSlots {
            limits,
            open: Mutex::new(Open::default()),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> StreamLimits {
        self.limits
    }

    /// A place for one more stream of `partner`, or 429 `too_many_streams`.
    pub fn take(self: &Arc<Self>, partner: Uuid) -> Result<StreamSlot, Error> {
        // Counts stay whole whatever panicked while holding the lock: each change is one step.
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let theirs = open.by_partner.get(&partner).copied().unwrap_or(0);
        if theirs >= self.limits.per_partner {
            return Err(refused(format!(
                "You already follow {theirs} job event streams on this instance, the most you may; \
                 close one, or read the job with GET /v1/upgrade-jobs/{{jobId}}."
            )));
        }
        if open.total >= self.limits.per_instance {
            return Err(refused(
                "This instance serves as many job event streams as it may; retry shortly, or read \
                 the job with GET /v1/upgrade-jobs/{jobId}."
                    .to_owned(),
            ));
        }
        open.total += 1;
        *open.by_partner.entry(partner).or_insert(0) += 1;
        Ok(StreamSlot {
            slots: Arc::clone(self),
            partner,
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self
            .slots
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.by_partner.get_mut(&self.partner) {
            *count -= 1;
            if *count == 0 {
                open.by_partner.remove(&self.partner);
            }
        }
    }
}

fn refused(detail: String) -> Error {
    Error::throttled(ErrorCode::TooManyStreams, detail, RETRY_AFTER_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARTNER: Uuid = Uuid::from_u128(1);
    const OTHER: Uuid = Uuid::from_u128(2);

    fn slots(per_instance: usize, per_partner: usize) -> Arc<StreamSlots> {
        Arc::new(StreamSlots::new(StreamLimits {
            per_instance,
            per_partner,
            max_life: Duration::from_secs(1),
        }))
    }

    #[test]
    fn a_partner_holds_at_most_its_share_and_gets_it_back_when_a_stream_ends() {
        let slots = slots(10, 2);
        let first = slots.take(PARTNER).unwrap();
        let _second = slots.take(PARTNER).unwrap();
        let refused = slots.take(PARTNER).unwrap_err();
        assert_eq!(refused.code(), ErrorCode::TooManyStreams);
        assert!(
            slots.take(OTHER).is_ok(),
            "another partner has its own share"
        );
        drop(first);
        assert!(slots.take(PARTNER).is_ok());
    }

    #[test]
    fn the_instance_holds_at_most_its_total_over_every_partner() {
        let slots = slots(2, 2);
        let _a = slots.take(PARTNER).unwrap();
        let b = slots.take(OTHER).unwrap();
        assert!(slots.take(Uuid::from_u128(3)).is_err());
        drop(b);
        let _c = slots.take(Uuid::from_u128(3)).unwrap();
        let open = slots.open.lock().unwrap();
        assert_eq!(
            (open.total, open.by_partner.len()),
            (2, 2),
            "the other partner is forgotten"
        );
    }
}
