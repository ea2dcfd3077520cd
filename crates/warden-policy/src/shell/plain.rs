//! A fast parser for the plain subset of shell: words made of ordinary characters, single
//! and double quotes without expansions, `&&`, `||`, `;`, `|`, and simple redirections
//! (`>`, `>>`, `<`, `2>&1`). Most agent commands are written in it, and it costs a small
//! fraction of a tree-sitter parse.
//!
//! It answers only when it is sure: anything outside the subset (`$`, backticks, `\`,
//! globs, braces, parentheses, `&`, here-documents, comments, keywords, declarations,
//! unbalanced quotes, a list that does not parse) returns `None` and the caller uses
//! tree-sitter-bash. A differential test holds both to the same analysis.

use super::wrappers::{expand, is_assignment};
use super::{Analysis, Word};

/// Characters a word may contain outside quotes.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'_' | b'.' | b'/' | b'-' | b'+' | b',' | b':' | b'@' | b'%' | b'='
        )
}

/// First words that mean something other than a simple command to tree-sitter-bash.
const NOT_SIMPLE: &[&str] = &[
    "if", "then", "else", "elif", "fi", "case", "esac", "for", "select", "while", "until", "do",
    "done", "in", "function", "time", "coproc", "declare", "typeset", "export", "local",
    "readonly", "unset", "unsetenv",
];

/// One simple command's words (assignments included; `expand` sets them aside).
type Command = Vec<Word>;

/// A script in the plain subset: lists of pipelines of simple commands.
struct Script {
    pipelines: Vec<Vec<Command>>,
    /// Redirections that write, as written (`> out.txt`).
    writes: Vec<String>,
}

/// Analyse `source` if it is in the plain subset; `None` means "ask tree-sitter".
pub(super) fn walk(out: &mut Analysis, source: &str, depth: usize) -> Option<Vec<usize>> {
    let script = parse(source)?;
    for write in script.writes {
        out.write(write);
    }
    let mut found = Vec::new();
    for pipeline in &script.pipelines {
        let mut previous: Vec<usize> = Vec::new();
        for command in pipeline {
            let current = expand(out, command, false, depth);
            for &from in &previous {
                for &to in &current {
                    out.feeds.push((from, to));
                }
            }
            if !current.is_empty() {
                previous = current.clone();
            }
            found.extend(current);
        }
    }
    Some(found)
}

/// What ended a command.
#[derive(PartialEq, Eq)]
enum Separator {
    /// `&&`, `||` or `;`: a new pipeline follows.
    List,
    /// `|`: the next command reads this one's output.
    Pipe,
    End,
}

fn parse(source: &str) -> Option<Script> {
    let mut lexer = Lexer {
        bytes: source.as_bytes(),
        at: 0,
        writes: Vec::new(),
    };
    let mut pipelines = Vec::new();
    let mut pipeline = Vec::new();
    loop {
        let (command, separator) = lexer.command()?;
        if command.is_empty() {
            // An operator with nothing before it is a syntax error (left to tree-sitter,
            // which reports it); an empty script or one trailing `;` is fine.
            let fine = separator == Separator::End
                && pipeline.is_empty()
                && (pipelines.is_empty() || lexer.ended_with_semicolon());
            return fine.then_some(Script {
                pipelines,
                writes: lexer.writes,
            });
        }
        pipeline.push(command);
        match separator {
            Separator::Pipe => {}
            Separator::List => pipelines.push(std::mem::take(&mut pipeline)),
            Separator::End => {
                pipelines.push(pipeline);
                return Some(Script {
                    pipelines,
                    writes: lexer.writes,
                });
            }
        }
    }
}

