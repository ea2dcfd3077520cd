//! The HTTP front end: a forward-proxy request or a CONNECT, read with its credential,
//! passed through the gate, answered 403/407 naming the reason, 502 for failures, 400
//! for a malformed head and 408 for one that does not arrive in time.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::gate::{Refusal, Trace, check_server_name, open, relay};
use crate::request::{self, Malformed, RequestKind};
use crate::{BlockReason, Shared};

pub(crate) async fn handle(shared: Arc<Shared>, mut client: TcpStream, peer: SocketAddr) {
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
