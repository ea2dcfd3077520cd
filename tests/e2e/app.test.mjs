// The real desktop app under Xvfb: WebdriverIO → tauri-driver → WebKitWebDriver → Warden.
// Run through tests/e2e/run-app.sh, which provides dbus, an unlocked keyring and Xvfb.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { remote } from "webdriverio";
import {
  APPROVED_SESSION_KINDS,
  bin,
  freePort,
  freshProfile,
  root,
  screenshots,
  scriptedModel,
  waitForPort,
} from "./support.mjs";
import {
  answerChooser,
  focusedWindowName,
  geometry,
  lookElsewhere,
  startNotificationDaemon,
  trayItem,
  wardenWindow,
  windowNamed,
  xdo,
} from "./desktop.mjs";

const API_KEY = "sk-e2e-only-accepted-key";
const PORT = 4444;
let model, driver, profile, notifications;

async function openApp(port = PORT) {
  return remote({
    hostname: "127.0.0.1",
    port,
    logLevel: "error",
    capabilities: { "tauri:options": { application: bin("warden-desktop") } },
  });
}

const byId = (app, id) => app.$(`[data-testid="${id}"]`);

/** The app processes running on the profile `home` (their WARDEN_HOME). */
function appPids(home) {
  const pids = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const program = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0];
      const env = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      if (program.endsWith("/warden-desktop") && env.includes(`WARDEN_HOME=${home}`)) pids.push(Number(pid));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return pids;
}

/**
 * End the WebDriver session and wait for the app to quit. WebKitWebDriver closes the app
 * when the session ends, but an app left behind (its driver stopped first) would keep
 * the test runner's output open and hang it: one still there after 10 s is killed.
 */
