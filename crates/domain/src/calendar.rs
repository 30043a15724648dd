//! Working days (工作日) as the State Council's holiday notices make them, and the
//! two ways the notice counts a period, written once:
//!
//! - a period's first day is the day after the event it runs from (民法典 第二百零一条);
//! - "N 个工作日" counts working days only ([`Period::WorkingDays`]);
//! - "N 日" counts calendar days and, when the last day is a rest day or a holiday,
//!   ends on the next working day instead (民法典 第二百零三条) ([`Period::Days`]);
//! - a Saturday or Sunday the notice makes a working day (调休上班) is one.
//!
//! The table of notices ships in `data/workday-calendar.toml`, one entry a year
//! citing its notice; a bureau adds or corrects years with a file of the same shape
//! ([`Calendar::with_overrides`]). A date in a year no table holds is an error that
//! names the year ([`CalendarError::YearNotLoaded`]), never a guess. A notice may
//! give days off in the last days of the year before (元旦 from 30 or 31 December):
//! those count once the next year's notice is loaded, and until then such a date
//! is judged by its own year's table.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;

/// The table built into fieldlead: 2021 to 2026.
pub const BUILTIN: &str = include_str!("../data/workday-calendar.toml");

/// The file name a bureau's own table goes under, in its data folder.
pub const OVERRIDE_FILE: &str = "workday-calendar.toml";

/// Why a date or a table cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("{year} 年的工作日历（国务院节假日安排）未载入，无法计算期限；请在数据目录的 workday-calendar.toml 中补充该年")]
    YearNotLoaded { year: i32 },
    #[error("工作日历格式有误：{0}")]
    Format(String),
    #[error("工作日历 {year} 年：{message}")]
    Year { year: i32, message: String },
    #[error("期限超出可计算的日期范围")]
    OutOfRange,
}

impl CalendarError {
    pub fn code(&self) -> &'static str {
        match self {
            CalendarError::YearNotLoaded { .. } => "calendar_year_not_loaded",
            CalendarError::Format(_) | CalendarError::Year { .. } => "calendar_format",
            CalendarError::OutOfRange => "calendar_out_of_range",
        }
    }
}

/// How the notice words a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "unit", content = "n", rename_all = "snake_case")]
pub enum Period {
    /// "N 个工作日": working days only.
    WorkingDays(u32),
    /// "N 日": calendar days, the last moved off a rest day or holiday.
    Days(u32),
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Period::WorkingDays(n) => write!(f, "{n} 个工作日"),
            Period::Days(n) => write!(f, "{n} 日"),
        }
    }
}

/// One year's notice, as loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearTable {
    pub year: i32,
    /// The notice's title and number, e.g. 国办发明电〔2025〕7号.
    pub notice: String,
    pub published: NaiveDate,
    /// Days off (放假), weekends inside the periods included.
    pub days_off: BTreeSet<NaiveDate>,
    /// Weekend days that are working days (调休上班).
    pub working_days: BTreeSet<NaiveDate>,
}

/// Working days over the loaded years.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeMap<i32, YearTable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    years: BTreeMap<String, RawYear>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    notice: String,
    /// A TOML date, e.g. `published = 2025-11-04`.
    published: toml::value::Datetime,
    days_off: Vec<String>,
    working_days: Vec<String>,
}

/// Longest period off one entry may give: the longest in any notice is 9 days.
const MAX_RANGE_DAYS: u64 = 16;

