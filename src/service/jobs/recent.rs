//! The counts of running jobs as read in the last moment, per instance: however many clients
//! poll a running job, its items are counted at most once per [`FRESH`] here. Counting reads
//! every item of the job (12 ms for 10,000 items while they are being written), and a progress
//! view polled ten times a second by a few clients would otherwise take a good share of the
//! database from the job it watches (docs/performance.md). A job that has ended is always
//! counted afresh: its counts are final, and a client that saw it end reads exactly them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::job::{ItemOutcome, JobStatus};
use crate::domain::{JobId, PartnerId};

/// How long a running job's counts are shown as read.
pub const FRESH: Duration = Duration::from_millis(500);

/// Jobs remembered at most; past that, those no longer fresh are forgotten (all of them, if every
/// one still is).
const CAPACITY: usize = 1024;

type Tally = Vec<(ItemOutcome, i64)>;

/// A job's counts, when they were read and the job's status then.
type Read = (Instant, JobStatus, Tally);

/// Running jobs' counts, as read.
#[derive(Debug, Default)]
pub struct RecentCounts {
    read: Mutex<HashMap<(PartnerId, JobId), Read>>,
}

impl RecentCounts {
    /// The job's counts if they were read within [`FRESH`] of `now` while it had `status`.
    pub fn get(
        &self,
        (partner_id, job_id): (PartnerId, JobId),
        status: JobStatus,
        now: Instant,
    ) -> Option<Tally> {
        let read = self
            .read
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        read.get(&(partner_id, job_id))
            .filter(|(at, seen, _)| *seen == status && now.saturating_duration_since(*at) < FRESH)
            .map(|(_, _, tally)| tally.clone())
    }

    /// Remembers the counts of a running job read at `at`; forgets those of a job that ended.
    pub fn put(
        &self,
        (partner_id, job_id): (PartnerId, JobId),
        status: JobStatus,
        at: Instant,
        tally: &[(ItemOutcome, i64)],
    ) {
        let mut read = self
            .read
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !running(status) {
            read.remove(&(partner_id, job_id));
            return;
        }
        if read.len() >= CAPACITY {
            read.retain(|_, (read_at, _, _)| at.saturating_duration_since(*read_at) < FRESH);
            if read.len() >= CAPACITY {
                read.clear();
            }
        }
        read.insert((partner_id, job_id), (at, status, tally.to_vec()));
    }
}

/// Whether a job of this status may still change its counts.
fn running(status: JobStatus) -> bool {
    matches!(status, JobStatus::Queued | JobStatus::Running)
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn job(n: u128) -> (PartnerId, JobId) {
        (PartnerId(Uuid::from_u128(1)), JobId(Uuid::from_u128(n)))
    }

    #[test]
    fn a_running_jobs_counts_are_reused_only_while_fresh_and_for_the_same_status() {
        let recent = RecentCounts::default();
        let at = Instant::now();
        let tally = vec![(ItemOutcome::Succeeded, 3), (ItemOutcome::Pending, 7)];
        recent.put(job(1), JobStatus::Running, at, &tally);
        assert_eq!(
            recent.get(job(1), JobStatus::Running, at),
            Some(tally.clone())
        );
        let later = at + FRESH - Duration::from_millis(1);
        assert_eq!(recent.get(job(1), JobStatus::Running, later), Some(tally));
        assert_eq!(recent.get(job(1), JobStatus::Running, at + FRESH), None);
        assert_eq!(recent.get(job(1), JobStatus::Queued, at), None);
        assert_eq!(recent.get(job(2), JobStatus::Running, at), None);
        let other_partner = (PartnerId(Uuid::from_u128(2)), JobId(Uuid::from_u128(1)));
        assert_eq!(recent.get(other_partner, JobStatus::Running, at), None);
    }

    #[test]
    fn an_ended_jobs_counts_are_never_reused() {
        let recent = RecentCounts::default();
        let at = Instant::now();
        let tally = vec![(ItemOutcome::Pending, 1)];
        recent.put(job(1), JobStatus::Running, at, &tally);
        for ended in [JobStatus::Completed, JobStatus::Cancelled] {
            recent.put(job(1), ended, at, &[(ItemOutcome::Succeeded, 1)]);
            assert_eq!(recent.get(job(1), ended, at), None);
            assert_eq!(recent.get(job(1), JobStatus::Running, at), None);
        }
    }

    #[test]
    fn the_memory_is_bounded() {
        let recent = RecentCounts::default();
        let at = Instant::now();
        for n in 0..(CAPACITY as u128 * 3) {
            recent.put(job(n), JobStatus::Running, at, &[]);
        }
        let read = recent.read.lock().unwrap();
        assert!(read.len() <= CAPACITY, "{} remembered", read.len());
    }
}
