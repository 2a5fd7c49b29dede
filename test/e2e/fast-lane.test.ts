import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../src/auth/token-file.js';
import { createLogger } from '../../src/log.js';
import { type RunningControlPlane, startControlPlane } from '../../src/server.js';
import { GRAPHQL_PATHS as PATHS } from '../helpers/graphql-paths.js';
import { gql } from '../helpers/http.js';
import { pipelinedRequests } from '../helpers/raw-http.js';
import { startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.js';

/** Counts what reaches yoga's own HTTP handling, and which execute function ran each execution. */
function observer() {
  const seen = { httpRequests: 0, executors: [] as string[] };
  const plugin: Plugin = {
    onRequest() {
      seen.httpRequests += 1;
    },
    onExecute({ executeFn }) {
      seen.executors.push(executeFn.name);
    },
  };
  return { seen, plugin };
}

interface Answer {
  status: number;
  contentType: string | null;
  wwwAuthenticate: string | null;
  body: unknown;
}

async function send(
  server: Pick<TestServer, 'url'>,
  body: string,
  headers: Record<string, string> = {},
  token: string | null = TEST_TOKEN,
): Promise<Answer> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }), ...headers },
    body,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // compared as text
  }
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    wwwAuthenticate: res.headers.get('www-authenticate'),
    body: parsed,
  };
}

const json = (query: string, extra: Record<string, unknown> = {}) => JSON.stringify({ query, ...extra });
const GRAPHQL_RESPONSE = { accept: 'application/graphql-response+json' };

