//! The API key against the real Secret Service (gnome-keyring in a private D-Bus session).
//! `scripts/test.sh` runs the suite that way and sets WARDEN_TEST_KEYRING=1; elsewhere
//! there may be no keyring to talk to, so the test says so and does nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use warden_agent::{load_api_key, store_api_key};
use warden_protocol::ApiKeySource;

#[test]
fn a_stored_key_is_read_back_from_the_os_keyring() {
    if std::env::var_os("WARDEN_TEST_KEYRING").is_none() {
        eprintln!(
            "skipped: set WARDEN_TEST_KEYRING=1 inside a D-Bus session with an unlocked keyring"
        );
        return;
    }
    // Each profile has its own entry; this test is its own profile.
    let home = tempfile::tempdir().unwrap();
    // SAFETY: this test binary runs this one test; nothing else reads the environment concurrently.
    unsafe { std::env::set_var("WARDEN_HOME", home.path()) };
    let key = format!("sk-test-{}", std::process::id());
    store_api_key(&key).unwrap();
    assert_eq!(load_api_key(), (Some(key.clone()), ApiKeySource::Keyring));
    // Nothing was written to a file under the profile.
    let mut files = Vec::new();
    for entry in walk(home.path()) {
        if std::fs::read_to_string(&entry)
            .unwrap_or_default()
            .contains(&key)
        {
            files.push(entry);
        }
    }
    assert!(files.is_empty(), "{files:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
