//! Full sessions against the scripted model server, the real sandbox and a real SQLite
//! audit file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::time::Duration;

use support::*;
use warden_agent::Host;
use warden_audit::AuditStore;
use warden_policy::config::WardenPaths;
use warden_protocol::*;
use warden_testkit::{Scenario, Script, ScriptedModel, Step};

#[tokio::test]
async fn a_safe_command_runs_without_asking_on_both_wire_apis() {
    for wire in ["responses", "chat"] {
        let mut h = harness(wire, "untrusted", None).await;
        h.start("list files").await;
        let events = h.until(turn_over).await;
        assert_eq!(
            kinds(&events),
            [
                "sessionStarted",
                "userPrompt",
                "modelTurn",
                "toolCallProposed",
                "decision",
                "processStarted",
                "toolResult",
                "modelTurn",
                "turnComplete"
            ],
            "{wire}"
        );
        assert!(matches!(
            &events[4],
            EventMsg::Decision {
                verdict: Verdict::Allow,
                actor: Actor::Rule,
                ..
            }
        ));
        assert!(
            matches!(&events[2], EventMsg::ModelTurn { reasoning, tool_calls: 1, .. } if reasoning == "Working through the script.")
        );
        let EventMsg::TurnComplete {
            last_message: Some(last),
        } = &events[8]
        else {
            panic!("{:?}", events[8])
        };
        assert!(
            last.starts_with("Listed: exit code: 0\nREADME.md"),
            "{wire}: {last}"
        );
    }
}

#[tokio::test]
async fn a_command_needing_approval_waits_then_runs_once_approved() {
    let mut h = harness("responses", "untrusted", None).await;
    let id = h.start("create a file").await;
    let events = h
        .until(|m| matches!(m, EventMsg::ApprovalRequested { .. }))
        .await;
    let Some(EventMsg::ApprovalRequested {
        call_id,
        summary,
        cwd,
        reason,
        ..
    }) = events.last()
    else {
        panic!()
    };
    assert_eq!(summary, "touch created.txt");
    assert_eq!(cwd, &h.workspace.display().to_string());
    assert!(reason.contains("untrusted"), "{reason}");
    assert!(
        !h.workspace.join("created.txt").exists(),
        "nothing runs before approval"
    );
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
    let rest = h.until(turn_over).await;
    assert_eq!(
        kinds(&rest),
        [
            "approvalAnswered",
            "processStarted",
            "toolResult",
            "modelTurn",
            "turnComplete"
        ]
    );
    assert!(matches!(
        &rest[0],
        EventMsg::ApprovalAnswered {
            actor: Actor::User,
            decision: ReviewDecision::ApproveOnce,
            ..
        }
    ));
    assert!(h.workspace.join("created.txt").exists());
}

#[tokio::test]
async fn a_denial_returns_the_reason_to_the_model() {
    let mut h = harness("chat", "untrusted", None).await;
    let id = h.start("create a file").await;
    h.answer_next_approval(&id, ReviewDecision::Deny, Some("not in this repo".into()))
        .await;
    let rest = h.until(turn_over).await;
    let Some(EventMsg::TurnComplete {
        last_message: Some(last),
    }) = rest.last()
    else {
        panic!("{rest:?}")
    };
    assert!(
        last.contains("the user denied it: not in this repo"),
        "{last}"
    );
    assert!(!h.workspace.join("created.txt").exists());
}

#[tokio::test]
async fn a_write_outside_the_workspace_is_blocked_by_the_sandbox_and_recorded() {
    let mut h = harness("responses", "on-request", None).await;
    let id = h.start("escape the workspace").await;
    // The blocked write comes with an offer to rerun with more access; decline it.
    let mut events = h
        .answer_next_approval(&id, ReviewDecision::Deny, None)
        .await;
    events.extend(h.until(turn_over).await);
    let outside = h.workspace.parent().unwrap().join("outside.txt");
    assert!(!outside.exists(), "the sandbox must stop the write");
    let denial = events.iter().find_map(|m| match m {
        EventMsg::SandboxDenied { denial, .. } => Some(denial.clone()),
        _ => None,
    });
    assert_eq!(
        denial,
        Some(SandboxDenial {
            operation: "write".into(),
            target: outside.display().to_string(),
            layer: "landlock".into(),
            detail: format!(
                "blocked: write to {} (outside the writable roots)",
                outside.display()
            ),
        })
    );
    let recorded: Vec<EventMsg> = h.timeline(&id).await.into_iter().map(|e| e.msg).collect();
    assert!(
        recorded
            .iter()
            .any(|m| matches!(m, EventMsg::SandboxDenied { .. }))
    );
}

