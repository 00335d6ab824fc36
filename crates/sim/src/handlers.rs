//! The single-task operations: create (`POST /billing/org/v1/reports`), retrieve and delete
//! (`/billing/org/v1/reports/{id}`) and download (`…/{uuid}/download`), whose file is streamed
//! from [`super::content`] with its Content-Length declared up front (at a slow server's pace
//! when [`crate::SimOptions::pace`] says so). The download format comes from `?format=`, else
//! the Accept header, else JSON.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{json, Value};

use super::broken;
use super::content::{self, Format};
use super::content_control::Served;
use super::malformed::malformed_variant;
use super::query::Query;
use super::reply;
use super::state::Shared;
use super::task::{Status, TaskRecord};
use super::validate;

/// `POST /billing/org/v1/reports`.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let new = match validate::parse_create(&headers, &body) {
        Ok(new) => new,
        Err(response) => return response,
    };
    let faults = shared.faults();
    let late = faults
        .late_create
        .filter(|_| shared.roll(faults.late_create_rate));
    if let Some(after) = late {
        let (shared, code) = (shared.clone(), new.template.code.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            shared.create(&code, new.params);
        });
        tokio::time::sleep(faults.hold_create).await;
        return broken::server_error(StatusCode::GATEWAY_TIMEOUT);
    }
    let created = shared.create(new.template.code, new.params);
    if created.fail_after {
        return broken::server_error(StatusCode::INTERNAL_SERVER_ERROR);
    }
    reply::json(StatusCode::CREATED, created.task)
}

/// `GET /billing/org/v1/reports/{id}`.
pub(crate) async fn retrieve(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Response {
    let rows = shared.options.report_rows;
    let shown = shared.with_tasks(|inner| {
        let at = inner.position(&id)?;
        let task = inner.tasks[at].clone();
        if task.created.elapsed() < inner.faults.not_found_for {
            return None;
        }
        Some(inner.show(&task, rows))
    });
    match shown {
        Some(task) if is_uuid(&id) => reply::json(StatusCode::OK, task),
        _ => reply::not_found(),
    }
}

/// `DELETE /billing/org/v1/reports/{id}`.
pub(crate) async fn delete(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let removed = is_uuid(&id)
        && shared.with_tasks(|inner| {
            inner
                .position(&id)
                .map(|at| inner.tasks.remove(at))
                .is_some()
        });
    if removed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        reply::not_found()
    }
}

/// `GET /billing/org/v1/reports/{uuid}/download`.
pub(crate) async fn download(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let format = match negotiate(&Query::parse(&uri), &headers) {
        Ok(format) => format,
        Err(response) => return response,
    };
    let found = shared.with_tasks(|inner| {
        let at = inner.position(&id)?;
        let task = &mut inner.tasks[at];
        if task.status == Status::Completed {
            task.downloads = task.downloads.saturating_add(1);
        }
        let served = inner.content.serve(task.bad_file, task.downloads);
        Some((task.clone(), served))
    });
    let (task, served) = match found {
        Some(found) if is_uuid(&id) => found,
        _ => return reply::not_found(),
    };
    if task.status != Status::Completed {
        let error = format!("Report is not ready: status {}", task.status.as_str());
        return reply::json(StatusCode::BAD_REQUEST, json!({ "error": error }));
    }
    let params = Value::Object(task.params.clone());
    let (rows, revision, ext) = (task.rows, task.revision, format.extension());
    if let Served::Malformed(variant) = served {
        let body = malformed_variant(&task.template, &params, ext, rows, revision, variant);
        let len = body.len() as u64;
        return (StatusCode::OK, file_headers(&task, format, len), body).into_response();
    }
    let len = content::len_at(&task.template, &params, ext, rows, revision);
    let mut stream = content::stream_at(&task.template, &params, ext, rows, revision);
    if let Some(pace) = shared.options.pace {
        stream = super::pace::paced(stream, pace);
    }
    let truncate = len > 1 && shared.roll_current(|faults| faults.truncate_downloads_rate);
    let body = if truncate {
        let keep = len / 10 + shared.draw(len * 8 / 10 + 1);
        Body::from_stream(broken::truncate(stream, keep))
    } else {
        Body::from_stream(stream)
    };
    (StatusCode::OK, file_headers(&task, format, len), body).into_response()
}

/// Content-Type, Content-Length and a Content-Disposition naming the file.
fn file_headers(task: &TaskRecord, format: Format, len: u64) -> [(HeaderName, HeaderValue); 3] {
    let name = format!(
        "attachment; filename=\"{}_{}.{}\"",
        task.template,
        task.uuid,
        format.extension()
    );
    let disposition =
        HeaderValue::from_str(&name).unwrap_or(HeaderValue::from_static("attachment"));
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.media_type()),
        ),
        (header::CONTENT_LENGTH, HeaderValue::from(len)),
        (header::CONTENT_DISPOSITION, disposition),
    ]
}

/// The download format: `?format=` wins (an unknown value is a 404, as in DRF), then the
/// first acceptable media type of the Accept header by quality, then JSON.
fn negotiate(query: &Query, headers: &HeaderMap) -> Result<Format, Response> {
    if let Some(name) = query.get("format") {
        return Format::parse(name).ok_or_else(reply::not_found);
    }
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(Format::Json);
    };
    let mut offers: Vec<(f32, &str)> = accept
        .split(',')
        .map(|item| {
            let mut parts = item.split(';');
            let media = parts.next().unwrap_or("").trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            (q, media)
        })
        .filter(|(q, _)| *q > 0.0)
        .collect();
    offers.sort_by(|a, b| b.0.total_cmp(&a.0));
    offers
        .iter()
        .find_map(|(_, media)| media_format(media))
        .ok_or_else(|| {
            reply::detail(
                StatusCode::NOT_ACCEPTABLE,
                "Could not satisfy the request Accept header.",
            )
        })
}

fn media_format(media: &str) -> Option<Format> {
    match media.to_ascii_lowercase().as_str() {
        "application/json" | "application/*" | "*/*" => Some(Format::Json),
        "text/csv" | "text/*" => Some(Format::Csv),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => Some(Format::Xlsx),
        _ => None,
    }
}

fn is_uuid(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok()
}
