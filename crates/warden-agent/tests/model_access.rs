//! Model access pinned by an admin: allowed endpoints, locked headers on every request,
//! where the credential may come from, and OAuth sign-in with the company's identity
//! provider (tests/mcp/oauth_server.py's authorization server stands in for it; the
//! sign-in test needs the real keyring: WARDEN_TEST_KEYRING=1 in a private D-Bus session).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::*;
use warden_protocol::WardenApi;
use warden_testkit::{Script, ScriptedModel};

#[tokio::test]
async fn locked_headers_go_with_every_model_request() {
    let model = ScriptedModel::start(Script::standard(), None)
        .await
        .unwrap();
    let url = model.base_url.clone();
    let requirements =
        "[model.headers]\nOpenAI-Organization = \"org-corp\"\nX-Gateway-Team = \"platform\"\n";
    let mut h = harness_with_requirements(
        &url,
        "responses",
        "untrusted",
        model,
        Vec::new(),
        Some(requirements),
    )
    .await;
    h.start("list files").await;
    h.until(turn_over).await;
    let seen = h.model.request_headers();
    assert!(seen.len() >= 2, "{seen:?}");
    for headers in &seen {
        assert_eq!(
            headers.get("openai-organization").map(String::as_str),
            Some("org-corp")
        );
        assert_eq!(
            headers.get("x-gateway-team").map(String::as_str),
            Some("platform")
        );
    }
}

/// Settings → Test connection carries the stored credential and the locked headers, so it
/// goes only where a session may: an endpoint outside the admin's list gets nothing.
#[tokio::test]
async fn test_connection_reaches_only_an_allowed_endpoint() {
    let allowed = ScriptedModel::start(Script::standard(), None)
        .await
        .unwrap();
    let personal = ScriptedModel::start(Script::standard(), None)
        .await
        .unwrap();
    let requirements = format!(
        "[model]\nallowed_base_urls = [\"{}\"]\n[model.headers]\nOpenAI-Organization = \"org-corp\"\n",
        allowed.base_url
    );
    let home = warden_testkit::scratch_dir();
    let host = open_host(home.path(), Vec::new(), Some(&requirements))
        .await
        .unwrap();
    let params = |base_url: &str| warden_protocol::SaveSettingsParams {
        base_url: base_url.to_string(),
        model: "scripted".into(),
        wire_api: warden_protocol::WireApi::Responses,
        api_key: Some("sk-typed".into()),
    };
    let refused = host
        .test_model(params(&personal.base_url))
        .await
        .expect_err("refused")
        .to_string();
    assert!(
        refused.contains("is not an allowed model endpoint")
            && refused.contains("requirements.toml")
            && refused.contains("nothing was sent"),
        "{refused}"
    );
    assert!(
        personal.requests().is_empty(),
        "the personal endpoint got a request"
    );
    host.test_model(params(&allowed.base_url)).await.unwrap();
    assert_eq!(
        allowed.request_headers()[0]
            .get("openai-organization")
            .map(String::as_str),
        Some("org-corp")
    );
}

#[tokio::test]
async fn an_endpoint_outside_the_admin_list_does_not_open_naming_both_sources() {
    let requirements = "[model]\nallowed_base_urls = [\"https://llm.corp.example/v1\"]\n";
    let home = warden_testkit::scratch_dir();
    let error = open_host(
        home.path(),
        vec!["model.base_url=\"https://api.openai.com/v1\"".into()],
        Some(requirements),
    )
    .await
    .err()
    .expect("refused");
    assert!(
        error.contains("model.base_url = \"https://api.openai.com/v1\" (from session flag) is not an allowed model endpoint")
            && error.contains("requirements.toml allows https://llm.corp.example/v1"),
        "{error}"
    );
    // Nobody chose one: the admin's endpoint is the one used.
    let host = open_host(home.path(), Vec::new(), Some(requirements))
        .await
        .unwrap();
    assert_eq!(
        host.config().unwrap().model.base_url,
        "https://llm.corp.example/v1"
    );
}

#[tokio::test]
async fn the_oauth_sign_in_is_required_when_forced_and_its_token_is_the_credential() {
    let server = warden_testkit::oauth_mcp::OAuthMcpServer::start(3600);
    let model = ScriptedModel::start(Script::standard(), None)
        .await
        .unwrap();
    let url = model.base_url.clone();
    let requirements = format!(
        "[model]\ncredentials = \"oauth\"\n[model.oauth]\nissuer = \"{}\"\n",
        server.base
    );
    let mut h = harness_with_requirements(
        &url,
        "responses",
        "untrusted",
        model,
        Vec::new(),
        Some(&requirements),
    )
    .await;
    // Not signed in: no session, and the refusal says who forced it and what to do.
    let refused = h.refused_start().await;
    assert!(
        refused.contains("model.credentials = \"oauth\"")
            && refused.contains("requirements.toml")
            && refused.contains("warden model login"),
        "{refused}"
    );
    // The Session view's first-run line says the same (Settings carries it).
    let settings = h
        .host
        .get_settings(warden_protocol::GetSettingsParams {})
        .await
        .unwrap();
    let said = settings.credential_error.unwrap_or_default();
    assert!(
        said.contains("model.credentials = \"oauth\"")
            && said.contains("Settings → Sign-ins → Connect"),
        "{said}"
    );
    if std::env::var_os("WARDEN_TEST_KEYRING").is_none() {
        eprintln!(
            "the sign-in part skipped: set WARDEN_TEST_KEYRING=1 inside a D-Bus session with an unlocked keyring"
        );
        return;
    }
    let state = h
        .host
        .sign_in_and_wait("model", warden_testkit::oauth_mcp::browse)
        .await
        .unwrap();
    assert!(state.signed_in && state.refreshable, "{state:?}");
    assert_eq!(state.issuer.as_deref(), Some(server.base.as_str()));
    let settings = h
        .host
        .get_settings(warden_protocol::GetSettingsParams {})
        .await
        .unwrap();
    assert_eq!(settings.credential_error, None);
    assert_eq!(
        settings.api_key_source,
        warden_protocol::ApiKeySource::Keyring
    );
    h.start("list files").await;
    h.until(turn_over).await;
    let authorization = h.model.request_headers()[0]["authorization"].clone();
    let stored: serde_json::Value = serde_json::from_str(
        &keyring::Entry::new("dev.warden.Warden", &format!("oauth:model:{}", server.base))
            .unwrap()
            .get_password()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        authorization,
        format!(
            "Bearer {}",
            stored["token_response"]["access_token"].as_str().unwrap()
        )
    );
    h.host.sign_out("model").await.unwrap();
}
