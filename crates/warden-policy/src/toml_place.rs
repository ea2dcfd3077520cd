//! Where in a TOML file a schema error is: the dotted key and its line.
//!
//! Files are checked by merging them onto the defaults and deserializing the result,
//! which loses the file's positions. On failure the check runs again with the key path
//! tracked, and the path is looked up in the file's own text to find the line.

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};

/// A schema error with the key it concerns and, when the file holds that key, its line.
pub(crate) struct Placed {
    /// Dotted key, e.g. `network.mode`; empty when the error is about the whole file.
    pub key: String,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for Placed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.key.is_empty()) {
            (Some(line), false) => write!(f, "line {line}, key `{}`: {}", self.key, self.message),
            (None, false) => write!(f, "key `{}`: {}", self.key, self.message),
            (Some(line), true) => write!(f, "line {line}: {}", self.message),
            (None, true) => f.write_str(&self.message),
        }
    }
}

/// Deserialize `merged` as `T`; on failure, say which key of `text` (the file that was
/// merged in) is wrong and on which line.
pub(crate) fn deserialize<T: DeserializeOwned>(
    merged: toml::Table,
    text: &str,
) -> Result<T, Placed> {
    let error = match serde_path_to_error::deserialize::<_, T>(toml::Value::Table(merged)) {
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    let mut keys: Vec<String> = error
        .path()
        .iter()
        .filter_map(|segment| match segment {
            serde_path_to_error::Segment::Map { key } => Some(key.clone()),
            serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
            _ => None,
        })
        .collect();
    let message = error.into_inner().message().to_string();
    // Name an unknown field itself where the path stops at its table.
    if let Some(field) = unknown_field(&message)
        && keys.last().map(String::as_str) != Some(field)
    {
        keys.push(field.to_string());
    }
    let line = line_of(text, &keys);
    Err(Placed {
        key: keys.join("."),
        line,
        message,
    })
}

/// A check's error about `keys` (dotted path parts; array items by index) of `text`.
pub(crate) fn at(text: &str, keys: &[String], message: String) -> Placed {
    Placed {
        key: keys.join("."),
        line: line_of(text, keys),
        message,
    }
}

fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split_once('`').map(|(field, _)| field)
}

/// The 1-based line of the deepest part of `keys` that `text` holds.
fn line_of(text: &str, keys: &[String]) -> Option<usize> {
    let root = DeTable::parse(text).ok()?;
    let mut table = root.get_ref();
    let mut offset = None;
    let mut rest = keys.iter();
    while let Some(key) = rest.next() {
        let (name, value) = table.get_key_value(key.as_str())?;
        offset = Some(name.span().start);
        match value.get_ref() {
            DeValue::Table(inner) => table = inner,
            DeValue::Array(items) => {
                let Some(index) = rest.next().and_then(|i| i.parse::<usize>().ok()) else {
                    break;
                };
                let Some(item) = items.get(index) else { break };
                offset = Some(item.span().start);
                match item.get_ref() {
                    DeValue::Table(inner) => table = inner,
                    _ => break,
                }
            }
            _ => break,
        }
    }
    offset.map(|at| text[..at].matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Schema {
        mode: Mode,
        limits: Limits,
        #[serde(default)]
        servers: Vec<Server>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "kebab-case")]
    enum Mode {
        ReadOnly,
    }
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Limits {
        secs: u64,
    }
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Server {
        port: u16,
    }

    fn placed(text: &str) -> Placed {
        let table: toml::Table = toml::from_str(text).unwrap();
        match deserialize::<Schema>(table, text) {
            Ok(value) => panic!("accepted: {value:?}"),
            Err(placed) => placed,
        }
    }

    #[test]
    fn names_the_key_and_line_of_a_wrong_value() {
        let p = placed("mode = \"read-only\"\n\n[limits]\n# comment\nsecs = \"x\"\n");
        assert_eq!(p.key, "limits.secs");
        assert_eq!(p.line, Some(5));
        assert_eq!(
            p.to_string(),
            "line 5, key `limits.secs`: invalid type: string \"x\", expected u64"
        );
        let p = placed("# top\nmode = \"wide\"\nlimits = { secs = 1 }\n");
        assert_eq!((p.key.as_str(), p.line), ("mode", Some(2)));
        assert!(
            p.message.contains("unknown variant `wide`"),
            "{}",
            p.message
        );
    }

    #[test]
    fn names_an_unknown_key_itself() {
        let p = placed("mode = \"read-only\"\n[limits]\nsecs = 1\nsecss = 2\n");
        assert_eq!((p.key.as_str(), p.line), ("limits.secss", Some(4)));
    }

    #[test]
    fn follows_arrays_of_tables() {
        let p = placed(
            "mode = \"read-only\"\nlimits = { secs = 1 }\n[[servers]]\nport = 1\n[[servers]]\nport = 70000\n",
        );
        assert_eq!((p.key.as_str(), p.line), ("servers.1.port", Some(6)));
    }

    #[test]
    fn a_missing_key_has_no_line() {
        let p = placed("mode = \"read-only\"\n");
        assert_eq!((p.key.as_str(), p.line), ("", None));
        assert!(
            p.message.contains("missing field `limits`"),
            "{}",
            p.message
        );
    }
}
