//! OpenAI Responses API: request body and stream decoding.

use serde_json::{Value, json};

use super::sse::SseEvent;
use super::{Item, ModelError, StreamDelta, ToolCall, TurnOutput, TurnRequest};

pub(super) fn body(model: &str, request: &TurnRequest<'_>) -> Value {
    let input: Vec<Value> = request
        .items
        .iter()
        .map(|item| match item {
            Item::User(text) => json!({
                "type": "message", "role": "user",
                "content": [{"type": "input_text", "text": text}]
            }),
            Item::Assistant(text) => json!({
                "type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": text}]
            }),
            Item::ToolCall(call) => json!({
                "type": "function_call", "call_id": call.call_id,
                "name": call.name, "arguments": call.arguments
            }),
            Item::ToolOutput { call_id, output } => json!({
                "type": "function_call_output", "call_id": call_id, "output": output
            }),
        })
        .collect();
    let tools: Vec<Value> = request
        .tools
        .iter()
        .map(|t| json!({"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters, "strict": false}))
        .collect();
    let mut body = json!({
        "model": model,
        "instructions": request.instructions,
        "input": input,
        "tools": tools,
        "tool_choice": "auto",
        "parallel_tool_calls": false,
        "stream": true,
        "store": false,
        "reasoning": {"summary": "auto"},
    });
    // A request without tools (the reviewer's) names none: some servers refuse an empty
    // list or a tool choice with nothing to choose.
    if request.tools.is_empty()
        && let Some(fields) = body.as_object_mut()
    {
        for key in ["tools", "tool_choice", "parallel_tool_calls"] {
            fields.remove(key);
        }
    }
    body
}

#[derive(Debug, Default)]
pub(super) struct ResponsesDecoder {
    output: TurnOutput,
}

impl ResponsesDecoder {
    /// Handle one event; true when the response is complete.
    pub(super) fn handle(
        &mut self,
        event: &SseEvent,
        on_delta: &mut impl FnMut(StreamDelta),
    ) -> Result<bool, ModelError> {
        let value: Value = serde_json::from_str(&event.data).map_err(|e| {
            ModelError::BadResponse(format!(
                "stream event is not JSON ({e}): {}",
                preview(&event.data)
            ))
        })?;
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .or(event.event.as_deref())
            .unwrap_or_default();
        match kind {
            "response.output_text.delta" => {
                let delta = str_field(&value, "delta")?;
                self.output.text.push_str(delta);
                on_delta(StreamDelta::Text(delta.to_string()));
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                let delta = str_field(&value, "delta")?;
                self.output.reasoning.push_str(delta);
                on_delta(StreamDelta::Reasoning(delta.to_string()));
            }
            "response.output_item.done" => {
                let item = value.get("item").ok_or_else(|| {
                    ModelError::BadResponse("output_item.done without an item".into())
                })?;
                if item.get("type").and_then(Value::as_str) == Some("function_call") {
                    self.output.tool_calls.push(ToolCall {
                        call_id: str_field(item, "call_id")?.to_string(),
                        name: str_field(item, "name")?.to_string(),
                        arguments: str_field(item, "arguments")?.to_string(),
                    });
                }
            }
            "response.completed" | "response.incomplete" => {
                if let Some(usage) = value.pointer("/response/usage") {
                    self.output.usage = Some(crate::Usage {
                        input_tokens: usage["input_tokens"].as_u64().unwrap_or(0),
                        output_tokens: usage["output_tokens"].as_u64().unwrap_or(0),
                    });
                }
                return Ok(true);
            }
            "response.failed" | "error" => {
                let message = value
                    .pointer("/response/error/message")
                    .or_else(|| value.pointer("/error/message"))
                    .or_else(|| value.get("message"))
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error");
                return Err(ModelError::Reported(message.to_string()));
            }
            _ => {}
        }
        Ok(false)
    }

    pub(super) fn into_output(self) -> TurnOutput {
        self.output
    }
}

fn str_field<'v>(value: &'v Value, field: &str) -> Result<&'v str, ModelError> {
    value.get(field).and_then(Value::as_str).ok_or_else(|| {
        ModelError::BadResponse(format!(
            "missing string field `{field}` in {}",
            preview(&value.to_string())
        ))
    })
}

pub(super) fn preview(text: &str) -> String {
    let mut p: String = text.chars().take(200).collect();
    if p.len() < text.len() {
        p.push('…');
    }
    p
}
