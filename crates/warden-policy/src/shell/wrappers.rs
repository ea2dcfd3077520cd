//! Looking through wrappers: one argv becomes the programs it would really run.

use super::{Analysis, Invocation, MAX_DEPTH, Role, Word, script};

/// Shells whose `-c SCRIPT` is parsed as a script.
pub(super) const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "yash", "posh", "fish",
];

/// Programs that run a command Warden does not look through: at least a prompt.
const OPAQUE_RUNNERS: &[&str] = &[
    "watch",
    "parallel",
    "su",
    "runuser",
    "pkexec",
    "flock",
    "script",
    "chroot",
    "unshare",
    "nsenter",
    "setpriv",
    "busybox",
    "strace",
    "ltrace",
    "gdb",
    "valgrind",
    "dbus-run-session",
    "xvfb-run",
    "entr",
    "expect",
    "tmux",
    "screen",
    "sg",
    "newgrp",
    "firejail",
    "bwrap",
    "systemd-run",
    "at",
    "batch",
    "proot",
    "fakeroot",
    "eatmydata",
    "catchsegv",
];

/// Options of `git` that come before the subcommand and take a value.
const GIT_GLOBAL_WITH_VALUE: &[&str] = &[
    "-C",
    "-c",
    "--git-dir",
    "--work-tree",
    "--namespace",
    "--config-env",
    "--super-prefix",
    "--attr-source",
    "--list-cmds",
];

/// Expand one argv into the invocations it makes; returns their indices.
pub(super) fn expand(
    out: &mut Analysis,
    words: &[Word],
    privileged: bool,
    depth: usize,
) -> Vec<usize> {
    if depth > MAX_DEPTH {
        out.doubt(format!(
            "commands nest more than {MAX_DEPTH} levels deep; Warden stops looking there"
        ));
        return Vec::new();
    }
    let start = words
        .iter()
        .position(|w| w.dynamic || !is_assignment(&w.text))
        .unwrap_or(words.len());
    let words = &words[start..];
    let Some(program) = words.first() else {
        return Vec::new();
    };
    if program.text.is_empty() {
        out.doubt("a command has no program name".into());
        return Vec::new();
    }
    if program.dynamic {
        out.doubt(format!(
            "the program `{}` is computed when the command runs",
            program.text
        ));
        return Vec::new();
    }
    let (name, path) = split_program(&program.text);
    if name.is_empty() {
        out.doubt(format!("`{}` is not a program name", program.text));
        return Vec::new();
    }
    let args = &words[1..];
    let text: Vec<String> = args.iter().map(|w| w.text.clone()).collect();
    let mut me = Invocation {
        name: name.clone(),
        path,
        args: text,
        global_options: Vec::new(),
        privileged,
        role: Role::Wrapper,
    };
    let inner: Option<(usize, bool)> = match name.as_str() {
        "sudo" | "doas" => {
            me.role = Role::Program;
            let rest = skip_options(
                args,
                &[
                    "-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U", "-T", "-R",
                ],
            );
            if rest == args.len() {
                // `sudo -s` / `sudo -i` open a root shell: no inner command to look at.
                None
            } else {
                Some((rest, true))
            }
        }
        "env" => return expand_env(out, me, args, privileged, depth),
        "timeout" => {
            let rest = skip_options(args, &["-s", "-k", "--signal", "--kill-after"]);
            // The duration comes next.
            Some((rest + 1, privileged))
        }
        "nice" => Some((skip_options(args, &["-n", "--adjustment"]), privileged)),
        "ionice" => Some((
            skip_options(args, &["-c", "-n", "-p", "-P", "-u"]),
            privileged,
        )),
        "stdbuf" => Some((
            skip_options(args, &["-i", "-o", "-e", "--input", "--output", "--error"]),
            privileged,
        )),
        "time" => Some((
            skip_options(args, &["-f", "-o", "--format", "--output"]),
            privileged,
        )),
        "nohup" | "builtin" | "noglob" => Some((0, privileged)),
        // A multi-call binary runs its first argument as the applet (`busybox rm -rf /`);
        // with its own options first it stays opaque (below).
        "busybox" | "toybox" if args.first().is_some_and(|a| !a.text.starts_with('-')) => {
            Some((0, privileged))
        }
        "command" | "exec" => Some((skip_options(args, &["-a"]), privileged)),
        "setsid" => Some((skip_options(args, &[]), privileged)),
        "xargs" => {
            let rest = skip_options(
                args,
                &[
                    "-I",
                    "-i",
                    "-d",
                    "-E",
                    "-e",
                    "-L",
                    "-l",
                    "-n",
                    "-P",
                    "-s",
                    "-a",
                    "--arg-file",
                    "--delimiter",
                    "--max-args",
                    "--max-procs",
                    "--max-lines",
                    "--max-chars",
                    "--replace",
                    "--eof",
                ],
            );
            if rest == args.len() {
                // xargs runs `echo` by default.
                None
            } else {
                Some((rest, privileged))
            }
        }
        "find" => {
            me.role = Role::Program;
            let mut found = vec![out.push(me)];
            found.extend(expand_find_exec(out, args, privileged, depth));
            return found;
        }
        "eval" => {
            out.doubt("`eval` runs text that is only known when the command runs".into());
            me.role = Role::Program;
            None
        }
        "git" => {
            me.role = Role::Program;
            let (global, rest) = split_git_globals(&me.args);
            me.global_options = global;
            me.args = rest;
            None
        }
        n if SHELLS.contains(&n) => return expand_shell(out, me, args, depth),
        n if OPAQUE_RUNNERS.contains(&n) => {
            out.doubt(format!(
                "`{n}` runs another command that Warden does not look through"
            ));
            me.role = Role::Program;
            None
        }
        _ => {
            me.role = Role::Program;
            None
        }
    };
    let mut found = vec![out.push(me)];
    if let Some((rest, privileged)) = inner
        && rest < args.len()
    {
        found.extend(expand(out, &args[rest..], privileged, depth + 1));
    }
    found
}

