//! Matching one prefix rule against one invocation, whatever the spelling: flags in any
//! order and anywhere after the program, `-rf` the same as `-r -f` (and `-fr`), known long
//! and short forms of the same flag, and (for prompt and forbidden rules) a word after a
//! flag that may be that flag's value skipped.

use std::collections::HashSet;

use warden_protocol::Verdict;

use crate::shell::Invocation;

/// Spellings of the same flag: (program, subcommand or "" for any, spelling, canonical).
const FLAG_ALIASES: &[(&str, &str, &str, &str)] = &[
    ("git", "push", "-f", "--force"),
    ("git", "clean", "-f", "--force"),
    ("git", "branch", "--delete", "-d"),
    ("git", "checkout", "--force", "-f"),
    ("git", "reset", "--hard", "--hard"),
    ("rm", "", "-R", "-r"),
    ("rm", "", "--recursive", "-r"),
    ("rm", "", "--force", "-f"),
    ("cp", "", "-R", "-r"),
    ("cp", "", "--recursive", "-r"),
    ("chmod", "", "--recursive", "-R"),
    ("chown", "", "--recursive", "-R"),
    ("curl", "", "--output", "-o"),
    ("sed", "", "--in-place", "-i"),
];

/// One position of a pattern: any of these words.
pub(crate) type Alternatives = Vec<String>;

/// A prefix pattern split into its parts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Pattern {
    /// Accepted programs (a bare name or a path).
    pub programs: Alternatives,
    /// Words that must start the arguments (ignoring flags), in order.
    pub positionals: Vec<Alternatives>,
    /// Flags that must appear somewhere after the program: one of each group.
    pub flags: Vec<Alternatives>,
}

impl Pattern {
    /// Split a Codex-style pattern: the first element is the program, words starting
    /// with `-` are flags, others are positional.
    pub(crate) fn new(tokens: Vec<Alternatives>) -> Option<Self> {
        let mut tokens = tokens.into_iter();
        let programs = tokens.next()?;
        let mut positionals = Vec::new();
        let mut flags = Vec::new();
        let mut options_done = false;
        for alternatives in tokens {
            if !options_done && alternatives == ["--"] {
                options_done = true;
                continue;
            }
            if !options_done && alternatives.iter().all(|a| is_flag(a)) {
                flags.push(alternatives);
            } else {
                positionals.push(alternatives);
            }
        }
        Some(Self {
            programs,
            positionals,
            flags,
        })
    }

    /// The program names this pattern can match, for indexing.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.programs.iter().map(|p| basename(p))
    }
}

/// An invocation's arguments, prepared once for matching against many rules.
#[derive(Debug)]
pub(crate) struct Shape {
    /// Non-flag words in order.
    strict: Vec<String>,
    /// Non-flag words, leaving out any word right after a flag (it may be its value).
    loose: Vec<String>,
    /// Every flag as written, split into single letters, and in canonical spelling.
    flags: HashSet<String>,
}

impl Shape {
    pub(crate) fn of(invocation: &Invocation) -> Self {
        let mut strict = Vec::new();
        let mut loose = Vec::new();
        let mut flags = HashSet::new();
        let mut after_flag = false;
        let mut options_done = false;
        for arg in &invocation.args {
            if !options_done && arg == "--" {
                options_done = true;
                after_flag = false;
                continue;
            }
            if !options_done && is_flag(arg) {
                let name = arg.split_once('=').map_or(arg.as_str(), |(n, _)| n);
                flags.insert(name.to_string());
                for letter in short_letters(name) {
                    flags.insert(letter);
                }
                after_flag = !arg.contains('=');
                continue;
            }
            strict.push(arg.clone());
            if !after_flag {
                loose.push(arg.clone());
            }
            after_flag = false;
        }
        let subcommand = strict.first().cloned().unwrap_or_default();
        let canonical: Vec<String> = flags
            .iter()
            .map(|f| canonical_flag(&invocation.name, &subcommand, f))
            .collect();
        flags.extend(canonical);
        // `git push origin +main` is a force push.
        if invocation.name == "git"
            && subcommand == "push"
            && strict.iter().skip(1).any(|a| a.starts_with('+'))
        {
            flags.insert("--force".into());
        }
        Self {
            strict,
            loose,
            flags,
        }
    }
}

/// Does the pattern match? `allow` rules match narrowly (paths must be declared with
/// `host_executable`, no skipped words); prompt and forbidden rules match broadly.
pub(crate) fn matches(
    pattern: &Pattern,
    decision: Verdict,
    invocation: &Invocation,
    shape: &Shape,
    declared_paths: &[String],
) -> bool {
    let narrow = decision == Verdict::Allow;
    let program_ok = pattern.programs.iter().any(|p| {
        if basename(p) != invocation.name {
            return false;
        }
        if !narrow {
            return true;
        }
        match (&invocation.path, p.contains('/')) {
            (None, false) => true,
            (None, true) => false,
            (Some(path), _) => path == p || declared_paths.iter().any(|d| d == path),
        }
    });
    if !program_ok {
        return false;
    }
    let prefix_of = |words: &[String]| {
        pattern.positionals.len() <= words.len()
            && pattern
                .positionals
                .iter()
                .zip(words)
                .all(|(alternatives, word)| alternatives.iter().any(|a| a == word))
    };
    let positional_ok = prefix_of(&shape.strict) || (!narrow && prefix_of(&shape.loose));
    if !positional_ok {
        return false;
    }
    let subcommand = shape.strict.first().map(String::as_str).unwrap_or("");
    pattern.flags.iter().all(|group| {
        group
            .iter()
            .any(|flag| has_flag(shape, &invocation.name, subcommand, flag))
    })
}

/// The flag, in any spelling, or all the letters of a combined short flag.
fn has_flag(shape: &Shape, program: &str, subcommand: &str, flag: &str) -> bool {
    let present = |f: &str| {
        shape.flags.contains(f)
            || shape
                .flags
                .contains(&canonical_flag(program, subcommand, f))
    };
    if present(flag) {
        return true;
    }
    let letters = short_letters(flag);
    !letters.is_empty() && letters.iter().all(|l| present(l))
}

fn is_flag(word: &str) -> bool {
    word.len() > 1 && word.starts_with('-')
}

/// `-rf` → `-r`, `-f`; `-n5` → `-n`; anything else → nothing.
fn short_letters(flag: &str) -> Vec<String> {
    let Some(rest) = flag.strip_prefix('-') else {
        return Vec::new();
    };
    if rest.starts_with('-') || rest.len() < 2 {
        return Vec::new();
    }
    rest.chars()
        .take_while(char::is_ascii_alphabetic)
        .map(|c| format!("-{c}"))
        .collect()
}

fn canonical_flag(program: &str, subcommand: &str, flag: &str) -> String {
    FLAG_ALIASES
        .iter()
        .find(|(p, sub, spelling, _)| {
            *p == program && (sub.is_empty() || *sub == subcommand) && *spelling == flag
        })
        .map_or_else(
            || flag.to_string(),
            |(_, _, _, canonical)| canonical.to_string(),
        )
}

/// The last component of a program path.
pub fn basename(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}
