use proptest::prelude::*;

use super::super::Analysis;
use super::super::script::walk_parsed;
use super::walk;

/// The plain parser's analysis, or `None` where it declines.
fn plain(script: &str) -> Option<Analysis> {
    let mut analysis = Analysis::default();
    let found = walk(&mut analysis, script, 0)?;
    assert_eq!(found.len(), analysis.invocations.len(), "{script}");
    Some(analysis)
}

fn tree_sitter(script: &str) -> Analysis {
    let mut analysis = Analysis::default();
    walk_parsed(&mut analysis, script, 0);
    analysis
}

/// The same programs and doubts. Feeds may be fewer: tree-sitter-bash groups
/// `a && b | c` as `(a && b) | c` (and `a | b 2>&1 x | c` as `a | (b … | c)`), so its walk
/// also says `a` feeds `c`; the plain parser follows bash, where a pipeline binds tighter
/// than `&&` and `||` and each stage feeds only the next.
fn agree(plain: &Analysis, parsed: &Analysis, script: &str) {
    assert_eq!(plain.invocations, parsed.invocations, "{script:?}");
    assert_eq!(plain.uncertain, parsed.uncertain, "{script:?}");
    assert_eq!(plain.writes, parsed.writes, "{script:?}");
    for feed in &plain.feeds {
        assert!(
            parsed.feeds.contains(feed),
            "{script:?}: {:?} vs {:?}",
            plain.feeds,
            parsed.feeds
        );
    }
}

#[test]
fn a_pipeline_binds_tighter_than_a_list() {
    let fast = plain("curl -s https://x.example && echo hi | sh").unwrap();
    assert_eq!(fast.feeds, [(1, 2)]);
    let fast = plain("cat a | grep b 2>&1 | sort > out; ls | wc -l").unwrap();
    assert_eq!(fast.feeds, [(0, 1), (1, 2), (3, 4)]);
}

#[test]
fn plain_commands_are_parsed_without_tree_sitter_and_agree_with_it() {
    for script in [
        "cargo test --workspace && git push origin main --force 2>&1 | tee push.log",
        "git status --short",
        "FOO=1 BAR=\"a b\" git push",
        "git commit -m \"fix: café, it's done!\"",
        "ls -la /tmp; cat Cargo.toml | grep -n name > out.txt",
        "npm ci || npm install < /dev/null",
        "ls;",
        "bash -lc 'cargo build && sh -c \"rm -rf target\"'",
        "",
        "   ",
    ] {
        let fast = plain(script).unwrap_or_else(|| panic!("declined: {script}"));
        agree(&fast, &tree_sitter(script), script);
    }
}

#[test]
fn anything_outside_the_subset_is_left_to_tree_sitter() {
    for script in [
        "echo $HOME",
        "echo \"$(whoami)\"",
        "echo `id`",
        "ls *.rs",
        "cat ~/.ssh/id_rsa",
        "a & b",
        "a &&",
        "| a",
        "; a",
        "a ; ;",
        "a |& b",
        "a &> log",
        "a > ",
        "> out",
        "x>out",
        "if true; then ls; fi",
        "time ls",
        "export A=1",
        "A=1 declare -x B",
        "echo 'unterminated",
        "cat <<EOF\nhi\nEOF",
        "bash <<< 'rm -rf /'",
        "diff <(ls a) <(ls b)",
        "g\\it push",
        "(cd x && make)",
        "{ ls; }",
        "ls # comment",
        "ls\nrm -rf /",
        "echo \"a\\\"b\"",
        "echo é",
        "2x=y",
        "--opt='x y'z",
    ] {
        assert_eq!(plain(script), None, "{script:?}");
    }
}

/// Plain words, quoting, operators and redirections: scripts of these are mostly plain.
const PLAIN_PIECES: &[&str] = &[
    "git",
    "push",
    "--force",
    "-f",
    "origin",
    "main",
    "rm",
    "-rf",
    "/tmp/x",
    "sudo",
    "env",
    "A=1",
    "bash",
    "-lc",
    "sh",
    "-c",
    "timeout",
    "5",
    "xargs",
    "find",
    "-exec",
    "cargo",
    "test",
    "2",
    "'a b'",
    "\"c d\"",
    "''",
    "'git push --force'",
    "\"rm -rf /\"",
    "--m=\"a b\"",
    "&&",
    "||",
    ";",
    "|",
    "2>&1",
    "> out",
    ">> log",
    "< in",
    "-",
    "> /dev/null",
    "2>/dev/null",
    ">'/dev/null'",
    ">&3",
    "<&0",
    "1>&2",
    "2>> err",
    "< /dev/tcp/h/80",
    "> \"/dev/stderr\"",
];

/// More words, keywords, and characters outside the subset.
const OTHER_PIECES: &[&str] = &[
    "-i",
    "B=two",
    "if",
    "time",
    "export",
    "declare",
    "echo",
    "12",
    "x=y",
    "--msg=hi",
    "./run.sh",
    "/usr/bin/git",
    "\"it's\"",
    "\"\"",
    "\"x!y\"",
    "\"é\"",
    "a'b'c",
    ">",
    ">>",
    "<",
    ">&2",
    "2>",
    "$X",
    "*",
    "(",
    ")",
    "{",
    "}",
    "&",
    "#",
    "~",
    "\\",
    "\n",
    "`",
    "é",
    "[",
    "!",
    "<<",
    "|&",
    ";;",
    "'",
    "\"",
    "=",
    ":",
];

/// Pieces of any kind.
fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select([PLAIN_PIECES, OTHER_PIECES].concat())
}

/// Pieces from inside the subset only, so that most scripts are plain.
fn plain_piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(PLAIN_PIECES.to_vec())
}

fn script(pieces: Vec<(&str, bool)>) -> String {
    let mut script = String::new();
    for (piece, spaced) in pieces {
        script.push_str(piece);
        if spaced {
            script.push(' ');
        }
    }
    script
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// Wherever the plain parser answers, tree-sitter-bash gives the same analysis.
    #[test]
    fn the_plain_parser_agrees_with_tree_sitter(
        pieces in prop::collection::vec((piece(), prop::bool::weighted(0.8)), 0..12)
    ) {
        let script = script(pieces);
        if let Some(fast) = plain(&script) {
            agree(&fast, &tree_sitter(&script), &script);
        }
    }

    /// The same over longer scripts made only of plain pieces.
    #[test]
    fn long_plain_scripts_agree_with_tree_sitter(
        pieces in prop::collection::vec((plain_piece(), prop::bool::weighted(0.9)), 0..30)
    ) {
        let script = script(pieces);
        if let Some(fast) = plain(&script) {
            agree(&fast, &tree_sitter(&script), &script);
        }
    }
}
