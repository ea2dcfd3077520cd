//! The gate every client connection passes, whichever front end read it (HTTP in
//! `http.rs`, SOCKS5 in `socks.rs`): check its credential and the host (asking when no
//! rule decides), connect only to an address that passed the checks, check a TLS
//! hello's server name, relay bytes, and trace it all into one event.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, PoisonError};

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::timeout;
use warden_policy::network::HostPattern;
use warden_policy::rules::HostDecision;
use warden_protocol::{Actor, PolicySource};

use crate::address::{self, classify};
use crate::sni::{self, Hello};
pub(crate) use crate::trace::{Refusal, Trace};
use crate::{AskAnswer, Attribution, BlockReason, HostRule, NetworkAsk, Shared};

impl Shared {
    pub(crate) fn checks_tls(&self, session: Option<&str>, port: u16) -> bool {
        self.settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .scope_for(session)
            .tls_ports
            .contains(&port)
    }

    pub(crate) fn header_timeout(&self) -> std::time::Duration {
        self.settings
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .header_timeout
    }
}

/// Check the credential and the host (asking if the policy says so), then connect to
/// an address that passes the address checks.
pub(crate) async fn open(
    shared: &Arc<Shared>,
    trace: &mut Trace,
    credential: Option<&str>,
    peer: SocketAddr,
) -> Result<TcpStream, Refusal> {
    let host = trace.access.host.clone();
    let port = trace.access.port;
    let Some((who, open_connection)) = credential.and_then(|c| shared.credentials.lookup(c)) else {
        trace.decided("deny", "no-credential", None, Actor::Rule);
        let message = match credential {
            None => "no proxy credential: use the proxy settings Warden put in the environment",
            Some(_) => "the proxy credential is not valid (it belongs to no running command)",
        };
        return Err(Refusal::block(BlockReason::NoCredential, message));
    };
    trace.attribute(&who, open_connection);
    let session = who.session_id.as_deref();
    let verdict = shared
        .settings
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .scope_for(session)
        .policy
        .decide(&host, port, session);
    match verdict.decision {
        HostDecision::Deny => {
            let actor = Actor::by_rules(verdict.source.as_ref());
            trace.decided("deny", "", verdict.source.as_ref(), actor);
            let block = verdict.block.unwrap_or(BlockReason::Denylist);
            let by = verdict.source.as_ref().map_or_else(
                || "unknown hosts are refused".to_string(),
                |s| format!("denied by {s}"),
            );
            return Err(Refusal::block(block, format!("{host}:{port} is {by}")));
        }
        HostDecision::Allow => {
            let (reason, actor) = if verdict.source == Some(PolicySource::SessionApproval) {
                ("session", Actor::SessionCache)
            } else {
                ("rule", Actor::by_rules(verdict.source.as_ref()))
            };
            trace.decided("allow", reason, verdict.source.as_ref(), actor);
        }
        HostDecision::Ask => ask(shared, trace, &who, peer, verdict.source).await?,
    }
    connect(shared, trace).await
}

async fn ask(
    shared: &Arc<Shared>,
    trace: &mut Trace,
    who: &Attribution,
    peer: SocketAddr,
    rule: Option<PolicySource>,
) -> Result<(), Refusal> {
    let host = trace.access.host.clone();
    let port = trace.access.port;
    let Some(asker) = shared.asker.clone() else {
        trace.decided("deny", "", None, Actor::Default);
        return Err(Refusal::block(
            BlockReason::NotAllowed,
            format!("{host}:{port} is not on the allow list and nobody can be asked"),
        ));
    };
    let pid = who.pid;
    let found = tokio::task::spawn_blocking(move || crate::program::find(peer, pid))
        .await
        .ok()
        .flatten();
    if found.is_some() {
        trace.access.program = found;
    }
    let wait = shared
        .settings
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .scope_for(who.session_id.as_deref())
        .ask_timeout;
    let question = NetworkAsk {
        host: host.clone(),
        port,
        protocol: trace.protocol,
        program: trace.access.program.clone(),
        attribution: who.clone(),
        rule,
        expires_at_ms: expiry_ms(wait),
    };
    let Ok(reply) = timeout(wait, asker.ask(question)).await else {
        trace.decided("deny", "", None, Actor::Default);
        return Err(Refusal::block(
            BlockReason::Timeout,
            format!("nobody allowed {host}:{port} within {} s", wait.as_secs()),
        ));
    };
    let reason = match reply.actor {
        Actor::AutoReview => "auto-review",
        _ => "user",
    };
    match reply.answer {
        AskAnswer::Deny => {
            trace.decided("deny", "", None, reply.actor);
            return Err(Refusal::block(
                BlockReason::NotAllowed,
                format!("{host}:{port} was denied when asked"),
            ));
        }
        AskAnswer::Refused(why) => {
            trace.decided("deny", "", None, reply.actor);
            return Err(Refusal::block(
                BlockReason::NotAllowed,
                format!("{host}:{port} is not on the allow list and was not asked about: {why}"),
            ));
        }
        AskAnswer::AllowOnce => trace.decided("allow", reason, None, reply.actor),
        AskAnswer::AllowForSession => {
            if let Some(session) = who.session_id.as_deref() {
                shared
                    .settings
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .scope_for_mut(Some(session))
                    .policy
                    .allow_for_session(session, &host, port);
            }
            trace.decided(
                "allow",
                reason,
                Some(&PolicySource::SessionApproval),
                reply.actor,
            );
        }
        AskAnswer::AllowAlways { source } => {
            if let Ok(pattern) = HostPattern::parse(&host) {
                // Every policy: the rule is in the user's file now.
                let mut settings = shared
                    .settings
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                let rule = HostRule {
                    pattern,
                    decision: HostDecision::Allow,
                    source: source.clone(),
                };
                settings.scope.policy.rules.push(rule.clone());
                for scope in settings.sessions.values_mut() {
                    scope.policy.rules.push(rule.clone());
                }
            }
            trace.decided("allow", reason, Some(&source), reply.actor);
        }
    }
    Ok(())
}

