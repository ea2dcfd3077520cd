//! One client connection: read what it asks for (an HTTP head, or a SOCKS5 handshake in
//! `socks.rs`), check its credential and the host, connect to an address that passed
//! the checks, and relay bytes. Every path that names a host ends in one event.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use warden_policy::network::HostPattern;
use warden_policy::rules::HostDecision;
use warden_protocol::{Actor, NetworkAccess, PolicySource};

use crate::address::{self, classify};
use crate::request::{self, Malformed, RequestKind};
use crate::sni::{self, Hello};
use crate::{
    AskAnswer, Attribution, BlockReason, HostRule, NetworkAsk, NetworkEvent, OpenConnection, Shared,
};

pub(crate) async fn handle(shared: Arc<Shared>, client: TcpStream, peer: SocketAddr) {
    let _ = client.set_nodelay(true);
    let mut first = [0u8; 1];
    match timeout(shared.header_timeout(), client.peek(&mut first)).await {
        Ok(Ok(1)) => {}
        _ => return, // closed, or silent for too long
    }
    if first[0] == crate::socks::VERSION {
        crate::socks::handle(shared, client, peer).await;
    } else {
        http(shared, client, peer).await;
    }
}

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

/// Why no upstream connection was opened.
pub(crate) struct Refusal {
    /// None: not a policy block but a failure (resolution, connect).
    pub block: Option<BlockReason>,
    pub message: String,
}

impl Refusal {
    fn block(block: BlockReason, message: impl Into<String>) -> Self {
        Self {
            block: Some(block),
            message: message.into(),
        }
    }

    pub(crate) fn failure(message: impl Into<String>) -> Self {
        Self {
            block: None,
            message: message.into(),
        }
    }
}

/// The event being built for one connection.
pub(crate) struct Trace {
    started: Instant,
    protocol: &'static str,
    session_id: Option<String>,
    call_id: Option<String>,
    pid: Option<u32>,
    /// Held until the event is recorded, so the command's end can wait for it.
    open: Option<OpenConnection>,
    pub access: NetworkAccess,
}

impl Trace {
    pub(crate) fn new(protocol: &'static str, host: &str, port: u16) -> Self {
        Self {
            started: Instant::now(),
            protocol,
            session_id: None,
            call_id: None,
            pid: None,
            open: None,
            access: NetworkAccess {
                host: host.to_string(),
                port,
                protocol: protocol.to_string(),
                decision: "deny".into(),
                reason: String::new(),
                source: None,
                actor: Actor::Rule,
                address: None,
                program: None,
                command: None,
                error: None,
                bytes_up: 0,
                bytes_down: 0,
                duration_ms: 0,
            },
        }
    }

    pub(crate) fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    fn attribute(&mut self, who: &Attribution, open: OpenConnection) {
        self.open = Some(open);
        self.session_id = who.session_id.clone();
        self.call_id = who.call_id.clone();
        self.pid = who.pid;
        self.access.command = Some(who.command.clone()).filter(|c| !c.is_empty());
    }

    fn decided(
        &mut self,
        decision: &str,
        reason: &str,
        source: Option<&PolicySource>,
        actor: Actor,
    ) {
        self.access.decision = decision.into();
        self.access.reason = reason.into();
        self.access.source = source.map(ToString::to_string);
        self.access.actor = actor;
    }

    pub(crate) fn refused(&mut self, refusal: &Refusal) {
        if let Some(block) = refusal.block {
            self.access.decision = "deny".into();
            self.access.reason = block.as_str().into();
        }
        self.access.error = Some(refusal.message.clone());
    }

    pub(crate) fn emit(mut self, shared: &Shared) {
        self.access.duration_ms = self.started.elapsed().as_millis() as u64;
        tracing::debug!(host = %self.access.host, port = self.access.port,
            decision = %self.access.decision, reason = %self.access.reason, "proxy decision");
        (shared.sink)(NetworkEvent {
            session_id: self.session_id,
            call_id: self.call_id,
            access: self.access,
        });
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
        HostDecision::Ask => ask(shared, trace, &who, peer).await?,
    }
    connect(shared, trace).await
}

