import { afterEach, describe, expect, it, vi } from 'vitest';
import { adminAuthenticator } from '../../src/auth/tokens.js';
import { compose, type Exchange, jsonReply, type Reply, type Step } from '../../src/http/exchange.js';
import { limitCounter } from '../../src/http/limit-counter.js';
import { refusalLogBudget } from '../../src/http/log.js';
import { type Refusal, refusals } from '../../src/http/refusal.js';
import { router } from '../../src/http/router.js';
import { authFailureLimitStep } from '../../src/http/steps/auth-failure-limit.js';
import { negotiateEncoding } from '../../src/http/steps/compression.js';
import { hostnameOf, isOriginForm } from '../../src/http/steps/host-check.js';
import { acceptedRequestId, requestIdStep } from '../../src/http/steps/request-id.js';
import { createLogger } from '../../src/log.js';
import { manualClock } from '../helpers/manual-clock.js';

const silent = createLogger({ level: 'silent' });

function exchange(overrides: Partial<Exchange> & { headers?: Record<string, string> } = {}): Exchange {
  const { headers = {}, ...rest } = overrides;
  return {
    req: { headers } as Exchange['req'],
    res: {} as Exchange['res'],
    method: 'GET',
    target: '/graphql',
    path: '/graphql',
    signal: new AbortController().signal,
    requestId: 'test',
    log: silent,
    host: '127.0.0.1',
    clientKey: '192.0.2.1',
    body: null,
    ...rest,
  };
}

const answer = (status: number) => async (): Promise<Reply> => jsonReply(status, {});

describe('Host and request target parsing', () => {
  it.each([
    ['Example.COM:8787', 'example.com'],
    ['[::1]:8787', '::1'],
    ['[::1]', '::1'],
    ['127.0.0.1', '127.0.0.1'],
    ['localhost:', 'localhost'],
    ['my_host.internal:65535', 'my_host.internal'],
  ])('%j -> %j', (header, name) => expect(hostnameOf(header)).toBe(name));

  it.each(['[', 'a b', 'x:99999', ':99999', '', '[::1', '[nothost]:80', '999.1.1.1', 'a:b', 'x:123456', 'host/path', 'user@host'])(
    '%j is not a valid host[:port]',
    (header) => expect(hostnameOf(header)).toBeNull(),
  );

  it('takes origin-form targets only', () => {
    expect(isOriginForm('/graphql?query=x')).toBe(true);
    for (const target of ['*', 'http://example.com/graphql', '//graphql', 'graphql', '']) expect(isOriginForm(target), target).toBe(false);
  });
});

describe('Accept-Encoding negotiation', () => {
  it.each([
    [undefined, null],
    ['', null],
    ['gzip', 'gzip'],
    ['gzip, br', 'br'],
    ['br;q=0.5, gzip', 'gzip'],
    ['br;q=0, gzip;q=0', null],
    ['*', 'br'],
    ['*;q=0, gzip', 'gzip'],
    ['identity', null],
    ['deflate', null],
  ])('%j -> %j', (header, coding) => expect(negotiateEncoding(header)).toBe(coding));
});

describe('request ids', () => {
  it('accepts short printable ids and nothing that could forge a log line', () => {
    expect(acceptedRequestId('abc-123:x/y=')).toBe('abc-123:x/y=');
    for (const bad of [undefined, '', 'a b', 'a\nb', 'x'.repeat(129), ['a', 'b']]) expect(acceptedRequestId(bad as never)).toBeNull();
  });

  it('sets the id before the next step runs and echoes it on the reply', async () => {
    let seen = '';
    const handle = compose([requestIdStep(silent, () => 'fixed-id')], async (ex) => {
      seen = ex.requestId;
      return jsonReply(200, {});
    });
    const reply = await handle(exchange());
    expect(seen).toBe('fixed-id');
    expect(reply.headers['x-request-id']).toBe('fixed-id');
  });
});

