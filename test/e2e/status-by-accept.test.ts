import { describe, expect, it } from 'vitest';
import { GRAPHQL_PATHS } from '../helpers/graphql-paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const post = (
  server: TestServer,
  query: string,
  accept: string | null,
  token: string | null = server.token,
  variables?: Record<string, unknown>,
) =>
  fetch(server.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(accept !== null && { accept }),
      ...(token && { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({ query, variables }),
  });

const UPDATE = 'mutation($i: UpdateConfigInput!) { updateConfig(input: $i) { changed } }';
/** Variables that do not coerce to their types: GraphQL refuses them before anything runs. */
const BAD_VARIABLES: readonly [string, string, Record<string, unknown> | undefined][] = [
  ['not a whole number', UPDATE, { i: { scanIntervalSeconds: 1.5 } }],
  ['missing', UPDATE, undefined],
  ['a string for an Int', UPDATE, { i: { scanIntervalSeconds: '15' } }],
  ['an unknown input field', UPDATE, { i: { scanEvery: 3 } }],
  ['over 32 bits', UPDATE, { i: { scanIntervalSeconds: 3_000_000_000 } }],
  ['an unknown enum value', 'query($r: RiskLevel) { strategies(riskLevel: $r) { key } }', { r: 'EXTREME' }],
];

const ACCEPTS = ['*/*', 'application/json', 'application/graphql-response+json', null] as const;

describe.each(GRAPHQL_PATHS)('HTTP status by Accept (README: Errors), answered by $name', { timeout: 30_000 }, ({ fastLane }) => {
  it("the error table's statuses hold whatever Accept says: curl -f fails on them", async () => {
    const server = await startTestServer({ fastLane });
    for (const accept of ACCEPTS) {
      expect((await post(server, 'mutation { activateStrategy(strategyKey: "nope") { configVersion } }', accept)).status, `${accept}`).toBe(
        400,
      );
      expect(
        (await post(server, 'mutation { activateStrategy(strategyKey: "gold") { configVersion } }', accept, null)).status,
        `${accept}`,
      ).toBe(401);
      expect(
        (await post(server, 'mutation { activateStrategy(strategyKey: "gold", expectedVersion: 9) { configVersion } }', accept)).status,
      ).toBe(409);
    }
  });

  it('a variable that does not fit its type is invalid input: BAD_USER_INPUT and 400 whatever Accept says, nothing written', async () => {
    const server = await startTestServer({ fastLane });
    for (const accept of ACCEPTS) {
      for (const [what, query, variables] of BAD_VARIABLES) {
        const res = await post(server, query, accept, server.token, variables);
        expect(res.status, `${accept} ${what}`).toBe(400);
        const body = await res.json();
        expect(body.data ?? null, what).toBeNull();
        expect(body.errors[0].message, what).toMatch(/^Variable "\$[ir]"/);
        expect(body.errors[0].extensions, what).toEqual({ code: 'BAD_USER_INPUT' });
      }
    }
    expect((await server.gql('{ status { configVersion } }')).body.data).toEqual({ status: { configVersion: 1 } });
  });

  it('a parse or validation error: 400 under application/graphql-response+json, 200 with errors under application/json, */* or none', async () => {
    const server = await startTestServer({ fastLane });
    const expected = { '*/*': 200, 'application/json': 200, 'application/graphql-response+json': 400, none: 200 } as const;
    for (const accept of ACCEPTS) {
      for (const query of ['{ statuz { configVersion } }', '{ status ']) {
        const res = await post(server, query, accept);
        expect(res.status, `${accept} ${query}`).toBe(expected[accept ?? 'none']);
        const body = await res.json();
        expect(body.data).toBeUndefined();
        expect(body.errors[0].extensions.code).toMatch(/^GRAPHQL_(VALIDATION|PARSE)_FAILED$/);
      }
    }
    const notJson = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":' });
    expect(notJson.status).toBe(400);
  });
});
