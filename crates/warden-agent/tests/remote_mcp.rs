//! A remote MCP server over Streamable HTTP behind a real OAuth authorization server
//! (tests/mcp/oauth_server.py on the official Python SDK), signed in to through a
//! scripted browser, with the grant in the real gnome-keyring (run by scripts/test.sh
//! inside a private D-Bus session with WARDEN_TEST_KEYRING=1; elsewhere it says so and
//! does nothing).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::*;
use warden_agent::oauth::{self, ClientSettings, Target};
use warden_protocol::*;
use warden_testkit::oauth_mcp::{OAuthMcpServer, browse, come_back_with};

fn keyring_available() -> bool {
    if std::env::var_os("WARDEN_TEST_KEYRING").is_none() {
        eprintln!(
            "skipped: set WARDEN_TEST_KEYRING=1 inside a D-Bus session with an unlocked keyring"
        );
        return false;
    }
    true
}

/// The started server's record, and the answer of the call, of one session.
async fn run(h: &mut Harness, task: &str) -> (String, Option<String>, Option<(bool, String)>) {
    let id = h.start(task).await;
    let events = h.until(turn_over).await;
    let started = events.iter().find_map(|m| match m {
        EventMsg::McpServerStarted { server, error, .. } if server == "docs" => Some(error.clone()),
        _ => None,
    });
    let call = events.iter().find_map(|m| match m {
        EventMsg::McpCall {
            is_error, result, ..
        } => Some((*is_error, result.clone())),
        _ => None,
    });
    (id, started.expect("the server's start is recorded"), call)
}