/// Resolve the host ourselves, keep addresses that pass the checks, connect to one.
async fn connect(shared: &Arc<Shared>, trace: &mut Trace) -> Result<TcpStream, Refusal> {
    let host = trace.access.host.clone();
    let port = trace.access.port;
    let (fixed, allow_private, connect_timeout) = {
        let s = shared
            .settings
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let scope = s.scope_for(trace.session_id());
        (
            scope.resolve.get(&host).cloned(),
            scope.allow_private.clone(),
            s.connect_timeout,
        )
    };
    let addresses: Vec<IpAddr> = if let Ok(ip) = host.parse::<IpAddr>() {
        vec![ip]
    } else if let Some(fixed) = fixed {
        fixed
    } else {
        match tokio::net::lookup_host((host.as_str(), port)).await {
            Ok(found) => found.map(|a| a.ip()).collect(),
            Err(e) => return Err(Refusal::failure(format!("cannot resolve {host}: {e}"))),
        }
    };
    let mut refused = None;
    let mut last_error = None;
    let own_addresses = shared.own_addresses.current();
    for ip in addresses {
        let ip = address::canonical(ip);
        let explicitly = allow_private.iter().any(|rule| rule.contains(ip));
        if let Some(class) = classify(ip, &own_addresses).filter(|_| !explicitly) {
            refused.get_or_insert((ip, class));
            continue;
        }
        trace.access.address = Some(ip.to_string());
        match timeout(connect_timeout, TcpStream::connect((ip, port))).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(e)) => last_error = Some(format!("cannot connect to {ip}:{port}: {e}")),
            Err(_) => last_error = Some(format!("connecting to {ip}:{port} timed out")),
        }
    }
    if let Some(error) = last_error {
        return Err(Refusal::failure(error));
    }
    match refused {
        Some((ip, class)) => {
            trace.access.address = Some(ip.to_string());
            Err(Refusal::block(
                BlockReason::PrivateAddress,
                format!(
                    "{host} resolves to {ip}, {}; allow it by IP in network.allow_private",
                    class.describe()
                ),
            ))
        }
        None => Err(Refusal::failure(format!("{host} has no addresses"))),
    }
}

/// For a tunnel to a TLS port (443): read the client's TLS hello and check that its server
/// name is the host the tunnel was opened for. Returns the bytes read, to forward.
pub(crate) async fn check_server_name(
    shared: &Shared,
    client: &mut TcpStream,
    host: &str,
    mut buf: Vec<u8>,
) -> Result<Vec<u8>, Refusal> {
    let deadline = shared.header_timeout();
    let read = timeout(deadline, async {
        loop {
            match sni::parse(&buf) {
                Hello::Incomplete if buf.len() < sni::MAX_HELLO => {}
                done => return Ok::<Hello, std::io::Error>(done),
            }
            let mut chunk = [0u8; 4096];
            let n = client.read(&mut chunk).await?;
            if n == 0 {
                return Ok(Hello::NotTls);
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    })
    .await;
    let hello = match read {
        Ok(Ok(hello)) => hello,
        Ok(Err(e)) => return Err(Refusal::failure(format!("reading the TLS hello: {e}"))),
        Err(_) => return Err(Refusal::failure("no TLS hello in time")),
    };
    let is_ip = host.parse::<IpAddr>().is_ok();
    match hello {
        Hello::Complete(Some(name)) if name == host => Ok(buf),
        Hello::Complete(None) if is_ip => Ok(buf),
        Hello::Complete(Some(name)) => Err(Refusal::block(
            BlockReason::SniMismatch,
            format!("the TLS server name {name} is not {host}"),
        )),
        Hello::Complete(None) => Err(Refusal::block(
            BlockReason::SniMismatch,
            format!("the TLS hello names no server; the tunnel is for {host}"),
        )),
        _ => Err(Refusal::block(
            BlockReason::SniMismatch,
            format!("a tunnel to {host}:443 must start with a TLS hello"),
        )),
    }
}

/// Copy both ways until either side is done, counting bytes into the trace.
pub(crate) async fn relay(client: &mut TcpStream, upstream: &mut TcpStream, trace: &mut Trace) {
    let (result, up, down) = crate::relay::streams(client, upstream).await;
    trace.access.bytes_up += up;
    trace.access.bytes_down += down;
    if let Err(e) = result
        && !matches!(
            e.kind(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
        )
    {
        trace.access.error = Some(format!("relay: {e}"));
    }
}

/// Milliseconds since the Unix epoch, `wait` from now: when an unanswered question ends.
fn expiry_ms(wait: std::time::Duration) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from((now + wait).as_millis()).unwrap_or(i64::MAX)
}
