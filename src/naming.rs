//! Report file names: the `file_name` template (`{name}_{date_from}_{date_to}.{format}` by
//! default, `{name}_{client_id}_{date_from}_{date_to}.{format}` for a report per client), how it is filled in, and the rules that keep every name a plain file inside the
//! output directory whatever a config or the remote API says.

use std::fmt;

/// The file name used when a report does not set `file_name`.
pub const DEFAULT_TEMPLATE: &str = "{name}_{date_from}_{date_to}.{format}";

/// The file name used when a report with `clients` does not set `file_name`.
pub const FAN_OUT_TEMPLATE: &str = "{name}_{client_id}_{date_from}_{date_to}.{format}";

const PLACEHOLDERS: [&str; 6] = [
    "name",
    "template",
    "client_id",
    "date_from",
    "date_to",
    "format",
];

/// The values a template's placeholders are replaced with.
pub struct NameParts<'a> {
    pub name: &'a str,
    pub template: &'a str,
    /// The task's `parameters.client_id` (empty when it has none).
    pub client_id: &'a str,
    pub date_from: &'a str,
    pub date_to: &'a str,
    pub format: &'a str,
}

/// Why a `file_name` template was refused.
#[derive(Debug, PartialEq, Eq)]
pub struct BadTemplate(String);

impl fmt::Display for BadTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadTemplate {}

/// Checks a template: known placeholders only, and no way out of the output directory.
pub fn check_template(template: &str) -> Result<(), BadTemplate> {
    if template.contains('/') || template.contains('\\') || template.contains('\0') {
        return Err(BadTemplate(format!(
            "{template:?} must be a plain file name: no '/', '\\' or NUL"
        )));
    }
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| BadTemplate(format!("{template:?} has a '{{' without its '}}'")))?;
        let key = &rest[open + 1..open + close];
        if !PLACEHOLDERS.contains(&key) {
            return Err(BadTemplate(format!(
                "unknown placeholder {{{key}}}: expected one of {{name}}, {{template}}, {{client_id}}, {{date_from}}, {{date_to}}, {{format}}"
            )));
        }
        rest = &rest[open + close + 1..];
    }
    let sample = render(template, &sample_parts());
    if template.starts_with('.') || sample.is_empty() {
        return Err(BadTemplate(format!(
            "{template:?} would make a hidden or empty file name"
        )));
    }
    Ok(())
}

fn sample_parts() -> NameParts<'static> {
    NameParts {
        name: "report",
        template: "Template",
        client_id: "101",
        date_from: "2025-01-01",
        date_to: "2025-02-01",
        format: "csv",
    }
}

/// Fills in a (checked) template. Every value is sanitised, so the result is a plain name.
pub fn render(template: &str, parts: &NameParts<'_>) -> String {
    let mut out = template.to_string();
    for (key, value) in [
        ("{name}", parts.name),
        ("{template}", parts.template),
        ("{client_id}", parts.client_id),
        ("{date_from}", parts.date_from),
        ("{date_to}", parts.date_to),
        ("{format}", parts.format),
    ] {
        out = out.replace(key, &sanitise(value));
    }
    let out = sanitise(&out);
    out.trim_start_matches('.').to_string()
}

/// Keeps `[A-Za-z0-9._-]`, replaces everything else with `_`, and never yields `..`.
pub fn sanitise(value: &str) -> String {
    let cleaned: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    cleaned.replace("..", "__")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_template_gives_name_dates_and_extension() {
        let name = render(DEFAULT_TEMPLATE, &sample_parts());
        assert_eq!(name, "report_2025-01-01_2025-02-01.csv");
        let name = render(FAN_OUT_TEMPLATE, &sample_parts());
        assert_eq!(name, "report_101_2025-01-01_2025-02-01.csv");
    }

    #[test]
    fn templates_that_would_leave_the_output_directory_are_refused() {
        for bad in [
            "../{name}.csv",
            "/etc/{name}",
            "a\\b",
            "{name}/x",
            ".{name}",
            "{nope}.csv",
            "{name",
        ] {
            assert!(check_template(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn remote_or_configured_values_cannot_smuggle_a_path_in() {
        let parts = NameParts {
            template: "../../etc/passwd",
            ..sample_parts()
        };
        let name = render("{template}.{format}", &parts);
        assert!(!name.contains('/') && !name.contains(".."), "{name}");
    }
}
