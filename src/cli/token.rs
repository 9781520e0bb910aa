//! `token create [--ttl 90d] [--label L] [--scope engine|read|admin]`, `token list`, `token revoke ID`: bearer tokens
//! for the vendor API. Issued tokens are recorded (id, label, dates — never the token),
//! so one can be revoked without rotating `security.token_secret`.

use anyhow::Context as _;
use clap::Subcommand;
use entity::vendor_token;
use secrecy::ExposeSecret as _;
use serde::Serialize;
use uuid::Uuid;

use super::output::print;
use super::{Access, open_database};
use crate::secrets::ServerSecrets;
use crate::settings::{Settings, parse_duration};
use crate::store::vendor_tokens;
use crate::tokens::{Scope, TokenKeys};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint a vendor API token (signed with security.token_secret) and record its id.
    Create {
        /// How long it stays valid: "90m", "12h", "90d"; at most 366d.
        #[arg(long, default_value = "90d")]
        ttl: String,
        /// A name to tell the token apart in `token list` ("engine-eu", ...).
        #[arg(long)]
        label: Option<String>,
        /// engine: the assessment engine (§5); read: every GET; admin: everything.
        #[arg(long, value_enum, default_value_t = Scope::Engine)]
        scope: Scope,
        #[arg(long)]
        json: bool,
    },
    /// List issued tokens (ids, labels, dates; never the tokens themselves).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke one token by its id: the vendor API refuses it from then on.
    Revoke {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct Created {
    id: Uuid,
    token: String,
    expires_at: String,
    scope: Scope,
}

#[derive(Serialize)]
struct Listed {
    id: Uuid,
    label: Option<String>,
    scope: String,
    created_at: String,
    expires_at: String,
    revoked_at: Option<String>,
}

/// Token times to the second: a token's `exp` holds whole seconds.
fn seconds(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

impl From<vendor_token::Model> for Listed {
    fn from(row: vendor_token::Model) -> Self {
        Self {
            id: row.id,
            label: row.label,
            scope: row.scope,
            created_at: seconds(row.created_at_ms),
            expires_at: seconds(row.expires_at_ms),
            revoked_at: row.revoked_at_ms.map(seconds),
        }
    }
}

/// # Errors
/// Bad input (one line naming it) or an unreachable database.
pub async fn run(command: TokenCommand, settings: &Settings) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            ttl,
            label,
            scope,
            json,
        } => create(settings, &ttl, label, scope, json).await,
        TokenCommand::List { json } => list(settings, json).await,
        TokenCommand::Revoke { id, json } => revoke(settings, &id, json).await,
    }
}

async fn create(
    settings: &Settings,
    ttl: &str,
    label: Option<String>,
    scope: Scope,
    json: bool,
) -> anyhow::Result<()> {
    let ttl = parse_duration("--ttl", ttl).map_err(anyhow::Error::msg)?;
    let label = label.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty());
    if let Some(label) = &label
        && (label.len() > 100 || crate::domain::text::hidden_character(label).is_some())
    {
        anyhow::bail!("--label must be at most 100 characters, without control characters");
    }
    let secrets = ServerSecrets::resolve(settings)?;
    let issued = TokenKeys::new(&secrets.token_secret)?.issue_scoped_token(ttl, scope)?;
    // Recorded before it is shown: a token nobody can revoke is never handed out.
    let db = open_database(settings, Access::Write).await?;
    vendor_tokens::record(&db, &issued, label)
        .await
        .context("cannot record the token")?;
    let created = Created {
        id: issued.id,
        token: issued.token.expose_secret().to_owned(),
        expires_at: seconds(issued.expires_at.timestamp_millis()),
        scope,
    };
    print(json, &created, |c| {
        format!(
            "Vendor API token {} ({} scope; send as `Authorization: Bearer <token>`), valid until {}:\n  {}",
            c.id,
            c.scope.as_str(),
            c.expires_at,
            c.token
        )
    })
}

async fn list(settings: &Settings, json: bool) -> anyhow::Result<()> {
    let db = open_database(settings, Access::Read).await?;
    let listed: Vec<Listed> = vendor_tokens::list(&db)
        .await
        .context("cannot read the tokens")?
        .into_iter()
        .map(Listed::from)
        .collect();
    print(json, &listed, |tokens| {
        if tokens.is_empty() {
            return "No recorded tokens: mint one with `ashby-partner token create`.".into();
        }
        let mut text = String::from(
            "ID                                    EXPIRES               REVOKED               LABEL",
        );
        for t in tokens {
            text.push_str(&format!(
                "\n{}  {}  {:<20}  {}",
                t.id,
                t.expires_at,
                t.revoked_at.as_deref().unwrap_or("-"),
                t.label.as_deref().unwrap_or("")
            ));
        }
        text
    })
}

async fn revoke(settings: &Settings, id: &str, json: bool) -> anyhow::Result<()> {
    let id: Uuid = id.trim().parse().map_err(|_| {
        anyhow::anyhow!("token id {id:?} is not a UUID: see `ashby-partner token list`")
    })?;
    let db = open_database(settings, Access::Write).await?;
    let Some(row) = vendor_tokens::revoke(&db, id)
        .await
        .context("cannot revoke the token")?
    else {
        anyhow::bail!("no token with id {id}: see `ashby-partner token list`");
    };
    let revoked = Listed::from(row);
    print(json, &revoked, |t| {
        format!(
            "Revoked token {}: the vendor API refuses it from now on.",
            t.id
        )
    })
}
