//! 后处理 at a city's scale (`examples/postprocess.rs`), each figure beside a
//! yardstick measured in the same run on the same machine:
//!
//! 1. Importing the institute's result list of ROWS rows (default 10,000): reading
//!    the CSV, checking every cell, and creating every case in one transaction,
//!    against parsing the same bytes with the `csv` crate alone.
//! 2. The deadline board over CASES open cases (default 100,000): every case's
//!    deadlines counted on the working-day calendar, against reading the same
//!    cases' rows from SQLite and nothing more.
//! 3. The overdue count of the console's header over the same cases: counted
//!    (after a change) and as the cache answers it.
//! 4. Issuing a document (附件1): numbering, printing with the QR code, keeping
//!    the PDF by hash and recording it, against printing it alone (Typst, with a
//!    number and QR code of its own).
//!
//! Run: `cargo run --release -p fieldlead-bureau --example postprocess -- [ROWS] [CASES]`

use std::time::{Duration, Instant};

use fieldlead_bureau::results_import::read_results;
use fieldlead_bureau::{Actor, Bureau, Config, Role};

const HEADER: &str = "报告编号,任务,产品名称,品牌,规格型号,生产日期或批号,受检单位,受检单位地址,受检单位类型,标称生产厂家,电子商务平台,抽样日期,检验结论,不合格项目,报告收到日期";