/** [case, body, headers, token ('admin' | 'read' | 'none' | 'wrong')] */
const CASES: [string, string, Record<string, string>, 'admin' | 'read' | 'none' | 'wrong'][] = [
  ['a query', json('{ strategies { key name instruments riskLevel } }'), {}, 'admin'],
  ['a query, graphql-response+json', json('{ strategies { key } }'), GRAPHQL_RESPONSE, 'admin'],
  ['a query, charset in the content type', json('{ config { version } }'), { 'content-type': 'application/json; charset=utf-8' }, 'none'],
  ['status', json('{ status { activeStrategyKey configVersion runner { state } store { kind connected } } }'), {}, 'admin'],
  ['__typename', json('{ __typename }'), {}, 'none'],
  ['viewer, read token', json('{ viewer { name scope } }'), {}, 'read'],
  ['viewer, no token', json('{ viewer { name scope } }'), {}, 'none'],
  [
    'variables',
    json('query Q($r: RiskLevel) { strategies(riskLevel: $r) { key } }', { variables: { r: 'HIGH' } }),
    GRAPHQL_RESPONSE,
    'admin',
  ],
  [
    'a variable that does not coerce',
    json('query Q($r: RiskLevel) { strategies(riskLevel: $r) { key } }', { variables: { r: 'HIHG' } }),
    {},
    'admin',
  ],
  [
    'a variable that does not coerce, graphql-response+json',
    json('query Q($r: RiskLevel) { strategies(riskLevel: $r) { key } }', { variables: { r: 7 } }),
    GRAPHQL_RESPONSE,
    'admin',
  ],
  ['a required variable missing', json('query Q($k: String!) { strategy(key: $k) { key } }'), {}, 'admin'],
  ['a parse error', json('{ status '), {}, 'admin'],
  ['a parse error, graphql-response+json', json('{ status '), GRAPHQL_RESPONSE, 'admin'],
  ['a validation error', json('{ statuz { configVersion } }'), GRAPHQL_RESPONSE, 'admin'],
  ['two operations, no operationName', json('query A { config { version } } query B { status { configVersion } }'), {}, 'admin'],
  [
    'two operations, one named',
    json('query A { config { version } } query B { status { configVersion } }', { operationName: 'B' }),
    {},
    'admin',
  ],
  // The same document first without an operationName, then with an empty one (which names no operation).
  ['one operation, no operationName', json('{ config { scanIntervalSeconds } }'), {}, 'admin'],
  ['the same document, an empty operationName', json('{ config { scanIntervalSeconds } }', { operationName: '' }), {}, 'admin'],
  [
    'a mutation, no operationName',
    json('mutation M($k: String!) { activateStrategy(strategyKey: $k) { changed } }', { variables: { k: 'momentum' } }),
    {},
    'admin',
  ],
  [
    'the same mutation, an empty operationName',
    json('mutation M($k: String!) { activateStrategy(strategyKey: $k) { changed } }', { variables: { k: 'momentum' }, operationName: '' }),
    {},
    'admin',
  ],
  ['an unknown operationName', json('query A { config { version } }', { operationName: 'Z' }), {}, 'admin'],
  ['an unknown strategy key', json('mutation { activateStrategy(strategyKey: "nope") { configVersion } }'), {}, 'admin'],
  ['a mutation without a token', json('mutation { activateStrategy(strategyKey: "gold") { configVersion } }'), {}, 'none'],
  ['a mutation with a read token', json('mutation { activateStrategy(strategyKey: "gold") { configVersion } }'), {}, 'read'],
  [
    'a stale expectedVersion',
    json('mutation { activateStrategy(strategyKey: "gold", expectedVersion: 99) { configVersion } }'),
    GRAPHQL_RESPONSE,
    'admin',
  ],
  ['a wrong token on a read', json('{ config { version } }'), {}, 'wrong'],
  ['a batch', JSON.stringify([{ query: '{ config { version } }' }]), {}, 'admin'],
  ['extensions', json('{ config { version } }', { extensions: { persistedQuery: { version: 1, sha256Hash: 'x' } } }), {}, 'admin'],
  ['query is not a string', JSON.stringify({ query: 1 }), {}, 'admin'],
  ['no query', JSON.stringify({ variables: {} }), {}, 'admin'],
  ['an unexpected parameter', JSON.stringify({ query: '{ config { version } }', other: 1 }), {}, 'admin'],
  ['bad JSON', '{"query":', {}, 'admin'],
  ['an Accept nothing answers', json('{ config { version } }'), { accept: 'application/xml' }, 'admin'],
  // RFC 9110: the media type is case-insensitive, blanks around ";" allowed (both were 415 here, taken on the REST routes).
  ['Content-Type in capitals', json('{ config { version } }'), { 'content-type': 'Application/JSON' }, 'admin'],
  ['Content-Type with a blank before ";"', json('{ config { version } }'), { 'content-type': 'application/json ; charset=UTF-8' }, 'admin'],
  ['a body that is not JSON', json('{ config { version } }'), { 'content-type': 'text/plain' }, 'admin'],
  // Variables graphql-jit would read wrongly from a document's second run (it runs on graphql-js): each answer
  // here is the same every time on graphql-js (a refusal, or no change), so a second answer that differs is jit's.
  // (Mutations: a query's second answer would come from the lane's answer cache, not from an executor.)
  [
    'a variable named toString, left out',
    json(
      'mutation M($toString: Int) { activateStrategy(strategyKey: "momentum", expectedVersion: $toString) { activeStrategyKey changed } }',
    ),
    {},
    'admin',
  ],
  [
    'a variable named constructor, left out',
    json('mutation M($constructor: Int) { activateStrategy(strategyKey: "momentum", expectedVersion: $constructor) { changed } }'),
    {},
    'admin',
  ],
  [
    '@include(if: $s), $s nullable and given null',
    json('query Q($s: Boolean = true) { config { version @include(if: $s) scanIntervalSeconds } }', { variables: { s: null } }),
    {},
    'admin',
  ],
  [
    '@skip(if: $s), $s nullable and given null',
    json('query Q($s: Boolean = false) { config { version @skip(if: $s) scanIntervalSeconds } }', { variables: { s: null } }),
    GRAPHQL_RESPONSE,
    'admin',
  ],
  [
    'a variable inside a JSON literal (an override out of its bounds)',
    json(
      'mutation S($v: Float) { updateConfig(input: { tunableOverrides: { momentum: { lookback_bars: $v } } }) { changed config { version tunableOverrides } } }',
      {
        variables: { v: 1 },
      },
    ),
    {},
    'admin',
  ],
  [
    "a variable inside a preset's tunables literal (out of its bounds)",
    json(
      'mutation P($f: Float) { upsertPreset(input: { key: "gold_lit", base: "gold", name: "Gold lit", tunables: { fast_ma_period: $f } }) { changed strategy { tunables } } }',
      { variables: { f: 1 } },
    ),
    {},
    'admin',
  ],
  [
    'an optional variable inside an input-object literal, left out',
    json(
      'mutation S($n: Int, $t: Boolean) { updateConfig(input: { scanIntervalSeconds: $n, tradingEnabled: $t }) { changed config { tradingEnabled scanIntervalSeconds } } }',
      {
        variables: { t: true },
      },
    ),
    {},
    'admin',
  ],
];

