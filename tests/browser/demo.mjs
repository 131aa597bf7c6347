// End-to-end test of `lifsim demo` in headless Chromium, run by tests/demo_browser.rs.
//
// Environment: DEMO_URL (the address the server printed), CHROMIUM (the browser binary),
// SCREENSHOT (where to save the picture). Exits non-zero, saying why, when a check fails.
//
// Checks: one click on the input neuron raises V_m, which then leaks back; clicks in quick
// succession make the output neuron fire and reset to V_reset; the network view draws spikes
// and takes a kick. V_m and the counters are read from the page's data attributes, which hold
// the server's numbers.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const url = process.env.DEMO_URL;
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const screenshot = process.env.SCREENSHOT;
if (!url || !screenshot) {
  console.error("set DEMO_URL and SCREENSHOT");
  process.exit(2);
}

const E_L = -70;
const V_RESET = -60;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (...args) => console.log("[demo.mjs]", ...args);

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

// Polls `read` every 20 ms until `done(value)` or `timeoutMs`; returns the last value.
async function until(read, done, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  let value;
  while (Date.now() < end) {
    value = await read();
    if (done(value)) return value;
    await sleep(20);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last value: ${JSON.stringify(value)})`);
}

const userDataDir = await mkdtemp(join(tmpdir(), "lifsim-demo-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  viewport: { width: 1100, height: 1300 },
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

const problems = [];
let failed = false;
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error: ${m.text()}`);
  });

  await page.goto(url);
  await page.waitForSelector('#status[data-state="connected"]', { timeout: 10_000 });
  const output = page.locator("#output-neuron");
  const vm = async () => Number(await output.getAttribute("data-v-m"));
  const spikes = async () => Number(await output.getAttribute("data-spikes"));
  const refractory = async () => Number(await output.getAttribute("data-refractory-ms"));
  await until(vm, (v) => Number.isFinite(v) && v !== 0, 5000, "the first frame");
  check(Math.abs((await vm()) - E_L) < 0.01, `V_m starts at E_L (got ${await vm()})`);
  const input = page.locator("#input-neuron");

  // 1. One spike: V_m rises, then leaks back towards E_L.
  await input.click();
  let peak = E_L;
  await until(vm, (v) => { peak = Math.max(peak, v); return v > E_L + 1; }, 5000, "V_m to rise after one spike");
  await until(vm, (v) => { peak = Math.max(peak, v); return v < peak - 0.5; }, 5000, "V_m to pass its peak");
  const rise = peak - E_L;
  log(`one spike: V_m rose by ${rise.toFixed(2)} mV`);
  check(rise > 2 && rise < 15, `one spike raises V_m by a few mV (got ${rise.toFixed(2)})`);
  await until(vm, (v) => v < E_L + 0.2 * rise, 8000, "V_m to decay back towards E_L");
  check((await spikes()) === 0, "one spike does not make the output neuron fire");
  log("one spike: V_m decayed back");

  // 2. Spikes in quick succession (space bar and clicks): fire, reset to V_reset, recover.
  // Four spikes within 3 ms of network time fire it (0.3 s at 100x slower); a fifth is
  // margin for a slow machine.
  await input.focus();
  for (let i = 0; i < 2; i++) {
    await page.keyboard.press(" ");
    await sleep(50);
  }
  for (let i = 0; i < 3; i++) {
    await input.click();
    await sleep(50);
  }
  await until(spikes, (n) => n >= 1, 5000, "the output neuron to fire");
  log("quick spikes: the output neuron fired");
  const reset = await until(
    async () => ({ v: await vm(), r: await refractory() }),
    (s) => s.r > 0 && Math.abs(s.v - V_RESET) < 1e-6,
    2000,
    "V_m clamped at V_reset while refractory",
  );
  log(`reset: V_m = ${reset.v} mV with ${reset.r} ms of refractory period left`);
  await until(
    async () => ({ v: await vm(), r: await refractory() }),
    (s) => s.r === 0 && s.v < V_RESET - 0.5,
    6000,
    "V_m to leave V_reset after the refractory period",
  );
  log("after the refractory period V_m leaks back towards E_L");

  // 3. The network view: start, spikes drawn, a kick.
  const view = page.locator("#network-view");
  const raster = page.locator("#raster");
  await page.locator("#net-start").click();
  const drawn = await until(
    async () => Number(await raster.getAttribute("data-spikes-drawn")),
    (n) => n > 200,
    30_000,
    "the raster to draw spikes",
  );
  log(`network: ${drawn} spikes drawn`);
  check((await view.getAttribute("data-running")) === "true", "the network runs");
  await page.locator("#net-kick").click();
  await until(async () => view.getAttribute("data-kicks"), (k) => k === "1", 5000, "the kick");
  log("network: kicked");

  // 4. The picture: the network well under way and kicked again, the output neuron just
  // fired, and a spike on its way.
  await sleep(2000);
  for (let i = 0; i < 4; i++) {
    await input.click();
    await sleep(70);
  }
  await sleep(400);
  await page.locator("#net-kick").click();
  await sleep(1100);
  await input.click();
  await sleep(450);
  await page.screenshot({ path: screenshot, fullPage: true });
  log(`screenshot: ${screenshot}`);

  check(problems.length === 0, `the page reported problems:\n${problems.join("\n")}`);
} catch (e) {
  failed = true;
  console.error(`[demo.mjs] ${e.stack || e}`);
  if (problems.length) console.error(problems.join("\n"));
} finally {
  await context.close();
  await rm(userDataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
