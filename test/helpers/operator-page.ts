import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page, Request as PwRequest } from 'playwright-core';
import { expect } from 'vitest';
import { type BuiltPage, buildPage } from '../../scripts/build-page.js';
import { afterEachFile, afterEachTest } from './cleanup.js';
import { loopbackOnly } from './playground.js';

let built: Promise<BuiltPage> | null = null;

/**
 * The operator page, built once per test file by the same script `npm ci` runs (into a temp dir,
 * so a test never depends on, or disturbs, dist/). Removed after the file's tests.
 */
export function builtPage(): Promise<BuiltPage> {
  built ??= mkdtemp(path.join(tmpdir(), 'scp-page-')).then((dir) => buildPage(dir));
  return built;
}

afterEachFile(async () => {
  if (built) await rm((await built).outDir, { recursive: true, force: true });
  built = null;
});

export interface OperatorPage {
  page: Page;
  /** Requests the page tried beyond loopback (refused). */
  refused: string[];
  /** Every request the page made, in order. */
  requests: PwRequest[];
  /** The requests the page made that have neither finished nor failed (an open SSE stream stays here while it is open). */
  unfinished(): PwRequest[];
  /** What GET /version answers the page (the DESIGN shape, and README's `commit`); tests change it to play a server upgrade or rebuild. */
  serverVersion: ServerVersion;
  /** Page errors, console errors and Content-Security-Policy violations seen so far. */
  problems(): Promise<string[]>;
}

/** GET /version's answer, as far as the page reads it: `commit` null is a server run from source (or built outside git). */
export interface ServerVersion {
  version: string;
  commit: string | null;
}

const opened: Page[] = [];

/**
 * Closes the pages opened since the last call. Call it in an `afterEach` inside the describe, so it
 * runs before the servers close: a live page would otherwise reconnect to a draining server over a
 * kept-alive connection and hold its drain open.
 */
export async function closeOperatorPages(): Promise<void> {
  await Promise.all([...new Set(opened.splice(0).map((p) => p.context()))].map((c) => c.close()));
}
afterEachTest(closeOperatorPages);

/**
 * Opens the operator page in a fresh context (its own sessionStorage), loopback only, and waits
 * until it is live (its subscriptions accepted). Given `serverVersion`, GET /version is answered here
 * with DESIGN's shape (and README's `commit`), so a test can play a server upgrade; otherwise the
 * server's own answers.
 */
export async function openOperatorPage(
  browser: Browser,
  origin: string,
  options: {
    viewport?: { width: number; height: number };
    waitLive?: boolean;
    /**
     * Playwright's clock: time flows as usual, and a test moves it on (fastForward) instead of
     * waiting; 'paused': it stands still from before the page loads (its timers and its frames,
     * so nothing is rendered, and the page is not waited live) until the test moves it on or resumes it.
     */
    fakeClock?: boolean | 'paused';
    /** Another tab of this browser context (its pages share 6 connections per server); default: a context of its own. */
    context?: BrowserContext;
    /** What GET /version answers from the start (the test then changes it to play an upgrade); default: the server's own /version. */
    serverVersion?: ServerVersion;
  } = {},
): Promise<OperatorPage> {
  const context = options.context ?? (await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 900 } }));
  const page = await context.newPage();
  opened.push(page);
  const refused = await loopbackOnly(page);
  const serverVersion: ServerVersion = { ...(options.serverVersion ?? { version: '0.1.0', commit: null }) };
  // Routed only when a test plays a server version: a route sends every request of the page through
  // Playwright (and turns the HTTP cache off), so the others read the server's own /version.
  if (options.serverVersion)
    await page.route('**/version', (route) =>
      route.fulfill({
        json: { version: serverVersion.version, node: process.version, store: 'file', commit: serverVersion.commit },
        headers: { 'cache-control': 'no-store' },
      }),
    );
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}${m.location().url ? ` (${m.location().url})` : ''}`);
  });
  const requests: PwRequest[] = [];
  page.on('request', (r) => requests.push(r));
  const ended = new Set<PwRequest>();
  page.on('requestfinished', (r) => ended.add(r));
  page.on('requestfailed', (r) => ended.add(r));
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.effectiveDirective} ${e.blockedURI}`));
  });
  if (options.fakeClock) await page.clock.install();
  if (options.fakeClock === 'paused') await page.clock.pauseAt(Date.now() + 1_000);
  await page.goto(`${origin}/`);
  if (options.waitLive !== false && options.fakeClock !== 'paused')
    await page.locator('[data-testid="live"][data-connected="true"]').waitFor({ timeout: 15_000 });
  return {
    page,
    refused,
    requests,
    unfinished: () => requests.filter((r) => !ended.has(r)),
    serverVersion,
    problems: async () => [
      ...errors,
      ...(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)).map((v) => `csp: ${v}`),
    ],
  };
}

/** Types a token into the page's form, as a person would, and waits for the page to say whose it is. */
export async function enterToken(page: Page, token: string, expectViewer: RegExp | null = /^Token: /): Promise<void> {
  await page.locator('#token-input').fill(token);
  await page.locator('#token-input').press('Enter');
  if (expectViewer) await expect.poll(() => page.locator('#viewer').textContent()).toMatch(expectViewer);
}