/// `env [-i] [-u NAME] [-C DIR] [-S STRING] [NAME=VALUE]... CMD`.
fn expand_env(
    out: &mut Analysis,
    me: Invocation,
    args: &[Word],
    privileged: bool,
    depth: usize,
) -> Vec<usize> {
    let mut found = vec![out.push(me)];
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i].text;
        if arg == "-S" || arg == "--split-string" {
            // The next word is a whole command line, split on spaces.
            if let Some(line) = args.get(i + 1) {
                let split: Vec<Word> = match shlex::split(&line.text) {
                    Some(parts) if !line.dynamic => parts.into_iter().map(Word::literal).collect(),
                    _ => {
                        out.doubt("`env -S` splits text computed at run time".into());
                        return found;
                    }
                };
                let mut words = split;
                words.extend(args[i + 2..].iter().cloned());
                found.extend(expand(out, &words, privileged, depth + 1));
            }
            return found;
        }
        if let Some(split) = arg
            .strip_prefix("--split-string=")
            .or(arg.strip_prefix("-S"))
        {
            let mut words: Vec<Word> = shlex::split(split)
                .unwrap_or_default()
                .into_iter()
                .map(Word::literal)
                .collect();
            words.extend(args[i + 1..].iter().cloned());
            found.extend(expand(out, &words, privileged, depth + 1));
            return found;
        }
        if arg == "-u" || arg == "--unset" || arg == "-C" || arg == "--chdir" {
            i += 2;
        } else if arg == "--" {
            i += 1;
            break;
        } else if arg.starts_with('-') || is_assignment(arg) {
            i += 1;
        } else {
            break;
        }
    }
    if i < args.len() {
        found.extend(expand(out, &args[i..], privileged, depth + 1));
    }
    found
}

