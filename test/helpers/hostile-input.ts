import { readFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { parseConfigFile } from '../../src/config/yaml-document.js';
import { defaultRegistry } from '../../src/registry/index.js';
import type { TestServer } from './server.js';

/** Strings that mean something to YAML, JavaScript objects or terminals: the ones most likely to break a writer. */
export const HOSTILE_STRINGS = [
  '*anchor',
  '&anchor value',
  '!!python/object:os.system',
  '!!python/object/apply:os.system ["id"]',
  '<<: *merge',
  '<<',
  '? complex key',
  '- item',
  '|',
  '>-',
  '%YAML 1.2',
  '---',
  '...',
  '{a: 1}',
  '[1, 2]',
  'null',
  '~',
  'yes',
  'on',
  '0x1F',
  '.inf',
  '.nan',
  '2026-01-01',
  "'quoted'",
  '"dq"',
  '# comment',
  'key: value',
  'a\nb: c',
  '\t',
  '\u0000',
  '\u001b[31m',
  '\u2028',
  '\u0085',
  '\uFEFF',
  '\uD800',
  'ä',
  '😀',
  '__proto__',
  'constructor',
  'toString',
  'prototype',
  'momentum\n',
  ' momentum',
  'MOMENTUM',
  'gold\u0000',
  '$(id)',
  '../../etc/passwd',
  'x'.repeat(5_000),
];

const STRATEGY_KEYS = defaultRegistry.keys;
const TUNABLE_NAMES = [...new Set(defaultRegistry.list().flatMap((s) => Object.keys(s.tunableSpecs)))];

const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.constantFrom('\u0000', '\u0007', '\n', '\r', '\u007f', '\u202e', ':', '*', '&', '!', '<') }),
  },
);
const key = fc.oneof(hostileString, fc.constantFrom(...STRATEGY_KEYS), fc.constantFrom(...TUNABLE_NAMES));
const scalar = fc.oneof(
  hostileString,
  fc.integer({ min: -1_000, max: 100_000 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(0, -0, 1e-300, 1e300, 2 ** 53 + 1),
);
const hostileJson = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(key, tie('value'), { maxKeys: 4 }),
})).value;

/** Overrides shaped like real ones (real strategy and tunable names, plausible values): some are accepted. */
const plausibleOverrides = fc.dictionary(
  fc.oneof(fc.constantFrom(...STRATEGY_KEYS), hostileString),
  fc.oneof(fc.constant(null), fc.dictionary(fc.oneof(fc.constantFrom(...TUNABLE_NAMES), hostileString), scalar, { maxKeys: 3 })),
  { maxKeys: 2 },
);
const updateInput = fc.record(
  {
    activeStrategyKey: fc.oneof(fc.constantFrom(...STRATEGY_KEYS), hostileString, scalar),
    tradingEnabled: fc.oneof(fc.boolean(), scalar),
    scanIntervalSeconds: fc.oneof(fc.integer({ min: -5, max: 90_000 }), scalar),
    tunableOverrides: fc.oneof(plausibleOverrides, hostileJson),
  },
  { requiredKeys: [] },
);

/** Mostly well-formed changes, so that a good share is accepted and the written file gets checked too. */
const plausibleUpdate = fc.record(
  {
    activeStrategyKey: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...STRATEGY_KEYS) }, hostileString),
    tradingEnabled: fc.boolean(),
    scanIntervalSeconds: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 86_400 }) }, scalar),
    tunableOverrides: fc.dictionary(
      fc.constantFrom(...STRATEGY_KEYS),
      fc.oneof(
        {
          weight: 6,
          arbitrary: fc.dictionary(
            fc.constantFrom(...TUNABLE_NAMES),
            fc.oneof(
              fc.integer({ min: 0, max: 300 }),
              fc.double({ min: 0, max: 10, noNaN: true }),
              fc.boolean(),
              fc.constant(null),
              hostileString,
            ),
            { maxKeys: 3 },
          ),
        },
        fc.constant(null),
      ),
      { maxKeys: 2 },
    ),
  },
  { requiredKeys: [] },
);

