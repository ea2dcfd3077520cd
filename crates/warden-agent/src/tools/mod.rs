//! The agent's tools: their specs for the model, argument parsing, and execution.

pub mod apply_patch;
mod files;
pub mod shell;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::json;

pub use files::{list_dir, read_file, resolve_path};

use crate::model::ToolSpec;

/// The tools offered to the model.
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "shell".into(),
            description: "Run a command (argv array) in the workspace, inside the sandbox. Returns exit code and output.".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "command": {"type": "array", "items": {"type": "string"}, "description": "argv, e.g. [\"ls\", \"-la\"]"},
                    "workdir": {"type": "string", "description": "working directory, relative to the workspace"},
                    "timeout_ms": {"type": "integer", "description": "timeout in milliseconds"}
                },
                "required": ["command"]
            }),
        },
        ToolSpec {
            name: "apply_patch".into(),
            description: "Edit files with a patch: '*** Begin Patch', then '*** Add File: p' / '*** Delete File: p' / '*** Update File: p' sections with @@ hunks of ' ', '-', '+' lines, then '*** End Patch'.".into(),
            parameters: json!({
                "type": "object",
                "properties": {"patch": {"type": "string"}},
                "required": ["patch"]
            }),
        },
        ToolSpec {
            name: "read_file".into(),
            description: "Read a text file. Optional 1-based line offset and line limit.".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "offset": {"type": "integer"},
                    "limit": {"type": "integer"}
                },
                "required": ["path"]
            }),
        },
        ToolSpec {
            name: "list_dir".into(),
            description: "List a directory's entries (folders end with '/').".into(),
            parameters: json!({
                "type": "object",
                "properties": {"path": {"type": "string"}},
                "required": ["path"]
            }),
        },
    ]
}

/// A parsed tool call.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolInvocation {
    Shell {
        argv: Vec<String>,
        workdir: PathBuf,
        timeout_ms: Option<u64>,
    },
    ApplyPatch {
        patch: apply_patch::Patch,
    },
    ReadFile {
        path: PathBuf,
        offset: usize,
        limit: usize,
    },
    ListDir {
        path: PathBuf,
    },
    /// A tool of an MCP server (resolved by the session, which knows its servers).
    Mcp {
        server: String,
        tool: String,
        arguments: serde_json::Value,
    },
}

impl ToolInvocation {
    /// One line for approval cards and the timeline.
    pub fn summary(&self) -> String {
        match self {
            Self::Shell { argv, .. } => warden_policy::shell::command_line(argv),
            Self::ApplyPatch { patch } => patch.summary(),
            Self::ReadFile { path, .. } | Self::ListDir { path } => path.display().to_string(),
            Self::Mcp {
                server,
                tool,
                arguments,
            } => {
                let mut args = arguments.to_string();
                if args.len() > 200 {
                    args.truncate(args.floor_char_boundary(200));
                    args.push('…');
                }
                format!("{server}.{tool} {args}")
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CommandArg {
    Argv(Vec<String>),
    Line(String),
}

#[derive(Deserialize)]
struct ShellArgs {
    command: CommandArg,
    workdir: Option<String>,
    timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
struct PatchArgs {
    patch: String,
}

#[derive(Deserialize)]
struct ReadArgs {
    path: String,
    offset: Option<usize>,
    limit: Option<usize>,
}

#[derive(Deserialize)]
struct ListArgs {
    path: String,
}

/// Parse a call's JSON arguments. Errors go back to the model as the tool's output.
/// Why a tool call could not be made or did not work, in words for the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ToolError(pub String);

/// It is words for the model: read it as text.
impl std::ops::Deref for ToolError {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

pub fn parse(name: &str, arguments: &str, cwd: &Path) -> Result<ToolInvocation, ToolError> {
    parse_call(name, arguments, cwd).map_err(ToolError)
}

fn parse_call(name: &str, arguments: &str, cwd: &Path) -> Result<ToolInvocation, String> {
    fn args<T: for<'de> Deserialize<'de>>(name: &str, raw: &str) -> Result<T, String> {
        serde_json::from_str(raw).map_err(|e| format!("invalid arguments for {name}: {e}"))
    }
    match name {
        "shell" => {
            let a: ShellArgs = args(name, arguments)?;
            let argv = match a.command {
                CommandArg::Argv(v) => v,
                CommandArg::Line(line) => vec!["/bin/sh".into(), "-c".into(), line],
            };
            if argv.is_empty() || argv[0].is_empty() {
                return Err("invalid arguments for shell: `command` is empty".into());
            }
            let workdir = resolve_path(cwd, a.workdir.as_deref().unwrap_or("."));
            Ok(ToolInvocation::Shell {
                argv,
                workdir,
                timeout_ms: a.timeout_ms,
            })
        }
        "apply_patch" => {
            let a: PatchArgs = args(name, arguments)?;
            let patch =
                apply_patch::parse(&a.patch, cwd).map_err(|e| format!("invalid patch: {e}"))?;
            Ok(ToolInvocation::ApplyPatch { patch })
        }
        "read_file" => {
            let a: ReadArgs = args(name, arguments)?;
            Ok(ToolInvocation::ReadFile {
                path: resolve_path(cwd, &a.path),
                offset: a.offset.unwrap_or(1).max(1),
                limit: a.limit.unwrap_or(2000).clamp(1, 20_000),
            })
        }
        "list_dir" => {
            let a: ListArgs = args(name, arguments)?;
            Ok(ToolInvocation::ListDir {
                path: resolve_path(cwd, &a.path),
            })
        }
        other => Err(format!(
            "unknown tool `{other}`; available: shell, apply_patch, read_file, list_dir"
        )),
    }
}
