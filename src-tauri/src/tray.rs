//! The tray icon: how many approvals wait (a badge on the icon, a label beside it where
//! the tray shows labels, and the first line of its menu), and a menu to bring the window
//! up or quit. On Linux it is a StatusNotifierItem (libayatana-appindicator).

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Wry};

use crate::badge;
use crate::waiting::count_words;
use crate::window::show_main;

const ICON_PNG: &[u8] = include_bytes!("../../icons/icon.png");

/// The tray icon and what changes on it.
pub struct Tray {
    icon: TrayIcon<Wry>,
    status: MenuItem<Wry>,
    base: Vec<u8>,
}

impl Tray {
    /// Put Warden's icon in the tray, nothing waiting yet.
    pub fn build(app: &AppHandle) -> tauri::Result<Self> {
        let full = Image::from_bytes(ICON_PNG)?;
        let base = badge::shrink(full.rgba(), full.width(), full.height());
        let status = MenuItem::with_id(app, "status", count_words(0), false, None::<&str>)?;
        let show = MenuItem::with_id(app, "show", "Show Warden", true, None::<&str>)?;
        let quit = MenuItem::with_id(app, "quit", "Quit Warden", true, None::<&str>)?;
        let separator = PredefinedMenuItem::separator(app)?;
        let menu = Menu::with_items(app, &[&status, &separator, &show, &quit])?;
        // Linux trays read the icon from a file: keep it in this user's cache, not a
        // /tmp folder every user and app shares.
        let pictures = app.path().app_cache_dir()?.join("tray");
        let icon = TrayIconBuilder::with_id("warden")
            .temp_dir_path(pictures)
            .icon(Image::new_owned(base.clone(), badge::SIZE, badge::SIZE))
            .tooltip("Warden")
            .menu(&menu)
            .show_menu_on_left_click(false)
            .on_menu_event(|app, event| match event.id().as_ref() {
                "show" | "status" => show_main(app),
                "quit" => app.exit(0),
                _ => {}
            })
            .on_tray_icon_event(|tray, event| {
                if let TrayIconEvent::Click {
                    button: MouseButton::Left,
                    button_state: MouseButtonState::Up,
                    ..
                } = event
                {
                    show_main(tray.app_handle());
                }
            })
            .build(app)?;
        Ok(Self { icon, status, base })
    }

    /// Show how many approvals wait.
    pub fn show_count(&self, count: usize) -> tauri::Result<()> {
        let words = count_words(count);
        self.status.set_text(&words)?;
        self.icon.set_icon(Some(Image::new_owned(
            badge::with_badge(&self.base, count),
            badge::SIZE,
            badge::SIZE,
        )))?;
        // The label beside the icon (Linux panels that show one; the macOS menu bar).
        self.icon
            .set_title((count > 0).then(|| badge::badge_text(count)))?;
        self.icon.set_tooltip(Some(format!("Warden: {words}")))?;
        Ok(())
    }
}
