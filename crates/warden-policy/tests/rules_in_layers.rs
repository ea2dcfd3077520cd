//! Rules files read by the resolver with the real rules language (`warden-rules`): an
//! admin's requirement beats a trusted project's and the user's rules, files are loaded
//! from every layer, and rules kept from an earlier load serve a process without the
//! language until the file changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use warden_policy::PolicyError;
use warden_policy::config::WardenPaths;
use warden_policy::layers::{PolicyInputs, resolve};
use warden_policy::rules::RulesCache;
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
        let home = WardenPaths {
            config_dir: self.root.join("home"),
            data_dir: self.root.join("home"),
        };
        // A person reviewed the project's policy as it is now (project_trust.rs).
        warden_policy::project_trust::confirm(&home, &self.root.join("project"), 1).unwrap();
        let mut inputs = PolicyInputs::confined_to(home, self.root.join("etc"));
        inputs.workspace = Some(self.root.join("project"));
        inputs.rules = Some(warden_rules::load_rules);
        inputs
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
        sensitive_edits: Default::default(),
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

#[test]
fn rules_loaded_once_are_used_without_the_rules_language_until_the_file_changes() {
    let w = World::new();
    let rules = "network_rule(host = \"example.com\", decision = \"deny\")\n\
                 prefix_rule(pattern = [\"git\", \"push\"], decision = \"forbidden\")\n\
                 host_executable(name = \"git\", paths = [\"/usr/bin/git\"])\n";
    w.write("home/rules/default.rules", rules);
    let mut inputs = w.inputs();
    inputs.rules_cache = Some(RulesCache::new(w.root.join("cache")));
    let loaded = resolve(&inputs).unwrap();
    assert_eq!(loaded.rules.prefix_rules().len(), 1);
    let mut without = inputs.clone();
    without.rules = None;
    let kept = resolve(&without).unwrap();
    assert_eq!(kept.rules.prefix_rules(), loaded.rules.prefix_rules());
    assert_eq!(kept.rules.network, loaded.rules.network);
    assert_eq!(kept.rules.host_executables, loaded.rules.host_executables);
    assert_eq!(kept.rule_files, loaded.rule_files);
    // Edited: the kept rules are not used.
    w.write("home/rules/default.rules", &rules.replace("deny", "allow"));
    assert!(matches!(
        resolve(&without),
        Err(PolicyError::NoRulesLanguage { .. })
    ));
    // A file that does not load is never kept.
    w.write("home/rules/default.rules", "prefix_rule(\n");
    assert!(matches!(resolve(&inputs), Err(PolicyError::Rules { .. })));
    assert!(matches!(
        resolve(&without),
        Err(PolicyError::NoRulesLanguage { .. })
    ));
}
