//! Token-bucket arithmetic shared by the rate-limit adapters: they only load and
//! conditionally store a [`Bucket`].

use crate::domain::tenant::RateLimit;
use crate::ports::RateDecision;

/// A tenant's bucket as stored: tokens left at `updated_at` (unix seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub tokens: f64,
    pub updated_at: i64,
}

impl Bucket {
    /// Refills `stored` (a missing bucket is full) to `now` and takes one token: the bucket
    /// to write, or how long until a token is there.
    pub fn take(stored: Option<Bucket>, limit: &RateLimit, now: i64) -> Result<Bucket, RateDecision> {
        let burst = f64::from(limit.burst());
        let refilled = match stored {
            None => Bucket { tokens: burst, updated_at: now },
            Some(b) => {
                // A clock that steps back refills nothing (and never drains).
                let elapsed = (now - b.updated_at).max(0) as f64;
                Bucket { tokens: (b.tokens + elapsed * limit.per_sec()).min(burst), updated_at: b.updated_at.max(now) }
            }
        };
        if refilled.tokens >= 1.0 {
            // Micro-token precision keeps stored numbers short (DynamoDB numbers carry 38 digits).
            let tokens = ((refilled.tokens - 1.0) * 1e6).round() / 1e6;
            return Ok(Bucket { tokens, ..refilled });
        }
        let wait = ((1.0 - refilled.tokens) / limit.per_sec()).ceil();
        Err(RateDecision::Limited { retry_after_secs: (wait as u64).max(1) })
    }

    /// When a bucket left alone is full again, so its record may be dropped (a missing
    /// bucket reads as full).
    pub fn full_at(&self, limit: &RateLimit) -> i64 {
        let missing = (f64::from(limit.burst()) - self.tokens).max(0.0);
        self.updated_at + (missing / limit.per_sec()).ceil() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(burst: u32, per_sec: f64) -> RateLimit {
        RateLimit::new(burst, per_sec).unwrap()
    }

    #[test]
    fn a_new_bucket_is_full_and_empties_then_refills() {
        let l = limit(3, 1.0);
        let mut bucket = None;
        for left in [2.0, 1.0, 0.0] {
            let b = Bucket::take(bucket, &l, 100).unwrap();
            assert_eq!(b.tokens, left);
            bucket = Some(b);
        }
        assert_eq!(Bucket::take(bucket, &l, 100), Err(RateDecision::Limited { retry_after_secs: 1 }));
        let b = Bucket::take(bucket, &l, 101).expect("one token after a second");
        assert_eq!((b.tokens, b.updated_at), (0.0, 101));
        // Never more than the burst, however long the pause.
        assert_eq!(Bucket::take(Some(b), &l, 10_000).unwrap().tokens, 2.0);
    }

    #[test]
    fn retry_after_is_the_wait_for_one_token_rounded_up() {
        let slow = limit(1, 0.25);
        let empty = Some(Bucket { tokens: 0.0, updated_at: 50 });
        assert_eq!(Bucket::take(empty, &slow, 50), Err(RateDecision::Limited { retry_after_secs: 4 }));
        assert_eq!(Bucket::take(empty, &slow, 52), Err(RateDecision::Limited { retry_after_secs: 2 }));
        assert!(Bucket::take(empty, &slow, 54).is_ok());
        let fast = limit(10, 50.0);
        let drained = Some(Bucket { tokens: 0.5, updated_at: 50 });
        assert_eq!(Bucket::take(drained, &fast, 50), Err(RateDecision::Limited { retry_after_secs: 1 }));
    }

    #[test]
    fn a_clock_stepping_back_neither_refills_nor_rewinds() {
        let l = limit(2, 1.0);
        let b = Bucket::take(Some(Bucket { tokens: 1.0, updated_at: 100 }), &l, 90).unwrap();
        assert_eq!((b.tokens, b.updated_at), (0.0, 100));
    }

    #[test]
    fn full_at_is_when_the_refill_reaches_the_burst() {
        let l = limit(10, 2.0);
        assert_eq!(Bucket { tokens: 3.0, updated_at: 100 }.full_at(&l), 104);
        assert_eq!(Bucket { tokens: 10.0, updated_at: 100 }.full_at(&l), 100);
    }
}
