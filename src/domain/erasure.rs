//! Erasing a candidate's personal data (CONTRACT §11, §12): what replaces the candidate in
//! a stored start request, and how the candidate's values are struck from anything else
//! that may have copied them (outbox payloads, error texts that echoed a body).

use serde_json::{Map, Value};

/// What takes the place of every personal value that is struck out.
pub const ERASED: &str = "[erased]";

/// Values shorter than this are not struck from other text: a two-letter first name
/// would otherwise maim every word that contains it.
const MIN_STRUCK_CHARS: usize = 3;

/// The candidate, once erased: the Ashby id (not personal on its own; it is how Ashby
/// and the vendor name the candidate) and the mark.
pub fn erased_candidate(ashby_id: &str) -> Value {
    serde_json::json!({"ashby_id": ashby_id, "erased": true})
}

/// Whether a stored candidate is already erased.
pub fn is_erased(candidate: &Value) -> bool {
    candidate.get("erased") == Some(&Value::Bool(true))
}

/// The start request without the candidate's personal data, and the personal values it
/// held (to strike them wherever else they were copied). `None` when there is nothing
/// left to erase (already erased): erasing is idempotent.
pub fn erase_start_request(start_request: &Value, ashby_id: &str) -> Option<(Value, Vec<String>)> {
    let candidate = start_request.get("candidate").unwrap_or(&Value::Null);
    if is_erased(candidate) {
        return None;
    }
    let mut personal = Vec::new();
    collect_personal(candidate, &mut personal);
    personal.sort_by_key(|value| std::cmp::Reverse(value.len()));
    personal.dedup();
    let mut erased = start_request.clone();
    if let Some(fields) = erased.as_object_mut() {
        fields.insert("candidate".to_owned(), erased_candidate(ashby_id));
    }
    // Other parts (a note in `additional_fields`, say) may repeat the candidate's values.
    strike_json(&mut erased, &personal);
    Some((erased, personal))
}

/// The start request with the candidate's Ashby id changed (a merge): the rest of the
/// candidate stays as it is.
pub fn with_candidate_id(start_request: &Value, ashby_id: &str) -> Value {
    let mut changed = start_request.clone();
    if let Some(candidate) = changed.get_mut("candidate").and_then(Value::as_object_mut) {
        candidate.insert("ashby_id".to_owned(), ashby_id.into());
    }
    changed
}

/// Strikes `personal` values from every string in `value` (keys named like ids are kept:
/// they are the references that tie rows together, not personal data). Returns whether
/// anything changed.
pub fn strike_json(value: &mut Value, personal: &[String]) -> bool {
    match value {
        Value::String(text) => match strike_text(text, personal) {
            Some(struck) => {
                *text = struck;
                true
            }
            None => false,
        },
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| strike_json(item, personal) | changed),
        Value::Object(fields) => strike_fields(fields, personal),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

fn strike_fields(fields: &mut Map<String, Value>, personal: &[String]) -> bool {
    let mut changed = false;
    for (key, value) in fields.iter_mut() {
        if !is_id_key(key) {
            changed |= strike_json(value, personal);
        }
    }
    changed
}

/// `text` with every `personal` value replaced by [`ERASED`]; `None` when none occurs.
pub fn strike_text(text: &str, personal: &[String]) -> Option<String> {
    let mut struck = text.to_owned();
    for value in personal {
        if struck.contains(value.as_str()) {
            struck = struck.replace(value.as_str(), ERASED);
        }
    }
    (struck != text).then_some(struck)
}

fn collect_personal(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::String(text) if text.chars().count() >= MIN_STRUCK_CHARS => {
            into.push(text.clone());
        }
        Value::Array(items) => items.iter().for_each(|item| collect_personal(item, into)),
        Value::Object(fields) => {
            for (key, value) in fields {
                if !is_id_key(key) {
                    collect_personal(value, into);
                }
            }
        }
        _ => {}
    }
}

fn is_id_key(key: &str) -> bool {
    key == "id" || key.ends_with("_id") || key.ends_with("Id")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn erasing_keeps_the_ashby_id_and_strikes_the_candidate_everywhere() {
        let request = json!({
            "candidate": {"ashby_id": "c1", "first_name": "Ada", "email": "ada@example.com",
                          "phone": "+44 1234", "links": ["https://x.example/ada"]},
            "application": {"ashby_id": "app-1"},
            "additional_fields": {"note": "mail ada@example.com"}
        });
        let (erased, personal) = erase_start_request(&request, "c1").unwrap();
        assert_eq!(
            erased["candidate"],
            json!({"ashby_id": "c1", "erased": true})
        );
        assert_eq!(erased["application"], json!({"ashby_id": "app-1"}));
        assert_eq!(erased["additional_fields"]["note"], "mail [erased]");
        assert!(personal.contains(&"ada@example.com".to_owned()));
        assert!(!personal.contains(&"c1".to_owned()));
        assert_eq!(erase_start_request(&erased, "c1"), None, "idempotent");
    }

    #[test]
    fn longer_values_are_struck_first_and_short_ones_not_at_all() {
        let personal = vec!["ada@example.com".to_owned(), "Ada".to_owned()];
        assert_eq!(
            strike_text("from ada@example.com (Ada)", &personal).as_deref(),
            Some("from [erased] ([erased])")
        );
        assert_eq!(strike_text("nothing here", &personal), None);
        let mut collected = Vec::new();
        collect_personal(&json!({"initial": "A", "name": "Al"}), &mut collected);
        assert!(collected.is_empty());
    }

    #[test]
    fn a_merge_changes_only_the_candidate_id() {
        let request = json!({"candidate": {"ashby_id": "old", "email": "a@b.c"}});
        assert_eq!(
            with_candidate_id(&request, "new"),
            json!({"candidate": {"ashby_id": "new", "email": "a@b.c"}})
        );
    }
}
