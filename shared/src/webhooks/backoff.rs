//! The retry schedule: pure functions, so the policy is tested without a queue or a clock.

use std::time::Duration;

/// How long after the first attempt we keep trying before giving up (dead-letter queue).
pub const RETRY_WINDOW_SECS: i64 = 3 * 24 * 3600;

/// Upper bound of the wait after the n-th failed attempt; the last entry repeats.
const SCHEDULE_SECS: [u64; 9] = [5, 30, 120, 600, 1800, 3600, 7200, 14_400, 28_800];

/// The wait ceiling after failed attempt `attempt` (1-based; 0 is treated as 1).
pub fn backoff_ceiling(attempt: u32) -> Duration {
    let index = (attempt.max(1) as usize - 1).min(SCHEDULE_SECS.len() - 1);
    Duration::from_secs(SCHEDULE_SECS[index])
}

/// Full jitter: `unit` (in [0, 1)) of the ceiling, so receivers recovering from an outage are
/// not hit by every sender at once; at least 1 s so attempts never collide in one second.
pub fn jittered(ceiling: Duration, unit: f64) -> Duration {
    let secs = (ceiling.as_secs_f64() * unit.clamp(0.0, 1.0)).round() as u64;
    Duration::from_secs(secs.clamp(1, ceiling.as_secs().max(1)))
}

/// When to try again after attempt `attempt` failed at `failed_at`, or `None` to give up.
/// The last retry is pulled in to the end of the window, so the window is always used in full.
pub fn next_attempt_at(first_attempt_at: i64, failed_at: i64, attempt: u32, unit: f64) -> Option<i64> {
    let deadline = first_attempt_at.saturating_add(RETRY_WINDOW_SECS);
    if failed_at >= deadline {
        return None;
    }
    let wait = jittered(backoff_ceiling(attempt), unit).as_secs() as i64;
    Some(failed_at.saturating_add(wait).min(deadline))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_grow_monotonically_and_cap_at_eight_hours() {
        let ceilings: Vec<u64> = (0..40).map(|n| backoff_ceiling(n).as_secs()).collect();
        assert!(ceilings.windows(2).all(|w| w[0] <= w[1]), "{ceilings:?}");
        assert_eq!(&ceilings[1..6], &[5, 30, 120, 600, 1800]);
        assert_eq!(ceilings[9], 8 * 3600);
        assert_eq!(backoff_ceiling(u32::MAX).as_secs(), 8 * 3600);
    }

    #[test]
    fn jitter_stays_within_one_second_and_the_ceiling() {
        let ceiling = Duration::from_secs(600);
        assert_eq!(jittered(ceiling, 0.0), Duration::from_secs(1));
        assert_eq!(jittered(ceiling, 0.5), Duration::from_secs(300));
        assert_eq!(jittered(ceiling, 1.0), ceiling);
        assert_eq!(jittered(ceiling, f64::NAN).as_secs(), 1);
        assert_eq!(jittered(ceiling, 7.0), ceiling);
    }

    /// Attempts made until giving up, with the jitter draws from `unit`.
    fn attempts(unit: impl Fn(u32) -> f64) -> (u32, i64) {
        let (first, mut now, mut attempt) = (1_000, 1_000, 1);
        while let Some(next) = next_attempt_at(first, now, attempt, unit(attempt)) {
            assert!(next > now, "time moves forward");
            now = next;
            attempt += 1;
        }
        (attempt, now - first)
    }

    #[test]
    fn retries_span_three_days_whatever_the_jitter() {
        for unit in [0.0, 0.3, 0.999, 1.0] {
            let (count, span) = attempts(|_| unit);
            assert_eq!(span, RETRY_WINDOW_SECS, "unit {unit}");
            assert!(count > 9, "unit {unit}: {count}");
        }
        let (count, span) = attempts(|_| rand::random());
        assert_eq!(span, RETRY_WINDOW_SECS);
        // Full ceilings: 9 growing waits (15.7 h), 7 of 8 h, one short wait to the deadline.
        let fewest = attempts(|_| 1.0).0;
        assert_eq!(fewest, 1 + 9 + 7 + 1);
        assert!(count >= fewest, "{count}");
    }

    #[test]
    fn gives_up_only_at_the_end_of_the_window() {
        assert_eq!(next_attempt_at(0, RETRY_WINDOW_SECS - 10, 20, 1.0), Some(RETRY_WINDOW_SECS));
        assert_eq!(next_attempt_at(0, RETRY_WINDOW_SECS, 20, 1.0), None);
        assert_eq!(next_attempt_at(0, 0, 1, 1.0), Some(5));
    }
}
