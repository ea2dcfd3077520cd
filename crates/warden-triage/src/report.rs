//! The report people read: plain text for a terminal, Markdown for a ticket. It always
//! says that the verdict is a recommendation and that a person decides.

use warden_protocol::{TriageAnalysis, TriageReport};

/// The report as Markdown.
pub fn markdown(r: &TriageReport) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "# Triage: {}\n\n**Recommendation: {}** (confidence {:.0} %, by {}). A person decides; this does not close the alert.\n\n",
        r.alert.rule.as_deref().unwrap_or("endpoint alert"),
        r.verdict.words(),
        r.confidence * 100.0,
        analysis_words(r)
    ));
    out.push_str(&format!("{}\n\n", r.summary));
    out.push_str("## The alert\n\n");
    for (k, v) in alert_lines(r) {
        out.push_str(&format!("- {k}: `{v}`\n"));
    }
    out.push_str("\n## Matching sessions\n\n");
    if r.matches.is_empty() {
        out.push_str(
            "No Warden session matches: the activity did not come from a governed agent.\n",
        );
    }
    for m in &r.matches {
        out.push_str(&format!(
            "- session `{}`, score {:.2}, events {}\n",
            m.session_id,
            m.score,
            seqs(&m.events)
        ));
        for why in &m.why {
            out.push_str(&format!("  - {why}\n"));
        }
    }
    section(
        &mut out,
        "Evidence",
        r.evidence
            .iter()
            .map(|e| format!("`{}` #{}: {}", e.session_id, e.seq, e.why)),
    );
    section(
        &mut out,
        "Counter-evidence",
        r.counter_evidence.iter().cloned(),
    );
    section(&mut out, "Unknowns", r.unknowns.iter().cloned());
    section(&mut out, "Next steps", r.next_steps.iter().cloned());
    out
}

/// The report as plain text.
pub fn text(r: &TriageReport) -> String {
    let mut out = format!(
        "Recommendation: {} (confidence {:.0} %, by {})\nA person decides; this does not close the alert.\n\n{}\n\nAlert ({}):\n",
        r.verdict.words().to_uppercase(),
        r.confidence * 100.0,
        analysis_words(r),
        r.summary,
        r.alert.format
    );
    for (k, v) in alert_lines(r) {
        out.push_str(&format!("  {k}: {v}\n"));
    }
    out.push_str("\nMatching sessions:\n");
    if r.matches.is_empty() {
        out.push_str("  none: the activity did not come from a governed agent\n");
    }
    for m in &r.matches {
        out.push_str(&format!(
            "  {} (score {:.2}, events {})\n",
            m.session_id,
            m.score,
            seqs(&m.events)
        ));
        for why in &m.why {
            out.push_str(&format!("    - {why}\n"));
        }
    }
    for (title, items) in [
        (
            "Evidence",
            r.evidence
                .iter()
                .map(|e| format!("{} #{}: {}", e.session_id, e.seq, e.why))
                .collect::<Vec<_>>(),
        ),
        ("Counter-evidence", r.counter_evidence.clone()),
        ("Unknowns", r.unknowns.clone()),
        ("Next steps", r.next_steps.clone()),
    ] {
        if items.is_empty() {
            continue;
        }
        out.push_str(&format!("\n{title}:\n"));
        for item in items {
            out.push_str(&format!("  - {item}\n"));
        }
    }
    out
}

fn analysis_words(r: &TriageReport) -> String {
    match (r.analysis, &r.model, &r.model_unavailable) {
        (TriageAnalysis::Model, Some(m), _) => format!("the triage model {m}"),
        (TriageAnalysis::Model, None, _) => "the triage model".into(),
        (TriageAnalysis::Rules, _, Some(why)) => format!("Warden's rules; {why}"),
        (TriageAnalysis::Rules, _, None) => "Warden's rules".into(),
    }
}

fn alert_lines(r: &TriageReport) -> Vec<(&'static str, String)> {
    let a = &r.alert;
    let mut lines = Vec::new();
    let mut push = |k: &'static str, v: Option<String>| {
        if let Some(v) = v {
            lines.push((k, v));
        }
    };
    push("rule", a.rule.clone());
    push("severity", a.severity.clone());
    push("time", a.at.map(warden_protocol::utc_time));
    push("host", a.host.clone());
    push("user", a.user.clone());
    push("process", a.pid.map(|p| p.to_string()));
    push("parent process", a.parent_pid.map(|p| p.to_string()));
    push("executable", a.executable.clone());
    push("command line", a.command_line.clone());
    push("file", a.file_path.clone());
    push("destination", a.destination.clone());
    lines
}

fn seqs(events: &[u64]) -> String {
    events
        .iter()
        .map(|s| format!("#{s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn section(out: &mut String, title: &str, items: impl Iterator<Item = String>) {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        return;
    }
    out.push_str(&format!("\n## {title}\n\n"));
    for item in items {
        out.push_str(&format!("- {item}\n"));
    }
}
