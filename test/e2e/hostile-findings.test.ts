import { appendFile, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { parseAuditEntry } from '../../src/config/audit-entry.js';
import { createLogger } from '../../src/log.js';
import type { RunnerState } from '../../src/runner/state.js';
import { fileRunnerStatePublisher } from '../../src/runner/state-file.js';
import { eventLines } from '../helpers/http.js';
import { chunked, json, rawRequest } from '../helpers/raw-http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnStratctl, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Issue 14's findings that the foundation had already fixed at their mechanism: for each, the
 * probe's exact reproduction, then a generated variant. (The others have their own files:
 * cost, connections, runtime-files, subscriptions-hostile, response-size.)
 */

const STACK = /\n\s+at |\.ts:\d+|node_modules|\/work\/|\/tmp\//;
const ACTIVATE = 'mutation($k: String!) { activateStrategy(strategyKey: $k) { configVersion } }';
const auditLines = async (server: TestServer) =>
  (await readFile(path.join(server.runtimeDir, 'audit.log'), 'utf8')).split('\n').filter((l) => l.trim() !== '');
const VALID = (key: string, version: number, interval = 30) =>
  `active_strategy_key: ${key}\ntrading_enabled: true\nscan_interval_seconds: ${interval}\ntunable_overrides: {}\nversion: ${version}\nupdated_at: 2026-11-28T00:00:00Z\n`;

