//! Cron: standard 5-field crontab expressions, evaluated with the `cron` crate.
//!
//! The `cron` crate wants a seconds field and numbers days of the week 1 (Sunday) to 7, where
//! crontab numbers them 0 or 7 (Sunday) to 6 (Saturday). Passing `0 9 * * 1-5` through unchanged
//! would run Sunday to Thursday; so the day-of-week field is rewritten as day names.

use std::str::FromStr;

use anyhow::Result;
use chrono::{DateTime, TimeZone};

use crate::error::bad_input;

const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// A parsed crontab expression.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    pub expression: String,
    schedule: cron::Schedule,
}

impl CronSchedule {
    pub fn parse(expression: &str) -> Result<CronSchedule> {
        let fields: Vec<&str> = expression.split_whitespace().collect();
        let invalid = |why: String| {
            bad_input(format!("--cron {expression:?}: {why}"))
                .with_hint("use a standard 5-field crontab expression: minute hour day-of-month month day-of-week, e.g. \"0 9 * * 1-5\"")
        };
        if fields.len() != 5 {
            return Err(invalid(format!("{} fields, expected 5", fields.len())).into());
        }
        for (field, (name, lo, hi)) in fields.iter().zip([
            ("minute", 0, 59),
            ("hour", 0, 23),
            ("day of month", 1, 31),
            ("month", 1, 12),
        ]) {
            check_range(field, name, lo, hi).map_err(&invalid)?;
        }
        let days = day_names(fields[4]).map_err(&invalid)?;
        let six = format!(
            "0 {} {} {} {} {days}",
            fields[0], fields[1], fields[2], fields[3]
        );
        let schedule = cron::Schedule::from_str(&six).map_err(|err| invalid(err.to_string()))?;
        if schedule.upcoming(chrono::Utc).next().is_none() {
            return Err(invalid(
                "it never fires (no date matches it, e.g. day 31 of a month that has 30)".into(),
            )
            .into());
        }
        Ok(CronSchedule {
            expression: expression.to_string(),
            schedule,
        })
    }

    /// The next `count` fire times strictly after `after`.
    pub fn upcoming<Tz: TimeZone>(&self, after: &DateTime<Tz>, count: usize) -> Vec<DateTime<Tz>> {
        self.schedule.after(after).take(count).collect()
    }
}

/// Every number in a crontab field (`5`, `1-5`, `*/15`, `1,15`) within `lo..=hi`; names (`jan`)
/// are left to the cron crate.
fn check_range(field: &str, name: &str, lo: u32, hi: u32) -> Result<(), String> {
    for item in field.split(',') {
        let (range, step) = item.split_once('/').unwrap_or((item, "1"));
        if step.parse::<u32>().map_or(true, |s| s == 0) {
            return Err(format!("bad step in {name} {item:?}"));
        }
        for part in range.split('-').filter(|p| *p != "*") {
            if part.chars().all(|c| c.is_ascii_alphabetic()) && !part.is_empty() {
                continue;
            }
            match part.parse::<u32>() {
                Ok(n) if (lo..=hi).contains(&n) => {}
                _ => return Err(format!("{name} {part:?} is out of range {lo}-{hi}")),
            }
        }
    }
    Ok(())
}

/// Rewrites a crontab day-of-week field (`*`, `1-5`, `0,6`, `*/2`, `mon-fri`, `7`) as a list of
/// day names the `cron` crate reads the same way.
fn day_names(field: &str) -> Result<String, String> {
    if field == "*" || field == "?" {
        return Ok("*".to_string());
    }
    let mut days = [false; 7];
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<usize>()
                    .map_err(|_| format!("bad step in {item:?}"))?,
            ),
            None => (item, 1),
        };
        if step == 0 {
            return Err(format!("step 0 in {item:?}"));
        }
        let (from, to) = match range {
            "*" => (0, 6),
            _ => match range.split_once('-') {
                Some((a, b)) => (day_number(a)?, day_number(b)?),
                None => {
                    let d = day_number(range)?;
                    (d, if item.contains('/') { 6 } else { d })
                }
            },
        };
        if from > to && to != 0 {
            return Err(format!("range {range:?} runs backwards"));
        }
        // crontab allows 7 for Sunday at the end of a range (5-7).
        let to = if to == 0 && from > 0 { 7 } else { to };
        for d in (from..=to).step_by(step) {
            days[d % 7] = true;
        }
    }
    let names: Vec<&str> = (0..7).filter(|d| days[*d]).map(|d| DAY_NAMES[d]).collect();
    Ok(names.join(","))
}

/// 0..=7 (0 and 7 are Sunday) or a three-letter name.
fn day_number(token: &str) -> Result<usize, String> {
    if let Ok(n) = token.parse::<usize>() {
        return if n <= 7 {
            Ok(if n == 7 { 0 } else { n })
        } else {
            Err(format!("day of week {n} is not 0-7"))
        };
    }
    DAY_NAMES
        .iter()
        .position(|name| name.eq_ignore_ascii_case(token))
        .ok_or_else(|| format!("{token:?} is not a day of the week"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, NaiveDate, Utc, Weekday};

    #[test]
    fn weekdays_mean_monday_to_friday() {
        assert_eq!(day_names("1-5").unwrap(), "MON,TUE,WED,THU,FRI");
        assert_eq!(day_names("0,6").unwrap(), "SUN,SAT");
        assert_eq!(day_names("7").unwrap(), "SUN");
        assert_eq!(day_names("5-7").unwrap(), "SUN,FRI,SAT");
        assert_eq!(day_names("mon-wed").unwrap(), "MON,TUE,WED");
        assert_eq!(day_names("*/2").unwrap(), "SUN,TUE,THU,SAT");
        assert!(day_names("8").is_err());
    }

    #[test]
    fn a_weekday_schedule_never_fires_on_weekends() {
        let schedule = CronSchedule::parse("0 9 * * 1-5").unwrap();
        let friday = Utc.from_utc_datetime(
            &NaiveDate::from_ymd_opt(2026, 1, 9)
                .unwrap()
                .and_hms_opt(10, 0, 0)
                .unwrap(),
        );
        let next = schedule.upcoming(&friday, 3);
        assert_eq!(next[0].weekday(), Weekday::Mon);
        assert_eq!(
            next[0].date_naive(),
            NaiveDate::from_ymd_opt(2026, 1, 12).unwrap()
        );
        assert!(next
            .iter()
            .all(|t| t.weekday() != Weekday::Sat && t.weekday() != Weekday::Sun));
    }

    #[test]
    fn bad_expressions_are_user_errors() {
        let err = CronSchedule::parse("0 9 * *").unwrap_err();
        assert_eq!(crate::error::exit_code_of(&err), 2);
        assert!(CronSchedule::parse("0 25 * * *").is_err());
    }
}
