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
    push_filter_token(&mut token, tag, value);
    token
}

/// `filter_token` written at the end of `out`.
fn push_filter_token(out: &mut String, tag: char, value: &str) {
    out.push(RESERVED);
    out.push(tag);
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
        out.extend(value[start..].chars().filter(|c| *c != '-'));
    } else {
        out.push_str(value);
    }
}

/// Everything the full-text index holds for one event: its searchable text, then its
/// filter tokens.
pub(crate) fn indexed_text(json: &str, session_id: &str, kind: &str, actor: &str) -> String {
    let mut text = searchable(json);
    if !text.is_empty() {
        text.push('\n');
    }
    push_filter_token(&mut text, 'k', kind);
    text.push(' ');
    push_filter_token(&mut text, 's', session_id);
    text.push(' ');
    push_filter_token(&mut text, 'a', actor);
    text
}

/// The searchable text of one stored payload (already redacted JSON): the text values,
/// one per line, decoded. Runs between quotes and escapes are copied whole.
pub(crate) fn searchable(json: &str) -> String {
    let bytes = json.as_bytes();
    let mut out = String::with_capacity(json.len());
    // The string being read, reused from one to the next.
    let mut value = String::new();
    // Whether the last key's values are identifiers or tags rather than text.
    let mut skipping = false;
    let mut at = 0;
    while let Some(open) = find(bytes, at, |b| b == b'"') {
        at = open + 1;
        value.clear();
        loop {
            // Quotes and backslashes are ASCII, so every cut is a character boundary.
            let Some(stop) = find(bytes, at, |b| b == b'"' || b == b'\\') else {
                value.push_str(&json[at..]);
                at = bytes.len();
                break;
            };
            value.push_str(&json[at..stop]);
            at = stop + 1;
            if bytes[stop] == b'"' {
                break;
            }
            let Some(escaped) = json[at..].chars().next() else {
                break;
            };
            at += escaped.len_utf8();
            match escaped {
                'n' | 't' | 'r' | 'b' | 'f' => value.push(' '),
                'u' => {
                    let hex: String = json[at..].chars().take(4).collect();
                    at += hex.len();
                    let decoded = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                    value.push(decoded.filter(|c| !c.is_control()).unwrap_or(' '));
                }
                other => value.push(other),
            }
        }
        if value.contains(RESERVED) {
            value = value.replace(RESERVED, " ");
        }
        let next = find(bytes, at, |b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
        if bytes.get(next) == Some(&b':') {
            skipping = SKIPPED.contains(&value.as_str());
            at = next;
            continue;
        }
        if value.is_empty() || skipping {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&value);
    }
    out
}

/// The first index from `from` on whose byte is `wanted`.
fn find(bytes: &[u8], from: usize, wanted: impl Fn(u8) -> bool) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|&b| wanted(b))
        .map(|i| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The implementation before runs were copied whole: the output must not change.
    fn reference(json: &str) -> String {
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
                            let decoded =
                                u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
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

    /// Awkward payloads, and many made from pieces of them: the text indexed is exactly
    /// what it was before (stores indexed then are searched with queries made now).
    #[test]
    fn the_text_is_what_it_was_before_runs_were_copied_whole() {
        let pieces = [
            r#"{"type":"toolCallProposed","callId":"call_9","tool":"shell","summary":"git push --force"}"#,
            r#"{"text":"line one\nline \"two\" \u00e9t\u00e9 \\ done\t\r\b\f\/"}"#,
            "{\"text\":\"raw \u{e000} mark, escaped \\ue000 mark, \u{1F600} and \u{e9}\"}",
            r#"{"a" : "spaced key", "n": 3, "b": [true, null, "x", {"callId": "skip", "c": "keep"}]}"#,
            r#"{"text":"\u12"}"#,
            r#"{"text":"\ud83d\ude00 \u0000 \u001f"}"#,
            r#"{"text":"ends in a backslash\"#,
            r#"{"text":"unterminated"#,
            r#"{"":"","k":""}"#,
            "",
        ];
        for piece in pieces {
            assert_eq!(searchable(piece), reference(piece), "{piece:?}");
        }
        let mut state = 7u64;
        for _ in 0..2000 {
            let mut json = String::new();
            for _ in 0..4 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let piece = pieces[(state >> 33) as usize % pieces.len()];
                let cut = (state >> 13) as usize % (piece.len() + 1);
                json.push_str(piece.get(..cut).unwrap_or(piece));
            }
            assert_eq!(searchable(&json), reference(&json), "{json:?}");
        }
    }

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
