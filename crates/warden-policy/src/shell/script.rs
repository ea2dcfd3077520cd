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
    if let Some(found) = super::plain::walk(out, source, depth) {
        return found;
    }
    walk_parsed(out, source, depth)
}

/// Walk a script parsed by tree-sitter-bash (any shell syntax).
pub(super) fn walk_parsed(out: &mut Analysis, source: &str, depth: usize) -> Vec<usize> {
    let Some(tree) = parse(source) else {
        out.doubt("the command could not be parsed as a shell script".into());
        return Vec::new();
    };
    let root = tree.root_node();
    if root.has_error() {
        out.doubt("part of the command is not valid shell syntax".into());
    }
    let walker = Walker { source, depth };
    walker.writes(out, root);
    walker.node(out, root)
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
        self.node_with(out, node, &[])
    }

    /// A node whose last simple command also takes `arguments`: words tree-sitter hung on
    /// a redirection after it (`git >/dev/null push -f`, `a || b > log c`).
    fn node_with(&self, out: &mut Analysis, node: Node<'_>, arguments: &[Node<'_>]) -> Vec<usize> {
        match node.kind() {
            "command" => self.command(out, node, arguments),
            "pipeline" => self.pipeline(out, node, arguments),
            "list" => self.children(out, node, arguments),
            "redirected_statement" => self.redirected(out, node, arguments),
            "comment" | "heredoc_body" => Vec::new(),
            _ if arguments.is_empty() => self.children(out, node, &[]),
            _ => {
                out.doubt("words follow a redirection after a compound command".into());
                self.children(out, node, &[])
            }
        }
    }

    fn children(&self, out: &mut Analysis, node: Node<'_>, arguments: &[Node<'_>]) -> Vec<usize> {
        let mut found = Vec::new();
        for (child, arguments) in with_trailing(node, arguments) {
            found.extend(self.node_with(out, child, arguments));
        }
        found
    }

    fn pipeline(&self, out: &mut Analysis, node: Node<'_>, arguments: &[Node<'_>]) -> Vec<usize> {
        let mut all = Vec::new();
        let mut previous: Vec<usize> = Vec::new();
        for (stage, arguments) in with_trailing(node, arguments) {
            let current = self.node_with(out, stage, arguments);
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
    fn redirected(&self, out: &mut Analysis, node: Node<'_>, outer: &[Node<'_>]) -> Vec<usize> {
        let mut found = Vec::new();
        let mut scripts = Vec::new();
        // tree-sitter-bash hangs the words after a redirection (`git >/dev/null push -f`)
        // on the redirection; to bash they are the command's arguments.
        let mut cursor = node.walk();
        let mut arguments: Vec<Node<'_>> = node
            .named_children(&mut cursor)
            .filter(|c| c.kind() == "file_redirect")
            .flat_map(|c| redirect_arguments(c))
            .collect();
        arguments.extend_from_slice(outer);
        let body = node.child_by_field_name("body");
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            match child.kind() {
                _ if Some(child) == body => found.extend(self.node_with(out, child, &arguments)),
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
                    found.extend(self.children(out, child, &[]));
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

    /// A simple command; `arguments` are words tree-sitter put on a redirection after it.
    fn command(&self, out: &mut Analysis, node: Node<'_>, arguments: &[Node<'_>]) -> Vec<usize> {
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
                "variable_assignment" => {
                    substituted.extend(self.substitutions(out, child));
                }
                "file_redirect" => {
                    substituted.extend(self.substitutions(out, child));
                    words.extend(redirect_arguments(child).map(|w| self.word(w)));
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
        words.extend(arguments.iter().map(|&w| self.word(w)));
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

    /// Every redirection anywhere in the tree (on commands, compound statements, here-doc
    /// lines, inside `$(...)`) that writes, as written.
    fn writes(&self, out: &mut Analysis, node: Node<'_>) {
        if node.kind() == "file_redirect" {
            // The operator is what lies between the descriptor and the destination (read
            // as text: tree-sitter-bash does not know `<>` and leaves an error node there).
            let destination = node.child_by_field_name("destination");
            let start = node
                .child_by_field_name("descriptor")
                .map_or(node.start_byte(), |d| d.end_byte());
            let end = destination.map_or(node.end_byte(), |d| d.start_byte());
            let operator = self
                .source
                .get(start..end)
                .unwrap_or_default()
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            let target = match destination {
                // Input from `<(...)` reads a pipe; output to `>(...)` feeds a process.
                Some(d) if d.kind() == "process_substitution" && operator == "<" => {
                    Word::literal("<(…)")
                }
                Some(d) => self.word(d),
                None => Word::literal(""),
            };
            if super::redirection_writes(&operator, &target) {
                let shown = destination.map_or(String::new(), |_| target.text.clone());
                out.write(format!("{operator} {shown}").trim_end().to_string());
            }
        }
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            self.writes(out, child);
        }
    }

    /// Commands inside `$(...)`, backticks and `<(...)` anywhere below `node`.
    fn substitutions(&self, out: &mut Analysis, node: Node<'_>) -> Vec<usize> {
        if matches!(node.kind(), "command_substitution" | "process_substitution") {
            return self.children(out, node, &[]);
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

/// `node`'s named children but comments, the last one paired with `arguments` (words
/// that follow it), the others with none.
fn with_trailing<'t, 'a>(
    node: Node<'t>,
    arguments: &'a [Node<'t>],
) -> impl Iterator<Item = (Node<'t>, &'a [Node<'t>])> {
    let mut cursor = node.walk();
    let children: Vec<Node<'t>> = node
        .named_children(&mut cursor)
        .filter(|c| c.kind() != "comment")
        .collect();
    let last = children.len().saturating_sub(1);
    children
        .into_iter()
        .enumerate()
        .map(move |(i, child)| (child, if i == last { arguments } else { &[][..] }))
}

/// The destinations of a redirection after its first: words bash gives to the command.
fn redirect_arguments<'t>(redirect: Node<'t>) -> impl Iterator<Item = Node<'t>> {
    let mut cursor = redirect.walk();
    let destinations: Vec<Node<'t>> = redirect
        .children_by_field_name("destination", &mut cursor)
        .collect();
    destinations.into_iter().skip(1)
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
