//! The admin's signed requirements bundle fetched over real HTTPS from a local server
//! whose certificate comes from a test CA. The CA is trusted the way a machine's store
//! would be extended (`SSL_CERT_FILE`), so this binary holds this one test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use warden_policy::requirements::{BundleConfig, SignedBundle};

#[tokio::test]
async fn a_signed_bundle_is_fetched_over_https_and_a_bad_one_never_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    warden_testkit::tls::certificates(dir.path());
    let served = dir.path().join("served");
    std::fs::create_dir(&served).unwrap();
    let key = SigningKey::from_bytes(&[11u8; 32]);
    let b64 = base64::engine::general_purpose::STANDARD;
    let signed = |text: &str, signed_text: &str| {
        serde_json::to_vec(&SignedBundle {
            requirements: text.into(),
            signature: b64.encode(key.sign(signed_text.as_bytes()).to_bytes()),
        })
        .unwrap()
    };
    let text = "allowed_approval_policies = [\"untrusted\"]\n";
    std::fs::write(served.join("good.json"), signed(text, text)).unwrap();
    std::fs::write(
        served.join("tampered.json"),
        signed("allowed_approval_policies = [\"never\"]\n", text),
    )
    .unwrap();

    let server = warden_testkit::tls::HttpsServer::start(&served, dir.path());
    let port = &server.port;
    let config = |name: &str| BundleConfig {
        url: format!("https://127.0.0.1:{port}/{name}"),
        public_key: b64.encode(key.verifying_key().as_bytes()),
    };
    let cache = dir.path().join("cache/bundle.json");

    // The system's roots do not know the test CA: nothing is fetched or cached.
    let error = warden_agent::bundle::refresh(&config("good.json"), &cache)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("certificate"), "{error}");
    assert!(!cache.exists());

    // Trusted like a machine whose store holds the CA: the bundle verifies and is cached.
    // SAFETY: this test binary runs this one test; nothing else reads the environment.
    unsafe { std::env::set_var("SSL_CERT_FILE", dir.path().join("ca.pem")) };
    warden_agent::bundle::refresh(&config("good.json"), &cache)
        .await
        .unwrap();
    let good = std::fs::read(&cache).unwrap();
    assert_eq!(good, signed(text, text));

    // A tampered bundle or a missing one leaves the last good copy in place.
    let error = warden_agent::bundle::refresh(&config("tampered.json"), &cache)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("does not verify"), "{error}");
    let error = warden_agent::bundle::refresh(&config("missing.json"), &cache)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("404"), "{error}");
    assert_eq!(std::fs::read(&cache).unwrap(), good);
}
