//! The JSON check: the documented `{"headers": [...], "rows": [[...], ...]}` read with a
//! streaming serde visitor, so each row is looked at and dropped (only its length is kept);
//! strictly, every row must be as long as the headers. Other keys are allowed and skipped.

use std::fmt;
use std::io::Read;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{grouped, Rejection, Shape, Strictness};

pub(super) fn check(reader: impl Read, level: Strictness) -> Result<Shape, Rejection> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let (headers, rows) = Document
        .deserialize(&mut de)
        .and_then(|shape| de.end().map(|()| shape))
        .map_err(|e| {
            Rejection::malformed(format!(
                "the JSON is not the documented {{\"headers\": [...], \"rows\": [[...]]}}: {e}"
            ))
        })?;
    if level == Strictness::Strict {
        if let Some((row, width)) = rows.first_mismatch(headers) {
            return Err(Rejection::width(format!(
                "row {} has {width} values, the headers have {headers}",
                grouped(row)
            )));
        }
    }
    Ok(Shape {
        rows: rows.count,
        columns: headers,
    })
}

/// The top-level object: its headers' count and what its rows showed.
struct Document;

impl<'de> DeserializeSeed<'de> for Document {
    type Value = (u64, Rows);

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(u64, Rows), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Document {
    type Value = (u64, Rows);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with \"headers\" and \"rows\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(u64, Rows), A::Error> {
        let mut headers: Option<u64> = None;
        let mut rows: Option<Rows> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "headers" => headers = Some(map.next_value::<Vec<String>>()?.len() as u64),
                "rows" => rows = Some(map.next_value_seed(RowsSeed { headers })?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let headers = headers.ok_or_else(|| de::Error::missing_field("headers"))?;
        let rows = rows.ok_or_else(|| de::Error::missing_field("rows"))?;
        Ok((headers, rows))
    }
}

/// What the rows array showed: how many, and the first row whose width differs from the
/// headers' (or, when the rows came before the headers, from the first row's).
struct Rows {
    count: u64,
    first_width: Option<u64>,
    odd: Option<(u64, u64)>,
}

impl Rows {
    fn first_mismatch(&self, headers: u64) -> Option<(u64, u64)> {
        match (self.first_width, self.odd) {
            (Some(w), _) if w != headers => Some((1, w)),
            (_, odd) => odd,
        }
    }
}

struct RowsSeed {
    headers: Option<u64>,
}

impl<'de> DeserializeSeed<'de> for RowsSeed {
    type Value = Rows;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Rows, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed {
    type Value = Rows;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Rows, A::Error> {
        let mut rows = Rows {
            count: 0,
            first_width: None,
            odd: None,
        };
        while let Some(width) = seq.next_element_seed(RowSeed)? {
            rows.count += 1;
            let expected = *self
                .headers
                .as_ref()
                .or(rows.first_width.as_ref())
                .unwrap_or(&width);
            rows.first_width.get_or_insert(width);
            if width != expected && rows.odd.is_none() {
                rows.odd = Some((rows.count, width));
            }
        }
        Ok(rows)
    }
}

/// One row: an array whose values are skipped and counted.
struct RowSeed;

impl<'de> DeserializeSeed<'de> for RowSeed {
    type Value = u64;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowSeed {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a row (an array of values)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let mut width = 0u64;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            width += 1;
        }
        Ok(width)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, level: Strictness) -> Result<Shape, Rejection> {
        check(text.as_bytes(), level)
    }

    #[test]
    fn the_documented_shape_counts_rows_and_headers() {
        let text = r#"{"headers":["a","b"],"rows":[[1,"x"],[2,null]],"note":{"k":1}}"#;
        assert_eq!(
            run(text, Strictness::Strict),
            Ok(Shape {
                rows: 2,
                columns: 2
            })
        );
        let empty = r#"{"headers":["a","b"],"rows":[]}"#;
        assert_eq!(
            run(empty, Strictness::Strict),
            Ok(Shape {
                rows: 0,
                columns: 2
            })
        );
    }

    #[test]
    fn a_row_one_value_short_is_named() {
        let text = r#"{"headers":["a","b","c"],"rows":[[1,2,3],[4,5]]}"#;
        let err = run(text, Strictness::Strict).unwrap_err();
        assert_eq!(err.problem, "row 2 has 2 values, the headers have 3");
        assert!(err.width_only);
        assert!(run(text, Strictness::WellFormed).is_ok());
    }

    #[test]
    fn rows_before_headers_are_still_checked() {
        let text = r#"{"rows":[[1,2],[4,5]],"headers":["a","b","c"]}"#;
        let err = run(text, Strictness::Strict).unwrap_err();
        assert_eq!(err.problem, "row 1 has 2 values, the headers have 3");
    }

    #[test]
    fn other_shapes_and_trailing_bytes_are_refused() {
        for text in [
            r#"[1,2]"#,
            r#"{"headers":["a"]}"#,
            r#"{"headers":["a"],"rows":[[1]]} x"#,
            r#"{"headers":["a"],"rows":[[1]"#,
        ] {
            let err = run(text, Strictness::WellFormed).unwrap_err();
            assert!(!err.width_only, "{text}: {err}");
        }
    }
}
