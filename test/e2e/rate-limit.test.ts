import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createToken } from '../../src/auth/token-file.js';
import { gql } from '../helpers/http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { stratctl } from '../helpers/stratctl.js';

const STATUS = '{ status { configVersion } }';
const ACTIVATE_GOLD = 'mutation { activateStrategy(strategyKey: "gold") { configVersion } }';
const WRONG = 'wrong-token-0123456789abcdef';

const restActivate = (server: TestServer, token: string) =>
  fetch(`${server.origin}/api/strategy/activate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ strategy_key: 'gold' }),
  });

/** Sends the requests pipelined, in one write on one connection; resolves with their statuses, in order. */
function pipelined(origin: string, tokens: string[]): Promise<number[]> {
  const { hostname, port } = new URL(origin);
  const body = JSON.stringify({ query: STATUS });
  const requests = tokens.map(
    (token) =>
      `POST /graphql HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(requests.join('')));
    let received = '';
    const statuses = () => [...received.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (statuses().length >= tokens.length) {
        socket.destroy();
        resolve(statuses());
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`connection closed after ${statuses().length} answers`)));
  });
}

describe('the failed-auth limit never locks out the operator', () => {
  it('the 11th wrong token within a minute gets 429 RATE_LIMITED with Retry-After (default 10 per minute)', async () => {
    const server = await startTestServer();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await server.gql(STATUS, undefined, WRONG)).status);
    expect(statuses).toEqual(Array(10).fill(401));
    const refused = await server.gql(STATUS, undefined, WRONG);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      errors: [{ message: 'Too many failed authentication attempts', extensions: { code: 'RATE_LIMITED' } }],
    });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    // stratctl: try again later (7), not an authentication failure (3); the right token still works.
    // A token the user gave goes with reads too (README: stratctl), so a read with it is refused alike.
    const env = { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_TOKEN: WRONG };
    const limited = await stratctl(['activate', 'gold'], env);
    expect(limited.code).toBe(7);
    expect(limited.stderr).toContain('Too many failed authentication attempts');
    const json = await stratctl(['activate', 'gold', '--json'], env);
    expect(json.code).toBe(7);
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'RATE_LIMITED', message: 'Too many failed authentication attempts' } });
    expect((await stratctl(['status'], env)).code).toBe(7);
    // A public read without a token is answered from the same address.
    expect((await stratctl(['status'], { CONTROL_PLANE_URL: server.url })).code).toBe(0);
    expect((await stratctl(['activate', 'gold'], { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_TOKEN: server.token })).code).toBe(0);
  });

  it('after 50 wrong tokens from the same address: the valid token is accepted, public reads are answered', async () => {
    const server = await startTestServer();
    const wrong: number[] = [];
    for (let i = 0; i < 50; i++) wrong.push((await server.gql(STATUS, undefined, WRONG)).status);
    expect(wrong.filter((s) => s === 401)).toHaveLength(10);
    expect(wrong.filter((s) => s === 429)).toHaveLength(40);

    // The operator's emergency switch, over GraphQL, REST and stratctl, from the same address.
    const activated = await server.gql(ACTIVATE_GOLD);
    expect(activated.status).toBe(200);
    expect(activated.body.data).toEqual({ activateStrategy: { configVersion: 2 } });
    expect((await restActivate(server, server.token)).status).toBe(200);
    const cli = await stratctl(['activate', 'range'], { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_TOKEN: server.token });
    expect(cli.code, cli.stderr).toBe(0);
    expect(server.store.state().config.config.activeStrategyKey).toBe('range');

    // Reads that need no token: answered, without a token, on every route.
    const anonymous = await server.gql(STATUS, undefined, null);
    expect(anonymous.status).toBe(200);
    expect(anonymous.body.data).toEqual({ status: { configVersion: 3 } });
    expect((await fetch(`${server.origin}/api/status`)).status).toBe(200);
    expect((await fetch(`${server.url}?query=${encodeURIComponent(STATUS)}`, { headers: { accept: 'application/json' } })).status).toBe(
      200,
    );
    // A wrong token is still refused, with the limit's answer.
    expect((await server.gql(STATUS, undefined, WRONG)).status).toBe(429);
    // The probes read no token: a monitor sending one (its default credentials) from the same
    // address (a NAT) still sees the replica serving. Before: 429, and a load balancer took it out.
    for (const probe of ['/health', '/ready', '/version', '/health?verbose=1']) {
      const res = await fetch(`${server.origin}${probe}`, { headers: { authorization: `Bearer ${WRONG}` } });
      expect({ probe, status: res.status }).toEqual({ probe, status: 200 });
    }
    // Anything else with that token is still the limit's (no path is spared by its prefix).
    expect((await fetch(`${server.origin}/healthz`, { headers: { authorization: `Bearer ${WRONG}` } })).status).toBe(429);
  });

  it('guesses sent at once (pipelined in one write, or in parallel) get at most the limit checked, the rest 429; right tokens among them are answered', async () => {
    const server = await startTestServer();
    // Named tokens are looked up in the store (async): every guess arriving before the first 401
    // was counted went through, and 5,000 pipelined guesses were all answered 401.
    const desk = await createToken(server.runtimeDir, 'desk', 'read');
    const guesses = Array.from({ length: 40 }, (_, i) => `guess-${i}-0123456789abcdef`);
    const statuses = await pipelined(server.origin, [...guesses.slice(0, 20), server.token, desk, ...guesses.slice(20)]);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30);
    expect([statuses[20], statuses[21]]).toEqual([200, 200]);

    const other = await startTestServer();
    const named = await createToken(other.runtimeDir, 'desk', 'read');
    const parallel = await Promise.all([
      ...guesses.map((guess) => gql(other.url, STATUS, undefined, { token: guess }).then((r) => r.status)),
      gql(other.url, STATUS, undefined, { token: named }).then((r) => r.status),
      gql(other.url, STATUS, undefined, { token: other.token }).then((r) => r.status),
    ]);
    expect(parallel.slice(0, 40).filter((s) => s === 401)).toHaveLength(10);
    expect(parallel.slice(0, 40).filter((s) => s === 429)).toHaveLength(30);
    expect(parallel.slice(40)).toEqual([200, 200]);
  });

  it('the operator page never reads a token: wrong tokens sent with it at once are neither held, counted nor refused, over the limit too', async () => {
    const server = await startTestServer();
    const page = (token: string) =>
      fetch(`${server.origin}/`, { headers: { authorization: `Bearer ${token}` } }).then(async (res) => {
        await res.arrayBuffer();
        return res.status;
      });
    // Browsers with a stale token in a header (an extension, a proxy) loading the page at once, the
    // first load of its files still under way: each held a point while answered, and from the tenth on were 429.
    const guesses = Array.from({ length: 40 }, (_, i) => `guess-${i}-0123456789abcdef`);
    const first = await Promise.all(guesses.map(page));
    const expected = (await fetch(`${server.origin}/`)).status;
    expect(new Set(first)).toEqual(new Set([expected]));
    // None of them counted: the address still has its ten wrong tokens, answered 401.
    for (const guess of guesses.slice(0, 10)) expect((await server.gql(STATUS, undefined, guess)).status).toBe(401);
    expect((await server.gql(STATUS, undefined, WRONG)).status).toBe(429);
    // Over the limit, the page (and its assets' path) is still answered as without a token.
    expect(await page(WRONG)).toBe(expected);
    expect(new Set(await Promise.all(guesses.map(page)))).toEqual(new Set([expected]));
    const asset = await fetch(`${server.origin}/assets/none.js`, { headers: { authorization: `Bearer ${WRONG}` } });
    expect(asset.status).toBe((await fetch(`${server.origin}/assets/none.js`)).status);
  });

  it('a request without a token is never counted: 30 tokenless mutations answer 401, and the next wrong token is still a 401', async () => {
    const server = await startTestServer({ security: { authFailures: { failuresPerMinute: 2 } } });
    for (let i = 0; i < 30; i++) expect((await server.gql(ACTIVATE_GOLD, undefined, null)).status).toBe(401);
    expect((await server.gql(STATUS, undefined, WRONG)).status).toBe(401);
    expect((await server.gql(STATUS, undefined, WRONG)).status).toBe(401);
    expect((await server.gql(STATUS, undefined, WRONG)).status).toBe(429);
    // Still no refusal for tokenless requests, and none for the right token.
    expect((await server.gql(ACTIVATE_GOLD, undefined, null)).status).toBe(401);
    expect((await server.gql(STATUS, undefined, null)).status).toBe(200);
    expect((await server.gql(ACTIVATE_GOLD)).status).toBe(200);
  });

  it('counts each failed REST call once, and refuses REST calls with {"detail"}, 429 and Retry-After once over', async () => {
    const server = await startTestServer({ security: { authFailures: { failuresPerMinute: 3 } } });
    expect((await restActivate(server, WRONG)).status).toBe(401);
    expect((await restActivate(server, WRONG)).status).toBe(401);
    expect((await fetch(`${server.origin}/api/status`)).status).toBe(200); // not a failure
    expect((await restActivate(server, WRONG)).status).toBe(401);
    const refused = await restActivate(server, WRONG);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await refused.json()).toEqual({ detail: 'Too many failed authentication attempts' });
    expect(server.store.state().config.config.activeStrategyKey).toBe('momentum');
  });

  it('behind a TLS proxy, keys on the address the proxy forwarded: one client over the limit does not affect another', async () => {
    const server = await startTestServer({ security: { behindTlsProxy: true, authFailures: { failuresPerMinute: 2 } } });
    const from = (address: string, token: string | undefined) =>
      gql(server.url, STATUS, undefined, { ...(token && { token }), headers: { 'x-forwarded-for': `203.0.113.9, ${address}` } });
    expect((await from('198.51.100.1', WRONG)).status).toBe(401);
    expect((await from('198.51.100.1', WRONG)).status).toBe(401);
    expect((await from('198.51.100.1', WRONG)).status).toBe(429);
    expect((await from('198.51.100.1', server.token)).status).toBe(200);
    expect((await from('198.51.100.2', WRONG)).status).toBe(401);
  });

  it('an IPv6 client counts as its /64: a new address within it for each wrong token does not get past the limit', async () => {
    const server = await startTestServer({ security: { behindTlsProxy: true, authFailures: { failuresPerMinute: 2 } } });
    const from = (address: string, token: string | undefined) =>
      gql(server.url, STATUS, undefined, { ...(token && { token }), headers: { 'x-forwarded-for': address } });
    expect((await from('2001:db8:a:b::1', WRONG)).status).toBe(401);
    expect((await from('2001:db8:a:b::2', WRONG)).status).toBe(401);
    expect((await from('2001:db8:a:b:ffff::3', WRONG)).status).toBe(429);
    // The right token from the same /64 is never refused; another /64 has its own count.
    expect((await from('2001:db8:a:b::4', server.token)).status).toBe(200);
    expect((await from('2001:db8:a:c::1', WRONG)).status).toBe(401);
    // An IPv4 client is the same client when its address arrives mapped into IPv6.
    expect((await from('198.51.100.7', WRONG)).status).toBe(401);
    expect((await from('::ffff:198.51.100.7', WRONG)).status).toBe(401);
    expect((await from('198.51.100.7', WRONG)).status).toBe(429);
  });
});
