//! Reading the testing institute's result list (issue 12, item 2) from the file
//! an officer uploads: xlsx or CSV, told apart by content, not by the name.
//!
//! - xlsx (a zip, `PK\x03\x04`): the first sheet, through calamine. Cells Excel
//!   holds as dates come out as `YYYY-MM-DD`, whole numbers (a report number typed
//!   as a number) without `.0`, and a formula's cached value is read; an error
//!   cell (`#N/A`) is a problem of its own.
//! - CSV: UTF-8 with or without a byte-order mark, else GB18030 (Excel on Chinese
//!   Windows saves "CSV" in GBK), UTF-16 with its mark (Excel's "Unicode text");
//!   comma- or tab-separated, as the header line shows.
//!
//! The first non-empty row is the header; row numbers in problems are the ones
//! the officer sees in Excel (blank lines and the lines of a multi-line cell
//! counted as Excel counts them). The table then goes through
//! [`results_from_table_at`], which checks every cell and collects every problem:
//! a file with one bad cell gives no result at all.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use fieldlead_domain::inspection::{results_from_table_at, CellProblem, InspectionResult};
use thiserror::Error;

/// The largest result file accepted, in bytes (20 MB): a 20,000-row list is
/// a few megabytes in either format.
pub const MAX_RESULTS_FILE_BYTES: usize = 20 * 1024 * 1024;
/// The most an xlsx may unpack to: its sheets are XML, roughly ten times the zip.
const MAX_XLSX_UNPACKED_BYTES: u64 = 400 * 1024 * 1024;

/// Why a result file gave no results.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResultsImportError {
    /// Not an xlsx or CSV this reader can open.
    #[error("无法读取「{file_name}」：{detail}。请上传检验机构的xlsx或CSV结果清单")]
    Unreadable { file_name: String, detail: String },
    /// No header, or a header and no result.
    #[error("「{file_name}」中没有检验结果")]
    Empty { file_name: String },
    #[error("「{file_name}」有{size}字节，超过20MB的上限，请分成几个文件导入")]
    TooLarge { file_name: String, size: usize },
    /// Rows with problems: nothing of the file was taken.
    #[error("结果清单有{}处错误，未导入任何一行，请改正后重新导入", .0.len())]
    Rows(Vec<CellProblem>),
}

impl ResultsImportError {
    /// A stable code for logs, the API and tests.
    pub fn code(&self) -> &'static str {
        match self {
            ResultsImportError::Unreadable { .. } => "results_unreadable",
            ResultsImportError::Empty { .. } => "results_empty",
            ResultsImportError::TooLarge { .. } => "results_too_large",
            ResultsImportError::Rows(_) => "results_rows",
        }
    }

    /// The cell problems, for a `Rows` error.
    pub fn problems(&self) -> &[CellProblem] {
        match self {
            ResultsImportError::Rows(p) => p,
            _ => &[],
        }
    }
}

/// A sheet as read: each non-empty-file row with its number as Excel shows it.
struct Sheet {
    rows: Vec<(usize, Vec<String>)>,
    /// Problems found while reading cells (error cells), as `(row, cell index)`.
    bad_cells: Vec<(usize, usize, String)>,
}

/// The results in a result file, or everything wrong with it.
pub fn read_results(
    bytes: &[u8],
    file_name: &str,
) -> Result<Vec<InspectionResult>, ResultsImportError> {
    if bytes.len() > MAX_RESULTS_FILE_BYTES {
        return Err(ResultsImportError::TooLarge {
            file_name: file_name.to_string(),
            size: bytes.len(),
        });
    }
    let unreadable = |detail: String| ResultsImportError::Unreadable {
        file_name: file_name.to_string(),
        detail,
    };
    let empty = || ResultsImportError::Empty {
        file_name: file_name.to_string(),
    };
    let sheet = if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes).map_err(unreadable)?
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(unreadable(
            "这是旧版Excel（.xls）或加密的文件，请在Excel中另存为.xlsx或CSV（逗号分隔）".into(),
        ));
    } else {
        read_csv(bytes).map_err(unreadable)?
    };

    let blank = |cells: &[String]| cells.iter().all(|c| c.trim().is_empty());
    let Some(header_at) = sheet.rows.iter().position(|(_, cells)| !blank(cells)) else {
        return Err(empty());
    };
    let header_row = sheet.rows[header_at].0;
    let header = &sheet.rows[header_at].1;
    // Every row after the header, blank ones included, in place.
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (n, cells) in &sheet.rows[header_at + 1..] {
        let at = n - header_row - 1;
        if rows.len() < at {
            rows.resize(at, Vec::new());
        }
        rows.push(cells.clone());
    }
    let mut problems: Vec<CellProblem> = sheet
        .bad_cells
        .iter()
        .map(|(row, col, reason)| CellProblem {
            row: *row,
            column: header
                .get(*col)
                .map(|h| h.trim().to_string())
                .unwrap_or_default(),
            reason: reason.clone(),
        })
        .collect();
    match results_from_table_at(header_row, header, &rows) {
        Ok(results) if problems.is_empty() => {
            if results.is_empty() {
                Err(empty())
            } else {
                Ok(results)
            }
        }
        Ok(_) => Err(ResultsImportError::Rows(problems)),
        Err(found) => {
            problems.extend(found);
            // Stable: within a row, the reader's problems come first.
            problems.sort_by_key(|p| p.row);
            Err(ResultsImportError::Rows(problems))
        }
    }
}