#[tokio::test]
async fn approving_the_rerun_after_a_blocked_write_runs_it_with_that_folder_writable() {
    let mut h = harness("chat", "on-request", None).await;
    let id = h.start("escape the workspace").await;
    let events = h
        .answer_next_approval(&id, ReviewDecision::ApproveOnce, None)
        .await;
    let parent = h.workspace.parent().unwrap().to_path_buf();
    let reason = events.iter().rev().find_map(|m| match m {
        EventMsg::ApprovalRequested { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(
        reason,
        Some(format!(
            "blocked: write to {} (outside the writable roots). Rerun with write access to {}?",
            parent.join("outside.txt").display(),
            parent.display()
        ))
    );
    let rest = h.until(turn_over).await;
    assert_eq!(
        std::fs::read_to_string(parent.join("outside.txt")).unwrap(),
        "x\n"
    );
    let results: Vec<bool> = events
        .iter()
        .chain(&rest)
        .filter_map(|m| match m {
            EventMsg::ToolResult { success, .. } => Some(*success),
            _ => None,
        })
        .collect();
    assert_eq!(
        results,
        [false, true],
        "the first run failed, the rerun succeeded"
    );
    // Warden's own folders under the newly writable folder stayed read-only.
    assert!(std::fs::read_dir(h.home.path().join("data")).is_ok());
}

#[tokio::test]
async fn apply_patch_writes_inside_the_workspace() {
    let mut h = harness("chat", "untrusted", None).await;
    h.start("patch the notes").await;
    let events = h.until(turn_over).await;
    assert!(
        events
            .iter()
            .any(|m| matches!(m, EventMsg::ToolResult { success: true, .. })),
        "{events:?}"
    );
    assert_eq!(
        std::fs::read_to_string(h.workspace.join("notes.md")).unwrap(),
        "hello\n"
    );
}

#[tokio::test]
async fn the_audit_store_holds_every_step_in_order_after_restart() {
    let mut h = harness("responses", "untrusted", None).await;
    let id = h.start("create a file").await;
    let mut live = h
        .answer_next_approval(&id, ReviewDecision::ApproveForSession, None)
        .await;
    live.extend(h.until(turn_over).await);
    h.host.submit(&id, Op::Shutdown).unwrap();
    live.extend(
        h.until(|m| matches!(m, EventMsg::SessionEnded { .. }))
            .await,
    );
    let Harness { host, home, .. } = h;
    drop(host);

    let store = AuditStore::open(&home.path().join("data/audit.sqlite"))
        .await
        .unwrap();
    let (recorded, _) = store.timeline(&id, 0, 1000).await.unwrap();
    assert_eq!(
        recorded.iter().map(|e| e.seq.unwrap()).collect::<Vec<_>>(),
        (1..=recorded.len() as u64).collect::<Vec<_>>()
    );
    assert_eq!(
        recorded.into_iter().map(|e| e.msg).collect::<Vec<_>>(),
        live
    );
    let session = store.session(&id).await.unwrap();
    assert_eq!(session.title, "create a file");
    assert!(session.ended_at.is_some());
}

#[tokio::test]
async fn without_anyone_to_ask_approval_is_denied_fail_closed() {
    let mut h = harness("responses", "untrusted", None).await;
    let id = h
        .host
        .start(
            StartSessionParams {
                cwd: h.workspace.display().to_string(),
                sandbox: None,
                approval: None,
            },
            false,
        )
        .await
        .unwrap();
    h.host
        .submit(
            &id,
            Op::UserTurn {
                text: "create a file".into(),
            },
        )
        .unwrap();
    let events = h.until(turn_over).await;
    assert!(events.iter().any(|m| matches!(
        m,
        EventMsg::ApprovalAnswered {
            actor: Actor::Default,
            decision: ReviewDecision::Deny,
            ..
        }
    )));
    assert!(
        !events
            .iter()
            .any(|m| matches!(m, EventMsg::ApprovalRequested { .. }))
    );
    assert!(!h.workspace.join("created.txt").exists());
}

async fn first_error(h: &mut Harness, task: &str) -> (String, String) {
    h.start(task).await;
    let events = h.until(turn_over).await;
    events
        .iter()
        .find_map(|m| match m {
            EventMsg::Error { code, message } => Some((code.clone(), message.clone())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no error in {events:?}"))
}

#[tokio::test]
async fn bad_model_endpoints_give_clear_errors_and_keep_the_record() {
    // Wrong (missing) key.
    let mut h = harness("responses", "untrusted", Some("the-right-key")).await;
    let (code, message) = first_error(&mut h, "list files").await;
    assert_eq!(code, "model_unauthorized");
    assert!(
        message.contains("rejected the API key (HTTP 401)"),
        "{message}"
    );

    // Malformed model output.
    let mut h = harness("chat", "untrusted", None).await;
    let (code, message) = first_error(&mut h, "garbage").await;
    assert_eq!(code, "model_bad_response");
    assert!(message.contains("not JSON"), "{message}");

    // An endpoint that does not exist (wrong base URL): HTTP 404.
    let model = ScriptedModel::start(Script::standard(), None)
        .await
        .unwrap();
    let wrong_path = format!("{}/nope", model.base_url);
    let mut h = harness_with_url(&wrong_path, "chat", "untrusted", model).await;
    let (code, message) = first_error(&mut h, "list files").await;
    assert_eq!(code, "model_not_found");
    assert!(
        message.contains("/v1/nope/chat/completions was not found (HTTP 404)"),
        "{message}"
    );

    // Unreachable endpoint (a port nobody listens on).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let model = ScriptedModel::start(Script::standard(), None)
        .await
        .unwrap();
    let mut h = harness_with_url(
        &format!("http://127.0.0.1:{port}/v1"),
        "responses",
        "untrusted",
        model,
    )
    .await;
    let (code, message) = first_error(&mut h, "list files").await;
    assert_eq!(code, "model_unreachable");
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
}

#[tokio::test]
async fn a_missing_workspace_is_refused_with_a_clear_message() {
    let h = harness("responses", "untrusted", None).await;
    let err = h
        .host
        .start(
            StartSessionParams {
                cwd: "/no/such/folder".into(),
                sandbox: None,
                approval: None,
            },
            true,
        )
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ApiError::new(
            ErrorCode::WorkspaceMissing,
            "the workspace folder /no/such/folder does not exist"
        )
    );
    let _ = Path::new("/");
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_reported() {
    retried_then_reported(503, "model_server_error").await;
}

#[tokio::test]
async fn rate_limits_are_retried_with_backoff_then_reported() {
    retried_then_reported(429, "model_rate_limited").await;
}

async fn retried_then_reported(status: u16, expected_code: &str) {
    let script = Script {
        scenarios: vec![Scenario {
            when: "flaky".into(),
            steps: vec![Step::Status {
                code: status,
                body: "overloaded".into(),
            }],
        }],
    };
    let model = ScriptedModel::start(script, None).await.unwrap();
    let url = model.base_url.clone();
    let mut h = harness_with_url(&url, "responses", "untrusted", model).await;
    let started = std::time::Instant::now();
    let (code, message) = first_error(&mut h, "flaky").await;
    assert_eq!(code, expected_code);
    assert!(
        message.contains(&format!("HTTP {status}")) && message.contains("overloaded"),
        "{message}"
    );
    // One try and four retries, backing off 250 + 500 + 1000 + 2000 ms.
    assert_eq!(h.model.requests().len(), 5);
    assert!(started.elapsed() >= Duration::from_millis(3750));
}

#[tokio::test]
async fn settings_are_saved_to_the_user_file_unless_overridden() {
    let h = harness("responses", "untrusted", None).await;
    let err = h
        .host
        .save_settings(SaveSettingsParams {
            base_url: "http://x/v1".into(),
            model: "m".into(),
            wire_api: WireApi::Chat,
            api_key: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, "settings_overridden");

    let home = warden_testkit::scratch_dir();
    let paths = WardenPaths {
        config_dir: home.path().into(),
        data_dir: home.path().into(),
    };
    let host = Host::open(paths, Vec::new(), warden_rules::load_rules)
        .await
        .unwrap();
    let saved = host
        .save_settings(SaveSettingsParams {
            base_url: "http://127.0.0.1:1/v1".into(),
            model: "llama3".into(),
            wire_api: WireApi::Chat,
            api_key: None,
        })
        .await
        .unwrap();
    assert_eq!(
        (
            saved.base_url.as_str(),
            saved.model.as_str(),
            saved.wire_api
        ),
        ("http://127.0.0.1:1/v1", "llama3", WireApi::Chat)
    );
    let file = std::fs::read_to_string(home.path().join("config.toml")).unwrap();
    assert!(file.contains("llama3") && !file.contains("key"), "{file}");
    let bad = host
        .save_settings(SaveSettingsParams {
            base_url: "ftp://x".into(),
            model: "m".into(),
            wire_api: WireApi::Chat,
            api_key: None,
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code, "settings_invalid");
}

#[tokio::test]
async fn approve_for_session_is_remembered_for_the_same_command_in_the_same_folder() {
    let mut h = harness("responses", "untrusted", None).await;
    let id = h.start("create a file").await;
    h.answer_next_approval(&id, ReviewDecision::ApproveForSession, None)
        .await;
    h.until(turn_over).await;
    std::fs::remove_file(h.workspace.join("created.txt")).unwrap();

    h.host
        .submit(
            &id,
            Op::UserTurn {
                text: "create a file again".into(),
            },
        )
        .unwrap();
    let second = h.until(turn_over).await;
    assert!(
        !second
            .iter()
            .any(|m| matches!(m, EventMsg::ApprovalRequested { .. })),
        "{second:?}"
    );
    let decision = second
        .iter()
        .find(|m| matches!(m, EventMsg::Decision { .. }))
        .unwrap();
    let EventMsg::Decision {
        verdict,
        actor,
        reasons,
        ..
    } = decision
    else {
        unreachable!()
    };
    assert_eq!((*verdict, *actor), (Verdict::Allow, Actor::SessionCache));
    assert_eq!(reasons[0].source, PolicySource::SessionApproval);
    assert!(h.workspace.join("created.txt").exists());
}

#[tokio::test]
async fn an_interrupt_stops_the_running_command_and_everything_it_started() {
    let mut h = harness("responses", "on-request", None).await;
    let id = h.start("slow job").await;
    let pid_file = h.workspace.join("bg.pid");
    for _ in 0..100 {
        if std::fs::read_to_string(&pid_file).is_ok_and(|p| p.ends_with('\n')) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    h.host.submit(&id, Op::Interrupt).unwrap();
    let events = h.until(turn_over).await;
    assert_eq!(
        events.last(),
        Some(&EventMsg::TurnAborted {
            reason: "interrupted by the user".into()
        })
    );
    let alive = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit(") ")
                .next()
                .unwrap_or_default()
                .starts_with('Z')
        })
    };
    for _ in 0..40 {
        if !alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the background job {pid} outlived the interrupted command");
}

fn decision_of(events: &[EventMsg]) -> (Verdict, Actor, Vec<Reason>) {
    events
        .iter()
        .find_map(|m| match m {
            EventMsg::Decision {
                verdict,
                actor,
                reasons,
                ..
            } => Some((*verdict, *actor, reasons.clone())),
            _ => None,
        })
        .unwrap()
}

#[tokio::test]
async fn a_user_rule_forbids_a_force_push_however_it_is_spelled() {
    let mut h = harness("responses", "on-request", None).await;
    let rules = h.home.path().join("config/rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(
        rules.join("team.rules"),
        "prefix_rule(pattern = [\"git\", \"push\", \"--force\"], decision = \"forbidden\", justification = \"force pushes rewrite shared history\")\n",
    )
    .unwrap();
    h.start("force push").await;
    let events = h.until(turn_over).await;
    let (verdict, actor, reasons) = decision_of(&events);
    assert_eq!((verdict, actor), (Verdict::Forbidden, Actor::Rule));
    assert_eq!(reasons[0].rule, "prefix_rule(git push --force)");
    assert_eq!(
        reasons[0].source,
        PolicySource::UserRules {
            path: format!("{}:1", rules.join("team.rules").display())
        }
    );
    assert!(
        !events
            .iter()
            .any(|m| matches!(m, EventMsg::ApprovalRequested { .. }))
    );
    let result = tool_output(&events);
    assert!(
        result.contains("force pushes rewrite shared history"),
        "{result}"
    );
}

#[tokio::test]
async fn a_decision_an_admin_requirement_made_is_recorded_as_the_requirement_s() {
    let model = ScriptedModel::start(Script::standard(), None)
        .await
        .unwrap();
    let url = model.base_url.clone();
    let requirements = "[[prefix_rules]]\npattern = [\"git\", \"push\", \"--force\"]\n\
                        decision = \"forbidden\"\njustification = \"force pushes go through release\"\n";
    let mut h = harness_with_requirements(
        &url,
        "responses",
        "on-request",
        model,
        Vec::new(),
        Some(requirements),
    )
    .await;
    h.start("force push").await;
    let events = h.until(turn_over).await;
    let (verdict, actor, reasons) = decision_of(&events);
    assert_eq!((verdict, actor), (Verdict::Forbidden, Actor::Requirement));
    assert!(
        matches!(&reasons[0].source, PolicySource::Requirement { path } if path.contains("requirements.toml")),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn always_allow_writes_a_user_rule_that_later_sessions_follow() {
    let mut h = harness("responses", "untrusted", None).await;
    let id = h.start("create a file").await;
    let asked = h
        .answer_next_approval(&id, ReviewDecision::ApproveAlways, None)
        .await;
    let Some(EventMsg::ApprovalRequested {
        can_always, risk, ..
    }) = asked.last()
    else {
        panic!()
    };
    assert!(*can_always);
    assert!(risk.as_deref().unwrap().starts_with("low: "), "{risk:?}");
    let rest = h.until(turn_over).await;
    let file = h.home.path().join("config/rules/default.rules");
    // The rule written is recorded, right after the answer that wrote it.
    let answered = rest
        .iter()
        .position(|m| matches!(m, EventMsg::ApprovalAnswered { .. }))
        .unwrap();
    match &rest[answered + 1] {
        EventMsg::ConfigChanged {
            file: written,
            change,
            actor,
            error,
            ..
        } => {
            assert_eq!(written, &file.display().to_string());
            assert_eq!(change, "prefix_rule(touch created.txt) = allow");
            assert_eq!((*actor, error), (Actor::User, &None));
        }
        other => panic!("expected the rule change after the answer, got {other:?}"),
    }
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with(
            "prefix_rule(pattern = [\"touch\", \"created.txt\"], decision = \"allow\""
        ),
        "{text}"
    );

    std::fs::remove_file(h.workspace.join("created.txt")).unwrap();
    h.start("create a file").await;
    let second = h.until(turn_over).await;
    let (verdict, actor, reasons) = decision_of(&second);
    assert_eq!((verdict, actor), (Verdict::Allow, Actor::Rule));
    assert_eq!(reasons[0].rule, "prefix_rule(touch created.txt)");
    assert!(h.workspace.join("created.txt").exists());
}

#[tokio::test]
async fn auto_review_approves_low_risk_prompts_and_asks_for_the_rest() {
    let model = ScriptedModel::start(Script::standard(), None)
        .await
        .unwrap();
    let url = model.base_url.clone();
    let mut h = harness_with_url(&url, "responses", "untrusted", model).await;
    std::fs::create_dir_all(h.home.path().join("config")).unwrap();
    std::fs::write(
        h.home.path().join("config/config.toml"),
        "auto_review = true\n",
    )
    .unwrap();
    h.start("create a file").await;
    let events = h.until(turn_over).await;
    let answered = events
        .iter()
        .find_map(|m| match m {
            EventMsg::ApprovalAnswered { actor, message, .. } => Some((*actor, message.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(answered.0, Actor::AutoReview);
    assert!(answered.1.unwrap().starts_with("auto-review: low"));
    assert!(h.workspace.join("created.txt").exists());

    let id = h.start("fetch a page").await;
    let asked = h
        .answer_next_approval(&id, ReviewDecision::Deny, None)
        .await;
    let Some(EventMsg::ApprovalRequested { risk, .. }) = asked.last() else {
        panic!()
    };
    assert_eq!(risk.as_deref(), Some("medium: `curl` reaches the network"));
}

#[tokio::test]
async fn an_admin_requirement_refuses_a_session_outside_it() {
    let home = warden_testkit::scratch_dir();
    let workspace = home.path().join("ws");
    std::fs::create_dir(&workspace).unwrap();
    let req = home.path().join("requirements.toml");
    std::fs::write(
        &req,
        "allowed_sandbox_modes = [\"read-only\", \"workspace-write\"]\n",
    )
    .unwrap();
    let mut inputs = warden_policy::layers::PolicyInputs::new(WardenPaths {
        config_dir: home.path().join("config"),
        data_dir: home.path().join("data"),
    })
    .unwrap();
    inputs.extra_requirements = vec![req.clone()];
    let host = Host::open_with(inputs, warden_rules::load_rules)
        .await
        .unwrap();
    let error = host
        .start(
            StartSessionParams {
                cwd: workspace.display().to_string(),
                sandbox: Some(SandboxMode::FullAccess),
                approval: None,
            },
            true,
        )
        .await
        .unwrap_err();
    assert_eq!(error.code, "requirement_refused");
    assert!(
        error.message.contains(&req.display().to_string()),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn approving_one_call_releases_an_identical_one_in_the_same_response() {
    let mut h = harness("responses", "untrusted", None).await;
    let id = h.start("twice at once").await;
    h.answer_next_approval(&id, ReviewDecision::ApproveOnce, None)
        .await;
    let rest = h.until(turn_over).await;
    assert!(
        !rest
            .iter()
            .any(|m| matches!(m, EventMsg::ApprovalRequested { .. })),
        "{rest:?}"
    );
    let (verdict, actor, reasons) = decision_of(&rest);
    assert_eq!((verdict, actor), (Verdict::Allow, Actor::SessionCache));
    assert_eq!(reasons[0].rule, "released-with-identical-call");

    // A later response asks again: "once" means once per response.
    std::fs::remove_file(h.workspace.join("twice.txt")).unwrap();
    h.host
        .submit(
            &id,
            Op::UserTurn {
                text: "create a file".into(),
            },
        )
        .unwrap();
    let asked = h
        .until(|m| matches!(m, EventMsg::ApprovalRequested { .. }))
        .await;
    assert!(matches!(
        asked.last(),
        Some(EventMsg::ApprovalRequested { .. })
    ));
}

/// A one-page HTTP server on 127.0.0.2 (a loopback address the tests allow by IP).
#[tokio::test]
async fn a_command_reaching_an_unknown_host_asks_in_the_session_and_the_answer_holds() {
    let (mut h, port) = network_harness(&[]).await;
    let id = h.start("download the url").await;
    let events = run_answering_network(&mut h, &id, ReviewDecision::ApproveForSession).await;
    let ask = events
        .iter()
        .find_map(|m| match m {
            EventMsg::ApprovalRequested {
                tool,
                summary,
                reason,
                ..
            } if tool == "network" => Some((summary.clone(), reason.clone())),
            _ => None,
        })
        .expect("a network question");
    assert!(
        ask.0.starts_with("curl (from `sh -c ")
            && ask.0.ends_with(&format!("wants web.test:{port}")),
        "{ask:?}"
    );
    let result = events
        .iter()
        .find_map(|m| match m {
            EventMsg::ToolResult {
                output, call_id, ..
            } => Some((call_id.clone(), output.clone())),
            _ => None,
        })
        .unwrap();
    assert!(result.1.contains("hello from the web"), "{}", result.1);
    // The connection's event names the tool call, the program and who allowed it, and
    // is recorded before the command's result (the end of a command waits for it).
    let network_at = events
        .iter()
        .position(|m| matches!(m, EventMsg::NetworkAccess { .. }))
        .expect("a network event in the turn");
    let result_at = events
        .iter()
        .position(|m| matches!(m, EventMsg::ToolResult { .. }))
        .unwrap();
    assert!(network_at < result_at, "{events:#?}");
    let timeline: Vec<EventMsg> = h.timeline(&id).await.into_iter().map(|e| e.msg).collect();
    let recorded = network_events(&timeline);
    assert_eq!(recorded.len(), 1, "{recorded:#?}");
    let (call_id, access) = &recorded[0];
    assert_eq!(call_id.as_deref(), Some(result.0.as_str()));
    assert_eq!(
        (
            access.host.as_str(),
            access.port,
            access.decision.as_str(),
            access.reason.as_str()
        ),
        ("web.test", port, "allow", "user")
    );
    assert_eq!(access.actor, Actor::User);
    assert_eq!(access.program.as_deref(), Some("curl"));
    assert!(access.bytes_down > 0, "{access:?}");

    // Allowed for the session: the same host again goes through without a question.
    h.host
        .submit(
            &id,
            Op::UserTurn {
                text: "download the url".into(),
            },
        )
        .unwrap();
    let again = run_answering_network(&mut h, &id, ReviewDecision::Deny).await;
    assert!(
        !again
            .iter()
            .any(|m| matches!(m, EventMsg::ApprovalRequested { tool, .. } if tool == "network")),
        "{again:#?}"
    );
}

#[tokio::test]
async fn a_denied_question_refuses_the_connection_with_a_reason_the_model_reads() {
    let (mut h, _) = network_harness(&[]).await;
    let id = h.start("download the url").await;
    let events = run_answering_network(&mut h, &id, ReviewDecision::Deny).await;
    let output = tool_output(&events);
    assert!(output.contains("403 Forbidden"), "{output}");
    assert!(output.contains("x-warden-block: not-allowed"), "{output}");
    assert!(!output.contains("hello from the web"));
    assert!(events.iter().any(|m| matches!(
        m,
        EventMsg::ApprovalAnswered {
            decision: ReviewDecision::Deny,
            actor: Actor::User,
            ..
        }
    )));
}

#[tokio::test]
async fn an_allowed_host_needs_no_question_and_a_denied_one_gets_none() {
    let (mut h, port) = network_harness(&["network.allow=[\"web.test\"]"]).await;
    let id = h.start("download the url").await;
    let events = run_answering_network(&mut h, &id, ReviewDecision::Deny).await;
    assert!(
        !events
            .iter()
            .any(|m| matches!(m, EventMsg::ApprovalRequested { tool, .. } if tool == "network"))
    );
    let timeline: Vec<EventMsg> = h.timeline(&id).await.into_iter().map(|e| e.msg).collect();
    let _ = port;
    let output = tool_output(&timeline);
    assert!(output.contains("hello from the web"), "{output}");
}

#[tokio::test]
async fn the_session_start_records_the_effective_policy_with_sources_and_no_secrets() {
    let mut h = harness_configured(
        "on-request",
        vec![
            "network.deny=[\"pastebin.com\"]".into(),
            "telemetry.otlp_headers={\"x-api-key\"=\"collector-secret-123\"}".into(),
        ],
    )
    .await;
    let id = h.start("list files").await;
    h.until(|m| matches!(m, EventMsg::SessionStarted { .. }))
        .await;
    let timeline = h.timeline(&id).await;
    let Some(EventMsg::SessionStarted { policy, .. }) = timeline.first().map(|e| &e.msg) else {
        panic!("the first event is not the session start: {timeline:#?}");
    };
    let value = |key: &str| {
        policy
            .values
            .iter()
            .find(|v| v.key == key)
            .unwrap_or_else(|| panic!("no {key} in {:#?}", policy.values))
    };
    let approval = value("approval");
    assert_eq!(approval.value, serde_json::json!("on-request"));
    assert_eq!(approval.source.to_string(), "session flag");
    let deny = value("network.deny");
    assert_eq!(deny.value, serde_json::json!(["pastebin.com"]));
    let sandbox = value("sandbox");
    assert_eq!(sandbox.source.to_string(), "built-in default");
    let headers = value("telemetry.otlp_headers");
    assert_eq!(
        headers.value,
        serde_json::json!({"x-api-key": "[REDACTED:setting]"})
    );
    let stored = serde_json::to_string(&timeline[0].msg).unwrap();
    assert!(!stored.contains("collector-secret-123"), "{stored}");
}

#[tokio::test]
async fn always_allowing_a_host_writes_a_network_rule_and_records_the_change() {
    let (mut h, _) = network_harness(&[]).await;
    let id = h.start("download the url").await;
    let events = run_answering_network(&mut h, &id, ReviewDecision::ApproveAlways).await;
    let file = h.home.path().join("config/rules/default.rules");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("network_rule(host = \"web.test\", decision = \"allow\""),
        "{text}"
    );
    let answered = events
        .iter()
        .position(|m| {
            matches!(
                m,
                EventMsg::ApprovalAnswered {
                    decision: ReviewDecision::ApproveAlways,
                    ..
                }
            )
        })
        .expect("the network question was answered");
    match &events[answered + 1] {
        EventMsg::ConfigChanged {
            file: written,
            change,
            error: None,
            ..
        } => {
            assert_eq!(written, &file.display().to_string());
            assert_eq!(change, "network_rule(web.test) = allow");
        }
        other => panic!("expected the rule change after the answer, got {other:?}"),
    }
    let output = tool_output(&events);
    assert!(output.contains("hello from the web"), "{output}");
}

#[tokio::test]
async fn approvals_per_category_deny_without_asking_and_say_why() {
    // Network questions off: an unknown host is refused with the reason, no card.
    let (mut h, _) = network_harness(&["approvals.network=deny"]).await;
    let id = h.start("download the url").await;
    let events = run_answering_network(&mut h, &id, ReviewDecision::ApproveOnce).await;
    assert!(
        !events
            .iter()
            .any(|m| matches!(m, EventMsg::ApprovalRequested { tool, .. } if tool == "network")),
        "{events:#?}"
    );
    let output = tool_output(&events);
    assert!(output.contains("x-warden-block: not-allowed"), "{output}");
    assert!(output.contains("approvals.network is `deny`"), "{output}");

    // Command questions off: a command the untrusted policy would ask about is denied
    // by the default, with the setting named, and nothing is asked (not even the
    // auto-reviewer, which would approve this low-risk command).
    let mut h = harness_configured(
        "untrusted",
        vec!["approvals.commands=deny".into(), "auto_review=true".into()],
    )
    .await;
    h.start("create a file").await;
    let events = h.until(turn_over).await;
    assert!(
        !events
            .iter()
            .any(|m| matches!(m, EventMsg::ApprovalRequested { .. })),
        "{events:#?}"
    );
    let denied = events.iter().find_map(|m| match m {
        EventMsg::ApprovalAnswered {
            decision: ReviewDecision::Deny,
            actor: Actor::Default,
            message,
            ..
        } => message.clone(),
        _ => None,
    });
    assert!(
        denied
            .as_deref()
            .is_some_and(|m| m.contains("approvals.commands is `deny`")),
        "{events:#?}"
    );
    assert!(!h.workspace.join("created.txt").exists());
    // Escalation questions off: a blocked write is reported, and no rerun is offered.
    let mut h = harness_configured("on-request", vec!["approvals.escalation=deny".into()]).await;
    h.start("escape the workspace").await;
    let events = h.until(turn_over).await;
    assert!(
        events
            .iter()
            .any(|m| matches!(m, EventMsg::SandboxDenied { .. })),
        "{events:#?}"
    );
    assert!(
        !events
            .iter()
            .any(|m| matches!(m, EventMsg::ApprovalRequested { .. })),
        "{events:#?}"
    );
    assert!(!h.workspace.parent().unwrap().join("outside.txt").exists());
}

/// Config for the test MCP server (tests/mcp/server.py, run by the project's .venv) as
/// server `demo`, plus `extra` settings of it.
#[tokio::test]
async fn an_mcp_servers_tools_are_offered_decided_run_and_recorded() {
    // Run scripts/setup.sh first: the MCP server runs in the project's .venv.
    let mut h = harness_configured("untrusted", mcp_demo(&["approval=\"allow\""])).await;
    let id = h.start("echo through mcp").await;
    let events = h
        .until(|m| matches!(m, EventMsg::TurnComplete { .. }))
        .await;
    let started = events
        .iter()
        .find_map(|m| match m {
            EventMsg::McpServerStarted {
                server,
                tools,
                error,
                command,
            } => Some((server, tools, error, command)),
            _ => None,
        })
        .expect("the server's start is recorded");
    assert_eq!(started.0, "demo");
    assert_eq!(started.2, &None);
    assert!(started.3.ends_with("tests/mcp/server.py"), "{}", started.3);
    let mut tools = started.1.clone();
    tools.sort();
    assert_eq!(
        tools,
        ["mcp__demo__echo", "mcp__demo__fail", "mcp__demo__read_text"]
    );
    // The model was offered the tools, with the server's own schema.
    let offered = serde_json::to_string(&h.model.requests()[0]["tools"]).unwrap();
    assert!(offered.contains("mcp__demo__echo"), "{offered}");
    assert!(offered.contains("Answer with the text."), "{offered}");

    let decision = events
        .iter()
        .find_map(|m| match m {
            EventMsg::Decision {
                verdict, reasons, ..
            } => Some((verdict, reasons)),
            _ => None,
        })
        .unwrap();
    assert_eq!(decision.0, &Verdict::Allow);
    assert_eq!(decision.1[0].rule, "mcp_servers.demo.approval");
    let call = events
        .iter()
        .position(|m| matches!(m, EventMsg::McpCall { .. }))
        .expect("the call is recorded");
    let EventMsg::McpCall {
        server,
        tool,
        arguments,
        is_error,
        result,
        ..
    } = &events[call]
    else {
        unreachable!()
    };
    assert_eq!(
        (server.as_str(), tool.as_str(), is_error, result.as_str()),
        ("demo", "echo", &false, "echo: hello")
    );
    assert_eq!(arguments, &serde_json::json!({"text": "hello"}));
    assert!(matches!(
        &events[call + 1],
        EventMsg::ToolResult { success: true, output, .. } if output == "echo: hello"
    ));
    let done = events.last().unwrap();
    assert!(
        matches!(done, EventMsg::TurnComplete { last_message: Some(m) } if m == "Result: echo: hello"),
        "{done:?}"
    );

    // The audit store holds the same call, searchable.
    let store = AuditStore::open(&h.home.path().join("data/audit.sqlite"))
        .await
        .unwrap();
    let (hits, _) = store
        .search(&warden_audit::SearchQuery {
            session_id: Some(id),
            kinds: vec!["mcpCall".into()],
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
}

#[tokio::test]
async fn an_mcp_server_runs_inside_the_boundary() {
    // The scenario reads `../secret.txt` (next to the workspace). Allowed at first...
    let mut h = harness_configured("untrusted", mcp_demo(&["approval=\"allow\""])).await;
    let secret = h.workspace.join("../secret.txt");
    std::fs::write(&secret, "s3cret\n").unwrap();
    let read = |events: &[EventMsg]| {
        events
            .iter()
            .find_map(|m| match m {
                EventMsg::McpCall {
                    is_error, result, ..
                } => Some((*is_error, result.clone())),
                _ => None,
            })
            .unwrap()
    };
    h.start("read the secret through mcp").await;
    let events = h
        .until(|m| matches!(m, EventMsg::TurnComplete { .. }))
        .await;
    assert_eq!(read(&events), (false, "s3cret\n".to_string()));

    // ...then hidden by `boundary.deny_read`: the server, sandboxed, cannot read it.
    let mut overrides = vec![
        format!("model.base_url={}", h.model.base_url),
        "model.wire_api=responses".to_string(),
        "approval=untrusted".to_string(),
        format!(
            "boundary.deny_read=[\"{}\"]",
            secret.canonicalize().unwrap().display()
        ),
    ];
    overrides.extend(mcp_demo(&["approval=\"allow\""]));
    let paths = WardenPaths {
        config_dir: h.home.path().join("config"),
        data_dir: h.home.path().join("data"),
    };
    h.host = Host::open(paths, overrides, warden_rules::load_rules)
        .await
        .unwrap();
    h.events = h.host.subscribe();
    h.start("read the secret through mcp").await;
    let events = h
        .until(|m| matches!(m, EventMsg::TurnComplete { .. }))
        .await;
    let (is_error, result) = read(&events);
    assert!(is_error, "{result}");
    assert!(!result.contains("s3cret"), "{result}");
}

#[tokio::test]
async fn mcp_calls_that_need_approval_are_denied_when_nobody_may_be_asked() {
    let mut h = harness_configured("never", mcp_demo(&[])).await;
    h.start("echo through mcp").await;
    let events = h
        .until(|m| matches!(m, EventMsg::TurnComplete { .. }))
        .await;
    assert!(events.iter().any(|m| matches!(
        m,
        EventMsg::Decision { verdict: Verdict::Prompt, reasons, .. }
            if reasons[0].rule == "mcp_servers.demo.approval"
    )));
    assert!(
        !events.iter().any(|m| matches!(m, EventMsg::McpCall { .. })),
        "{events:#?}"
    );
    assert!(events.iter().any(|m| matches!(
        m,
        EventMsg::ToolResult { success: false, output, .. } if output.contains("was not run")
    )));
}
