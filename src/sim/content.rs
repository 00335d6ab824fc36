//! Deterministic report files. A report's bytes depend only on its template, its creation
//! parameters (without the `type` key the API adds), the format and the row count: the values
//! come from a SHA-256 of the template and the canonical parameters, so two processes serve the
//! same bytes. Every row of a report has the same width, so the length is known without
//! generating anything and a large report (the benchmark asks for ~1 GiB) is streamed in
//! 64 KiB chunks, never held in memory. The xlsx form is **not a real workbook**: it is the
//! zip local-file signature `PK\x03\x04` followed by the CSV bytes, opaque and deterministic.

use bytes::Bytes;
use futures_util::Stream;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Product names, all [`FEATURE_WIDTH`] bytes long so every row has the same width.
const FEATURES: [&str; 8] = [
    "Object Storage",
    "CDN Egress GiB",
    "Cloud Instance",
    "Streaming Mins",
    "DDoS Protected",
    "Edge Functions",
    "Load Balancers",
    "Inference GPUs",
];
const FEATURE_WIDTH: usize = 14;
const CLIENT_WIDTH: usize = 6;
const CHUNK: usize = 64 * 1024;
const XLSX_MAGIC: &[u8] = b"PK\x03\x04";

/// A download format: `csv`, `json` or `xlsx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Csv,
    Json,
    Xlsx,
}

impl Format {
    pub(crate) fn parse(name: &str) -> Option<Format> {
        match name {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    pub(crate) fn media_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    pub(crate) fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Xlsx => "xlsx",
        }
    }
}

/// The exact bytes served for a report (small sizes: this builds them in memory).
/// An unknown `format` is treated as `json`, the API's default.
pub fn report_body(template: &str, parameters: &Value, format: &str, rows: usize) -> Vec<u8> {
    let layout = Layout::new(template, parameters, parse_or_json(format), rows);
    let mut out = Vec::with_capacity(layout.len() as usize);
    Chunks::new(layout).for_each(|chunk| out.extend_from_slice(&chunk));
    out
}

/// The length of [`report_body`], computed without generating the report.
pub fn report_len(template: &str, parameters: &Value, format: &str, rows: usize) -> u64 {
    Layout::new(template, parameters, parse_or_json(format), rows).len()
}

/// The bytes of [`report_body`] as a stream of chunks of about 64 KiB, generated lazily.
pub fn report_stream(
    template: &str,
    parameters: &Value,
    format: &str,
    rows: usize,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let layout = Layout::new(template, parameters, parse_or_json(format), rows);
    futures_util::stream::iter(Chunks::new(layout).map(Ok))
}

fn parse_or_json(format: &str) -> Format {
    Format::parse(format).unwrap_or(Format::Json)
}

/// A report's fixed parts and its row template, with where the varying cells go.
struct Layout {
    head: Vec<u8>,
    row: Vec<u8>,
    sep: &'static [u8],
    tail: &'static [u8],
    seed: u64,
    client_at: Option<usize>,
    feature_at: usize,
    amount_at: usize,
    rows: u64,
}

impl Layout {
    fn new(template: &str, parameters: &Value, format: Format, rows: usize) -> Layout {
        let json = format == Format::Json;
        let text = |v: String| {
            if json {
                Value::String(v).to_string()
            } else {
                csv_cell(&v)
            }
        };
        let fixed_client = parameters.get("client_id").and_then(Value::as_i64);
        let columns = [
            "client_id",
            "feature_name",
            amount_column(template),
            "currency",
            "date_from",
            "date_to",
        ];
        let seed = seed(template, parameters);
        let currency = if seed % 2 == 0 { "USD" } else { "EUR" };
        let (open, close, comma) = if json {
            ("[", "]", ",")
        } else {
            ("", "\r\n", ",")
        };
        let mut row = open.as_bytes().to_vec();
        let client_at = match fixed_client {
            Some(id) => {
                row.extend_from_slice(id.to_string().as_bytes());
                None
            }
            None => Some(push_placeholder(&mut row, CLIENT_WIDTH)),
        };
        row.extend_from_slice(comma.as_bytes());
        let quote = if json { "\"" } else { "" };
        row.extend_from_slice(quote.as_bytes());
        let feature_at = push_placeholder(&mut row, FEATURE_WIDTH);
        row.extend_from_slice(format!("{quote},").as_bytes());
        let amount_at = push_placeholder(&mut row, 7);
        for value in [
            currency.to_string(),
            param_text(parameters, "date_from"),
            param_text(parameters, "date_to"),
        ] {
            row.extend_from_slice(format!(",{}", text(value)).as_bytes());
        }
        row.extend_from_slice(close.as_bytes());
        let head = if json {
            let headers = Value::from(columns.to_vec()).to_string();
            format!("{{\"headers\":{headers},\"rows\":[").into_bytes()
        } else {
            let mut head = if format == Format::Xlsx {
                XLSX_MAGIC.to_vec()
            } else {
                Vec::new()
            };
            head.extend_from_slice(format!("{}\r\n", columns.join(",")).as_bytes());
            head
        };
        let (sep, tail): (&[u8], &[u8]) = if json { (b",", b"]}") } else { (b"", b"") };
        Layout {
            head,
            row,
            sep,
            tail,
            seed,
            client_at,
            feature_at,
            amount_at,
            rows: rows as u64,
        }
    }

