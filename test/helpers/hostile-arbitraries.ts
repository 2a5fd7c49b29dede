import fc from 'fast-check';
import { defaultRegistry } from '../../src/registry/index.js';

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

export interface HostileRequest {
  method: 'GET' | 'POST';
  /** `/graphql`, or one of the seed's REST routes that write the config. */
  path: string;
  contentType: string | null;
  body: string | null;
  search: string;
  /** The admin token, none, a wrong one, or a raw (malformed) Authorization header. */
  auth: 'admin' | 'none' | 'wrong' | { header: string };
}

const MALFORMED_AUTH = [
  'Basic dXNlcjpwYXNz',
  'Bearer',
  'Bearer  a b',
  'bearer \t',
  `Bearer ${'x'.repeat(8_000)}`,
  'Bearer \u00ff\u00fe',
  'Bearer ../../admin.token',
  'Token abc',
];
const auth = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('admin' as const, 'admin' as const, 'none' as const, 'wrong' as const) },
  { weight: 1, arbitrary: fc.constantFrom(...MALFORMED_AUTH).map((header) => ({ header })) },
);

/** The predecessor's REST routes write the config too: snake_case bodies, hostile and plausible. */
const restKey = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom('active_strategy_key', 'trading_enabled', 'scan_interval_seconds', 'tunable_overrides', 'strategy_key'),
  },
  hostileString,
);
const hostileRestBody = fc.oneof(
  fc
    .dictionary(restKey, fc.oneof(hostileJson, fc.constantFrom(...STRATEGY_KEYS), plausibleOverrides), { maxKeys: 3 })
    .map((b) => JSON.stringify(b)),
  fc.string({ unit: 'binary', maxLength: 200 }),
);
const plausibleConfigBody = plausibleUpdate.map((u) =>
  JSON.stringify({
    ...(u.activeStrategyKey !== undefined && { active_strategy_key: u.activeStrategyKey }),
    ...(u.tradingEnabled !== undefined && { trading_enabled: u.tradingEnabled }),
    ...(u.scanIntervalSeconds !== undefined && { scan_interval_seconds: u.scanIntervalSeconds }),
    ...(u.tunableOverrides !== undefined && { tunable_overrides: u.tunableOverrides }),
  }),
);
const plausibleActivateBody = fc.oneof(fc.constantFrom(...STRATEGY_KEYS), hostileString).map((k) => JSON.stringify({ strategy_key: k }));
const restRequest = fc.oneof(
  ...(
    [
      ['/api/config', plausibleConfigBody],
      ['/api/strategy/activate', plausibleActivateBody],
    ] as const
  ).map(([path, plausible]) =>
    fc.record({
      method: fc.constant('POST' as const),
      path: fc.constant(path),
      contentType: fc.oneof({ weight: 4, arbitrary: fc.constant('application/json') }, fc.constantFrom(...CONTENT_TYPES)),
      body: fc.oneof(plausible, hostileRestBody).map((b): string | null => b),
      search: fc.constant(''),
      auth,
    }),
  ),
);

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
      path: fc.constant('/graphql'),
      contentType: fc.oneof({ weight: 4, arbitrary: fc.constant('application/json') }, fc.constantFrom(...CONTENT_TYPES)),
      body: body.map((b): string | null => b),
      search: fc.constant(''),
      auth,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      method: fc.constant('GET' as const),
      path: fc.constant('/graphql'),
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
  { weight: 2, arbitrary: restRequest },
);
