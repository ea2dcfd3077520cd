//! SOCKS5 (RFC 1928) `CONNECT` with username/password authentication (RFC 1929), the
//! password being the proxy credential. Names are resolved by the proxy (remote DNS),
//! like every other request. Other commands (BIND, UDP) are refused.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::Shared;
use crate::gate::{Refusal, Trace, check_server_name, open, relay};
use crate::request::normalize_host;

pub(crate) const VERSION: u8 = 5;
const NO_AUTH: u8 = 0;
const USER_PASS: u8 = 2;
const NO_METHOD: u8 = 0xff;
const CONNECT: u8 = 1;

/// Reply codes.
const SUCCEEDED: u8 = 0;
const NOT_ALLOWED: u8 = 2;
const HOST_UNREACHABLE: u8 = 4;
const COMMAND_NOT_SUPPORTED: u8 = 7;
const ADDRESS_NOT_SUPPORTED: u8 = 8;

/// What the handshake produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SocksRequest {
    pub host: String,
    pub port: u16,
    pub credential: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HandshakeError {
    /// Protocol violation or I/O error: close without a reply.
    Broken,
    /// Answer with this reply code and close.
    Reply(u8),
}

pub(crate) async fn handle(shared: Arc<Shared>, mut client: TcpStream, peer: SocketAddr) {
    let handshake = timeout(shared.header_timeout(), handshake(&mut client)).await;
    let req = match handshake {
        Ok(Ok(req)) => req,
        Ok(Err(HandshakeError::Reply(code))) => {
            let _ = reply(&mut client, code).await;
            return;
        }
        _ => return,
    };
    let mut trace = Trace::new("socks5", &req.host, req.port);
    let mut upstream = match open(&shared, &mut trace, req.credential.as_deref(), peer).await {
        Ok(upstream) => upstream,
        Err(refusal) => {
            trace.refused(&refusal);
            let code = if refusal.block.is_some() {
                NOT_ALLOWED
            } else {
                HOST_UNREACHABLE
            };
            let _ = reply(&mut client, code).await;
            trace.emit(&shared);
            return;
        }
    };
    if reply(&mut client, SUCCEEDED).await.is_err() {
        trace.emit(&shared);
        return;
    }
    if shared.checks_tls(trace.session_id(), req.port) {
        match check_server_name(&shared, &mut client, &req.host, Vec::new()).await {
            Ok(hello) => {
                if upstream.write_all(&hello).await.is_err() {
                    trace.refused(&Refusal::failure("upstream went away"));
                    trace.emit(&shared);
                    return;
                }
                trace.access.bytes_up = hello.len() as u64;
            }
            Err(refusal) => {
                trace.refused(&refusal);
                trace.emit(&shared);
                return;
            }
        }
    }
    relay(&mut client, &mut upstream, &mut trace).await;
    trace.emit(&shared);
}

