//! The Warden desktop app: a thin Tauri adapter over the core. One command (`api`)
//! routes every API call through the same dispatcher as `warden serve`; core events are
//! batched and emitted to the window as `warden://events`. Around it, what makes it a
//! desktop app: the tray's count of waiting approvals, notifications, one instance, the
//! window's remembered size and place, and an optional start at login.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use tauri::{Emitter, Manager};
use tauri_plugin_autostart::ManagerExt as _;
use tokio::sync::broadcast::error::RecvError;
use warden_agent::Host;
use warden_protocol::{ApiError, Event, dispatch};

mod badge;
mod notify;
mod tray;
mod waiting;
mod window;

use window::show_main;

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

/// The native folder picker, for the workspace, opened at `start` when that is a folder's
/// full path and at the home folder otherwise: the chosen folder, or `None` when the person
/// cancelled.
#[tauri::command]
async fn pick_folder(app: tauri::AppHandle, start: Option<String>) -> Option<String> {
    use tauri_plugin_dialog::DialogExt;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut dialog = app.dialog().file().set_title("Choose the workspace folder");
    let start = start
        .map(std::path::PathBuf::from)
        .filter(|s| s.is_absolute() && s.is_dir())
        .or_else(|| app.path().home_dir().ok());
    if let Some(start) = start {
        dialog = dialog.set_directory(start);
    }
    dialog.pick_folder(move |folder| {
        let _ = tx.send(folder.and_then(|f| f.into_path().ok()));
    });
    rx.await.ok().flatten().map(|p| p.display().to_string())
}

/// Whether Warden starts when the person logs in.
#[tauri::command]
fn autostart_enabled(app: tauri::AppHandle) -> Result<bool, String> {
    app.autolaunch().is_enabled().map_err(|e| e.to_string())
}

/// Start Warden at login, or stop doing so.
#[tauri::command]
fn set_autostart(app: tauri::AppHandle, enabled: bool) -> Result<(), String> {
    let launcher = app.autolaunch();
    let done = if enabled {
        launcher.enable()
    } else {
        launcher.disable()
    };
    done.map_err(|e| format!("cannot change the start at login: {e}"))
}

async fn open_host() -> Result<Arc<Host>, ApiError> {
    Ok(Arc::new(
        Host::open_default(Vec::new(), warden_rules::load_rules).await?,
    ))
}

/// Follow the approvals that wait: the tray's count, and a notification for each new one
/// while the person is not looking at the window.
async fn watch_approvals(app: tauri::AppHandle, host: Arc<Host>, tray: Option<tray::Tray>) {
    let mut rx = host.subscribe();
    let mut waiting = waiting::Waiting::default();
    loop {
        let event = match rx.recv().await {
            Ok(event) => event,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "the approvals count missed events");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let before = waiting.count();
        let asked = waiting.apply(&event);
        if let Some(question) = asked
            && !window::in_front(&app)
        {
            notify::approval_waiting(&app, question);
        }
        if waiting.count() != before
            && let Some(tray) = &tray
            && let Err(e) = tray.show_count(waiting.count())
        {
            tracing::warn!(error = %e, "cannot update the tray icon");
        }
    }
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

/// Set on the one relaunch after a vanished instance (so a launch never loops).
const RELAUNCHED: &str = "WARDEN_DESKTOP_RELAUNCHED";

/// Replace this process with a fresh launch of the same program and arguments.
fn relaunch() {
    std::thread::sleep(Duration::from_millis(500));
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut command = std::process::Command::new(exe);
    command
        .args(std::env::args_os().skip(1))
        .env(RELAUNCHED, "1");
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = command.exec();
        eprintln!("warden-desktop: cannot start again: {error}");
    }
    #[cfg(not(unix))]
    if command.spawn().is_ok() {
        std::process::exit(0);
    }
}

fn main() {
    tracing_subscriber::fmt()
        // Plain text unless a person watches stderr at a terminal (as the CLI does).
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_env_filter(warden_agent::oauth::limit_log(
            tracing_subscriber::EnvFilter::try_from_env("WARDEN_LOG")
                .unwrap_or_else(|_| "warn".into()),
        ))
        .init();
    let result = tauri::Builder::default()
        // One app per desktop session: a second launch focuses the first window and ends.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            tracing::info!("a second launch: focusing this window");
            show_main(app);
        }))
        .plugin(tauri_plugin_dialog::init())
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_state_flags(window::REMEMBERED)
                .build(),
        )
        .plugin(
            tauri_plugin_autostart::Builder::new()
                .app_name("Warden")
                .build(),
        )
        .on_window_event({
            let saver = window::StateSaver::default();
            move |window, event| saver.on_event(window.app_handle(), event)
        })
        .setup(|app| {
            let core = tauri::async_runtime::block_on(open_host());
            if let Err(e) = &core {
                tracing::error!(code = %e.code, "Warden could not start: {}", e.message);
            }
            if let Ok(host) = &core {
                tauri::async_runtime::spawn(forward_events(app.handle().clone(), host.clone()));
                let tray = tray::Tray::build(app.handle())
                    .inspect_err(|e| tracing::warn!(error = %e, "no tray icon"))
                    .ok();
                tauri::async_runtime::spawn(watch_approvals(
                    app.handle().clone(),
                    host.clone(),
                    tray,
                ));
            }
            app.manage(Core(core));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            api,
            pick_folder,
            autostart_enabled,
            set_autostart
        ])
        .build(tauri::generate_context!());
    let app = match result {
        Ok(app) => app,
        Err(e) => {
            // The instance this launch found was quitting as it was asked to come forward:
            // once its name is free this launch can be the one instance, so start again.
            if e.to_string()
                .contains("failed to forward arguments to the running instance")
                && std::env::var_os(RELAUNCHED).is_none()
            {
                tracing::info!("the running instance went away; starting again");
                relaunch();
            }
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
