//! `gcore-reportd`: parse the command line, set up logging, hand over to the command, and turn
//! its outcome into the exit code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = gcore_reportd::cli::Cli::parse();
    gcore_reportd::logging::init(
        cli.log_format,
        cli.log_level.as_deref(),
        cli.shows_progress(),
    );
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

/// glibc gives each thread that allocates its own arena; for a long-running daemon whose
/// threads pass buffers around (SQLite's connections work on threads of their own, downloads
/// are verified on the blocking pool), one arena keeps the resident size down: memory one thread
/// freed (the config's parsing, at start) is reused by the others instead of each growing its
/// own. Kept for the RSS target (<= 40 MB at 10,000 reports; scale benchmark, 2026-12-01, same
/// code, same machine): two arenas 42.0-42.7 MB, one 38.6-39.3 MB, no CPU difference measured
/// (glibc's default, one per thread, was 51.5 MB on earlier code).
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