async function closeApp(app, home) {
  await app.deleteSession();
  const deadline = Date.now() + 10_000;
  while (appPids(home).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of appPids(home)) {
    console.error(`app ${pid} on ${home} still running 10 s after its session ended: killed`);
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  // Its one-instance name on the session bus goes a moment after the process.
  while (Date.now() < deadline + 5_000) {
    const owned = spawnSync("gdbus", [
      "call", "--session", "--dest", "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus",
      "--method", "org.freedesktop.DBus.NameHasOwner", "dev.warden.Warden.SingleInstance",
    ], { encoding: "utf8" }).stdout;
    if (!owned.includes("true")) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** WebKit's snapshot can lag the DOM under Xvfb: let it paint first. */
async function screenshot(app, name) {
  await app.pause(700);
  await app.saveScreenshot(join(screenshots, name));
}

/** Empty a field, then type into it (WebKitWebDriver's setValue appends). */
async function fill(app, id, value) {
  const field = await byId(app, id);
  await field.waitForEnabled({ timeout: 20_000 });
  await app.execute((el) => {
    el.value = "";
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }, field);
  if (value) await field.addValue(value);
}

before(async () => {
  // The model only accepts API_KEY, so a session works only if Settings stored the key in
  // the real keyring and the core read it back.
  model = await scriptedModel(API_KEY);
  profile = freshProfile("app");
  // The app's own desktop files (window state, the login entry) in the profile, not ~.
  process.env.XDG_CONFIG_HOME = join(profile.dir, "config");
  notifications = await startNotificationDaemon();
  // The app's HOME too: the login entry is written under ~/.config/autostart.
  const osHome = join(profile.dir, "os-home");
  mkdirSync(osHome);
  driver = spawn("tauri-driver", ["--port", String(PORT)], {
    stdio: "inherit",
    env: {
      ...process.env,
      HOME: osHome,
      WARDEN_HOME: profile.home,
      OPENAI_API_KEY: "",
      // The "system browser" a sign-in opens: follows the redirects back to the app.
      WARDEN_BROWSER: join(root, "tests/e2e/follow-redirects.sh"),
    },
  });
  await waitForPort(PORT);
});

after(() => {
  driver?.kill();
  model?.stop();
  notifications?.stop();
});

test("settings, a session with an approval, the timeline, and history after a restart", async () => {
  let app = await openApp();
  try {
    // First run: no key yet, so the Session view says so before a task is typed, and
    // leads to Settings.
    const firstRun = await byId(app, "first-run");
    await firstRun.waitForDisplayed({ timeout: 20_000 });
    assert.match(await firstRun.getText(), /No API key is stored for https:\/\/api\.openai\.com\/v1 yet/);
    await screenshot(app, "app-first-run.png");
    await (await byId(app, "first-run-settings")).click();
    await fill(app, "base-url", model.baseUrl);
    await fill(app, "model", "scripted");
    // A wrong key fails the connection test with its code; the right one answers.
    await fill(app, "api-key", "sk-wrong");
    await (await byId(app, "test-connection")).click();
    const refused = await byId(app, "settings-error");
    await refused.waitForDisplayed({ timeout: 20_000 });
    assert.match(await refused.getText(), /model_unauthorized/);
    await fill(app, "api-key", API_KEY);
    await (await byId(app, "test-connection")).click();
    const answered = await byId(app, "test-result");
    await answered.waitForDisplayed({ timeout: 20_000 });
    assert.match(await answered.getText(), /scripted answered in \d+ ms/);
    await (await byId(app, "save-settings")).click();
    await (await byId(app, "saved")).waitForDisplayed({ timeout: 15_000 });
    assert.match(await (await byId(app, "key-source")).getText(), /stored in the OS keyring/);
    assert.match(await (await byId(app, "sandbox-status")).getText(), /namespaces \+ Landlock ABI \d+ \+ seccomp, all enforced/);
    await screenshot(app, "app-settings.png");

    await (await byId(app, "nav-session")).click();
    await fill(app, "workspace", profile.workspace);
    await fill(app, "task", "Please create a file for me");
    await (await byId(app, "start")).click();

    const card = await byId(app, "approval-card");
    await card.waitForDisplayed({ timeout: 30_000 });
    assert.equal(await (await byId(app, "approval-command")).getText(), "touch created-by-agent.txt");
    assert.ok(!existsSync(join(profile.workspace, "created-by-agent.txt")));
    await screenshot(app, "app-approval.png");

    await (await byId(app, "approve-once")).click();
    await app.waitUntil(async () => (await (await byId(app, "transcript")).getText()).includes("Done. The command said: exit code: 0"), {
      timeout: 30_000,
      timeoutMsg: "the agent's final answer did not appear",
    });
    assert.ok(existsSync(join(profile.workspace, "created-by-agent.txt")));
    await screenshot(app, "app-session.png");

    await (await byId(app, "open-timeline")).click();
    await (await app.$('[data-kind="turnComplete"]')).waitForDisplayed({ timeout: 15_000 });
    const rows = await app.$$('[data-testid="timeline-row"]');
    const kinds = [];
    for (const row of rows) kinds.push(await row.getAttribute("data-kind"));
    assert.deepEqual(kinds, APPROVED_SESSION_KINDS);
    await screenshot(app, "app-timeline.png");
  } finally {
    await closeApp(app, profile.home);
  }

  // Close and reopen: the history and the timeline come back from the audit store.
  app = await openApp();
  try {
    await (await byId(app, "nav-history")).click();
    const row = await byId(app, "history-row");
    await row.waitForDisplayed({ timeout: 20_000 });
    assert.match(await row.getText(), /Please create a file for me/);
    await screenshot(app, "app-history.png");
    await row.click();
    await (await app.$('[data-kind="turnComplete"]')).waitForDisplayed({ timeout: 15_000 });
    const kinds = [];
    for (const r of await app.$$('[data-testid="timeline-row"]')) kinds.push(await r.getAttribute("data-kind"));
    // Closing the window ends the app; the recorded steps are all still there.
    assert.deepEqual(kinds.slice(0, APPROVED_SESSION_KINDS.length), APPROVED_SESSION_KINDS);
  } finally {
    await closeApp(app, profile.home);
  }
});

test("auto-review: the reviewer's key in the real keyring, its approval in the timeline, its verdict on a card", async () => {
  // The reviewer accepts only its own key: reviews work only through the keyring entry.
  const REVIEWER_KEY = "sk-reviewer-desktop-e2e";
  const reviewer = await scriptedModel(REVIEWER_KEY, "reviewer.json");
  const app = await openApp();
  try {
    await (await byId(app, "nav-settings")).click();
    await (await byId(app, "review-mode")).waitForEnabled({ timeout: 20_000 });
    await (await byId(app, "review-mode")).selectByAttribute("value", "model");
    await fill(app, "review-base-url", reviewer.baseUrl);
    await fill(app, "review-model", "reviewer-small");
    await fill(app, "review-api-key", REVIEWER_KEY);
    await (await byId(app, "save-auto-review")).click();
    await (await byId(app, "review-saved")).waitForDisplayed({ timeout: 15_000 });
    assert.match(await (await byId(app, "review-key-source")).getText(), /its own, stored in the OS keyring/);
    await screenshot(app, "app-auto-review-settings.png");

    await (await byId(app, "nav-session")).click();
    await fill(app, "workspace", profile.workspace);
    await fill(app, "task", "print the first line of the readme");
    await (await byId(app, "start")).click();
    const transcript = await byId(app, "transcript");
    await app.waitUntil(async () => (await transcript.getText()).includes("First line: exit code: 0"), {
      timeout: 30_000,
      timeoutMsg: "the reviewed command did not run",
    });
    assert.match(await (await byId(app, "tool-review")).getText(), /auto-review \(reviewer-small\): approve/);

    await fill(app, "follow-up", "upload the notes");
    await app.keys("Enter");
    const verdict = await byId(app, "approval-review");
    await verdict.waitForDisplayed({ timeout: 30_000 });
    assert.match(await verdict.getText(), /Auto-review recommends denying \(risk high\): it sends a workspace file to a paste site/);
    await screenshot(app, "app-auto-review-card.png");
    await (await byId(app, "deny")).click();
    await app.waitUntil(async () => (await transcript.getText()).includes("Upload:"), { timeout: 30_000 });

    await (await byId(app, "open-timeline")).click();
    const approved = await app.$('[data-kind="autoReview"]');
    await approved.waitForDisplayed({ timeout: 15_000 });
    assert.match(await approved.getText(), /auto-review: approve[\s\S]*reads the first line of README\.md/);
    await screenshot(app, "app-auto-review-timeline.png");
  } finally {
    await closeApp(app, profile.home);
    reviewer.stop();
  }
});

test("triage: a pasted alert finds the session in the app and opens its timeline", async () => {
  const hostname = readFileSync("/proc/sys/kernel/hostname", "utf8").trim();
  const alert = {
    "@timestamp": new Date().toISOString(),
    "host.hostname": hostname,
    "process.command_line": "awk NR==1 README.md",
    "process.executable": "/usr/bin/awk",
    "rule.name": "Script interpreter started by an agent",
  };
  const app = await openApp();
  try {
    await (await byId(app, "nav-triage")).click();
    await fill(app, "triage-alert", JSON.stringify(alert));
    await (await byId(app, "triage-run")).click();
    const result = await byId(app, "triage-result");
    await result.waitForDisplayed({ timeout: 30_000 });
    assert.match(await (await byId(app, "triage-verdict")).getText(), /Expected agent behaviour/);
    assert.match(await (await byId(app, "triage-match")).getText(), /the same command line: Warden recorded `awk 'NR==1' README\.md`/);
    await screenshot(app, "app-triage.png");
    await (await app.$('[data-testid="triage-match"] button')).click();
    const focused = await app.$('[data-testid="timeline-row"].focused');
    await focused.waitForDisplayed({ timeout: 15_000 });
    assert.ok(["toolCallProposed", "processStarted"].includes(await focused.getAttribute("data-kind")));
  } finally {
    await closeApp(app, profile.home);
  }
});

test("insights: the app's charts count sessions run from the terminal, and a suggestion applied in the app stops the question", async () => {
  // A profile of its own with known counts: three `warden run`s on a terminal (`script`
  // gives a pseudo-terminal) where the person approves the same command.
  const own = freshProfile("app-insights");
  mkdirSync(own.home, { recursive: true });
  writeFileSync(join(own.home, "config.toml"), `[model]\nbase_url = "${model.baseUrl}"\nname = "scripted"\n`);
  const env = { ...process.env, WARDEN_HOME: own.home, OPENAI_API_KEY: API_KEY };
  for (let i = 0; i < 3; i++) {
    rmSync(join(own.workspace, "created-by-agent.txt"), { force: true });
    const inner = `${bin("warden")} run --cwd '${own.workspace}' 'create a file'`;
    const run = spawnSync("script", ["-q", "-e", "-c", inner, "/dev/null"], { env, input: "y\n", encoding: "utf8" });
    assert.match(run.stdout, /approved once by user/, run.stdout + run.stderr);
  }
  const port = PORT + 10;
  const second = spawn("tauri-driver", ["--port", String(port), "--native-port", String(port + 1)], { stdio: "inherit", env });
  try {
    await waitForPort(port);
    const app = await openApp(port);
    try {
      await (await byId(app, "nav-insights")).click();
      const sessions = await byId(app, "insights-sessions");
      await sessions.waitForDisplayed({ timeout: 20_000 });
      assert.equal(await sessions.getText(), "3");
      assert.equal(await (await byId(app, "insights-share")).getText(), "100 %");
      assert.match(await (await byId(app, "table-tools")).getText(), /shell\s*3$/);
      assert.match(await (await byId(app, "table-decisions")).getText(), /allow\s*user\s*3$/);
      assert.ok(await (await byId(app, "chart-decisions")).isDisplayed());
      const suggestion = await app.$('[data-testid="insights-suggestion"]*=Allow `touch created-by-agent.txt`');
      assert.match(await suggestion.getText(), /approved 3 times, never refused/);
      await screenshot(app, "app-insights.png");
      await (await suggestion.$('[data-testid="insights-apply"]')).click();
      await (await byId(app, "insights-applied")).waitForDisplayed({ timeout: 15_000 });
      assert.match(readFileSync(join(own.home, "rules/default.rules"), "utf8"), /^prefix_rule\(pattern = \["touch", "created-by-agent.txt"\], decision = "allow"/);

      // The next identical command, started in the app, runs without a question.
      rmSync(join(own.workspace, "created-by-agent.txt"), { force: true });
      await (await byId(app, "nav-session")).click();
      await fill(app, "workspace", own.workspace);
      await fill(app, "task", "Please create a file for me");
      await (await byId(app, "start")).click();
      await app.waitUntil(async () => (await (await byId(app, "transcript")).getText()).includes("Done. The command said: exit code: 0"), {
        timeout: 30_000,
        timeoutMsg: "the session did not finish without a question",
      });
      assert.equal((await app.$$('[data-testid="approval-card"]')).length, 0);
      assert.ok(existsSync(join(own.workspace, "created-by-agent.txt")));
    } finally {
      await closeApp(app, own.home);
    }
  } finally {
    second.kill();
  }
});

/** The X windows' names on this display (xwininfo). */
function windowNames() {
  const tree = spawnSync("xwininfo", ["-root", "-tree"], { encoding: "utf8" }).stdout ?? "";
  return [...tree.matchAll(/^\s+0x[0-9a-f]+ "([^"]*)"/gm)].map((m) => m[1]);
}

const CHOOSER = "Choose the workspace folder";

test("desktop: a second launch focuses the first window, and Browse chooses the workspace in the native folder picker", async () => {
  const app = await openApp();
  try {
    await (await byId(app, "nav-session")).click();
    await fill(app, "workspace", profile.workspace);

    // A second launch on the same desktop ends at once and brings the first window up.
    const second = spawnSync(bin("warden-desktop"), [], {
      env: { ...process.env, WARDEN_HOME: profile.home },
      timeout: 20_000,
      encoding: "utf8",
    });
    assert.equal(second.status, 0, `the second launch did not end by itself: ${second.error ?? second.stderr}`);
    assert.equal(windowNames().filter((n) => n === "Warden").length, 1, "one Warden window");
    assert.equal(xdo("getwindowfocus", "getwindowname").stdout.trim(), "Warden");
    assert.equal(await (await byId(app, "workspace")).getValue(), profile.workspace, "the first window still works");

    // Browse opens the system's folder chooser (GTK), titled for the workspace; the folder
    // chosen in it becomes the workspace, and cancelling it changes nothing.
    const workspaceIs = async (want) =>
      app.waitUntil(async () => (await (await byId(app, "workspace")).getValue()) === want, {
        timeout: 15_000,
        timeoutMsg: `the workspace field did not become ${want}`,
      });
    const chosen = join(profile.dir, "chosen by the picker");
    const sibling = join(profile.dir, "a sibling");
    mkdirSync(chosen);
    mkdirSync(sibling);
    // With nothing typed it opens at the home folder; a full path works from anywhere.
    await fill(app, "workspace", "");
    await (await byId(app, "pick-folder")).click();
    await answerChooser(CHOOSER, chosen);
    await workspaceIs(chosen);
    assert.equal(windowNamed(CHOOSER), null, "the chooser closed");
    // A name typed in the chooser is taken in the folder it opened at: the one typed.
    await fill(app, "workspace", profile.dir);
    await (await byId(app, "pick-folder")).click();
    await answerChooser(CHOOSER, "a sibling");
    await workspaceIs(sibling);
    await (await byId(app, "pick-folder")).click();
    await answerChooser(CHOOSER, null);
    await app.waitUntil(async () => windowNamed(CHOOSER) === null, { timeout: 15_000, timeoutMsg: "the chooser stayed open" });
    assert.equal(await (await byId(app, "workspace")).getValue(), sibling, "cancelling keeps the folder");
  } finally {
    await closeApp(app, profile.home);
  }
});

/** Wait for the tray item to say `words` first in its menu and `label` beside its icon. */
async function trayShows(app, words, label) {
  await app.waitUntil(async () => trayItem()?.menu[0] === words && trayItem()?.label === label, {
    timeout: 20_000,
    timeoutMsg: `the tray did not show "${words}" / "${label}": ${JSON.stringify(trayItem())}`,
  });
}

const approvalNotices = () => notifications.sent().filter((strings) => strings.includes("Warden"));

test("desktop: the tray counts waiting approvals; one waiting while the window is in the background is notified, and its click opens the card", async () => {
  const app = await openApp();
  let elsewhere;
  try {
    // Every question to the person (the auto-review test left a reviewer on).
    await (await byId(app, "nav-settings")).click();
    await (await byId(app, "review-mode")).waitForEnabled({ timeout: 20_000 });
    await (await byId(app, "review-mode")).selectByAttribute("value", "off");
    await (await byId(app, "save-auto-review")).click();
    await (await byId(app, "review-saved")).waitForDisplayed({ timeout: 15_000 });
    await (await byId(app, "nav-session")).click();
    await trayShows(app, "No approvals waiting", "");
    const quietIcon = readFileSync(trayItem().icon);
    notifications.closeAll();
    const before = approvalNotices().length;

    // Looking at the window: the tray counts the question, no notification.
    xdo("windowactivate", "--sync", wardenWindow());
    xdo("windowfocus", "--sync", wardenWindow());
    await fill(app, "workspace", profile.workspace);
    await fill(app, "task", "Please create a file for me");
    await (await byId(app, "start")).click();
    await (await byId(app, "approval-card")).waitForDisplayed({ timeout: 30_000 });
    await trayShows(app, "1 approval waiting", "1");
    assert.notDeepEqual(readFileSync(trayItem().icon), quietIcon, "the icon carries a badge");
    copyFileSync(trayItem().icon, join(screenshots, "tray-icon.png"));
    await (await byId(app, "approve-once")).click();
    await trayShows(app, "No approvals waiting", "");
    assert.deepEqual(readFileSync(trayItem().icon), quietIcon, "the badge is gone");
    assert.equal(approvalNotices().length, before, "no notification while the person looks at the window");

    // Another application in front: the next question is notified by the desktop.
    elsewhere = await lookElsewhere();
    assert.equal(focusedWindowName(), "elsewhere");
    await app.execute(() => {
      const field = document.querySelector('[data-testid="follow-up"]');
      field.value = "Now create a file for me again";
      field.dispatchEvent(new Event("input", { bubbles: true }));
      field.form.requestSubmit();
    });
    await trayShows(app, "1 approval waiting", "1");
    await app.waitUntil(async () => approvalNotices().length > before && notifications.window() !== null, {
      timeout: 20_000,
      timeoutMsg: `no notification shown: ${JSON.stringify(notifications.sent())}`,
    });
    const notice = approvalNotices().at(-1);
    assert.ok(notice.includes("Warden: approval needed"), JSON.stringify(notice));
    assert.ok(notice.includes("touch created-by-agent.txt"), JSON.stringify(notice));
    assert.equal(focusedWindowName(), "elsewhere", "the notification does not steal focus");

    // A click on the notification brings Warden up on that card.
    const popup = geometry(notifications.window());
    xdo("mousemove", String(popup.x + 40), String(popup.y + Math.floor(popup.height / 2)), "click", "1");
    await app.waitUntil(async () => focusedWindowName() === "Warden", {
      timeout: 15_000,
      timeoutMsg: `focus stayed on ${focusedWindowName()}`,
    });
    const card = await app.$('[data-testid="approval-card"][data-focused="true"]');
    await card.waitForDisplayed({ timeout: 15_000 });
    assert.equal(await (await card.$('[data-testid="approval-command"]')).getText(), "touch created-by-agent.txt");
    assert.equal(notifications.displayed(), 0, "the clicked notification is closed");
    await screenshot(app, "app-notification-card.png");
    await (await byId(app, "approve-once")).click();
    await trayShows(app, "No approvals waiting", "");
  } finally {
    elsewhere?.close();
    await closeApp(app, profile.home);
  }
});

test("desktop: the window comes back at the size and place it was left, and start at login is a setting", async () => {
  let app = await openApp();
  const stateFile = join(process.env.XDG_CONFIG_HOME, "dev.warden.Warden/.window-state.json");
  const placed = { x: 40, y: 30, width: 960, height: 700 };
  try {
    await (await byId(app, "nav-settings")).click();
    const window = wardenWindow();
    xdo("windowsize", "--sync", window, String(placed.width), String(placed.height));
    xdo("windowmove", "--sync", window, String(placed.x), String(placed.y));
    await app.waitUntil(
      async () => existsSync(stateFile) && JSON.parse(readFileSync(stateFile, "utf8")).main?.width === placed.width,
      { timeout: 10_000, timeoutMsg: `the size was not saved in ${stateFile}` },
    );

    // Start at login: a desktop entry in the autostart folder, removed when turned off.
    const entry = join(profile.dir, "os-home/.config/autostart/Warden.desktop");
    assert.ok(!existsSync(entry));
    const box = await byId(app, "autostart");
    await box.waitForEnabled({ timeout: 15_000 });
    assert.equal(await box.isSelected(), false);
    await box.click();
    await app.waitUntil(async () => existsSync(entry), { timeout: 10_000, timeoutMsg: `no ${entry}` });
    assert.match(readFileSync(entry, "utf8"), new RegExp(`^Exec=.*${bin("warden-desktop")}`, "m"));
    await app.execute(() => document.querySelectorAll("main, html").forEach((el) => (el.scrollTop = el.scrollHeight)));
    await screenshot(app, "app-desktop-settings.png");
    await box.click();
    await app.waitUntil(async () => !existsSync(entry), { timeout: 10_000, timeoutMsg: `${entry} was left` });
  } finally {
    await closeApp(app, profile.home);
  }
  app = await openApp();
  try {
    await (await byId(app, "nav-session")).waitForDisplayed({ timeout: 20_000 });
    const back = geometry(wardenWindow());
    assert.deepEqual(
      { width: back.width, height: back.height },
      { width: placed.width, height: placed.height },
      "the size is remembered",
    );
    assert.deepEqual({ x: back.x, y: back.y }, { x: placed.x, y: placed.y }, "the place is remembered");
  } finally {
    await closeApp(app, profile.home);
  }
});

test("sign-ins: Connect in the app's Settings signs in to a remote MCP server through the browser, Sign out forgets it", async () => {
  const port = await freePort();
  const oauth = spawn(join(root, ".venv/bin/python3"), [join(root, "tests/mcp/oauth_server.py"), "--port", String(port)], {
    stdio: "ignore",
  });
  await waitForPort(port);
  mkdirSync(profile.home, { recursive: true });
  appendFileSync(join(profile.home, "config.toml"), `\n[mcp_servers.docs]\nurl = "http://127.0.0.1:${port}/mcp"\n`);
  const app = await openApp();
  try {
    await (await byId(app, "nav-settings")).click();
    const row = await app.$('[data-testid="signin-row"][data-target="mcp:docs"]');
    await row.waitForDisplayed({ timeout: 20_000 });
    assert.match(await (await row.$('[data-testid="signin-state"]')).getText(), /Not signed in/);
    await (await row.$('[data-testid="connect"]')).click();
    await app.waitUntil(async () => /Signed in as alice@corp\.example with/.test(await (await row.$('[data-testid="signin-state"]')).getText()), {
      timeout: 30_000,
      timeoutMsg: "the sign-in did not complete",
    });
    assert.match(await (await row.$('[data-testid="signin-state"]')).getText(), /from the OS keyring/);
    await row.scrollIntoView();
    await screenshot(app, "app-signin.png");
    await (await row.$('[data-testid="sign-out"]')).click();
    await app.waitUntil(async () => /Not signed in/.test(await (await row.$('[data-testid="signin-state"]')).getText()), {
      timeout: 15_000,
    });
  } finally {
    await closeApp(app, profile.home);
    oauth.kill();
    // Later tests run without the remote server.
    const config = readFileSync(join(profile.home, "config.toml"), "utf8");
    writeFileSync(join(profile.home, "config.toml"), config.replace(/\n\[mcp_servers\.docs\][^[]*/, "\n"));
  }
});

/** Start the app on a profile of its own and return the text of its start-up error banner. */
async function startupError(home, port, screenshotName) {
  const second = spawn("tauri-driver", ["--port", String(port), "--native-port", String(port + 1)], {
    stdio: "inherit",
    env: { ...process.env, WARDEN_HOME: home },
  });
  try {
    await waitForPort(port);
    const app = await openApp(port);
    try {
      const banner = await byId(app, "startup-error");
      await banner.waitForDisplayed({ timeout: 20_000 });
      if (screenshotName) await screenshot(app, screenshotName);
      return await banner.getText();
    } finally {
      await closeApp(app, home);
    }
  } finally {
    second.kill();
  }
}

test("a corrupt audit database is reported in the window and left untouched", async () => {
  const broken = freshProfile("app-corrupt");
  mkdirSync(broken.home, { recursive: true });
  const db = join(broken.home, "audit.sqlite");
  const garbage = "this file was damaged, but it is still someone's evidence\n".repeat(20);
  writeFileSync(db, garbage);
  const banner = await startupError(broken.home, PORT + 2, "app-corrupt-db.png");
  assert.match(banner, /is not a readable SQLite database .*left untouched.*\(audit_corrupt\)/);
  assert.equal(readFileSync(db, "utf8"), garbage);
});

test("a mistake in config.toml is shown in the window with its line and key", async () => {
  const mistaken = freshProfile("app-config");
  mkdirSync(mistaken.home, { recursive: true });
  const config = join(mistaken.home, "config.toml");
  writeFileSync(config, '# mine\nsandbox = "read-only"\n\n[network]\nmode = "open"\n');
  const banner = await startupError(mistaken.home, PORT + 4, "app-config-error.png");
  assert.ok(
    banner.includes(`${config}: line 5, key \`network.mode\`: unknown variant \`open\`, expected \`proxy\` or \`deny\``),
    banner,
  );
});
