//! Reports broken on purpose, whole (their length is their Content-Length): a CSV with one
//! record a field too wide, a JSON row one value short, or an XLSX that is no workbook. A
//! `variant` other than 0 breaks the report differently (another record, another stray field),
//! as a transfer that corrupts the bytes would: two downloads with different variants differ,
//! two with the same variant are byte for byte the same bad file.

use serde_json::Value;

use super::content::{layout, report_body_at, Format};

/// The report of `template` and `parameters` broken the usual way (variant 0).
pub fn malformed_body(
    template: &str,
    parameters: &Value,
    format: &str,
    rows: usize,
    revision: u32,
) -> Vec<u8> {
    malformed_variant(template, parameters, format, rows, revision, 0)
}

/// The report broken in its `variant`-th way (0 is [`malformed_body`]'s).
pub fn malformed_variant(
    template: &str,
    parameters: &Value,
    format: &str,
    rows: usize,
    revision: u32,
    variant: u32,
) -> Vec<u8> {
    let rows = rows.max(1);
    let layout = layout(template, parameters, format, rows, revision);
    let broken = (rows / 2 + variant as usize) % rows;
    match layout.format {
        Format::Xlsx if variant == 0 => {
            b"PK\x03\x04this is not a workbook: the archive ends here\n".to_vec()
        }
        Format::Xlsx => {
            format!("PK\x03\x04this is not a workbook: the archive ends here ({variant})\n")
                .into_bytes()
        }
        _ => {
            let (format, at, row_len) = (
                layout.format,
                layout.row_at(broken as u64),
                layout.row_len(),
            );
            let mut body = report_body_at(template, parameters, format.extension(), rows, revision);
            let row = at as usize..at as usize + row_len;
            if format == Format::Csv {
                let extra = match variant {
                    0 => ",extra".to_string(),
                    n => format!(",extra{n}"),
                };
                body.splice(row.end - 2..row.end - 2, extra.bytes());
            } else if let Some(comma) = body[row.clone()].iter().rposition(|b| *b == b',') {
                body.drain(row.start + comma..row.end - 1);
            }
            body
        }
    }
}