/// Read the greeting, authentication and request. A client that offers no
/// username/password is still read to its request, so the refusal names the host.
pub(crate) async fn handshake<S>(client: &mut S) -> Result<SocksRequest, HandshakeError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let broken = |_| HandshakeError::Broken;
    let mut head = [0u8; 2];
    client.read_exact(&mut head).await.map_err(broken)?;
    if head[0] != VERSION || head[1] == 0 {
        return Err(HandshakeError::Broken);
    }
    let mut methods = vec![0u8; usize::from(head[1])];
    client.read_exact(&mut methods).await.map_err(broken)?;
    let credential = if methods.contains(&USER_PASS) {
        client
            .write_all(&[VERSION, USER_PASS])
            .await
            .map_err(broken)?;
        let mut version = [0u8; 2];
        client.read_exact(&mut version).await.map_err(broken)?;
        if version[0] != 1 {
            return Err(HandshakeError::Broken);
        }
        let mut user = vec![0u8; usize::from(version[1])];
        client.read_exact(&mut user).await.map_err(broken)?;
        let mut len = [0u8; 1];
        client.read_exact(&mut len).await.map_err(broken)?;
        let mut password = vec![0u8; usize::from(len[0])];
        client.read_exact(&mut password).await.map_err(broken)?;
        // Accepted here; whether the credential is live is checked with the host, so
        // the refusal can be recorded against it.
        client.write_all(&[1, 0]).await.map_err(broken)?;
        Some(String::from_utf8_lossy(&password).into_owned())
    } else if methods.contains(&NO_AUTH) {
        client
            .write_all(&[VERSION, NO_AUTH])
            .await
            .map_err(broken)?;
        None
    } else {
        client
            .write_all(&[VERSION, NO_METHOD])
            .await
            .map_err(broken)?;
        return Err(HandshakeError::Broken);
    };
    let mut request = [0u8; 4];
    client.read_exact(&mut request).await.map_err(broken)?;
    if request[0] != VERSION {
        return Err(HandshakeError::Broken);
    }
    if request[1] != CONNECT {
        return Err(HandshakeError::Reply(COMMAND_NOT_SUPPORTED));
    }
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await.map_err(broken)?;
            Ipv4Addr::from(ip).to_string()
        }
        4 => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip).await.map_err(broken)?;
            Ipv6Addr::from(ip).to_string()
        }
        3 => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len).await.map_err(broken)?;
            let mut name = vec![0u8; usize::from(len[0])];
            client.read_exact(&mut name).await.map_err(broken)?;
            let name = std::str::from_utf8(&name)
                .map_err(|_| HandshakeError::Reply(ADDRESS_NOT_SUPPORTED))?;
            normalize_host(name).ok_or(HandshakeError::Reply(ADDRESS_NOT_SUPPORTED))?
        }
        _ => return Err(HandshakeError::Reply(ADDRESS_NOT_SUPPORTED)),
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port).await.map_err(broken)?;
    let port = u16::from_be_bytes(port);
    if port == 0 {
        return Err(HandshakeError::Reply(ADDRESS_NOT_SUPPORTED));
    }
    Ok(SocksRequest {
        host,
        port,
        credential,
    })
}

async fn reply(client: &mut TcpStream, code: u8) -> std::io::Result<()> {
    client
        .write_all(&[VERSION, code, 0, 1, 0, 0, 0, 0, 0, 0])
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run(input: &[u8]) -> (Result<SocksRequest, HandshakeError>, Vec<u8>) {
        let (mut client, mut server) = tokio::io::duplex(4096);
        client.write_all(input).await.unwrap();
        client.shutdown().await.unwrap();
        let result = handshake(&mut server).await;
        drop(server);
        let mut written = Vec::new();
        client.read_to_end(&mut written).await.unwrap();
        (result, written)
    }

    #[tokio::test]
    async fn user_pass_connect_to_a_name() {
        let mut input = vec![5, 2, 0, 2, 1, 6];
        input.extend(b"warden");
        input.push(3);
        input.extend(b"tok");
        input.extend([5, 1, 0, 3, 11]);
        input.extend(b"Example.COM");
        input.extend(443u16.to_be_bytes());
        let (result, written) = run(&input).await;
        assert_eq!(
            result,
            Ok(SocksRequest {
                host: "example.com".into(),
                port: 443,
                credential: Some("tok".into()),
            })
        );
        assert_eq!(written, vec![5, 2, 1, 0]);
    }

    #[tokio::test]
    async fn no_auth_ipv6_and_refused_commands() {
        let mut input = vec![5, 1, 0, 5, 1, 0, 4];
        input.extend(Ipv6Addr::LOCALHOST.octets());
        input.extend(80u16.to_be_bytes());
        let (result, _) = run(&input).await;
        assert_eq!(
            result,
            Ok(SocksRequest {
                host: "::1".into(),
                port: 80,
                credential: None,
            })
        );
        let (bind, _) = run(&[5, 1, 0, 5, 2, 0, 1, 1, 2, 3, 4, 0, 80]).await;
        assert_eq!(bind, Err(HandshakeError::Reply(COMMAND_NOT_SUPPORTED)));
        let (gss_only, written) = run(&[5, 1, 1]).await;
        assert_eq!(gss_only, Err(HandshakeError::Broken));
        assert_eq!(written, vec![5, NO_METHOD]);
        let (truncated, _) = run(&[5, 1, 0, 5, 1, 0, 3, 200, b'a']).await;
        assert_eq!(truncated, Err(HandshakeError::Broken));
    }
}