    fn len(&self) -> u64 {
        let fixed = (self.head.len() + self.tail.len()) as u64;
        fixed
            + self.rows * self.row.len() as u64
            + self.rows.saturating_sub(1) * self.sep.len() as u64
    }

    /// Appends row `i`: the template with its client id, feature and amount filled in.
    fn push_row(&self, i: u64, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&self.row);
        let row = &mut out[start..];
        let r = mix(self.seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        if let Some(at) = self.client_at {
            write_digits(&mut row[at..at + CLIENT_WIDTH], 100_000 + r % 900_000);
        }
        let feature = FEATURES[((r >> 24) % FEATURES.len() as u64) as usize];
        row[self.feature_at..self.feature_at + FEATURE_WIDTH].copy_from_slice(feature.as_bytes());
        let cents = 100_000 + (r >> 40) % 900_000;
        write_digits(&mut row[self.amount_at..self.amount_at + 4], cents / 100);
        row[self.amount_at + 4] = b'.';
        write_digits(
            &mut row[self.amount_at + 5..self.amount_at + 7],
            cents % 100,
        );
    }
}

/// The report as an iterator of chunks: the head, rows, then the tail.
struct Chunks {
    layout: Layout,
    next_row: u64,
    started: bool,
    done: bool,
}

impl Chunks {
    fn new(layout: Layout) -> Chunks {
        Chunks {
            layout,
            next_row: 0,
            started: false,
            done: false,
        }
    }
}

impl Iterator for Chunks {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        let l = &self.layout;
        let mut buf = Vec::with_capacity(CHUNK + l.row.len() + l.head.len() + l.tail.len());
        if !self.started {
            buf.extend_from_slice(&l.head);
            self.started = true;
        }
        while buf.len() < CHUNK && self.next_row < l.rows {
            if self.next_row > 0 {
                buf.extend_from_slice(l.sep);
            }
            l.push_row(self.next_row, &mut buf);
            self.next_row += 1;
        }
        if self.next_row == l.rows {
            buf.extend_from_slice(l.tail);
            self.done = true;
        }
        Some(Bytes::from(buf))
    }
}

/// The third column's name, per template.
fn amount_column(template: &str) -> &'static str {
    match template {
        "ResellerCredits" => "credit",
        "ResellerPlans" => "price",
        "ResellerStatistics" => "usage",
        _ => "amount",
    }
}

fn push_placeholder(row: &mut Vec<u8>, width: usize) -> usize {
    let at = row.len();
    row.resize(at + width, b'0');
    at
}

fn write_digits(buf: &mut [u8], mut value: u64) {
    for b in buf.iter_mut().rev() {
        *b = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// A parameter as cell text: strings as they are, other values as JSON, absent as empty.
fn param_text(parameters: &Value, key: &str) -> String {
    match parameters.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn csv_cell(value: &str) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// The first 8 bytes of SHA-256 over the template and the canonical parameters.
fn seed(template: &str, parameters: &Value) -> u64 {
    let digest = Sha256::digest(format!("{template}\n{}", canonical(parameters)).as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// JSON text with object keys sorted at every level, whatever order they were given in.
pub(crate) fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&map[*k])))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// SplitMix64's finaliser: a well-spread 64-bit value from any input.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
