import { describe, expect, it } from 'vitest';
import { GRAPHQL_PATHS } from '../helpers/graphql-paths.js';
import { gql } from '../helpers/http.js';
import { startTestServer } from '../helpers/server.js';

const WRONG = 'wrong-token-0123456789abcdef';

/** Documents that do not parse or validate, or break a document limit: each answer would say something about the schema or the document. */
const BAD_DOCUMENTS: { name: string; query: string; operationName?: string }[] = [
  { name: 'an unknown field', query: '{ secretThing }' },
  { name: 'a syntax error', query: '{ status { ' },
  { name: 'a literal of the wrong type', query: '{ strategy(key: 5) { key } }' },
  { name: 'an unknown argument', query: '{ strategies(secret: 1) { key } }' },
  { name: 'an unknown operationName', query: 'query A { status { configVersion } }', operationName: 'B' },
  { name: 'two mutation fields', query: 'mutation { a: reloadStrategies { presetsVersion } b: reloadStrategies { presetsVersion } }' },
];

const params = ({ query, operationName }: (typeof BAD_DOCUMENTS)[number]) => ({ query, operationName });

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(body),
  });

async function expectRefused(res: Response, reason: 'missing' | 'invalid') {
  const body = await res.json();
  expect(res.status).toBe(401);
  expect(body).toEqual({ errors: [{ message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED' } }] });
  const challenge = res.headers.get('www-authenticate');
  expect(challenge).toMatch(/^Bearer realm="strategy-control-plane"/);
  if (reason === 'invalid') expect(challenge).toContain('error="invalid_token"');
  else expect(challenge).not.toContain('invalid_token');
}

for (const { name: path, fastLane } of GRAPHQL_PATHS) {
  describe(`the token before the document, answered by ${path}`, () => {
    it.each(BAD_DOCUMENTS)(
      'a wrong token with $name is refused 401 (reads public), not told what is wrong with the document',
      async (doc) => {
        const server = await startTestServer({ fastLane });
        await expectRefused(await post(server.url, params(doc), { authorization: `Bearer ${WRONG}` }), 'invalid');
        // The same document with the right token is answered about the document, as before.
        const right = await post(server.url, params(doc), { authorization: `Bearer ${server.token}` });
        expect(right.status).not.toBe(401);
        expect(JSON.stringify(await right.json())).not.toContain('Authentication required');
      },
    );

    it.each(BAD_DOCUMENTS)('with --reads-require-token, no token and $name is refused 401, not told about the schema', async (doc) => {
      const server = await startTestServer({ fastLane, readsRequireToken: true });
      await expectRefused(await post(server.url, params(doc)), 'missing');
      await expectRefused(await post(server.url, params(doc), { accept: 'application/graphql-response+json' }), 'missing');
      // A document that is valid for a caller with a token: the token changes the answer, not the document.
      const withToken = await gql(server.url, doc.query, undefined, { token: server.token });
      expect(withToken.body.errors?.[0]?.extensions?.code).not.toBe('UNAUTHENTICATED');
    });

    it('with --reads-require-token, no token: a GET is refused alike; viewer still answers null', async () => {
      const server = await startTestServer({ fastLane, readsRequireToken: true });
      await expectRefused(await fetch(`${server.url}?query=${encodeURIComponent('{ secretThing }')}`), 'missing');
      const viewer = await gql(server.url, '{ viewer { name } }');
      expect(viewer.status).toBe(200);
      expect(viewer.body).toEqual({ data: { viewer: null } });
    });

    it('with reads public, no token: a bad document is still answered about the document', async () => {
      const server = await startTestServer({ fastLane });
      const res = await gql(server.url, '{ secretThing }');
      expect(res.body.errors?.[0]).toMatchObject({
        message: 'Cannot query field "secretThing" on type "Query".',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      });
    });
  });
}

it('a wrong token with a bad document counts toward the failed-auth limit: the next is refused 429', async () => {
  const server = await startTestServer({ security: { authFailures: { failuresPerMinute: 3 } } });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++)
    statuses.push((await post(server.url, { query: '{ secretThing }' }, { authorization: `Bearer ${WRONG}` })).status);
  expect(statuses).toEqual([401, 401, 401, 429]);
});
