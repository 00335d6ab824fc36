//! The report file formats the API can render (`csv`, `json`, `xlsx`): their names, media types
//! and file extensions. Shared by the config (what an operator asks for) and the API client
//! (what it requests and checks on download).

use std::fmt;
use std::str::FromStr;

/// A report file format, as named by the download operation's `format` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    Csv,
    Json,
    Xlsx,
}

impl ReportFormat {
    pub const ALL: [ReportFormat; 3] = [ReportFormat::Csv, ReportFormat::Json, ReportFormat::Xlsx];

    /// The value of the `format` query parameter and the file extension.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Csv => "csv",
            ReportFormat::Json => "json",
            ReportFormat::Xlsx => "xlsx",
        }
    }

    /// The media type sent in `Accept` and expected in the answer's `Content-Type`.
    pub fn media_type(self) -> &'static str {
        match self {
            ReportFormat::Csv => "text/csv",
            ReportFormat::Json => "application/json",
            ReportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }
}

impl fmt::Display for ReportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a format name that is not one of `csv`, `json`, `xlsx`.
#[derive(Debug, thiserror::Error)]
#[error("unknown format {0:?}: expected one of csv, json, xlsx")]
pub struct UnknownFormat(pub String);

impl FromStr for ReportFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReportFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| UnknownFormat(s.to_string()))
    }
}
