//! Checks for settings that end up on the wire: HTTP header names and values (a name
//! with a space or a value with a line break would make every request fail, or split
//! it), and URLs that carry OAuth tokens (`https://`, or `http://` to this machine only).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// Why `name` cannot be an HTTP header name (RFC 9110 token), if it cannot.
pub fn header_name_problem(name: &str) -> Option<String> {
    let token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() {
        return Some("a header name cannot be empty".into());
    }
    name.chars().find(|c| !token_char(*c)).map(|c| {
        format!(
            "{name:?} is not an HTTP header name ({c:?} is not allowed; use letters, digits and !#$%&'*+-.^_`|~)"
        )
    })
}

/// Why `value` cannot be the value of header `name`, if it cannot: control characters
/// (line breaks above all) are refused; tabs are allowed.
pub fn header_value_problem(name: &str, value: &str) -> Option<String> {
    value
        .chars()
        .find(|c| (c.is_control() && *c != '\t') || *c == '\u{7f}')
        .map(|c| format!("the value of header {name:?} holds {c:?}; control characters (line breaks among them) are not allowed"))
}

/// What is wrong with header `name: value`, if anything: its name, else its value.
pub fn header_problem(name: &str, value: &str) -> Option<String> {
    header_name_problem(name).or_else(|| header_value_problem(name, value))
}

/// The first problem with a map of headers, if any.
pub fn headers_problem(headers: &BTreeMap<String, String>) -> Option<String> {
    headers
        .iter()
        .find_map(|(name, value)| header_problem(name, value))
}

/// Why a URL may not be used in the clear.
enum Unsafe {
    NotAUrl(url::ParseError),
    /// Plain http (or another scheme) to another machine.
    Cleartext,
}

const CLEARTEXT: &str = "needs https:// (http:// only on this machine)";

/// `https://`, or plain `http://` to this machine (127.0.0.1, ::1 or localhost, parsed:
/// `http://127.0.0.1.evil.example` is not this machine).
fn https_or_loopback(url: &str) -> Result<(), Unsafe> {
    let parsed = url::Url::parse(url).map_err(Unsafe::NotAUrl)?;
    let loopback = matches!(
        parsed.host(),
        Some(url::Host::Domain("localhost"))
            | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
            | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
    );
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(Unsafe::Cleartext),
    }
}

/// Why `url` is not `https://` or plain `http://` to this machine, if it is not. Said of
/// the URL: "needs https:// …".
pub fn https_or_loopback_problem(url: &str) -> Option<String> {
    match https_or_loopback(url) {
        Ok(()) => None,
        Err(Unsafe::NotAUrl(e)) => Some(format!("is not a URL ({e})")),
        Err(Unsafe::Cleartext) => Some(CLEARTEXT.into()),
    }
}

/// Why `url` may not carry OAuth tokens, if it may not: as `https_or_loopback_problem`,
/// saying why plain http is refused.
pub fn token_url_problem(url: &str) -> Option<String> {
    match https_or_loopback(url) {
        Err(Unsafe::Cleartext) => Some(format!(
            "{CLEARTEXT}: sign-in tokens must not cross a network in the clear"
        )),
        _ => https_or_loopback_problem(url),
    }
}

/// Why `scope` cannot be an OAuth scope (RFC 6749: one or more printable ASCII
/// characters, no space, `"` or `\\`), if it cannot. Several scopes are separate entries.
pub fn scope_problem(scope: &str) -> Option<String> {
    if scope.is_empty() {
        return Some("a scope cannot be empty".into());
    }
    scope
        .chars()
        .find(|c| !matches!(c, '!' | '#'..='[' | ']'..='~'))
        .map(|c| {
            format!(
                "{scope:?} is not one OAuth scope ({c:?} is not allowed; write several scopes as separate entries)"
            )
        })
}

/// `deserialize_with` for a list of OAuth scopes.
pub(super) fn scopes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let scopes = Vec::<String>::deserialize(deserializer)?;
    match scopes.iter().find_map(|s| scope_problem(s)) {
        Some(problem) => Err(serde::de::Error::custom(problem)),
        None => Ok(scopes),
    }
}

/// `deserialize_with` for a map of headers.
pub(super) fn headers<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let map = BTreeMap::<String, String>::deserialize(deserializer)?;
    match headers_problem(&map) {
        Some(problem) => Err(serde::de::Error::custom(problem)),
        None => Ok(map),
    }
}

/// `deserialize_with` for an optional URL that carries OAuth tokens.
pub(super) fn token_url<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let url = Option::<String>::deserialize(deserializer)?;
    match url.as_deref().and_then(token_url_problem) {
        Some(problem) => Err(serde::de::Error::custom(format!(
            "{:?} {problem}",
            url.unwrap_or_default()
        ))),
        None => Ok(url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `problem` finds nothing in each of `ok` and something in each of `bad`.
    fn sorts(problem: fn(&str) -> Option<String>, ok: &[&str], bad: &[&str]) {
        for text in ok {
            assert_eq!(problem(text), None, "{text:?}");
        }
        for text in bad {
            assert!(problem(text).is_some(), "{text:?}");
        }
    }

    #[test]
    fn names_are_tokens() {
        sorts(
            header_name_problem,
            &[
                "OpenAI-Organization",
                "x-api-key",
                "X_Gateway.Team",
                "a!#$%&'*+-.^_`|~9",
            ],
            &["", "Bad Header", "a:b", "é", "a\nb", "a(b)", "a\"b", "a/b"],
        );
    }

    #[test]
    fn token_urls_are_https_or_loopback() {
        sorts(
            token_url_problem,
            &[
                "https://login.corp.example",
                "https://10.0.0.1:8443/realm",
                "http://127.0.0.1:9000",
                "http://localhost/x",
                "http://[::1]:80",
                "HTTP://LOCALHOST:8080/x",
            ],
            &[
                "http://login.corp.example",
                "http://127.0.0.2",
                "http://127.0.0.1.evil.example/x",
                "http://localhost.evil.example/x",
                "http://127.0.0.1@evil.example/x",
                "http://10.0.0.1",
                "ftp://x",
                "login.corp.example",
                "",
            ],
        );
    }

    #[test]
    fn scopes_are_single_tokens() {
        sorts(
            scope_problem,
            &[
                "mcp:tools",
                "openid",
                "https://graph.example/.default",
                "a!#[]~",
            ],
            &["", "a b", "a\"b", "a\\b", "é", "a\tb"],
        );
    }

    proptest! {
        /// Agrees with the HTTP library that will send the header: what passes here is
        /// accepted by `http`, and a value refused here holds a control character.
        #[test]
        fn agrees_with_the_http_crate(name in "\\PC{0,12}|[ -~]{0,12}", value in "\\PC{0,16}|[\\x00-\\x7f]{0,16}") {
            if header_name_problem(&name).is_none() {
                prop_assert!(http::HeaderName::from_bytes(name.as_bytes()).is_ok(), "{name:?}");
            }
            match header_value_problem("n", &value) {
                None => prop_assert!(http::HeaderValue::from_str(&value).is_ok(), "{value:?}"),
                Some(_) => prop_assert!(value.chars().any(|c| c.is_control())),
            }
        }
    }
}
