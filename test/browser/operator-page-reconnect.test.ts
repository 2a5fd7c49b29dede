import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../src/auth/token-file.js';
import { RELOAD_COALESCE_MS } from '../../src/page/app.js';
import { NO_ANSWER_MS, PROBE_EVERY_MS, STREAM_PING_MS, STREAM_SILENT_MS } from '../../src/page/live.js';
import { SINGLE_VERSION_PAD_S, TIMELINE_VERSIONS } from '../../src/page/views/timeline.js';
import { builtPage, closeOperatorPages, enterToken, type OperatorPage, openOperatorPage } from '../helpers/operator-page.js';
import { blackHoleProxy, configOnDisk, countOpenSubscriptions, row, setHidden, text } from '../helpers/operator-page-tests.js';
import { chromiumInstalled, launchChromium } from '../helpers/playground.js';
import { startTestServer } from '../helpers/server.js';

const available = chromiumInstalled();

/** The operator page's tunables, timeline, a server going away and back, and phone width (test/browser/operator-page.test.ts has the first part, and says when Chromium is missing). */
describe.skipIf(!available)('the operator page (GET /) in headless Chromium', () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    [browser, { outDir: dir }] = await Promise.all([launchChromium(), builtPage()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(closeOperatorPages);

  const serve = (options: Parameters<typeof startTestServer>[0] = {}) =>
    startTestServer({ runner: { heartbeatMs: 200 }, page: { dir }, ...options });

  it('edits tunable overrides with their bounds shown and checked before anything is sent', async () => {
    const server = await serve({ runner: false });
    const { page, requests } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token);
    await row(page, 'momentum').locator('button[data-action="tunables"]').click();
    const field = page.locator('[data-tunable="lookback_bars"]');
    expect(await field.textContent()).toContain('default 20, range 2 to 500, whole numbers');
    await field.locator('input').fill('501');
    expect(await field.locator('.field-error').textContent()).toBe(
      'lookback_bars must be at most 500 (the range is 2 to 500, whole numbers)',
    );
    await field.locator('input').fill('2.5');
    expect(await field.locator('.field-error').textContent()).toBe('lookback_bars must be a whole number');
    await page.getByTestId('save-tunables').click();
    await expect.poll(() => page.locator('dialog .error-box').textContent()).toContain('lookback_bars must be a whole number');
    expect(requests.filter((r) => r.postDataJSON?.()?.operationName === 'UpdateConfig')).toHaveLength(0);
    await field.locator('input').fill('40');
    await page.getByTestId('save-tunables').click();
    await expect.poll(() => page.locator('.notice.success').first().textContent()).toContain("Saved momentum's overrides (lookback_bars)");
    const sent = requests.find((r) => r.postDataJSON?.()?.operationName === 'UpdateConfig');
    expect(sent?.postDataJSON().variables).toEqual({
      input: { tunableOverrides: { momentum: { lookback_bars: 40 } } },
      expectedVersion: 1,
    });
    expect(await configOnDisk(server)).toMatch(/tunable_overrides:\n\s+momentum:\n\s+lookback_bars: 40/);
    // The timeline names the one value that changed.
    await expect
      .poll(() => page.locator('.timeline li').first().locator('.changes').textContent())
      .toBe('tunableOverrides.momentum.lookback_bars: — → 40');
  }, 60_000);

  it('a tunable name of 40 characters wraps beside its input instead of running under it', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin);
    const name = 'lookback_bars_of_the_slowest_moving_mean';
    // Strategies are code: a long name is played in the answers that carry it.
    await page.route('**/graphql', async (route) => {
      const response = await route.fetch();
      const text = await response.text();
      return route.fulfill({ response, body: text.replaceAll('"lookback_bars"', `"${name}"`) });
    });
    await page.reload();
    await enterToken(page, server.token);
    await row(page, 'momentum').locator('button[data-action="tunables"]').click();
    const field = page.locator(`[data-tunable="${name}"]`);
    await expect.poll(() => field.count()).toBe(1);
    const label = await field.locator('label code').evaluate((el) => el.getBoundingClientRect().toJSON() as DOMRect);
    const input = await field.locator('input').boundingBox();
    // Before: the label 40 characters wide on one line, its end under the input.
    expect(label.right).toBeLessThanOrEqual(input!.x);
  }, 60_000);

  it('tunables: focus starts on Cancel, Enter in a field sends nothing, what Save would change is shown, and a version moved meanwhile is said at once', async () => {
    const server = await serve({ runner: false });
    const { page, requests } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token, /^Token: admin/);
    await row(page, 'momentum').locator('button[data-action="tunables"]').click();
    await page.locator('dialog[open]').waitFor();
    // Before: focus in the first field, where a typo and Enter saved it.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    const input = page.locator('[data-tunable="lookback_bars"] input');
    await input.fill('40');
    await expect.poll(() => text(page, 'tunables-diff')).toBe('Save changes:lookback_bars: default (20) → 40');
    await input.press('Enter');
    // Still open, nothing sent: Save sends, once, version 2.
    expect(await page.locator('dialog[open]').count()).toBe(1);
    await page.getByTestId('save-tunables').click();
    await expect
      .poll(() => page.locator('.notice.success').first().textContent())
      .toContain("Saved momentum's overrides (lookback_bars): config version 2.");
    expect(requests.filter((r) => r.postDataJSON?.()?.operationName === 'UpdateConfig')).toHaveLength(1);
    // Someone else changes the config while the editor is open: the dialog says so before Save.
    await row(page, 'momentum').locator('button[data-action="tunables"]').click();
    await page.locator('dialog[open]').waitFor();
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    await expect
      .poll(() => page.locator('dialog[open]').textContent())
      .toContain('The config changed since this dialog opened: it is at version 3 now (gold active), not 2.');
  }, 60_000);

  it('tunables refused by a change made meanwhile: Review again keeps what was typed and shows what is in force now', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token);
    await row(page, 'momentum').locator('button[data-action="tunables"]').click();
    const input = page.locator('[data-tunable="lookback_bars"] input');
    await input.fill('40');
    const other = await server.gql(
      'mutation { updateConfig(input: { tunableOverrides: { momentum: { lookback_bars: 30 } } }) { config { version } } }',
    );
    expect(other.body.data?.updateConfig.config.version).toBe(2);
    await expect.poll(() => text(page, 'config-version')).toBe('2');
    await page.getByTestId('save-tunables').click();
    await expect.poll(() => text(page, 'action-error')).toContain('Config version conflict: expected 1, current 2');
    await page.getByRole('button', { name: 'Review again' }).click();
    expect(await page.locator('[data-tunable="lookback_bars"] input').inputValue()).toBe('40');
    expect(await text(page, 'in-force-now')).toBe(' · in force now: 30');
    await page.getByTestId('save-tunables').click();
    await expect
      .poll(() => page.locator('.notice.success').first().textContent())
      .toContain("Saved momentum's overrides (lookback_bars): config version 3.");
    expect(await configOnDisk(server)).toMatch(/lookback_bars: 40/);
  }, 60_000);

  it('rolls back from the timeline, showing what the old version changes back', async () => {
    const server = await serve({ runner: false });
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    const { page } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token);
    await page.getByRole('button', { name: 'Roll back to v1…' }).click();
    await expect.poll(() => page.locator('dialog[open] table.diff').textContent()).toMatch(/activeStrategyKey\s*gold\s*momentum/);
    await page.getByTestId('confirm-rollback').click();
    await expect.poll(() => text(page, 'active-strategy')).toBe('momentum');
    expect(await text(page, 'config-version')).toBe('3');
    await expect.poll(() => page.locator('.timeline li').first().textContent()).toMatch(/v3\s*rollback/);
    // Three versions: nothing older to point to.
    expect(await page.getByTestId('older-versions').count()).toBe(0);
  }, 60_000);

  it('the Roll back dialog says at once when the config moves while it is open, and Review again shows what is in force now', async () => {
    const server = await serve({ runner: false });
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    const { page } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token);
    await page.getByRole('button', { name: 'Roll back to v1…' }).click();
    await expect.poll(() => page.locator('dialog[open] table.diff').textContent()).toMatch(/activeStrategyKey\s*gold\s*momentum/);
    const other = await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    expect(other.body.data?.activateStrategy.configVersion).toBe(3);
    // Before: nothing until Roll back was clicked and refused.
    await expect.poll(() => page.locator('dialog[open] [data-testid="version-moved"]').count()).toBe(1);
    expect(await text(page, 'version-moved')).toContain(
      'The config changed since this dialog opened: it is at version 3 now (range active), not 2.',
    );
    await page.getByRole('button', { name: 'Review again' }).click();
    await expect.poll(() => page.locator('dialog[open] table.diff').textContent()).toMatch(/activeStrategyKey\s*range\s*momentum/);
    await page.getByTestId('confirm-rollback').click();
    await expect.poll(() => text(page, 'active-strategy')).toBe('momentum');
    expect(await text(page, 'config-version')).toBe('4');
  }, 60_000);

  it('a burst of config versions costs one reload of each query, not one per version', async () => {
    const server = await serve({ runner: false });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // What the page has heard on its stream: the newest configVersion (a copy of the stream is read here).
    await context.addInitScript(() => {
      const w = window as unknown as { __heard: number };
      w.__heard = 0;
      const original = window.fetch.bind(window);
      window.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
        const response = await original(input, init);
        if ((init?.method ?? 'GET') !== 'GET' || !String(input).includes('/graphql/stream') || !response.body) return response;
        const [mine, copy] = response.body.tee();
        void (async () => {
          const reader = copy.pipeThrough(new TextDecoderStream()).getReader();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            for (const m of value.matchAll(/"configVersion":(\d+)/g)) w.__heard = Math.max(w.__heard, Number(m[1]));
          }
        })();
        return new Response(mine, { status: response.status, statusText: response.statusText, headers: response.headers });
      };
    });
    const { page, requests } = await openOperatorPage(browser, server.origin, { context, fakeClock: true });
    await expect.poll(() => text(page, 'config-version')).toBe('1');
    const from = requests.length;
    // The page's time stands still while the versions arrive: they all fall in one reload window.
    await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1_000);
    for (let i = 0; i < 10; i++) {
      const answer = await server.gql(`mutation { activateStrategy(strategyKey: "${i % 2 === 0 ? 'gold' : 'range'}") { configVersion } }`);
      expect(answer.status).toBe(200);
    }
    await expect.poll(() => page.evaluate(() => (window as unknown as { __heard: number }).__heard)).toBe(11);
    await page.clock.fastForward(RELOAD_COALESCE_MS);
    await page.clock.resume();
    await expect.poll(() => page.locator('.timeline li').first().getAttribute('data-version')).toBe('11');
    expect(await text(page, 'config-version')).toBe('11');
    expect(await text(page, 'active-strategy')).toBe('range');
    const sent = requests
      .slice(from)
      .filter((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/graphql')
      .map((r) => r.postDataJSON().operationName as string);
    const count = (name: string) => sent.filter((n) => n === name).length;
    // Before: one of each per version heard (10 versions, 10 of each).
    expect({
      overview: count('OperatorOverview'),
      strategies: count('OperatorStrategies'),
      history: count('OperatorHistory'),
    }).toEqual({ overview: 1, strategies: 1, history: 1 });
  }, 60_000);

  it('an older answer of the history, arriving after a newer one, does not take the timeline back', async () => {
    const server = await serve({ runner: false });
    const { page, requests } = await openOperatorPage(browser, server.origin);
    await expect.poll(() => page.locator('.timeline li').first().getAttribute('data-version')).toBe('1');
    // The next history answer (version 2's) is held on its way, until a later one has been shown.
    let hold = true;
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let heldRequest: import('playwright-core').Request | null = null;
    await page.route('**/graphql', async (route) => {
      if (hold && route.request().postDataJSON()?.operationName === 'OperatorHistory') {
        hold = false;
        heldRequest = route.request();
        const response = await route.fetch();
        await held;
        return route.fulfill({ response });
      }
      await route.continue();
    });
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    await expect.poll(() => heldRequest !== null).toBe(true);
    await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    // Its own history load, not the held one, shows version 3. 20 s: a clean-clone CI run's busy host
    // once showed version 1 still after the default 5 s; what the page asked for is said if it fails.
    const asked = () =>
      requests
        .filter((r) => r.url().endsWith('/graphql') && r.method() === 'POST')
        .map((r) => (r.postDataJSON() as { operationName?: string } | null)?.operationName ?? '?')
        .join(', ');
    await expect
      .poll(() => page.locator('.timeline li').first().getAttribute('data-version'), {
        timeout: 20_000,
        message: 'the timeline shows version 3',
      })
      .toBe('3')
      .catch(async (err: Error) => {
        const live = await page.getByTestId('live').getAttribute('data-connected');
        throw new Error(`${err.message}\nlive connected: ${live}; the page's POSTs: ${asked()}`);
      });
    release();
    await heldRequest!.response().then((r) => r?.finished());
    // Two frames after the old answer is in: it would have been drawn by now.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    expect(await page.locator('.timeline li').first().getAttribute('data-version')).toBe('3');
  }, 60_000);

  it('the timeline of a single version spans two hours around it, not years', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin);
    const chart = page.getByTestId('timeline-chart');
    const range = async () => (await chart.getAttribute('data-x-range'))?.split(',').map(Number) ?? [];
    const time = (await server.gql('{ configHistory(last: 1) { time } }')).body.data?.configHistory[0].time as string;
    const at = Date.parse(time) / 1000;
    // Before: uPlot's own range for one point, "Feb 2027 … Aug 2029" with the point at the left edge.
    await expect.poll(range).toEqual([at - SINGLE_VERSION_PAD_S, at + SINGLE_VERSION_PAD_S]);
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    const second = Date.parse((await server.gql('{ configHistory(last: 1) { time } }')).body.data?.configHistory[0].time) / 1000;
    // Two versions: their span.
    await expect.poll(range).toEqual([at, second]);
  }, 60_000);

  it('past the 50 versions the timeline shows, says where the older ones are', async () => {
    const server = await serve({ runner: false });
    for (let i = 0; i < 55; i++) {
      const answer = await server.gql(`mutation { activateStrategy(strategyKey: "${i % 2 === 0 ? 'gold' : 'range'}") { configVersion } }`);
      expect(answer.status).toBe(200);
    }
    const { page } = await openOperatorPage(browser, server.origin);
    await expect.poll(() => page.locator('.timeline li').count()).toBe(TIMELINE_VERSIONS);
    expect(await text(page, 'older-versions')).toBe(
      'The last 50 versions shown; for older ones (before v7): stratctl history --last 100, or the API’s configHistory (up to 1,000 with a token).',
    );
  }, 60_000);

  it('says when the server goes away, reconnects when it is back, refetches, and notices a new server version', async () => {
    const first = await serve({ runner: false });
    const port = Number(new URL(first.origin).port);
    const opened = await openOperatorPage(browser, first.origin);
    const { page } = opened;
    await expect.poll(() => text(page, 'active-strategy')).toBe('momentum');
    await first.close();
    await expect.poll(() => page.getByTestId('live').getAttribute('data-connected')).toBe('false');
    await expect.poll(() => text(page, 'server-down')).toContain('The server cannot be reached');
    // A new server (a newer version, as /version says) on the same address and runtime dir; a change
    // lands before the page is back, so only the refetch on resubscribe can show it.
    opened.serverVersion.version = '0.2.0';
    const second = await serve({ runner: false, port, runtimeDir: first.runtimeDir });
    await second.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    await expect.poll(() => page.getByTestId('live').getAttribute('data-connected'), { timeout: 15_000 }).toBe('true');
    await expect.poll(() => text(page, 'active-strategy')).toBe('range');
    expect(await page.getByTestId('server-down').count()).toBe(0);
    await expect.poll(() => text(page, 'version-changed')).toContain('it now runs version 0.2.0; this page came from version 0.1.0');
  }, 60_000);

  it('after a reconnect, notices a server rebuilt at another commit of the same version (a commit unknown on either side: the version alone)', async () => {
    const first = await serve({ runner: false });
    const port = Number(new URL(first.origin).port);
    const built = { version: '0.1.0', commit: '1111111111111111111111111111111111111111' };
    const opened = await openOperatorPage(browser, first.origin, { serverVersion: built });
    const { page } = opened;
    // Restarts the server on the same address and runtime dir, answering `now` at /version, and waits until the page is live again.
    let server = first;
    const restartAs = async (now: { version: string; commit: string | null }) => {
      await server.close();
      await expect.poll(() => page.getByTestId('live').getAttribute('data-connected')).toBe('false');
      Object.assign(opened.serverVersion, now);
      server = await serve({ runner: false, port, runtimeDir: first.runtimeDir });
      await expect.poll(() => page.getByTestId('live').getAttribute('data-connected'), { timeout: 15_000 }).toBe('true');
      // The page asks /version as it is live again; its answer is read and shown a few tasks after it has arrived.
      const asked = () => opened.requests.filter((r) => new URL(r.url()).pathname === '/version');
      await expect.poll(() => asked().length).toBeGreaterThan(versionAsked);
      versionAsked = asked().length;
      await (await asked().at(-1)?.response())?.finished();
      await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 100)));
    };
    let versionAsked = 1;
    // A server whose commit is unknown (run from source): the same version is the same server.
    await restartAs({ version: '0.1.0', commit: null });
    expect(await page.getByTestId('version-changed').count()).toBe(0);
    // Rebuilt at another commit, same version: before, the page compared only the version and said nothing.
    await restartAs({ version: '0.1.0', commit: '2222222222222222222222222222222222222222' });
    const banner = page.getByTestId('version-changed');
    await expect.poll(() => banner.count()).toBe(1);
    expect(await banner.textContent()).toContain(
      'The server was rebuilt: it now runs version 0.1.0 (commit 222222222222); this page came from version 0.1.0 (commit 111111111111)',
    );
    await server.close();
  }, 90_000);

  it('three visible tabs in one browser all come back after a server restart: a reconnect closes the stream it replaces', async () => {
    const first = await serve({ runner: false });
    const port = Number(new URL(first.origin).port);
    // One browser context: its tabs share the browser's 6 connections to this server.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const tabs: OperatorPage[] = [];
    // The clock is the context's, the three tabs': the test jumps it over the reconnect backoff.
    for (let i = 0; i < 3; i++) tabs.push(await openOperatorPage(browser, first.origin, { context, fakeClock: i === 0 }));
    await first.close();
    for (const { page } of tabs) await expect.poll(() => page.getByTestId('live').getAttribute('data-connected')).toBe('false');
    // An outage of a few reconnect attempts (a restart that takes a couple of seconds), lived on the
    // page's clock in half-second steps (each attempt fails at once: nothing listens on the port).
    const puts = (tab: OperatorPage) =>
      tab.requests.filter((r) => r.method() === 'PUT' && new URL(r.url()).pathname === '/graphql/stream').length;
    // The tabs share one connection: its leader's attempts (src/page/shared-live.ts).
    await expect
      .poll(
        async () => {
          await tabs[0]!.page.clock.fastForward(500);
          return Math.max(...tabs.map(puts));
        },
        { timeout: 10_000 },
      )
      .toBeGreaterThanOrEqual(4);
    const second = await serve({ runner: false, port, runtimeDir: first.runtimeDir });
    // The next attempt is at most one backoff step (5 s) away: jumped, it is sent to the new server.
    await tabs[0]!.page.clock.fastForward(5_000);
    // Before, each reconnect opened two streams and never closed the older ones: they filled the
    // 6 connections, and every tab read "Offline" for good while the server was fine.
    for (const { page } of tabs) {
      await expect.poll(() => page.getByTestId('live').getAttribute('data-connected'), { timeout: 20_000 }).toBe('true');
    }
    await second.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    for (const { page } of tabs) await expect.poll(() => text(page, 'active-strategy')).toBe('range');
    // One stream for the three, held by their leader: the one of the connection it uses now.
    const openStreams = (tab: OperatorPage) =>
      tab.unfinished().filter((r) => r.method() === 'GET' && new URL(r.url()).pathname === '/graphql/stream').length;
    expect(tabs.map(openStreams).sort()).toEqual([0, 0, 1]);
  }, 90_000);

  it('while the server is away, reconnects once per backoff step: 0.5 s, 1 s, 2 s, 4 s, then every 5 s', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin, { fakeClock: true });
    // Each new connection starts with a PUT (graphql-sse's reservation): note when, on the page's clock.
    // And each timer the page sets, in the same log: the backoff's, set after a PUT has failed, tells
    // the test when it may jump the clock to its attempt (a jump before it was set would delay it).
    await page.evaluate(() => {
      const w = window as unknown as { __puts: number[]; __down: number | null; __log: { put?: true; ms?: number }[] };
      w.__puts = [];
      w.__down = null;
      w.__log = [];
      const original = window.fetch.bind(window);
      window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
        if (init?.method === 'PUT') {
          w.__puts.push(Date.now());
          w.__log.push({ put: true });
        }
        return original(input, init);
      };
      const setTimer = window.setTimeout.bind(window);
      window.setTimeout = ((handler: TimerHandler, ms?: number, ...rest: unknown[]) => {
        // A request's own deadline (fetchAnswered's NO_ANSWER_MS, 5 s like the backoff's last step) is not the backoff.
        if (!String(handler).includes('no answer from the server')) w.__log.push({ ms: ms ?? 0 });
        return setTimer(handler, ms, ...rest);
      }) as typeof window.setTimeout;
      new MutationObserver(() => {
        if (w.__down === null && document.querySelector('[data-testid="live"][data-connected="false"]')) w.__down = Date.now();
      }).observe(document.body, { subtree: true, attributes: true, childList: true });
    });
    // The page's time moves only when the test moves it, 10 ms a step until "Offline" is drawn (the
    // backoff starts in the same turn): with time flowing, a loaded machine drew it 313 ms of page
    // time after the backoff began (gap 0: 187 ms).
    await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1_000);
    await server.close();
    await expect
      .poll(
        async () => {
          await page.clock.fastForward(10);
          return page.getByTestId('live').getAttribute('data-connected');
        },
        { timeout: 15_000, interval: 20 },
      )
      .toBe('false');
    const puts = () => page.evaluate(() => (window as unknown as { __puts: number[] }).__puts);
    // A timer of `ms` set since the last PUT (or since "Offline", the backoff's start, for the first).
    const backoffSet = (ms: number) =>
      page.evaluate((ms) => {
        const log = (window as unknown as { __log: { put?: true; ms?: number }[] }).__log;
        const since = log.findLastIndex((e) => e.put);
        return log.slice(since + 1).some((e) => e.ms === ms);
      }, ms);
    // Before, graphql-sse's own retry and the page's re-subscribe each reconnected: two PUTs per step, 0 ms apart.
    const expected = [500, 1_000, 2_000, 4_000, 5_000, 5_000];
    for (const [i, ms] of expected.entries()) {
      // The clock stands still while the page fails its PUT and sets the next timer; then it jumps
      // to just before that attempt, and across it 10 ms a step.
      await expect.poll(() => backoffSet(ms), { timeout: 10_000, interval: 20 }).toBe(true);
      await page.clock.fastForward(ms - 100);
      await expect
        .poll(
          async () => {
            await page.clock.fastForward(10);
            return (await puts()).length;
          },
          { timeout: 10_000, interval: 20 },
        )
        .toBeGreaterThanOrEqual(i + 1);
    }
    const down = await page.evaluate(() => (window as unknown as { __down: number }).__down);
    const times = (await puts()).slice(0, 6);
    const gaps = [times[0]! - down, ...times.slice(1).map((t, i) => t - times[i]!)];
    for (const [i, gap] of gaps.entries()) {
      // Gap 0 starts at "Offline" as drawn (the page's time stood still from the backoff's start to
      // then); the others are PUT to PUT, both noted in fetch itself.
      expect(gap, `gap ${i} of ${JSON.stringify(gaps)}`).toBeGreaterThanOrEqual(expected[i]! - 50);
      // Longer, never shorter: between a timer and its PUT the page awaits real work while the test
      // goes on moving its clock 10 ms a step (with 100 ms steps and no wait for the timer, 5300 was seen at load 17).
      expect(gap, `gap ${i} of ${JSON.stringify(gaps)}`).toBeLessThanOrEqual(expected[i]! + 1_000);
    }
  }, 60_000);

  it('while the server is away: the live state stays in sight however far down the page, and the runner card says it is the last heard', async () => {
    const server = await serve();
    const { page } = await openOperatorPage(browser, server.origin, { viewport: { width: 1280, height: 700 } });
    const card = page.getByTestId('runner-state').first();
    await expect.poll(() => card.textContent()).toContain('RUNNING scanning on schedule');
    expect(await card.textContent()).toContain('✓ in sync');
    await page.getByTestId('strategy-row').last().scrollIntoViewIfNeeded();
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await server.close();
    await expect.poll(() => page.getByTestId('live').getAttribute('data-connected')).toBe('false');
    // The header stays at the top of the viewport, with its "Offline" pill.
    const live = await page.getByTestId('live').boundingBox();
    expect(live?.y).toBeGreaterThanOrEqual(0);
    expect(live?.y).toBeLessThan(100);
    expect(await page.getByTestId('live').isVisible()).toBe(true);
    await expect
      .poll(() => card.textContent())
      .toContain('last heard: scanning on schedule; live updates are off, so this may have changed');
    expect(await card.textContent()).not.toContain('✓ in sync');
    expect(await card.getAttribute('class')).toContain('unheard');
    // The banner's time names its zone (the charts' are UTC, the browser's may not be).
    expect(await text(page, 'server-down')).toMatch(/\(since \d{1,2}:\d{2}:\d{2}( [AP]M)? [A-Z][A-Za-z0-9+:-]+\)/);
  }, 60_000);

  it('says so when the server goes quiet with the stream still open (a frozen process, a dropped path), and recovers', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin, { fakeClock: true });
    await expect.poll(() => text(page, 'active-strategy')).toBe('momentum');
    // Nothing answers any more, and nothing is closed: the open stream stays open, new requests hang.
    const held: Route[] = [];
    const hold = (route: Route) => {
      held.push(route);
    };
    await page.route('**/health', hold);
    await page.route('**/graphql/stream*', hold);
    await page.clock.fastForward(PROBE_EVERY_MS);
    await expect.poll(() => held.length).toBeGreaterThan(0); // the page asked /health
    expect(await page.getByTestId('live').getAttribute('data-connected')).toBe('true'); // not yet judged
    await page.clock.fastForward(NO_ANSWER_MS);
    await expect.poll(() => page.getByTestId('live').getAttribute('data-connected')).toBe('false');
    await expect.poll(() => text(page, 'server-down')).toContain('No answer from the server within 5 s');
    // A change while the page could not hear it; then the server answers again.
    await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    await page.unroute('**/health');
    await page.unroute('**/graphql/stream*');
    await expect
      .poll(
        async () => {
          await page.clock.fastForward(NO_ANSWER_MS); // the hung requests give up, the client retries
          return page.getByTestId('live').getAttribute('data-connected');
        },
        // Real time for the reconnects between the fake clock's jumps: a full, loaded CI run once needed more than 20 s.
        { timeout: 45_000 },
      )
      .toBe('true');
    await expect.poll(() => text(page, 'active-strategy')).toBe('range');
    expect(await page.getByTestId('server-down').count()).toBe(0);
  }, 90_000);

  it("notices a stream that went silent while new connections work (a NAT entry lost in a laptop's sleep) after one missed ping, and starts over", async () => {
    const server = await serve({ runner: false });
    const proxy = await blackHoleProxy(Number(new URL(server.origin).port));
    try {
      const { page } = await openOperatorPage(browser, proxy.origin, { fakeClock: true });
      await expect.poll(() => text(page, 'active-strategy')).toBe('momentum');
      proxy.blackHole();
      // The server is reachable all along: /health answers (here, not through a kept-alive socket
      // of the proxy the browser may pick, whose silence would be the probe's to notice).
      await page.route('**/health', (route) => route.fulfill({ status: 200, body: 'ok' }));
      // A change the page cannot hear: its stream's bytes go nowhere, and nothing closes it.
      await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
      // A second at a time (no jump taken for a laptop's sleep): /health, on new connections, answers all along.
      const step = async (ms: number) => {
        for (let moved = 0; moved < ms; moved += 1_000) await page.clock.fastForward(1_000);
      };
      await step(STREAM_PING_MS);
      expect(await page.getByTestId('live').getAttribute('data-connected')).toBe('true'); // a ping may still be on its way
      await step(STREAM_SILENT_MS - STREAM_PING_MS + 1_000);
      await expect
        .poll(() => text(page, 'server-down'), { timeout: 2_000 })
        .toContain('Nothing from the server on the live connection for 15 s');
      // Before: "Live" over "momentum" until the stream's socket gave up. Now a new connection, refetched.
      await expect
        .poll(
          async () => {
            await page.clock.fastForward(1_000);
            return text(page, 'active-strategy');
          },
          { timeout: 30_000 },
        )
        .toBe('range');
      await expect.poll(() => page.getByTestId('live').getAttribute('data-connected')).toBe('true');
    } finally {
      await closeOperatorPages();
      await proxy.close();
    }
  }, 90_000);

  it('asks /health at once when the browser is back online or the tab is shown again, not at the next probe', async () => {
    const server = await serve({ runner: false });
    const { page, requests } = await openOperatorPage(browser, server.origin, { fakeClock: true });
    // The clock stands still: no probe comes of its timer meanwhile.
    await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1_000);
    const probes = () => requests.filter((r) => new URL(r.url()).pathname === '/health').length;
    const before = probes();
    await page.evaluate(() => window.dispatchEvent(new Event('online')));
    await expect.poll(probes).toBe(before + 1);
    await setHidden(page, false);
    await expect.poll(probes).toBe(before + 2);
  }, 60_000);

  it('renders names and reasons from hand-edited files as text: markup stays text, nothing runs', async () => {
    const server = await serve({ runner: false });
    const { page, problems } = await openOperatorPage(browser, server.origin);
    await expect.poll(() => text(page, 'active-strategy')).toBe('momentum');
    const onDisk = await configOnDisk(server);
    await writeFile(
      path.join(server.runtimeDir, 'config.yaml'),
      onDisk.replace('tunable_overrides: {}', 'tunable_overrides:\n  "<img src=x onerror=window.pwned=1>": {}'),
    );
    const error = page.locator('.error-box[role="alert"]');
    await expect.poll(() => error.textContent(), { timeout: 10_000 }).toContain('unknown strategy "<img src=x onerror=window.pwned=1>"');
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await problems()).toEqual([]);
  }, 60_000);

  it('starts the live connection over for a new token with nothing left behind: the old subscriptions end with their stream, and no request races its close', async () => {
    const server = await serve({ runner: false });
    const open = countOpenSubscriptions(server);
    const operate = await createToken(server.runtimeDir, 'night-shift', 'operate');
    const { page, requests, problems } = await openOperatorPage(browser, server.origin);
    expect(open()).toBe(2);
    const live = page.locator('[data-testid="live"][data-connected="true"]');
    for (let i = 0; i < 3; i++) {
      await enterToken(page, operate);
      await live.waitFor({ timeout: 15_000 });
      await expect.poll(open).toBe(2);
      await page.locator('#forget-token').click();
      await expect.poll(() => page.locator('#viewer').textContent()).toBe('Read-only: no token');
      await live.waitFor({ timeout: 15_000 });
      await expect.poll(open).toBe(2);
    }
    // Each start over was a new stream (PUT), and no operation was deleted on one being closed.
    const stream = requests.filter((r) => new URL(r.url()).pathname === '/graphql/stream');
    expect(stream.filter((r) => r.method() === 'PUT')).toHaveLength(7);
    expect(stream.filter((r) => r.method() === 'DELETE').map((r) => r.url())).toEqual([]);
    // Still live: a change reaches the page over the last stream.
    await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    await expect.poll(() => text(page, 'active-strategy')).toBe('range');
    expect(await problems()).toEqual([]);
  }, 60_000);

  it('the Activate dialog shows what the change is to at phone width, and never breaks a field name mid-word', async () => {
    const server = await serve({ runner: false });
    /** Lines each row header's words take (a word broken across two lines makes two). */
    const headerLines = (page: Page) =>
      page.locator('dialog[open] table.diff tbody th').evaluateAll((all) =>
        Object.fromEntries(
          all.map((th) => {
            const range = document.createRange();
            range.selectNodeContents(th);
            return [th.textContent, new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size];
          }),
        ),
      );
    // One page, reloaded at each size: the token it was given stays with the tab (sessionStorage).
    const { page } = await openOperatorPage(browser, server.origin, { viewport: { width: 390, height: 844 } });
    await enterToken(page, server.token, /^Token: admin/);
    for (const width of [390, 1280]) {
      await page.setViewportSize({ width, height: 844 });
      await page.reload();
      await expect.poll(() => page.locator('#viewer').textContent()).toMatch(/^Token: admin/);
      await row(page, 'range').locator('button[data-action="activate"]').click();
      const dialog = page.locator('dialog[open]');
      await dialog.locator('table.diff').waitFor();
      // Before, at 390 px: the table 551 px wide in a 352 px dialog, the After column from x=403 on.
      const box = await dialog.boundingBox();
      for (const after of await dialog.locator('td[data-label="After"]').all()) {
        const cell = await after.boundingBox();
        expect(cell && cell.x + cell.width, `${width} px: ${await after.textContent()}`).toBeLessThanOrEqual(box!.x + box!.width);
      }
      expect(await dialog.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
      // Before, at 1280 px: "Instrument / s" and "Config / version" on two lines.
      expect(await headerLines(page), `${width} px`).toEqual({
        Strategy: 1,
        Risk: 1,
        Session: 1,
        Instruments: 1,
        Parameters: 1,
        'Config version': 1,
      });
    }
  }, 60_000);

  it('at 375 px a preset name of 100 characters with no space wraps in the Activate and Tunables titles: nothing wider than the dialog', async () => {
    const server = await serve({ runner: false });
    const long = `Gold${'x'.repeat(96)}`;
    const added = await server.gql('mutation($input: PresetInput!) { upsertPreset(input: $input) { changed } }', {
      input: { key: 'gold_long', base: 'gold', name: long },
    });
    expect(added.body.data).toEqual({ upsertPreset: { changed: true } });
    const { page } = await openOperatorPage(browser, server.origin, { viewport: { width: 375, height: 812 } });
    await enterToken(page, server.token, /^Token: admin/);
    for (const action of ['activate', 'tunables']) {
      await row(page, 'gold_long').locator(`button[data-action="${action}"]`).click();
      const dialog = page.locator('dialog[open]');
      await expect.poll(() => dialog.locator('h2').textContent()).toContain(long);
      // Before: the title ran past the dialog's edge, and the dialog scrolled sideways.
      expect(await dialog.evaluate((el) => el.scrollWidth <= el.clientWidth), action).toBe(true);
      const box = await dialog.boundingBox();
      const title = await dialog.locator('h2').boundingBox();
      expect(title && title.x + title.width, action).toBeLessThanOrEqual(box!.x + box!.width);
      await page.keyboard.press('Escape');
      await expect.poll(() => page.locator('dialog[open]').count()).toBe(0);
    }
  }, 60_000);

  it('is usable at phone width and from the keyboard alone', async () => {
    const server = await serve({ runner: false });
    const operate = await createToken(server.runtimeDir, 'night-shift', 'operate');
    const { page, problems } = await openOperatorPage(browser, server.origin, { viewport: { width: 390, height: 844 } });
    await row(page, 'gold').waitFor();
    // Nothing wider than the screen but the table, which scrolls in its own box.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    // Tab to the token field, type, Enter; then Tab to gold's Activate and press Enter; Escape closes.
    const focused = () =>
      page.evaluate(
        () => (document.activeElement as HTMLElement | null)?.id || (document.activeElement as HTMLElement | null)?.dataset.focus || '',
      );
    for (let i = 0; i < 10 && (await focused()) !== 'token-input'; i++) await page.keyboard.press('Tab');
    expect(await focused()).toBe('token-input');
    await page.keyboard.type(operate);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#viewer').textContent()).toBe('Token: night-shift (OPERATE)');
    for (let i = 0; i < 40 && (await focused()) !== 'activate-gold'; i++) await page.keyboard.press('Tab');
    expect(await focused()).toBe('activate-gold');
    await page.keyboard.press('Enter');
    await page.locator('dialog[open]').waitFor();
    // Focus starts on Cancel (Enter twice on Activate… switched the live strategy unseen), the dialog at its top.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    expect((await page.locator('#dialog-title').boundingBox())?.y).toBeGreaterThanOrEqual(0);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('dialog[open]').count()).toBe(0);
    expect(server.store.state().config.config).toMatchObject({ activeStrategyKey: 'momentum', version: 1 });
    await page.keyboard.press('Enter');
    await page.locator('dialog[open]').waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('dialog[open]').count()).toBe(0);
    // An operate token may activate, not change tunables: the editor opens read-only.
    await row(page, 'gold').locator('button[data-action="tunables"]').click();
    expect(await page.locator('dialog[open] input').first().isDisabled()).toBe(true);
    expect(await page.locator('dialog[open]').textContent()).toContain('Read-only: changing overrides needs a token with scope admin.');
    expect(await problems()).toEqual([]);
  }, 60_000);
});
