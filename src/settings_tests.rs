use std::collections::HashMap;

use secrecy::ExposeSecret as _;

use super::*;

/// A scratch config directory and the sources that read it, with an empty environment.
struct Scratch {
    dir: tempfile::TempDir,
    env: HashMap<String, String>,
    config_file: Option<PathBuf>,
}

impl Scratch {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            env: HashMap::new(),
            config_file: None,
        }
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn env(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    fn load(&self) -> Result<Settings, SettingsError> {
        Settings::load(&Sources {
            config_dir: Some(self.dir.path().to_owned()),
            config_file: self.config_file.clone(),
            env: Some(self.env.clone()),
        })
    }

    fn error(&self) -> String {
        self.load().unwrap_err().to_string()
    }
}

#[test]
fn the_builtin_defaults_are_enough_to_run() {
    let settings = Scratch::new().load().unwrap();
    assert_eq!(settings.server.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(settings.server.max_body_bytes, 262_144);
    assert_eq!(settings.server.background_nice, 10);
    assert_eq!(
        settings.database.url,
        "sqlite://data/ashby-partner.db?mode=rwc"
    );
    assert!(settings.database.auto_migrate);
    assert!(settings.security.encryption_key.is_none());
    // CONTRACT §2: give up after 72 hours of failing, with no cap on attempts.
    assert_eq!(settings.delivery.max_attempts, 0);
    assert_eq!(
        settings.delivery.retry_for,
        Some(Duration::from_secs(72 * 3600))
    );
    assert_eq!(
        settings.vendor.candidate_link_ttl,
        Duration::from_secs(7 * 86_400)
    );
    assert_eq!(settings.assessment_types.len(), 1);
    assert_eq!(settings.custom_fields.len(), 1);
}

#[test]
fn each_layer_overrides_the_one_before() {
    let mut scratch = Scratch::new()
        .env("ASHBY_PARTNER_ENV", "staging")
        .env("ASHBY_PARTNER__DELIVERY__CONCURRENCY", "3");
    scratch.file(
        "default.toml",
        "[server]\nbind = \"0.0.0.0:1\"\n[delivery]\nmax_attempts = 2\nconcurrency = 2\n",
    );
    scratch.file(
        "staging.toml",
        "[server]\nbind = \"0.0.0.0:2\"\n[delivery]\nmax_attempts = 4\n",
    );
    scratch.config_file = Some(scratch.file("extra.toml", "[server]\nbind = \"0.0.0.0:3\"\n"));
    let settings = scratch.load().unwrap();
    assert_eq!(
        settings.server.bind.to_string(),
        "0.0.0.0:3",
        "--config beats the env file"
    );
    assert_eq!(
        settings.delivery.max_attempts, 4,
        "the env file beats default.toml"
    );
    assert_eq!(settings.delivery.concurrency, 3, "env vars beat every file");
    assert_eq!(
        settings.server.max_body_bytes, 262_144,
        "untouched keys keep defaults"
    );
}

#[test]
fn database_url_overrides_the_database_url_key() {
    let scratch = Scratch::new()
        .env("ASHBY_PARTNER__DATABASE__URL", "postgres://a/b")
        .env("DATABASE_URL", "postgres://c/d");
    assert_eq!(scratch.load().unwrap().database.url, "postgres://c/d");
}

#[test]
fn trace_export_is_off_by_default_and_configured_by_key_or_the_standard_variable() {
    let settings = Scratch::new().load().unwrap();
    assert_eq!(settings.telemetry.traces_url(), None);
    assert_eq!(settings.telemetry.service_name, "ashby-partner");

    let standard = Scratch::new().env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318");
    assert_eq!(
        standard.load().unwrap().telemetry.traces_url().as_deref(),
        Some("http://collector:4318/v1/traces")
    );
    let both = standard.env(
        "ASHBY_PARTNER__TELEMETRY__OTLP_ENDPOINT",
        "https://otel.example/base/",
    );
    assert_eq!(
        both.load().unwrap().telemetry.traces_url().as_deref(),
        Some("https://otel.example/base/v1/traces"),
        "our key wins over the standard variable"
    );
}

#[test]
fn a_bad_trace_endpoint_or_ratio_is_refused_naming_the_key() {
    for (key, value, expected) in [
        (
            "OTLP_ENDPOINT",
            "collector:4318",
            "telemetry.otlp_endpoint must be an http(s) URL",
        ),
        (
            "OTLP_ENDPOINT",
            "grpc://collector:4317",
            "telemetry.otlp_endpoint must be an http(s) URL",
        ),
        (
            "OTLP_ENDPOINT",
            "http://collector:4318/?x=1",
            "telemetry.otlp_endpoint must be the collector's base URL",
        ),
        (
            "SAMPLE_RATIO",
            "1.5",
            "telemetry.sample_ratio must be between 0.0 and 1.0",
        ),
        (
            "SERVICE_NAME",
            " ",
            "telemetry.service_name must not be empty",
        ),
    ] {
        let error = Scratch::new()
            .env(&format!("ASHBY_PARTNER__TELEMETRY__{key}"), value)
            .error();
        assert!(error.contains(expected), "{key}={value}: {error}");
        assert_eq!(error.lines().count(), 1, "{error}");
    }
}

#[test]
fn secrets_come_from_the_environment_and_empty_means_unset() {
    let scratch = Scratch::new()
        .env(
            "ASHBY_PARTNER__SECURITY__TOKEN_SECRET",
            "0123456789abcdef0123456789abcdef",
        )
        .env("ASHBY_PARTNER__SECURITY__ENCRYPTION_KEY", "");
    let settings = scratch.load().unwrap();
    assert_eq!(
        settings.security.token_secret.unwrap().expose_secret(),
        "0123456789abcdef0123456789abcdef"
    );
    assert!(settings.security.encryption_key.is_none());
}

#[test]
fn unknown_keys_are_errors_that_name_the_key() {
    let mut scratch = Scratch::new();
    scratch.config_file = Some(scratch.file("x.toml", "[server]\nbindd = \"x\"\n"));
    let error = scratch.error();
    assert!(
        error.contains("bindd") && error.contains("server"),
        "{error}"
    );

    let mut scratch = Scratch::new();
    scratch.config_file = Some(scratch.file("x.toml", "[surver]\nbind = \"x\"\n"));
    assert!(scratch.error().contains("surver"));

    let error = Scratch::new()
        .env("ASHBY_PARTNER__DATABASE__URLL", "x")
        .error();
    assert!(error.contains("urll"), "{error}");
}

#[test]
fn a_missing_config_file_or_bad_toml_is_an_error() {
    let mut scratch = Scratch::new();
    scratch.config_file = Some(scratch.dir.path().join("absent.toml"));
    assert!(scratch.error().contains("absent.toml"));
    scratch.config_file = Some(scratch.file("bad.toml", "[server\n"));
    assert!(scratch.load().is_err());
}

#[test]
fn a_configured_catalog_replaces_the_builtin_example() {
    let mut scratch = Scratch::new();
    scratch.config_file = Some(scratch.file(
        "c.toml",
        r#"
[[assessment_types]]
id = "00000000-0000-4000-8000-0000000000aa"
name = "A"
[[assessment_types]]
id = "00000000-0000-4000-8000-0000000000bb"
name = "B"
description = "second"
"#,
    ));
    let settings = scratch.load().unwrap();
    let names: Vec<_> = settings
        .assessment_types
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["A", "B"]);
}

