use std::process::ExitCode;

use clap::Parser as _;

#[tokio::main]
async fn main() -> ExitCode {
    ashby_partner::telemetry::init();
    let cli = ashby_partner::cli::Cli::parse();
    match cli.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line that says what to fix; the chain, flattened.
            eprintln!("error: {}", ashby_partner::cli::one_line(&error));
            ExitCode::FAILURE
        }
    }
}
