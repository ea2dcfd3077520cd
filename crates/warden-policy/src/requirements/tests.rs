use std::os::unix::fs::PermissionsExt;

use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use warden_protocol::{PolicySource, SandboxMode};

use super::*;

fn source(name: &str) -> PolicySource {
    PolicySource::Requirement { path: name.into() }
}

fn combined(files: &[(&str, &str)]) -> Result<Requirements, PolicyError> {
    let mut req = Requirements::default();
    for (name, text) in files {
        req.add(parse_requirements(name, text)?, source(name))?;
    }
    Ok(req)
}

#[test]
fn sources_combine_to_the_most_restrictive() {
    let req = combined(&[
        (
            "a.toml",
            "allowed_sandbox_modes = [\"read-only\", \"workspace-write\"]\n[network]\ndenied_domains = [\"pastebin.com\"]\nallowed_domains = [\"*.example.com\", \"github.com\"]\n",
        ),
        (
            "b.toml",
            "allowed_sandbox_modes = [\"workspace-write\", \"full-access\"]\nallow_auto_review = false\n[network]\nallowed_domains = [\"github.com\"]\n",
        ),
    ])
    .unwrap();
    let modes = req.sandbox_modes.clone().unwrap();
    assert_eq!(modes.value, vec![SandboxMode::WorkspaceWrite]);
    assert_eq!(req.auto_review_forbidden, Some(source("b.toml")));
    assert_eq!(req.host_verdict("github.com", 443), None);
    assert_eq!(
        req.host_verdict("api.example.com", 443),
        Some(("not-allowed", &source("b.toml")))
    );
    assert_eq!(
        req.host_verdict("pastebin.com", 443),
        Some(("denied", &source("a.toml")))
    );
}

#[test]
fn contradictions_name_both_sources() {
    let error = combined(&[
        ("a.toml", "allowed_approval_policies = [\"untrusted\"]\n"),
        ("b.toml", "allowed_approval_policies = [\"never\"]\n"),
    ])
    .unwrap_err()
    .to_string();
    assert!(error.contains("admin requirement a.toml"), "{error}");
    assert!(error.contains("admin requirement b.toml"), "{error}");
    let error = combined(&[
        (
            "a.toml",
            "[telemetry]\notlp_endpoint = \"https://one:4318\"\n",
        ),
        (
            "b.toml",
            "[telemetry]\notlp_endpoint = \"https://two:4318\"\n",
        ),
    ])
    .unwrap_err()
    .to_string();
    assert!(error.contains("telemetry.otlp_endpoint"), "{error}");
    assert!(
        error.contains("a.toml") && error.contains("b.toml"),
        "{error}"
    );
}

#[test]
fn bad_files_say_where() {
    let cases = [
        ("allowed_sandbox_modes = [\"sometimes\"]\n", "line 1"),
        ("colour = 1\n", "colour"),
        (
            "[[prefix_rules]]\npattern = [\"rm\"]\ndecision = \"forbidden\"\n\
             [[prefix_rules]]\npattern = [\"git\"]\ndecision = \"allow\"\n",
            "line 6, key `prefix_rules.1.decision`: decision \"allow\" is not allowed in \
             requirements; use \"prompt\" or \"forbidden\" (requirements may only add restrictions)",
        ),
        (
            "[[prefix_rules]]\npattern = []\ndecision = \"prompt\"\n",
            "line 2, key `prefix_rules.0.pattern`",
        ),
        (
            "# fleet\n[telemetry]\nendpoint = \"x\"\n",
            "line 3, key `telemetry.endpoint`: not a telemetry setting",
        ),
        ("[audit]\nkeep = 3\n", "line 2, key `audit.keep`"),
        (
            "[network]\ndenied_domains = [\n  \"ok.example\",\n  \"*\",\n]\n",
            "line 4, key `network.denied_domains.1`:",
        ),
        ("[network]\nallowed_domains = [\"*\"]\n", "every host"),
        (
            "[model.headers]\nOpenAI-Project = \"p\"\n\"Bad Header\" = \"x\"\n",
            "line 3, key `model.headers.Bad Header`: \"Bad Header\" is not an HTTP header name",
        ),
        (
            "[model.headers]\nX-Team = \"a\\nInjected: 1\"\n",
            "line 2, key `model.headers.X-Team`: the value of header \"X-Team\" holds '\\n'",
        ),
        (
            "[model]\ncredentials = \"oauth\"\n[model.oauth]\nissuer = \"http://login.corp.example\"\n",
            "line 4, key `model.oauth.issuer`: \"http://login.corp.example\" needs https://",
        ),
        (
            "[model.oauth]\nissuer = 5\n",
            "line 2, key `model.oauth.issuer`: expected a string",
        ),
        (
            "[model.oauth]\nscopes = \"a b\"\n",
            "line 2, key `model.oauth.scopes`: expected a list",
        ),
        (
            "[model.oauth]\nscopes = [\"llm.use\", \"llm.use admin\"]\n",
            "line 2, key `model.oauth.scopes`: \"llm.use admin\" is not one OAuth scope",
        ),
    ];
    for (text, expected) in cases {
        let error = parse_requirements("/etc/warden/requirements.toml", text)
            .unwrap_err()
            .to_string();
        assert!(error.contains("/etc/warden/requirements.toml"), "{error}");
        assert!(error.contains(expected), "{text}: {error}");
    }
}