#[test]
fn a_standard_webhooks_secret_is_accepted() {
    let mut scratch = Scratch::new();
    scratch.config_file = Some(scratch.file(
        "c.toml",
        "[vendor]\nwebhook_url = \"https://v.example/hook\"\nwebhook_secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\ncandidate_url_template = \"https://t.example/take/{token}\"\n",
    ));
    let settings = scratch.load().unwrap();
    assert_eq!(
        settings.vendor.webhook_key().unwrap().expose_secret().len(),
        24
    );
}

#[test]
fn an_empty_list_removes_the_builtin_custom_field_example() {
    let mut scratch = Scratch::new();
    scratch.config_file = Some(scratch.file(
        "c.toml",
        "custom_fields = []\n[server]\nbind = \"0.0.0.0:9\"\n",
    ));
    let settings = scratch.load().unwrap();
    assert!(settings.custom_fields.is_empty());
    assert_eq!(
        settings.assessment_types.len(),
        1,
        "the catalog was not touched"
    );
}

#[test]
fn invalid_values_are_rejected_with_their_key() {
    let cases = [
        ("[server]\nbind = \"nowhere\"\n", "server.bind"),
        ("[server]\npublic_url = \"ftp://x\"\n", "server.public_url"),
        ("[server]\nmax_body_bytes = 0\n", "server.max_body_bytes"),
        (
            "[server]\nbackground_nice = 20\n",
            "server.background_nice must be between 0 and 19",
        ),
        ("[server]\nbackground_nice = -1\n", "background_nice"),
        (
            "[server]\nbody_read_timeout_ms = 0\n",
            "server.body_read_timeout_ms",
        ),
        (
            "[limits]\npartner_requests_per_second = 5\npartner_burst = 0\n",
            "limits.partner_burst",
        ),
        ("[limits]\nvendor_burst = 0\n", "limits.vendor_burst"),
        (
            "[limits]\nfeed_page_max_bytes = 0\n",
            "limits.feed_page_max_bytes",
        ),
        (
            "[limits]\nmax_additional_fields_bytes = 0\n",
            "limits.max_additional_fields_bytes",
        ),
        (
            "[limits]\npartner_requests_per_second = -1\n",
            "partner_requests_per_second",
        ),
        (
            "[delivery]\ninitial_backoff_ms = 10\nmax_backoff_ms = 5\n",
            "delivery.initial_backoff_ms",
        ),
        (
            "[vendor]\ncandidate_link_ttl = \"soon\"\n",
            "vendor.candidate_link_ttl",
        ),
        ("[delivery]\nretry_for = \"a while\"\n", "retry_for"),
        ("[delivery]\nconcurrency = 0\n", "delivery.concurrency"),
        (
            "[vendor]\nwebhook_url = \"not a url\"\n",
            "vendor.webhook_url",
        ),
        ("[ashby]\npartner_id = \"nope\"\n", "partner_id"),
        (
            "[[assessment_types]]\nid = \"not-a-uuid\"\nname = \"x\"\n",
            "assessment_types",
        ),
        (
            "[[assessment_types]]\nid = \"00000000-0000-4000-8000-000000000001\"\nname = \"x\"\n[[assessment_types]]\nid = \"00000000-0000-4000-8000-000000000001\"\nname = \"y\"\n",
            "used twice",
        ),
        (
            "[[custom_fields]]\nid = \"f\"\nname = \"F\"\ntype = \"ValueSelect\"\n",
            "possible_values is required",
        ),
        (
            "[[custom_fields]]\nid = \"f\"\nname = \"F\"\ntype = \"String\"\npossible_values = [{ key = \"a\", value = \"A\" }]\n",
            "only allowed",
        ),
        (
            "[[custom_fields]]\nid = \"f\"\nname = \"F\"\ntype = \"Text\"\n",
            "Text",
        ),
    ];
    for (toml, expected) in cases {
        let mut scratch = Scratch::new();
        scratch.config_file = Some(scratch.file("c.toml", toml));
        let error = scratch.error();
        assert!(error.contains(expected), "{toml:?} gave {error:?}");
    }
}

