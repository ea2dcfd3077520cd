//! Rules kept between runs, so a process without the rules language (`warden exec`,
//! `warden proxy`) can use rules files that a process with it (`warden-sessions`, the
//! app) has loaded before, unchanged since: loading Starlark costs ~4 ms the first time
//! in a process, reading an entry well under a tenth of that.
//!
//! One entry per rules file, named by a hash of the file's name and source, holding a
//! SHA-256 over what the rules were made from (this format, Warden's version, the name,
//! the source and the whole text) and the rules. An entry whose digest does not match is
//! ignored (and replaced by the next load), so an edited file is never read from the
//! cache. The folder is in Warden's data folder, which the sandbox keeps read-only for
//! every command it runs, as it does the rules folders (docs/security.md).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use warden_protocol::PolicySource;

use super::{NetworkRule, PrefixRule, RuleSet};

/// Bumped whenever what an entry holds, or what loading a file yields (`warden-rules`),
/// changes: entries made under another format are never used.
const FORMAT: &str = "warden-rules-cache/1";

/// The cache folder.
#[derive(Debug, Clone)]
pub struct RulesCache {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    digest: String,
    prefix: Vec<PrefixRule>,
    network: Vec<NetworkRule>,
    host_executables: Vec<(String, Vec<String>)>,
}

impl RulesCache {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The rules made from exactly this file, if they were kept.
    pub fn get(&self, name: &str, text: &str, source: &PolicySource) -> Option<RuleSet> {
        let bytes = std::fs::read(self.entry_path(name, source)).ok()?;
        let entry: Entry = serde_json::from_slice(&bytes).ok()?;
        if entry.digest != digest(name, text, source) {
            return None;
        }
        let mut set = RuleSet::default();
        for rule in entry.prefix {
            set.push_prefix(rule);
        }
        set.network = entry.network;
        set.host_executables = entry.host_executables.into_iter().collect();
        Some(set)
    }

    /// Keep the rules made from this file. Best effort: a cache that cannot be written
    /// only means the next process without the rules language hands over.
    pub fn put(&self, name: &str, text: &str, source: &PolicySource, rules: &RuleSet) {
        let mut host_executables: Vec<(String, Vec<String>)> = rules
            .host_executables
            .iter()
            .map(|(name, paths)| (name.clone(), paths.clone()))
            .collect();
        host_executables.sort();
        let entry = Entry {
            digest: digest(name, text, source),
            prefix: rules.prefix_rules().to_vec(),
            network: rules.network.clone(),
            host_executables,
        };
        if let Err(e) = self.write(&self.entry_path(name, source), &entry) {
            tracing::debug!(error = %e, dir = %self.dir.display(), "cannot keep compiled rules");
        }
    }

    /// Written to a file of this write's own (process and sequence number) and renamed
    /// over the entry: a reader sees the old entry or the new one, never half of one, and
    /// two writers never share a file.
    fn write(&self, path: &Path, entry: &Entry) -> std::io::Result<()> {
        static WRITES: AtomicU64 = AtomicU64::new(0);
        std::fs::create_dir_all(&self.dir)?;
        let partial = path.with_extension(format!(
            "{}-{}.partial",
            std::process::id(),
            WRITES.fetch_add(1, Ordering::Relaxed)
        ));
        let written = serde_json::to_vec(entry)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&partial, bytes))
            .and_then(|()| std::fs::rename(&partial, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        written
    }

    fn entry_path(&self, name: &str, source: &PolicySource) -> PathBuf {
        let mut hash = Sha256::new();
        hash.update(name.as_bytes());
        hash.update([0]);
        hash.update(source_bytes(source));
        self.dir
            .join(format!("{}.json", hex(&hash.finalize()[..16])))
    }
}

fn digest(name: &str, text: &str, source: &PolicySource) -> String {
    let mut hash = Sha256::new();
    for part in [
        FORMAT.as_bytes(),
        env!("CARGO_PKG_VERSION").as_bytes(),
        name.as_bytes(),
        &source_bytes(source),
        text.as_bytes(),
    ] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    hex(&hash.finalize())
}

fn source_bytes(source: &PolicySource) -> Vec<u8> {
    serde_json::to_vec(source).unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]])
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use warden_protocol::Verdict;

    use super::*;
    use crate::network::HostPattern;
    use crate::rules::HostDecision;
    use crate::shell::analyze_argv;

    fn source() -> PolicySource {
        PolicySource::UserRules {
            path: "/h/rules/default.rules".into(),
        }
    }

    fn rules() -> RuleSet {
        let mut set = RuleSet::default();
        let tokens = [
            vec!["git".to_string()],
            vec!["push".to_string()],
            vec!["--force".to_string(), "-f".to_string()],
        ];
        let rule = PrefixRule::new(
            tokens.to_vec(),
            Verdict::Forbidden,
            Some("no force pushes".into()),
            source().at_line(3),
        );
        set.push_prefix(rule.unwrap());
        set.network.push(NetworkRule {
            host: HostPattern::parse("*.example.com:443").unwrap(),
            protocol: Some("https".into()),
            decision: HostDecision::Ask,
            justification: None,
            source: source().at_line(4),
        });
        set.host_executables
            .insert("git".into(), vec!["/usr/bin/git".into()]);
        set
    }

    fn same(a: &RuleSet, b: &RuleSet) {
        assert_eq!(a.prefix_rules(), b.prefix_rules());
        assert_eq!(a.network, b.network);
        assert_eq!(a.host_executables, b.host_executables);
    }

    #[test]
    fn kept_rules_come_back_the_same_and_still_match() {
        let dir = tempfile::tempdir().unwrap();
        let cache = RulesCache::new(dir.path().join("cache"));
        let name = "/h/rules/default.rules";
        assert!(cache.get(name, "text", &source()).is_none());
        cache.put(name, "text", &source(), &rules());
        let back = cache.get(name, "text", &source()).unwrap();
        same(&back, &rules());
        // The index is rebuilt: the rule matches through the cached set.
        let analysis = analyze_argv(&["git".into(), "push".into(), "-f".into()]);
        assert_eq!(back.matching(&analysis.invocations[0]).len(), 1);
    }

    #[test]
    fn a_changed_text_or_source_or_a_damaged_entry_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let cache = RulesCache::new(dir.path().to_path_buf());
        let name = "/h/rules/default.rules";
        cache.put(name, "text", &source(), &rules());
        assert!(cache.get(name, "text ", &source()).is_none());
        let project = PolicySource::ProjectRules { path: name.into() };
        assert!(cache.get(name, "text", &project).is_none());
        assert!(cache.get("/other.rules", "text", &source()).is_none());
        // One entry per file: the same file loaded again replaces it.
        cache.put(name, "new text", &source(), &RuleSet::default());
        assert!(cache.get(name, "text", &source()).is_none());
        let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(entries.len(), 1);
        let entry = entries[0].as_ref().unwrap().path();
        std::fs::write(&entry, "{not json").unwrap();
        assert!(cache.get(name, "new text", &source()).is_none());
    }
}
