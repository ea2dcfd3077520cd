//! The Policy view's data: the effective configuration with sources and locks, the loaded
//! rules, and "what would happen to this command".

use std::path::PathBuf;

use warden_policy::layers::{EffectivePolicy, SessionChoices};
use warden_protocol::{
    CheckCommandParams, CheckCommandResponse, GetPolicyParams, GetPolicyResponse, PolicyRule,
    PolicyValue, ProjectPolicyStatus, SessionPolicy, TrustProjectPolicyParams,
};

use super::{Host, HostError};

fn workspace(cwd: Option<&str>) -> Option<PathBuf> {
    cwd.filter(|c| !c.trim().is_empty())
        .and_then(|c| PathBuf::from(c).canonicalize().ok())
}

/// Settings whose values are secrets (collector API keys ride in its headers): shown and
/// recorded with each value replaced by a marker.
const SECRET_SETTINGS: &[&str] = &["telemetry.otlp_headers"];

const MARKER: &str = "[REDACTED:setting]";

/// A model header whose name says it carries a credential (a gateway's API key): its
/// value is masked; organisation and project ids are shown.
fn secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "key",
        "token",
        "secret",
        "auth",
        "password",
        "cookie",
        "credential",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// A setting's value as shown and recorded: secret settings, and the `env` of MCP
