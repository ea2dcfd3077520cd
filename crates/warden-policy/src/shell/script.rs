//! Walking a tree-sitter-bash parse tree: every simple command anywhere in the script
//! (lists, pipelines, subshells, functions, loops, `$(...)`, backticks, `<(...)`, here-docs
//! fed to a shell) becomes an argv for the wrapper expansion.

use std::cell::RefCell;

use tree_sitter::{Node, Parser, Tree};

use super::wrappers::{expand, reads_script_from_input};
use super::{Analysis, MAX_DEPTH, Word};

thread_local! {
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
}

fn parse(source: &str) -> Option<Tree> {
    PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let mut parser = Parser::new();
            parser
                .set_language(&tree_sitter_bash::LANGUAGE.into())
                .ok()?;
            *slot = Some(parser);
        }
        slot.as_mut()?.parse(source, None)
    })
}

/// Walk a script; returns the indices of the invocations it makes.
pub(super) fn walk(out: &mut Analysis, source: &str, depth: usize) -> Vec<usize> {
    if depth > MAX_DEPTH {
        out.doubt(format!(
            "commands nest more than {MAX_DEPTH} levels deep; Warden stops looking there"
        ));
        return Vec::new();
    }
    let Some(tree) = parse(source) else {
        out.doubt("the command could not be parsed as a shell script".into());
        return Vec::new();
    };
    let root = tree.root_node();
    if root.has_error() {
        out.doubt("part of the command is not valid shell syntax".into());
    }
    Walker { source, depth }.node(out, root)
}

struct Walker<'s> {
    source: &'s str,
    depth: usize,
}

impl Walker<'_> {
    fn text(&self, node: Node<'_>) -> &str {
        node.utf8_text(self.source.as_bytes()).unwrap_or("")
    }

    fn node(&self, out: &mut Analysis, node: Node<'_>) -> Vec<usize> {
        match node.kind() {
            "command" => self.command(out, node),
            "pipeline" => self.pipeline(out, node),
            "redirected_statement" => self.redirected(out, node),
            "comment" | "heredoc_body" => Vec::new(),
            _ => self.children(out, node),
        }
    }

    fn children(&self, out: &mut Analysis, node: Node<'_>) -> Vec<usize> {
        let mut found = Vec::new();
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            found.extend(self.node(out, child));
        }
        found
    }

    fn pipeline(&self, out: &mut Analysis, node: Node<'_>) -> Vec<usize> {
        let mut all = Vec::new();
        let mut previous: Vec<usize> = Vec::new();
        let mut cursor = node.walk();
        for stage in node.named_children(&mut cursor) {
            if stage.kind() == "comment" {
                continue;
            }
            let current = self.node(out, stage);
            for &from in &previous {
                for &to in &current {
                    out.feeds.push((from, to));
                }
            }
            if !current.is_empty() {
                previous = current.clone();
            }
            all.extend(current);
        }
        all
    }

    /// A statement with redirections; a here-document or here-string fed to a shell is
    /// a script of its own.
    fn redirected(&self, out: &mut Analysis, node: Node<'_>) -> Vec<usize> {
        let mut found = Vec::new();
        let mut scripts = Vec::new();
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            match child.kind() {
                "heredoc_redirect" => {
                    let mut inner = child.walk();
                    for part in child.named_children(&mut inner) {
                        if part.kind() == "heredoc_body" {
                            scripts.push(self.text(part).to_string());
                        } else if part.kind() != "heredoc_start" && part.kind() != "heredoc_end" {
                            found.extend(self.node(out, part));
                        }
                    }
                }
                "herestring_redirect" => {
                    found.extend(self.children(out, child));
                    let mut inner = child.walk();
                    if let Some(word) = child.named_children(&mut inner).last() {
                        scripts.push(self.word(word).text);
                    }
                }
                _ => found.extend(self.node(out, child)),
            }
        }
        let shell_reads_input = found
            .iter()
            .any(|&i| reads_script_from_input(&out.invocations[i]));
        if shell_reads_input {
            for script in scripts {
                found.extend(walk(out, &script, self.depth + 1));
            }
        }
        found
    }

    fn command(&self, out: &mut Analysis, node: Node<'_>) -> Vec<usize> {
        let mut words = Vec::new();
        let mut substituted = Vec::new();
        let mut here_string = None;
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            match child.kind() {
                "herestring_redirect" => {
                    substituted.extend(self.substitutions(out, child));
                    let mut inner = child.walk();
                    here_string = child
                        .named_children(&mut inner)
                        .last()
                        .map(|word| self.word(word).text);
                }
                "variable_assignment" | "file_redirect" => {
                    substituted.extend(self.substitutions(out, child));
                }
                "command_name" => {
                    substituted.extend(self.substitutions(out, child));
                    let mut inner = child.walk();
                    if let Some(name) = child.named_children(&mut inner).next() {
                        words.push(self.word(name));
                    }
                }
                "subshell" => substituted.extend(self.node(out, child)),
                _ => {
                    substituted.extend(self.substitutions(out, child));
                    words.push(self.word(child));
                }
            }
        }
        let mut made = expand(out, &words, false, self.depth);
        if let Some(script) = here_string
            && made
                .iter()
                .any(|&i| reads_script_from_input(&out.invocations[i]))
        {
            made.extend(walk(out, &script, self.depth + 1));
        }
        for &from in &substituted {
            for &to in &made {
                out.feeds.push((from, to));
            }
        }
        substituted.extend(made);
        substituted
    }

    /// Commands inside `$(...)`, backticks and `<(...)` anywhere below `node`.
    fn substitutions(&self, out: &mut Analysis, node: Node<'_>) -> Vec<usize> {
        if matches!(node.kind(), "command_substitution" | "process_substitution") {
            return self.children(out, node);
        }
        let mut found = Vec::new();
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            found.extend(self.substitutions(out, child));
        }
        found
    }

    /// The value of one word, or its source text marked dynamic.
    fn word(&self, node: Node<'_>) -> Word {
        let text = self.text(node);
        match node.kind() {
            "word" => Word::literal(unescape_bare(text)),
            "number" => Word::literal(text),
            "raw_string" => Word::literal(text.trim_start_matches('\'').trim_end_matches('\'')),
            "string" => {
                let mut cursor = node.walk();
                let only_content = node
                    .named_children(&mut cursor)
                    .all(|c| c.kind() == "string_content");
                let inner = text
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .unwrap_or(text);
                Word {
                    text: if only_content {
                        unescape_double_quoted(inner)
                    } else {
                        text.to_string()
                    },
                    dynamic: !only_content,
                }
            }
            "concatenation" => {
                let mut cursor = node.walk();
                let parts: Vec<Word> = node
                    .named_children(&mut cursor)
                    .map(|c| self.word(c))
                    .collect();
                if parts.iter().any(|p| p.dynamic) {
                    Word {
                        text: text.to_string(),
                        dynamic: true,
                    }
                } else {
                    Word::literal(parts.into_iter().map(|p| p.text).collect::<String>())
                }
            }
            _ => Word {
                text: text.to_string(),
                dynamic: true,
            },
        }
    }
}

/// `a\ b` → `a b`: a backslash outside quotes keeps the next character as it is.
fn unescape_bare(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next()
                && next != '\n'
            {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Inside double quotes a backslash only escapes `$`, `` ` ``, `"`, `\` and a newline.
fn unescape_double_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some('$' | '`' | '"' | '\\') => {
                    if let Some(next) = chars.next() {
                        out.push(next);
                    }
                }
                Some('\n') => {
                    chars.next();
                }
                _ => out.push(c),
            }
        } else {
            out.push(c);
        }
    }
    out
}
