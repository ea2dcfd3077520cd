use warden_protocol::{PolicySource, Verdict};

use warden_policy::rules::RuleSet;
use warden_policy::shell::{analyze_argv, analyze_script};

use super::*;

fn source() -> PolicySource {
    PolicySource::UserRules {
        path: "test.rules".into(),
    }
}

fn load(text: &str) -> RuleSet {
    load_rules("test.rules", text, source()).unwrap()
}

fn strictest(rules: &RuleSet, script: &str) -> Option<Verdict> {
    analyze_script(script)
        .invocations
        .iter()
        .flat_map(|inv| rules.matching(inv))
        .map(|r| r.decision)
        .max()
}

#[test]
fn a_forbidden_rule_catches_every_spelling_codex_misses() {
    let rules = load(
        r#"
prefix_rule(pattern = ["git", "push", "--force"], decision = "forbidden",
            justification = "force pushes rewrite shared history")
prefix_rule(pattern = ["rm", "-rf"], decision = "forbidden")
"#,
    );
    for spelling in [
        "git push --force",
        "/usr/bin/git push --force",
        "sudo git push --force",
        "git -C . push --force",
        "git push origin main --force",
        "git push -f origin main",
        "git push origin +main",
        "bash -lc \"cargo test && git push --force\"",
        "env GIT_TRACE=1 git push --force",
        "timeout 60 git push --force",
        "FOO=bar git push --force",
        "(git push --force)",
        "echo $(git push --force)",
        "echo `git push --force`",
        "sh -c 'bash -c \"git push --force\"'",
        "xargs git push --force",
        "git >/dev/null push --force",
        "git 2>&1 push --force \"$X\"",
        "rm -rf build",
        "rm -r -f build",
        "rm -fr build",
        "rm --recursive --force build",
        "rm -R -f build",
        "find . -name x -exec rm -rf {} ;",
        "nice -n 5 nohup rm -rf build",
    ] {
        assert_eq!(
            strictest(&rules, spelling),
            Some(Verdict::Forbidden),
            "{spelling}"
        );
    }
    for other in [
        "git push origin main",
        "git status",
        "rm -r build",
        "rm build",
        "echo git push --force",
    ] {
        assert_eq!(strictest(&rules, other), None, "{other}");
    }
}

#[test]
fn allow_rules_match_narrowly() {
    let rules = load(
        r#"
prefix_rule(pattern = ["npm", "run", "test"], decision = "allow")
prefix_rule(pattern = ["git", "status"], decision = "allow")
host_executable(name = "git", paths = ["/usr/bin/git"])
"#,
    );
    assert_eq!(strictest(&rules, "npm run test"), Some(Verdict::Allow));
    // A word that may be a flag's value breaks an allow rule's prefix.
    assert_eq!(strictest(&rules, "npm --prefix /elsewhere run test"), None);
    // Paths count only where host_executable declares them.
    assert_eq!(
        strictest(&rules, "/usr/bin/git status"),
        Some(Verdict::Allow)
    );
    assert_eq!(strictest(&rules, "./git status"), None);
    assert_eq!(strictest(&rules, "/tmp/evil/npm run test"), None);
}

