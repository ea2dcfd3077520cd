// Shared set-up for the end-to-end tests: the scripted model server, a workspace, and
// paths to the built binaries. Each helper returns something to clean up.
import { spawn } from "node:child_process";
import { connect, createServer } from "node:net";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { createInterface } from "node:readline";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, "target");
export const bin = (name) => join(targetDir, "debug", name);
/** Where the e2e tests save screenshots: under the build folder, so a test run leaves the
 *  clone clean; `scripts/refresh-screenshots.sh` points it at docs/screenshots. */
export const screenshots = process.env.WARDEN_SCREENSHOTS ?? join(targetDir, "screenshots");
mkdirSync(screenshots, { recursive: true });

/** Start a process and resolve with its first stdout line. */
export function startWithFirstLine(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"], ...options });
  return new Promise((resolvePromise, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => resolvePromise({ child, line }));
    child.once("exit", (code) => reject(new Error(`${command} exited with ${code} before printing`)));
  });
}

/** The scripted model server: the agent's script, or another (`reviewer.json`). */
export async function scriptedModel(apiKey, script = "script.json") {
  const args = ["--script", join(root, "tests/e2e", script)];
  if (apiKey) args.push("--api-key", apiKey);
  const { child, line } = await startWithFirstLine(bin("scripted-model"), args);
  return { baseUrl: line.trim(), stop: () => child.kill() };
}

/** A fresh WARDEN_HOME and a workspace outside every tmp folder (tmp is writable in the
 *  sandbox, and a checkout may itself live under /tmp). */
export function freshProfile(label) {
  const base = join(homedir(), ".cache/warden-tests/e2e");
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, `${label}-`));
  const workspace = join(dir, "workspace");
  mkdirSync(workspace);
  writeFileSync(join(workspace, "README.md"), "# demo project\n");
  return { home: join(dir, "home"), workspace, dir };
}

/** The recorded steps of a session whose one command was approved once. */
export const APPROVED_SESSION_KINDS = [
  "sessionStarted",
  "userPrompt",
  "modelTurn",
  "toolCallProposed",
  "decision",
  "approvalRequested",
  "approvalAnswered",
  "processStarted",
  "toolResult",
  "modelTurn",
  "turnComplete",
];

/** Debian's Chromium, headless, quiet (no background traffic), plus `extraArgs`. */
export function launchChromium(extraArgs = []) {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...extraArgs,
    ],
  });
}

/** The `warden serve` URL (with its token) from the line it prints first. */
export const serveUrl = (line) => line.replace("Warden is serving on ", "").trim();

/** A free loopback port. */
export function freePort() {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** Resolve once something listens on `port`; reject after `deadline`. */
export function waitForPort(port, deadline = Date.now() + 20_000) {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.end();
        resolve();
      });
      socket.once("error", () => {
        if (Date.now() > deadline) reject(new Error(`port ${port} did not open`));
        else setTimeout(attempt, 200);
      });
    };
    attempt();
  });
}
