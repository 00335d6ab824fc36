//! The xlsx form of a report: a real workbook written by rust_xlsxwriter (one sheet, the
//! header row, then one row per data row with numbers as numbers), so the files `demo` writes
//! open in Excel and LibreOffice. Its document properties carry a fixed date, so the same
//! report is the same bytes in every run and process.

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook};

use super::layout::Layout;

/// The workbook's bytes, built in memory (xlsx reports are the small ones).
pub(crate) fn build(layout: &Layout) -> Vec<u8> {
    try_build(layout).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the simulated workbook could not be built");
        Vec::new()
    })
}

fn try_build(layout: &Layout) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = Workbook::new();
    let created = ExcelDateTime::from_ymd(2026, 1, 1)?;
    book.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let sheet = book.add_worksheet();
    sheet.set_name("Report")?;
    for (col, name) in layout.columns.iter().enumerate() {
        sheet.write_string(0, col as u16, *name)?;
    }
    let mut line = Vec::with_capacity(layout.row_len());
    for i in 0..layout.rows {
        line.clear();
        layout.push_row(i, &mut line);
        let text = String::from_utf8_lossy(&line);
        let row = u32::try_from(i + 1).unwrap_or(u32::MAX);
        for (col, cell) in text.trim_end().split(',').enumerate() {
            match cell.parse::<f64>() {
                Ok(number) => sheet.write_number(row, col as u16, number)?,
                Err(_) => sheet.write_string(row, col as u16, cell)?,
            };
        }
    }
    book.save_to_buffer()
}
