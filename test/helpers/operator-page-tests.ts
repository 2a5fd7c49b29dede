/**
 * What the operator page's browser tests (test/browser/operator-page*.test.ts) share: as one file
 * they were 75 tests and six minutes of one worker; split, both workers share the browser's work.
 */
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import { interruptible } from '../../src/graphql/plugins/interruptible.js';
import type { OperatorPage } from './operator-page.js';
import type { TestServer } from './server.js';

/**
 * A TCP proxy to `port` on loopback that can be told to black-hole the connections open at that
 * moment (a NAT or firewall entry lost as a laptop slept: their bytes go nowhere, nothing closes
 * them) while new connections pass as before.
 */
export async function blackHoleProxy(port: number): Promise<{ origin: string; blackHole(): void; close(): Promise<void> }> {
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

/**
 * How long a change pushed to the page (or a live connection handed to another tab) may take to
 * show: wide, for a loaded machine with eight tabs (2-3 s was tight), and still below the page's
 * only other ways to learn it (its liveness probe, a leader's silence), so a pass means a push.
 */
export const PUSHED_WITHIN_MS = 5_000;

export const text = (page: Page, testId: string) => page.getByTestId(testId).first().textContent();
export const configOnDisk = (server: TestServer) => readFile(path.join(server.runtimeDir, 'config.yaml'), 'utf8');
export const row = (page: Page, key: string) => page.locator(`[data-testid="strategy-row"][data-key="${key}"]`);

/** The first `operation` reaches the server, and its answer is lost on the way back (a proxy timeout, flaky Wi-Fi). */
export async function loseFirstAnswer(page: Page, operation: string): Promise<void> {
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
export async function replaceFirstAnswer(
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
export const proxy504 = () => ({ status: 504, contentType: 'text/html', body: '<html><body><h1>504 Gateway Time-out</h1></body></html>' });

/** The subscriptions `server` holds open, counted where the resolvers open them (each live connection holds 2). */
export function countOpenSubscriptions(server: TestServer): () => number {
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
export const setHidden = (page: Page, hidden: boolean) =>
  page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);

/** The SSE streams (GET /graphql/stream) a tab opened so far. */
export const streamsOf = (tab: OperatorPage) =>
  tab.requests.filter((r) => r.method() === 'GET' && new URL(r.url()).pathname === '/graphql/stream').length;
export const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);

/** Every text the live pill of each page of `context` shows, in order, in `window.__liveSeen` (a false "Offline" would be seen there). */
export async function recordLiveTexts(context: BrowserContext): Promise<void> {
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
export const liveTexts = (page: Page) => page.evaluate(() => (window as unknown as { __liveSeen: string[] }).__liveSeen);

/**
 * Stops `page` in the debugger (after dispatching `event` on its document, as the browser does
 * before it freezes a page), and returns once it is stopped: nothing of it runs until
 * `Debugger.resume` on the returned session. (Debugger.pause alone stops at the next statement
 * the page runs, which may come seconds later.)
 */
export async function stopInDebugger(page: Page, event?: 'freeze'): Promise<CDPSession> {
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
export async function holdActivations(page: Page): Promise<() => void> {
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