#[test]
fn examples_are_checked_at_load_with_their_line() {
    let ok = load(
        r#"
prefix_rule(
    pattern = ["gh", "pr", ["view", "list"]],
    decision = "prompt",
    match = ["gh pr view 7888", ["gh", "pr", "list"]],
    not_match = ["gh issue view 1"],
)
"#,
    );
    assert_eq!(ok.prefix_rules().len(), 1);
    let error = load_rules(
        "bad.rules",
        "\n\nprefix_rule(pattern = [\"git\", \"push\"], decision = \"forbidden\",\n  match = [\"git pull\"])\n",
        source(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with("bad.rules: test.rules:3: prefix_rule(git push)"),
        "{error}"
    );
    assert!(error.contains("`git pull`"), "{error}");
    assert!(error.contains("does not match"), "{error}");
}

#[test]
fn load_errors_say_where_and_what() {
    let cases = [
        (
            "prefix_rule(pattern = [\"git\"], decision = \"maybe\")",
            "decision must be",
        ),
        (
            "prefix_rule(pattern = [], decision = \"allow\")",
            "pattern must not be empty",
        ),
        ("prefix_rule(pattern = [\"git\"], colour = 1)", "colour"),
        ("prefix_rule(pattern = [\"git\"]\n", "Parse error"),
        (
            "network_rule(host = \"*\", decision = \"allow\")",
            "every host",
        ),
        (
            "host_executable(name = \"git\", paths = [\"git\"])",
            "absolute",
        ),
    ];
    for (text, expected) in cases {
        let error = load_rules("x.rules", text, source())
            .unwrap_err()
            .to_string();
        assert!(error.contains("x.rules"), "{error}");
        assert!(error.contains(expected), "{text}: {error}");
    }
}

#[test]
fn network_rules_load() {
    let rules = load(
        r#"network_rule(host = "*.npmjs.org:443", protocol = "https", decision = "allow", justification = "npm")"#,
    );
    assert_eq!(rules.network.len(), 1);
    assert_eq!(rules.network[0].host.to_string(), "*.npmjs.org:443");
    assert_eq!(rules.network[0].decision, HostDecision::Allow);
    assert_eq!(rules.network[0].source.location(), "test.rules:1");
}

#[test]
fn argv_and_script_forms_agree() {
    let rules = load(r#"prefix_rule(pattern = ["git", "push"], decision = "prompt")"#);
    let argv: Vec<String> = ["git", "push", "origin"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let from_argv = analyze_argv(&argv);
    assert_eq!(rules.matching(&from_argv.invocations[0]).len(), 1);
}

#[test]
fn written_rules_load_and_allow_exactly_that_command() {
    use warden_policy::rules::append_allow_rules;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules/default.rules");
    let argv: Vec<String> = ["bash", "-lc", "npm test -- --grep \"a b\""]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let always = "always allowed by the user";
    let rules = append_allow_rules(&file, &argv, always, load_rules).unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].text, "npm test -- --grep a b");
    let text = std::fs::read_to_string(&file).unwrap();
    let set = load_rules("f", &text, PolicySource::BuiltIn).unwrap();
    let again = analyze_argv(&argv);
    let npm = again.invocations.iter().find(|i| i.name == "npm").unwrap();
    assert_eq!(set.matching(npm).len(), 1);
    let again = append_allow_rules(&file, &argv, always, load_rules).unwrap();
    assert_eq!(again[0].source.location(), format!("{}:2", file.display()));
}

#[test]
fn a_written_network_rule_loads_and_a_broken_file_is_reported() {
    use warden_policy::rules::{HostDecision, append_network_allow, write_network_allow};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules/default.rules");
    // Unchecked (what `warden` writes before `warden-sessions` checks the file).
    let first = write_network_allow(&file, "registry.example.com", "said \"yes\"").unwrap();
    assert_eq!(first.location(), format!("{}:1", file.display()));
    let second =
        append_network_allow(&file, "*.example.org", "allowed when asked", load_rules).unwrap();
    assert_eq!(second.location(), format!("{}:2", file.display()));
    let set = load_rules("f", &std::fs::read_to_string(&file).unwrap(), source()).unwrap();
    let hosts: Vec<(String, HostDecision)> = set
        .network
        .iter()
        .map(|r| (r.host.to_string(), r.decision))
        .collect();
    assert_eq!(
        hosts,
        [
            ("registry.example.com".to_string(), HostDecision::Allow),
            ("*.example.org".to_string(), HostDecision::Allow)
        ]
    );
    assert_eq!(
        set.network[0].justification.as_deref(),
        Some("said \"yes\"")
    );
    // A file that no longer loads is an error naming it, even though the line was added.
    std::fs::write(&file, "network_rule(host = \n").unwrap();
    let error = append_network_allow(&file, "a.example", "x", load_rules).unwrap_err();
    assert!(error.to_string().contains("default.rules"), "{error}");
}
