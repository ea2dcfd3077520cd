//! Stored audit records as OpenTelemetry log records. Event names are `warden.<kind>`
//! (also in the `event.name` attribute); attributes are documented in docs/telemetry.md.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde_json::Value;

use crate::chain::StoredRecord;

fn string(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

fn boolean(key: &str, value: bool) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::BoolValue(value)),
        }),
        ..Default::default()
    }
}

/// Severity by kind: denials and refusals warn, errors are errors, the rest is info.
fn severity(kind: &str, payload: &Value) -> (i32, &'static str) {
    match kind {
        "error" | "turnAborted" => (17, "ERROR"),
        "sandboxDenied" => (13, "WARN"),
        "decision" if payload["verdict"] == "forbidden" => (13, "WARN"),
        "approvalAnswered" if payload["decision"] == "deny" || payload["decision"] == "abort" => {
            (13, "WARN")
        }
        "networkAccess" if payload["access"]["decision"] == "deny" => (13, "WARN"),
        "configChanged" | "mcpServerStarted" if !payload["error"].is_null() => (13, "WARN"),
        "mcpCall" if payload["isError"] == true => (13, "WARN"),
        "autoReview" if !payload["unavailable"].is_null() || payload["outcome"] == "deny" => {
            (13, "WARN")
        }
        "triageReport" if payload["report"]["verdict"] == "needs_escalation" => (13, "WARN"),
        "credentialChanged" if payload["change"] == "signInFailed" => (13, "WARN"),
        _ => (9, "INFO"),
    }
}

