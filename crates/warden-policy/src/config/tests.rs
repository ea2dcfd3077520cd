use super::*;
use crate::layers::{PolicyInputs, resolve};
use std::path::Path;

/// The configuration a session would get from the user's `config_file` (in a
/// profile folder of its own) and `overrides`, nothing else.
fn load(config_file: &Path, overrides: &[String]) -> Result<Config, PolicyError> {
    let dir = config_file.parent().unwrap_or(Path::new("/"));
    let paths = WardenPaths {
        config_dir: dir.to_path_buf(),
        data_dir: dir.to_path_buf(),
    };
    let empty = tempfile::tempdir().unwrap();
    let mut inputs = PolicyInputs::confined_to(paths, empty.path().to_path_buf());
    inputs.overrides = overrides.to_vec();
    resolve(&inputs).map(|p| p.config)
}

#[test]
fn defaults_then_file_then_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(
        &file,
        "approval = \"on-request\"\n[model]\nname = \"llama3\"\nwire_api = \"chat\"\n",
    )
    .unwrap();
    let config = load(
        &file,
        &[
            "model.base_url=http://127.0.0.1:8080/v1".into(),
            "shell.timeout_ms=5000".into(),
        ],
    )
    .unwrap();
    let defaults = Config::default();
    let expected = Config {
        approval: ApprovalPolicy::OnRequest,
        model: ModelConfig {
            base_url: "http://127.0.0.1:8080/v1".into(),
            name: "llama3".into(),
            wire_api: WireApi::Chat,
            ..ModelConfig::default()
        },
        shell: ShellConfig {
            timeout_ms: 5000,
            ..defaults.shell.clone()
        },
        ..defaults
    };
    assert_eq!(config, expected);
}

#[test]
fn a_bad_file_names_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, "[model]\nname = \"x\"\ncolour = \"blue\"\n").unwrap();
    let message = load(&file, &[]).unwrap_err().to_string();
    assert!(message.contains("config.toml"), "{message}");
    assert!(message.contains("colour"), "{message}");

    std::fs::write(&file, "[model\nname = \"x\"\n").unwrap();
    let message = load(&file, &[]).unwrap_err().to_string();
    assert!(message.contains("line 1"), "{message}");
}

#[test]
fn file_errors_name_the_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    let cases = [
        (
            "sandbox = \"read-only\"\n\n[network]\nmode = \"open\"\n",
            "line 4, key `network.mode`: unknown variant `open`, expected `proxy` or `deny`",
        ),
        (
            "# mine\n[telemetry]\nendpoint = \"http://x\"\n",
            "line 3, key `telemetry.endpoint`: unknown field `endpoint`, expected one of",
        ),
        (
            "[mcp_servers.docs]\ncommand = \"srv\"\nargs = \"--stdio\"\n",
            "line 3, key `mcp_servers.docs.args`: invalid type: string \"--stdio\"",
        ),
    ];
    for (text, expected) in cases {
        std::fs::write(&file, text).unwrap();
        let e = load(&file, &[]).unwrap_err().to_string();
        let expected = format!("{}: {expected}", file.display());
        assert!(e.starts_with(&expected), "{e}\nexpected: {expected}");
    }
}

#[test]
fn overrides_reject_unknown_keys_and_bad_values() {
    let missing = Path::new("/nonexistent/config.toml");
    let e = load(missing, &["model.colour=blue".into()]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "override `-c model.colour=blue`: unknown key `model.colour`"
    );
    let e = load(missing, &["sandbox=sometimes".into()]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "override `-c sandbox=sometimes`: unknown variant `sometimes`, expected one of \
         `read-only`, `workspace-write`, `full-access`"
    );
    // A known key's value is checked when the override is applied, not only at load.
    let mut table = to_table(&Config::default()).unwrap();
    let e = apply_override(&mut table, "network.ask_timeout_secs=soon").unwrap_err();
    assert!(e.to_string().contains("expected u64"), "{e}");
    assert!(load(missing, &["nokey".into()]).is_err());
    // A new entry of a free-form table is refused for its value, an unknown one in a
    // known table still as unknown.
    let e = load(missing, &["model.headers.X-Team=5".into()]).unwrap_err();
    assert!(e.to_string().contains("expected a string"), "{e}");
    let e = load(missing, &["model.oauth.colour=1".into()]).unwrap_err();
    assert!(
        e.to_string().contains("unknown key `model.oauth.colour`"),
        "{e}"
    );
    let e = load(missing, &["mcp_servers.docs.colour=1".into()]).unwrap_err();
    assert!(e.to_string().contains("unknown"), "{e}");
    let optional = load(
        missing,
        &[
            "audit.retention_days=30".into(),
            "telemetry.otlp_endpoint=http://127.0.0.1:4318".into(),
        ],
    )
    .unwrap();
    assert_eq!(optional.audit.retention_days, Some(30));
    assert_eq!(
        optional.telemetry.otlp_endpoint.as_deref(),
        Some("http://127.0.0.1:4318")
    );
}

#[test]
fn save_model_keeps_other_settings() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sub/config.toml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "approval = \"never\"\n").unwrap();
    let model = ModelConfig {
        base_url: "http://x/v1".into(),
        name: "m".into(),
        wire_api: WireApi::Chat,
        ..ModelConfig::default()
    };
    save_model(&file, &model).unwrap();
    let config = load(&file, &[]).unwrap();
    assert_eq!(config.approval, ApprovalPolicy::Never);
    assert_eq!(config.model, model);
}
