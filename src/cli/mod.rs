//! The command line (CONTRACT §3). Data goes to stdout; logs to stderr.

mod ashby_webhooks;
mod deliveries;
mod output;
mod serve;
mod tenant;
mod token;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::settings::{Settings, Sources};

#[cfg(test)]
mod tests {
    #[test]
    fn usage_errors_render_on_one_line() {
        let rendered = "error: invalid value 'bogus' for '--status <STATUS>'\n  [possible values: pending, delivered, dead]\n\nFor more information, try '--help'.\n";
        assert_eq!(
            super::usage_error_line(rendered),
            "error: invalid value 'bogus' for '--status <STATUS>' [possible values: pending, delivered, dead]"
        );
        let with_usage = "error: unexpected argument '--x' found\n\nUsage: ashby-partner serve\n\nFor more information, try '--help'.\n";
        assert_eq!(
            super::usage_error_line(with_usage),
            "error: unexpected argument '--x' found"
        );
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "ashby-partner",
    version,
    about = "Plugs an assessment vendor into Ashby"
)]
pub struct Cli {
    /// A TOML file layered over config/ and under ASHBY_PARTNER__* variables.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server and the delivery workers until SIGINT/SIGTERM.
    Serve,
    /// Apply pending database migrations and exit (--status: only list them).
    Migrate {
        /// List applied, pending and unknown (newer) migrations; change nothing.
        #[arg(long)]
        status: bool,
        #[arg(long)]
        json: bool,
    },
    /// Manage tenants (customer organisations using Ashby) and their keys.
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Mint, list and revoke vendor API tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Inspect and replay deliveries to Ashby.
    #[command(subcommand)]
    Deliveries(deliveries::DeliveriesCommand),
    /// Run the whole flow locally against an Ashby stand-in (no configuration, no network).
    Demo {
        /// After the checks pass, keep the server and the stand-in running and print the
        /// console's address with a ready sign-in; stop with Ctrl-C or SIGTERM.
        #[arg(long)]
        keep_running: bool,
    },
}

impl Cli {
    /// # Errors
    /// Whatever the command reports, as one line for the operator.
    pub async fn run(self) -> anyhow::Result<()> {
        let settings = Settings::load(&Sources {
            config_file: self.config.clone(),
            ..Sources::default()
        })?;
        // The demo tells its own story on stdout; the server's request lines would drown it.
        let default_filter = match self.command {
            Command::Demo { .. } => "warn",
            _ => crate::telemetry::DEFAULT_FILTER,
        };
        // Trace export is part of the subscriber from the start (see `telemetry::init`).
        let export = match self.command {
            Command::Serve => crate::telemetry::TraceExport::start(&settings.telemetry)?,
            _ => None,
        };
        crate::telemetry::init(default_filter, export.as_ref());
        match self.command {
            Command::Serve => serve::serve(settings, export).await,
            Command::Migrate { status, json } => serve::migrate(settings, status, json).await,
            Command::Tenant(command) => tenant::run(command, settings).await,
            Command::Token(command) => token::run(command, &settings).await,
            Command::Deliveries(command) => deliveries::run(command, &settings).await,
            Command::Demo { keep_running } => crate::demo::run(settings, keep_running).await,
        }
    }
}

// Shared with `Application::build` (the demo, the bench): the same checks as `serve`.
use crate::preflight::{Access, check_encryption_key, open_database};

/// clap's usage error as one line (CONTRACT §3): the message and its hints, without
/// the usage block and the pointer to `--help`.
pub fn usage_error_line(rendered: &str) -> String {
    let kept: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:"))
        .filter(|line| !line.is_empty() && !line.starts_with("For more information"))
        .collect();
    kept.join(" ")
}

/// Flattens an error and its causes into one line.
pub fn one_line(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}
