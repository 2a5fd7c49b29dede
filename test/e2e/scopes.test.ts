import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../src/auth/token-file.js';
import { schema } from '../../src/graphql/schema/index.js';
import { createLogger } from '../../src/log.js';
import { type RunningControlPlane, startControlPlane } from '../../src/server.js';
import { GRAPHQL_PATHS } from '../helpers/graphql-paths.js';
import { gql } from '../helpers/http.js';
import { TEST_TOKEN } from '../helpers/server.js';

type Caller = 'anonymous' | 'read' | 'operate' | 'admin' | 'adminToken';
const CALLERS: Caller[] = ['anonymous', 'read', 'operate', 'admin', 'adminToken'];
const TOKENED: Caller[] = ['read', 'operate', 'admin', 'adminToken'];

/**
 * THE table: every operation, the scope it requires, and who may call it. `anonymous` appears only
 * for reads, and only while reads are public (the default); with --reads-require-token it never may.
 */
const OPERATIONS: {
  name: string;
  document: string;
  requires: 'read' | 'operate' | 'admin';
  allowed: Caller[];
  sse?: true;
  /** Needs no scope even when reads need a token; answers null to an anonymous caller (viewer). */
  open?: true;
  /** Run with the admin token before the case (one mutation field per request). */
  setup?: string;
}[] = [
  { name: 'strategies', document: '{ strategies { key } }', requires: 'read', allowed: ['anonymous', ...TOKENED] },
  { name: 'strategy', document: '{ strategy(key: "gold") { key } }', requires: 'read', allowed: ['anonymous', ...TOKENED] },
  { name: 'status', document: '{ status { configVersion } }', requires: 'read', allowed: ['anonymous', ...TOKENED] },
  { name: 'config', document: '{ config { version } }', requires: 'read', allowed: ['anonymous', ...TOKENED] },
  {
    name: 'statusChanged',
    document: 'subscription { statusChanged { configVersion } }',
    requires: 'read',
    allowed: ['anonymous', ...TOKENED],
    sse: true,
  },
  { name: 'viewer', document: '{ viewer { name scope } }', requires: 'read', allowed: CALLERS, open: true },
  { name: 'signals', document: '{ signals { instrument } }', requires: 'read', allowed: ['anonymous', ...TOKENED] },
  {
    name: 'signalsEmitted',
    document: 'subscription { signalsEmitted { instrument } }',
    requires: 'read',
    allowed: ['anonymous', ...TOKENED],
    sse: true,
  },
  { name: 'auditLog', document: '{ auditLog(last: 5) { version } }', requires: 'read', allowed: ['anonymous', ...TOKENED] },
  { name: 'configHistory', document: '{ configHistory { version } }', requires: 'read', allowed: ['anonymous', ...TOKENED] },
  {
    name: 'activateStrategy',
    document: 'mutation { activateStrategy(strategyKey: "gold") { configVersion } }',
    requires: 'operate',
    allowed: ['operate', 'admin', 'adminToken'],
  },
  {
    name: 'updateConfig',
    document: 'mutation { updateConfig(input: { scanIntervalSeconds: 15 }) { config { version } } }',
    requires: 'admin',
    allowed: ['admin', 'adminToken'],
  },
  {
    name: 'rollbackConfig',
    document: 'mutation { rollbackConfig(toVersion: 1) { config { version } } }',
    requires: 'admin',
    allowed: ['admin', 'adminToken'],
  },
  {
    name: 'upsertPreset',
    document: 'mutation { upsertPreset(input: { key: "gold_probe", base: "gold", name: "Probe" }) { presetsVersion } }',
    requires: 'admin',
    allowed: ['admin', 'adminToken'],
  },
  {
    name: 'deletePreset',
    // Made (with the admin token) just before, so each allowed caller has one to delete.
    setup: 'mutation { upsertPreset(input: { key: "gold_gone", base: "gold", name: "Gone" }) { changed } }',
    document: 'mutation { deletePreset(key: "gold_gone") { presetsVersion } }',
    requires: 'admin',
    allowed: ['admin', 'adminToken'],
  },
  {
    name: 'reloadStrategies',
    document: 'mutation { reloadStrategies { presetsVersion } }',
    requires: 'admin',
    allowed: ['admin', 'adminToken'],
  },
  {
    name: 'strategiesChanged',
    document: 'subscription { strategiesChanged { key } }',
    requires: 'read',
    allowed: ['anonymous', ...TOKENED],
    sse: true,
  },
];

