//! Parsing what a client sends first: an HTTP proxy request head (`CONNECT host:port`
//! or an absolute-form `GET http://host/...`), and the host names in it.

use std::fmt::Write as _;

/// Largest request head accepted.
pub const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 100;

/// A parsed proxy request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyRequest {
    pub kind: RequestKind,
    pub host: String,
    pub port: u16,
    /// The proxy credential (the password of `Proxy-Authorization: Basic`).
    pub credential: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestKind {
    Connect,
    /// A plain-HTTP request to forward: the head to send to the origin.
    Forward {
        head: Vec<u8>,
    },
}

/// The request head could not be used; answered with `400`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

/// Parse a request head from the start of `buf`: Ok(None) until the whole head is
/// there; Ok(Some((request, head length))) once it is.
pub fn parse(buf: &[u8]) -> Result<Option<(ProxyRequest, usize)>, Malformed> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => {
            return Err(Malformed(format!(
                "the request head is larger than {MAX_HEAD} bytes"
            )));
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(Malformed(format!("not an HTTP request ({e})"))),
    };
    let method = req.method.unwrap_or_default();
    let target = req.path.unwrap_or_default();
    let header = |name: &str| -> Option<String> {
        req.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .map(|v| v.trim().to_string())
    };
    let credential = match header("proxy-authorization") {
        Some(value) => Some(basic_password(&value).ok_or_else(|| {
            Malformed("Proxy-Authorization must be `Basic` with user:password".into())
        })?),
        None => None,
    };
    let user_agent = header("user-agent");
    if method.eq_ignore_ascii_case("CONNECT") {
        let (host, port) = authority(target, None)?;
        return Ok(Some((
            ProxyRequest {
                kind: RequestKind::Connect,
                host,
                port,
                credential,
                user_agent,
            },
            len,
        )));
    }
    let rest = strip_prefix_ignore_case(target, "http://").ok_or_else(|| {
        Malformed(format!(
            "{method} {target}: a proxy request needs an absolute http:// URL \
             (use CONNECT for https)"
        ))
    })?;
    let (authority_text, path) = match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_string()),
    };
    if authority_text.contains('@') {
        return Err(Malformed(
            "user information in the request URL is not accepted".into(),
        ));
    }
    let (host, port) = authority(authority_text, Some(80))?;
    let mut head = String::with_capacity(len);
    let _ = write!(head, "{method} {path} HTTP/1.1\r\n");
    let host_value = if port == 80 {
        bracket(&host)
    } else {
        format!("{}:{port}", bracket(&host))
    };
    let _ = write!(head, "Host: {host_value}\r\n");
    for h in req.headers.iter() {
        let name = h.name.to_ascii_lowercase();
        let hop = matches!(
            name.as_str(),
            "host" | "connection" | "keep-alive" | "proxy-connection" | "te" | "upgrade"
        ) || name.starts_with("proxy-");
        if hop {
            continue;
        }
        let value = std::str::from_utf8(h.value)
            .map_err(|_| Malformed(format!("header {} is not text", h.name)))?;
        let _ = write!(head, "{}: {value}\r\n", h.name);
    }
    head.push_str("Connection: close\r\n\r\n");
    Ok(Some((
        ProxyRequest {
            kind: RequestKind::Forward {
                head: head.into_bytes(),
            },
            host,
            port,
            credential,
            user_agent,
        },
        len,
    )))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// `host:port`, `[v6]:port`, or (with a default port) just `host`.
pub fn authority(text: &str, default_port: Option<u16>) -> Result<(String, u16), Malformed> {
    let bad = || Malformed(format!("{text:?} is not host:port"));
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(bad()),
        };
        (host, port)
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let port = match port {
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(bad)?,
        None => default_port.ok_or_else(bad)?,
    };
    let host = normalize_host(host).ok_or_else(bad)?;
    Ok((host, port))
}

/// A host name or IP literal, lower-case without a trailing dot; None if invalid.
pub fn normalize_host(host: &str) -> Option<String> {
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Some(host);
    }
    let labels_ok = host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    // A numeric last label (`1.2.3`, `0x7f.1`) is an IPv4 address in disguise.
    let numeric = host
        .rsplit('.')
        .next()
        .is_some_and(|last| last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x"));
    (labels_ok && !numeric && !host.is_empty() && host.len() <= 253).then_some(host)
}

