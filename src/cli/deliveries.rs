//! `deliveries list [--status S] [--tenant ID]`, `deliveries retry ID | --all-dead`.

use anyhow::bail;
use clap::Subcommand;
use serde_json::Value;

use super::output::print;
use crate::delivery::DeliveryWaker;
use crate::domain::delivery::DeliveryStatus;
use crate::representation;
use crate::service::{
    RetryOutcome, retry_all_dead_deliveries, retry_dead_delivery, with_sent_payloads,
};
use crate::settings::Settings;
use crate::store::deliveries;

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// List deliveries, newest first.
    List {
        #[arg(long, value_enum)]
        status: Option<DeliveryStatus>,
        #[arg(long, value_name = "ID")]
        tenant: Option<String>,
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
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: DeliveriesCommand, settings: &Settings) -> anyhow::Result<()> {
    let access = match command {
        DeliveriesCommand::List { .. } => super::Access::Read,
        DeliveriesCommand::Retry { .. } => super::Access::Write,
    };
    let db = super::open_database(settings, access).await?;
    match command {
        DeliveriesCommand::List {
            status,
            tenant,
            limit,
            json,
        } => {
            let tenant = tenant
                .as_deref()
                .map(|t| parse_uuid("tenant", t))
                .transpose()?;
            let rows = deliveries::list(&db, status, tenant, limit).await?;
            let rows = with_sent_payloads(&db, rows).await?;
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
        DeliveriesCommand::Retry { id, all_dead, json } => {
            let id = match (id, all_dead) {
                (Some(id), _) => Some(parse_uuid("delivery", &id)?),
                (None, true) => None,
                (None, false) => {
                    bail!("give a delivery ID, or --all-dead to retry every dead delivery")
                }
            };
            // No workers run in this process: a running `serve` finds them on its next poll.
            let nobody = DeliveryWaker::default();
            let requeued = match id {
                None => retry_all_dead_deliveries(&db, &nobody).await?,
                Some(id) => match retry_dead_delivery(&db, &nobody, id).await? {
                    RetryOutcome::Requeued(_) => 1,
                    RetryOutcome::NotFound => bail!("no delivery with id {id}"),
                    RetryOutcome::NotDead(row) => bail!(
                        "delivery {id} is {}; only a dead delivery can be retried",
                        row.status
                    ),
                },
            };
            print(json, &serde_json::json!({ "requeued": requeued }), |_| {
                format!(
                    "{requeued} dead deliver{} put back in line; a running `serve` sends {} within a second.",
                    if requeued == 1 { "y" } else { "ies" },
                    if requeued == 1 { "it" } else { "them" }
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
