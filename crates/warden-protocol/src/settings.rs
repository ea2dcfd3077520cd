//! Settings as the UI sees them: the model endpoint and whether a key is stored.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Which OpenAI-compatible API the model endpoint speaks.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum WireApi {
    /// `/v1/responses` (OpenAI).
    #[default]
    Responses,
    /// `/v1/chat/completions` (Ollama, vLLM, LM Studio, llama.cpp, …).
    Chat,
}

impl WireApi {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Responses => "responses",
            Self::Chat => "chat",
        }
    }
}

/// Where the API key comes from, never the key itself.
#[derive(Serialize, Deserialize, TS, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ApiKeySource {
    Keyring,
    Environment,
    None,
}