describe('the chain', () => {
  it('runs steps in list order, each once, and unwinds in reverse', async () => {
    const order: string[] = [];
    const step =
      (name: string): Step =>
      async (ex, next) => {
        order.push(`>${name}`);
        const reply = await next(ex);
        order.push(`<${name}`);
        return reply;
      };
    await compose([step('a'), step('b'), step('c')], answer(200))(exchange());
    expect(order).toEqual(['>a', '>b', '>c', '<c', '<b', '<a']);
  });

  it('routes by path and method: 405 with Allow for a known path, 404 for an unknown one, `accepts` falls through', async () => {
    const logged: Refusal[] = [];
    const refuse = refusals({ onRefusal: (reason, status) => logged.push({ reason, status } as Refusal) });
    const handle = router(
      [
        {
          path: '/graphql',
          methods: ['POST'],
          accepts: (ex) => ex.req.headers['content-type'] === 'application/json',
          handle: answer(201),
        },
        { path: '/graphql', handle: answer(200) },
        { path: '/health', methods: ['GET', 'HEAD'], handle: answer(200) },
        { path: '/assets/', methods: ['GET'], handle: answer(204) },
      ],
      refuse,
    );
    expect((await handle(exchange({ method: 'POST', headers: { 'content-type': 'application/json' } }))).status).toBe(201);
    expect((await handle(exchange({ method: 'POST' }))).status).toBe(200);
    expect((await handle(exchange({ path: '/assets/app.js' }))).status).toBe(204);
    const wrongMethod = await handle(exchange({ method: 'DELETE', path: '/health' }));
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('GET, HEAD');
    expect((await handle(exchange({ path: '/api/nothing' }))).body).toBe('{"detail":"Not Found"}');
    expect(logged.map((r) => r.reason)).toEqual(['method-not-allowed', 'not-found']);
  });
});

describe('failed-auth limit (alone, fake clock)', () => {
  const RIGHT = 'right-token-0123456789abcdef';
  const authenticator = adminAuthenticator(RIGHT);
  const withToken = (token: string | undefined, clientKey = '192.0.2.1') =>
    exchange({ clientKey, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts 401s to requests with a token; past the budget refuses wrong tokens only, until the minute is over', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    let failures = 0;
    const limit = authFailureLimitStep(refusals(), { failuresPerMinute: 4, authenticator, onFailure: () => failures++ });
    for (let i = 0; i < 4; i++) expect((await limit(withToken('wrong-token-0000000000'), answer(401))).status).toBe(401);
    const refused = await limit(withToken('wrong-token-0000000000'), answer(401));
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('60');
    expect(JSON.parse(refused.body as string)).toEqual({
      errors: [{ message: 'Too many failed authentication attempts', extensions: { code: 'RATE_LIMITED' } }],
    });
    expect(failures).toBe(5);
    // The right token and no token at all pass, from the same client; another client is not affected.
    expect((await limit(withToken(RIGHT), answer(200))).status).toBe(200);
    expect((await limit(withToken(undefined), answer(200))).status).toBe(200);
    expect((await limit(withToken('wrong-token-0000000000', '192.0.2.2'), answer(401))).status).toBe(401);
    vi.advanceTimersByTime(59_000);
    expect((await limit(withToken('wrong-token-0000000000'), answer(401))).headers['retry-after']).toBe('1');
    vi.advanceTimersByTime(1_000);
    expect((await limit(withToken('wrong-token-0000000000'), answer(401))).status).toBe(401);
  });

  it("logs a WARN line for a client's first wrong token in its minute and for the one that reaches the limit, never the token; at most 60 a minute for all clients", async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'], now: new Date('2026-12-01T10:00:00.000Z') });
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', format: 'text', destination: { write: (line: string) => lines.push(line) } });
    const limit = authFailureLimitStep(refusals(), { failuresPerMinute: 4, authenticator });
    const wrong = (clientKey: string) =>
      limit(exchange({ clientKey, log, path: '/graphql', headers: { authorization: 'Bearer wrong-token-0000000000' } }), answer(401));
    for (let i = 0; i < 6; i++) await wrong('192.0.2.1');
    const warns = () => lines.filter((l) => l.split(' ')[1] === 'WARN');
    expect(warns()).toEqual([
      expect.stringContaining(
        'wrong token from 192.0.2.1: answered 401 (its next ones within the minute are counted, not logged, up to the limit of 4)',
      ),
      expect.stringContaining(
        '192.0.2.1 sent 4 wrong tokens within a minute: its next wrong tokens are refused with 429 until 2026-12-01T10:01:00.000Z (the right token is still accepted)',
      ),
    ]);
    expect(lines.join('\n')).not.toContain('wrong-token-0000000000');
    // A spray from many addresses: 60 lines, the rest counted and said at the minute's end, by
    // itself (the spray has stopped: no wrong token comes after it), once.
    lines.length = 0;
    vi.advanceTimersByTime(60_000);
    for (let i = 0; i < 70; i++) await wrong(`198.51.100.${i}`);
    expect(warns()).toHaveLength(60);
    vi.advanceTimersByTime(60_000);
    expect(warns().slice(60)).toEqual([
      expect.stringContaining('10 wrong-token lines left out of the log in the last minute (over 60 a minute)'),
    ]);
    vi.advanceTimersByTime(120_000);
    expect(warns()).toHaveLength(61);
    await wrong('203.0.113.9');
    expect(warns().slice(61)).toEqual([expect.stringContaining('wrong token from 203.0.113.9: answered 401')]);
  });

  it('never counts a request without a token, nor an answer that is not a 401', async () => {
    const limit = authFailureLimitStep(refusals(), { failuresPerMinute: 1, authenticator });
    for (let i = 0; i < 5; i++) expect((await limit(withToken(undefined), answer(401))).status).toBe(401);
    for (const status of [200, 400, 403, 409, 429, 500]) await limit(withToken('wrong-token-0000000000'), answer(status));
    expect((await limit(withToken('wrong-token-0000000000'), answer(401))).status).toBe(401);
    expect((await limit(withToken('wrong-token-0000000000'), answer(401))).status).toBe(429);
  });
});

