//! The Warden desktop app: a thin Tauri adapter over the core. One command (`api`)
//! routes every API call through the same dispatcher as `warden serve`; core events are
//! batched and emitted to the window as `warden://events`.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use tauri::{Emitter, Manager};
use tokio::sync::broadcast::error::RecvError;
use warden_agent::Host;
use warden_protocol::{ApiError, Event, dispatch};

/// Events are sent to the window at most this often, in batches.
const BATCH_INTERVAL: Duration = Duration::from_millis(16);
const BATCH_MAX: usize = 512;

/// The host, or why it could not start (shown by the UI on every call).
struct Core(Result<Arc<Host>, ApiError>);

#[tauri::command]
async fn api(
    core: tauri::State<'_, Core>,
    method: String,
    params: serde_json::Value,
) -> Result<serde_json::Value, ApiError> {
    let host = core.0.as_ref().map_err(Clone::clone)?;
    dispatch(host.as_ref(), &method, params).await
}

/// The native folder picker, for the workspace: the chosen folder, or `None` when the
/// person cancelled.
#[tauri::command]
async fn pick_folder(app: tauri::AppHandle) -> Option<String> {
    use tauri_plugin_dialog::DialogExt;
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Choose the workspace folder")
        .pick_folder(move |folder| {
            let _ = tx.send(folder.and_then(|f| f.into_path().ok()));
        });
    rx.await.ok().flatten().map(|p| p.display().to_string())
}

/// Bring the main window to the front (a second launch asked for it).
fn show_main(app: &tauri::AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

async fn open_host() -> Result<Arc<Host>, ApiError> {
    Ok(Arc::new(
        Host::open_default(Vec::new(), warden_rules::load_rules).await?,
    ))
}

/// Forward core events to the window in batches.
async fn forward_events(app: tauri::AppHandle, host: Arc<Host>) {
    let mut rx = host.subscribe();
    loop {
        let first = match rx.recv().await {
            Ok(event) => event,
            Err(RecvError::Lagged(_)) => {
                let _ = app.emit("warden://lagged", ());
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let mut batch: Vec<Event> = vec![first];
        let deadline = tokio::time::Instant::now() + BATCH_INTERVAL;
        while batch.len() < BATCH_MAX {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Ok(event)) => batch.push(event),
                Ok(Err(RecvError::Lagged(_))) => {
                    let _ = app.emit("warden://lagged", ());
                }
                Ok(Err(RecvError::Closed)) | Err(_) => break,
            }
        }
        if let Err(e) = app.emit("warden://events", &batch) {
            tracing::warn!(error = %e, "cannot emit events to the window");
        }
    }
}

fn main() {
    tracing_subscriber::fmt()
        // Plain text unless a person watches stderr at a terminal (as the CLI does).
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WARDEN_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let result = tauri::Builder::default()
        // One app per desktop session: a second launch focuses the first window and ends.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            tracing::info!("a second launch: focusing this window");
            show_main(app);
        }))
        .plugin(tauri_plugin_dialog::init())
        .setup(|app| {
            let core = tauri::async_runtime::block_on(open_host());
            if let Err(e) = &core {
                tracing::error!(code = %e.code, "Warden could not start: {}", e.message);
            }
            if let Ok(host) = &core {
                tauri::async_runtime::spawn(forward_events(app.handle().clone(), host.clone()));
            }
            app.manage(Core(core));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![api, pick_folder])
        .build(tauri::generate_context!());
    let app = match result {
        Ok(app) => app,
        Err(e) => {
            eprintln!("warden-desktop: cannot start: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let tauri::RunEvent::ExitRequested { .. } = event
            && let Ok(host) = &handle.state::<Core>().0
        {
            host.shutdown_all();
        }
    });
}
