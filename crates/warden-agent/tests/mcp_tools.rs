//! Per-tool approval of MCP servers, with the server's annotations shown as its own
//! claims and never deciding; an admin's pins. Real sessions against the stdio server on
//! the official Python SDK (tests/mcp/server.py: `echo`; `read_text`, annotated
//! read-only).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::*;
use warden_protocol::*;

fn decision(events: &[EventMsg]) -> (Verdict, Reason) {
    events
        .iter()
        .find_map(|m| match m {
            EventMsg::Decision {
                verdict, reasons, ..
            } => Some((*verdict, reasons[0].clone())),
            _ => None,
        })
        .expect("a decision")
}

fn called(events: &[EventMsg]) -> bool {
    events.iter().any(|m| matches!(m, EventMsg::McpCall { .. }))
}

/// A session in which the model calls the demo server's `echo`, with the server's
/// `settings`; its events up to the turn's end.
async fn echo_turn(settings: &[&str]) -> Vec<EventMsg> {
    let mut h = harness_configured("untrusted", mcp_demo(settings)).await;
    h.start("echo through mcp").await;
    h.until(turn_over).await
}

#[tokio::test]
async fn a_tools_own_approval_decides_over_the_servers() {
    // The server asks; its `echo` is allowed on its own.
    let events = echo_turn(&["approval=\"ask\"", "tools.echo.approval=\"allow\""]).await;
    let (verdict, reason) = decision(&events);
    assert_eq!(verdict, Verdict::Allow);
    assert_eq!(reason.rule, "mcp_servers.demo.tools.echo.approval");
    assert!(called(&events));
    assert!(
        !events
            .iter()
            .any(|m| matches!(m, EventMsg::ApprovalRequested { .. }))
    );

    // Denied on its own while the server allows: refused, never called.
    let events = echo_turn(&["approval=\"allow\"", "tools.echo.approval=\"deny\""]).await;
    let (verdict, reason) = decision(&events);
    assert_eq!(verdict, Verdict::Forbidden);
    assert_eq!(reason.rule, "mcp_servers.demo.tools.echo.approval");
    assert!(
        reason
            .justification
            .contains("`echo` of MCP server `demo` is refused")
    );
    assert!(!called(&events));
    assert!(
        events
            .iter()
            .any(|m| matches!(m, EventMsg::ToolResult { success: false, .. }))
    );
}

#[tokio::test]
async fn annotations_are_shown_to_the_person_and_never_decide() {
    // `read_text` says it is read-only; the server asks anyway, and the question carries
    // the claim for the person to weigh.
    let mut h = harness_configured("untrusted", mcp_demo(&["approval=\"ask\""])).await;
    std::fs::write(h.workspace.join("../secret.txt"), "s\n").unwrap();
    let id = h.start("read the secret through mcp").await;
    let events = h
        .answer_next_approval(&id, ReviewDecision::Deny, None)
        .await;
    let Some(EventMsg::ApprovalRequested { hints, tool, .. }) = events.last() else {
        panic!("no question: {events:?}")
    };
    assert_eq!(tool, "mcp__demo__read_text");
    assert_eq!(hints, &["read-only"]);
    assert_eq!(decision(&events).0, Verdict::Prompt);
    let rest = h.until(turn_over).await;
    assert!(!called(&rest));

    // A tool with no annotations carries no claims.
    let mut h = harness_configured("untrusted", mcp_demo(&["approval=\"ask\""])).await;
    let id = h.start("echo through mcp").await;
    let events = h
        .answer_next_approval(&id, ReviewDecision::ApproveOnce, None)
        .await;
    let Some(EventMsg::ApprovalRequested { hints, .. }) = events.last() else {
        panic!("no question")
    };
    assert!(hints.is_empty());
    assert!(called(&h.until(turn_over).await));
}

#[tokio::test]
async fn an_admin_pin_decides_a_tool_and_a_user_cannot_loosen_it() {
    let model = warden_testkit::ScriptedModel::start(warden_testkit::Script::standard(), None)
        .await
        .unwrap();
    let url = model.base_url.clone();
    let pins = "[mcp_servers.demo.tools.echo]\napproval = \"deny\"\n";
    let mut h = harness_with_requirements(
        &url,
        "responses",
        "untrusted",
        model,
        mcp_demo(&["approval=\"allow\""]),
        Some(pins),
    )
    .await;
    h.start("echo through mcp").await;
    let events = h.until(turn_over).await;
    let (verdict, reason) = decision(&events);
    assert_eq!(verdict, Verdict::Forbidden);
    assert_eq!(reason.rule, "mcp_servers.demo.tools.echo.approval");
    assert!(
        matches!(&reason.source, PolicySource::Requirement { path } if path.ends_with("requirements.toml")),
        "{:?}",
        reason.source
    );
    assert!(!called(&events));

    // The same pin against a session flag that allows the tool: Warden does not open
    // that policy, and the refusal names the requirement.
    let home = warden_testkit::scratch_dir();
    let requirements = home.path().join("requirements.toml");
    let overrides = mcp_demo(&["approval=\"allow\"", "tools.echo.approval=\"allow\""]);
    let Err(refused) = open_host(home.path(), overrides, Some(pins)).await else {
        panic!("opened despite the pin")
    };
    assert!(
        refused.contains("mcp_servers.demo.tools.echo.approval = \"allow\" (from session flag)")
            && refused.contains(&requirements.display().to_string())
            && refused.contains("pins it to \"deny\""),
        "{refused}"
    );
}
