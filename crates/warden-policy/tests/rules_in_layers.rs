//! Rules files read by the resolver with the real rules language (`warden-rules`): an
//! admin's requirement beats a trusted project's and the user's rules, and files are
//! loaded from every layer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use warden_policy::config::WardenPaths;
use warden_policy::layers::{PolicyInputs, SessionChoices, resolve};
use warden_policy::requirements::mdm;
use warden_policy::{ActionRequest, DecisionContext, decide};
use warden_protocol::Verdict;

struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for sub in ["etc", "home/rules", "project/.warden/rules"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        Self { _dir: dir, root }
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.root.join(rel), text).unwrap();
    }

    fn trust_project(&self, extra: &str) {
        let project = self.root.join("project");
        self.write(
            "home/config.toml",
            &format!("trusted_projects = [\"{}\"]\n{extra}", project.display()),
        );
    }

    fn inputs(&self) -> PolicyInputs {
        PolicyInputs {
            paths: WardenPaths {
                config_dir: self.root.join("home"),
                data_dir: self.root.join("home"),
            },
            system_dir: self.root.join("etc"),
            workspace: Some(self.root.join("project")),
            overrides: Vec::new(),
            session: SessionChoices::default(),
            extra_requirements: Vec::new(),
            extra_rules: Vec::new(),
            managed: mdm::ManagedPreferences::default(),
            rules: Some(warden_rules::load_rules),
        }
    }
}

#[test]
fn project_rules_cannot_allow_what_an_admin_forbids() {
    let w = World::new();
    w.trust_project("");
    w.write(
        "etc/requirements.toml",
        "[[prefix_rules]]\npattern = [\"git\", \"push\", [\"--force\", \"-f\"]]\ndecision = \"forbidden\"\njustification = \"no force pushes\"\n",
    );
    w.write(
        "project/.warden/rules/open.rules",
        "prefix_rule(pattern = [\"git\"], decision = \"allow\")\n",
    );
    w.write(
        "home/rules/default.rules",
        "prefix_rule(pattern = [\"git\", \"status\"], decision = \"allow\")\n",
    );
    let policy = resolve(&w.inputs()).unwrap();
    assert_eq!(policy.rule_files.len(), 2);
    let ws = w.root.join("project");
    let roots = [ws.clone()];
    let cx = DecisionContext {
        policy: policy.config.approval,
        sandbox: policy.config.sandbox,
        sandbox_enforced: true,
        workspace: &ws,
        writable_roots: &roots,
        rules: &policy.rules,
    };
    let check = |line: &str| {
        let argv = shlex::split(line).unwrap();
        decide(
            ActionRequest::Shell {
                argv: &argv,
                cwd: Path::new(&ws),
            },
            &cx,
        )
    };
    let d = check("git push -f origin main");
    assert_eq!(d.verdict, Verdict::Forbidden);
    assert_eq!(d.reasons[0].justification, "no force pushes");
    assert!(d.reasons[0].source.is_requirement());
    assert_eq!(check("git log").verdict, Verdict::Allow);
}
