//! macOS: a Seatbelt profile for `/usr/bin/sandbox-exec`. Generation is pure (tested on
//! every platform); only macOS runs it.
//!
//! The profile denies by default, allows reading everything but the credential paths,
//! writing only inside writable roots minus protected paths (whose parents cannot be
//! renamed or removed), and network only to Warden's proxy port on loopback when one is
//! given.

use std::path::{Path, PathBuf};

/// The absolute path of the launcher (never looked up on `PATH`).
pub const SANDBOX_EXEC: &str = "/usr/bin/sandbox-exec";

/// Everything the profile depends on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeatbeltInput {
    pub writable_roots: Vec<PathBuf>,
    pub protected: Vec<PathBuf>,
    pub unreadable: Vec<PathBuf>,
    pub proxy_port: Option<u16>,
}

impl SeatbeltInput {
    /// What `policy` means for a command run by the user whose home is `home`: its
    /// writable roots, the protected and credential paths that exist, and the proxy port
    /// when the policy's egress is Warden's proxy.
    pub fn for_policy(
        policy: &crate::SandboxPolicy,
        home: &Path,
    ) -> Result<Self, crate::SandboxError> {
        let writable = policy.effective_writable_roots()?;
        Ok(Self {
            protected: crate::paths::protected_paths(home, &writable, &policy.boundary.protect)
                .into_iter()
                .map(|p| p.path)
                .collect(),
            unreadable: crate::paths::credential_paths(
                home,
                &policy.boundary.deny_read,
                &policy.boundary.allow_read,
            ),
            writable_roots: writable,
            proxy_port: match policy.egress {
                crate::Egress::Proxy(port) => Some(port),
                crate::Egress::None => None,
            },
        })
    }
}

/// A string literal in the profile language.
fn quote(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn filters(kind: &str, paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| format!("\n  ({kind} {})", quote(p)))
        .collect()
}

/// The profile text.
pub fn profile(input: &SeatbeltInput) -> String {
    let mut out = String::from(
        "(version 1)\n\
         (deny default)\n\
         (allow process-exec process-fork)\n\
         (allow signal (target same-sandbox))\n\
         (allow sysctl-read)\n\
         (allow mach-lookup (global-name \"com.apple.system.opendirectoryd.libinfo\"))\n\
         (allow file-read*)\n",
    );
    if !input.unreadable.is_empty() {
        out.push_str(&format!(
            "(deny file-read*{})\n",
            filters("subpath", &input.unreadable)
        ));
    }
    out.push_str("(allow file-write-data (literal \"/dev/null\"))\n");
    if !input.writable_roots.is_empty() {
        out.push_str(&format!(
            "(allow file-write*{})\n",
            filters("subpath", &input.writable_roots)
        ));
    }
    if !input.protected.is_empty() {
        out.push_str(&format!(
            "(deny file-write*{})\n",
            filters("subpath", &input.protected)
        ));
        let mut parents: Vec<PathBuf> = Vec::new();
        for path in &input.protected {
            for dir in crate::paths::pinned_ancestors(path, &input.writable_roots) {
                if !parents.contains(&dir) {
                    parents.push(dir);
                }
            }
        }
        if !parents.is_empty() {
            out.push_str(&format!(
                "(deny file-write-unlink file-write-create{})\n",
                filters("literal", &parents)
            ));
        }
    }
    if let Some(port) = input.proxy_port {
        out.push_str(&format!(
            "(allow network-outbound (remote tcp \"localhost:{port}\"))\n"
        ));
    }
    out
}

/// The argv that runs `argv` under `profile`.
pub fn argv(profile: &str, argv: &[String]) -> Vec<String> {
    let mut out = vec![
        SANDBOX_EXEC.to_string(),
        "-p".into(),
        profile.to_string(),
        "--".into(),
    ];
    out.extend(argv.iter().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SeatbeltInput {
        SeatbeltInput {
            writable_roots: vec!["/Users/dev/ws".into(), "/private/tmp".into()],
            protected: vec![
                "/Users/dev/ws/.git/hooks".into(),
                "/Users/dev/ws/.git/config".into(),
            ],
            unreadable: vec![
                "/Users/dev/.ssh".into(),
                "/Users/dev/Library/Keychains".into(),
            ],
            proxy_port: Some(3128),
        }
    }

    #[test]
    fn a_policy_becomes_the_profile_input_with_its_proxy_port() {
        let home = tempfile::tempdir().unwrap();
        let home = home.path().canonicalize().unwrap();
        let ws = home.join("ws");
        std::fs::create_dir_all(ws.join(".git/hooks")).unwrap();
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        let mut policy = crate::SandboxPolicy::new(
            warden_protocol::SandboxMode::WorkspaceWrite,
            vec![ws.clone()],
        );
        let input = SeatbeltInput::for_policy(&policy, &home).unwrap();
        assert_eq!(input.proxy_port, None);
        assert!(input.writable_roots.contains(&ws));
        assert!(input.protected.contains(&ws.join(".git/hooks")));
        assert!(input.unreadable.contains(&home.join(".ssh")));
        assert!(!profile(&input).contains("network-outbound"));

        policy.egress = crate::Egress::Proxy(3128);
        let input = SeatbeltInput::for_policy(&policy, &home).unwrap();
        assert_eq!(input.proxy_port, Some(3128));
        assert!(profile(&input).contains("(remote tcp \"localhost:3128\")"));
    }

    #[test]
    fn profile_snapshot() {
        let want = r#"(version 1)
(deny default)
(allow process-exec process-fork)
(allow signal (target same-sandbox))
(allow sysctl-read)
(allow mach-lookup (global-name "com.apple.system.opendirectoryd.libinfo"))
(allow file-read*)
(deny file-read*
  (subpath "/Users/dev/.ssh")
  (subpath "/Users/dev/Library/Keychains"))
(allow file-write-data (literal "/dev/null"))
(allow file-write*
  (subpath "/Users/dev/ws")
  (subpath "/private/tmp"))
(deny file-write*
  (subpath "/Users/dev/ws/.git/hooks")
  (subpath "/Users/dev/ws/.git/config"))
(deny file-write-unlink file-write-create
  (literal "/Users/dev/ws")
  (literal "/Users/dev/ws/.git"))
(allow network-outbound (remote tcp "localhost:3128"))
"#;
        assert_eq!(profile(&sample()), want);
    }

    #[test]
    fn read_only_without_proxy_has_no_write_or_network_rule() {
        let input = SeatbeltInput {
            unreadable: vec!["/Users/dev/.aws".into()],
            ..SeatbeltInput::default()
        };
        let text = profile(&input);
        assert!(!text.contains("(allow file-write*"));
        assert!(!text.contains("network"));
        assert!(text.contains("(deny default)"));
    }

    #[test]
    fn quotes_in_paths_cannot_break_out_of_the_string() {
        let input = SeatbeltInput {
            writable_roots: vec![r#"/Users/dev/we"ird\(allow default)"#.into()],
            ..SeatbeltInput::default()
        };
        assert!(profile(&input).contains(r#"(subpath "/Users/dev/we\"ird\\(allow default)")"#));
    }

    #[test]
    fn the_launcher_is_an_absolute_path() {
        let args = argv("(version 1)", &["ls".into(), "-l".into()]);
        assert_eq!(
            args,
            [
                "/usr/bin/sandbox-exec",
                "-p",
                "(version 1)",
                "--",
                "ls",
                "-l"
            ]
        );
    }
}
