import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createToken } from '../../src/auth/token-file.js';
import { MAX_REQUEST_BODY_BYTES as REST_BODY_LIMIT_BYTES } from '../../src/limit-defaults.js';
import { faultyAuditFs } from '../helpers/faulty-audit-fs.js';
import { faultyFileSystem } from '../helpers/faulty-fs.js';
import { ROOT, startTestServer, type TestServer } from '../helpers/server.js';

const run = promisify(execFile);

/** Runs curl as the seed note does; returns the body (parsed) and the HTTP status. */
async function curl(args: string[]): Promise<{ status: number; body: any; headers: string }> {
  const { stdout } = await run('curl', ['-s', '-i', ...args], { timeout: 10_000 });
  const [head = '', ...rest] = stdout.split('\r\n\r\n');
  const status = Number(/^HTTP\/[\d.]+ (\d+)/.exec(head)?.[1]);
  return { status, body: JSON.parse(rest.join('\r\n\r\n')), headers: head };
}

const readConfig = (server: TestServer) => readFile(path.join(server.runtimeDir, 'config.yaml'), 'utf8');

describe("the seed note's REST endpoints", () => {
  it('its verification steps, as written (same requests, same fields checked)', async () => {
    const server = await startTestServer();
    const base = server.origin;
    const auth = `Authorization: Bearer ${server.token}`;

    // Check Registry: curl -s .../api/strategies | python -m json.tool [| grep -A 10 "gold"]
    const registry = await curl([`${base}/api/strategies`]);
    expect(registry.status).toBe(200);
    const gold = registry.body.strategies.find((s: { key: string }) => s.key === 'gold');
    expect(Object.keys(gold).sort()).toEqual(
      // The seed's fields, and (presets) which kind of strategy it is.
      ['description', 'instruments', 'key', 'name', 'risk_level', 'session_preference', 'tunables', 'source', 'base'].sort(),
    );
    expect(gold).toMatchObject({ instruments: ['XAU_USD'], risk_level: 'high', session_preference: 'ny', source: 'static', base: null });
    expect(registry.body.strategies.map((s: { key: string }) => s.key)).toEqual([
      'momentum',
      'gold',
      'range',
      'eur_usd_5m_safe',
      'momentum_v2',
    ]);

    // Check Active Strategy: curl -s .../api/status | python -m json.tool | grep active_strategy_key
    const before = await curl([`${base}/api/status`]);
    expect(before.body.active_strategy_key).toBe('momentum');
    expect(before.body).toMatchObject({ config_version: 1, runner: { state: 'stopped', in_sync: false, applied_config_version: null } });
    expect(typeof before.body.updated_at).toBe('string');

    // Activate Strategy
    const activated = await curl([
      '-X',
      'POST',
      `${base}/api/strategy/activate`,
      '-H',
      auth,
      '-H',
      'Content-Type: application/json',
      '-d',
      '{"strategy_key": "gold"}',
    ]);
    expect(activated.status).toBe(200);
    expect(activated.body).toEqual({ active_strategy_key: 'gold', previous_strategy_key: 'momentum', config_version: 2, changed: true });

    // Verify activation
    const after = await curl([`${base}/api/status`]);
    expect(after.body.active_strategy_key).toBe('gold');
    expect(await readConfig(server)).toMatch(/^active_strategy_key: gold$/m);

    // Verify Validation: Expected HTTP 400, {"detail": "Invalid strategy key: invalid_strategy"}
    const onDisk = await readConfig(server);
    const invalid = await curl([
      '-X',
      'POST',
      `${base}/api/strategy/activate`,
      '-H',
      auth,
      '-H',
      'Content-Type: application/json',
      '-d',
      '{"strategy_key": "invalid_strategy"}',
    ]);
    expect(invalid.status).toBe(400);
    expect(invalid.body).toEqual({ detail: 'Invalid strategy key: invalid_strategy' });
    expect(await readConfig(server)).toBe(onDisk);

    // POST /api/config: { "active_strategy_key": "gold" }-style partial update -> the whole config
    const config = await curl([
      '-X',
      'POST',
      `${base}/api/config`,
      '-H',
      auth,
      '-H',
      'Content-Type: application/json',
      '-d',
      '{"active_strategy_key": "range", "scan_interval_seconds": 15}',
    ]);
    expect(config.status).toBe(200);
    expect(config.body).toMatchObject({
      active_strategy_key: 'range',
      trading_enabled: true,
      scan_interval_seconds: 15,
      tunable_overrides: {},
      version: 3,
    });
    expect((await curl([`${base}/api/status`])).body.active_strategy_key).toBe('range');
  });

  it('GET /api/status reports what the runner applied', async () => {
    const server = await startTestServer({ runner: { heartbeatMs: 200 } });
    await server.gql('mutation { activateStrategy(strategyKey: "gold", waitForRunner: true, timeoutMs: 20000) { configVersion } }');
    const status = await (await fetch(`${server.origin}/api/status`)).json();
    expect(status).toMatchObject({
      active_strategy_key: 'gold',
      config_version: 2,
      runner: { state: 'running', in_sync: true, applied_config_version: 2, applied_strategy_key: 'gold', error: null },
    });
    expect(Object.keys(status.runner).sort()).toEqual(
      ['applied_at', 'applied_config_version', 'applied_strategy_key', 'error', 'heartbeat_at', 'in_sync', 'last_scan_at', 'state'].sort(),
    );
  });

  it('same auth and errors as GraphQL, {"detail"} bodies, nothing written on a refusal', async () => {
    const server = await startTestServer();
    const url = (p: string) => `${server.origin}${p}`;
    const post = (p: string, body: string, token: string | null = server.token) =>
      fetch(url(p), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
        body,
      });
    const before = await readConfig(server);

    const noToken = await post('/api/strategy/activate', '{"strategy_key":"gold"}', null);
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await noToken.json()).toEqual({ detail: 'Authentication required' });
    expect((await post('/api/config', '{"trading_enabled":false}', 'wrong-token-0123456789abcdef')).status).toBe(401);

    const badValue = await post('/api/config', '{"scan_interval_seconds": 0}');
    expect(badValue.status).toBe(400);
    expect(await badValue.json()).toEqual({ detail: 'Invalid config: scan_interval_seconds: must be at least 1 second' });
    const unknownKey = await post('/api/config', '{"scan_every": 3}');
    expect(unknownKey.status).toBe(400);
    expect((await unknownKey.json()).detail).toContain('Unknown config key: scan_every');
    expect((await post('/api/config', '{"active_strategy_key": "nope"}')).status).toBe(400);
    expect((await post('/api/strategy/activate', '{}')).status).toBe(400);
    expect((await post('/api/strategy/activate', 'not json')).status).toBe(400);
    const tooBig = await post('/api/config', JSON.stringify({ tunable_overrides: { x: 'y'.repeat(REST_BODY_LIMIT_BYTES) } }));
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toEqual({ detail: `Request body too large: the limit is ${REST_BODY_LIMIT_BYTES} bytes` });

    const wrongMethod = await fetch(url('/api/strategies'), { method: 'POST' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(url('/api/strategy/activate'))).status).toBe(405);
    const unknown = await fetch(url('/api/strategies/reload'), { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ detail: 'Not Found' });

    expect(await readConfig(server)).toBe(before);
  });

  it('HEAD on the read routes answers as GET without the body; a body said to be something else than JSON is 415, written nowhere', async () => {
    const server = await startTestServer();
    for (const path of ['/api/status', '/api/strategies']) {
      const get = await fetch(`${server.origin}${path}`);
      const head = await fetch(`${server.origin}${path}`, { method: 'HEAD' });
      expect(head.status, path).toBe(200);
      expect(head.headers.get('content-type'), path).toBe(get.headers.get('content-type'));
      expect(head.headers.get('content-length'), path).toMatch(/^[1-9][0-9]*$/);
      expect(head.headers.get('content-length'), path).toBe(get.headers.get('content-length'));
      expect(head.headers.get('content-encoding'), path).toBe(get.headers.get('content-encoding'));
      expect((await get.json()) as object, path).not.toEqual({});
      expect((await head.arrayBuffer()).byteLength, path).toBe(0);
    }
    const before = await readConfig(server);
    const post = (contentType: string | null, body: string) =>
      fetch(`${server.origin}/api/strategy/activate`, {
        method: 'POST',
        // fetch adds text/plain to a string body unless told otherwise: a Blob without a type sends none.
        headers: { authorization: `Bearer ${server.token}`, ...(contentType !== null && { 'content-type': contentType }) },
        body: contentType === null ? new Blob([body]) : body,
      });
    for (const [contentType, got] of [
      ['text/plain', 'text/plain'],
      ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded'],
      ['TEXT/PLAIN; charset=utf-8', 'text/plain'],
    ]) {
      const res = await post(contentType as string, '{"strategy_key":"gold"}');
      expect(res.status, contentType).toBe(415);
      expect(await res.json()).toEqual({ detail: `Content-Type must be application/json, got ${got}` });
    }
    expect(await readConfig(server)).toBe(before);
    // JSON by name (any case, with parameters, a +json type) or no content type at all is read as JSON.
    for (const contentType of ['Application/JSON; charset=utf-8', 'application/vnd.api+json', null]) {
      const key = contentType === null ? 'momentum' : 'gold';
      const res = await post(contentType, JSON.stringify({ strategy_key: key }));
      expect(res.status, String(contentType)).toBe(200);
      expect((await res.json()).active_strategy_key).toBe(key);
    }
  });

  it('takes only its own keys from a body: __proto__, toString and constructor never pass by prototype lookup', async () => {
    const server = await startTestServer();
    const post = (p: string, body: string) =>
      fetch(`${server.origin}${p}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
        body,
      });
    const before = await readConfig(server);
    for (const key of ['__proto__', 'toString', 'constructor', 'hasOwnProperty', 'valueOf']) {
      const res = await post('/api/config', `{"${key}": {"scan_interval_seconds": 5}}`);
      expect(res.status, key).toBe(400);
      expect(await res.json()).toEqual({
        detail: `Unknown config key: ${key} (allowed: active_strategy_key, trading_enabled, scan_interval_seconds, tunable_overrides)`,
      });
    }
    const inherited = await post('/api/strategy/activate', '{"__proto__": {"strategy_key": "gold"}}');
    expect(inherited.status).toBe(400);
    expect(await inherited.json()).toEqual({ detail: 'Unknown key: __proto__ (allowed: strategy_key)' });
    expect(await readConfig(server)).toBe(before);
  });

  it('checks the token and its scope before the body: 401/403 to a caller without the right, whatever its body holds', async () => {
    const server = await startTestServer({ security: { authFailures: { failuresPerMinute: 100_000 } } });
    const tokens = {
      read: await createToken(server.runtimeDir, 'reader', 'read'),
      operate: await createToken(server.runtimeDir, 'ops', 'operate'),
    };
    const post = (route: string, body: string, token?: string) =>
      fetch(`${server.origin}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
        body,
      });
    const before = await readConfig(server);
    const cases: [route: string, body: string, below: string][] = [
      ['/api/config', '{"scan_interval_seconds":1.5}', tokens.operate],
      ['/api/config', '{"bogus":1}', tokens.operate],
      ['/api/config', '[]', tokens.operate],
      ['/api/strategy/activate', '{"strategy_key":5}', tokens.read],
      ['/api/strategy/activate', '{}', tokens.read],
    ];
    for (const [route, body, below] of cases) {
      const anonymous = await post(route, body);
      expect(anonymous.status, `${route} ${body}`).toBe(401);
      expect(anonymous.headers.get('www-authenticate'), route).toMatch(/^Bearer /);
      expect(await anonymous.json()).toEqual({ detail: 'Authentication required' });
      const refused = await post(route, body, below);
      expect(refused.status, `${route} ${body}`).toBe(403);
      expect((await refused.json()).detail).toMatch(/^Forbidden: requires scope (admin|operate)$/);
      const allowed = await post(route, body, server.token);
      expect(allowed.status, `${route} ${body}`).toBe(400);
    }
    expect(await readConfig(server)).toBe(before);
  });

  it("answers a value of the wrong type in its own snake_case terms, not GraphQL's variable wording", async () => {
    const server = await startTestServer();
    const post = (body: object) =>
      fetch(`${server.origin}/api/config`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
        body: JSON.stringify(body),
      });
    const before = await readConfig(server);
    const cases: [object, string][] = [
      [{ scan_interval_seconds: '15' }, 'Invalid config: scan_interval_seconds: must be a whole number of seconds, got "15"'],
      [{ scan_interval_seconds: 1.5 }, 'Invalid config: scan_interval_seconds: must be a whole number of seconds'],
      // Outside GraphQL's Int, and over the bound: the same words (the first lacked the prefix).
      [{ scan_interval_seconds: 3_000_000_000 }, 'Invalid config: scan_interval_seconds: must be at most 86400 seconds (one day)'],
      [{ scan_interval_seconds: 100_000 }, 'Invalid config: scan_interval_seconds: must be at most 86400 seconds (one day)'],
      [{ trading_enabled: 'yes' }, 'Invalid config: trading_enabled: must be true or false, got "yes"'],
      [{ active_strategy_key: 5 }, 'Invalid config: active_strategy_key: must be a strategy key, got 5'],
      // The domain's checks too (GraphQL names these fields in camelCase): one spelling whichever check refused.
      [{ scan_interval_seconds: 0 }, 'Invalid config: scan_interval_seconds: must be at least 1 second'],
      [
        { tunable_overrides: { gold: { nope: 1 } } },
        'Invalid config: tunable_overrides.gold.nope: unknown tunable "nope" for strategy "gold" (known: fast_ma_period, slow_ma_period, min_separation_pct, atr_period, stop_loss_atr)',
      ],
    ];
    for (const [body, detail] of cases) {
      const res = await post(body);
      expect(res.status, detail).toBe(400);
      expect(await res.json()).toEqual({ detail });
    }
    // The activate route too: a key of the wrong type was answered "strategy_key is required".
    const activate = await fetch(`${server.origin}/api/strategy/activate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
      body: JSON.stringify({ strategy_key: 5 }),
    });
    expect(activate.status).toBe(400);
    expect(await activate.json()).toEqual({ detail: 'strategy_key must be a strategy key as text (e.g. "gold"), got 5' });
    expect(await readConfig(server)).toBe(before);
  });

  it('refuses a key a route does not take, on every body route: a script sending expected_version is not silently overwriting', async () => {
    const server = await startTestServer();
    const post = (p: string, body: object) =>
      fetch(`${server.origin}${p}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
        body: JSON.stringify(body),
      });
    const before = await readConfig(server);
    for (const extra of [{ expected_version: 1 }, { expectedVersion: 1 }, { extra: 1 }]) {
      const [key] = Object.keys(extra);
      const activate = await post('/api/strategy/activate', { strategy_key: 'range', ...extra });
      expect(activate.status, key).toBe(400);
      expect(await activate.json()).toEqual({ detail: `Unknown key: ${key} (allowed: strategy_key)` });
      const config = await post('/api/config', { scan_interval_seconds: 20, ...extra });
      expect(config.status, key).toBe(400);
      expect(await config.json()).toEqual({
        detail: `Unknown config key: ${key} (allowed: active_strategy_key, trading_enabled, scan_interval_seconds, tunable_overrides)`,
      });
    }
    expect(await readConfig(server)).toBe(before);
    expect((await server.gql('{ status { configVersion } }')).body.data).toEqual({ status: { configVersion: 1 } });
  });

  it('quotes an unknown key as /graphql quotes a name: cut to 60 characters, hidden characters shown as \\u…, never a detail over 500', async () => {
    const server = await startTestServer();
    const post = (p: string, body: object) =>
      fetch(`${server.origin}${p}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
        body: JSON.stringify(body),
      });
    const before = await readConfig(server);
    const long = 'k'.repeat(700);
    const bidi = '\u202Edlog';
    for (const [key, shown] of [
      [long, `${'k'.repeat(59)}…`],
      [bidi, '\\u202Edlog'],
    ] as const) {
      const activate = await post('/api/strategy/activate', { strategy_key: 'range', [key]: 1 });
      expect(activate.status).toBe(400);
      const activateDetail = ((await activate.json()) as { detail: string }).detail;
      expect(activateDetail).toBe(`Unknown key: ${shown} (allowed: strategy_key)`);
      const config = await post('/api/config', { scan_interval_seconds: 20, [key]: 1 });
      expect(config.status).toBe(400);
      const configDetail = ((await config.json()) as { detail: string }).detail;
      expect(configDetail).toBe(
        `Unknown config key: ${shown} (allowed: active_strategy_key, trading_enabled, scan_interval_seconds, tunable_overrides)`,
      );
      for (const detail of [activateDetail, configDetail]) {
        expect(detail.length).toBeLessThanOrEqual(500);
        expect(detail).not.toContain('\u202E');
      }
    }
    expect(await readConfig(server)).toBe(before);
  });

  it('a failed write answers as on /graphql (503, no Retry-After: a disk needs an operator), in the words README quotes', async () => {
    const disk = faultyFileSystem();
    const audit = faultyAuditFs(disk);
    const server = await startTestServer({ fs: audit.fs });
    const before = await readConfig(server);
    const activate = () =>
      fetch(`${server.origin}/api/strategy/activate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
        body: '{"strategy_key": "gold"}',
      });
    const answers = [];
    disk.inject('rename', 'ENOSPC');
    answers.push({ rest: await activate(), graphql: await server.gql('mutation { activateStrategy(strategyKey: "gold") { changed } }') });
    disk.heal();
    audit.fail('append', 'EIO');
    answers.push({ rest: await activate(), graphql: await server.gql('mutation { activateStrategy(strategyKey: "gold") { changed } }') });
    for (const { rest, graphql } of answers) {
      expect(graphql.status).toBe(503);
      expect(graphql.headers.get('retry-after')).toBeNull();
      expect(rest.status).toBe(503);
      expect(rest.headers.get('retry-after')).toBeNull();
      expect(await rest.json()).toEqual({ detail: graphql.body.errors?.[0]?.message });
    }
    expect(await readConfig(server)).toBe(before);

    // README quotes what the server says (DESIGN's table), not a message no code sends.
    const message = answers[0]?.graphql.body.errors?.[0]?.message;
    expect(message).toBe('Config could not be written');
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const rows = readme.split('\n').filter((line) => line.startsWith('|') && line.includes('`CONFIG_WRITE_FAILED`'));
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row).toContain(`\`${message}\``);
    const auditSection = readme.slice(readme.indexOf('## Audit trail'), readme.indexOf('## History and rollback'));
    expect(auditSection.replaceAll('\n', ' ')).toContain(`\`${message}\`, \`CONFIG_WRITE_FAILED\` (HTTP 503)`);
    expect(readme).not.toMatch(/Could not (save the config|record the change)/);
  });
});
