//! The CSV check's unit tests: rows and columns counted with a BOM and with quoted fields cut
//! at any block size, and the files it refuses (ragged, not UTF-8, no header).

use super::*;

fn run(text: &[u8], level: Strictness) -> Result<Shape, Rejection> {
    check(text, level)
}

/// Feeds `text` in blocks of `size` bytes.
fn blocks(text: &[u8], size: usize) -> Result<Shape, Rejection> {
    let mut checker = Checker::new(Strictness::Strict);
    for block in text.chunks(size) {
        checker.feed(block)?;
    }
    checker.finish()
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
fn quoted_fields_with_commas_and_line_breaks_count_as_one_field_at_any_block_size() {
    let text = "a,b,c\n1,\"x,\ny\",3\n\n4,5,\"é\"\"\"\n7,8,9".as_bytes();
    for size in [1, 2, 3, 7, 64] {
        assert_eq!(
            blocks(text, size),
            Ok(Shape {
                rows: 3,
                columns: 3
            }),
            "blocks of {size}"
        );
    }
}

#[test]
fn a_ragged_record_is_named_with_both_widths() {
    let err = run(b"a,b\n1,2\n1,2,3\n", Strictness::Strict).unwrap_err();
    assert_eq!(err.problem, "record 2 has 3 fields, the header has 2");
    assert!(err.width_only);
    assert!(run(b"a,b\n1,2\n1,2,3\n", Strictness::WellFormed).is_ok());
    let quoted = run(b"a,b\n\"1\",2\n\"1\",\"2\",3\n", Strictness::Strict).unwrap_err();
    assert_eq!(quoted.problem, "record 2 has 3 fields, the header has 2");
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

/// What the csv crate itself makes of `text` (header = record 0, empty lines skipped), in the
/// check's terms.
fn reference(text: &[u8]) -> Result<Shape, String> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text);
    let mut widths = reader
        .byte_records()
        .map(|r| r.expect("flexible").len() as u64);
    let columns = widths.next().ok_or("the CSV has no header row")?;
    let mut rows = 0;
    for width in widths {
        rows += 1;
        if width != columns {
            return Err(format!(
                "record {} has {width} fields, the header has {columns}",
                grouped(rows)
            ));
        }
    }
    Ok(Shape { rows, columns })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

    /// Plain runs, quotes, CRs and empty lines, cut into blocks of any size: the fast paths
    /// agree with the csv crate record for record.
    #[test]
    fn the_check_counts_what_the_csv_crate_reads_at_any_block_size(
        tokens in proptest::collection::vec(
            proptest::sample::select(vec!["a", "a", "a", ",", ",", "\n", "\r\n", "\r\n", "\"", "\r"]),
            0..300,
        ),
        size in 1usize..200,
    ) {
        let text = tokens.concat().into_bytes();
        let mut checker = Checker::new(Strictness::Strict);
        let mut fed = Ok(());
        for block in text.chunks(size) {
            fed = fed.and_then(|()| checker.feed(block));
        }
        let got = fed.and_then(|()| checker.finish()).map_err(|e| e.problem);
        proptest::prop_assert_eq!(got, reference(&text));
    }
}

#[test]
fn long_runs_of_plain_lines_count_every_record() {
    let mut text = b"client_id,feature_name,amount\n".to_vec();
    for n in 0..10_000 {
        text.extend_from_slice(format!("{n},GPU {n},{}.5\n", n * 3).as_bytes());
    }
    for size in [64, 4096, 256 * 1024] {
        assert_eq!(
            blocks(&text, size),
            reference(&text).map_err(|_| unreachable!()),
            "{size}"
        );
    }
}
