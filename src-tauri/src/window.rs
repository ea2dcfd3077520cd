//! The main window: bringing it up, whether the person is looking at it, and remembering
//! its size and place (tauri-plugin-window-state, saved shortly after every move or
//! resize so a crash or a killed process does not lose it).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tauri::{AppHandle, Manager, WebviewWindow, WindowEvent};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

pub const MAIN: &str = "main";

/// What is remembered: size, place and whether it was maximised (never hidden).
pub const REMEMBERED: StateFlags = StateFlags::SIZE
    .union(StateFlags::POSITION)
    .union(StateFlags::MAXIMIZED);

/// A burst of moves is saved once, this long after the last.
const SAVE_AFTER: Duration = Duration::from_millis(400);

fn main_window(app: &AppHandle) -> Option<WebviewWindow> {
    app.get_webview_window(MAIN)
}

/// Bring the main window to the front.
pub fn show_main(app: &AppHandle) {
    if let Some(window) = main_window(app) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// Whether the person can see the window and is using it (shown, not minimised, focused).
pub fn in_front(app: &AppHandle) -> bool {
    main_window(app).is_some_and(|w| {
        w.is_visible().unwrap_or(false)
            && !w.is_minimized().unwrap_or(false)
            && w.is_focused().unwrap_or(false)
    })
}

/// Saves the window's size and place after it moves or is resized.
#[derive(Clone, Default)]
pub struct StateSaver {
    generation: Arc<AtomicU64>,
}

impl StateSaver {
    pub fn on_event(&self, app: &AppHandle, event: &WindowEvent) {
        if !matches!(event, WindowEvent::Moved(_) | WindowEvent::Resized(_)) {
            return;
        }
        let mine = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let generation = self.generation.clone();
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            tokio::time::sleep(SAVE_AFTER).await;
            if generation.load(Ordering::SeqCst) == mine
                && let Err(e) = app.save_window_state(REMEMBERED)
            {
                tracing::warn!(error = %e, "cannot save the window's size and place");
            }
        });
    }
}