describe('the fast lane answers as yoga does (GraphQL-over-HTTP, the error table)', () => {
  // One server per path for the whole table (the per-test helpers would stop them after the first case).
  const servers: { name: string; server: RunningControlPlane; runtimeDir: string; seen: ReturnType<typeof observer>['seen'] }[] = [];
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    for (const { name, fastLane } of PATHS) {
      const { seen, plugin } = observer();
      const runtimeDir = await mkdtemp(path.join(tmpdir(), 'scp-lane-'));
      const server = await startControlPlane({
        host: '127.0.0.1',
        port: 0,
        runtimeDir,
        adminToken: TEST_TOKEN,
        logger: createLogger({ level: 'silent' }),
        fastLane,
        yogaPlugins: [plugin],
        // The table sends refused tokens on purpose; the failed-auth limiter has its own tests.
        security: { authFailures: { failuresPerMinute: 100_000 } },
      });
      tokens[name] = await createToken(runtimeDir, 'reader', 'read');
      servers.push({ name, server, runtimeDir, seen });
    }
  });
  afterAll(async () => {
    for (const { server, runtimeDir } of servers) {
      await server.close();
      await rm(runtimeDir, { recursive: true, force: true });
    }
  });

  const tokenFor = (name: string, kind: string) =>
    kind === 'admin' ? TEST_TOKEN : kind === 'read' ? tokens[name]! : kind === 'wrong' ? 'wrong-token-0123456789abcdef' : null;

  it.each(CASES)('%s', async (_case, body, headers, token) => {
    const answers = [];
    // Twice each: the second answer may come from the lane's caches (documents, answers).
    for (let round = 0; round < 2; round++) {
      for (const { name, server } of servers) answers.push({ name, answer: await send(server, body, headers, tokenFor(name, token)) });
    }
    const [reference, ...others] = answers;
    for (const other of others) expect({ ...other.answer, path: other.name }).toEqual({ ...reference!.answer, path: other.name });
  });

  it('Content-Type is read as RFC 9110 says (case, blanks); a body said to be something else is 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    for (const { name, server } of servers) {
      for (const contentType of ['Application/JSON', 'application/json ; charset=UTF-8', 'APPLICATION/GRAPHQL+JSON']) {
        const answer = await send(server, json('{ config { version } }'), { 'content-type': contentType });
        expect({ path: name, contentType, status: answer.status, body: answer.body }).toEqual({
          path: name,
          contentType,
          status: 200,
          body: { data: { config: { version: 1 } } },
        });
      }
      const plain = await send(server, json('{ config { version } }'), { 'content-type': 'text/plain' });
      expect({ path: name, status: plain.status, body: plain.body }).toEqual({
        path: name,
        status: 415,
        body: { errors: [{ message: 'Unsupported Media Type', extensions: { code: 'UNSUPPORTED_MEDIA_TYPE' } }] },
      });
    }
  });

  it('a successful mutation answers alike, and plain JSON POSTs never reached yoga on the lane', async () => {
    const mutation = json(
      'mutation { activateStrategy(strategyKey: "gold") { activeStrategyKey previousStrategyKey configVersion changed } }',
    );
    const answers = [];
    for (const { server } of servers) answers.push(await send(server, mutation));
    expect(answers[0]).toMatchObject({ status: 200, body: { data: { activateStrategy: { configVersion: 2, changed: true } } } });
    for (const answer of answers.slice(1)) expect(answer).toEqual(answers[0]);
    const [yoga, ...lanes] = servers;
    const before = lanes.map(({ seen }) => seen.httpRequests);
    for (const { server } of lanes) {
      expect((await send(server, json('{ config { version } }'))).status).toBe(200);
      expect((await send(server, mutation)).status).toBe(200);
    }
    expect(lanes.map(({ seen }) => seen.httpRequests)).toEqual(before);
    expect(yoga!.seen.httpRequests).toBeGreaterThan(CASES.length);
  });

  it('a document sent again with other variables answers as graphql-js does (variables inside literals)', async () => {
    const runs: [string, Record<string, unknown>[]][] = [
      [
        'mutation S($v: Float) { updateConfig(input: { tunableOverrides: { momentum: { lookback_bars: $v } } }) { changed config { tunableOverrides } } }',
        [{ v: 21 }, { v: 22 }, { v: 23 }],
      ],
      [
        'mutation P($f: Float) { upsertPreset(input: { key: "gold_fast", base: "gold", name: "Gold fast", tunables: { fast_ma_period: $f } }) { changed strategy { tunables } } }',
        [{ f: 8 }, { f: 9 }, { f: 10 }],
      ],
      [
        'mutation S($n: Int, $t: Boolean) { updateConfig(input: { scanIntervalSeconds: $n, tradingEnabled: $t }) { changed config { tradingEnabled scanIntervalSeconds } } }',
        [{ n: 40, t: true }, { t: false }, { n: 45 }, { t: true }],
      ],
    ];
    const byPath = servers.map(({ name, server }) => ({ name, server, answers: [] as Answer[] }));
    for (const [query, variableSets] of runs) {
      for (const variables of variableSets) {
        for (const { server, answers } of byPath) answers.push(await send(server, json(query, { variables })));
      }
    }
    const [reference, ...others] = byPath;
    expect(reference!.answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(reference!.answers.map((a) => (a.body as { data: Record<string, { changed: boolean }> }).data)).toMatchObject([
      { updateConfig: { changed: true, config: { tunableOverrides: { momentum: { lookback_bars: 21 } } } } },
      { updateConfig: { changed: true, config: { tunableOverrides: { momentum: { lookback_bars: 22 } } } } },
      { updateConfig: { changed: true, config: { tunableOverrides: { momentum: { lookback_bars: 23 } } } } },
      { upsertPreset: { changed: true, strategy: { tunables: { fast_ma_period: 8 } } } },
      { upsertPreset: { changed: true, strategy: { tunables: { fast_ma_period: 9 } } } },
      { upsertPreset: { changed: true, strategy: { tunables: { fast_ma_period: 10 } } } },
      { updateConfig: { changed: true, config: { tradingEnabled: true, scanIntervalSeconds: 40 } } },
      { updateConfig: { changed: true, config: { tradingEnabled: false, scanIntervalSeconds: 40 } } },
      { updateConfig: { changed: true, config: { tradingEnabled: false, scanIntervalSeconds: 45 } } },
      { updateConfig: { changed: true, config: { tradingEnabled: true, scanIntervalSeconds: 45 } } },
    ]);
    for (const other of others)
      expect({ path: other.name, answers: other.answers }).toEqual({ path: other.name, answers: reference!.answers });
  });
});

