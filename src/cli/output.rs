//! Printing results: exactly one JSON document with `--json`, readable text without.

use serde::Serialize;

/// Prints `value` as JSON when `json`, else the text `human` renders.
pub fn print<T: Serialize>(
    json: bool,
    value: &T,
    human: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", human(value));
    }
    Ok(())
}
