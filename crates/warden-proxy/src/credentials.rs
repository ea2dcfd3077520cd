//! Per-command proxy credentials: each sandboxed command gets its own secret, so every
//! connection is attributed to the command, tool call and session that made it, and a
//! connection without a live credential is refused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// One credential's state: who holds it and how many of its connections are still open.
#[derive(Default)]
struct Entry {
    attribution: Mutex<Attribution>,
    open: AtomicUsize,
    closed: tokio::sync::Notify,
}

type Table = Arc<Mutex<HashMap<String, Arc<Entry>>>>;

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
        let entry = Arc::new(Entry {
            attribution: Mutex::new(attribution),
            ..Entry::default()
        });
        self.table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.clone(), entry.clone());
        Credential {
            token,
            entry,
            table: self.table.clone(),
        }
    }

    /// Who holds `token`, if it is live, and a mark that one of its connections is open
    /// until the mark drops.
    pub fn lookup(&self, token: &str) -> Option<(Attribution, OpenConnection)> {
        let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = table.get(token)?;
        let attribution = entry
            .attribution
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        entry.open.fetch_add(1, Ordering::SeqCst);
        Some((attribution, OpenConnection(entry.clone())))
    }
}

/// Marks one open connection made with a credential.
pub struct OpenConnection(Arc<Entry>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.closed.notify_waiters();
        }
    }
}

/// The longest a finished command waits for its connections to be recorded.
pub const SETTLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A live credential; revoked when dropped.
pub struct Credential {
    token: String,
    entry: Arc<Entry>,
    table: Table,
}

impl Credential {
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Record the command's process id once it has started.
    pub fn set_pid(&self, pid: u32) {
        self.entry
            .attribution
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pid = Some(pid);
    }

    /// After the command ends: wait until each of its connections has been recorded,
    /// but at most [`SETTLE_LIMIT`] (a process it left running may hold one open).
    pub async fn settle(&self) {
        let _ = tokio::time::timeout(SETTLE_LIMIT, self.settled()).await;
    }

    /// Resolves once none of this credential's connections is open.
    pub async fn settled(&self) {
        loop {
            let closed = self.entry.closed.notified();
            tokio::pin!(closed);
            closed.as_mut().enable();
            if self.entry.open.load(Ordering::SeqCst) == 0 {
                return;
            }
            closed.await;
        }
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
        let (found, _open) = creds.lookup(a.token()).unwrap();
        assert_eq!(
            (found.command.as_str(), found.pid),
            ("npm install", Some(42))
        );
        let token = a.token().to_string();
        drop(a);
        assert!(creds.lookup(&token).is_none());
        assert!(creds.lookup("guess").is_none());
    }

    #[tokio::test]
    async fn a_credential_settles_when_its_last_connection_closes() {
        let creds = Credentials::default();
        let a = creds.issue(Attribution::default());
        a.settled().await;
        let (_, first) = creds.lookup(a.token()).unwrap();
        let (_, second) = creds.lookup(a.token()).unwrap();
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), a.settled());
        assert!(waiting.await.is_err(), "settled with two connections open");
        drop(first);
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), a.settled());
        assert!(waiting.await.is_err(), "settled with one connection open");
        let (settled, ()) = tokio::join!(
            tokio::time::timeout(std::time::Duration::from_secs(5), a.settled()),
            async move { drop(second) }
        );
        assert!(
            settled.is_ok(),
            "never settled after the last connection closed"
        );
    }
}
