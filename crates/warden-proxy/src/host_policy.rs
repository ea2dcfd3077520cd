//! Which hosts may be reached: admin requirements first (a denied domain or a host off
//! an admin allowlist is refused whatever else says), then rules and config lists,
//! where deny beats ask beats allow, then answers given for this session, then the
//! setting for hosts nobody named.

use crate::error::ProxyError;
use std::collections::HashSet;

use warden_policy::config::UnknownHosts;
use warden_policy::layers::EffectivePolicy;
use warden_policy::network::HostPattern;
use warden_policy::requirements::Sourced;
use warden_policy::rules::{HostDecision, NetworkRule};
use warden_protocol::PolicySource;

use crate::BlockReason;

/// A host rule with its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRule {
    pub pattern: HostPattern,
    pub decision: HostDecision,
    pub source: PolicySource,
}

/// What the policy says about one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostVerdict {
    pub decision: HostDecision,
    /// For `Deny`: the reason sent to the client.
    pub block: Option<BlockReason>,
    pub source: Option<PolicySource>,
}

/// The host policy.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    pub rules: Vec<HostRule>,
    pub admin_denied: Vec<Sourced<HostPattern>>,
    /// Each admin allowlist; a host must be on all of them.
    pub admin_allowlists: Vec<Sourced<Vec<HostPattern>>>,
    /// `true`: hosts no rule names are refused instead of asked about.
    pub deny_unknown: bool,
    /// `host:port` pairs allowed for the rest of a session, by session id.
    session_allowed: HashSet<(String, String, u16)>,
}

impl HostPolicy {
    /// The policy an effective configuration describes: its requirements, its rules'
    /// `network_rule`s and the `network.allow` / `network.deny` settings.
    pub fn from_effective(policy: &EffectivePolicy) -> Result<Self, ProxyError> {
        let mut out = Self {
            admin_denied: policy.requirements.denied_domains.clone(),
            admin_allowlists: policy.requirements.allowed_domains.clone(),
            deny_unknown: policy.config.network.unknown == UnknownHosts::Deny,
            ..Self::default()
        };
        for rule in &policy.rules.network {
            out.push_rule(rule);
        }
        let network = &policy.config.network;
        for (key, hosts, decision) in [
            ("network.allow", &network.allow, HostDecision::Allow),
            ("network.deny", &network.deny, HostDecision::Deny),
        ] {
            let source = policy
                .values
                .iter()
                .find(|v| v.key == key)
                .map_or(PolicySource::BuiltIn, |v| v.source.clone());
            for (i, host) in hosts.iter().enumerate() {
                let pattern = HostPattern::parse(host)
                    .map_err(|e| ProxyError::setting(format!("{key}[{i}] (from {source})"), e))?;
                out.rules.push(HostRule {
                    pattern,
                    decision,
                    source: source.clone(),
                });
            }
        }
        Ok(out)
    }

    pub fn push_rule(&mut self, rule: &NetworkRule) {
        self.rules.push(HostRule {
            pattern: rule.host.clone(),
            decision: rule.decision,
            source: rule.source.clone(),
        });
    }

    /// Remember an "allow for this session" answer.
    pub fn allow_for_session(&mut self, session: &str, host: &str, port: u16) {
        self.session_allowed
            .insert((session.to_string(), host.to_string(), port));
    }

