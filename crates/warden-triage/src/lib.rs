//! Security triage of endpoint alerts from the agent's own record: read the alert
//! (alert.rs), find the governed sessions it came from and why (correlate.rs, over the
//! audit store's lookups), gather the evidence (evidence.rs), reach a verdict with a
//! triage model or Warden's rules (analyze.rs), and render it (report.rs).

pub mod alert;
pub mod analyze;
pub mod correlate;
pub mod evidence;
pub mod report;
pub mod time;

use std::time::Duration;

use warden_audit::{AuditError, AuditStore};
use warden_model::ModelClient;
use warden_protocol::TriageReport;

pub use alert::{Alert, AlertError, Format};

/// How to triage.
pub struct Options<'a> {
    /// How far either side of the alert's time to look.
    pub window: Duration,
    /// The triage model, or why there is none (the rules decide then).
    pub model: Result<&'a ModelClient, String>,
    /// How long the model may take.
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error(transparent)]
    Alert(#[from] AlertError),
    #[error(transparent)]
    Audit(#[from] AuditError),
}

impl warden_protocol::Coded for TriageError {
    fn code(&self) -> warden_protocol::ErrorCode {
        match self {
            Self::Alert(_) => warden_protocol::ErrorCode::AlertInvalid,
            Self::Audit(e) => e.code(),
        }
    }
}

/// Triage the alert `text` against `store`.
pub async fn triage(
    store: &AuditStore,
    text: &str,
    options: &Options<'_>,
) -> Result<TriageReport, TriageError> {
    let alert = alert::parse(text)?;
    let window = options.window.as_millis() as i64;
    let correlation = correlate::correlate(store, &alert, window).await?;
    let evidence = evidence::gather(store, &correlation.matches, |id| {
        correlation.identities.get(id).cloned()
    })
    .await?;
    let analysis = analyze::analyze(
        &alert,
        &correlation,
        &evidence,
        options.model.clone(),
        options.timeout,
    )
    .await;
    // The events the alert matched are evidence whoever decided, cited first.
    let mut cited: Vec<warden_protocol::EvidenceRef> = Vec::new();
    for m in correlation.matches.iter().take(1) {
        for seq in &m.events {
            cited.push(warden_protocol::EvidenceRef {
                session_id: m.session_id.clone(),
                seq: *seq,
                why: "the event the alert matched".into(),
            });
        }
    }
    for e in analysis.evidence {
        if !cited
            .iter()
            .any(|c| c.session_id == e.session_id && c.seq == e.seq)
        {
            cited.push(e);
        }
    }
    Ok(TriageReport {
        alert: alert.summary(),
        verdict: analysis.verdict,
        confidence: analysis.confidence,
        analysis: analysis.analysis,
        model: analysis.model,
        model_unavailable: analysis.model_unavailable,
        summary: analysis.summary,
        matches: correlation.matches,
        evidence: cited,
        counter_evidence: analysis.counter_evidence,
        unknowns: analysis.unknowns,
        next_steps: analysis.next_steps,
    })
}
