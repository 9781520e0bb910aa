//! `demo --keep-running`: once the checks pass, the demo's server stays up so a newcomer
//! can look around its console, signed in with a token made for the purpose.

use std::time::Duration;

use anyhow::Context as _;
use secrecy::ExposeSecret as _;

use crate::secrets::ServerSecrets;
use crate::settings::Settings;
use crate::store::{self, vendor_tokens};
use crate::tokens::{Scope, TokenKeys};

/// Long enough to look around; the token dies with the demo's database and secrets anyway.
const TOKEN_TTL: Duration = Duration::from_secs(12 * 3600);

/// Mints an admin token as `token create --scope admin` does (recorded, so it shows in
/// the console like any other) and prints the console's sign-in link, whose form it fills.
///
/// # Errors
/// The token cannot be minted or recorded.
pub async fn announce(settings: &Settings, base: &str) -> anyhow::Result<()> {
    let secrets = ServerSecrets::resolve(settings)?;
    let issued =
        TokenKeys::new(&secrets.token_secret)?.issue_scoped_token(TOKEN_TTL, Scope::Admin)?;
    let db = store::connect(&settings.database).await?;
    vendor_tokens::record(&db, &issued, Some("demo console".into()))
        .await
        .context("cannot record the demo's admin token")?;
    let _ = db.close().await;
    let token = issued.token.expose_secret();
    // A link with a token suits only this throwaway demo: links end up in browser history.
    let link = url::Url::parse_with_params(&format!("{base}/console/sign-in"), [("token", token)])
        .context("the console's address")?;
    println!("\nConsole: {link}");
    println!(
        "  Open it and press \"Sign in\": the form holds an admin token for this demo (valid \
         12 h, gone with the demo):\n  {token}"
    );
    println!("The server and the Ashby stand-in keep running; Ctrl-C stops them.");
    Ok(())
}

/// Returns on Ctrl-C (SIGINT) or SIGTERM.
///
/// # Errors
/// The signal handlers cannot be installed.
pub async fn until_stopped() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted,
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
