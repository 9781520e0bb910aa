//! Checks on arbitrary JSON from outside that the databases impose: PostgreSQL cannot
//! store a NUL character in text or JSON, so a body carrying one is refused up front (422)
//! rather than failing at the database (503) — on SQLite and PostgreSQL alike.

use serde_json::Value;

/// The path of the first string (or key) holding a NUL character, e.g. `candidate.first_name`.
pub fn find_nul(value: &Value) -> Option<String> {
    fn walk(value: &Value, path: &str) -> Option<String> {
        match value {
            Value::String(text) if text.contains('\0') => Some(path.to_owned()),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| walk(item, &format!("{path}[{i}]"))),
            Value::Object(fields) => fields.iter().find_map(|(key, item)| {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if key.contains('\0') {
                    Some(child)
                } else {
                    walk(item, &child)
                }
            }),
            _ => None,
        }
    }
    walk(value, "")
}

/// The message for [`find_nul`]'s finding.
pub fn nul_message(path: &str) -> String {
    // The path may itself hold the NUL (an object key): never echo it raw.
    let at = if path.is_empty() {
        "the body".to_owned()
    } else {
        path.escape_debug().to_string()
    };
    format!("{at} contains a NUL character (\\u0000), which cannot be stored")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nul_characters_are_found_by_path() {
        assert_eq!(
            find_nul(&json!({"a": {"b": ["ok", "x\u{0}"]}})),
            Some("a.b[1]".into())
        );
        assert_eq!(find_nul(&json!({"k\u{0}": 1})), Some("k\u{0}".into()));
        assert_eq!(find_nul(&json!("\u{0}")), Some(String::new()));
        assert_eq!(find_nul(&json!({"a": ["fine", 1, null, {"b": "c"}]})), None);
        assert!(
            !nul_message("k\u{0}").contains('\u{0}'),
            "the message never carries the NUL"
        );
    }
}
