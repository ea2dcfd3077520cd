//! `auto_review`: which tiers of auto-review answer questions, and the reviewer model's
//! settings. Written as the old switch (`auto_review = true` is the rules tier, `false`
//! off), as a mode (`auto_review = "model"`), or as a table with the mode and the rest.
//! The layers hold it as a table always (`auto_review.mode`), so a requirement can lock
//! one field of it.

use serde::{Deserialize, Deserializer, Serialize};
use warden_protocol::WireApi;

use crate::router::ReviewMode;

/// Auto-review's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutoReviewConfig {
    /// `off`, `rules` (the deterministic tier) or `model` (rules first, then the reviewer
    /// model for what they leave unsettled).
    pub mode: ReviewMode,
    /// The reviewer model may answer requests to run outside the sandbox.
    pub escalations: bool,
    /// How long one review may take before it counts as unavailable.
    pub timeout_secs: u64,
    /// Reviews per session at most.
    pub max_reviews: u32,
    /// Tokens (in and out) per session at most.
    pub max_tokens: u64,
    /// About how many tokens one review may send.
    pub context_tokens: u64,
    /// The reviewer model; each field unset is the session's own.
    pub model: ReviewerModelConfig,
}

impl Default for AutoReviewConfig {
    fn default() -> Self {
        Self {
            mode: ReviewMode::Off,
            escalations: false,
            timeout_secs: 20,
            max_reviews: 200,
            max_tokens: 600_000,
            context_tokens: 3_000,
            model: ReviewerModelConfig::default(),
        }
    }
}

/// The reviewer model's endpoint; unset fields are the session model's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReviewerModelConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire_api: Option<WireApi>,
}

impl ReviewerModelConfig {
    /// The endpoint this model is reached at: its own, else the session model's.
    pub fn base_url_or<'a>(&'a self, session: &'a super::ModelConfig) -> &'a str {
        self.base_url.as_deref().unwrap_or(&session.base_url)
    }
}

/// The table form, every field optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    mode: Option<ReviewMode>,
    escalations: Option<bool>,
    timeout_secs: Option<u64>,
    max_reviews: Option<u32>,
    max_tokens: Option<u64>,
    context_tokens: Option<u64>,
    model: Option<ReviewerModelConfig>,
}

impl<'de> Deserialize<'de> for AutoReviewConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = AutoReviewConfig;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("true, false, \"off\", \"rules\", \"model\" or a table")
            }

            fn visit_bool<E: serde::de::Error>(self, on: bool) -> Result<Self::Value, E> {
                Ok(AutoReviewConfig {
                    mode: if on {
                        ReviewMode::Rules
                    } else {
                        ReviewMode::Off
                    },
                    ..AutoReviewConfig::default()
                })
            }

            fn visit_str<E: serde::de::Error>(self, mode: &str) -> Result<Self::Value, E> {
                let mode = ReviewMode::deserialize(serde::de::value::StrDeserializer::new(mode))?;
                Ok(AutoReviewConfig {
                    mode,
                    ..AutoReviewConfig::default()
                })
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                let t = Table::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                let d = AutoReviewConfig::default();
                Ok(AutoReviewConfig {
                    mode: t.mode.unwrap_or(d.mode),
                    escalations: t.escalations.unwrap_or(d.escalations),
                    timeout_secs: t.timeout_secs.unwrap_or(d.timeout_secs),
                    max_reviews: t.max_reviews.unwrap_or(d.max_reviews),
                    max_tokens: t.max_tokens.unwrap_or(d.max_tokens),
                    context_tokens: t.context_tokens.unwrap_or(d.context_tokens),
                    model: t.model.unwrap_or_default(),
                })
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// A layer's `auto_review` written as a switch or a mode, as the table the layers hold
/// (`auto_review = true` → `[auto_review] mode = "rules"`).
pub(crate) fn as_table(value: &toml::Value) -> Option<toml::Value> {
    let mode = match value {
        toml::Value::Boolean(true) => "rules",
        toml::Value::Boolean(false) => "off",
        toml::Value::String(s) => s.as_str(),
        _ => return None,
    };
    let mut table = toml::Table::new();
    table.insert("mode".into(), toml::Value::String(mode.into()));
    Some(toml::Value::Table(table))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AutoReviewConfig, toml::de::Error> {
        #[derive(Deserialize)]
        struct Holder {
            auto_review: AutoReviewConfig,
        }
        toml::from_str::<Holder>(text).map(|h| h.auto_review)
    }

    #[test]
    fn the_old_switch_a_mode_and_a_table_all_read() {
        assert_eq!(parse("auto_review = true").unwrap().mode, ReviewMode::Rules);
        assert_eq!(parse("auto_review = false").unwrap().mode, ReviewMode::Off);
        assert_eq!(
            parse("auto_review = \"model\"").unwrap().mode,
            ReviewMode::Model
        );
        let table = parse(
            "[auto_review]\nmode = \"model\"\nescalations = true\ntimeout_secs = 5\n[auto_review.model]\nname = \"small\"\n",
        )
        .unwrap();
        assert_eq!(
            (
                table.mode,
                table.escalations,
                table.timeout_secs,
                table.max_reviews
            ),
            (ReviewMode::Model, true, 5, 200)
        );
        assert_eq!(table.model.name.as_deref(), Some("small"));
        let e = parse("auto_review = \"sometimes\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown variant `sometimes`"), "{e}");
        let e = parse("[auto_review]\nmodee = \"model\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `modee`"), "{e}");
    }
}
