//! Tuning suggestions from a period's counts, weighed against the policy in force now:
//! commands and hosts a person approved again and again (and never refused) that a rule
//! could allow, rules that decided nothing, hosts refused many times, sessions with many
//! refusals.

use std::collections::{BTreeMap, HashSet};

use warden_audit::{RollupRow, metric};
use warden_protocol::{Suggestion, SuggestionKind};

use crate::figures::Totals;

/// Approvals of one command or host (and no refusal) before a rule is suggested.
pub const MIN_APPROVALS: u64 = 3;
/// Refusals of one host, or in one session, worth a look.
pub const MIN_REFUSALS: u64 = 5;
/// Most suggestions of each kind.
const MOST: usize = 20;

/// What suggestions need of the policy in force now.
pub trait PolicyNow {
    /// Whether this command now runs without a question.
    fn allows_command(&self, argv: &[String]) -> bool;
    /// Whether a connection to this host is now allowed without a question.
    fn allows_host(&self, host: &str) -> bool;
    /// The rules read from files, each with its source as decisions name it
    /// (`user rules /…/default.rules:3`) and its text.
    fn rules(&self) -> Vec<(String, String)>;
    /// Why no user rule can be written (requirements forbid user rules), if so.
    fn rules_locked(&self) -> Option<String>;
    /// The day it is (`2026-12-07`), for the justification written with a rule.
    fn today(&self) -> String;
}

/// The justification of a rule applied from a suggestion.
pub fn justification(today: &str) -> String {
    format!("allowed from insights by the user on {today}")
}

pub(crate) fn suggestions(rows: &[RollupRow], policy: &dyn PolicyNow) -> Vec<Suggestion> {
    let totals = Totals::of(rows);
    let locked = policy.rules_locked();
    let why = justification(&policy.today());
    let mut out = Vec::new();

    let mut commands = Vec::new();
    for (command, approved) in always_approved(&totals, metric::ASK_COMMAND) {
        let Some(argv) = shlex::split(&command).filter(|a| !a.is_empty()) else {
            continue;
        };
        if policy.allows_command(&argv) {
            continue;
        }
        let rules: Vec<String> = warden_policy::rules::allow_rules(&argv, &why)
            .into_iter()
            .map(|(_, line)| line)
            .collect();
        if rules.is_empty() {
            continue;
        }
        commands.push(allow(
            SuggestionKind::AllowCommand,
            format!("Allow `{command}`: approved {approved} times, never refused"),
            command,
            approved,
            rules.join("\n"),
            &locked,
        ));
    }
    out.extend(capped(commands));

    let mut hosts = Vec::new();
    for (host, approved) in always_approved(&totals, metric::ASK_HOST) {
        if policy.allows_host(&host) {
            continue;
        }
        let rule = warden_policy::rules::network_allow_rule(&host, &why);
        hosts.push(allow(
            SuggestionKind::AllowHost,
            format!("Allow connections to {host}: approved {approved} times, never refused"),
            host,
            approved,
            rule,
            &locked,
        ));
    }
    out.extend(capped(hosts));

    let used: HashSet<&str> = totals.of_metric(metric::RULE).map(|(k, _)| k).collect();
    let unused = policy
        .rules()
        .into_iter()
        .filter(|(source, _)| !used.contains(source.as_str()))
        .map(|(source, text)| Suggestion {
            kind: SuggestionKind::UnusedRule,
            title: format!("`{text}` decided nothing in this period ({source})"),
            subject: source,
            count: 0,
            rule: Some(text),
            can_apply: false,
            why_not: None,
        })
        .collect();
    out.extend(capped(unused));

    let refused = totals
        .pairs(metric::NETWORK)
        .filter(|(outcome, _, n)| *outcome == "deny" && *n >= MIN_REFUSALS)
        .map(|(_, host, n)| Suggestion {
            kind: SuggestionKind::RefusedHost,
            title: format!("{host} was refused {n} times: a misconfiguration, or a probe"),
            subject: host.to_string(),
            count: n,
            rule: None,
            can_apply: false,
            why_not: None,
        })
        .collect();
    out.extend(capped(refused));

    let sessions = totals
        .of_metric(metric::REFUSAL)
        .filter(|(_, n)| *n >= MIN_REFUSALS)
        .map(|(session, n)| Suggestion {
            kind: SuggestionKind::RefusingSession,
            title: format!("Session {session} met {n} refusals"),
            subject: session.to_string(),
            count: n,
            rule: None,
            can_apply: false,
            why_not: None,
        })
        .collect();
    out.extend(capped(sessions));
    out
}

fn allow(
    kind: SuggestionKind,
    title: String,
    subject: String,
    count: u64,
    rule: String,
    locked: &Option<String>,
) -> Suggestion {
    Suggestion {
        kind,
        subject,
        title,
        count,
        rule: Some(rule),
        can_apply: locked.is_none(),
        why_not: locked.clone(),
    }
}

