//! Typed, layered configuration (CONTRACT §2), read once at start-up and passed explicitly.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use secrecy::SecretString;
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::catalog::{self, AssessmentType, Catalog};
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
    pub telemetry: TelemetrySettings,
    #[serde(default)]
    pub assessment_types: Vec<AssessmentTypeSettings>,
    #[serde(default)]
    pub custom_fields: Vec<CustomFieldSettings>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    #[serde(deserialize_with = "socket_addr")]
    pub bind: SocketAddr,
    pub public_url: String,
    pub max_body_bytes: usize,
    /// How long a client may take to send its whole request body; then 408.
    pub body_read_timeout_ms: u64,
    /// When set, a second listener: the vendor API (but candidate sessions), the OpenAPI
    /// document and metrics are served only there. Empty: everything on `bind`.
    #[serde(default, deserialize_with = "optional_socket_addr")]
    pub admin_bind: Option<SocketAddr>,
    /// How long partner-key lookups and tenants' catalogs are served from memory: the
    /// bound within which a revocation, a disable or a catalog change made elsewhere is
    /// seen here. At most 1000; 0 turns the cache off.
    #[serde(default = "default_lookup_cache_ms")]
    pub lookup_cache_ms: u64,
    /// The nice value (0–19) of the threads the delivery workers and housekeeping run on,
    /// so that requests come first when the cores are busy; 0: the requests' priority.
    /// PostgreSQL only (see [`crate::background`]).
    #[serde(default = "default_background_nice")]
    pub background_nice: u8,
}

/// The highest nice value Linux has.
pub const MAX_NICE: u8 = 19;

fn default_background_nice() -> u8 {
    10
}

/// The documented bound (docs/architecture.md): 1 s.
pub const MAX_LOOKUP_CACHE_MS: u64 = 1000;

fn default_lookup_cache_ms() -> u64 {
    MAX_LOOKUP_CACHE_MS
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
    /// A file holding `encryption_key` (container secrets); read at load.
    #[serde(default)]
    pub encryption_key_file: Option<PathBuf>,
    /// A file holding `token_secret`; read at load.
    #[serde(default)]
    pub token_secret_file: Option<PathBuf>,
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
    /// A file holding `webhook_secret`; read at load.
    #[serde(default)]
    pub webhook_secret_file: Option<PathBuf>,
    pub candidate_url_template: String,
    #[serde(deserialize_with = "duration")]
    pub candidate_link_ttl: Duration,
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

/// Trace export (docs/deployment.md, "Tracing").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// The collector's OTLP/HTTP base URL; empty: no export.
    pub otlp_endpoint: String,
    pub service_name: String,
    /// The share of new traces kept, 0.0 to 1.0.
    pub sample_ratio: f64,
}

impl TelemetrySettings {
    /// Where spans are POSTed: `<otlp_endpoint>/v1/traces`; `None` when export is off.
    /// The endpoint was validated at load.
    pub fn traces_url(&self) -> Option<String> {
        let base = self.otlp_endpoint.trim();
        (!base.is_empty()).then(|| format!("{}/v1/traces", base.trim_end_matches('/')))
    }

