//! Zero-copy relay on Linux: each direction moves bytes socket → pipe → socket with
//! splice(2), so tunnel data never enters the proxy's memory. A direction creates its
//! pipe when its first bytes arrive (idle tunnels hold no pipes) and falls back to a
//! small copy buffer if the process cannot open one (e.g. out of descriptors).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use tokio::io::Interest;
use tokio::net::TcpStream;

/// The most one splice moves, and the pipe size asked for (a pipe holds 64 KiB by
/// default; larger pipes mean fewer system calls per byte). Pipe pages are taken only
/// while bytes are in flight.
const CHUNK: usize = 1024 * 1024;
/// The fallback copy's buffer.
const COPY_BUFFER: usize = 16 * 1024;

/// Relay both directions until both have ended (each end shuts the other side's write
/// half, as `copy_bidirectional` does) or one fails. Returns the bytes each way
/// (client → upstream, upstream → client) even when it fails.
pub(crate) async fn relay(client: &TcpStream, upstream: &TcpStream) -> (io::Result<()>, u64, u64) {
    let mut up = 0;
    let mut down = 0;
    let result = tokio::try_join!(
        pump(client, upstream, &mut up),
        pump(upstream, client, &mut down)
    );
    (result.map(|_| ()), up, down)
}

/// Move everything `src` sends to `dst`, then shut `dst`'s write half.
async fn pump(src: &TcpStream, dst: &TcpStream, moved: &mut u64) -> io::Result<()> {
    let mut pipe: Option<Pipe> = None;
    loop {
        src.readable().await?;
        let pipe = match &pipe {
            Some(pipe) => pipe,
            None => match Pipe::new() {
                Ok(new) => pipe.insert(new),
                Err(e) => {
                    tracing::debug!(error = %e, "no pipe for splice; copying instead");
                    return copy(src, dst, moved).await;
                }
            },
        };
        let read = src.try_io(Interest::READABLE, || {
            splice(src.as_raw_fd(), pipe.write.as_raw_fd(), CHUNK)
        });
        let mut left = match read {
            Ok(0) => return shutdown_write(dst),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        };
        *moved += left as u64;
        while left > 0 {
            dst.writable().await?;
            let written = dst.try_io(Interest::WRITABLE, || {
                splice(pipe.read.as_raw_fd(), dst.as_raw_fd(), left)
            });
            match written {
                Ok(n) => left -= n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// The same with a buffer, for when no pipe can be had.
async fn copy(src: &TcpStream, dst: &TcpStream, moved: &mut u64) -> io::Result<()> {
    let mut buffer = vec![0u8; COPY_BUFFER];
    loop {
        src.readable().await?;
        let n = match src.try_read(&mut buffer) {
            Ok(0) => return shutdown_write(dst),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        };
        *moved += n as u64;
        let mut sent = 0;
        while sent < n {
            dst.writable().await?;
            match dst.try_write(&buffer[sent..n]) {
                Ok(m) => sent += m,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }
}

fn shutdown_write(stream: &TcpStream) -> io::Result<()> {
    // SAFETY: shutdown(2) on a socket descriptor the stream owns; no memory is passed.
    if unsafe { libc::shutdown(stream.as_raw_fd(), libc::SHUT_WR) } == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    // The peer already closed: nothing left to tell it.
    match e.raw_os_error() {
        Some(libc::ENOTCONN) => Ok(()),
        _ => Err(e),
    }
}

fn splice(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    // SAFETY: splice(2) between two descriptors owned by the caller, with null offsets
    // (both are a socket or a pipe); it touches no memory of ours.
    let n = unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// A non-blocking pipe.
struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
}

impl Pipe {
    fn new() -> io::Result<Self> {
        let mut fds = [0 as RawFd; 2];
        // SAFETY: pipe2(2) writes two descriptors into the array it is given.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just opened by pipe2 and belong to nobody else.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: fcntl(2) on our own pipe. Failing (a lower fs.pipe-max-size) only leaves
        // the default size.
        unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETPIPE_SZ, CHUNK as libc::c_int) };
        Ok(Self { read, write })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Two connected sockets: (the end the test drives, the end the relay gets).
    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (ours, theirs) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (ours.unwrap(), theirs.unwrap().0)
    }

    #[tokio::test]
    async fn bytes_cross_both_ways_intact_and_are_counted() {
        let (mut client, client_side) = pair().await;
        let (mut server, server_side) = pair().await;
        let relay = tokio::spawn(async move { relay(&client_side, &server_side).await });
        // More than a pipe holds, in a pattern a lost or reordered chunk would break.
        let upload: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let sent = upload.clone();
        let writer = tokio::spawn(async move {
            client.write_all(&sent).await.unwrap();
            client.shutdown().await.unwrap();
            let mut reply = Vec::new();
            client.read_to_end(&mut reply).await.unwrap();
            reply
        });
        let mut received = Vec::new();
        server.read_to_end(&mut received).await.unwrap();
        assert!(
            received == upload,
            "upload corrupted ({} bytes)",
            received.len()
        );
        server.write_all(b"thanks").await.unwrap();
        server.shutdown().await.unwrap();
        assert_eq!(writer.await.unwrap(), b"thanks");
        let (result, up, down) = relay.await.unwrap();
        result.unwrap();
        assert_eq!((up, down), (upload.len() as u64, 6));
    }

    #[tokio::test]
    async fn the_copy_fallback_moves_the_same_bytes() {
        let (mut client, client_side) = pair().await;
        let (mut server, server_side) = pair().await;
        let pump = tokio::spawn(async move {
            let mut moved = 0;
            let result = copy(&client_side, &server_side, &mut moved).await;
            (result, moved)
        });
        let upload: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        client.write_all(&upload).await.unwrap();
        client.shutdown().await.unwrap();
        let mut received = Vec::new();
        server.read_to_end(&mut received).await.unwrap();
        assert!(
            received == upload,
            "copy corrupted ({} bytes)",
            received.len()
        );
        let (result, moved) = pump.await.unwrap();
        result.unwrap();
        assert_eq!(moved, upload.len() as u64);
    }

    #[tokio::test]
    async fn a_reset_ends_the_relay_with_an_error() {
        let (client, client_side) = pair().await;
        let (server, server_side) = pair().await;
        let relay = tokio::spawn(async move { relay(&client_side, &server_side).await });
        // A zero linger makes the close a reset.
        server.set_zero_linger().unwrap();
        drop(server);
        let (result, _, _) = tokio::time::timeout(std::time::Duration::from_secs(5), relay)
            .await
            .expect("the relay hung after a reset")
            .unwrap();
        assert!(result.is_err(), "{result:?}");
        drop(client);
    }
}