/// A result list of `rows` rows, numbered from `first`; a third fail, and every
/// seller's sample names a nominal producer, as real lists mix them.
fn result_list(first: usize, rows: usize) -> Vec<u8> {
    let mut out = String::from(HEADER);
    for i in first..first + rows {
        let (kind, producer) = if i % 2 == 0 {
            ("销售者", "某某电线厂")
        } else {
            ("生产者", "")
        };
        let (verdict, items) = if i % 3 == 0 {
            ("不合格", "导体电阻")
        } else {
            ("合格", "")
        };
        // Received on a working day of September to November 2026.
        let received = [
            "2026-09-01",
            "2026-09-15",
            "2026-10-09",
            "2026-10-20",
            "2026-11-02",
        ][i % 5];
        out.push_str(&format!(
            "\nCQ2026-{i:07},2026年重庆市电线电缆产品质量监督抽查,聚氯乙烯绝缘电线,某某牌,BV 2.5mm²,2026-08,重庆某某五金经营部{i},重庆市渝中区民族路{i}号,{kind},{producer},,2026-08-20,{verdict},{items},{received}"
        ));
    }
    out.into_bytes()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let rows = args.first().copied().unwrap_or(10_000);
    let cases = args.get(1).copied().unwrap_or(100_000).max(rows);

    let dir = tempfile::Builder::new()
        .prefix("postprocess-bench")
        .tempdir_in(std::env::current_dir()?)?;
    Bureau::init(dir.path())?;
    let bureau = Bureau::open_beside(dir.path(), Config::default())?;
    bureau.create_district("bench", "压测区市场监督管理局", &Actor::Cli)?;
    let officer = bureau.add_user(
        "officer",
        "压测承办人员",
        Role::Officer,
        Some("bench"),
        "a long bench password",
        &Actor::Cli,
    )?;
    let city = bureau.add_user(
        "city",
        "压测市局",
        Role::CityAdmin,
        None,
        "a long bench password",
        &Actor::Cli,
    )?;

    // 1. Import.
    let list = result_list(0, rows);
    let start = Instant::now();
    let mut reader = csv::ReaderBuilder::new().from_reader(list.as_slice());
    let mut parsed = 0usize;
    for record in reader.records() {
        parsed += record?.len();
    }
    let yardstick_import = start.elapsed();
    anyhow::ensure!(parsed == rows * 15, "csv yardstick read {parsed} cells");
    let start = Instant::now();
    let results = read_results(&list, "结果清单.csv")?;
    let read = start.elapsed();
    let ids = bureau.import_results(&officer, None, results)?;
    let import = start.elapsed();
    anyhow::ensure!(ids.len() == rows);
    println!(
        "import of {rows} rows: {:.0} ms end to end (read and check {:.0} ms, store {:.0} ms); \
         csv crate alone {:.1} ms; ratio {:.0}x",
        import.as_secs_f64() * 1e3,
        read.as_secs_f64() * 1e3,
        (import - read).as_secs_f64() * 1e3,
        yardstick_import.as_secs_f64() * 1e3,
        import.as_secs_f64() / yardstick_import.as_secs_f64()
    );

    // 2. The board over `cases` open cases.
    let mut next = rows;
    while next < cases {
        let n = (cases - next).min(10_000);
        let results = read_results(&result_list(next, n), "more.csv")?;
        bureau.import_results(&officer, None, results)?;
        next += n;
    }
    let db = rusqlite::Connection::open(dir.path().join("bureau.sqlite3"))?;
    let mut floor = Vec::new();
    let mut boards = Vec::new();
    let mut due = 0;
    for _ in 0..3 {
        let start = Instant::now();
        let mut stmt = db.prepare_cached(
            "SELECT k.id, d.code, k.report_no, k.business_name, k.product_name, k.case_json,
                    k.updated_at
             FROM pp_cases k JOIN districts d ON d.id = k.district_id
             WHERE k.final = 0 ORDER BY k.report_received, k.report_no",
        )?;
        let mut bytes = 0usize;
        let mut rows_read = stmt.query([])?;
        while let Some(r) = rows_read.next()? {
            bytes += r.get_ref(5)?.as_str()?.len();
        }
        anyhow::ensure!(bytes > 0);
        floor.push(start.elapsed());
        let start = Instant::now();
        let board = bureau.deadline_board(&city)?;
        boards.push(start.elapsed());
        due = board.total;
        anyhow::ensure!(
            board.not_counted.is_empty(),
            "{:?}",
            board.not_counted.first()
        );
    }
    let (floor, board) = (median(floor), median(boards));
    println!(
        "deadline board over {cases} open cases ({due} deadlines): {:.0} ms (median of 3); \
         reading the same rows from SQLite alone {:.0} ms; ratio {:.1}x",
        board.as_secs_f64() * 1e3,
        floor.as_secs_f64() * 1e3,
        board.as_secs_f64() / floor.as_secs_f64()
    );

    // 3. The header's overdue count: the first view after a change counts it,
    // the next ones within 30 s take it from the cache.
    let start = Instant::now();
    let overdue = bureau.overdue_count(&city).unwrap_or_default();
    let counted = start.elapsed();
    let start = Instant::now();
    anyhow::ensure!(bureau.overdue_count(&city) == Some(overdue));
    let cached = start.elapsed();
    println!(
        "header overdue count over {cases} cases ({overdue} overdue): counted {:.0} ms, \
         from the cache {:.1} µs",
        counted.as_secs_f64() * 1e3,
        cached.as_secs_f64() * 1e6
    );

    // 4. Issuing 附件1 on 5 cases, against printing it alone.
    let form = fieldlead_bureau::service::DocumentForm {
        document: "result_notice".into(),
        recipient: "business".into(),
        ..Default::default()
    };
    // The first print of a process finds and loads the fonts: not counted.
    let (data, _) = bureau.preview_document(&officer, ids[0], &form)?;
    let forms = bureau.forms()?;
    let mut prints = Vec::new();
    let mut issues = Vec::new();
    let data_sha256 = fieldlead_forms::notice_data_sha256(&data);
    for (i, id) in ids[..5].iter().enumerate() {
        // A number and a QR code of its own each time, as an issued one has (the
        // same page twice would come from Typst's cache).
        let seal = fieldlead_forms::NoticeSeal::Issued {
            number: format!("压测市监〔2026〕{}号", 1000 + i),
            document_id: fieldlead_domain::DocumentId::new().to_string(),
            data_sha256,
        };
        let start = Instant::now();
        forms.notice(&data, &seal)?;
        prints.push(start.elapsed());
        let start = Instant::now();
        bureau.issue_document(&officer, *id, &form)?;
        issues.push(start.elapsed());
    }
    let (print, issue) = (median(prints), median(issues));
    println!(
        "issuing a document: {:.0} ms (median of 5); printing it alone {:.0} ms; ratio {:.2}x",
        issue.as_secs_f64() * 1e3,
        print.as_secs_f64() * 1e3,
        issue.as_secs_f64() / print.as_secs_f64()
    );
    Ok(())
}
