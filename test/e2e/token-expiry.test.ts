import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tokenDigest } from '../../src/auth/token-file.js';
import { createLogger } from '../../src/log.js';
import { startTestServer } from '../helpers/server.js';
import { openSse } from '../helpers/sse.js';
import { STORE_BACKENDS } from '../helpers/store-backends.js';
import { stratctl } from '../helpers/stratctl.js';

const READ = '{ status { configVersion } }';
const HOUR = 3_600_000;

/** The server's clock, moved by hand (ControlPlaneOptions.now): expiry is judged against it at each request. */
function movableClock() {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance: (ms: number) => {
      offset += ms;
    },
  };
}

const challenge = (expiredAt: string) =>
  `Bearer realm="strategy-control-plane", error="invalid_token", error_description="the token expired at ${expiredAt}"`;

// Named tokens with an expiry, through the real CLI on a real server's store (tokens.yaml, or etcd's
// tokens/<name> records): accepted until their expires_at by the server's clock, refused from then
// on like a wrong token (401) but saying when, in the challenge and in extensions.expiredAt.
for (const backend of STORE_BACKENDS) {
  backend.describe(`named token expiry (${backend.name} store)`, () => {
    it('create --expires-in: accepted before, 401 saying when after; list shows EXPIRES; a token without expiry goes on', async () => {
      const clock = movableClock();
      const server = await backend.start({ runner: false, now: clock.now });
      const args = server.storeArgs;
      const created = await stratctl(['token', 'create', '--name', 'ci', '--scope', 'read', '--expires-in', '2h', '--json', ...args]);
      expect(created.code, created.stderr).toBe(0);
      const { token, expiresAt } = JSON.parse(created.stdout);
      const forever = (await stratctl(['token', 'create', '--name', 'desk', '--scope', 'read', ...args])).stdout.trim();

      const listed = JSON.parse((await stratctl(['token', 'list', '--json', ...args])).stdout);
      const ci = listed.find((t: { name: string }) => t.name === 'ci');
      expect(ci.expiresAt).toBe(expiresAt);
      // Exactly the lifetime asked for, from the created_at the store wrote.
      expect(Date.parse(ci.expiresAt) - Date.parse(ci.createdAt)).toBe(2 * HOUR);
      expect(listed.find((t: { name: string }) => t.name === 'desk').expiresAt).toBeNull();
      const table = (await stratctl(['token', 'list', ...args])).stdout;
      expect(table).toMatch(/^NAME +SCOPE +CREATED +EXPIRES$/m);
      expect(table).toMatch(new RegExp(`^ci +read +\\S+ +${expiresAt.replaceAll('.', '\\.')}$`, 'm'));
      expect(table).toMatch(/^desk +read +\S+ +never$/m);

      expect((await server.gql(READ, undefined, token)).status).toBe(200);
      // Prometheus: seconds to each expiry, by the server's clock; a token without one has no series.
      const gauge = async () =>
        (await (await fetch(new URL('/metrics', server.url))).text())
          .split('\n')
          .filter((l) => l.startsWith('control_plane_token_expiry_seconds'));
      const [series, ...more] = await gauge();
      expect(more).toEqual([]);
      const seconds = Number(/^control_plane_token_expiry_seconds\{name="ci"\} (\S+)$/.exec(series ?? '')?.[1]);
      expect(seconds).toBeGreaterThan(2 * 3600 - 60);
      expect(seconds).toBeLessThanOrEqual(2 * 3600);
      clock.advance(2 * HOUR - 60_000);
      expect((await server.gql(READ, undefined, token)).status).toBe(200);
      clock.advance(60_000);
      const refused = await server.gql(READ, undefined, token);
      expect(refused.status).toBe(401);
      expect(await gauge()).toEqual([expect.stringMatching(/^control_plane_token_expiry_seconds\{name="ci"\} (-\d|0)/)]);
      expect(refused.headers.get('www-authenticate')).toBe(challenge(expiresAt));
      expect(refused.body.errors).toEqual([
        { message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED', expiredAt: expiresAt } },
      ]);
      expect(JSON.stringify(refused.body) + refused.headers.get('www-authenticate')).not.toContain(token);
      // A mutation and the REST routes say the same.
      const mutation = await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }', undefined, token);
      expect([mutation.status, mutation.headers.get('www-authenticate')]).toEqual([401, challenge(expiresAt)]);
      const rest = await fetch(new URL('/api/status', server.url), { headers: { authorization: `Bearer ${token}` } });
      expect([rest.status, rest.headers.get('www-authenticate')]).toEqual([401, challenge(expiresAt)]);
      const metrics = await fetch(new URL('/metrics', server.url), { headers: { authorization: `Bearer ${token}` } });
      expect([metrics.status, metrics.headers.get('www-authenticate')]).toEqual([401, challenge(expiresAt)]);
      // stratctl says it expired and what to do, not "pass --token" (the token was passed, and was right).
      const cli = await stratctl(['status', '--url', server.url, '--token', token]);
      expect(cli.code).toBe(3);
      expect(cli.stderr).toContain(`The token expired at ${expiresAt}: get a new secret`);
      expect(cli.stderr).not.toContain('Pass --token');
      // --json says it too: the time, beside the API's code (it printed a bare "Authentication required").
      const json = await stratctl(['status', '--json', '--url', server.url, '--token', token]);
      expect(json.code).toBe(3);
      expect(JSON.parse(json.stdout)).toEqual({
        error: { code: 'UNAUTHENTICATED', message: 'Authentication required', expiredAt: expiresAt },
      });

      // The token without an expiry is not touched by the clock.
      clock.advance(3650 * 24 * HOUR);
      expect((await server.gql(READ, undefined, forever)).status).toBe(200);
    });

    it('rotate keeps the lifetime the old secret was created with, counted from now; --expires-at sets a new one', async () => {
      const clock = movableClock();
      const server = await backend.start({ runner: false, now: clock.now });
      const args = server.storeArgs;
      expect((await stratctl(['token', 'create', '--name', 'ci', '--scope', 'operate', '--expires-in', '90d', ...args])).code).toBe(0);
      const rotated = await stratctl(['token', 'rotate', 'ci', '--json', ...args]);
      expect(rotated.code, rotated.stderr).toBe(0);
      const answer = JSON.parse(rotated.stdout);
      const [listed] = JSON.parse((await stratctl(['token', 'list', '--json', ...args])).stdout);
      expect(answer.expiresAt).toBe(listed.expiresAt);
      expect(Date.parse(listed.expiresAt) - Date.parse(listed.createdAt)).toBe(90 * 24 * HOUR);
      expect(rotated.stderr).toContain(`(scope operate, expires at ${listed.expiresAt}) rotated`);
      expect((await server.gql(READ, undefined, answer.token)).status).toBe(200);

      const at = new Date(Date.now() + 5 * HOUR).toISOString();
      const again = await stratctl(['token', 'rotate', 'ci', '--expires-at', at, '--json', ...args]);
      expect(again.code, again.stderr).toBe(0);
      const second = JSON.parse(again.stdout);
      expect(second.expiresAt).toBe(at);
      expect(JSON.parse((await stratctl(['token', 'list', '--json', ...args])).stdout)[0].expiresAt).toBe(at);
      expect((await server.gql(READ, undefined, second.token)).status).toBe(200);
      clock.advance(5 * HOUR);
      const refused = await server.gql(READ, undefined, second.token);
      expect([refused.status, refused.body.errors?.[0]?.extensions?.expiredAt]).toEqual([401, at]);

      // A token made without an expiry keeps none across a rotation.
      expect((await stratctl(['token', 'create', '--name', 'desk', '--scope', 'read', ...args])).code).toBe(0);
      const plain = JSON.parse((await stratctl(['token', 'rotate', 'desk', '--json', ...args])).stdout);
      expect(plain.expiresAt).toBeNull();
      clock.advance(3650 * 24 * HOUR);
      expect((await server.gql(READ, undefined, plain.token)).status).toBe(200);
    });

    it('rotate --no-expiry drops the expiry the old secret had: the new one is accepted past it, listed as never', async () => {
      const clock = movableClock();
      const server = await backend.start({ runner: false, now: clock.now });
      const args = server.storeArgs;
      expect((await stratctl(['token', 'create', '--name', 'ci', '--scope', 'operate', '--expires-in', '2h', ...args])).code).toBe(0);
      const rotated = await stratctl(['token', 'rotate', 'ci', '--no-expiry', '--json', ...args]);
      expect(rotated.code, rotated.stderr).toBe(0);
      const answer = JSON.parse(rotated.stdout);
      expect(answer).toMatchObject({ name: 'ci', scope: 'operate', expiresAt: null });
      expect(rotated.stderr).toContain('token "ci" (scope operate) rotated');
      const [listed] = JSON.parse((await stratctl(['token', 'list', '--json', ...args])).stdout);
      expect(listed).toMatchObject({ name: 'ci', scope: 'operate', expiresAt: null });
      expect((await stratctl(['token', 'list', ...args])).stdout).toMatch(/^ci +operate +\S+ +never$/m);
      // Past the old expiry (and long after): still accepted; no expiry gauge for it.
      clock.advance(3 * HOUR);
      expect((await server.gql(READ, undefined, answer.token)).status).toBe(200);
      expect(await (await fetch(new URL('/metrics', server.url))).text()).not.toContain('control_plane_token_expiry_seconds{');
      // A later plain rotation keeps "none"; create takes --no-expiry too (its default).
      const plain = JSON.parse((await stratctl(['token', 'rotate', 'ci', '--json', ...args])).stdout);
      expect(plain.expiresAt).toBeNull();
      const desk = await stratctl(['token', 'create', '--name', 'desk', '--scope', 'read', '--no-expiry', '--json', ...args]);
      expect([desk.code, JSON.parse(desk.stdout).expiresAt], desk.stderr).toEqual([0, null]);
      clock.advance(3650 * 24 * HOUR);
      expect((await server.gql(READ, undefined, plain.token)).status).toBe(200);
    });
  });
}

