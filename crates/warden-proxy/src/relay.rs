//! Moving a tunnel's bytes both ways once it is open: zero-copy splice(2) on Linux, a
//! buffered copy elsewhere.

use tokio::net::TcpStream;

/// Relay until both directions have ended or one fails; returns the outcome and the
/// bytes moved each way (client → upstream, upstream → client).
#[cfg(target_os = "linux")]
pub(crate) async fn streams(
    client: &mut TcpStream,
    upstream: &mut TcpStream,
) -> (std::io::Result<()>, u64, u64) {
    crate::splice::relay(client, upstream).await
}

#[cfg(not(target_os = "linux"))]
pub(crate) async fn streams(
    client: &mut TcpStream,
    upstream: &mut TcpStream,
) -> (std::io::Result<()>, u64, u64) {
    let mut client = copy::Counted::new(client);
    let mut upstream = copy::Counted::new(upstream);
    let result =
        tokio::io::copy_bidirectional_with_sizes(&mut client, &mut upstream, 16 * 1024, 16 * 1024)
            .await;
    (result.map(|_| ()), client.read, upstream.read)
}

#[cfg(not(target_os = "linux"))]
mod copy {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio::net::TcpStream;

    /// A stream that counts the bytes read from it.
    pub(super) struct Counted<'a> {
        inner: &'a mut TcpStream,
        pub(super) read: u64,
    }

    impl<'a> Counted<'a> {
        pub(super) fn new(inner: &'a mut TcpStream) -> Self {
            Self { inner, read: 0 }
        }
    }

    impl AsyncRead for Counted<'_> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let before = buf.filled().len();
            let polled = Pin::new(&mut *self.inner).poll_read(cx, buf);
            if let Poll::Ready(Ok(())) = polled {
                self.read += (buf.filled().len() - before) as u64;
            }
            polled
        }
    }

    impl AsyncWrite for Counted<'_> {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            Pin::new(&mut *self.inner).poll_write(cx, buf)
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Pin::new(&mut *self.inner).poll_flush(cx)
        }

        fn poll_shutdown(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<std::io::Result<()>> {
            Pin::new(&mut *self.inner).poll_shutdown(cx)
        }
    }
}
