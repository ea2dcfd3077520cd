//! A scripted OpenAI-compatible model server for tests: `/v1/responses` and
//! `/v1/chat/completions`, streamed as server-sent events, with tool calls.
//!
//! A script is a list of scenarios. The last user message picks the first scenario
//! whose `when` it contains; the number of tool results since that message picks the
//! step. `{last_output}` in a `say` step is replaced by the latest tool result, so a
//! test can see exactly what reached the model.

use std::sync::{Arc, Mutex};

pub mod cpu;
pub mod oauth_mcp;
pub mod tls;

/// Start `command` with its stdout piped and return the child and its first line
/// (trimmed): test servers print their address or ports there once they listen.
pub fn start_with_first_line(command: &mut std::process::Command) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", command.get_program()));
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        let read = std::io::BufReader::new(stdout).read_line(&mut line);
        read.unwrap_or_else(|e| panic!("{:?} printed nothing: {e}", command.get_program()));
    }
    (child, line.trim().to_string())
}

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

/// A fresh folder for a test that lies outside every temporary folder, so that the
/// sandbox's writable tmp roots never cover it (a checkout under `/tmp` would otherwise
/// make "outside the workspace" writable). Under `~/.cache/warden-tests`.
pub fn scratch_dir() -> tempfile::TempDir {
    let home = std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/root".into());
    let base = home.join(".cache/warden-tests");
    let made = std::fs::create_dir_all(&base).and_then(|_| tempfile::tempdir_in(&base));
    match made {
        Ok(dir) => dir,
        Err(e) => panic!("cannot create a scratch folder in {}: {e}", base.display()),
    }
}

/// Every file under `dir` whose bytes contain `needle` (a secret that must not be there).
pub fn files_containing(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).into_iter().flatten().flatten() {
                stack.push(entry.path());
            }
        } else if let Ok(bytes) = std::fs::read(&path)
            && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        {
            found.push(path.display().to_string());
        }
    }
    found
}

#[derive(Debug, Clone, Deserialize)]
pub struct Script {
    pub scenarios: Vec<Scenario>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Scenario {
    pub when: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Call the `shell` tool with this argv.
    Shell(Vec<String>),
    /// Call any tool with these arguments.
    Call { name: String, arguments: Value },
    /// Say something, then call a tool in the same response (an agent explaining itself).
    SayThenCall {
        text: String,
        name: String,
        arguments: Value,
    },
    /// Several `shell` calls in one response. Steps are counted by tool outputs, so a
    /// step with k calls takes k slots: pad the scenario with k-1 placeholder steps.
    Parallel(Vec<Vec<String>>),
    /// Answer with text (ends the turn).
    Say(String),
    /// Answer with this HTTP status and body.
    Status { code: u16, body: String },
    /// Stream an event that is not JSON.
    Garbage,
    /// Wait this many seconds, then answer with text (a model that stalls).
    Stall { secs: u64, then: String },
}

impl Script {
    /// The scenarios the Rust tests share: `list files` (a safe command), `create a file`
    /// (needs approval), `escape` (a write outside the workspace), `patch` (apply_patch)
    /// `garbage` (a malformed stream), `slow` (a command that leaves a background job
    /// and waits for it), `force push` (a compound command with a force push) and
    /// `fetch a page` (a medium-risk network command), `download the url` (curl of the
    /// URL in the workspace's `url.txt`), `echo through mcp` and `read the secret through
    /// mcp` (tools of an MCP server named `demo`, see tests/mcp/server.py), and `ask the
    /// remote server who I am`, `search the remote documents`, `delete the remote
    /// documents` (a remote server named `docs`, tests/mcp/oauth_server.py).
    pub fn standard() -> Self {
        Script {
            scenarios: vec![
                Scenario {
                    when: "list files".into(),
                    steps: vec![
                        Step::shell(&["ls"]),
                        Step::Say("Listed: {last_output}".into()),
                    ],
                },
                Scenario::reporting("create a file", Step::shell(&["touch", "created.txt"])),
                Scenario::reporting(
                    "escape",
                    Step::shell(&["/bin/sh", "-c", "echo x > ../outside.txt"]),
                ),
                Scenario::reporting(
                    "patch",
                    Step::call(
                        "apply_patch",
                        serde_json::json!({"patch": "*** Begin Patch\n*** Add File: notes.md\n+hello\n*** End Patch"}),
                    ),
                ),
                Scenario::reporting(
                    "slow",
                    Step::shell(&["/bin/sh", "-c", "sleep 60 & echo $! > bg.pid; wait"]),
                ),
                Scenario::reporting(
                    "force push",
                    Step::shell(&[
                        "bash",
                        "-lc",
                        "git status && /usr/bin/git push origin main --force",
                    ]),
                ),
                Scenario::reporting(
                    "fetch a page",
                    Step::shell(&["curl", "-s", "https://example.com"]),
                ),
                Scenario::reporting(
                    "download the url",
                    Step::shell(&[
                        "sh",
                        "-c",
                        "curl -sS -i --no-styled-output \"$(cat url.txt)\"",
                    ]),
                ),
                Scenario {
                    when: "twice at once".into(),
                    steps: vec![
                        Step::Parallel(vec![
                            vec!["touch".into(), "twice.txt".into()],
                            vec!["touch".into(), "twice.txt".into()],
                        ]),
                        Step::Say("(placeholder: the parallel step takes two slots)".into()),
                        Step::Say(REPORT.into()),
                    ],
                },
                Scenario::reporting(
                    "echo through mcp",
                    Step::call("mcp__demo__echo", serde_json::json!({"text": "hello"})),
                ),
                Scenario::reporting(
                    "ask the remote server who I am",
                    Step::call("mcp__docs__whoami", serde_json::json!({})),
                ),
                Scenario::reporting(
                    "search the remote documents",
                    Step::call("mcp__docs__search", serde_json::json!({"query": "warden"})),
                ),
                Scenario::reporting(
                    "delete the remote documents",
                    Step::call(
                        "mcp__docs__delete_all",
                        serde_json::json!({"confirm": "yes"}),
                    ),
                ),
                Scenario::reporting(
                    "read the secret through mcp",
                    Step::call(
                        "mcp__demo__read_text",
                        serde_json::json!({"path": "../secret.txt"}),
                    ),
                ),
                Scenario::reporting(
                    "plant a project policy",
                    Step::shell(&[
                        "sh",
                        "-c",
                        "mkdir -p .warden/rules && printf 'approval = \"never\"\\n' > .warden/config.toml && printf 'prefix_rule(pattern = [\"rm\"], decision = \"allow\")\\n' > .warden/rules/planted.rules && echo planted",
                    ]),
                ),
                Scenario {
                    when: "garbage".into(),
                    steps: vec![Step::Garbage],
                },
            ],
        }
    }
}

/// The answer most scenarios end with: the last tool output, verbatim.
const REPORT: &str = "Result: {last_output}";

impl Scenario {
    /// One tool call, then an answer reporting its output.
    fn reporting(when: &str, call: Step) -> Self {
        Self {
            when: when.into(),
            steps: vec![call, Step::Say(REPORT.into())],
        }
    }
}

impl Step {
    /// A `shell` tool call with this argv.
    pub fn shell(argv: &[&str]) -> Self {
        Self::Shell(argv.iter().map(|s| s.to_string()).collect())
    }

