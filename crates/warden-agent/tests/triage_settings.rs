//! Settings → Triage: saved into `[triage]` of the user's file (other settings kept),
//! an empty field cleared, a bad value refused without writing anything.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use warden_protocol::*;

#[tokio::test]
async fn triage_settings_are_saved_cleared_and_checked() {
    let home = warden_testkit::scratch_dir();
    let config = home.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("config.toml"), "[shell]\ntimeout_ms = 5000\n").unwrap();
    let paths = warden_policy::config::WardenPaths {
        config_dir: config.clone(),
        data_dir: home.path().join("data"),
    };
    let host = warden_agent::Host::open(paths, Vec::new(), warden_rules::load_rules)
        .await
        .unwrap();
    let before = host
        .get_settings(GetSettingsParams {})
        .await
        .unwrap()
        .triage;
    assert_eq!(
        (
            before.analysis.as_str(),
            before.window_minutes,
            before.timeout_secs
        ),
        ("model", 10, 60)
    );

    let saved = host
        .save_triage(SaveTriageParams {
            analysis: Some("rules".into()),
            base_url: Some("https://llm.corp.example/v1".into()),
            window_minutes: Some(30),
            ..SaveTriageParams::default()
        })
        .await
        .unwrap()
        .triage;
    assert_eq!(saved.analysis, "rules");
    assert_eq!(
        saved.base_url.as_deref(),
        Some("https://llm.corp.example/v1")
    );
    assert_eq!(saved.window_minutes, 30);
    let file = std::fs::read_to_string(config.join("config.toml")).unwrap();
    assert!(file.contains("timeout_ms = 5000"), "{file}");

    let cleared = host
        .save_triage(SaveTriageParams {
            base_url: Some(String::new()),
            ..SaveTriageParams::default()
        })
        .await
        .unwrap()
        .triage;
    assert_eq!(cleared.base_url, None);

    let written = std::fs::read_to_string(config.join("config.toml")).unwrap();
    for bad in [
        SaveTriageParams {
            analysis: Some("guess".into()),
            ..SaveTriageParams::default()
        },
        SaveTriageParams {
            base_url: Some("ftp://x".into()),
            ..SaveTriageParams::default()
        },
        SaveTriageParams {
            window_minutes: Some(0),
            ..SaveTriageParams::default()
        },
    ] {
        let e = host.save_triage(bad).await.unwrap_err();
        assert_eq!(e.code, "settings_invalid", "{}", e.message);
    }
    assert_eq!(
        std::fs::read_to_string(config.join("config.toml")).unwrap(),
        written
    );
}