/// The password of a `Basic` credential.
fn basic_password(value: &str) -> Option<String> {
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = decode_base64(encoded.trim())?;
    let text = String::from_utf8(decoded).ok()?;
    let (_, password) = text.split_once(':')?;
    Some(password.to_string())
}

/// Standard base64 (padding optional).
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in text.trim_end_matches('=').bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> ProxyRequest {
        parse(text.as_bytes()).unwrap().unwrap().0
    }

    #[test]
    fn connect_with_a_credential() {
        // "warden:tok123"
        let req = parsed(
            "CONNECT Example.COM:443 HTTP/1.1\r\nHost: example.com:443\r\n\
             Proxy-Authorization: Basic d2FyZGVuOnRvazEyMw==\r\nUser-Agent: curl/8.1\r\n\r\n",
        );
        assert_eq!(
            req,
            ProxyRequest {
                kind: RequestKind::Connect,
                host: "example.com".into(),
                port: 443,
                credential: Some("tok123".into()),
                user_agent: Some("curl/8.1".into()),
            }
        );
        assert_eq!(parsed("CONNECT [::1]:8443 HTTP/1.1\r\n\r\n").host, "::1");
    }

    #[test]
    fn absolute_form_is_rewritten_for_the_origin() {
        let req = parsed(
            "GET http://api.example.com:8080/v1/x?q=1 HTTP/1.1\r\nHost: evil.example\r\n\
             Proxy-Authorization: Basic d2FyZGVuOnQ=\r\nProxy-Connection: keep-alive\r\n\
             Accept: */*\r\n\r\n",
        );
        assert_eq!((req.host.as_str(), req.port), ("api.example.com", 8080));
        let RequestKind::Forward { head } = req.kind else {
            panic!("forward")
        };
        assert_eq!(
            String::from_utf8(head).unwrap(),
            "GET /v1/x?q=1 HTTP/1.1\r\nHost: api.example.com:8080\r\nAccept: */*\r\n\
             Connection: close\r\n\r\n"
        );
        let query_only = parsed("GET http://h.example?x HTTP/1.1\r\n\r\n");
        let RequestKind::Forward { head } = query_only.kind else {
            panic!("forward")
        };
        assert!(head.starts_with(b"GET /?x HTTP/1.1\r\nHost: h.example\r\n"));
    }

    #[test]
    fn partial_heads_wait_and_bad_ones_are_malformed() {
        assert_eq!(parse(b"CONNECT example.com:443 HTTP/1.1\r\n"), Ok(None));
        for bad in [
            "GET /relative HTTP/1.1\r\n\r\n",
            "GET https://example.com/ HTTP/1.1\r\n\r\n",
            "CONNECT example.com HTTP/1.1\r\n\r\n",
            "CONNECT example.com:0 HTTP/1.1\r\n\r\n",
            "CONNECT exa mple.com:443 HTTP/1.1\r\n\r\n",
            "CONNECT -bad-.com:443 HTTP/1.1\r\n\r\n",
            "GET http://user:pw@example.com/ HTTP/1.1\r\n\r\n",
            "CONNECT a.com:443 HTTP/1.1\r\nProxy-Authorization: Bearer x\r\n\r\n",
            "\x16\x03\x01garbage\r\n\r\n",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        let huge = vec![b'a'; MAX_HEAD];
        assert!(parse(&huge).is_err());
    }

    proptest::proptest! {
        /// The parser never panics, and whatever it accepts has a valid host and port.
        #[test]
        fn fuzz_request_parser(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
                               prefix in proptest::sample::select(vec!["", "CONNECT ", "GET http://", "POST http://a.b:1/"])) {
            let mut input = prefix.as_bytes().to_vec();
            input.extend(&bytes);
            if let Ok(Some((req, len))) = parse(&input) {
                proptest::prop_assert!(len <= input.len());
                proptest::prop_assert!(req.port != 0);
                proptest::prop_assert!(normalize_host(&req.host).as_deref() == Some(req.host.as_str()));
            }
        }
    }
}
