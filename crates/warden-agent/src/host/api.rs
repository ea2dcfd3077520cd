//! The API: each handler turns a call's parameters into a call on the host and its
//! answer into the response. Errors become `ApiError`s by their code (`?`).

use warden_audit::SearchQuery;
use warden_protocol::*;

use super::{Host, HostError};
use crate::now_ms;

impl WardenApi for Host {
    async fn start_session(
        &self,
        params: StartSessionParams,
    ) -> Result<StartSessionResponse, ApiError> {
        let session_id = self.start(params, true).await?;
        Ok(StartSessionResponse { session_id })
    }

    async fn submit_op(&self, params: SubmitOpParams) -> Result<OkResponse, ApiError> {
        self.submit(&params.session_id, params.op)?;
        Ok(OkResponse {})
    }

    async fn list_sessions(
        &self,
        params: ListSessionsParams,
    ) -> Result<ListSessionsResponse, ApiError> {
        let (rows, next_cursor) = self
            .store
            .list_sessions(params.cursor.as_deref(), params.limit.unwrap_or(50))
            .await?;
        let sessions = rows.into_iter().map(|row| self.summary(row)).collect();
        Ok(ListSessionsResponse {
            sessions,
            next_cursor,
        })
    }

    async fn get_timeline(
        &self,
        params: GetTimelineParams,
    ) -> Result<GetTimelineResponse, ApiError> {
        let (events, next_cursor) = self
            .store
            .timeline(
                &params.session_id,
                params.after_seq.unwrap_or(0),
                params.limit.unwrap_or(500),
            )
            .await?;
        Ok(GetTimelineResponse {
            events,
            next_cursor,
        })
    }

    async fn get_settings(&self, _params: GetSettingsParams) -> Result<SettingsResponse, ApiError> {
        Ok(self.settings().await?)
    }

    async fn test_model(&self, params: SaveSettingsParams) -> Result<TestModelResponse, ApiError> {
        Ok(Host::test_model(self, params).await?)
    }

    async fn save_settings(
        &self,
        params: SaveSettingsParams,
    ) -> Result<SettingsResponse, ApiError> {
        Ok(Host::save_settings(self, params).await?)
    }

    async fn search_events(
        &self,
        params: SearchEventsParams,
    ) -> Result<SearchEventsResponse, ApiError> {
        let query = SearchQuery {
            text: params.text.filter(|t| !t.trim().is_empty()),
            session_id: params.session_id.filter(|s| !s.is_empty()),
            kinds: params.kinds,
            actor: params.actor.filter(|a| !a.is_empty()),
            decision: params.decision,
            since: params.since,
            until: params.until,
            before_id: params.cursor,
            limit: params.limit.unwrap_or(200),
        };
        let (hits, next_cursor) = self.store.search(&query).await?;
        let hits = hits
            .into_iter()
            .map(|h| AuditHit {
                id: h.id,
                event: h.event,
            })
            .collect();
        Ok(SearchEventsResponse { hits, next_cursor })
    }

    async fn verify_audit(
        &self,
        _params: VerifyAuditParams,
    ) -> Result<VerifyAuditResponse, ApiError> {
        let report = self.store.verify().await?;
        Ok(VerifyAuditResponse {
            intact: report.broken.is_none(),
            sessions: report.sessions,
            events: report.events,
            unchained: report.unchained,
            summary: report.to_string(),
            notes: report.notes.clone(),
            broken_at: report.broken.map(|b| ChainBreak {
                session_id: b.session_id,
                seq: b.seq,
                reason: b.reason,
            }),
        })
    }

    async fn export_session(
        &self,
        params: ExportSessionParams,
    ) -> Result<ExportSessionResponse, ApiError> {
        Ok(self.export(&params.session_id).await?)
    }

    async fn get_policy(&self, params: GetPolicyParams) -> Result<GetPolicyResponse, ApiError> {
        Ok(self.policy_view(params)?)
    }

    async fn save_auto_review(
        &self,
        params: SaveAutoReviewParams,
    ) -> Result<SettingsResponse, ApiError> {
        Ok(Host::save_auto_review(self, params).await?)
    }

    async fn review_action(
        &self,
        params: ReviewActionParams,
    ) -> Result<ReviewActionResponse, ApiError> {
        Ok(Host::review_action(self, params).await?)
    }

    async fn triage(&self, params: TriageParams) -> Result<TriageResponse, ApiError> {
        Ok(Host::triage(self, params).await?)
    }

    async fn save_triage(&self, params: SaveTriageParams) -> Result<SettingsResponse, ApiError> {
        Ok(Host::save_triage(self, params).await?)
    }

    async fn insights(&self, params: InsightsParams) -> Result<InsightsResponse, ApiError> {
        Ok(Host::insights(self, params).await?)
    }

    async fn list_credentials(
        &self,
        _params: ListCredentialsParams,
    ) -> Result<ListCredentialsResponse, ApiError> {
        Ok(Host::credentials(self).await?)
    }

    async fn sign_in(&self, params: CredentialParams) -> Result<SignInResponse, ApiError> {
        Ok(Host::sign_in(self, &params.target).await?)
    }

    async fn sign_out(&self, params: CredentialParams) -> Result<CredentialState, ApiError> {
        Ok(Host::sign_out(self, &params.target).await?)
    }

    async fn apply_suggestion(
        &self,
        params: ApplySuggestionParams,
    ) -> Result<ApplySuggestionResponse, ApiError> {
        Ok(Host::apply_suggestion(self, params).await?)
    }

    async fn check_command(
        &self,
        params: CheckCommandParams,
    ) -> Result<CheckCommandResponse, ApiError> {
        Ok(Host::check_command(self, params)?)
    }

    async fn trust_project_policy(
        &self,
        params: TrustProjectPolicyParams,
    ) -> Result<GetPolicyResponse, ApiError> {
        Ok(Host::trust_project_policy(self, params)?)
    }
}

impl Host {
    /// Export one session under the data folder's `exports/`.
    async fn export(&self, session_id: &str) -> Result<ExportSessionResponse, HostError> {
        let dir = self.paths.data_dir.join("exports");
        std::fs::create_dir_all(&dir).map_err(HostError::ExportFailed)?;
        let safe: String = session_id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let path = dir.join(format!("{safe}-{}.jsonl", now_ms()));
        let file = std::fs::File::create(&path).map_err(HostError::ExportFailed)?;
        let mut out = std::io::BufWriter::new(file);
        let events = self.store.export_session(session_id, &mut out).await?;
        Ok(ExportSessionResponse {
            path: path.display().to_string(),
            events,
        })
    }
}
