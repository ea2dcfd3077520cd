//! Settings → Test connection: the model settings as typed, tried against the scripted
//! model server before they are saved; a wrong key, a wrong path and an endpoint nobody
//! listens on each come back with their code, and nothing is saved.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use warden_protocol::*;
use warden_testkit::{Script, ScriptedModel};

#[tokio::test]
async fn test_connection_tries_the_typed_settings_and_names_each_failure() {
    let model = ScriptedModel::start(Script::standard(), Some("sk-right".into()))
        .await
        .unwrap();
    let home = warden_testkit::scratch_dir();
    let paths = warden_policy::config::WardenPaths {
        config_dir: home.path().join("config"),
        data_dir: home.path().join("data"),
    };
    let host = warden_agent::Host::open(paths, Vec::new(), warden_rules::load_rules)
        .await
        .unwrap();
    let typed = |base_url: &str, key: &str| SaveSettingsParams {
        base_url: base_url.into(),
        model: "scripted".into(),
        wire_api: WireApi::Responses,
        api_key: Some(key.into()),
    };
    let ok = host
        .test_model(typed(&model.base_url, "sk-right"))
        .await
        .unwrap();
    assert_eq!(ok.model, "scripted");
    assert!(ok.reply.contains("checking the connection"), "{}", ok.reply);

    let wrong_key = host
        .test_model(typed(&model.base_url, "sk-wrong"))
        .await
        .unwrap_err();
    assert_eq!(
        wrong_key.code, "model_unauthorized",
        "{}",
        wrong_key.message
    );
    let nobody = host
        .test_model(typed("http://127.0.0.1:9/v1", "sk-right"))
        .await
        .unwrap_err();
    assert_eq!(nobody.code, "model_unreachable", "{}", nobody.message);
    let not_http = host
        .test_model(typed("ftp://x", "sk-right"))
        .await
        .unwrap_err();
    assert_eq!(not_http.code, "settings_invalid");
    assert!(
        !home.path().join("config/config.toml").exists(),
        "testing saves nothing"
    );
}
