//! Admin requirements: constraints (not defaults) that no user, project or agent setting
//! may loosen. Several sources combine to the most restrictive result; where two sources
//! cannot both hold, that is an error naming both.

mod bundle;
pub mod mdm;
mod system;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use warden_protocol::{ApprovalPolicy, PolicySource, SandboxMode, Verdict};

use crate::PolicyError;
use crate::config::http;
use crate::network::HostPattern;
use crate::rules::{PrefixRule, RuleSet};
pub use bundle::{
    BundleConfig, SignedBundle, public_key_of, sign_bundle, signing_key_text, verify_bundle,
};
pub use system::{SYSTEM_DIR, load_system_dir};

/// One requirements file as written (TOML).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequirementsFile {
    pub allowed_approval_policies: Option<Vec<ApprovalPolicy>>,
    pub allowed_sandbox_modes: Option<Vec<SandboxMode>>,
    /// False: auto-review may not be turned on.
    pub allow_auto_review: Option<bool>,
    /// False: "always allow" answers may not write user rules.
    pub allow_user_rules: Option<bool>,
    /// MCP servers that may be started, by name.
    pub allowed_mcp_servers: Option<Vec<String>>,
    /// Remote MCP servers that may be used, by URL: exact, or ending in `*` for every URL
    /// that starts with the rest. Local (stdio) servers are not affected.
    pub allowed_mcp_urls: Option<Vec<String>>,
    /// Per-tool approvals pinned: `[mcp_servers.NAME.tools.TOOL] approval = "deny"`.
    #[serde(default)]
    pub mcp_servers: BTreeMap<String, RequiredMcpServer>,
    /// The session model's access: allowed endpoints, locked headers, where the key may
    /// come from, forced OAuth sign-in.
    #[serde(default)]
    pub model: ModelRequirements,
    #[serde(default)]
    pub prefix_rules: Vec<RequiredRule>,
    #[serde(default)]
    pub network: NetworkRequirements,
    /// Locked telemetry settings (`telemetry.KEY` in config.toml).
    #[serde(default)]
    pub telemetry: BTreeMap<String, toml::Value>,
    /// Locked audit settings (`audit.KEY` in config.toml).
    #[serde(default)]
    pub audit: BTreeMap<String, toml::Value>,
    /// Locked auto-review settings (`auto_review.KEY`, `auto_review.model.KEY`): force a
    /// mode, forbid escalations, pin the reviewer's endpoint and model.
    #[serde(default)]
    pub auto_review: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub boundary: BoundaryRequirements,
    /// A signed requirements bundle to fetch (only honoured from system sources).
    pub bundle: Option<BundleConfig>,
}

/// Pins for one MCP server's tools.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredMcpServer {
    #[serde(default)]
    pub tools: BTreeMap<String, crate::config::McpToolConfig>,
}

/// `[model]` in requirements.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRequirements {
    /// The only model endpoints (`model.base_url`, and the reviewer's and triage model's
    /// own) that may be used: exact, or ending in `*`.
    pub allowed_base_urls: Option<Vec<String>>,
    /// Headers every model request carries, locked (`OpenAI-Organization`, a gateway's).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Where the model's credential may come from, locked: `keyring` (never the
    /// environment) or `oauth` (a sign-in with the company's identity provider).
    pub credentials: Option<crate::config::ModelCredentials>,
    /// The identity provider an OAuth sign-in must use, locked.
    #[serde(default)]
    pub oauth: BTreeMap<String, toml::Value>,
}

/// Whether `url` is on an allowlist of URLs (exact, or a prefix ending in `*`), compared
/// without a trailing `/`.
pub fn url_allowed(list: &[String], url: &str) -> bool {
    let url = url.trim_end_matches('/');
    list.iter().any(|entry| match entry.strip_suffix('*') {
        Some(prefix) => url.starts_with(prefix) || url == prefix.trim_end_matches('/'),
        None => url == entry.trim_end_matches('/'),
    })
}

/// A command rule an admin requires (only `prompt` or `forbidden`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredRule {
    pub pattern: Vec<PatternToken>,
    pub decision: String,
    pub justification: Option<String>,
}

/// A pattern word, or alternatives at that position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PatternToken {
    Word(String),
    AnyOf(Vec<String>),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkRequirements {
    /// When set, only these hosts may be reached (`*.example.com` for subdomains).
    pub allowed_domains: Option<Vec<String>>,
    #[serde(default)]
    pub denied_domains: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoundaryRequirements {
    /// More paths no sandboxed command may read.
    #[serde(default)]
    pub deny_read: Vec<PathBuf>,
    /// False: users may not make default credential paths readable (`boundary.allow_read`).
    pub allow_credential_exceptions: Option<bool>,
    /// False: users may not choose a weaker sandbox mode (`boundary.accept_weaker`).
    pub allow_weaker_sandbox: Option<bool>,
}

/// A value and the requirement source that set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sourced<T> {
    pub value: T,
    pub source: PolicySource,
}