#[test]
fn every_secret_may_be_read_from_a_file_named_in_the_environment() {
    let scratch = Scratch::new();
    let token = scratch.file("token", "  0123456789abcdef0123456789abcdef-token \n");
    let key = scratch.file("key", "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0=\n");
    let webhook = scratch.file("webhook", "whsec_MDEyMzQ1Njc4OWFiY2RlZg==\n");
    let scratch = scratch
        .env(
            "ASHBY_PARTNER__SECURITY__TOKEN_SECRET_FILE",
            token.to_str().unwrap(),
        )
        .env(
            "ASHBY_PARTNER__SECURITY__ENCRYPTION_KEY_FILE",
            key.to_str().unwrap(),
        )
        .env(
            "ASHBY_PARTNER__VENDOR__WEBHOOK_SECRET_FILE",
            webhook.to_str().unwrap(),
        );
    let settings = scratch.load().unwrap();
    assert_eq!(
        settings.security.token_secret.unwrap().expose_secret(),
        "0123456789abcdef0123456789abcdef-token",
        "the content, trimmed"
    );
    assert_eq!(
        settings.security.encryption_key.unwrap().expose_secret(),
        "a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleS0="
    );
    assert_eq!(
        settings.vendor.webhook_secret.expose_secret(),
        "whsec_MDEyMzQ1Njc4OWFiY2RlZg=="
    );
}

