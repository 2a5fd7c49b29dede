import fc from 'fast-check';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { COST_CACHE_MAX_KEY_CHARS, costCache, operationCost } from '../../src/graphql/plugins/cost.js';
import { schema } from '../../src/graphql/schema/index.js';
import { COST_LIMITS } from '../../src/limit-defaults.js';
import { GRAPHQL_PATHS } from '../helpers/graphql-paths.js';
import { startTestServer } from '../helpers/server.js';

const ENTRY =
  '{ time actor operation version digest changes { field before after } config { activeStrategyKey tunableOverrides version } }';
/** The probe's query: 15 aliases of `auditLog(last: $n)` (about 6 MB per 3 KB request, anonymously, before). */
const PROBE = `query Q($n: Int) { ${Array.from({ length: 15 }, (_, i) => `a${i}: auditLog(last: $n) ${ENTRY}`).join(' ')} }`;
const PROBE_LITERAL = PROBE.replace('query Q($n: Int)', 'query Q').replaceAll('$n', '1000');

const costOf = (query: string, variables: Record<string, unknown> = {}, unknownListSize = 100) =>
  operationCost(schema, parse(query), { variables, unknownListSize }).cost;

describe('document cost, per request with its variables (issue 14, finding 1: the limit was bypassed by a variable)', () => {
  it('the reproduction: `last: $n` with {"n": 1000} is refused like the literal, anonymously and with a token', async () => {
    const server = await startTestServer();
    for (const [query, variables] of [
      [PROBE_LITERAL, undefined],
      [PROBE, { n: 1000 }],
    ] as const) {
      const anonymous = await server.gql(query, variables, null);
      expect(anonymous.status).toBe(400);
      expect(anonymous.body.data ?? null).toBeNull();
      expect(anonymous.body.errors?.[0]).toMatchObject({
        message: 'Invalid last: at most 100 (1000 with a token), got 1000',
        extensions: { code: 'BAD_USER_INPUT' },
      });
      const withToken = await server.gql(query, variables);
      expect(withToken.status).toBe(400);
      expect(withToken.body.errors?.[0]?.message).toMatch(/^Query cost \d+ is over the limit of 20000$/);
    }
  });

  it('counts list sizes from a literal, a variable, the variable’s default and the argument’s default alike', () => {
    const fields = '{ version actor }';
    const literal = costOf(`{ auditLog(last: 20) ${fields} }`);
    expect(costOf(`{ auditLog ${fields} }`)).toBe(literal); // the schema's default: 20
    expect(costOf(`query($n: Int) { auditLog(last: $n) ${fields} }`, { n: 20 })).toBe(literal);
    expect(costOf(`query($n: Int = 20) { auditLog(last: $n) ${fields} }`)).toBe(literal);
    expect(costOf(`query($n: Int) { auditLog(last: $n) ${fields} }`)).toBe(literal); // left out: the argument's default
    expect(costOf(`{ auditLog(last: 1000) ${fields} }`)).toBe(50 * literal);
    // Fields merge in execution, and so in the cost: a fragment spread five times costs what it runs once.
    const once = costOf('{ ...F } fragment F on Query { status { configVersion activeStrategy { key } } }');
    expect(costOf('{ ...F ...F ...F ...F ...F } fragment F on Query { status { configVersion activeStrategy { key } } }')).toBe(once);
    // @skip(if: $s) is decided by the variable too.
    expect(costOf(`query($s: Boolean!) { auditLog(last: 100) @skip(if: $s) ${fields} status { configVersion } }`, { s: true })).toBe(
      costOf('{ status { configVersion } }'),
    );
  });

  it('a `last` left out counts as the default at most the caller’s list limit, not as the default itself', () => {
    const fields = '{ version actor }';
    // --max-list-size 10: `{ auditLog }` (default 20) is costed, and checked, as `last: 10`; one given is as given.
    expect(costOf(`{ auditLog ${fields} }`, {}, 10)).toBe(costOf(`{ auditLog(last: 10) ${fields} }`, {}, 10));
    expect(costOf(`query($n: Int) { auditLog(last: $n) ${fields} }`, {}, 10)).toBe(costOf(`{ auditLog(last: 10) ${fields} }`, {}, 10));
    expect(costOf(`{ auditLog(last: 20) ${fields} }`, {}, 10)).toBe(2 * costOf(`{ auditLog(last: 10) ${fields} }`, {}, 10));
    const lists = operationCost(schema, parse(`{ configHistory ${fields} signals { instrument } }`), { unknownListSize: 10 }).lists;
    expect(lists.map((l) => l.size)).toEqual([10, 10]);
  });

  for (const { name, fastLane } of GRAPHQL_PATHS) {
    it(`${name}: with --max-list-size under a list's default, a request that gives no \`last\` gets the limit's worth, not a refusal`, async () => {
      const server = await startTestServer({
        fastLane,
        security: { costLimits: { maxListSize: 10, maxListSizeWithToken: 15 } },
      });
      for (let i = 0; i < 18; i++) {
        const res = await server.gql('mutation($k: String!) { activateStrategy(strategyKey: $k) { config { version } } }', {
          k: i % 2 === 0 ? 'gold' : 'momentum',
        });
        expect(res.body.errors).toBeUndefined();
      }
      const lengths = async (token: string | null) => {
        const res = await server.gql<{ auditLog: unknown[]; configHistory: unknown[]; signals: unknown[] }>(
          '{ auditLog { version } configHistory { version } signals { instrument } }',
          undefined,
          token,
        );
        expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
        expect(res.body.errors).toBeUndefined();
        const data = res.body.data!;
        expect(data.signals.length).toBeLessThanOrEqual(token ? 15 : 10);
        return [data.auditLog.length, data.configHistory.length];
      };
      // Defaults 20 (auditLog) and 100 (configHistory), at most 10 anonymously and 15 with a token.
      expect(await lengths(null)).toEqual([10, 10]);
      expect(await lengths(server.token)).toEqual([15, 15]);
      // A `last` the request gives is as given: within the limit answered, over it refused.
      const given = await server.gql<{ auditLog: unknown[] }>('query($n: Int) { auditLog(last: $n) { version } }', { n: 3 }, null);
      expect(given.body.data?.auditLog).toHaveLength(3);
      const over = await server.gql('{ auditLog(last: 11) { version } }', undefined, null);
      expect(over.status).toBe(400);
      expect(over.body.errors?.[0]?.message).toBe('Invalid last: at most 10 (15 with a token), got 11');
    });
  }

  it('generated: refused exactly when a list is over its limit or the cost (aliases x size x 5) over the caller’s, however the size is given', async () => {
    const server = await startTestServer({ security: { authFailures: { failuresPerMinute: 1_000_000 } } });
    const sizeForm = fc.constantFrom('literal', 'variable', 'variable-default', 'argument-default');
    const seen = { ok: 0, list: 0, cost: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 15 }),
        fc.oneof(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 1_200 })),
        sizeForm,
        fc.boolean(),
        async (aliases, size, form, withToken) => {
          const n = form === 'argument-default' ? 20 : size;
          const arg = form === 'literal' ? `(last: ${n})` : form === 'argument-default' ? '' : '(last: $n)';
          const header = form === 'variable' ? 'query Q($n: Int)' : form === 'variable-default' ? `query Q($n: Int = ${n})` : 'query Q';
          const query = `${header} { ${Array.from({ length: aliases }, (_, i) => `a${i}: auditLog${arg} { version actor }`).join(' ')} }`;
          const res = await server.gql(query, form === 'variable' ? { n } : undefined, withToken ? server.token : null);
          const maxList = withToken ? COST_LIMITS.maxListSizeWithToken : COST_LIMITS.maxListSize;
          const maxCost = withToken ? COST_LIMITS.maxCostWithToken : COST_LIMITS.maxCost;
          const expected = n > maxList ? 'list' : aliases * n * 5 > maxCost ? 'cost' : 'ok';
          seen[expected] += 1;
          if (expected === 'ok') {
            expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
            expect(res.body.errors).toBeUndefined();
          } else {
            expect(res.status).toBe(400);
            expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
            expect(res.body.errors?.[0]?.message).toMatch(expected === 'list' ? /^Invalid last: at most/ : /^Query cost \d+ is over/);
          }
        },
      ),
      { numRuns: 40, seed: 1401 },
    );
    expect(Math.min(seen.ok, seen.list, seen.cost)).toBeGreaterThan(0);
  }, 60_000);

  it('mutations and subscriptions are costed per request too: refused before anything runs or is written', async () => {
    const server = await startTestServer({ security: { costLimits: { maxCostWithToken: 10 } } });
    const mutation = await server.gql(
      'mutation { activateStrategy(strategyKey: "gold") { status { activeStrategy { key name description instruments } } } }',
    );
    expect(mutation.status).toBe(400);
    expect(mutation.body.errors?.[0]?.message).toMatch(/^Query cost \d+ is over the limit of 10$/);
    expect(server.store.state().config.config).toMatchObject({ activeStrategyKey: 'momentum', version: 1 });
    const subscription = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${server.token}` },
      body: JSON.stringify({ query: 'subscription { statusChanged { activeStrategy { key name description instruments tunables } } }' }),
    });
    const text = await subscription.text();
    expect(text).toMatch(/Query cost \d+ is over the limit of 10/);
    expect(text).not.toMatch(/"activeStrategy"/);
  });

  it('a repeated document is checked against each request’s own variables and caller, answered or not', async () => {
    const server = await startTestServer();
    const query = `query Q($n: Int) { ${Array.from({ length: 15 }, (_, i) => `a${i}: auditLog(last: $n) { version actor }`).join(' ')} }`;
    // The same text, so the same parsed document every time: refused or not by each request's own variables and caller.
    const steps: [Record<string, unknown>, string | null, number, RegExp | null][] = [
      [{ n: 10 }, null, 200, null],
      [{ n: 101 }, null, 400, /^Invalid last: at most 100 \(1000 with a token\), got 101$/],
      [{ n: 10 }, null, 200, null],
      [{ n: 101 }, server.token, 200, null], // cost 15 x 101 x 5 = 7575
      [{ n: 101 }, null, 400, /^Invalid last: at most 100/],
      [{ n: 300 }, server.token, 400, /^Query cost 22500 is over the limit of 20000$/],
      [{ n: 10 }, server.token, 200, null],
    ];
    for (const [variables, token, status, message] of steps) {
      const res = await server.gql(query, variables, token);
      expect(res.status, JSON.stringify([variables, token !== null, res.body])).toBe(status);
      if (message) expect(res.body.errors?.[0]?.message).toMatch(message);
      else expect(res.body.errors).toBeUndefined();
    }
  });

  it('costCache answers what operationCost answers, for each document, name, variables and list limit', () => {
    const cached = costCache(4);
    const query = (n: string) => parse(`query A($n: Int) { auditLog(last: $n) { version } } query B { auditLog(last: ${n}) { version } }`);
    const documents = [query('3'), query('5'), query('3')];
    const variableSets: (Record<string, unknown> | undefined)[] = [
      undefined,
      {},
      { n: 7 },
      { n: 70 },
      { n: 0 },
      { n: -0 },
      { n: null },
      { n: undefined },
      { n: 'x'.repeat(COST_CACHE_MAX_KEY_CHARS) },
    ];
    let calls = 0;
    for (let round = 0; round < 3; round++)
      for (const document of documents)
        for (const operationName of ['A', 'B', null, undefined, ''])
          for (const variables of variableSets)
            for (const unknownListSize of [10, 100]) {
              const options = { operationName, variables, unknownListSize };
              const want = (() => {
                try {
                  return operationCost(schema, document, options);
                } catch (err) {
                  return String(err);
                }
              })();
              const got = (() => {
                try {
                  return cached(schema, document, options);
                } catch (err) {
                  return String(err);
                }
              })();
              // toEqual tells -0 from 0: a size given as -0 stays -0.
              expect(got, JSON.stringify([round, documents.indexOf(document), operationName, variables, unknownListSize])).toEqual(want);
              calls++;
            }
    expect(calls).toBe(3 * 3 * 5 * variableSets.length * 2);
    // A hit is the same answer, not a new walk.
    const document = documents[0]!;
    const first = cached(schema, document, { operationName: 'A', variables: { n: 9 }, unknownListSize: 100 });
    expect(cached(schema, document, { operationName: 'A', variables: { n: 9 }, unknownListSize: 100 })).toBe(first);
    expect(cached(schema, documents[2]!, { operationName: 'A', variables: { n: 9 }, unknownListSize: 100 })).not.toBe(first);
  });

  it('the REST routes run their documents through the same check', async () => {
    const server = await startTestServer({ security: { costLimits: { maxCost: 3 } } });
    const res = await fetch(`${server.origin}/api/strategies`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      detail: expect.stringMatching(/^Query cost \d+ is over the limit of 3 without a token \(20000 with one\)$/),
    });
  });
});