    /// Decide for `host:port`, asked by a command in `session` (if any).
    pub fn decide(&self, host: &str, port: u16, session: Option<&str>) -> HostVerdict {
        let deny = |block, source: &PolicySource| HostVerdict {
            decision: HostDecision::Deny,
            block: Some(block),
            source: Some(source.clone()),
        };
        if let Some(d) = self
            .admin_denied
            .iter()
            .find(|d| d.value.matches(host, port))
        {
            return deny(BlockReason::Denylist, &d.source);
        }
        if let Some(list) = self
            .admin_allowlists
            .iter()
            .find(|list| !list.value.iter().any(|p| p.matches(host, port)))
        {
            return deny(BlockReason::NotAllowed, &list.source);
        }
        let strictest = self
            .rules
            .iter()
            .filter(|r| r.pattern.matches(host, port))
            .max_by_key(|r| r.decision);
        if let Some(rule) = strictest.filter(|r| r.decision == HostDecision::Deny) {
            return deny(BlockReason::Denylist, &rule.source);
        }
        if let Some(session) = session
            && self
                .session_allowed
                .contains(&(session.to_string(), host.to_string(), port))
        {
            return HostVerdict {
                decision: HostDecision::Allow,
                block: None,
                source: Some(PolicySource::SessionApproval),
            };
        }
        match strictest {
            Some(rule) => HostVerdict {
                decision: rule.decision,
                block: None,
                source: Some(rule.source.clone()),
            },
            None if self.deny_unknown => HostVerdict {
                decision: HostDecision::Deny,
                block: Some(BlockReason::NotAllowed),
                source: None,
            },
            None => HostVerdict {
                decision: HostDecision::Ask,
                block: None,
                source: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(host: &str, decision: HostDecision, path: &str) -> HostRule {
        HostRule {
            pattern: HostPattern::parse(host).unwrap(),
            decision,
            source: PolicySource::UserRules { path: path.into() },
        }
    }

    fn admin() -> PolicySource {
        PolicySource::Requirement {
            path: "/etc/warden/requirements.toml".into(),
        }
    }

    #[test]
    fn deny_beats_ask_beats_allow_and_unknown_hosts_ask() {
        let policy = HostPolicy {
            rules: vec![
                rule("*.example.com", HostDecision::Allow, "a.rules:1"),
                rule("evil.example.com", HostDecision::Deny, "a.rules:2"),
                rule("new.example.com", HostDecision::Ask, "a.rules:3"),
            ],
            ..Default::default()
        };
        let d = |h: &str| policy.decide(h, 443, None);
        assert_eq!(d("api.example.com").decision, HostDecision::Allow);
        assert_eq!(
            d("evil.example.com"),
            HostVerdict {
                decision: HostDecision::Deny,
                block: Some(BlockReason::Denylist),
                source: Some(PolicySource::UserRules {
                    path: "a.rules:2".into()
                }),
            }
        );
        assert_eq!(d("new.example.com").decision, HostDecision::Ask);
        assert_eq!(d("other.org").decision, HostDecision::Ask);
        let strict = HostPolicy {
            deny_unknown: true,
            ..policy
        };
        assert_eq!(
            strict.decide("other.org", 443, None).block,
            Some(BlockReason::NotAllowed)
        );
    }

    #[test]
    fn admin_denials_and_allowlists_cannot_be_overridden() {
        let mut policy = HostPolicy {
            rules: vec![rule("*.corp.example", HostDecision::Allow, "u.rules:1")],
            admin_denied: vec![Sourced {
                value: HostPattern::parse("leak.corp.example").unwrap(),
                source: admin(),
            }],
            admin_allowlists: vec![Sourced {
                value: vec![HostPattern::parse("*.corp.example").unwrap()],
                source: admin(),
            }],
            ..Default::default()
        };
        policy.allow_for_session("s1", "leak.corp.example", 443);
        policy.allow_for_session("s1", "github.com", 443);
        let leak = policy.decide("leak.corp.example", 443, Some("s1"));
        assert_eq!(leak.block, Some(BlockReason::Denylist));
        assert_eq!(leak.source, Some(admin()));
        let off_list = policy.decide("github.com", 443, Some("s1"));
        assert_eq!(off_list.block, Some(BlockReason::NotAllowed));
        assert_eq!(
            policy.decide("git.corp.example", 443, None).decision,
            HostDecision::Allow
        );
    }

    #[test]
    fn session_answers_skip_the_question_but_not_a_denial() {
        let mut policy = HostPolicy {
            rules: vec![rule("bad.example", HostDecision::Deny, "u.rules:1")],
            ..Default::default()
        };
        policy.allow_for_session("s1", "registry.example", 443);
        policy.allow_for_session("s1", "bad.example", 443);
        let allowed = policy.decide("registry.example", 443, Some("s1"));
        assert_eq!(allowed.decision, HostDecision::Allow);
        assert_eq!(allowed.source, Some(PolicySource::SessionApproval));
        assert_eq!(
            policy.decide("registry.example", 443, Some("s2")).decision,
            HostDecision::Ask
        );
        assert_eq!(
            policy.decide("registry.example", 80, Some("s1")).decision,
            HostDecision::Ask
        );
        assert_eq!(
            policy.decide("bad.example", 443, Some("s1")).decision,
            HostDecision::Deny
        );
    }
}
