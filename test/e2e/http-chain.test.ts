import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import type { Plugin } from 'graphql-yoga';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/log.js';
import { faultyFileSystem } from '../helpers/faulty-fs.js';
import { ACCESS_LINE, eventLines, gql } from '../helpers/http.js';
import { chunked, json, rawRequest } from '../helpers/raw-http.js';
import { ROOT, startTestServer, type TestServer } from '../helpers/server.js';

const ROUTES = ['/health', '/ready', '/version', '/api/status', '/graphql'] as const;
const STACK = /\n\s+at |\.ts:\d+|node_modules|\/work\//;

/** One GET with a Host header of our choosing, over a raw connection. */
const getWithHost = (server: TestServer, path: string, host: string) =>
  rawRequest(server.origin, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nAccept: application/json\r\nConnection: close\r\n\r\n`);

/** The refusal's message and code, whichever error shape the path answers in. */
function refusalOf(path: string, body: any): { message: string; code?: string } {
  if (path.startsWith('/api/')) return { message: body.detail };
  return { message: body.errors[0].message, code: body.errors[0].extensions.code };
}

/** A server whose log lines are kept, at debug level. */
async function loggedServer(options: Parameters<typeof startTestServer>[0] = {}) {
  const lines: string[] = [];
  const server = await startTestServer({
    ...options,
    logger: createLogger({ level: 'debug', format: 'text', destination: { write: (line: string) => lines.push(line) } }),
  });
  return { server, lines };
}

/** Counts what reaches yoga's own HTTP handling (onRequest) and what reaches GraphQL execution (onExecute). */
function counters() {
  const seen = { httpRequests: 0, executions: 0 };
  const plugin: Plugin = {
    onRequest() {
      seen.httpRequests += 1;
    },
    onExecute() {
      seen.executions += 1;
    },
  };
  return { seen, plugin };
}

describe('one policy chain, every route', () => {
  it.each([
    ['[', 400, 'BAD_REQUEST'],
    ['a b', 400, 'BAD_REQUEST'],
    ['x:99999', 400, 'BAD_REQUEST'],
    [':8787', 400, 'BAD_REQUEST'],
    ['attacker.example', 421, 'MISDIRECTED_REQUEST'],
  ])('Host %j: the same answer on every route, as JSON, before anything runs', async (host, status, code) => {
    const { seen, plugin } = counters();
    const server = await startTestServer({ yogaPlugins: [plugin] });
    const messages = new Set<string>();
    for (const path of ROUTES) {
      const res = await getWithHost(server, path, host);
      expect(res.status, path).toBe(status);
      expect(res.headers['content-type'], path).toMatch(/^application\/json/);
      const refusal = refusalOf(path, json(res));
      if (refusal.code) expect(refusal.code).toBe(code);
      messages.add(refusal.message);
      expect(res.body.toString()).not.toMatch(STACK);
    }
    expect(messages.size).toBe(1);
    expect(seen).toEqual({ httpRequests: 0, executions: 0 });
  });

  const DOUBLE_SLASH = 'Bad request target: the path begins with "//": join the base URL and the path with one slash (e.g. /api/status)';
  it.each([
    [
      '*',
      'OPTIONS',
      { errors: [{ message: 'Bad request target: expected a path such as /graphql', extensions: { code: 'BAD_REQUEST' } }] },
    ],
    [
      'http://127.0.0.1/health',
      'GET',
      { errors: [{ message: 'Bad request target: expected a path such as /graphql', extensions: { code: 'BAD_REQUEST' } }] },
    ],
    ['//graphql', 'GET', { errors: [{ message: DOUBLE_SLASH, extensions: { code: 'BAD_REQUEST' } }] }],
    // A script joining `$BASE/` and `/api/status`: told why, in the REST shape it reads.
    ['//api/status', 'GET', { detail: DOUBLE_SLASH }],
  ])('request target %j: 400 with a JSON body', async (target, method, body) => {
    const server = await startTestServer();
    const res = await rawRequest(server.origin, `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    expect(res.status).toBe(400);
    expect(json(res)).toEqual(body);
  });

  it("what Node's own parser refuses is answered as JSON too", async () => {
    const server = await startTestServer();
    const res = await rawRequest(server.origin, 'GARBAGE\r\n\r\n');
    expect(res.status).toBe(400);
    expect(json(res).errors[0].message).toBe('Bad Request');
    const huge = await rawRequest(server.origin, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ${'x'.repeat(20_000)}\r\n\r\n`);
    expect(huge.status).toBe(431);
    expect(json(huge).errors[0].message).toBe('Request Header Fields Too Large');
  });

  it("what Node's parser refuses is counted by reason in /metrics (at 0 from the start) and logged at INFO; a body cut off by the request timeout is a 408 request, not a 499", async () => {
    const { server, lines } = await loggedServer({ security: { connections: { headersTimeoutMs: 1_000, requestTimeoutMs: 1_500 } } });
    const metrics = async () => (await fetch(`${server.origin}/metrics`)).text();
    const refused = (text: string, reason: string, status: number) =>
      Number(new RegExp(`^control_plane_http_refusals_total\\{reason="${reason}",status="${status}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
    const before = await metrics();
    const reasons = [
      ['headers-timeout', 408],
      ['request-timeout', 408],
      ['headers-too-large', 431],
      ['bad-request', 400],
    ] as const;
    expect(reasons.map(([reason, status]) => refused(before, reason, status))).toEqual([0, 0, 0, 0]);

    expect((await rawRequest(server.origin, 'GARBAGE\r\n\r\n')).status).toBe(400);
    // Transfer-Encoding with Content-Length: request smuggling's shape.
    const smuggled = 'POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n';
    expect((await rawRequest(server.origin, smuggled)).status).toBe(400);
    expect(
      (await rawRequest(server.origin, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ${'x'.repeat(20_000)}\r\n\r\n`)).status,
    ).toBe(431);
    const [slowHeaders, slowBody] = await Promise.all([
      rawRequest(server.origin, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n'),
      rawRequest(
        server.origin,
        'POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n',
        '{',
      ),
    ]);
    expect([slowHeaders.status, slowBody.status]).toEqual([408, 408]);

    const after = await metrics();
    expect(reasons.map(([reason, status]) => refused(after, reason, status))).toEqual([1, 1, 1, 2]);
    // The request whose body timed out reached the chain (counted once its connection is closed):
    // as answered 408, not 499 (the client did not go away, it was cut off).
    const answered = /^control_plane_http_requests_total\{route="\/graphql",method="POST",status="(\d+)"\} 1$/m;
    await expect.poll(async () => answered.exec(await metrics())?.[1]).toBe('408');
    const info = lines.filter((l) => l.split(' ')[1] === 'INFO' && l.includes('request refused by the HTTP parser'));
    expect(info.map((l) => /parser: ([a-z-]+)/.exec(l)?.[1]).sort()).toEqual([
      'bad-request',
      'bad-request',
      'headers-timeout',
      'headers-too-large',
      'request-timeout',
    ]);
  });

  it('a request id: a sane incoming one is kept, anything else replaced; echoed on every route and every refusal', async () => {
    const server = await startTestServer();
    for (const path of [...ROUTES, '/nowhere']) {
      const kept = await fetch(`${server.origin}${path}`, { headers: { 'x-request-id': 'lb-7f3a:42' } });
      expect(kept.headers.get('x-request-id'), path).toBe('lb-7f3a:42');
      const replaced = await fetch(`${server.origin}${path}`, { headers: { 'x-request-id': 'two words' } });
      expect(replaced.headers.get('x-request-id'), path).toMatch(/^[0-9a-f-]{36}$/);
    }
    const generated = await Promise.all([1, 2].map(() => fetch(`${server.origin}/health`)));
    expect(new Set(generated.map((r) => r.headers.get('x-request-id'))).size).toBe(2);
    expect((await getWithHost(server, '/health', 'attacker.example')).headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("puts the request id on that request's log lines: a refusal before GraphQL, and GraphQL's own", async () => {
    const { server, lines } = await loggedServer();
    const res = await rawRequest(
      server.origin,
      'GET /api/status HTTP/1.1\r\nHost: attacker.example\r\nX-Request-Id: probe-421\r\nConnection: close\r\n\r\n',
    );
    expect(res.status).toBe(421);
    const refusal = eventLines(lines, 'probe-421');
    expect(refusal).toHaveLength(1); // logged once
    expect(refusal[0]).toMatch(/ INFO .*request refused: Host not served.*foreign-host|foreign-host.*request refused: Host not served/);

    const activate = await gql(server.url, 'mutation { activateStrategy(strategyKey: "nope") { configVersion } }', undefined, {
      token: server.token,
      headers: { 'x-request-id': 'probe-bad-key' },
    });
    expect(activate.status).toBe(400);
    const graphqlLines = eventLines(lines, 'probe-bad-key');
    expect(graphqlLines).toHaveLength(1);
    expect(graphqlLines[0]).toMatch(/ DEBUG .*refused: InvalidStrategyKeyError: Invalid strategy key: nope/);

    const rest = await fetch(`${server.origin}/api/strategy/activate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}`, 'x-request-id': 'probe-rest' },
      body: '{"strategy_key":"nope"}',
    });
    expect(rest.status).toBe(400);
    expect(eventLines(lines, 'probe-rest')).toEqual([expect.stringMatching(/refused: InvalidStrategyKeyError/)]);
    // And each request's access line (debug), with its status.
    for (const [id, status] of [
      ['probe-421', 421],
      ['probe-bad-key', 400],
      ['probe-rest', 400],
    ] as const)
      expect(
        lines.filter((l) => l.includes(`reqId=${id}`) && ACCESS_LINE.test(l)),
        id,
      ).toEqual([expect.stringContaining(`status=${status}`)]);
  });

  it('an adapter failure: 500 `Unexpected error.` as JSON, logged once at ERROR with the request id, nothing internal answered', async () => {
    const { server, lines } = await loggedServer();
    server.services.store.problem = () => {
      throw new Error(`EACCES: permission denied, open '${server.runtimeDir}/config.yaml'`);
    };
    const ready = await fetch(`${server.origin}/ready`, { headers: { 'x-request-id': 'probe-500' } });
    expect(ready.status).toBe(500);
    expect(await ready.json()).toEqual({ errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    const logged = eventLines(lines, 'probe-500');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/ ERROR .*request failed: Unexpected error\.[\s\S]*EACCES/);
  });

  it('unknown paths and wrong methods: 404 and 405 (+ Allow) as JSON, in the path family’s shape', async () => {
    const server = await startTestServer();
    const missing = await fetch(`${server.origin}/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ errors: [{ message: 'Not Found', extensions: { code: 'NOT_FOUND' } }] });
    const post = await fetch(`${server.origin}/health`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(`${server.origin}/health`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });
});

describe('routes behind the chain', () => {
  it('/version: {"version","node","store"}', async () => {
    const server = await startTestServer();
    const res = await fetch(`${server.origin}/version`);
    expect(res.status).toBe(200);
    const { version } = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8'));
    expect(await res.json()).toEqual({ version, node: process.version, store: 'file', commit: null });
  });

  it('REST routes run in process: nothing reaches yoga over HTTP, GraphQL executes once per call', async () => {
    const { seen, plugin } = counters();
    const server = await startTestServer({ yogaPlugins: [plugin] });
    expect((await fetch(`${server.origin}/api/status`)).status).toBe(200);
    expect((await fetch(`${server.origin}/api/strategies`)).status).toBe(200);
    const activate = await fetch(`${server.origin}/api/strategy/activate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
      body: '{"strategy_key":"gold"}',
    });
    expect(await activate.json()).toMatchObject({ active_strategy_key: 'gold', config_version: 2 });
    expect(seen).toEqual({ httpRequests: 0, executions: 3 });
    // The probes do no GraphQL at all; /graphql goes through yoga once.
    for (const path of ['/health', '/ready', '/version']) await fetch(`${server.origin}${path}`);
    expect(seen).toEqual({ httpRequests: 0, executions: 3 });
    // A plain JSON POST to /graphql takes the fast lane (in process too); a GET goes through yoga's HTTP handling once.
    expect((await server.gql('{ status { configVersion } }')).body.data).toEqual({ status: { configVersion: 2 } });
    expect(seen).toEqual({ httpRequests: 0, executions: 4 });
    const get = await fetch(`${server.url}?query=${encodeURIComponent('{ config { version } }')}`, {
      headers: { accept: 'application/json' },
    });
    expect(await get.json()).toEqual({ data: { config: { version: 2 } } });
    expect(seen).toEqual({ httpRequests: 1, executions: 5 });
  });

  it('REST refusals keep the error table: 401 with WWW-Authenticate, 429 with Retry-After, counted once per call', async () => {
    const server = await startTestServer({ security: { authFailures: { failuresPerMinute: 2 } } });
    const status = () => fetch(`${server.origin}/api/status`, { headers: { authorization: 'Bearer wrong-token-0123456789abcdef' } });
    const first = await status();
    expect(first.status).toBe(401);
    expect(first.headers.get('www-authenticate')).toMatch(/^Bearer realm=.*error="invalid_token"/);
    expect(await first.json()).toEqual({ detail: 'Authentication required' });
    expect((await status()).status).toBe(401);
    const limited = await status();
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
  });
});

describe('request bodies', () => {
  const LIMIT = 64 * 1024;
  const graphqlBody = (pad: number) => JSON.stringify({ query: '{ status { configVersion } }', extensions: { pad: 'x'.repeat(pad) } });
  const post = (server: TestServer, path: string, body: Buffer | string, headers: Record<string, string> = {}) =>
    fetch(`${server.origin}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}`, ...headers },
      body: typeof body === 'string' ? body : new Uint8Array(body),
    });

  it.each(['/graphql', '/api/config'])(
    '%s: a chunked body over 64 KiB is read to its end and answered 413 as JSON, never a reset',
    async (path) => {
      const server = await startTestServer();
      const body = Buffer.from(graphqlBody(200_000));
      const res = await rawRequest(
        server.origin,
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
        chunked(body),
      );
      expect(res.reset).toBe(false);
      expect(res.status).toBe(413);
      expect(refusalOf(path, json(res)).message).toBe(`Request body too large: the limit is ${LIMIT} bytes`);
    },
  );

  it.each(['/graphql', '/api/config'])(
    '%s: Expect: 100-continue with a Content-Length over the limit is 413 at once, not invited (100) to upload it first',
    async (path) => {
      const server = await startTestServer();
      // The head alone, as curl sends it before waiting for 100 Continue (Node sent 100 by itself, and read 5 MB to answer 413).
      const res = await rawRequest(
        server.origin,
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n`,
      );
      expect(res.status).toBe(413);
      expect(res.headers.connection).toBe('close');
      expect(refusalOf(path, json(res)).message).toBe(`Request body too large: the limit is ${LIMIT} bytes`);
      // Within the limit, the client is invited and answered.
      const body = graphqlBody(10);
      const answered = await new Promise<{ continued: boolean; status: number; body: string }>((resolve, reject) => {
        let continued = false;
        const req = request(server.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
        });
        req.on('continue', () => {
          continued = true;
          req.end(body);
        });
        req.on('response', (r) => {
          let text = '';
          r.setEncoding('utf8');
          r.on('data', (chunk) => (text += chunk));
          r.on('end', () => resolve({ continued, status: r.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
      });
      expect(answered).toEqual({ continued: true, status: 200, body: JSON.stringify({ data: { status: { configVersion: 1 } } }) });
    },
  );

  it('HEAD /graphql answers as GET without the body (it was 405); a HEAD never opens an event stream (a subscription held for nothing)', async () => {
    const server = await startTestServer({ runner: false });
    const target = `${server.url}?query=${encodeURIComponent('{ status { configVersion } }')}`;
    const [get, head] = [await fetch(target), await fetch(target, { method: 'HEAD' })];
    expect(get.status).toBe(200);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
    expect(await head.text()).toBe('');
    const subscription = `${server.url}?query=${encodeURIComponent('subscription { statusChanged { configVersion } }')}`;
    // Asked as JSON instead: yoga's answer to a subscription without an event stream (406), and nothing held open.
    const streamed = await fetch(subscription, { method: 'HEAD', headers: { accept: 'text/event-stream' } });
    expect(streamed.status).toBe(406);
    expect(await streamed.text()).toBe('');
    // So with curl -I's `*/*` (it opened the stream, held until the client closed the connection).
    for (const accept of ['*/*', 'text/*']) {
      const any = await fetch(subscription, { method: 'HEAD', headers: { accept } });
      expect({ accept, status: any.status, type: any.headers.get('content-type') }).toEqual({
        accept,
        status: 406,
        type: 'application/json; charset=utf-8',
      });
    }
    const open = async () => /^control_plane_subscriptions (\d+)$/m.exec(await (await fetch(`${server.origin}/metrics`)).text())?.[1];
    await expect.poll(open).toBe('0');
  });

  it.each([
    ['default', {}],
    ['production mode, fast lane off', { production: true, fastLane: { enabled: false } }],
  ] as const)(
    'another method on /graphql or /graphql/stream is 405 METHOD_NOT_ALLOWED with an Allow that names HEAD, as every path answers (%s)',
    async (_, options) => {
      const { seen, plugin } = counters();
      const server = await startTestServer({ runner: false, yogaPlugins: [plugin], ...options });
      const cases = [
        ['/graphql', ['PUT', 'DELETE', 'PATCH', 'OPTIONS'], 'GET, HEAD, POST'],
        ['/graphql?query=%7Bstatus%7BconfigVersion%7D%7D', ['PUT', 'OPTIONS'], 'GET, HEAD, POST'],
        ['/graphql/stream', ['PATCH', 'OPTIONS'], 'DELETE, GET, HEAD, POST, PUT'],
      ] as const;
      for (const [path, methods, allow] of cases) {
        for (const method of methods) {
          // Yoga answered these itself: 405 `BAD_REQUEST` ("GraphQL only supports GET and POST requests."), `Allow: GET, POST`.
          const res = await fetch(`${server.origin}${path}`, { method });
          expect([method, path, res.status, res.headers.get('allow')]).toEqual([method, path, 405, allow]);
          expect(await res.json()).toEqual({ errors: [{ message: 'Method Not Allowed', extensions: { code: 'METHOD_NOT_ALLOWED' } }] });
        }
      }
      // Refused before yoga: nothing of it ran.
      expect(seen.httpRequests).toBe(0);
      // What yoga still answers itself names HEAD with GET in its Allow too (a HEAD with no query: 400).
      const noQuery = await fetch(`${server.url}`, { method: 'HEAD' });
      expect(noQuery.status).toBe(400);
      expect(noQuery.headers.get('allow')).toBe('GET, HEAD, POST');
      // A mutation over GET stays yoga's 405: only POST takes it.
      const mutation = await fetch(`${server.url}?query=${encodeURIComponent('mutation { rollbackConfig(version: 1) { version } }')}`);
      expect([mutation.status, mutation.headers.get('allow')]).toEqual([405, 'POST']);
      // The methods it takes still reach it: a query by GET, HEAD and POST, a stream's reservation by PUT.
      const query = `${server.url}?query=${encodeURIComponent('{ status { configVersion } }')}`;
      expect((await fetch(query)).status).toBe(200);
      expect((await fetch(query, { method: 'HEAD' })).status).toBe(200);
      expect((await server.gql('{ status { configVersion } }')).status).toBe(200);
      const reserved = await fetch(`${server.origin}/graphql/stream`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${server.token}` },
      });
      expect(reserved.status).toBe(201);
    },
  );

  it('gzip bodies are inflated and the limit applies to what they inflate to', async () => {
    const server = await startTestServer();
    const small = await post(server, '/graphql', gzipSync(graphqlBody(10)), { 'content-encoding': 'gzip' });
    expect(small.status).toBe(200);
    expect(await small.json()).toEqual({ data: { status: { configVersion: 1 } } });

    const rest = await post(server, '/api/config', gzipSync('{"scan_interval_seconds": 20}'), { 'content-encoding': 'gzip' });
    expect(rest.status).toBe(200);
    expect(await rest.json()).toMatchObject({ scan_interval_seconds: 20, version: 2 });

    // 61 KiB on the wire, 200 KB inflated: over the limit.
    const bomb = gzipSync(graphqlBody(200_000));
    expect(bomb.length).toBeLessThan(LIMIT);
    for (const path of ['/graphql', '/api/config']) {
      const res = await post(server, path, bomb, { 'content-encoding': 'gzip' });
      expect(res.status, path).toBe(413);
      expect(refusalOf(path, await res.json()).message).toMatch(/Request body too large/);
    }
    expect(server.store.state().config.config.version).toBe(2);
  });

  it('other content codings: 415; a broken gzip body: 400; both as JSON', async () => {
    const server = await startTestServer();
    for (const path of ['/graphql', '/api/config']) {
      const br = await post(server, path, '{}', { 'content-encoding': 'br' });
      expect(br.status, path).toBe(415);
      expect(refusalOf(path, await br.json()).message).toMatch(/Unsupported Content-Encoding/);
      const broken = await post(server, path, 'not gzip at all', { 'content-encoding': 'gzip' });
      expect(broken.status, path).toBe(400);
      expect(refusalOf(path, await broken.json()).message).toBe('Request body is not valid gzip data');
    }
  });
});

describe('response compression', () => {
  it('compresses answers over 1 KiB as the client accepts (br preferred, q-values honoured), and leaves small ones alone', async () => {
    const server = await startTestServer();
    const plain = await fetch(`${server.origin}/api/strategies`, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(plain.headers.get('vary')).toMatch(/Accept-Encoding/);
    const text = await plain.text();
    expect(text.length).toBeGreaterThan(1024);

    // node:http, not fetch: fetch would decode the body and hide the header's effect.
    const raw = (encoding: string) =>
      rawRequest(
        server.origin,
        `GET /api/strategies HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: ${encoding}\r\nConnection: close\r\n\r\n`,
      );
    const br = await raw('gzip, br');
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.body).toString()).toBe(text);
    const gz = await raw('gzip;q=1, br;q=0.5');
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).toString()).toBe(text);
    expect((await raw('br;q=0, gzip;q=0')).headers['content-encoding']).toBeUndefined();

    const small = await rawRequest(
      server.origin,
      'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip, br\r\nConnection: close\r\n\r\n',
    );
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(small.body.toString())).toMatchObject({ status: 'ok' });
  });

  it('never compresses an event stream: each event goes out as it happens', async () => {
    const server = await startTestServer();
    const controller = new AbortController();
    const res = await fetch(`${server.url}?query=${encodeURIComponent('subscription { statusChanged { configVersion } }')}`, {
      headers: { accept: 'text/event-stream', 'accept-encoding': 'gzip, br' },
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('content-encoding')).toBeNull();
    const reader = res.body!.getReader();
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    let received = '';
    while (!received.includes('"configVersion":2')) received += new TextDecoder().decode((await reader.read()).value);
    expect(received).toMatch(/event: next\ndata: \{"data":\{"statusChanged":\{"configVersion":2\}\}\}/);
    controller.abort();
  });
});

describe('logging, once per request', () => {
  it('a failure inside GraphQL: one ERROR line with the request id and its detail; the answer stays clean', async () => {
    const fs = faultyFileSystem();
    const { server, lines } = await loggedServer({ fs });
    fs.inject('rename', 'EIO');
    const res = await gql(server.url, 'mutation { activateStrategy(strategyKey: "gold") { configVersion } }', undefined, {
      token: server.token,
      headers: { 'x-request-id': 'probe-eio' },
    });
    expect(res.status).toBe(503);
    expect(JSON.stringify(res.body)).not.toMatch(STACK);
    const errors = lines.filter((l) => / ERROR /.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('probe-eio');
    expect(errors[0]).toContain('ConfigWriteError');
  });

  it('a client that goes away while sending its body: one DEBUG line, nothing at ERROR', async () => {
    const { server, lines } = await loggedServer();
    const socket = connect(Number(new URL(server.origin).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: probe-gone\r\nContent-Length: 1000\r\n\r\n{"scan_');
    socket.destroy();
    await vi.waitFor(() => expect(eventLines(lines, 'probe-gone')).toHaveLength(1), { timeout: 10_000 });
    expect(eventLines(lines, 'probe-gone')[0]).toMatch(/ DEBUG .*client went away/);
    expect(lines.filter((l) => / ERROR /.test(l))).toEqual([]);
  });
});
