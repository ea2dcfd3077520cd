//! Built-in commands known to be read-only, with the argument conditions that keep
//! them so. Anything not listed here needs approval under the `untrusted` policy.

/// Commands that only read, whatever their arguments (within the sandbox).
const READ_ONLY: &[&str] = &[
    "cat", "cut", "echo", "false", "grep", "head", "id", "ls", "nl", "pwd", "rg", "stat", "tail",
    "tr", "true", "uname", "wc", "which", "whoami", "basename", "dirname", "realpath", "file",
    "sort", "uniq", "diff", "date", "env", "printenv", "tree", "du", "df",
];

/// `git` subcommands that only read, unless given options that run code or write files.
const GIT_READ_ONLY: &[&str] = &[
    "status",
    "log",
    "diff",
    "show",
    "branch",
    "rev-parse",
    "ls-files",
];
const GIT_UNSAFE_OPTIONS: &[&str] = &["-c", "--output", "--ext-diff", "--exec", "-o"];

/// `find` options that run or delete things.
const FIND_UNSAFE_OPTIONS: &[&str] = &[
    "-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf", "-fls",
];

/// True when `argv` is a command known to only read.
pub fn is_known_safe(argv: &[String]) -> bool {
    let Some(program) = argv.first() else {
        return false;
    };
    let name = program.rsplit('/').next().unwrap_or(program);
    let args = &argv[1..];
    match name {
        "git" => git_is_read_only(args),
        "find" => !args
            .iter()
            .any(|a| FIND_UNSAFE_OPTIONS.contains(&a.as_str())),
        "sed" => sed_is_read_only(args),
        // `env` runs its arguments and `sort`/`tree` can write files; keep them plain.
        "env" => args.is_empty(),
        "printenv" => args.iter().all(|a| !a.starts_with('-')),
        "sort" => !args
            .iter()
            .any(|a| a == "-o" || a.starts_with("--output") || a.starts_with("--compress-program")),
        "tree" => !args.iter().any(|a| a == "-o"),
        _ => READ_ONLY.contains(&name),
    }
}

fn git_is_read_only(args: &[String]) -> bool {
    let Some(sub) = args.first() else {
        return false;
    };
    GIT_READ_ONLY.contains(&sub.as_str())
        && !args.iter().any(|a| {
            GIT_UNSAFE_OPTIONS
                .iter()
                .any(|unsafe_opt| a == unsafe_opt || a.starts_with(&format!("{unsafe_opt}=")))
        })
}

fn sed_is_read_only(args: &[String]) -> bool {
    // Only `sed -n 'Np'`-style printing: no in-place edits, no `w`/`e` commands.
    args.first().is_some_and(|a| a == "-n")
        && args.len() >= 2
        && args[1]
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == 'p')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        shlex::split(s).unwrap()
    }

    #[test]
    fn read_only_commands_are_safe() {
        for cmd in [
            "ls -la",
            "cat README.md",
            "git status",
            "git log --oneline",
            "find . -name x",
            "sed -n 1,10p f",
            "/bin/ls",
            "env",
            "printenv",
        ] {
            assert!(is_known_safe(&argv(cmd)), "{cmd} should be known-safe");
        }
    }

    #[test]
    fn writes_and_code_execution_are_not_safe() {
        for cmd in [
            "rm -rf x",
            "git push",
            "git -c core.pager=sh status",
            "git diff --output=/tmp/x",
            "find . -delete",
            "find . -exec rm {} ;",
            "sed -i s/a/b/ f",
            "sort -o out in",
            "python3 -c 'print(1)'",
            "touch f",
            "env FOO=1 rm x",
            "env -S 'rm x'",
            "",
        ] {
            assert!(!is_known_safe(&argv(cmd)), "{cmd} should need approval");
        }
    }
}
