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
        "git branch",
        "git branch -a -v",
        "git branch --list 'feat/*'",
        "git branch --contains HEAD",
        "find . -name x",
        "sed -n 1,10p f",
        "/bin/ls",
        "env",
        "printenv",
        "sort -u -k2 file",
        "sort -t, -k1,1 in",
        "date +%s",
        "date -Iseconds",
        "date -d yesterday",
        "uniq -c in",
        "uniq -f 2 in",
        "date --date yesterday +%F",
        "rg -n todo src",
        "tree -L 2",
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
        "git log --outp=x",
        "git branch new-feature",
        "git branch -D main",
        "git branch -m a b",
        "git branch --set-upstream-to=origin/x",
        "find . -delete",
        "find . -exec rm {} ;",
        "sed -i s/a/b/ f",
        "sed -n 1p -i f",
        "sed -n 1p --in-place=.bak f",
        "sort -o out in",
        "sort -uo out in",
        "sort -oout in",
        "sort --out=x in",
        "sort --compress-program=sh in",
        "uniq in out",
        "uniq -f 1 in out",
        "date -d yesterday 0101",
        "date -s 2020-01-01",
        "date --se=2020-01-01",
        "date 010203042020",
        "file -C -m magic",
        "rg --pre ./run.sh x",
        "rg -z x",
        "rg -iz x",
        "rg --hostname-bin=./h x",
        "tree -o out",
        "tree -H . -R",
        "python3 -c 'print(1)'",
        "touch f",
        "env FOO=1 rm x",
        "env -S 'rm x'",
        "",
    ] {
        assert!(!is_known_safe(&argv(cmd)), "{cmd} should need approval");
    }
}

/// Every spelling of every dangerous option of every listed program: the option alone,
/// with a value attached or after `=`, each abbreviation the parser accepts, and each
/// short option after harmless ones in a cluster.
#[test]
fn every_spelling_of_a_dangerous_option_is_caught() {
    let programs = ["file", "sort", "tree", "rg", "date"];
    let mut checked = 0;
    for program in programs {
        let opts = options(program).unwrap();
        let mut spellings: Vec<String> = Vec::new();
        for long in opts.long {
            spellings.push(format!("--{long}"));
            spellings.push(format!("--{long}=x"));
            if opts.abbreviations {
                for end in 1..long.len() {
                    spellings.push(format!("--{}", &long[..end]));
                    spellings.push(format!("--{}=x", &long[..end]));
                }
            }
        }
        let harmless: Vec<char> = ['a', 'b', 'n', 'u', 'v', 'l']
            .into_iter()
            .filter(|c| !opts.short.contains(c) && !opts.short_values.contains(c))
            .collect();
        for short in opts.short {
            spellings.push(format!("-{short}"));
            spellings.push(format!("-{short}x"));
            for h in &harmless {
                spellings.push(format!("-{h}{short}"));
                spellings.push(format!("-{h}{h}{short}x"));
            }
        }
        for spelling in spellings {
            for position in 0..3 {
                let mut args = vec!["+%s".to_string(), "f".to_string()];
                args.insert(position.min(args.len()), spelling.clone());
                let mut argv = vec![program.to_string()];
                argv.extend(args);
                assert!(!is_known_safe(&argv), "{argv:?} should need approval");
                checked += 1;
            }
        }
    }
    assert!(checked > 300, "{checked}");
}
