//! The `[api]` and `[cluster]` tables: the API's URL (https, or http on loopback only), the
//! request settings' ranges, and a host's lease, which must outlive a create's deadline.

use std::time::Duration;

use super::super::bounds;
use super::super::raw::RawApi;
use super::super::*;

/// A host's lease must outlive a create's deadline with room for the heartbeat (every quarter
/// of the lease) to be late once: creates are marked only under a lease with
/// `api.request_timeout` to run.
pub(super) fn validate_cluster(
    lease: Duration,
    api: &ApiConfig,
) -> Result<ClusterConfig, ConfigError> {
    bounds::duration("cluster.lease", "cluster.lease", lease)?;
    if lease < api.request_timeout.saturating_mul(2) {
        return Err(ConfigError::invalid(
            "cluster.lease",
            format!(
                "{} is less than twice api.request_timeout ({}): a create must be sent under a lease that outlives its deadline; raise cluster.lease or lower api.request_timeout",
                humantime::format_duration(lease),
                humantime::format_duration(api.request_timeout)
            ),
        ));
    }
    Ok(ClusterConfig { lease })
}

pub(super) fn validate_api(raw: &RawApi, key: ApiKey) -> Result<ApiConfig, ConfigError> {
    let url = reqwest::Url::parse(&raw.base_url).map_err(|e| {
        ConfigError::invalid(
            "api.base_url",
            format!("{:?} is not a URL: {e}", raw.base_url),
        )
    })?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err(ConfigError::invalid(
            "api.base_url",
            "http:// is accepted only for loopback hosts (127.0.0.1, ::1, localhost); use https://",
        )),
        other => {
            return Err(ConfigError::invalid(
                "api.base_url",
                format!("unsupported scheme {other:?}: expected https://"),
            ))
        }
    }
    for (key, value) in [
        ("api.request_timeout", raw.request_timeout),
        ("api.auth_retry_interval", raw.auth_retry_interval),
        ("api.create_settle", raw.create_settle),
        ("api.max_retry_after", raw.max_retry_after),
        ("api.clock_skew", raw.clock_skew),
    ] {
        bounds::duration(key, key, value)?;
    }
    bounds::rate("api.max_requests_per_second", raw.max_requests_per_second)?;
    Ok(ApiConfig {
        base_url: url,
        key,
        request_timeout: raw.request_timeout,
        max_requests_per_second: raw.max_requests_per_second,
        auth_retry_interval: raw.auth_retry_interval,
        create_settle: raw.create_settle,
        max_retry_after: raw.max_retry_after,
        clock_skew: raw.clock_skew,
    })
}

pub(in crate::config) fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