fn read_xlsx(bytes: &[u8]) -> Result<Sheet, String> {
    // calamine inflates whole sheets in memory: refuse a zip bomb first.
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("压缩结构损坏（{e}）"))?;
    let mut unpacked: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| format!("压缩结构损坏（{e}）"))?;
        unpacked = unpacked.saturating_add(entry.size());
    }
    if unpacked > MAX_XLSX_UNPACKED_BYTES {
        return Err("解压后过大".into());
    }

    let mut book: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| format!("不是有效的xlsx文件（{e}）"))?;
    let range = match book.worksheet_range_at(0) {
        None => return Ok(Sheet::empty()),
        Some(r) => r.map_err(|e| format!("第一个工作表无法读取（{e}）"))?,
    };
    let Some((first_row, first_col)) = range.start() else {
        return Ok(Sheet::empty());
    };
    // Cells keep their Excel column: a table starting in column B has an empty A.
    let first_col = first_col as usize;
    let mut sheet = Sheet::empty();
    for (i, cells) in range.rows().enumerate() {
        let row = first_row as usize + i + 1;
        let mut texts = vec![String::new(); first_col];
        texts.reserve(cells.len());
        for (col, cell) in cells.iter().enumerate() {
            let col = first_col + col;
            if let Data::Error(e) = cell {
                sheet.bad_cells.push((
                    row,
                    col,
                    format!("单元格是公式错误值{e}，请改正后重新导入"),
                ));
            }
            texts.push(cell_text(cell));
        }
        sheet.rows.push((row, texts));
    }
    Ok(sheet)
}

impl Sheet {
    fn empty() -> Sheet {
        Sheet {
            rows: Vec::new(),
            bad_cells: Vec::new(),
        }
    }
}

/// A cell as the officer reads it in Excel, for the rules that take text.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(dt) if dt.is_datetime() && dt.as_f64() >= 1.0 => {
            // A date, whatever time of day it also holds: every date column of a
            // result list is a day.
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            format!("{y:04}-{m:02}-{d:02}")
        }
        Data::DateTime(dt) => float_text(dt.as_f64()),
        // "2024-03-05T00:00:00": the date part.
        Data::DateTimeIso(s) => s.split('T').next().unwrap_or_default().to_string(),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => e.to_string(),
    }
}

/// A number as Excel shows it in a General cell: no ".0" on whole numbers.
fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

fn read_csv(bytes: &[u8]) -> Result<Sheet, String> {
    // One kind of line break, so that lines can be counted: Excel reads CRLF,
    // LF and a lone CR alike.
    let text = decode_text(bytes)?
        .replace("\r\n", "\n")
        .replace('\r', "\n");
    // Excel's "Unicode text" and some institutes' exports are tab-separated.
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let delimiter = if first_line.matches('\t').count() > first_line.matches(',').count() {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut sheet = Sheet::empty();
    // The csv reader skips blank lines, which Excel shows as rows, and a quoted
    // cell may span lines, which Excel shows in one row: a record's Excel row is
    // one more than the line breaks before its first character, less those inside
    // the cells of the records before it.
    let bytes = text.as_bytes();
    let (mut scanned, mut breaks, mut in_cells) = (0usize, 0usize, 0usize);
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(format!("CSV格式有误（{e}）")),
        }
        // The reader's position is where the record's search began, before the
        // blank lines it skipped.
        let mut start = record.position().map_or(0, |p| p.byte() as usize);
        while bytes.get(start) == Some(&b'\n') {
            start += 1;
        }
        breaks += bytes[scanned..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        scanned = start;
        sheet.rows.push((
            1 + breaks - in_cells,
            record.iter().map(str::to_string).collect(),
        ));
        in_cells += record
            .iter()
            .map(|c| c.matches('\n').count())
            .sum::<usize>();
    }
    Ok(sheet)
}

/// The text of a CSV file: UTF-8 (a byte-order mark dropped), UTF-16 with its
/// mark, or else GB18030, which contains GBK and GB2312.
fn decode_text(bytes: &[u8]) -> Result<String, String> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest)
            .map(str::to_string)
            .map_err(|_| "文件标明是UTF-8编码，但内容不是".to_string());
    }
    for (mark, encoding) in [
        (&b"\xFF\xFE"[..], encoding_rs::UTF_16LE),
        (&b"\xFE\xFF"[..], encoding_rs::UTF_16BE),
    ] {
        if let Some(rest) = bytes.strip_prefix(mark) {
            return encoding
                .decode_without_bom_handling_and_without_replacement(rest)
                .map(|t| t.into_owned())
                .ok_or_else(|| "文件标明是UTF-16编码，但内容不是".to_string());
        }
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_string());
    }
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|t| t.into_owned())
        .ok_or_else(|| "既不是UTF-8也不是GB18030（GBK）编码的文本".to_string())
}
