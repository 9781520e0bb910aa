//! The paging every list of the vendor API shares: known query parameters, `limit`, and
//! opaque cursors naming a `(milliseconds, id)` position.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

const DEFAULT_LIMIT: u64 = 50;
const MAX_LIMIT: u64 = 200;

/// Refuses a query parameter the list does not know: a typo should not pass silently.
///
/// # Errors
/// A message naming the unknown parameter and the known ones.
pub fn reject_unknown(query: &HashMap<String, String>, known: &[&str]) -> Result<(), String> {
    match query.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(format!(
            "unknown query parameter {unknown:?}; known: {}",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

/// `limit`: 1 to 200, default 50.
///
/// # Errors
/// Anything else, named.
pub fn limit(query: &HashMap<String, String>) -> Result<u64, String> {
    match query.get("limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(text) => match text.parse::<u64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(format!(
                "limit must be a whole number from 1 to {MAX_LIMIT} (got {text:?})"
            )),
        },
    }
}

/// The position `cursor` names, when given.
///
/// # Errors
/// A cursor this API did not hand out.
pub fn cursor(query: &HashMap<String, String>) -> Result<Option<(i64, Uuid)>, String> {
    query
        .get("cursor")
        .map(|cursor| {
            decode(cursor).ok_or_else(|| "cursor is not one this API returned".to_owned())
        })
        .transpose()
}

/// Opaque to clients: the position after which the next page starts.
pub fn encode(ms: i64, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{ms}.{id}"))
}

fn decode(cursor: &str) -> Option<(i64, Uuid)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (ms, id) = text.split_once('.')?;
    Some((ms.parse().ok()?, id.parse().ok()?))
}

/// The cursor after a full page's last row, or `None` when the page was not full (the end).
pub fn next_after_full_page<T>(
    rows: &[T],
    limit: u64,
    position: impl Fn(&T) -> (i64, Uuid),
) -> Option<String> {
    let full = u64::try_from(rows.len()).unwrap_or(u64::MAX) == limit;
    full.then(|| rows.last()).flatten().map(|last| {
        let (ms, id) = position(last);
        encode(ms, id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let id = Uuid::new_v4();
        assert_eq!(
            decode(&encode(1_700_000_000_123, id)),
            Some((1_700_000_000_123, id))
        );
        assert_eq!(decode("not a cursor"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("12.nope")), None);
    }

    #[test]
    fn limits_default_and_stay_within_bounds() {
        let query = |value: &str| HashMap::from([("limit".to_owned(), value.to_owned())]);
        assert_eq!(limit(&HashMap::new()), Ok(50));
        assert_eq!(limit(&query("200")), Ok(200));
        for bad in ["0", "201", "-1", "ten"] {
            assert!(limit(&query(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_full_page_has_a_next_cursor() {
        let rows = [(1, Uuid::nil()), (2, Uuid::nil())];
        assert_eq!(next_after_full_page(&rows, 3, |r| *r), None);
        assert_eq!(
            next_after_full_page(&rows, 2, |r| *r),
            Some(encode(2, Uuid::nil()))
        );
    }
}
