//! Ashby's data block — `{identifier, label, type, value, description?}` — validated:
//! numbers for the numeric types, a boolean for `boolean_success`, strings for `string`,
//! an http(s) URL for `url`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    NumericScore,
    NumericDurationMinutes,
    Url,
    String,
    BooleanSuccess,
}

/// `value` is a number for the numeric types, a boolean for `boolean_success`, a string
/// for `string`, an http(s) URL for `url`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DataBlock {
    pub identifier: String,
    pub label: String,
    #[serde(rename = "type")]
    pub value_type: ValueType,
    #[schema(schema_with = value_schema)]
    pub value: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `value`: a string, a number or a boolean (which one goes with `type`).
fn value_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    Schema::OneOf(
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String))
            .item(ObjectBuilder::new().schema_type(Type::Number))
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .build(),
    )
}

impl DataBlock {
    pub fn string(identifier: &str, label: &str, value: &str) -> Self {
        Self {
            identifier: identifier.into(),
            label: label.into(),
            value_type: ValueType::String,
            value: Value::String(value.into()),
            description: None,
        }
    }

    pub fn url(identifier: &str, label: &str, url: &str) -> Self {
        Self {
            value_type: ValueType::Url,
            ..Self::string(identifier, label, url)
        }
    }

    /// The `status` block Ashby shows as the assessment's status ("Started", ...).
    /// Checks the block; `path` names it in the message (e.g. `metadata[2]`).
    ///
    /// # Errors
    /// A message naming the path and what is wrong.
    pub fn validate(&self, path: &str) -> Result<(), String> {
        if self.identifier.trim().is_empty() {
            return Err(format!("{path}.identifier must not be empty"));
        }
        if self.label.trim().is_empty() {
            return Err(format!("{path}.label must not be empty"));
        }
        let paired = match self.value_type {
            ValueType::NumericScore | ValueType::NumericDurationMinutes => self.value.is_number(),
            ValueType::BooleanSuccess => self.value.is_boolean(),
            ValueType::String => self.value.is_string(),
            ValueType::Url => self.value.as_str().is_some_and(is_http_url),
        };
        if paired {
            Ok(())
        } else {
            let expected = match self.value_type {
                ValueType::NumericScore | ValueType::NumericDurationMinutes => "a number",
                ValueType::BooleanSuccess => "a boolean",
                ValueType::String => "a string",
                ValueType::Url => "an http(s) URL",
            };
            let type_name = serde_json::to_value(self.value_type)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            Err(format!(
                "{path}.value must be {expected} for type {type_name}"
            ))
        }
    }
}

/// Checks a list of blocks: each valid, identifiers unique.
///
/// # Errors
/// The first problem, naming its index.
pub fn validate_list(path: &str, blocks: &[DataBlock]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for (index, block) in blocks.iter().enumerate() {
        block.validate(&format!("{path}[{index}]"))?;
        if !seen.insert(block.identifier.as_str()) {
            return Err(format!(
                "{path}[{index}].identifier {:?} is used twice; identifiers must be unique",
                block.identifier
            ));
        }
    }
    Ok(())
}

/// The identifiers of the blocks the server writes itself in a status report (the status,
/// the profile URL, the cancellation reason): a vendor's own blocks may not use them.
pub const SERVER_IDENTIFIERS: [&str; 3] = ["status", "profile_url", "cancelled_reason"];

/// Checks that identifiers are unique across a whole update — the `result` and every
/// `metadata` block, and none of [`SERVER_IDENTIFIERS`] — as the ATS expects ("all
/// assessment data should have unique identifiers").
///
/// # Errors
/// A message naming the block whose identifier is already taken, and by what.
pub fn check_unique_identifiers(
    result: Option<&DataBlock>,
    metadata: &[DataBlock],
) -> Result<(), String> {
    let mut taken: std::collections::HashMap<&str, String> = SERVER_IDENTIFIERS
        .iter()
        .map(|id| (*id, "the server's own block".to_owned()))
        .collect();
    let blocks = result
        .map(|block| ("result".to_owned(), block))
        .into_iter()
        .chain(
            metadata
                .iter()
                .enumerate()
                .map(|(index, block)| (format!("metadata[{index}]"), block)),
        );
    for (path, block) in blocks {
        if let Some(owner) = taken.get(block.identifier.as_str()) {
            return Err(format!(
                "{path}.identifier {:?} is already used by {owner}; identifiers must be unique across the update",
                block.identifier
            ));
        }
        taken.insert(block.identifier.as_str(), path);
    }
    Ok(())
}

/// An absolute http(s) URL with a host.
pub fn is_http_url(text: &str) -> bool {
    super::text::is_plain_http_url(text)
}

#[cfg(test)]
mod unique_identifier_tests {
    use serde_json::json;

    use super::*;

    fn block(identifier: &str) -> DataBlock {
        serde_json::from_value(
            json!({"identifier": identifier, "label": "L", "type": "numeric_score", "value": 1}),
        )
        .unwrap()
    }

    #[test]
    fn identifiers_must_be_unique_across_result_metadata_and_the_servers_blocks() {
        assert!(check_unique_identifiers(Some(&block("score")), &[block("a"), block("b")]).is_ok());
        let cases = [
            (
                Some(block("score")),
                vec![block("score")],
                "metadata[0].identifier \"score\" is already used by result",
            ),
            (
                None,
                vec![block("a"), block("a")],
                "metadata[1].identifier \"a\" is already used by metadata[0]",
            ),
            (
                None,
                vec![block("status")],
                "metadata[0].identifier \"status\" is already used by the server's own block",
            ),
            (
                Some(block("profile_url")),
                vec![],
                "result.identifier \"profile_url\"",
            ),
            (None, vec![block("cancelled_reason")], "cancelled_reason"),
        ];
        for (result, metadata, expected) in cases {
            let error = check_unique_identifiers(result.as_ref(), &metadata).unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn block(value_type: &str, value: Value) -> Result<DataBlock, serde_json::Error> {
        serde_json::from_value(json!({
            "identifier": "score", "label": "Score", "type": value_type, "value": value
        }))
    }

    #[test]
    fn values_must_pair_with_their_type() {
        let cases = [
            ("numeric_score", json!(87.5), true),
            ("numeric_score", json!("87"), false),
            ("numeric_duration_minutes", json!(42), true),
            ("numeric_duration_minutes", json!(true), false),
            ("boolean_success", json!(true), true),
            ("boolean_success", json!(1), false),
            ("string", json!("fine"), true),
            ("string", json!(3), false),
            ("url", json!("https://tests.example/r/1"), true),
            ("url", json!("ftp://tests.example/r/1"), false),
            ("url", json!("not a url"), false),
        ];
        for (value_type, value, ok) in cases {
            let checked = block(value_type, value.clone()).unwrap().validate("result");
            assert_eq!(checked.is_ok(), ok, "{value_type} {value}: {checked:?}");
        }
    }

    #[test]
    fn unknown_types_do_not_parse() {
        assert!(block("percentage", json!(1)).is_err());
    }

    #[test]
    fn identifiers_and_labels_are_required_and_identifiers_unique() {
        let mut empty = block("string", json!("x")).unwrap();
        empty.identifier = " ".into();
        assert_eq!(
            empty.validate("metadata[0]").unwrap_err(),
            "metadata[0].identifier must not be empty"
        );
        let one = block("string", json!("x")).unwrap();
        let error = validate_list("metadata", &[one.clone(), one]).unwrap_err();
        assert!(error.starts_with("metadata[1].identifier"), "{error}");
    }
}
