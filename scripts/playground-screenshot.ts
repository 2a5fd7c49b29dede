// `npm run docs:screenshot`: the playground after its default query, saved to docs/playground.png
// for the README. Same browser, flags and loopback-only guard as the browser test.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../src/log.js';
import { startControlPlane } from '../src/server.js';
import { CHROMIUM, chromiumInstalled, executeOperation, launchChromium, loopbackOnly, openPlayground } from '../test/helpers/playground.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const output = path.join(root, 'docs', 'playground.png');

if (!chromiumInstalled()) {
  process.stderr.write(`${CHROMIUM} is missing: apt-get install -y chromium\n`);
  process.exit(1);
}
const runtimeDir = await mkdtemp(path.join(tmpdir(), 'scp-screenshot-'));
const plane = await startControlPlane({
  host: '127.0.0.1',
  port: 0,
  runtimeDir,
  adminToken: 'screenshot-token-0123456789abcdef',
  logger: createLogger({ level: 'silent' }),
});
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  const refused = await loopbackOnly(page);
  await openPlayground(page, plane.url);
  await executeOperation(page);
  await page.locator('section.result-window .view-lines').filter({ hasText: 'strategies' }).waitFor();
  if (refused.length > 0) throw new Error(`the playground asked for non-loopback resources: ${refused.join(', ')}`);
  await mkdir(path.dirname(output), { recursive: true });
  await page.screenshot({ path: output });
  process.stdout.write(`saved ${path.relative(root, output)}\n`);
} finally {
  await browser.close();
  await plane.close();
  await rm(runtimeDir, { recursive: true, force: true });
}
