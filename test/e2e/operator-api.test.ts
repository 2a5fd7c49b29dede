import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-sse';
import { describe, expect, it, vi } from 'vitest';
import { createToken, revokeToken } from '../../src/auth/token-file.js';
import { StoreUnavailableError } from '../../src/config/errors.js';
import { SUBSCRIPTION_ROOT_DIRECTIVES } from '../../src/graphql/plugins/subscription-root.js';
import { MAX_SUBSCRIPTIONS_PER_CLIENT } from '../../src/limit-defaults.js';
import { createLogger } from '../../src/log.js';
import { GRAPHQL_PATHS } from '../helpers/graphql-paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

const SIGNALS = '{ signals(instrument: "eur_usd", last: 3) { instrument strategyKey direction reason price candleTime error } }';

/** Scans every second from now on (the runner rescans at once when the change is applied). */
async function scanEverySecond(server: TestServer) {
  const res = await server.gql('mutation { updateConfig(input: { scanIntervalSeconds: 1 }) { config { version } } }');
  expect(res.body.errors).toBeUndefined();
}

describe('Query.viewer', () => {
  it('is null without a token, names the token and its highest scope with one, and a wrong token is refused', async () => {
    const server = await startTestServer({ runner: false });
    const read = await createToken(server.runtimeDir, 'dashboard', 'read');
    const operate = await createToken(server.runtimeDir, 'night-shift', 'operate');
    const anonymous = await server.gql('{ viewer { name scope } }', undefined, null);
    expect(anonymous.status).toBe(200);
    expect(anonymous.body).toEqual({ data: { viewer: null } });
    expect((await server.gql('{ viewer { name scope } }')).body.data).toEqual({ viewer: { name: 'admin', scope: 'ADMIN' } });
    expect((await server.gql('{ viewer { name scope } }', undefined, read)).body.data).toEqual({
      viewer: { name: 'dashboard', scope: 'READ' },
    });
    expect((await server.gql('{ viewer { name scope } }', undefined, operate)).body.data).toEqual({
      viewer: { name: 'night-shift', scope: 'OPERATE' },
    });
    const wrong = await server.gql('{ viewer { name } }', undefined, 'not-a-token-0123456789');
    expect(wrong.status).toBe(401);
    expect(wrong.body.errors?.[0]).toMatchObject({ message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED' } });
  });
});

describe('status.runners (single-runner form)', () => {
  it('lists the embedded runner with its id, host and pid; status.runner stays', async () => {
    const server = await startTestServer({ runner: { heartbeatMs: 200 } });
    const query = '{ status { runner { id state } runners { id host pid state inSync appliedConfigVersion } } }';
    const { status } = (
      await waitUntil(
        () => server.gql(query),
        (r) => r.body.data?.status.runner.state === 'RUNNING',
      )
    ).body.data!;
    expect(status.runners).toEqual([
      { id: `${hostname()}:${process.pid}`, host: hostname(), pid: process.pid, state: 'RUNNING', inSync: true, appliedConfigVersion: 1 },
    ]);
    expect(status.runner).toEqual({ id: `${hostname()}:${process.pid}`, state: 'RUNNING' });
  });

  it('is empty while no runner has reported (API only), while status.runner says STOPPED', async () => {
    const server = await startTestServer({ runner: false });
    const res = await server.gql('{ status { runner { id state } runners { id } } }');
    expect(res.body.data?.status).toEqual({ runner: { id: null, state: 'STOPPED' }, runners: [] });
  });
});

describe('Query.signals', () => {
  it('starts empty, then holds what the runner published, newest first, with the price each signal used', async () => {
    const server = await startTestServer({ runner: { heartbeatMs: 200 } });
    // Before the first scan is published there may be nothing; after a few scans there are at least 3.
    await scanEverySecond(server);
    const res = await waitUntil(
      () => server.gql(SIGNALS),
      (r) => (r.body.data?.signals.length ?? 0) === 3,
      { what: 'three EUR_USD signals' },
    );
    const signals = res.body.data!.signals as { instrument: string; price: number; candleTime: string; direction: string; error: null }[];
    for (const s of signals) {
      expect(s).toMatchObject({ instrument: 'EUR_USD', strategyKey: 'momentum', error: null });
      expect(['LONG', 'SHORT', 'FLAT']).toContain(s.direction);
      expect(s.price).toBeGreaterThan(0.5);
      expect(s.price).toBeLessThan(2);
    }
    const times = signals.map((s) => Date.parse(s.candleTime));
    expect(times).toEqual([...times].sort((a, b) => b - a)); // newest first
    expect(new Set(times).size).toBe(3);
    // The price is the close of the candle the runner used: the same as status.runner.lastSignals reports.
    const both = await server.gql(
      '{ status { runner { lastScanAt lastSignals { instrument price candleTime } } } signals(instrument: "EUR_USD", last: 1) { price candleTime } }',
    );
    // (one request: both answered from the same moment, so the newest kept signal is the runner's last)
    const last = both.body.data!.status.runner.lastSignals.find((s: { instrument: string }) => s.instrument === 'EUR_USD');
    expect(both.body.data!.signals[0]).toEqual({ price: last.price, candleTime: last.candleTime });

    const all = await server.gql('{ signals(last: 6) { instrument } }');
    expect(new Set(all.body.data!.signals.map((s: { instrument: string }) => s.instrument))).toEqual(
      new Set(['EUR_USD', 'GBP_USD', 'USD_JPY']),
    );
    expect((await server.gql('{ signals(instrument: "XAU_USD") { price } }')).body.data).toEqual({ signals: [] });
  });

  it('names the runner that published each signal (history, lastSignals and signalsEmitted alike), and `runnerId` keeps one runner’s', async () => {
    const server = await startTestServer({ runner: { heartbeatMs: 200 } });
    await scanEverySecond(server);
    const res = await waitUntil(
      () => server.gql('{ status { runner { id lastSignals { runnerId } } } signals(instrument: "EUR_USD", last: 2) { runnerId price } }'),
      (r) => (r.body.data?.signals.length ?? 0) === 2,
      { what: 'two EUR_USD signals' },
    );
    const id = res.body.data!.status.runner.id as string;
    expect(id).toBeTruthy();
    expect(res.body.data!.status.runner.lastSignals.map((s: { runnerId: string }) => s.runnerId)).toEqual(
      res.body.data!.status.runner.lastSignals.map(() => id),
    );
    expect(res.body.data!.signals.map((s: { runnerId: string }) => s.runnerId)).toEqual([id, id]);
    const mine = await server.gql('query($id: String) { signals(instrument: "EUR_USD", runnerId: $id, last: 2) { runnerId } }', { id });
    expect(mine.body.data!.signals).toEqual([{ runnerId: id }, { runnerId: id }]);
    const other = await server.gql('{ signals(runnerId: "another-runner") { runnerId } }');
    expect(other.body).toEqual({ data: { signals: [] } });
    const stream = createClient({ url: server.url, retryAttempts: 0 });
    try {
      const event = await new Promise<any>((resolve, reject) => {
        stream.subscribe({ query: 'subscription { signalsEmitted { runnerId } }' }, { next: resolve, error: reject, complete: () => {} });
      });
      expect(event.data.signalsEmitted.length).toBeGreaterThan(0);
      for (const s of event.data.signalsEmitted) expect(s.runnerId).toBe(id);
    } finally {
      stream.dispose();
    }
  });

  it('is empty in a process that has seen no scan', async () => {
    const server = await startTestServer({ runner: false });
    expect((await server.gql('{ signals { instrument } }', undefined, null)).body).toEqual({ data: { signals: [] } });
  });
});

describe.each(GRAPHQL_PATHS)('`last` on every list, answered by $name', ({ fastLane }) => {
  it("is refused outside 0 to its maximum, as BAD_USER_INPUT in the API's words: signals no longer answers [] for -1", async () => {
    const server = await startTestServer({ runner: false, fastLane });
    for (const [field, max, selection] of [
      ['signals', 1000, 'instrument'],
      ['auditLog', 1000, 'version'],
      ['configHistory', 100, 'version'],
    ] as const) {
      // Over the list-size limit (1,000 with a token) the cost check answers first, in its own words.
      for (const last of max < 1000 ? [-1, max + 1] : [-1]) {
        const res = await server.gql(`{ ${field}(last: ${last}) { ${selection} } }`);
        expect(res.status, `${field}(last: ${last})`).toBe(400);
        expect(res.body.data ?? null).toBeNull();
        expect(res.body.errors?.[0]).toMatchObject({
          message: `Invalid last: must be 0 to ${max}, got ${last}`,
          extensions: { code: 'BAD_USER_INPUT', issues: [{ path: ['last'], message: `must be 0 to ${max}, got ${last}` }] },
        });
      }
      expect((await server.gql(`{ ${field}(last: 0) { ${selection} } }`)).body).toEqual({ data: { [field]: [] } });
    }
  });

  it('states, to a caller without a token, the range it may send and what a token allows, as the cost check does for 101', async () => {
    const server = await startTestServer({ runner: false, fastLane });
    for (const [field, range, selection] of [
      ['signals', '0 to 100 (1000 with a token)', 'instrument'],
      ['auditLog', '0 to 100 (1000 with a token)', 'version'],
      // The list's own maximum is a token's limit too: nothing more to tell.
      ['configHistory', '0 to 100', 'version'],
    ] as const) {
      const res = await server.gql(`{ ${field}(last: -1) { ${selection} } }`, undefined, null);
      expect(res.status, field).toBe(400);
      expect(res.body.errors?.[0]).toMatchObject({
        message: `Invalid last: must be ${range}, got -1`,
        extensions: { code: 'BAD_USER_INPUT', issues: [{ path: ['last'], message: `must be ${range}, got -1` }] },
      });
      // The same words whether `last` is a literal or a variable.
      const viaVariable = await server.gql(`query ($n: Int) { ${field}(last: $n) { ${selection} } }`, { n: -5 }, null);
      expect(viaVariable.body.errors?.[0]?.message, field).toBe(`Invalid last: must be ${range}, got -5`);
    }
    const over = await server.gql('{ auditLog(last: 101) { version } }', undefined, null);
    expect(over.body.errors?.[0]?.message).toBe('Invalid last: at most 100 (1000 with a token), got 101');
    // configHistory's own maximum is 100 with a token too: the cost check promised "1000 with a token", which then refused 500.
    const history = await server.gql('{ configHistory(last: 101) { version } }', undefined, null);
    expect(history.status).toBe(400);
    expect(history.body.errors?.[0]?.message).toBe('Invalid last: at most 100, got 101');
  });
});

describe('Subscription.signalsEmitted', () => {
  it('fires after every scan with that scan’s signals, over yoga’s SSE and over graphql-sse’s single connection', async () => {
    const server = await startTestServer({ runner: { heartbeatMs: 200 } });
    const distinct = createClient({ url: server.url, retryAttempts: 0 });
    const single = createClient({ url: `${server.origin}/graphql/stream`, singleConnection: true, retryAttempts: 0 });
    const heard: { distinct: any[]; single: any[] } = { distinct: [], single: [] };
    const errors: unknown[] = [];
    const query = 'subscription { signalsEmitted { instrument strategyKey direction price candleTime } }';
    const stops = (['distinct', 'single'] as const).map((mode) =>
      (mode === 'distinct' ? distinct : single).subscribe(
        { query },
        { next: (r) => heard[mode].push(r), error: (e) => errors.push(e), complete: () => {} },
      ),
    );
    try {
      // Both streams are open once each has heard a scan; then activating gold makes the runner
      // apply it and scan at once: one event with gold's one instrument.
      await scanEverySecond(server);
      await waitUntil(
        async () => heard,
        (h) => h.distinct.length > 0 && h.single.length > 0,
        { what: 'a scan on both streams' },
      );
      const activated = await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
      expect(activated.body.data?.activateStrategy.configVersion).toBe(3);
      for (const mode of ['distinct', 'single'] as const) {
        const gold = await waitUntil(
          async () => heard[mode],
          (list) => list.some((r) => r.data?.signalsEmitted[0]?.strategyKey === 'gold'),
          { what: `a gold scan over ${mode}` },
        );
        const event = gold.find((r) => r.data?.signalsEmitted[0]?.strategyKey === 'gold');
        expect(event.errors).toBeUndefined();
        expect(event.data.signalsEmitted).toHaveLength(1);
        expect(event.data.signalsEmitted[0]).toMatchObject({ instrument: 'XAU_USD', strategyKey: 'gold' });
        expect(event.data.signalsEmitted[0].price).toBeGreaterThan(100);
      }
      expect(errors).toEqual([]);
    } finally {
      for (const stop of stops) stop();
      distinct.dispose();
      single.dispose();
    }
  });
});

describe('Subscription.signalsEmitted: one event per scan', () => {
  it('sends every scan, also when what the client selected reads as the scan before (no scan, candleTime or price), with its field aliased', async () => {
    const server = await startTestServer({ runner: { heartbeatMs: 200 } });
    // The first scan (at start) heard before subscribing: from then on both streams hear the same scans.
    await waitUntil(
      () => server.gql('{ signals(last: 1) { scan } }'),
      (res) => (res.body.data?.signals[0]?.scan ?? 0) >= 1,
      { what: 'the first scan' },
    );
    const client = createClient({ url: server.url, retryAttempts: 0 });
    type Signal = { instrument: string; strategyKey: string; direction: string; scan?: number };
    const bare: Signal[][] = [];
    const numbered: Signal[][] = [];
    const errors: unknown[] = [];
    const open = (query: string, into: Signal[][], key: string) =>
      new Promise<() => void>((resolve) => {
        const dispose = client.subscribe<Record<string, Signal[]>>(
          { query },
          { next: (r) => (r.data ? into.push(r.data[key]!) : errors.push(r.errors)), error: (e) => errors.push(e), complete: () => {} },
          { connected: () => resolve(dispose) },
        );
      });
    // A bot counting scans of one direction selects only what it needs (aliased here: the field's name decides, not its key).
    const stops = [
      await open('subscription { perScan: signalsEmitted { instrument strategyKey direction } }', bare, 'perScan'),
      await open('subscription { signalsEmitted { instrument strategyKey direction scan } }', numbered, 'signalsEmitted'),
    ];
    try {
      // eur_usd_5m_safe says the same of the same instrument scan after scan (the feed moves too little in a few seconds).
      const res = await server.gql(
        'mutation { updateConfig(input: { scanIntervalSeconds: 1, activeStrategyKey: "eur_usd_5m_safe" }) { config { version } } }',
      );
      expect(res.body.errors).toBeUndefined();
      const strip = (scan: Signal[]) => scan.map(({ instrument, strategyKey, direction }) => ({ instrument, strategyKey, direction }));
      const repeated = (scans: Signal[][]) =>
        scans.filter((scan, i) => i > 0 && JSON.stringify(strip(scan)) === JSON.stringify(strip(scans[i - 1]!))).length;
      // Scans that read the same as the one before, for the bare selection: the case that was swallowed.
      const heard = await waitUntil(
        async () => [...numbered],
        (scans) => scans.length >= 4 && repeated(scans) >= 2,
        { what: 'scans reading as the one before', timeoutMs: 20_000 },
      );
      const scans = heard.map((scan) => scan[0]!.scan!);
      expect(scans).toEqual(Array.from({ length: scans.length }, (_, i) => scans[0]! + i));
      // The bare stream hears each of those scans, in order: as many events, each reading as that scan did.
      const bareHeard = await waitUntil(
        async () => [...bare],
        (events) => events.length >= heard.length,
        { what: `${heard.length} scans on the stream that selected no scan number` },
      );
      expect(bareHeard.slice(0, heard.length)).toEqual(heard.map(strip));
      expect(errors).toEqual([]);
    } finally {
      for (const stop of stops) stop();
      client.dispose();
    }
  });
});

/** One request of graphql-sse's single-connection protocol: an operation on the stream `streamToken` reserved. */
const postToStream = (url: string, streamToken: string, query: string, token?: string) =>
  fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-graphql-event-stream-token': streamToken,
      ...(token && { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ query, extensions: { operationId: crypto.randomUUID() } }),
  });