/// Subjects of `metric` (`approved|refused\tsubject`) approved at least `MIN_APPROVALS`
/// times and never refused, with their approvals.
fn always_approved(totals: &Totals, metric: &str) -> Vec<(String, u64)> {
    let mut said: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (answer, subject, n) in totals.pairs(metric) {
        let entry = said.entry(subject).or_default();
        if answer == "approved" {
            entry.0 += n;
        } else {
            entry.1 += n;
        }
    }
    said.into_iter()
        .filter(|(_, (approved, refused))| *refused == 0 && *approved >= MIN_APPROVALS)
        .map(|(subject, (approved, _))| (subject.to_string(), approved))
        .collect()
}

/// Most counted first, at most `MOST`.
fn capped(mut v: Vec<Suggestion>) -> Vec<Suggestion> {
    v.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.subject.cmp(&b.subject))
    });
    v.truncate(MOST);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Policy {
        allowed: Vec<String>,
        rules: Vec<(String, String)>,
        locked: Option<String>,
    }

    impl PolicyNow for Policy {
        fn allows_command(&self, argv: &[String]) -> bool {
            self.allowed.contains(&argv.join(" "))
        }
        fn allows_host(&self, host: &str) -> bool {
            self.allowed.iter().any(|a| a == host)
        }
        fn rules(&self) -> Vec<(String, String)> {
            self.rules.clone()
        }
        fn rules_locked(&self) -> Option<String> {
            self.locked.clone()
        }
        fn today(&self) -> String {
            "2026-12-07".into()
        }
    }

    fn row(metric: &str, key: &str, n: i64) -> RollupRow {
        RollupRow {
            day: 1,
            metric: metric.into(),
            key: key.into(),
            n,
        }
    }

    fn policy() -> Policy {
        Policy {
            allowed: Vec::new(),
            rules: Vec::new(),
            locked: None,
        }
    }

    #[test]
    fn a_command_approved_every_time_is_suggested_with_the_rule_always_allow_writes() {
        let rows = [
            row(metric::ASK_COMMAND, "approved\tcargo test --all", 2),
            row(metric::ASK_COMMAND, "approved\tcargo test --all", 1),
            row(metric::ASK_COMMAND, "approved\tmake", 2),
            row(metric::ASK_COMMAND, "approved\trm -rf build", 5),
            row(metric::ASK_COMMAND, "refused\trm -rf build", 1),
        ];
        let s = suggestions(&rows, &policy());
        assert_eq!(s.len(), 1, "{s:#?}");
        assert_eq!(s[0].kind, SuggestionKind::AllowCommand);
        assert_eq!(s[0].subject, "cargo test --all");
        assert_eq!(s[0].count, 3);
        assert_eq!(
            s[0].rule.as_deref(),
            Some(
                "prefix_rule(pattern = [\"cargo\", \"test\", \"--all\"], decision = \"allow\", \
                 justification = \"allowed from insights by the user on 2026-12-07\")"
            )
        );
        assert!(s[0].can_apply);
    }

    #[test]
    fn nothing_is_suggested_that_the_policy_already_allows() {
        let rows = [
            row(metric::ASK_COMMAND, "approved\tcargo test", 4),
            row(metric::ASK_HOST, "approved\tpypi.org", 4),
        ];
        let mut p = policy();
        assert_eq!(suggestions(&rows, &p).len(), 2);
        p.allowed = vec!["cargo test".into(), "pypi.org".into()];
        assert!(suggestions(&rows, &p).is_empty());
    }

    #[test]
    fn locked_rules_say_why_a_suggestion_cannot_be_applied() {
        let rows = [row(metric::ASK_HOST, "approved\tpypi.org", 3)];
        let mut p = policy();
        p.locked = Some("admin requirement /etc/warden/requirements.toml".into());
        let s = suggestions(&rows, &p);
        assert!(!s[0].can_apply);
        assert!(
            s[0].why_not
                .as_deref()
                .unwrap()
                .contains("requirements.toml")
        );
        assert!(
            s[0].rule
                .as_deref()
                .unwrap()
                .starts_with("network_rule(host = \"pypi.org\"")
        );
    }

    #[test]
    fn unused_rules_refused_hosts_and_refusing_sessions_are_named() {
        let rows = [
            row(metric::RULE, "user rules /r:1", 1),
            row(metric::NETWORK, "deny\tevil.example", 5),
            row(metric::NETWORK, "deny\tonce.example", 4),
            row(metric::REFUSAL, "s-1", 7),
            row(metric::REFUSAL, "s-2", 2),
        ];
        let mut p = policy();
        p.rules = vec![
            ("user rules /r:1".into(), "prefix_rule([\"ls\"])".into()),
            ("user rules /r:2".into(), "prefix_rule([\"rm\"])".into()),
        ];
        let s = suggestions(&rows, &p);
        let kinds: Vec<(SuggestionKind, &str)> =
            s.iter().map(|s| (s.kind, s.subject.as_str())).collect();
        assert_eq!(
            kinds,
            vec![
                (SuggestionKind::UnusedRule, "user rules /r:2"),
                (SuggestionKind::RefusedHost, "evil.example"),
                (SuggestionKind::RefusingSession, "s-1"),
            ]
        );
    }
}
