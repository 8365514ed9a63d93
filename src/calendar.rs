//! The province's calendar: its time zone (config `timezone`, default `Asia/Ho_Chi_Minh`), the
//! local day a time falls on, and the report periods (a month, a quarter, a half-year, a year, or
//! a range of days) with their bounds as instants.
//!
//! Why a module of its own: a report counts a reading at 23:30 local time on 30 November in
//! November, although it is 16:30 UTC; every boundary a report draws is local midnight, and the
//! hub itself runs in UTC. The zone database is chrono-tz's (compiled in, no build script), so a
//! machine without tzdata draws the same boundaries.

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// The configured time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(Tz);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CalendarError {
    #[error("{0:?} is not a time zone name like Asia/Ho_Chi_Minh")]
    UnknownZone(String),
    #[error("{0:?} is not a period: use 2026-11, 2026-Q4, 2026-H2 or 2026")]
    BadPeriod(String),
    #[error("{0:?} is not a date (YYYY-MM-DD) or an RFC 3339 time")]
    BadDate(String),
    #[error("the period must end after it starts")]
    Empty,
    #[error("a range of days is at most {MAX_DAYS} days long; use a year for more")]
    TooLong,
}

impl Default for Zone {
    fn default() -> Self {
        Zone(chrono_tz::Asia::Ho_Chi_Minh)
    }
}

impl Zone {
    pub fn parse(name: &str) -> Result<Self, CalendarError> {
        name.trim()
            .parse::<Tz>()
            .map(Zone)
            .map_err(|_| CalendarError::UnknownZone(name.to_owned()))
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The local date `ms` falls on.
    pub fn date_of(&self, ms: i64) -> NaiveDate {
        DateTime::<Utc>::from_timestamp_millis(ms)
            .unwrap_or_default()
            .with_timezone(&self.0)
            .date_naive()
    }

    /// The instant local midnight starts `date` (the first instant of the day where a change of
    /// offset skips midnight).
    pub fn midnight(&self, date: NaiveDate) -> i64 {
        let local = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        match self.0.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
                t.timestamp_millis()
            }
            // A gap at midnight: the day starts when the clocks jump, an hour on.
            chrono::LocalResult::None => self
                .0
                .from_local_datetime(&(local + chrono::Duration::hours(1)))
                .earliest()
                .map_or(0, |t| t.timestamp_millis()),
        }
    }

    /// `[start, end)` of the local day `ms` falls on.
    pub fn day_bounds(&self, ms: i64) -> (i64, i64) {
        let date = self.date_of(ms);
        (self.midnight(date), self.midnight(next_day(date)))
    }

    /// `2026-11-30T23:30:00+07:00`: a time as the province reads it.
    pub fn format(&self, ms: i64) -> String {
        DateTime::<Utc>::from_timestamp_millis(ms)
            .unwrap_or_default()
            .with_timezone(&self.0)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    }
}

fn next_day(date: NaiveDate) -> NaiveDate {
    date.succ_opt().unwrap_or(date)
}

/// The longest range of days a report covers (a leap year).
pub const MAX_DAYS: i64 = 366;

/// What a period covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Month,
    Quarter,
    HalfYear,
    Year,
    Range,
}

impl PeriodKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Month => "month",
            Self::Quarter => "quarter",
            Self::HalfYear => "half_year",
            Self::Year => "year",
            Self::Range => "range",
        }
    }
}

/// A report period: local days `[first, last]`, and the instants `[from_ms, to_ms)` they span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub kind: PeriodKind,
    /// `2026-11`, `2026-Q4`, `2026-H2`, `2026`, or `2026-11-01..2026-11-15`.
    pub label: String,
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub from_ms: i64,
    pub to_ms: i64,
}

