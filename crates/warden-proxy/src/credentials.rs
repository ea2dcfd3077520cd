//! Per-command proxy credentials: each sandboxed command gets its own secret, so every
//! connection is attributed to the command, tool call and session that made it, and a
//! connection without a live credential is refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use rand::RngCore;

/// Who a credential belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attribution {
    pub session_id: Option<String>,
    pub call_id: Option<String>,
    /// The command line, for people (`npm install`).
    pub command: String,
    /// The command's process id once it runs, to name the program behind a connection.
    pub pid: Option<u32>,
}

type Table = Arc<Mutex<HashMap<String, Arc<Mutex<Attribution>>>>>;

/// The live credentials.
#[derive(Clone, Default)]
pub struct Credentials {
    table: Table,
}

impl Credentials {
    /// A fresh credential for `attribution`, valid until the returned guard drops.
    pub fn issue(&self, attribution: Attribution) -> Credential {
        let mut bytes = [0u8; 24];
        rand::rng().fill_bytes(&mut bytes);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.insert(token, attribution)
    }

    /// A credential with a chosen secret (for `warden proxy --credential`).
    pub fn issue_fixed(&self, token: &str, attribution: Attribution) -> Credential {
        self.insert(token.to_string(), attribution)
    }

    fn insert(&self, token: String, attribution: Attribution) -> Credential {
        let shared = Arc::new(Mutex::new(attribution));
        self.table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.clone(), shared.clone());
        Credential {
            token,
            attribution: shared,
            table: self.table.clone(),
        }
    }

    /// Who holds `token`, if it is live.
    pub fn lookup(&self, token: &str) -> Option<Attribution> {
        let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = table.get(token)?;
        let attribution = entry.lock().unwrap_or_else(PoisonError::into_inner).clone();
        Some(attribution)
    }
}

/// A live credential; revoked when dropped.
pub struct Credential {
    token: String,
    attribution: Arc<Mutex<Attribution>>,
    table: Table,
}

impl Credential {
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Record the command's process id once it has started.
    pub fn set_pid(&self, pid: u32) {
        self.attribution
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pid = Some(pid);
    }

    /// The environment a sandboxed command gets to reach the proxy at `addr`: the
    /// HTTP(S) proxy variables in both cases, and `ALL_PROXY` as SOCKS5 with remote DNS.
    pub fn environment(&self, addr: std::net::SocketAddr) -> Vec<(String, String)> {
        let http = format!("http://warden:{}@{addr}", self.token);
        let socks = format!("socks5h://warden:{}@{addr}", self.token);
        let mut env = Vec::new();
        for name in ["HTTP_PROXY", "HTTPS_PROXY"] {
            env.push((name.to_string(), http.clone()));
            env.push((name.to_ascii_lowercase(), http.clone()));
        }
        env.push(("ALL_PROXY".into(), socks.clone()));
        env.push(("all_proxy".into(), socks));
        // Nothing bypasses the proxy: the sandbox has no other way out anyway.
        env.push(("NO_PROXY".into(), String::new()));
        env.push(("no_proxy".into(), String::new()));
        env
    }
}

impl Drop for Credential {
    fn drop(&mut self) {
        self.table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_unique_attributed_and_revoked_on_drop() {
        let creds = Credentials::default();
        let a = creds.issue(Attribution {
            command: "npm install".into(),
            ..Default::default()
        });
        let b = creds.issue(Attribution::default());
        assert_ne!(a.token(), b.token());
        assert_eq!(a.token().len(), 48);
        a.set_pid(42);
        let found = creds.lookup(a.token()).unwrap();
        assert_eq!(
            (found.command.as_str(), found.pid),
            ("npm install", Some(42))
        );
        let token = a.token().to_string();
        drop(a);
        assert_eq!(creds.lookup(&token), None);
        assert!(creds.lookup("guess").is_none());
    }
}
