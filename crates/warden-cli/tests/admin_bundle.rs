//! `warden admin keygen` and `warden admin sign` as an admin runs them, and the bundle they
//! make fetched and verified by Warden's own bundle loader over real HTTPS (a local server
//! with a test CA the machine's store is extended with, `SSL_CERT_FILE`; so this binary
//! holds this one test). A requirements file with a mistake is refused by line and key,
//! and nothing is signed; an existing key is never overwritten.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use warden_policy::requirements::{BundleConfig, verify_bundle};

const WARDEN: &str = env!("CARGO_BIN_EXE_warden");

fn admin(args: &[&str]) -> Output {
    Command::new(WARDEN)
        .arg("admin")
        .args(args)
        .output()
        .unwrap()
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn a_bundle_signed_by_the_cli_is_fetched_and_verified_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("bundle-signing.key");
    let key_arg = key.display().to_string();

    let made = admin(&["keygen", "--out", &key_arg]);
    assert!(made.status.success(), "{}", said(&made));
    let printed = said(&made);
    let public = printed
        .lines()
        .find_map(|l| l.strip_prefix("public key: "))
        .unwrap()
        .to_string();
    assert!(
        printed.contains(&format!("public_key = \"{public}\"")),
        "{printed}"
    );
    assert!(printed.contains("[bundle]"), "{printed}");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the signing key is readable by its owner only");
    // A second keygen never overwrites the key.
    let before = std::fs::read(&key).unwrap();
    let again = admin(&["keygen", "--out", &key_arg]);
    assert!(!again.status.success());
    assert!(
        said(&again).contains("cannot create the signing key"),
        "{}",
        said(&again)
    );
    assert_eq!(std::fs::read(&key).unwrap(), before);

    // Two keys never make the same public key.
    let other = dir.path().join("other.key");
    let made_other = admin(&["keygen", "--out", &other.display().to_string()]);
    assert!(!said(&made_other).contains(&public));

    let served = dir.path().join("served");
    std::fs::create_dir(&served).unwrap();
    let requirements = dir.path().join("requirements.toml");
    let text = "allowed_approval_policies = [\"untrusted\"]\n[network]\ndenied_domains = [\"paste.example.com\"]\n";
    std::fs::write(&requirements, text).unwrap();
    let bundle = served.join("requirements.json");
    let signed = admin(&[
        "sign",
        &requirements.display().to_string(),
        "--key",
        &key_arg,
        "--out",
        &bundle.display().to_string(),
    ]);
    assert!(signed.status.success(), "{}", said(&signed));

    // `admin validate` checks a bundle before it is uploaded: with the public key it
    // verifies the signature, without one it says it did not.
    let bundle_arg = bundle.display().to_string();
    let other_public = said(&made_other)
        .lines()
        .find_map(|l| l.strip_prefix("public key: ").map(str::to_string))
        .unwrap();
    let checked = admin(&["validate", &bundle_arg, "--public-key", &public]);
    assert!(checked.status.success(), "{}", said(&checked));
    assert!(
        said(&checked).contains("signature verified"),
        "{}",
        said(&checked)
    );
    let unchecked = admin(&["validate", &bundle_arg]);
    assert!(unchecked.status.success(), "{}", said(&unchecked));
    assert!(
        said(&unchecked).contains("signature NOT checked"),
        "{}",
        said(&unchecked)
    );
    let wrong_key = admin(&["validate", &bundle_arg, "--public-key", &other_public]);
    assert!(!wrong_key.status.success());
    assert!(
        said(&wrong_key).contains("does not verify"),
        "{}",
        said(&wrong_key)
    );
    let tampered = dir.path().join("tampered.json");
    let original = std::fs::read_to_string(&bundle).unwrap();
    std::fs::write(&tampered, original.replace("untrusted", "never")).unwrap();
    let edited = admin(&[
        "validate",
        &tampered.display().to_string(),
        "--public-key",
        &public,
    ]);
    assert!(!edited.status.success());
    assert!(
        said(&edited).contains("does not verify"),
        "{}",
        said(&edited)
    );

    // A requirements file with a mistake: refused by line and key, nothing signed.
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        "allowed_approval_policies = [\"untrusted\"]\nallowed_sandbox_mode = 3\n",
    )
    .unwrap();
    let refused = admin(&["sign", &broken.display().to_string(), "--key", &key_arg]);
    assert!(!refused.status.success());
    let why = said(&refused);
    assert!(
        why.contains("broken.toml") && why.contains("allowed_sandbox_mode"),
        "{why}"
    );
    assert!(!why.contains("\"signature\""), "{why}");
    // A file that is not a key is refused by name.
    let not_key = admin(&[
        "sign",
        &requirements.display().to_string(),
        "--key",
        &requirements.display().to_string(),
    ]);
    assert!(!not_key.status.success());
    assert!(
        said(&not_key).contains("not a signing key"),
        "{}",
        said(&not_key)
    );

    warden_testkit::tls::certificates(dir.path());
    let server = warden_testkit::tls::HttpsServer::start(&served, dir.path());
    let port = &server.port;
    // SAFETY: this test binary runs this one test; nothing else reads the environment.
    unsafe { std::env::set_var("SSL_CERT_FILE", dir.path().join("ca.pem")) };
    let config = BundleConfig {
        url: format!("https://127.0.0.1:{port}/requirements.json"),
        public_key: public.clone(),
    };
    let cache = dir.path().join("cache/requirements-bundle.json");
    warden_agent::bundle::refresh(&config, &cache)
        .await
        .unwrap();
    let fetched = std::fs::read(&cache).unwrap();
    let file = verify_bundle(&config, &fetched).unwrap();
    assert_eq!(
        file.allowed_approval_policies.as_deref().map(<[_]>::len),
        Some(1)
    );

    // The other key's public key does not verify this bundle.
    let wrong = BundleConfig {
        public_key: other_public,
        ..config
    };
    let error = verify_bundle(&wrong, &fetched).unwrap_err().to_string();
    assert!(error.contains("does not verify"), "{error}");
}
