use std::process::ExitCode;

use clap::Parser as _;
use clap::error::ErrorKind;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match ashby_partner::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) =>
        {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!(
                "{}",
                ashby_partner::cli::usage_error_line(&error.render().to_string())
            );
            return ExitCode::from(2);
        }
    };
    match cli.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line that says what to fix; the chain, flattened.
            eprintln!("error: {}", ashby_partner::cli::one_line(&error));
            ExitCode::FAILURE
        }
    }
}
