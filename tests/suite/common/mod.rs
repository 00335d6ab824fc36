//! Test harness shared by the integration tests: a simulated Gcore API on 127.0.0.1, a
//! temporary directory with a config file, database and output directory, and the real
//! `gcore-reportd` binary run against them. Each concern has its file: spawned
//! children (`spawned`), the tests' clock (`clock`), waiting on conditions (`waiting`), what the
//! binary and the simulator produced (`outputs`), the exactly-once assertions (`assertions`);
//! all are re-exported here.
#![allow(dead_code)]

mod assertions;
mod clock;
pub mod kill_proxy;
pub mod moto;
pub mod moves;
pub mod notify;
pub mod openapi;
mod outputs;
pub mod postgres;
mod spawned;
mod waiting;

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use gcore_reportd_sim::{self as sim, SimHandle, SimOptions};

pub use assertions::*;
pub use clock::*;
pub use outputs::*;
pub use spawned::*;
pub use waiting::*;

pub const BIN: &str = env!("CARGO_BIN_EXE_gcore-reportd");

/// A simulator plus a scratch directory holding `config.toml`, `state.db` and `reports/`.
pub struct Harness {
    pub dir: tempfile::TempDir,
    pub sim: SimHandle,
    pub key: String,
}

/// Two monthly reports in two formats, one with a parameter.
pub const TWO_REPORTS: &str = r#"
[[reports]]
name = "expenses"
template = "ResellerExpenses"
format = "csv"

[[reports]]
name = "plans-42"
template = "ResellerPlans"
format = "json"
parameters = { client_id = 42 }
"#;

/// Fast polling so tests finish in seconds.
pub const FAST_POLLING: &str = r#"
[polling]
initial_interval = "50ms"
max_interval = "300ms"
multiplier = 1.5
"#;

impl Harness {
    /// Starts a simulator with quick task lifecycles and writes a config with `reports`.
    pub async fn start(reports: &str) -> Harness {
        Self::with_options(
            SimOptions {
                pending_for: Duration::from_millis(100),
                running_for: Duration::from_millis(150),
                ..SimOptions::default()
            },
            reports,
        )
        .await
    }

    pub async fn with_options(options: SimOptions, reports: &str) -> Harness {
        let options = SimOptions {
            clock_offset_ms: clock_offset_ms(),
            ..options
        };
        let key = options.api_key.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let sim = sim::start(listener, options)
            .await
            .expect("start simulator");
        let harness = Harness {
            dir: tempfile::tempdir().expect("temp dir"),
            sim,
            key,
        };
        harness.write_config(&format!("{FAST_POLLING}\n{reports}"));
        harness
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn config_path(&self) -> PathBuf {
        self.path("config.toml")
    }

    pub fn output_dir(&self) -> PathBuf {
        self.path("reports")
    }

    /// Writes config.toml: the simulator's URL, the harness paths, then `body`.
    pub fn write_config(&self, body: &str) {
        let database = self.path("state.db").display().to_string();
        self.write_config_on(&database, body);
    }

    /// [`Harness::write_config`] with `storage.database = database` (e.g. a PostgreSQL URL).
    pub fn write_config_on(&self, database: &str, body: &str) {
        let text = format!(
            "[api]\nbase_url = \"{}\"\napi_key_file = \"{}\"\nrequest_timeout = \"5s\"\nmax_requests_per_second = 500\ncreate_settle = \"1s\"\n\n[storage]\ndatabase = \"{}\"\noutput_dir = \"{}\"\n{body}\n",
            self.sim.base_url(),
            self.path("api-key").display(),
            database,
            self.output_dir().display(),
        );
        std::fs::write(self.path("api-key"), format!("{}\n", self.key)).expect("write key");
        std::fs::write(self.config_path(), text).expect("write config");
    }

    /// The binary with `--config` set and a clean environment for its variables.
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.arg("--config").arg(self.config_path()).args(args);
        cmd.env_remove("GCORE_API_KEY")
            .env_remove("CREDENTIALS_DIRECTORY")
            .env_remove("RUST_LOG")
            .kill_on_drop(true);
        if clock_offset_ms() != 0 {
            cmd.env(gcore_reportd::clock::NOW_VARIABLE, now().to_string());
        }
        cmd
    }

    /// Runs the binary to completion (at most two minutes).
    pub async fn run(&self, args: &[&str]) -> Output {
        let child = self.command(args).output();
        tokio::time::timeout(Duration::from_secs(120), child)
            .await
            .expect("gcore-reportd did not finish within 120 s")
            .expect("spawn gcore-reportd")
    }

    /// `status --json` rows, or `None` while the database is not there or not ready yet.
    pub async fn try_status(&self) -> Option<Vec<serde_json::Value>> {
        let out = self.run(&["status", "--json"]).await;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// `status --json`, parsed.
    pub async fn status(&self) -> Vec<serde_json::Value> {
        let out = self.run(&["status", "--json"]).await;
        assert!(
            out.status.success(),
            "status failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("status --json line is JSON"))
            .collect()
    }

    /// Files in the output directory, names sorted.
    pub fn output_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.output_dir())
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }
}

impl Harness {
    /// The engine in this process, on the harness's config file as it is now, reading "now"
    /// from `clock` (a manual one: the test moves time); a second call is a restart.
    pub async fn engine_on(
        &self,
        clock: &gcore_reportd::clock::Clock,
    ) -> gcore_reportd::engine::Engine {
        let config =
            gcore_reportd::config::load(&self.config_path(), &Default::default()).expect("config");
        gcore_reportd::engine::open_engine(config, clock.clone())
            .await
            .expect("engine")
    }
}

/// The simulator options [`Harness::start`] uses: tasks complete within a quarter second.
pub fn quick_sim() -> SimOptions {
    SimOptions {
        pending_for: Duration::from_millis(100),
        running_for: Duration::from_millis(150),
        ..SimOptions::default()
    }
}