fn parse_tables(text: &str) -> Result<Vec<YearTable>, CalendarError> {
    let file: File = toml::from_str(text).map_err(|e| CalendarError::Format(e.to_string()))?;
    let mut out = Vec::new();
    for (key, raw) in file.years {
        let year: i32 = key
            .parse()
            .ok()
            .filter(|y| (2000..=2200).contains(y))
            .ok_or_else(|| CalendarError::Format(format!("“{key}”不是年份")))?;
        let err = |message: String| CalendarError::Year { year, message };
        let date = |s: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| err(format!("“{s}”不是 YYYY-MM-DD 格式的日期")))
        };
        // A notice arranges its own year, and may start 元旦 in the last days of
        // the year before or end 春节 make-up days early in it: nothing further.
        let first = NaiveDate::from_ymd_opt(year - 1, 12, 1).ok_or(CalendarError::OutOfRange)?;
        let last = NaiveDate::from_ymd_opt(year, 12, 31).ok_or(CalendarError::OutOfRange)?;
        let expand = |entries: &[String]| -> Result<BTreeSet<NaiveDate>, CalendarError> {
            let mut days = BTreeSet::new();
            for entry in entries {
                let (a, b) = match entry.split_once("..") {
                    Some((a, b)) => (date(a)?, date(b)?),
                    None => (date(entry)?, date(entry)?),
                };
                if b < a || (b - a).num_days() as u64 >= MAX_RANGE_DAYS {
                    return Err(err(format!(
                        "“{entry}”不是 {MAX_RANGE_DAYS} 天以内的日期范围"
                    )));
                }
                if a < first || b > last {
                    return Err(err(format!("“{entry}”不在 {year} 年的安排之内")));
                }
                days.extend(a.iter_days().take_while(|d| *d <= b));
            }
            Ok(days)
        };
        let days_off = expand(&raw.days_off)?;
        let working_days = expand(&raw.working_days)?;
        if let Some(d) = days_off.intersection(&working_days).next() {
            return Err(err(format!("{d} 既是放假日又是调休上班日")));
        }
        if let Some(d) = working_days.iter().find(|d| !is_weekend(**d)) {
            return Err(err(format!("调休上班日 {d} 不是周六或周日")));
        }
        if raw.notice.trim().is_empty() {
            return Err(err("缺少通知名称和文号".into()));
        }
        out.push(YearTable {
            year,
            notice: raw.notice.trim().to_string(),
            published: match (raw.published.date, raw.published.time) {
                (Some(p), None) => {
                    NaiveDate::from_ymd_opt(i32::from(p.year), u32::from(p.month), u32::from(p.day))
                        .ok_or_else(|| err(format!("发布日期 {} 无效", raw.published)))?
                }
                _ => return Err(err(format!("发布日期 {} 应为 YYYY-MM-DD", raw.published))),
            },
            days_off,
            working_days,
        });
    }
    Ok(out)
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

impl Calendar {
    /// The table built into fieldlead.
    pub fn builtin() -> Calendar {
        Calendar::parse(BUILTIN).expect("the built-in calendar is checked by its tests")
    }

    /// A calendar from a table file's text alone.
    pub fn parse(text: &str) -> Result<Calendar, CalendarError> {
        Calendar {
            years: BTreeMap::new(),
        }
        .with_overrides(text)
    }

    /// This calendar with a bureau's own table read over it: each year the text
    /// holds replaces that year, the others stay. Nothing changes on an error.
    pub fn with_overrides(mut self, text: &str) -> Result<Calendar, CalendarError> {
        for table in parse_tables(text)? {
            self.years.insert(table.year, table);
        }
        Ok(self)
    }

    /// The loaded years, oldest first.
    pub fn years(&self) -> impl Iterator<Item = &YearTable> {
        self.years.values()
    }

