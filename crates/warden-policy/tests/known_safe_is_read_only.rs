//! "Known-safe" means read-only, checked as a class and against bash itself. Command
//! lines are generated from known-safe programs, redirections in every spelling bash
//! accepts (written anywhere on the line), options that write, and the places a command
//! can sit (a `bash -c` script, a subshell, a group, `$(...)`, a pipeline, a list, an `if`).
//!
//! - Every line with a redirection that writes, or an option that writes, must not be
//!   allowed without a question under the default (`untrusted`) policy.
//! - The same lines with harmless redirections (`2>/dev/null`, `2>&1`, `< file`) stay
//!   allowed, so the first property is not met by refusing everything.
//! - The differential: each generated line also runs under real bash in a scratch folder;
//!   wherever bash wrote, created or deleted a file there, Warden must not have called
//!   the line known-safe.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use warden_policy::rules::RuleSet;
use warden_policy::{ActionRequest, DecisionContext, decide};
use warden_protocol::{ApprovalPolicy, SandboxMode, Verdict};

/// Known-safe commands, with `{r}` where a redirection goes in the middle.
const SAFE: &[&str] = &[
    "ls {r} -la",
    "cat {r} a.txt",
    "echo {r} hi",
    "head -n1 {r} a.txt",
    "sort {r} a.txt",
    "uniq -c {r} a.txt",
    "wc -l {r} a.txt",
    "grep {r} x a.txt",
    "date {r} +%s",
    "find . {r} -name a.txt",
    "sed -n 1p {r} a.txt",
    "git {r} status --short",
];

/// Redirections that write or connect, in the spellings bash accepts.
const WRITES: &[&str] = &[
    "> out.txt",
    ">out.txt",
    ">> out.txt",
    "1> out.txt",
    "2> out.txt",
    "2>> err.txt",
    "&> out.txt",
    "&>> out.txt",
    ">| out.txt",
    "<> out.txt",
    ">& out.txt",
    "3> out.txt",
    "{fd}> out.txt",
    "> 'q.txt'",
    "> \"out file.txt\"",
    "> ./o.txt",
    "> $PWD/o.txt",
    "> >(cat > o.txt)",
    "3>o.txt >&3",
    "< /dev/tcp/127.0.0.1/9",
];

/// Options that make a known-safe program write.
const WRITING_COMMANDS: &[&str] = &[
    "sort -o out.txt a.txt",
    "sort -uo out.txt a.txt",
    "sort -oout.txt a.txt",
    "sort --out=out.txt a.txt",
    "sort --outp out.txt a.txt",
    "uniq a.txt out.txt",
    "uniq -c a.txt out.txt",
    "find . -fprint out.txt",
    "find . -name a.txt -delete",
    "find . -exec touch out.txt ;",
    "sed -n 1p -i a.txt",
    "sed -n 1p --in-place=.bak a.txt",
    "git log --output=out.txt",
    "git log --outp=out.txt",
    "git branch newbranch",
];

/// Redirections that neither write nor connect.
const HARMLESS: &[&str] = &[
    "2>/dev/null",
    "> /dev/null",
    ">/dev/null 2>&1",
    "2>&1",
    ">&2",
    "< a.txt",
    "<&0",
    ">&-",
    "2> //dev/./null",
];

/// Where a command can sit on a line.
fn place(context: usize, inner: &str) -> String {
    let quoted = shlex::try_quote(inner).unwrap().into_owned();
    match context {
        0 => inner.to_string(),
        1 => format!("bash -c {quoted}"),
        2 => format!("( {inner} )"),
        3 => format!("{{ {inner}; }}"),
        4 => format!("echo $( {inner} )"),
        5 => format!("if true; then {inner}; fi"),
        6 => format!("cat a.txt | {inner}"),
        7 => format!("{inner} && ls"),
        _ => format!("true; {inner}"),
    }
}

/// A command with a redirection at the start, in the middle or at the end.
fn with_redirection(command: &str, redirection: &str, at: usize) -> String {
    let plain = command.replace(" {r}", "");
    match at {
        0 => format!("{redirection} {plain}"),
        1 => command.replace("{r}", redirection),
        _ => format!("{plain} {redirection}"),
    }
}