    /// A call of the tool `name` with these arguments.
    fn call(name: &str, arguments: Value) -> Self {
        Self::Call {
            name: name.into(),
            arguments,
        }
    }
}

#[derive(Clone)]
struct AppState {
    script: Arc<Script>,
    api_key: Option<String>,
    requests: Arc<Mutex<Vec<Value>>>,
    headers: Arc<Mutex<Vec<Headers>>>,
}

/// One request's headers (lower-case names), as received.
pub type Headers = std::collections::BTreeMap<String, String>;

/// A running server.
pub struct ScriptedModel {
    /// Base URL including `/v1`.
    pub base_url: String,
    requests: Arc<Mutex<Vec<Value>>>,
    headers: Arc<Mutex<Vec<Headers>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ScriptedModel {
    /// Start on a free loopback port. With `api_key`, other keys get HTTP 401.
    pub async fn start(script: Script, api_key: Option<String>) -> anyhow::Result<Self> {
        Self::start_on("127.0.0.1:0", script, api_key).await
    }

    pub async fn start_on(
        addr: &str,
        script: Script,
        api_key: Option<String>,
    ) -> anyhow::Result<Self> {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let headers = Arc::new(Mutex::new(Vec::new()));
        let state = AppState {
            script: Arc::new(script),
            api_key,
            requests: requests.clone(),
            headers: headers.clone(),
        };
        let app = Router::new()
            .route("/v1/responses", post(responses))
            .route("/v1/chat/completions", post(chat))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base_url = format!("http://{}/v1", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            base_url,
            requests,
            headers,
            task,
        })
    }