/// Attributes specific to a kind, flattened from the payload.
fn details(kind: &str, p: &Value, out: &mut Vec<KeyValue>) {
    let s = |k: &str| p[k].as_str().unwrap_or_default().to_string();
    match kind {
        "sessionStarted" => {
            out.push(string("warden.workspace", s("cwd")));
            out.push(string("warden.sandbox.mode", s("sandbox")));
            out.push(string("warden.approval.policy", s("approval")));
            out.push(string("gen_ai.request.model", s("model")));
            let id = &p["identity"];
            if let Some(host) = id["hostname"].as_str() {
                out.push(string("warden.session.host", host));
            }
            if let Some(user) = id["user"].as_str() {
                out.push(string("user.name", user));
            }
            if let Some(uid) = id["uid"].as_i64() {
                out.push(int("user.id", uid));
            }
        }
        "processStarted" => {
            out.push(string("warden.tool.call_id", s("callId")));
            out.push(int("process.pid", p["pid"].as_i64().unwrap_or(0)));
            out.push(string("process.executable.path", s("executable")));
            out.push(string("process.command_line", s("commandLine")));
            out.push(int(
                "process.parent_pid",
                p["parentPid"].as_i64().unwrap_or(0),
            ));
            out.push(string(
                "process.creation.time",
                p["startedAt"].as_i64().map(rfc3339).unwrap_or_default(),
            ));
        }
        "triageReport" => {
            let r = &p["report"];
            let text = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            out.push(string("warden.triage.verdict", text("verdict")));
            out.push(string("warden.triage.analysis", text("analysis")));
            out.push(string(
                "warden.triage.confidence",
                format!("{:.2}", r["confidence"].as_f64().unwrap_or(0.0)),
            ));
            let sessions: Vec<&str> = r["matches"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["sessionId"].as_str())
                .collect();
            out.push(string("warden.triage.sessions", sessions.join(",")));
            let a = &r["alert"];
            for (key, field) in [
                ("warden.triage.alert.format", "format"),
                ("rule.name", "rule"),
                ("warden.triage.alert.severity", "severity"),
                ("host.hostname", "host"),
            ] {
                if let Some(v) = a[field].as_str() {
                    out.push(string(key, v));
                }
            }
            if let Some(m) = r["model"].as_str() {
                out.push(string("gen_ai.request.model", m));
            }
        }
        "commandStarted" => {
            out.push(string("warden.tool.call_id", s("callId")));
            out.push(string("warden.tool.name", "exec"));
            out.push(string("warden.tool.summary", s("command")));
            out.push(string("warden.tool.cwd", s("cwd")));
            out.push(string("warden.sandbox.mode", s("sandbox")));
        }
        "toolCallProposed" => {
            out.push(string("warden.tool.call_id", s("callId")));
            out.push(string("warden.tool.name", s("tool")));
            out.push(string("warden.tool.summary", s("summary")));
            out.push(string("warden.tool.cwd", s("cwd")));
        }
        "decision" => {
            out.push(string("warden.tool.call_id", s("callId")));
            out.push(string("warden.decision", s("verdict")));
            out.push(string("warden.decision.by", s("actor")));
            let rules: Vec<String> = p["reasons"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| r["rule"].as_str().unwrap_or_default().to_string())
                .collect();
            out.push(string("warden.decision.rules", rules.join(",")));
        }
        "approvalRequested" | "approvalAnswered" => {
            out.push(string("warden.tool.call_id", s("callId")));
            let review = &p["review"];
            for (key, field) in [
                ("warden.review.outcome", "outcome"),
                ("warden.review.risk", "risk"),
                ("warden.review.unavailable", "unavailable"),
            ] {
                if let Some(v) = review[field].as_str() {
                    out.push(string(key, v));
                }
            }
            if kind == "approvalAnswered" {
                out.push(string("warden.approval.decision", s("decision")));
                out.push(string("warden.decision.by", s("actor")));
            } else {
                // What was asked, for the fleet's figures (docs/insights.md): the tool,
                // the command line, and for a network question its host.
                out.push(string("warden.tool.name", s("tool")));
                out.push(string("warden.tool.summary", s("summary")));
                if s("tool") == "network"
                    && let Some(host) = crate::rollup::asked_host(&s("summary"))
                {
                    out.push(string("server.address", host));
                }
            }
        }
        "toolResult" => {
            out.push(string("warden.tool.call_id", s("callId")));
            out.push(boolean(
                "warden.tool.success",
                p["success"].as_bool().unwrap_or(false),
            ));
            if let Some(code) = p["exitCode"].as_i64() {
                out.push(int("process.exit.code", code));
            }
            out.push(int(
                "warden.tool.duration_ms",
                p["durationMs"].as_i64().unwrap_or(0),
            ));
        }
        "sandboxDenied" => {
            out.push(string("warden.tool.call_id", s("callId")));
            let d = &p["denial"];
            out.push(string(
                "warden.sandbox.operation",
                d["operation"].as_str().unwrap_or_default(),
            ));
            out.push(string(
                "warden.sandbox.target",
                d["target"].as_str().unwrap_or_default(),
            ));
            out.push(string(
                "warden.sandbox.layer",
                d["layer"].as_str().unwrap_or_default(),
            ));
        }
        "networkAccess" => {
            if let Some(call) = p["callId"].as_str() {
                out.push(string("warden.tool.call_id", call));
            }
            let a = &p["access"];
            let text = |k: &str| a[k].as_str().unwrap_or_default().to_string();
            out.push(string("server.address", text("host")));
            out.push(int("server.port", a["port"].as_i64().unwrap_or(0)));
            out.push(string("warden.network.protocol", text("protocol")));
            out.push(string("warden.network.decision", text("decision")));
            out.push(string("warden.network.reason", text("reason")));
            out.push(string("warden.decision.by", text("actor")));
            present(
                a,
                &[
                    ("warden.network.rule_source", "source"),
                    ("network.peer.address", "address"),
                    ("process.executable.name", "program"),
                    ("process.command_line", "command"),
                ],
                out,
            );
            out.push(int(
                "warden.network.bytes_up",
                a["bytesUp"].as_i64().unwrap_or(0),
            ));
            out.push(int(
                "warden.network.bytes_down",
                a["bytesDown"].as_i64().unwrap_or(0),
            ));
            out.push(int(
                "warden.network.duration_ms",
                a["durationMs"].as_i64().unwrap_or(0),
            ));
        }
        "configChanged" => {
            out.push(string("warden.config.file", s("file")));
            out.push(string("warden.config.change", s("change")));
            if let Some(e) = p["error"].as_str() {
                out.push(string("error.type", "config_write_failed"));
                out.push(string("warden.config.error", e));
            }
        }
        "credentialChanged" => {
            let c = &p["credential"];
            let c_s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            out.push(string("warden.signin.change", s("change")));
            out.push(string("warden.signin.target", c_s("target")));
            out.push(string("url.full", c_s("url")));
            present(
                c,
                &[
                    ("user.name", "account"),
                    ("warden.signin.issuer", "issuer"),
                    ("warden.signin.client_id", "clientId"),
                    ("warden.signin.error", "signInError"),
                ],
                out,
            );
            let scopes: Vec<&str> = c["scopes"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if !scopes.is_empty() {
                out.push(string("warden.signin.scopes", scopes.join(" ")));
            }
        }
        "mcpServerStarted" => {
            out.push(string("warden.mcp.server", s("server")));
            out.push(string("warden.mcp.command", s("command")));
            let tools: Vec<&str> = p["tools"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            out.push(string("warden.mcp.tools", tools.join(",")));
            if let Some(e) = p["error"].as_str() {
                out.push(string("error.type", "mcp_start_failed"));
                out.push(string("warden.mcp.error", e));
            }
        }
        "mcpCall" => {
            out.push(string("warden.tool.call_id", s("callId")));
            out.push(string("warden.mcp.server", s("server")));
            out.push(string("mcp.method.name", "tools/call"));
            out.push(string("gen_ai.tool.name", s("tool")));
            out.push(boolean(
                "warden.mcp.is_error",
                p["isError"].as_bool().unwrap_or(false),
            ));
            out.push(int(
                "warden.tool.duration_ms",
                p["durationMs"].as_i64().unwrap_or(0),
            ));
        }
        "autoReview" => review_details(p, out),
        "error" => {
            out.push(string("error.type", s("code")));
        }
        _ => {}
    }
}

/// An attribute `key` for each of `object`'s string `field`s that is present.
fn present(object: &Value, fields: &[(&str, &str)], out: &mut Vec<KeyValue>) {
    for (key, field) in fields {
        if let Some(value) = object[*field].as_str() {
            out.push(string(key, value));
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` from epoch milliseconds.
fn rfc3339(ms: i64) -> String {
    format!(
        "{}.{:03}Z",
        warden_protocol::utc_time(ms).replacen(' ', "T", 1),
        ms.rem_euclid(1000)
    )
}

/// An auto-review: which tier, what it said, and for the reviewer model the GenAI
/// attributes (model, tokens) and its latency.
fn review_details(p: &Value, out: &mut Vec<KeyValue>) {
    let s = |k: &str| p[k].as_str().unwrap_or_default().to_string();
    out.push(string("warden.tool.call_id", s("callId")));
    out.push(string("warden.review.tier", s("tier")));
    out.push(string("warden.review.kind", s("kind")));
    out.push(string("warden.review.summary", s("summary")));
    for (key, field) in [
        ("warden.review.outcome", "outcome"),
        ("warden.review.risk", "risk"),
        ("warden.review.user_authorized", "userAuthorized"),
        ("warden.review.rationale", "rationale"),
        ("warden.review.unavailable", "unavailable"),
    ] {
        if let Some(v) = p[field].as_str() {
            out.push(string(key, v));
        }
    }
    if !p["unavailable"].is_null() {
        out.push(string("error.type", "review_unavailable"));
    }
    if p["tier"] == "model" {
        out.push(string("gen_ai.operation.name", "chat"));
        out.push(string("gen_ai.request.model", s("model")));
        out.push(int(
            "gen_ai.usage.input_tokens",
            p["tokensIn"].as_i64().unwrap_or(0),
        ));
        out.push(int(
            "gen_ai.usage.output_tokens",
            p["tokensOut"].as_i64().unwrap_or(0),
        ));
        out.push(int(
            "warden.review.latency_ms",
            p["latencyMs"].as_i64().unwrap_or(0),
        ));
        out.push(boolean(
            "warden.review.cached",
            p["cached"].as_bool().unwrap_or(false),
        ));
    }
}

/// One log record. Prompts are replaced by a marker unless `export_prompts`.
pub(crate) fn log_record(
    record: &StoredRecord,
    export_prompts: bool,
    observed_ns: u64,
) -> LogRecord {
    let payload: Value = serde_json::from_str(&record.payload).unwrap_or(Value::Null);
    let body = if record.kind == "userPrompt" && !export_prompts {
        serde_json::json!({"type": "userPrompt", "text": "[REDACTED:prompt]"}).to_string()
    } else {
        record.payload.clone()
    };
    let (severity_number, severity_text) = severity(&record.kind, &payload);
    let event_name = format!("warden.{}", record.kind);
    let mut attributes = vec![
        string("event.name", event_name.clone()),
        string("warden.session.id", record.session_id.clone()),
        int("warden.event.seq", record.seq as i64),
        string("warden.event.id", record.event_id.clone()),
        string("warden.actor", record.actor.clone()),
    ];
    if let Some(hash) = &record.hash {
        attributes.push(string("warden.event.hash", hash.clone()));
    }
    if let Some(turn) = record.turn {
        attributes.push(int("warden.turn", turn as i64));
    }
    details(&record.kind, &payload, &mut attributes);
    LogRecord {
        time_unix_nano: (record.created_at.max(0) as u64) * 1_000_000,
        observed_time_unix_nano: observed_ns,
        severity_number,
        severity_text: severity_text.into(),
        body: Some(AnyValue {
            value: Some(any_value::Value::StringValue(body)),
        }),
        attributes,
        event_name,
        ..Default::default()
    }
}

/// One export request for a batch of records.
pub(crate) fn request(
    records: &[StoredRecord],
    export_prompts: bool,
    host_name: &str,
) -> ExportLogsServiceRequest {
    let observed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![
                    string("service.name", "warden"),
                    string("service.version", env!("CARGO_PKG_VERSION")),
                    string("host.name", host_name),
                ],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "warden.audit".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                log_records: records
                    .iter()
                    .map(|r| log_record(r, export_prompts, observed))
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attributes(kind: &str, payload: &Value) -> Vec<(String, String)> {
        let mut out = Vec::new();
        details(kind, payload, &mut out);
        out.into_iter()
            .map(|kv| {
                let value = match kv.value.and_then(|v| v.value) {
                    Some(any_value::Value::StringValue(s)) => s,
                    Some(any_value::Value::IntValue(i)) => i.to_string(),
                    Some(any_value::Value::BoolValue(b)) => b.to_string(),
                    other => format!("{other:?}"),
                };
                (kv.key, value)
            })
            .collect()
    }

    #[test]
    fn a_question_carries_what_was_asked_for_the_fleets_figures() {
        let network = serde_json::json!({
            "type": "approvalRequested", "callId": "n1", "tool": "network",
            "summary": "curl (from `make fetch`) wants pypi.org:443", "cwd": "/w",
            "reason": "r", "canAlways": true
        });
        let got = attributes("approvalRequested", &network);
        for expected in [
            ("warden.tool.call_id", "n1"),
            ("warden.tool.name", "network"),
            ("server.address", "pypi.org"),
        ] {
            assert!(
                got.contains(&(expected.0.to_string(), expected.1.to_string())),
                "{expected:?} missing from {got:?}"
            );
        }
        let shell = serde_json::json!({
            "type": "approvalRequested", "callId": "c1", "tool": "shell",
            "summary": "npm run build", "cwd": "/w", "reason": "r", "canAlways": true
        });
        let got = attributes("approvalRequested", &shell);
        assert!(got.contains(&("warden.tool.summary".into(), "npm run build".into())));
        assert!(!got.iter().any(|(k, _)| k == "server.address"), "{got:?}");
    }

    #[test]
    fn a_refused_connection_carries_its_host_reason_and_command_and_warns() {
        let payload = serde_json::json!({
            "type": "networkAccess",
            "callId": "c7",
            "access": {
                "host": "evil.test", "port": 443, "protocol": "connect",
                "decision": "deny", "reason": "denylist",
                "source": "user rules /home/me/.config/warden/rules/default.rules:3",
                "actor": "rule", "program": "curl", "command": "curl https://evil.test",
                "bytesUp": 0, "bytesDown": 0, "durationMs": 2
            }
        });
        let got = attributes("networkAccess", &payload);
        for expected in [
            ("warden.tool.call_id", "c7"),
            ("server.address", "evil.test"),
            ("server.port", "443"),
            ("warden.network.protocol", "connect"),
            ("warden.network.decision", "deny"),
            ("warden.network.reason", "denylist"),
            ("warden.decision.by", "rule"),
            ("process.executable.name", "curl"),
            ("process.command_line", "curl https://evil.test"),
            ("warden.network.duration_ms", "2"),
        ] {
            assert!(
                got.contains(&(expected.0.to_string(), expected.1.to_string())),
                "{expected:?} missing from {got:?}"
            );
        }
        assert!(!got.iter().any(|(k, _)| k == "network.peer.address"));
        assert_eq!(severity("networkAccess", &payload), (13, "WARN"));
    }

    #[test]
    fn approvals_denied_or_aborted_warn_and_approved_ones_do_not() {
        let answer =
            |decision: &str| serde_json::json!({"type": "approvalAnswered", "decision": decision});
        assert_eq!(severity("approvalAnswered", &answer("deny")), (13, "WARN"));
        assert_eq!(severity("approvalAnswered", &answer("abort")), (13, "WARN"));
        assert_eq!(
            severity("approvalAnswered", &answer("approve-once")),
            (9, "INFO")
        );
    }

    #[test]
    fn a_sign_in_names_who_where_and_the_scopes_and_a_failure_warns() {
        let payload = serde_json::json!({
            "type": "credentialChanged", "change": "signedIn",
            "credential": {
                "target": "mcp:docs", "url": "https://mcp.corp.example/mcp", "signedIn": true,
                "account": "alice@corp.example", "issuer": "https://login.corp.example",
                "clientId": "warden", "scopes": ["mcp:tools", "openid"], "refreshable": true,
                "store": "OS keyring"
            }
        });
        let pairs = |items: &[(&str, &str)]| {
            items
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            attributes("credentialChanged", &payload),
            pairs(&[
                ("warden.signin.change", "signedIn"),
                ("warden.signin.target", "mcp:docs"),
                ("url.full", "https://mcp.corp.example/mcp"),
                ("user.name", "alice@corp.example"),
                ("warden.signin.issuer", "https://login.corp.example"),
                ("warden.signin.client_id", "warden"),
                ("warden.signin.scopes", "mcp:tools openid"),
            ])
        );
        assert_eq!(severity("credentialChanged", &payload), (9, "INFO"));
        let failed = serde_json::json!({
            "type": "credentialChanged", "change": "signInFailed",
            "credential": {
                "target": "model", "url": "https://login.corp.example", "signedIn": false,
                "scopes": [], "refreshable": false, "store": "OS keyring",
                "signInError": "access_denied"
            }
        });
        assert_eq!(
            attributes("credentialChanged", &failed),
            pairs(&[
                ("warden.signin.change", "signInFailed"),
                ("warden.signin.target", "model"),
                ("url.full", "https://login.corp.example"),
                ("warden.signin.error", "access_denied"),
            ])
        );
        assert_eq!(severity("credentialChanged", &failed), (13, "WARN"));
    }

    #[test]
    fn a_rule_change_names_the_file_and_what_was_added() {
        let payload = serde_json::json!({
            "type": "configChanged", "file": "/home/me/.config/warden/rules/default.rules",
            "change": "network_rule(web.test) = allow", "actor": "user"
        });
        assert_eq!(
            attributes("configChanged", &payload),
            [
                (
                    "warden.config.file".to_string(),
                    "/home/me/.config/warden/rules/default.rules".to_string()
                ),
                (
                    "warden.config.change".to_string(),
                    "network_rule(web.test) = allow".to_string()
                ),
            ]
        );
        assert_eq!(severity("configChanged", &payload), (9, "INFO"));
    }

    #[test]
    fn an_mcp_call_names_its_server_and_tool_and_warns_on_error() {
        let payload = serde_json::json!({
            "type": "mcpCall", "callId": "c7", "server": "docs", "tool": "search",
            "arguments": {"q": "x"}, "isError": true, "durationMs": 41, "result": "boom"
        });
        let got = attributes("mcpCall", &payload);
        let expected: Vec<(String, String)> = [
            ("warden.tool.call_id", "c7"),
            ("warden.mcp.server", "docs"),
            ("mcp.method.name", "tools/call"),
            ("gen_ai.tool.name", "search"),
            ("warden.mcp.is_error", "true"),
            ("warden.tool.duration_ms", "41"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(got, expected);
        assert_eq!(severity("mcpCall", &payload), (13, "WARN"));
    }

    /// Built from the event as the session records it, so a renamed field fails here.
    #[test]
    fn an_auto_review_carries_gen_ai_attributes_and_warns_when_unavailable() {
        use warden_protocol::{EventMsg, ReviewOutcome, ReviewRisk, ReviewTier, UserAuthorized};
        let event = |outcome, unavailable: Option<&str>| {
            serde_json::to_value(EventMsg::AutoReview {
                call_id: "c9".into(),
                tier: ReviewTier::Model,
                kind: "shell".into(),
                summary: "shell: npm test".into(),
                action: serde_json::json!({"kind": "shell", "argv": ["npm", "test"]}),
                model: Some("reviewer-small".into()),
                outcome,
                risk: outcome.map(|_| ReviewRisk::Low),
                user_authorized: outcome.map(|_| UserAuthorized::Yes),
                rationale: outcome.map(|_| "runs the tests asked for".to_string()),
                unavailable: unavailable.map(String::from),
                latency_ms: 812,
                tokens_in: 1900,
                tokens_out: 40,
                cached: false,
            })
            .unwrap()
        };
        let approved = event(Some(ReviewOutcome::Approve), None);
        let got = attributes("autoReview", &approved);
        let get = |key: &str| {
            got.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("no {key} in {got:?}"))
        };
        assert_eq!(get("warden.review.tier"), "model");
        assert_eq!(get("warden.review.outcome"), "approve");
        assert_eq!(get("warden.review.risk"), "low");
        assert_eq!(get("warden.review.user_authorized"), "yes");
        assert_eq!(get("gen_ai.request.model"), "reviewer-small");
        assert_eq!(get("gen_ai.usage.input_tokens"), "1900");
        assert_eq!(get("gen_ai.usage.output_tokens"), "40");
        assert_eq!(get("warden.review.latency_ms"), "812");
        assert_eq!(severity("autoReview", &approved), (9, "INFO"));
        let down = event(None, Some("timeout after 20 s"));
        let got = attributes("autoReview", &down);
        assert!(got.contains(&("error.type".into(), "review_unavailable".into())));
        assert!(got.contains(&(
            "warden.review.unavailable".into(),
            "timeout after 20 s".into()
        )));
        assert!(!got.iter().any(|(k, _)| k == "warden.review.outcome"));
        assert_eq!(severity("autoReview", &down), (13, "WARN"));
    }
}
