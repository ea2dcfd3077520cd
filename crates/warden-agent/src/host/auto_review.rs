//! The Settings view's auto-review section: what it shows (the mode, the reviewer model
//! and whether it has its own key, the budget, what admins lock, what reviewers spent),
//! saving it (to the user's config file; the key to its own keyring entry), and "try it":
//! one typed action reviewed as a session in a folder would review it.

use std::path::PathBuf;

use warden_policy::layers::{EffectivePolicy, SessionChoices};
use warden_policy::router::ReviewMode;
use warden_protocol::{
    AutoReviewSettings, LockedSetting, ReviewActionParams, ReviewActionResponse, ReviewerNote,
    SaveAutoReviewParams, SettingsResponse,
};
use warden_review::Action;
use warden_review::eval::{self, CaseContext, EvalSetup};
use warden_review::reviewer::Said;

use super::{Host, HostError};

/// How far back Settings counts what reviewers spent.
const SPEND_WINDOW_MS: i64 = 30 * 24 * 60 * 60 * 1000;

impl Host {
    pub(crate) async fn auto_review_settings(
        &self,
        policy: &EffectivePolicy,
    ) -> Result<AutoReviewSettings, HostError> {
        let review = &policy.config.auto_review;
        let own_key = tokio::task::spawn_blocking(crate::load_reviewer_key)
            .await
            .map_err(HostError::join)?
            .is_some();
        let locked = policy
            .values
            .iter()
            .filter(|v| v.key == "auto_review" || v.key.starts_with("auto_review."))
            .filter_map(|v| {
                v.locked_by.as_ref().map(|source| LockedSetting {
                    key: v.key.clone(),
                    source: source.to_string(),
                })
            })
            .collect();
        let spent_30_days = self
            .store
            .review_spend(crate::now_ms() - SPEND_WINDOW_MS)
            .await?;
        Ok(AutoReviewSettings {
            mode: review.mode,
            escalations: review.escalations,
            base_url: review.model.base_url.clone(),
            model: review.model.name.clone(),
            wire_api: review.model.wire_api,
            own_key,
            timeout_secs: review.timeout_secs,
            max_reviews: review.max_reviews,
            max_tokens: review.max_tokens,
            context_tokens: review.context_tokens,
            locked,
            spent_30_days,
        })
    }

    /// Save the auto-review section. A setting an admin locks, or one a `-c` flag of
    /// this process sets, is refused naming why; nothing is written then.
    pub(crate) async fn save_auto_review(
        &self,
        params: SaveAutoReviewParams,
    ) -> Result<SettingsResponse, HostError> {
        if let Some(raw) = self
            .inputs
            .overrides
            .iter()
            .find(|o| o.trim_start().starts_with("auto_review"))
        {
            return Err(HostError::SettingsOverridden(raw.clone()));
        }
        let changes = changes(&params)?;
        let policy = self.policy(None, SessionChoices::default())?;
        for (key, value) in &changes {
            let full = format!("auto_review.{key}");
            let current = policy.values.iter().find(|v| v.key == full);
            let Some(locked_by) = current.and_then(|v| v.locked_by.as_ref()) else {
                continue;
            };
            let same = match (value, current.map(|v| &v.value)) {
                (Some(new), Some(old)) => toml_as_json(new).as_ref() == Some(old),
                _ => false,
            };
            if !same {
                return Err(HostError::Config(warden_policy::PolicyError::Refused(
                    format!("{full} is fixed by {locked_by}; it cannot be changed here"),
                )));
            }
        }
        if !changes.is_empty() {
            warden_policy::config::save_auto_review(&self.paths.config_file(), &changes)?;
        }
        if let Some(key) = params.api_key.filter(|k| !k.trim().is_empty()) {
            tokio::task::spawn_blocking(move || crate::store_reviewer_key(key.trim()))
                .await
                .map_err(HostError::join)??;
        }
        self.settings().await
    }