describe('graphql-sse single-connection endpoint (/graphql/stream)', () => {
  it('refuses a wrong token with 401 as JSON, and answers a broken document as JSON: never a stack', async () => {
    const server = await startTestServer({ runner: false });
    const url = `${server.origin}/graphql/stream`;
    const wrong = await fetch(url, { method: 'PUT', headers: { authorization: 'Bearer wrong-token-0123456789' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('Bearer');
    expect(await wrong.json()).toEqual({ errors: [{ message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED' } }] });

    const reserved = await fetch(url, { method: 'PUT' });
    expect(reserved.status).toBe(201);
    const streamToken = await reserved.text();
    expect(streamToken).toMatch(/^[0-9a-f-]{36}$/);
    const post = (query: string, token?: string) => postToStream(url, streamToken, query, token);
    const broken = await post('subscription { signalsEmitted { ');
    expect(broken.status).toBe(400);
    expect(broken.headers.get('content-type')).toContain('application/json');
    const body = await broken.text();
    expect(JSON.parse(body).errors[0].message).toMatch(/^Syntax Error/);
    expect(body).not.toMatch(/\bat \S+ \(|node_modules|\/src\//);

    const refused = await post('subscription { signalsEmitted { instrument } }', 'wrong-token-0123456789');
    expect(refused.status).toBe(401);
    expect(await refused.text()).not.toMatch(/\bat \S+ \(|node_modules|\/src\//);
    expect((await post('subscription { signalsEmitted { instrument } }')).status).toBe(202);
  });

  it('answers a subscription over the per-client limit 429 with Retry-After, as /graphql does (not 400 "Unable to detect operation AST")', async () => {
    const server = await startTestServer({ runner: false });
    const url = `${server.origin}/graphql/stream`;
    const streamToken = await (await fetch(url, { method: 'PUT' })).text();
    // The stream itself, open (as the page holds it), so that accepted subscriptions stay open.
    const stream = await fetch(`${url}?token=${streamToken}`, { headers: { accept: 'text/event-stream' } });
    expect(stream.status).toBe(200);
    const accepted: number[] = [];
    for (let i = 0; i < MAX_SUBSCRIPTIONS_PER_CLIENT; i++)
      accepted.push((await postToStream(url, streamToken, 'subscription { statusChanged { configVersion } }')).status);
    expect(accepted).toEqual(Array(MAX_SUBSCRIPTIONS_PER_CLIENT).fill(202));
    const refused = await postToStream(url, streamToken, 'subscription { statusChanged { configVersion } }');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toEqual({
      errors: [
        {
          message: `Too many open subscriptions: at most ${MAX_SUBSCRIPTIONS_PER_CLIENT} per client`,
          extensions: { code: 'RATE_LIMITED' },
        },
      ],
    });
    await stream.body?.cancel();
  });

  it('answers a document that does not validate 400 with its errors, as /graphql does (not "Unable to detect operation AST")', async () => {
    const server = await startTestServer({ runner: false });
    const url = `${server.origin}/graphql/stream`;
    const streamToken = await (await fetch(url, { method: 'PUT' })).text();
    const post = (query: string) => postToStream(url, streamToken, query);
    const unknownField = await post('subscription { nope }');
    expect(unknownField.status).toBe(400);
    expect(unknownField.headers.get('content-type')).toContain('application/json');
    expect(await unknownField.json()).toEqual({
      errors: [
        {
          message: 'Cannot query field "nope" on type "Subscription".',
          locations: [{ line: 1, column: 16 }],
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
        },
      ],
    });
    const badArgument = await post('subscription { signalsEmitted(secret: 1) { instrument } }');
    expect(badArgument.status).toBe(400);
    expect((await badArgument.json()).errors[0]).toMatchObject({
      message: 'Unknown argument "secret" on field "Subscription.signalsEmitted".',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
  });

  it('with reads requiring a token, a caller with no token hears 401 for a bad document, not what is wrong with it', async () => {
    const server = await startTestServer({ runner: false, readsRequireToken: true });
    const url = `${server.origin}/graphql/stream`;
    const streamToken = await (await fetch(url, { method: 'PUT' })).text();
    const post = (token?: string) => postToStream(url, streamToken, 'subscription { nope }', token);
    const anonymous = await post();
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="strategy-control-plane"');
    expect(await anonymous.json()).toEqual({ errors: [{ message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED' } }] });
    const withToken = await post(server.token);
    expect(withToken.status).toBe(400);
    expect((await withToken.json()).errors[0].message).toBe('Cannot query field "nope" on type "Subscription".');
  });

  it('sends a subscription refused at its start (reads need a token) to the client as its error, then completes it', async () => {
    const server = await startTestServer({ runner: false, readsRequireToken: true });
    const client = createClient({ url: `${server.origin}/graphql/stream`, singleConnection: true, retryAttempts: 0 });
    const outcome = await new Promise<{ results: any[]; end: string }>((resolve) => {
      const results: any[] = [];
      client.subscribe(
        { query: 'subscription { signalsEmitted { instrument } }' },
        {
          next: (r) => results.push(r),
          error: (e) => resolve({ results, end: `error ${String(e)}` }),
          complete: () => resolve({ results, end: 'complete' }),
        },
      );
    });
    client.dispose();
    expect(outcome.end).toBe('complete');
    expect(outcome.results).toEqual([
      {
        data: null,
        // Only what /graphql sends: yoga's `extensions.http` (status 401, WWW-Authenticate) is the server's, and went out here.
        errors: [expect.objectContaining({ message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED' } })],
      },
    ]);
  });

  it('a token revoked while its subscription is open ends it with UNAUTHENTICATED, as /graphql sends it (no extensions.http)', async () => {
    const server = await startTestServer({ runner: false });
    const night = await createToken(server.runtimeDir, 'night-shift', 'operate');
    const client = createClient({
      url: `${server.origin}/graphql/stream`,
      singleConnection: true,
      retryAttempts: 0,
      headers: { authorization: `Bearer ${night}` },
    });
    const results: any[] = [];
    const ended = new Promise<string>((resolve) => {
      client.subscribe(
        { query: 'subscription { statusChanged { configVersion } }' },
        {
          next: (r) => results.push(r),
          error: (e) => resolve(`error ${String(e)}`),
          complete: () => resolve('complete'),
        },
      );
    });
    // Live once a change reaches it (changes until one does: the subscription starts asynchronously).
    let strategy = 'gold';
    await expect
      .poll(async () => {
        await server.gql(`mutation { activateStrategy(strategyKey: "${strategy}") { configVersion } }`);
        strategy = strategy === 'gold' ? 'range' : 'gold';
        return results.length;
      })
      .toBeGreaterThan(0);
    await revokeToken(server.runtimeDir, 'night-shift');
    expect(await ended).toBe('complete');
    client.dispose();
    expect(results.at(-1)).toEqual({
      errors: [expect.objectContaining({ message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED' } })],
    });
  });

  // An operation POSTed with `Accept: text/event-stream` (graphql-sse's distinct connections).
  const streamed = (server: TestServer, query: string, variables: Record<string, unknown> = {}, token?: string) =>
    fetch(`${server.origin}/graphql/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...(token && { authorization: `Bearer ${token}` }) },
      body: JSON.stringify({ query, variables }),
    });

  it.each([
    [
      'a query over the list limit',
      '{ signals(last: 1000) { instrument } }',
      {},
      false,
      /^Invalid last: at most 100 \(1000 with a token\), got 1000$/,
    ],
    [
      'a variable that does not coerce',
      'query($n: Int) { signals(last: $n) { instrument } }',
      { n: 1.5 },
      false,
      /^Variable "\$n" got invalid value 1\.5/,
    ],
    [
      'a mutation with an unknown key',
      'mutation { activateStrategy(strategyKey: "zz") { configVersion } }',
      {},
      true,
      /^Invalid strategy key: zz$/,
    ],
  ])(
    'answers %s 400 BAD_USER_INPUT as /graphql does (not 400 "Unable to detect operation AST", nor extensions.http)',
    async (_, query, variables, withToken, message) => {
      const server = await startTestServer({ runner: false });
      const [stream, plain] = [
        await streamed(server, query, variables, withToken ? server.token : undefined),
        await server.gql(query, variables, withToken ? server.token : null),
      ];
      expect(plain.status).toBe(400);
      expect(stream.status).toBe(400);
      expect(stream.headers.get('content-type')).toContain('application/json');
      const body = (await stream.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
      expect(body.errors[0]?.message).toMatch(message);
      expect(body.errors[0]?.extensions).toEqual((plain.body.errors?.[0] as { extensions?: unknown } | undefined)?.extensions);
      expect(body.errors[0]?.extensions.code).toBe('BAD_USER_INPUT');
      expect(JSON.stringify(body)).not.toContain('"http"');
      expect(server.store.state().config.config.activeStrategyKey).toBe('momentum');
    },
  );

  it.each([
    ['an unknown key (400 BAD_USER_INPUT)', 400, null, () => {}],
    [
      'a failed write (503 CONFIG_WRITE_FAILED)',
      503,
      null,
      async (server: TestServer) => {
        // The last version a config may have, by hand: the next change cannot be numbered.
        const file = path.join(server.runtimeDir, 'config.yaml');
        await writeFile(file, (await readFile(file, 'utf8')).replace(/^version: 1$/m, 'version: 2147483647'));
        await server.store.refresh();
      },
    ],
    [
      'the store away (503 UNAVAILABLE, Retry-After)',
      503,
      '7',
      (server: TestServer) => vi.spyOn(server.store, 'commit').mockRejectedValue(new StoreUnavailableError(7)),
    ],
    [
      'a failure of its own (500, masked)',
      500,
      null,
      (server: TestServer) => vi.spyOn(server.store, 'commit').mockRejectedValue(new Error('the disk caught fire')),
    ],
  ])(
    'answers a mutation refused for %s with the status, headers and body /graphql gives (data: null), never an event with 200',
    async (what, status, retryAfter, arrange) => {
      const server = await startTestServer({ runner: false });
      await arrange(server);
      const key = what.startsWith('an unknown key') ? 'nope' : 'gold';
      const query = `mutation { activateStrategy(strategyKey: "${key}") { changed } }`;
      const plain = await server.gql(query);
      const stream = await streamed(server, query, {}, server.token);
      expect(plain.status).toBe(status);
      expect(plain.headers.get('retry-after')).toBe(retryAfter);
      expect(plain.body).toMatchObject({ data: null });
      expect(stream.status).toBe(status);
      expect(stream.headers.get('content-type')).toContain('application/json');
      expect(stream.headers.get('retry-after')).toBe(retryAfter);
      expect(await stream.json()).toEqual(plain.body);
      // The same over the page's single connection.
      const url = `${server.origin}/graphql/stream`;
      const streamToken = await (await fetch(url, { method: 'PUT', headers: { authorization: `Bearer ${server.token}` } })).text();
      const single = await postToStream(url, streamToken, query, server.token);
      expect(single.status).toBe(status);
      expect(single.headers.get('retry-after')).toBe(retryAfter);
      expect(await single.json()).toEqual(plain.body);
    },
  );

  it('answers a subscription whose root field has @include(if: $v) 400 as a validation error, on both endpoints: not a 500 with a stack in the log', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', format: 'json', destination: { write: (line: string) => lines.push(line) } });
    const server = await startTestServer({ runner: false, logger });
    const query = 'subscription($s: Boolean!) { statusChanged @include(if: $s) { configVersion } }';
    const stream = await streamed(server, query, { s: true });
    expect(stream.status).toBe(400);
    // The specification's rule, said as it is (graphql 16 judged the directive without the variables:
    // "... the variable "$s" which was not provided a runtime value", though it was).
    const expected = {
      message: SUBSCRIPTION_ROOT_DIRECTIVES,
      locations: [{ line: 1, column: 1 }],
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    };
    expect(await stream.json()).toEqual({ errors: [expected] });
    const plain = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query, variables: { s: true } }),
    });
    expect(plain.status).toBe(400);
    expect(await plain.json()).toEqual({ errors: [expected] });
    expect(lines.filter((l) => JSON.parse(l).level >= 50)).toEqual([]);
  });
});
