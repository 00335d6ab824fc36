//! The byte layout of a report: the fixed head and tail of each format and a row template
//! whose varying cells (client id, feature, amount) sit at known offsets. Every row of a
//! report has the same width, so a report's length is a formula and row `i` can be written
//! straight into an output buffer from a hash of the seed and `i`.

use serde_json::Value;

use super::content::Format;

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
/// `dddd.dd`: amounts run from 1000.00 to 9999.99.
const AMOUNT_WIDTH: usize = 7;

/// A report's fixed parts and its row template.
pub(crate) struct Layout {
    pub head: Vec<u8>,
    pub sep: &'static [u8],
    pub tail: &'static [u8],
    pub rows: u64,
    /// The format; an xlsx layout is laid out as CSV, which the workbook is built from.
    pub format: Format,
    /// The column names.
    pub columns: [&'static str; 6],
    row: RowTemplate,
    seed: u64,
}

/// One row with placeholders, and where the varying cells go (`client_at` is `None` when
/// the parameters fix the client id).
struct RowTemplate {
    bytes: Vec<u8>,
    client_at: Option<usize>,
    feature_at: usize,
    amount_at: usize,
}

impl Layout {
    pub(crate) fn new(
        template: &str,
        parameters: &Value,
        format: Format,
        rows: usize,
        seed: u64,
    ) -> Layout {
        let json = format == Format::Json;
        let columns = [
            "client_id",
            "feature_name",
            amount_column(template),
            "currency",
            "date_from",
            "date_to",
        ];
        let currency = if seed.is_multiple_of(2) { "USD" } else { "EUR" };
        let head = match format {
            Format::Json => {
                format!("{{\"headers\":{},\"rows\":[", Value::from(columns.to_vec())).into_bytes()
            }
            Format::Csv | Format::Xlsx => format!("{}\r\n", columns.join(",")).into_bytes(),
        };
        let (sep, tail): (&[u8], &[u8]) = if json { (b",", b"]}") } else { (b"", b"") };
        let row = row_template(json, parameters, currency);
        Layout {
            head,
            sep,
            tail,
            rows: rows as u64,
            format,
            columns,
            row,
            seed,
        }
    }

    /// Where row `i` starts in the report.
    pub(crate) fn row_at(&self, i: u64) -> u64 {
        let step = (self.row_len() + self.sep.len()) as u64;
        self.head.len() as u64 + i * step
    }

    /// The report's length in bytes.
    pub(crate) fn len(&self) -> u64 {
        let fixed = (self.head.len() + self.tail.len()) as u64;
        let separators = self.rows.saturating_sub(1) * self.sep.len() as u64;
        fixed + self.rows * self.row_len() as u64 + separators
    }

    pub(crate) fn row_len(&self) -> usize {
        self.row.bytes.len()
    }

    /// Appends row `i`: the template with its client id, feature and amount filled in.
    pub(crate) fn push_row(&self, i: u64, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&self.row.bytes);
        let row = &mut out[start..];
        let r = mix(self.seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        if let Some(at) = self.row.client_at {
            write_digits(&mut row[at..at + CLIENT_WIDTH], 100_000 + r % 900_000);
        }
        let feature = FEATURES[((r >> 24) % FEATURES.len() as u64) as usize];
        let at = self.row.feature_at;
        row[at..at + FEATURE_WIDTH].copy_from_slice(feature.as_bytes());
        let cents = 100_000 + (r >> 40) % 900_000;
        let at = self.row.amount_at;
        write_digits(&mut row[at..at + 4], cents / 100);
        row[at + 4] = b'.';
        write_digits(&mut row[at + 5..at + AMOUNT_WIDTH], cents % 100);
    }
}

/// `client_id,feature_name,amount,currency,date_from,date_to` as a CSV line or a JSON array.
fn row_template(json: bool, parameters: &Value, currency: &str) -> RowTemplate {
    let text = |v: &str| {
        if json {
            Value::from(v).to_string()
        } else {
            csv_cell(v)
        }
    };
    let quote: &[u8] = if json { b"\"" } else { b"" };
    let mut row = if json { b"[".to_vec() } else { Vec::new() };
    let client_at = match parameters.get("client_id").and_then(Value::as_i64) {
        Some(id) => {
            row.extend_from_slice(id.to_string().as_bytes());
            None
        }
        None => Some(placeholder(&mut row, CLIENT_WIDTH)),
    };
    row.push(b',');
    row.extend_from_slice(quote);
    let feature_at = placeholder(&mut row, FEATURE_WIDTH);
    row.extend_from_slice(quote);
    row.push(b',');
    let amount_at = placeholder(&mut row, AMOUNT_WIDTH);
    let cells = [
        currency.to_string(),
        param_text(parameters, "date_from"),
        param_text(parameters, "date_to"),
    ];
    for cell in cells {
        row.push(b',');
        row.extend_from_slice(text(&cell).as_bytes());
    }
    row.extend_from_slice(if json { b"]" } else { b"\r\n" });
    RowTemplate {
        bytes: row,
        client_at,
        feature_at,
        amount_at,
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

fn placeholder(row: &mut Vec<u8>, width: usize) -> usize {
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

/// SplitMix64's finaliser: a well-spread 64-bit value from any input.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
