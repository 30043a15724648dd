//! The built-in working-day table against an independent published source: the
//! `chinesecalendar` package (pinned in scripts/calendar-oracle.txt, installed by
//! scripts/setup), which ships the same State Council notices. Every day of 2021
//! to 2026 must agree.

use std::process::Command;

use chrono::{Days, NaiveDate};
use fieldlead_domain::calendar::Calendar;

const SCRIPT: &str = r#"
import datetime, sys
import chinese_calendar
day, last = datetime.date(2021, 1, 1), datetime.date(2026, 12, 31)
out = []
while day <= last:
    out.append("%s %d" % (day.isoformat(), chinese_calendar.is_workday(day)))
    day += datetime.timedelta(days=1)
sys.stdout.write("\n".join(out))
"#;

fn oracle_python() -> String {
    std::env::var("FIELDLEAD_CALENDAR_ORACLE").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_default();
        format!("{home}/.cache/fieldlead/calendar-oracle/bin/python")
    })
}

#[test]
fn every_day_of_2021_to_2026_agrees_with_the_chinesecalendar_package() {
    let python = oracle_python();
    let out = Command::new(&python)
        .args(["-c", SCRIPT])
        .output()
        .unwrap_or_else(|e| {
            panic!("{python}: {e}; scripts/setup installs the calendar oracle (chinesecalendar)")
        });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calendar = Calendar::builtin();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut expected_day = NaiveDate::from_ymd_opt(2021, 1, 1).unwrap();
    let mut checked = 0;
    let mut differences = Vec::new();
    for line in text.lines() {
        let (date, workday) = line.split_once(' ').unwrap();
        let date: NaiveDate = date.parse().unwrap();
        assert_eq!(date, expected_day, "the oracle skipped a day");
        let theirs = workday == "1";
        if calendar.is_workday(date) != Ok(theirs) {
            differences.push(format!("{date}: chinesecalendar says {theirs}"));
        }
        expected_day = expected_day.checked_add_days(Days::new(1)).unwrap();
        checked += 1;
    }
    assert_eq!(checked, 2191, "2021-01-01 to 2026-12-31");
    assert!(differences.is_empty(), "{differences:#?}");
}
