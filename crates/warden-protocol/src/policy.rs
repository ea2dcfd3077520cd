//! Policy vocabulary: sandbox modes, approval policies, decisions and their reasons.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How much of the machine a sandboxed command may touch.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum SandboxMode {
    ReadOnly,
    WorkspaceWrite,
    FullAccess,
}

impl SandboxMode {
    pub const ALL: [SandboxMode; 3] = [Self::ReadOnly, Self::WorkspaceWrite, Self::FullAccess];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadOnly => "read-only",
            Self::WorkspaceWrite => "workspace-write",
            Self::FullAccess => "full-access",
        }
    }
}

/// When the user is asked before an action runs.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalPolicy {
    /// Only known-safe read-only commands run without asking.
    Untrusted,
    /// Commands run inside the sandbox; the user is asked when the agent requests more access.
    OnRequest,
    /// Never ask: anything that would need approval is denied (fail closed).
    Never,
}

impl ApprovalPolicy {
    pub const ALL: [ApprovalPolicy; 3] = [Self::Untrusted, Self::OnRequest, Self::Never];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Untrusted => "untrusted",
            Self::OnRequest => "on-request",
            Self::Never => "never",
        }
    }
}

/// A policy verdict. Ordered `Allow < Prompt < Forbidden`; combining takes the strictest.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Allow,
    Prompt,
    Forbidden,
}

/// Where a rule or value came from. File paths may end in `:LINE`.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum PolicySource {
    BuiltIn,
    /// Admin defaults the user may override (`/etc/warden/managed_config.toml`, MDM).
    ManagedConfig {
        path: String,
    },
    UserConfig {
        path: String,
    },
    ProjectConfig {
        path: String,
    },
    UserRules {
        path: String,
    },
    ProjectRules {
        path: String,
    },
    /// An admin requirement: a file, an MDM profile, a signed bundle's URL, or a test flag.
    Requirement {
        path: String,
    },
    SessionFlag,
    SessionApproval,
    AutoReview,
}

impl PolicySource {
    /// The same source, pointing at one line of its file.
    pub fn at_line(&self, line: u32) -> Self {
        let with_line = |path: &String| format!("{path}:{line}");
        match self {
            Self::ManagedConfig { path } => Self::ManagedConfig {
                path: with_line(path),
            },
            Self::UserConfig { path } => Self::UserConfig {
                path: with_line(path),
            },
            Self::ProjectConfig { path } => Self::ProjectConfig {
                path: with_line(path),
            },
            Self::UserRules { path } => Self::UserRules {
                path: with_line(path),
            },
            Self::ProjectRules { path } => Self::ProjectRules {
                path: with_line(path),
            },
            Self::Requirement { path } => Self::Requirement {
                path: with_line(path),
            },
            other => other.clone(),
        }
    }

    /// The file (and line) or the name of the source.
    pub fn location(&self) -> &str {
        match self {
            Self::ManagedConfig { path }
            | Self::UserConfig { path }
            | Self::ProjectConfig { path }
            | Self::UserRules { path }
            | Self::ProjectRules { path }
            | Self::Requirement { path } => path,
            Self::BuiltIn => "built-in",
            Self::SessionFlag => "session flag",
            Self::SessionApproval => "session approval",
            Self::AutoReview => "auto-review",
        }
    }

    /// True for admin requirements, which nothing else may loosen.
    pub fn is_requirement(&self) -> bool {
        matches!(self, Self::Requirement { .. })
    }
}

impl std::fmt::Display for PolicySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Self::BuiltIn => return f.write_str("built-in default"),
            Self::SessionFlag => return f.write_str("session flag"),
            Self::SessionApproval => return f.write_str("approval for this session"),
            Self::AutoReview => return f.write_str("auto-review"),
            Self::ManagedConfig { .. } => "managed config",
            Self::UserConfig { .. } => "user config",
            Self::ProjectConfig { .. } => "project config",
            Self::UserRules { .. } => "user rules",
            Self::ProjectRules { .. } => "project rules",
            Self::Requirement { .. } => "admin requirement",
        };
        write!(f, "{kind} {}", self.location())
    }
}

/// One reason behind a verdict, with the rule that produced it and its source.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    pub rule: String,
    pub source: PolicySource,
    pub justification: String,
}

/// Who made a decision about a tool call.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Actor {
    /// A policy rule decided (built-in or config; see the reasons).
    Rule,
    /// An admin requirement's rule decided (alone or with others; the reasons name the
    /// requirement's file). Users cannot loosen it.
    Requirement,
    /// The person at the keyboard.
    User,
    /// The approval policy's default, e.g. fail-closed when nobody can be asked.
    Default,
    /// An earlier "approve for session" answer.
    SessionCache,
    /// The deterministic reviewer approved a low-risk prompt.
    AutoReview,
}

impl Actor {
    /// The name used on the wire and in the audit store's `actor` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rule => "rule",
            Self::Requirement => "requirement",
            Self::User => "user",
            Self::Default => "default",
            Self::SessionCache => "session-cache",
            Self::AutoReview => "auto-review",
        }
    }
}

/// What a recorded decision came to, whoever made it: the audit store's `decision` column
/// and search filter. Policy verdicts map one to one; a network connection allowed or
/// denied is `allow` or `forbid`; an approval answered yes (once, for the session or
/// always) is `allow`, and no (deny or abort) is `forbid`.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DecisionOutcome {
    Allow,
    Prompt,
    Forbid,
}

impl DecisionOutcome {
    pub const ALL: [Self; 3] = [Self::Allow, Self::Prompt, Self::Forbid];

    /// The name on the wire and in the audit store.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Prompt => "prompt",
            Self::Forbid => "forbid",
        }
    }
}

impl std::str::FromStr for DecisionOutcome {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| format!("unknown decision {s:?}: expected allow, prompt or forbid"))
    }
}

impl Actor {
    /// Who decided by rule: an admin requirement when one of the deciding rules came from
    /// one, otherwise a rule.
    pub fn by_rules<'a>(sources: impl IntoIterator<Item = &'a PolicySource>) -> Self {
        if sources
            .into_iter()
            .any(|s| matches!(s, PolicySource::Requirement { .. }))
        {
            Self::Requirement
        } else {
            Self::Rule
        }
    }
}

/// Credential stores under the home directory, unreadable by default.
pub const CREDENTIAL_PATHS: &[&str] = &[
    ".ssh",
    ".gnupg",
    ".aws",
    ".azure",
    ".config/gcloud",
    ".kube",
    ".docker/config.json",
    ".netrc",
    ".git-credentials",
    ".config/gh",
    ".config/hub",
    ".npmrc",
    ".pypirc",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".vault-token",
    ".pgpass",
    ".terraform.d/credentials.tfrc.json",
    ".password-store",
    ".local/share/keyrings",
    ".mozilla",
    ".config/google-chrome",
    ".config/chromium",
    ".config/BraveSoftware",
    ".config/microsoft-edge",
    "snap/chromium",
    "Library/Keychains",
    "Library/Application Support/Google/Chrome",
    "Library/Application Support/Firefox",
];
