//! Shell completions and the man pages, generated from the clap definitions so they never drift
//! from the real command line: one page for the program and, with `man --dir`, one per
//! subcommand (the pages the main one refers to, e.g. gcore-reportd-status(1)).
//!
//! Bash is generated under a name without a hyphen: clap_complete spells the states of a
//! hyphenated program's subcommands two ways (`gcore__reportd__subcmd__run` in the loop that
//! walks the words, `gcore__subcmd__reportd__subcmd__run` in the arms that offer the words), so
//! nothing after a subcommand would complete (clap-rs/clap#6421). Only the final `complete`
//! lines name the real program; they are rewritten to `gcore-reportd`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;

const BIN: &str = "gcore-reportd";
/// The name bash's script is generated under: no hyphen, so the states agree.
const BASH_NAME: &str = "gcore_reportd";

pub fn completions(shell: Shell) -> anyhow::Result<ExitCode> {
    let script = completion_script(shell)?;
    std::io::Write::write_all(&mut std::io::stdout(), script.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// The completion script for `shell`, naming the program `gcore-reportd`.
fn completion_script(shell: Shell) -> anyhow::Result<String> {
    let mut command = Cli::command();
    let name = if shell == Shell::Bash { BASH_NAME } else { BIN };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut out);
    let script =
        String::from_utf8(out).context("clap_complete wrote a script that is not UTF-8")?;
    if shell == Shell::Bash {
        return bash_for_real_name(&script);
    }
    Ok(script)
}

/// Points the `complete -F _gcore_reportd … gcore_reportd` lines at `gcore-reportd`; an error
/// if clap_complete's script no longer has them (the script would complete nothing).
fn bash_for_real_name(script: &str) -> anyhow::Result<String> {
    let suffix = format!(" {BASH_NAME}");
    let mut rewritten = 0;
    let mut out = String::with_capacity(script.len());
    for line in script.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        match body.strip_suffix(&suffix) {
            Some(head) if body.trim_start().starts_with("complete -F ") => {
                out.push_str(head);
                out.push(' ');
                out.push_str(BIN);
                out.push_str(&line[body.len()..]);
                rewritten += 1;
            }
            _ => out.push_str(line),
        }
    }
    anyhow::ensure!(
        rewritten > 0,
        "clap_complete's bash script has no `complete -F … {BASH_NAME}` line to point at {BIN}"
    );
    Ok(out)
}

/// The main page on stdout, or every page written into `dir`.
pub fn man(dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    match dir {
        None => clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?,
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(Cli::command(), dir)
                .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
