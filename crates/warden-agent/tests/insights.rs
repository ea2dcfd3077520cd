//! Insights over a store built by real sessions (the scripted model drives them, the real
//! sandbox runs them, a real SQLite file holds them) with known counts: how many sessions
//! and tool calls, who decided, how long the person took to answer; the suggestion to
//! allow a command approved every time, applied, after which the next identical command
//! runs without a question; and periods that cannot be read are refused by name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::*;
use warden_protocol::*;

/// Run "create a file" and approve it once after `wait`.
async fn approve_after(h: &mut Harness, wait: Duration) {
    let _ = std::fs::remove_file(h.workspace.join("created.txt"));
    let id = h.start("create a file").await;
    let asked = h
        .until(|m| matches!(m, EventMsg::ApprovalRequested { .. }))
        .await;
    let Some(EventMsg::ApprovalRequested { call_id, .. }) = asked.last() else {
        panic!()
    };
    tokio::time::sleep(wait).await;
    h.host
        .submit(
            &id,
            Op::Approval {
                call_id: call_id.clone(),
                decision: ReviewDecision::ApproveOnce,
                message: None,
            },
        )
        .unwrap();
    h.until(turn_over).await;
}

#[tokio::test]
async fn figures_count_real_sessions_and_an_applied_suggestion_stops_the_question() {
    let mut h = harness("responses", "untrusted", None).await;
    let waits = [300, 900, 600];
    for ms in waits {
        approve_after(&mut h, Duration::from_millis(ms)).await;
    }
    h.start("list files").await;
    h.until(turn_over).await;

    let f = h
        .host
        .insights(InsightsParams {
            since: Some("7d".into()),
            until: None,
        })
        .await
        .unwrap();
    assert_eq!(f.sessions, 4);
    assert_eq!(f.sessions_per_day.len(), 7);
    assert_eq!(f.sessions_per_day.last().unwrap().sessions, 4);
    assert_eq!(
        f.workspaces,
        vec![Count {
            name: h.workspace.display().to_string(),
            n: 4
        }]
    );
    assert_eq!(
        f.tools,
        vec![Count {
            name: "shell".into(),
            n: 4
        }]
    );
    let decisions: Vec<(&str, &str, u64)> = f
        .decisions
        .iter()
        .map(|d| (d.outcome.as_str(), d.by.as_str(), d.n))
        .collect();
    assert_eq!(decisions, vec![("allow", "user", 3), ("allow", "rule", 1)]);
    assert_eq!((f.decided, f.by_person), (4, 3));
    // The person took 300, 900 and 600 ms (plus the time the answer took to record).
    let median = f.median_answer_ms.unwrap();
    assert!((600..1_000).contains(&median), "median {median} ms");

    let suggestion = f
        .suggestions
        .iter()
        .find(|s| s.kind == SuggestionKind::AllowCommand)
        .unwrap_or_else(|| panic!("{:#?}", f.suggestions));
    assert_eq!(suggestion.subject, "touch created.txt");
    assert_eq!(suggestion.count, 3);
    assert!(suggestion.can_apply);
    let rule = suggestion.rule.clone().unwrap();
    assert!(
        rule.starts_with(
            "prefix_rule(pattern = [\"touch\", \"created.txt\"], decision = \"allow\""
        ),
        "{rule}"
    );

    let applied = h
        .host
        .apply_suggestion(ApplySuggestionParams {
            kind: suggestion.kind,
            subject: suggestion.subject.clone(),
        })
        .await
        .unwrap();
    let file = h.home.path().join("config/rules/default.rules");
    assert_eq!(applied.file, file.display().to_string());
    // The file holds exactly the rule the suggestion showed.
    assert_eq!(std::fs::read_to_string(&file).unwrap(), format!("{rule}\n"));

    // The next identical command runs without a question, allowed by that rule.
    std::fs::remove_file(h.workspace.join("created.txt")).unwrap();
    h.start("create a file").await;
    let next = h.until(turn_over).await;
    assert!(
        !next
            .iter()
            .any(|m| matches!(m, EventMsg::ApprovalRequested { .. })),
        "{next:#?}"
    );
    assert!(h.workspace.join("created.txt").exists());

    // The change is recorded as the person's, and the suggestion is gone.
    let after = h.host.insights(InsightsParams::default()).await.unwrap();
    assert!(
        !after
            .suggestions
            .iter()
            .any(|s| s.kind == SuggestionKind::AllowCommand),
        "{:#?}",
        after.suggestions
    );
    assert_eq!(after.sessions, 5, "the rule's record is not a session");
    let changes = h
        .host
        .search_events(SearchEventsParams {
            kinds: vec!["configChanged".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(changes.hits.len(), 1, "{:#?}", changes.hits);
}

#[tokio::test]
async fn periods_and_suggestions_that_cannot_be_read_are_refused_by_name() {
    let h = harness("responses", "untrusted", None).await;
    for (since, until, field) in [
        (Some("7x"), None, "since"),
        (Some("2026-02-30"), None, "since"),
        (None, Some("yesterday"), "until"),
    ] {
        let e = h
            .host
            .insights(InsightsParams {
                since: since.map(String::from),
                until: until.map(String::from),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code, "period_invalid");
        assert!(e.message.contains(&format!("`{field}`")), "{}", e.message);
    }
    for (kind, subject) in [
        (SuggestionKind::AllowCommand, "'unclosed"),
        (SuggestionKind::AllowCommand, "  "),
        (SuggestionKind::AllowHost, "not a host!"),
        (SuggestionKind::RefusedHost, "example.com"),
    ] {
        let e = h
            .host
            .apply_suggestion(ApplySuggestionParams {
                kind,
                subject: subject.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code, "suggestion_invalid", "{subject}: {}", e.message);
        assert!(
            e.message.contains(subject.trim()) || e.message.contains("\"refusedHost\""),
            "{}",
            e.message
        );
    }
    assert!(!h.home.path().join("config/rules/default.rules").exists());
}