describe('execution on the lane', () => {
  it('graphql-jit executes a document from its second run when the switch is on; yoga executor otherwise; mutations too', async () => {
    for (const jit of [true, false]) {
      const { seen, plugin } = observer();
      const server = await startTestServer({ fastLane: { jit, responseCache: false }, yogaPlugins: [plugin] });
      const query = 'query Q($k: String!) { strategy(key: $k) { key isActive effectiveTunables riskLevel } }';
      for (const k of ['gold', 'range', 'nope']) {
        const res = await server.gql(query, { k });
        expect(res.body.errors).toBeUndefined();
        expect(res.body.data?.strategy?.key ?? null).toBe(k === 'nope' ? null : k);
      }
      const activations = [];
      for (const k of ['gold', 'range', 'gold']) {
        activations.push(
          (await server.gql('mutation A($k: String!) { activateStrategy(strategyKey: $k) { configVersion changed } }', { k })).body,
        );
      }
      expect(activations.map((a) => a.data?.activateStrategy)).toEqual([
        { configVersion: 2, changed: true },
        { configVersion: 3, changed: true },
        { configVersion: 4, changed: true },
      ]);
      const jitRuns = seen.executors.filter((name) => name === 'jitExecute').length;
      expect(jitRuns).toBe(jit ? 4 : 0); // the 2nd and 3rd run of each document
      await server.close();
    }
  });

  it('compiles at most its budget of documents a second; the others run on the reference executor, correctly, until it refills', async () => {
    let clock = 1_000_000;
    const { seen, plugin } = observer();
    const server = await startTestServer({
      fastLane: { responseCache: false, jitCompiles: { perSecond: 2, now: () => clock } },
      yogaPlugins: [plugin],
    });
    // Five different documents, three runs each, within one instant: only two get compiled.
    const documents = ['key', 'name', 'riskLevel', 'isActive', 'instruments'].map((field) => `{ strategy(key: "gold") { key ${field} } }`);
    for (let run = 0; run < 3; run++) {
      for (const query of documents) expect((await server.gql(query)).body.data?.strategy?.key).toBe('gold');
    }
    const jitRuns = () => seen.executors.filter((name) => name === 'jitExecute').length;
    expect(jitRuns()).toBe(4); // the 2nd and 3rd run of the first two documents
    // A second later the bucket holds two again: the next two documents waiting are compiled on their next run.
    clock += 1000;
    for (const query of documents) expect((await server.gql(query)).body.data?.strategy?.key).toBe('gold');
    expect(jitRuns()).toBe(4 + 2 + 2);
    await server.close();
  });

  it('a cached, validated document still runs every per-request rule: onExecute hooks see each request with its variables', async () => {
    const refusals: string[] = [];
    const perRequestRule: Plugin = {
      onExecute({ args, setResultAndStopExecution }) {
        const k = (args.variableValues as { k?: string } | undefined)?.k;
        if (k !== 'range') return;
        refusals.push(k);
        setResultAndStopExecution({
          errors: [new GraphQLError('refused per request', { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } })],
        });
      },
    };
    const server = await startTestServer({ yogaPlugins: [perRequestRule] });
    const query = 'query Q($k: String!) { strategy(key: $k) { key } }';
    const outcomes = [];
    for (const k of ['gold', 'range', 'gold', 'range', 'range']) {
      const res = await server.gql(query, { k });
      outcomes.push(res.status === 200 ? res.body.data?.strategy?.key : res.body.errors?.[0]?.message);
    }
    expect(outcomes).toEqual(['gold', 'refused per request', 'gold', 'refused per request', 'refused per request']);
    expect(refusals).toEqual(['range', 'range', 'range']);
  });
});

