//! Property tests: every spelling of the same command decides the same.

use proptest::prelude::*;
use warden_protocol::{PolicySource, Verdict};

use warden_policy::rules::RuleSet;
use warden_policy::shell::{analyze_argv, analyze_script};

use super::load_rules;

fn rules() -> RuleSet {
    load_rules(
        "p.rules",
        r#"
prefix_rule(pattern = ["git", "push", "--force"], decision = "forbidden")
prefix_rule(pattern = ["rm", "-rf"], decision = "forbidden")
"#,
        PolicySource::BuiltIn,
    )
    .unwrap()
}

fn verdict(rules: &RuleSet, argv: &[String]) -> Option<Verdict> {
    analyze_argv(argv)
        .invocations
        .iter()
        .flat_map(|i| rules.matching(i))
        .map(|r| r.decision)
        .max()
}

/// A chain of wrappers, each given as the words it adds before the command.
fn wrappers() -> impl Strategy<Value = Vec<Vec<&'static str>>> {
    let one = prop_oneof![
        Just(vec!["sudo"]),
        Just(vec!["sudo", "-u", "root"]),
        Just(vec!["env", "A=1"]),
        Just(vec!["env", "-i"]),
        Just(vec!["timeout", "5"]),
        Just(vec!["timeout", "-s", "KILL", "5"]),
        Just(vec!["nice", "-n", "3"]),
        Just(vec!["nohup"]),
        Just(vec!["command"]),
        Just(vec!["time"]),
        Just(vec!["stdbuf", "-oL"]),
        Just(vec!["xargs", "-0"]),
        Just(vec!["B=2"]),
    ];
    prop::collection::vec(one, 0..4)
}

/// Optionally run the words through `sh -c` / `bash -lc` (quoted for the shell).
fn through_shell(words: Vec<String>, shell: u8) -> Vec<String> {
    let line = shlex::try_join(words.iter().map(String::as_str)).unwrap();
    match shell {
        0 => words,
        1 => vec!["sh".into(), "-c".into(), line],
        2 => vec!["bash".into(), "-lc".into(), format!("cargo test && {line}")],
        _ => vec!["bash".into(), "-c".into(), format!("echo $({line})")],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_spelling_of_a_force_push_is_forbidden(
        wrap in wrappers(),
        program in prop_oneof![Just("git"), Just("/usr/bin/git"), Just("/usr/local/bin/git")],
        globals in prop_oneof![
            Just(vec![]),
            Just(vec!["-C", "."]),
            Just(vec!["--no-pager"]),
            Just(vec!["-c", "a=b", "--no-pager"]),
            Just(vec!["-C", "sub", "-c", "core.pager=cat"]),
        ],
        force in prop_oneof![Just("--force"), Just("-f")],
        extra in prop::sample::subsequence(vec!["origin", "main"], 0..=2),
        force_at in 0usize..3,
        shell in 0u8..4,
    ) {
        let mut args: Vec<&str> = extra.clone();
        args.insert(force_at.min(args.len()), force);
        let mut words: Vec<String> = wrap.into_iter().flatten().map(String::from).collect();
        words.push(program.into());
        words.extend(globals.iter().map(|s| s.to_string()));
        words.push("push".into());
        words.extend(args.iter().map(|s| s.to_string()));
        let argv = through_shell(words, shell);
        prop_assert_eq!(verdict(&rules(), &argv), Some(Verdict::Forbidden), "{:?}", argv);
    }

    #[test]
    fn every_spelling_of_rm_rf_is_forbidden(
        wrap in wrappers(),
        recursive in prop_oneof![Just("r"), Just("R"), Just("--recursive")],
        force in prop_oneof![Just("f"), Just("--force")],
        combined in any::<bool>(),
        swap in any::<bool>(),
        shell in 0u8..4,
    ) {
        let flag = |f: &str| if f.starts_with("--") { f.to_string() } else { format!("-{f}") };
        let flags: Vec<String> = if combined && !recursive.starts_with("--") && !force.starts_with("--") {
            vec![if swap { format!("-{force}{recursive}") } else { format!("-{recursive}{force}") }]
        } else if swap {
            vec![flag(force), flag(recursive)]
        } else {
            vec![flag(recursive), flag(force)]
        };
        let mut words: Vec<String> = wrap.into_iter().flatten().map(String::from).collect();
        words.push("rm".into());
        words.extend(flags);
        words.push("build".into());
        let argv = through_shell(words, shell);
        prop_assert_eq!(verdict(&rules(), &argv), Some(Verdict::Forbidden), "{:?}", argv);
    }

    #[test]
    fn pushes_and_deletes_without_force_are_not_caught(
        wrap in wrappers(),
        shell in 0u8..4,
        which in any::<bool>(),
    ) {
        let mut words: Vec<String> = wrap.into_iter().flatten().map(String::from).collect();
        if which {
            words.extend(["git", "push", "origin", "main"].map(String::from));
        } else {
            words.extend(["rm", "-r", "build"].map(String::from));
        }
        let argv = through_shell(words, shell);
        prop_assert_eq!(verdict(&rules(), &argv), None, "{:?}", argv);
    }

    #[test]
    fn the_parser_never_panics_and_never_loses_a_plain_command(text in "[ -~\n]{0,80}") {
        let analysis = analyze_script(&text);
        // Every invocation it reports has a name.
        prop_assert!(analysis.invocations.iter().all(|i| !i.name.is_empty()));
    }
}
