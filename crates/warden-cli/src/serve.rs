//! `warden serve`: the same API the desktop shell uses, over HTTP on 127.0.0.1, with
//! server-sent events for the live stream and the web UI as static files.
//!
//! Every `/api` call needs `Authorization: Bearer TOKEN` (printed at start). Requests
//! whose `Host` is not this loopback address, or whose `Origin` is another site, are
//! refused, so a web page elsewhere cannot drive it even if it guesses the port.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::Args;
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;
use warden_agent::Host;
use warden_protocol::{ApiError, ErrorCode, dispatch};

#[derive(Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Folder with the built web UI (default: the UI built into this binary).
    #[arg(long, env = "WARDEN_UI_DIR")]
    ui_dir: Option<PathBuf>,
}

struct Server {
    host: Host,
    token: String,
    allowed_hosts: Vec<String>,
}

pub async fn run(
    overrides: Vec<String>,
    args: ServeArgs,
    rules: warden_policy::rules::RulesLoader,
) -> anyhow::Result<ExitCode> {
    let host = crate::open_host(overrides, rules).await?;
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port))).await?;
    let port = listener.local_addr()?.port();
    let token = new_token();
    let server = Arc::new(Server {
        host,
        token: token.clone(),
        allowed_hosts: vec![format!("127.0.0.1:{port}"), format!("localhost:{port}")],
    });
    let ui_dir = args.ui_dir;
    match &ui_dir {
        Some(dir) if !dir.join("index.html").exists() => eprintln!(
            "warden: no web UI at {} (build it with `npm run build -w ui`); the API still works",
            dir.display()
        ),
        None if !crate::embedded_ui::present() => eprintln!(
            "warden: this build carries no web UI (it was built before `npm run build -w ui`); \
             the API still works"
        ),
        _ => {}
    }
    let api = Router::new()
        .route("/api/events", get(events))
        .route("/api/{method}", post(call))
        .route_layer(middleware::from_fn_with_state(
            server.clone(),
            require_token,
        ));
    let site = Router::new().merge(api);
    let site = match &ui_dir {
        Some(dir) => site.fallback_service(tower_http::services::ServeDir::new(dir)),
        None => site.fallback(crate::embedded_ui::serve),
    };
    let app = site
        .layer(middleware::from_fn_with_state(
            server.clone(),
            require_local_origin,
        ))
        .with_state(server.clone());
    // A closed stdout (e.g. `| head -1`) must not stop the server.
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "Warden is serving on http://127.0.0.1:{port}/#token={token}"
        );
        let _ = writeln!(out, "token: {token}");
        let _ = out.flush();
    }
    let shutdown = {
        let server = server.clone();
        async move {
            let _ = tokio::signal::ctrl_c().await;
            server.host.shutdown_all();
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(ExitCode::SUCCESS)
}

fn new_token() -> String {
    use rand::Rng;
    let bytes: [u8; 32] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn refuse(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    (status, axum::Json(ApiError::new(code, message))).into_response()
}

/// Host must be our loopback address (no DNS rebinding); a browser Origin must be ours.
async fn require_local_origin(
    State(server): State<Arc<Server>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !server.allowed_hosts.iter().any(|h| h == host) {
        return refuse(
            StatusCode::FORBIDDEN,
            ErrorCode::BadHost,
            "requests must be addressed to 127.0.0.1 or localhost",
        );
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        let ours = server
            .allowed_hosts
            .iter()
            .any(|h| origin == format!("http://{h}"));
        if !ours {
            return refuse(
                StatusCode::FORBIDDEN,
                ErrorCode::BadOrigin,
                "cross-origin requests are refused",
            );
        }
    }
    next.run(request).await
}

async fn require_token(
    State(server): State<Arc<Server>>,
    request: Request,
    next: Next,
) -> Response {
    if !token_matches(request.headers(), &server.token) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "missing or wrong bearer token",
        );
    }
    next.run(request).await
}

fn token_matches(headers: &HeaderMap, token: &str) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Constant-time comparison.
    given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

async fn call(
    State(server): State<Arc<Server>>,
    Path(method): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let params: serde_json::Value = if body.is_empty() {
        serde_json::json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadJson,
                    &format!("the request body is not JSON: {e}"),
                );
            }
        }
    };
    // An EDR's or SOAR's webhook posts the alert itself: triage takes it as the alert.
    let params = match (method.as_str(), params) {
        ("triage", params) if !params["alert"].is_string() => serde_json::json!({
            "alert": String::from_utf8_lossy(&body),
        }),
        (_, params) => params,
    };
    match dispatch(&server.host, &method, params).await {
        Ok(value) => axum::Json(value).into_response(),
        Err(e) => {
            let status = match e.code.as_str() {
                "unknown_method" => StatusCode::NOT_FOUND,
                "bad_params" | "workspace_missing" | "settings_invalid" | "alert_invalid"
                | "period_invalid" | "suggestion_invalid" => StatusCode::BAD_REQUEST,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            (status, axum::Json(e)).into_response()
        }
    }
}

async fn events(
    State(server): State<Arc<Server>>,
) -> Sse<impl Stream<Item = Result<SseEvent, std::convert::Infallible>>> {
    let mut rx = server.host.subscribe();
    let stream = async_stream::stream! {
        loop {
            match rx.recv().await {
                Ok(event) => {
                    if let Ok(data) = serde_json::to_string(&event) {
                        yield Ok(SseEvent::default().event("event").data(data));
                    }
                }
                // The UI reloads the timeline from the audit store when it falls behind.
                Err(RecvError::Lagged(n)) => yield Ok(SseEvent::default().event("lagged").data(n.to_string())),
                Err(RecvError::Closed) => break,
            }
        }
    };
    Sse::new(stream).keep_alive(KeepAlive::default())
}
