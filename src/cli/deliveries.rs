//! `deliveries list [--status S] [--tenant ID] [--assessment ID]`, `deliveries show ID`,
//! `deliveries retry ID | --all-dead [--tenant ID]`, `deliveries dismiss ID`.

use anyhow::bail;
use clap::Subcommand;
use serde_json::Value;

use super::output::print;
use crate::delivery::DeliveryWaker;
use crate::domain::delivery::DeliveryStatus;
use crate::representation;
use crate::service::{
    BulkRetry, DismissOutcome, RetryOutcome, dismiss_delivery, list_deliveries,
    retry_all_dead_deliveries, retry_dead_delivery, show_delivery,
};
use crate::settings::Settings;
use crate::store::delivery_ops::DeliveryFilter;

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// List deliveries, newest first.
    List {
        #[arg(long, value_enum)]
        status: Option<DeliveryStatus>,
        #[arg(long, value_name = "ID")]
        tenant: Option<String>,
        #[arg(long, value_name = "ID")]
        assessment: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u64,
        #[arg(long)]
        json: bool,
    },
    /// Put a dead delivery (or, with --all-dead, every dead one) back in line.
    Retry {
        #[arg(conflicts_with = "all_dead")]
        id: Option<String>,
        #[arg(long)]
        all_dead: bool,
        /// With --all-dead: only this tenant's.
        #[arg(long, value_name = "ID", requires = "all_dead")]
        tenant: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one delivery with every attempt.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Give up on a dead delivery: never sent, no longer counted as dead.
    Dismiss {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: DeliveriesCommand, settings: &Settings) -> anyhow::Result<()> {
    let access = match command {
        DeliveriesCommand::List { .. } | DeliveriesCommand::Show { .. } => super::Access::Read,
        DeliveriesCommand::Retry { .. } | DeliveriesCommand::Dismiss { .. } => super::Access::Write,
    };
    let db = super::open_database(settings, access).await?;
    match command {
        DeliveriesCommand::List {
            status,
            tenant,
            assessment,
            limit,
            json,
        } => {
            let filter = DeliveryFilter {
                status,
                tenant_id: tenant
                    .as_deref()
                    .map(|t| parse_uuid("tenant", t))
                    .transpose()?,
                assessment_id: assessment
                    .as_deref()
                    .map(|a| parse_uuid("assessment", a))
                    .transpose()?,
                ..DeliveryFilter::default()
            };
            let rows = list_deliveries(&db, &filter, limit).await?;
            let data: Vec<Value> = rows
                .iter()
                .map(|row| serde_json::to_value(representation::delivery(row)))
                .collect::<Result<_, _>>()?;
            print(json, &data, |data| {
                if data.is_empty() {
                    return "No deliveries.".into();
                }
                let mut text = String::from(
                    "ID                                    STATUS     ATTEMPTS  KIND                                 LAST ERROR",
                );
                for d in data {
                    text.push_str(&format!(
                        "\n{}  {:<9}  {:>8}  {:<35}  {}",
                        d["id"].as_str().unwrap_or_default(),
                        d["status"].as_str().unwrap_or_default(),
                        d["attempts"],
                        d["kind"].as_str().unwrap_or_default(),
                        d["last_error"].as_str().unwrap_or("-"),
                    ));
                }
                text
            })
        }
        DeliveriesCommand::Show { id, json } => {
            let id = parse_uuid("delivery", &id)?;
            let Some((row, attempts)) = show_delivery(&db, id).await? else {
                bail!("no delivery with id {id}");
            };
            let shown = representation::delivery_with_attempts(&row, &attempts);
            print(json, &shown, |d| {
                let mut text = format!(
                    "Delivery {} ({}) is {}; {} attempt(s) in this round{}",
                    d.delivery.id,
                    d.delivery.kind,
                    d.delivery.status.as_str(),
                    d.delivery.attempts,
                    d.delivery
                        .last_error
                        .as_deref()
                        .map(|e| format!("; last error: {e}"))
                        .unwrap_or_default()
                );
                for a in &d.attempt_log {
                    text.push_str(&format!(
                        "\n  {}  {:>6} ms  HTTP {:<4}  {:<9}  {}",
                        a.at,
                        a.duration_ms,
                        a.http_status.map_or("-".into(), |s| s.to_string()),
                        a.outcome,
                        a.error.as_deref().unwrap_or("")
                    ));
                }
                text
            })
        }
        DeliveriesCommand::Dismiss { id, json } => {
            let id = parse_uuid("delivery", &id)?;
            match dismiss_delivery(&db, id).await? {
                DismissOutcome::Dismissed(row) => {
                    print(json, &representation::delivery(&row), |d| {
                        format!("Delivery {} dismissed: it will not be sent.", d.id)
                    })
                }
                DismissOutcome::NotFound => bail!("no delivery with id {id}"),
                DismissOutcome::NotDead(row) => bail!(
                    "delivery {id} is {}; only a dead delivery can be dismissed",
                    row.status
                ),
            }
        }
        DeliveriesCommand::Retry {
            id,
            all_dead,
            tenant,
            json,
        } => {
            let tenant = tenant
                .as_deref()
                .map(|t| parse_uuid("tenant", t))
                .transpose()?;
            let id = match (id, all_dead) {
                (Some(id), _) => Some(parse_uuid("delivery", &id)?),
                (None, true) => None,
                (None, false) => {
                    bail!("give a delivery ID, or --all-dead to retry every dead delivery")
                }
            };
            // No workers run in this process: a running `serve` finds them on its next poll.
            let nobody = DeliveryWaker::default();
            let done = match id {
                None => retry_all_dead_deliveries(&db, &nobody, tenant).await?,
                Some(id) => match retry_dead_delivery(&db, &nobody, id).await? {
                    RetryOutcome::Requeued(_) => BulkRetry {
                        retried: 1,
                        superseded: 0,
                    },
                    RetryOutcome::Superseded(_) => BulkRetry {
                        retried: 0,
                        superseded: 1,
                    },
                    RetryOutcome::NotFound => bail!("no delivery with id {id}"),
                    RetryOutcome::NotDead(row) => bail!(
                        "delivery {id} is {}; only a dead delivery can be retried",
                        row.status
                    ),
                },
            };
            // `requeued` is the older name of `retried`, kept for scripts that read it.
            let answer = serde_json::json!({
                "requeued": done.retried,
                "retried": done.retried,
                "superseded": done.superseded,
            });
            print(json, &answer, |_| {
                let retried = done.retried;
                format!(
                    "{retried} dead deliver{} put back in line; a running `serve` sends {} within a second.{}",
                    if retried == 1 { "y" } else { "ies" },
                    if retried == 1 { "it" } else { "them" },
                    if done.superseded == 0 {
                        String::new()
                    } else {
                        format!(
                            "\n{} outdated update(s) marked superseded instead: a later update already reached Ashby.",
                            done.superseded
                        )
                    }
                )
            })
        }
    }
}

fn parse_uuid(what: &str, text: &str) -> anyhow::Result<uuid::Uuid> {
    text.parse().map_err(|_| {
        anyhow::anyhow!("{text:?} is not a {what} id: give the UUID that `{what}` listings show")
    })
}