#[test]
fn a_secret_file_may_be_named_in_a_config_file() {
    let mut scratch = Scratch::new();
    let token = scratch.file("token", "0123456789abcdef0123456789abcdef\n");
    scratch.config_file = Some(scratch.file(
        "x.toml",
        &format!(
            "[security]\ntoken_secret_file = {:?}\n",
            token.to_str().unwrap()
        ),
    ));
    let settings = scratch.load().unwrap();
    assert_eq!(
        settings.security.token_secret.unwrap().expose_secret(),
        "0123456789abcdef0123456789abcdef"
    );
}

#[test]
fn a_secret_given_twice_names_both_keys() {
    let scratch = Scratch::new();
    let token = scratch.file("token", "0123456789abcdef0123456789abcdef\n");
    let scratch = scratch
        .env(
            "ASHBY_PARTNER__SECURITY__TOKEN_SECRET_FILE",
            token.to_str().unwrap(),
        )
        .env(
            "ASHBY_PARTNER__SECURITY__TOKEN_SECRET",
            "fedcba9876543210fedcba9876543210",
        );
    let error = scratch.error();
    assert!(
        error.contains("security.token_secret") && error.contains("security.token_secret_file"),
        "{error}"
    );
}

#[test]
fn an_unreadable_secret_file_names_the_key_and_path_but_not_the_content() {
    let scratch = Scratch::new();
    let missing = scratch.dir.path().join("no-such-secret");
    let scratch = scratch.env(
        "ASHBY_PARTNER__VENDOR__WEBHOOK_SECRET_FILE",
        missing.to_str().unwrap(),
    );
    let error = scratch.error();
    assert!(error.contains("vendor.webhook_secret_file"), "{error}");
    assert!(error.contains(missing.to_str().unwrap()), "{error}");

    let scratch = Scratch::new();
    let empty = scratch.file("empty", " \n");
    let error = scratch
        .env(
            "ASHBY_PARTNER__SECURITY__TOKEN_SECRET_FILE",
            empty.to_str().unwrap(),
        )
        .error();
    assert!(
        error.contains("security.token_secret_file") && error.contains("empty"),
        "{error}"
    );
}

#[test]
fn admin_bind_is_empty_or_an_address() {
    assert_eq!(Scratch::new().load().unwrap().server.admin_bind, None);
    let set = Scratch::new().env("ASHBY_PARTNER__SERVER__ADMIN_BIND", "127.0.0.1:8081");
    assert_eq!(
        set.load().unwrap().server.admin_bind,
        Some("127.0.0.1:8081".parse().unwrap())
    );
    let bad = Scratch::new().env("ASHBY_PARTNER__SERVER__ADMIN_BIND", "localhost");
    assert!(bad.error().contains("server.admin_bind"), "{}", bad.error());
}
