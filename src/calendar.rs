//! Time: sim days (week 1 Monday = sim day 1, week N Friday = sim day 5N) mapped onto real
//! working days from a start date (README "Time and replay").

use chrono::{Datelike, Duration, NaiveDate, Weekday as ChronoWeekday};

/// The first working day on or after `date`: the start date of a run begun on a weekend.
pub fn next_working_day(date: NaiveDate) -> NaiveDate {
    let mut d = date;
    while is_weekend(d) {
        d += Duration::days(1);
    }
    d
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), ChronoWeekday::Sat | ChronoWeekday::Sun)
}

/// A start date whose whole roadmap has four-digit years, so migration file names
/// (`yyyymmdd_...`) sort in time order (README "Operating it").
pub fn ensure_usable_start(start: NaiveDate, last_sim_day: u32) -> anyhow::Result<()> {
    let last = if (1000..=9999).contains(&start.year()) {
        date_of(start, last_sim_day)
    } else {
        start
    };
    if !(1000..=9999).contains(&start.year()) || last.year() > 9999 {
        return Err(crate::error::bad_input(format!(
            "--start-date {start}: the roadmap's last week would end on {last}; migration file names need four-digit years"
        ))
        .with_hint("give a start date between 1000-01-01 and 9999-09-30")
        .into());
    }
    Ok(())
}

/// The sim day reached on `today`: the number of working days from `start` through `today`.
/// Zero before the start.
pub fn sim_day_on(start: NaiveDate, today: NaiveDate) -> u32 {
    if today < start {
        return 0;
    }
    let mut days = 0;
    let mut d = start;
    while d <= today {
        if !is_weekend(d) {
            days += 1;
        }
        d += Duration::days(1);
    }
    days
}

/// The real date of a sim day (1-based) under the calendar pace.
pub fn date_of(start: NaiveDate, sim_day: u32) -> NaiveDate {
    let mut d = next_working_day(start);
    let mut left = sim_day.saturating_sub(1);
    while left > 0 {
        d += Duration::days(1);
        if !is_weekend(d) {
            left -= 1;
        }
    }
    d
}

/// Week and weekday name of a sim day, e.g. (1, "Monday").
pub fn describe(sim_day: u32) -> (u32, &'static str) {
    const DAYS: [&str; 5] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"];
    let index = sim_day.max(1) - 1;
    (index / 5 + 1, DAYS[(index % 5) as usize])
}

/// `--now`: a date (`2026-01-05`) or a date and time (`2026-01-05T09:00`), in local time.
pub fn parse_now(text: &str) -> Result<chrono::NaiveDateTime, String> {
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Ok(t);
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
        .map_err(|_| {
            format!("{text:?} is not a date (YYYY-MM-DD) or date and time (YYYY-MM-DDTHH:MM)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn working_days_skip_weekends() {
        let monday = d("2026-01-05");
        assert_eq!(sim_day_on(monday, monday), 1);
        assert_eq!(sim_day_on(monday, d("2026-01-09")), 5);
        assert_eq!(sim_day_on(monday, d("2026-01-11")), 5);
        assert_eq!(sim_day_on(monday, d("2026-01-12")), 6);
        assert_eq!(sim_day_on(monday, d("2026-01-04")), 0);
    }

    #[test]
    fn date_of_is_the_inverse_of_sim_day_on() {
        let start = d("2026-01-07");
        for day in 1..=60 {
            assert_eq!(sim_day_on(start, date_of(start, day)), day);
        }
        assert_eq!(next_working_day(d("2026-01-10")), d("2026-01-12"));
    }
}