/// Whether Warden's parser is unsure of the line (tree-sitter-bash misreads a few valid
/// spellings, such as `>&-` before arguments): it then asks, which is the safe answer.
fn unsure(line: &str) -> bool {
    !warden_policy::shell::analyze_script(line)
        .uncertain
        .is_empty()
}

fn verdict(line: &str) -> Verdict {
    let ws = PathBuf::from("/w");
    let rules = RuleSet::default();
    let cx = DecisionContext {
        policy: ApprovalPolicy::Untrusted,
        sandbox: SandboxMode::WorkspaceWrite,
        sandbox_enforced: true,
        workspace: &ws,
        writable_roots: std::slice::from_ref(&ws),
        rules: &rules,
        sensitive_edits: Default::default(),
    };
    let argv = vec!["bash".to_string(), "-c".to_string(), line.to_string()];
    decide(
        ActionRequest::Shell {
            argv: &argv,
            cwd: &ws,
        },
        &cx,
    )
    .verdict
}

fn line() -> impl Strategy<Value = (String, bool)> {
    let redirected = (
        prop::sample::select(SAFE),
        prop::bool::ANY,
        0..3usize,
        0..9usize,
        prop::sample::select(WRITES),
        prop::sample::select(HARMLESS),
    )
        .prop_map(|(command, writes, at, context, write, harmless)| {
            let redirection = if writes { write } else { harmless };
            (
                place(context, &with_redirection(command, redirection, at)),
                writes,
            )
        });
    let option = (prop::sample::select(WRITING_COMMANDS), 0..9usize)
        .prop_map(|(command, context)| (place(context, command), true));
    prop_oneof![3 => redirected, 1 => option]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn what_writes_is_never_known_safe_and_what_does_not_stays_so((line, writes) in line()) {
        let verdict = verdict(&line);
        if writes {
            prop_assert_ne!(verdict, Verdict::Allow, "{}", line);
        } else if !unsure(&line) {
            prop_assert_eq!(verdict, Verdict::Allow, "{}", line);
        }
    }
}

/// Every file in `dir` (relative path → content), to see what a command changed. In
/// `.git` only branches and HEAD count: git refreshes its index's cached file times on
/// `git status`, which changes nothing a person would call a write.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            let in_git = path.strip_prefix(dir).is_ok_and(|p| p.starts_with(".git"));
            let kept = ["refs", "HEAD"].iter().any(|k| {
                path.strip_prefix(dir.join(".git"))
                    .is_ok_and(|p| p.starts_with(k))
            });
            if in_git && path != dir.join(".git") && !kept {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                let content = std::fs::read(&path).unwrap_or_default();
                files.insert(path.strip_prefix(dir).unwrap().to_path_buf(), content);
            }
        }
    }
    files
}

/// Run `line` under bash in a fresh folder; whether it changed any file there.
fn bash_changed_files(line: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "x\ny\ny\n").unwrap();
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    git(&["init", "-q"]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    ]);
    let before = snapshot(dir.path());
    Command::new("timeout")
        .args(["5", "bash", "-c", line])
        .current_dir(dir.path())
        .env("PWD", dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    // A process substitution may still be writing when bash returns.
    std::thread::sleep(std::time::Duration::from_millis(20));
    snapshot(dir.path()) != before
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Wherever real bash changed a file, Warden did not call the line known-safe.
    #[test]
    fn where_bash_writes_warden_asks((line, _) in line()) {
        if bash_changed_files(&line) {
            prop_assert_ne!(verdict(&line), Verdict::Allow, "bash wrote with: {}", line);
        }
    }
}

/// The oracle itself is sound: bash does write with these, and not with a plain read.
#[test]
fn the_bash_oracle_sees_writes() {
    assert!(bash_changed_files("ls > out.txt"));
    assert!(bash_changed_files("sort -uo out.txt a.txt"));
    assert!(bash_changed_files("git branch newbranch"));
    assert!(!bash_changed_files("ls -la 2>/dev/null"));
}
