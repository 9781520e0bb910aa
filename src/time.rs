//! Timestamps at the edges: stored as epoch milliseconds, shown as RFC 3339 UTC.

/// Milliseconds since the Unix epoch: the unit of every stored timestamp.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `2026-11-28T13:04:05.678Z`.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn milliseconds_render_as_rfc3339_utc() {
        assert_eq!(
            super::rfc3339(1_767_323_045_678),
            "2026-01-02T03:04:05.678Z"
        );
    }
}
