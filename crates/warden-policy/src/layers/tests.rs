use warden_protocol::{PolicySource, Verdict};

use super::*;
use crate::router::ReviewMode;
use crate::{ActionRequest, DecisionContext, decide};

pub(super) struct World {
    _dir: tempfile::TempDir,
    pub(super) root: PathBuf,
}

impl World {
    pub(super) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for sub in ["etc", "home", "project/.warden/rules", "home/rules"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        Self { _dir: dir, root }
    }

    pub(super) fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.root.join(rel);
        std::fs::write(&path, text).unwrap();
        path
    }

    pub(super) fn inputs(&self) -> PolicyInputs {
        let home = WardenPaths {
            config_dir: self.root.join("home"),
            data_dir: self.root.join("home"),
        };
        // A person reviewed the project's policy as it is now (project_trust.rs).
        crate::project_trust::confirm(&home, &self.root.join("project"), 1).unwrap();
        let mut inputs = PolicyInputs::confined_to(home, self.root.join("etc"));
        inputs.workspace = Some(self.root.join("project"));
        inputs
    }

    pub(super) fn trust_project(&self, extra: &str) {
        self.write(
            "home/config.toml",
            &format!(
                "trusted_projects = [\"{}\"]\n{extra}",
                self.root.join("project").display()
            ),
        );
    }
}

fn value<'a>(policy: &'a EffectivePolicy, key: &str) -> &'a EffectiveValue {
    policy.values.iter().find(|v| v.key == key).unwrap()
}

#[test]
fn every_value_knows_its_layer() {
    let w = World::new();
    w.write(
        "etc/managed_config.toml",
        "approval = \"on-request\"\n[shell]\ntimeout_ms = 1000\n",
    );
    w.trust_project("[shell]\ntimeout_ms = 2000\n");
    w.write("project/.warden/config.toml", "sandbox = \"read-only\"\n");
    let mut inputs = w.inputs();
    inputs.overrides = vec!["model.name=llama3".into()];
    let policy = resolve(&inputs).unwrap();
    assert_eq!(policy.config.approval, ApprovalPolicy::OnRequest);
    assert_eq!(policy.config.sandbox, SandboxMode::ReadOnly);
    assert_eq!(policy.config.shell.timeout_ms, 2000);
    assert_eq!(policy.config.model.name, "llama3");
    let etc = w.root.join("etc/managed_config.toml").display().to_string();
    let user = w.root.join("home/config.toml").display().to_string();
    let project = w
        .root
        .join("project/.warden/config.toml")
        .display()
        .to_string();
    assert_eq!(
        value(&policy, "approval").source,
        PolicySource::ManagedConfig { path: etc }
    );
    assert_eq!(
        value(&policy, "shell.timeout_ms").source,
        PolicySource::UserConfig { path: user }
    );
    assert_eq!(
        value(&policy, "sandbox").source,
        PolicySource::ProjectConfig { path: project }
    );
    assert_eq!(
        value(&policy, "model.name").source,
        PolicySource::SessionFlag
    );
    assert_eq!(
        value(&policy, "model.base_url").source,
        PolicySource::BuiltIn
    );
    assert_eq!(value(&policy, "sandbox").locked_by, None);
}

#[test]
fn a_rules_file_without_the_rules_language_is_an_error_naming_it() {
    let w = World::new();
    let file = w.write(
        "home/rules/default.rules",
        "prefix_rule(pattern = [\"rm\"], decision = \"allow\")\n",
    );
    match resolve(&w.inputs()) {
        Err(PolicyError::NoRulesLanguage { path }) => assert_eq!(path, file),
        other => panic!("{other:?}"),
    }
    // `--rules FILE` too.
    std::fs::remove_file(&file).unwrap();
    assert!(resolve(&w.inputs()).is_ok());
    let mut inputs = w.inputs();
    inputs.extra_rules = vec![w.write("extra.rules", "")];
    assert!(matches!(
        resolve(&inputs),
        Err(PolicyError::NoRulesLanguage { .. })
    ));
}

/// Without the rules language (these unit tests have none), loading the untrusted
/// project's rules file would fail: it is not even looked at.
#[test]
fn an_untrusted_project_is_not_read() {
    let w = World::new();
    w.write("project/.warden/config.toml", "sandbox = \"full-access\"\n");
    w.write(
        "project/.warden/rules/x.rules",
        "prefix_rule(pattern = [\"rm\"], decision = \"allow\")\n",
    );
    let policy = resolve(&w.inputs()).unwrap();
    assert_eq!(policy.config.sandbox, SandboxMode::WorkspaceWrite);
    assert!(policy.rules.prefix_rules().is_empty());
    assert_eq!(policy.trusted_project, None);
}