it('the table covers every query, mutation and subscription in the schema (add a row for a new one)', () => {
  const fields = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) =>
    Object.keys(type?.getFields() ?? {}),
  );
  expect(OPERATIONS.map((o) => o.name).sort()).toEqual(fields.sort());
});

for (const { name: answeredBy, fastLane } of GRAPHQL_PATHS)
  for (const readsRequireToken of [false, true]) {
    describe(`scopes${readsRequireToken ? ' with --reads-require-token' : ' (reads public)'}, answered by ${answeredBy}`, () => {
      let plane: RunningControlPlane;
      let runtimeDir: string;
      const tokens: Partial<Record<Caller, string>> = { adminToken: TEST_TOKEN };
      beforeAll(async () => {
        // One server for the whole table (the per-test temp dir helper would delete it after the first case).
        runtimeDir = await mkdtemp(path.join(tmpdir(), 'scp-scopes-'));
        plane = await startControlPlane({
          host: '127.0.0.1',
          port: 0,
          runtimeDir,
          adminToken: TEST_TOKEN,
          readsRequireToken,
          fastLane,
          logger: createLogger({ level: 'silent' }),
          // The table sends dozens of refused requests from one address on purpose; the failed-auth
          // limiter (tested in rate-limit.test.ts) would otherwise lock this client out mid-table.
          security: { authFailures: { failuresPerMinute: 100_000 } },
        });
        for (const scope of ['read', 'operate', 'admin'] as const) tokens[scope] = await createToken(runtimeDir, `t-${scope}`, scope);
      });
      afterAll(async () => {
        await plane.close();
        await rm(runtimeDir, { recursive: true, force: true });
      });

      const cases = OPERATIONS.flatMap((op) => CALLERS.map((caller) => ({ op, caller })));
      it.each(cases)('$op.name as $caller', async ({ op, caller }) => {
        const allowed = op.allowed.includes(caller) && (op.open || !(caller === 'anonymous' && readsRequireToken));
        const token = tokens[caller];
        if (op.sse) {
          // A subscription over SSE: allowed opens the stream (200, text/event-stream); refused answers at once.
          const abort = new AbortController();
          const res = await fetch(plane.url, {
            method: 'POST',
            signal: abort.signal,
            headers: {
              'content-type': 'application/json',
              accept: 'text/event-stream',
              ...(token && { authorization: `Bearer ${token}` }),
            },
            body: JSON.stringify({ query: op.document }),
          });
          const expected = allowed ? 200 : caller === 'anonymous' ? 401 : 403;
          if (!allowed)
            expect(await res.text()).toContain(
              caller === 'anonymous' ? 'Authentication required' : `Forbidden: requires scope ${op.requires}`,
            );
          abort.abort();
          expect(res.status).toBe(expected);
          if (allowed) expect(res.headers.get('content-type')).toContain('text/event-stream');
          return;
        }
        if (op.setup) expect((await gql(plane.url, op.setup, undefined, { token: TEST_TOKEN })).body.errors).toBeUndefined();
        const res = await gql(plane.url, op.document, undefined, token ? { token } : {});
        if (allowed) {
          expect(res.body.errors).toBeUndefined();
          expect(res.status).toBe(200);
          if (op.open && caller === 'anonymous') expect(res.body.data?.[op.name]).toBeNull();
          else expect(res.body.data?.[op.name]).toBeTruthy();
          return;
        }
        expect(res.body.data?.[op.name] ?? null).toBeNull(); // a nullable field (strategy) is nulled, not the whole data
        if (caller === 'anonymous') {
          expect(res.status).toBe(401);
          expect(res.body.errors?.[0]).toMatchObject({ message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED' } });
        } else {
          expect(res.status).toBe(403);
          expect(res.body.errors?.[0]).toMatchObject({
            message: `Forbidden: requires scope ${op.requires}`,
            extensions: { code: 'FORBIDDEN' },
          });
        }
      });
    });
  }
