//! What full-text search indexes of an event: the text values of its stored JSON
//! (prompts, commands, paths, hosts, outputs, reasons), decoded, without the JSON keys,
//! the kind tag or call ids. Fewer, cleaner tokens than the raw JSON: `\n` no longer glues
//! two words together, and `"callId"` is not a word anyone searches for.

/// Keys whose string values are identifiers or tags, not text.
const SKIPPED: &[&str] = &["type", "callId"];

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
                        value.push(decoded.filter(|c| !c.is_control()).unwrap_or(' '));
                    }
                    Some(other) => value.push(other),
                    None => {}
                },
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
}
