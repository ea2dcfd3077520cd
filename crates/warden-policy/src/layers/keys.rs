//! The configuration keys resolving a policy refers to by name (requirements enforce
//! them, projects may not set some), named once; a test holds every one to the schema,
//! so a field renamed in `Config` fails the build's tests instead of slipping past
//! enforcement.

pub(super) const SANDBOX: &str = "sandbox";
pub(super) const APPROVAL: &str = "approval";
pub(super) const AUTO_REVIEW_TABLE: &str = "auto_review";
pub(super) const AUTO_REVIEW: &str = "auto_review.mode";
pub(super) const EXPORT_PROMPTS: &str = "telemetry.export_prompts";
pub(super) const ALLOW_READ: &str = "boundary.allow_read";
pub(super) const DENY_READ: &str = "boundary.deny_read";
pub(super) const ACCEPT_WEAKER: &str = "boundary.accept_weaker";
pub(super) const MCP_SERVERS: &str = "mcp_servers";
pub(super) const TRUSTED_PROJECTS: &str = "trusted_projects";

/// Keys a project's `.warden/config.toml` may not set: where prompts go and on whose
/// account, what is recorded and exported, what the sandbox hides, and which projects
/// are trusted.
pub(super) const PROJECT_FORBIDDEN: &[&str] = &[
    "model.base_url",
    "model.headers",
    "model.credentials",
    "model.oauth",
    "telemetry",
    "audit",
    "boundary",
    TRUSTED_PROJECTS,
    "network.allow_private",
    "network.hosts",
];

/// Every key above, for the schema test.
#[cfg(test)]
pub(super) fn all() -> Vec<&'static str> {
    let mut keys = vec![
        SANDBOX,
        APPROVAL,
        AUTO_REVIEW_TABLE,
        AUTO_REVIEW,
        EXPORT_PROMPTS,
        ALLOW_READ,
        DENY_READ,
        ACCEPT_WEAKER,
        MCP_SERVERS,
        TRUSTED_PROJECTS,
    ];
    keys.extend(PROJECT_FORBIDDEN);
    keys
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, to_table};

    /// Each key names a setting (or section) of the schema's defaults.
    #[test]
    fn every_key_named_here_is_in_the_config_schema() {
        let schema = to_table(&Config::default()).unwrap();
        for key in super::all() {
            let mut parts = key.split('.');
            let mut value = schema.get(parts.next().unwrap());
            for part in parts {
                value = value.and_then(|v| v.as_table()).and_then(|t| t.get(part));
            }
            assert!(value.is_some(), "`{key}` is not a setting of Config");
        }
    }
}