    /// Every request body received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Every request's headers so far, in order.
    pub fn request_headers(&self) -> Vec<Headers> {
        self.headers.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Serve until the process ends.
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Drop for ScriptedModel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the conversation so far tells the server.
struct Conversation {
    last_user: String,
    outputs_since_user: usize,
    last_output: String,
}

fn check_key(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    let expected = state.api_key.as_ref()?;
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if given == format!("Bearer {expected}") {
        None
    } else {
        Some(
            (
                StatusCode::UNAUTHORIZED,
                r#"{"error":{"message":"Incorrect API key provided"}}"#,
            )
                .into_response(),
        )
    }
}

fn next_step(state: &AppState, conversation: &Conversation) -> Step {
    let scenario = state
        .script
        .scenarios
        .iter()
        .find(|s| conversation.last_user.contains(&s.when));
    match scenario.and_then(|s| s.steps.get(conversation.outputs_since_user)) {
        Some(Step::Say(text)) => {
            Step::Say(text.replace("{last_output}", &conversation.last_output))
        }
        Some(step) => step.clone(),
        None if scenario.is_some() => Step::Say("Script finished.".into()),
        None => Step::Say(format!("No script for: {}", conversation.last_user)),
    }
}

fn sse(events: Vec<(Option<&str>, String)>) -> Response {
    let mut body = String::new();
    for (name, data) in events {
        if let Some(name) = name {
            body.push_str(&format!("event: {name}\n"));
        }
        body.push_str(&format!("data: {data}\n\n"));
    }
    ([("content-type", "text/event-stream")], body).into_response()
}

fn words(text: &str) -> Vec<String> {
    text.split_inclusive(' ').map(str::to_string).collect()
}

/// Check the key, record the request, and pick the step; an HTTP error step answers at once.
fn prepare(
    state: &AppState,
    headers: &HeaderMap,
    body: &Value,
    read: fn(&Value) -> Conversation,
) -> Result<(Step, usize), Box<Response>> {
    if let Ok(mut seen) = state.headers.lock() {
        seen.push(
            headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_string(),
                        value.to_str().unwrap_or("").to_string(),
                    )
                })
                .collect(),
        );
    }
    if let Some(denied) = check_key(state, headers) {
        return Err(Box::new(denied));
    }
    if let Ok(mut r) = state.requests.lock() {
        r.push(body.clone());
    }
    let conversation = read(body);
    match next_step(state, &conversation) {
        Step::Status { code, body } => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Err(Box::new((status, body).into_response()))
        }
        step => Ok((step, conversation.outputs_since_user)),
    }
}

fn responses_conversation(body: &Value) -> Conversation {
    let mut conversation = Conversation {
        last_user: String::new(),
        outputs_since_user: 0,
        last_output: String::new(),
    };
    for item in body["input"].as_array().into_iter().flatten() {
        match (item["type"].as_str(), item["role"].as_str()) {
            (Some("message"), Some("user")) => {
                conversation.last_user = item["content"][0]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                conversation.outputs_since_user = 0;
            }
            (Some("function_call_output"), _) => {
                conversation.outputs_since_user += 1;
                conversation.last_output = item["output"].as_str().unwrap_or_default().to_string();
            }
            _ => {}
        }
    }
    conversation
}

fn chat_conversation(body: &Value) -> Conversation {
    let mut conversation = Conversation {
        last_user: String::new(),
        outputs_since_user: 0,
        last_output: String::new(),
    };
    for message in body["messages"].as_array().into_iter().flatten() {
        match message["role"].as_str() {
            Some("user") => {
                conversation.last_user =
                    message["content"].as_str().unwrap_or_default().to_string();
                conversation.outputs_since_user = 0;
            }
            Some("tool") => {
                conversation.outputs_since_user += 1;
                conversation.last_output =
                    message["content"].as_str().unwrap_or_default().to_string();
            }
            _ => {}
        }
    }
    conversation
}

async fn responses(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    let (step, n) = match prepare(&state, &headers, &body.0, responses_conversation) {
        Ok(ready) => ready,
        Err(response) => return *response,
    };
    let step = stalled(step).await;
    let mut events = vec![
        (Some("response.created"), json!({"type": "response.created", "response": {"id": format!("resp_{n}")}}).to_string()),
        (
            Some("response.reasoning_summary_text.delta"),
            json!({"type": "response.reasoning_summary_text.delta", "delta": "Working through the script."}).to_string(),
        ),
    ];
    match step {
        Step::Status { code, body } => {
            return (
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                body,
            )
                .into_response();
        }
        Step::Stall { then, .. } => events.push((
            Some("response.output_text.delta"),
            json!({"type": "response.output_text.delta", "delta": then}).to_string(),
        )),
        Step::Garbage => events.push((Some("response.output_text.delta"), "{not json".into())),
        Step::Say(text) => events.extend(text_deltas(&text)),
        Step::Shell(argv) => events.push(function_call_done(n, "shell", &json!({"command": argv}))),
        Step::Call { name, arguments } => events.push(function_call_done(n, &name, &arguments)),
        Step::SayThenCall {
            text,
            name,
            arguments,
        } => {
            events.extend(text_deltas(&text));
            events.push(function_call_done(n, &name, &arguments));
        }
        Step::Parallel(calls) => {
            for (i, argv) in calls.iter().enumerate() {
                events.push(function_call_done(
                    n * 100 + i,
                    "shell",
                    &json!({"command": argv}),
                ));
            }
        }
    }
    let output_tokens = events.iter().map(|(_, e)| e.len() as u64).sum::<u64>() / 16;
    events.push((
        Some("response.completed"),
        json!({"type": "response.completed", "response": {"id": format!("resp_{n}"),
            "usage": {"input_tokens": token_estimate(&body.0), "output_tokens": output_tokens}}})
        .to_string(),
    ));
    sse(events)
}