describe('named token expiry: the failed-auth limit, subscriptions, flags, old files', () => {
  it('an expired token is not counted toward the failed-auth limit (nor refused with 429): its address keeps its budget for wrong tokens', async () => {
    const clock = movableClock();
    const server = await startTestServer({ runner: false, now: clock.now, security: { authFailures: { failuresPerMinute: 2 } } });
    const created = await stratctl([
      'token',
      'create',
      '--name',
      'ci',
      '--scope',
      'read',
      '--expires-in',
      '1h',
      '--runtime-dir',
      server.runtimeDir,
    ]);
    const token = created.stdout.trim();
    clock.advance(HOUR);
    // A CI job retrying with its expired token: each answered 401 saying so, never 429.
    for (let i = 0; i < 5; i++) {
      const res = await server.gql(READ, undefined, token);
      expect([res.status, res.body.errors?.[0]?.extensions?.code]).toEqual([401, 'UNAUTHENTICATED']);
    }
    const metrics = await (await fetch(new URL('/metrics', server.url))).text();
    expect(metrics).toMatch(/^control_plane_auth_failures_total 0$/m);
    // The budget is intact: two wrong tokens are 401, the third 429 (the limit works as before).
    expect((await server.gql(READ, undefined, 'wrong-token-0123456789')).status).toBe(401);
    expect((await server.gql(READ, undefined, 'wrong-token-0123456789')).status).toBe(401);
    expect((await server.gql(READ, undefined, 'wrong-token-0123456789')).status).toBe(429);
    // Over the limit, the expired token is still told it expired (it is no guess), and the admin token works.
    const late = await server.gql(READ, undefined, token);
    expect([late.status, late.body.errors?.[0]?.extensions?.expiredAt]).toEqual([401, expect.stringMatching(/Z$/)]);
    expect((await server.gql(READ)).status).toBe(200);
  });

  it('a subscription open with a token that expires is ended like a revoked one (UNAUTHENTICATED, saying when, then complete)', async () => {
    const clock = movableClock();
    const server = await startTestServer({ runner: false, now: clock.now, security: { tokenRecheckMs: 50 } });
    const created = await stratctl([
      'token',
      'create',
      '--name',
      'desk',
      '--scope',
      'read',
      '--expires-in',
      '30m',
      '--json',
      '--runtime-dir',
      server.runtimeDir,
    ]);
    const { token, expiresAt } = JSON.parse(created.stdout);
    const other = (
      await stratctl(['token', 'create', '--name', 'other', '--scope', 'read', '--runtime-dir', server.runtimeDir])
    ).stdout.trim();
    const expiring = await openSse(server.url, 'subscription { statusChanged { configVersion } }', { token });
    const kept = await openSse(server.url, 'subscription { statusChanged { configVersion } }', { token: other });
    await Promise.all([expiring.ready, kept.ready]);
    expect(expiring.response.status).toBe(200);
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    expect((await expiring.take(1)).map((e) => e.data)).toEqual([{ data: { statusChanged: { configVersion: 2 } } }]);

    clock.advance(30 * 60_000);
    const events = await expiring.ended;
    expect(events.slice(1).map((e) => [e.event, e.data])).toEqual([
      ['next', { errors: [{ message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED', expiredAt: expiresAt } }] }],
      ['complete', null],
    ]);
    await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    expect((await kept.take(2)).map((e) => e.data)).toEqual([
      { data: { statusChanged: { configVersion: 2 } } },
      { data: { statusChanged: { configVersion: 3 } } },
    ]);
    kept.close();
  });

  it('nonsense flags: exit 2 with one line naming the flag, and tokens.yaml unchanged', async () => {
    const server = await startTestServer({ runner: false });
    const dir = server.runtimeDir;
    expect((await stratctl(['token', 'create', '--name', 'keep', '--scope', 'read', '--runtime-dir', dir])).code).toBe(0);
    const file = path.join(dir, 'tokens.yaml');
    const before = await readFile(file, 'utf8');
    const past = new Date(Date.now() - 60_000).toISOString();
    const cases: [string[], RegExp][] = [
      [['--expires-in', '0d'], /--expires-in must be more than zero, not "0d"/],
      [['--expires-in=-5d'], /--expires-in must be a whole number of days, hours or minutes \(90d, 12h, 30m\), not "-5d"/],
      [['--expires-in', 'soon'], /--expires-in must be a whole number of days, hours or minutes/],
      [['--expires-in', '1.5d'], /--expires-in must be a whole number/],
      [['--expires-in', '99999999999d'], /--expires-in must be at most 3650d/],
      [['--expires-at', past], /--expires-at must be in the future/],
      [['--expires-at', 'tomorrow'], /--expires-at must be an ISO 8601 time with its zone/],
      [['--expires-at', '2030-01-01T00:00:00'], /--expires-at must be an ISO 8601 time with its zone/],
      // A day the calendar lacks: it was taken as the day after the month's last (March 2nd).
      [
        ['--expires-at', '2030-02-30T00:00:00Z'],
        /--expires-at must be an ISO 8601 time with its zone, e\.g\. .*, not "2030-02-30T00:00:00Z"/,
      ],
      [['--expires-in', '1d', '--expires-at', '2030-01-01T00:00:00Z'], /give --expires-in or --expires-at, not both/],
      [['--expires-in', '1d', '--no-expiry'], /give --expires-in or --no-expiry, not both/],
      [['--no-expiry', '--expires-at', '2030-01-01T00:00:00Z'], /give --expires-at or --no-expiry, not both/],
    ];
    for (const [flags, message] of cases) {
      for (const command of [
        ['token', 'create', '--name', 'new', '--scope', 'read'],
        ['token', 'rotate', 'keep'],
      ]) {
        const res = await stratctl([...command, ...flags, '--runtime-dir', dir]);
        expect([res.code, res.stdout], `${command[1]} ${flags.join(' ')}`).toEqual([2, '']);
        const [first] = res.stderr.split('\n');
        expect(first).toMatch(new RegExp(`^stratctl token ${command[1]}: ${message.source}`));
      }
    }
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('rotate refuses to keep a lifetime past 3650 days (a hand-written 9999-12-31 "never"): exit 2 naming the flags, tokens.yaml unchanged, every token still accepted', async () => {
    const server = await startTestServer({ runner: false });
    const dir = server.runtimeDir;
    const kept = await stratctl(['token', 'create', '--name', 'keep', '--scope', 'read', '--runtime-dir', dir]);
    expect(kept.code, kept.stderr).toBe(0);
    const keep = kept.stdout.trim();
    const file = path.join(dir, 'tokens.yaml');
    const forever = 'forever-token-0123456789abcdefghijkl';
    const entry = `  - name: forever\n    scope: read\n    sha256: ${tokenDigest(forever)}\n    created_at: "2026-01-01T00:00:00Z"\n    expires_at: "9999-12-31T00:00:00Z"\n`;
    // Written whole, as an operator's script would (a temp file renamed into place).
    await writeFile(`${file}.tmp`, `${await readFile(file, 'utf8')}${entry}`, { mode: 0o600 });
    await rename(`${file}.tmp`, file);
    await expect.poll(async () => (await server.gql(READ, undefined, forever)).status, { timeout: 5_000 }).toBe(200);
    const before = await readFile(file, 'utf8');

    const refused = await stratctl(['token', 'rotate', 'forever', '--runtime-dir', dir]);
    expect([refused.code, refused.stdout]).toEqual([2, '']);
    expect(refused.stderr.split('\n')[0]).toMatch(
      /^stratctl token rotate: token "forever" was given a lifetime of \d+ days \(created_at 2026-01-01T00:00:00Z, expires_at 9999-12-31T00:00:00Z\), longer than the 3650 days a token may be given: give --expires-in, --expires-at or --no-expiry; nothing changed$/,
    );
    const json = await stratctl(['token', 'rotate', 'forever', '--json', '--runtime-dir', dir]);
    expect([json.code, JSON.parse(json.stdout).error.code]).toEqual([2, 'BAD_USER_INPUT']);
    expect(await readFile(file, 'utf8')).toBe(before);
    // Nothing broke: both secrets accepted, no warning on /ready, and the CLI still reads the file.
    expect((await server.gql(READ, undefined, keep)).status).toBe(200);
    expect((await server.gql(READ, undefined, forever)).status).toBe(200);
    expect(JSON.stringify(await (await fetch(new URL('/ready', server.url))).json())).not.toContain('tokens.yaml');
    expect((await stratctl(['token', 'list', '--runtime-dir', dir])).code).toBe(0);

    // What the refusal names works.
    const never = await stratctl(['token', 'rotate', 'forever', '--no-expiry', '--json', '--runtime-dir', dir]);
    expect([never.code, JSON.parse(never.stdout).expiresAt], never.stderr).toEqual([0, null]);
    expect((await server.gql(READ, undefined, JSON.parse(never.stdout).token)).status).toBe(200);
    expect((await server.gql(READ, undefined, keep)).status).toBe(200);
  });

  it('tokens.yaml written before expiry existed (no expires_at) is valid; a hand-written expires_at that is not a time refuses the file (fail closed)', async () => {
    const raw: string[] = [];
    const logger = createLogger({ level: 'warn', format: 'json', destination: { write: (line) => raw.push(line) } });
    const server = await startTestServer({ runner: false, logger });
    const file = path.join(server.runtimeDir, 'tokens.yaml');
    const token = 'old-style-token-0123456789abcdefghij';
    const old = `tokens:\n  - name: legacy\n    scope: read\n    sha256: ${tokenDigest(token)}\n    created_at: "2024-01-01T00:00:00.000Z"\n`;
    await writeFile(file, old, { mode: 0o600 });
    await expect.poll(async () => (await server.gql(READ, undefined, token)).status, { timeout: 5_000 }).toBe(200);
    const listed = await stratctl(['token', 'list', '--json', '--runtime-dir', server.runtimeDir]);
    expect(JSON.parse(listed.stdout)).toEqual([{ name: 'legacy', scope: 'read', createdAt: '2024-01-01T00:00:00.000Z', expiresAt: null }]);

    // One written by hand with an expiry in the past (by the clock of the server and of stratctl alike):
    // refused saying when, as written; listed as expired.
    const lapsed = 'lapsed-token-0123456789abcdefghijkl';
    const withLapsed = `${old}  - name: lapsed\n    scope: read\n    sha256: ${tokenDigest(lapsed)}\n    created_at: "2024-01-01T00:00:00Z"\n    expires_at: 2024-06-01T00:00:00+02:00\n`;
    await writeFile(file, withLapsed, { mode: 0o600 });
    await expect.poll(async () => (await server.gql(READ, undefined, lapsed)).status, { timeout: 5_000 }).toBe(401);
    expect((await server.gql(READ, undefined, lapsed)).body.errors?.[0]?.extensions?.expiredAt).toBe('2024-06-01T00:00:00+02:00');
    expect((await server.gql(READ, undefined, token)).status).toBe(200);
    const table = (await stratctl(['token', 'list', '--runtime-dir', server.runtimeDir])).stdout;
    expect(table).toMatch(/^lapsed +read +2024-01-01T00:00:00Z +2024-06-01T00:00:00\+02:00 \(expired\)$/m);
    expect(table).toMatch(/^legacy +read +2024-01-01T00:00:00.000Z +never$/m);

    // A typo in expires_at must not mean "never expires": the file is refused as it stands.
    await writeFile(file, `${old}    expires_at: "next tuesday"\n`, { mode: 0o600 });
    await expect.poll(async () => (await server.gql(READ, undefined, token)).status, { timeout: 5_000 }).toBe(401);
    const ready = await (await fetch(new URL('/ready', server.url))).json();
    expect(JSON.stringify(ready)).toContain('expires_at: must be an ISO 8601 time with its zone');
    expect(raw.join('')).toContain('must be an ISO 8601 time with its zone');

    // Nor may a day the calendar lacks mean another one (Date.parse took February 31st as March 3rd).
    await writeFile(file, old, { mode: 0o600 });
    await expect.poll(async () => (await server.gql(READ, undefined, token)).status, { timeout: 5_000 }).toBe(200);
    await writeFile(file, `${old}    expires_at: "2031-02-31T00:00:00Z"\n`, { mode: 0o600 });
    await expect.poll(async () => (await server.gql(READ, undefined, token)).status, { timeout: 5_000 }).toBe(401);
    expect(JSON.stringify(await (await fetch(new URL('/ready', server.url))).json())).toContain(
      'expires_at: must be an ISO 8601 time with its zone',
    );
  });
});