/// Every requirement source combined.
#[derive(Debug, Clone, Default)]
pub struct Requirements {
    pub approval_policies: Option<Sourced<Vec<ApprovalPolicy>>>,
    pub sandbox_modes: Option<Sourced<Vec<SandboxMode>>>,
    pub auto_review_forbidden: Option<PolicySource>,
    pub user_rules_forbidden: Option<PolicySource>,
    pub mcp_servers: Option<Sourced<Vec<String>>>,
    /// Each source's allowlist of remote MCP server URLs: a URL must be on every one.
    pub mcp_urls: Vec<Sourced<Vec<String>>>,
    /// `mcp_servers.NAME.tools.TOOL.approval` → pinned approval.
    pub mcp_tool_pins: BTreeMap<String, Sourced<crate::config::McpApproval>>,
    /// Each source's allowlist of model endpoints: an endpoint must be on every one.
    pub model_base_urls: Vec<Sourced<Vec<String>>>,
    pub rules: RuleSet,
    /// Each source's allowlist: a host must be on every one.
    pub allowed_domains: Vec<Sourced<Vec<HostPattern>>>,
    pub denied_domains: Vec<Sourced<HostPattern>>,
    /// `telemetry.KEY` / `audit.KEY` → locked value.
    pub locked: BTreeMap<String, Sourced<toml::Value>>,
    pub deny_read: Vec<Sourced<PathBuf>>,
    pub credential_exceptions_forbidden: Option<PolicySource>,
    pub weaker_sandbox_forbidden: Option<PolicySource>,
    /// Where the requirements came from, in the order they were read.
    pub sources: Vec<PolicySource>,
}

/// Parse one requirements file, with line and column on errors.
pub fn parse_requirements(name: &str, text: &str) -> Result<RequirementsFile, PolicyError> {
    let file: RequirementsFile = toml::from_str(text).map_err(|e| PolicyError::Parse {
        path: PathBuf::from(name),
        message: e.to_string(),
    })?;
    let wrong = |keys: &[String], message: String| PolicyError::Parse {
        path: PathBuf::from(name),
        message: crate::toml_place::at(text, keys, message).to_string(),
    };
    let key = |parts: &[&str]| parts.iter().map(|p| (*p).to_string()).collect::<Vec<_>>();
    for (i, rule) in file.prefix_rules.iter().enumerate() {
        let index = i.to_string();
        if !matches!(rule.decision.as_str(), "prompt" | "forbidden") {
            return Err(wrong(
                &key(&["prefix_rules", &index, "decision"]),
                format!(
                    "decision {:?} is not allowed in requirements; use \"prompt\" or \"forbidden\" (requirements may only add restrictions)",
                    rule.decision
                ),
            ));
        }
        if rule.pattern.is_empty() {
            return Err(wrong(
                &key(&["prefix_rules", &index, "pattern"]),
                "pattern must not be empty".into(),
            ));
        }
    }
    for setting in file.telemetry.keys() {
        if !TELEMETRY_KEYS.contains(&setting.as_str()) {
            return Err(wrong(
                &key(&["telemetry", setting]),
                format!(
                    "not a telemetry setting (known: {})",
                    TELEMETRY_KEYS.join(", ")
                ),
            ));
        }
    }
    for setting in file.audit.keys() {
        if setting != "retention_days" {
            return Err(wrong(
                &key(&["audit", setting]),
                "not an audit setting (known: retention_days)".into(),
            ));
        }
    }
    for setting in file.model.oauth.keys() {
        if !MODEL_OAUTH_KEYS.contains(&setting.as_str()) {
            return Err(wrong(
                &key(&["model", "oauth", setting]),
                format!(
                    "not a model OAuth setting (known: {})",
                    MODEL_OAUTH_KEYS.join(", ")
                ),
            ));
        }
    }
    for (setting, value) in &file.model.oauth {
        if let Some(problem) = model_oauth_problem(setting, value) {
            return Err(wrong(&key(&["model", "oauth", setting]), problem));
        }
    }
    for (name, value) in &file.model.headers {
        if let Some(problem) = http::header_problem(name, value) {
            return Err(wrong(&key(&["model", "headers", name]), problem));
        }
    }
    let url_lists = [
        ("allowed_mcp_urls", file.allowed_mcp_urls.as_deref()),
        ("allowed_base_urls", file.model.allowed_base_urls.as_deref()),
    ];
    for (list, urls) in url_lists {
        for (i, url) in urls.unwrap_or_default().iter().enumerate() {
            let bare = url.trim_end_matches('*');
            if !(bare.starts_with("https://") || bare.starts_with("http://")) {
                let place: &[&str] = if list == "allowed_base_urls" {
                    &["model", list]
                } else {
                    &[list]
                };
                let mut keys = key(place);
                keys.push(i.to_string());
                return Err(wrong(
                    &keys,
                    format!(
                        "{url:?} is not an http(s) URL (a trailing `*` allows any URL it starts)"
                    ),
                ));
            }
        }
    }
    let network = &file.network;
    let lists = [
        (
            "allowed_domains",
            network.allowed_domains.as_deref().unwrap_or_default(),
        ),
        ("denied_domains", network.denied_domains.as_slice()),
    ];
    for (list, hosts) in lists {
        for (i, host) in hosts.iter().enumerate() {
            HostPattern::parse(host)
                .map_err(|e| wrong(&key(&["network", list, &i.to_string()]), e.0))?;
        }
    }
    Ok(file)
}