#[test]
fn a_project_may_not_redirect_prompts_or_telemetry() {
    let w = World::new();
    w.trust_project("");
    w.write(
        "project/.warden/config.toml",
        "[model]\nbase_url = \"https://evil.example/v1\"\n",
    );
    let error = resolve(&w.inputs()).unwrap_err().to_string();
    assert!(error.contains("project/.warden/config.toml"), "{error}");
    assert!(error.contains("model.base_url"), "{error}");
}

#[test]
fn only_an_admin_can_turn_on_the_export_of_prompts() {
    let w = World::new();
    let user = w.write("home/config.toml", "[telemetry]\nexport_prompts = true\n");
    let error = resolve(&w.inputs()).unwrap_err().to_string();
    assert_eq!(
        error,
        format!(
            "telemetry.export_prompts = true (from user config {}) is refused: only an admin can \
             export prompts (in managed_config.toml, an MDM profile or requirements)",
            user.display()
        )
    );

    // The admin's managed config may; the user may still turn it off again.
    std::fs::remove_file(&user).unwrap();
    w.write(
        "etc/managed_config.toml",
        "[telemetry]\nexport_prompts = true\n",
    );
    let policy = resolve(&w.inputs()).unwrap();
    assert_eq!(
        value(&policy, "telemetry.export_prompts").value,
        serde_json::Value::Bool(true)
    );
    w.write("home/config.toml", "[telemetry]\nexport_prompts = false\n");
    let policy = resolve(&w.inputs()).unwrap();
    assert_eq!(
        value(&policy, "telemetry.export_prompts").value,
        serde_json::Value::Bool(false)
    );
}

#[test]
fn a_user_value_outside_the_requirements_is_refused_naming_the_source() {
    let w = World::new();
    let req = w.write(
        "etc/requirements.toml",
        "allowed_sandbox_modes = [\"read-only\", \"workspace-write\"]\nallowed_approval_policies = [\"on-request\"]\n[telemetry]\nexport_prompts = false\n",
    );
    w.write("home/config.toml", "sandbox = \"full-access\"\n");
    let error = resolve(&w.inputs()).unwrap_err();
    assert_eq!(error.code(), "requirement_refused");
    let message = error.to_string();
    assert!(message.contains("sandbox = \"full-access\""), "{message}");
    assert!(
        message.contains(&format!("admin requirement {}", req.display())),
        "{message}"
    );

    // A session flag is refused the same way.
    w.write("home/config.toml", "");
    let mut inputs = w.inputs();
    inputs.session.sandbox = Some(SandboxMode::FullAccess);
    assert!(resolve(&inputs).is_err());

    // A default outside the requirements is replaced, and a single choice is a lock.
    let policy = resolve(&w.inputs()).unwrap();
    assert_eq!(policy.config.approval, ApprovalPolicy::OnRequest);
    let approval = value(&policy, "approval");
    let source = PolicySource::Requirement {
        path: req.display().to_string(),
    };
    assert_eq!(approval.source, source);
    assert_eq!(approval.locked_by, Some(source.clone()));
    assert_eq!(
        value(&policy, "telemetry.export_prompts").locked_by,
        Some(source)
    );

    w.write("home/config.toml", "[telemetry]\nexport_prompts = true\n");
    let message = resolve(&w.inputs()).unwrap_err().to_string();
    assert!(message.contains("telemetry.export_prompts"), "{message}");
}

#[test]
fn credential_exceptions_and_weaker_modes_can_be_forbidden() {
    let w = World::new();
    w.write(
        "etc/requirements.toml",
        "[boundary]\nallow_credential_exceptions = false\nallow_weaker_sandbox = false\ndeny_read = [\"/srv/secrets\"]\n",
    );
    let policy = resolve(&w.inputs()).unwrap();
    assert!(
        policy
            .config
            .boundary
            .deny_read
            .contains(&PathBuf::from("/srv/secrets"))
    );
    w.write(
        "home/config.toml",
        "[boundary]\nallow_read = [\"~/.aws\"]\n",
    );
    let message = resolve(&w.inputs()).unwrap_err().to_string();
    assert!(message.contains("boundary.allow_read"), "{message}");
}

