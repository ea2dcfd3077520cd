//! The redirect end of a sign-in: a one-shot HTTP listener on `127.0.0.1` (RFC 8252's
//! loopback redirect for native apps). The browser comes back to
//! `http://127.0.0.1:PORT/callback?code=…&state=…`. Only a callback carrying this
//! sign-in's `state` is taken (anything else on the port is answered and ignored), and the
//! browser's page says how the sign-in really ended: it is answered after the code has
//! been exchanged.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A listener waiting for the redirect.
pub(crate) struct Loopback {
    listener: TcpListener,
    port: u16,
}

/// The browser's redirect, waiting for its page.
pub(crate) struct Callback {
    url: String,
    stream: TcpStream,
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

    /// Wait for the browser to come back with `state` (other requests, such as a favicon
    /// or a callback for another sign-in, are answered and ignored). The redirect, or why
    /// there is none (the identity provider refused, or nobody came back in time).
    pub async fn wait(self, state: &str, timeout: Duration) -> Result<Callback, String> {
        tokio::time::timeout(timeout, self.accept_callback(state))
            .await
            .map_err(|_| {
                format!(
                    "no sign-in came back within {} s (was the browser page finished?)",
                    timeout.as_secs()
                )
            })?
    }

    async fn accept_callback(self, state: &str) -> Result<Callback, String> {
        loop {
            let (mut stream, _) = self.listener.accept().await.map_err(|e| e.to_string())?;
            let target = read_target(&mut stream).await;
            if !target.starts_with("/callback") {
                answer(&mut stream, "404 Not Found", "").await;
                continue;
            }
            let url = format!("http://127.0.0.1:{}{target}", self.port);
            let query = |name: &str| query_param(&url, name);
            if query("state").as_deref() != Some(state) {
                let page = page("This is not the sign-in Warden is waiting for; it was ignored.");
                answer(&mut stream, "400 Bad Request", &page).await;
                continue;
            }
            let refused = query("error").map(|error| match query("error_description") {
                Some(description) => format!("{error} ({description})"),
                None => error,
            });
            let mut callback = Callback { url, stream };
            if let Some(why) = refused {
                let why = format!("the identity provider refused the sign-in: {why}");
                callback.answer(Err(&why)).await;
                return Err(why);
            }
            return Ok(callback);
        }
    }
}

impl Callback {
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Tell the browser how the sign-in ended: `Ok(who)` or `Err(why)`.
    pub async fn answer(&mut self, outcome: Result<&str, &str>) {
        let text = match outcome {
            Ok(who) => format!("Signed in to Warden{who}. You can close this tab."),
            Err(why) => {
                format!("The sign-in failed: {why}. Warden says the same; you can close this tab.")
            }
        };
        answer(&mut self.stream, "200 OK", &page(&text)).await;
    }
}

/// The decoded value of query parameter `name` in `url`, if it has one.
pub(crate) fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url).ok().and_then(|u| {
        u.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    })
}

/// The request target of the request on `stream` (its head is read; the redirect
/// carries everything in its target).
async fn read_target(stream: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 16 * 1024];
    let mut len = 0;
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
    head.lines()
        .next()
        .and_then(|line| line.strip_prefix("GET "))
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or("")
        .to_string()
}

fn page(text: &str) -> String {
    format!(
        "<!doctype html><title>Warden</title><p>{}</p>",
        html_escape(text)
    )
}

async fn answer(stream: &mut TcpStream, status: &str, body: &str) {
    let kind = if body.is_empty() {
        ""
    } else {
        "Content-Type: text/html; charset=utf-8\r\n"
    };
    let response = format!(
        "HTTP/1.1 {status}\r\n{kind}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
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
    async fn the_callback_is_handed_over_and_answered_with_the_outcome() {
        for outcome in [Ok(" as alice@corp.example"), Err("invalid_grant <b>")] {
            let loopback = Loopback::bind().await.unwrap();
            let port = loopback.port;
            assert_eq!(
                loopback.redirect_uri(),
                format!("http://127.0.0.1:{port}/callback")
            );
            let waiting = tokio::spawn(loopback.wait("xyz", Duration::from_secs(10)));
            assert!(get(port, "/favicon.ico").await.starts_with("HTTP/1.1 404"));
            let browser = tokio::spawn(get(port, "/callback?code=abc&state=xyz"));
            let mut callback = waiting.await.unwrap().unwrap();
            assert_eq!(
                callback.url(),
                format!("http://127.0.0.1:{port}/callback?code=abc&state=xyz")
            );
            // The browser's page waits for the outcome, and says it.
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert!(!browser.is_finished());
            callback.answer(outcome).await;
            let page = browser.await.unwrap();
            match outcome {
                Ok(_) => assert!(
                    page.contains("Signed in to Warden as alice@corp.example"),
                    "{page}"
                ),
                Err(_) => assert!(
                    page.contains("sign-in failed: invalid_grant &lt;b&gt;"),
                    "{page}"
                ),
            }
        }
    }

    /// Anything without this sign-in's state is ignored, whatever else it carries.
    #[tokio::test]
    async fn callbacks_for_another_sign_in_are_ignored() {
        let loopback = Loopback::bind().await.unwrap();
        let port = loopback.port;
        let waiting = tokio::spawn(loopback.wait("s1", Duration::from_secs(10)));
        for stray in [
            "/callback?code=evil",
            "/callback?code=evil&state=s2",
            "/callback?error=access_denied&state=s1x",
            "/callback?state=S1&code=x",
        ] {
            let page = get(port, stray).await;
            assert!(page.starts_with("HTTP/1.1 400"), "{stray}: {page}");
            assert!(!waiting.is_finished(), "{stray}");
        }
        let browser = tokio::spawn(get(port, "/callback?code=good&state=s1"));
        let mut callback = waiting.await.unwrap().unwrap();
        assert!(callback.url().ends_with("code=good&state=s1"));
        callback.answer(Ok("")).await;
        assert!(browser.await.unwrap().contains("Signed in to Warden."));
    }

    #[tokio::test]
    async fn a_refusal_is_an_error_with_its_reason() {
        let loopback = Loopback::bind().await.unwrap();
        let port = loopback.port;
        let waiting = tokio::spawn(loopback.wait("x", Duration::from_secs(10)));
        let page = get(
            port,
            "/callback?error=access_denied&error_description=no+consent&state=x",
        )
        .await;
        assert!(page.contains("access_denied (no consent)"), "{page}");
        let error = waiting.await.unwrap().err().unwrap();
        assert!(
            error.contains("refused the sign-in: access_denied"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn nobody_coming_back_times_out() {
        let loopback = Loopback::bind().await.unwrap();
        let error = loopback
            .wait("x", Duration::from_millis(200))
            .await
            .err()
            .unwrap();
        assert!(error.contains("no sign-in came back"), "{error}");
    }
}
