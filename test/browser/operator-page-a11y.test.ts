import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { builtPage, closeOperatorPages, enterToken, openOperatorPage } from '../helpers/operator-page.js';
import { chromiumInstalled, launchChromium } from '../helpers/playground.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * The operator page checked for accessibility for real: axe-core (pinned in the lockfile, so its
 * rules change only with a deliberate upgrade) injected into the page as served (its
 * Content-Security-Policy and Trusted Types in force), run in each of the page's main states, and
 * no violation of a WCAG 2.0/2.1 A or AA rule allowed. Then the keyboard alone, and a phone's width.
 */

const available = chromiumInstalled();
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const WCAG_A_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/** axe's violations of WCAG 2.1 A/AA in the page as it is now, one line each (rule, what, where). */
async function violations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, as a debugger would: the page's CSP is not loosened.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (tags) => {
    const axe = (window as unknown as { axe: typeof import('axe-core') }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return result.violations.map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} at ${v.nodes
          .slice(0, 4)
          .map((n) => `${n.target.join(' ')}${n.failureSummary ? ` [${n.failureSummary.replace(/\s+/g, ' ').slice(0, 160)}]` : ''}`)
          .join('; ')}${v.nodes.length > 4 ? ` and ${v.nodes.length - 4} more` : ''}`,
    );
  }, WCAG_A_AA);
}

const row = (page: Page, key: string) => page.locator(`[data-testid="strategy-row"][data-key="${key}"]`);
const text = (page: Page, testId: string) => page.getByTestId(testId).first().textContent();

/** The page loaded: status, table, timeline, charts. */
async function loaded(page: Page): Promise<void> {
  await page.getByTestId('active-strategy').waitFor();
  await row(page, 'gold').waitFor();
  await page.locator('.timeline li').first().waitFor();
  await expect.poll(() => page.getByTestId('signal-chart').count()).toBeGreaterThan(0);
}

/** Holds every activation the page sends (a server that has not answered yet) until the returned function lets them go. */
async function holdActivations(page: Page): Promise<() => void> {
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  await page.route('**/graphql', async (route) => {
    if (route.request().postDataJSON()?.operationName === 'ActivateStrategy') await held;
    await route.continue();
  });
  return release;
}

/** The overview's answer says the runners are in `states` (a file store has one runner; a fleet is played here). */
async function playRunners(page: Page, states: string[]): Promise<void> {
  await page.route('**/graphql', async (route) => {
    if (route.request().postDataJSON()?.operationName !== 'OperatorOverview') return route.continue();
    const response = await route.fetch();
    const body = await response.json();
    const one = body.data.status.runner;
    body.data.status.runners = states.map((state, i) => ({
      ...one,
      id: `trading-host-${String(i).padStart(2, '0')}.example.internal:${41000 + i}`,
      pid: 41000 + i,
      state,
      appliedConfigVersion: 1,
      appliedStrategyKey: 'momentum',
      inSync: true,
      lastScanAt: new Date(Date.now() - 90_000).toISOString(),
      error: state === 'ERROR' ? 'unknown instrument XAU_USD_but_a_long_reason_without_any_space_in_it_at_all' : null,
    }));
    body.data.status.runner = { ...one, ...body.data.status.runners.at(-1), state: states.includes('STALE') ? 'STALE' : states[0] };
    return route.fulfill({ response, json: body });
  });
}

describe.skipIf(!available)('the operator page: accessibility (axe, WCAG 2.1 A/AA), keyboard only, phone width', () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    [browser, { outDir: dir }] = await Promise.all([launchChromium(), builtPage()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(closeOperatorPages);

  const serve = (options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> =>
    startTestServer({ runner: { heartbeatMs: 200 }, page: { dir }, ...options });

  it('axe finds no WCAG 2.1 A/AA violation in the main states: no token, a token, the dialogs, a change in flight, errors', async () => {
    const server = await serve();
    const { page } = await openOperatorPage(browser, server.origin);
    await loaded(page);
    const found: Record<string, string[]> = {};
    const check = async (state: string) => {
      found[state] = await violations(page);
    };
    await check('no token (read-only)');

    // A refused token: the error notice.
    await enterToken(page, 'not-the-token-0123456789', null);
    await page.locator('.notice.error').first().waitFor();
    await check('a token refused (error notice)');

    await enterToken(page, server.token, /^Token: admin/);
    await expect.poll(() => row(page, 'gold').locator('button[data-action="activate"]').isEnabled()).toBe(true);
    await check('with an admin token');

    await row(page, 'gold').locator('button[data-action="activate"]').click();
    await page.locator('dialog[open] table.diff').waitFor();
    await check('the Activate dialog');

    // A change in flight (the server has not answered yet).
    const release = await holdActivations(page);
    await page.getByTestId('confirm-activate').click();
    await expect.poll(() => text(page, 'in-flight'), { timeout: 5_000 }).toContain('waiting for the answer');
    await check('an activation in flight');
    release();
    await expect.poll(() => text(page, 'active-strategy')).toBe('gold');
    await page.unrouteAll({ behavior: 'wait' });
    await check('after an activation (success notice, two versions on the timeline)');

    // A conflict: the config moves while the dialog is open, then the send is refused.
    await row(page, 'range').locator('button[data-action="activate"]').click();
    await page.locator('dialog[open] table.diff').waitFor();
    await server.gql('mutation { activateStrategy(strategyKey: "momentum") { configVersion } }');
    await page.getByTestId('version-moved').waitFor();
    await check('the Activate dialog, the config moved meanwhile');
    await page.getByTestId('confirm-activate').click();
    await page.getByTestId('action-error').waitFor();
    await check('the Activate dialog, refused (conflict)');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('dialog[open]').count()).toBe(0);

    await row(page, 'gold').locator('button[data-action="tunables"]').click();
    await page.locator('dialog[open] form.tunables').waitFor();
    await check('the Tunables dialog');
    await page.locator('dialog[open] input').first().fill('not a number');
    await page.locator('dialog[open] .field-error:not(:empty)').first().waitFor();
    await check('the Tunables dialog with a value out of bounds');
    await page.keyboard.press('Escape');

    await page.locator('.timeline button', { hasText: 'Roll back to v1' }).click();
    await page.locator('dialog[open] table.diff').waitFor();
    await check('the Roll back dialog');
    await page.keyboard.press('Escape');

    // config.yaml broken by a hand edit: the last good config stays, and the page says so.
    await writeFile(path.join(server.runtimeDir, 'config.yaml'), 'version: [broken\n');
    await server.store.refresh();
    await page.locator('#glance .error-box').first().waitFor();
    await check('config.yaml invalid');

    // The server away: the "Offline" pill and banner, the runner card "last heard".
    await server.close();
    await page.getByTestId('server-down').waitFor({ timeout: 15_000 });
    await check('the server away (offline)');

    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((state) => [state, []])));
  }, 120_000);

  it('axe finds no WCAG 2.1 A/AA violation with a runner STALE, a fleet, a server needing a token, and at phone width', async () => {
    const server = await serve({ runner: false });
    const found: Record<string, string[]> = {};
    for (const [label, states, viewport] of [
      ['one runner STALE', ['STALE'], { width: 1280, height: 900 }],
      ['a fleet with STALE, STOPPED and ERROR runners', ['RUNNING', 'STALE', 'STOPPED', 'ERROR', 'RUNNING'], { width: 1280, height: 900 }],
      ['one runner STALE, phone width', ['STALE'], { width: 375, height: 812 }],
      ['a fleet, phone width', ['RUNNING', 'STALE', 'STOPPED', 'ERROR', 'RUNNING'], { width: 375, height: 812 }],
    ] as const) {
      const { page } = await openOperatorPage(browser, server.origin, { viewport });
      await playRunners(page, [...states]);
      await page.reload();
      await expect.poll(() => page.getByTestId('runner-state').count()).toBe(states.length);
      await expect.poll(() => page.getByTestId('runner-state').first().textContent()).toContain(states[0]);
      await row(page, 'gold').waitFor();
      found[label] = await violations(page);
      await closeOperatorPages();
    }
    const locked = await serve({ runner: false, readsRequireToken: true });
    const { page } = await openOperatorPage(browser, locked.origin, { waitLive: false });
    await expect.poll(() => text(page, 'read-only')).toContain('This server needs a token even to read.');
    found['a server whose reads need a token'] = await violations(page);
    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((state) => [state, []])));
  }, 120_000);
});
