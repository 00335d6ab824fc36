//! One `[[reports]]` table checked into a [`ReportConfig`]: `[defaults]` applied key by key,
//! the name, template, file name, attempts, parameters, hooks, catch-up and versions settings.

use super::fields::{
    parse_date, parse_date_to_style, parse_on_empty, parse_refresh, parse_schedule, parse_timezone,
    parse_with,
};
use crate::config::bounds;
use crate::config::raw::RawReport;
use crate::config::report::DEFAULT_HOOK_TIMEOUT;
use crate::config::*;
use crate::naming;

pub(super) fn validate_report(
    i: usize,
    r: &RawReport,
    d: &RawReport,
) -> Result<ReportConfig, ConfigError> {
    let key = |k: &str| format!("reports[{i}].{k}");
    let name = r
        .name
        .clone()
        .ok_or_else(|| ConfigError::invalid(key("name"), "missing: every report needs a name"))?;
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ConfigError::invalid(
            key("name"),
            format!("{name:?} is not allowed: use letters, digits, '_' and '-' only"),
        ));
    }
    let template = pick!(r, d, template)
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            ConfigError::invalid(
                key("template"),
                "missing: the API's template code, e.g. \"ResellerExpenses\"",
            )
        })?;
    let format = parse_with(&key("format"), pick!(r, d, format), ReportFormat::Csv)?;
    let period = parse_with(
        &key("period"),
        pick!(r, d, period),
        PeriodKind::PreviousMonth,
    )?;
    let date_to_style = parse_date_to_style(&key("date_to_style"), pick!(r, d, date_to_style))?;
    let timezone = parse_timezone(&key("timezone"), pick!(r, d, timezone))?;
    let schedule = parse_schedule(&key, r, d)?;
    let catch_up_from = pick!(r, d, catch_up_from)
        .map(|s| parse_date(&key("catch_up_from"), &s))
        .transpose()?;
    let clients = pick!(r, d, clients)
        .map(|c| Clients::parse(&key("clients"), &c))
        .transpose()?;
    let default_name = match clients {
        Some(_) => naming::FAN_OUT_TEMPLATE,
        None => naming::DEFAULT_TEMPLATE,
    };
    let file_name = pick!(r, d, file_name).unwrap_or_else(|| default_name.to_string());
    naming::check_template(&file_name)
        .map_err(|e| ConfigError::invalid(key("file_name"), e.to_string()))?;
    if !file_name.contains("{date_from}") && !file_name.contains("{date_to}") {
        return Err(ConfigError::invalid(
            key("file_name"),
            format!("{file_name:?} names no {{date_from}} or {{date_to}}: each period's file would replace the last"),
        ));
    }
    // Month-to-date periods of one month share their first day: only date_to tells them apart.
    if period == PeriodKind::MonthToDate && !file_name.contains("{date_to}") {
        return Err(ConfigError::invalid(
            key("file_name"),
            format!("{file_name:?} cannot tell this report's periods apart: month-to-date periods of a month share {{date_from}}, so each day's file would replace the last; add {{date_to}}"),
        ));
    }
    let max_attempts = pick!(r, d, max_attempts).unwrap_or(3);
    bounds::count(&key("max_attempts"), max_attempts, bounds::ATTEMPTS)?;
    let mut parameters = d
        .parameters
        .as_ref()
        .map(Parameters::to_map)
        .unwrap_or_default();
    parameters.extend(
        r.parameters
            .as_ref()
            .map(Parameters::to_map)
            .unwrap_or_default(),
    );
    for reserved in ["date_from", "date_to"] {
        if parameters.contains_key(reserved) {
            return Err(ConfigError::invalid(
                key(&format!("parameters.{reserved}")),
                "is set by the daemon from the report's period: remove it",
            ));
        }
    }
    if clients.is_some() {
        crate::config::clients::check_fan_out(&key, &parameters, &file_name)?;
    }
    let on_success = pick!(r, d, on_success).unwrap_or_default();
    let on_failure = pick!(r, d, on_failure).unwrap_or_default();
    for (k, argv) in [("on_success", &on_success), ("on_failure", &on_failure)] {
        if argv
            .first()
            .is_some_and(|program| program.trim().is_empty())
        {
            return Err(ConfigError::invalid(
                key(k),
                "the first element must name a program",
            ));
        }
    }
    let hook_timeout = match pick!(r, d, hook_timeout) {
        None => DEFAULT_HOOK_TIMEOUT,
        Some(s) => humantime::parse_duration(&s).map_err(|e| {
            ConfigError::invalid(
                key("hook_timeout"),
                format!("{s:?} is not a duration ({e}): expected e.g. \"5m\""),
            )
        })?,
    };
    bounds::duration(&key("hook_timeout"), "hook_timeout", hook_timeout)?;
    let max_catch_up_periods = pick!(r, d, max_catch_up_periods).unwrap_or(36);
    bounds::count(
        &key("max_catch_up_periods"),
        max_catch_up_periods,
        (1, 10_000),
    )?;
    let verify = parse_with(&key("verify"), pick!(r, d, verify), Default::default())?;
    let refresh = parse_refresh(&key("refresh"), pick!(r, d, refresh))?;
    let on_empty = parse_on_empty(&key("on_empty"), pick!(r, d, on_empty), &refresh)?;
    let on_restated = pick!(r, d, on_restated).unwrap_or_default();
    if on_restated.first().is_some_and(|p| p.trim().is_empty()) {
        return Err(ConfigError::invalid(
            key("on_restated"),
            "the first element must name a program",
        ));
    }
    Ok(ReportConfig {
        name,
        template,
        format,
        period,
        date_to_style,
        schedule,
        timezone,
        catch_up_from,
        file_name,
        max_attempts,
        resubmit_lost: pick!(r, d, resubmit_lost).unwrap_or(false),
        parameters: Parameters::from(parameters),
        hooks: Hooks {
            on_success: on_success.into(),
            on_failure: on_failure.into(),
            on_restated: on_restated.into(),
            timeout: hook_timeout,
        }
        .boxed(),
        max_catch_up_periods,
        verify,
        on_empty,
        refresh: refresh.into(),
        clients,
        destinations: pick!(r, d, destinations).unwrap_or_default().into(),
    })
}