const UPDATE = 'mutation($i: UpdateConfigInput!) { updateConfig(input: $i) { changedFields config { version } } }';
const ACTIVATE = 'mutation($k: String!) { activateStrategy(strategyKey: $k) { configVersion } }';

/** Random token soup from the schema's own words: mostly parse or validation errors, sometimes a real query. */
const documentSoup = fc
  .array(
    fc.oneof(
      fc.constantFrom('{', '}', '(', ')', ':', '...', 'on', 'query', 'mutation', 'fragment', '@include(if: true)', '$v', '"s"', '1'),
      fc.constantFrom('status', 'strategies', 'strategy', 'config', 'key', 'configVersion', 'activeStrategy', '__typename', '__schema'),
      fc.constantFrom('activateStrategy', 'updateConfig', 'tunableOverrides', 'Query', 'x:', 'a:'),
      hostileString.map((s) => JSON.stringify(s)),
    ),
    { maxLength: 60 },
  )
  .map((tokens) => tokens.join(' '));

const document = fc.oneof(
  documentSoup,
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.integer({ min: 1, max: 20_000 }).map((n) => '{'.repeat(n)),
  fc.integer({ min: 1, max: 3_000 }).map((n) => `{ ${'status { '.repeat(n)}${'}'.repeat(n)} }`),
  fc.integer({ min: 100, max: 20_000 }).map((n) => `{ ${'__typename '.repeat(n)}}`),
  fc.constant(ACTIVATE),
  fc.constant(UPDATE),
);

const variables = fc.oneof(
  updateInput.map((i) => ({ i })),
  fc.oneof(hostileString, fc.constantFrom(...STRATEGY_KEYS)).map((k) => ({ k })),
  hostileJson,
);

export interface HostileRequest {
  method: 'GET' | 'POST';
  contentType: string | null;
  body: string | null;
  search: string;
  auth: 'admin' | 'none' | 'wrong';
}

const CONTENT_TYPES = [
  'application/json',
  'application/graphql+json',
  'application/graphql',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/yaml',
  'application/json; charset=utf-16',
  null,
];

const jsonBody = fc
  .record({ query: document, variables, operationName: fc.option(hostileString, { nil: undefined }) }, { requiredKeys: ['query'] })
  .map((b) => JSON.stringify(b));
const body = fc.oneof(
  { weight: 6, arbitrary: jsonBody },
  { weight: 4, arbitrary: plausibleUpdate.map((i) => JSON.stringify({ query: UPDATE, variables: { i } })) },
  { weight: 1, arbitrary: fc.constantFrom(...STRATEGY_KEYS).map((k) => JSON.stringify({ query: ACTIVATE, variables: { k } })) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('[]', 'null', '1', '"x"', '{', '{"query":', '[{"query":"{status{configVersion}}"}]', '\uFEFF{}'),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 10, max: 60_000 })
      .map((n) => `{"query":"{ status { configVersion } }","variables":${'['.repeat(n)}${']'.repeat(n)}}`),
  },
  { weight: 1, arbitrary: fc.integer({ min: 60_000, max: 200_000 }).map((n) => JSON.stringify({ query: `{ ${'a'.repeat(n)} }` })) },
  { weight: 1, arbitrary: hostileJson.map((v) => JSON.stringify(v) ?? 'null') },
);

export const hostileRequest: fc.Arbitrary<HostileRequest> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      method: fc.constant('POST' as const),
      contentType: fc.oneof({ weight: 4, arbitrary: fc.constant('application/json') }, fc.constantFrom(...CONTENT_TYPES)),
      body: body.map((b): string | null => b),
      search: fc.constant(''),
      auth: fc.constantFrom('admin' as const, 'admin' as const, 'none' as const, 'wrong' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      method: fc.constant('GET' as const),
      contentType: fc.constant(null),
      body: fc.constant(null),
      search: fc
        .record({ query: document, variables: variables.map((v) => JSON.stringify(v) ?? '') })
        .map(
          ({ query, variables }) =>
            `?query=${encodeURIComponent(query.slice(0, 4_000))}&variables=${encodeURIComponent(variables.slice(0, 2_000))}`,
        ),
      auth: fc.constantFrom('admin' as const, 'none' as const),
    }),
  },
);

