//! `serve` and `migrate`.

use anyhow::Context as _;
use serde::Serialize;

use super::output::print;
use crate::settings::Settings;
use crate::startup::Application;
use crate::store::{self, schema};
use crate::telemetry::TraceExport;

/// `export`: the trace exporter the global subscriber feeds, when one is configured.
pub async fn serve(settings: Settings, export: Option<TraceExport>) -> anyhow::Result<()> {
    let (db, secrets) = crate::preflight::open_for_serving(&settings).await?;
    let application = Application::build_with(settings.clone(), db, secrets)?;
    log_summary(&settings, application.port());
    let served = application.run_until_stopped().await;
    // The spans of the last requests and deliveries go out before the process ends.
    if let Some(export) = export
        && let Err(error) = export.shutdown().await
    {
        tracing::warn!(%error, "the last traces could not be exported");
    }
    served?;
    tracing::info!("stopped");
    Ok(())
}

/// One screen at start: where it listens and what, which database, which catalog, and
/// what is switched off — so a missing setting shows before the first request. No secrets.
fn log_summary(settings: &Settings, port: u16) {
    let host = settings.server.bind.ip();
    match settings.server.admin_bind {
        None => tracing::info!(
            "startup: public listener {host}:{port}: /healthz /readyz /metrics, Ashby partner API (/assessment.*), Ashby webhooks, vendor API (/v1, /openapi.json)"
        ),
        Some(admin) => {
            tracing::info!(
                "startup: public listener {host}:{port}: /healthz /readyz, Ashby partner API (/assessment.*), Ashby webhooks, candidate sessions"
            );
            tracing::info!(
                "startup: admin listener {admin}: vendor API (/v1), /openapi.json, /metrics, /healthz /readyz"
            );
        }
    }
    if let Some(prefix) = settings.server.public_path_prefix() {
        tracing::info!("startup: Ashby's endpoints also under {prefix}");
    }
    tracing::info!(
        "startup: database {} (auto_migrate = {})",
        schema::describe(&settings.database.url),
        settings.database.auto_migrate
    );
    tracing::info!(
        "startup: catalog from configuration: {} assessment types, {} custom fields",
        settings.assessment_types.len(),
        settings.custom_fields.len()
    );
    if let Some(url) = settings.telemetry.traces_url() {
        // The origin only: a URL can carry credentials.
        let origin = url::Url::parse(&url)
            .map(|url| url.origin().ascii_serialization())
            .unwrap_or_default();
        tracing::info!(
            "startup: traces exported to {origin} (OTLP/HTTP, service.name {}, sample_ratio {})",
            settings.telemetry.service_name,
            settings.telemetry.sample_ratio
        );
    }
    let mut disabled = Vec::new();
    if settings.vendor.webhook_url.is_empty() {
        disabled.push("vendor webhooks (vendor.webhook_url unset)");
    }
    if settings.vendor.candidate_url_template.is_empty() {
        disabled.push("candidate links (vendor.candidate_url_template unset)");
    }
    if settings.telemetry.traces_url().is_none() {
        disabled.push("trace export (telemetry.otlp_endpoint unset)");
    }
    if settings.vendor.expire_after.is_none() {
        disabled.push("expiry (vendor.expire_after unset)");
    }
    if settings.retention.deliveries.is_none() {
        disabled.push("delivery retention (retention.deliveries unset: kept forever)");
    }
    if settings.retention.assessments.is_none() {
        disabled.push("assessment retention (retention.assessments unset: kept forever)");
    }
    if settings.limits.partner_requests_per_second == 0 {
        disabled.push("partner API rate limit (limits.partner_requests_per_second = 0)");
    }
    if settings.limits.vendor_requests_per_second == 0 {
        disabled.push("vendor API rate limit (limits.vendor_requests_per_second = 0)");
    }
    if disabled.is_empty() {
        tracing::info!("startup: disabled: nothing");
    } else {
        tracing::info!("startup: disabled: {}", disabled.join("; "));
    }
}

#[derive(Serialize)]
struct Status {
    database: String,
    applied: Vec<String>,
    pending: Vec<String>,
    unknown: Vec<String>,
}

pub async fn migrate(settings: Settings, status_only: bool, json: bool) -> anyhow::Result<()> {
    let url = &settings.database.url;
    tracing::info!(database = %schema::describe(url), "opening the database");
    if status_only {
        schema::require_existing(url)?;
    }
    let db = store::connect(&settings.database)
        .await
        .context("cannot open the database")?;
    let status = schema::migration_status(&db)
        .await
        .map_err(schema::SchemaError::from)?;
    if status_only {
        let status = Status {
            database: schema::describe(url),
            applied: status.applied,
            pending: status.pending,
            unknown: status.unknown,
        };
        return print(json, &status, |s| {
            let mut text = format!("Database: {}", s.database);
            for (label, names) in [
                ("applied", &s.applied),
                ("pending", &s.pending),
                ("unknown", &s.unknown),
            ] {
                for name in names {
                    text.push_str(&format!("\n{label:<8} {name}"));
                }
            }
            if !s.unknown.is_empty() {
                text.push_str("\n(unknown: applied by a newer binary; see \"Rollback\" in docs/deployment.md)");
            }
            text
        });
    }
    // Even with database.allow_newer_schema: this binary cannot migrate that schema.
    if let Some(newer) = status.newer_schema_error() {
        return Err(newer.into());
    }
    store::migrate(&db)
        .await
        .context("cannot migrate the database")?;
    tracing::info!("migrations applied");
    Ok(())
}
