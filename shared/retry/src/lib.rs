//! # retry: one backoff for every caller
//!
//! The Salesforce and FNO clients and the AWS adapters retry in place with the same policy:
//!
//! * [`Backoff`]: exponential with **full jitter** — the delay before retry *n* (0-based) is
//!   drawn uniformly from `0..=min(max, first · 2ⁿ)`, so callers that failed together do not
//!   come back together; at most `retries` retries after the first attempt;
//! * a [`Deadline`] (when the invocation must be done): no retry is started whose backoff would
//!   end past it, and [`Deadline::cap`] fits each call's timeout into the time left (or says
//!   that none is left, so the caller fails fast instead of starting a call that cannot end);
//! * [`ErrorKind`]: what a failure means for the caller — retry in place and then later
//!   ([`ErrorKind::Transient`]), never ([`ErrorKind::Permanent`]), or when the quota allows
//!   ([`ErrorKind::Quota`]). Each client's error type answers `kind()`; the client decides
//!   which transient failures are safe to repeat in place (a write that may have been applied
//!   is not).
//!
//! [`retry`] is the loop for a call that is repeated whole; [`Retrier`] is the same loop for
//! callers that carry state between attempts (re-sending only the records that failed).

use rand::Rng;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a failure means for whoever decides between acknowledging and retrying later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Timeouts, connection errors, 5xx, 429, row locks, server-side SOAP faults, a deadline
    /// reached: retried in place, then later (the work stays queued).
    Transient,
    /// Refused credentials, invalid configuration or request, rule failures: retrying cannot
    /// help until someone changes something (logged, kept outstanding, acknowledged).
    Permanent,
    /// The API quota is spent: not retried in place; wait until the quota allows.
    Quota,
}

/// Exponential backoff with full jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Ceiling of the first delay.
    pub first: Duration,
    /// Ceiling of every delay.
    pub max: Duration,
    /// Retries after the first attempt (so `retries + 1` attempts at most).
    pub retries: u32,
}

impl Backoff {
    pub const fn new(first: Duration, max: Duration, retries: u32) -> Self {
        Backoff {
            first,
            max,
            retries,
        }
    }

    /// The largest delay before retry `attempt` (0-based): `min(max, first · 2^attempt)`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(31));
        self.first.saturating_mul(factor).min(self.max)
    }

    /// A delay drawn uniformly from `0..=ceiling(attempt)`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }

    /// Sleeps [`delay`](Self::delay)`(attempt)`.
    pub async fn sleep(&self, attempt: u32) {
        tokio::time::sleep(self.delay(attempt)).await;
    }

    /// A retry loop over this policy, bounded by `deadline`.
    pub fn start(&self, deadline: Option<Instant>) -> Retrier {
        Retrier {
            policy: *self,
            deadline,
            attempt: 0,
        }
    }
}

/// The state of one retry loop: which attempt this is, and when it must stop.
#[derive(Debug, Clone)]
pub struct Retrier {
    policy: Backoff,
    deadline: Option<Instant>,
    attempt: u32,
}

impl Retrier {
    /// The attempt under way (0 = the first).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// After a failed attempt worth repeating: sleeps the jittered delay and answers true, or
    /// answers false at once when the retries are spent or the delay would end past the
    /// deadline.
    pub async fn again(&mut self) -> bool {
        if self.attempt >= self.policy.retries {
            return false;
        }
        let delay = self.policy.delay(self.attempt);
        if self.deadline.is_some_and(|d| Instant::now() + delay >= d) {
            return false;
        }
        tokio::time::sleep(delay).await;
        self.attempt += 1;
        true
    }
}

/// Runs `op(attempt)` until it succeeds, fails with an error `again` does not want repeated,
/// or the policy (retries, deadline) says stop; returns the last result.
pub async fn retry<T, E, F, Fut>(
    policy: Backoff,
    deadline: Option<Instant>,
    mut op: F,
    mut again: impl FnMut(&E) -> bool,
) -> Result<T, E>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut r = policy.start(deadline);
    loop {
        match op(r.attempt()).await {
            Err(e) if again(&e) && r.again().await => continue,
            done => return done,
        }
    }
}

