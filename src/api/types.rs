//! The API's request and response bodies as Rust types, following the OpenAPI contract
//! (`tests/fixtures/gcore-billing-reports.openapi.yaml`): unknown fields are ignored, nullable
//! or undocumented-in-practice fields are `Option`, and an unknown task status is kept verbatim.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Body of `POST /billing/org/v1/reports` (`OrgReportTaskRequest`).
#[derive(Debug, Clone, Serialize)]
pub struct CreateReport<'a> {
    pub template_code: &'a str,
    pub parameters: &'a serde_json::Map<String, serde_json::Value>,
}

/// A report generation task (`FileTask`).
#[derive(Debug, Clone, Deserialize)]
pub struct FileTask {
    pub uuid: String,
    pub created_at: jiff::Timestamp,
    #[serde(default)]
    pub updated_at: Option<jiff::Timestamp>,
    #[serde(default)]
    pub user_id: Option<i64>,
    #[serde(default)]
    pub client_id: Option<i64>,
    #[serde(default)]
    pub task_type: Option<String>,
    pub status: TaskStatus,
    #[serde(default)]
    pub parameters: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    pub processing_notes: Option<serde_json::Value>,
}

impl FileTask {
    /// A one-line reason for a Failed or Cancelled task, from `processing_notes.errors`.
    pub fn failure_reason(&self) -> String {
        let errors = self
            .processing_notes
            .as_ref()
            .and_then(|n| n.get("errors"))
            .and_then(|e| e.as_array())
            .filter(|e| !e.is_empty());
        match errors {
            Some(errors) => errors
                .iter()
                .map(|e| match e.get("message").and_then(|m| m.as_str()) {
                    Some(m) => m.to_string(),
                    None => e.to_string(),
                })
                .collect::<Vec<_>>()
                .join("; "),
            None => format!("the API reports the task as {}", self.status),
        }
    }
}

/// A task's status. `Other` keeps a value outside the documented enum, verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskStatus {
    Pending,
    InProgress,
    Completed,
    Failed,
    Cancelled,
    Other(String),
}

impl TaskStatus {
    pub fn as_str(&self) -> &str {
        match self {
            TaskStatus::Pending => "Pending",
            TaskStatus::InProgress => "InProgress",
            TaskStatus::Completed => "Completed",
            TaskStatus::Failed => "Failed",
            TaskStatus::Cancelled => "Cancelled",
            TaskStatus::Other(s) => s,
        }
    }

    pub fn parse(s: &str) -> TaskStatus {
        match s {
            "Pending" => TaskStatus::Pending,
            "InProgress" => TaskStatus::InProgress,
            "Completed" => TaskStatus::Completed,
            "Failed" => TaskStatus::Failed,
            "Cancelled" => TaskStatus::Cancelled,
            other => TaskStatus::Other(other.to_string()),
        }
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TaskStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(TaskStatus::parse(&s))
    }
}

/// A page of a list operation (`PaginatedFileTaskList`, `PaginatedTemplateList`).
#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    pub count: u64,
    #[serde(default)]
    pub next: Option<String>,
    #[serde(default)]
    pub previous: Option<String>,
    pub results: Vec<T>,
}

/// A report template (`Template`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Template {
    pub id: i64,
    pub code: String,
    #[serde(default)]
    pub name_en: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parameters: Option<TemplateParameters>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct TemplateParameters {
    #[serde(default)]
    pub parameters: Vec<TemplateParameter>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TemplateParameter {
    pub name: String,
    #[serde(default)]
    pub required: Option<bool>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, rename = "enum")]
    pub choices: Option<Vec<String>>,
}

/// Filters for the list operation; `None` leaves a filter out of the query.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub created_after: Option<jiff::Timestamp>,
    pub created_before: Option<jiff::Timestamp>,
    pub template: Option<String>,
    pub ordering: Option<&'static str>,
    pub limit: u32,
    pub offset: u64,
}