export interface HostileStats {
  tried: number;
  accepted: number;
  refused: number;
  byStatus: Record<number, number>;
  /** 5xx answers other than the masked internal error (must stay 0). */
  unexpected5xx: number;
  maskedInternal: number;
  /** Refused requests that changed the file, or accepted ones that left it invalid (must stay 0). */
  filesCorrupted: number;
}

export function newStats(): HostileStats {
  return { tried: 0, accepted: 0, refused: 0, byStatus: {}, unexpected5xx: 0, maskedInternal: 0, filesCorrupted: 0 };
}

const STACK_LINE = /\n\s+at \S|\(\/[^)]*:\d+:\d+\)|node_modules|file:\/\//;

/**
 * Sends one hostile request and checks the invariants: an answer (no crash), no 5xx but the masked
 * internal error, nothing secret or internal in it, and the config file byte-identical (refused) or
 * valid and at the version answered (accepted). Throws on a violation; counts into `stats`.
 */
export async function sendHostile(server: TestServer, req: HostileRequest, stats: HostileStats): Promise<void> {
  const file = path.join(server.runtimeDir, 'config.yaml');
  const before = await readFile(file);
  const headers: Record<string, string> = { accept: 'application/graphql-response+json, application/json' };
  if (req.contentType) headers['content-type'] = req.contentType;
  if (req.auth === 'admin') headers.authorization = `Bearer ${server.token}`;
  if (req.auth === 'wrong') headers.authorization = 'Bearer wrong-token-0123456789abcdef';
  const res = await fetch(server.url + req.search, { method: req.method, headers, body: req.body });
  const text = await res.text();
  stats.tried += 1;
  stats.byStatus[res.status] = (stats.byStatus[res.status] ?? 0) + 1;

  const where = `HTTP ${res.status} for ${JSON.stringify(req).slice(0, 400)}: ${text.slice(0, 400)}`;
  if (text.includes(server.token) || text.includes(server.runtimeDir) || STACK_LINE.test(text)) throw new Error(`leak: ${where}`);
  let answer:
    | { data?: Record<string, { config?: { version: number }; configVersion?: number } | null> | null; errors?: unknown[] }
    | undefined;
  try {
    answer = JSON.parse(text);
  } catch {
    if (res.status !== 406 && res.status !== 415) throw new Error(`not JSON: ${where}`);
  }
  if (res.status >= 500) {
    const masked =
      JSON.stringify(answer?.errors) === JSON.stringify([{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
    if (masked && res.status === 500) stats.maskedInternal += 1;
    else {
      stats.unexpected5xx += 1;
      throw new Error(`5xx: ${where}`);
    }
  }

  const after = await readFile(file);
  const result = answer?.data?.updateConfig ?? answer?.data?.activateStrategy;
  if (res.status === 200 && result && !answer?.errors) {
    stats.accepted += 1;
    try {
      const { config } = parseConfigFile(defaultRegistry, file, after.toString('utf8'));
      const version = result.config?.version ?? result.configVersion;
      if (config.version !== version) throw new Error(`file at version ${config.version}, answer says ${version}`);
    } catch (err) {
      stats.filesCorrupted += 1;
      throw new Error(`accepted change left the file invalid (${(err as Error).message}): ${where}`);
    }
  } else {
    stats.refused += 1;
    if (!after.equals(before)) {
      stats.filesCorrupted += 1;
      throw new Error(`refused request changed config.yaml: ${where}`);
    }
  }
}

/** Runs `numRuns` hostile requests (fixed seed) against `server`; then checks the server still serves. */
export async function runHostileInput(server: TestServer, options: { numRuns: number; seed: number }): Promise<HostileStats> {
  const stats = newStats();
  await fc.assert(
    fc.asyncProperty(hostileRequest, (req) => sendHostile(server, req, stats)),
    { numRuns: options.numRuns, seed: options.seed, endOnFailure: true },
  );
  const health = await fetch(`${server.origin}/health`);
  if (health.status !== 200) throw new Error(`server unhealthy after the run: ${health.status}`);
  return stats;
}
