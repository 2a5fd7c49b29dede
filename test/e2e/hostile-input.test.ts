import { describe, expect, it } from 'vitest';
import { runHostileInput } from '../helpers/hostile-input.js';
import { startTestServer } from '../helpers/server.js';

// A few runs on every `npm test`; test/soak/hostile-input.soak.test.ts runs thousands with other seeds.
const RUNS = Number(process.env.HOSTILE_RUNS ?? 60);

describe('hostile input (fast-check, fixed seed)', () => {
  it.each([20261128, 7])(
    `seed %i: ${RUNS} random documents, variables and bodies; no crash, no leak, no unmasked 5xx, no corrupted file`,
    async (seed) => {
      // Wrong tokens are part of the mix: raise the failed-auth threshold so the run is not locked out.
      const server = await startTestServer({ security: { authFailures: { failuresPerMinute: 1_000_000 } } });
      const stats = await runHostileInput(server, { numRuns: RUNS, seed });
      expect(stats.tried).toBe(RUNS);
      expect(stats.unexpected5xx).toBe(0);
      expect(stats.filesCorrupted).toBe(0);
      expect(stats.accepted + stats.refused).toBe(RUNS);
      expect(stats.refused).toBeGreaterThan(0);
    },
    120_000,
  );
});

describe('malformed requests found by the property test', () => {
  it.each(['variables', 'extensions'])(
    'GET with invalid JSON in %s is a 400 whatever the client accepts, not a masked 500',
    async (param) => {
      const server = await startTestServer();
      // Under application/json (curl's */* too) it was a 200, as if it were a validation error: a POST body that does not parse is 400 either way.
      for (const accept of ['application/graphql-response+json', 'application/json', '*/*']) {
        const res = await fetch(`${server.url}?query=${encodeURIComponent('{ status { configVersion } }')}&${param}=%7B%22x`, {
          headers: { accept },
        });
        expect(res.status, accept).toBe(400);
        expect(await res.json()).toEqual({
          errors: [{ message: 'Request parameters sent invalid JSON.', extensions: { code: 'BAD_REQUEST' } }],
        });
      }
    },
  );

  it('a request with no query is a 400 whatever the client accepts; a form body (curl -d without a content type) is 415, told to send JSON', async () => {
    const server = await startTestServer();
    const mutation = JSON.stringify({ query: 'mutation { activateStrategy(strategyKey: "gold") { configVersion } }' });
    for (const accept of ['application/graphql-response+json', 'application/json', '*/*']) {
      // What `curl -sf -d '{...}'` sends: the JSON as a form. It was a 200 under application/json, so curl -f "succeeded".
      const form = await fetch(server.url, {
        method: 'POST',
        headers: { accept, authorization: `Bearer ${server.token}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: mutation,
      });
      expect(form.status, accept).toBe(415);
      expect(await form.json()).toEqual({
        errors: [
          {
            message:
              'Unsupported Media Type: the body came as a form (application/x-www-form-urlencoded, what curl -d sends); send JSON with Content-Type: application/json.',
            extensions: { code: 'UNSUPPORTED_MEDIA_TYPE' },
          },
        ],
      });
      for (const res of [
        await fetch(server.url, { method: 'POST', headers: { accept, 'content-type': 'application/json' }, body: '{"extensions":{}}' }),
        await fetch(server.url, { headers: { accept } }),
      ]) {
        expect(res.status, accept).toBe(400);
        expect(await res.json()).toEqual({ errors: [{ message: 'Must provide query string.', extensions: { code: 'BAD_REQUEST' } }] });
      }
    }
    expect(server.store.state().config.config.version).toBe(1);
  });

  it('a POST to /graphql as a form, multipart or raw application/graphql is 415, never run (a mutation in a form post ran); JSON types are taken', async () => {
    const server = await startTestServer();
    const mutation = 'mutation { activateStrategy(strategyKey: "gold") { configVersion } }';
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: mutation }));
    form.set('map', '{}');
    for (const [what, init] of [
      [
        'a form with a query',
        { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ query: mutation }) },
      ],
      ['multipart', { body: form }],
      ['application/graphql', { headers: { 'content-type': 'application/graphql; charset=utf-8' }, body: mutation }],
    ] as const) {
      const res = await fetch(server.url, {
        method: 'POST',
        ...init,
        headers: { ...('headers' in init ? init.headers : {}), authorization: `Bearer ${server.token}` },
      });
      expect(res.status, what).toBe(415);
      expect(((await res.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code, what).toBe(
        'UNSUPPORTED_MEDIA_TYPE',
      );
    }
    expect(server.store.state().config.config.version).toBe(1);
    // The JSON types README names still run.
    for (const type of ['application/json', 'application/graphql+json']) {
      const res = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': type, authorization: `Bearer ${server.token}` },
        body: JSON.stringify({ query: '{ status { configVersion } }' }),
      });
      expect(res.status, type).toBe(200);
      await res.arrayBuffer();
    }
  });

  it("a GET /graphql answer is never kept by a shared cache (its type and status follow the request's Accept)", async () => {
    const server = await startTestServer();
    for (const accept of ['application/json', 'application/graphql-response+json']) {
      const res = await fetch(`${server.url}?query=${encodeURIComponent('{ status { configVersion } }')}`, { headers: { accept } });
      expect(res.status, accept).toBe(200);
      expect(res.headers.get('cache-control'), accept).toBe('no-store');
      await res.arrayBuffer();
    }
  });
});