/// servers (tokens for the services they reach), keep their keys but not their values.
fn shown(key: &str, value: &serde_json::Value) -> serde_json::Value {
    let masked = |map: &serde_json::Map<String, serde_json::Value>| {
        serde_json::Value::Object(map.keys().map(|k| (k.clone(), MARKER.into())).collect())
    };
    let secret = SECRET_SETTINGS
        .iter()
        .any(|s| key == *s || key.starts_with(&format!("{s}.")));
    match value {
        serde_json::Value::Object(map) if secret => masked(map),
        _ if secret => MARKER.into(),
        serde_json::Value::Object(headers) if key == "model.headers" => serde_json::Value::Object(
            headers
                .iter()
                .map(|(k, v)| {
                    let v = if secret_header(k) {
                        MARKER.into()
                    } else {
                        v.clone()
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        _ if key
            .strip_prefix("model.headers.")
            .is_some_and(secret_header) =>
        {
            MARKER.into()
        }
        serde_json::Value::Object(server) if key.starts_with("mcp_servers.") => {
            let mut server = server.clone();
            if let Some(serde_json::Value::Object(env)) = server.get("env") {
                let env = masked(env);
                server.insert("env".into(), env);
            }
            serde_json::Value::Object(server)
        }
        other => other.clone(),
    }
}

fn policy_values(policy: &EffectivePolicy) -> Vec<PolicyValue> {
    let settings = policy.values.iter().map(|v| PolicyValue {
        key: v.key.clone(),
        value: shown(&v.key, &v.value),
        source: v.source.clone(),
        locked_by: v.locked_by.clone(),
    });
    settings.chain(admin_lists(policy)).collect()
}

/// The admin's allowlists of what Warden may connect to (not settings of their own): the
/// model endpoints and remote MCP server URLs, one entry per requirement source.
fn admin_lists(policy: &EffectivePolicy) -> Vec<PolicyValue> {
    let req = &policy.requirements;
    let lists = [
        ("model.allowed_base_urls", &req.model_base_urls),
        ("allowed_mcp_urls", &req.mcp_urls),
    ];
    lists
        .into_iter()
        .flat_map(|(key, sources)| {
            sources.iter().map(move |list| PolicyValue {
                key: key.to_string(),
                value: serde_json::json!(list.value),
                source: list.source.clone(),
                locked_by: Some(list.source.clone()),
            })
        })
        .collect()
}

/// What a session's start records about the policy it runs under.
pub fn session_policy(policy: &EffectivePolicy) -> SessionPolicy {
    SessionPolicy {
        values: policy_values(policy),
        requirement_sources: policy.requirements.sources.clone(),
        rule_files: policy.rule_files.clone(),
        warnings: policy.warnings.clone(),
    }
}

impl Host {
    pub(crate) fn policy_view(
        &self,
        params: GetPolicyParams,
    ) -> Result<GetPolicyResponse, HostError> {
        let ws = workspace(params.cwd.as_deref());
        let policy = self.policy(ws.as_deref(), SessionChoices::default())?;
        Ok(GetPolicyResponse {
            values: policy_values(&policy),
            requirement_sources: policy.requirements.sources,
            rules: policy
                .rules
                .prefix_rules()
                .iter()
                .map(|r| PolicyRule {
                    pattern: r.text.clone(),
                    decision: r.decision,
                    justification: r.justification.clone(),
                    source: r.source.clone(),
                })
                .collect(),
            rule_files: policy.rule_files,
            warnings: policy.warnings,
            project: policy.project_policy.map(|p| ProjectPolicyStatus {
                root: p.root.display().to_string(),
                confirmed: p.confirmed,
                changes: p.changes,
                confirmed_at: p.confirmed_at,
            }),
        })
    }

    /// Confirm the workspace's trusted project's `.warden/` files as they are now (a
    /// person's click, outside the sandbox), then show the policy that results.
    pub(crate) fn trust_project_policy(
        &self,
        params: TrustProjectPolicyParams,
    ) -> Result<GetPolicyResponse, HostError> {
        let ws = workspace(Some(&params.cwd));
        let policy = self.policy(ws.as_deref(), SessionChoices::default())?;
        let Some(project) = policy.project_policy else {
            return Err(HostError::ProjectNotTrusted(params.cwd));
        };
        warden_policy::project_trust::confirm(self.paths(), &project.root, crate::now_ms())?;
        self.policy_view(GetPolicyParams {
            cwd: Some(params.cwd),
        })
    }

    pub(crate) fn check_command(
        &self,
        params: CheckCommandParams,
    ) -> Result<CheckCommandResponse, HostError> {
        if params.command.trim().is_empty() {
            return Err(HostError::CommandEmpty);
        }
        let ws = workspace(params.cwd.as_deref());
        let policy = self.policy(ws.as_deref(), SessionChoices::default())?;
        let here = ws.unwrap_or_else(|| PathBuf::from("/"));
        let argv = vec!["sh".to_string(), "-c".to_string(), params.command.clone()];
        let decision = policy.check(&argv, &here);
        let analysis = warden_policy::shell::analyze_script(&params.command);
        let (risk, risk_reasons) = match &decision.risk {
            Some(r) => (
                r.level.as_str().to_string(),
                r.findings.iter().map(|f| f.why.clone()).collect(),
            ),
            None => ("low".to_string(), Vec::new()),
        };
        Ok(CheckCommandResponse {
            verdict: decision.verdict,
            reasons: decision.reasons,
            risk,
            risk_reasons,
            commands: analysis.invocations.iter().map(|i| i.argv()).collect(),
            unresolved: analysis.uncertain,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_settings_keep_their_keys_but_not_their_values() {
        let headers = serde_json::json!({"x-api-key": "k-123"});
        assert_eq!(
            shown("telemetry.otlp_headers", &headers),
            serde_json::json!({"x-api-key": MARKER})
        );
        let server = serde_json::json!({
            "command": "gh-mcp", "args": ["--stdio"],
            "env": {"GITHUB_TOKEN": "ghp_abc", "LOG": "debug"}
        });
        assert_eq!(
            shown("mcp_servers.gh", &server),
            serde_json::json!({
                "command": "gh-mcp", "args": ["--stdio"],
                "env": {"GITHUB_TOKEN": MARKER, "LOG": MARKER}
            })
        );
        assert_eq!(shown("sandbox", &"read-only".into()), "read-only");
    }

    #[test]
    fn model_headers_show_ids_and_mask_credentials() {
        let headers = serde_json::json!({
            "OpenAI-Organization": "org-1", "X-Api-Key": "k", "Authorization": "Bearer t",
            "X-Gateway-Token": "t2", "OpenAI-Project": "proj"
        });
        assert_eq!(
            shown("model.headers", &headers),
            serde_json::json!({
                "OpenAI-Organization": "org-1", "X-Api-Key": MARKER, "Authorization": MARKER,
                "X-Gateway-Token": MARKER, "OpenAI-Project": "proj"
            })
        );
        assert_eq!(shown("model.headers.X-Api-Key", &"k".into()), MARKER);
        assert_eq!(shown("model.headers.OpenAI-Project", &"p".into()), "p");
    }
}
