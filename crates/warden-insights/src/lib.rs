//! Insights: how the rollout is going and what to tune. The figures come from the audit
//! store's daily counts (kept as events are committed), so a month over millions of
//! events reads a few thousand rows; suggestions weigh those counts against the policy
//! in force now.

mod figures;
mod period;
mod suggest;

pub use period::{Period, day_name};
pub use suggest::{PolicyNow, justification};

use warden_audit::{AuditError, AuditStore};
use warden_protocol::{ErrorCode, InsightsResponse};

#[derive(Debug, thiserror::Error)]
pub enum InsightsError {
    #[error("{0}")]
    Period(String),
    #[error(transparent)]
    Audit(#[from] AuditError),
}

impl InsightsError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Period(_) => ErrorCode::PeriodInvalid,
            Self::Audit(e) => e.code(),
        }
    }
}

/// The period's figures and the suggestions they support under `policy`.
pub async fn insights(
    store: &AuditStore,
    period: Period,
    policy: &(dyn PolicyNow + Sync),
) -> Result<InsightsResponse, InsightsError> {
    let rows = store.period_counts(period.first, period.last).await?;
    let mut response = figures::figures(&rows, period);
    response.suggestions = suggest::suggestions(&rows, policy);
    Ok(response)
}
