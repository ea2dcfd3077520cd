//! Chat Completions API (Ollama, vLLM, LM Studio, llama.cpp, …): request body and
//! stream decoding.

use serde_json::{Value, json};

use super::responses::preview;
use super::sse::SseEvent;
use super::{Item, ModelError, StreamDelta, ToolCall, TurnOutput, TurnRequest};

pub(super) fn body(model: &str, request: &TurnRequest<'_>) -> Value {
    let mut messages = vec![json!({"role": "system", "content": request.instructions})];
    for item in request.items {
        match item {
            Item::User(text) => messages.push(json!({"role": "user", "content": text})),
            Item::Assistant(text) => messages.push(json!({"role": "assistant", "content": text})),
            Item::ToolCall(call) => {
                let entry = json!({"id": call.call_id, "type": "function",
                                   "function": {"name": call.name, "arguments": call.arguments}});
                // Consecutive calls belong to one assistant message.
                match messages.last_mut() {
                    Some(last)
                        if last["role"] == "assistant" && last.get("tool_calls").is_some() =>
                    {
                        if let Some(calls) = last["tool_calls"].as_array_mut() {
                            calls.push(entry);
                        }
                    }
                    _ => messages
                        .push(json!({"role": "assistant", "content": null, "tool_calls": [entry]})),
                }
            }
            Item::ToolOutput { call_id, output } => {
                messages.push(json!({"role": "tool", "tool_call_id": call_id, "content": output}))
            }
        }
    }
    let tools: Vec<Value> = request
        .tools
        .iter()
        .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
        .collect();
    let mut body = json!({"model": model, "messages": messages, "tools": tools, "stream": true,
                          "stream_options": {"include_usage": true}});
    // A request without tools (the reviewer's) names none: some servers refuse an empty list.
    if request.tools.is_empty()
        && let Some(fields) = body.as_object_mut()
    {
        fields.remove("tools");
    }
    body
}

#[derive(Debug, Default)]
pub(super) struct ChatDecoder {
    output: TurnOutput,
    /// Tool calls assembled from indexed fragments.
    calls: Vec<ToolCall>,
    finish_reason: Option<String>,
}

impl ChatDecoder {
    /// Handle one event; true when the stream is complete.
    pub(super) fn handle(
        &mut self,
        event: &SseEvent,
        on_delta: &mut impl FnMut(StreamDelta),
    ) -> Result<bool, ModelError> {
        if event.data.trim() == "[DONE]" {
            return Ok(true);
        }
        let value: Value = serde_json::from_str(&event.data).map_err(|e| {
            ModelError::BadResponse(format!(
                "stream chunk is not JSON ({e}): {}",
                preview(&event.data)
            ))
        })?;
        if let Some(message) = value.pointer("/error/message").and_then(Value::as_str) {
            return Err(ModelError::Reported(message.to_string()));
        }
        if let Some(usage) = value.get("usage").filter(|u| u.is_object()) {
            self.output.usage = Some(crate::Usage {
                input_tokens: usage["prompt_tokens"].as_u64().unwrap_or(0),
                output_tokens: usage["completion_tokens"].as_u64().unwrap_or(0),
            });
            // The usage chunk (`include_usage`) comes with no choices.
            if value["choices"].as_array().is_some_and(|c| c.is_empty()) {
                return Ok(false);
            }
        }
        let choice = value.pointer("/choices/0").ok_or_else(|| {
            ModelError::BadResponse(format!("chunk without choices: {}", preview(&event.data)))
        })?;
        if let Some(delta) = choice.get("delta") {
            if let Some(text) = delta.get("content").and_then(Value::as_str) {
                self.output.text.push_str(text);
                on_delta(StreamDelta::Text(text.to_string()));
            }
            for key in ["reasoning_content", "reasoning"] {
                if let Some(text) = delta.get(key).and_then(Value::as_str) {
                    self.output.reasoning.push_str(text);
                    on_delta(StreamDelta::Reasoning(text.to_string()));
                }
            }
            if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
                for fragment in calls {
                    self.merge_call(fragment)?;
                }
            }
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_string());
        }
        Ok(false)
    }

    fn merge_call(&mut self, fragment: &Value) -> Result<(), ModelError> {
        let index = fragment.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
        if index > 128 {
            return Err(ModelError::BadResponse(format!(
                "tool call index {index} is out of range"
            )));
        }
        while self.calls.len() <= index {
            self.calls.push(ToolCall {
                call_id: String::new(),
                name: String::new(),
                arguments: String::new(),
            });
        }
        let call = &mut self.calls[index];
        if let Some(id) = fragment.get("id").and_then(Value::as_str) {
            call.call_id = id.to_string();
        }
        if let Some(name) = fragment.pointer("/function/name").and_then(Value::as_str) {
            call.name.push_str(name);
        }
        if let Some(args) = fragment
            .pointer("/function/arguments")
            .and_then(Value::as_str)
        {
            call.arguments.push_str(args);
        }
        Ok(())
    }

    pub(super) fn finished(&self) -> bool {
        self.finish_reason.is_some()
    }

    pub(super) fn into_output(mut self) -> TurnOutput {
        for (i, mut call) in self.calls.into_iter().enumerate() {
            if call.call_id.is_empty() {
                call.call_id = format!("call_{i}");
            }
            self.output.tool_calls.push(call);
        }
        self.output
    }
}