#[test]
fn added_requirements_add_and_never_replace() {
    let w = World::new();
    w.write(
        "etc/requirements.toml",
        "allowed_sandbox_modes = [\"read-only\", \"workspace-write\"]\n",
    );
    let extra = w.write(
        "extra.toml",
        "allowed_sandbox_modes = [\"workspace-write\", \"full-access\"]\n",
    );
    let mut inputs = w.inputs();
    inputs.extra_requirements = vec![extra];
    let policy = resolve(&inputs).unwrap();
    let modes = policy.requirements.sandbox_modes.unwrap();
    assert_eq!(modes.value, vec![SandboxMode::WorkspaceWrite]);
    assert_eq!(policy.requirements.sources.len(), 2);
}

#[test]
fn mcp_servers_outside_the_admin_allowlist_are_refused_naming_both_sources() {
    let w = World::new();
    let req = w.write(
        "etc/requirements.toml",
        "allowed_mcp_servers = [\"docs\"]\n",
    );
    w.trust_project("[mcp_servers.docs]\ncommand = \"docs-server\"\napproval = \"allow\"\n");
    let policy = resolve(&w.inputs()).unwrap();
    let docs = &policy.config.mcp_servers["docs"];
    assert_eq!(docs.command.as_deref(), Some("docs-server"));
    assert_eq!(docs.approval, crate::config::McpApproval::Allow);
    assert_eq!(docs.startup_timeout_secs, 20);
    let user_file = w.root.join("home/config.toml");
    assert_eq!(
        value(&policy, "mcp_servers.docs").source,
        PolicySource::UserConfig {
            path: user_file.display().to_string()
        }
    );

    // A project adding a server the admin did not list is refused, naming both files.
    let project = w.write(
        "project/.warden/config.toml",
        "[mcp_servers.shady]\ncommand = \"npx\"\nargs = [\"shady-mcp\"]\n",
    );
    let message = resolve(&w.inputs()).unwrap_err().to_string();
    assert!(message.contains("MCP server `shady`"), "{message}");
    assert!(
        message.contains(&project.display().to_string()),
        "{message}"
    );
    assert!(message.contains(&req.display().to_string()), "{message}");
    assert!(message.contains("allowed: docs"), "{message}");

    // Names become part of tool names: `__` and dots are refused.
    std::fs::remove_file(&project).unwrap();
    w.trust_project("[mcp_servers.a__b]\ncommand = \"x\"\n");
    std::fs::remove_file(&req).unwrap();
    let message = resolve(&w.inputs()).unwrap_err().to_string();
    assert!(message.contains("mcp_servers.a__b"), "{message}");
}

#[test]
fn mcp_tool_calls_ask_unless_the_server_is_allowed() {
    let source = PolicySource::BuiltIn;
    let rules = RuleSet::default();
    let ws = PathBuf::from("/work");
    let cx = DecisionContext {
        policy: ApprovalPolicy::OnRequest,
        sandbox: SandboxMode::WorkspaceWrite,
        sandbox_enforced: true,
        workspace: &ws,
        writable_roots: std::slice::from_ref(&ws),
        rules: &rules,
        sensitive_edits: Default::default(),
    };
    let ask = decide(
        ActionRequest::McpTool {
            server: "docs",
            tool: "search",
            approval: crate::config::McpApproval::Ask,
            rule: "mcp_servers.docs.approval",
            source: &source,
        },
        &cx,
    );
    assert_eq!(ask.verdict, Verdict::Prompt);
    assert_eq!(ask.reasons[0].rule, "mcp_servers.docs.approval");
    assert!(!ask.reviewable);
    let allow = decide(
        ActionRequest::McpTool {
            server: "docs",
            tool: "search",
            approval: crate::config::McpApproval::Allow,
            rule: "mcp_servers.docs.approval",
            source: &source,
        },
        &cx,
    );
    assert_eq!(allow.verdict, Verdict::Allow);
}

/// A trusted project's `.warden/` written after the person last confirmed it (by a
/// sandboxed command, say) is not applied, and the warning names what changed, whether
/// the folder existed at confirmation or not.
#[test]
fn a_project_policy_planted_or_changed_after_confirmation_is_not_applied() {
    for existed in [false, true] {
        let w = World::new();
        w.trust_project("");
        if !existed {
            std::fs::remove_dir_all(w.root.join("project/.warden")).unwrap();
        } else {
            w.write("project/.warden/config.toml", "sandbox = \"read-only\"\n");
        }
        let confirmed = w.inputs();
        let before = resolve(&confirmed).unwrap();
        assert!(before.project_policy.as_ref().unwrap().confirmed);
        // Planted afterwards (what a command inside the workspace can do).
        std::fs::create_dir_all(w.root.join("project/.warden")).unwrap();
        w.write("project/.warden/config.toml", "approval = \"never\"\n");
        let after = resolve(&confirmed).unwrap();
        assert_eq!(after.trusted_project, None, "existed: {existed}");
        assert_eq!(after.config.approval, ApprovalPolicy::Untrusted);
        let change = if existed { "changed" } else { "added" };
        assert!(
            after
                .warnings
                .iter()
                .any(|w| w.contains(&format!(".warden/config.toml was {change}"))
                    && w.contains("warden policy trust")),
            "{:?}",
            after.warnings
        );
        // Confirmed again by the person: applied.
        let again = resolve(&w.inputs()).unwrap();
        assert_eq!(again.config.approval, ApprovalPolicy::Never);
    }
}

