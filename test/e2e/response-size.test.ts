import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_RESPONSE_BYTES } from '../../src/limit-defaults.js';
import { startTestServer } from '../helpers/server.js';
import { openSse } from '../helpers/sse.js';

const STRATEGY_FIELDS = [
  'key',
  'name',
  'description',
  'instruments',
  'tunables',
  'effectiveTunables',
  'tunableDefinitions { name description }',
];

describe(`response size (${MAX_RESPONSE_BYTES} bytes by default): refused before it is sent`, () => {
  it('a query result over the cap: 400 `Response too large` (BAD_USER_INPUT), no data; under it: the data', async () => {
    const server = await startTestServer({ security: { maxResponseBytes: 4096 } });
    const big = await server.gql(`{ strategies { ${STRATEGY_FIELDS.join(' ')} } }`, undefined, null);
    expect(big.status).toBe(400);
    expect(big.body).toEqual({
      errors: [{ message: 'Response too large', extensions: { code: 'BAD_USER_INPUT', maxResponseBytes: 4096 } }],
    });
    const small = await server.gql('{ strategies { key } }', undefined, null);
    expect(small.status).toBe(200);
    expect(small.body.data?.strategies).toHaveLength(5);
  });

  it('generated: refused exactly when the answer would be over the cap', async () => {
    const open = await startTestServer();
    const capped = await startTestServer({ security: { maxResponseBytes: 6_000 } });
    const seen = { refused: 0, answered: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(fc.subarray(STRATEGY_FIELDS, { minLength: 1 }), { minLength: 1, maxLength: 4 }), async (selections) => {
        const query = `{ ${selections.map((fields, i) => `s${i}: strategies { ${fields.join(' ')} }`).join(' ')} }`;
        const full = await open.gql(query, undefined, null);
        expect(full.status).toBe(200);
        const size = Buffer.byteLength(JSON.stringify(full.body));
        const res = await capped.gql(query, undefined, null);
        if (size > 6_000) {
          seen.refused += 1;
          expect(res.status).toBe(400);
          expect(res.body.errors?.[0]?.message).toBe('Response too large');
        } else {
          seen.answered += 1;
          expect(res.body).toEqual(full.body);
        }
      }),
      { numRuns: 30, seed: 2 },
    );
    expect(Math.min(seen.refused, seen.answered)).toBeGreaterThan(0);
  });

  it('each subscription event is capped on its own: a large event arrives as the error, the stream goes on', async () => {
    const server = await startTestServer({ security: { maxResponseBytes: 600 } });
    const large = await openSse(
      server.url,
      `subscription { statusChanged { configVersion activeStrategy { ${STRATEGY_FIELDS.join(' ')} } } }`,
    );
    const small = await openSse(server.url, 'subscription { statusChanged { configVersion } }');
    await Promise.all([large.ready, small.ready]);
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    await server.gql('mutation { activateStrategy(strategyKey: "range") { configVersion } }');
    const largeEvents = (await large.take(2)).map((e) => e.data);
    const smallEvents = (await small.take(2)).map((e) => e.data);
    large.close();
    small.close();
    expect(largeEvents).toEqual([
      { errors: [{ message: 'Response too large', extensions: { code: 'BAD_USER_INPUT', maxResponseBytes: 600 } }] },
      { errors: [{ message: 'Response too large', extensions: { code: 'BAD_USER_INPUT', maxResponseBytes: 600 } }] },
    ]);
    expect(smallEvents).toEqual([{ data: { statusChanged: { configVersion: 2 } } }, { data: { statusChanged: { configVersion: 3 } } }]);
  });

  it('a mutation’s answer is never refused after it committed (its size is bounded by its cost)', async () => {
    const server = await startTestServer({ security: { maxResponseBytes: 200 } });
    const res = await server.gql(
      `mutation { activateStrategy(strategyKey: "gold") { configVersion status { activeStrategy { ${STRATEGY_FIELDS.join(' ')} } } } }`,
    );
    expect(res.status).toBe(200);
    expect(Buffer.byteLength(JSON.stringify(res.body))).toBeGreaterThan(200);
    expect(res.body.data?.activateStrategy.configVersion).toBe(2);
  });
});