describe('reads are never stale (the lane caches whole answers)', () => {
  const STATUS = '{ status { activeStrategyKey configVersion } }';
  const KEYS = ['gold', 'range', 'momentum', 'eur_usd_5m_safe'];

  it('sequentially: each read after an answered write sees it', async () => {
    const server = await startTestServer();
    for (let i = 0; i < 12; i++) {
      const before = await server.gql(STATUS);
      expect(await server.gql(STATUS)).toMatchObject({ body: before.body }); // the same answer, from the cache
      const key = KEYS[i % KEYS.length]!;
      const write = await server.gql('mutation A($k: String!) { activateStrategy(strategyKey: $k) { configVersion } }', { k: key });
      const version = write.body.data?.activateStrategy.configVersion;
      expect((await server.gql(STATUS)).body.data?.status).toEqual({ activeStrategyKey: key, configVersion: version });
    }
  });

  it('concurrently: every read sent after a write was answered sees that write (or a later one)', async () => {
    const server = await startTestServer();
    const answered: { at: number; version: number }[] = [];
    const reads: { sentAt: number; version: number }[] = [];
    let writing = true;
    const readers = Array.from({ length: 8 }, async () => {
      while (writing) {
        const sentAt = performance.now();
        const res = await server.gql(STATUS);
        reads.push({ sentAt, version: res.body.data?.status.configVersion });
      }
    });
    for (let i = 0; i < 15; i++) {
      const res = await server.gql('mutation A($k: String!) { activateStrategy(strategyKey: $k) { configVersion } }', {
        k: KEYS[i % KEYS.length],
      });
      answered.push({ at: performance.now(), version: res.body.data?.activateStrategy.configVersion });
    }
    writing = false;
    await Promise.all(readers);
    expect(answered.map((a) => a.version)).toEqual(Array.from({ length: 15 }, (_, i) => i + 2));
    expect(reads.length).toBeGreaterThan(15);
    for (const read of reads) {
      const newestBefore = answered.filter((w) => w.at <= read.sentAt).at(-1)?.version ?? 1;
      expect(read.version, `read sent at ${read.sentAt.toFixed(1)} ms`).toBeGreaterThanOrEqual(newestBefore);
    }
  });

  it('callers with different identities and scopes never share an answer', async () => {
    const server = await startTestServer();
    const reader = await createToken(server.runtimeDir, 'reader', 'read');
    const operator = await createToken(server.runtimeDir, 'operator', 'operate');
    const viewer = '{ viewer { name scope } status { configVersion } }';
    for (let round = 0; round < 3; round++) {
      expect((await server.gql(viewer)).body.data?.viewer).toEqual({ name: 'admin', scope: 'ADMIN' });
      expect((await server.gql(viewer, undefined, reader)).body.data?.viewer).toEqual({ name: 'reader', scope: 'READ' });
      expect((await server.gql(viewer, undefined, operator)).body.data?.viewer).toEqual({ name: 'operator', scope: 'OPERATE' });
      expect((await server.gql(viewer, undefined, null)).body.data?.viewer).toBeNull();
    }
  });

  it('with reads requiring a token: an anonymous read is refused even after a token holder read the same document', async () => {
    const server = await startTestServer({ readsRequireToken: true });
    expect((await server.gql(STATUS)).status).toBe(200);
    const anonymous = await server.gql(STATUS, undefined, null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('a change without a commit (a hand edit that breaks the file) shows in a cached status, and its repair too', async () => {
    const server = await startTestServer();
    const configError = '{ status { configError { message } configVersion } }';
    expect((await server.gql(configError)).body.data?.status.configError).toBeNull();
    expect((await server.gql(configError)).body.data?.status.configError).toBeNull();
    const file = path.join(server.runtimeDir, 'config.yaml');
    await writeFile(file, 'active_strategy_key: [\n');
    const deadline = Date.now() + 10_000;
    let answer = await server.gql(configError);
    while (answer.body.data?.status.configError === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      answer = await server.gql(configError);
    }
    expect(answer.body.data?.status.configError?.message).toMatch(/config\.yaml/);
    await writeFile(
      file,
      'active_strategy_key: range\ntrading_enabled: true\nscan_interval_seconds: 30\nversion: 7\nupdated_at: 2026-11-01T00:00:00Z\n',
    );
    while (answer.body.data?.status.configError !== null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      answer = await server.gql(configError);
    }
    expect(answer.body.data?.status).toEqual({ configError: null, configVersion: 7 });
  });

  it('the runner applying a change shows in a cached status at once', async () => {
    const server = await startTestServer({ runner: {} });
    const runner = '{ status { runner { appliedConfigVersion appliedStrategyKey } } }';
    for (const k of ['gold', 'range', 'momentum']) {
      await server.gql(runner);
      const write = await server.gql(
        'mutation A($k: String!) { activateStrategy(strategyKey: $k, waitForRunner: true, timeoutMs: 10000) { configVersion runnerWait { applied } } }',
        { k },
      );
      expect(write.body.data?.activateStrategy.runnerWait).toEqual({ applied: true });
      expect((await server.gql(runner)).body.data?.status.runner).toEqual({
        appliedConfigVersion: write.body.data?.activateStrategy.configVersion,
        appliedStrategyKey: k,
      });
    }
  });

  it('the audit trail (never cached) shows each write', async () => {
    const server = await startTestServer();
    for (const k of ['gold', 'range']) {
      await server.gql('{ auditLog(last: 1) { version } }');
      const write = await server.gql('mutation A($k: String!) { activateStrategy(strategyKey: $k) { configVersion } }', { k });
      expect((await server.gql('{ auditLog(last: 1) { version } }')).body.data?.auditLog).toEqual([
        { version: write.body.data?.activateStrategy.configVersion },
      ]);
    }
  });

  it('answers with errors are never cached', async () => {
    const server = await startTestServer();
    const query = 'query Q($r: RiskLevel) { strategies(riskLevel: $r) { key } }';
    for (let i = 0; i < 2; i++) expect((await server.gql(query, { r: 'NOPE' })).body.errors?.length).toBe(1);
    expect((await server.gql(query, { r: 'LOW' })).body.data?.strategies.length).toBeGreaterThan(0);
  });
});

describe('answers written at the end of the turn (turn-writer.ts)', () => {
  const post = (host: string, body: string, close = false) =>
    `POST /graphql HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nAccept: application/graphql-response+json, application/json\r\n` +
    `Authorization: Bearer ${TEST_TOKEN}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n${close ? 'Connection: close\r\n' : ''}\r\n${body}`;

  it('requests pipelined in one write on one connection: each answered once, in the order sent (cached reads, a probe, a write between them)', async () => {
    const server = await startTestServer();
    const host = new URL(server.origin).host;
    const strategies = JSON.stringify({ query: '{ strategies { key } }' });
    const status = JSON.stringify({ query: '{ status { configVersion } }' });
    // Cached by these reads (same caller, body and media type): answered in the turn they are read.
    const expected = (await server.gql('{ strategies { key } }')).body.data;
    await server.gql('{ status { configVersion } }');
    const answers = await pipelinedRequests(server.origin, [
      post(host, strategies),
      post(host, status),
      `GET /health HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
      post(host, strategies),
      post(host, JSON.stringify({ query: 'mutation { activateStrategy(strategyKey: "gold") { activeStrategyKey } }' })),
      post(host, strategies, true),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const bodies = answers.map((a) => JSON.parse(a.body.toString('utf8')));
    expect(bodies[0].data).toEqual(expected);
    expect(bodies[1].data.status.configVersion).toBeGreaterThanOrEqual(1);
    expect(bodies[2].status).toBe('ok');
    expect(bodies[3].data).toEqual(expected);
    expect(bodies[4].data).toEqual({ activateStrategy: { activeStrategyKey: 'gold' } });
    expect(bodies[5].data).toEqual(expected);
    expect(new Set(answers.map((a) => a.headers['x-request-id'])).size).toBe(6);
  });

  it('an answer with text outside ASCII (a preset named so): its Content-Length counts bytes, from the cache too', async () => {
    const server = await startTestServer();
    const host = new URL(server.origin).host;
    const name = 'Gold de nuit ☾ für später';
    const description = 'Réglé pour la nuit: 😴, 夜';
    const upsert = await server.gql('mutation P($i: PresetInput!) { upsertPreset(input: $i) { changed } }', {
      i: { key: 'gold_nuit', base: 'gold', name, description },
    });
    expect(upsert.body.data?.upsertPreset.changed).toBe(true);
    const read = JSON.stringify({ query: '{ strategy(key: "gold_nuit") { name description } }' });
    // The first computes and caches the answer; the next two come from the cache. Pipelined: a
    // length counted in characters would cut each answer short and run into the next.
    const answers = await pipelinedRequests(server.origin, [post(host, read), post(host, read), post(host, read, true)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    for (const answer of answers) {
      expect(Number(answer.headers['content-length'])).toBe(answer.body.byteLength);
      expect(JSON.parse(answer.body.toString('utf8')).data).toEqual({ strategy: { name, description } });
    }
  });

  it('many cached reads arriving in the same turns on their own connections: every one answered, with its own request id', async () => {
    const server = await startTestServer();
    const query = '{ strategies { key name } }';
    const expected = (await server.gql(query)).body.data;
    const answers = await Promise.all(Array.from({ length: 60 }, () => server.gql(query)));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body.data).toEqual(expected);
    }
    expect(new Set(answers.map((a) => a.headers.get('x-request-id'))).size).toBe(60);
  });
});

describe('the cacheable root fields', () => {
  it('every root query field is classified: cached (the read revision covers it) or never cached (add new fields to one list)', async () => {
    const { CACHEABLE_ROOT_FIELDS, UNCACHED_ROOT_FIELDS } = await import('../../src/http/fast-lane/response-cache.js');
    const { schema } = await import('../../src/graphql/schema/index.js');
    const fields = Object.keys(schema.getQueryType()?.getFields() ?? {});
    const classified = [...CACHEABLE_ROOT_FIELDS, ...UNCACHED_ROOT_FIELDS].filter((f) => !f.startsWith('__'));
    expect(classified.sort()).toEqual(fields.sort());
  });
});

it('gql helper sanity: the lane serves what the helper sends (graphql-response+json first)', async () => {
  const server = await startTestServer();
  const res = await gql(server.url, '{ config { version } }');
  expect(res.headers.get('content-type')).toBe('application/graphql-response+json; charset=utf-8');
});
