//! The XLSX check: calamine opens the workbook (a zip whose workbook part lists its sheets),
//! there must be at least one sheet, and the first sheet's cells are streamed (never loaded as
//! a whole range) to find its data rows (below the header row) and columns.

use std::io::{Read, Seek};

use calamine::{Reader, Xlsx};

use super::{Rejection, Shape};

pub(super) fn check(reader: impl Read + Seek) -> Result<Shape, Rejection> {
    let mut workbook: Xlsx<_> = Xlsx::new(reader)
        .map_err(|e| Rejection::malformed(format!("the workbook does not open: {e}")))?;
    let Some(first) = workbook.sheet_names().first().cloned() else {
        return Err(Rejection::malformed("the workbook has no sheet"));
    };
    let mut cells = workbook
        .worksheet_cells_reader(&first)
        .map_err(|e| Rejection::malformed(format!("sheet {first:?} does not read: {e}")))?;
    let mut last: Option<(u32, u32)> = None;
    loop {
        match cells.next_cell() {
            Ok(Some(cell)) => {
                let (row, col) = cell.get_position();
                let (max_row, max_col) = last.unwrap_or((row, col));
                last = Some((max_row.max(row), max_col.max(col)));
            }
            Ok(None) => break,
            Err(e) => {
                return Err(Rejection::malformed(format!(
                    "sheet {first:?} does not read: {e}"
                )))
            }
        }
    }
    Ok(match last {
        None => Shape {
            rows: 0,
            columns: 0,
        },
        Some((row, col)) => Shape {
            rows: u64::from(row),
            columns: u64::from(col) + 1,
        },
    })
}
