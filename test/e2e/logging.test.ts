import { readFile, rename, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Plugin } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { type FileSystem, nodeFileSystem } from '../../src/fs/file-system.js';
import { createLogger, formatTextLine } from '../../src/log.js';
import { faultyFileSystem } from '../helpers/faulty-fs.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { startTestServer } from '../helpers/server.js';

const activate = (key: string) => `mutation { activateStrategy(strategyKey: "${key}") { configVersion } }`;

interface LogLine {
  level: number;
  time: number;
  msg: string;
  err?: { type: string; message: string; stack: string };
  [key: string]: unknown;
}

/** A server whose log lines (JSON, one per event) are kept, at debug level. */
async function loggedServer(options: Parameters<typeof startTestServer>[0] = {}) {
  const raw: string[] = [];
  const logger = createLogger({ level: 'debug', format: 'json', destination: { write: (line) => raw.push(line) } });
  const server = await startTestServer({ ...options, logger });
  const lines = () => raw.map((l) => JSON.parse(l) as LogLine);
  const at = (level: number) => lines().filter((l) => l.level === level);
  return { server, raw, lines, at };
}

const DEBUG = 20;
const WARN = 40;
const ERROR = 50;

describe('the server log', () => {
  it('keeps documented refusals out of ERROR: one DEBUG line each, no stack', async () => {
    const { server, at } = await loggedServer();
    expect((await server.gql(activate('nope'))).status).toBe(400);
    expect((await server.gql(activate('gold'), undefined, null)).status).toBe(401);
    expect((await server.gql(activate('gold'), undefined, 'wrong-token-0123456789abcdef')).status).toBe(401);
    expect((await server.gql('mutation { activateStrategy(strategyKey: "gold", expectedVersion: 99) { configVersion } }')).status).toBe(
      409,
    );
    expect(at(ERROR)).toEqual([]);
    const refused = at(DEBUG).filter((l) => l.msg.startsWith('refused: '));
    expect(refused.some((l) => l.msg === 'refused: InvalidStrategyKeyError: Invalid strategy key: nope')).toBe(true);
    expect(refused.some((l) => l.msg.startsWith('refused: VersionConflictError'))).toBe(true);
    expect(refused.every((l) => l.err === undefined)).toBe(true);
  });

  it('a wrong token is a WARN line naming the client and its request id, never the token (the right one is not logged)', async () => {
    const { server, at } = await loggedServer();
    const wrong = 'wrong-token-0123456789abcdef';
    const refused = await fetch(`${server.origin}/api/strategy/activate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${wrong}`, 'x-request-id': 'wrong-token-probe' },
      body: JSON.stringify({ strategy_key: 'gold' }),
    });
    expect(refused.status).toBe(401);
    expect((await server.gql(activate('gold'))).status).toBe(200);
    expect(at(WARN)).toEqual([
      expect.objectContaining({
        reqId: 'wrong-token-probe',
        client: '127.0.0.1',
        method: 'POST',
        path: '/api/strategy/activate',
        status: 401,
        msg: `wrong token from 127.0.0.1: answered 401 (its next ones within the minute are counted, not logged, up to the limit of 10)`,
      }),
    ]);
    expect(JSON.stringify(at(WARN))).not.toContain(wrong);
  });

  it('logs a failed disk write at ERROR, its stack inside the one JSON line, while the answer stays clear', async () => {
    const fs = faultyFileSystem();
    const { server, raw, at } = await loggedServer({ fs });
    fs.inject('rename', 'EIO');
    const res = await server.gql(activate('gold'));
    expect(res.status).toBe(503);
    const errors = at(ERROR);
    expect(errors.map((l) => l.err?.type)).toContain('ConfigWriteError');
    const failed = errors.find((l) => l.err?.type === 'ConfigWriteError');
    expect(failed?.err?.stack).toMatch(/\n\s+at /);
    // What failed and how, on the line itself; not "masked": the client was told (503, step, errno).
    expect(failed).toMatchObject({ step: 'rename', errno: 'EIO' });
    expect(failed?.msg).toBe('config could not be written (rename: EIO); answered 503 CONFIG_WRITE_FAILED, nothing changed');
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONFIG_WRITE_FAILED', step: 'rename', errno: 'EIO' });
    for (const line of raw) expect(line.trimEnd()).not.toContain('\n');
  });

  it('a client retrying against a fault of the server (500 Unexpected error.): one ERROR line with the stack per kind, then a count at most once a minute', async () => {
    let now = Date.parse('2026-01-05T10:00:00Z');
    let fail = false;
    const fs: FileSystem = {
      ...nodeFileSystem,
      readFile: async (file, checks) => {
        if (fail) throw Object.assign(new Error(`EMFILE: too many open files, open '${file}'`), { code: 'EMFILE' });
        return nodeFileSystem.readFile(file, checks);
      },
    };
    const { server, at } = await loggedServer({ fs, now: () => now });
    fail = true;
    // GraphQL (the fast lane or yoga) and REST (in process) alike: the same fault, the same kind.
    for (let i = 0; i < 10; i++) expect((await server.gql(activate('gold'))).status).toBe(500);
    const rest = () =>
      fetch(`${server.origin}/api/strategy/activate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
        body: '{"strategy_key":"gold"}',
      });
    for (let i = 0; i < 5; i++) expect((await rest()).status).toBe(500);
    expect(at(ERROR)).toHaveLength(1);
    expect(at(ERROR)[0]).toMatchObject({ msg: 'GraphQL operation failed; answered masked', reqId: expect.any(String) });
    expect(at(ERROR)[0]?.err?.stack).toContain('EMFILE');

    // Another kind (the adapter's own 500, on /ready) is said in full once too.
    server.services.store.problem = () => {
      throw new Error('store.problem broke');
    };
    for (let i = 0; i < 3; i++) expect((await fetch(`${server.origin}/ready`)).status).toBe(500);
    expect(at(ERROR).map((l) => l.msg)).toEqual(['GraphQL operation failed; answered masked', 'request failed: Unexpected error.']);

    // A minute on: the next fault says how many failed since, by kind, in one line without a stack.
    now += 60_000;
    expect((await fetch(`${server.origin}/ready`)).status).toBe(500);
    expect(at(ERROR)).toHaveLength(3);
    expect(at(ERROR)[2]).toMatchObject({
      msg: expect.stringMatching(/^16 more requests failed in the last minute, answered 500 Unexpected error\. \(/),
      failures: 16,
      byKind: {
        'Error, EMFILE: GraphQL operation failed; answered masked': 14,
        'Error, store.problem broke: request failed: Unexpected error.': 2,
      },
    });
    expect(at(ERROR)[2]).not.toHaveProperty('err');

    // Quiet for more than a minute: the one counted since is said, then the fault in full again, with its stack.
    now += 120_000;
    expect((await fetch(`${server.origin}/ready`)).status).toBe(500);
    expect(at(ERROR).slice(3)).toEqual([
      expect.objectContaining({ msg: expect.stringMatching(/^1 more request failed in the last 2 minutes, /), failures: 1 }),
      expect.objectContaining({
        msg: 'request failed: Unexpected error.',
        err: expect.objectContaining({ message: 'store.problem broke' }),
      }),
    ]);
  });

  it("the adapter's own 500 (an answer it could not send) and graphql-sse's: once per kind with the stack, then counted, never a line per request", async () => {
    let now = Date.parse('2026-01-05T10:00:00Z');
    // Forced faults, as a bug would make them: an answer whose header Node refuses to send (the
    // adapter's writeHead throws), and a /graphql/stream request that fails inside graphql-sse.
    const faults: Plugin = {
      onRequest({ request, endResponse, fetchAPI }) {
        if (!new URL(request.url).searchParams.has('unsendable')) return;
        const response = new fetchAPI.Response('{}', { headers: { 'content-type': 'application/json' } });
        response.headers.set('x-broken', 'a\u0007b');
        endResponse(response);
      },
      onParse({ context }) {
        const url = (context as { request?: Request }).request?.url ?? '';
        if (url.includes('/graphql/stream')) throw new Error('parse hook broke');
      },
    };
    const { server, at } = await loggedServer({ runner: false, now: () => now, yogaPlugins: [faults] });
    const unsendable = () => fetch(`${server.url}?unsendable=1&query=%7B__typename%7D`, { headers: { accept: 'application/json' } });
    const stream = `${server.origin}/graphql/stream`;
    const streamToken = await (await fetch(stream, { method: 'PUT' })).text();
    const subscribe = () =>
      fetch(stream, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-graphql-event-stream-token': streamToken },
        body: JSON.stringify({
          query: 'subscription { statusChanged { configVersion } }',
          extensions: { operationId: crypto.randomUUID() },
        }),
      });

    for (let i = 0; i < 20; i++) {
      const res = await unsendable();
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    }
    for (let i = 0; i < 20; i++) {
      const res = await subscribe();
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    }
    // One line each, with its stack and the request's id; the 38 others are counted.
    expect(at(ERROR).map((l) => l.msg)).toEqual(['the HTTP adapter could not answer', 'graphql-sse request failed']);
    expect(at(ERROR)[0]).toMatchObject({ reqId: expect.any(String), method: 'GET', path: '/graphql' });
    expect(at(ERROR)[0]?.err?.stack).toMatch(/\n\s+at /);
    expect(at(ERROR)[1]).toMatchObject({ reqId: expect.any(String), err: expect.objectContaining({ message: 'parse hook broke' }) });

    now += 60_000;
    expect((await unsendable()).status).toBe(500);
    expect(at(ERROR)).toHaveLength(3);
    expect(at(ERROR)[2]).toMatchObject({
      msg: expect.stringMatching(/^38 more requests failed in the last minute, answered 500 Unexpected error\. \(/),
      failures: 38,
    });
    expect(Object.values(at(ERROR)[2]?.byKind as Record<string, number>).sort()).toEqual([19, 19]);
    expect(Object.keys(at(ERROR)[2]?.byKind as Record<string, number>).sort()).toEqual([
      expect.stringMatching(/: graphql-sse request failed$/),
      expect.stringMatching(/: the HTTP adapter could not answer$/),
    ]);
  });

  it('a write refused because a runtime file is not what it should be (audit.log a symbolic link) names the file and what it is', async () => {
    const { server, at } = await loggedServer();
    const audit = path.join(server.runtimeDir, 'audit.log');
    const elsewhere = path.join(await tempRuntimeDir(), 'outside.log');
    await rename(audit, elsewhere);
    await symlink(elsewhere, audit);
    const res = await server.gql(activate('gold'));
    expect(res.status).toBe(503);
    expect(res.body.errors?.[0]?.extensions).toMatchObject({ code: 'CONFIG_WRITE_FAILED', step: 'audit open', errno: 'ERUNTIMEFILE' });
    const failed = at(ERROR).find((l) => l.err?.type === 'ConfigWriteError');
    expect(failed?.msg).toMatch(
      /^config could not be written \(audit open: ERUNTIMEFILE: audit\.log is a symbolic link[^)]*\); answered 503 CONFIG_WRITE_FAILED, nothing changed$/,
    );
  });

  it("one DEBUG access line per request, with the caller's request id; an accepted change at INFO, who and what; no yoga line without a request id", async () => {
    const { server, lines } = await loggedServer({ runner: {} });
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}`, 'x-request-id': 'deploy-42' },
      body: JSON.stringify({ query: activate('gold') }),
    });
    expect(res.status).toBe(200);
    const mine = lines().filter((l) => l.reqId === 'deploy-42');
    expect(mine.find((l) => l.msg === 'POST /graphql 200')).toMatchObject({ level: DEBUG, method: 'POST', path: '/graphql', status: 200 });
    expect(mine.find((l) => l.msg === 'POST /graphql 200')?.ms).toEqual(expect.any(Number));
    expect(lines().find((l) => l.msg.startsWith('config version 2:'))).toMatchObject({
      level: 30,
      msg: 'config version 2: activateStrategy by admin (activeStrategyKey: "momentum" -> "gold")',
      // Fields too, not only words in msg: a JSON log is filtered on them (jq 'select(.version == 2)').
      subject: 'config',
      version: 2,
      operation: 'activateStrategy',
      actor: 'admin',
      source: 'commit',
      changed: ['activeStrategyKey'],
    });
    await expect
      .poll(() => lines().find((l) => l.msg.startsWith('runner applied config version 2 ')), { timeout: 5_000 })
      .toMatchObject({ level: 30, configVersion: 2, strategy: 'gold', runner: expect.any(String), configDigest: expect.any(String) });
    // Every line about a request carries its id: yoga's own debug lines did not.
    expect(lines().filter((l) => /Parsing request|Processing GraphQL Parameters/.test(l.msg))).toEqual([]);
  });

  it('a refused request names its client as a field (who is refused), as a wrong token does', async () => {
    const { server, at } = await loggedServer();
    const res = await fetch(`${server.origin}/nowhere`, { headers: { 'x-request-id': 'lost-probe' } });
    expect(res.status).toBe(404);
    expect(at(30).find((l) => l.reqId === 'lost-probe')).toMatchObject({
      reason: 'not-found',
      status: 404,
      client: '127.0.0.1',
      method: 'GET',
      path: '/nowhere',
    });
  });

  it('an invalid hand edit and its fix: the versions as fields, the end at INFO', async () => {
    const { server, lines } = await loggedServer({ runner: false });
    const file = path.join(server.runtimeDir, 'config.yaml');
    const good = await readFile(file, 'utf8');
    await writeFile(file, `${good}bogus: [\n`);
    await expect
      .poll(() => lines().find((l) => l.msg.startsWith('config is invalid')), { timeout: 5_000 })
      .toMatchObject({
        level: WARN,
        subject: 'config',
        keptVersion: 1,
      });
    await writeFile(file, good);
    await expect
      .poll(() => lines().find((l) => l.msg === 'config is valid again'), { timeout: 5_000 })
      .toMatchObject({ level: 30, subject: 'config', version: 1 });
  });

  it('warnings carry their facts as fields beside the same words: audit recovery, a torn audit tail, tokens.yaml refused, a directory fsync', async () => {
    const runtimeDir = await tempRuntimeDir();
    const first = await startTestServer({ runtimeDir });
    expect((await first.gql(activate('gold'))).status).toBe(200);
    await first.close();
    // While it was stopped: a hand edit of the version (no audit line), a torn audit tail, a broken tokens.yaml.
    const configFile = path.join(runtimeDir, 'config.yaml');
    await writeFile(configFile, (await readFile(configFile, 'utf8')).replace(/^version: 2$/m, 'version: 3'));
    await writeFile(path.join(runtimeDir, 'audit.log'), '{"time":"2026-01-05T10:00', { flag: 'a' });
    await writeFile(path.join(runtimeDir, 'tokens.yaml'), 'tokens: [unclosed\n', { mode: 0o600 });

    const fs = faultyFileSystem();
    const { server, at } = await loggedServer({ runtimeDir, fs });
    expect((await server.gql(activate('range'), undefined, 'wrong-token-0123456789abcdef')).status).toBe(401);
    fs.inject('syncDir', 'EIO');
    expect((await server.gql(activate('range'))).status).toBe(200);

    const warning = (start: string) => at(WARN).find((l) => l.msg.startsWith(start));
    expect(warning('config version 3 had no audit entry; recorded now as "recovery"')).toMatchObject({
      subject: 'config',
      version: 3,
      operation: 'recovery',
    });
    expect(warning(`${path.join(runtimeDir, 'audit.log')}: its last line was torn`)).toMatchObject({
      file: path.join(runtimeDir, 'audit.log'),
      bytes: 25,
      setAside: expect.stringContaining('audit.log.torn-'),
    });
    expect(warning('named tokens refused until')).toMatchObject({
      file: path.join(runtimeDir, 'tokens.yaml'),
      reason: expect.any(String),
    });
    expect(warning('config saved, but fsync of')).toMatchObject({ subject: 'config', dir: runtimeDir });
  });

  it('a wait for a runtime-dir lock held from another host: its file, holder and age as fields', async () => {
    const runtimeDir = await tempRuntimeDir();
    const lock = path.join(runtimeDir, '.lock');
    await writeFile(lock, JSON.stringify({ pid: 4242, host: 'elsewhere.example', nonce: 'n', acquiredAt: '' }));
    // Untouched for 9.5 s: taken over half a second after the wait starts (10 s without a touch).
    const touched = new Date(Date.now() - 9_500);
    await utimes(lock, touched, touched);
    const { at } = await loggedServer({ runtimeDir });
    expect(at(WARN).find((l) => l.msg.startsWith(`${lock} is held by process 4242 on elsewhere.example`))).toMatchObject({
      file: lock,
      holderPid: 4242,
      holderHost: 'elsewhere.example',
      touchedAgoMs: expect.any(Number),
    });
  });

  it('redacts tokens and authorization headers, in both formats', () => {
    const raw: string[] = [];
    const json = createLogger({ destination: { write: (line) => raw.push(line) } });
    const text = createLogger({ format: 'text', destination: { write: (line) => raw.push(line) } });
    for (const logger of [json, text]) {
      logger.info({ token: 'sekrit-token-1', headers: { authorization: 'Bearer sekrit-token-2' } }, 'request');
      logger.info({ req: { headers: { authorization: 'Bearer sekrit-token-3' } }, adminToken: 'sekrit-token-4' }, 'start');
    }
    expect(raw).toHaveLength(4);
    expect(raw.join('')).not.toContain('sekrit');
    expect(raw.join('')).toContain('[redacted]');
  });

  it('text format: one readable line per event, stacks and multi-line messages escaped', () => {
    const raw: string[] = [];
    const logger = createLogger({ format: 'text', level: 'debug', destination: { write: (line) => raw.push(line) } });
    logger.info({ url: 'http://127.0.0.1:8787/graphql' }, 'listening on http://127.0.0.1:8787/graphql');
    logger.error({ err: new Error('disk on fire') }, 'write failed\nbadly');
    expect(raw[0]).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}listening on http:\/\/127\.0\.0\.1:8787\/graphql url=http:\/\/127\.0\.0\.1:8787\/graphql\n$/,
    );
    expect(raw[1]).toMatch(/^\S+ ERROR write failed\\nbadly err="Error: disk on fire\\n {4}at /);
    // An error's own fields (a failed write's step and errno) are kept after its stack.
    logger.error({ err: Object.assign(new Error('Config could not be written'), { step: 'audit fsync', errno: 'EIO' }) }, 'write failed');
    expect(raw[2]).toMatch(/ err="Error: Config could not be written\\n {4}at [^"]*" err\.step="audit fsync" err\.errno=EIO\n$/);
    // A message holding what reads as a field (a refused key a client chose) is quoted: the line's
    // own fields stay the only ones (`reqId=evil` sat unquoted before the real reqId).
    logger.child({ reqId: 'r-1' }).debug('refused: Invalid strategy key: x ERROR fake reqId=evil "quoted"');
    expect(raw[3]).toMatch(/^\S+ DEBUG "refused: Invalid strategy key: x ERROR fake reqId=evil \\"quoted\\"" reqId=r-1\n$/);
    for (const line of raw) expect(line.slice(0, -1)).not.toContain('\n');
    expect(formatTextLine('not json\n')).toBe('not json\n');
  });

  it('a hand-edited strategies.yaml key holding escape sequences, C1 and bidi controls reaches no terminal raw, in either format', async () => {
    // ESC [2J (clear), U+009B (a one-character CSI), a right-to-left override: written by whoever can
    // write the runtime dir (or etcd's `strategies` key), and quoted in the problem's path.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what it is for
    const actedOn = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
    for (const format of ['text', 'json'] as const) {
      const raw: string[] = [];
      const server = await startTestServer({ runner: false, logger: createLogger({ format, destination: { write: (l) => raw.push(l) } }) });
      await writeFile(
        path.join(server.runtimeDir, 'strategies.yaml'),
        'version: 1\npresets:\n  "bad\\e[2J\\x9b1;1H\\u202ekey":\n    base: gold\n    name: Bad\n',
      );
      const said = () => raw.find((line) => line.includes('presets are not in force'));
      await expect.poll(said, { timeout: 5_000 }).toBeDefined();
      const line = said() ?? '';
      expect(line.slice(0, -1), format).not.toMatch(actedOn);
      // Shown escaped in the problem itself (its path as its reason: the API's message carries the same words).
      const words = format === 'json' ? (JSON.parse(line) as LogLine).msg : line;
      expect(words, format).toContain('presets.bad\\u001B[2J\\u009B1;1H\\u202Ekey: ');
    }
  });
});
