//! Requirements on model access and MCP servers, each refused from every layer a person
//! controls (user config, a trusted project's config, a session flag) with both sources
//! named, and held where nobody chose otherwise.

use warden_protocol::PolicySource;

use super::tests::World;
use super::*;
use crate::config::McpApproval;

/// Where a person can set something, and how it is written there.
#[derive(Clone, Copy, Debug)]
enum Layer {
    User,
    Project,
    Flag,
}

const LAYERS: [Layer; 3] = [Layer::User, Layer::Project, Layer::Flag];

/// Resolve with `key = value` (TOML) set in `layer`, and `requirements` in /etc.
fn resolve_with(
    w: &World,
    layer: Layer,
    key: &str,
    value: &str,
    requirements: &str,
) -> Result<EffectivePolicy, PolicyError> {
    w.write("etc/requirements.toml", requirements);
    let (table, leaf) = key.rsplit_once('.').unwrap();
    let mut inputs = w.inputs();
    match layer {
        Layer::User => {
            w.trust_project(&format!("[{table}]\n{leaf} = {value}\n"));
            w.write("project/.warden/config.toml", "");
        }
        Layer::Project => {
            w.trust_project("");
            w.write(
                "project/.warden/config.toml",
                &format!("[{table}]\n{leaf} = {value}\n"),
            );
            inputs = w.inputs();
        }
        Layer::Flag => {
            w.trust_project("");
            w.write("project/.warden/config.toml", "");
            inputs.overrides = vec![format!("{key}={value}")];
        }
    }
    resolve(&inputs)
}