describe('finding 2: a bad Host or request target answered a 500 with a stack, as text', () => {
  it('the reproduction: Host `[`, `a b`, `x:99999`; target `*` and an absolute URL: 400 as JSON, nothing internal', async () => {
    const server = await startTestServer();
    const cases = [
      'GET /graphql HTTP/1.1\r\nHost: [\r\n',
      'GET /graphql HTTP/1.1\r\nHost: a b\r\n',
      'GET /graphql HTTP/1.1\r\nHost: x:99999\r\n',
      'OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n',
      'GET http://127.0.0.1:8787/graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n',
    ];
    for (const head of cases) {
      const res = await rawRequest(server.origin, `${head}Connection: close\r\n\r\n`);
      expect(res.status, head).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(json(res).errors[0].extensions.code).toBe('BAD_REQUEST');
      expect(res.body.toString()).not.toMatch(STACK);
    }
  });

  it('generated: any Host header and any request target: an answer as JSON (2xx, 400, 404, 405, 421), never a 5xx or a stack', async () => {
    const server = await startTestServer();
    const printable = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });
    const host = fc.oneof(printable, fc.constantFrom('localhost', '127.0.0.1:1', '[::1]:80', '[::1', 'a b', 'x:', ':', '[]', '1.2.3.4.5'));
    const target = fc.oneof(
      printable.map((p) => `/${p}`),
      printable,
      fc.constantFrom('*', '//x', 'http://a/', '/graphql?query=%7B', '/health?', '/api/%00'),
    );
    await fc.assert(
      fc.asyncProperty(host, target, fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS', 'DELETE'), async (h, t, method) => {
        const res = await rawRequest(
          server.origin,
          `${method} ${t} HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
        );
        expect(res.status, `${method} ${t} Host: ${h}`).toBeLessThan(500);
        expect(res.status).toBeGreaterThan(0);
        if (method !== 'HEAD' && res.body.length > 0 && res.status >= 400) {
          expect(res.headers['content-type']).toMatch(/json/);
          expect(res.body.toString()).not.toMatch(STACK);
        }
      }),
      { numRuns: 150, seed: 2 },
    );
    expect((await fetch(`${server.origin}/health`)).status).toBe(200);
  });
});

describe('finding 6: a hand edit could lower `version`, and the API then reused version numbers', () => {
  it('the reproduction: after a hand edit to version 1, versions go on from the last audited one; no version is audited twice', async () => {
    const server = await startTestServer();
    await server.gql(ACTIVATE, { k: 'gold' }); // 2
    await server.gql(ACTIVATE, { k: 'range' }); // 3
    await writeFile(path.join(server.runtimeDir, 'config.yaml'), VALID('momentum', 1));
    await server.store.refresh();
    expect((await server.gql('{ status { configVersion activeStrategyKey } }')).body.data?.status).toEqual({
      configVersion: 4,
      activeStrategyKey: 'momentum',
    });
    expect((await server.gql(ACTIVATE, { k: 'gold' })).body.data?.activateStrategy.configVersion).toBe(5);
    // expectedVersion is not open to ABA: the old number 2 is never current again.
    const stale = await server.gql('mutation { activateStrategy(strategyKey: "range", expectedVersion: 2) { configVersion } }');
    expect(stale.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const versions = (await auditLines(server)).map((l) => JSON.parse(l).version);
    expect(versions).toEqual([1, 2, 3, 4, 5]);
  });

  it('generated: API changes and hand edits with any version: audited versions strictly increase, status never goes back', async () => {
    const server = await startTestServer();
    const keys = ['momentum', 'gold', 'range', 'eur_usd_5m_safe', 'momentum_v2'];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('api' as const), key: fc.constantFrom(...keys) }),
      fc.record({
        kind: fc.constant('hand' as const),
        key: fc.constantFrom(...keys),
        version: fc.integer({ min: 1, max: 12 }),
        interval: fc.integer({ min: 1, max: 600 }),
      }),
      fc.constant({ kind: 'same-again' as const }),
    );
    let lastSeen = 1;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 6 }), async (ops) => {
        for (const o of ops) {
          const file = path.join(server.runtimeDir, 'config.yaml');
          if (o.kind === 'api') await server.gql(ACTIVATE, { k: o.key });
          else if (o.kind === 'hand') await writeFile(file, VALID(o.key, o.version, o.interval));
          else await writeFile(file, await readFile(file));
          await server.store.refresh();
          const version = (await server.gql('{ status { configVersion } }')).body.data?.status.configVersion as number;
          expect(version).toBeGreaterThanOrEqual(lastSeen);
          lastSeen = version;
        }
        const versions = (await auditLines(server)).map((l) => JSON.parse(l).version as number);
        for (let i = 1; i < versions.length; i++) expect(versions[i]).toBeGreaterThan(versions[i - 1]!);
        expect(versions.at(-1)).toBe(lastSeen);
      }),
      { numRuns: 12, seed: 6 },
    );
  }, 60_000);
});

describe('finding 9: a torn line appended to audit.log while the server ran swallowed the next real entry', () => {
  it('the reproduction: `{"time":"2026` appended by hand, then an activation: its entry is a whole line of its own', async () => {
    const server = await startTestServer();
    await appendFile(path.join(server.runtimeDir, 'audit.log'), '{"time":"2026');
    expect((await server.gql(ACTIVATE, { k: 'gold' })).status).toBe(200);
    const lines = await auditLines(server);
    expect(lines.at(-2)).toBe('{"time":"2026');
    expect(parseAuditEntry(lines.at(-1)!)).toMatchObject({ version: 2, operation: 'activateStrategy' });
    expect((await server.gql('{ auditLog(last: 1) { version } }')).body.data?.auditLog).toEqual([{ version: 2 }]);
  });

  it('generated: whatever is appended between changes, every change’s entry is a whole line, in order, and survives a restart', async () => {
    const runtimeDir = await tempRuntimeDir();
    let server = await startTestServer({ runtimeDir });
    const garbage = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom('{"time":"2026', '{"version":99', '\n', '{}', '{"time":"2026-01-01T00:00:00Z","actor":"x"'),
    );
    const keys = ['gold', 'range', 'momentum'];
    let i = 0;
    const expected: number[] = [];
    await fc.assert(
      fc.asyncProperty(garbage, async (junk) => {
        await appendFile(path.join(runtimeDir, 'audit.log'), junk);
        i += 1;
        const res = await server.gql(ACTIVATE, { k: keys[i % keys.length] });
        const version = res.body.data?.activateStrategy.configVersion as number;
        expected.push(version);
        expect(parseAuditEntry((await auditLines(server)).at(-1)!)).toMatchObject({ version });
      }),
      { numRuns: 15, seed: 9 },
    );
    const recorded = (await auditLines(server)).map((l) => parseAuditEntry(l)?.version).filter((v) => v !== undefined);
    expect(recorded).toEqual(expect.arrayContaining(expected));
    await server.close();
    server = await startTestServer({ runtimeDir });
    const history = (await server.gql('{ auditLog(last: 100, subject: CONFIG) { version } }')).body.data?.auditLog as { version: number }[];
    expect(history.map((e) => e.version).filter((v) => expected.includes(v))).toEqual([...expected].reverse());
  }, 60_000);
});

describe('finding 10: runner-state temp files of killed processes piled up', () => {
  const tempName = (pid: number, n: number) => `.runner-state.json.${pid}.${n.toString(16).padStart(12, '0')}.tmp`;
  const state = { runnerId: 'test' } as unknown as RunnerState;

  it('the reproduction: runners SIGKILLed mid-heartbeat leave nothing behind once a runner publishes again', async () => {
    const dir = await tempRuntimeDir();
    // A runner alone writes no config.yaml (it waits for the API's): the file as serve would write it.
    await writeFile(
      path.join(dir, 'config.yaml'),
      'active_strategy_key: momentum\ntrading_enabled: true\nscan_interval_seconds: 30\ntunable_overrides: {}\nversion: 1\nupdated_at: 2026-11-28T00:00:00Z\n',
    );
    // What kills between write and rename leave (their pids are gone now).
    for (let n = 0; n < 6; n++) await writeFile(path.join(dir, tempName(999_990 + n, n)), '{"partial":');
    for (let kill = 0; kill < 3; kill++) {
      const runner = spawnStratctl(['runner', '--runtime-dir', dir, '--heartbeat-ms', '100']);
      await runner.waitFor(/strategy runner started/);
      await runner.stop('SIGKILL');
    }
    const runner = spawnStratctl(['runner', '--runtime-dir', dir, '--heartbeat-ms', '100']);
    await runner.waitFor(/strategy runner started/);
    // Both at once: right after the clean-up and before the first publish's rename there is a moment
    // with neither a temp file nor the state file (CI once looked in it).
    await vi.waitFor(
      async () => {
        const names = await readdir(dir);
        expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
        expect(names).toContain('runner-state.json');
      },
      { timeout: 10_000 },
    );
    await runner.stop('SIGTERM');
  }, 60_000);

  it('generated: of any temp files present, the first publish removes exactly those of dead writers or older than ten minutes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ alive: fc.boolean(), old: fc.boolean() }), { minLength: 1, maxLength: 6 }), async (files) => {
        const dir = await tempRuntimeDir();
        const names = files.map((f, n) => tempName(f.alive ? process.pid : 999_900 + n, n));
        for (const [n, name] of names.entries()) {
          await writeFile(path.join(dir, name), '{');
          if (files[n]!.old) await utimes(path.join(dir, name), new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
        }
        const publisher = fileRunnerStatePublisher(dir);
        await publisher.publish(state);
        await publisher.close();
        const left = (await readdir(dir)).filter((n) => n.endsWith('.tmp'));
        expect(left.sort()).toEqual(names.filter((_, n) => files[n]!.alive && !files[n]!.old).sort());
      }),
      { numRuns: 15, seed: 10 },
    );
  });
});

