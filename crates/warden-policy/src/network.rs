//! Host patterns for network rules and requirements: `example.com` (exactly that host),
//! `*.example.com` (its subdomains), either with an optional `:port`.

use crate::ValueError;
use std::fmt;

/// A host (or subdomain wildcard) and an optional port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct HostPattern {
    /// Lower-case host without the `*.` prefix.
    pub host: String,
    /// `*.host`: any subdomain of `host` (not `host` itself).
    pub subdomains: bool,
    pub port: Option<u16>,
}

impl HostPattern {
    /// Parse `host`, `*.host`, `host:port`. A bare `*` or a wildcard over a top-level
    /// domain (`*.com`) is refused: it would allow or deny everything.
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        Self::parse_text(text).map_err(ValueError)
    }

    fn parse_text(text: &str) -> Result<Self, String> {
        let trimmed = text.trim().to_ascii_lowercase();
        let (host, port) = match trimmed.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => {
                let port: u16 = port
                    .parse()
                    .map_err(|_| format!("host {text:?}: `{port}` is not a port number"))?;
                (host.to_string(), Some(port))
            }
            _ => (trimmed.clone(), None),
        };
        if host == "*" || host.is_empty() {
            return Err(format!(
                "host {text:?} would match every host; list the hosts (or `*.domain`) instead"
            ));
        }
        let (host, subdomains) = match host.strip_prefix("*.") {
            Some(rest) => (rest.to_string(), true),
            None => (host, false),
        };
        if host.contains('*') {
            return Err(format!(
                "host {text:?}: `*` is only allowed as a leading `*.` for subdomains"
            ));
        }
        if subdomains && !host.contains('.') {
            return Err(format!(
                "host {text:?} would match a whole top-level domain; name a domain under it"
            ));
        }
        let valid = host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
        if !valid || host.starts_with('.') || host.ends_with('.') {
            return Err(format!("host {text:?} is not a valid host name"));
        }
        Ok(Self {
            host,
            subdomains,
            port,
        })
    }

    /// Does this pattern cover `host:port`?
    pub fn matches(&self, host: &str, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if self.subdomains {
            host.len() > self.host.len()
                && host.ends_with(&self.host)
                && host.as_bytes()[host.len() - self.host.len() - 1] == b'.'
        } else {
            host == self.host
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.subdomains {
            f.write_str("*.")?;
        }
        f.write_str(&self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// Package registries the auto-reviewer may allow without asking: fetching
/// dependencies is routine, and these hosts serve only published packages.
const PACKAGE_REGISTRIES: &[&str] = &[
    "registry.npmjs.org",
    "registry.yarnpkg.com",
    "pypi.org",
    "files.pythonhosted.org",
    "crates.io",
    "index.crates.io",
    "static.crates.io",
    "proxy.golang.org",
    "sum.golang.org",
    "repo.maven.apache.org",
    "repo1.maven.org",
    "rubygems.org",
    "api.nuget.org",
];

/// Is `host` one of the well-known package registries?
pub fn is_package_registry(host: &str) -> bool {
    PACKAGE_REGISTRIES.contains(&host.trim_end_matches('.').to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_subdomain_and_port_patterns() {
        let exact = HostPattern::parse("Example.com").unwrap();
        assert!(exact.matches("example.com", 443));
        assert!(!exact.matches("api.example.com", 443));
        let sub = HostPattern::parse("*.example.com:443").unwrap();
        assert!(sub.matches("api.example.com", 443));
        assert!(!sub.matches("api.example.com", 80));
        assert!(!sub.matches("example.com", 443));
        assert!(!sub.matches("evilexample.com", 443));
        assert_eq!(sub.to_string(), "*.example.com:443");
    }

    #[test]
    fn global_wildcards_are_refused() {
        for bad in ["*", "*:443", "*.com", "ex*mple.com", "", "a b"] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
