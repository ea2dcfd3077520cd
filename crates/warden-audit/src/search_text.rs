//! What full-text search indexes of an event: the text values of its stored JSON
//! (prompts, commands, paths, hosts, outputs, reasons), decoded, without the JSON keys,
//! the kind tag or call ids. Fewer, cleaner tokens than the raw JSON: `\n` no longer glues
//! two words together, and `"callId"` is not a word anyone searches for.
//!
//! After the text come tokens naming what the event is: its kind, session and actor.
//! The kind and actor filters, and the session filter combined with others, look those
//! up in the full-text index, which costs the writer far less than a B-tree index per
//! filter (docs/decisions.md).

/// Keys whose string values are identifiers or tags, not text.
const SKIPPED: &[&str] = &["type", "callId"];

/// Starts every filter token. A private-use character: FTS5's default tokenizer keeps it
/// inside a token, and recorded text never contains it (it becomes a space), so no word
/// anyone types or records can be mistaken for a filter token.
pub(crate) const RESERVED: char = '\u{E000}';

/// The token for one filter value: the reserved mark, a tag (`k` kind, `s` session, `a`
/// actor) and the value. Kinds and actors are protocol names (ASCII letters) and go in as
/// they are. A session goes in without dashes and only its last 16 characters (the random
/// part of a UUIDv7): the token narrows the search and SQL then checks the exact session,
/// so it needs to be selective, not unique, and short tokens index faster. A value with
/// other punctuation becomes several tokens, and a phrase of them, which still only
/// matches where it was written. Migration 0010 builds the same in SQL.
pub(crate) fn filter_token(tag: char, value: &str) -> String {
    let mut token = String::with_capacity(20);
    token.push(RESERVED);
    token.push(tag);
    if tag == 's' {
        // Where the last 16 characters other than dashes begin.
        let mut start = value.len();
        let mut kept = 0;
        for (at, c) in value.char_indices().rev() {
            if c == '-' {
                continue;
            }
            if kept == 16 {
                break;
            }
            kept += 1;
            start = at;
        }
        token.extend(value[start..].chars().filter(|c| *c != '-'));
    } else {
        token.push_str(value);
    }
    token
}

/// Everything the full-text index holds for one event: its searchable text, then its
/// filter tokens.
pub(crate) fn indexed_text(json: &str, session_id: &str, kind: &str, actor: &str) -> String {
    let mut text = searchable(json);
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(&filter_token('k', kind));
    text.push(' ');
    text.push_str(&filter_token('s', session_id));
    text.push(' ');
    text.push_str(&filter_token('a', actor));
    text
}

/// The searchable text of one stored payload (already redacted JSON).
pub(crate) fn searchable(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut chars = json.char_indices().peekable();
    let mut last_key = String::new();
    while let Some((_, c)) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut value = String::new();
        while let Some((_, c)) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next().map(|(_, e)| e) {
                    Some('n' | 't' | 'r' | 'b' | 'f') => value.push(' '),
                    Some('u') => {
                        let hex: String = (0..4)
                            .filter_map(|_| chars.next().map(|(_, h)| h))
                            .collect();
                        let decoded = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                        value.push(
                            decoded
                                .filter(|c| !c.is_control() && *c != RESERVED)
                                .unwrap_or(' '),
                        );
                    }
                    Some(other) => value.push(other),
                    None => {}
                },
                RESERVED => value.push(' '),
                other => value.push(other),
            }
        }
        while chars.peek().is_some_and(|(_, c)| c.is_ascii_whitespace()) {
            chars.next();
        }
        if chars.peek().is_some_and(|(_, c)| *c == ':') {
            last_key = value;
            continue;
        }
        if value.is_empty() || SKIPPED.contains(&last_key.as_str()) {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_text_values_are_kept_decoded() {
        let json = r#"{"type":"toolCallProposed","callId":"call_9","tool":"shell","summary":"git push --force","cwd":"/home/dev/app","arguments":{"command":["git","push"]},"n":3}"#;
        assert_eq!(
            searchable(json),
            "shell\ngit push --force\n/home/dev/app\ngit\npush"
        );
        let escaped =
            r#"{"type":"toolResult","output":"line one\nline \"two\" \u00e9t\u00e9 \\ done"}"#;
        assert_eq!(searchable(escaped), "line one line \"two\" été \\ done");
    }

    #[test]
    fn filter_tokens_follow_the_text_and_no_text_can_forge_one() {
        let json = "{\"type\":\"userPrompt\",\"text\":\"hi \u{e000}k6869 \\ue000s61\"}";
        assert_eq!(
            indexed_text(json, "s-1", "userPrompt", "user"),
            "hi  k6869  s61\n\u{e000}kuserPrompt \u{e000}ss1 \u{e000}auser"
        );
        assert_eq!(
            indexed_text(
                "{\"type\":\"sessionStarted\"}",
                "a",
                "sessionStarted",
                "warden"
            ),
            "\u{e000}ksessionStarted \u{e000}sa \u{e000}awarden"
        );
        assert_eq!(
            filter_token('s', "0190c1f2-7abc-7def-8123-456789abcdef"),
            "\u{e000}s8123456789abcdef"
        );
    }
}
