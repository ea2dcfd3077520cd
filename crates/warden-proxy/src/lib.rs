//! Warden's egress proxy. Sandboxed commands reach the network only through it: an HTTP
//! forward proxy (absolute-form), `CONNECT` tunnels and SOCKS5 (remote DNS) on one
//! port. Each connection must carry a live per-command credential; its host is checked
//! against the [`HostPolicy`] (allow / ask / deny); the proxy resolves the name itself,
//! refuses non-public addresses unless allowed by IP, connects to the address it
//! checked, and for port 443 checks the TLS server name against the requested host.
//! Every decision becomes a [`NetworkEvent`].

mod accept;
pub mod address;
mod credentials;
mod error;
mod gate;
mod host_policy;
mod http;
mod program;
mod relay;
pub mod request;
pub mod sni;
mod socks;
#[cfg(target_os = "linux")]
mod splice;
mod trace;

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use warden_policy::layers::EffectivePolicy;
use warden_protocol::{Actor, NetworkAccess, PolicySource};

pub use address::AddressRule;
pub use credentials::{Attribution, Credential, Credentials, OpenConnection, SETTLE_LIMIT};
pub use error::ProxyError;
pub use host_policy::{HostPolicy, HostRule, HostVerdict};

/// Why a connection was refused; sent to HTTP clients in the `x-warden-block` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockReason {
    /// A rule or requirement denies the host.
    Denylist,
    /// The host is not on an admin allowlist, unknown hosts are refused, or the person
    /// asked said no.
    NotAllowed,
    /// The name resolved only to addresses that are not public.
    PrivateAddress,
    /// The TLS server name differs from the host the tunnel was opened for.
    SniMismatch,
    /// Nobody answered the question in time.
    Timeout,
    /// No live credential came with the connection.
    NoCredential,
}

impl BlockReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Denylist => "denylist",
            Self::NotAllowed => "not-allowed",
            Self::PrivateAddress => "private-address",
            Self::SniMismatch => "sni-mismatch",
            Self::Timeout => "timeout",
            Self::NoCredential => "no-credential",
        }
    }
}

/// What decides one connection: the host policy and the address and TLS checks.
/// Each session has its own (its project may add rules); see [`ProxySettings`].
#[derive(Debug, Clone)]
pub struct NetworkScope {
    pub policy: HostPolicy,
    /// Non-public addresses that may be reached anyway.
    pub allow_private: Vec<AddressRule>,
    /// Names resolved to fixed addresses instead of through DNS (like `/etc/hosts`).
    pub resolve: HashMap<String, Vec<IpAddr>>,
    /// Ports whose tunnels must start with a TLS hello naming the requested host.
    pub tls_ports: Vec<u16>,
    pub ask_timeout: Duration,
}

impl Default for NetworkScope {
    fn default() -> Self {
        Self {
            policy: HostPolicy::default(),
            allow_private: Vec::new(),
            resolve: HashMap::new(),
            tls_ports: vec![443],
            ask_timeout: Duration::from_secs(60),
        }
    }
}

