import { getIntrospectionQuery } from 'graphql';
import { describe, expect, it } from 'vitest';
import { MAX_REQUEST_BODY_BYTES, QUERY_LIMITS } from '../../src/limit-defaults.js';
import { gql } from '../helpers/http.js';
import { startTestServer } from '../helpers/server.js';

/** A valid document nested `levels` deep in inline fragments: depth grows, nothing else does. */
const nestedFragments = (levels: number) => `{ ${'... on Query { '.repeat(levels)}status { configVersion }${' }'.repeat(levels)} }`;

const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: status { configVersion }`).join(' ')} }`;
const typenames = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `t${i}: __typename`).join(' ')} }`;
const directives = (n: number) => `{ status { ${'... @include(if: true) { configVersion } '.repeat(n)}} }`;
const tokens = (n: number) => `{ status { ${'configVersion '.repeat(n)}} }`;

function limitError(res: { body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] } }) {
  expect(res.body.data ?? null).toBeNull();
  const error = res.body.errors?.[0];
  expect(error?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  return error!.message;
}

describe('query shape limits (GraphQL Armor; cost is per request: cost.test.ts)', () => {
  it.each([
    // depth = fragments + status + configVersion
    ['depth', nestedFragments(QUERY_LIMITS.maxDepth - 2), nestedFragments(QUERY_LIMITS.maxDepth - 1), /depth limit of 10 exceeded/],
    ['aliases', aliases(QUERY_LIMITS.maxAliases), aliases(QUERY_LIMITS.maxAliases + 1), /Aliases limit of 15 exceeded/],
    // The library's default allow list let these through uncounted.
    ['aliases of __typename', typenames(QUERY_LIMITS.maxAliases), typenames(QUERY_LIMITS.maxAliases + 1), /Aliases limit of 15 exceeded/],
    ['directives', directives(QUERY_LIMITS.maxDirectives), directives(QUERY_LIMITS.maxDirectives + 1), /Directives limit of 20 exceeded/],
    // (graphql-js itself aborts validating ~1,000 same-name fields, so the allowed one stays smaller)
    ['tokens', tokens(QUERY_LIMITS.maxTokens - 300), tokens(QUERY_LIMITS.maxTokens - 3), /Token limit of 1000 exceeded/],
  ])('%s: a document within the limit runs, one just past it is refused before execution', async (_name, allowed, refused, message) => {
    const server = await startTestServer();
    const ok = await server.gql(allowed);
    expect(ok.body.errors).toBeUndefined();
    expect(ok.body.data).toBeTruthy();

    const res = await server.gql(refused);
    expect(res.status).toBe(400); // graphql-response+json: a validation error is a 400
    expect(limitError(res)).toMatch(message);
  });

  it('lets the full introspection query GraphiQL and codegen send through every limit', async () => {
    const server = await startTestServer();
    const query = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
      oneOf: true,
    });
    const res = await server.gql(query);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data?.__schema.queryType.name).toBe('Query');
  });

  it('refuses an over-limit mutation without touching the config', async () => {
    const server = await startTestServer();
    const mutation = `mutation { ${Array.from({ length: 16 }, (_, i) => `a${i}: activateStrategy(strategyKey: "gold") { configVersion }`).join(' ')} }`;
    const res = await server.gql(mutation);
    expect(limitError(res)).toMatch(/Aliases limit/);
    expect(server.store.state().config.config).toMatchObject({ activeStrategyKey: 'momentum', version: 1 });
  });
});

describe('request body size', () => {
  const padded = (bytes: number) => JSON.stringify({ query: '{ status { configVersion } }', extensions: { pad: 'x'.repeat(bytes) } });

  it('answers 413 with the limit in the message, whether Content-Length says so or a chunked body runs over', async () => {
    const server = await startTestServer();
    const under = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: padded(60_000) });
    expect(under.status).toBe(200);

    const body = padded(MAX_REQUEST_BODY_BYTES);
    const declared = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({
      errors: [
        {
          message: `Request body too large: the limit is ${MAX_REQUEST_BODY_BYTES} bytes`,
          extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' },
        },
      ],
    });

    // A stream has no Content-Length: the limit is enforced while the body is read.
    const bytes = new TextEncoder().encode(body);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.slice(i, i + 8192));
        controller.close();
      },
    });
    const chunked = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(((await chunked.json()) as { errors: { message: string }[] }).errors[0]?.message).toMatch(/Request body too large/);
  });
});

describe('production mode', () => {
  const cases = {
    field: '{ statu { configVersion } }',
    argument: '{ strategies(instrumen: "EUR_USD") { key } }',
    enum: '{ strategies(riskLevel: HIHG) { key } }',
  };

  it('in development: introspection, suggestions and GraphiQL are on', async () => {
    const server = await startTestServer();
    expect((await server.gql('{ __schema { queryType { name } } }')).body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    for (const query of Object.values(cases)) expect((await server.gql(query)).body.errors?.[0]?.message).toMatch(/Did you mean/);
    const page = await fetch(server.url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/graphiql/i);
  });

  it('with production on: no introspection, no suggestions anywhere, no GraphiQL; queries still work', async () => {
    const server = await startTestServer({ production: true });
    for (const query of ['{ __schema { queryType { name } } }', '{ __type(name: "Query") { name } }']) {
      const res = await server.gql(query);
      expect(res.body.data ?? null).toBeNull();
      expect(res.body.errors?.[0]?.message).toMatch(/introspection has been disabled/);
    }
    for (const query of Object.values(cases)) {
      const res = await server.gql(query);
      expect(res.body.errors?.length).toBeGreaterThan(0);
      expect(JSON.stringify(res.body)).not.toMatch(/Did you mean|"status"|"instrument"|"HIGH"/);
    }
    const viaVariable = await server.gql('query($r: RiskLevel) { strategies(riskLevel: $r) { key } }', { r: 'HIHG' });
    expect(viaVariable.body.errors?.[0]?.message).toMatch(/does not exist in "RiskLevel" enum\.$/);
    expect(JSON.stringify(viaVariable.body)).not.toMatch(/Did you mean|HIGH/);

    // No playground: a browser gets a short page saying it is off (no script), not GraphiQL's 9 MB.
    const page = await (await fetch(server.url, { headers: { accept: 'text/html' } })).text();
    expect(page).toContain('The GraphQL playground (GraphiQL) is off');
    expect(page).not.toMatch(/<script/i);
    expect(page.length).toBeLessThan(2048);
    expect((await server.gql('{ __typename status { configVersion } }')).body).toEqual({
      data: { __typename: 'Query', status: { configVersion: 1 } },
    });
  });
});

describe('CORS', () => {
  it('sends no CORS headers: a cross-origin browser page cannot read or preflight the API', async () => {
    const server = await startTestServer();
    const preflight = await fetch(server.url, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-headers')).toBeNull();
    const res = await gql(server.url, '{ status { configVersion } }', undefined, { headers: { origin: 'http://evil.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('set-cookie')).toBeNull();
  });
});
