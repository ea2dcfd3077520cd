//! The action under review, as structured data: what the reviewer sees exactly (never the
//! agent's words about it), and the corpus's case format.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One action an agent wants to take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum Action {
    /// Run a command (argv) in `cwd`; `escalate`: outside the sandbox, or with more
    /// access than it has.
    Shell {
        argv: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cwd: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        escalate: bool,
    },
    /// Connect to `host:port` (through the egress proxy), from `program` running
    /// `command`.
    Network {
        host: String,
        port: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        program: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command: Option<String>,
    },
    /// Call `tool` of the MCP server `server`. `annotations` are the server's own hints
    /// (`readOnlyHint`, `destructiveHint`): untrusted.
    Mcp {
        server: String,
        tool: String,
        arguments: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        annotations: Option<Value>,
    },
    /// Edit files.
    Patch { files: Vec<PatchFile> },
}

/// One file of a patch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchFile {
    pub path: String,
    pub op: PatchOp,
    /// The edit's lines (`+` added, `-` removed), or the new file.
    pub diff: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchOp {
    Add,
    Update,
    Delete,
}

impl Action {
    /// The kind's name, as the corpus and the summary count it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Shell { .. } => "shell",
            Self::Network { .. } => "network",
            Self::Mcp { .. } => "mcp",
            Self::Patch { .. } => "patch",
        }
    }

    /// A short line for people (`shell: git push`, `network: pypi.org:443`).
    pub fn summary(&self) -> String {
        match self {
            Self::Shell { argv, escalate, .. } => {
                let line = warden_policy::shell::command_line(argv);
                if *escalate {
                    format!("shell (outside the sandbox): {line}")
                } else {
                    format!("shell: {line}")
                }
            }
            Self::Network { host, port, .. } => format!("network: {host}:{port}"),
            Self::Mcp { server, tool, .. } => format!("mcp: {server}.{tool}"),
            Self::Patch { files } => format!(
                "patch: {}",
                files
                    .iter()
                    .map(|f| f.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The action as a cache key: the same action gets the same key, whatever order its
    /// JSON was written in.
    pub fn canonical(&self) -> String {
        serde_json::to_value(self)
            .map(|v| canonical_json(&v))
            .unwrap_or_default()
    }
}

/// JSON with object keys sorted, so equal values print equal.
fn canonical_json(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical_json(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_read_the_corpus_format_and_key_alike_whatever_the_order() {
        let a: Action = serde_json::from_str(
            r#"{"kind":"mcp","server":"gh","tool":"create_issue","arguments":{"b":1,"a":2}}"#,
        )
        .unwrap();
        let b: Action = serde_json::from_str(
            r#"{"tool":"create_issue","kind":"mcp","arguments":{"a":2,"b":1},"server":"gh"}"#,
        )
        .unwrap();
        assert_eq!(a.canonical(), b.canonical());
        assert_eq!(a.summary(), "mcp: gh.create_issue");
        let e = serde_json::from_str::<Action>(r#"{"kind":"shell","argv":["ls"],"why":"x"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `why`"), "{e}");
    }
}
