//! The web UI built into the binary (build.rs embeds `ui/dist`), served by `warden serve`
//! when no `--ui-dir` is given: an installed package needs no source tree.

use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

mod files {
    include!(concat!(env!("OUT_DIR"), "/embedded_ui.rs"));
}

/// Whether this build carries a web UI.
pub fn present() -> bool {
    files::FILES.iter().any(|(name, _)| *name == "index.html")
}

/// Serve `uri` from the embedded files (`/` is `index.html`).
pub async fn serve(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    match files::FILES.iter().find(|(name, _)| *name == path) {
        Some((name, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type(name)),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}
