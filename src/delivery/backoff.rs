//! Exponential backoff with jitter.

/// The wait before the attempt after `failed_attempts` failures: `initial × 2^(n−1)`,
/// capped at `max`, of which the upper half is random (`jitter` in `[0, 1)`), so
/// deliveries that failed together do not retry together.
pub fn backoff_ms(failed_attempts: u32, initial_ms: u64, max_ms: u64, jitter: f64) -> u64 {
    let exponent = failed_attempts.saturating_sub(1).min(62);
    let full = initial_ms.saturating_mul(1u64 << exponent).min(max_ms);
    let half = full / 2;
    // Truncation is intended: the jittered half is at most `half`.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let random = (half as f64 * jitter.clamp(0.0, 1.0)) as u64;
    full - half + random
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_per_failure_up_to_the_cap() {
        let without_jitter: Vec<u64> = (1..=6).map(|n| backoff_ms(n, 1000, 10_000, 1.0)).collect();
        assert_eq!(without_jitter, [1000, 2000, 4000, 8000, 10_000, 10_000]);
    }

    #[test]
    fn jitter_moves_the_wait_within_its_upper_half() {
        assert_eq!(backoff_ms(3, 1000, 60_000, 0.0), 2000);
        assert_eq!(backoff_ms(3, 1000, 60_000, 0.5), 3000);
        assert!(backoff_ms(3, 1000, 60_000, 0.999) <= 4000);
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        assert_eq!(backoff_ms(u32::MAX, 1000, 3_600_000, 1.0), 3_600_000);
    }
}
