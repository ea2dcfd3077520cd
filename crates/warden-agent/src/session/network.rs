//! The session's side of the egress proxy: record each network decision in the
//! timeline, and turn the proxy's questions into approval requests answered like any
//! other (once, for the session, always, deny, abort), by auto-review (its rules tier
//! for well-known package registries, its reviewer model for other hosts), or by nobody
//! (denied) when no one can answer.

use tokio::sync::oneshot;
use warden_protocol::{Actor, EventMsg, ReviewDecision};
use warden_proxy::{AskAnswer, AskReply, NetworkAsk};

use warden_policy::router::{QuestionKind, Route, RulesTier};
use warden_review::Action;

use super::approvals::AlwaysRule;
use super::review::Subject;
use super::{Session, Stop};
use crate::egress::{NetworkMsg, SessionEgress};

/// A question waiting for the user.
pub(crate) struct PendingAsk {
    ask: NetworkAsk,
    reply: oneshot::Sender<AskReply>,
}

/// The next message from the proxy; never ready without one.
pub(crate) async fn next(egress: &mut Option<SessionEgress>) -> Option<NetworkMsg> {
    match egress {
        Some(egress) => egress.messages.recv().await,
        None => std::future::pending().await,
    }
}

impl Session {
    /// Record the proxy's messages that have already arrived (e.g. a finished command's
    /// connections, before its result).
    pub(crate) async fn drain_network(&mut self) -> Result<(), Stop> {
        while let Some(msg) = self
            .egress
            .as_mut()
            .and_then(|egress| egress.messages.try_recv().ok())
        {
            self.on_network(msg).await?;
        }
        Ok(())
    }

    pub(crate) async fn on_network(&mut self, msg: NetworkMsg) -> Result<(), Stop> {
        match msg {
            NetworkMsg::Event(event) => {
                self.record(EventMsg::NetworkAccess {
                    call_id: event.call_id,
                    access: event.access,
                })
                .await
            }
            NetworkMsg::Ask { ask, reply } => {
                let call_id = format!("net-{}", uuid::Uuid::now_v7());
                let reason = match &ask.rule {
                    Some(source) => format!(
                        "a network rule from {source} says to ask before {}:{}",
                        ask.host, ask.port
                    ),
                    None => format!("no rule allows {}:{}", ask.host, ask.port),
                };
                let subject = Subject {
                    // The review is recorded with the command that connected.
                    call_id: ask.attribution.call_id.clone().unwrap_or(call_id.clone()),
                    kind: QuestionKind::Network,
                    tier: RulesTier::of_network(ask.rule.is_some(), &ask.host),
                    action: Some(Action::Network {
                        host: ask.host.clone(),
                        port: ask.port,
                        program: ask.program.clone(),
                        command: Some(ask.attribution.command.clone()).filter(|c| !c.is_empty()),
                    }),
                    reasons: vec![reason.clone()],
                    findings: Vec::new(),
                    script: None,
                };
                let (route, review) = self.settle_now(subject).await?;
                match route {
                    Route::Refuse { actor, why } => {
                        let _ = reply.send(AskReply {
                            answer: AskAnswer::Refused(why),
                            actor,
                        });
                        return Ok(());
                    }
                    Route::Approve { actor, .. } => {
                        let _ = reply.send(AskReply {
                            answer: AskAnswer::AllowOnce,
                            actor,
                        });
                        return Ok(());
                    }
                    Route::AskPerson | Route::Review => {}
                }
                let cwd = self.cwd.display().to_string();
                self.record(EventMsg::ApprovalRequested {
                    call_id: call_id.clone(),
                    tool: "network".into(),
                    summary: ask.summary(),
                    cwd,
                    reason: format!("{reason}; the connection waits for your answer"),
                    risk: None,
                    can_always: self.can_always(),
                    expires_at: Some(ask.expires_at_ms),
                    review,
                    hints: Vec::new(),
                })
                .await?;
                self.pending_network
                    .insert(call_id, PendingAsk { ask, reply });
                Ok(())
            }
        }
    }

    /// Pass the user's answer to the waiting connection and record it.
    pub(crate) async fn answer_network(
        &mut self,
        call_id: &str,
        decision: ReviewDecision,
        message: Option<String>,
    ) -> Result<(), Stop> {
        let Some(pending) = self.pending_network.remove(call_id) else {
            return Ok(());
        };
        self.record(EventMsg::ApprovalAnswered {
            call_id: call_id.into(),
            decision,
            actor: Actor::User,
            message,
        })
        .await?;
        // An "always" answer's rule is recorded after the answer itself.
        let answer = match decision {
            ReviewDecision::ApproveOnce => AskAnswer::AllowOnce,
            ReviewDecision::ApproveForSession => AskAnswer::AllowForSession,
            ReviewDecision::ApproveAlways => {
                match self
                    .always_allow(call_id, AlwaysRule::Host(&pending.ask.host))
                    .await?
                {
                    Some(source) => AskAnswer::AllowAlways { source },
                    None => AskAnswer::AllowForSession,
                }
            }
            ReviewDecision::Deny | ReviewDecision::Abort => AskAnswer::Deny,
        };
        let _ = pending.reply.send(AskReply {
            answer,
            actor: Actor::User,
        });
        if decision == ReviewDecision::Abort {
            return Err(Stop::Aborted);
        }
        Ok(())
    }

    /// Questions the proxy stopped waiting for (its ask timeout) are closed as denied.
    pub(crate) async fn expire_network(&mut self) -> Result<(), Stop> {
        let expired: Vec<String> = self
            .pending_network
            .iter()
            .filter(|(_, p)| p.reply.is_closed())
            .map(|(id, _)| id.clone())
            .collect();
        for call_id in expired {
            self.pending_network.remove(&call_id);
            self.record(EventMsg::ApprovalAnswered {
                call_id,
                decision: ReviewDecision::Deny,
                actor: Actor::Default,
                message: Some("no answer in time; the connection was refused".into()),
            })
            .await?;
        }
        Ok(())
    }
}
