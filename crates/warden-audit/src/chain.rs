//! The hash chain. Each event links to the one before it in its session:
//! `hash = sha256(previous hash || record bytes)`, starting from a per-session genesis.
//! Editing, removing or reordering a recorded event breaks every later link.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One event exactly as stored: the unit the chain covers and the export format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredRecord {
    pub session_id: String,
    pub seq: u64,
    pub created_at: i64,
    pub kind: String,
    pub actor: String,
    pub event_id: String,
    /// The event's JSON, as stored (already redacted).
    pub payload: String,
    /// The chain link; absent on rows recorded before the chain existed.
    pub hash: Option<String>,
    /// The turn: the user prompts in the session up to and including this event (0 before
    /// the first). Not part of the link, as the order of the events it follows from is:
    /// the verifier recounts it. Absent in exports from before turns were stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u64>,
}

/// Where a session's chain resumes after retention removed its first events: the last
/// removed event's seq, link and turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Anchor {
    pub seq: u64,
    pub hash: String,
    /// Absent on anchors left before turns were stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u64>,
}

/// The turn `record` belongs to, after an event in turn `previous`: a user prompt opens
/// the next one.
pub fn next_turn(previous: u64, kind: &str) -> u64 {
    previous + u64::from(kind == "userPrompt")
}

/// Where and why the chain first fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub session_id: String,
    pub seq: u64,
    pub reason: String,
}

