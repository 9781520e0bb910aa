//! `tenant create | list | set-ashby-key | rotate-key | revoke-keys`.

use std::io::Read as _;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret as _;
use serde::Serialize;

use super::output::print;
use crate::crypto::issue_partner_key;
use crate::domain::ids::TenantId;
use crate::secrets::ServerSecrets;
use crate::service::{self, NewTenant};
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
        TenantCommand::List { .. } => super::Access::Read,
        _ => super::Access::Write,
    };
    let db = super::open_database(&settings, access).await?;
    match command {
        TenantCommand::Create {
            name,
            ashby_api_key,
            ashby_base_url,
            json,
        } => create(&db, &settings, name, ashby_api_key, ashby_base_url, json).await,
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
            ensure_exists(&db, id).await?;
            let key = issue_partner_key();
            tenants::add_key(&db, id, &key).await?;
            let rotated = Rotated {
                id,
                partner_api_key: key.plaintext.expose_secret().to_owned(),
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
            ensure_exists(&db, id).await?;
            let revoked = tenants::revoke_keys_except_newest(&db, id).await?;
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

async fn create(
    db: &DatabaseConnection,
    settings: &Settings,
    name: String,
    ashby_api_key: Option<String>,
    ashby_base_url: Option<String>,
    json: bool,
) -> anyhow::Result<()> {
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
            active_partner_keys: summary.active_keys,
            created_at: crate::time::rfc3339(summary.tenant.created_at_ms),
        })
        .collect();
    print(json, &listed, |tenants| {
        if tenants.is_empty() {
            return "No tenants yet: create one with `ashby-partner tenant create --name NAME`."
                .into();
        }
        let mut text = String::from("ID                                    KEYS  ASHBY KEY  NAME");
        for t in tenants {
            text.push_str(&format!(
                "\n{}  {:>4}  {:<9}  {}",
                t.id,
                t.active_partner_keys,
                if t.ashby_api_key_set {
                    "set"
                } else {
                    "not set"
                },
                t.name
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

async fn ensure_exists(db: &DatabaseConnection, id: TenantId) -> anyhow::Result<()> {
    if tenants::find(db, id).await?.is_none() {
        bail!("no tenant with id {id}");
    }
    Ok(())
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
