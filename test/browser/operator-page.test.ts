import { createHash, pbkdf2Sync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, CDPSession, Page, Route } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createToken, revokeToken } from '../../src/auth/token-file.js';
import { interruptible } from '../../src/graphql/plugins/interruptible.js';
import { NO_ANSWER_MS } from '../../src/page/api.js';
import { FIRST_LOAD_WAIT_MS, READ_RETRY_MS, RELOAD_COALESCE_MS } from '../../src/page/app.js';
import { HIDDEN_PAUSE_MS, PROBE_EVERY_MS, STREAM_PING_MS, STREAM_SILENT_MS } from '../../src/page/live.js';
import { GROUP_KDF_ITERATIONS, LEADER_BEAT_MS, LEADER_SILENT_MS } from '../../src/page/shared-live.js';
import { CLOSE_IGNORED_MS, UNANSWERED_MS } from '../../src/page/views/dialog.js';
import { SINGLE_VERSION_PAD_S, TIMELINE_VERSIONS } from '../../src/page/views/timeline.js';
import { builtPage, closeOperatorPages, enterToken, type OperatorPage, openOperatorPage } from '../helpers/operator-page.js';
import { CHROMIUM, chromiumInstalled, launchChromium } from '../helpers/playground.js';
import { spawnStratctl, startTestServer, type TestServer } from '../helpers/server.js';
import { stratctl } from '../helpers/stratctl.js';

const available = chromiumInstalled();
const inCI = process.env.CI === 'true';

if (!available) {
  const notice = `\n${'!'.repeat(78)}\n!! BROWSER TEST SKIPPED: ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run does it).\n${'!'.repeat(78)}\n`;
  process.stderr.write(notice);
}

describe('the push bound', () => {
  it("is below the page's probe and a leader's silence, so it cannot be met by either", () => {
    expect(PUSHED_WITHIN_MS).toBeLessThan(Math.min(PROBE_EVERY_MS, LEADER_SILENT_MS));
  });
});

describe("the stream's silence", () => {
  it("is counted from graphql-sse's own ping interval (its handler's, not exported)", () => {
    const handler = readFileSync(new URL('../../node_modules/graphql-sse/lib/handler.js', import.meta.url), 'utf8');
    expect(handler).toContain(`msgs.next(':\\n\\n'), ${STREAM_PING_MS})`);
    expect(STREAM_SILENT_MS).toBeGreaterThan(STREAM_PING_MS);
  });
});

/**
 * A TCP proxy to `port` on loopback that can be told to black-hole the connections open at that
 * moment (a NAT or firewall entry lost as a laptop slept: their bytes go nowhere, nothing closes
 * them) while new connections pass as before.
 */
async function blackHoleProxy(port: number): Promise<{ origin: string; blackHole(): void; close(): Promise<void> }> {
  const pairs: [net.Socket, net.Socket][] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    pairs.push([client, upstream]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: own } = server.address() as net.AddressInfo;
  return {
    origin: `http://127.0.0.1:${own}`,
    blackHole: () => {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
        client.removeAllListeners('data');
        upstream.removeAllListeners('data');
      }
    },
    close: async () => {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe.runIf(!available && inCI)('the operator page in a real browser (CI)', () => {
  it(`needs Chromium at ${CHROMIUM} under CI=true`, () => {
    expect.fail(`${CHROMIUM} is missing and CI=true: the browser test must run in CI (.ci/run installs chromium)`);
  });
});

/**
 * How long a change pushed to the page (or a live connection handed to another tab) may take to
 * show: wide, for a loaded machine with eight tabs (2-3 s was tight), and still below the page's
 * only other ways to learn it (its liveness probe, a leader's silence), so a pass means a push.
 */
const PUSHED_WITHIN_MS = 5_000;

const text = (page: Page, testId: string) => page.getByTestId(testId).first().textContent();
/** What the page's strategies table and the server's strategies hold now, and a second later: for a failure's message. */
async function rowsGone(page: Page, server: TestServer): Promise<string> {
  const look = async () => ({
    rows: await page.locator('[data-testid="strategy-row"]').evaluateAll((els) => els.map((el) => el.getAttribute('data-key'))),
    table: ((await page.locator('#strategies').textContent()) ?? '').slice(0, 200),
    filters: await page.locator('#strategies select').evaluateAll((els) => els.map((el) => (el as HTMLSelectElement).value)),
    server: (await server.gql('{ status { presetsVersion strategiesError { message } } strategies { key } }', undefined, null)).body,
  });
  const now = await look();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return JSON.stringify({ now, aSecondLater: await look() });
}
const configOnDisk = (server: TestServer) => readFile(path.join(server.runtimeDir, 'config.yaml'), 'utf8');
const row = (page: Page, key: string) => page.locator(`[data-testid="strategy-row"][data-key="${key}"]`);

/** The first `operation` reaches the server, and its answer is lost on the way back (a proxy timeout, flaky Wi-Fi). */
async function loseFirstAnswer(page: Page, operation: string): Promise<void> {
  let lost = 0;
  await page.route('**/graphql', async (route) => {
    if (route.request().postDataJSON()?.operationName === operation && lost === 0) {
      lost++;
      await route.fetch();
      return route.abort('connectionreset');
    }
    await route.continue();
  });
}

/**
 * The first `operation` reaches the server (which applies it), and the page gets, instead of the
 * server's answer, what `answer` makes of it (a proxy's 504 page, a body that broke off): once
 * `held` (if given) settles.
 */
async function replaceFirstAnswer(
  page: Page,
  operation: string,
  answer: (server: string) => { status: number; contentType: string; body: string },
  held?: Promise<void>,
): Promise<void> {
  let replaced = 0;
  await page.route('**/graphql', async (route) => {
    if (route.request().postDataJSON()?.operationName === operation && replaced === 0) {
      replaced++;
      const forwarded = await route.fetch();
      const server = await forwarded.text();
      await held;
      return route.fulfill(answer(server));
    }
    await route.continue();
  });
}
const proxy504 = () => ({ status: 504, contentType: 'text/html', body: '<html><body><h1>504 Gateway Time-out</h1></body></html>' });

/** The subscriptions `server` holds open, counted where the resolvers open them (each live connection holds 2). */
function countOpenSubscriptions(server: TestServer): () => number {
  let open = 0;
  const events = server.services.events;
  const subscribe = events.subscribe.bind(events);
  events.subscribe = ((topic: Parameters<typeof subscribe>[0]) => {
    open += 1;
    // interruptible's onEnd runs once, however the stream ends.
    return interruptible(subscribe(topic), () => {
      open -= 1;
    });
  }) as typeof events.subscribe;
  return () => open;
}

/** What a browser does when another tab is brought to the front (headless tabs are all "visible"). */
const setHidden = (page: Page, hidden: boolean) =>
  page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);

/** The SSE streams (GET /graphql/stream) a tab opened so far. */
const streamsOf = (tab: OperatorPage) =>
  tab.requests.filter((r) => r.method() === 'GET' && new URL(r.url()).pathname === '/graphql/stream').length;
const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);

