import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createToken } from '../../src/auth/token-file.js';
import { GRAPHQL_PATHS } from '../helpers/graphql-paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Stop 27's exploratory testing of the GraphQL API, as a client sees it: each finding's
 * reproduction, on every path a plain POST can take. A refused request changes nothing on disk;
 * no input gets a 500; a caller without the right hears 401/403 before anything about its input.
 */

const UPDATE = 'mutation($i: UpdateConfigInput!) { updateConfig(input: $i) { changed } }';
const UPSERT = 'mutation($t: JSON) { upsertPreset(input: { key: "gold_x", base: "gold", name: "X", tunables: $t }) { changed } }';

const onDisk = async (server: TestServer) => ({
  config: await readFile(path.join(server.runtimeDir, 'config.yaml'), 'utf8'),
  audit: await readFile(path.join(server.runtimeDir, 'audit.log'), 'utf8').catch(() => ''),
});

/** A JSON request body with `value` (JSON text) nested `depth` arrays deep at `fast_ma_period`. */
const deeplyNested = (query: string, variables: (value: string) => string, depth: number) =>
  `{"query":${JSON.stringify(query)},"variables":${variables(`${'['.repeat(depth)}1${']'.repeat(depth)}`)}}`;

const post = async (url: string, body: string, token?: string) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body,
  });
  return {
    status: res.status,
    body: (await res.json()) as { errors?: { message: string; extensions?: { code?: string } }[]; detail?: string },
  };
};