impl Break {
    /// A break in the store as a whole (its seals or witness), not in one session.
    pub fn store(reason: impl Into<String>) -> Self {
        Self {
            session_id: String::new(),
            seq: 0,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.session_id.is_empty() {
            return f.write_str(&self.reason);
        }
        write!(
            f,
            "session {} event {}: {}",
            self.session_id, self.seq, self.reason
        )
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The link before a session's first event.
pub fn genesis(session_id: &str) -> String {
    hex(&Sha256::digest(
        format!("warden-audit-chain-v1:{session_id}").as_bytes(),
    ))
}

/// The link for `record` after `previous`. Covers every stored field but the hash itself,
/// in a fixed, unambiguous encoding (a JSON array).
pub fn link(previous: &str, record: &StoredRecord) -> String {
    let fields = (
        &record.session_id,
        record.seq,
        record.created_at,
        &record.kind,
        &record.actor,
        &record.event_id,
        &record.payload,
    );
    // The bytes are gathered first and hashed in one go: serde_json writes a string in
    // pieces (between escapes, quotes, commas), and hashing each piece as it came cost
    // more than the hash itself.
    thread_local! {
        static BYTES: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BYTES.with_borrow_mut(|bytes| {
        bytes.clear();
        bytes.extend_from_slice(previous.as_bytes());
        // Serializing plain strings and integers into memory cannot fail.
        let _ = serde_json::to_writer(&mut *bytes, &fields);
        hex(&Sha256::digest(bytes.as_slice()))
    })
}

/// Checks records in order: each session's by seq (sessions may interleave, as they do in
/// id order).
#[derive(Debug, Default)]
pub struct Verifier {
    /// Where sessions trimmed by retention resume.
    anchors: std::collections::HashMap<String, Anchor>,
    chains: std::collections::HashMap<String, ChainState>,
    pub events: u64,
    pub sessions: u64,
    /// Rows recorded before the chain existed.
    pub unchained: u64,
}

/// Where one session's chain stands.
#[derive(Debug)]
struct ChainState {
    next_seq: u64,
    previous: String,
    /// The turn of the previous event, when known.
    turn: Option<u64>,
    /// A chained event was seen: no unchained one may follow.
    chained: bool,
    last_kind: String,
}

impl Verifier {
    /// A verifier that resumes trimmed sessions from their retention anchors.
    pub fn with_anchors(anchors: std::collections::HashMap<String, Anchor>) -> Self {
        Self {
            anchors,
            ..Self::default()
        }
    }

    pub fn check(&mut self, record: &StoredRecord) -> Result<(), Break> {
        let broken = |reason: String| Break {
            session_id: record.session_id.clone(),
            seq: record.seq,
            reason,
        };
        let anchors = &self.anchors;
        let sessions = &mut self.sessions;
        let state = self
            .chains
            .entry(record.session_id.clone())
            .or_insert_with(|| {
                *sessions += 1;
                let (next_seq, previous, turn) = match anchors.get(&record.session_id) {
                    Some(a) => (a.seq + 1, a.hash.clone(), a.turn),
                    None => (1, genesis(&record.session_id), Some(0)),
                };
                ChainState {
                    next_seq,
                    previous,
                    turn,
                    chained: false,
                    last_kind: String::new(),
                }
            });
        if record.seq != state.next_seq {
            return Err(broken(format!(
                "expected event {} next, found {} (events missing or out of order)",
                state.next_seq, record.seq
            )));
        }
        state.next_seq += 1;
        self.events += 1;
        match &record.hash {
            None if state.chained => {
                return Err(broken(
                    "it has no hash, but earlier events of the session are chained (its hash was cleared outside Warden)".into(),
                ));
            }
            None => self.unchained += 1,
            Some(stored) => {
                let expected = link(&state.previous, record);
                if *stored != expected {
                    return Err(broken(
                        "the record does not match its hash (altered, or an earlier link was)"
                            .into(),
                    ));
                }
                state.previous = expected;
                state.chained = true;
            }
        }
        state.last_kind.clone_from(&record.kind);
        check_turn(state, record).map_err(broken)
    }

    /// The last event seen of a session: its seq and kind.
    pub fn last(&self, session_id: &str) -> Option<(u64, &str)> {
        self.chains
            .get(session_id)
            .map(|s| (s.next_seq - 1, s.last_kind.as_str()))
    }

    /// The anchor a session resumes from, if retention trimmed it.
    pub fn anchor(&self, session_id: &str) -> Option<&Anchor> {
        self.anchors.get(session_id)
    }
}

/// The stored turn must be what the prompts before it make it.
fn check_turn(state: &mut ChainState, record: &StoredRecord) -> Result<(), String> {
    let Some(turn) = record.turn else {
        state.turn = None;
        return Ok(());
    };
    let expected = state.turn.map(|previous| next_turn(previous, &record.kind));
    state.turn = Some(turn);
    match expected {
        Some(expected) if expected != turn => Err(format!(
            "its turn is {turn} but the prompts before it make it {expected} (edited outside Warden)"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64, payload: &str, previous: &str) -> StoredRecord {
        let mut r = StoredRecord {
            session_id: "s".into(),
            seq,
            created_at: 1,
            kind: "userPrompt".into(),
            actor: "user".into(),
            event_id: format!("e{seq}"),
            payload: payload.into(),
            hash: None,
            turn: None,
        };
        r.hash = Some(link(previous, &r));
        r
    }

    fn chain(n: u64) -> Vec<StoredRecord> {
        let mut previous = genesis("s");
        (1..=n)
            .map(|seq| {
                let r = record(seq, &format!("{{\"n\":{seq}}}"), &previous);
                previous = r.hash.clone().unwrap();
                r
            })
            .collect()
    }

    fn verify(records: &[StoredRecord]) -> Result<u64, Break> {
        let mut v = Verifier::default();
        for r in records {
            v.check(r)?;
        }
        Ok(v.events)
    }

    /// The encoding is what stored chains were built with: it must never drift. The
    /// expected values come from Python's hashlib and json (compact, UTF-8).
    #[test]
    fn links_are_sha256_of_the_previous_link_and_a_compact_json_array() {
        let genesis = genesis("s-1");
        assert_eq!(
            genesis,
            "aebc59decf9e2817db7f6fbac7bc4e374afdb1521e33dac7579c82c5b6c3ba0f"
        );
        let record = StoredRecord {
            session_id: "s-1".into(),
            seq: 1,
            created_at: 1_700_000_000_000,
            kind: "userPrompt".into(),
            actor: "user".into(),
            event_id: "0190-abc".into(),
            payload: r#"{"type":"userPrompt","text":"hi \"there\" é"}"#.into(),
            hash: None,
            turn: None,
        };
        assert_eq!(
            link(&genesis, &record),
            "ce29a623d7b29cdcc2e8598ebbe27a88188014ebd9b66c116146c988e2c604db"
        );
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(5));
    }

    #[test]
    fn an_edit_a_removal_or_a_reorder_is_named() {
        let mut edited = chain(5);
        edited[2].payload = "{\"n\":99}".into();
        assert_eq!(verify(&edited).unwrap_err().seq, 3);

        let mut removed = chain(5);
        removed.remove(1);
        let e = verify(&removed).unwrap_err();
        assert_eq!((e.seq, e.reason.contains("expected event 2")), (3, true));

        let mut swapped = chain(5);
        swapped.swap(3, 4);
        assert_eq!(verify(&swapped).unwrap_err().seq, 5);
    }

    /// Clearing the hash of any event after the first chained one is a break, wherever it
    /// is (the tail included, where no later link would notice).
    #[test]
    fn a_cleared_hash_after_a_chained_event_is_named() {
        for at in 1..5 {
            let mut cleared = chain(5);
            cleared[at].hash = None;
            let e = verify(&cleared).unwrap_err();
            assert_eq!(e.seq, at as u64 + 1, "{e}");
            assert!(e.reason.contains("hash was cleared"), "{e}");
        }
        // A prefix without hashes (rows from before the chain) is not a break here.
        let mut legacy = chain(5);
        legacy[0].hash = None;
        assert!(verify(&legacy[..1]).is_ok());
    }

    #[test]
    fn interleaved_sessions_are_checked_each_on_its_own() {
        let mut other = chain(3);
        for r in &mut other {
            r.session_id = "t".into();
        }
        let mut previous = genesis("t");
        for r in &mut other {
            r.hash = Some(link(&previous, r));
            previous = r.hash.clone().unwrap();
        }
        let mut mixed = Vec::new();
        for (a, b) in chain(3).into_iter().zip(other) {
            mixed.push(a);
            mixed.push(b);
        }
        let mut v = Verifier::default();
        for r in &mixed {
            v.check(r).unwrap();
        }
        assert_eq!((v.events, v.sessions), (6, 2));
        assert_eq!(v.last("t"), Some((3, "userPrompt")));
    }
}
