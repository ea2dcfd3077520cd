//! Seals: a store-wide chain over commits. Each commit of events (by any Warden process)
//! appends one seal naming the event ids it wrote and, for every session it touched, that
//! session's new head (last seq and the start of its link); each retention run appends one
//! naming what it removed and a digest of every anchor left. A seal's hash covers the one
//! before it, so a cut at the end of a session shows as a sealed head with no event, and a
//! cut at the end of the store as a seal chain shorter than its witness (witness.rs).

use sha2::{Digest, Sha256};

use crate::chain::hex;

/// Characters of a link kept in a seal's heads: 64 bits, enough that a forged event cannot
/// be made to match, and short enough that a commit of one event costs few bytes.
pub(crate) const HEAD_HASH_CHARS: usize = 16;

/// One row of the `seals` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seal {
    pub id: u64,
    pub sealed_at: i64,
    /// Event ids the commit wrote (none for a retention run).
    pub events: Option<(i64, i64)>,
    pub body: String,
    pub hash: String,
}

/// The hash before the first seal.
pub(crate) fn genesis() -> String {
    hex(&Sha256::digest(b"warden-audit-seals-v1"))
}

/// The hash of a seal after `previous`: SHA-256 over a compact JSON array of every field.
pub(crate) fn seal_hash(
    previous: &str,
    id: u64,
    sealed_at: i64,
    events: Option<(i64, i64)>,
    body: &str,
) -> String {
    let (first, last) = events.map_or((None, None), |(a, b)| (Some(a), Some(b)));
    let fields = (previous, id, sealed_at, first, last, body);
    let json = serde_json::to_vec(&fields).unwrap_or_default();
    hex(&Sha256::digest(json))
}

/// The body of an events seal: `SESSION:SEQ:LINK16` for each session touched, sorted by
/// session, separated by spaces.
pub(crate) fn heads_body<'a>(heads: impl Iterator<Item = (&'a str, u64, &'a str)>) -> String {
    let mut heads: Vec<_> = heads.collect();
    heads.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut body = String::with_capacity(heads.len() * 60);
    for (session, seq, hash) in heads {
        if !body.is_empty() {
            body.push(' ');
        }
        body.push_str(session);
        body.push(':');
        body.push_str(&seq.to_string());
        body.push(':');
        body.push_str(&hash[..hash.len().min(HEAD_HASH_CHARS)]);
    }
    body
}

/// One session's head as an events seal names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SealedHead {
    pub session_id: String,
    pub seq: u64,
    pub hash16: String,
}

/// The heads of an events seal's body; None when the body is not in that form.
pub(crate) fn parse_heads(body: &str) -> Option<Vec<SealedHead>> {
    body.split(' ')
        .filter(|part| !part.is_empty())
        .map(|part| {
            // Session ids may hold ':' in principle; the seq and hash are the last two fields.
            let mut fields = part.rsplitn(3, ':');
            let hash16 = fields.next()?.to_string();
            let seq = fields.next()?.parse().ok()?;
            let session_id = fields.next()?.to_string();
            Some(SealedHead {
                session_id,
                seq,
                hash16,
            })
        })
        .collect()
}

/// What a retention run's seal says: the run, the prefix of seals it leaves removed (the
/// last removed seal and its hash; 0 and genesis when none ever were) and a digest of every
/// anchor in the store after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RetentionSeal {
    pub run: i64,
    pub through: u64,
    pub through_hash: String,
    pub anchors: String,
}

impl RetentionSeal {
    pub(crate) fn body(&self) -> String {
        format!(
            "retention run={} through={}:{} anchors={}",
            self.run, self.through, self.through_hash, self.anchors
        )
    }

    pub(crate) fn parse(body: &str) -> Option<Self> {
        let rest = body.strip_prefix("retention ")?;
        let mut run = None;
        let mut through = None;
        let mut anchors = None;
        for field in rest.split(' ') {
            let (key, value) = field.split_once('=')?;
            match key {
                "run" => run = value.parse().ok(),
                "through" => {
                    let (id, hash) = value.split_once(':')?;
                    through = Some((id.parse().ok()?, hash.to_string()));
                }
                "anchors" => anchors = Some(value.to_string()),
                _ => return None,
            }
        }
        let (through, through_hash) = through?;
        Some(Self {
            run: run?,
            through,
            through_hash,
            anchors: anchors?,
        })
    }
}

/// A digest of anchors `(session, seq, hash, turn)`, in any order.
pub(crate) fn anchors_digest<'a>(
    anchors: impl Iterator<Item = (&'a str, u64, &'a str, Option<u64>)>,
) -> String {
    let mut lines: Vec<String> = anchors
        .map(|(session, seq, hash, turn)| {
            let turn = turn.map_or("-".to_string(), |t| t.to_string());
            format!("{session}\t{seq}\t{hash}\t{turn}\n")
        })
        .collect();
    lines.sort_unstable();
    let mut hasher = Sha256::new();
    for line in &lines {
        hasher.update(line.as_bytes());
    }
    hex(&hasher.finalize())
}

/// The last seal: its id and hash (or 0 and genesis); after a retention run removed every
/// seal, the one that run says it removed last.
pub(crate) const LAST_SEAL: &str = "SELECT id, hash FROM seals ORDER BY id DESC LIMIT 1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_round_trip_sorted_and_shortened() {
        let long = "a".repeat(64);
        let body = heads_body([("s-2", 7, long.as_str()), ("s:1", 3, "0123")].into_iter());
        assert_eq!(body, format!("s-2:7:{} s:1:3:0123", "a".repeat(16)));
        let heads = parse_heads(&body).unwrap();
        assert_eq!(heads[1].session_id, "s:1");
        assert_eq!((heads[0].seq, heads[1].seq), (7, 3));
        assert_eq!(parse_heads(""), Some(Vec::new()));
        assert_eq!(parse_heads("nonsense"), None);
    }

    #[test]
    fn retention_bodies_round_trip_and_anchor_digests_ignore_order() {
        let seal = RetentionSeal {
            run: 4,
            through: 12,
            through_hash: "ab".into(),
            anchors: anchors_digest([("a", 1, "h", Some(0)), ("b", 2, "i", None)].into_iter()),
        };
        assert_eq!(RetentionSeal::parse(&seal.body()), Some(seal.clone()));
        assert_eq!(
            seal.anchors,
            anchors_digest([("b", 2, "i", None), ("a", 1, "h", Some(0))].into_iter())
        );
        assert_ne!(
            seal.anchors,
            anchors_digest([("b", 2, "i", None), ("a", 1, "h", Some(1))].into_iter())
        );
        assert_eq!(RetentionSeal::parse("a:1:ff"), None);
    }

    #[test]
    fn a_seal_hash_covers_every_field() {
        let base = seal_hash("p", 1, 5, Some((1, 3)), "s:3:ff");
        assert_ne!(base, seal_hash("q", 1, 5, Some((1, 3)), "s:3:ff"));
        assert_ne!(base, seal_hash("p", 2, 5, Some((1, 3)), "s:3:ff"));
        assert_ne!(base, seal_hash("p", 1, 6, Some((1, 3)), "s:3:ff"));
        assert_ne!(base, seal_hash("p", 1, 5, Some((1, 4)), "s:3:ff"));
        assert_ne!(base, seal_hash("p", 1, 5, None, "s:3:ff"));
        assert_ne!(base, seal_hash("p", 1, 5, Some((1, 3)), "s:3:fe"));
    }
}
