//! The session's questions: each goes through the one router (`warden_policy::router`),
//! which says whether it is refused, approved by auto-review, or put to the person; this
//! module records what the route says, waits for a person's answer, and writes the rule
//! an "always allow" answer asks for (one implementation for commands and hosts).

use warden_policy::router::Route;
use warden_protocol::{Actor, EventMsg, Op, PolicySource, ReviewDecision};

use super::{Session, Stop};

/// What an "always allow" answer adds to the user's rules.
pub(super) enum AlwaysRule<'a> {
    /// An exact-command rule for each program the command runs.
    Command(&'a [String]),
    /// An exact-host network rule.
    Host(&'a str),
}

impl Session {
    /// Record a route that answered without a person; returns the refusal's reason, or
    /// `None` for an approval. `AskPerson` is the caller's to handle.
    pub(super) async fn record_route(
        &mut self,
        call_id: &str,
        route: &Route,
    ) -> Result<Option<String>, Stop> {
        let (decision, actor, why) = match route {
            Route::Approve { actor, why } => (ReviewDecision::ApproveOnce, *actor, why),
            Route::Refuse { actor, why } => (ReviewDecision::Deny, *actor, why),
            Route::AskPerson | Route::Review => return Ok(None),
        };
        self.record(EventMsg::ApprovalAnswered {
            call_id: call_id.into(),
            decision,
            actor,
            message: Some(why.clone()),
        })
        .await?;
        Ok(matches!(route, Route::Refuse { .. }).then(|| why.clone()))
    }

    /// Show an approval request, wait for the person's answer, and record it.
    pub(super) async fn ask_user(
        &mut self,
        call_id: &str,
        request: EventMsg,
    ) -> Result<(ReviewDecision, Option<String>), Stop> {
        self.record(request).await?;
        let (answer, message) = self.wait_for_approval(call_id).await?;
        self.record(EventMsg::ApprovalAnswered {
            call_id: call_id.into(),
            decision: answer,
            actor: Actor::User,
            message: message.clone(),
        })
        .await?;
        Ok((answer, message))
    }

    async fn wait_for_approval(
        &mut self,
        call_id: &str,
    ) -> Result<(ReviewDecision, Option<String>), Stop> {
        loop {
            match self.ops.recv().await {
                Some(Op::Approval {
                    call_id: id,
                    decision,
                    message,
                }) if id == call_id => return Ok((decision, message)),
                Some(Op::Approval { call_id: other, .. }) => {
                    tracing::debug!(other, "approval for another call ignored")
                }
                Some(Op::Interrupt) => return Err(Stop::Interrupted),
                Some(Op::Shutdown) | None => return Err(Stop::Shutdown),
                Some(op @ Op::UserTurn { .. }) => self.queued.push_back(op),
            }
        }
    }

    /// Whether an "always allow" answer may be offered: requirements leave user rules
    /// writable.
    pub(super) fn can_always(&self) -> bool {
        self.user_rules_file.is_some()
    }

    /// Write the rule an "always allow" answer asks for and record the change (after the
    /// answer). Returns the new rule's source; `None` when it could not be written (the
    /// answer then holds for this session only; the failure is recorded) or user rules
    /// are not allowed.
    pub(super) async fn always_allow(
        &mut self,
        call_id: &str,
        rule: AlwaysRule<'_>,
    ) -> Result<Option<PolicySource>, Stop> {
        let Some(file) = self.user_rules_file.clone() else {
            return Ok(None);
        };
        let justification = always_justification();
        let written = match rule {
            AlwaysRule::Command(argv) => warden_policy::rules::append_allow_rules(
                &file,
                argv,
                &justification,
                self.rules_language,
            )
            .map(|rules| {
                let change = rules
                    .iter()
                    .map(|r| format!("prefix_rule({}) = allow", r.text))
                    .collect::<Vec<_>>()
                    .join("; ");
                let source = rules.first().map(|r| r.source.clone());
                for rule in rules {
                    self.rules.push_prefix(rule);
                }
                (change, source)
            })
            .map_err(|e| {
                let program = argv.first().map(String::as_str).unwrap_or_default();
                (format!("always allow `{program}` …"), e)
            }),
            AlwaysRule::Host(host) => warden_policy::rules::append_network_allow(
                &file,
                host,
                &justification,
                self.rules_language,
            )
            .map(|source| (format!("network_rule({host}) = allow"), Some(source)))
            .map_err(|e| (format!("network_rule({host}) = allow"), e)),
        };
        let (change, source, error) = match written {
            Ok((change, source)) => {
                self.policy_version += 1;
                (change, source, None)
            }
            Err((change, e)) => {
                tracing::error!("cannot write the always-allow rule: {e}");
                (change, None, Some(e.to_string()))
            }
        };
        self.record(EventMsg::ConfigChanged {
            call_id: Some(call_id.to_string()),
            file: file.display().to_string(),
            change,
            actor: Actor::User,
            error,
        })
        .await?;
        Ok(source)
    }
}

/// The justification of a rule written by an "always allow" answer.
fn always_justification() -> String {
    format!(
        "always allowed by the user on {}",
        &warden_protocol::utc_time(crate::now_ms())[..10]
    )
}
