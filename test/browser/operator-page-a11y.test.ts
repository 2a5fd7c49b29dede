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
      // A fleet's tiles come worst first: each of these has a STALE runner.
      await expect.poll(() => page.getByTestId('runner-state').first().textContent()).toContain('STALE');
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

  it('keyboard only: token, filters, activate, tunables, roll back, notices; focus returns where it was after each dialog', async () => {
    const server = await serve({ runner: false });
    const { page, problems } = await openOperatorPage(browser, server.origin);
    await loaded(page);
    /** What has focus: its id, its data-focus key, or its tag and text. */
    const focused = () =>
      page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        if (!el || el === document.body) return 'body';
        return el.id || el.dataset.focus || `${el.tagName.toLowerCase()}:${el.textContent?.trim()}`;
      });
    /** Tab (or Shift+Tab) until `target` has focus, at most `max` presses; the focus it got to. */
    const tabTo = async (target: string, max = 60, key = 'Tab') => {
      for (let i = 0; i < max && (await focused()) !== target; i++) await page.keyboard.press(key);
      return focused();
    };
    const dialogOpen = () => page.locator('dialog[open]').count();

    // The skip link comes first and lands on the strategies.
    await page.keyboard.press('Tab');
    await expect.poll(focused).toBe('a:Skip to the strategies');
    await page.keyboard.press('Enter');
    await expect.poll(focused).toBe('strategies-heading');

    // The token, typed: once accepted, the form goes and focus goes to what replaces it (Forget token), not to the top of the page.
    expect(await tabTo('token-input', 60, 'Shift+Tab')).toBe('token-input');
    await page.keyboard.type(server.token);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#viewer').textContent()).toMatch(/^Token: admin/);
    await expect.poll(focused).toBe('forget-token');

    // A filter, by arrow keys.
    expect(await tabTo('filter-risk')).toBe('filter-risk');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await expect.poll(() => page.getByTestId('strategy-row').count()).toBe(2);
    await expect.poll(focused).toBe('filter-risk');
    await page.keyboard.press('Home');
    await expect.poll(() => page.getByTestId('strategy-row').count()).toBe(5);

    // Activate…, then Escape: focus back on the button that opened it.
    expect(await tabTo('activate-gold')).toBe('activate-gold');
    await page.keyboard.press('Enter');
    await page.locator('dialog[open] table.diff').waitFor();
    await expect.poll(focused).toBe('button:Cancel');
    await page.keyboard.press('Escape');
    await expect.poll(dialogOpen).toBe(0);
    await expect.poll(focused).toBe('activate-gold');
    // The table re-rendered while the dialog is open (a preset added elsewhere): the button that
    // opened it is a new one by then, and Escape gives focus to that one (it fell to the page's top).
    await page.keyboard.press('Enter');
    await page.locator('dialog[open] table.diff').waitFor();
    // Escape and Enter back to back on a busy page: the dialog is open again before the browser
    // dispatches the first closing's close event. That late event is not the new opening's end
    // (taken for it, it spent the new opening's way back, and the real close left focus on the
    // page's top). The page is made busy as Escape closes the dialog (200 ms of work in a `cancel`
    // listener): the Enter sent meanwhile is queued before the close event, so it goes first every time.
    await page.evaluate(() =>
      document.getElementById('dialog')?.addEventListener(
        'cancel',
        () => {
          const end = performance.now() + 200;
          while (performance.now() < end);
        },
        { once: true },
      ),
    );
    await Promise.all([page.keyboard.press('Escape'), page.keyboard.press('Enter')]);
    await expect.poll(dialogOpen).toBe(1);
    await expect.poll(focused).toBe('button:Cancel');
    const added = await server.gql('mutation { upsertPreset(input: { key: "gold_fast", base: "gold", name: "Gold (fast)" }) { changed } }');
    expect(added.body.data).toEqual({ upsertPreset: { changed: true } });
    await row(page, 'gold_fast').waitFor({ state: 'attached' });
    await page.keyboard.press('Escape');
    await expect.poll(dialogOpen).toBe(0);
    await expect.poll(focused).toBe('activate-gold');
    // Cancel, by Enter (focus starts there): back on the button too.
    await page.keyboard.press('Enter');
    await page.locator('dialog[open] table.diff').waitFor();
    await page.keyboard.press('Enter');
    await expect.poll(dialogOpen).toBe(0);
    await expect.poll(focused).toBe('activate-gold');
    // Confirmed from the keyboard: Shift+Tab from Cancel to the confirm button, Enter.
    await page.keyboard.press('Enter');
    await page.locator('dialog[open] table.diff').waitFor();
    await page.keyboard.press('Shift+Tab');
    await expect.poll(focused).toBe('button:Activate gold');
    await page.keyboard.press('Enter');
    await expect.poll(() => text(page, 'active-strategy')).toBe('gold');
    await expect.poll(dialogOpen).toBe(0);
    await expect.poll(() => row(page, 'gold').locator('button[data-action="activate"]').textContent()).toBe('Active');
    // gold's button is now "Active" (disabled): focus is kept in the strategies, on their heading, not dropped to the body.
    await expect.poll(focused).toBe('strategies-heading');
    expect(server.store.state().config.config).toMatchObject({ activeStrategyKey: 'gold', version: 2 });

    // The success notice is dismissed from the keyboard; focus stays in the notices' place, not the top of the page.
    expect(await page.locator('.notice').count()).toBe(1);
    expect(await tabTo('button:×', 80, 'Shift+Tab')).toBe('button:×');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('.notice').count()).toBe(0);
    await expect.poll(focused).toBe('glance-heading');

    // Tunables: a field typed, Tab to Save, Enter; focus back on the Tunables button.
    expect(await tabTo('tunables-range')).toBe('tunables-range');
    await page.keyboard.press('Enter');
    await page.locator('dialog[open] form.tunables').waitFor();
    await page.keyboard.press('Shift+Tab');
    await expect.poll(focused).toBe('button:Save overrides');
    expect(await tabTo('tunable-band_period', 20, 'Shift+Tab')).toBe('tunable-band_period');
    await page.keyboard.type('30');
    await expect.poll(() => text(page, 'tunables-diff')).toContain('band_period');
    expect(await tabTo('button:Save overrides')).toBe('button:Save overrides');
    await page.keyboard.press('Enter');
    await expect.poll(dialogOpen).toBe(0);
    await expect.poll(() => server.store.state().config.config.version).toBe(3);
    await expect.poll(focused).toBe('tunables-range');

    // Roll back from the timeline: focus back on the timeline's button for that version.
    expect(await tabTo('rollback-1')).toBe('rollback-1');
    await page.keyboard.press('Enter');
    await page.locator('dialog[open] table.diff').waitFor();
    await page.keyboard.press('Shift+Tab');
    await expect.poll(focused).toBe('button:Roll back to version 1');
    await page.keyboard.press('Enter');
    await expect.poll(() => server.store.state().config.config.version).toBe(4);
    await expect.poll(dialogOpen).toBe(0);
    await expect.poll(focused).toBe('rollback-1');
    await expect.poll(() => text(page, 'active-strategy')).toBe('momentum');

    // Forget the token: the form comes back, and focus with it.
    expect(await tabTo('forget-token', 120, 'Shift+Tab')).toBe('forget-token');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#viewer').textContent()).toBe('Read-only: no token');
    await expect.poll(focused).toBe('token-input');
    expect(await problems()).toEqual([]);
  }, 120_000);

  it('at phone width (375x812) nothing is wider than the screen, nor sticks out of its runner tile or card: 1 runner and a fleet, with and without a token, live and offline', async () => {
    /** Elements of the glance cards whose box runs past their card's or their runner's tile (cut off, or over the next). */
    const stickingOut = (page: Page) =>
      page.evaluate(() => {
        const out: string[] = [];
        for (const box of document.querySelectorAll<HTMLElement>('#glance .card, #glance .runner')) {
          const edge = box.getBoundingClientRect();
          for (const el of box.querySelectorAll<HTMLElement>('*')) {
            const r = el.getBoundingClientRect();
            if (r.width > 0 && (r.right > edge.right + 0.5 || r.left < edge.left - 0.5))
              out.push(
                `${el.tagName.toLowerCase()}.${el.className} "${el.textContent?.slice(0, 40)}" ${Math.round(r.left)}-${Math.round(r.right)} outside ${box.className} ${Math.round(edge.left)}-${Math.round(edge.right)}`,
              );
          }
        }
        return out;
      });
    const widths = (page: Page) => page.evaluate(() => ({ scrollWidth: document.scrollingElement?.scrollWidth ?? 0, innerWidth }));
    const found: Record<string, unknown> = {};
    for (const [label, fleet] of [
      ['1 runner', 1],
      ['3 runners', 3],
      ['12 runners', 12],
    ] as const) {
      const server = await serve({ runner: false });
      const { page } = await openOperatorPage(browser, server.origin, { viewport: { width: 375, height: 812 } });
      // Runners out of sync with a long id, an error: the longest words a tile holds.
      await page.route('**/graphql', async (route) => {
        if (route.request().postDataJSON()?.operationName !== 'OperatorOverview') return route.continue();
        const response = await route.fetch();
        const body = await response.json();
        const one = body.data.status.runner;
        const states = ['RUNNING', 'STALE', 'ERROR', 'STOPPED'];
        body.data.status.runners = Array.from({ length: fleet }, (_, i) => ({
          ...one,
          id: `trading-host-${String(i).padStart(2, '0')}.example.internal:${41000 + i}`,
          pid: 41000 + i,
          state: states[i % states.length],
          appliedConfigVersion: i % 2 === 0 ? 1 : 12345,
          appliedStrategyKey: 'eur_usd_5m_safe',
          inSync: i % 2 === 0,
          lastScanAt: new Date(Date.now() - 3_600_000).toISOString(),
          error: i % 4 === 2 ? 'unknown instrument XAU_USD_but_a_long_reason_without_any_space_in_it_at_all' : null,
        }));
        body.data.status.configVersion = 12346;
        body.data.status.runner = { ...one, ...body.data.status.runners[0], state: fleet > 1 ? 'STALE' : 'STALE' };
        return route.fulfill({ response, json: body });
      });
      await page.reload();
      await expect.poll(() => page.getByTestId('runner-state').count()).toBe(fleet);
      await row(page, 'gold').waitFor();
      found[`${label}, no token`] = { ...(await widths(page)), out: await stickingOut(page) };
      await enterToken(page, server.token, /^Token: admin/);
      found[`${label}, a token`] = { ...(await widths(page)), out: await stickingOut(page) };
      // The server away: the cards say "last heard", the banner says why.
      await server.close();
      await page.getByTestId('server-down').waitFor({ timeout: 15_000 });
      await expect.poll(() => page.locator('#glance .runner.unheard').count()).toBe(fleet);
      found[`${label}, offline`] = { ...(await widths(page)), out: await stickingOut(page) };
      await closeOperatorPages();
    }
    for (const [state, w] of Object.entries(found)) {
      const { scrollWidth, innerWidth, out } = w as { scrollWidth: number; innerWidth: number; out: string[] };
      expect({ state, wider: scrollWidth > innerWidth, out }).toEqual({ state, wider: false, out: [] });
    }
  }, 120_000);
});
