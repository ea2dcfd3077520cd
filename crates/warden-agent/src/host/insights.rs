//! Insights through the host (`warden insights`, the Insights view): the period's
//! figures from the audit store's daily counts, suggestions weighed against the policy in
//! force now, and applying an allow suggestion: the rule an "always allow" would write,
//! in the user's rules, recorded as the person's config change in a session of its own.

use std::path::Path;

use warden_insights::{Period, PolicyNow};
use warden_policy::layers::{self, EffectivePolicy, SessionChoices};
use warden_policy::rules::HostDecision;
use warden_protocol::{
    Actor, ApplySuggestionParams, ApplySuggestionResponse, EventMsg, InsightsParams,
    InsightsResponse, PolicySource, SuggestionKind, Verdict,
};
use warden_proxy::HostPolicy;

use super::{Host, HostError};

impl Host {
    pub(crate) async fn insights(
        &self,
        params: InsightsParams,
    ) -> Result<InsightsResponse, HostError> {
        let now = crate::now_ms();
        let period = Period::parse(params.since.as_deref(), params.until.as_deref(), now)?;
        let policy = PolicyHere::new(self.policy(None, SessionChoices::default())?, now)?;
        Ok(warden_insights::insights(&self.store, period, &policy).await?)
    }

    /// Write the rule an allow suggestion names to the user's rules, and record it.
    pub(crate) async fn apply_suggestion(
        &self,
        params: ApplySuggestionParams,
    ) -> Result<ApplySuggestionResponse, HostError> {
        let policy = self.policy(None, SessionChoices::default())?;
        if let Some(source) = &policy.requirements.user_rules_forbidden {
            return Err(HostError::SuggestionInvalid(format!(
                "user rules are not allowed by {source}: the suggestion cannot be applied"
            )));
        }
        let file = layers::user_rules_dir(&self.paths).join("default.rules");
        let now = crate::now_ms();
        let why = warden_insights::justification(&warden_insights::day_name(
            now.div_euclid(warden_audit::DAY_MS),
        ));
        let subject = params.subject.trim();
        let change = match params.kind {
            SuggestionKind::AllowCommand => {
                let argv = shlex::split(subject)
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| {
                        HostError::SuggestionInvalid(format!(
                            "`subject` {subject:?} is not a command line"
                        ))
                    })?;
                let rules =
                    warden_policy::rules::append_allow_rules(&file, &argv, &why, self.rules)?;
                if rules.is_empty() {
                    return Err(HostError::SuggestionInvalid(format!(
                        "`subject` {subject:?} runs no program a rule can allow"
                    )));
                }
                rules
                    .iter()
                    .map(|r| format!("prefix_rule({}) = allow", r.text))
                    .collect::<Vec<_>>()
                    .join("; ")
            }
            SuggestionKind::AllowHost => {
                warden_policy::network::HostPattern::parse(subject).map_err(|e| {
                    HostError::SuggestionInvalid(format!("`subject` {subject:?}: {}", e.0))
                })?;
                warden_policy::rules::append_network_allow(&file, subject, &why, self.rules)?;
                format!("network_rule({subject}) = allow")
            }
            other => {
                let kind = serde_json::to_value(other).unwrap_or_default();
                return Err(HostError::SuggestionInvalid(format!(
                    "`kind` {kind}: only allowCommand and allowHost suggestions have a rule to apply"
                )));
            }
        };
        let file = file.display().to_string();
        // Recorded as the person's change, in a session of its own (exported with the
        // rest), like an "always allow" answer's.
        self.record_apart(
            "insights",
            vec![
                EventMsg::ConfigChanged {
                    call_id: None,
                    file: file.clone(),
                    change: change.clone(),
                    actor: Actor::User,
                    error: None,
                },
                EventMsg::SessionEnded {
                    reason: "insights suggestion applied".into(),
                },
            ],
        )
        .await?;
        Ok(ApplySuggestionResponse { file, change })
    }
}

/// The policy in force now, as suggestions weigh it (no workspace: user and admin
/// layers).
struct PolicyHere {
    policy: EffectivePolicy,
    hosts: HostPolicy,
    now: i64,
}

impl PolicyHere {
    fn new(policy: EffectivePolicy, now: i64) -> Result<Self, HostError> {
        let hosts = HostPolicy::from_effective(&policy)?;
        Ok(Self { policy, hosts, now })
    }
}

impl PolicyNow for PolicyHere {
    fn allows_command(&self, argv: &[String]) -> bool {
        self.policy.check(argv, Path::new("/")).verdict == Verdict::Allow
    }

    fn allows_host(&self, host: &str) -> bool {
        self.hosts.decide(host, 443, None).decision == HostDecision::Allow
    }

    fn rules(&self) -> Vec<(String, String)> {
        self.policy
            .rules
            .prefix_rules()
            .iter()
            .filter(|r| r.source != PolicySource::BuiltIn)
            .map(|r| (r.source.to_string(), r.text.clone()))
            .collect()
    }

    fn rules_locked(&self) -> Option<String> {
        self.policy
            .requirements
            .user_rules_forbidden
            .as_ref()
            .map(|source| format!("user rules are not allowed by {source}"))
    }

    fn today(&self) -> String {
        warden_insights::day_name(self.now.div_euclid(warden_audit::DAY_MS))
    }
}