async fn ask(
    shared: &Arc<Shared>,
    trace: &mut Trace,
    who: &Attribution,
    peer: SocketAddr,
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

// ---- HTTP ----

async fn http(shared: Arc<Shared>, mut client: TcpStream, peer: SocketAddr) {
    let mut buf = Vec::with_capacity(4096);
    let head = timeout(shared.header_timeout(), read_head(&mut client, &mut buf)).await;
    let (req, head_len) = match head {
        Ok(Ok(Some(parsed))) => parsed,
        Ok(Ok(None)) => return, // closed before a whole head
        Ok(Err(HeadError::Malformed(Malformed(message)))) => {
            let _ = respond(&mut client, 400, "Bad Request", None, &message).await;
            return;
        }
        Ok(Err(HeadError::Io)) => return,
        Err(_) => {
            let message = "the request head did not arrive in time";
            let _ = respond(&mut client, 408, "Request Timeout", None, message).await;
            return;
        }
    };
    let protocol = match req.kind {
        RequestKind::Connect => "connect",
        RequestKind::Forward { .. } => "http",
    };
    let mut trace = Trace::new(protocol, &req.host, req.port);
    trace.access.program = req
        .user_agent
        .as_deref()
        .and_then(crate::program::from_user_agent);
    let mut upstream = match open(&shared, &mut trace, req.credential.as_deref(), peer).await {
        Ok(upstream) => upstream,
        Err(refusal) => {
            trace.refused(&refusal);
            let _ = refuse(
                &mut client,
                &req.host,
                req.port,
                &refusal,
                req.credential.is_none(),
            )
            .await;
            trace.emit(&shared);
            return;
        }
    };
    let leftover = buf.split_off(head_len);
    let sent = match req.kind {
        RequestKind::Connect => {
            let established = client
                .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                .await;
            match established {
                Err(e) => Err(Refusal::failure(format!("client went away: {e}"))),
                Ok(()) if shared.checks_tls(trace.session_id(), req.port) => {
                    match check_server_name(&shared, &mut client, &req.host, leftover).await {
                        Ok(hello) => write_upstream(&mut upstream, &[&hello]).await,
                        Err(refusal) => Err(refusal),
                    }
                }
                Ok(()) => write_upstream(&mut upstream, &[&leftover]).await,
            }
        }
        RequestKind::Forward { head } => write_upstream(&mut upstream, &[&head, &leftover]).await,
    };
    match sent {
        Ok(up) => {
            trace.access.bytes_up = up;
            relay(&mut client, &mut upstream, &mut trace).await;
        }
        Err(refusal) => trace.refused(&refusal),
    }
    trace.emit(&shared);
}

async fn write_upstream(upstream: &mut TcpStream, parts: &[&[u8]]) -> Result<u64, Refusal> {
    let mut total = 0;
    for part in parts {
        upstream
            .write_all(part)
            .await
            .map_err(|e| Refusal::failure(format!("upstream went away: {e}")))?;
        total += part.len() as u64;
    }
    Ok(total)
}

enum HeadError {
    Malformed(Malformed),
    Io,
}

async fn read_head(
    client: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Result<Option<(request::ProxyRequest, usize)>, HeadError> {
    loop {
        let mut chunk = [0u8; 4096];
        let n = client.read(&mut chunk).await.map_err(|_| HeadError::Io)?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(parsed) = request::parse(buf).map_err(HeadError::Malformed)? {
            return Ok(Some(parsed));
        }
    }
}

/// Answer a refused HTTP request: 403 (or 407 when no credential was sent at all, so
/// clients that wait for a challenge send theirs) naming the reason, 502 for failures.
async fn refuse(
    client: &mut TcpStream,
    host: &str,
    port: u16,
    refusal: &Refusal,
    no_credential_sent: bool,
) -> std::io::Result<()> {
    match refusal.block {
        Some(BlockReason::NoCredential) if no_credential_sent => {
            let body = format!("Warden blocked {host}:{port}: {}\n", refusal.message);
            let head = format!(
                "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"warden\"\r\n\
                 x-warden-block: no-credential\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                body.len()
            );
            client.write_all(head.as_bytes()).await?;
            client.write_all(body.as_bytes()).await
        }
        Some(block) => {
            let body = format!(
                "Warden blocked {host}:{port} ({}): {}\n",
                block.as_str(),
                refusal.message
            );
            respond(client, 403, "Forbidden", Some(block), &body).await
        }
        None => {
            let body = format!(
                "Warden could not reach {host}:{port}: {}\n",
                refusal.message
            );
            respond(client, 502, "Bad Gateway", None, &body).await
        }
    }
}

async fn respond(
    client: &mut TcpStream,
    status: u16,
    text: &str,
    block: Option<BlockReason>,
    body: &str,
) -> std::io::Result<()> {
    let block = block
        .map(|b| format!("x-warden-block: {}\r\n", b.as_str()))
        .unwrap_or_default();
    let body = if body.ends_with('\n') {
        body.to_string()
    } else {
        format!("{body}\n")
    };
    let head = format!(
        "HTTP/1.1 {status} {text}\r\n{block}Content-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    client.write_all(head.as_bytes()).await?;
    client.write_all(body.as_bytes()).await?;
    client.shutdown().await
}

/// Milliseconds since the Unix epoch, `wait` from now: when an unanswered question ends.
fn expiry_ms(wait: std::time::Duration) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from((now + wait).as_millis()).unwrap_or(i64::MAX)
}
