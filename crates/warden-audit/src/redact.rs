//! Redaction of secrets before anything is stored or exported. A secret is replaced by a
//! marker that keeps its kind, e.g. `[REDACTED:github-token]`.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Regex, RegexSet};

/// `(kind, pattern)`. Where a pattern has a group named `secret`, only that part is
/// replaced (so `password=` or `https://user:` stay readable).
const PATTERNS: &[(&str, &str)] = &[
    (
        "private-key",
        r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?-----END [A-Z0-9 ]*PRIVATE KEY-----",
    ),
    ("anthropic-key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}"),
    (
        "openai-key",
        r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}",
    ),
    (
        "github-token",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})",
    ),
    ("gitlab-token", r"\bglpat-[A-Za-z0-9_\-]{20,}"),
    ("slack-token", r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"),
    (
        "slack-webhook",
        r"https://hooks\.slack\.com/services/[A-Za-z0-9/]+",
    ),
    (
        "aws-access-key-id",
        r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b",
    ),
    (
        "aws-secret-key",
        r"(?i)aws_secret_access_key\s*[=:]\s*(?P<secret>[A-Za-z0-9/+]{40})",
    ),
    ("google-api-key", r"\bAIza[0-9A-Za-z_\-]{35}"),
    (
        "stripe-key",
        r"\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{20,}",
    ),
    ("twilio-key", r"\bSK[0-9a-f]{32}\b"),
    (
        "sendgrid-key",
        r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}",
    ),
    ("npm-token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("pypi-token", r"\bpypi-[A-Za-z0-9_\-]{50,}"),
    ("huggingface-token", r"\bhf_[A-Za-z0-9]{30,}"),
    ("digitalocean-token", r"\bdo[opr]_v1_[a-f0-9]{64}\b"),
    ("shopify-token", r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b"),
    (
        "azure-storage-key",
        r"(?i)AccountKey=(?P<secret>[A-Za-z0-9+/=]{40,})",
    ),
    (
        "jwt",
        r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    ),
    (
        "bearer-token",
        r"(?i)\bbearer\s+(?P<secret>[A-Za-z0-9_\-.=~+/]{16,})",
    ),
    (
        "basic-auth",
        r"(?i)\bbasic\s+(?P<secret>[A-Za-z0-9+/]{16,}={0,2})",
    ),
    (
        "url-password",
        r#"\b[a-z][a-z0-9+.\-]*://[^\s:/@]+:(?P<secret>[^\s@/"\\]+)@"#,
    ),
    // No leading \b: `DB_PASSWORD=` must match. A value already redacted (`[…`) is left alone.
    (
        "password",
        r#"(?i)(?:password|passwd|secret|api_key|apikey|access_token)\s*[=:]\s*"?(?P<secret>[^\s"',;&\[][^\s"',;&]{5,})"#,
    ),
];

struct Rules {
    set: RegexSet,
    each: Vec<(&'static str, Regex)>,
}

static RULES: LazyLock<Option<Rules>> = LazyLock::new(|| {
    let set = RegexSet::new(PATTERNS.iter().map(|(_, p)| *p)).ok()?;
    let each = PATTERNS
        .iter()
        .map(|(kind, p)| Regex::new(p).ok().map(|r| (*kind, r)))
        .collect::<Option<Vec<_>>>()?;
    Some(Rules { set, each })
});

/// `text` with every secret replaced by `[REDACTED:kind]`. One pass decides whether any
/// rule applies, so clean text costs a single scan, and the cheapest one: whether anything
/// matches at all, not which rules do (that is asked only of text with a secret).
pub fn redact(text: &str) -> Cow<'_, str> {
    let Some(rules) = RULES.as_ref() else {
        // Unreachable with the patterns above (a test compiles them); fail safe anyway.
        return Cow::Owned("[REDACTED:redaction-unavailable]".into());
    };
    if !rules.set.is_match(text) {
        return Cow::Borrowed(text);
    }
    let matched = rules.set.matches(text);
    let mut out = text.to_string();
    for index in matched.iter() {
        let (kind, regex) = &rules.each[index];
        let marker = format!("[REDACTED:{kind}]");
        out = regex
            .replace_all(&out, |caps: &regex::Captures<'_>| {
                match caps.name("secret") {
                    Some(secret) => {
                        let whole = caps.get(0).map_or("", |m| m.as_str());
                        let start = secret.start() - caps.get(0).map_or(0, |m| m.start());
                        format!(
                            "{}{marker}{}",
                            &whole[..start],
                            &whole[start + secret.len()..]
                        )
                    }
                    None => marker.clone(),
                }
            })
            .into_owned();
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        assert!(RULES.is_some());
    }

    /// Real-world formats (made-up values of the right shape).
    #[test]
    fn real_world_secret_formats_are_redacted_by_kind() {
        let cases = [
            (
                "OPENAI_API_KEY=sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
                "OPENAI_API_KEY=[REDACTED:openai-key]",
            ),
            (
                "key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx-yz012345",
                "key [REDACTED:anthropic-key]",
            ),
            (
                "token ghp_0123456789abcdefghijABCDEFGHIJ012345 ok",
                "token [REDACTED:github-token] ok",
            ),
            (
                "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
                "[REDACTED:github-token]",
            ),
            ("glpat-AbCdEfGhIjKlMnOpQrSt", "[REDACTED:gitlab-token]"),
            (
                "xoxb-1234567890-0987654321-AbCdEfGhIjKl",
                "[REDACTED:slack-token]",
            ),
            (
                "post https://hooks.slack.com/services/T000/B000/XXXXXXXX",
                "post [REDACTED:slack-webhook]",
            ),
            ("AKIAIOSFODNN7EXAMPLE", "[REDACTED:aws-access-key-id]"),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "aws_secret_access_key = [REDACTED:aws-secret-key]",
            ),
            (
                "AIzaSyA-0123456789abcdefghijklmnopqrstu",
                "[REDACTED:google-api-key]",
            ),
            ("sk_live_0123456789abcdefghijklmn", "[REDACTED:stripe-key]"),
            (
                "SK0123456789abcdef0123456789abcdef",
                "[REDACTED:twilio-key]",
            ),
            (
                "SG.abcdefghijklmnopqrstuv.ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdef",
                "[REDACTED:sendgrid-key]",
            ),
            (
                "//registry.npmjs.org/:_authToken=npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
                "//registry.npmjs.org/:_authToken=[REDACTED:npm-token]",
            ),
            (
                "pypi-AgEIcHlwaS5vcmcCJDAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMAACKlsz",
                "[REDACTED:pypi-token]",
            ),
            (
                "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345",
                "[REDACTED:huggingface-token]",
            ),
            (
                "dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "[REDACTED:digitalocean-token]",
            ),
            (
                "shpat_0123456789abcdef0123456789abcdef",
                "[REDACTED:shopify-token]",
            ),
            (
                "DefaultEndpointsProtocol=https;AccountKey=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/AbCdEf==;",
                "DefaultEndpointsProtocol=https;AccountKey=[REDACTED:azure-storage-key];",
            ),
            (
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                "[REDACTED:jwt]",
            ),
            (
                "Authorization: Bearer abcdef0123456789ABCDEF",
                "Authorization: Bearer [REDACTED:bearer-token]",
            ),
            (
                "Authorization: Basic dXNlcjpwYXNzd29yZDEyMzQ=",
                "Authorization: Basic [REDACTED:basic-auth]",
            ),
            (
                "git clone https://alice:hunter2hunter2@example.com/repo.git",
                "git clone https://alice:[REDACTED:url-password]@example.com/repo.git",
            ),
            (
                "DB_PASSWORD=correct-horse-battery",
                "DB_PASSWORD=[REDACTED:password]",
            ),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAA\\n-----END OPENSSH PRIVATE KEY-----",
                "[REDACTED:private-key]",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(redact(input), expected, "{input}");
        }
    }

    #[test]
    fn ordinary_text_is_untouched_and_borrowed() {
        for text in [
            "cargo test --workspace",
            "git push origin main",
            "ls -la /home/user/skills",
            "risk-assessment.md",
        ] {
            assert!(matches!(redact(text), Cow::Borrowed(_)), "{text}");
        }
    }
}
