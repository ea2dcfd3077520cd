//! Times as endpoint tools write them, to milliseconds since the epoch: RFC 3339
//! (`2026-12-07T10:00:00.123456789Z`, with an offset or a space for the `T`), osquery's
//! `calendarTime` (`Mon Dec  7 10:00:00 2026 UTC`), and epoch numbers in seconds,
//! milliseconds, microseconds or nanoseconds (told apart by size).

use serde_json::Value;

/// A time from a JSON value (a string or a number).
pub fn parse(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map(from_epoch),
        Value::String(s) => {
            let s = s.trim();
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                return s.parse::<f64>().ok().map(|f| from_epoch(f as i64));
            }
            rfc3339(s).or_else(|| calendar(s))
        }
        _ => None,
    }
}

/// Epoch seconds, milliseconds, microseconds or nanoseconds, by magnitude.
fn from_epoch(n: i64) -> i64 {
    match n.unsigned_abs() {
        0..100_000_000_000 => n * 1000,
        100_000_000_000..100_000_000_000_000 => n,
        100_000_000_000_000..100_000_000_000_000_000 => n / 1000,
        _ => n / 1_000_000,
    }
}

fn number(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn at(year: i64, month: i64, day: i64, h: i64, m: i64, sec: i64) -> Option<i64> {
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&h)
        && (0..60).contains(&m)
        && (0..=60).contains(&sec);
    valid.then(|| {
        ((warden_protocol::days_from_civil(year, month, day) * 24 + h) * 60 + m) * 60_000
            + sec * 1000
    })
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|±HH:MM|±HHMM| UTC]`.
fn rfc3339(s: &str) -> Option<i64> {
    let (date, rest) = s.split_at_checked(10)?;
    let mut d = date.split('-');
    let (year, month, day) = (number(d.next()?)?, number(d.next()?)?, number(d.next()?)?);
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let (clock, zone) = rest.split_at_checked(8)?;
    let mut c = clock.split(':');
    let (h, m, sec) = (number(c.next()?)?, number(c.next()?)?, number(c.next()?)?);
    let mut ms = 0;
    let mut zone = zone;
    if let Some(frac) = zone.strip_prefix('.') {
        let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
        let padded = format!("{digits:0<3}");
        ms = number(&padded[..3]).unwrap_or(0);
        zone = &frac[digits.len()..];
    }
    let zone = zone.trim();
    let offset_min = match zone {
        "" | "Z" | "z" | "UTC" | "GMT" => 0,
        z => {
            let sign = match z.chars().next()? {
                '+' => 1,
                '-' => -1,
                _ => return None,
            };
            let hm = z[1..].replace(':', "");
            let (oh, om) = hm.split_at_checked(2)?;
            sign * (number(oh)? * 60 + number(om).unwrap_or(0))
        }
    };
    Some(at(year, month, day, h, m, sec)? + ms - offset_min * 60_000)
}

/// osquery's `calendarTime`: `Mon Dec  7 10:00:00 2026 UTC`.
fn calendar(s: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, month, day, clock, year, ..] = parts.as_slice() else {
        return None;
    };
    let month = MONTHS.iter().position(|m| m == month)? as i64 + 1;
    let mut c = clock.split(':');
    let (h, m, sec) = (number(c.next()?)?, number(c.next()?)?, number(c.next()?)?);
    at(number(year)?, month, number(day)?, h, m, sec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_spelling_of_one_moment_reads_the_same() {
        let ms = 1_796_637_600_123; // 2026-12-07T10:00:00.123Z
        for v in [
            json!("2026-12-07T10:00:00.123Z"),
            json!("2026-12-07T10:00:00.123456789Z"),
            json!("2026-12-07 10:00:00.123Z"),
            json!("2026-12-07T11:00:00.123+01:00"),
            json!("2026-12-07T05:30:00.123-0430"),
            json!(1_796_637_600_123i64),
            json!(1_796_637_600_123_000_000i64),
            json!("1796637600123"),
        ] {
            assert_eq!(parse(&v), Some(ms), "{v}");
        }
        for v in [
            json!(1_796_637_600),
            json!("Mon Dec  7 10:00:00 2026 UTC"),
            json!("2026-12-07 10:00:00Z"),
        ] {
            assert_eq!(parse(&v), Some(ms - 123), "{v}");
        }
        for v in [
            json!("yesterday"),
            json!("2026-13-07T10:00:00Z"),
            json!(null),
            json!(true),
        ] {
            assert_eq!(parse(&v), None, "{v}");
        }
    }

    /// Against the protocol's formatter, which goes the other way, over many moments.
    #[test]
    fn parsing_inverts_the_formatter() {
        let mut t: i64 = -86_400_000 * 365 * 30;
        while t < 86_400_000 * 365 * 200 {
            let text = warden_protocol::utc_time(t).replacen(' ', "T", 1) + "Z";
            assert_eq!(parse(&json!(text)), Some(t - t.rem_euclid(1000)), "{text}");
            t += 7_777_777_777;
        }
    }
}
