//! `token create [--ttl 90d]`: a bearer token for the vendor API.

use clap::Subcommand;
use secrecy::ExposeSecret as _;
use serde::Serialize;

use super::output::print;
use crate::secrets::ServerSecrets;
use crate::settings::{Settings, parse_duration};
use crate::tokens::TokenKeys;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint a vendor API token (signed with security.token_secret).
    Create {
        /// How long it stays valid: "90m", "12h", "90d".
        #[arg(long, default_value = "90d")]
        ttl: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct Created {
    token: String,
    expires_at: String,
}

pub fn run(command: TokenCommand, settings: &Settings) -> anyhow::Result<()> {
    let TokenCommand::Create { ttl, json } = command;
    let ttl = parse_duration("--ttl", &ttl).map_err(anyhow::Error::msg)?;
    let secrets = ServerSecrets::resolve(settings)?;
    let issued = TokenKeys::new(&secrets.token_secret)?.issue_vendor_token(ttl)?;
    let created = Created {
        token: issued.token.expose_secret().to_owned(),
        expires_at: issued
            .expires_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    print(json, &created, |c| {
        format!(
            "Vendor API token (send as `Authorization: Bearer <token>`), valid until {}:\n  {}",
            c.expires_at, c.token
        )
    })
}
