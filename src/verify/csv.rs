//! The CSV check: the csv crate reads record by record (its buffer is all it holds); every
//! record must be UTF-8 (a leading BOM is UTF-8 too) and, strictly, as wide as the header.

use std::io::Read;

use super::{grouped, Rejection, Shape, Strictness};

/// Reads the whole CSV; the header is record 0, data records are numbered from 1.
pub(super) fn check(reader: impl Read, level: Strictness) -> Result<Shape, Rejection> {
    let mut csv = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(64 * 1024)
        .from_reader(reader);
    let mut record = ::csv::ByteRecord::new();
    let mut columns = None;
    let mut rows = 0u64;
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(Rejection::malformed(format!("the CSV does not parse: {e}"))),
        }
        let width = record.len() as u64;
        let Some(header) = columns else {
            utf8(&record, "the header")?;
            columns = Some(width);
            continue;
        };
        rows += 1;
        utf8(&record, &format!("record {}", grouped(rows)))?;
        if level == Strictness::Strict && width != header {
            return Err(Rejection::width(format!(
                "record {} has {width} fields, the header has {header}",
                grouped(rows)
            )));
        }
    }
    let columns = columns.ok_or_else(|| Rejection::malformed("the CSV has no header row"))?;
    Ok(Shape { rows, columns })
}

fn utf8(record: &::csv::ByteRecord, what: &str) -> Result<(), Rejection> {
    match std::str::from_utf8(record.as_slice()) {
        Ok(_) => Ok(()),
        Err(_) => Err(Rejection::malformed(format!("{what} is not UTF-8 text"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &[u8], level: Strictness) -> Result<Shape, Rejection> {
        check(text, level)
    }

    #[test]
    fn a_table_with_a_bom_counts_its_rows_and_columns() {
        let shape = run(
            b"\xEF\xBB\xBFa,b,c\r\n1,2,3\r\n4,\"5,5\",6\r\n",
            Strictness::Strict,
        );
        assert_eq!(
            shape,
            Ok(Shape {
                rows: 2,
                columns: 3
            })
        );
    }

    #[test]
    fn a_ragged_record_is_named_with_both_widths() {
        let err = run(b"a,b\n1,2\n1,2,3\n", Strictness::Strict).unwrap_err();
        assert_eq!(err.problem, "record 2 has 3 fields, the header has 2");
        assert!(err.width_only);
        assert!(run(b"a,b\n1,2\n1,2,3\n", Strictness::WellFormed).is_ok());
    }

    #[test]
    fn text_that_is_not_utf8_or_has_no_header_is_refused() {
        assert!(
            !run(b"a,b\n\xFF\xFE,1\n", Strictness::WellFormed)
                .unwrap_err()
                .width_only
        );
        assert!(run(b"", Strictness::WellFormed).is_err());
    }
}
