//! `model.credentials = "keyring"` locked by an admin: a key in the environment is not
//! used, and the refusal names the requirement. Its own test binary: it sets process
//! environment variables.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::*;
use warden_protocol::WardenApi;
use warden_testkit::{Script, ScriptedModel};

#[tokio::test]
async fn a_key_from_the_environment_is_refused_when_the_keyring_is_required() {
    // A profile of its own (no key in the keyring for it), and a key in the environment.
    let profile = warden_testkit::scratch_dir();
    // SAFETY: this binary's one test; nothing else reads the environment meanwhile.
    unsafe {
        std::env::set_var("WARDEN_HOME", profile.path());
        std::env::set_var("OPENAI_API_KEY", "sk-from-a-dotfile");
    }
    let model = ScriptedModel::start(Script::standard(), None)
        .await
        .unwrap();
    let url = model.base_url.clone();
    let h = harness_with_requirements(
        &url,
        "responses",
        "untrusted",
        model,
        Vec::new(),
        Some("[model]\ncredentials = \"keyring\"\n"),
    )
    .await;
    let refused = h.refused_start().await;
    assert!(
        refused.contains("OPENAI_API_KEY is not used: model.credentials = \"keyring\"")
            && refused.contains("requirements.toml"),
        "{refused}"
    );
    assert!(h.model.requests().is_empty(), "nothing reached the model");
    // Settings (and so the Session view's first-run line) say why, not "no key".
    let settings = h
        .host
        .get_settings(warden_protocol::GetSettingsParams {})
        .await
        .unwrap();
    assert!(
        settings
            .credential_error
            .unwrap_or_default()
            .contains("OPENAI_API_KEY is not used"),
    );
}
