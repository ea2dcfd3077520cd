//! Wire types shared by the core, the desktop shell, `warden serve` and the UI.
//!
//! Everything here is plain data: camelCase on the wire, tagged unions with `type`,
//! timestamps as integer milliseconds named `*_at`. TypeScript types are generated
//! from these definitions (see `typescript.rs`) and committed under `ui/src/generated/`.

mod api;
mod credentials;
mod error;
mod event;
mod insights;
mod op;
mod policy;
mod review;
mod settings;
mod triage;
pub mod typescript;

pub use api::*;
pub use credentials::*;
pub use error::*;
pub use event::*;
pub use insights::*;
pub use op::*;
pub use policy::*;
pub use review::*;
pub use settings::*;
pub use triage::*;

/// An error with its causes (`error sending request: … invalid peer certificate:
/// UnknownIssuer`), for messages people read: HTTP and TLS errors put the reason in
/// their sources.
pub fn error_with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm); the inverse of
/// the date part of [`utc_time`].
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// UTC `YYYY-MM-DD HH:MM:SS` from Unix epoch milliseconds (the `*_at` fields).
pub fn utc_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
