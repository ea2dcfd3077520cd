// Loads `warden serve`'s page (the URL with its token, as printed) in Chromium and
// prints what the page shows, for tests/package/deb.sh.
import { launchChromium } from "../e2e/support.mjs";

const url = process.argv[2];
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.getByTestId("nav-insights").waitFor({ timeout: 20_000 });
  await page.getByTestId("connection").waitFor();
  console.log(`title: ${await page.title()}`);
  console.log(`status: ${await page.getByTestId("connection").innerText()}`);
} finally {
  await browser.close();
}