    pub fn holds(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// Whether `d` is a working day: Monday to Friday unless the notice gives it
    /// off, Saturday and Sunday only when the notice makes it a working day.
    pub fn is_workday(&self, d: NaiveDate) -> Result<bool, CalendarError> {
        if !self.holds(d.year()) {
            return Err(CalendarError::YearNotLoaded { year: d.year() });
        }
        // A notice's days may lie in the year before (元旦 from 31 December).
        let mut tables = self.years.range(d.year()..=d.year() + 1).map(|(_, t)| t);
        Ok(if tables.clone().any(|t| t.days_off.contains(&d)) {
            false
        } else if tables.any(|t| t.working_days.contains(&d)) {
            true
        } else {
            !is_weekend(d)
        })
    }

    /// The `n`th working day after `anchor` ("N 个工作日" from the event on
    /// `anchor`); `anchor` itself when `n` is 0.
    pub fn workdays_after(&self, anchor: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        let mut day = anchor;
        let mut left = n;
        while left > 0 {
            day = next_day(day)?;
            if self.is_workday(day)? {
                left -= 1;
            }
        }
        Ok(day)
    }

    /// The last day of an "N 日" period from the event on `anchor`: `n` calendar
    /// days after it, moved to the next working day if that is a rest day or a
    /// holiday.
    pub fn days_after(&self, anchor: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        let mut day = anchor
            .checked_add_days(Days::new(u64::from(n)))
            .ok_or(CalendarError::OutOfRange)?;
        while !self.is_workday(day)? {
            day = next_day(day)?;
        }
        Ok(day)
    }

    /// Counts working days between any two days of `first..=last`, each day
    /// looked up once however many pairs are asked about (the deadline board).
    pub fn span(&self, first: NaiveDate, last: NaiveDate) -> WorkdaySpan {
        WorkdaySpan::new(self, first, last)
    }

    /// The last day of `period` from the event on `anchor`.
    pub fn due(&self, anchor: NaiveDate, period: Period) -> Result<NaiveDate, CalendarError> {
        match period {
            Period::WorkingDays(n) => self.workdays_after(anchor, n),
            Period::Days(n) => self.days_after(anchor, n),
        }
    }
}

/// Working days between two dates by a prefix sum over the span they fall in:
/// each day is looked up in the calendar once, however many deadlines share it.
#[derive(Debug, Clone)]
pub struct WorkdaySpan {
    first: NaiveDate,
    /// `counts[i]`: working days in (first, first + i]; an error from the first
    /// day of a year not loaded on.
    counts: Vec<Result<i64, String>>,
}

impl WorkdaySpan {
    fn new(calendar: &Calendar, first: NaiveDate, last: NaiveDate) -> WorkdaySpan {
        let mut counts = Vec::new();
        let mut total: Result<i64, String> = Ok(0);
        for day in first.iter_days().take_while(|d| *d <= last) {
            if day > first {
                total = match (total, calendar.is_workday(day)) {
                    (Ok(n), Ok(w)) => Ok(n + i64::from(w)),
                    (Ok(_), Err(e)) => Err(e.to_string()),
                    (Err(e), _) => Err(e),
                };
            }
            counts.push(total.clone());
        }
        WorkdaySpan { first, counts }
    }

