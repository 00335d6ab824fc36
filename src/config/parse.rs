//! Parsing the config file's text into [`RawConfig`], with errors that name the line and
//! column (and the key, when the line names one).

use std::path::Path;

use super::raw::RawConfig;
use super::ConfigError;

/// Deserialises the whole config file.
pub fn parse(path: &Path, text: &str) -> Result<RawConfig, ConfigError> {
    toml::from_str(text).map_err(|e| located(path, text, &e))
}

/// A TOML syntax or shape error as one line: `path:line:column: key: message`.
fn located(path: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let offset = err.span().map(|s| s.start).unwrap_or(0).min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    let line_text = text.lines().nth(line - 1).unwrap_or("");
    let key = line_text
        .split_once('=')
        .map(|(k, _)| k.trim())
        .filter(|k| !k.is_empty());
    let message = err.message().replace('\n', " ");
    ConfigError::Syntax {
        path: path.to_path_buf(),
        line,
        column,
        message: match key {
            Some(key) if !message.contains(key) => format!("{key}: {message}"),
            _ => message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "[api]\nbase_url = \"http://127.0.0.1:9\"\n\n";

    #[test]
    fn an_error_in_a_later_report_names_its_line_in_the_whole_file() {
        let text = format!("{HEAD}[[reports]]\nname = \"a\"\n[[reports]]\nname = 7\n");
        let err = parse(Path::new("c.toml"), &text).expect_err("a number as name");
        let ConfigError::Syntax { line, .. } = err else {
            panic!("expected a located error, got {err}");
        };
        assert_eq!(line, 7);
    }
}
