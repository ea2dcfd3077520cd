//! Accepting a client: the first byte tells a SOCKS5 handshake (5) from an HTTP request,
//! and the connection goes to that front end (`socks.rs`, `http.rs`), both of which pass
//! it through the gate (`gate.rs`).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::Shared;

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
        crate::http::handle(shared, client, peer).await;
    }
}