describe('finding 11: REST routes reset the connection on a chunked body over 64 KiB, and logged the client’s abort at ERROR', () => {
  it('generated: any route, size, chunking and Content-Length: 413 exactly over 64 KiB, always an answer, never a reset', async () => {
    const server = await startTestServer({ security: { authFailures: { failuresPerMinute: 1_000_000 } } });
    const LIMIT = 64 * 1024;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/api/strategy/activate', '/api/config', '/graphql'),
        fc.oneof(fc.integer({ min: LIMIT - 64, max: LIMIT + 64 }), fc.integer({ min: 10, max: 300_000 })),
        fc.integer({ min: 1, max: 70_000 }),
        fc.boolean(),
        async (route, size, chunkSize, declared) => {
          const body = Buffer.alloc(size, 0x20);
          body.write('{"strategy_key":"gold","query":"{ status { configVersion } }"}');
          const head = `POST ${route} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer ${server.token}\r\n${
            declared ? `Content-Length: ${size}` : 'Transfer-Encoding: chunked'
          }\r\nConnection: close\r\n\r\n`;
          const res = await rawRequest(server.origin, head, declared ? body : chunked(body, chunkSize));
          expect(res.reset).toBe(false);
          if (size > LIMIT) expect(res.status).toBe(413);
          else expect(res.status).not.toBe(413);
        },
      ),
      { numRuns: 40, seed: 11 },
    );
  }, 60_000);

  it('the abort: a client that goes away mid-body on a REST route is one DEBUG line, nothing at ERROR', async () => {
    const lines: string[] = [];
    const server = await startTestServer({
      logger: createLogger({ level: 'debug', format: 'text', destination: { write: (line: string) => lines.push(line) } }),
    });
    const { connect } = await import('node:net');
    const socket = connect(Number(new URL(server.origin).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      'POST /api/strategy/activate HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: probe-abort\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"strategy_key":',
    );
    socket.destroy();
    await vi.waitFor(() => expect(eventLines(lines, 'probe-abort')).toHaveLength(1), { timeout: 10_000 });
    expect(eventLines(lines, 'probe-abort')[0]).toMatch(/ DEBUG .*client went away/);
    expect(lines.filter((l) => / ERROR /.test(l))).toEqual([]);
  });
});

