import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { adminAuthenticator } from '../../src/auth/tokens.js';
import type { RequestScope } from '../../src/graphql/request-scope.js';
import { createControlPlaneYoga } from '../../src/graphql/yoga.js';
import type { Exchange } from '../../src/http/exchange.js';
import { inProcessRunner, OperationFailed } from '../../src/http/in-process.js';
import { createLogger } from '../../src/log.js';
import { GRAPHQL_PATHS } from '../helpers/graphql-paths.js';
import { startTestServer, TEST_TOKEN } from '../helpers/server.js';

const log = createLogger({ level: 'silent' });

interface Outcome {
  status: number;
  messages: string[];
  wwwAuthenticate: string | null;
}

/**
 * The same document through both doors of the same yoga instance: its own HTTP handling
 * (yoga.fetch) and in process through getEnveloped (what the REST routes and the fast lane use).
 * The envelop plugins (limits, production mode, masking, auth context) must answer alike.
 */
async function bothPaths(production: boolean, query: string, variables: Record<string, unknown>, authorization: string | null) {
  const server = await startTestServer();
  const yoga = createControlPlaneYoga({
    services: server.services,
    authenticator: adminAuthenticator(TEST_TOKEN),
    logger: log,
    production,
    readsRequireToken: false,
  });
  const scope: RequestScope = { requestId: 'parity', log, authorization, clientKey: '127.0.0.1' };
  const response = await yoga.fetch(
    'http://127.0.0.1/graphql',
    {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        ...(authorization && { authorization }),
      },
      body: JSON.stringify({ query, variables }),
    },
    scope,
  );
  const body = (await response.json()) as { errors?: { message: string }[] };
  const overHttp: Outcome = {
    status: response.status,
    messages: (body.errors ?? []).map((e) => e.message),
    wwwAuthenticate: response.headers.get('www-authenticate'),
  };

  const exchange = { requestId: 'parity', log, req: { headers: authorization ? { authorization } : {} } } as unknown as Exchange;
  let inProcess: Outcome;
  try {
    await inProcessRunner(yoga)(exchange, parse(query) as TypedDocumentNode<unknown, Record<string, unknown>>, variables);
    inProcess = { status: 200, messages: [], wwwAuthenticate: null };
  } catch (err) {
    if (!(err instanceof OperationFailed)) throw err;
    inProcess = { status: err.status, messages: [err.message], wwwAuthenticate: err.headers['www-authenticate'] ?? null };
  }
  // And over real HTTP through the adapter, on each path a JSON POST can take (yoga, the lane with and without jit), twice (caches).
  const adapter: Record<string, Outcome[]> = {};
  for (const { name, fastLane } of GRAPHQL_PATHS) {
    const laneServer = await startTestServer({ production, fastLane, security: { authFailures: { failuresPerMinute: 100_000 } } });
    adapter[name] = [];
    for (let round = 0; round < 2; round++) {
      const res = await fetch(laneServer.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          ...(authorization && { authorization }),
        },
        body: JSON.stringify({ query, variables }),
      });
      const answer = (await res.json()) as { errors?: { message: string }[] };
      adapter[name].push({
        status: res.status,
        messages: (answer.errors ?? []).map((e) => e.message),
        wwwAuthenticate: res.headers.get('www-authenticate'),
      });
    }
  }
  return { overHttp, inProcess, adapter };
}

describe('envelop plugins answer alike over yoga HTTP, in process (getEnveloped) and through the adapter on each path', () => {
  it.each([
    ['introspection in production', true, '{ __schema { queryType { name } } }', {}, null, 400, /introspection has been disabled/],
    [
      'a query past the depth limit',
      false,
      `{ ${'... on Query { '.repeat(9)}status { configVersion }${' }'.repeat(9)} }`,
      {},
      null,
      400,
      /depth limit/,
    ],
    [
      'an enum suggestion from variable coercion, production',
      true,
      'query($r: RiskLevel) { strategies(riskLevel: $r) { key } }',
      { r: 'HIHG' },
      null,
      null,
      /does not exist in "RiskLevel" enum\.$/,
    ],
    // Variables used only in @include/@skip: the cost walk reads them before execution coerces
    // them; a bad one was answered 200 without a code, a mutation's refusal too.
    [
      'a variable only @include reads, that does not coerce',
      false,
      'query($s: Boolean!) { status @include(if: $s) { configVersion } }',
      { s: 'yes' },
      null,
      400,
      /^Variable "\$s" got invalid value "yes"; Boolean cannot represent a non boolean value: "yes"$/,
    ],
    [
      'a variable only @skip reads, left out',
      false,
      'query($s: Boolean!) { status @skip(if: $s) { configVersion } }',
      {},
      null,
      400,
      /^Variable "\$s" of required type "Boolean!" was not provided\.$/,
    ],
    [
      'a mutation whose @include variable does not coerce',
      false,
      'mutation($go: Boolean!) { activateStrategy(strategyKey: "gold") @include(if: $go) { configVersion } }',
      { go: 'yes' },
      `Bearer ${TEST_TOKEN}`,
      400,
      /^Variable "\$go" got invalid value "yes"/,
    ],
    ['a wrong token', false, '{ status { configVersion } }', {}, 'Bearer wrong-token-0123456789abcdef', 401, /^Authentication required$/],
    [
      'an unknown strategy key',
      false,
      'mutation { activateStrategy(strategyKey: "nope") { configVersion } }',
      {},
      `Bearer ${TEST_TOKEN}`,
      400,
      /^Invalid strategy key: nope$/,
    ],
  ])('%s', async (_name, production, query, variables, authorization, status, message) => {
    const { overHttp, inProcess, adapter } = await bothPaths(production, query, variables, authorization);
    for (const [name, outcomes] of Object.entries(adapter)) {
      for (const outcome of outcomes) expect({ ...outcome, name }).toEqual({ ...overHttp, name });
    }
    expect(overHttp.messages[0]).toMatch(message);
    expect(inProcess.messages[0]).toBe(overHttp.messages[0]);
    expect(overHttp.messages.join()).not.toMatch(/Did you mean/);
    if (status !== null) {
      expect(overHttp.status).toBe(status);
      expect(inProcess.status).toBe(status);
    }
    expect(inProcess.wwwAuthenticate).toBe(overHttp.wwwAuthenticate);
  });
});
