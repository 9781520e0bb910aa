//! A tenant as the vendor's product manages it: one customer organisation using Ashby,
//! and how its connection to Ashby is doing. No IO.

use crate::domain::ids::TenantId;

/// What is known of a tenant's Ashby API key (CONTRACT §10).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AshbyKeyStatus {
    /// No key stored.
    Unset,
    /// Stored, but Ashby has not yet confirmed it (it was unreachable, or the key predates
    /// checking).
    Unverified,
    /// Ashby accepted it (`apiKey.info`, or a delivery went through).
    Verified,
    /// Ashby refused it (401/403): deliveries cannot succeed until it is replaced.
    Rejected,
}

impl AshbyKeyStatus {
    pub const ALL: [Self; 4] = [
        Self::Unset,
        Self::Unverified,
        Self::Verified,
        Self::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unset => "unset",
            Self::Unverified => "unverified",
            Self::Verified => "verified",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

/// One tenant, decoded from its row (never its keys).
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub external_id: Option<String>,
    pub disabled: bool,
    pub created_at_ms: i64,
    /// `None`: the server's `ashby.base_url`.
    pub ashby_base_url: Option<String>,
    pub has_ashby_key: bool,
    pub key_status: AshbyKeyStatus,
    pub key_checked_at_ms: Option<i64>,
    pub key_error: Option<String>,
    pub last_delivered_at_ms: Option<i64>,
    pub last_delivery_error: Option<String>,
}

impl Tenant {
    /// The error an operator should see first: why the key was rejected, else the last
    /// delivery's failure.
    pub fn last_error(&self) -> Option<&str> {
        match self.key_status {
            AshbyKeyStatus::Rejected => self
                .key_error
                .as_deref()
                .or(self.last_delivery_error.as_deref()),
            _ => self.last_delivery_error.as_deref(),
        }
    }
}

/// A tenant with what the operator sees about it at a glance.
#[derive(Debug, Clone)]
pub struct TenantOverview {
    pub tenant: Tenant,
    /// Usable (unrevoked) partner keys.
    pub partner_keys: u64,
    /// Whether the tenant has its own catalog of assessment types.
    pub own_catalog: bool,
    /// Its Ashby webhooks: `unset`, `registered` or `manual`.
    pub webhooks: &'static str,
    pub pending_deliveries: u64,
    pub dead_deliveries: u64,
}

/// Changes to a tenant; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TenantPatch {
    pub name: Option<String>,
    /// `Some(None)` clears the external id.
    pub external_id: Option<Option<String>>,
    pub disabled: Option<bool>,
    /// `Some(None)` returns the tenant to `ashby.base_url`.
    pub ashby_base_url: Option<Option<String>>,
}

/// How the last call to Ashby on a tenant's behalf went, as far as its key is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AshbyOutcome {
    /// Ashby took a delivery: the key works.
    Delivered,
    /// Ashby refused the key (401/403); the reason as recorded.
    KeyRejected(String),
    /// A delivery went dead for another reason.
    Failed(String),
}

/// A tenant's name: trimmed, 1 to 200 characters, no control characters.
///
/// # Errors
/// What is wrong with it, naming `field`.
pub fn parse_name(field: &str, text: &str) -> Result<String, String> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(format!(
            "{field} must be 1 to 200 characters, without control characters"
        ));
    }
    Ok(name.to_owned())
}

/// The vendor's own id for a customer: trimmed, 1 to 200 characters, no control characters.
///
/// # Errors
/// What is wrong with it, naming `field`.
pub fn parse_external_id(field: &str, text: &str) -> Result<String, String> {
    let id = text.trim();
    if id.is_empty() || id.len() > 200 || id.chars().any(char::is_control) {
        return Err(format!(
            "{field} must be 1 to 200 characters, without control characters"
        ));
    }
    Ok(id.to_owned())
}

/// An Ashby API base URL: http(s), no credentials in it.
///
/// # Errors
/// What is wrong with it, naming `field`.
pub fn parse_base_url(field: &str, text: &str) -> Result<String, String> {
    match url::Url::parse(text.trim()) {
        Ok(url)
            if matches!(url.scheme(), "http" | "https")
                && url.username().is_empty()
                && url.password().is_none() =>
        {
            Ok(text.trim().trim_end_matches('/').to_owned())
        }
        _ => Err(format!(
            "{field} must be an http(s) URL like https://api.ashbyhq.com, not {text:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_external_ids_are_trimmed_and_bounded() {
        assert_eq!(parse_name("name", "  Acme ").unwrap(), "Acme");
        assert_eq!(parse_external_id("external_id", " c-1 ").unwrap(), "c-1");
        let long = "x".repeat(201);
        for bad in ["", "   ", "a\u{0}b", "tab\there", long.as_str()] {
            assert!(
                parse_name("name", bad).unwrap_err().contains("name"),
                "{bad:?}"
            );
            assert!(parse_external_id("external_id", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_base_url_is_plain_http_or_https() {
        assert_eq!(
            parse_base_url("u", "https://api.ashbyhq.com/").unwrap(),
            "https://api.ashbyhq.com"
        );
        for bad in [
            "ftp://x",
            "api.ashbyhq.com",
            "https://user:pw@x.example",
            "",
        ] {
            assert!(parse_base_url("u", bad).unwrap_err().contains('u'), "{bad}");
        }
    }

    #[test]
    fn a_rejected_key_shows_why_before_the_last_delivery_error() {
        let mut tenant = Tenant {
            id: TenantId(uuid::Uuid::nil()),
            name: "A".into(),
            external_id: None,
            disabled: false,
            created_at_ms: 0,
            ashby_base_url: None,
            has_ashby_key: true,
            key_status: AshbyKeyStatus::Rejected,
            key_checked_at_ms: None,
            key_error: Some("HTTP 401".into()),
            last_delivered_at_ms: None,
            last_delivery_error: Some("HTTP 400".into()),
        };
        assert_eq!(tenant.last_error(), Some("HTTP 401"));
        tenant.key_status = AshbyKeyStatus::Verified;
        assert_eq!(tenant.last_error(), Some("HTTP 400"));
        for status in ["unset", "unverified", "verified", "rejected"] {
            assert_eq!(AshbyKeyStatus::parse(status).unwrap().as_str(), status);
        }
        assert_eq!(AshbyKeyStatus::parse("ok"), None);
    }
}