#[test]
fn untrusted_system_files_are_ignored_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir(root.join("requirements.d")).unwrap();
    std::fs::write(
        root.join("requirements.toml"),
        "allow_auto_review = false\n",
    )
    .unwrap();
    let writable = root.join("requirements.d/10-open.toml");
    std::fs::write(&writable, "allowed_sandbox_modes = [\"read-only\"]\n").unwrap();
    std::fs::set_permissions(&writable, std::fs::Permissions::from_mode(0o666)).unwrap();
    let foreign = root.join("requirements.d/20-user.toml");
    std::fs::write(&foreign, "allowed_approval_policies = [\"never\"]\n").unwrap();
    std::os::unix::fs::chown(&foreign, Some(65534), Some(65534)).unwrap();

    let (files, warnings) = load_system_dir(root).unwrap();
    // The temp folder's ancestors are root-owned here (tests run as root).
    assert_eq!(files.len(), 1, "{warnings:?}");
    assert_eq!(files[0].0.allow_auto_review, Some(false));
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("10-open.toml") && warnings[0].contains("writable by group or others")
    );
    assert!(warnings[1].contains("20-user.toml") && warnings[1].contains("not root"));
}

#[test]
fn a_signed_bundle_applies_and_a_bad_signature_never_does() {
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let b64 = base64::engine::general_purpose::STANDARD;
    let config = BundleConfig {
        url: "https://policy.example.com/warden.json".into(),
        public_key: b64.encode(key.verifying_key().as_bytes()),
    };
    let text = "allowed_approval_policies = [\"untrusted\"]\n";
    let body = |text: &str, signed: &str| {
        serde_json::to_vec(&SignedBundle {
            requirements: text.into(),
            signature: b64.encode(key.sign(signed.as_bytes()).to_bytes()),
        })
        .unwrap()
    };
    let file = verify_bundle(&config, &body(text, text)).unwrap();
    assert_eq!(file.allowed_approval_policies.unwrap().len(), 1);
    let tampered = body("allowed_approval_policies = [\"never\"]\n", text);
    let error = verify_bundle(&config, &tampered).unwrap_err().to_string();
    assert!(error.contains("does not verify"), "{error}");
    let other = SigningKey::from_bytes(&[9u8; 32]);
    let forged = serde_json::to_vec(&SignedBundle {
        requirements: text.into(),
        signature: b64.encode(other.sign(text.as_bytes()).to_bytes()),
    })
    .unwrap();
    assert!(verify_bundle(&config, &forged).is_err());
    for (url, ok) in [
        ("http://policy.example.com/x", false),
        ("http://127.0.0.1.policy.example.com/x", false),
        ("http://localhost.evil.example/x", false),
        ("https://policy.example.com/x", true),
        ("http://127.0.0.1:8443/x", true),
    ] {
        let bundle = BundleConfig {
            url: url.into(),
            ..config.clone()
        };
        assert_eq!(bundle.check_url().is_ok(), ok, "{url}");
    }
}

#[test]
fn managed_preferences_plists_are_read_in_xml_and_binary() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/dev.warden.Warden.plist"
    );
    let bytes = std::fs::read(fixture).unwrap();
    let prefs = mdm::parse_plist(fixture, &bytes).unwrap();
    let text = prefs.requirements_toml.unwrap();
    assert!(text.contains("allowed_sandbox_modes"), "{text}");
    assert_eq!(prefs.config_toml, None);

    let value = plist::Value::from_reader(std::io::Cursor::new(&bytes)).unwrap();
    let mut binary = Vec::new();
    value.to_writer_binary(&mut binary).unwrap();
    assert!(binary.starts_with(b"bplist00"));
    let again = mdm::parse_plist("binary", &binary).unwrap();
    assert_eq!(again.requirements_toml.as_deref(), Some(text.as_str()));
}

#[test]
fn a_profile_round_trips_and_snapshots() {
    let requirements = "allowed_sandbox_modes = [\"workspace-write\"]\n";
    let config = "approval = \"on-request\"\n";
    let xml = mdm::profile(requirements, Some(config)).unwrap();
    let prefs = mdm::parse_plist("profile", xml.as_bytes()).unwrap();
    assert_eq!(prefs.requirements_toml.as_deref(), Some(requirements));
    assert_eq!(prefs.config_toml.as_deref(), Some(config));
    let expected = include_str!("../../tests/fixtures/profile.mobileconfig");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/profile.mobileconfig"
            ),
            &xml,
        )
        .unwrap();
    } else {
        assert_eq!(
            xml, expected,
            "rerun with UPDATE_SNAPSHOTS=1 to accept a change"
        );
    }
    assert!(mdm::parse_plist("junk", b"not a plist").is_err());
}