fn refused(result: Result<EffectivePolicy, PolicyError>) -> String {
    match result {
        Ok(_) => panic!("not refused"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_model_endpoint_outside_the_admin_list_is_refused_from_every_layer() {
    let w = World::new();
    let req = "[model]\nallowed_base_urls = [\"https://llm.corp.example/v1\", \"https://gw.corp.example/*\"]\n";
    let etc = w.root.join("etc/requirements.toml").display().to_string();
    for layer in LAYERS {
        for (url, allowed) in [
            ("https://api.openai.com/v1", false),
            ("https://llm.corp.example/v1", true),
            ("https://llm.corp.example/v1/", true),
            ("https://llm.corp.example/v2", false),
            ("https://gw.corp.example/openai/v1", true),
            ("https://gw.corp.example.evil.net/v1", false),
        ] {
            let result = resolve_with(&w, layer, "model.base_url", &format!("\"{url}\""), req);
            // A project may not choose the endpoint at all.
            if matches!(layer, Layer::Project) {
                assert!(refused(result).contains("may not be set by a project"));
                continue;
            }
            if allowed {
                let policy = result.unwrap_or_else(|e| panic!("{layer:?} {url}: {e}"));
                assert_eq!(policy.config.model.base_url, url);
                continue;
            }
            let message = refused(result);
            assert!(message.contains(url), "{layer:?}: {message}");
            assert!(message.contains(&etc), "{layer:?}: {message}");
            let chooser = match layer {
                Layer::User => w.root.join("home/config.toml").display().to_string(),
                _ => "session flag".to_string(),
            };
            assert!(message.contains(&chooser), "{layer:?}: {message}");
        }
    }
    // Nobody chose an endpoint: the admin's first one is used, locked.
    w.write("home/config.toml", "");
    w.write("project/.warden/config.toml", "");
    w.write(
        "etc/requirements.toml",
        "[model]\nallowed_base_urls = [\"https://llm.corp.example/v1\"]\n",
    );
    let policy = resolve(&w.inputs()).unwrap();
    assert_eq!(policy.config.model.base_url, "https://llm.corp.example/v1");
    let value = policy
        .values
        .iter()
        .find(|v| v.key == "model.base_url")
        .unwrap();
    assert_eq!(
        value.locked_by,
        Some(PolicySource::Requirement { path: etc.clone() })
    );
    // The reviewer's own endpoint is held to the same list.
    let message = refused(resolve_with(
        &w,
        Layer::User,
        "auto_review.model.base_url",
        "\"https://api.openai.com/v1\"",
        "[model]\nallowed_base_urls = [\"https://llm.corp.example/v1\"]\n",
    ));
    assert!(message.contains("auto_review.model.base_url"), "{message}");
}

#[test]
fn locked_headers_and_credential_source_cannot_be_changed_from_any_layer() {
    let w = World::new();
    let req = "[model]\ncredentials = \"keyring\"\n[model.headers]\nOpenAI-Organization = \"org-corp\"\nOpenAI-Project = \"proj_42\"\n";
    let etc = w.root.join("etc/requirements.toml").display().to_string();
    for layer in LAYERS {
        // Unset: the locked values are the config.
        let policy = resolve_with(&w, layer, "shell.timeout_ms", "1000", req).unwrap();
        assert_eq!(
            policy.config.model.headers["OpenAI-Organization"],
            "org-corp"
        );
        assert_eq!(policy.config.model.headers["OpenAI-Project"], "proj_42");
        assert_eq!(
            policy.config.model.credentials,
            crate::config::ModelCredentials::Keyring
        );
        for (key, value) in [
            ("model.headers.OpenAI-Organization", "\"org-personal\""),
            ("model.credentials", "\"any\""),
        ] {
            let result = resolve_with(&w, layer, key, value, req);
            let message = refused(result);
            assert!(
                message.contains(key) || message.contains("model"),
                "{layer:?} {key}: {message}"
            );
            if !matches!(layer, Layer::Project) {
                assert!(message.contains(&etc), "{layer:?} {key}: {message}");
            }
        }
        // The same value as the lock is no conflict.
        let same = resolve_with(&w, layer, "model.credentials", "\"keyring\"", req);
        if !matches!(layer, Layer::Project) {
            same.unwrap();
        }
    }
}

#[test]
fn forced_oauth_pins_the_issuer() {
    let w = World::new();
    let req = "[model]\ncredentials = \"oauth\"\n[model.oauth]\nissuer = \"https://login.corp.example\"\nclient_id = \"warden\"\n";
    let etc = w.root.join("etc/requirements.toml").display().to_string();
    let policy = resolve_with(&w, Layer::User, "shell.timeout_ms", "1000", req).unwrap();
    assert_eq!(
        policy.config.model.credentials,
        crate::config::ModelCredentials::Oauth
    );
    assert_eq!(
        policy.config.model.oauth.issuer.as_deref(),
        Some("https://login.corp.example")
    );
    for layer in [Layer::User, Layer::Flag] {
        let message = refused(resolve_with(
            &w,
            layer,
            "model.oauth.issuer",
            "\"https://evil.example\"",
            req,
        ));
        assert!(
            message.contains("model.oauth.issuer") && message.contains(&etc),
            "{message}"
        );
    }
    let message = refused(resolve_with(
        &w,
        Layer::User,
        "shell.timeout_ms",
        "1",
        "[model.oauth]\nnonsense = 1\n",
    ));
    assert!(
        message.contains("not a model OAuth setting") && message.contains("line 2"),
        "{message}"
    );
}

#[test]
fn remote_servers_need_https_and_the_admin_url_list() {
    let w = World::new();
    let etc = w.root.join("etc/requirements.toml").display().to_string();
    let req = "allowed_mcp_urls = [\"https://mcp.corp.example/*\"]\n";
    for layer in LAYERS {
        for (url, ok) in [
            ("https://mcp.corp.example/docs/mcp", true),
            ("https://mcp.corp.example.evil.net/mcp", false),
            ("https://elsewhere.example/mcp", false),
        ] {
            let result = resolve_with(
                &w,
                layer,
                "mcp_servers.docs.url",
                &format!("\"{url}\""),
                req,
            );
            if ok {
                let policy = result.unwrap_or_else(|e| panic!("{layer:?} {url}: {e}"));
                assert_eq!(policy.config.mcp_servers["docs"].url.as_deref(), Some(url));
            } else {
                let message = refused(result);
                assert!(
                    message.contains("MCP server `docs`") && message.contains(&etc),
                    "{layer:?}: {message}"
                );
            }
        }
    }
    for (url, why) in [
        ("http://mcp.example.com/mcp", "needs https://"),
        ("ftp://mcp.example.com/mcp", "needs https://"),
        ("not a url", "relative URL"),
    ] {
        let message = refused(resolve_with(
            &w,
            Layer::User,
            "mcp_servers.docs.url",
            &format!("\"{url}\""),
            "",
        ));
        assert!(message.contains(why), "{url}: {message}");
    }
    // Loopback may be plain http (a server on this machine).
    resolve_with(
        &w,
        Layer::User,
        "mcp_servers.docs.url",
        "\"http://127.0.0.1:8000/mcp\"",
        "",
    )
    .unwrap();
    // Neither or both of command and url.
    w.trust_project("[mcp_servers.docs]\napproval = \"ask\"\n");
    w.write("etc/requirements.toml", "");
    assert!(refused(resolve(&w.inputs())).contains("needs `command`"));
    w.trust_project("[mcp_servers.docs]\ncommand = \"x\"\nurl = \"https://a.example/mcp\"\n");
    assert!(refused(resolve(&w.inputs())).contains("not both"));
}

#[test]
fn pinned_tool_approvals_hold_against_every_layer() {
    let w = World::new();
    let etc = w.root.join("etc/requirements.toml").display().to_string();
    let req = "[mcp_servers.docs.tools.delete_all]\napproval = \"deny\"\n[mcp_servers.docs.tools.search]\napproval = \"allow\"\n";
    let server = "[mcp_servers.docs]\ncommand = \"docs\"\napproval = \"ask\"\n";
    // Unset by the person: the pins decide, and name the requirement.
    w.write("etc/requirements.toml", req);
    w.trust_project(server);
    w.write("project/.warden/config.toml", "");
    let policy = resolve(&w.inputs()).unwrap();
    let docs = &policy.config.mcp_servers["docs"];
    assert_eq!(
        docs.tool_approval("docs", "delete_all").0,
        McpApproval::Deny
    );
    assert_eq!(docs.tool_approval("docs", "search").0, McpApproval::Allow);
    assert_eq!(
        docs.tool_approval("docs", "other"),
        (McpApproval::Ask, "mcp_servers.docs.approval".into())
    );
    let pin = policy
        .values
        .iter()
        .find(|v| v.key == "mcp_servers.docs.tools.delete_all.approval")
        .unwrap();
    assert_eq!(pin.source, PolicySource::Requirement { path: etc.clone() });
    // Loosening a pin from the user's file or a flag is refused, naming the requirement.
    for (how, text, overrides) in [
        (
            "user",
            format!("{server}[mcp_servers.docs.tools.delete_all]\napproval = \"ask\"\n"),
            vec![],
        ),
        (
            "flag",
            server.to_string(),
            vec!["mcp_servers.docs.tools.delete_all.approval=\"allow\"".to_string()],
        ),
    ] {
        w.trust_project(&text);
        let mut inputs = w.inputs();
        inputs.overrides = overrides;
        let message = refused(resolve(&inputs));
        assert!(
            message.contains("mcp_servers.docs.tools.delete_all.approval")
                && message.contains(&etc),
            "{how}: {message}"
        );
    }
    // A pin for a server nobody configured adds nothing.
    w.trust_project("");
    let policy = resolve(&w.inputs()).unwrap();
    assert!(policy.config.mcp_servers.is_empty());
    // Two sources pinning one tool differently cannot both hold.
    w.trust_project(server);
    let mut inputs = w.inputs();
    let other = w.write(
        "other-requirements.toml",
        "[mcp_servers.docs.tools.search]\napproval = \"ask\"\n",
    );
    inputs.extra_requirements = vec![other];
    assert!(refused(resolve(&inputs)).contains("contradictory"));
}

/// Headers and sign-in URLs go on the wire: a header name that is not an HTTP token, a
/// value with a line break, or an identity provider over plain http to another machine
/// is refused where it is written (user config, a flag, requirements), naming the key.
#[test]
fn wire_settings_are_checked_where_they_are_written() {
    let w = World::new();
    let etc = w.root.join("etc/requirements.toml").display().to_string();
    let bad_headers = [
        ("\"Bad Header\"", "\"x\"", "not an HTTP header name"),
        ("\"X-Team\"", "\"a\\nb\"", "control characters"),
        ("\"X-Team\"", "\"a\\rInjected: 1\"", "control characters"),
        ("\"a:b\"", "\"x\"", "not an HTTP header name"),
    ];
    for table in ["model.headers", "telemetry.otlp_headers"] {
        for (name, value, why) in bad_headers {
            for layer in [Layer::User, Layer::Flag] {
                // `-c` splits its key at dots and takes the parts as they are.
                let name = match layer {
                    Layer::Flag => name.trim_matches('"'),
                    _ => name,
                };
                let key = format!("{table}.{name}");
                let message = refused(resolve_with(&w, layer, &key, value, ""));
                assert!(
                    message.contains(why) && message.contains(table),
                    "{layer:?} {key}: {message}"
                );
            }
        }
        resolve_with(
            &w,
            Layer::User,
            &format!("{table}.OpenAI-Project"),
            "\"proj_42\"",
            "",
        )
        .unwrap();
    }
    for (name, value, why) in bad_headers {
        let message = refused_by(&w, &format!("[model.headers]\n{name} = {value}\n"));
        assert!(
            message.contains(why) && message.contains("line 2") && message.contains(&etc),
            "{name}: {message}"
        );
    }
    for issuer in [
        "http://login.corp.example",
        "http://10.0.0.1/realm",
        "ftp://x",
    ] {
        for layer in [Layer::User, Layer::Flag] {
            let message = refused(resolve_with(
                &w,
                layer,
                "model.oauth.issuer",
                &format!("\"{issuer}\""),
                "",
            ));
            assert!(
                message.contains("needs https://") && message.contains("model.oauth.issuer"),
                "{layer:?} {issuer}: {message}"
            );
        }
        let message = refused_by(&w, &format!("[model.oauth]\nissuer = \"{issuer}\"\n"));
        assert!(
            message.contains("needs https://") && message.contains("line 2"),
            "{issuer}: {message}"
        );
    }
    for key in ["model.oauth.scopes", "mcp_servers.docs.oauth.scopes"] {
        for layer in [Layer::User, Layer::Flag] {
            let message = refused(resolve_with(&w, layer, key, "[\"read write\"]", ""));
            assert!(
                message.contains("is not one OAuth scope") && message.contains(key),
                "{layer:?} {key}: {message}"
            );
        }
    }
    let message = refused_by(&w, "[model.oauth]\nissuer = 5\n");
    assert!(message.contains("expected a string"), "{message}");
    let policy = resolve_with(
        &w,
        Layer::User,
        "model.oauth.issuer",
        "\"http://127.0.0.1:9000\"",
        "",
    )
    .unwrap();
    assert_eq!(
        policy.config.model.oauth.issuer.as_deref(),
        Some("http://127.0.0.1:9000")
    );
}

/// What resolving with only these `requirements` (and a harmless user setting) says.
fn refused_by(w: &World, requirements: &str) -> String {
    refused(resolve_with(
        w,
        Layer::User,
        "shell.timeout_ms",
        "1000",
        requirements,
    ))
}
