//! Typed, layered configuration (CONTRACT §2), read once at start-up and passed explicitly.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use secrecy::SecretString;
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::catalog::{AssessmentType, Catalog};
use crate::domain::ids::AssessmentTypeId;

/// The built-in defaults are `config/default.toml` itself, so the commented file and the
/// defaults can never drift apart.
const BUILTIN_DEFAULTS: &str = include_str!("../config/default.toml");
const ENV_PREFIX: &str = "ASHBY_PARTNER";

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: {0}")]
    Invalid(String),
}

fn invalid(message: impl Into<String>) -> SettingsError {
    SettingsError::Invalid(message.into())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub security: SecuritySettings,
    pub ashby: AshbySettings,
    pub delivery: DeliverySettings,
    pub vendor: VendorSettings,
    pub limits: LimitsSettings,
    pub retention: RetentionSettings,
    #[serde(default)]
    pub assessment_types: Vec<AssessmentTypeSettings>,
    #[serde(default)]
    pub custom_fields: Vec<CustomFieldSettings>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    pub public_url: String,
    pub max_body_bytes: usize,
    /// How long a client may take to send its whole request body; then 408.
    pub body_read_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: String,
    pub auto_migrate: bool,
    pub max_connections: u32,
    /// Run on a schema a newer binary migrated (a rollback; see docs/deployment.md).
    #[serde(default)]
    pub allow_newer_schema: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    pub encryption_key: Option<SecretString>,
    pub token_secret: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AshbySettings {
    pub base_url: String,
    pub partner_id: Option<Uuid>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySettings {
    /// A retryable failure goes dead once it has been failing this long; `None`: no limit.
    #[serde(deserialize_with = "optional_duration")]
    pub retry_for: Option<Duration>,
    /// Attempts (throttling aside) before a retryable failure goes dead; 0: no cap.
    pub max_attempts: u32,
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    pub request_timeout_ms: u64,
    pub concurrency: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorSettings {
    pub webhook_url: String,
    pub webhook_secret: SecretString,
    pub candidate_url_template: String,
    pub candidate_link_ttl: String,
    pub feed_delay_ms: u64,
    /// An open assessment with no event for this long becomes expired; `None`: never.
    #[serde(deserialize_with = "optional_duration")]
    pub expire_after: Option<Duration>,
}

/// How long finished things are kept (CONTRACT §12); `None`: forever.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Delivered, dismissed and superseded deliveries (with their attempt logs).
    #[serde(deserialize_with = "optional_duration")]
    pub deliveries: Option<Duration>,
    /// Terminal assessments (with their deliveries), once nothing of theirs is pending.
    #[serde(deserialize_with = "optional_duration")]
    pub assessments: Option<Duration>,
}

/// Per-caller request rates (0 = off) and size caps on what is stored.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSettings {
    pub partner_requests_per_second: u32,
    pub partner_burst: u32,
    pub vendor_requests_per_second: u32,
    pub vendor_burst: u32,
    pub max_additional_fields_bytes: usize,
    pub feed_page_max_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentTypeSettings {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
}

/// `[[custom_fields]]` entries are the domain's custom fields, read as they are.
pub use crate::domain::catalog::{
    CustomField as CustomFieldSettings, CustomFieldType, PossibleValue,
};

/// Where to read configuration from, beyond the built-in defaults.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// Directory holding `default.toml` and `<env>.toml`; `config` when unset.
    pub config_dir: Option<PathBuf>,
    /// The file given with `--config`.
    pub config_file: Option<PathBuf>,
    /// The environment; the process environment when unset (tests pass their own).
    pub env: Option<HashMap<String, String>>,
}

impl Settings {
    /// The catalog `[[assessment_types]]` and `[[custom_fields]]` describe.
    pub fn catalog(&self) -> Catalog {
        let types = self
            .assessment_types
            .iter()
            .map(|t| AssessmentType {
                id: AssessmentTypeId(t.id),
                name: t.name.clone(),
                description: t.description.clone(),
            })
            .collect();
        Catalog::new(types, self.custom_fields.clone())
    }

    /// The built-in defaults alone, validated.
    ///
    /// # Errors
    /// Only if the compiled-in defaults are themselves invalid.
    pub fn builtin() -> Result<Self, SettingsError> {
        let config = Config::builder()
            .add_source(File::from_str(BUILTIN_DEFAULTS, FileFormat::Toml))
            .build()?;
        let settings: Settings = config.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Loads every layer of CONTRACT §2, later layers winning, and validates the result.
    ///
    /// # Errors
    /// A missing `--config` file, a file that is not TOML, an unknown key (named in the
    /// message), a value of the wrong type, or a value that fails validation.
    pub fn load(sources: &Sources) -> Result<Self, SettingsError> {
        let env = match &sources.env {
            Some(env) => env.clone(),
            None => std::env::vars().collect(),
        };
        let config_dir = sources
            .config_dir
            .clone()
            .unwrap_or_else(|| "config".into());
        let mut builder = Config::builder()
            .add_source(File::from_str(BUILTIN_DEFAULTS, FileFormat::Toml))
            .add_source(toml_file(&config_dir.join("default.toml")).required(false));
        if let Some(name) = env.get("ASHBY_PARTNER_ENV").filter(|name| !name.is_empty()) {
            builder = builder
                .add_source(toml_file(&config_dir.join(format!("{name}.toml"))).required(false));
        }
        if let Some(path) = &sources.config_file {
            if !path.is_file() {
                return Err(invalid(format!(
                    "--config {}: no such file",
                    path.display()
                )));
            }
            builder = builder.add_source(toml_file(path).required(true));
        }
        let mut overlay: config::Map<String, String> = env
            .iter()
            .filter(|(key, _)| key.starts_with(&format!("{ENV_PREFIX}__")))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        // Arrays (the catalog) only come from files: an env var cannot express them.
        overlay
            .retain(|key, _| !key.contains("ASSESSMENT_TYPES") && !key.contains("CUSTOM_FIELDS"));
        builder = builder.add_source(
            Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(overlay)),
        );
        if let Some(url) = env.get("DATABASE_URL").filter(|url| !url.is_empty()) {
            builder = builder.set_override("database.url", url.as_str())?;
        }
        let mut settings: Settings = builder.build()?.try_deserialize()?;
        settings.normalise();
        settings.validate()?;
        Ok(settings)
    }

    /// Treats an empty string for an optional secret as "unset" (env vars cannot unset).
    fn normalise(&mut self) {
        use secrecy::ExposeSecret;
        for secret in [
            &mut self.security.encryption_key,
            &mut self.security.token_secret,
        ] {
            if secret
                .as_ref()
                .is_some_and(|s| s.expose_secret().is_empty())
            {
                *secret = None;
            }
        }
    }

    /// # Errors
    /// The first invalid value, with its key and what to fix.
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.server.bind_addr()?;
        parse_http_url("server.public_url", &self.server.public_url)?;
        parse_http_url("ashby.base_url", &self.ashby.base_url)?;
        if self.server.max_body_bytes == 0 {
            return Err(invalid("server.max_body_bytes must be greater than 0"));
        }
        if self.server.body_read_timeout_ms == 0 {
            return Err(invalid(
                "server.body_read_timeout_ms must be greater than 0",
            ));
        }
        self.limits.validate()?;
        if self.database.max_connections == 0 {
            return Err(invalid("database.max_connections must be greater than 0"));
        }
        let delivery = &self.delivery;
        if delivery.concurrency == 0 {
            return Err(invalid("delivery.concurrency must be greater than 0"));
        }
        if delivery.initial_backoff_ms == 0 || delivery.initial_backoff_ms > delivery.max_backoff_ms
        {
            return Err(invalid(
                "delivery.initial_backoff_ms must be greater than 0 and at most delivery.max_backoff_ms",
            ));
        }
        if delivery.request_timeout_ms == 0 {
            return Err(invalid(
                "delivery.request_timeout_ms must be greater than 0",
            ));
        }
        if !self.vendor.webhook_url.is_empty() {
            parse_http_url("vendor.webhook_url", &self.vendor.webhook_url)?;
            self.vendor.webhook_key()?;
        }
        let template = &self.vendor.candidate_url_template;
        if !template.is_empty() {
            if !template.contains("{token}") {
                return Err(invalid(format!(
                    "vendor.candidate_url_template must contain {{token}}, not {template:?}"
                )));
            }
            parse_http_url(
                "vendor.candidate_url_template",
                &template.replace("{token}", "t"),
            )?;
        }
        self.vendor.candidate_link_ttl()?;
        validate_catalog(&self.assessment_types)?;
        validate_custom_fields(&self.custom_fields)
    }
}

