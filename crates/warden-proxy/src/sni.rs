//! The server name a TLS client asks for, read from its ClientHello (which may span
//! several TLS records), so a `CONNECT allowed.example:443` tunnel cannot carry a
//! handshake for another host.

/// What the bytes read so far say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hello {
    /// A complete ClientHello; its `server_name`, if it sent one.
    Complete(Option<String>),
    /// Not a TLS handshake (or a malformed one).
    NotTls,
    /// Read more bytes.
    Incomplete,
}

/// Largest ClientHello accepted (a post-quantum hello is about 2 KiB).
pub const MAX_HELLO: usize = 64 * 1024;

const HANDSHAKE: u8 = 22;
const CLIENT_HELLO: u8 = 1;
const SERVER_NAME: u16 = 0;

/// Parse the start of a TLS stream.
pub fn parse(buf: &[u8]) -> Hello {
    // Reassemble the handshake message from consecutive handshake records.
    let mut message = Vec::new();
    let mut rest = buf;
    loop {
        if rest.len() < 5 {
            return if buf.len() >= MAX_HELLO {
                Hello::NotTls
            } else {
                Hello::Incomplete
            };
        }
        if rest[0] != HANDSHAKE || rest[1] != 3 {
            return Hello::NotTls;
        }
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        if len == 0 || len > 16 * 1024 + 256 {
            return Hello::NotTls;
        }
        if rest.len() < 5 + len {
            return Hello::Incomplete;
        }
        message.extend_from_slice(&rest[5..5 + len]);
        rest = &rest[5 + len..];
        if message.len() >= 4 {
            if message[0] != CLIENT_HELLO {
                return Hello::NotTls;
            }
            let body = u32::from_be_bytes([0, message[1], message[2], message[3]]) as usize;
            if body + 4 > MAX_HELLO {
                return Hello::NotTls;
            }
            if message.len() >= body + 4 {
                return match server_name(&message[4..body + 4]) {
                    Some(name) => Hello::Complete(name),
                    None => Hello::NotTls,
                };
            }
        }
    }
}

/// A cursor that fails instead of panicking.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<usize> {
        self.take(1).map(|b| usize::from(b[0]))
    }

    fn u16(&mut self) -> Option<usize> {
        self.take(2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    }
}

/// The server name in a ClientHello body: Some(None) when it has none, None when the
/// body is malformed.
fn server_name(body: &[u8]) -> Option<Option<String>> {
    let mut r = Reader(body);
    r.take(2 + 32)?; // version, random
    let session = r.u8()?;
    r.take(session)?;
    let suites = r.u16()?;
    r.take(suites)?;
    let compression = r.u8()?;
    r.take(compression)?;
    if r.0.is_empty() {
        return Some(None);
    }
    let total = r.u16()?;
    let mut extensions = Reader(r.take(total)?);
    while !extensions.0.is_empty() {
        let kind = extensions.u16()?;
        let len = extensions.u16()?;
        let data = extensions.take(len)?;
        if kind as u16 != SERVER_NAME {
            continue;
        }
        let mut list = Reader(data);
        let list_len = list.u16()?;
        let mut names = Reader(list.take(list_len)?);
        while !names.0.is_empty() {
            let name_type = names.u8()?;
            let len = names.u16()?;
            let name = names.take(len)?;
            if name_type == 0 {
                let name = std::str::from_utf8(name).ok()?;
                return Some(Some(name.to_ascii_lowercase()));
            }
        }
        return Some(None);
    }
    Some(None)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal ClientHello record for `name` (None: no SNI extension).
    pub(crate) fn client_hello(name: Option<&str>) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend([7u8; 32]);
        body.push(0); // session id
        body.extend([0, 2, 0x13, 0x01]); // one suite
        body.extend([1, 0]); // null compression
        let mut ext = Vec::new();
        if let Some(name) = name {
            let n = name.as_bytes();
            let mut sni = Vec::new();
            sni.extend(((n.len() + 3) as u16).to_be_bytes());
            sni.push(0);
            sni.extend((n.len() as u16).to_be_bytes());
            sni.extend(n);
            ext.extend([0, 0]);
            ext.extend((sni.len() as u16).to_be_bytes());
            ext.extend(sni);
        }
        ext.extend([0, 43, 0, 3, 2, 3, 4]); // supported_versions
        body.extend((ext.len() as u16).to_be_bytes());
        body.extend(ext);
        let mut hs = vec![CLIENT_HELLO];
        hs.extend(&(body.len() as u32).to_be_bytes()[1..]);
        hs.extend(body);
        let mut record = vec![HANDSHAKE, 3, 1];
        record.extend((hs.len() as u16).to_be_bytes());
        record.extend(hs);
        record
    }

    #[test]
    fn reads_the_server_name() {
        let hello = client_hello(Some("API.Example.com"));
        assert_eq!(
            parse(&hello),
            Hello::Complete(Some("api.example.com".into()))
        );
        assert_eq!(parse(&client_hello(None)), Hello::Complete(None));
    }

    #[test]
    fn partial_and_split_hellos() {
        let hello = client_hello(Some("example.com"));
        for cut in 0..hello.len() {
            assert_eq!(parse(&hello[..cut]), Hello::Incomplete, "cut at {cut}");
        }
        // The same handshake split over two records.
        let hs = &hello[5..];
        let (a, b) = hs.split_at(10);
        let mut split = vec![HANDSHAKE, 3, 1];
        split.extend((a.len() as u16).to_be_bytes());
        split.extend(a);
        split.extend([HANDSHAKE, 3, 1]);
        split.extend((b.len() as u16).to_be_bytes());
        split.extend(b);
        assert_eq!(parse(&split), Hello::Complete(Some("example.com".into())));
    }

    #[test]
    fn non_tls_is_recognised() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\n\r\n"), Hello::NotTls);
        let mut hello = client_hello(Some("example.com"));
        hello[5] = 2; // ServerHello type
        assert_eq!(parse(&hello), Hello::NotTls);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = parse(&bytes);
            let mut hello = client_hello(Some("example.com"));
            let n = bytes.len().min(hello.len());
            for (i, b) in bytes.iter().take(n).enumerate() {
                hello[i] ^= b;
            }
            let _ = parse(&hello);
        }
    }
}