for (const { name, fastLane } of GRAPHQL_PATHS) {
  describe(`answered by ${name}`, () => {
    it('a refusal lists at most 50 issues, then how many more (7,000 bad instruments were answered with 7,000 issues, 531 KB)', async () => {
      const server = await startTestServer({ fastLane });
      const instruments = Array.from({ length: 300 }, (_, i) => `bad-${i}`);
      const res = await server.gql(
        'mutation($i: [String!]) { upsertPreset(input: { key: "gold_many", base: "gold", name: "M", instruments: $i }) { changed } }',
        { i: instruments },
        server.token,
      );
      expect(res.status).toBe(400);
      const issues = (res.body.errors?.[0]?.extensions as { issues?: { message: string }[] } | undefined)?.issues;
      expect(issues).toHaveLength(51);
      expect(issues?.at(-1)).toEqual({ path: [], message: '... and 250 more problems' });
      expect(JSON.stringify(res.body).length).toBeLessThan(20_000);
    });

    describe('two mutation fields in one request committed the first while the request was answered as refused', () => {
      it('the reproduction (activate, then an update the token may not make): refused before anything runs, nothing written', async () => {
        const server = await startTestServer({ fastLane });
        const operate = await createToken(server.runtimeDir, 'ops', 'operate');
        const before = await onDisk(server);
        const res = await server.gql(
          'mutation { a: activateStrategy(strategyKey: "momentum") { configVersion } b: updateConfig(input: { scanIntervalSeconds: 20 }) { changed } }',
          undefined,
          operate,
        );
        expect(res.status).toBe(400);
        expect(res.body.data ?? null).toBeNull();
        expect(res.body.errors).toHaveLength(1);
        expect(res.body.errors?.[0]).toMatchObject({
          message:
            'A mutation request may hold only one mutation field, and this one holds 2 (a: activateStrategy, b: updateConfig): send each change in its own request, so that a refused one changes nothing.',
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
        });
        expect(await onDisk(server)).toEqual(before);
      });

      it('the same with a stale expectedVersion on the second, and with fields spread from fragments', async () => {
        const server = await startTestServer({ fastLane });
        const before = await onDisk(server);
        for (const document of [
          'mutation { a: activateStrategy(strategyKey: "momentum", expectedVersion: 1) { configVersion } b: activateStrategy(strategyKey: "range", expectedVersion: 1) { configVersion } }',
          'mutation { ...A ... on Mutation { reloadStrategies { presetsVersion } } } fragment A on Mutation { activateStrategy(strategyKey: "range") { configVersion } }',
        ]) {
          const res = await server.gql(document);
          expect(res.status, document).toBe(400);
          expect(res.body.errors?.[0]?.message, document).toMatch(
            /^A mutation request may hold only one mutation field, and this one holds 2 /,
          );
        }
        expect(await onDisk(server)).toEqual(before);
      });

      it('one mutation field (with __typename beside it) still runs', async () => {
        const server = await startTestServer({ fastLane });
        const res = await server.gql('mutation { __typename activateStrategy(strategyKey: "range") { configVersion } }');
        expect(res.status).toBe(200);
        expect(res.body.data).toMatchObject({ __typename: 'Mutation', activateStrategy: { configVersion: 2 } });
      });
    });

    describe('argument validation answered before the scope check: 400 with the input’s details to a caller with no right', () => {
      const cases = [
        { document: 'mutation { updateConfig(input: {}) { changed } }', requires: 'admin' },
        { document: 'mutation { updateConfig(input: { scanIntervalSeconds: 0 }) { changed } }', requires: 'admin' },
        { document: 'mutation { upsertPreset(input: { key: "X", base: "gold", name: "P" }) { changed } }', requires: 'admin' },
        { document: 'mutation { activateStrategy(strategyKey: "gold", timeoutMs: 0) { configVersion } }', requires: 'operate' },
        { document: '{ auditLog(last: -1) { version } }', requires: 'read' },
        { document: '{ configHistory(last: -1) { version } }', requires: 'read' },
      ] as const;

      it('no token: 401; a token without the scope: 403; the right scope: 400 naming what is wrong', async () => {
        const server = await startTestServer({
          fastLane,
          readsRequireToken: true,
          security: { authFailures: { failuresPerMinute: 100_000 } },
        });
        const tokens = {
          read: await createToken(server.runtimeDir, 'reader', 'read'),
          operate: await createToken(server.runtimeDir, 'ops', 'operate'),
        };
        const before = await onDisk(server);
        for (const { document, requires } of cases) {
          const anonymous = await server.gql(document, undefined, null);
          expect(anonymous.status, document).toBe(401);
          expect(anonymous.body.errors?.[0]?.extensions?.code, document).toBe('UNAUTHENTICATED');
          const below = requires === 'admin' ? tokens.operate : requires === 'operate' ? tokens.read : null;
          if (below) {
            const refused = await server.gql(document, undefined, below);
            expect(refused.status, document).toBe(403);
            expect(refused.body.errors?.[0]?.message, document).toBe(`Forbidden: requires scope ${requires}`);
          }
          const allowed = await server.gql(document);
          expect(allowed.status, document).toBe(400);
          expect(allowed.body.errors?.[0]?.extensions?.code, document).toBe('BAD_USER_INPUT');
        }
        expect(await onDisk(server)).toEqual(before);
      });
    });

    describe('variables judged before the token: a bad variable got 400 and its details where 401/403 was due', () => {
      it('no token: 401; an operate token on an admin mutation: 403; the admin token: 400 BAD_USER_INPUT', async () => {
        const server = await startTestServer({ fastLane, security: { authFailures: { failuresPerMinute: 100_000 } } });
        const operate = await createToken(server.runtimeDir, 'ops', 'operate');
        const before = await onDisk(server);
        for (const variables of [{ i: { scanIntervalSeconds: 1.5 } }, {}, { i: { nope: 1 } }]) {
          const anonymous = await server.gql(UPDATE, variables, null);
          expect(anonymous.status, JSON.stringify(variables)).toBe(401);
          expect(anonymous.body.errors?.[0]).toMatchObject({ message: 'Authentication required', path: ['updateConfig'] });
          const below = await server.gql(UPDATE, variables, operate);
          expect(below.status, JSON.stringify(variables)).toBe(403);
          expect(below.body.errors?.[0]?.message).toBe('Forbidden: requires scope admin');
          const admin = await server.gql(UPDATE, variables);
          expect(admin.status, JSON.stringify(variables)).toBe(400);
          expect(admin.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
        }
        expect(await onDisk(server)).toEqual(before);
      });
    });

    describe('with --reads-require-token, introspection answered anyone', () => {
      it('__schema and __type without a token: 401; with a read token: answered; __typename and viewer stay open', async () => {
        const server = await startTestServer({ fastLane, readsRequireToken: true });
        const read = await createToken(server.runtimeDir, 'reader', 'read');
        for (const document of ['{ __schema { queryType { name } } }', '{ __type(name: "Query") { name } }']) {
          const anonymous = await server.gql(document, undefined, null);
          expect(anonymous.status, document).toBe(401);
          expect(anonymous.body.errors?.[0]?.extensions?.code, document).toBe('UNAUTHENTICATED');
          const reader = await server.gql(document, undefined, read);
          expect(reader.status, document).toBe(200);
          expect(reader.body.errors, document).toBeUndefined();
        }
        const open = await server.gql('{ __typename viewer { name } }', undefined, null);
        expect(open.status).toBe(200);
        expect(open.body.data).toEqual({ __typename: 'Query', viewer: null });
      });
    });

    describe('updateConfig took an explicit null for "left out": alone "nothing to change", beside another field ignored', () => {
      it('null on any field is refused with a hint (GraphQL and REST), nothing written; left out still keeps a value', async () => {
        const server = await startTestServer({ fastLane });
        const before = await onDisk(server);
        for (const [field, hint] of [
          ['scanIntervalSeconds', ''],
          ['activeStrategyKey', ''],
          ['tradingEnabled', ''],
          ['tunableOverrides', ' (a strategy’s overrides are removed with { <strategy>: null })'],
        ] as const) {
          const res = await server.gql(UPDATE, { i: { [field]: null, ...(field !== 'tradingEnabled' && { tradingEnabled: false }) } });
          expect(res.status, field).toBe(400);
          expect(res.body.errors?.[0]?.message, field).toBe(
            `Invalid config: ${field}: cannot be null: leave it out to keep its value${hint}`,
          );
        }
        const rest = await post(`${server.origin}/api/config`, '{"scan_interval_seconds":null,"trading_enabled":false}', server.token);
        expect(rest).toEqual({
          status: 400,
          body: { detail: 'Invalid config: scan_interval_seconds: cannot be null: leave it out to keep its value' },
        });
        expect(await onDisk(server)).toEqual(before);
        const kept = await server.gql(UPDATE, { i: { tradingEnabled: false } });
        expect(kept.body.data?.updateConfig).toEqual({ changed: true });
      });
    });

    describe('a 5,000-character key or name came back whole (up to four times in one answer)', () => {
      it('keys, names and graphql-js’s own messages are cut short: every message ≤ 500 characters, every answer under 2 KB', async () => {
        const server = await startTestServer({ fastLane });
        const K = 'k'.repeat(5000);
        const cases: [string, Record<string, unknown>?][] = [
          [`mutation { activateStrategy(strategyKey: "${K}") { configVersion } }`],
          [`mutation { deletePreset(key: "${K}") { changed } }`],
          [UPDATE, { i: { tunableOverrides: { gold: { [K]: 1 } } } }],
          [UPDATE, { i: { tunableOverrides: { [K]: { a: 1 } } } }],
          [UPDATE, { i: { activeStrategyKey: K } }],
          ['query($r: Int) { auditLog(last: $r) { version } }', { r: K }],
          [`{ ${'x'.repeat(3000)} }`],
        ];
        for (const [query, variables] of cases) {
          const res = await fetch(server.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` },
            body: JSON.stringify({ query, variables }),
          });
          const text = await res.text();
          expect(text.length, query.slice(0, 40)).toBeLessThan(2000);
          const { errors } = JSON.parse(text) as { errors?: { message: string }[] };
          expect(errors?.length, query.slice(0, 40)).toBeGreaterThan(0);
          for (const { message } of errors ?? []) expect(message.length).toBeLessThanOrEqual(500);
        }
        const invalid = await server.gql(`mutation { activateStrategy(strategyKey: "${K}") { configVersion } }`);
        expect(invalid.body.errors?.[0]?.message).toBe(`Invalid strategy key: ${'k'.repeat(59)}…`);
        const rest = await post(`${server.origin}/api/strategy/activate`, JSON.stringify({ strategy_key: K }), server.token);
        expect(rest).toEqual({ status: 400, body: { detail: `Invalid strategy key: ${'k'.repeat(59)}…` } });
        // The path before a reason quotes the key cut short too: it came whole, and 500 characters of
        // it left no room for the reason ("unknown strategy").
        const cut = `${'k'.repeat(59)}…`;
        const override = await server.gql(UPDATE, { i: { tunableOverrides: { [K]: { a: 1 } } } });
        const overrideMessage = override.body.errors?.[0]?.message;
        expect(
          overrideMessage?.indexOf(`Invalid config: tunableOverrides.${cut}: unknown strategy "${cut}" (known: `),
          overrideMessage,
        ).toBe(0);
        const preset = await server.gql(
          'mutation($t: JSON!) { upsertPreset(input: { key: "gold_k", base: "gold", name: "K", tunables: $t }) { changed } }',
          {
            t: { [K]: 1 },
          },
        );
        expect(preset.body.errors?.[0]?.message).toMatch(new RegExp(`^Invalid preset: tunables\\.${cut}: \\S`));
        // Two mutation fields under 3,000-character aliases: the advice was cut off.
        const alias = 'a'.repeat(3000);
        const two = await server.gql(
          `mutation { ${alias}: activateStrategy(strategyKey: "gold") { configVersion } b${alias}: reloadStrategies { changed } }`,
        );
        expect(two.body.errors?.[0]?.message).toBe(
          `A mutation request may hold only one mutation field, and this one holds 2 (${'a'.repeat(59)}…: activateStrategy, b${'a'.repeat(58)}…: reloadStrategies): send each change in its own request, so that a refused one changes nothing.`,
        );
      });

      it('a hidden character in a key is shown escaped in the path before the reason, as in the reason and in extensions.issues', async () => {
        const server = await startTestServer({ fastLane });
        const res = await server.gql(UPDATE, { i: { tunableOverrides: { 'evil\u202ekey\u001b[31m': { a: 1 } } } });
        const [error] = res.body.errors ?? [];
        const reason = 'unknown strategy "evil\\u202Ekey\\u001B[31m" (known: ';
        expect(error?.message?.indexOf(`Invalid config: tunableOverrides.evil\\u202Ekey\\u001B[31m: ${reason}`), error?.message).toBe(0);
        expect(error?.extensions?.issues).toEqual([
          { path: ['tunableOverrides', 'evil\\u202Ekey\\u001B[31m'], message: expect.stringContaining(reason) },
        ]);
      });
    });

    describe('a value nested thousands of levels deep was answered 500 (its message overflowed the stack)', () => {
      it('the reproduction (updateConfig, upsertPreset; no token, then the admin token): 401, then 400 with a short message; nothing written', async () => {
        const server = await startTestServer({ fastLane });
        const before = await onDisk(server);
        const update = deeplyNested(UPDATE, (v) => `{"i":{"tunableOverrides":{"gold":{"fast_ma_period":${v}}}}}`, 6000);
        const upsert = deeplyNested(UPSERT, (v) => `{"t":{"fast_ma_period":${v}}}`, 6000);
        expect((await post(server.url, update)).status).toBe(401);
        for (const [body, message] of [
          [update, 'Invalid config: tunableOverrides.gold.fast_ma_period: must be a number or a boolean (null removes it), got [[[[…]]]]'],
          [upsert, 'Invalid preset: tunables.fast_ma_period: must be a number or a boolean, got [[[[…]]]]'],
        ] as const) {
          const res = await post(server.url, body, server.token);
          expect(res.status).toBe(400);
          expect(res.body.errors?.[0]).toMatchObject({ message, extensions: { code: 'BAD_USER_INPUT' } });
        }
        expect(await onDisk(server)).toEqual(before);
      });

      it('the same through REST (/api/config), and a long string is not echoed whole', async () => {
        const server = await startTestServer({ fastLane });
        const rest = `${server.origin}/api/config`;
        const deep = await post(
          rest,
          `{"tunable_overrides":{"gold":{"fast_ma_period":${'['.repeat(6000)}1${']'.repeat(6000)}}}}`,
          server.token,
        );
        expect(deep.status).toBe(400);
        expect(deep.body.detail).toMatch(/got \[\[\[\[…\]\]\]\]$/);
        const long = await server.gql(UPDATE, { i: { tunableOverrides: { gold: { fast_ma_period: 'x'.repeat(6000) } } } });
        expect(long.status).toBe(400);
        expect(long.body.errors?.[0]?.message.length).toBeLessThan(200);
        expect(long.body.errors?.[0]?.message).toMatch(/got "x{58}…$/);
      });

      it('1e400 (Infinity once parsed) is named a number out of range, not "got null"', async () => {
        const server = await startTestServer({ fastLane });
        const res = await post(
          server.url,
          `{"query":${JSON.stringify(UPDATE)},"variables":{"i":{"tunableOverrides":{"gold":{"fast_ma_period":1e400}}}}}`,
          server.token,
        );
        expect(res.status).toBe(400);
        expect(res.body.errors?.[0]?.message).toBe(
          'Invalid config: tunableOverrides.gold.fast_ma_period: must be a number or a boolean (null removes it), got a number out of range',
        );
      });
    });

    describe('waitForRunner for a runner id nobody has: the answer showed another runner’s state', () => {
      it('runnerState STOPPED and a message that names the missing runner; the change itself is saved', async () => {
        const server = await startTestServer({ fastLane, runner: {} });
        // The server's own runner is up: the answer must not show its state as the missing one's.
        await vi.waitFor(() => expect(server.services.runners.views().some((v) => v.health === 'RUNNING')).toBe(true), { timeout: 10_000 });
        const res = await server.gql(
          'mutation { activateStrategy(strategyKey: "range", waitForRunner: true, runnerId: "nope", timeoutMs: 200) { configVersion runnerWait { applied runnerState message } } }',
        );
        expect(res.status).toBe(200);
        expect(res.body.data?.activateStrategy).toEqual({
          configVersion: 2,
          runnerWait: {
            applied: false,
            runnerState: 'STOPPED',
            message:
              'timed out after 200 ms: no runner "nope" has reported; the change is saved, and a runner of that id will apply it when it reads the config',
          },
        });
      });
    });

    describe('stopping the server during a waitForRunner: the change was saved, and the client never heard', () => {
      it('the wait is answered as the stop begins (applied false, saying why), before the connections close', async () => {
        const server = await startTestServer({ fastLane, runner: false });
        const pending = server.gql(
          'mutation { activateStrategy(strategyKey: "range", waitForRunner: true, timeoutMs: 60000) { configVersion runnerWait { applied message } } }',
        );
        await vi.waitFor(() => expect(server.store.state().config.config.version).toBe(2), { timeout: 10_000 });
        const closed = server.close();
        const res = await pending;
        expect(res.status).toBe(200);
        expect(res.body.data?.activateStrategy).toMatchObject({ configVersion: 2, runnerWait: { applied: false } });
        expect(res.body.data?.activateStrategy.runnerWait.message).toMatch(
          /^the server is stopping: it stopped waiting after \d+ ms \(runner state \w+\); the change is saved/,
        );
        await closed;
      });
    });

    describe('a __proto__ key was dropped without a word (answered changed: false) where any other unknown key is refused', () => {
      it('as a strategy key, as a tunable name, as a preset tunable, and through REST: refused with its path, nothing written', async () => {
        const server = await startTestServer({ fastLane });
        const before = await onDisk(server);
        const cases = [
          [`{"i":{"tunableOverrides":{"__proto__":{"gold":{"fast_ma_period":12}}}}}`, 'tunableOverrides.__proto__'],
          [`{"i":{"tunableOverrides":{"gold":{"__proto__":5}}}}`, 'tunableOverrides.gold.__proto__'],
          [`{"i":{"tunableOverrides":{"__proto__":null}}}`, 'tunableOverrides.__proto__'],
        ] as const;
        for (const [variables, at] of cases) {
          const res = await post(server.url, `{"query":${JSON.stringify(UPDATE)},"variables":${variables}}`, server.token);
          expect(res.status, variables).toBe(400);
          expect(res.body.errors?.[0]?.message, variables).toBe(`Invalid config: ${at}: __proto__ is never accepted as a key`);
        }
        const preset = await post(
          server.url,
          `{"query":${JSON.stringify(UPSERT)},"variables":{"t":{"__proto__":{"fast_ma_period":12}}}}`,
          server.token,
        );
        expect(preset.status).toBe(400);
        expect(preset.body.errors?.[0]?.message).toBe('Invalid preset: tunables.__proto__: __proto__ is never accepted as a key');
        const rest = await post(`${server.origin}/api/config`, '{"tunable_overrides":{"gold":{"__proto__":{"x":1}}}}', server.token);
        expect(rest.status).toBe(400);
        expect(rest.body.detail).toBe('Invalid config: tunable_overrides.gold.__proto__: __proto__ is never accepted as a key');
        expect(await onDisk(server)).toEqual(before);
      });
    });
  });
}