fn toml_file(path: &Path) -> File<config::FileSourceFile, FileFormat> {
    File::from(path).format(FileFormat::Toml)
}

impl ServerSettings {
    /// # Errors
    /// When `server.bind` is not `host:port`.
    pub fn bind_addr(&self) -> Result<SocketAddr, SettingsError> {
        self.bind.parse().map_err(|_| {
            invalid(format!(
                "server.bind must be an address and port such as 127.0.0.1:8080, not {:?}",
                self.bind
            ))
        })
    }
}

impl LimitsSettings {
    /// # Errors
    /// A burst of 0 for a rate that is on, or a zero size cap.
    fn validate(&self) -> Result<(), SettingsError> {
        for (api, rate, burst) in [
            (
                "partner",
                self.partner_requests_per_second,
                self.partner_burst,
            ),
            ("vendor", self.vendor_requests_per_second, self.vendor_burst),
        ] {
            if rate > 0 && burst == 0 {
                return Err(invalid(format!(
                    "limits.{api}_burst must be greater than 0 when limits.{api}_requests_per_second is set"
                )));
            }
        }
        if self.max_additional_fields_bytes == 0 {
            return Err(invalid(
                "limits.max_additional_fields_bytes must be greater than 0",
            ));
        }
        if self.feed_page_max_bytes == 0 {
            return Err(invalid("limits.feed_page_max_bytes must be greater than 0"));
        }
        Ok(())
    }
}