    /// Working days after `from` up to and including `to`; negative when `to` is
    /// earlier (how many working days overdue).
    pub fn between(&self, from: NaiveDate, to: NaiveDate) -> Result<i64, String> {
        let at = |d: NaiveDate| {
            let i = (d - self.first).num_days();
            self.counts
                .get(usize::try_from(i).unwrap_or(usize::MAX))
                .cloned()
                .unwrap_or_else(|| Err(format!("{d} 不在计算范围内")))
        };
        Ok(at(to)? - at(from)?)
    }
}

fn next_day(d: NaiveDate) -> Result<NaiveDate, CalendarError> {
    d.succ_opt().ok_or(CalendarError::OutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_builtin_table_holds_2021_to_2026_each_with_its_notice() {
        let c = Calendar::builtin();
        let years: Vec<i32> = c.years().map(|t| t.year).collect();
        assert_eq!(years, [2021, 2022, 2023, 2024, 2025, 2026]);
        for t in c.years() {
            assert!(t.notice.contains(&format!("{}年", t.year)), "{}", t.notice);
            assert!(t.notice.contains("国办发明电"), "{}", t.notice);
            assert!(t.published.year() == t.year - 1, "{}", t.year);
        }
    }

    #[test]
    fn make_up_saturdays_work_and_holiday_weekdays_do_not() {
        let c = Calendar::builtin();
        assert_eq!(c.is_workday(d("2026-02-14")), Ok(true), "调休 Saturday");
        assert_eq!(c.is_workday(d("2026-02-23")), Ok(false), "春节 Monday");
        assert_eq!(c.is_workday(d("2026-03-07")), Ok(false), "plain Saturday");
        assert_eq!(c.is_workday(d("2026-03-09")), Ok(true), "plain Monday");
        // 2023's 元旦 began on 31 December 2022.
        assert_eq!(c.is_workday(d("2022-12-31")), Ok(false));
    }

    #[test]
    fn a_span_counts_working_days_both_ways() {
        let c = Calendar::builtin();
        let span = c.span(d("2026-02-10"), d("2026-03-02"));
        // After Fri 13 Feb to Fri 27 Feb: Sat 14 (调休) and 24 to 27 Feb.
        assert_eq!(span.between(d("2026-02-13"), d("2026-02-27")), Ok(5));
        assert_eq!(span.between(d("2026-02-27"), d("2026-02-13")), Ok(-5));
        assert!(span.between(d("2026-02-13"), d("2026-03-03")).is_err());
        let late = c.span(d("2026-12-30"), d("2027-01-05"));
        assert!(late.between(d("2026-12-30"), d("2027-01-04")).is_err());
        assert_eq!(late.between(d("2026-12-30"), d("2026-12-31")), Ok(1));
    }

    #[test]
    fn a_year_not_loaded_is_an_error_naming_it() {
        let c = Calendar::builtin();
        assert_eq!(
            c.is_workday(d("2027-01-04")),
            Err(CalendarError::YearNotLoaded { year: 2027 })
        );
        assert_eq!(
            c.workdays_after(d("2026-12-25"), 10),
            Err(CalendarError::YearNotLoaded { year: 2027 })
        );
        assert!(CalendarError::YearNotLoaded { year: 2027 }
            .to_string()
            .contains("2027 年"));
    }

    #[test]
    fn working_day_periods_skip_spring_festival_and_count_make_up_saturdays() {
        let c = Calendar::builtin();
        // Report received Friday 13 Feb 2026: Sat 14 (调休) is day 1; 15-23 off;
        // 24, 25, 26, 27 are days 2 to 5.
        assert_eq!(c.workdays_after(d("2026-02-13"), 5), Ok(d("2026-02-27")));
        // Ten working days across National Day 2025: 30 Sep is day 1, 1-8 Oct
        // are off, Sat 11 Oct works (day 4), Sun 12 does not.
        assert_eq!(c.workdays_after(d("2025-09-29"), 10), Ok(d("2025-10-20")));
        assert_eq!(c.workdays_after(d("2025-09-29"), 0), Ok(d("2025-09-29")));
    }

    #[test]
    fn day_periods_end_on_the_next_working_day_after_a_rest_day() {
        let c = Calendar::builtin();
        // 15 days from 16 Sep 2025 end on 1 Oct, a holiday: moved to 9 Oct
        // (4-8 Oct off too).
        assert_eq!(c.days_after(d("2025-09-16"), 15), Ok(d("2025-10-09")));
        // Ending on a plain Saturday moves to Monday; on a 调休 Saturday it stays.
        assert_eq!(c.days_after(d("2026-03-01"), 6), Ok(d("2026-03-09")));
        assert_eq!(c.days_after(d("2026-02-07"), 7), Ok(d("2026-02-14")));
        assert_eq!(c.due(d("2026-03-02"), Period::Days(4)), Ok(d("2026-03-06")));
        assert_eq!(
            c.due(d("2026-03-02"), Period::WorkingDays(4)),
            Ok(d("2026-03-06"))
        );
    }

    #[test]
    fn an_override_replaces_its_year_and_a_bad_one_changes_nothing() {
        let extra = r#"
            [years.2027]
            notice = "国务院办公厅关于2027年部分节假日安排的通知（示例）"
            published = 2026-11-01
            days_off = ["2027-01-01..2027-01-03"]
            working_days = []
        "#;
        let c = Calendar::builtin().with_overrides(extra).unwrap();
        assert_eq!(c.is_workday(d("2027-01-01")), Ok(false));
        assert_eq!(c.is_workday(d("2027-01-04")), Ok(true));
        assert!(c.holds(2026));

        for (bad, says) in [
            ("[years.2027]\nnotice = \"x\"\npublished = 2026-11-01\ndays_off = [\"2027-01-03..2027-01-01\"]\nworking_days = []", "日期范围"),
            ("[years.2027]\nnotice = \"x\"\npublished = 2026-11-01\ndays_off = []\nworking_days = [\"2027-01-04\"]", "不是周六或周日"),
            ("[years.2027]\nnotice = \"x\"\npublished = 2026-11-01\ndays_off = [\"2027-01-02\"]\nworking_days = [\"2027-01-02\"]", "既是放假日"),
            ("[years.2027]\nnotice = \"x\"\npublished = 2026-11-01\ndays_off = [\"2029-01-01\"]\nworking_days = []", "不在 2027 年"),
            ("[years.2027]\nnotice = \"x\"\npublished = 2026-11-01\ndays_off = [\"2027/01/01\"]\nworking_days = []", "YYYY-MM-DD"),
            ("[years.twenty]\nnotice = \"x\"\npublished = 2026-11-01\ndays_off = []\nworking_days = []", "不是年份"),
            ("[years.2027]\nnotice = \"x\"\nholidays = []", "unknown field"),
        ] {
            let e = Calendar::builtin().with_overrides(bad).unwrap_err();
            assert!(e.to_string().contains(says), "{bad}: {e}");
        }
    }
}
