//! Which approvals wait for an answer, followed from the core's event stream: the tray's
//! count and the notifications come from here. The same rules as the UI's transcript: a
//! question waits from `approvalRequested` until its `approvalAnswered`, or until its turn
//! is aborted or its session ends.

use std::collections::BTreeMap;

use warden_protocol::{Event, EventMsg};

/// One question waiting for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub session_id: String,
    pub call_id: String,
    /// `shell`, `network`, an MCP tool…
    pub tool: String,
    /// The action in one line, as the approval card shows it.
    pub summary: String,
}

/// The questions waiting, by session, in the order they were asked.
#[derive(Default, Debug)]
pub struct Waiting {
    by_session: BTreeMap<String, Vec<Question>>,
}

impl Waiting {
    /// Follow one event. Returns the question when this event made it wait.
    pub fn apply(&mut self, event: &Event) -> Option<Question> {
        match &event.msg {
            EventMsg::ApprovalRequested {
                call_id,
                tool,
                summary,
                ..
            } => {
                let questions = self.by_session.entry(event.session_id.clone()).or_default();
                if questions.iter().any(|q| &q.call_id == call_id) {
                    return None;
                }
                let question = Question {
                    session_id: event.session_id.clone(),
                    call_id: call_id.clone(),
                    tool: tool.clone(),
                    summary: summary.clone(),
                };
                questions.push(question.clone());
                Some(question)
            }
            EventMsg::ApprovalAnswered { call_id, .. } => {
                if let Some(questions) = self.by_session.get_mut(&event.session_id) {
                    questions.retain(|q| &q.call_id != call_id);
                    if questions.is_empty() {
                        self.by_session.remove(&event.session_id);
                    }
                }
                None
            }
            EventMsg::TurnAborted { .. } | EventMsg::SessionEnded { .. } => {
                self.by_session.remove(&event.session_id);
                None
            }
            _ => None,
        }
    }

    /// How many questions wait, across every session.
    pub fn count(&self) -> usize {
        self.by_session.values().map(Vec::len).sum()
    }
}

/// Words for a count: the tray's menu and tooltip.
pub fn count_words(count: usize) -> String {
    match count {
        0 => "No approvals waiting".to_string(),
        1 => "1 approval waiting".to_string(),
        n => format!("{n} approvals waiting"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;
    use warden_protocol::{Actor, ReviewDecision};

    use super::*;

    fn event(session: u8, msg: EventMsg) -> Event {
        Event {
            session_id: format!("s{session}"),
            seq: None,
            created_at: 0,
            turn: None,
            msg,
        }
    }

    fn asked(session: u8, call: u8) -> Event {
        event(
            session,
            EventMsg::ApprovalRequested {
                call_id: format!("c{call}"),
                tool: "shell".into(),
                summary: format!("run {call}"),
                cwd: "/w".into(),
                reason: "asks".into(),
                risk: None,
                can_always: true,
                expires_at: None,
                review: None,
                hints: Vec::new(),
            },
        )
    }

    fn answered(session: u8, call: u8) -> Event {
        event(
            session,
            EventMsg::ApprovalAnswered {
                call_id: format!("c{call}"),
                decision: ReviewDecision::ApproveOnce,
                actor: Actor::User,
                message: None,
            },
        )
    }

    #[derive(Clone, Debug)]
    enum Step {
        Ask(u8, u8),
        Answer(u8, u8),
        Abort(u8),
        End(u8),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => (0u8..3, 0u8..5).prop_map(|(s, c)| Step::Ask(s, c)),
            3 => (0u8..3, 0u8..5).prop_map(|(s, c)| Step::Answer(s, c)),
            1 => (0u8..3).prop_map(Step::Abort),
            1 => (0u8..3).prop_map(Step::End),
        ]
    }

    proptest! {
        /// Against the plainest model (a set of session/call pairs): the count always
        /// agrees, and a question is reported as new exactly when it was not waiting.
        #[test]
        fn count_follows_a_set_of_open_questions(steps in prop::collection::vec(step(), 0..60)) {
            let mut waiting = Waiting::default();
            let mut open: BTreeSet<(u8, u8)> = BTreeSet::new();
            for step in steps {
                match step {
                    Step::Ask(s, c) => {
                        let new = waiting.apply(&asked(s, c));
                        prop_assert_eq!(new.is_some(), open.insert((s, c)));
                        if let Some(q) = new {
                            prop_assert_eq!(q.call_id, format!("c{c}"));
                            prop_assert_eq!(q.session_id, format!("s{s}"));
                        }
                    }
                    Step::Answer(s, c) => {
                        prop_assert!(waiting.apply(&answered(s, c)).is_none());
                        open.remove(&(s, c));
                    }
                    Step::Abort(s) => {
                        waiting.apply(&event(s, EventMsg::TurnAborted { reason: "stopped".into() }));
                        open.retain(|(os, _)| *os != s);
                    }
                    Step::End(s) => {
                        waiting.apply(&event(s, EventMsg::SessionEnded { reason: "closed".into() }));
                        open.retain(|(os, _)| *os != s);
                    }
                }
                prop_assert_eq!(waiting.count(), open.len());
            }
        }
    }

    #[test]
    fn words_for_counts() {
        assert_eq!(count_words(0), "No approvals waiting");
        assert_eq!(count_words(1), "1 approval waiting");
        assert_eq!(count_words(12), "12 approvals waiting");
    }
}