impl NetworkScope {
    /// The scope an effective configuration describes (`[network]`, rules, requirements).
    pub fn from_effective(policy: &EffectivePolicy) -> Result<Self, ProxyError> {
        let network = &policy.config.network;
        let allow_private = network
            .allow_private
            .iter()
            .enumerate()
            .map(|(i, a)| {
                AddressRule::parse(a)
                    .map_err(|e| ProxyError::setting(format!("network.allow_private[{i}]"), e))
            })
            .collect::<Result<_, _>>()?;
        let mut resolve = HashMap::new();
        for (name, addresses) in &network.hosts {
            let host = request::normalize_host(name).ok_or_else(|| {
                ProxyError::setting("network.hosts", format!("{name:?} is not a host name"))
            })?;
            let parsed = addresses
                .iter()
                .map(|a| {
                    a.parse::<IpAddr>().map_err(|_| {
                        ProxyError::setting(
                            format!("network.hosts.{name}"),
                            format!("{a:?} is not an IP address"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            resolve.insert(host, parsed);
        }
        Ok(Self {
            policy: HostPolicy::from_effective(policy)?,
            allow_private,
            resolve,
            tls_ports: network.tls_ports.clone(),
            ask_timeout: Duration::from_secs(network.ask_timeout_secs),
        })
    }
}

/// How the proxy behaves.
#[derive(Debug, Clone)]
pub struct ProxySettings {
    /// For connections whose credential belongs to no session with its own scope.
    pub scope: NetworkScope,
    /// Each session's scope, by session id.
    pub sessions: HashMap<String, NetworkScope>,
    /// Time a client has to send its request head (or SOCKS handshake, or TLS hello).
    pub header_timeout: Duration,
    pub connect_timeout: Duration,
    /// Connections served at once; more wait in the kernel's accept queue.
    pub max_connections: usize,
}

impl Default for ProxySettings {
    fn default() -> Self {
        Self {
            scope: NetworkScope::default(),
            sessions: HashMap::new(),
            header_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            max_connections: 16_384,
        }
    }
}

impl ProxySettings {
    /// Settings whose default scope comes from an effective configuration.
    pub fn from_effective(policy: &EffectivePolicy) -> Result<Self, ProxyError> {
        let header_timeout = match policy.config.network.header_timeout_secs {
            0 => {
                return Err(ProxyError::setting(
                    "network.header_timeout_secs",
                    "must be at least 1",
                ));
            }
            secs => Duration::from_secs(secs),
        };
        Ok(Self {
            scope: NetworkScope::from_effective(policy)?,
            header_timeout,
            ..Self::default()
        })
    }

    /// The scope that applies to a connection from `session`.
    pub fn scope_for(&self, session: Option<&str>) -> &NetworkScope {
        session
            .and_then(|s| self.sessions.get(s))
            .unwrap_or(&self.scope)
    }

    pub fn scope_for_mut(&mut self, session: Option<&str>) -> &mut NetworkScope {
        match session {
            Some(s) if self.sessions.contains_key(s) => {
                self.sessions.get_mut(s).unwrap_or(&mut self.scope)
            }
            _ => &mut self.scope,
        }
    }
}

/// A question for a person (or the auto-reviewer): may this command reach this host?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkAsk {
    pub host: String,
    pub port: u16,
    pub protocol: &'static str,
    /// The program that connected (`curl`), when it could be found.
    pub program: Option<String>,
    pub attribution: Attribution,
    /// The rule that says to ask, when one does (otherwise no rule covers the host).
    pub rule: Option<PolicySource>,
    /// When the proxy stops waiting and refuses the connection (`timeout`), in
    /// milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
}

impl NetworkAsk {
    /// "curl (from `npm install`) wants registry.example.com:443".
    pub fn summary(&self) -> String {
        let who = self.program.as_deref().unwrap_or("a command");
        if self.attribution.command.is_empty() {
            format!("{who} wants {}:{}", self.host, self.port)
        } else {
            format!(
                "{who} (from `{}`) wants {}:{}",
                self.attribution.command, self.host, self.port
            )
        }
    }
}

/// The answer to a [`NetworkAsk`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AskAnswer {
    AllowOnce,
    AllowForSession,
    /// Allowed, and a user rule now allows the host (written by the asker).
    AllowAlways {
        source: PolicySource,
    },
    Deny,
    /// Refused without asking anyone, and why (`approvals.network is "deny"`).
    Refused(String),
}

/// Who answered, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AskReply {
    pub answer: AskAnswer,
    pub actor: Actor,
}

/// A boxed future answering an ask.
pub type AskFuture = Pin<Box<dyn Future<Output = AskReply> + Send>>;

/// Whoever answers asks: the UI through the session, a terminal prompt, or nobody.
pub trait Asker: Send + Sync {
    fn ask(&self, ask: NetworkAsk) -> AskFuture;
}

/// One decision, with who made the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkEvent {
    pub session_id: Option<String>,
    pub call_id: Option<String>,
    pub access: NetworkAccess,
}

/// Where events go.
pub type EventSink = Arc<dyn Fn(NetworkEvent) + Send + Sync>;

/// A running proxy's shared state; clone freely.
#[derive(Clone)]
pub struct Proxy {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    settings: RwLock<ProxySettings>,
    credentials: Credentials,
    asker: Option<Arc<dyn Asker>>,
    sink: EventSink,
    own_addresses: address::OwnAddresses,
    slots: Arc<tokio::sync::Semaphore>,
}

impl Proxy {
    /// A proxy with these settings. Without an asker, hosts that would be asked about
    /// are refused (`not-allowed`).
    pub fn new(settings: ProxySettings, asker: Option<Arc<dyn Asker>>, sink: EventSink) -> Self {
        let slots = Arc::new(tokio::sync::Semaphore::new(settings.max_connections));
        Self {
            shared: Arc::new(Shared {
                settings: RwLock::new(settings),
                credentials: Credentials::default(),
                asker,
                sink,
                own_addresses: address::OwnAddresses::default(),
                slots,
            }),
        }
    }

    pub fn credentials(&self) -> &Credentials {
        &self.shared.credentials
    }

    /// Change settings in place (e.g. after the policy reloads).
    pub fn update(&self, change: impl FnOnce(&mut ProxySettings)) {
        let mut settings = self
            .shared
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        change(&mut settings);
    }

    /// Accept connections on `listener` until the task is dropped or aborted.
    pub fn serve(&self, listener: tokio::net::TcpListener) -> tokio::task::JoinHandle<()> {
        let shared = self.shared.clone();
        tokio::spawn(async move {
            loop {
                let Ok(permit) = shared.slots.clone().acquire_owned().await else {
                    return;
                };
                match listener.accept().await {
                    Ok((stream, peer)) => {
                        let shared = shared.clone();
                        tokio::spawn(async move {
                            accept::handle(shared, stream, peer).await;
                            drop(permit);
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "proxy accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        })
    }
}

/// Is `host` one of the well-known package registries? (`warden_policy::network`)
pub use warden_policy::network::is_package_registry;
