//! The redirect end of a sign-in: a one-shot HTTP listener on `127.0.0.1` (RFC 8252's
//! loopback redirect for native apps). The browser comes back to
//! `http://127.0.0.1:PORT/callback?code=…&state=…`; the listener answers with a short page
//! and hands the full redirect URL over.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A listener waiting for the redirect.
pub(crate) struct Loopback {
    listener: TcpListener,
    port: u16,
}

impl Loopback {
    pub async fn bind() -> Result<Self, String> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1 for the sign-in's redirect: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        Ok(Self { listener, port })
    }

    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.port)
    }

    /// Wait for the browser to come back (other requests, such as a favicon, are
    /// answered 404 and ignored). The redirect URL, or why there is none.
    pub async fn wait(self, timeout: Duration) -> Result<String, String> {
        tokio::time::timeout(timeout, self.accept_callback())
            .await
            .map_err(|_| {
                format!(
                    "no sign-in came back within {} s (was the browser page finished?)",
                    timeout.as_secs()
                )
            })?
    }

    async fn accept_callback(self) -> Result<String, String> {
        loop {
            let (mut stream, _) = self.listener.accept().await.map_err(|e| e.to_string())?;
            let mut buf = vec![0u8; 16 * 1024];
            let mut len = 0;
            // Read the request head (the redirect carries everything in its target).
            while len < buf.len() {
                let n = match stream.read(&mut buf[len..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                len += n;
                if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            let head = String::from_utf8_lossy(&buf[..len]);
            let target = head
                .lines()
                .next()
                .and_then(|line| line.strip_prefix("GET "))
                .and_then(|rest| rest.split(' ').next())
                .unwrap_or("");
            if !target.starts_with("/callback") {
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    )
                    .await;
                continue;
            }
            let url = format!("http://127.0.0.1:{}{target}", self.port);
            let denied = url::Url::parse(&url).ok().and_then(|u| {
                u.query_pairs()
                    .find(|(k, _)| k == "error")
                    .map(|(_, v)| v.into_owned())
            });
            let body = match &denied {
                Some(error) => format!(
                    "<!doctype html><title>Warden</title><p>Sign-in refused: {}. You can close this tab.</p>",
                    html_escape(error)
                ),
                None => "<!doctype html><title>Warden</title><p>Signed in to Warden. You can close this tab.</p>".to_string(),
            };
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            return match denied {
                Some(error) => Err(format!(
                    "the identity provider refused the sign-in: {error}"
                )),
                None => Ok(url),
            };
        }
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(port: u16, target: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        stream
            .write_all(format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn the_callback_is_handed_over_and_other_requests_ignored() {
        let loopback = Loopback::bind().await.unwrap();
        let port = loopback.port;
        assert_eq!(
            loopback.redirect_uri(),
            format!("http://127.0.0.1:{port}/callback")
        );
        let waiting = tokio::spawn(loopback.wait(Duration::from_secs(10)));
        assert!(get(port, "/favicon.ico").await.starts_with("HTTP/1.1 404"));
        let page = get(port, "/callback?code=abc&state=xyz").await;
        assert!(page.contains("Signed in to Warden"), "{page}");
        let url = waiting.await.unwrap().unwrap();
        assert_eq!(
            url,
            format!("http://127.0.0.1:{port}/callback?code=abc&state=xyz")
        );
    }

    #[tokio::test]
    async fn a_refusal_is_an_error_with_its_reason() {
        let loopback = Loopback::bind().await.unwrap();
        let port = loopback.port;
        let waiting = tokio::spawn(loopback.wait(Duration::from_secs(10)));
        let page = get(port, "/callback?error=access_denied&state=x").await;
        assert!(page.contains("access_denied"));
        let error = waiting.await.unwrap().unwrap_err();
        assert!(error.contains("access_denied"), "{error}");
    }

    #[tokio::test]
    async fn nobody_coming_back_times_out() {
        let loopback = Loopback::bind().await.unwrap();
        let error = loopback.wait(Duration::from_millis(200)).await.unwrap_err();
        assert!(error.contains("no sign-in came back"), "{error}");
    }
}