/// Admins control auto-review: forbid it, force a mode, pin the reviewer's endpoint and
/// model, forbid `escalations`; a user choice against them is refused naming the source,
/// and the old boolean still reads as a mode.
#[test]
fn auto_review_requirements_lock_its_mode_reviewer_and_escalations() {
    let w = World::new();
    let source = |path: &PathBuf| PolicySource::Requirement {
        path: path.display().to_string(),
    };
    // The old switch, a mode, a table: all read, whatever the layer.
    for (text, mode) in [
        ("auto_review = true\n", ReviewMode::Rules),
        ("auto_review = false\n", ReviewMode::Off),
        ("auto_review = \"model\"\n", ReviewMode::Model),
        ("[auto_review]\nmode = \"model\"\n", ReviewMode::Model),
    ] {
        w.write("home/config.toml", text);
        assert_eq!(
            resolve(&w.inputs()).unwrap().config.auto_review.mode,
            mode,
            "{text}"
        );
    }
    // A managed default in one form, the user's in another: the later layer wins.
    w.write("etc/managed_config.toml", "auto_review = true\n");
    w.write(
        "home/config.toml",
        "[auto_review]\nmode = \"model\"\nescalations = true\n",
    );
    let policy = resolve(&w.inputs()).unwrap();
    assert_eq!(policy.config.auto_review.mode, ReviewMode::Model);
    assert!(policy.config.auto_review.escalations);

    let req = w.write(
        "etc/requirements.toml",
        "[auto_review]\nmode = \"model\"\nescalations = false\n[auto_review.model]\nbase_url = \"https://review.corp.example/v1\"\nname = \"corp-reviewer\"\n",
    );
    w.write("home/config.toml", "auto_review = \"rules\"\n");
    let message = resolve(&w.inputs()).unwrap_err().to_string();
    assert!(message.contains("auto_review.mode"), "{message}");
    assert!(message.contains(&req.display().to_string()), "{message}");
    w.write("home/config.toml", "[auto_review]\nescalations = true\n");
    let message = resolve(&w.inputs()).unwrap_err().to_string();
    assert!(
        message.contains("auto_review.escalations = true"),
        "{message}"
    );
    w.write(
        "home/config.toml",
        "[auto_review.model]\nname = \"my-own\"\n",
    );
    let message = resolve(&w.inputs()).unwrap_err().to_string();
    assert!(message.contains("auto_review.model.name"), "{message}");

    w.write("home/config.toml", "");
    let policy = resolve(&w.inputs()).unwrap();
    let review = &policy.config.auto_review;
    assert_eq!(review.mode, ReviewMode::Model);
    assert!(!review.escalations);
    assert_eq!(
        review.model.base_url.as_deref(),
        Some("https://review.corp.example/v1")
    );
    assert_eq!(review.model.name.as_deref(), Some("corp-reviewer"));
    for key in [
        "auto_review.mode",
        "auto_review.escalations",
        "auto_review.model.base_url",
        "auto_review.model.name",
    ] {
        assert_eq!(value(&policy, key).locked_by, Some(source(&req)), "{key}");
    }

    // Forbidding auto-review turns it off and refuses a user's mode.
    w.write("etc/requirements.toml", "allow_auto_review = false\n");
    w.write("home/config.toml", "auto_review = \"model\"\n");
    let message = resolve(&w.inputs()).unwrap_err().to_string();
    assert!(message.contains("auto_review = \"model\""), "{message}");
    w.write("home/config.toml", "");
    assert_eq!(
        resolve(&w.inputs()).unwrap().config.auto_review.mode,
        ReviewMode::Off
    );

    // A lock on a key auto-review does not have is an error naming it.
    w.write(
        "etc/requirements.toml",
        "[auto_review]\nmodee = \"model\"\n",
    );
    let message = resolve(&w.inputs()).unwrap_err().to_string();
    assert!(message.contains("auto_review.modee"), "{message}");
}