/// The grant as the keyring holds it (the test reads it to search for it elsewhere).
fn stored_grant(url: &str) -> serde_json::Value {
    let entry = keyring::Entry::new("dev.warden.Warden", &format!("oauth:mcp:docs:{url}")).unwrap();
    serde_json::from_str(&entry.get_password().expect("the grant is in the keyring")).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_server_is_signed_in_to_used_renewed_and_asked_for_again_when_revoked() {
    if !keyring_available() {
        return;
    }
    let server = OAuthMcpServer::start(3);
    let config = vec![
        format!("mcp_servers.docs.url=\"{}\"", server.url),
        "mcp_servers.docs.approval=\"allow\"".to_string(),
    ];
    let mut h = harness_configured("untrusted", config).await;
    let locks = h.host.paths().oauth_dir();
    let target = Target::Mcp {
        server: "docs".into(),
        url: server.url.clone(),
    };

    // Not signed in yet: the session goes on without the server, and says how to sign in.
    let (_, error, call) = run(&mut h, "ask the remote server who I am").await;
    let error = error.expect("a server that needs a sign-in is not started");
    assert!(error.contains("warden mcp login docs"), "{error}");
    assert!(call.is_none());
    assert!(
        !oauth::status(&target, locks.clone())
            .await
            .unwrap()
            .signed_in
    );

    // Sign in: discovery, dynamic registration, PKCE through the scripted browser.
    let state = oauth::login(
        &target,
        &ClientSettings::default(),
        locks.clone(),
        browse,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    assert!(state.signed_in);
    assert_eq!(state.account.as_deref(), Some("alice@corp.example"));
    assert_eq!(state.issuer.as_deref(), Some(server.base.as_str()));
    assert_eq!(state.scopes, ["mcp:tools"]);
    assert!(state.refreshable);
    assert!(state.client_id.is_some(), "a registered client");
    assert_eq!(state.store, "OS keyring");
    let stats = server.stats();
    assert_eq!(
        (
            stats["registrations"].as_u64(),
            stats["code_exchanges"].as_u64()
        ),
        (Some(1), Some(1))
    );

    // A session uses it.
    let (used, error, call) = run(&mut h, "ask the remote server who I am").await;
    assert_eq!(error, None);
    assert_eq!(
        call,
        Some((false, "signed in as alice@corp.example".to_string()))
    );
    let first = stored_grant(&server.url);
    let access = first["token_response"]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let refresh = first["token_response"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();

    // The tokens are in the keyring and nowhere in the profile (config, audit database,
    // logs, exports).
    for secret in [&access, &refresh] {
        assert_eq!(
            warden_testkit::files_containing(h.home.path(), secret),
            Vec::<String>::new()
        );
    }
    let recorded = serde_json::to_string(&h.timeline(&used).await).unwrap();
    assert!(!recorded.contains(&access) && !recorded.contains(&refresh));

    // The access token expires: the next session renews it (the rotated refresh token
    // written back to the keyring) and the call works.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (_, error, call) = run(&mut h, "search the remote documents").await;
    assert_eq!(error, None);
    assert_eq!(call, Some((false, "3 documents match warden".to_string())));
    assert_eq!(server.stats()["refreshes"].as_u64(), Some(1));
    let renewed = stored_grant(&server.url);
    assert_ne!(
        renewed["token_response"]["refresh_token"].as_str().unwrap(),
        refresh,
        "rotated"
    );
    assert!(
        oauth::status(&target, locks.clone())
            .await
            .unwrap()
            .signed_in
    );

    // An admin revokes the grant: the next session cannot renew it, asks for a sign-in
    // again, and goes on without the server.
    server.revoke_all();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (_, error, call) = run(&mut h, "ask the remote server who I am").await;
    let error = error.expect("a revoked grant does not start the server");
    assert!(error.contains("warden mcp login docs"), "{error}");
    assert!(call.is_none());

    // Signing out removes the keyring entry.
    assert!(oauth::logout(&target, locks.clone()).await.unwrap());
    assert!(!oauth::status(&target, locks).await.unwrap().signed_in);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_registered_in_advance_signs_in_without_registering() {
    if !keyring_available() {
        return;
    }
    let server = OAuthMcpServer::start(3600);
    let config = vec![
        format!("mcp_servers.docs.url=\"{}\"", server.url),
        "mcp_servers.docs.approval=\"allow\"".to_string(),
        "mcp_servers.docs.oauth.client_id=\"warden-preregistered\"".to_string(),
        "mcp_servers.docs.oauth.scopes=[\"mcp:tools\"]".to_string(),
    ];
    let mut h = harness_configured("untrusted", config).await;
    let state = h.host.sign_in_and_wait("mcp:docs", browse).await.unwrap();
    assert!(state.signed_in);
    assert_eq!(state.client_id.as_deref(), Some("warden-preregistered"));
    assert_eq!(state.scopes, ["mcp:tools"]);
    assert_eq!(server.stats()["registrations"].as_u64(), Some(0));
    let (_, error, call) = run(&mut h, "ask the remote server who I am").await;
    assert_eq!(error, None);
    assert_eq!(
        call,
        Some((false, "signed in as alice@corp.example".to_string()))
    );
    h.host.sign_out("mcp:docs").await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_wanting_more_scopes_gets_them_at_the_next_sign_in() {
    if !keyring_available() {
        return;
    }
    // The server wants mcp:tools and mcp:admin; Warden is configured to ask for mcp:tools.
    let server = OAuthMcpServer::start_requiring(3600, "mcp:tools,mcp:admin");
    let config = vec![
        format!("mcp_servers.docs.url=\"{}\"", server.url),
        "mcp_servers.docs.approval=\"allow\"".to_string(),
        "mcp_servers.docs.oauth.scopes=[\"mcp:tools\"]".to_string(),
    ];
    let mut h = harness_configured("untrusted", config).await;
    let first = h.host.sign_in_and_wait("mcp:docs", browse).await.unwrap();
    assert_eq!(first.scopes, ["mcp:tools"]);

    // The narrow grant is refused with insufficient_scope: the server is not started, the
    // record says a wider sign-in is needed and which scopes.
    let (_, error, call) = run(&mut h, "ask the remote server who I am").await;
    let error = error.expect("a too-narrow grant does not start the server");
    assert!(
        error.contains("needs a wider sign-in") && error.contains("mcp:admin"),
        "{error}"
    );
    assert!(error.contains("warden mcp login docs"), "{error}");
    assert!(call.is_none());

    // The next sign-in asks for the wider scopes; the server then answers.
    let second = h.host.sign_in_and_wait("mcp:docs", browse).await.unwrap();
    let mut scopes = second.scopes.clone();
    scopes.sort();
    assert_eq!(scopes, ["mcp:admin", "mcp:tools"]);
    let (_, error, call) = run(&mut h, "ask the remote server who I am").await;
    assert_eq!(error, None);
    assert_eq!(
        call,
        Some((false, "signed in as alice@corp.example".to_string()))
    );
    h.host.sign_out("mcp:docs").await.unwrap();
}

/// A sign-in that does not complete says why, in Warden and on the browser's page, and
/// stores nothing: the person refuses at the identity provider, or a callback carries a
/// code the server never issued.
#[tokio::test(flavor = "multi_thread")]
async fn a_sign_in_that_fails_says_why_in_warden_and_in_the_browser() {
    if !keyring_available() {
        return;
    }
    let server = OAuthMcpServer::start(3600);
    let config = vec![format!("mcp_servers.docs.url=\"{}\"", server.url)];
    let h = harness_configured("untrusted", config).await;
    for (answer, warden_says) in [
        (
            "error=access_denied&error_description=not+today",
            "the identity provider refused the sign-in: access_denied (not today)",
        ),
        ("code=forged", "the sign-in did not complete"),
    ] {
        let browser = std::sync::Arc::new(std::sync::Mutex::new(None));
        let opened = browser.clone();
        let error = h
            .host
            .sign_in_and_wait("mcp:docs", move |url| {
                *opened.lock().unwrap() = Some(come_back_with(url, answer));
                Ok(())
            })
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(warden_says), "{answer}: {error}");
        let page = browser.lock().unwrap().take().unwrap().join().unwrap();
        assert!(
            page.contains("The sign-in failed") && page.contains(warden_says),
            "{answer}: the browser was told {page}"
        );
        let state = &h.host.credentials().await.unwrap().credentials[0];
        assert!(!state.signed_in, "{answer}");
    }
    assert_eq!(server.stats()["code_exchanges"].as_u64(), Some(0));
    // Each failure is in the audit trail, with its reason.
    let records = h
        .host
        .search_events(SearchEventsParams {
            kinds: vec!["credentialChanged".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let failures: Vec<String> = records
        .hits
        .iter()
        .filter_map(|hit| match &hit.event.msg {
            EventMsg::CredentialChanged { change, credential } => {
                assert_eq!(*change, CredentialChange::SignInFailed);
                assert_eq!(credential.target, "mcp:docs");
                credential.sign_in_error.clone()
            }
            _ => None,
        })
        .collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures.iter().any(|f| f.contains("access_denied")),
        "{failures:?}"
    );
}
