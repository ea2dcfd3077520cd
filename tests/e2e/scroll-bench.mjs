// Benchmark (not in CI): the Audit view with 100,000 results in a real Chromium.
// Seeds a store through the real write path, serves it with `warden serve`, loads every
// page of results by scrolling (500 per page, as a person would), then scrolls the
// virtualized list a screenful per frame and reports frame times and the page's heap.
//
//   cargo build -p warden-cli && cargo build --release -p warden-audit --example seed
//   npm run build -w ui && node tests/e2e/scroll-bench.mjs [EVENTS]
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { bin, freshProfile, launchChromium, root, serveUrl, startWithFirstLine, targetDir } from "./support.mjs";

const events = Number(process.argv[2] ?? 100_000);
const profile = freshProfile("scroll");
mkdirSync(profile.home, { recursive: true });
const seeded = spawnSync(
  join(targetDir, "release/examples/seed"),
  [join(profile.home, "audit.sqlite"), String(events)],
  { encoding: "utf8" },
);
if (seeded.status !== 0) throw new Error(`seeding failed: ${seeded.stderr}`);
console.log(`seeded: ${seeded.stdout.trim()}`);

const { child: serve, line } = await startWithFirstLine(
  bin("warden"),
  ["serve", "--ui-dir", join(root, "ui/dist")],
  { env: { ...process.env, WARDEN_HOME: profile.home, OPENAI_API_KEY: "" } },
);
const url = serveUrl(line);
const browser = await launchChromium(["--enable-precise-memory-info"]);
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 820 } });
  await page.goto(url);
  await page.getByTestId("nav-audit").click();
  await page.getByTestId("audit-go").click();
  await page.getByTestId("audit-row").first().waitFor();
  const list = page.getByTestId("audit-results");

  // Load every page the way a person does: scrolling to the end asks for the next one.
  const loading = Date.now();
  let count = 0;
  for (;;) {
    const text = await page.getByTestId("audit-count").textContent();
    count = Number.parseInt(text ?? "0", 10);
    if (!text?.includes("+")) break;
    await list.evaluate((el) => {
      el.scrollTop = el.scrollHeight;
      el.dispatchEvent(new Event("scroll"));
    });
    await page.waitForFunction(
      (before) => Number.parseInt(document.querySelector('[data-testid="audit-count"]')?.textContent ?? "0", 10) > before ||
        !document.querySelector('[data-testid="audit-count"]')?.textContent?.includes("+"),
      count,
    );
  }
  const loadSeconds = (Date.now() - loading) / 1000;

  // Scroll a screenful (about 15 rows) per frame from the top to the bottom and back.
  const result = await list.evaluate(async (el) => {
    el.scrollTop = 0;
    const frames = [];
    let previous = performance.now();
    let direction = 1;
    let rowsMax = 0;
    for (let i = 0; i < 600; i++) {
      await new Promise((done) => requestAnimationFrame(done));
      const now = performance.now();
      frames.push(now - previous);
      previous = now;
      el.scrollTop += direction * 520;
      if (el.scrollTop + el.clientHeight >= el.scrollHeight - 1) direction = -1;
      if (el.scrollTop <= 0) direction = 1;
      rowsMax = Math.max(rowsMax, el.querySelectorAll('[data-testid="audit-row"]').length);
      // Jump across the whole list every 100 frames, as a dragged scrollbar does.
      if (i % 100 === 50) el.scrollTop = Math.random() * el.scrollHeight;
    }
    frames.shift();
    frames.sort((a, b) => a - b);
    const at = (p) => frames[Math.round((frames.length - 1) * p)];
    return {
      p50: at(0.5),
      p95: at(0.95),
      p99: at(0.99),
      max: frames[frames.length - 1],
      over33: frames.filter((f) => f > 33.4).length,
      frames: frames.length,
      rowsMax,
      heapMB: performance.memory ? performance.memory.usedJSHeapSize / 1048576 : null,
    };
  });
  console.log(`results loaded: ${count} rows in ${loadSeconds.toFixed(1)} s (pages of 500 while scrolling)`);
  console.log(
    `scrolling ${result.frames} frames: frame time p50 ${result.p50.toFixed(1)} ms, p95 ${result.p95.toFixed(1)} ms, ` +
      `p99 ${result.p99.toFixed(1)} ms, max ${result.max.toFixed(1)} ms; ${result.over33} frames over 33 ms; ` +
      `at most ${result.rowsMax} rows in the DOM; JS heap ${result.heapMB?.toFixed(1)} MB`,
  );
} finally {
  await browser.close();
  serve.kill();
  rmSync(profile.dir, { recursive: true, force: true });
}
