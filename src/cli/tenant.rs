//! `tenant create | list | show | disable | enable | delete | set-ashby-key |
//! verify-ashby-key | rotate-key | revoke-keys`.

use std::io::Read as _;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret as _;
use serde::Serialize;

use super::output::print;
use crate::domain::ids::TenantId;
use crate::domain::tenant::{TenantOverview, TenantPatch, parse_external_id};
use crate::representation;
use crate::secrets::ServerSecrets;
use crate::service::{self, AshbyKeyCheck, NewTenant};
use crate::settings::Settings;
use crate::store::tenants;

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and print its partner API key (shown only this once).
    Create {
        #[arg(long)]
        name: String,
        /// The organisation's Ashby API key (candidatesWrite permission); "-" reads stdin.
        #[arg(long, value_name = "KEY")]
        ashby_api_key: Option<String>,
        /// Ashby's API base URL for this tenant, if not ashby.base_url.
        #[arg(long, value_name = "URL")]
        ashby_base_url: Option<String>,
        /// Your own id for this customer (unique).
        #[arg(long, value_name = "ID")]
        external_id: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List tenants (never their keys).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Store a tenant's Ashby API key, encrypted. KEY "-" reads it from stdin.
    SetAshbyKey {
        /// The tenant's id, as `tenant create` or `tenant list` printed it.
        id: String,
        key: String,
        #[arg(long)]
        json: bool,
    },
    /// Issue a new partner key; older keys keep working until revoke-keys.
    RotateKey {
        /// The tenant's id, as `tenant create` or `tenant list` printed it.
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Show a tenant: keys, Ashby key status, delivery counts.
    Show {
        /// The tenant's id, as `tenant create` or `tenant list` printed it.
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Disable a tenant: Ashby's calls are refused and its deliveries wait.
    Disable {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Enable a disabled tenant again; its waiting deliveries go out.
    Enable {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Erase a tenant and all its data (keys, assessments, deliveries). Needs --yes.
    Delete {
        id: String,
        /// Confirms the erasure: it cannot be undone.
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
    /// Ask Ashby whether the tenant's stored API key works, and record the answer.
    VerifyAshbyKey {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a tenant's partner keys.
    RevokeKeys {
        /// The tenant's id, as `tenant create` or `tenant list` printed it.
        id: String,
        /// Keep the newest key (the one rotate-key printed last).
        #[arg(long, required = true)]
        except_newest: bool,
        #[arg(long)]
        json: bool,
    },
    /// Create the tenant's Ashby webhook secret and register its webhooks with Ashby
    /// (or print what to create by hand when its Ashby key may not).
    AshbyWebhooks {
        /// The tenant's id, as `tenant create` or `tenant list` printed it.
        id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct Created {
    id: TenantId,
    name: String,
    partner_api_key: String,
}

#[derive(Serialize)]
struct Listed {
    id: TenantId,
    name: String,
    ashby_api_key_set: bool,
    ashby_base_url: Option<String>,
    ashby_key_status: String,
    external_id: Option<String>,
    disabled: bool,
    active_partner_keys: u64,
    created_at: String,
}

#[derive(Serialize)]
struct KeySet {
    id: TenantId,
    ashby_api_key_set: bool,
}

#[derive(Serialize)]
struct Rotated {
    id: TenantId,
    partner_api_key: String,
}

#[derive(Serialize)]
struct Revoked {
    id: TenantId,
    revoked: u64,
}

pub async fn run(command: TenantCommand, settings: Settings) -> anyhow::Result<()> {
    let access = match command {
        TenantCommand::List { .. } | TenantCommand::Show { .. } => super::Access::Read,
        _ => super::Access::Write,
    };
    let db = super::open_database(&settings, access).await?;
    match command {
        TenantCommand::Create {
            name,
            ashby_api_key,
            ashby_base_url,
            external_id,
            json,
        } => {
            let external_id = external_id
                .map(|id| parse_external_id("--external-id", &id))
                .transpose()
                .map_err(anyhow::Error::msg)?;
            create(
                &db,
                &settings,
                NewTenantArgs {
                    name,
                    ashby_api_key,
                    ashby_base_url,
                    external_id,
                },
                json,
            )
            .await
        }
        TenantCommand::Show { id, json } => {
            let overview = service::show_tenant(&db, parse_tenant_id(&id)?).await?;
            print_tenant(&settings, &overview, json)
        }
        TenantCommand::Disable { id, json } => set_disabled(&db, &settings, &id, true, json).await,
        TenantCommand::Enable { id, json } => set_disabled(&db, &settings, &id, false, json).await,
        TenantCommand::Delete { id, yes, json } => {
            let id = parse_tenant_id(&id)?;
            if !yes {
                bail!("deleting tenant {id} erases all its data and cannot be undone: add --yes");
            }
            service::delete_tenant(&db, id).await?;
            print(
                json,
                &serde_json::json!({ "id": id, "deleted": true }),
                |_| format!("Tenant {id} and all its data erased."),
            )
        }
        TenantCommand::VerifyAshbyKey { id, json } => {
            let id = parse_tenant_id(&id)?;
            let secrets = ServerSecrets::resolve(&settings)?;
            let check = AshbyKeyCheck::new(&settings)?;
            let overview = service::verify_ashby_key(&db, &secrets.sealer, &check, id).await?;
            print_tenant(&settings, &overview, json)
        }
        TenantCommand::List { json } => list(&db, json).await,
        TenantCommand::SetAshbyKey { id, key, json } => {
            let id = parse_tenant_id(&id)?;
            let secrets = ServerSecrets::resolve(&settings)?;
            super::check_encryption_key(&db, &secrets.sealer).await?;
            let key = read_key_argument(&key)?;
            service::set_ashby_key(&db, &secrets.sealer, id, &key.into()).await?;
            print(
                json,
                &KeySet {
                    id,
                    ashby_api_key_set: true,
                },
                |r| format!("Ashby API key stored (encrypted) for tenant {}", r.id),
            )
        }
        TenantCommand::RotateKey { id, json } => {
            let id = parse_tenant_id(&id)?;
            let key = service::rotate_partner_key(&db, id).await?;
            let rotated = Rotated {
                id,
                partner_api_key: key.expose_secret().to_owned(),
            };
            print(json, &rotated, |r| {
                format!(
                    "New partner API key for tenant {} (shown only now):\n  {}\nOlder keys keep working until `tenant revoke-keys {} --except-newest`.",
                    r.id, r.partner_api_key, r.id
                )
            })
        }
        TenantCommand::RevokeKeys { id, json, .. } => {
            let id = parse_tenant_id(&id)?;
            let revoked = service::revoke_partner_keys(&db, id).await?;
            print(json, &Revoked { id, revoked }, |r| {
                format!(
                    "Revoked {} partner key(s) of tenant {}; the newest still works.",
                    r.revoked, r.id
                )
            })
        }
        TenantCommand::AshbyWebhooks { id, json } => {
            let id = parse_tenant_id(&id)?;
            super::ashby_webhooks::run(&db, &settings, id, json).await
        }
    }
}

struct NewTenantArgs {
    name: String,
    ashby_api_key: Option<String>,
    ashby_base_url: Option<String>,
    external_id: Option<String>,
}

async fn set_disabled(
    db: &DatabaseConnection,
    settings: &Settings,
    id: &str,
    disabled: bool,
    json: bool,
) -> anyhow::Result<()> {
    let id = parse_tenant_id(id)?;
    let patch = TenantPatch {
        disabled: Some(disabled),
        ..TenantPatch::default()
    };
    let overview = service::update_tenant(db, id, patch).await?;
    print_tenant(settings, &overview, json)
}

fn print_tenant(settings: &Settings, overview: &TenantOverview, json: bool) -> anyhow::Result<()> {
    let tenant = representation::tenant(overview, &settings.ashby.base_url);
    print(json, &tenant, |t| {
        format!(
            "Tenant {} ({}){}\n  external id: {}\n  partner keys: {}\n  Ashby: {} (key {}{})\n  deliveries: {} pending, {} dead",
            t.name,
            t.id,
            if t.disabled { " DISABLED" } else { "" },
            t.external_id.as_deref().unwrap_or("-"),
            t.partner_keys,
            t.ashby.base_url,
            t.ashby.key_status.as_str(),
            t.ashby
                .last_error
                .as_deref()
                .map(|e| format!("; last error: {e}"))
                .unwrap_or_default(),
            t.deliveries.pending,
            t.deliveries.dead,
        )
    })
}

async fn create(
    db: &DatabaseConnection,
    settings: &Settings,
    args: NewTenantArgs,
    json: bool,
) -> anyhow::Result<()> {
    let NewTenantArgs {
        name,
        ashby_api_key,
        ashby_base_url,
        external_id,
    } = args;
    let name = name.trim().to_owned();
    if name.is_empty() {
        bail!("--name must not be empty");
    }
    if let Some(url) = &ashby_base_url {
        match url::Url::parse(url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
            _ => bail!("--ashby-base-url must be an http(s) URL, not {url:?}"),
        }
    }
    let ashby_api_key = ashby_api_key
        .map(|key| read_key_argument(&key))
        .transpose()?;
    let secrets = ServerSecrets::resolve(settings)?;
    super::check_encryption_key(db, &secrets.sealer).await?;
    let onboarded = service::onboard_tenant(
        db,
        &secrets.sealer,
        NewTenant {
            name,
            ashby_api_key: ashby_api_key.map(Into::into),
            ashby_base_url,
            external_id,
        },
    )
    .await?;
    let created = Created {
        id: onboarded.id,
        name: onboarded.name,
        partner_api_key: onboarded.partner_api_key.expose_secret().to_owned(),
    };
    print(json, &created, |c| {
        format!(
            "Created tenant {} ({}).\nPartner API key (shown only now; paste it into Ashby's integration settings):\n  {}",
            c.name, c.id, c.partner_api_key
        )
    })
}

async fn list(db: &DatabaseConnection, json: bool) -> anyhow::Result<()> {
    let listed: Vec<Listed> = tenants::list(db)
        .await?
        .into_iter()
        .map(|summary| Listed {
            id: TenantId(summary.tenant.id),
            name: summary.tenant.name,
            ashby_api_key_set: summary.tenant.ashby_api_key_sealed.is_some(),
            ashby_base_url: summary.tenant.ashby_base_url,
            ashby_key_status: summary.tenant.ashby_key_status,
            external_id: summary.tenant.external_id,
            disabled: summary.tenant.disabled,
            active_partner_keys: summary.active_keys,
            created_at: crate::time::rfc3339(summary.tenant.created_at_ms),
        })
        .collect();
    print(json, &listed, |tenants| {
        if tenants.is_empty() {
            return "No tenants yet: create one with `ashby-partner tenant create --name NAME`."
                .into();
        }
        let mut text = String::from("ID                                    KEYS  ASHBY KEY   NAME");
        for t in tenants {
            text.push_str(&format!(
                "\n{}  {:>4}  {:<10}  {}{}",
                t.id,
                t.active_partner_keys,
                t.ashby_key_status,
                t.name,
                if t.disabled { " (disabled)" } else { "" }
            ));
        }
        text
    })
}

/// A tenant id given on the command line. Parsed here rather than by clap, whose
/// error for a bad value spans several lines; CONTRACT §3 wants one that says what to fix.
fn parse_tenant_id(text: &str) -> anyhow::Result<TenantId> {
    text.trim().parse().map_err(|_| {
        anyhow::anyhow!(
            "{text:?} is not a tenant id: give the UUID that `tenant create` or `tenant list` printed"
        )
    })
}

/// A key given on the command line, or "-" to read it from stdin (keeps it out of the
/// shell history and the process list).
/// The key given as an argument, or with `-` read from stdin: piped in, or typed at a
/// terminal — then with a prompt and without echo, so it never shows on screen.
fn read_key_argument(argument: &str) -> anyhow::Result<String> {
    let key = if argument == "-" && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        rpassword::prompt_password("Ashby API key (not shown): ")
            .context("cannot read the key from the terminal")?
            .trim()
            .to_owned()
    } else if argument == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the key from stdin")?;
        text.trim().to_owned()
    } else {
        argument.trim().to_owned()
    };
    if key.is_empty() {
        bail!("the Ashby API key must not be empty");
    }
    Ok(key)
}