/// `sh -c SCRIPT`, `bash -lc SCRIPT`, `bash FILE`, or a shell reading its input.
fn expand_shell(out: &mut Analysis, mut me: Invocation, args: &[Word], depth: usize) -> Vec<usize> {
    let mut has_c = false;
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i].text;
        if arg == "--" {
            i += 1;
            break;
        }
        let is_option = (arg.starts_with('-') || arg.starts_with('+')) && arg.len() > 1;
        if !is_option {
            break;
        }
        if arg == "-o" || arg == "-O" || arg == "+O" || arg == "+o" || arg == "--rcfile" {
            i += 2;
            continue;
        }
        if !arg.starts_with("--") && arg[1..].contains('c') {
            has_c = true;
        }
        i += 1;
    }
    match args.get(i) {
        Some(script) if has_c => {
            if script.dynamic {
                out.doubt(format!(
                    "the script given to `{} -c` is computed when the command runs",
                    me.name
                ));
            }
            let mut found = vec![out.push(me)];
            if !script.dynamic {
                found.extend(script::walk(out, &script.text, depth + 1));
            }
            found
        }
        _ => {
            // Runs a script file, or reads commands from its input (whoever feeds it
            // decides what runs): the shell itself does the work.
            me.role = Role::Program;
            vec![out.push(me)]
        }
    }
}

/// A shell given neither `-c` nor a script file: it runs whatever its input says.
pub(super) fn reads_script_from_input(invocation: &Invocation) -> bool {
    SHELLS.contains(&invocation.name.as_str())
        && invocation
            .args
            .iter()
            .all(|a| a.starts_with('-') || a.starts_with('+'))
        && !invocation
            .args
            .iter()
            .any(|a| !a.starts_with("--") && a.starts_with('-') && a[1..].contains('c'))
}

/// `find ... -exec CMD ARGS ;` (also `-execdir`, `-ok`, `-okdir`, ending in `;` or `+`).
fn expand_find_exec(
    out: &mut Analysis,
    args: &[Word],
    privileged: bool,
    depth: usize,
) -> Vec<usize> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < args.len() {
        if matches!(
            args[i].text.as_str(),
            "-exec" | "-execdir" | "-ok" | "-okdir"
        ) {
            let start = i + 1;
            let end = args[start..]
                .iter()
                .position(|w| w.text == ";" || w.text == "+")
                .map_or(args.len(), |p| start + p);
            let command: Vec<Word> = args[start..end]
                .iter()
                .filter(|w| w.text != "{}")
                .cloned()
                .collect();
            found.extend(expand(out, &command, privileged, depth + 1));
            i = end + 1;
        } else {
            i += 1;
        }
    }
    found
}

/// Split `git`'s arguments into global options (before the subcommand) and the rest.
fn split_git_globals(args: &[String]) -> (Vec<String>, Vec<String>) {
    let mut global = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if !arg.starts_with('-') {
            break;
        }
        global.push(arg.clone());
        if GIT_GLOBAL_WITH_VALUE.contains(&arg.as_str()) {
            if let Some(value) = args.get(i + 1) {
                global.push(value.clone());
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    (global, args[i.min(args.len())..].to_vec())
}

/// Index of the first argument that is not an option (or an option's value).
fn skip_options(args: &[Word], with_value: &[&str]) -> usize {
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i].text;
        if arg == "--" {
            return i + 1;
        }
        if !arg.starts_with('-') || arg.len() == 1 {
            return i;
        }
        let name = arg.split_once('=').map_or(arg.as_str(), |(n, _)| n);
        let takes_value = with_value.contains(&name) && !arg.contains('=');
        i += if takes_value { 2 } else { 1 };
    }
    args.len()
}

fn split_program(program: &str) -> (String, Option<String>) {
    match program.rsplit_once('/') {
        Some((_, name)) => (name.to_string(), Some(program.to_string())),
        None => (program.to_string(), None),
    }
}

/// `NAME=VALUE` as a shell assignment (`NAME` a valid identifier).
pub(super) fn is_assignment(word: &str) -> bool {
    let Some((name, _)) = word.split_once('=') else {
        return false;
    };
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
