//! `check-config`'s view of the effective configuration: every setting after `[defaults]`,
//! built-in defaults and environment overrides, written back as TOML-like text an operator can
//! compare with the file. The API key is shown only as `[redacted]`.

use std::fmt::Write;

use crate::config::{Config, ReportConfig};
use crate::period::DateToStyle;

fn dur(d: std::time::Duration) -> String {
    format!("\"{}\"", humantime::format_duration(d))
}

fn text(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

fn argv(words: &[String]) -> String {
    serde_json::Value::from(words.to_vec()).to_string()
}

/// The whole effective configuration.
pub fn render(config: &Config) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "[api]\nbase_url = {}",
        text(config.api.base_url.as_str())
    );
    let _ = writeln!(out, "api_key = \"{}\"", config.api.key);
    let _ = writeln!(out, "request_timeout = {}", dur(config.api.request_timeout));
    let _ = writeln!(
        out,
        "max_requests_per_second = {}",
        config.api.max_requests_per_second
    );
    let _ = writeln!(
        out,
        "auth_retry_interval = {}\ncreate_settle = {}",
        dur(config.api.auth_retry_interval),
        dur(config.api.create_settle)
    );
    let _ = writeln!(out, "max_retry_after = {}", dur(config.api.max_retry_after));
    let storage = &config.storage;
    let _ = writeln!(
        out,
        "\n[storage]\ndatabase = {}",
        text(&storage.database.to_string_lossy())
    );
    let _ = writeln!(
        out,
        "output_dir = {}\nbusy_timeout = {}",
        text(&storage.output_dir.to_string_lossy()),
        dur(storage.busy_timeout)
    );
    let p = &config.polling;
    let _ = writeln!(
        out,
        "\n[polling]\ninitial_interval = {}",
        dur(p.initial_interval)
    );
    let _ = writeln!(
        out,
        "max_interval = {}\nmultiplier = {}",
        dur(p.max_interval),
        p.multiplier
    );
    let _ = writeln!(out, "deadline = {}", dur(p.deadline));
    let _ = writeln!(
        out,
        "\n[downloads]\nmax_concurrent = {}",
        config.downloads.max_concurrent
    );
    let _ = writeln!(out, "max_bytes = {}", config.downloads.max_bytes);
    let _ = writeln!(
        out,
        "\n[daemon]\nshutdown_timeout = {}",
        dur(config.daemon.shutdown_timeout)
    );
    if let Some(listen) = config.metrics_listen {
        let _ = writeln!(out, "\n[metrics]\nlisten = \"{listen}\"");
    }
    for report in &config.reports {
        render_report(&mut out, report);
    }
    out
}

fn render_report(out: &mut String, r: &ReportConfig) {
    let _ = writeln!(
        out,
        "\n[[reports]]\nname = {}\ntemplate = {}",
        text(&r.name),
        text(&r.template)
    );
    let _ = writeln!(out, "format = \"{}\"\nperiod = \"{}\"", r.format, r.period);
    let style = match r.date_to_style {
        DateToStyle::Exclusive => "exclusive",
        DateToStyle::Inclusive => "inclusive",
    };
    let _ = writeln!(
        out,
        "date_to_style = \"{style}\"\nschedule = {}",
        text(&r.schedule.to_string())
    );
    let _ = writeln!(
        out,
        "timezone = {}",
        text(r.timezone.iana_name().unwrap_or("UTC"))
    );
    if let Some(date) = r.catch_up_from {
        let _ = writeln!(out, "catch_up_from = \"{date}\"");
    }
    let _ = writeln!(out, "file_name = {}", text(&r.file_name));
    let _ = writeln!(
        out,
        "max_attempts = {}\nresubmit_lost = {}",
        r.max_attempts, r.resubmit_lost
    );
    let _ = writeln!(
        out,
        "parameters = {}",
        serde_json::Value::Object(r.parameters.clone())
    );
    if !r.on_success.is_empty() {
        let _ = writeln!(out, "on_success = {}", argv(&r.on_success));
    }
    if !r.on_failure.is_empty() {
        let _ = writeln!(out, "on_failure = {}", argv(&r.on_failure));
    }
    let _ = writeln!(out, "hook_timeout = {}", dur(r.hook_timeout));
    let _ = writeln!(out, "max_catch_up_periods = {}", r.max_catch_up_periods);
    let _ = writeln!(
        out,
        "verify = \"{}\"\non_empty = \"{}\"",
        r.verify,
        r.on_empty.as_str()
    );
    if !r.refresh.is_empty() {
        let offsets: Vec<String> = r.refresh.iter().map(|d| dur(*d)).collect();
        let _ = writeln!(out, "refresh = [{}]", offsets.join(", "));
    }
    if !r.on_restated.is_empty() {
        let _ = writeln!(out, "on_restated = {}", argv(&r.on_restated));
    }
}