describe('refusals', () => {
  it('log at INFO within a budget a minute, the rest at DEBUG; each once; the next minute starts a new budget', async () => {
    const lines: string[] = [];
    let now = 0;
    const refuse = refusals({ log: refusalLogBudget({ perMinute: 2, now: () => now }) });
    const ex = exchange({
      log: createLogger({ level: 'debug', format: 'text', destination: { write: (line: string) => lines.push(line) } }),
    });
    const refusal: Refusal = { reason: 'bad-host', status: 400, code: 'BAD_REQUEST', message: 'Bad Host header: expected host[:port]' };
    for (let i = 0; i < 3; i++) refuse(ex, refusal);
    now += 1_000;
    refuse(ex, refusal);
    now += 60_000;
    refuse(ex, refusal);
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['INFO', 'INFO', 'DEBUG', 'DEBUG', 'INFO', 'INFO']);
  });

  it('a sustained flood: at most 60 INFO lines a minute for every limit together, then one line saying how many were left out, by reason; the counts stay exact', async () => {
    const lines: Record<string, any>[] = [];
    let now = Date.parse('2026-01-05T10:00:00Z');
    const logger = createLogger({ level: 'info', format: 'json', destination: { write: (line: string) => lines.push(JSON.parse(line)) } });
    // No minute ends by itself here (timers by hand, never run): the next refusal says the count.
    const limits = limitCounter({ logger, now: () => now, later: () => () => {} });
    const refuse = refusals({ now: () => now, log: limits.log, onRefusal: (reason) => limits.add(reason) });
    const ex = exchange({ log: logger });
    const rateLimited: Refusal = {
      reason: 'rate-limited',
      status: 429,
      code: 'RATE_LIMITED',
      message: 'Too many failed authentication attempts',
    };
    // A minute of attack, 100 a second from the chain and 10 a second from the document limits.
    for (let second = 0; second < 60; second++, now += 1_000) {
      for (let i = 0; i < 100; i++) refuse(ex, rateLimited);
      for (let i = 0; i < 10; i++) limits.add('cost', 'request refused: cost');
    }
    expect(lines).toHaveLength(60);
    expect(limits.counts()).toEqual({ 'rate-limited': 6000, cost: 600 });
    // The first refusal of the next minute: the count of those left out, then its own line.
    refuse(ex, rateLimited);
    expect(lines.slice(60).map((l) => l.msg)).toEqual([
      '6540 refusal lines left out of the log in the minute from 2026-01-05T10:00:00.000Z (over 60 a minute; at DEBUG): rate-limited 5940, cost 600; control_plane_http_refusals_total counts every one',
      'request refused: Too many failed authentication attempts',
    ]);
    expect(lines[60]).toMatchObject({ level: 30, leftOut: 6540, byReason: { 'rate-limited': 5940, cost: 600 } });
    expect(limits.counts()).toEqual({ 'rate-limited': 6001, cost: 600 });
  });

  it("a flood that stops: the count of what was left out is said at the minute's end by itself, once", () => {
    const lines: Record<string, any>[] = [];
    const clock = manualClock(Date.parse('2026-01-05T10:00:00Z'));
    const logger = createLogger({ level: 'info', format: 'json', destination: { write: (line: string) => lines.push(JSON.parse(line)) } });
    const { advance } = clock;
    const limits = limitCounter({ logger, linesPerMinute: 3, now: clock.now, later: clock.later });
    for (let i = 0; i < 10; i++) limits.add('cost', 'request refused: cost');
    advance(1_000);
    expect(lines).toHaveLength(3);
    advance(58_999);
    expect(lines).toHaveLength(3);
    advance(1);
    expect(lines.slice(3).map((l) => l.msg)).toEqual([
      '7 refusal lines left out of the log in the minute from 2026-01-05T10:00:00.000Z (over 3 a minute; at DEBUG): cost 7; control_plane_http_refusals_total counts every one',
    ]);
    advance(120_000);
    expect(lines).toHaveLength(4);
    expect(clock.pending()).toBe(0);
    // The next refusal opens a minute of its own, logged at INFO.
    limits.add('cost', 'request refused: cost');
    expect(lines.at(-1)?.msg).toBe('request refused: cost');
  });
});
