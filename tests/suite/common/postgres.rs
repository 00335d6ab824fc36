//! A private PostgreSQL for the tests: started once per test run with the system's `initdb`
//! and `pg_ctl` (on PATH or in Debian's /usr/lib/postgresql/*/bin) in a temp dir, on a free
//! loopback port with its socket in that dir, as `nobody` when the tests run as root (initdb
//! refuses root). Each test gets a fresh database of its own ([`database`]). The server is
//! stopped and its directory removed when the test process exits (kept, with the server's log,
//! when `REPORTD_TEST_KEEP_POSTGRES` is set). Where the programs are
//! missing, every PostgreSQL test fails saying how to install them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use sqlx::Connection;

/// The running server: its port and directory.
struct Server {
    port: u16,
    dir: PathBuf,
    bin: PathBuf,
    user: Option<(u32, u32)>,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
static NEXT: AtomicU32 = AtomicU32::new(0);

/// A fresh, empty database on the run's server: its URL (user `postgres`, no password).
pub async fn database() -> String {
    let server = match SERVER.get_or_init(start) {
        Ok(server) => server,
        Err(why) => panic!("{why}"),
    };
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port);
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to the test server");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create the test's database");
    conn.close().await.ok();
    format!("postgres://postgres@127.0.0.1:{}/{name}", server.port)
}

/// The directory holding `initdb` and `pg_ctl`, if they are installed.
fn bin_dir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .collect();
    debian.sort();
    on_path
        .chain(debian.into_iter().rev())
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

fn start() -> Result<Server, String> {
    let bin = bin_dir().ok_or_else(|| {
        "the PostgreSQL tests need the server programs initdb and pg_ctl, on PATH or in \
         /usr/lib/postgresql/<version>/bin: install them (Debian/Ubuntu: apt-get install \
         postgresql; Fedora: dnf install postgresql-server; macOS: brew install postgresql)"
            .to_string()
    })?;
    let dir = tempfile::Builder::new()
        .prefix("reportd-pg-")
        .tempdir()
        .map_err(|e| format!("temp dir for PostgreSQL: {e}"))?
        .keep();
    let user = unprivileged(&dir)?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("a free port for PostgreSQL: {e}"))?
        .port();
    let data = dir.join("data");
    let server = Server {
        port,
        dir,
        bin,
        user,
    };
    server.run(
        "initdb",
        &[
            "-D".as_ref(),
            data.as_os_str(),
            "-U".as_ref(),
            "postgres".as_ref(),
            "--auth=trust".as_ref(),
            "--no-sync".as_ref(),
            "-E".as_ref(),
            "UTF8".as_ref(),
            "--locale=C".as_ref(),
        ],
    )?;
    let options = format!(
        "-p {port} -h 127.0.0.1 -k {} -F -c max_connections=300",
        server.dir.display()
    );
    let log = server.dir.join("server.log");
    server.run(
        "pg_ctl",
        &[
            "-D".as_ref(),
            data.as_os_str(),
            "-l".as_ref(),
            log.as_os_str(),
            "-o".as_ref(),
            options.as_ref(),
            "-w".as_ref(),
            "start".as_ref(),
        ],
    )?;
    // SAFETY: registering a plain `extern "C" fn` with the C library's exit handlers.
    unsafe { libc::atexit(stop_at_exit) };
    Ok(server)
}

impl Server {
    /// Runs one of the server's programs (as the unprivileged user when we are root).
    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Result<(), String> {
        let path = self.bin.join(program);
        let mut command = match self.user {
            Some((uid, gid)) => {
                let mut c = Command::new("setpriv");
                c.args([
                    format!("--reuid={uid}"),
                    format!("--regid={gid}"),
                    "--clear-groups".into(),
                ]);
                c.arg(&path);
                c
            }
            None => Command::new(&path),
        };
        let output = command
            .args(args)
            .env("LC_ALL", "C")
            .current_dir(&self.dir)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
        match output.status.success() {
            true => Ok(()),
            false => Err(format!(
                "{} failed: {}{}",
                path.display(),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )),
        }
    }
}

/// As root, the user `nobody` (initdb refuses root), made owner of `dir`; else `None`.
fn unprivileged(dir: &Path) -> Result<Option<(u32, u32)>, String> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let nobody = nix::unistd::User::from_name("nobody")
        .ok()
        .flatten()
        .ok_or("running as root, and there is no user `nobody` to run PostgreSQL as")?;
    nix::unistd::chown(dir, Some(nobody.uid), Some(nobody.gid))
        .map_err(|e| format!("chown {} to nobody: {e}", dir.display()))?;
    Ok(Some((nobody.uid.as_raw(), nobody.gid.as_raw())))
}

/// Stops the run's server (at once: its databases are throwaway) and removes its directory.
extern "C" fn stop_at_exit() {
    if let Some(Ok(server)) = SERVER.get() {
        let data = server.dir.join("data");
        let _ = server.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        );
        // REPORTD_TEST_KEEP_POSTGRES=1 keeps the directory (and `server.log`) to debug a test.
        if std::env::var_os("REPORTD_TEST_KEEP_POSTGRES").is_none() {
            let _ = std::fs::remove_dir_all(&server.dir);
        }
    }
}
