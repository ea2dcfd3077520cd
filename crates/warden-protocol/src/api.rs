//! The API, declared once: `name(Params) -> Response`. The desktop shell and
//! `warden serve` both route through [`dispatch`], so a handler cannot be missing
//! on one adapter, and the TypeScript method map is generated from the same list.
//! Every command's parameter and response types live here with the list, on purpose:
//! the file is the API's one page.

use std::future::Future;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{
    ApiError, ApiKeySource, ApplySuggestionParams, ApplySuggestionResponse, ApprovalPolicy,
    AutoReviewSettings, DecisionOutcome, ErrorCode, Event, InsightsParams, InsightsResponse, Op,
    PolicySource, Reason, ReviewActionParams, ReviewActionResponse, SandboxMode,
    SaveAutoReviewParams, SaveTriageParams, TriageParams, TriageResponse, TriageSettings, Verdict,
    WireApi,
};
use crate::{
    CredentialParams, CredentialState, ListCredentialsParams, ListCredentialsResponse,
    SignInResponse,
};

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StartSessionParams {
    /// The workspace folder; must exist.
    pub cwd: String,
    #[ts(optional)]
    #[serde(default)]
    pub sandbox: Option<SandboxMode>,
    #[ts(optional)]
    #[serde(default)]
    pub approval: Option<ApprovalPolicy>,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StartSessionResponse {
    pub session_id: String,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SubmitOpParams {
    pub session_id: String,
    pub op: Op,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Default)]
pub struct OkResponse {}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListSessionsParams {
    /// Opaque cursor from a previous page.
    #[ts(optional)]
    #[serde(default)]
    pub cursor: Option<String>,
    #[ts(optional)]
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionSummary {
    pub session_id: String,
    pub cwd: String,
    /// The first user prompt, if any.
    pub title: String,
    pub created_at: i64,
    pub ended_at: Option<i64>,
    pub event_count: u64,
    /// True while the session runs in this process.
    pub live: bool,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ListSessionsResponse {
    pub sessions: Vec<SessionSummary>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GetTimelineParams {
    pub session_id: String,
    /// Return events with `seq` greater than this.
    #[ts(optional)]
    #[serde(default)]
    pub after_seq: Option<u64>,
    #[ts(optional)]
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GetTimelineResponse {
    pub events: Vec<Event>,
    /// Pass as `afterSeq` for the next page; absent on the last page.
    pub next_cursor: Option<u64>,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Default)]
pub struct GetSettingsParams {}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SettingsResponse {
    pub base_url: String,
    pub model: String,
    pub wire_api: WireApi,
    pub api_key_source: ApiKeySource,
    /// Why the session model has no credential it may use, when `model.credentials`
    /// says so: a key in the environment refused (`keyring`), no sign-in with the
    /// identity provider yet (`oauth`). Sessions are refused with the same words.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_error: Option<String>,
    pub sandbox: SandboxMode,
    pub approval: ApprovalPolicy,
    pub config_path: String,
    pub audit_db_path: String,
    /// What the OS boundary enforces here, in one line.
    pub sandbox_status: String,
    pub telemetry: TelemetryStatus,
    pub auto_review: AutoReviewSettings,
    pub triage: TriageSettings,
}

/// The OpenTelemetry exporter, as the Settings view shows it.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TelemetryStatus {
    /// False when no collector endpoint is configured.
    pub enabled: bool,
    pub endpoint: String,
    pub protocol: String,
    /// `off`, `starting`, `connected` or `retrying`.
    pub state: String,
    /// Events recorded but not yet acknowledged by the collector.
    pub backlog: u64,
    pub exported: u64,
    pub last_error: Option<String>,
    pub backlog_warning: bool,
    /// Most events that may wait (`telemetry.backlog_cap`; 0: no cap).
    pub backlog_cap: u64,
    /// Events never sent because the backlog passed its cap; they remain in the store.
    pub skipped: u64,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SaveSettingsParams {
    pub base_url: String,
    pub model: String,
    pub wire_api: WireApi,
    /// A new key to store in the OS keyring; absent keeps the current one.
    #[ts(optional)]
    #[serde(default)]
    pub api_key: Option<String>,
}

/// What trying the model settings found: the endpoint answered.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TestModelResponse {
    pub model: String,
    pub latency_ms: u64,
    /// The start of what it answered.
    pub reply: String,
}

/// Search recorded events. All filters are optional and combine.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct SearchEventsParams {
    /// Words that must all appear (prompts, commands, hosts, paths, …).
    #[ts(optional)]
    #[serde(default)]
    pub text: Option<String>,
    #[ts(optional)]
    #[serde(default)]
    pub session_id: Option<String>,
    /// Any of these kinds; empty means all.
    #[serde(default)]
    pub kinds: Vec<String>,
    #[ts(optional)]
    #[serde(default)]
    pub actor: Option<String>,
    /// Only decisions that came to this (policy verdicts, network decisions, answers).
    #[ts(optional)]
    #[serde(default)]
    pub decision: Option<DecisionOutcome>,
    /// From (inclusive), epoch milliseconds.
    #[ts(optional)]
    #[serde(default)]
    pub since: Option<i64>,
    /// Until (exclusive), epoch milliseconds.
    #[ts(optional)]
    #[serde(default)]
    pub until: Option<i64>,
    #[ts(optional)]
    #[serde(default)]
    pub cursor: Option<i64>,
    #[ts(optional)]
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
pub struct AuditHit {
    /// Position in the store (newest is highest).
    pub id: i64,
    pub event: Event,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SearchEventsResponse {
    pub hits: Vec<AuditHit>,
    pub next_cursor: Option<i64>,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Default)]
pub struct VerifyAuditParams {}

/// The first broken link of a hash chain.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChainBreak {
    pub session_id: String,
    pub seq: u64,
    pub reason: String,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VerifyAuditResponse {
    pub intact: bool,
    pub sessions: u64,
    pub events: u64,
    /// Events recorded before the hash chain existed.
    pub unchained: u64,
    pub broken_at: Option<ChainBreak>,
    /// One line, as `warden audit verify` prints it.
    pub summary: String,
    /// Guarantees part of the store lacks (events recorded before an upgrade gave them).
    pub notes: Vec<String>,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExportSessionParams {
    pub session_id: String,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExportSessionResponse {
    /// The JSONL file written (under the data folder's `exports/`).
    pub path: String,
    pub events: u64,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct GetPolicyParams {
    /// A workspace: a trusted project's config and rules apply.
    #[ts(optional)]
    #[serde(default)]
    pub cwd: Option<String>,
}

/// One effective setting, where it came from, and the requirement that locks it.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyValue {
    pub key: String,
    pub value: serde_json::Value,
    pub source: PolicySource,
    #[ts(optional)]
    #[serde(default)]
    pub locked_by: Option<PolicySource>,
}

/// The policy a session runs under, recorded in its `sessionStarted` event: every
/// effective setting with its source and lock, the requirement sources and the rules
/// files read. Secret setting values (collector headers) are replaced by a marker.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct SessionPolicy {
    pub values: Vec<PolicyValue>,
    pub requirement_sources: Vec<PolicySource>,
    pub rule_files: Vec<String>,
    /// Loud problems while loading (an ignored requirements file...).
    pub warnings: Vec<String>,
}

/// One loaded command rule.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyRule {
    pub pattern: String,
    pub decision: Verdict,
    #[ts(optional)]
    #[serde(default)]
    pub justification: Option<String>,
    pub source: PolicySource,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GetPolicyResponse {
    pub values: Vec<PolicyValue>,
    pub requirement_sources: Vec<PolicySource>,
    pub rules: Vec<PolicyRule>,
    pub rule_files: Vec<String>,
    /// Loud problems (an ignored requirements file...).
    pub warnings: Vec<String>,
    /// The trusted project the workspace is in, and whether its `.warden/` policy is as a
    /// person last confirmed it (only then is it applied).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectPolicyStatus>,
}

/// A trusted project's policy files against their last confirmation.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProjectPolicyStatus {
    /// The project's folder.
    pub root: String,
    /// Its `.warden/` files are what a person confirmed (and so are applied).
    pub confirmed: bool,
    /// What changed since (`.warden/config.toml was added`), when not confirmed.
    pub changes: Vec<String>,
    /// When the files as they are were confirmed.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed_at: Option<i64>,
}

/// Confirm a trusted project's `.warden/` policy files as they are now.
#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TrustProjectPolicyParams {
    /// A folder in the project.
    pub cwd: String,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CheckCommandParams {
    /// A command line as typed (it is parsed as a shell script).
    pub command: String,
    #[ts(optional)]
    #[serde(default)]
    pub cwd: Option<String>,
}

#[derive(Serialize, Deserialize, TS, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CheckCommandResponse {
    pub verdict: Verdict,
    pub reasons: Vec<Reason>,
    /// `low` | `medium` | `high` | `critical`.
    pub risk: String,
    pub risk_reasons: Vec<String>,
    /// Every program the command would run, as rules see it.
    pub commands: Vec<Vec<String>>,
    /// What could not be resolved with confidence.
    pub unresolved: Vec<String>,
}

/// Lists every API command once. Call it with a macro that takes the list.
#[macro_export]
macro_rules! for_each_api_command {
    ($m:ident) => {
        $m! {
            start_session(StartSessionParams) -> StartSessionResponse;
            submit_op(SubmitOpParams) -> OkResponse;
            list_sessions(ListSessionsParams) -> ListSessionsResponse;
            get_timeline(GetTimelineParams) -> GetTimelineResponse;
            get_settings(GetSettingsParams) -> SettingsResponse;
            save_settings(SaveSettingsParams) -> SettingsResponse;
            test_model(SaveSettingsParams) -> TestModelResponse;
            search_events(SearchEventsParams) -> SearchEventsResponse;
            verify_audit(VerifyAuditParams) -> VerifyAuditResponse;
            export_session(ExportSessionParams) -> ExportSessionResponse;
            get_policy(GetPolicyParams) -> GetPolicyResponse;
            trust_project_policy(TrustProjectPolicyParams) -> GetPolicyResponse;
            check_command(CheckCommandParams) -> CheckCommandResponse;
            save_auto_review(SaveAutoReviewParams) -> SettingsResponse;
            review_action(ReviewActionParams) -> ReviewActionResponse;
            triage(TriageParams) -> TriageResponse;
            save_triage(SaveTriageParams) -> SettingsResponse;
            insights(InsightsParams) -> InsightsResponse;
            apply_suggestion(ApplySuggestionParams) -> ApplySuggestionResponse;
            list_credentials(ListCredentialsParams) -> ListCredentialsResponse;
            sign_in(CredentialParams) -> SignInResponse;
            sign_out(CredentialParams) -> CredentialState;
        }
    };
}

/// Name the field (`model.baseUrl`) a call's parameters got wrong.
fn bad_params(method: &str, error: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let message = error.inner();
    ApiError::new(
        ErrorCode::BadParams,
        if path == "." {
            format!("invalid parameters for {method}: {message}")
        } else {
            format!("invalid parameters for {method}: `{path}`: {message}")
        },
    )
}

macro_rules! define_api {
    ($($name:ident($params:ty) -> $resp:ty;)*) => {
        /// The core API. Both adapters (Tauri, HTTP) call it through [`dispatch`].
        pub trait WardenApi: Send + Sync {
            $(
                fn $name(&self, params: $params)
                    -> impl Future<Output = Result<$resp, ApiError>> + Send;
            )*
        }

        /// The wire names of every command, in declaration order.
        pub const API_METHODS: &[&str] = &[$(stringify!($name)),*];

        /// Route one call by its wire name: decode params, call, encode the response.
        pub async fn dispatch<A: WardenApi>(
            api: &A,
            method: &str,
            params: serde_json::Value,
        ) -> Result<serde_json::Value, ApiError> {
            match method {
                $(stringify!($name) => {
                    let params: $params = serde_path_to_error::deserialize(params)
                        .map_err(|e| bad_params(method, &e))?;
                    let response = api.$name(params).await?;
                    serde_json::to_value(response)
                        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))
                })*
                other => Err(ApiError::new(ErrorCode::UnknownMethod, format!("no API method named {other:?}"))),
            }
        }

        /// `(method, params type, response type)` for the TypeScript method map.
        pub(crate) fn api_signatures(cfg: &ts_rs::Config) -> Vec<(&'static str, String, String)> {
            vec![$((stringify!($name), <$params as TS>::name(cfg), <$resp as TS>::name(cfg))),*]
        }
    };
}

for_each_api_command!(define_api);