    /// # Errors
    /// An endpoint that is not an http(s) URL, an empty service name, a ratio outside 0..=1.
    fn validate(&self) -> Result<(), SettingsError> {
        if !self.otlp_endpoint.trim().is_empty() {
            let url = parse_http_url("telemetry.otlp_endpoint", self.otlp_endpoint.trim())?;
            if url.query().is_some() || url.fragment().is_some() {
                return Err(invalid(format!(
                    "telemetry.otlp_endpoint must be the collector's base URL (such as http://collector:4318), without a query, not {:?}",
                    self.otlp_endpoint
                )));
            }
        }
        if self.service_name.trim().is_empty() {
            return Err(invalid("telemetry.service_name must not be empty"));
        }
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            return Err(invalid(format!(
                "telemetry.sample_ratio must be between 0.0 and 1.0, not {}",
                self.sample_ratio
            )));
        }
        Ok(())
    }
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
                active: true,
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
        // The standard variable of OpenTelemetry SDKs, below our own key.
        if settings.telemetry.otlp_endpoint.trim().is_empty()
            && let Some(endpoint) = env
                .get("OTEL_EXPORTER_OTLP_ENDPOINT")
                .filter(|endpoint| !endpoint.trim().is_empty())
        {
            settings.telemetry.otlp_endpoint = endpoint.trim().to_owned();
        }
        settings.normalise();
        settings.read_secret_files()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Replaces each `<secret>_file` by the file's content (trimmed), so the rest of the
    /// program sees only the secret. Run after [`Self::normalise`] (an empty secret is unset).
    ///
    /// # Errors
    /// A secret given both ways (naming both keys), or a file that cannot be read or is
    /// empty (naming the key and the path, never the content).
    fn read_secret_files(&mut self) -> Result<(), SettingsError> {
        use secrecy::ExposeSecret;
        let security = &mut self.security;
        for (key, secret, file) in [
            (
                "security.encryption_key",
                &mut security.encryption_key,
                security.encryption_key_file.take(),
            ),
            (
                "security.token_secret",
                &mut security.token_secret,
                security.token_secret_file.take(),
            ),
        ] {
            if let Some(path) = non_empty_path(file) {
                if secret.is_some() {
                    return Err(given_twice(key));
                }
                *secret = Some(read_secret_file(key, &path)?);
            }
        }
        if let Some(path) = non_empty_path(self.vendor.webhook_secret_file.take()) {
            let key = "vendor.webhook_secret";
            if !self.vendor.webhook_secret.expose_secret().is_empty() {
                return Err(given_twice(key));
            }
            self.vendor.webhook_secret = read_secret_file(key, &path)?;
        }
        Ok(())
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
        parse_http_url("server.public_url", &self.server.public_url)?;
        parse_http_url("ashby.base_url", &self.ashby.base_url)?;
        if self.server.max_body_bytes == 0 {
            return Err(invalid("server.max_body_bytes must be greater than 0"));
        }
        if self.server.lookup_cache_ms > MAX_LOOKUP_CACHE_MS {
            return Err(invalid(format!(
                "server.lookup_cache_ms must be at most {MAX_LOOKUP_CACHE_MS} (a revoked key must stop working within a second)"
            )));
        }
        if self.server.background_nice > MAX_NICE {
            return Err(invalid(format!(
                "server.background_nice must be between 0 and {MAX_NICE} (a nice value), not {}",
                self.server.background_nice
            )));
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
        self.telemetry.validate()?;
        catalog::validate_types("assessment_types", self.catalog().types()).map_err(invalid)?;
        validate_custom_fields(&self.custom_fields)
    }
}

/// An empty path is "unset": an environment variable cannot unset a key.
fn non_empty_path(path: Option<PathBuf>) -> Option<PathBuf> {
    path.filter(|path| !path.as_os_str().is_empty())
}

fn given_twice(key: &str) -> SettingsError {
    invalid(format!(
        "{key} and {key}_file are both set: give the secret one way only"
    ))
}

/// # Errors
/// The file cannot be read, is not UTF-8, or holds only whitespace; the message names
/// `<key>_file` and the path, never what the file holds.
fn read_secret_file(key: &str, path: &Path) -> Result<SecretString, SettingsError> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        invalid(format!(
            "{key}_file: cannot read {}: {}",
            path.display(),
            error.kind()
        ))
    })?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(invalid(format!("{key}_file: {} is empty", path.display())));
    }
    Ok(SecretString::from(secret.to_owned()))
}

fn toml_file(path: &Path) -> File<config::FileSourceFile, FileFormat> {
    File::from(path).format(FileFormat::Toml)
}

impl ServerSettings {
    /// The path of `server.public_url` without its trailing `/` (`"/ashby"`), where the
    /// partner routes are served too; `None` when the URL has no path.
    pub fn public_path_prefix(&self) -> Option<String> {
        let url = url::Url::parse(&self.public_url).ok()?;
        let path = url.path().trim_end_matches('/');
        (!path.is_empty()).then(|| path.to_owned())
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
}

/// Parses a positive duration such as `90m`, `12h`, `7d`.
///
/// # Errors
/// A message naming `what` when the text is not a positive duration.
/// `host:port`, parsed once at load.
fn socket_addr<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.trim().parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "must be an address and port such as 127.0.0.1:8080, not {text:?}"
        ))
    })
}

/// `host:port`, or empty for none.
fn optional_socket_addr<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SocketAddr>, D::Error> {
    let text = String::deserialize(deserializer)?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    text.trim().parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "must be empty or an address and port such as 127.0.0.1:8081, not {text:?}"
        ))
    })
}

/// A duration written like `90s`, `15m`, `72h` or `14d`, parsed once at load.
fn duration<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_duration("the duration", text.trim()).map_err(serde::de::Error::custom)
}

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

fn validate_custom_fields(fields: &[CustomFieldSettings]) -> Result<(), SettingsError> {
    catalog::validate_custom_fields("custom_fields", fields).map_err(invalid)
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