const MODEL_OAUTH_KEYS: &[&str] = &["issuer", "client_id", "scopes"];

/// What is wrong with `[model.oauth] SETTING = value` in requirements, if anything (the
/// same types as the config's `model.oauth`, checked here so the line can be named).
fn model_oauth_problem(setting: &str, value: &toml::Value) -> Option<String> {
    match (setting, value) {
        ("issuer", toml::Value::String(url)) => {
            http::token_url_problem(url).map(|problem| format!("{url:?} {problem}"))
        }
        ("client_id", toml::Value::String(_)) => None,
        ("scopes", toml::Value::Array(items)) if items.iter().all(toml::Value::is_str) => items
            .iter()
            .filter_map(toml::Value::as_str)
            .find_map(http::scope_problem),
        ("scopes", _) => Some("expected a list of strings, e.g. [\"llm.use\"]".into()),
        _ => Some(format!("expected a string, not {}", value.type_str())),
    }
}

const TELEMETRY_KEYS: &[&str] = &[
    "otlp_endpoint",
    "otlp_protocol",
    "otlp_headers",
    "otlp_ca_file",
    "otlp_client_cert",
    "otlp_client_key",
    "export_prompts",
    "backlog_warning",
    "backlog_cap",
];

fn contradiction(what: &str, a: &PolicySource, b: &PolicySource) -> PolicyError {
    PolicyError::Requirements(format!(
        "contradictory requirements: {what} ({a} and {b} cannot both hold)"
    ))
}

/// Intersect two allowlists; an empty result is a contradiction.
fn intersect<T: Clone + PartialEq + std::fmt::Debug>(
    current: &mut Option<Sourced<Vec<T>>>,
    incoming: Vec<T>,
    source: &PolicySource,
    what: &str,
    empty_is_error: bool,
) -> Result<(), PolicyError> {
    match current {
        None => {
            *current = Some(Sourced {
                value: incoming,
                source: source.clone(),
            })
        }
        Some(existing) => {
            let both: Vec<T> = existing
                .value
                .iter()
                .filter(|v| incoming.contains(v))
                .cloned()
                .collect();
            if both.is_empty() && empty_is_error {
                return Err(contradiction(
                    &format!(
                        "{what}: {:?} vs {:?} have nothing in common",
                        existing.value, incoming
                    ),
                    &existing.source,
                    source,
                ));
            }
            if both.len() < existing.value.len() {
                existing.source = source.clone();
            }
            existing.value = both;
        }
    }
    Ok(())
}

