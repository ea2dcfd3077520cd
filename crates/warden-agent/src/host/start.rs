//! Starting a session: the workspace checked, its effective policy resolved (a trusted
//! project's, session choices and requirements included), the sandbox policy, the model
//! client and the egress scope built, the session recorded and its actor spawned.

use std::path::PathBuf;

use warden_policy::config::{self};
use warden_policy::layers::{self, SessionChoices};
use warden_protocol::{ApiError, SandboxMode, StartSessionParams};

use super::{Host, HostError};
use crate::model::ModelClient;
use crate::now_ms;
use crate::session::{self, SessionSetup};

impl Host {
    /// Start a session. `interactive` says whether anyone can answer approvals.
    pub async fn start(
        &self,
        params: StartSessionParams,
        interactive: bool,
    ) -> Result<String, ApiError> {
        Ok(self.start_session(params, interactive).await?)
    }

    async fn start_session(
        &self,
        params: StartSessionParams,
        interactive: bool,
    ) -> Result<String, HostError> {
        if params.cwd.trim().is_empty() {
            return Err(HostError::WorkspaceMissing(
                "choose a workspace folder first".into(),
            ));
        }
        let cwd = PathBuf::from(&params.cwd)
            .canonicalize()
            .ok()
            .filter(|p| p.is_dir())
            .ok_or_else(|| {
                HostError::WorkspaceMissing(format!(
                    "the workspace folder {} does not exist",
                    params.cwd
                ))
            })?;
        let effective = self.policy(
            Some(&cwd),
            SessionChoices {
                sandbox: params.sandbox,
                approval: params.approval,
            },
        )?;
        let config = effective.config.clone();
        let sandbox = config.sandbox;
        let sandbox_policy = crate::boundary::sandbox_policy(
            sandbox,
            &cwd,
            &config.writable_roots,
            &config.boundary,
            Some(&self.paths),
        )?;
        let (api_key, _) = {
            let effective = effective.clone();
            let locks = self.paths.oauth_dir();
            tokio::task::spawn_blocking(move || {
                crate::model_access::session_credential(&effective, locks)
            })
            .await
            .map_err(HostError::join)??
        };
        let reviewer = {
            let config = config.clone();
            tokio::task::spawn_blocking(move || crate::reviewer::reviewer_for(&config))
                .await
                .map_err(HostError::join)?
        };
        let client = crate::model_access::with_headers(
            ModelClient::new(
                &config.model.base_url,
                &config.model.name,
                config.model.wire_api,
                api_key,
            )?,
            &config,
        );
        let session_id = uuid::Uuid::now_v7().to_string();
        let egress = match &self.egress {
            Some(hub)
                if config.network.mode == config::NetworkMode::Proxy
                    && sandbox != SandboxMode::FullAccess =>
            {
                let scope = warden_proxy::NetworkScope::from_effective(&effective)?;
                Some(hub.join(&session_id, scope))
            }
            _ => None,
        };
        self.store
            .create_session(&session_id, &cwd.display().to_string(), now_ms())
            .await?;
        let policy = super::policy_view::session_policy(&effective);
        let remote_mcp = crate::mcp::RemoteAccess::new(&effective, self.paths.oauth_dir())?;
        let setup = SessionSetup {
            session_id: session_id.clone(),
            cwd,
            sandbox,
            sandbox_policy,
            approval: config.approval,
            interactive,
            rules: effective.rules,
            reviewer,
            user_rules_file: effective
                .requirements
                .user_rules_forbidden
                .is_none()
                .then(|| layers::user_rules_dir(&self.paths).join("default.rules")),
            rules_language: self.rules,
            config,
            client,
            store: self.store.clone(),
            events: self.events.clone(),
            support: warden_sandbox::support(),
            egress,
            policy,
            remote_mcp,
        };
        let (ops, actor) = session::spawn(setup);
        self.sessions.run(session_id.clone(), ops, actor);
        Ok(session_id)
    }
}
