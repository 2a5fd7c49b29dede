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

  it('a request with no query is a 400 whatever the client accepts; a form body (curl -d without a content type) is told to send JSON', async () => {
    const server = await startTestServer();
    const mutation = JSON.stringify({ query: 'mutation { activateStrategy(strategyKey: "gold") { configVersion } }' });
    for (const accept of ['application/graphql-response+json', 'application/json', '*/*']) {
      // What `curl -sf -d '{...}'` sends: the JSON as a form. It was a 200 under application/json, so curl -f "succeeded".
      const form = await fetch(server.url, {
        method: 'POST',
        headers: { accept, authorization: `Bearer ${server.token}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: mutation,
      });
      expect(form.status, accept).toBe(400);
      expect(((await form.json()) as { errors: { message: string }[] }).errors[0]?.message).toBe(
        'Must provide query string: the body came as a form (application/x-www-form-urlencoded, what curl -d sends); send JSON with Content-Type: application/json.',
      );
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
});
