//! A system notification when an approval waits and the person is not looking at the
//! window. Clicking it (or its "Show" button) brings the window up on that question's card.
//!
//! notify-rust speaks the freedesktop notification protocol directly; Tauri's notification
//! plugin wraps the same crate but does not report clicks on desktop platforms.

use serde_json::json;
use tauri::{AppHandle, Emitter};

use crate::waiting::Question;
use crate::window::show_main;

/// The event the UI listens to, to open a question's card.
pub const SHOW_APPROVAL: &str = "warden://show-approval";

/// The action a click on the notification's body invokes (freedesktop's convention).
const CLICK: &str = "default";

fn title(question: &Question) -> &'static str {
    if question.tool == "network" {
        "Warden: network access needs approval"
    } else {
        "Warden: approval needed"
    }
}

/// Show the notification, and bring up the card if the person clicks it. Runs the wait on
/// a thread of its own: the notification protocol blocks until the click or the close.
pub fn approval_waiting(app: &AppHandle, question: Question) {
    let app = app.clone();
    std::thread::spawn(move || {
        let shown = notify_rust::Notification::new()
            .appname("Warden")
            .summary(title(&question))
            .body(&question.summary)
            .icon("warden-desktop")
            .action(CLICK, "Show")
            .hint(notify_rust::Hint::DesktopEntry("Warden".into()))
            .hint(notify_rust::Hint::Category("im.received".into()))
            .show();
        let handle = match shown {
            Ok(handle) => handle,
            Err(e) => {
                tracing::warn!(error = %e, "cannot show a notification (no notification service?)");
                return;
            }
        };
        handle.wait_for_action(|action| {
            if action == CLICK {
                let main = app.clone();
                let _ = app.run_on_main_thread(move || show_main(&main));
                let payload =
                    json!({ "sessionId": question.session_id, "callId": question.call_id });
                if let Err(e) = app.emit(SHOW_APPROVAL, payload) {
                    tracing::warn!(error = %e, "cannot ask the window to show the approval");
                }
            }
        });
    });
}