/// Text streamed word by word, as Responses `output_text` deltas.
fn text_deltas(text: &str) -> Vec<(Option<&'static str>, String)> {
    words(text)
        .into_iter()
        .map(|w| {
            (
                Some("response.output_text.delta"),
                json!({"type": "response.output_text.delta", "delta": w}).to_string(),
            )
        })
        .collect()
}

/// A stalling step waits, then answers with its text.
async fn stalled(step: Step) -> Step {
    match step {
        Step::Stall { secs, then } => {
            tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
            Step::Say(then)
        }
        other => other,
    }
}

/// Tokens as a real endpoint would count them, roughly: a quarter of the characters.
fn token_estimate(body: &Value) -> u64 {
    (body.to_string().len() / 4) as u64
}

fn function_call_done(n: usize, name: &str, arguments: &Value) -> (Option<&'static str>, String) {
    (
        Some("response.output_item.done"),
        json!({"type": "response.output_item.done", "item": {
            "type": "function_call", "id": format!("fc_{n}"), "call_id": format!("call_{n}"),
            "name": name, "arguments": arguments.to_string(), "status": "completed"
        }})
        .to_string(),
    )
}

async fn chat(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    let (step, n) = match prepare(&state, &headers, &body.0, chat_conversation) {
        Ok(ready) => ready,
        Err(response) => return *response,
    };
    let step = stalled(step).await;
    let chunk = |delta: Value, finish: Option<&str>| {
        (None, json!({"id": "chatcmpl", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}).to_string())
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "reasoning_content": "Working through the script."}),
        None,
    )];
    match step {
        Step::Status { code, body } => {
            return (
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                body,
            )
                .into_response();
        }
        Step::Garbage => events.push((None, "{not json".into())),
        Step::Say(text) | Step::Stall { then: text, .. } => {
            for w in words(&text) {
                events.push(chunk(json!({"content": w}), None));
            }
            events.push(chunk(json!({}), Some("stop")));
        }
        Step::Shell(argv) => events.extend(tool_call_chunks(
            n,
            "shell",
            &json!({"command": argv}),
            chunk,
        )),
        Step::Call { name, arguments } => {
            events.extend(tool_call_chunks(n, &name, &arguments, chunk))
        }
        Step::SayThenCall {
            text,
            name,
            arguments,
        } => {
            for w in words(&text) {
                events.push(chunk(json!({"content": w}), None));
            }
            events.extend(tool_call_chunks(n, &name, &arguments, chunk));
        }
        Step::Parallel(calls) => {
            let delta: Vec<Value> = calls
                .iter()
                .enumerate()
                .map(|(i, argv)| json!({"index": i, "id": format!("call_{n}_{i}"), "type": "function", "function": {"name": "shell", "arguments": json!({"command": argv}).to_string()}}))
                .collect();
            events.push(chunk(json!({ "tool_calls": delta }), None));
            events.push(chunk(json!({}), Some("tool_calls")));
        }
    }
    let output_tokens = events.iter().map(|(_, e)| e.len() as u64).sum::<u64>() / 16;
    events.push((
        None,
        json!({"id": "chatcmpl", "object": "chat.completion.chunk", "choices": [],
               "usage": {"prompt_tokens": token_estimate(&body.0), "completion_tokens": output_tokens}})
        .to_string(),
    ));
    events.push((None, "[DONE]".into()));
    sse(events)
}

/// A tool call split over two chunks, as real servers send it.
fn tool_call_chunks(
    n: usize,
    name: &str,
    arguments: &Value,
    chunk: impl Fn(Value, Option<&str>) -> (Option<&'static str>, String),
) -> Vec<(Option<&'static str>, String)> {
    let args = arguments.to_string();
    let (a, b) = args.split_at(args.len() / 2);
    vec![
        chunk(
            json!({"tool_calls": [{"index": 0, "id": format!("call_{n}"), "type": "function", "function": {"name": name, "arguments": a}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": b}}]}),
            None,
        ),
        chunk(json!({}), Some("tool_calls")),
    ]
}
