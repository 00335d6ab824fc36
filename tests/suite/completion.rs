//! Shell completions as a shell uses them: the script `gcore-reportd completions bash` prints is
//! sourced by a real, non-interactive `bash`, which is handed the words of a command line the way
//! readline hands them over (COMP_WORDS, COMP_CWORD, and the function `complete -p` names called
//! with the program, the current and the previous word); the test reads back COMPREPLY. Bash is
//! required: without it these tests fail, saying so. The zsh and fish scripts are checked to
//! generate and to know a subcommand's flags.

use std::process::Command;

use crate::common::{stderr, BIN};

/// The completion script for `shell`, as the real binary prints it.
fn script(shell: &str) -> String {
    let out = Command::new(BIN)
        .args(["completions", shell])
        .output()
        .expect("run gcore-reportd completions");
    assert!(
        out.status.success(),
        "completions {shell} failed: {}",
        stderr(&out)
    );
    String::from_utf8(out.stdout).expect("the script is UTF-8")
}

/// Sources the bash script in `bash` and completes the last of `words` (the first being the
/// program's name): the words bash would offer, in COMPREPLY's order.
fn bash_offers(words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("gcore-reportd.bash");
    std::fs::write(&path, script("bash")).expect("write the bash script");
    // $1: the script; then the command line's words. The function is the one `complete -F`
    // registered for the program, called as readline calls it: program, current word, previous.
    let driver = r#"
        source "$1" || exit 3
        shift
        read -ra spec <<< "$(complete -p gcore-reportd)" || exit 4
        fn=""
        for ((i = 0; i < ${#spec[@]}; i++)); do
            [[ ${spec[i]} == -F ]] && fn=${spec[i + 1]}
        done
        [[ -n $fn ]] || { echo "complete -p gcore-reportd names no function" >&2; exit 5; }
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        COMPREPLY=()
        "$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-c", driver, "bash"])
        .arg(&path)
        .args(words)
        .output()
        .unwrap_or_else(|e| {
            panic!("bash is required for the completion tests (apt-get install bash): {e}")
        });
    assert!(
        out.status.success(),
        "bash failed completing {words:?}: {}",
        stderr(&out)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn assert_offers(words: &[&str], expected: &[&str]) {
    let offered = bash_offers(words);
    let missing: Vec<_> = expected
        .iter()
        .filter(|w| !offered.iter().any(|o| o == *w))
        .collect();
    assert!(
        missing.is_empty(),
        "`{}<TAB>` offers {offered:?}, missing {missing:?}",
        words.join(" ")
    );
}

#[test]
fn bash_completes_the_subcommands_after_the_program_name() {
    assert_offers(
        &["gcore-reportd", ""],
        &["run", "status", "show", "retry", "backfill", "check-config"],
    );
}

#[test]
fn bash_completes_a_subcommands_own_flags_after_it() {
    assert_offers(&["gcore-reportd", "run", "--"], &["--once", "--config"]);
    assert_offers(
        &["gcore-reportd", "status", "--"],
        &["--json", "--report", "--state", "--limit", "--all"],
    );
    assert_offers(
        &["gcore-reportd", "--log-level", "info", "run", "--o"],
        &["--once"],
    );
    let offered = bash_offers(&["gcore-reportd", "status", "--j"]);
    assert_eq!(
        offered,
        ["--json"],
        "`status --j<TAB>` completes to --json alone"
    );
}

#[test]
fn zsh_and_fish_scripts_generate_for_gcore_reportd_with_the_subcommands_flags() {
    let zsh = script("zsh");
    assert!(zsh.starts_with("#compdef gcore-reportd"), "zsh: {zsh:.200}");
    assert!(zsh.contains("--once"), "the zsh script knows run --once");
    let fish = script("fish");
    assert!(
        fish.contains("complete -c gcore-reportd") && fish.contains("-l once"),
        "the fish script completes gcore-reportd's run --once"
    );
}