/** Every text the live pill of each page of `context` shows, in order, in `window.__liveSeen` (a false "Offline" would be seen there). */
async function recordLiveTexts(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const w = window as unknown as { __liveSeen: string[] };
    w.__liveSeen = [];
    new MutationObserver(() => {
      const why = document.querySelector('[data-testid="server-down"]')?.textContent;
      const shown = `${document.querySelector('[data-testid="live"]')?.textContent ?? ''}${why ? ` (${why})` : ''}`;
      if (shown && w.__liveSeen.at(-1) !== shown) w.__liveSeen.push(shown);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
}
const liveTexts = (page: Page) => page.evaluate(() => (window as unknown as { __liveSeen: string[] }).__liveSeen);

/**
 * Stops `page` in the debugger (after dispatching `event` on its document, as the browser does
 * before it freezes a page), and returns once it is stopped: nothing of it runs until
 * `Debugger.resume` on the returned session. (Debugger.pause alone stops at the next statement
 * the page runs, which may come seconds later.)
 */
async function stopInDebugger(page: Page, event?: 'freeze'): Promise<CDPSession> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Debugger.enable');
  const paused = new Promise((resolve) => cdp.once('Debugger.paused', resolve));
  await page.evaluate((name) => {
    if (name) document.dispatchEvent(new Event(name));
    setTimeout(() => {
      // biome-ignore lint/suspicious/noDebugger: the test's way to stop the page, as a person in DevTools does
      debugger;
    });
  }, event);
  await paused;
  return cdp;
}

/** Holds every activation the page sends on its way (a server that stopped answering) until the returned function lets them go. */
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

describe.skipIf(!available)('the operator page (GET /) in headless Chromium', () => {
  let browser: Browser;
  /** A browser with the back/forward cache on (launchChromium turns it off), launched with the other rather than in its test. */
  let cached: Browser;
  let dir: string;
  beforeAll(async () => {
    [browser, cached, { outDir: dir }] = await Promise.all([launchChromium(), launchChromium({ backForwardCache: true }), builtPage()]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([browser?.close(), cached?.close()]);
  });
  afterEach(closeOperatorPages);

  const serve = (options: Parameters<typeof startTestServer>[0] = {}) =>
    startTestServer({ runner: { heartbeatMs: 200 }, page: { dir }, ...options });

  it('follows the presets live: a preset added shows without a reload, and a strategies.yaml kept out is said', async () => {
    const server = await serve();
    const { page } = await openOperatorPage(browser, server.origin);
    await expect.poll(() => text(page, 'active-strategy')).toBe('momentum');
    expect(await row(page, 'gold_fast').count()).toBe(0);
    const added = await server.gql('mutation { upsertPreset(input: { key: "gold_fast", base: "gold", name: "Gold (fast)" }) { changed } }');
    expect(added.body.data).toEqual({ upsertPreset: { changed: true } });
    // No config change came with it: before, the table waited for one (or a reload).
    await expect.poll(() => row(page, 'gold_fast').count()).toBe(1);
    // Marked as a preset of its base (its name and risk words are its author's).
    expect(await row(page, 'gold_fast').getByTestId('preset-of').textContent()).toBe('preset of gold');
    expect(await row(page, 'gold').getByTestId('preset-of').count()).toBe(0);
    expect(await page.getByTestId('strategies-error').count()).toBe(0);

    await writeFile(path.join(server.runtimeDir, 'strategies.yaml'), 'version: 1\npresets: [broken\n');
    await server.store.refresh();
    await expect.poll(() => page.getByTestId('strategies-error').count()).toBe(1);
    expect(await text(page, 'strategies-error')).toContain(
      'strategies.yaml is not in force; the presets before it stay in force until it is fixed.',
    );
    // The set before it stays, and so does its row.
    const rows = await row(page, 'gold_fast').count();
    // Seen once in CI (0 rows here, not reproduced in ~60 runs since): what the page and the server held then.
    expect(rows, rows === 1 ? '' : await rowsGone(page, server)).toBe(1);
  });

  it('a preset name of 100 characters with no space wraps: the table stays within the page, its buttons in sight, the active card holds it', async () => {
    const server = await serve();
    const long = `Gold${'x'.repeat(96)}`;
    const key = 'gold_long_name_preset_with_a_key_of_48_chars_ab';
    const added = await server.gql('mutation($input: PresetInput!) { upsertPreset(input: $input) { changed } }', {
      input: { key, base: 'gold', name: long },
    });
    expect(added.body.data).toEqual({ upsertPreset: { changed: true } });
    expect((await server.gql(`mutation { activateStrategy(strategyKey: "${key}") { configVersion } }`)).status).toBe(200);
    const { page } = await openOperatorPage(browser, server.origin, { viewport: { width: 1280, height: 900 } });
    await expect.poll(() => text(page, 'active-strategy')).toBe(key);
    await expect.poll(() => row(page, key).count()).toBe(1);
    // Nothing wider than the page (the table was 2,292 px, the page 1,815 px).
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
    const scroller = page.locator('.table-scroll');
    expect(await scroller.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    // The long row's last cell (its actions) is in sight.
    const lastCell = await row(page, key).locator('td').last().boundingBox();
    expect(lastCell && lastCell.x + lastCell.width).toBeLessThanOrEqual(1280);
    // The active strategy's card holds the name: it does not run under the next card.
    const card = page.locator('article.card').first();
    expect(await card.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
  });

  it('loads from loopback only and shows the active strategy, the config version and the runner, live over one SSE connection', async () => {
    const server = await serve();
    const opened = await openOperatorPage(browser, server.origin);
    const { page } = opened;
    await expect.poll(() => text(page, 'active-strategy')).toBe('momentum');
    expect(await text(page, 'config-version')).toBe('1');
    const runners = page.getByTestId('runner-state');
    await expect.poll(() => runners.first().textContent()).toContain('RUNNING');
    expect(await runners.count()).toBe(1);
    expect(await runners.first().getAttribute('data-runner-id')).toBe(`${hostname()}:${process.pid}`);
    expect(await runners.first().textContent()).toContain('in sync');
    expect(await page.getByTestId('strategy-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')))).toEqual([
      'momentum',
      'gold',
      'range',
      'eur_usd_5m_safe',
      'momentum_v2',
    ]);
    expect(await page.getByTestId('live').getAttribute('data-connected')).toBe('true');
    expect(await text(page, 'read-only')).toContain('Read-only');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
    // One SSE connection for both subscriptions (graphql-sse's single-connection mode).
    const streams = opened.requests.filter((r) => new URL(r.url()).pathname === '/graphql/stream' && r.method() === 'GET');
    expect(streams).toHaveLength(1);
    expect(
      opened.requests
        .filter((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/graphql/stream')
        .map((r) => r.postDataJSON().operationName),
    ).toEqual(['OperatorStatusChanged', 'OperatorSignalsEmitted']);
    // Typed documents only: every GraphQL request names one of the operations in operations/.
    const names = opened.requests
      .filter((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/graphql')
      .map((r) => r.postDataJSON().operationName);
    // OperatorTunableDefinitions: once per static strategy (a preset's are its base's), kept for the page's life.
    expect(new Set(names)).toEqual(
      new Set(['OperatorOverview', 'OperatorStrategies', 'OperatorTunableDefinitions', 'OperatorHistory', 'OperatorSignals']),
    );
    expect(opened.refused, 'requests beyond loopback').toEqual([]);
    expect(await opened.problems()).toEqual([]);
  }, 60_000);

  it('loads each query once on opening, after the live updates are accepted', async () => {
    const server = await serve({ runner: false });
    // The page's time stands still until its load: on a loaded machine the subscriptions' acceptance
    // can take longer than FIRST_LOAD_WAIT_MS, and the page then rightly loads at once and again on
    // acceptance (a slow live connection does not keep it empty). This test is the fast case.
    const { page, requests } = await openOperatorPage(browser, server.origin, { fakeClock: 'paused' });
    const sent = (name: string) => requests.filter((r) => r.method() === 'POST' && r.postDataJSON()?.operationName === name).length;
    await expect.poll(() => sent('OperatorSignals')).toBe(3);
    await page.clock.fastForward(FIRST_LOAD_WAIT_MS);
    await page.clock.resume();
    await expect.poll(() => page.locator('.timeline li').count()).toBe(1);
    await expect.poll(() => row(page, 'gold').count()).toBe(1);
    await expect.poll(() => page.getByTestId('signal-chart').count()).toBe(3);
    await page.locator('[data-testid="live"][data-connected="true"]').waitFor();
    const names = requests
      .filter((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/graphql')
      .map((r) => r.postDataJSON().operationName as string);
    const count = (name: string) => names.filter((n) => n === name).length;
    // Before: everything twice (once at start, once when the subscriptions were accepted).
    expect({
      overview: count('OperatorOverview'),
      strategies: count('OperatorStrategies'),
      history: count('OperatorHistory'),
      signals: count('OperatorSignals'),
    }).toEqual({ overview: 1, strategies: 1, history: 1, signals: 3 });
    // And the load came after the subscriptions' acceptance (no change can fall between the two).
    const order = requests.map((r) => `${r.method()} ${new URL(r.url()).pathname}`);
    expect(order.indexOf('POST /graphql')).toBeGreaterThan(order.lastIndexOf('POST /graphql/stream'));
  }, 60_000);

  it('entering or forgetting a token loads each query once, after the new live connection is accepted', async () => {
    const server = await serve({ runner: false });
    // Held from the start too: a fallback load on opening, then the acceptance's, sent its signals
    // (asked once the overview answers) after the token was entered (a clean-clone CI: signals 6).
    const { page, requests } = await openOperatorPage(browser, server.origin, { fakeClock: 'paused' });
    const at = (r: (typeof requests)[number]) => `${r.method()} ${new URL(r.url()).pathname}`;
    /** The queries the page asked since request `from`, and where the new connection's subscriptions were sent. */
    const since = (from: number) => {
      const after = requests.slice(from);
      const names = after.map((r) => (at(r) === 'POST /graphql' ? (r.postDataJSON().operationName as string) : at(r)));
      const subscribed = names.lastIndexOf('POST /graphql/stream');
      return { names, subscribed, count: (name: string) => names.filter((n) => n === name).length };
    };
    /** Settled: the new connection's two subscriptions sent, and a load's three signal requests after them. */
    const settled = (from: number) => () => {
      const { names, subscribed } = since(from);
      return (
        names.filter((n) => n === 'POST /graphql/stream').length === 2 &&
        names.slice(subscribed).filter((n) => n === 'OperatorSignals').length >= 3
      );
    };
    await expect.poll(settled(0)).toBe(true);
    await page.clock.fastForward(FIRST_LOAD_WAIT_MS);
    await page.clock.resume();
    await page.locator('[data-testid="live"][data-connected="true"]').waitFor();
    for (const [what, change, overviews, viewer] of [
      // The token's check (one OperatorOverview with it) comes first, then the load.
      ['token entered', () => enterToken(page, server.token, null), 2, /^Token: admin/],
      ['token forgotten', () => page.locator('#forget-token').click(), 1, /^Read-only: no token$/],
    ] as const) {
      const from = requests.length;
      // The page's time stands still until the new connection is accepted: on a loaded machine that
      // can take longer than FIRST_LOAD_WAIT_MS, and the page then rightly loads at once and again
      // on acceptance (a slow live connection does not keep it empty). This test is the fast case.
      // (Its frames stand still too: what it shows is looked at once its time goes on.)
      await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1_000);
      await change();
      await expect.poll(settled(from)).toBe(true);
      // The acceptance's load is the one the page waited for: no other runs when its time goes on.
      await page.clock.fastForward(FIRST_LOAD_WAIT_MS);
      await page.clock.resume();
      await expect.poll(() => page.locator('#viewer').textContent()).toMatch(viewer);
      await page.locator('[data-testid="live"][data-connected="true"]').waitFor();
      // A request of the page's sent after that: any load the wait had started is seen before it.
      const marker = `/health?after-${what.replace(/ /g, '-')}`;
      await page.evaluate((url) => fetch(url, { cache: 'no-store' }), marker);
      await expect.poll(() => requests.some((r) => r.url().endsWith(marker))).toBe(true);
      const { names, subscribed, count } = since(from);
      // Before: each query once as the token changed, then again when the new subscriptions were accepted.
      expect(
        names.slice(0, subscribed).filter((n) => n === 'OperatorStrategies' || n === 'OperatorHistory'),
        what,
      ).toEqual([]);
      expect(
        {
          overview: count('OperatorOverview'),
          strategies: count('OperatorStrategies'),
          history: count('OperatorHistory'),
          signals: count('OperatorSignals'),
        },
        what,
      ).toEqual({ overview: overviews, strategies: 1, history: 1, signals: 3 });
    }
    expect(await page.locator('#viewer').textContent()).toBe('Read-only: no token');
  }, 60_000);

  it('weighs under 300 KB transferred and renders quickly: the figures', async () => {
    const server = await serve({ runner: false });
    const loads: { bytes: number; firstRenderMs: number; files: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const { page, requests } = await openOperatorPage(browser, server.origin, { waitLive: false });
      await page.getByTestId('active-strategy').waitFor();
      const firstRenderMs = await page.evaluate(() => performance.getEntriesByName('first-render')[0]?.startTime ?? Number.NaN);
      const pageFiles = requests.filter((r) =>
        ['/', '/assets/'].some((p) => new URL(r.url()).pathname === p || new URL(r.url()).pathname.startsWith('/assets/')),
      );
      let bytes = 0;
      for (const request of pageFiles) {
        const response = await request.response();
        expect(response?.status()).toBe(200);
        expect(await response?.headerValue('content-encoding')).toMatch(/^(br|gzip)$/);
        const sizes = await request.sizes();
        bytes += sizes.responseBodySize + sizes.responseHeadersSize;
      }
      loads.push({ bytes, firstRenderMs, files: pageFiles.length });
    }
    process.stdout.write(
      `operator page in Chromium: ${loads.map((l) => `${l.files} files, ${l.bytes} B transferred, first render ${l.firstRenderMs.toFixed(0)} ms`).join('; ')}\n`,
    );
    for (const load of loads) {
      expect(load.files).toBe(3);
      expect(load.bytes).toBeLessThanOrEqual(300 * 1024);
      expect(load.firstRenderMs).toBeGreaterThan(0);
    }
    // README's figures are these, not numbers adjusted by hand: the build's sizes (as `npm run
    // build:page` prints them) and what Chromium transferred, in thousands of bytes as README
    // rounds them (the transfer within 0.1 KB: its headers are the server's, not the build's).
    const readme = (await readFile(new URL('../../README.md', import.meta.url), 'utf8')).replace(/\s+/g, ' ');
    const stated = readme.match(
      /Everything it loads weighs about ([\d.]+) KB with brotli \(([\d.]+) KB with gzip; ([\d.]+) KB uncompressed;.*?Chromium transfers about ([\d.]+) KB for the three files/,
    );
    expect(stated, 'README: The operator page, "Built and served"').not.toBeNull();
    const [, br, gzip, raw, transferred] = (stated as RegExpMatchArray).map(Number);
    const { files } = await builtPage();
    const total = (key: 'bytes' | 'br' | 'gzip') => files.reduce((sum, f) => sum + f[key], 0) / 1000;
    expect({ br, gzip, raw }).toEqual({
      br: Number(total('br').toFixed(1)),
      gzip: Number(total('gzip').toFixed(1)),
      raw: Math.round(total('bytes')),
    });
    for (const load of loads) expect(Math.abs((transferred as number) - load.bytes / 1000)).toBeLessThanOrEqual(0.1);
  }, 60_000);

  it('shows an activation made with stratctl within 2 s, without a reload', async () => {
    const server = await serve();
    const { page, problems } = await openOperatorPage(browser, server.origin);
    await expect.poll(() => text(page, 'active-strategy')).toBe('momentum');
    await page.evaluate(() => {
      (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
    });
    const done = await stratctl(['activate', 'gold', '--url', server.url, '--token', server.token]);
    expect(done.code, done.stderr).toBe(0);
    await expect.poll(() => text(page, 'active-strategy'), { timeout: PUSHED_WITHIN_MS, interval: 50 }).toBe('gold');
    expect(await text(page, 'config-version')).toBe('2');
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    await expect.poll(() => row(page, 'gold').textContent()).toContain('active');
    await expect.poll(() => page.locator('.timeline li').first().textContent()).toMatch(/v2\s*activation.*by admin/);
    expect(await problems()).toEqual([]);
  }, 60_000);

  it('without a token it is read-only: Activate is disabled, and forcing it open is refused by the server, word for word', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin);
    await row(page, 'gold').waitFor();
    const buttons = page.locator('[data-testid="strategy-row"] button[data-action="activate"]');
    expect(await buttons.evaluateAll((all) => all.map((b) => (b as HTMLButtonElement).disabled))).toEqual([true, true, true, true, true]);
    expect(await text(page, 'read-only')).toContain('Enter a token');
    // Someone enables the button in devtools: the page sends the mutation without a token, the server refuses.
    await row(page, 'gold')
      .locator('button[data-action="activate"]')
      .evaluate((b) => b.removeAttribute('disabled'));
    await row(page, 'gold').locator('button[data-action="activate"]').click();
    await page.getByTestId('confirm-activate').click();
    await expect.poll(() => text(page, 'action-error')).toContain('Authentication required');
    expect(await text(page, 'action-error')).toContain('UNAUTHENTICATED');
    const onDisk = await configOnDisk(server);
    expect(onDisk).toMatch(/^active_strategy_key: momentum$/m);
    expect(onDisk).toMatch(/^version: 1$/m);
  }, 60_000);

  it('filters the strategies table as the API does', async () => {
    const server = await serve({ runner: false });
    const { page, requests } = await openOperatorPage(browser, server.origin);
    await row(page, 'gold').waitFor();
    const keys = () => page.getByTestId('strategy-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));
    await page.locator('#filter-risk').selectOption('HIGH');
    await expect.poll(keys).toEqual(['gold', 'momentum_v2']);
    await page.locator('#filter-instrument').selectOption('XAU_USD');
    await expect.poll(keys).toEqual(['gold']);
    await page.locator('#filter-session').selectOption('ASIA');
    await expect.poll(() => page.locator('#strategies').textContent()).toContain('No strategy matches these filters.');
    const last = requests.filter((r) => r.postDataJSON?.()?.operationName === 'OperatorStrategies').at(-1);
    expect(last?.postDataJSON().variables).toEqual({ instrument: 'XAU_USD', riskLevel: 'HIGH', sessionPreference: 'ASIA' });
  }, 60_000);

  it('Activate shows the parameters in force as Now even when the filters leave the active strategy out of the table', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token, /^Token: admin/);
    const keys = () => page.getByTestId('strategy-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));
    // momentum (medium risk) is active; the high-risk filter lists gold and momentum_v2 only.
    await page.locator('#filter-risk').selectOption('HIGH');
    await expect.poll(keys).toEqual(['gold', 'momentum_v2']);
    await row(page, 'gold').locator('button[data-action="activate"]').click();
    const parameters = page.locator('dialog[open] table.diff tr', { hasText: 'Parameters' });
    // Before: "Now: —", marked changed, whenever a filter hid the strategy in force.
    await expect.poll(() => parameters.locator('td[data-label="Now"]').textContent()).toMatch(/^lookback_bars=20/);
    expect(await parameters.locator('td[data-label="Now"]').textContent()).not.toContain('—');
  }, 60_000);

  it('asks a read again, READ_RETRY_MS later, when it got no answer or could not reach the server while the live connection is open: says so meanwhile, then shows its answer', async () => {
    const server = await serve({ runner: false });
    // The page's own clock: moved by hand past a few seconds, it would judge the live connection
    // silent (no ping from the server in STREAM_SILENT_MS of its time) and start over, refetching.
    const { page, requests } = await openOperatorPage(browser, server.origin);
    await row(page, 'gold').waitFor();
    const keys = () => page.getByTestId('strategy-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));
    expect(await keys()).toContain('range');
    // The filtered list's first request fails on its way (a kept-alive connection the browser held,
    // gone); the live connection stays open, and no news asks for the list again.
    let failedAt = 0;
    await page.route('**/graphql', async (route) => {
      if (route.request().postDataJSON()?.operationName === 'OperatorStrategies' && failedAt === 0) {
        failedAt = Date.now();
        return route.abort('connectionreset');
      }
      await route.continue();
    });
    const filtered = () =>
      requests.filter((r) => r.postDataJSON?.()?.operationName === 'OperatorStrategies' && r.postDataJSON().variables.riskLevel === 'HIGH');
    await page.locator('#filter-risk').selectOption('HIGH');
    // Said meanwhile, over the list still shown, and taken away once the list is loaded.
    const notice = (words: string) => page.locator('.notice.error', { hasText: words });
    await expect.poll(() => notice('Cannot load the strategies: The server cannot be reached.').count()).toBe(1);
    await expect.poll(() => keys(), { timeout: READ_RETRY_MS + 10_000 }).toEqual(['gold', 'momentum_v2']);
    const askedAgainAt = Date.now();
    expect(filtered().length).toBe(2);
    expect(filtered()[0]?.failure()?.errorText).toBe('net::ERR_CONNECTION_RESET');
    expect(askedAgainAt - failedAt).toBeGreaterThanOrEqual(READ_RETRY_MS);
    await expect.poll(() => notice('Cannot load the strategies').count()).toBe(0);

    // The status and config read after a change fails the same way: the config panel is what it
    // held (the status comes by the live connection), so the failure is said, then taken away.
    let overviewFailed = 0;
    await page.route('**/graphql', async (route) => {
      if (route.request().postDataJSON()?.operationName === 'OperatorOverview' && overviewFailed === 0) {
        overviewFailed += 1;
        return route.abort('connectionreset');
      }
      await route.fallback();
    });
    const slower = await server.gql('mutation { updateConfig(input: { scanIntervalSeconds: 45 }) { config { version } } }');
    expect(slower.body.errors).toBeUndefined();
    await expect.poll(() => notice('Cannot load the status and config (what is shown may be out of date)').count()).toBe(1);
    expect(await page.locator('#glance').textContent()).toContain('scan every 30 s');
    await expect.poll(() => page.locator('#glance').textContent(), { timeout: READ_RETRY_MS + 10_000 }).toContain('scan every 45 s');
    await expect.poll(() => notice('Cannot load the status and config').count()).toBe(0);
    expect(overviewFailed).toBe(1);
    expect(await page.getByTestId('live').getAttribute('data-connected')).toBe('true');
    // One live connection all along: each list came from the read asked again, not a start over's refetch.
    expect(requests.filter((r) => r.method() === 'PUT' && new URL(r.url()).pathname === '/graphql/stream').length).toBe(1);
  }, 60_000);

  it('with a token it activates from the page: shows what will change and sends the version it showed', async () => {
    const server = await serve({ runner: false });
    const { page, requests, problems } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token, /^Token: admin \(ADMIN\)$/);
    expect(await page.evaluate(() => [sessionStorage.length, localStorage.length, document.cookie])).toEqual([1, 0, '']);
    expect(await page.locator('#token-form').isVisible()).toBe(false);
    expect(await page.locator('#forget-token').isVisible()).toBe(true);
    await expect.poll(() => row(page, 'gold').locator('button[data-action="activate"]').isEnabled()).toBe(true);
    await row(page, 'gold').locator('button[data-action="activate"]').click();
    const dialog = page.locator('dialog[open]');
    await expect.poll(() => dialog.locator('table.diff').textContent()).toContain('Gold Trend (gold)');
    const diff = await dialog.locator('table.diff').textContent();
    expect(diff).toContain('Momentum (momentum)');
    expect(diff).toMatch(/Config version\s*1\s*2/);
    expect(diff).toContain('high risk');
    await page.getByTestId('confirm-activate').click();
    await expect.poll(() => text(page, 'active-strategy')).toBe('gold');
    expect(await text(page, 'config-version')).toBe('2');
    expect(await page.locator('.notice.success').first().textContent()).toContain('Activated gold (was momentum): config version 2.');
    const sent = requests.find((r) => r.method() === 'POST' && r.postDataJSON()?.operationName === 'ActivateStrategy');
    expect(sent?.postDataJSON().variables).toEqual({ strategyKey: 'gold', expectedVersion: 1 });
    expect(await sent?.headerValue('authorization')).toBe(`Bearer ${server.token}`);
    expect(await configOnDisk(server)).toMatch(/^active_strategy_key: gold$/m);
    expect(await problems()).toEqual([]);
  }, 60_000);

  it('with one runner running, the Activate dialog says it switches on its next scan (not "their")', async () => {
    const server = await serve();
    const { page } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token, /^Token: admin/);
    await expect.poll(() => page.getByTestId('runner-state').first().textContent()).toContain('RUNNING');
    expect(await page.getByTestId('runner-state').count()).toBe(1);
    await row(page, 'gold').locator('button[data-action="activate"]').click();
    const dialog = page.locator('dialog[open]');
    await dialog.locator('table.diff').waitFor();
    expect(await dialog.textContent()).toContain('The runner switches on its next scan.');
    expect(await dialog.textContent()).not.toContain('their next scan');
  }, 60_000);

  it('a change the server has not answered: the dialog says so, closing it says it is not cancelled, and the late answer is told', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin, { fakeClock: true });
    await enterToken(page, server.token, /^Token: admin/);
    // The activation hangs on its way (a server that stopped answering), until the test lets it go.
    const release = await holdActivations(page);
    await row(page, 'gold').locator('button[data-action="activate"]').click();
    // No runner runs here: the dialog says so instead of promising a switch on the next scan.
    expect(await page.getByTestId('no-runner').textContent()).toBe(
      'No runner is reporting: the change is saved, but nothing trades it until a runner starts.',
    );
    await page.getByTestId('confirm-activate').click();
    await page.clock.fastForward(UNANSWERED_MS + 1_000);
    await expect
      .poll(() => page.getByTestId('in-flight').textContent())
      .toMatch(
        /^No answer from the server for \d+ s\. The change was sent: it may still be applied when the server answers\. Closing this dialog does not cancel it\.$/,
      );
    const close = page.locator('dialog[open] button.secondary');
    expect(await close.textContent()).toBe('Close (does not cancel)');
    await close.click();
    expect(await page.locator('dialog[open]').count()).toBe(0);
    expect(await page.locator('.notice.info').first().textContent()).toMatch(
      /^The activation of gold was sent at \d{1,2}:\d{2}:\d{2}( [AP]M)? [A-Z][A-Za-z0-9+:-]+ and had no answer when its dialog was closed: closing does not cancel it, and it may still be applied\./,
    );
    release();
    // Applied when the server answered, and said so.
    await expect
      .poll(() => page.locator('.notice.success').first().textContent())
      .toContain('Activated gold (was momentum): config version 2.');
    // The answer settles it: "may still be applied" no longer stands beside "Activated".
    expect(await page.locator('.notice.info', { hasText: 'had no answer' }).count()).toBe(0);
    await expect.poll(() => text(page, 'active-strategy')).toBe('gold');
  }, 60_000);

  it('Send again after a lost answer: when the first send was applied, the dialog says so (the server refuses the second)', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token, /^Token: admin/);
    // The activation reaches the server, and its answer is lost on the way back (a proxy timeout, flaky Wi-Fi).
    await loseFirstAnswer(page, 'ActivateStrategy');
    await row(page, 'range').locator('button[data-action="activate"]').click();
    await page.getByTestId('confirm-activate').click();
    await expect.poll(() => text(page, 'action-error')).toContain('Not confirmed');
    expect(await page.getByTestId('confirm-activate').textContent()).toBe('Send again');
    await page.getByTestId('confirm-activate').click();
    // Before: "Someone changed the config since this dialog opened; your activation was not applied."
    await expect
      .poll(() => page.locator('dialog[open] [aria-live]').last().textContent())
      .toMatch(/^Your first send was applied: range is active at version 2, changed .* by admin\./);
    expect(await text(page, 'first-send-applied')).toContain(
      'The second send was refused only because the first got through: Config version conflict: expected 1, current 2.',
    );
    expect(await page.getByTestId('action-error').count()).toBe(0);
    expect(await page.getByTestId('confirm-activate').textContent()).toBe('Applied');
    expect(server.store.state().config.config).toMatchObject({ activeStrategyKey: 'range', version: 2 });
  }, 60_000);

  it('Send again of tunables after a lost answer: the first send applied is said, not a refusal', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token, /^Token: admin/);
    await loseFirstAnswer(page, 'UpdateConfig');
    await row(page, 'momentum').locator('button[data-action="tunables"]').click();
    await page.locator('[data-tunable="lookback_bars"] input').fill('40');
    await page.getByTestId('save-tunables').click();
    await expect.poll(() => text(page, 'action-error')).toContain('Not confirmed');
    await page.getByTestId('save-tunables').click();
    await expect
      .poll(() => page.locator('dialog[open] [aria-live]').last().textContent())
      .toMatch(/^Your first send was applied: momentum's overrides are in force \(lookback_bars\) at version 2, changed .* by admin\./);
    expect(await page.getByTestId('action-error').count()).toBe(0);
  }, 60_000);

  it('a proxy\'s 504 page after the activation was applied: Not confirmed with Send again (not "Refused"), and Send again says the first got through', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token, /^Token: admin/);
    await replaceFirstAnswer(page, 'ActivateStrategy', proxy504);
    await row(page, 'range').locator('button[data-action="activate"]').click();
    await page.getByTestId('confirm-activate').click();
    // Before: "HTTP 504" and a disabled "Refused", while the server had applied it.
    await expect.poll(() => text(page, 'action-error')).toContain('Not confirmed');
    expect(await text(page, 'action-error')).toContain(
      "The answer (HTTP 504, text/html) is not the API's: its body is not JSON, or broke off.",
    );
    expect(server.store.state().config.config).toMatchObject({ activeStrategyKey: 'range', version: 2 });
    const confirm = page.getByTestId('confirm-activate');
    expect(await confirm.textContent()).toBe('Send again');
    expect(await confirm.isDisabled()).toBe(false);
    await confirm.click();
    await expect
      .poll(() => page.locator('dialog[open] [aria-live]').last().textContent())
      .toMatch(/^Your first send was applied: range is active at version 2, changed .* by admin\./);
    expect(await page.getByTestId('action-error').count()).toBe(0);
    expect(await confirm.textContent()).toBe('Applied');
    expect(server.store.state().config.config).toMatchObject({ activeStrategyKey: 'range', version: 2 });
  }, 60_000);

  it('a proxy\'s 504 page for an activation whose dialog was closed: the notice says not confirmed, not "Nothing was changed"', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin, { fakeClock: true });
    await enterToken(page, server.token, /^Token: admin/);
    let release!: () => void;
    await replaceFirstAnswer(page, 'ActivateStrategy', proxy504, new Promise<void>((resolve) => (release = resolve)));
    await row(page, 'gold').locator('button[data-action="activate"]').click();
    await page.getByTestId('confirm-activate').click();
    await page.clock.fastForward(CLOSE_IGNORED_MS);
    await page.locator('dialog[open] button.secondary').click();
    await expect.poll(() => page.locator('dialog[open]').count()).toBe(0);
    release();
    await expect.poll(() => page.locator('.notice.error').count()).toBe(1);
    expect(await page.locator('.notice.error').first().textContent()).toContain(
      "The activation of gold was not confirmed: The answer (HTTP 504, text/html) is not the API's: its body is not JSON, or broke off. It may or may not have been applied: the timeline shows it if it was.",
    );
    expect(await page.locator('.notice', { hasText: 'Nothing was changed' }).count()).toBe(0);
    // It was: the page shows it.
    await expect.poll(() => text(page, 'active-strategy')).toBe('gold');
    expect(server.store.state().config.config).toMatchObject({ activeStrategyKey: 'gold', version: 2 });
  }, 60_000);

  it('tunables whose answer broke off (a 200 cut short): Not confirmed with Send again, which says the first got through', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token, /^Token: admin/);
    await replaceFirstAnswer(page, 'UpdateConfig', (answer) => ({
      status: 200,
      contentType: 'application/json',
      body: answer.slice(0, Math.floor(answer.length / 2)),
    }));
    await row(page, 'momentum').locator('button[data-action="tunables"]').click();
    await page.locator('[data-tunable="lookback_bars"] input').fill('40');
    await page.getByTestId('save-tunables').click();
    // Before: "HTTP 200" and "Refused".
    await expect.poll(() => text(page, 'action-error')).toContain('Not confirmed');
    expect(await text(page, 'action-error')).toContain(
      "The answer (HTTP 200, application/json) is not the API's: its body is not JSON, or broke off.",
    );
    expect(await page.getByTestId('save-tunables').textContent()).toBe('Send again');
    await page.getByTestId('save-tunables').click();
    await expect
      .poll(() => page.locator('dialog[open] [aria-live]').last().textContent())
      .toMatch(/^Your first send was applied: momentum's overrides are in force \(lookback_bars\) at version 2, changed .* by admin\./);
    expect(await page.getByTestId('action-error').count()).toBe(0);
  }, 60_000);

  it("a proxy's 502 page for the timeline's reload: said where the timeline goes, with what is known of it", async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin);
    await page.locator('ol.timeline').waitFor();
    await page.route('**/graphql', async (route) => {
      if (route.request().postDataJSON()?.operationName === 'OperatorHistory') {
        return route.fulfill({ status: 502, contentType: 'text/html', body: '<html>502 Bad Gateway</html>' });
      }
      await route.continue();
    });
    // A change moves the config on: the page reloads the timeline, and a proxy answers instead of the API.
    expect((await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }')).status).toBe(200);
    await expect.poll(() => text(page, 'config-version')).toBe('2');
    await expect
      .poll(() => text(page, 'history-stale'))
      .toBe(
        "Not reloaded: The answer (HTTP 502, text/html) is not the API's: its body is not JSON, or broke off.; the list below is as of the last load.",
      );
  }, 60_000);

  it('double-clicking the confirm button: the buttons keep their places while sending, so the second click closes nothing', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token, /^Token: admin/);
    const release = await holdActivations(page);
    await row(page, 'gold').locator('button[data-action="activate"]').click();
    const confirm = page.getByTestId('confirm-activate');
    const cancel = page.locator('dialog[open] button.secondary');
    const before = [await confirm.boundingBox(), await cancel.boundingBox()];
    await confirm.click();
    await expect.poll(() => confirm.textContent()).toBe('Activating…');
    // Before: "Activating…" is shorter and "Close (does not cancel)" longer, and Cancel slid under the pointer.
    expect([await confirm.boundingBox(), await cancel.boundingBox()]).toEqual(before);
    release();
    await expect.poll(() => page.locator('.notice.success').first().textContent()).toContain('Activated gold (was momentum)');
  }, 60_000);

  it('a click on Close just after sending is ignored (a double click), a later one closes, and the answer takes back the "no answer" notice', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin, { fakeClock: true });
    await enterToken(page, server.token, /^Token: admin/);
    const release = await holdActivations(page);
    await row(page, 'gold').locator('button[data-action="activate"]').click();
    // The page's time stands still: the next click is 0 ms after the send, however slow this machine.
    await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1_000);
    await page.getByTestId('confirm-activate').click();
    await page.locator('dialog[open] button.secondary').click();
    expect(await page.locator('dialog[open]').count()).toBe(1);
    await page.clock.fastForward(CLOSE_IGNORED_MS);
    await page.locator('dialog[open] button.secondary').click();
    await expect.poll(() => page.locator('dialog[open]').count()).toBe(0);
    const unanswered = page.locator('.notice.info', { hasText: 'had no answer when its dialog was closed' });
    await expect.poll(() => unanswered.count()).toBe(1);
    await page.clock.resume();
    release();
    await expect.poll(() => page.locator('.notice.success').first().textContent()).toContain('Activated gold (was momentum)');
    // Settled: it was applied; "may still be applied" no longer stands beside it.
    expect(await unanswered.count()).toBe(0);
  }, 60_000);

  it('Escape just after sending is ignored like a click on Close, a later one closes, and the answer takes back the "no answer" notice', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin, { fakeClock: true });
    await enterToken(page, server.token, /^Token: admin/);
    const release = await holdActivations(page);
    await row(page, 'gold').locator('button[data-action="activate"]').click();
    await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1_000);
    await page.getByTestId('confirm-activate').click();
    await expect.poll(() => page.getByTestId('confirm-activate').textContent()).toBe('Activating…');
    // 0 ms after the send on the page's clock. Before: the dialog closed, and "had no answer" was said.
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    expect(await page.locator('dialog[open]').count()).toBe(1);
    await page.clock.fastForward(CLOSE_IGNORED_MS);
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('dialog[open]').count()).toBe(0);
    const unanswered = page.locator('.notice.info', { hasText: 'had no answer when its dialog was closed' });
    await expect.poll(() => unanswered.count()).toBe(1);
    await page.clock.resume();
    release();
    await expect.poll(() => page.locator('.notice.success').first().textContent()).toContain('Activated gold (was momentum)');
    expect(await unanswered.count()).toBe(0);
  }, 60_000);

  it('a stale expectedVersion shows the conflict and the state that won; nothing is overwritten', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token);
    await row(page, 'range').locator('button[data-action="activate"]').click();
    await page.getByTestId('confirm-activate').waitFor();
    // Someone else activates gold while the dialog (showing version 1) is open.
    const other = await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    expect(other.body.data?.activateStrategy.configVersion).toBe(2);
    await expect.poll(() => text(page, 'config-version')).toBe('2');
    // The dialog says so before anything is sent (it showed version 1's "Now").
    await expect
      .poll(() => text(page, 'version-moved'))
      .toContain('The config changed since this dialog opened: it is at version 2 now (gold active), not 1.');
    await page.getByTestId('confirm-activate').click();
    await expect.poll(() => text(page, 'action-error')).toContain('Config version conflict: expected 1, current 2');
    expect(await text(page, 'action-error')).toContain('CONFLICT');
    await expect
      .poll(() => text(page, 'current-state'))
      .toMatch(/Now in force: gold at version 2, changed .* by admin \(activation\)\. Nothing was overwritten\./);
    expect(await page.getByRole('button', { name: 'Review again' }).count()).toBe(1);
    const onDisk = await configOnDisk(server);
    expect(onDisk).toMatch(/^active_strategy_key: gold$/m);
    expect(onDisk).toMatch(/^version: 2$/m);
  }, 60_000);

  it('a preset changed while its Activate dialog is open (no config version moved): said at once, Activate held until Review again shows the new settings', async () => {
    const server = await serve({ runner: false });
    const set = (...fields: string[]) => stratctl(['preset', 'set', 'evil_one', ...fields, '--url', server.url, '--token', server.token]);
    expect((await set('base=gold', 'name=Evil')).code).toBe(0);
    const { page, requests } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token, /^Token: admin/);
    const activate = row(page, 'evil_one').locator('button[data-action="activate"]');
    await expect.poll(() => activate.isEnabled()).toBe(true);
    await activate.click();
    const dialog = page.locator('dialog[open]');
    await expect.poll(() => dialog.locator('table.diff').textContent()).toContain('fast_ma_period=20');
    // From a shell: the preset the dialog shows is made another strategy; the config version stays 1.
    expect((await set('risk_level=low', 'tunables.fast_ma_period=3')).code).toBe(0);
    // Before: nothing said, and Activate went through with risk low and fast_ma_period=3, never shown.
    await expect.poll(() => page.locator('dialog[open] [data-testid="version-moved"]').count()).toBe(1);
    expect(await text(page, 'version-moved')).toContain('The strategies changed since this dialog opened: a preset was changed');
    expect(await page.getByTestId('confirm-activate').isDisabled()).toBe(true);
    expect(await text(page, 'config-version')).toBe('1');
    // Review again shows the preset in force (once the page has read it again), and sends it.
    await expect
      .poll(async () => {
        // Reopened before the page read the presets again, it says so again at once.
        const again = page.getByRole('button', { name: 'Review again' });
        if ((await again.count()) > 0) await again.click();
        return dialog.locator('table.diff').textContent();
      })
      .toContain('fast_ma_period=3');
    expect(await page.locator('dialog[open] [data-testid="version-moved"]').count()).toBe(0);
    await page.getByTestId('confirm-activate').click();
    await expect.poll(() => text(page, 'active-strategy')).toBe('evil_one');
    expect(requests.filter((r) => r.postDataJSON?.()?.operationName === 'ActivateStrategy')).toHaveLength(1);
  }, 60_000);

  it('a preset changed while its Tunables dialog is open: said at once, Save held, Review again keeps what was typed', async () => {
    const server = await serve({ runner: false });
    const set = (...fields: string[]) => stratctl(['preset', 'set', 'evil_one', ...fields, '--url', server.url, '--token', server.token]);
    expect((await set('base=gold', 'name=Evil')).code).toBe(0);
    const { page } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token, /^Token: admin/);
    await row(page, 'evil_one').locator('button[data-action="tunables"]').click();
    const input = page.locator('[data-tunable="fast_ma_period"] input');
    await input.fill('5');
    await expect.poll(() => text(page, 'tunables-diff')).toBe('Save changes:fast_ma_period: default (20) → 5');
    expect((await set('tunables.fast_ma_period=3')).code).toBe(0);
    await expect.poll(() => page.locator('dialog[open] [data-testid="version-moved"]').count()).toBe(1);
    expect(await text(page, 'version-moved')).toContain('The strategies changed since this dialog opened: a preset was changed');
    expect(await page.getByTestId('save-tunables').isDisabled()).toBe(true);
    await expect
      .poll(async () => {
        // Reopened before the page read the presets again, it says so again at once.
        const again = page.getByRole('button', { name: 'Review again' });
        if ((await again.count()) > 0) await again.click();
        return page.locator('dialog[open] [data-testid="version-moved"]').count();
      })
      .toBe(0);
    expect(await page.locator('[data-tunable="fast_ma_period"] input').inputValue()).toBe('5');
    expect(await page.getByTestId('save-tunables').isDisabled()).toBe(false);
  }, 60_000);

  it('a Tunables save refused for its values (a rule the page cannot check): the next edit gives Save back, and the corrected values save', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token, /^Token: admin/);
    await row(page, 'gold').locator('button[data-action="tunables"]').click();
    const save = page.getByTestId('save-tunables');
    // gold's fast average must be the shorter one: 60 against the default slow 50 is refused by the server.
    await page.locator('[data-tunable="fast_ma_period"] input').fill('60');
    await save.click();
    await expect.poll(() => text(page, 'action-error')).toContain('fast_ma_period');
    expect(await save.textContent()).toBe('Refused');
    expect(await save.isDisabled()).toBe(true);
    // The correction gives Save back, the refusal still in sight until the next send.
    await page.locator('[data-tunable="slow_ma_period"] input').fill('100');
    await expect.poll(() => save.isEnabled()).toBe(true);
    expect(await save.textContent()).toBe('Save overrides');
    expect(await text(page, 'action-error')).toContain('fast_ma_period');
    expect(await text(page, 'tunables-diff')).toBe('Save changes:fast_ma_period: default (20) → 60slow_ma_period: default (50) → 100');
    await save.click();
    await expect.poll(() => page.locator('dialog[open]').count()).toBe(0);
    expect(await page.locator('.notice.success').first().textContent()).toContain(
      "Saved gold's overrides (fast_ma_period, slow_ma_period)",
    );
    const onDisk = await configOnDisk(server);
    expect(onDisk).toMatch(/fast_ma_period: 60/);
    expect(onDisk).toMatch(/slow_ma_period: 100/);
  }, 60_000);

  it('at the version bound: Activate, Tunables and Roll back each say no further version can be written, and send nothing', async () => {
    const server = await serve({ runner: false });
    const { page, requests } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token, /^Token: admin/);
    // A hand edit to the last version a config may have (gold made active, so version 1's settings
    // differ and a roll back to it would be a change): no change can be numbered after it.
    await writeFile(
      path.join(server.runtimeDir, 'config.yaml'),
      (await configOnDisk(server))
        .replace(/^version: 1$/m, 'version: 2147483647')
        .replace('active_strategy_key: momentum', 'active_strategy_key: gold'),
    );
    await expect.poll(() => text(page, 'config-version'), { timeout: 15_000 }).toBe('2147483647');
    const before = await configOnDisk(server);
    const dialog = page.locator('dialog[open]');
    const closeAny = async () => {
      if ((await dialog.count()) > 0) await dialog.getByRole('button', { name: 'Cancel' }).click();
    };
    const BOUND =
      'No further config version can be written: 2147483647 is the last one, so the server would refuse this change and nothing can be sent.';
    // Each dialog made against the version in force (once the page has read the strategies and the config again at it).
    await expect
      .poll(async () => {
        const again = page.getByRole('button', { name: 'Review again' });
        if ((await again.count()) > 0) await again.click();
        else if ((await dialog.count()) === 0) await row(page, 'range').locator('button[data-action="activate"]').click();
        return dialog.locator('table.diff').textContent();
      })
      .toMatch(/Config version\s*2147483647\s*none: 2147483647 is the last one/);
    expect(await text(page, 'version-bound-activate')).toContain(BOUND);
    expect(await page.getByTestId('confirm-activate').isDisabled()).toBe(true);
    await closeAny();
    // Before: Tunables and Roll back offered their send, which the server refused (CONFIG_WRITE_FAILED).
    await expect
      .poll(async () => {
        await closeAny();
        await row(page, 'gold').locator('button[data-action="tunables"]').click();
        return dialog.textContent();
      })
      .toContain('Sent with expectedVersion 2147483647');
    expect(await text(page, 'version-bound-tunables')).toContain(BOUND);
    expect(await page.getByTestId('version-bound-tunables').textContent()).toContain('README ("The config file")');
    expect(await page.getByTestId('save-tunables').isDisabled()).toBe(true);
    await closeAny();
    await expect
      .poll(async () => {
        await closeAny();
        await page.getByRole('button', { name: 'Roll back to v1…' }).click();
        return dialog.textContent();
      })
      .toContain('Would re-apply the settings of version 1 as a new version, but 2147483647 is the last one');
    expect(await dialog.locator('table.diff').textContent()).toMatch(/activeStrategyKey\s*gold\s*momentum/);
    expect(await text(page, 'version-bound-rollback')).toContain(BOUND);
    expect(await page.getByTestId('confirm-rollback').isDisabled()).toBe(true);
    await closeAny();
    const changes = ['ActivateStrategy', 'UpdateConfig', 'RollbackConfig'];
    expect(requests.filter((r) => changes.includes(r.postDataJSON?.()?.operationName))).toHaveLength(0);
    expect(await configOnDisk(server)).toBe(before);
  }, 60_000);

  it('config.yaml deleted by hand: the page says it is missing, and Activate does not call the change refused (the next change writes it again)', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token, /^Token: admin/);
    await unlink(path.join(server.runtimeDir, 'config.yaml'));
    await expect
      .poll(() => page.locator('#glance .error-box strong').textContent(), { timeout: 15_000 })
      .toBe('config.yaml is missing; the last good config stays in force. ');
    await row(page, 'range').locator('button[data-action="activate"]').click();
    const dialog = page.locator('dialog[open]');
    await dialog.locator('table.diff').waitFor();
    // Before: "config.yaml on disk is invalid: the server refuses changes ... would be refused", and Activate applied it.
    expect(await dialog.getByTestId('config-invalid-activate').count()).toBe(0);
    await page.getByTestId('confirm-activate').click();
    await expect.poll(() => text(page, 'active-strategy')).toBe('range');
    expect(await configOnDisk(server)).toMatch(/^active_strategy_key: range$/m);
    await expect.poll(() => page.locator('#glance .error-box').count()).toBe(0);
  }, 60_000);

  it("a preset's Tunables dialog calls the preset's own value the default (what an empty field runs with), naming its base's beside it", async () => {
    const server = await serve({ runner: false });
    const set = (...fields: string[]) => stratctl(['preset', 'set', 'quick_gold', ...fields, '--url', server.url, '--token', server.token]);
    expect((await set('base=gold', 'name=Quick gold', 'tunables.fast_ma_period=3')).code).toBe(0);
    // What an empty field runs with, as the API says it.
    const runsWith = await server.gql('{ strategy(key: "quick_gold") { effectiveTunables } }');
    expect(runsWith.body.data?.strategy.effectiveTunables.fast_ma_period).toBe(3);
    const { page, problems } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token, /^Token: admin/);
    await row(page, 'quick_gold').locator('button[data-action="tunables"]').click();
    const fast = page.locator('[data-tunable="fast_ma_period"]');
    expect(await fast.locator('input').getAttribute('placeholder')).toBe('default 3');
    expect(await fast.locator('.help').textContent()).toContain("default 3 (this preset's; its base's: 20), range");
    // A tunable the preset leaves alone: the base's default, said plainly.
    const slow = page.locator('[data-tunable="slow_ma_period"]');
    const slowDefault = (await server.gql('{ strategy(key: "gold") { tunables } }')).body.data?.strategy.tunables.slow_ma_period;
    expect(await slow.locator('input').getAttribute('placeholder')).toBe(`default ${slowDefault}`);
    expect(await slow.locator('.help').textContent()).not.toContain('this preset');
    await fast.locator('input').fill('5');
    await expect.poll(() => text(page, 'tunables-diff')).toBe('Save changes:fast_ma_period: default (3) → 5');
    expect(await problems()).toEqual([]);
  }, 60_000);

  it('a dialog closed and opened again at once still says when the config moves (a late close event is not its end)', async () => {
    const server = await serve({ runner: false });
    const { page, problems } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token);
    const activate = row(page, 'range').locator('button[data-action="activate"]');
    await expect.poll(() => activate.isEnabled()).toBe(true);
    await activate.focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('confirm-activate').waitFor();
    // Escape, then Enter on the button it gave focus back to, on a busy page (200 ms of work as
    // Escape closes the dialog): the Enter goes before the browser's close event for the first
    // opening, which is dispatched while the second is open. Taken for the second's end, it stopped
    // the second's watch of the config version: the dialog never said it was out of date.
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
    await expect.poll(() => page.locator('dialog[open]').count()).toBe(1);
    await page.getByTestId('confirm-activate').waitFor();
    const other = await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    expect(other.body.data?.activateStrategy.configVersion).toBe(2);
    await expect.poll(() => text(page, 'config-version')).toBe('2');
    // The watch looks every 500 ms; 5 s is plenty on a loaded machine.
    await expect.poll(() => page.locator('dialog[open] [data-testid="version-moved"]').count()).toBe(1);
    expect(await text(page, 'version-moved')).toContain(
      'The config changed since this dialog opened: it is at version 2 now (gold active), not 1.',
    );
    // And Escape on it gives focus back to the button that opened it.
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('dialog[open]').count()).toBe(0);
    await expect
      .poll(() => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.focus ?? 'none'))
      .toBe('activate-range');
    expect(await problems()).toEqual([]);
  }, 60_000);

  it('draws each instrument’s prices with the signals marked, and adds points live, scan after scan', async () => {
    const server = await serve();
    const faster = await server.gql('mutation { updateConfig(input: { scanIntervalSeconds: 1 }) { config { version } } }');
    expect(faster.body.errors).toBeUndefined();
    const { page, problems } = await openOperatorPage(browser, server.origin);
    const charts = page.getByTestId('signal-chart');
    await expect
      .poll(() => charts.evaluateAll((all) => all.map((c) => c.getAttribute('data-instrument'))))
      .toEqual(['EUR_USD', 'GBP_USD', 'USD_JPY']);
    const points = () => charts.evaluateAll((all) => all.map((c) => Number(c.getAttribute('data-points'))));
    await expect.poll(points, { timeout: 15_000 }).toSatisfy((p: number[]) => p.every((n) => n >= 3));
    const before = await points();
    await expect.poll(points, { timeout: 15_000 }).toSatisfy((p: number[]) => p.every((n, i) => n >= before[i]! + 2));
    // Drawn on a canvas, named in words beside the colours.
    expect(await charts.first().locator('canvas').count()).toBe(1);
    const legend = await charts.first().locator('.chart-legend').textContent();
    for (const word of ['Price', 'LONG', 'SHORT', 'FLAT']) expect(legend).toContain(word);
    expect(await charts.first().locator('.signal-note').textContent()).toMatch(/Last: (LONG|SHORT|FLAT) at \d/);
    // Another strategy on the same instrument: its chart holds its signals only, not the ones before the switch.
    const eurUsd = page.locator('[data-testid="signal-chart"][data-instrument="EUR_USD"]');
    const pointsBefore = Number(await eurUsd.getAttribute('data-points'));
    expect((await server.gql('mutation { activateStrategy(strategyKey: "momentum_v2") { configVersion } }')).status).toBe(200);
    await expect.poll(() => eurUsd.locator('.signal-note').textContent(), { timeout: 15_000 }).toMatch(/ · momentum_v2 · /);
    expect(Number(await eurUsd.getAttribute('data-points'))).toBeLessThan(pointsBefore);
    expect(await problems()).toEqual([]);
  }, 60_000);

  it('the charts have a text equivalent kept in step with them, and their legends work from the keyboard with the focus shown', async () => {
    const server = await serve();
    const faster = await server.gql('mutation { updateConfig(input: { scanIntervalSeconds: 1 }) { config { version } } }');
    expect(faster.body.errors).toBeUndefined();
    const { page, problems } = await openOperatorPage(browser, server.origin);
    // Named by its caption, described in words; the canvas hidden from assistive technology (it said nothing).
    const chart = page.getByRole('figure', { name: /^EUR_USD · price at each scan/ });
    await expect.poll(() => chart.count()).toBe(1);
    expect(await chart.locator('canvas').evaluate((c) => c.closest('[aria-hidden="true"]') !== null)).toBe(true);
    const description = () => chart.evaluate((f) => document.getElementById(f.getAttribute('aria-describedby') ?? '')?.textContent ?? '');
    const table = page.getByRole('table', { name: /^EUR_USD: the newest \d+ signals, newest first$/ });
    const firstRow = () => table.locator('tbody tr').first().locator('td').allTextContents();
    await expect.poll(async () => Number(await chart.getAttribute('data-points')), { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
    // In step with the chart, scan after scan: its count, and its newest row is the "Last:" the page shows.
    for (let round = 0; round < 2; round++) {
      const points = Number(await chart.getAttribute('data-points'));
      await expect
        .poll(async () => [await description(), Number(await chart.getAttribute('data-points'))], { timeout: 15_000 })
        .toSatisfy(([words, now]) => (words as string).startsWith(`EUR_USD, momentum: ${now} scans charted, `) && (now as number) > points);
      await expect
        .poll(async () => {
          const [, direction, price] = await firstRow();
          return (await chart.locator('.signal-note').textContent())?.startsWith(`Last: ${direction} at ${price} · `);
        })
        .toBe(true);
    }
    expect(await description()).toMatch(/; price from [\d.]+ to [\d.]+; \d+ LONG, \d+ SHORT, \d+ FLAT\. The newest \d+ are in the table/);
    expect(await table.locator('thead th').allTextContents()).toEqual(['Candle (UTC)', 'Signal', 'Price', 'Reason']);

    // The legend from the keyboard: Tab reaches its buttons, Space hides a series, the focus ring shows.
    const focusedSeries = () => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.series ?? '');
    for (let i = 0; i < 30 && (await focusedSeries()) !== 'LONG'; i++) await page.keyboard.press('Tab');
    const long = chart.getByRole('button', { name: 'LONG' });
    expect(await long.evaluate((b) => b === document.activeElement)).toBe(true);
    expect(await long.evaluate((b) => b.matches(':focus-visible') && getComputedStyle(b).outlineStyle !== 'none')).toBe(true);
    expect(await long.getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('Space');
    await expect.poll(() => long.getAttribute('aria-pressed')).toBe('false');
    await page.keyboard.press('Enter');
    await expect.poll(() => long.getAttribute('aria-pressed')).toBe('true');

    // The config timeline: described in words, kept in step, and its legend is buttons too.
    const timeline = page.getByRole('figure', { name: 'Config version over time, by kind of change' });
    const timelineWords = () =>
      timeline.evaluate((f) => document.getElementById(f.getAttribute('aria-describedby') ?? '')?.textContent ?? '');
    await expect
      .poll(timelineWords)
      .toMatch(/^2 versions, v1 at .+ to v2 at .+: 1 update, 1 start \/ recovery\. Each is listed after the chart/);
    expect(await timeline.locator('canvas').evaluate((c) => c.closest('[aria-hidden="true"]') !== null)).toBe(true);
    expect(await timeline.getByRole('button').allTextContents()).toEqual([
      '— version',
      '● activation',
      '● update',
      '● rollback',
      '● hand edit',
      '● start / recovery',
    ]);
    await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    await expect.poll(timelineWords).toMatch(/^3 versions, v1 at .+ to v3 at .+: 1 activation, 1 update, 1 start \/ recovery\./);
    const update = timeline.getByRole('button', { name: 'update' });
    await update.focus();
    await page.keyboard.press('Space');
    await expect.poll(() => update.getAttribute('aria-pressed')).toBe('false');
    expect(await problems()).toEqual([]);
  }, 60_000);

  it('after the server restarts, the charts show its signals, not a merge with the ones from before (whose candle times ran later)', async () => {
    const first = await serve();
    await first.gql('mutation { updateConfig(input: { scanIntervalSeconds: 1 }) { config { version } } }');
    const { page } = await openOperatorPage(browser, first.origin);
    const chart = page.locator('[data-testid="signal-chart"][data-instrument="EUR_USD"]');
    const points = async () => Number(await chart.getAttribute('data-points'));
    // A long first run: its candles run 15 bars past where the next run starts.
    await expect.poll(points, { timeout: 30_000 }).toBeGreaterThanOrEqual(15);
    await first.close();
    // The same runtime dir (scans every second) on the same port: the feed's candles start again.
    const second = await serve({ runtimeDir: first.runtimeDir, port: Number(new URL(first.origin).port) });
    await expect.poll(() => page.getByTestId('live').getAttribute('data-connected'), { timeout: 20_000 }).toBe('true');
    const served = async () =>
      (await second.gql('{ signals(instrument: "EUR_USD", last: 1000) { candleTime } }')).body.data?.signals.length;
    // What the page holds is what the new server has (give or take a scan arriving between the two
    // reads), well before its run could catch up with the first one's 15 bars: merged, the page
    // kept the first run's points, and "Last:" one of them.
    await expect.poll(async () => (await points()) <= (await served()) + 1, { timeout: 5_000 }).toBe(true);
    // "Last:" is the new server's latest signal, read again at each look: it scans every second, so a
    // signal read once was outrun by the next one on a loaded machine, and the page never showed it
    // again (CI on 042a13b: 'Last: LONG at 1.05448' where a read before it had 1.05141).
    const lastSays = async () => {
      const latest = (await second.gql('{ signals(instrument: "EUR_USD", last: 1) { direction price } }')).body.data?.signals[0];
      return (await chart.locator('.signal-note').textContent())?.includes(`Last: ${latest.direction} at ${latest.price}`);
    };
    await expect.poll(lastSays, { timeout: 10_000 }).toBe(true);
  }, 90_000);

  it('after a separate runner restarts (same --runner-id), "Last:" and the chart are its new run, live and on a fresh load, as the API says', async () => {
    const server = await serve({ runner: false });
    await server.gql('mutation { updateConfig(input: { scanIntervalSeconds: 1 }) { config { version } } }');
    const runnerArgs = ['runner', '--runtime-dir', server.runtimeDir, '--runner-id', 'r1', '--heartbeat-ms', '200'];
    const first = spawnStratctl(runnerArgs);
    await first.waitFor(/strategy runner started/);
    const { page } = await openOperatorPage(browser, server.origin);
    const chartOf = (p: Page) => p.locator('[data-testid="signal-chart"][data-instrument="EUR_USD"]');
    const points = async (p: Page) => Number(await chartOf(p).getAttribute('data-points'));
    // A long first run: its candles run 15 bars past where the next run starts (the same feed, from its
    // start), so the checks below are done well before the new run could catch up with it.
    await expect.poll(() => points(page), { timeout: 30_000 }).toBeGreaterThanOrEqual(15);
    await first.stop('SIGTERM');
    const second = spawnStratctl(runnerArgs);
    await second.waitFor(/strategy runner started/);
    /** The API's signals of r1 since its restart: newest first, up to where the candle times go up (the old run). */
    const newRun = async () => {
      const all = (
        await server.gql('{ signals(instrument: "EUR_USD", runnerId: "r1", last: 100) { runnerId direction price candleTime } }')
      ).body.data?.signals as { runnerId: string; direction: string; price: number; candleTime: string }[];
      const run = [all[0]!];
      for (const s of all.slice(1)) {
        if (Date.parse(s.candleTime) >= Date.parse(run.at(-1)!.candleTime)) break;
        run.push(s);
      }
      return run;
    };
    await expect
      .poll(async () => (await newRun()).at(-1)?.candleTime !== (await newRun()).at(0)?.candleTime, { timeout: 15_000 })
      .toBe(true);
    // "Last:" is the API's newest, read again at each look (a scan a second outruns a single read), and
    // the chart holds the new run only (give or take a scan between the reads): sorted by candle time,
    // the new run's signals went into the past and "Last:" stayed on the old run's newest for hours.
    const agrees = async (p: Page) => {
      const run = await newRun();
      const note = await chartOf(p).locator('.signal-note').textContent();
      return note?.startsWith(`Last: ${run[0]!.direction} at ${run[0]!.price} · `) === true && (await points(p)) <= run.length + 1;
    };
    await expect.poll(() => agrees(page), { timeout: 4_000 }).toBe(true);
    const fresh = await openOperatorPage(browser, server.origin);
    await expect.poll(() => agrees(fresh.page), { timeout: 4_000 }).toBe(true);
    // Still the new run, well short of the old one's 15 bars.
    expect((await newRun()).length).toBeLessThan(14);
    expect(await chartOf(fresh.page).getAttribute('data-runner-id')).toBeNull();
  }, 90_000);

  it('a runner that died shows STALE with what it last applied, never a green "in sync"', async () => {
    const server = await serve({ runner: false });
    const runner = spawnStratctl(['runner', '--runtime-dir', server.runtimeDir, '--heartbeat-ms', '200', '--feed', 'sim:7']);
    await runner.waitFor(/strategy runner started/);
    const { page } = await openOperatorPage(browser, server.origin);
    const item = page.getByTestId('runner-state').first();
    await expect.poll(() => item.textContent()).toContain('✓ in sync');
    await runner.stop('SIGKILL');
    await expect.poll(() => item.textContent(), { timeout: 15_000 }).toContain('STALE');
    expect(await item.textContent()).not.toContain('in sync');
    expect(await item.getByTestId('runner-last-applied').textContent()).toBe('last applied v1');
  }, 60_000);

  it('a fleet at a glance: counts per state and the worst in the runners heading, and no unqualified "Trading enabled" beside a dead fleet', async () => {
    // No runner here, so no live status replaces the one each load below is answered.
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token, /^Token: admin/);
    /** The trading badge's words (found by its words, so the test reads the page before this fix too). */
    const trading = () => page.locator('#glance .badge', { hasText: /Trading (enabled|disabled)/ }).first();
    // No runner at all: enabled in the config, and nothing trades it.
    await expect.poll(() => trading().textContent()).toBe('● Trading enabled, but no runner is running');
    // A fleet (a file store has one runner per runtime dir, so the fleet is played here): the
    // status the server answers, with runners in the states this load asks for.
    let fleet: string[] = [];
    /** A hand edit of config.yaml the server refuses changes over (status.configError), as each load is answered. */
    let configError: { location: string; message: string; changesRefused: boolean } | null = null;
    await page.route('**/graphql', async (route) => {
      if (route.request().postDataJSON()?.operationName !== 'OperatorOverview') return route.continue();
      const response = await route.fetch();
      const body = await response.json();
      const one = body.data.status.runner;
      body.data.status.runners = fleet.map((state, i) => ({ ...one, id: `r${i}`, state }));
      body.data.status.configError = configError;
      const worst = ['STALE', 'STOPPED', 'ERROR', 'RUNNING'].find((s) => fleet.includes(s));
      if (worst) body.data.status.runner = { ...one, state: worst };
      return route.fulfill({ response, json: body });
    });
    const heading = page.locator('#glance-runners');
    const cases: [string[], string, string][] = [
      [['RUNNING', 'RUNNING', 'RUNNING'], 'Runners (3): 3 RUNNING · worst: RUNNING', '● Trading enabled'],
      [['RUNNING', 'STALE', 'STALE'], 'Runners (3): 1 RUNNING 2 STALE · worst: STALE', '● Trading enabled'],
      // Before: "Runners (11)" over eleven STALE cards, beside a green "● Trading enabled".
      [Array(11).fill('STALE'), 'Runners (11): 11 STALE · worst: STALE', '● Trading enabled, but no runner is running'],
      // A runner in ERROR still scans (the server counts it live). Before: "but no runner is running".
      [
        ['STOPPED', 'ERROR'],
        'Runners (2): 1 ERROR 1 STOPPED · worst: STOPPED',
        '● Trading enabled, but every runner running reports an error',
      ],
      [['STOPPED', 'STOPPED'], 'Runners (2): 2 STOPPED · worst: STOPPED', '● Trading enabled, but no runner is running'],
    ];
    for (const [states, words, badge] of cases) {
      fleet = states;
      await page.reload();
      await expect.poll(() => page.getByTestId('runner-state').count()).toBe(states.length);
      expect(await heading.textContent()).toBe(words);
      expect(await trading().textContent()).toBe(badge);
      expect(await trading().getAttribute('class')).toContain(badge.includes('but') ? 'warn' : 'ok');
    }
    // Activate beside a runner in ERROR over a config.yaml made invalid by hand: not "No runner is
    // running ... the change is saved", but that the server would refuse it (CONFIG_FILE_INVALID).
    fleet = ['ERROR'];
    configError = { location: 'config.yaml', message: 'scan_interval_seconds: expected a number', changesRefused: true };
    await page.reload();
    await expect.poll(() => page.locator('#glance .error-box').count()).toBe(1);
    await row(page, 'gold').locator('button[data-action="activate"]').click();
    const dialog = page.locator('dialog[open]');
    await dialog.locator('table.diff').waitFor();
    expect(await dialog.getByTestId('no-runner').count()).toBe(0);
    expect(await text(page, 'config-invalid-activate')).toBe(
      'config.yaml on disk is invalid: the server refuses changes until it is fixed, so this one would be refused and nothing changed.',
    );
    expect(await dialog.textContent()).not.toContain('switches on its next scan');
    await page.keyboard.press('Escape');
    // Without the invalid file, a runner in ERROR is one that switches on its next scan.
    configError = null;
    await page.reload();
    await expect.poll(() => page.getByTestId('runner-state').count()).toBe(1);
    await row(page, 'gold').locator('button[data-action="activate"]').click();
    await dialog.locator('table.diff').waitFor();
    expect(await dialog.textContent()).toContain('The runner switches on its next scan.');
    expect(await dialog.getByTestId('no-runner').count()).toBe(0);
  }, 60_000);

  it('a fleet of 12 reads at a glance: its runners as tiles side by side, in a card of its own, at 1280x800 and on a phone', async () => {
    const server = await serve({ runner: false });
    const states = [
      'RUNNING',
      'RUNNING',
      'STALE',
      'RUNNING',
      'ERROR',
      'RUNNING',
      'STOPPED',
      'RUNNING',
      'RUNNING',
      'STALE',
      'RUNNING',
      'RUNNING',
    ];
    // One page, reloaded at each size (the route below stays with it).
    const { page } = await openOperatorPage(browser, server.origin, { viewport: { width: 1280, height: 800 } });
    // A fleet played in the overview's answer, as in the test above (a file store has one runner).
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
        lastScanAt: new Date().toISOString(),
        error: state === 'ERROR' ? 'unknown instrument XAU_USD' : null,
      }));
      body.data.status.runner = { ...one, state: 'STALE' };
      return route.fulfill({ response, json: body });
    });
    for (const [width, height] of [
      [1280, 800],
      [390, 844],
    ] as const) {
      await page.setViewportSize({ width, height });
      await page.reload();
      await expect.poll(() => page.getByTestId('runner-state').count()).toBe(12);
      // Measured in one task: the page re-renders its glance as news arrives, and a box read from an
      // element replaced between two reads is all zeros (a loaded CI host saw a tile right of the card's 0).
      const { glance, runnersCard, activeCard, tiles } = await page.evaluate(() => {
        const box = (selector: string) => document.querySelector(selector)!.getBoundingClientRect().toJSON() as DOMRect;
        return {
          glance: box('section[aria-labelledby="glance-heading"]'),
          runnersCard: box('article[aria-labelledby="glance-runners"]'),
          activeCard: box('article[aria-labelledby="glance-active"]'),
          tiles: [...document.querySelectorAll('[data-testid="runner-state"]')].map((el) => el.getBoundingClientRect().toJSON() as DOMRect),
        };
      });
      expect(tiles).toHaveLength(12);
      console.log(
        `fleet of 12 at ${width}x${height}: glance ${Math.round(glance.height)} px tall, runners card ${Math.round(runnersCard.height)}, active card ${Math.round(activeCard.height)}, ${new Set(tiles.map((t) => Math.round(t.top))).size} rows of runners`,
      );
      // Nothing wider than the screen, each runner inside its card.
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
      for (const t of tiles) expect(t.right).toBeLessThanOrEqual(runnersCard.right);
      if (width === 1280) {
        // Before: one column of 12 runners, the glance 2,028 px tall, the active strategy's card stretched to 1,996 px beside it.
        expect(glance.bottom).toBeLessThanOrEqual(height);
        expect(activeCard.height).toBeLessThan(300);
        expect(new Set(tiles.map((t) => Math.round(t.top))).size).toBeLessThanOrEqual(3);
      } else {
        // A phone: two runners a row.
        expect(new Set(tiles.map((t) => Math.round(t.top))).size).toBe(6);
      }
    }
  }, 60_000);

  /** Plays `runners` in the overview's answer (a file store has one runner; an etcd store lists what its records say). */
  const playRunners = (page: Page, runners: { id: string; pid: number; state: string }[]) =>
    page.route('**/graphql', async (route) => {
      if (route.request().postDataJSON()?.operationName !== 'OperatorOverview') return route.continue();
      const response = await route.fetch();
      const body = await response.json();
      const one = body.data.status.runner;
      body.data.status.runners = runners.map((r) => ({
        ...one,
        ...r,
        appliedConfigVersion: 1,
        appliedStrategyKey: 'momentum',
        inSync: true,
        lastScanAt: new Date().toISOString(),
      }));
      body.data.status.runner = { ...one, state: runners.some((r) => r.state === 'STALE') ? 'STALE' : 'RUNNING' };
      return route.fulfill({ response, json: body });
    });

  it('fleet tiles: worst first, ids in natural order (runner-2 before runner-10), each titled with its id', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin);
    const ids = ['runner-1', 'runner-10', 'runner-11', 'runner-12', 'runner-2', 'runner-3', 'runner-20'];
    const stale = new Set(['runner-12', 'runner-3']);
    await playRunners(
      page,
      ids.map((id, i) => ({ id, pid: 100 + i, state: stale.has(id) ? 'STALE' : 'RUNNING' })),
    );
    await page.reload();
    const tiles = page.getByTestId('runner-state');
    await expect.poll(() => tiles.count()).toBe(ids.length);
    // Before: runner-1, runner-10, runner-11, runner-12 (STALE), runner-2, runner-20, runner-3 (STALE).
    expect(await tiles.evaluateAll((all) => all.map((el) => el.getAttribute('data-runner-id')))).toEqual([
      'runner-3',
      'runner-12',
      'runner-1',
      'runner-2',
      'runner-10',
      'runner-11',
      'runner-20',
    ]);
    // Before: only the state words, the same on every dead tile.
    expect(await tiles.first().getAttribute('title')).toBe('\u2068runner-3\u2069: no heartbeat: dead or stuck');
    expect(await tiles.last().getAttribute('title')).toBe('\u2068runner-20\u2069: scanning on schedule');
  }, 60_000);

  it("a runner id's bidi controls do not reorder the words after it, and a 600-character id is cut, whole in its title: a tile, a runner's card, the Activate dialog", async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin, { viewport: { width: 1280, height: 800 } });
    await enterToken(page, server.token);
    const tricky = '\u202Egnp.exe';
    const long = `host-${'x'.repeat(595)}`;
    const fleet = [
      { id: tricky, pid: 4321, state: 'STALE' },
      { id: long, pid: 77, state: 'STALE' },
    ];
    await playRunners(page, fleet);
    await page.reload();
    const tiles = page.getByTestId('runner-state');
    await expect.poll(() => tiles.count()).toBe(2);
    const head = (id: string) => page.locator(`[data-testid="runner-state"][data-runner-id="${id}"] .tile-head`);
    // Before: one text node, "(4321 dip) exe.png" on screen. The control is shown, and the id isolated.
    expect(await head(tricky).textContent()).toBe('STALE <U+202E>gnp.exe (pid 4321)');
    expect(await head(tricky).locator('bdi').count()).toBe(1);
    const cut = head(long).locator('bdi');
    expect([...((await cut.textContent()) ?? '')]).toHaveLength(64);
    expect(await cut.textContent()).toMatch(/^host-x+…$/);
    expect(await cut.getAttribute('title')).toBe(long);
    // Before: ~900 px tall.
    const height = await tiles.evaluateAll((all) => all.map((el) => el.getBoundingClientRect().height));
    expect(Math.max(...height)).toBeLessThan(200);
    // The Activate dialog names the runners that are not running.
    await row(page, 'range').locator('button[data-action="activate"]').click();
    const warning = page.getByTestId('no-runner');
    await expect.poll(() => warning.textContent()).toContain('\u2068<U+202E>gnp.exe\u2069 STALE');
    expect(await warning.textContent()).not.toContain(long);
    await page.keyboard.press('Escape');
    // One runner: its card.
    await page.unroute('**/graphql');
    await playRunners(page, [{ id: tricky, pid: 4321, state: 'RUNNING' }]);
    await page.reload();
    await expect.poll(() => page.locator('.runner dd bdi').first().textContent()).toBe('<U+202E>gnp.exe');
    expect(await page.locator('.runner dd').first().textContent()).toBe('<U+202E>gnp.exe (pid 4321)');
  }, 60_000);

  it('drops a token the server refuses, says so, and stays read-only', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin);
    await enterToken(page, 'not-the-token-0123456789', null);
    await expect
      .poll(() => page.locator('.notice.error').first().textContent())
      .toContain('The token was refused (Authentication required)');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await expect.poll(() => text(page, 'read-only')).toContain('Read-only');
    expect(await page.locator('#viewer').textContent()).toBe('Read-only: no token');
  }, 60_000);

  it('a mistyped token costs one failed attempt, not one per panel; past the limit the page says so and stays read-only, and the right token works at once and clears those notices', async () => {
    const server = await serve({ runner: false, security: { authFailures: { failuresPerMinute: 3 } } });
    const { page, requests } = await openOperatorPage(browser, server.origin);
    const withToken = () => requests.filter((r) => r.headers().authorization?.startsWith('Bearer typo-')).length;
    for (const n of [1, 2, 3]) {
      await enterToken(page, `typo-token-${n}-0123456789`, null);
      // Not a time bound: on a clean-clone CI's busy host the check's request once took longer than
      // the poll's default 5 s to be seen (the test is about how many are sent, not when).
      await expect.poll(withToken, { timeout: 20_000 }).toBe(n);
      // The same refusal again replaces its notice: one, not a pile of copies.
      await expect.poll(() => page.locator('.notice.error').count(), { timeout: 20_000 }).toBe(1);
    }
    // One request each (the check), nothing else sent with a refused token: three typos, three attempts.
    expect(withToken()).toBe(3);
    await enterToken(page, 'typo-token-4-0123456789', null);
    // As above: what is shown, not when (a clean-clone CI's busy host once took over 5 s for it).
    await expect.poll(() => page.locator('.notice.error').count(), { timeout: 20_000 }).toBe(2);
    // Newest first.
    expect((await page.locator('.notice.error').allTextContents())[0]).toContain(
      'Too many failed authentication attempts: this address sent too many wrong tokens. The right token is still accepted at once',
    );
    expect(withToken()).toBe(4);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    // The public view goes on: live, read-only.
    expect(await page.getByTestId('live').getAttribute('data-connected')).toBe('true');
    expect(await page.locator('#viewer').textContent()).toBe('Read-only: no token');
    // The right token is accepted at once (the limit never refuses one that authenticates), and
    // what was said of the refused ones goes: a red "read-only" beside "Token: admin" misled.
    await enterToken(page, server.token, /^Token: admin/);
    expect(await page.locator('.notice.error').count()).toBe(0);
  }, 60_000);

  it("the subscription limit's 429 is no news of the token: a tab over it keeps its token", async () => {
    // Two subscriptions per address: the first tab (anonymous) holds both.
    const server = await serve({ runner: false, security: { maxSubscriptionsPerClient: 2 } });
    await openOperatorPage(browser, server.origin);
    const second = await openOperatorPage(browser, server.origin, { waitLive: false });
    // Refused at the stream's reservation (its PUT), which is one of the address's slots too.
    const refused = second.page.waitForResponse(
      (r) => new URL(r.url()).pathname === '/graphql/stream' && r.request().method() === 'PUT' && r.status() === 429,
    );
    await enterToken(second.page, server.token);
    expect((await refused).headers()['retry-after']).toBe('5');
    // Kept: the refusal was the subscriptions', not the token's (the failed-auth limit's 429 is).
    expect(await second.page.evaluate(() => sessionStorage.length)).toBe(1);
    expect(await second.page.locator('#viewer').textContent()).toMatch(/^Token: admin/);
    expect(await second.page.locator('.notice.error', { hasText: 'was refused' }).count()).toBe(0);
    // And it says why it is not live: the server's refusal, not "cannot be reached".
    await expect
      .poll(() => text(second.page, 'server-down'))
      .toContain('Too many open subscriptions: at most 2 per client: this address has too many live connections open');
  }, 60_000);

  it('eight tabs of the page in one browser all work: a tab hidden for a while lets its connection go, and takes it up again, refetched, when shown', async () => {
    const server = await serve({ runner: false });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const tabs: Page[] = [];
    for (let i = 0; i < 7; i++) {
      // Each tab goes live (a sixth waited for ever: five streams and its own took the browser's 6 connections).
      const { page } = await openOperatorPage(browser, server.origin, { context, fakeClock: true });
      await setHidden(page, true);
      // A quick look at another tab keeps the connection...
      await page.clock.fastForward(HIDDEN_PAUSE_MS - 1_000);
      expect(await page.getByTestId('live').getAttribute('data-connected')).toBe('true');
      // ...a tab left hidden lets it go.
      await page.clock.fastForward(2_000);
      await expect.poll(() => text(page, 'live')).toBe('Paused while the tab is hidden');
      tabs.push(page);
    }
    const { page: eighth } = await openOperatorPage(browser, server.origin, { context });
    await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    await expect.poll(() => text(eighth, 'active-strategy')).toBe('range');
    // The first tab, shown again: live, with what changed while it was hidden.
    const first = tabs[0] as Page;
    expect(await text(first, 'active-strategy')).toBe('momentum');
    await setHidden(first, false);
    await expect.poll(() => first.getByTestId('live').getAttribute('data-connected')).toBe('true');
    await expect.poll(() => text(first, 'active-strategy')).toBe('range');
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    await expect.poll(() => text(first, 'active-strategy')).toBe('gold');
    await expect.poll(() => text(eighth, 'active-strategy')).toBe('gold');
  }, 120_000);

  it('eight visible tabs in one browser share one live connection: all live, each change in every tab, and another leads when the leader closes', async () => {
    const server = await serve({ runner: false });
    const open = countOpenSubscriptions(server);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await recordLiveTexts(context);
    const tabs: OperatorPage[] = [];
    // Each goes live (before, past 5 visible tabs the streams held the browser's 6 connections and they starved each other).
    for (let i = 0; i < 8; i++) tabs.push(await openOperatorPage(browser, server.origin, { context }));
    // One stream for all eight, and the server holds its two subscriptions once.
    expect(sum(tabs.map(streamsOf))).toBe(1);
    expect(open()).toBe(2);
    await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    for (const { page } of tabs) await expect.poll(() => text(page, 'active-strategy'), { timeout: PUSHED_WITHIN_MS }).toBe('range');

    // The leader closes: the browser lets its lock go, and the next tab waiting for it opens the stream.
    const leader = tabs.find((tab) => streamsOf(tab) === 1) as OperatorPage;
    const others = tabs.filter((tab) => tab !== leader);
    const closed = Date.now();
    await leader.page.close();
    await expect.poll(() => sum(others.map(streamsOf)), { timeout: PUSHED_WITHIN_MS }).toBe(1);
    const tookOver = Date.now() - closed;
    await expect.poll(open).toBe(2);
    for (const { page } of others) await expect.poll(() => page.getByTestId('live').getAttribute('data-connected')).toBe('true');
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    for (const { page } of others) await expect.poll(() => text(page, 'active-strategy'), { timeout: PUSHED_WITHIN_MS }).toBe('gold');
    // No tab said "Offline" for the handover (it kept "Live" until the new leader's subscriptions were accepted).
    for (const { page } of others) expect((await liveTexts(page)).filter((t) => t !== 'Connecting…' && t !== 'Live')).toEqual([]);
    for (const tab of others) expect(await tab.problems()).toEqual([]);
    expect(sum(others.map(streamsOf))).toBe(1);
    process.stdout.write(`operator page: a follower took the live connection over ${tookOver} ms after its leader closed\n`);
  }, 120_000);

  it('a leader hidden for a while hands the live connection to a tab in sight, and follows it when shown again', async () => {
    const server = await serve({ runner: false });
    const open = countOpenSubscriptions(server);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await recordLiveTexts(context);
    const leader = await openOperatorPage(browser, server.origin, { context, fakeClock: true });
    const follower = await openOperatorPage(browser, server.origin, { context });
    expect([streamsOf(leader), streamsOf(follower)]).toEqual([1, 0]);
    await setHidden(leader.page, true);
    // The clock is the context's, both tabs': moved in steps shorter than NO_ANSWER_MS, or the new
    // leader's first request, sent as the clock jumps, would time out at once (a jump, not a wait).
    await leader.page.clock.fastForward(HIDDEN_PAUSE_MS - 1_000);
    await leader.page.clock.fastForward(2_000);
    await expect.poll(() => text(leader.page, 'live')).toBe('Paused while the tab is hidden');
    // The tab in sight takes the stream over (one stream still), and never said "Offline" meanwhile.
    await expect.poll(() => streamsOf(follower), { timeout: PUSHED_WITHIN_MS }).toBe(1);
    await expect.poll(open).toBe(2);
    await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    await expect.poll(() => text(follower.page, 'active-strategy')).toBe('range');
    expect((await liveTexts(follower.page)).filter((t) => t !== 'Connecting…' && t !== 'Live')).toEqual([]);
    // Shown again: it follows the new leader (no stream of its own), refetched, and hears the next change.
    await setHidden(leader.page, false);
    await expect.poll(() => leader.page.getByTestId('live').getAttribute('data-connected')).toBe('true');
    await expect.poll(() => text(leader.page, 'active-strategy')).toBe('range');
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    for (const { page } of [leader, follower]) await expect.poll(() => text(page, 'active-strategy')).toBe('gold');
    expect([streamsOf(leader), streamsOf(follower)]).toEqual([1, 1]);
    expect(open()).toBe(2);
  }, 60_000);

  it('a leader frozen by the browser (page lifecycle freeze): another tab takes the live connection over at once, and the frozen one follows when it resumes', async () => {
    const server = await serve({ runner: false });
    const open = countOpenSubscriptions(server);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await recordLiveTexts(context);
    const tabs = [await openOperatorPage(browser, server.origin, { context }), await openOperatorPage(browser, server.origin, { context })];
    const leader = tabs.find((tab) => streamsOf(tab) === 1) as OperatorPage;
    const follower = tabs.find((tab) => tab !== leader) as OperatorPage;
    expect(streamsOf(follower)).toBe(0);
    // What Chrome does to a tab it freezes: `freeze` on the document, then none of its tasks runs
    // and nothing closes. Headless Chromium accepts Page.setWebLifecycleState {state: 'frozen'} and
    // does nothing (no event, timers run on), so the event is dispatched here and the page then
    // stopped in the debugger, the nearest to frozen a test can get.
    const cdp = await stopInDebugger(leader.page, 'freeze');
    const frozen = Date.now();
    await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    // Before, the frozen leader kept the lock: the follower never led and showed "momentum" (then,
    // after LEADER_SILENT_MS, that it may be out of date). Now the leader lets the lock go as it
    // freezes: the follower leads and shows the change well within LEADER_SILENT_MS.
    await expect.poll(() => text(follower.page, 'active-strategy'), { timeout: LEADER_SILENT_MS / 2 }).toBe('range');
    const tookOver = Date.now() - frozen;
    expect(streamsOf(follower)).toBe(1);
    await expect.poll(open).toBe(2);
    expect((await liveTexts(follower.page)).filter((t) => t !== 'Connecting…' && t !== 'Live')).toEqual([]);
    // Resumed: it follows the new leader (no stream of its own), refetched, and hears the next change.
    await cdp.send('Debugger.resume');
    await leader.page.evaluate(() => document.dispatchEvent(new Event('resume')));
    await expect.poll(() => text(leader.page, 'active-strategy')).toBe('range');
    await expect.poll(() => leader.page.getByTestId('live').getAttribute('data-connected')).toBe('true');
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    for (const { page } of tabs) await expect.poll(() => text(page, 'active-strategy')).toBe('gold');
    expect(sum(tabs.map(streamsOf))).toBe(2);
    expect(open()).toBe(2);
    for (const tab of tabs) expect(await tab.problems()).toEqual([]);
    process.stdout.write(`operator page: a follower showed a change ${tookOver} ms after its leader was frozen\n`);
  }, 60_000);

  it('a leader stopped without a word (a debugger paused in it): a follower takes the live connection from it within seconds, and it follows when it runs again', async () => {
    const server = await serve({ runner: false });
    const open = countOpenSubscriptions(server);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await recordLiveTexts(context);
    const tabs = [await openOperatorPage(browser, server.origin, { context }), await openOperatorPage(browser, server.origin, { context })];
    const leader = tabs.find((tab) => streamsOf(tab) === 1) as OperatorPage;
    const follower = tabs.find((tab) => tab !== leader) as OperatorPage;
    // Stopped, no `freeze`: it keeps the lock, and its stream is open (the real clock: a stopped page cannot be moved on).
    const cdp = await stopInDebugger(leader.page);
    const stopped = Date.now();
    await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    // Before, the follower showed "momentum" as long as the leader stayed stopped (after
    // LEADER_SILENT_MS saying it may be out of date). Now, after LEADER_SILENT_MS, a hello and one
    // to two beats unanswered, it takes the lock (`steal`), opens the stream and refetches.
    const bound = LEADER_SILENT_MS + 2 * LEADER_BEAT_MS + 5_000;
    await expect.poll(() => text(follower.page, 'active-strategy'), { timeout: bound }).toBe('range');
    const tookOver = Date.now() - stopped;
    expect(tookOver).toBeGreaterThanOrEqual(LEADER_SILENT_MS);
    expect(streamsOf(follower)).toBe(1);
    // The stopped tab's stream is still open (two streams, four subscriptions on the server) until it runs again.
    await expect.poll(open).toBe(4);
    // Running again: its request for the lock is rejected (stolen), it closes its stream and follows.
    await cdp.send('Debugger.resume');
    await expect.poll(open).toBe(2);
    await expect.poll(() => text(leader.page, 'active-strategy')).toBe('range');
    await expect.poll(() => leader.page.getByTestId('live').getAttribute('data-connected')).toBe('true');
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    for (const { page } of tabs) await expect.poll(() => text(page, 'active-strategy')).toBe('gold');
    expect(sum(tabs.map(streamsOf))).toBe(2);
    expect(open()).toBe(2);
    // The follower kept "Live" throughout: a handover, not an outage.
    expect((await liveTexts(follower.page)).filter((t) => t !== 'Connecting…' && t !== 'Live')).toEqual([]);
    for (const tab of tabs) expect(await tab.problems()).toEqual([]);
    process.stdout.write(`operator page: a follower showed a change ${tookOver} ms after its leader was stopped unheard\n`);
  }, 90_000);

  it('a leader put in the back/forward cache (navigated away) lets the stream go: another tab leads, and it follows when brought back', async () => {
    const server = await serve({ runner: false });
    const open = countOpenSubscriptions(server);
    const context = await cached.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(() => {
      addEventListener('pagehide', (e) => {
        (window as unknown as { __cached?: boolean }).__cached = e.persisted;
      });
    });
    const leader = await openOperatorPage(cached, server.origin, { context });
    const follower = await openOperatorPage(cached, server.origin, { context });
    expect([streamsOf(leader), streamsOf(follower)]).toEqual([1, 0]);
    await leader.page.goto(`${server.origin}/version`);
    // Before, the cached page kept the lock: the follower never led (no stream), and heard nothing.
    await expect.poll(() => streamsOf(follower), { timeout: 15_000 }).toBe(1);
    await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    await expect.poll(() => text(follower.page, 'active-strategy')).toBe('range');
    // Back: the page comes from the cache (not reloaded), follows the new leader, and shows what changed.
    await leader.page.goBack({ waitUntil: 'commit' });
    expect(await leader.page.evaluate(() => (window as unknown as { __cached?: boolean }).__cached)).toBe(true);
    await expect.poll(() => leader.page.getByTestId('live').getAttribute('data-connected')).toBe('true');
    await expect.poll(() => text(leader.page, 'active-strategy')).toBe('range');
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    for (const { page } of [leader, follower]) await expect.poll(() => text(page, 'active-strategy')).toBe('gold');
    expect([streamsOf(leader), streamsOf(follower)]).toEqual([1, 1]);
    await expect.poll(open).toBe(2);
  }, 90_000);

  it('tabs with different tokens share no connection, and a refused token reaches only the tabs that held it', async () => {
    const server = await serve({ runner: false });
    const open = countOpenSubscriptions(server);
    const night = await createToken(server.runtimeDir, 'night-shift', 'operate');
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const anonymous = await openOperatorPage(browser, server.origin, { context });
    const admin = await openOperatorPage(browser, server.origin, { context });
    await enterToken(admin.page, server.token, /^Token: admin/);
    const nightTabs = [
      await openOperatorPage(browser, server.origin, { context }),
      await openOperatorPage(browser, server.origin, { context }),
    ];
    for (const { page } of nightTabs) await enterToken(page, night, /^Token: night-shift/);
    const all = [anonymous, admin, ...nightTabs];
    for (const { page } of all) await expect.poll(() => page.getByTestId('live').getAttribute('data-connected')).toBe('true');
    // Three groups (no token, admin's, night-shift's): three connections, each holding two subscriptions.
    await expect.poll(open).toBe(6);
    await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    for (const { page } of all) await expect.poll(() => text(page, 'active-strategy')).toBe('range');

    // night-shift revoked: its stream is refused, and both its tabs forget it; the others keep theirs.
    const nightStreams = () =>
      sum(
        nightTabs.map(
          (tab) =>
            tab.requests.filter((r) => new URL(r.url()).pathname === '/graphql/stream' && r.headers().authorization === `Bearer ${night}`)
              .length,
        ),
      );
    const before = nightStreams();
    await revokeToken(server.runtimeDir, 'night-shift');
    for (const { page } of nightTabs) {
      await expect.poll(() => page.locator('.notice.error').first().textContent(), { timeout: 10_000 }).toContain('The token was refused');
      await expect.poll(() => page.evaluate(() => sessionStorage.length)).toBe(0);
    }
    expect(await admin.page.evaluate(() => sessionStorage.length)).toBe(1);
    expect(await admin.page.locator('#viewer').textContent()).toMatch(/^Token: admin/);
    for (const { page } of [anonymous, admin]) expect(await page.locator('.notice.error').count()).toBe(0);
    // The follower left the lock's queue on the news: it did not lead with the refused token.
    expect(nightStreams()).toBe(before);
    // The night-shift tabs, now without a token, follow the anonymous tab's connection.
    await expect.poll(open).toBe(4);
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    for (const { page } of all) await expect.poll(() => text(page, 'active-strategy')).toBe('gold');
  }, 120_000);

  it('a token revoked while a dialog is open: the dialog says it can no longer send, and its send button stays disabled', async () => {
    const server = await serve({ runner: false });
    const operate = await createToken(server.runtimeDir, 'day-shift', 'operate');
    const { page, requests } = await openOperatorPage(browser, server.origin);
    await enterToken(page, operate, /^Token: day-shift/);
    await row(page, 'gold').locator('button[data-action="activate"]').click();
    const dialog = page.locator('dialog[open]');
    await dialog.locator('table.diff').waitFor();
    expect(await page.getByTestId('confirm-activate').isDisabled()).toBe(false);
    await revokeToken(server.runtimeDir, 'day-shift');
    await expect.poll(() => page.locator('.notice.error').first().textContent(), { timeout: 10_000 }).toContain('The token was refused');
    // Before: the dialog went on offering "Activate gold", which sent the change without a token (refused 401).
    expect(await text(page, 'token-lost')).toBe(
      'The token was refused and has been forgotten: this dialog can no longer send. Enter a valid token, then open it again.',
    );
    expect(await page.getByTestId('confirm-activate').isDisabled()).toBe(true);
    expect(requests.filter((r) => r.postDataJSON?.()?.operationName === 'ActivateStrategy')).toHaveLength(0);
  }, 60_000);

  it('a token that expires while the page holds it is forgotten saying when it expired, and an expired token entered is refused saying so', async () => {
    // The server's clock, moved by hand: expiry is judged against it at each request.
    let offset = 0;
    const server = await serve({ runner: false, now: () => Date.now() + offset });
    const expiresAt = new Date(Date.now() + 3_600_000);
    const day = await createToken(server.runtimeDir, 'day-shift', 'operate', { expiresAt });
    const { page } = await openOperatorPage(browser, server.origin);
    await enterToken(page, day, /^Token: day-shift/);
    offset = 3_600_000;
    // The change makes the page read again with its token: refused, 401 with extensions.expiredAt.
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    const expired = `Authentication required: it expired at ${expiresAt.toISOString()}`;
    await expect
      .poll(() => page.locator('.notice.error').first().textContent(), { timeout: 10_000 })
      .toContain(`The token was refused (${expired}) and has been forgotten`);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await enterToken(page, day, null);
    await expect
      .poll(() => page.locator('.notice.error').first().textContent())
      .toContain(`The token was refused (${expired}): the page stays read-only until a valid one is entered.`);
    expect(await page.locator('#viewer').textContent()).not.toMatch(/day-shift/);
  }, 60_000);

  it("another page of the origin cannot join a token's group: it hears none of its news and cannot forge any (a refusal)", async () => {
    const server = await serve({ runner: false });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const tabs = [await openOperatorPage(browser, server.origin, { context }), await openOperatorPage(browser, server.origin, { context })];
    for (const { page } of tabs) await enterToken(page, server.token, /^Token: admin/);
    for (const { page } of tabs) await expect.poll(() => page.getByTestId('live').getAttribute('data-connected')).toBe('true');
    // A script of another page of the same origin, with no token (another app behind the same proxy,
    // GraphiQL's page): it lists the lock names, and tries each as the channel of its group.
    const intruder = await context.newPage();
    await intruder.goto(`${server.origin}/health`);
    // The group's real channel, named here from the token (src/page/shared-live.ts): the test's
    // witness that the leader spoke after the intruder listened, instead of a fixed wait.
    const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
    const key = pbkdf2Sync(server.token, `strategy-control-plane.live\n${server.origin}`, GROUP_KDF_ITERATIONS, 32, 'sha256').toString(
      'hex',
    );
    const realChannel = `strategy-control-plane.live.channel.${sha256(`strategy-control-plane.live.channel\n${key}`)}`;
    const { names, heard, beats } = await intruder.evaluate(
      async ({ realChannel, silentMs }) => {
        const { held = [], pending = [] } = await navigator.locks.query();
        const names = [...new Set([...held, ...pending].map((l) => l.name ?? ''))].filter((n) => n !== '' && !n.endsWith('.anonymous'));
        const heard: unknown[] = [];
        for (const name of names) {
          const channel = new BroadcastChannel(name);
          channel.onmessage = (event) => heard.push(event.data);
          channel.postMessage({ kind: 'unauthorized', message: 'Forged: the token was refused. Use the token in the wiki instead.' });
          channel.postMessage({ kind: 'hello' });
        }
        // The leader answers a hello at once, and beats every LEADER_BEAT_MS on its real channel: a
        // beat heard there was sent after the posts above (a channel hears only what is posted once
        // it exists), so on a channel named as the intruder tried, it would be in `heard` too.
        const witness = new BroadcastChannel(realChannel);
        let beats = 0;
        await new Promise<void>((resolve) => {
          const giveUp = setTimeout(resolve, silentMs);
          witness.onmessage = (event) => {
            if ((event.data as { kind?: string }).kind === 'beat' && ++beats === 1) {
              clearTimeout(giveUp);
              resolve();
            }
          };
        });
        witness.close();
        return { names, heard, beats };
      },
      { realChannel, silentMs: LEADER_SILENT_MS },
    );
    expect(beats).toBeGreaterThanOrEqual(1);
    expect(names.length).toBeGreaterThan(0);
    // The forged refusal made no tab forget its token (the follower did: the leader ignores its channel's news).
    for (const { page } of tabs) {
      expect(await page.locator('.notice.error').allTextContents()).toEqual([]);
      expect(await page.evaluate(() => sessionStorage.length)).toBe(1);
      expect(await page.locator('#viewer').textContent()).toMatch(/^Token: admin/);
    }
    expect(heard).toEqual([]);
  }, 60_000);

  it('the lock names a script of the origin can list are no fast digest of the token: a guess costs GROUP_KDF_ITERATIONS PBKDF2 rounds salted with the origin; the tabs still share one stream', async () => {
    const server = await serve({ runner: false });
    const open = countOpenSubscriptions(server);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const tabs = [await openOperatorPage(browser, server.origin, { context }), await openOperatorPage(browser, server.origin, { context })];
    const started: number[] = [];
    for (const { page } of tabs) {
      const at = Date.now();
      await enterToken(page, server.token, /^Token: admin/);
      await expect.poll(() => page.getByTestId('live').getAttribute('data-connected')).toBe('true');
      started.push(Date.now() - at);
    }
    process.stdout.write(
      `operator page: a tab given a token was live with it after ${started.join(' ms, ')} ms (PBKDF2 ${GROUP_KDF_ITERATIONS} rounds included)\n`,
    );
    // One connection for the token's group: its two subscriptions, held once, opened by one tab.
    await expect.poll(open).toBe(2);
    const tokenStreams = sum(
      tabs.map(
        (tab) =>
          tab.requests.filter(
            (r) =>
              r.method() === 'GET' &&
              new URL(r.url()).pathname === '/graphql/stream' &&
              r.headers().authorization === `Bearer ${server.token}`,
          ).length,
      ),
    );
    expect(tokenStreams).toBe(1);
    // What another page of the origin sees.
    const intruder = await context.newPage();
    await intruder.goto(`${server.origin}/health`);
    const names = await intruder.evaluate(async () => {
      const { held = [], pending = [] } = await navigator.locks.query();
      return [...new Set([...held, ...pending].map((l) => l.name ?? ''))].filter(
        (n) => n.startsWith('strategy-control-plane.live.') && !n.endsWith('.anonymous'),
      );
    });
    expect(names).toHaveLength(1);
    const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
    // Before: the lock was named by one SHA-256 of the token (a guess checked in nanoseconds).
    expect(names[0]).not.toBe(`strategy-control-plane.live.${sha256(`strategy-control-plane.live.lock\n${server.token}`)}`);
    expect(names[0]).not.toContain(sha256(server.token));
    // Now: a digest of PBKDF2-SHA-256 of the token, GROUP_KDF_ITERATIONS (600,000) rounds, salted with the origin, computed here independently.
    expect(GROUP_KDF_ITERATIONS).toBeGreaterThanOrEqual(600_000);
    const key = pbkdf2Sync(server.token, `strategy-control-plane.live\n${server.origin}`, GROUP_KDF_ITERATIONS, 32, 'sha256').toString(
      'hex',
    );
    expect(names[0]).toBe(`strategy-control-plane.live.${sha256(`strategy-control-plane.live.lock\n${key}`)}`);
    for (const tab of tabs) expect(await tab.problems()).toEqual([]);
  }, 60_000);

  it('without Web Locks or BroadcastChannel (a plain-http LAN address, an old browser) each tab holds its own connection, as before', async () => {
    const server = await serve({ runner: false });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(() => {
      // What a non-secure context lacks.
      Object.defineProperty(navigator, 'locks', { configurable: true, value: undefined });
    });
    const tabs = [await openOperatorPage(browser, server.origin, { context }), await openOperatorPage(browser, server.origin, { context })];
    expect(tabs.map(streamsOf)).toEqual([1, 1]);
    await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    for (const { page } of tabs) await expect.poll(() => text(page, 'active-strategy')).toBe('range');
  }, 60_000);

  it('on a server whose reads need a token, asks for one, then shows everything live with it', async () => {
    const server = await serve({ runner: false, readsRequireToken: true });
    const { page, problems, requests } = await openOperatorPage(browser, server.origin, { waitLive: false, fakeClock: true });
    await expect.poll(() => text(page, 'read-only')).toContain('This server needs a token even to read.');
    expect(await page.getByTestId('active-strategy').count()).toBe(0);
    // The live connection stops at the server's 401 instead of asking again every few seconds for ever.
    await expect.poll(() => page.getByTestId('live').textContent()).toBe('Not live: needs a token');
    expect(await page.getByTestId('server-down').count()).toBe(0);
    const streamRequests = () => requests.filter((r) => new URL(r.url()).pathname === '/graphql/stream').length;
    const parkedAt = streamRequests();
    // The client's retries come 0.5, 1, 2 and 4 s apart: in 3 s of the page's time at least one
    // would have been sent. The clock jumps them; a request of the test's own, sent after, is seen
    // after any the timers sent (the page's requests are reported in the order they are made).
    await page.clock.fastForward(3_000);
    await page.evaluate(() => fetch('/health?after-the-jump', { cache: 'no-store' }).then((r) => r.text()));
    expect(requests.some((r) => r.url().endsWith('/health?after-the-jump'))).toBe(true);
    expect(streamRequests()).toBe(parkedAt);
    const read = await createToken(server.runtimeDir, 'wallboard', 'read');
    await enterToken(page, read, /^Token: wallboard \(READ\)$/);
    await expect.poll(() => text(page, 'active-strategy')).toBe('momentum');
    await expect.poll(() => page.getByTestId('live').getAttribute('data-connected'), { timeout: 15_000 }).toBe('true');
    expect(await text(page, 'read-only')).toContain('The token wallboard may only read.');
    expect(await row(page, 'gold').locator('button[data-action="activate"]').isDisabled()).toBe(true);
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    await expect.poll(() => text(page, 'active-strategy')).toBe('gold');
    // The token forgotten: what it showed is no longer known, so it goes (it stayed, looking current).
    await page.locator('#forget-token').click();
    await expect.poll(() => text(page, 'read-only')).toContain('This server needs a token even to read.');
    expect(await page.getByTestId('active-strategy').count()).toBe(0);
    expect(await page.getByTestId('strategy-row').count()).toBe(0);
    expect(await page.locator('#timeline-list').textContent()).toContain('Not loaded: Authentication required');
    // The refused loads before the token (401s, which Chromium logs) are the only console errors.
    expect((await problems()).filter((p) => !p.includes('status of 401'))).toEqual([]);
  }, 60_000);

  it('a server restarted with reads needing a token, under a page without one: the runner is the last heard, then what the page showed goes', async () => {
    const first = await serve();
    const port = Number(new URL(first.origin).port);
    const { page, problems, requests, unfinished } = await openOperatorPage(browser, first.origin);
    const card = page.getByTestId('runner-state');
    await expect.poll(() => card.locator('.badge.state').getAttribute('class')).toBe('badge state state-RUNNING');
    // The first load done (its signals are asked last): none of its queries is left to answer after the restart.
    const operation = (r: (typeof requests)[number]) => (r.postDataJSON() as { operationName?: string } | null)?.operationName;
    const queries = () => requests.filter((r) => r.url().endsWith('/graphql') && r.method() === 'POST');
    await expect.poll(() => queries().some((r) => operation(r) === 'OperatorSignals')).toBe(true);
    await expect.poll(() => unfinished().filter((r) => r.url().endsWith('/graphql')).length).toBe(0);
    // The queries after the restart are held, so what the page shows meanwhile is seen.
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route('**/graphql', async (route) => {
      await held;
      await route.continue();
    });
    const before = queries().length;
    await first.close();
    await serve({ runner: false, readsRequireToken: true, port, runtimeDir: first.runtimeDir });
    await expect.poll(() => page.getByTestId('live').textContent(), { timeout: 15_000 }).toBe('Not live: needs a token');
    // Before: green RUNNING "scanning on schedule", ✓ in sync, its last scan counting up, for good.
    await expect.poll(() => card.getAttribute('class')).toBe('runner state-RUNNING unheard');
    expect(await card.locator('.badge.state').getAttribute('class')).toBe('badge state neutral');
    expect(await card.textContent()).toContain('last heard: scanning on schedule; live updates are off, so this may have changed');
    // Asked again (before: only the stream was), and the 401s take away what it showed.
    await expect.poll(() => queries().slice(before).map(operation)).toContain('OperatorOverview');
    release();
    await expect.poll(() => text(page, 'read-only')).toContain('This server needs a token even to read.');
    expect(await card.count()).toBe(0);
    expect(await page.getByTestId('active-strategy').count()).toBe(0);
    expect(await page.getByTestId('strategy-row').count()).toBe(0);
    expect(await page.getByTestId('signal-chart').count()).toBe(0);
    expect((await problems()).filter((p) => !p.includes('status of 401') && !p.includes('ERR_CONNECTION_REFUSED'))).toEqual([]);
  }, 60_000);

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
    // (Opened once the page has read its own change: before, it shows version 1 and says the gap.)
    await expect
      .poll(async () => {
        await row(page, 'momentum').locator('button[data-action="tunables"]').click();
        const shown = (await page.locator('dialog[open]').textContent()) ?? '';
        if (!shown.includes('Sent with expectedVersion 2.')) await page.keyboard.press('Escape');
        return shown;
      })
      .toContain('Sent with expectedVersion 2.');
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    await expect
      .poll(() => page.locator('dialog[open]').textContent())
      .toContain('The config changed since this dialog opened: it is at version 3 now (gold active), not 2.');
  }, 60_000);

  it('tunables refused for their values, then a colleague changes the config: the next edit says the config changed since the dialog opened, not that the page has not loaded it', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token, /^Token: admin/);
    await row(page, 'gold').locator('button[data-action="tunables"]').click();
    // gold's fast_ma_period must stay below slow_ma_period (50): a rule only the server checks.
    await page.locator('#tunable-fast_ma_period').fill('80');
    await page.getByTestId('save-tunables').click();
    await expect.poll(() => text(page, 'action-error')).toContain('BAD_USER_INPUT');
    const other = await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    expect(other.body.data?.activateStrategy.configVersion).toBe(2);
    await expect.poll(() => text(page, 'config-version')).toBe('2');
    await page.locator('#tunable-slow_ma_period').fill('90');
    // Before: "... this dialog shows version 1: the page has not loaded the change yet", which it had.
    await expect
      .poll(() => text(page, 'version-moved'))
      .toContain('The config changed since this dialog opened: it is at version 2 now (range active), not 1.');
  }, 60_000);

  it('tunables refused by a change made meanwhile: Review again keeps what was typed and shows what is in force now', async () => {
    const server = await serve({ runner: false });
    const { page } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token);
    await row(page, 'momentum').locator('button[data-action="tunables"]').click();
    const input = page.locator('[data-tunable="lookback_bars"] input');
    await input.fill('40');
    // The colleague also sets atr_period, a field this dialog showed empty and was left alone.
    const other = await server.gql(
      'mutation { updateConfig(input: { tunableOverrides: { momentum: { lookback_bars: 30, atr_period: 20 } } }) { config { version } } }',
    );
    expect(other.body.data?.updateConfig.config.version).toBe(2);
    await expect.poll(() => text(page, 'config-version')).toBe('2');
    await page.getByTestId('save-tunables').click();
    await expect.poll(() => text(page, 'action-error')).toContain('Config version conflict: expected 1, current 2');
    await page.getByRole('button', { name: 'Review again' }).click();
    expect(await page.locator('[data-tunable="lookback_bars"] input').inputValue()).toBe('40');
    expect(await text(page, 'in-force-now')).toBe(' · in force now: 30');
    // Left alone, it shows what is in force now. Before: empty, "in force now: 20", and Save set it back to the default.
    expect(await page.locator('[data-tunable="atr_period"] input').inputValue()).toBe('20');
    expect(await page.locator('[data-tunable="atr_period"] [data-testid="in-force-now"]').count()).toBe(0);
    expect(await text(page, 'tunables-diff')).toBe('Save changes:lookback_bars: 30 → 40');
    await page.getByTestId('save-tunables').click();
    await expect
      .poll(() => page.locator('.notice.success').first().textContent())
      .toContain("Saved momentum's overrides (lookback_bars): config version 3.");
    expect(await configOnDisk(server)).toMatch(/lookback_bars: 40/);
    expect(await configOnDisk(server)).toMatch(/atr_period: 20/);
  }, 60_000);

  it("a dialog opened before the page has read a colleague's change: sent with the version it shows, the gap said at once, Review again shows the change", async () => {
    const server = await serve({ runner: false });
    const { page, requests } = await openOperatorPage(browser, server.origin);
    await enterToken(page, server.token, /^Token: admin/);
    await expect.poll(() => row(page, 'gold').locator('button[data-action="tunables"]').isEnabled()).toBe(true);
    // A slow link: the queries are held on their way, the live stream is not, so the live status
    // has the colleague's version before the page has read what it changed.
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route('**/graphql', async (route) => {
      if (!/^(UpdateConfig|ActivateStrategy|RollbackConfig)$/.test(route.request().postDataJSON()?.operationName)) await held;
      await route.continue();
    });
    const other = await server.gql(
      'mutation { updateConfig(input: { scanIntervalSeconds: 45, tunableOverrides: { gold: { slow_ma_period: 100, min_separation_pct: 0.0000005 } } }) { config { version } } }',
    );
    expect(other.body.data?.updateConfig.config.version).toBe(2);
    await expect.poll(() => text(page, 'config-version')).toBe('2');
    const dialog = page.locator('dialog[open]');
    const gap =
      'The config is at version 2 now (momentum active), and this dialog shows version 1: the page has not loaded the change yet.';
    // Before: "Sent with expectedVersion 2" beside version 1's overrides (slow_ma_period empty), no word of
    // the gap, and Save kept the colleague's 100 the operator never saw.
    await row(page, 'gold').locator('button[data-action="tunables"]').click();
    expect(await dialog.textContent()).toContain('Sent with expectedVersion 1.');
    expect(await text(page, 'version-moved')).toContain(gap);
    await page.keyboard.press('Escape');
    // Activate: its parameters are of the strategies list, read at version 1.
    await row(page, 'gold').locator('button[data-action="activate"]').click();
    expect(await dialog.locator('table.diff').textContent()).toMatch(/Config version\s*1\s*2/);
    expect(await text(page, 'version-moved')).toContain(gap);
    await page.keyboard.press('Escape');
    // Roll back: its "Now" column is of the config read, version 1.
    await page.getByRole('button', { name: 'Roll back to v1…' }).click();
    expect(await dialog.textContent()).toContain('(version 1)');
    expect(await text(page, 'version-moved')).toContain(gap);
    await page.keyboard.press('Escape');
    // Once read, Review again shows the change, sent with its version.
    await row(page, 'gold').locator('button[data-action="tunables"]').click();
    expect(await text(page, 'version-moved')).toContain(gap);
    release();
    await expect.poll(() => page.locator('#glance').textContent()).toContain('scan every 45 s');
    await dialog.getByRole('button', { name: 'Review again' }).click();
    await expect.poll(() => dialog.textContent()).toContain('Sent with expectedVersion 2.');
    expect(await dialog.getByTestId('version-moved').count()).toBe(0);
    expect(await page.locator('#tunable-slow_ma_period').inputValue()).toBe('100');
    // In force in exponent form (5e-7): shown as a plain decimal, which the field takes. Before: "5e-7",
    // refused on Save ("must be a number") whatever was changed.
    expect(await page.locator('#tunable-min_separation_pct').inputValue()).toBe('0.0000005');
    await page.locator('#tunable-fast_ma_period').fill('9');
    expect(await text(page, 'tunables-diff')).toBe('Save changes:fast_ma_period: default (20) → 9');
    await page.getByTestId('save-tunables').click();
    await expect
      .poll(() => page.locator('.notice.success').first().textContent())
      .toContain("Saved gold's overrides (fast_ma_period): config version 3.");
    const sent = requests.find((r) => r.postDataJSON?.()?.operationName === 'UpdateConfig');
    expect(sent?.postDataJSON().variables).toEqual({ input: { tunableOverrides: { gold: { fast_ma_period: 9 } } }, expectedVersion: 2 });
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
    // Version 1's settings are in force (v3): rolling back to it again would change nothing. Before:
    // every row unchanged, confirm offered, and "Rolled back ...: config version 3" for a write of nothing.
    await page.reload();
    await expect.poll(() => page.locator('#glance').textContent()).toContain('scan every 30 s');
    await page.getByRole('button', { name: 'Roll back to v1…' }).click();
    await page.locator('dialog[open] table.diff').waitFor();
    expect(await page.locator('dialog[open] tr.changed').count()).toBe(0);
    expect(await page.getByTestId('confirm-rollback').isDisabled()).toBe(true);
    expect(await text(page, 'rollback-nothing')).toBe('Nothing would change: the settings of version 1 are the ones in force (version 3).');
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

  it('the timeline of a config past v10,000 labels its version axis whole', async () => {
    const server = await serve({ runner: false });
    // A hand edit takes the config to version 12000; the activations after it are v12001 on, the
    // timeline's 50 versions all past it (v1 beside them would put 0 and 10,000 on the axis).
    const file = path.join(server.runtimeDir, 'config.yaml');
    await writeFile(file, (await configOnDisk(server)).replace(/^version: .*$/m, 'version: 12000'));
    await server.store.refresh();
    for (let i = 0; i < TIMELINE_VERSIONS + 2; i++) {
      const answer = await server.gql(`mutation { activateStrategy(strategyKey: "${i % 2 === 0 ? 'gold' : 'range'}") { configVersion } }`);
      expect(answer.body.data?.activateStrategy.configVersion).toBe(12001 + i);
    }
    const { page } = await openOperatorPage(browser, server.origin);
    await expect.poll(() => page.locator('.timeline li').first().getAttribute('data-version')).toBe(String(12002 + TIMELINE_VERSIONS));
    const chart = page.getByTestId('timeline-chart');
    await expect.poll(() => chart.getAttribute('data-y-axis').then((a) => JSON.parse(a ?? '{}').labels?.length ?? 0)).toBeGreaterThan(1);
    // The labels as drawn, measured in the axis's font, against the room uPlot left them left of the ticks.
    const { labels, room, widest } = await chart.evaluate((el) => {
      const axis = JSON.parse(el.dataset.yAxis ?? '{}') as { labels: string[]; room: number; font: string; pxRatio: number };
      const ctx = document.createElement('canvas').getContext('2d')!;
      ctx.font = axis.font;
      const widest = Math.max(...axis.labels.map((l) => ctx.measureText(l).width)) / axis.pxRatio;
      return { labels: axis.labels, room: axis.room, widest };
    });
    expect(
      labels.every((l) => /^12,0\d\d/.test(l)),
      labels.join(' / '),
    ).toBe(true);
    // Before: a fixed 50 px axis left 35 px, and "12,010" was drawn as "2,010".
    expect(widest, `labels ${labels.join(' / ')} in ${room} px`).toBeLessThanOrEqual(room);
  }, 60_000);

  it('a price with fine steps keeps its leading digits on its signal chart’s price axis', async () => {
    const server = await serve({ runner: false });
    // Gold at 2,310.50x, a thousandth at a time: ticks a thousandth apart, labels like 2,310.503.
    const dir = await mkdtemp(path.join(tmpdir(), 'scp-feed-'));
    const feed = path.join(dir, 'gold.csv');
    const start = Date.parse('2026-11-02T00:00:00Z');
    const rows = Array.from({ length: 260 }, (_, i) => {
      const close = (2310.5 + (i % 7) / 1000).toFixed(3);
      return `${new Date(start + i * 300_000).toISOString()},XAU_USD,${close},${close},${close},${close}`;
    });
    await writeFile(feed, `time,instrument,open,high,low,close\n${rows.join('\n')}\n`);
    const gold = await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    expect(gold.body.errors).toBeUndefined();
    const faster = await server.gql('mutation { updateConfig(input: { scanIntervalSeconds: 1 }) { config { version } } }');
    expect(faster.body.errors).toBeUndefined();
    const runner = spawnStratctl(['runner', '--runtime-dir', server.runtimeDir, '--heartbeat-ms', '200', '--feed', `csv:${feed}`]);
    try {
      await runner.waitFor(/strategy runner started/);
      const { page } = await openOperatorPage(browser, server.origin);
      const chart = page.locator('[data-testid="signal-chart"][data-instrument="XAU_USD"]');
      await expect.poll(async () => Number(await chart.getAttribute('data-points')), { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
      await expect
        .poll(() => chart.getAttribute('data-y-axis').then((a) => (JSON.parse(a ?? '{}').labels as string[] | undefined) ?? []))
        .toSatisfy((labels: string[]) => labels.length > 1 && labels.every((l) => /^2,310\.50\d$/.test(l)));
      // The labels as drawn, measured in the axis's font, against the room uPlot left them left of the ticks.
      const { labels, room, widest } = await chart.evaluate((el) => {
        const axis = JSON.parse(el.dataset.yAxis ?? '{}') as { labels: string[]; room: number; font: string; pxRatio: number };
        const ctx = document.createElement('canvas').getContext('2d')!;
        ctx.font = axis.font;
        const widest = Math.max(...axis.labels.map((l) => ctx.measureText(l).width)) / axis.pxRatio;
        return { labels: axis.labels, room: axis.room, widest };
      });
      // Before: a fixed 70 px axis, and "2,310.503" was drawn as ",310.503".
      expect(widest, `labels ${labels.join(' / ')} in ${room} px`).toBeLessThanOrEqual(room);
    } finally {
      await runner.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('says when the server goes away, reconnects when it is back, refetches, and notices a new server version', async () => {
    const first = await serve({ runner: false });
    const port = Number(new URL(first.origin).port);
    const opened = await openOperatorPage(browser, first.origin, { serverVersion: { version: '0.1.0', commit: null } });
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
      const { page, requests, unfinished } = await openOperatorPage(browser, proxy.origin, { fakeClock: true });
      await expect.poll(() => text(page, 'active-strategy')).toBe('momentum');
      proxy.blackHole();
      const blackHoledAt = requests.length;
      // The server is reachable all along: /health answers (here, not through a kept-alive socket
      // of the proxy the browser may pick, whose silence would be the probe's to notice).
      await page.route('**/health', (route) => route.fulfill({ status: 200, body: 'ok' }));
      // The browser may send a read after the start over on one of its kept-alive connections to
      // the proxy, which the black hole holds: no answer, ever (until TCP gives up, minutes later).
      // Played for the first overview read: the page must not wait on it (Api.run gives it up).
      let held = 0;
      await page.route('**/graphql', async (route) => {
        if (route.request().postDataJSON()?.operationName === 'OperatorOverview' && held === 0) {
          held += 1;
          return; // never answered
        }
        await route.continue();
      });
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
      let pageSeconds = 0;
      try {
        await expect
          .poll(
            async () => {
              await page.clock.fastForward(1_000);
              pageSeconds += 1;
              return text(page, 'active-strategy');
            },
            { timeout: 30_000 },
          )
          .toBe('range');
      } catch (err) {
        // Failed twice in CI, cause unknown: what the page was doing, and each request since the black hole.
        const waiting = new Set(unfinished());
        const since = requests
          .slice(blackHoledAt)
          .map(
            (r) => `${r.method()} ${new URL(r.url()).pathname} ${waiting.has(r) ? 'unanswered' : (r.failure()?.errorText ?? 'answered')}`,
          );
        const live = await page.getByTestId('live').getAttribute('data-connected');
        throw new Error(
          `${(err as Error).message}\nafter ${pageSeconds} s of page time: live ${live}, says ${JSON.stringify(await page.getByTestId('server-down').allTextContents())}\nrequests since the black hole:\n${since.join('\n')}`,
          { cause: err },
        );
      }
      expect(held).toBe(1);
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
