// `npm run docs:operator-page`: the operator page after a few changes and scans, with a token
// entered, saved to docs/operator-page.png for the README. Builds the page into a temp dir (so it
// shows the page as the source is now); same browser, flags and loopback-only guard as the tests.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../src/log.js';
import { startControlPlane } from '../src/server.js';
import { CHROMIUM, chromiumInstalled, launchChromium, loopbackOnly } from '../test/helpers/playground.js';
import { buildPage } from './build-page.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const output = path.join(root, 'docs', 'operator-page.png');
const token = 'screenshot-token-0123456789abcdef';

if (!chromiumInstalled()) {
  process.stderr.write(`${CHROMIUM} is missing: apt-get install -y chromium\n`);
  process.exit(1);
}
const work = await mkdtemp(path.join(tmpdir(), 'scp-operator-page-'));
const built = await buildPage(path.join(work, 'page'));
const plane = await startControlPlane({
  host: '127.0.0.1',
  port: 0,
  runtimeDir: path.join(work, 'runtime'),
  adminToken: token,
  logger: createLogger({ level: 'silent' }),
  runner: { heartbeatMs: 500 },
  page: { dir: built.outDir },
});
const send = async (query: string) => {
  const res = await fetch(plane.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as { errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
};
const browser = await launchChromium();
try {
  // A short history to show: a faster scan, a switch and back, an override.
  await send('mutation { updateConfig(input: { scanIntervalSeconds: 1 }) { config { version } } }');
  await send('mutation { activateStrategy(strategyKey: "momentum_v2") { configVersion } }');
  await send('mutation { updateConfig(input: { tunableOverrides: { momentum: { lookback_bars: 30 } } }) { config { version } } }');
  await send('mutation { activateStrategy(strategyKey: "momentum") { configVersion } }');
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const refused = await loopbackOnly(page);
  await page.goto(`${plane.origin}/`);
  await page.locator('#token-input').fill(token);
  await page.locator('#token-input').press('Enter');
  await page.locator('[data-testid="live"][data-connected="true"]').waitFor();
  // Enough scans for the price lines to say something.
  await page.waitForFunction(
    () => [...document.querySelectorAll('[data-testid="signal-chart"]')].every((c) => Number(c.getAttribute('data-points')) >= 12),
    undefined,
    { timeout: 60_000 },
  );
  if (refused.length > 0) throw new Error(`the page asked for non-loopback resources: ${refused.join(', ')}`);
  await mkdir(path.dirname(output), { recursive: true });
  await page.screenshot({ path: output, fullPage: true });
  process.stdout.write(`saved ${path.relative(root, output)}\n`);
} finally {
  await browser.close();
  await plane.close();
  await rm(work, { recursive: true, force: true });
}