impl Period {
    /// `2026-11`, `2026-Q4`, `2026-H2` or `2026`.
    pub fn parse(text: &str, zone: Zone) -> Result<Self, CalendarError> {
        let bad = || CalendarError::BadPeriod(text.to_owned());
        let t = text.trim();
        let year = |s: &str| -> Result<i32, CalendarError> {
            match s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) {
                true => s.parse().map_err(|_| bad()),
                false => Err(bad()),
            }
        };
        let (kind, first, months) = match t.split_once('-') {
            None => (PeriodKind::Year, (year(t)?, 1), 12),
            Some((y, rest)) => {
                let y = year(y)?;
                // One canonical spelling per period: `2026-Q4`, never `2026-Q04` or `2026-+4`.
                let index = |prefix: char, max: u32| -> Option<u32> {
                    let digit = rest.strip_prefix(prefix).filter(|d| d.len() == 1)?;
                    let n = digit.chars().next()?.to_digit(10)?;
                    (1..=max).contains(&n).then_some(n)
                };
                if let Some(q) = index('Q', 4) {
                    (PeriodKind::Quarter, (y, (q - 1) * 3 + 1), 3)
                } else if let Some(h) = index('H', 2) {
                    (PeriodKind::HalfYear, (y, (h - 1) * 6 + 1), 6)
                } else {
                    let m: u32 = match rest.len() == 2 && rest.bytes().all(|b| b.is_ascii_digit()) {
                        true => rest.parse().map_err(|_| bad())?,
                        false => return Err(bad()),
                    };
                    if !(1..=12).contains(&m) {
                        return Err(bad());
                    }
                    (PeriodKind::Month, (y, m), 1)
                }
            }
        };
        let first = NaiveDate::from_ymd_opt(first.0, first.1, 1).ok_or_else(bad)?;
        let end = first
            .checked_add_months(Months::new(months))
            .ok_or_else(bad)?;
        let last = end.pred_opt().ok_or_else(bad)?;
        Ok(Self::spanning(kind, t.to_owned(), first, last, zone))
    }

    /// Local days `first..=last`.
    pub fn days(first: NaiveDate, last: NaiveDate, zone: Zone) -> Result<Self, CalendarError> {
        if last < first {
            return Err(CalendarError::Empty);
        }
        if (last - first).num_days() >= MAX_DAYS {
            return Err(CalendarError::TooLong);
        }
        let label = format!("{first}..{last}");
        Ok(Self::spanning(PeriodKind::Range, label, first, last, zone))
    }

    /// `from`/`to` as the API takes them: dates (`to` included) or RFC 3339 times (`to`
    /// excluded; a time is taken to the local day it falls on, since reports count whole days).
    pub fn between(from: &str, to: &str, zone: Zone) -> Result<Self, CalendarError> {
        let first = parse_day(from, zone, false)?;
        let last = parse_day(to, zone, true)?;
        Self::days(first, last, zone)
    }

    fn spanning(
        kind: PeriodKind,
        label: String,
        first: NaiveDate,
        last: NaiveDate,
        zone: Zone,
    ) -> Self {
        Period {
            kind,
            label,
            first,
            last,
            from_ms: zone.midnight(first),
            to_ms: zone.midnight(next_day(last)),
        }
    }

    /// The periods of the regular kinds that end exactly at the local midnight starting
    /// `date` (a month always; a quarter, a half-year and a year when they end too): what the
    /// hub issues when that midnight passes.
    pub fn ending_before(date: NaiveDate, zone: Zone) -> Vec<Period> {
        if date.day() != 1 {
            return Vec::new();
        }
        let Some(prev) = date.pred_opt() else {
            return Vec::new();
        };
        let (y, m) = (prev.year(), prev.month());
        let mut labels = vec![format!("{y}-{m:02}")];
        if m % 3 == 0 {
            labels.push(format!("{y}-Q{}", m / 3));
        }
        if m % 6 == 0 {
            labels.push(format!("{y}-H{}", m / 6));
        }
        if m == 12 {
            labels.push(format!("{y}"));
        }
        labels
            .iter()
            .filter_map(|l| Period::parse(l, zone).ok())
            .collect()
    }

    /// Every local day of the period, in order.
    pub fn each_day(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.first.iter_days().take_while(|d| *d <= self.last)
    }
}

