//! What a command line would run, as rules see it: every program it starts, with
//! wrappers (`sudo`, `env`, `timeout`, `xargs`, `find -exec`, `sh -c`...) looked through,
//! and what could not be resolved with confidence.
//!
//! Scripts are parsed with tree-sitter-bash (a real shell grammar), never with regexes;
//! the plain subset most commands use goes through a small exact parser first (`plain`).

mod plain;
mod script;
mod wrappers;

/// One word of a command line: its text and whether the shell computes it at run time
/// (a `$VAR`, a `$(...)`, a glob-free brace expansion...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    pub text: String,
    pub dynamic: bool,
}

impl Word {
    pub(crate) fn literal(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            dynamic: false,
        }
    }
}

/// Whether an invocation does work of its own or only runs another program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A program that does work (also `sudo`, which changes who does it).
    Program,
    /// A transparent wrapper (`env`, `timeout`, `nice`, `sh -c`...): rules still see it,
    /// but it needs no allowance of its own.
    Wrapper,
}

/// One program a command line would start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Program name without its directory.
    pub name: String,
    /// The program as written, when it had a directory (`/usr/bin/git`, `./git`).
    pub path: Option<String>,
    /// Arguments, with options that only configure the tool itself (`git -C DIR`)
    /// moved to `global_options`.
    pub args: Vec<String>,
    /// Options removed from before the subcommand (`git -c k=v`), kept for safety checks.
    pub global_options: Vec<String>,
    /// Runs as another user (`sudo`, `doas`).
    pub privileged: bool,
    pub role: Role,
}

impl Invocation {
    /// The program name and arguments, as a canonical argv.
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(self.name.clone())
            .chain(self.args.iter().cloned())
            .collect()
    }
}

/// Everything a command line would run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    pub invocations: Vec<Invocation>,
    /// `(from, to)`: the output of invocation `from` becomes the input or the code of
    /// invocation `to` (a pipe, `sh -c "$(...)"`, `bash <(...)`).
    pub feeds: Vec<(usize, usize)>,
    /// Why the command could not be resolved with confidence (each one a sentence).
    pub uncertain: Vec<String>,
    /// Redirections that write (to a file, a descriptor past stderr, a process) or
    /// connect (`/dev/tcp`), each as written (`> out.txt`): a command that has one is not
    /// read-only, whatever its programs are.
    pub writes: Vec<String>,
}

/// Files that take output without keeping it anywhere.
const SINKS: &[&str] = &[
    "/dev/null",
    "/dev/stdout",
    "/dev/stderr",
    "/dev/fd/1",
    "/dev/fd/2",
];

/// `//dev/./null` → `/dev/null`: empty and `.` steps dropped (never `..`, which symlinks
/// make ambiguous).
fn lexically_clean(path: &str) -> String {
    let steps: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let joined = steps.join("/");
    if path.starts_with('/') {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Whether a redirection with `operator` (`>`, `>>`, `>|`, `&>`, `&>>`, `<>`, `<`, `>&`,
/// `<&`, with any descriptor before it) and `target` writes or reaches the network.
/// Reading a file, duplicating stdin/stdout/stderr, closing a descriptor and output to
/// `/dev/null` do not.
pub(crate) fn redirection_writes(operator: &str, target: &Word) -> bool {
    let op = operator.trim_start_matches(|c: char| c.is_ascii_digit());
    // `>&-`, `<&-`: a descriptor closed (tree-sitter-bash hangs the words after it on it
    // as a target; they are the command's arguments).
    if matches!(op, ">&-" | "<&-") {
        return false;
    }
    let path = lexically_clean(&target.text);
    let network = path.starts_with("/dev/tcp/") || path.starts_with("/dev/udp/");
    match op {
        "<" => target.dynamic || network,
        ">&" | "<&" | "&>" | "&>>" | ">" | ">>" | ">|" | "<>" if !target.dynamic => {
            let duplicate = matches!(op, ">&" | "<&");
            if duplicate && (target.text == "-" || matches!(target.text.as_str(), "0" | "1" | "2"))
            {
                return false;
            }
            if duplicate && target.text.bytes().all(|b| b.is_ascii_digit()) {
                // A descriptor past stderr: whatever file it was opened on.
                return op == ">&";
            }
            network || !SINKS.contains(&path.as_str())
        }
        // A computed target, or an operator this list does not know: assume the worst.
        _ => true,
    }
}

/// An argv as one line a person can read and paste (shell-quoted where needed).
pub fn command_line(argv: &[String]) -> String {
    shlex::try_join(argv.iter().map(String::as_str)).unwrap_or_else(|_| argv.join(" "))
}

/// A shell whose `-c SCRIPT` Warden parses.
pub fn is_shell(name: &str) -> bool {
    wrappers::SHELLS.contains(&name)
}

/// How deep `sh -c "bash -c '...'"` nesting is followed before giving up.
const MAX_DEPTH: usize = 8;

/// Analyse an argv as given to `exec` (the agent's shell tool, `warden policy check`).
pub fn analyze_argv(argv: &[String]) -> Analysis {
    let words: Vec<Word> = argv.iter().map(Word::literal).collect();
    let mut analysis = Analysis::default();
    wrappers::expand(&mut analysis, &words, false, 0);
    analysis
}

/// Analyse a shell script (one command line as typed).
pub fn analyze_script(script: &str) -> Analysis {
    let mut analysis = Analysis::default();
    script::walk(&mut analysis, script, 0);
    analysis
}

impl Analysis {
    fn push(&mut self, invocation: Invocation) -> usize {
        self.invocations.push(invocation);
        self.invocations.len() - 1
    }

    fn write(&mut self, redirection: String) {
        if !self.writes.contains(&redirection) {
            self.writes.push(redirection);
        }
    }

    fn doubt(&mut self, why: String) {
        if !self.uncertain.contains(&why) {
            self.uncertain.push(why);
        }
    }
}

#[cfg(test)]
mod tests;
