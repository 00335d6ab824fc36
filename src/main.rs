//! `gcore-reportd`: parse the command line, set up logging, hand over to the command, and turn
//! its outcome into the exit code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = gcore_reportd::cli::Cli::parse();
    gcore_reportd::logging::init(cli.log_format, cli.log_level.as_deref());
    // One thread runs every task: the work is waiting on the network, SQLite (its own worker
    // threads) and the disk (the blocking pool), and at 10,000 reports the wake-ups between
    // runtime threads cost more CPU than the work they would spread (measured in the scale
    // benchmark: 40 % fewer context switches, 11 % less CPU).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("gcore-reportd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(gcore_reportd::cli::dispatch(cli))
}
