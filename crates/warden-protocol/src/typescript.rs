//! Generates `ui/src/generated/protocol.ts` from the wire types.
//! The committed file is checked by a test; run
//! `UPDATE_BINDINGS=1 cargo test -p warden-protocol` after changing a type.

use ts_rs::{Config, TS};

use crate::*;

/// The TypeScript module: one declaration per wire type plus the API method map.
pub fn render() -> String {
    let cfg = Config::new().with_large_int("number");
    let decls = [
        serde_json::Value::decl(&cfg),
        SandboxMode::decl(&cfg),
        ApprovalPolicy::decl(&cfg),
        Verdict::decl(&cfg),
        DecisionOutcome::decl(&cfg),
        PolicySource::decl(&cfg),
        Reason::decl(&cfg),
        Actor::decl(&cfg),
        ReviewOutcome::decl(&cfg),
        ReviewRisk::decl(&cfg),
        UserAuthorized::decl(&cfg),
        ReviewTier::decl(&cfg),
        ReviewerNote::decl(&cfg),
        Op::decl(&cfg),
        ReviewDecision::decl(&cfg),
        OutputStream::decl(&cfg),
        SandboxDenial::decl(&cfg),
        NetworkAccess::decl(&cfg),
        SessionIdentity::decl(&cfg),
        TriageVerdict::decl(&cfg),
        TriageAnalysis::decl(&cfg),
        AlertSummary::decl(&cfg),
        TriageMatch::decl(&cfg),
        EvidenceRef::decl(&cfg),
        TriageReport::decl(&cfg),
        EventMsg::decl(&cfg),
        Event::decl(&cfg),
        WireApi::decl(&cfg),
        ApiKeySource::decl(&cfg),
        ErrorCode::decl(&cfg),
        ApiError::decl(&cfg),
        StartSessionParams::decl(&cfg),
        StartSessionResponse::decl(&cfg),
        SubmitOpParams::decl(&cfg),
        OkResponse::decl(&cfg),
        ListSessionsParams::decl(&cfg),
        SessionSummary::decl(&cfg),
        ListSessionsResponse::decl(&cfg),
        GetTimelineParams::decl(&cfg),
        GetTimelineResponse::decl(&cfg),
        GetSettingsParams::decl(&cfg),
        TelemetryStatus::decl(&cfg),
        AutoReviewMode::decl(&cfg),
        ReviewSpend::decl(&cfg),
        LockedSetting::decl(&cfg),
        AutoReviewSettings::decl(&cfg),
        TriageSettings::decl(&cfg),
        SaveTriageParams::decl(&cfg),
        SaveAutoReviewParams::decl(&cfg),
        ReviewActionParams::decl(&cfg),
        ReviewActionResponse::decl(&cfg),
        TriageParams::decl(&cfg),
        TriageResponse::decl(&cfg),
        InsightsParams::decl(&cfg),
        Count::decl(&cfg),
        DayCount::decl(&cfg),
        McpCount::decl(&cfg),
        DecisionCount::decl(&cfg),
        HostCount::decl(&cfg),
        DenialCount::decl(&cfg),
        ReviewFigures::decl(&cfg),
        SuggestionKind::decl(&cfg),
        Suggestion::decl(&cfg),
        InsightsResponse::decl(&cfg),
        ApplySuggestionParams::decl(&cfg),
        ApplySuggestionResponse::decl(&cfg),
        SettingsResponse::decl(&cfg),
        SaveSettingsParams::decl(&cfg),
        CredentialState::decl(&cfg),
        CredentialChange::decl(&cfg),
        ListCredentialsParams::decl(&cfg),
        ListCredentialsResponse::decl(&cfg),
        CredentialParams::decl(&cfg),
        SignInResponse::decl(&cfg),
        TestModelResponse::decl(&cfg),
        SearchEventsParams::decl(&cfg),
        AuditHit::decl(&cfg),
        SearchEventsResponse::decl(&cfg),
        VerifyAuditParams::decl(&cfg),
        ChainBreak::decl(&cfg),
        VerifyAuditResponse::decl(&cfg),
        ExportSessionParams::decl(&cfg),
        ExportSessionResponse::decl(&cfg),
        GetPolicyParams::decl(&cfg),
        PolicyValue::decl(&cfg),
        SessionPolicy::decl(&cfg),
        PolicyRule::decl(&cfg),
        ProjectPolicyStatus::decl(&cfg),
        GetPolicyResponse::decl(&cfg),
        TrustProjectPolicyParams::decl(&cfg),
        CheckCommandParams::decl(&cfg),
        CheckCommandResponse::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from crates/warden-protocol by `UPDATE_BINDINGS=1 cargo test -p warden-protocol`.\n// Do not edit by hand.\n\n",
    );
    for decl in decls {
        out.push_str("export ");
        out.push_str(&decl);
        out.push_str("\n\n");
    }
    out.push_str(
        "/** Every API command: its parameters and response. */\nexport type ApiMethods = {\n",
    );
    for (method, params, response) in api_signatures(&cfg) {
        out.push_str(&format!(
            "  {method}: {{ params: {params}; response: {response} }};\n"
        ));
    }
    out.push_str("};\n");
    out
}

/// The error codes as the TypeScript union (`"config_read" | "config_write" | …`).
pub fn error_code_union() -> String {
    let cfg = Config::new().with_large_int("number");
    let decl = ErrorCode::decl(&cfg);
    decl.split_once('=')
        .map(|(_, union)| union.trim().trim_end_matches(';').to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    #[test]
    fn committed_typescript_matches_the_rust_types() {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/generated/protocol.ts");
        let rendered = super::render();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).unwrap_or_default();
            }
            std::fs::write(&path, &rendered).unwrap_or_default();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == rendered,
            "{} is out of date with the Rust wire types; run `UPDATE_BINDINGS=1 cargo test -p warden-protocol` and commit the result",
            path.display()
        );
    }
}
