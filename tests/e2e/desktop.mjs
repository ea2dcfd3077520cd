// The desktop around the app, as the e2e test sees it: the tray icon read over D-Bus
// (the StatusNotifierItem a tray shows), a real notification daemon (dunst), and X
// windows through xdotool.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { root } from "./support.mjs";

const ITEM = "/org/ayatana/NotificationItem/tray_icon_tray_app_warden";

const run = (command, args) => spawnSync(command, args, { encoding: "utf8" });
export const xdo = (...args) => run("xdotool", args);

function gdbusCall(dest, path, method, ...args) {
  const call = ["call", "--session", "--timeout", "5", "--dest", dest, "--object-path", path, "--method", method];
  return run("gdbus", [...call, ...args]);
}

/** The bus names of running Warden apps (asked of the bus itself, so nothing can hang). */
function appBusNames() {
  const names = gdbusCall("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.ListNames").stdout;
  return [...names.matchAll(/'(:[0-9.]+)'/g)]
    .map(([, name]) => name)
    .filter((name) => {
      const reply = gdbusCall("org.freedesktop.DBus", "/", "org.freedesktop.DBus.GetConnectionUnixProcessID", name).stdout;
      const pid = /uint32 (\d+)/.exec(reply)?.[1];
      try {
        return pid && readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0].endsWith("/warden-desktop");
      } catch {
        return false;
      }
    });
}

/** The bus name that exports Warden's tray item, or null. */
function trayOwner() {
  for (const name of appBusNames()) {
    const probe = gdbusCall(name, ITEM, "org.freedesktop.DBus.Properties.Get", "org.kde.StatusNotifierItem", "Id");
    if (probe.status === 0) return name;
  }
  return null;
}

/**
 * What a tray shows of Warden's item: its label beside the icon, its icon (the file the
 * item names), and the labels of its menu.
 */
export function trayItem() {
  const owner = trayOwner();
  if (!owner) return null;
  const prop = (name) => {
    const out = gdbusCall(owner, ITEM, "org.freedesktop.DBus.Properties.Get", "org.kde.StatusNotifierItem", name).stdout;
    return /<'([^']*)'>/.exec(out)?.[1] ?? "";
  };
  const menu = gdbusCall(owner, `${ITEM}/Menu`, "com.canonical.dbusmenu.GetLayout", "--", "0", "-1", "@as []").stdout;
  const labels = [...menu.matchAll(/'label': <'([^']*)'>/g)].map((m) => m[1]);
  const icon = prop("IconName");
  return { label: prop("XAyatanaLabel"), icon: icon.startsWith("/") ? icon : join(prop("IconThemePath"), `${icon}.png`), menu: labels };
}

/**
 * dunst on the session bus and the display, with the project's test configuration, plus
 * a capture of every notification sent to it (dbus-monitor).
 */
export async function startNotificationDaemon() {
  const daemon = spawn("dunst", ["-config", join(root, "tests/e2e/dunstrc")], { stdio: "ignore" });
  const monitor = spawn("dbus-monitor", ["--session", "interface='org.freedesktop.Notifications',member='Notify'"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  let captured = "";
  monitor.stdout.on("data", (chunk) => (captured += chunk));
  const deadline = Date.now() + 10_000;
  while (run("dunstctl", ["is-paused"]).status !== 0) {
    if (Date.now() > deadline) throw new Error("dunst did not come up on the session bus");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    /** The notifications seen so far: each Notify call's strings (app, icon, summary, body…). */
    sent: () =>
      captured
        .split(/^method call/m)
        .slice(1)
        .map((call) => [...call.matchAll(/^\s+string "((?:[^"\\]|\\.)*)"/gm)].map((m) => m[1])),
    displayed: () => Number(run("dunstctl", ["count", "displayed"]).stdout.trim()),
    closeAll: () => run("dunstctl", ["close-all"]),
    /** dunst's popup window, as X knows it. */
    window: () => xdo("search", "--onlyvisible", "--class", "Dunst").stdout.trim().split("\n").filter(Boolean)[0] ?? null,
    stop() {
      monitor.kill();
      daemon.kill();
    },
  };
}

/** Where a window is and how big (xdotool's geometry). */
export function geometry(window) {
  const out = xdo("getwindowgeometry", "--shell", window).stdout;
  const value = (key) => Number(new RegExp(`^${key}=(\\d+)`, "m").exec(out)?.[1]);
  return { x: value("X"), y: value("Y"), width: value("WIDTH"), height: value("HEIGHT") };
}

/** The Warden window's X id. */
export function wardenWindow() {
  return xdo("search", "--onlyvisible", "--name", "^Warden$").stdout.trim().split("\n").filter(Boolean)[0] ?? null;
}

/** Another application's window, focused: the person is looking elsewhere. */
export async function lookElsewhere() {
  const other = spawn("xmessage", ["-title", "elsewhere", "-geometry", "+700+500", "another application"], {
    stdio: "ignore",
  });
  const deadline = Date.now() + 10_000;
  let id = "";
  while (!id) {
    if (Date.now() > deadline) throw new Error("the other window did not appear");
    await new Promise((r) => setTimeout(r, 100));
    id = xdo("search", "--onlyvisible", "--name", "^elsewhere$").stdout.trim().split("\n")[0] ?? "";
  }
  xdo("windowfocus", "--sync", id);
  return { id, close: () => other.kill() };
}

export const focusedWindowName = () => xdo("getwindowfocus", "getwindowname").stdout.trim();

/** The visible X window named exactly `name`, or null. */
export const windowNamed = (name) =>
  xdo("search", "--onlyvisible", "--name", `^${name}$`).stdout.trim().split("\n").filter(Boolean)[0] ?? null;

/**
 * Answer the GTK file chooser titled `title`, once it shows, as a person would: click into
 * it, type `path` in its location bar and press Enter; or press Escape when `path` is
 * null. Without a window manager GTK only takes keys once a click inside has given it the
 * focus.
 */
export async function answerChooser(title, path) {
  const deadline = Date.now() + 15_000;
  let dialog = null;
  while (!(dialog = windowNamed(title))) {
    if (Date.now() > deadline) throw new Error(`no window titled "${title}"`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // Drawn and listening: GTK maps the window before it has laid out its widgets.
  await new Promise((r) => setTimeout(r, 700));
  const { width, height } = geometry(dialog);
  xdo("windowfocus", "--sync", dialog);
  xdo("mousemove", "--window", dialog, String(Math.round(width / 2)), String(Math.round(height / 2)), "click", "1");
  if (path === null) {
    xdo("key", "--delay", "50", "Escape");
  } else {
    // Ctrl+L opens the location bar; a relative name is taken in the folder shown.
    xdo("key", "--delay", "300", "ctrl+l");
    xdo("type", "--delay", "30", path.endsWith("/") ? path : `${path}/`);
    xdo("key", "--delay", "300", "Return");
  }
}