describe('finding 12: malformed JSON echoed `originalError` with a body excerpt; `__proto__` keys passed the REST allow-list', () => {
  it('the reproduction and generated truncations: a broken body is a 400 that repeats nothing of it', async () => {
    const server = await startTestServer();
    const post = (body: string) =>
      fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body });
    const exact = await post('{"query": "{ status { configVersion } }", "variables": {"marker-7c1e": ');
    expect(exact.status).toBe(400);
    const text = await exact.text();
    expect(text).not.toContain('originalError');
    expect(text).not.toContain('marker-7c1e');
    const valid = JSON.stringify({ query: '{ status { configVersion } }', variables: { 'marker-7c1e': 'secret-ish' } });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: valid.length - 1 }), fc.string({ maxLength: 5 }), async (cut, tail) => {
        const res = await post(valid.slice(0, cut) + tail);
        const answer = await res.text();
        expect(res.status).toBeLessThan(500);
        expect(answer).not.toContain('originalError');
        expect(answer).not.toContain('secret-ish');
      }),
      { numRuns: 60, seed: 12 },
    );
  });

  it('generated: a REST config body is accepted only when every key is its own allowed key, whatever prototype names it holds', async () => {
    const server = await startTestServer({ security: { authFailures: { failuresPerMinute: 1_000_000 } } });
    const allowed = ['active_strategy_key', 'trading_enabled', 'scan_interval_seconds', 'tunable_overrides'];
    const values: Record<string, string> = {
      active_strategy_key: '"gold"',
      trading_enabled: 'true',
      scan_interval_seconds: '45',
      tunable_overrides: '{}',
    };
    const key = fc.constantFrom(
      ...allowed,
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'prototype',
      'valueOf',
      '__defineGetter__',
    );
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(key, { minLength: 1, maxLength: 4 }), async (keys) => {
        const body = `{${keys.map((k) => `"${k}": ${Object.hasOwn(values, k) ? values[k] : '{"scan_interval_seconds": 5}'}`).join(', ')}}`;
        const res = await fetch(`${server.origin}/api/config`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
          body,
        });
        const ok = keys.every((k) => allowed.includes(k));
        expect(res.status, body).toBe(ok ? 200 : 400);
        if (!ok) expect(((await res.json()) as { detail: string }).detail).toMatch(/^Unknown config key: /);
        expect(server.store.state().config.config.scanIntervalSeconds).not.toBe(5);
      }),
      { numRuns: 40, seed: 13 },
    );
  });
});

describe('request bodies are limited after decompression (a gzip bomb)', () => {
  it('the bomb: 10 MB of zeros in 10 KB of gzip is refused 413 without inflating past the limit', async () => {
    const server = await startTestServer();
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: new Uint8Array(bomb),
    });
    expect(res.status).toBe(413);
    expect(server.refusals()['body-too-large']).toBe(1);
  });

  it('generated: any inflated size and ratio: 413 exactly when it inflates past 64 KiB, counted by reason', async () => {
    const server = await startTestServer();
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1_000, max: 4_000_000 }), fc.boolean(), async (size, zeros) => {
        const raw = Buffer.alloc(size, zeros ? 0 : 0x20);
        raw.write('{"query":"{ status { configVersion } }"}');
        const gz = gzipSync(raw);
        const res = await fetch(server.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
          body: new Uint8Array(gz),
        });
        if (size > 64 * 1024 || gz.length > 64 * 1024) {
          refused += 1;
          expect(res.status).toBe(413);
        } else {
          expect(res.status).not.toBe(413);
        }
      }),
      { numRuns: 25, seed: 14 },
    );
    expect(server.refusals()['body-too-large']).toBe(refused);
  });
});