impl VendorSettings {
    /// The key webhooks are signed with: `vendor.webhook_secret` is `whsec_<base64>`
    /// (Standard Webhooks), of at least 16 bytes.
    ///
    /// # Errors
    /// A secret of another form.
    pub fn webhook_key(&self) -> Result<secrecy::SecretBox<Vec<u8>>, SettingsError> {
        use base64::Engine as _;
        use secrecy::ExposeSecret as _;
        let bad = || {
            invalid(
                "vendor.webhook_secret must be \"whsec_\" followed by the base64 of at least 16 random bytes (e.g. whsec_$(head -c 32 /dev/urandom | base64))",
            )
        };
        let encoded = self
            .webhook_secret
            .expose_secret()
            .strip_prefix("whsec_")
            .ok_or_else(bad)?;
        let key = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| bad())?;
        if key.len() < 16 {
            return Err(bad());
        }
        Ok(secrecy::SecretBox::new(Box::new(key)))
    }

    /// # Errors
    /// When `vendor.candidate_link_ttl` is not a duration such as `7d`.
    pub fn candidate_link_ttl(&self) -> Result<Duration, SettingsError> {
        parse_duration("vendor.candidate_link_ttl", &self.candidate_link_ttl).map_err(invalid)
    }
}

/// Parses a positive duration such as `90m`, `12h`, `7d`.
///
/// # Errors
/// A message naming `what` when the text is not a positive duration.
/// A duration written like `90s`, `15m`, `72h` or `14d`, parsed once at load; an empty
/// string is `None`.
fn optional_duration<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(deserializer)?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    parse_duration("the duration", text.trim())
        .map(Some)
        .map_err(serde::de::Error::custom)
}

pub fn parse_duration(what: &str, text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => Err(format!(
            "{what} must be a positive duration such as 90m, 12h or 7d, not {text:?}"
        )),
    }
}

fn parse_http_url(key: &str, text: &str) -> Result<url::Url, SettingsError> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Ok(url),
        _ => Err(invalid(format!(
            "{key} must be an http(s) URL, not {text:?}"
        ))),
    }
}

fn validate_catalog(types: &[AssessmentTypeSettings]) -> Result<(), SettingsError> {
    let mut seen = std::collections::HashSet::new();
    for (index, assessment_type) in types.iter().enumerate() {
        if assessment_type.name.trim().is_empty() {
            return Err(invalid(format!(
                "assessment_types[{index}].name must not be empty"
            )));
        }
        if !seen.insert(assessment_type.id) {
            return Err(invalid(format!(
                "assessment_types[{index}].id {} is used twice; ids must be unique",
                assessment_type.id
            )));
        }
    }
    Ok(())
}

fn validate_custom_fields(fields: &[CustomFieldSettings]) -> Result<(), SettingsError> {
    let mut seen = std::collections::HashSet::new();
    for (index, field) in fields.iter().enumerate() {
        let key = format!("custom_fields[{index}]");
        if field.id.trim().is_empty() || field.name.trim().is_empty() {
            return Err(invalid(format!("{key}: id and name must not be empty")));
        }
        if !seen.insert(field.id.as_str()) {
            return Err(invalid(format!("{key}.id {:?} is used twice", field.id)));
        }
        match (&field.possible_values, field.field_type.is_select()) {
            (None, true) => {
                return Err(invalid(format!(
                    "{key}.possible_values is required for a {:?} field",
                    field.field_type
                )));
            }
            (Some(_), false) => {
                return Err(invalid(format!(
                    "{key}.possible_values is only allowed for ValueSelect and MultiValueSelect fields"
                )));
            }
            (Some(values), true) => {
                let mut keys = std::collections::HashSet::new();
                if values.is_empty() {
                    return Err(invalid(format!("{key}.possible_values must not be empty")));
                }
                for value in values {
                    if value.key.is_empty() || value.value.is_empty() {
                        return Err(invalid(format!(
                            "{key}.possible_values: key and value must not be empty"
                        )));
                    }
                    if !keys.insert(value.key.as_str()) {
                        return Err(invalid(format!(
                            "{key}.possible_values: key {:?} is used twice",
                            value.key
                        )));
                    }
                }
            }
            (None, false) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
