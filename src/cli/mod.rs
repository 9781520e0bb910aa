//! The command line (CONTRACT §3). Data goes to stdout; logs to stderr.

mod output;
mod serve;
mod tenant;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::settings::{Settings, Sources};

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
    /// Run the HTTP server (and, later, the delivery workers) until SIGINT/SIGTERM.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage tenants (customer organisations using Ashby) and their keys.
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
}

impl Cli {
    /// # Errors
    /// Whatever the command reports, as one line for the operator.
    pub async fn run(self) -> anyhow::Result<()> {
        let settings = Settings::load(&Sources {
            config_file: self.config.clone(),
            ..Sources::default()
        })?;
        match self.command {
            Command::Serve => serve::serve(settings).await,
            Command::Migrate => serve::migrate(settings).await,
            Command::Tenant(command) => tenant::run(command, settings).await,
        }
    }
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
