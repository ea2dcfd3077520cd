//! The model client: OpenAI Responses (`/responses`) and Chat Completions
//! (`/chat/completions`) over reqwest, streamed as server-sent events, with retries
//! and backoff on 429/5xx and clear errors for everything else.

mod chat;
mod error;
mod responses;
mod sse;

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use warden_protocol::WireApi;

pub use error::ModelError;

/// One item of conversation history, independent of the wire API.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    User(String),
    Assistant(String),
    ToolCall(ToolCall),
    ToolOutput { call_id: String, output: String },
}

/// A function call the model made.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub call_id: String,
    pub name: String,
    /// The raw JSON arguments as the model sent them.
    pub arguments: String,
}

/// A tool the model may call.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: Value,
}

/// What one request sends.
pub struct TurnRequest<'a> {
    pub instructions: &'a str,
    pub items: &'a [Item],
    pub tools: &'a [ToolSpec],
}

/// What the model produced in one response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TurnOutput {
    pub text: String,
    pub reasoning: String,
    pub tool_calls: Vec<ToolCall>,
    /// Tokens the endpoint says the request and the answer took, when it says.
    pub usage: Option<Usage>,
}

/// Tokens spent on one request, as the endpoint reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// A piece of streamed output.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamDelta {
    Text(String),
    Reasoning(String),
}

/// How often and how patiently to retry.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
        }
    }
}

/// A configured model endpoint.
#[derive(Clone)]
pub struct ModelClient {
    http: reqwest::Client,
    base_url: String,
    model: String,
    wire_api: WireApi,
    api_key: Option<String>,
    /// Sent with every request (`OpenAI-Organization`, a gateway's own).
    headers: Vec<(String, String)>,
    retry: RetryPolicy,
}

impl ModelClient {
    pub fn new(
        base_url: &str,
        model: &str,
        wire_api: WireApi,
        api_key: Option<String>,
    ) -> Result<Self, ModelError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| ModelError::Client(e.to_string()))?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            model: model.to_string(),
            wire_api,
            api_key,
            headers: Vec::new(),
            retry: RetryPolicy::default(),
        })
    }

    /// Send these headers with every request.
    pub fn with_headers(mut self, headers: Vec<(String, String)>) -> Self {
        self.headers = headers;
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn wire_api(&self) -> WireApi {
        self.wire_api
    }

    fn url(&self) -> String {
        match self.wire_api {
            WireApi::Responses => format!("{}/responses", self.base_url),
            WireApi::Chat => format!("{}/chat/completions", self.base_url),
        }
    }

    /// Send one request and stream the response, calling `on_delta` for each piece of
    /// text or reasoning. Retries (before anything streamed) on 429, 5xx and refused
    /// connections.
    pub async fn stream_turn(
        &self,
        request: &TurnRequest<'_>,
        mut on_delta: impl FnMut(StreamDelta),
    ) -> Result<TurnOutput, ModelError> {
        let body = match self.wire_api {
            WireApi::Responses => responses::body(&self.model, request),
            WireApi::Chat => chat::body(&self.model, request),
        };
        let url = self.url();
        let mut attempt = 0;
        loop {
            match self.try_once(&url, &body, &mut on_delta).await {
                Err(e) if e.is_retryable() && attempt < self.retry.max_retries => {
                    let backoff = e.retry_after().unwrap_or_else(|| {
                        (self.retry.initial_backoff * 2u32.saturating_pow(attempt))
                            .min(self.retry.max_backoff)
                    });
                    tracing::warn!(error = %e, attempt, ?backoff, "model request failed; retrying");
                    attempt += 1;
                    tokio::time::sleep(backoff).await;
                }
                other => return other,
            }
        }
    }

    async fn try_once(
        &self,
        url: &str,
        body: &Value,
        on_delta: &mut impl FnMut(StreamDelta),
    ) -> Result<TurnOutput, ModelError> {
        let mut builder = self
            .http
            .post(url)
            .json(body)
            .header("accept", "text/event-stream");
        if let Some(key) = &self.api_key {
            builder = builder.bearer_auth(key);
        }
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let response = builder
            .send()
            .await
            .map_err(|e| ModelError::from_send(url, &e))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .map(Duration::from_secs);
            let text = response.text().await.unwrap_or_default();
            return Err(ModelError::from_status(
                url,
                status.as_u16(),
                &text,
                retry_after,
            ));
        }
        let mut parser = sse::SseParser::default();
        let mut state = match self.wire_api {
            WireApi::Responses => Decoder::Responses(responses::ResponsesDecoder::default()),
            WireApi::Chat => Decoder::Chat(chat::ChatDecoder::default()),
        };
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ModelError::Stream(e.to_string()))?;
            for event in parser.push(&chunk) {
                let done = match &mut state {
                    Decoder::Responses(d) => d.handle(&event, on_delta)?,
                    Decoder::Chat(d) => d.handle(&event, on_delta)?,
                };
                if done {
                    return Ok(state.finish());
                }
            }
        }
        match state {
            // Chat servers may close the stream without `[DONE]` after a finish reason.
            Decoder::Chat(d) if d.finished() => Ok(d.into_output()),
            _ => Err(ModelError::Stream(
                "the model closed the stream before the response completed".into(),
            )),
        }
    }
}

enum Decoder {
    Responses(responses::ResponsesDecoder),
    Chat(chat::ChatDecoder),
}

impl Decoder {
    fn finish(self) -> TurnOutput {
        match self {
            Self::Responses(d) => d.into_output(),
            Self::Chat(d) => d.into_output(),
        }
    }
}