    /// Review one typed action as a session in `cwd` would: the policy, the rules tier,
    /// and the reviewer model when the configured mode asks for it.
    pub(crate) async fn review_action(
        &self,
        params: ReviewActionParams,
    ) -> Result<ReviewActionResponse, HostError> {
        let typed = params.action.trim();
        if typed.is_empty() {
            return Err(HostError::CommandEmpty);
        }
        let action = if typed.starts_with('{') {
            serde_json::from_str::<Action>(typed).map_err(|e| {
                HostError::SettingsInvalid(format!(
                    "the action is not valid JSON of an action: {e}"
                ))
            })?
        } else {
            Action::Shell {
                argv: vec!["sh".into(), "-c".into(), typed.to_string()],
                cwd: None,
                escalate: false,
            }
        };
        let workspace = match params.cwd.as_deref().filter(|c| !c.trim().is_empty()) {
            Some(cwd) => PathBuf::from(cwd).canonicalize().map_err(|_| {
                HostError::WorkspaceMissing(format!("the folder {cwd} does not exist"))
            })?,
            None => dirs_home(),
        };
        let policy = self.policy(Some(&workspace), SessionChoices::default())?;
        let reviewer = if policy.config.auto_review.mode == ReviewMode::Model {
            let config = policy.config.clone();
            tokio::task::spawn_blocking(move || crate::reviewer::reviewer_for(&config))
                .await
                .map_err(HostError::join)?
        } else {
            Err("auto-review is not in model mode".to_string())
        };
        let setup = EvalSetup {
            policy: &policy,
            workspace,
            mode: policy.config.auto_review.mode,
            reviewer: reviewer.as_deref().map_err(Clone::clone),
        };
        let context = CaseContext {
            prompts: params
                .prompt
                .into_iter()
                .filter(|p| !p.trim().is_empty())
                .collect(),
            recent: Vec::new(),
        };
        let settled = eval::settle_action(&action, &context, &action.canonical(), &setup).await;
        let (note, tokens_in, tokens_out, latency_ms) = match &settled.review {
            Some(review) => {
                let mut note = ReviewerNote {
                    model: review.model.clone(),
                    outcome: None,
                    risk: None,
                    rationale: None,
                    unavailable: None,
                };
                match &review.said {
                    Said::Verdict(v) => {
                        note.outcome = Some(v.outcome);
                        note.risk = Some(v.risk);
                        note.rationale = Some(v.rationale.clone());
                    }
                    Said::Unavailable(why) => note.unavailable = Some(why.clone()),
                }
                (
                    Some(note),
                    review.tokens_in,
                    review.tokens_out,
                    review.latency_ms,
                )
            }
            None => (None, 0, 0, 0),
        };
        Ok(ReviewActionResponse {
            outcome: match settled.outcome {
                eval::Outcome::Approved => "approved",
                eval::Outcome::Asked => "asked",
                eval::Outcome::Refused => "refused",
            }
            .into(),
            tier: settled.tier.into(),
            summary: action.summary(),
            note,
            reasons: settled.reasons,
            tokens_in,
            tokens_out,
            latency_ms,
        })
    }
}

/// The settings `params` changes, as `[auto_review]` keys (`None`: remove it, so the
/// session model's value applies), checked.
fn changes(
    params: &SaveAutoReviewParams,
) -> Result<Vec<(&'static str, Option<toml::Value>)>, HostError> {
    let invalid = |m: String| Err(HostError::SettingsInvalid(m));
    let mut out: Vec<(&'static str, Option<toml::Value>)> = Vec::new();
    if let Some(mode) = params.mode {
        out.push(("mode", Some(toml::Value::String(mode.as_str().into()))));
    }
    if let Some(on) = params.escalations {
        out.push(("escalations", Some(toml::Value::Boolean(on))));
    }
    if let Some(url) = &params.base_url {
        let url = url.trim();
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            return invalid(format!(
                "the reviewer endpoint {url:?} must start with http:// or https://"
            ));
        }
        out.push((
            "model.base_url",
            Some(url)
                .filter(|u| !u.is_empty())
                .map(|u| toml::Value::String(u.into())),
        ));
    }
    if let Some(name) = &params.model {
        let name = name.trim();
        out.push((
            "model.name",
            Some(name)
                .filter(|n| !n.is_empty())
                .map(|n| toml::Value::String(n.into())),
        ));
    }
    if let Some(wire) = params.wire_api {
        out.push((
            "model.wire_api",
            Some(toml::Value::String(wire.as_str().into())),
        ));
    }
    for (key, value, least) in [
        ("timeout_secs", params.timeout_secs, 1),
        ("max_reviews", params.max_reviews.map(u64::from), 0),
        ("max_tokens", params.max_tokens, 0),
    ] {
        if let Some(n) = value {
            if n < least || n > i64::MAX as u64 {
                return invalid(format!(
                    "auto_review.{key} must be at least {least}, not {n}"
                ));
            }
            out.push((key, Some(toml::Value::Integer(n as i64))));
        }
    }
    Ok(out)
}

/// A TOML value as the JSON the effective policy shows it as.
fn toml_as_json(value: &toml::Value) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

fn dirs_home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}
