//! Which days a question covers: `7d` (today and the six days before), a date
//! (`2026-11-01`), until a date or today. Days are UTC days, as the counts keep them.

use warden_audit::DAY_MS;

use crate::InsightsError;

/// The longest period asked for at once (ten years).
const MOST_DAYS: i64 = 3660;

/// First and last day (days since 1970-01-01), inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub first: i64,
    pub last: i64,
}

impl Period {
    /// Read `since` (default `30d`) and `until` (default today) at `now` (epoch ms).
    pub fn parse(
        since: Option<&str>,
        until: Option<&str>,
        now: i64,
    ) -> Result<Self, InsightsError> {
        let today = now.div_euclid(DAY_MS);
        let last = match until {
            None => today,
            Some(u) => date(u.trim()).ok_or_else(|| bad("until", u))?,
        };
        let since = since.unwrap_or("30d").trim();
        let first = match since.strip_suffix('d') {
            Some(n) => match n.parse::<i64>() {
                Ok(n) if (1..=MOST_DAYS).contains(&n) => last - n + 1,
                _ => return Err(bad("since", since)),
            },
            None => date(since).ok_or_else(|| bad("since", since))?,
        };
        if first > last {
            return Err(InsightsError::Period(format!(
                "`since` ({since}) is after `until` ({})",
                day_name(last)
            )));
        }
        if last - first >= MOST_DAYS {
            return Err(InsightsError::Period(format!(
                "the period is longer than {MOST_DAYS} days"
            )));
        }
        Ok(Self { first, last })
    }

    pub fn days(&self) -> impl Iterator<Item = i64> {
        self.first..=self.last
    }
}

fn bad(field: &str, value: &str) -> InsightsError {
    InsightsError::Period(format!(
        "`{field}` is {value:?}: expected a number of days (`7d`, `30d`) or a date (`2026-11-01`)"
    ))
}

/// `YYYY-MM-DD` as a day number.
fn date(s: &str) -> Option<i64> {
    let mut parts = s.splitn(3, '-');
    let year: i64 = digits(parts.next()?, 4)?;
    let month: i64 = digits(parts.next()?, 2)?;
    let day: i64 = digits(parts.next()?, 2)?;
    let n = warden_protocol::days_from_civil(year, month, day);
    // Reject dates that do not exist (2026-02-30) by formatting the day back.
    (day_name(n) == s).then_some(n)
}

fn digits(s: &str, len: usize) -> Option<i64> {
    (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `2026-12-07` for a day number.
pub fn day_name(day: i64) -> String {
    warden_protocol::utc_time(day * DAY_MS)[..10].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 20_429 * DAY_MS + 5_000; // 2025-12-07, just after midnight

    #[test]
    fn days_back_count_today() {
        let p = Period::parse(Some("7d"), None, NOW).unwrap();
        assert_eq!((p.first, p.last), (20_423, 20_429));
        assert_eq!(p.days().count(), 7);
        assert_eq!(Period::parse(None, None, NOW).unwrap().days().count(), 30);
        let p = Period::parse(Some("1d"), None, NOW).unwrap();
        assert_eq!((p.first, p.last), (20_429, 20_429));
    }

    #[test]
    fn dates_name_their_days_both_ways() {
        for day in [0, 59, 365, 11_016, 20_429, 24_000] {
            let name = day_name(day);
            let p = Period::parse(Some(&name), Some(&name), NOW).unwrap();
            assert_eq!((p.first, p.last), (day, day), "{name}");
        }
    }

    #[test]
    fn what_cannot_be_read_says_which_field_and_what_was_expected() {
        for (since, until, field) in [
            (Some("7"), None, "since"),
            (Some("0d"), None, "since"),
            (Some("-3d"), None, "since"),
            (Some("99999d"), None, "since"),
            (Some("2026-02-30"), None, "since"),
            (Some("2026-1-01"), None, "since"),
            (Some("last week"), None, "since"),
            (None, Some("tomorrow"), "until"),
            (None, Some("2026-13-01"), "until"),
        ] {
            let e = Period::parse(since, until, NOW).unwrap_err().to_string();
            assert!(e.contains(&format!("`{field}`")), "{e}");
        }
        let e = Period::parse(Some("2026-12-08"), Some("2026-12-01"), NOW).unwrap_err();
        assert!(e.to_string().contains("after"), "{e}");
    }
}
