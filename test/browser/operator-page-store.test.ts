import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeWithEtcd, startEtcd } from '../helpers/etcd.js';
import { freshPrefix } from '../helpers/etcd-stores.js';
import { builtPage, closeOperatorPages, enterToken, openOperatorPage } from '../helpers/operator-page.js';
import { chromiumInstalled, launchChromium } from '../helpers/playground.js';
import { spawnStratctl, startTestServer, TEST_TOKEN } from '../helpers/server.js';

/**
 * The operator page while the server cannot reach its config store (etcd hung: SIGSTOP), and when
 * it can again; and while the server refuses what the page asks (a lower --max-list-size). The
 * file's own, so that its etcd and its runner do not share a worker with the page's other tests.
 */

const available = chromiumInstalled();

const text = (page: Page, testId: string) => page.getByTestId(testId).first().textContent();

describe.skipIf(!available)('the operator page and its store', () => {
  let browser: Browser;
  let dir: string;
  beforeAll(async () => {
    [browser, { outDir: dir }] = await Promise.all([launchChromium(), builtPage()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(closeOperatorPages);

  describeWithEtcd('with etcd', () => {
    it('says the store is unreachable and the runner unknown (never STALE, "dead or stuck" or "no runner is running"), and goes back to normal by itself', async () => {
      const cluster = await startEtcd();
      const store = cluster.url(freshPrefix());
      const server = await startTestServer({ store: { kind: 'etcd', url: store, tls: {} }, runner: false, page: { dir } });
      const runner = spawnStratctl(
        ['runner', '--store', store, '--runner-id', 'r1', '--heartbeat-ms', '2000', '--feed', 'sim:7', '--runtime-dir', server.runtimeDir],
        { CONTROL_PLANE_TOKEN: TEST_TOKEN },
      );
      await runner.waitFor(/strategy runner started/);
      const { page, problems } = await openOperatorPage(browser, server.origin);
      const item = page.locator('[data-testid="runner-state"][data-runner-id="r1"]');
      await expect.poll(() => item.textContent(), { timeout: 15_000 }).toContain('scanning on schedule');
      expect(await text(page, 'trading')).toBe('● Trading enabled');
      expect(await page.getByTestId('store-down').count()).toBe(0);
      // Everything the runner's card and the trading badge say from here on, in order.
      await page.evaluate(() => {
        const w = window as unknown as { __seen: string[] };
        w.__seen = [];
        const take = () => {
          const shown = `${document.querySelector('[data-runner-id="r1"]')?.textContent} | ${document.querySelector('[data-testid="trading"]')?.textContent}`;
          if (w.__seen.at(-1) !== shown) w.__seen.push(shown);
        };
        new MutationObserver(take).observe(document, { subtree: true, childList: true, characterData: true });
      });

      // The history (read from the store) is not asked while the page knows the store is away: it was,
      // at the token's reload, and a slow outage turned it into a 503 in the console and a stale note.
      const historyAsked: number[] = [];
      page.on('request', (request) => {
        if (request.method() === 'POST' && request.postData()?.includes('"operationName":"OperatorHistory"')) historyAsked.push(Date.now());
      });
      let downSeenAt = Number.POSITIVE_INFINITY;
      let thawedAt = Number.POSITIVE_INFINITY;
      const frozenAt = Date.now();
      cluster.members[0]!.freeze();
      try {
        await expect.poll(() => page.getByTestId('store-down').count(), { timeout: 20_000 }).toBe(1);
        downSeenAt = Date.now();
        const noticed = Date.now() - frozenAt;
        const status = (await server.gql('{ status { store { connected lastContactAt } runners { heartbeatAt } } }')).body.data!.status;
        expect(status.store.connected).toBe(false);
        const clock = (iso: string) => page.evaluate((t) => new Date(t).toLocaleTimeString(undefined, { timeZoneName: 'short' }), iso);
        expect(await text(page, 'store-down')).toBe(
          `The config store is unreachable since ${await clock(status.store.lastContactAt)}: changes are refused until it answers again, and the runners cannot be heard meanwhile (what they last reported is shown).`,
        );
        // The runner: unknown, with when it was last heard; not STALE, not "dead or stuck".
        await expect
          .poll(() => item.textContent())
          .toContain(`UNKNOWN unknown (store unreachable), last heard ${await clock(status.runners[0].heartbeatAt)}`);
        expect(await item.textContent()).not.toMatch(/STALE|dead or stuck|in sync/);
        expect(await text(page, 'trading')).toBe('● Trading enabled; the runners are unknown while the store is unreachable');
        // The page itself is still live: the API answers, it is the store that does not.
        expect(await text(page, 'live')).toBe('Live');
        // Past the runner's 3 heartbeats (STALE on the API's side, 6 s after the last), once the page
        // itself holds the runner as STALE (its item's class; waited for, not a fixed sleep): still
        // unknown, still no "no runner is running". (2 s heartbeats: the page can hide STALE only once
        // the server has noticed the outage, ~2-3 s after the freeze; at 1 s heartbeats a loaded host
        // had ~1 s to spare.)
        await expect.poll(() => item.getAttribute('class'), { timeout: 20_000 }).toContain('state-STALE');
        expect(await item.textContent()).toContain('unknown (store unreachable)');
        expect(await text(page, 'trading')).not.toContain('no runner is running');
        // The activate dialog says the change would be refused (it said "No runner is reporting: the change is saved").
        await enterToken(page, TEST_TOKEN, /^Token: admin/);
        await page.locator('[data-testid="strategy-row"][data-key="gold"] button[data-action="activate"]').click();
        expect(await text(page, 'store-down-activate')).toBe(
          'The config store is unreachable: the server refuses changes until it answers again, so this one would be refused and nothing changed.',
        );
        expect(await page.getByTestId('no-runner').count()).toBe(0);
        await page.keyboard.press('Escape');
        process.stderr.write(`store outage: the page said so ${noticed} ms after etcd froze\n`);
      } finally {
        thawedAt = Date.now();
        cluster.members[0]!.thaw();
      }
      expect(historyAsked.filter((at) => at >= downSeenAt && at < thawedAt)).toEqual([]);

      // Back by itself: no banner, the runner heard again.
      await expect.poll(() => page.getByTestId('store-down').count(), { timeout: 20_000 }).toBe(0);
      // The history held back at the token's reload is asked now, and loads.
      await expect.poll(() => historyAsked.some((at) => at >= thawedAt), { timeout: 10_000 }).toBe(true);
      await expect.poll(() => page.getByTestId('history-stale').count()).toBe(0);
      expect(await page.getByTestId('history-note').count()).toBe(0);
      await expect.poll(() => item.textContent(), { timeout: 15_000 }).toContain('RUNNING');
      expect(await item.textContent()).toContain('scanning on schedule');
      await expect.poll(() => text(page, 'trading')).toBe('● Trading enabled');
      const seen = await page.evaluate(() => (window as unknown as { __seen: string[] }).__seen);
      process.stderr.write(`store outage: what the runner's card said, in order:\n  ${seen.join('\n  ')}\n`);
      // Never "dead or stuck", nor "no runner is running", while the store was away or coming back.
      expect(seen.filter((s) => /dead or stuck|no runner is running/.test(s))).toEqual([]);
      expect(await problems()).toEqual([]);
    }, 90_000);

    it('two runners scanning one instrument get a chart each, titled with their ids, each "Last:" its own runner’s newest: never one line from two feeds', async () => {
      const cluster = await startEtcd();
      const store = cluster.url(freshPrefix());
      const server = await startTestServer({ store: { kind: 'etcd', url: store, tls: {} }, runner: false, page: { dir } });
      await server.gql('mutation { updateConfig(input: { scanIntervalSeconds: 1 }) { config { version } } }');
      // Two feeds: what one said of EUR_USD is not the other's.
      for (const [id, feed] of [
        ['a', 'sim:7'],
        ['b', 'sim:8'],
      ]) {
        const runner = spawnStratctl(
          ['runner', '--store', store, '--runner-id', id!, '--heartbeat-ms', '500', '--feed', feed!, '--runtime-dir', server.runtimeDir],
          { CONTROL_PLANE_TOKEN: TEST_TOKEN },
        );
        await runner.waitFor(/strategy runner started/);
      }
      const { page, problems } = await openOperatorPage(browser, server.origin);
      const charts = page.locator('[data-testid="signal-chart"][data-instrument="EUR_USD"]');
      await expect
        .poll(() => charts.evaluateAll((all) => all.map((c) => c.getAttribute('data-runner-id'))), { timeout: 20_000 })
        .toEqual(['a', 'b']);
      for (const id of ['a', 'b']) {
        const chart = page.locator(`[data-testid="signal-chart"][data-instrument="EUR_USD"][data-runner-id="${id}"]`);
        expect(await chart.locator('figcaption').textContent()).toContain(`EUR_USD · runner ${id}`);
        // "Last:" is this runner's newest (the API's, filtered by runner), read again at each look.
        const agrees = async () => {
          const newest = (await server.gql(`{ signals(instrument: "EUR_USD", runnerId: "${id}", last: 1) { direction price } }`)).body.data
            ?.signals[0];
          return (await chart.locator('.signal-note').textContent())?.startsWith(`Last: ${newest?.direction} at ${newest?.price} · `);
        };
        await expect.poll(agrees, { timeout: 10_000 }).toBe(true);
      }
      expect(await problems()).toEqual([]);
    }, 90_000);
  });

  it('a server whose list limit is below what the page used to ask still charts its signals, and a refused timeline says why', async () => {
    // 50 without a token: the page's signals asked `last: 100` and were refused, shown as "No signals yet".
    const server = await startTestServer({ runner: { heartbeatMs: 200 }, page: { dir }, security: { costLimits: { maxListSize: 50 } } });
    const { page, problems } = await openOperatorPage(browser, server.origin);
    const note = page.locator('.signal-note').first();
    await expect.poll(() => note.textContent(), { timeout: 15_000 }).toMatch(/^Last: /);
    expect(await page.getByTestId('signals-refused').count()).toBe(0);
    expect(await page.getByTestId('history-note').count()).toBe(0);

    // 20: the timeline's `last: 50` is refused: said where the timeline goes, not "Loading…" for good.
    const low = await startTestServer({ runner: { heartbeatMs: 200 }, page: { dir }, security: { costLimits: { maxListSize: 20 } } });
    const second = await openOperatorPage(browser, low.origin);
    // configHistory keeps 100: what a token allows it, not the 1000 of longer lists.
    await expect.poll(() => text(second.page, 'history-note')).toBe('Not loaded: Invalid last: at most 20 (100 with a token), got 50');
    await expect.poll(() => second.page.locator('.signal-note').first().textContent(), { timeout: 15_000 }).toMatch(/^Last: /);
    expect(await problems()).toEqual([]);
  }, 60_000);

  it('a timeline reload that fails after a good load says so above the list, which stays; the next good one clears it', async () => {
    const server = await startTestServer({ runner: false, page: { dir } });
    const { page } = await openOperatorPage(browser, server.origin);
    const versions = page.locator('ol.timeline li');
    await expect.poll(() => versions.count(), { timeout: 15_000 }).toBe(1);
    // The next OperatorHistory is refused (a store that stopped answering between two loads).
    const refuseHistory = async (route: Route) => {
      const request = route.request();
      if (request.method() === 'POST' && request.postDataJSON()?.operationName === 'OperatorHistory')
        return route.fulfill({
          status: 503,
          contentType: 'application/json',
          body: JSON.stringify({ errors: [{ message: 'The config store is unreachable', extensions: { code: 'UNAVAILABLE' } }] }),
        });
      return route.fallback();
    };
    await page.route('**/graphql', refuseHistory);
    expect((await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }')).status).toBe(200);
    // It kept the old list without a word.
    await expect
      .poll(() => text(page, 'history-stale'), { timeout: 15_000 })
      .toBe('Not reloaded: The config store is unreachable; the list below is as of the last load.');
    expect(await versions.count()).toBe(1);
    await page.unroute('**/graphql', refuseHistory);
    expect((await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }')).status).toBe(200);
    await expect.poll(() => versions.count(), { timeout: 15_000 }).toBe(3);
    expect(await page.getByTestId('history-stale').count()).toBe(0);
  }, 60_000);
});