/// When the current invocation must be done, shared by every call a client makes (set it at
/// the start of each invocation; `None` = no deadline).
#[derive(Debug, Default)]
pub struct Deadline(Mutex<Option<Instant>>);

/// The deadline has passed: no call may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlinePassed;

impl Deadline {
    pub fn set(&self, at: Option<Instant>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    pub fn get(&self) -> Option<Instant> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `timeout` shortened to the time left, or `Err` when none is left.
    pub fn cap(&self, timeout: Duration) -> Result<Duration, DeadlinePassed> {
        let Some(at) = self.get() else {
            return Ok(timeout);
        };
        match at.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Ok(timeout.min(left)),
            _ => Err(DeadlinePassed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn ceilings_double_up_to_the_max_and_delays_stay_under_them() {
        let b = Backoff::new(100 * MS, 1000 * MS, 5);
        let ceilings: Vec<u128> = (0..6).map(|n| b.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.ceiling(u32::MAX), 1000 * MS, "no overflow");
        let delays: Vec<Duration> = (0..200).map(|_| b.delay(3)).collect();
        assert!(delays.iter().all(|d| *d <= 800 * MS), "{delays:?}");
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(
            distinct.len() > 100,
            "jittered: {} distinct",
            distinct.len()
        );
    }

    #[tokio::test]
    async fn retry_repeats_wanted_errors_up_to_the_retries() {
        let calls = Cell::new(0u32);
        let b = Backoff::new(MS, MS, 3);
        let r: Result<(), &str> = retry(
            b,
            None,
            |n| {
                assert_eq!(n, calls.get(), "attempts are numbered");
                calls.set(n + 1);
                async { Err("busy") }
            },
            |_| true,
        )
        .await;
        assert_eq!((r, calls.get()), (Err("busy"), 4));
        calls.set(0);
        let r: Result<u32, &str> = retry(
            b,
            None,
            |n| async move {
                if n < 2 {
                    Err("busy")
                } else {
                    Ok(n)
                }
            },
            |_| true,
        )
        .await;
        assert_eq!(r, Ok(2));
    }

    #[tokio::test]
    async fn errors_not_wanted_again_stop_at_once() {
        let calls = Cell::new(0u32);
        let r: Result<(), &str> = retry(
            Backoff::new(MS, MS, 5),
            None,
            |_| {
                calls.set(calls.get() + 1);
                async { Err("refused") }
            },
            |e| *e != "refused",
        )
        .await;
        assert_eq!((r, calls.get()), (Err("refused"), 1));
    }

    #[tokio::test]
    async fn no_retry_sleeps_past_the_deadline() {
        let b = Backoff::new(Duration::from_secs(60), Duration::from_secs(60), 3);
        // whatever the draw, the sleep would end at or past a deadline that is now
        let mut r = b.start(Some(Instant::now()));
        assert!(!r.again().await);
        assert_eq!(r.attempt(), 0);
        let mut r = Backoff::new(MS, MS, 1).start(None);
        assert!(r.again().await);
        assert!(!r.again().await, "retries spent");
        assert_eq!(r.attempt(), 1);
    }

    #[test]
    fn a_deadline_caps_timeouts_and_refuses_once_passed() {
        let d = Deadline::default();
        assert_eq!(d.cap(30 * MS), Ok(30 * MS));
        d.set(Some(Instant::now() + Duration::from_secs(3600)));
        assert_eq!(d.cap(30 * MS), Ok(30 * MS));
        let left = d.cap(Duration::from_secs(7200)).expect("time left");
        assert!(left <= Duration::from_secs(3600) && left > Duration::from_secs(3500));
        d.set(Some(Instant::now()));
        assert_eq!(d.cap(30 * MS), Err(DeadlinePassed));
        d.set(None);
        assert_eq!(d.cap(30 * MS), Ok(30 * MS));
    }
}