struct Lexer<'s> {
    bytes: &'s [u8],
    at: usize,
    /// Redirections read so far that write.
    writes: Vec<String>,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.at + ahead).copied()
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    /// Whether the last operator read was a single `;` (`ls;` is a valid script).
    fn ended_with_semicolon(&self) -> bool {
        let before = self.bytes[..self.at]
            .iter()
            .rev()
            .find(|b| !matches!(b, b' ' | b'\t'));
        before == Some(&b';')
    }

    /// One simple command and what ends it. Redirections are read and dropped (their
    /// targets are plain words, which run nothing); a command of redirections alone is
    /// (or with assignments) is left to tree-sitter.
    fn command(&mut self) -> Option<(Command, Separator)> {
        let mut words = Vec::new();
        let separator = loop {
            self.skip_blanks();
            match (self.peek(), self.peek_at(1)) {
                (None, _) => break Separator::End,
                (Some(b'&'), Some(b'&')) | (Some(b'|'), Some(b'|')) => {
                    self.at += 2;
                    break Separator::List;
                }
                (Some(b'|'), next) if next != Some(b'&') => {
                    self.at += 1;
                    break Separator::Pipe;
                }
                (Some(b';'), next) if next != Some(b';') => {
                    self.at += 1;
                    break Separator::List;
                }
                (Some(b'>' | b'<'), _) if may_redirect(&words) => {
                    self.redirection()?;
                }
                (Some(b'>' | b'<'), _) => return None,
                (Some(_), _) => {
                    let word = self.word()?;
                    if let Some(b'>' | b'<') = self.peek() {
                        // `2>&1`: a number right before the operator names a descriptor;
                        // any other word glued to it is left to tree-sitter.
                        let descriptor = word.bare && word.text.bytes().all(|b| b.is_ascii_digit());
                        if !descriptor || !may_redirect(&words) {
                            return None;
                        }
                        self.redirection()?;
                    } else {
                        let program = !has_program(&words) && !is_assignment(&word.text);
                        if program && !word.may_be_program() {
                            return None;
                        }
                        words.push(Word::literal(word.text));
                    }
                }
            }
        };
        Some((words, separator))
    }

    /// `>`, `>>`, `<` and the word they name, or `>&`, `<&` and a descriptor number. One
    /// that writes is kept in `writes`.
    fn redirection(&mut self) -> Option<()> {
        let first = self.peek()?;
        self.at += 1;
        let operator = match (first, self.peek()) {
            (b'>', Some(b'>')) => {
                self.at += 1;
                ">>"
            }
            (b'>', Some(b'&')) => {
                self.at += 1;
                ">&"
            }
            (b'<', Some(b'&')) => {
                self.at += 1;
                "<&"
            }
            (_, Some(b'|' | b'<' | b'>' | b'(')) => return None,
            (b'>', _) => ">",
            _ => "<",
        };
        self.skip_blanks();
        let target = self.word()?;
        let descriptor = target.bare && target.text.bytes().all(|b| b.is_ascii_digit());
        if operator.ends_with('&') && !descriptor {
            return None;
        }
        let word = Word::literal(target.text);
        if super::redirection_writes(operator, &word) {
            let shown = format!("{operator} {}", word.text);
            self.writes.push(shown.trim_end().to_string());
        }
        Some(())
    }

    /// One word: ordinary characters and quoted parts, glued together.
    fn word(&mut self) -> Option<Lexed> {
        let mut text = String::new();
        let mut bare = true;
        let mut lead = 0;
        let start = self.at;
        loop {
            match self.peek() {
                Some(b) if is_word_byte(b) => {
                    text.push(char::from(b));
                    self.at += 1;
                    if bare {
                        lead += 1;
                    }
                }
                Some(b'\'') => {
                    bare = false;
                    let len = self.bytes[self.at + 1..].iter().position(|&b| b == b'\'')?;
                    text.push_str(self.slice(self.at + 1, self.at + 1 + len)?);
                    self.at += len + 2;
                }
                Some(b'"') => {
                    bare = false;
                    let len = self.bytes[self.at + 1..]
                        .iter()
                        .position(|&b| matches!(b, b'"' | b'$' | b'`' | b'\\'))?;
                    if self.bytes[self.at + 1 + len] != b'"' {
                        return None;
                    }
                    text.push_str(self.slice(self.at + 1, self.at + 1 + len)?);
                    self.at += len + 2;
                }
                Some(b' ' | b'\t' | b'&' | b'|' | b';' | b'>' | b'<') | None => break,
                // `$`, backticks, `\`, globs, braces, parentheses, `#`, `~`, newlines,
                // anything not ASCII outside quotes: not plain.
                Some(_) => return None,
            }
        }
        // tree-sitter-bash reads `==`, `=~` and the like as operators, even in arguments.
        if text.starts_with("==") || text.starts_with("=~") {
            return None;
        }
        (self.at > start).then_some(Lexed { text, bare, lead })
    }

    fn slice(&self, from: usize, to: usize) -> Option<&str> {
        std::str::from_utf8(self.bytes.get(from..to)?).ok()
    }
}

/// Whether a redirection may follow `words` in the subset: after the program name, and
/// not right after a lone `-` (tree-sitter-bash drops that argument; it decides there).
fn may_redirect(words: &[Word]) -> bool {
    has_program(words) && words.last().is_none_or(|w| w.text != "-")
}

fn has_program(words: &[Word]) -> bool {
    words.iter().any(|w| !is_assignment(&w.text))
}

struct Lexed {
    text: String,
    /// No quotes were involved.
    bare: bool,
    /// Length of the unquoted start (`export` in `export'a b'`).
    lead: usize,
}

impl Lexed {
    /// Whether tree-sitter-bash reads this word, in program position, as a simple
    /// command's name: not a keyword or declaration (even glued to quotes), not starting
    /// with `-`, not holding `=` (it reads `2x=y` as an assignment), not ending in `:`
    /// (after an assignment it reads `x=y git:` as an error).
    fn may_be_program(&self) -> bool {
        !NOT_SIMPLE.contains(&&self.text[..self.lead])
            && !self.text.starts_with('-')
            && !self.text.contains('=')
            && !self.text.ends_with(':')
    }
}

#[cfg(test)]
mod tests;