impl Requirements {
    /// Add one source, keeping the most restrictive result.
    pub fn add(&mut self, file: RequirementsFile, source: PolicySource) -> Result<(), PolicyError> {
        if let Some(list) = file.allowed_approval_policies {
            intersect(
                &mut self.approval_policies,
                list,
                &source,
                "allowed_approval_policies",
                true,
            )?;
        }
        if let Some(list) = file.allowed_sandbox_modes {
            intersect(
                &mut self.sandbox_modes,
                list,
                &source,
                "allowed_sandbox_modes",
                true,
            )?;
        }
        if let Some(list) = file.allowed_mcp_servers {
            intersect(
                &mut self.mcp_servers,
                list,
                &source,
                "allowed_mcp_servers",
                false,
            )?;
        }
        if let Some(list) = file.allowed_mcp_urls {
            self.mcp_urls.push(Sourced {
                value: list,
                source: source.clone(),
            });
        }
        if let Some(list) = file.model.allowed_base_urls {
            self.model_base_urls.push(Sourced {
                value: list,
                source: source.clone(),
            });
        }
        for (server, pins) in file.mcp_servers {
            for (tool, pin) in pins.tools {
                let key = format!("mcp_servers.{server}.tools.{tool}.approval");
                match self.mcp_tool_pins.get(&key) {
                    Some(existing) if existing.value != pin.approval => {
                        return Err(contradiction(
                            &format!(
                                "{key} is pinned to \"{}\" and to \"{}\"",
                                existing.value.as_str(),
                                pin.approval.as_str()
                            ),
                            &existing.source,
                            &source,
                        ));
                    }
                    Some(_) => {}
                    None => {
                        self.mcp_tool_pins.insert(
                            key,
                            Sourced {
                                value: pin.approval,
                                source: source.clone(),
                            },
                        );
                    }
                }
            }
        }
        if file.allow_auto_review == Some(false) && self.auto_review_forbidden.is_none() {
            self.auto_review_forbidden = Some(source.clone());
        }
        if file.allow_user_rules == Some(false) && self.user_rules_forbidden.is_none() {
            self.user_rules_forbidden = Some(source.clone());
        }
        for rule in file.prefix_rules {
            let tokens: Vec<Vec<String>> = rule
                .pattern
                .into_iter()
                .map(|t| match t {
                    PatternToken::Word(w) => vec![w],
                    PatternToken::AnyOf(list) => list,
                })
                .collect();
            let decision = if rule.decision == "forbidden" {
                Verdict::Forbidden
            } else {
                Verdict::Prompt
            };
            if let Some(rule) =
                PrefixRule::new(tokens, decision, rule.justification, source.clone())
            {
                self.rules.push_prefix(rule);
            }
        }
        if let Some(hosts) = file.network.allowed_domains {
            let parsed = hosts
                .iter()
                .filter_map(|h| HostPattern::parse(h).ok())
                .collect();
            self.allowed_domains.push(Sourced {
                value: parsed,
                source: source.clone(),
            });
        }
        for host in &file.network.denied_domains {
            if let Ok(pattern) = HostPattern::parse(host) {
                self.denied_domains.push(Sourced {
                    value: pattern,
                    source: source.clone(),
                });
            }
        }
        // A nested table (`[auto_review.model]`) locks each of its keys.
        let auto_review = file.auto_review.into_iter().flat_map(|(k, v)| match v {
            toml::Value::Table(inner) => inner
                .into_iter()
                .map(|(ik, iv)| (format!("auto_review.{k}.{ik}"), iv))
                .collect::<Vec<_>>(),
            other => vec![(format!("auto_review.{k}"), other)],
        });
        // The model's locked settings: each header, the credential source, the OAuth
        // provider's fields.
        let model_locks = file
            .model
            .headers
            .iter()
            .map(|(k, v)| (format!("model.headers.{k}"), toml::Value::from(v.clone())))
            .chain(
                file.model
                    .credentials
                    .map(|c| ("model.credentials".to_string(), c.as_str().into())),
            )
            .chain(
                file.model
                    .oauth
                    .iter()
                    .map(|(k, v)| (format!("model.oauth.{k}"), v.clone())),
            )
            .collect::<Vec<_>>();
        let locked = file
            .telemetry
            .into_iter()
            .map(|(k, v)| (format!("telemetry.{k}"), v))
            .chain(
                file.audit
                    .into_iter()
                    .map(|(k, v)| (format!("audit.{k}"), v)),
            )
            .chain(auto_review)
            .chain(model_locks);
        for (key, value) in locked {
            match self.locked.get(&key) {
                Some(existing) if existing.value != value => {
                    return Err(contradiction(
                        &format!("{key} is locked to {} and to {}", existing.value, value),
                        &existing.source,
                        &source,
                    ));
                }
                Some(_) => {}
                None => {
                    self.locked.insert(
                        key,
                        Sourced {
                            value,
                            source: source.clone(),
                        },
                    );
                }
            }
        }
        for path in file.boundary.deny_read {
            self.deny_read.push(Sourced {
                value: path,
                source: source.clone(),
            });
        }
        if file.boundary.allow_credential_exceptions == Some(false)
            && self.credential_exceptions_forbidden.is_none()
        {
            self.credential_exceptions_forbidden = Some(source.clone());
        }
        if file.boundary.allow_weaker_sandbox == Some(false)
            && self.weaker_sandbox_forbidden.is_none()
        {
            self.weaker_sandbox_forbidden = Some(source.clone());
        }
        self.sources.push(source);
        Ok(())
    }

    /// What the requirements say about reaching `host:port`: denied (by which source),
    /// outside an allowlist (which), or no objection.
    pub fn host_verdict(&self, host: &str, port: u16) -> Option<(&'static str, &PolicySource)> {
        if let Some(denied) = self
            .denied_domains
            .iter()
            .find(|d| d.value.matches(host, port))
        {
            return Some(("denied", &denied.source));
        }
        self.allowed_domains
            .iter()
            .find(|list| !list.value.iter().any(|p| p.matches(host, port)))
            .map(|list| ("not-allowed", &list.source))
    }
}

#[cfg(test)]
mod tests;