fn parse_day(text: &str, zone: Zone, end: bool) -> Result<NaiveDate, CalendarError> {
    let t = text.trim();
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d);
    }
    let ms = crate::timefmt::parse_rfc3339(t).ok_or_else(|| CalendarError::BadDate(t.into()))?;
    // An exclusive end at local midnight ends the day before.
    let ms = if end { ms - 1 } else { ms };
    Ok(zone.date_of(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vn() -> Zone {
        Zone::default()
    }

    fn at(s: &str) -> i64 {
        crate::timefmt::parse_rfc3339(s).expect("time")
    }

    #[test]
    fn a_month_is_bounded_by_local_midnights() {
        let p = Period::parse("2026-11", vn()).expect("period");
        assert_eq!(p.kind, PeriodKind::Month);
        assert_eq!(p.from_ms, at("2026-10-31T17:00:00Z"));
        assert_eq!(p.to_ms, at("2026-11-30T17:00:00Z"));
        // 23:30 local on the last day belongs to November; 00:30 on 1 December does not.
        let late = at("2026-11-30T23:30:00+07:00");
        assert!(p.from_ms <= late && late < p.to_ms);
        assert!(at("2026-12-01T00:30:00+07:00") >= p.to_ms);
        assert_eq!(vn().date_of(late).to_string(), "2026-11-30");
    }

    #[test]
    fn quarters_halves_and_years() {
        let q = Period::parse("2026-Q4", vn()).expect("q4");
        assert_eq!(
            (q.first.to_string(), q.last.to_string()),
            ("2026-10-01".into(), "2026-12-31".into())
        );
        let h = Period::parse("2026-H1", vn()).expect("h1");
        assert_eq!(h.last.to_string(), "2026-06-30");
        assert_eq!(h.kind, PeriodKind::HalfYear);
        let y = Period::parse("2024", vn()).expect("year");
        assert_eq!(y.each_day().count(), 366);
        assert_eq!(y.to_ms - y.from_ms, 366 * 86_400_000);
        for bad in [
            "2026-13", "2026-Q5", "2026-H3", "26-11", "2026-1", "november", "2026-Q",
        ] {
            assert!(Period::parse(bad, vn()).is_err(), "{bad}");
        }
    }

    #[test]
    fn ranges_take_dates_inclusive_and_times_exclusive() {
        let r = Period::between("2026-11-01", "2026-11-15", vn()).expect("range");
        assert_eq!(r.each_day().count(), 15);
        assert_eq!(r.label, "2026-11-01..2026-11-15");
        let t = Period::between(
            "2026-11-01T00:00:00+07:00",
            "2026-11-16T00:00:00+07:00",
            vn(),
        )
        .expect("times");
        assert_eq!((t.first, t.last), (r.first, r.last));
        assert_eq!(
            Period::between("2026-11-15", "2026-11-01", vn()),
            Err(CalendarError::Empty)
        );
        assert_eq!(
            Period::between("0001-01-01", "9999-12-31", vn()),
            Err(CalendarError::TooLong),
            "a report's days are listed one by one: the range is bounded"
        );
        assert!(
            Period::between("2024-01-01", "2024-12-31", vn()).is_ok(),
            "a leap year"
        );
    }

    #[test]
    fn the_periods_a_midnight_ends() {
        let labels = |d: &str| -> Vec<String> {
            let date = NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("date");
            Period::ending_before(date, vn())
                .into_iter()
                .map(|p| p.label)
                .collect()
        };
        assert_eq!(labels("2026-12-01"), ["2026-11"]);
        assert_eq!(
            labels("2027-01-01"),
            ["2026-12", "2026-Q4", "2026-H2", "2026"]
        );
        assert_eq!(labels("2026-07-01"), ["2026-06", "2026-Q2", "2026-H1"]);
        assert!(labels("2026-12-02").is_empty());
    }

    #[test]
    fn zones_with_daylight_saving_still_have_whole_days() {
        let berlin = Zone::parse("Europe/Berlin").expect("zone");
        let march = Period::parse("2026-03", berlin).expect("march");
        // 31 days minus the hour the clocks jump forward.
        assert_eq!(march.to_ms - march.from_ms, 31 * 86_400_000 - 3_600_000);
        assert!(Zone::parse("Mars/Olympus_Mons").is_err());
        assert_eq!(
            vn().format(at("2026-11-30T16:30:00Z")),
            "2026-11-30T23:30:00+07:00"
        );
    }
}
